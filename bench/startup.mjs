// startup.mjs — start-up time and idle RSS of `switchyard serve`, measured RUNS times.
// Each run: spawn the server (t=0 just before spawn), poll GET /health over fresh TCP connections
// every ~1 ms until it answers 200 (health_ms), note when the first log line that mentions
// "listening" arrives (log_seen_ms) and, if that line carries an ISO-8601 timestamp, its
// timestamp minus the launch wall-clock time (log_stamp_ms), and its "startup_ms" field if any
// (self_ms, the server's own figure). After SETTLE_MS of idleness read
// VmRSS/VmHWM from /proc/PID/status, then SIGTERM and wait for the exit (shutdown_ms).
// Prints one JSON object (runs + medians). The server's output goes to LOG (appended).
//
// usage: node startup.mjs BIN DATA_DIR HOST:PORT RUNS LOG [SETTLE_MS=1000]
// env: SWITCHYARD_ADMIN_TOKEN etc. are passed through to the server.
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import http from 'node:http';

const [bin, data, listen, runsArg = '5', logFile = '/dev/null', settleArg = '1000'] = process.argv.slice(2);
if (!bin || !data || !listen) { console.error('usage: node startup.mjs BIN DATA HOST:PORT RUNS LOG [SETTLE_MS]'); process.exit(2); }
const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
const RUNS = Number(runsArg), SETTLE = Number(settleArg), DEADLINE_MS = 20000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let child = null;
// on a signal: kill the server, then die of the same signal so that the calling shell sees it
// (bash ignores a SIGINT for itself when its foreground child exits normally instead)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { if (child) child.kill('SIGKILL'); process.removeAllListeners(sig); process.kill(process.pid, sig); });
}
process.on('exit', () => { if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });

function healthOnce() {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/health', agent: false, timeout: 500 }, (res) => {
      res.resume(); res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}
function procStatus(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1]);
  return { rss_kb: kb('VmRSS'), hwm_kb: kb('VmHWM') };
}
const median = (xs) => { const v = xs.filter((x) => x != null).sort((a, b) => a - b); if (!v.length) return null;
  const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
const r2 = (x) => (x == null ? null : Math.round(x * 100) / 100);

async function oneRun(k) {
  if (await healthOnce()) throw new Error(`something already answers on ${listen}`);
  const wall0 = performance.timeOrigin + performance.now();
  const t0 = performance.now();
  child = spawn(bin, ['serve', '--listen', listen, '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig, t: performance.now() })));
  let logSeen = null, logStamp = null, selfMs = null, buf = '';
  const onData = (d) => {
    const tNow = performance.now();
    appendFileSync(logFile, d);
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      if (logSeen == null && /listening/i.test(line)) {
        logSeen = tNow - t0;
        const m = line.match(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?/);
        if (m) { const ts = Date.parse(m[2] ? m[0] : m[0] + 'Z'); if (!Number.isNaN(ts)) logStamp = ts - wall0; }
        const self = line.match(/"startup_ms"\s*:\s*([\d.]+)/);   // the server's own figure, if it logs one
        if (self) selfMs = Number(self[1]);
      }
    }
  };
  child.stdout.on('data', onData); child.stderr.on('data', onData);
  let healthMs = null;
  while (performance.now() - t0 < DEADLINE_MS) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await healthOnce()) { healthMs = performance.now() - t0; break; }
    await sleep(1);
  }
  if (healthMs == null) { child.kill('SIGKILL'); await exited; throw new Error(`run ${k}: /health did not answer within ${DEADLINE_MS} ms (exit ${child.exitCode ?? child.signalCode})`); }
  await sleep(SETTLE);
  const st = procStatus(child.pid);
  const tTerm = performance.now();
  child.kill('SIGTERM');
  const ex = await Promise.race([exited, sleep(15000).then(() => null)]);
  let shutdownMs = null;
  if (ex == null) { child.kill('SIGKILL'); await exited; } else shutdownMs = ex.t - tTerm;
  const code = child.exitCode, sig = child.signalCode;
  child = null;
  return { health_ms: r2(healthMs), log_seen_ms: r2(logSeen), log_stamp_ms: r2(logStamp), self_ms: selfMs, ...st,
    shutdown_ms: r2(shutdownMs), exit: sig ?? code };
}

try {
  const runs = [];
  for (let k = 0; k < RUNS; k++) runs.push(await oneRun(k));
  const col = (f) => runs.map((r) => r[f]);
  console.log(JSON.stringify({
    runs,
    median_health_ms: r2(median(col('health_ms'))), min_health_ms: Math.min(...col('health_ms')), max_health_ms: Math.max(...col('health_ms')),
    median_log_seen_ms: r2(median(col('log_seen_ms'))), median_log_stamp_ms: r2(median(col('log_stamp_ms'))), median_self_ms: r2(median(col('self_ms'))),
    median_rss_kb: median(col('rss_kb')), median_hwm_kb: median(col('hwm_kb')),
    median_shutdown_ms: r2(median(col('shutdown_ms'))),
  }));
} catch (e) { console.error(`startup.mjs: ${e.message}`); process.exit(1); }

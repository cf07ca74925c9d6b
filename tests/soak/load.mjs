// load.mjs — the long soak of `make soak`: measure the maximum mixed read+write throughput
// (closed loop, fixed concurrency, READS reads per durable write over keep-alive HTTP), then hold
// half of it (open loop, fixed rate) for MINUTES, sampling the server's VmRSS from /proc/PID/status
// every 10 s with the interval's throughput, errors and latency. At the end: every acknowledged
// write is checked (each name's newest version at least the newest acknowledged, every kept
// version with its value, every write's audit record with the value's digest), the audit chain
// verifies, and the server stops cleanly on SIGTERM. Prints a summary; writes load.json and
// load-samples.tsv to the results dir. Exit 1 on any loss, chain failure or request error
// (skipped requests, when the rate could not be held, are a warning).
//
// usage: node tests/soak/load.mjs [--minutes 10] [--measure-s 12] [--warmup-s 3] [--concurrency 32]
//          [--reads-per-write 9] [--names 1000] [--threads 2] [--fraction 0.5] [--rate R]
//          [--sample-s 10] [--bin build/switchyard] [--out bench/results/STAMP]
// --rate skips the measurement and holds R requests/s. The server binary is --bin, else
// $SWITCHYARD_BIN, else build/switchyard.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LatencyHist } from './loadgen.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TOP = path.resolve(HERE, '../..');
const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

function parseArgs(argv, defaults) {
  const o = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in o)) { console.error(`unknown argument ${argv[i]}; known: ${Object.keys(o).map((k) => `--${k}`).join(' ')}`); process.exit(2); }
    const v = m[2] !== undefined ? m[2] : argv[++i];
    o[m[1]] = typeof defaults[m[1]] === 'number' ? Number(v) : v;
    if (typeof defaults[m[1]] === 'number' && !Number.isFinite(o[m[1]])) { console.error(`--${m[1]} wants a number`); process.exit(2); }
  }
  return o;
}
const opt = parseArgs(process.argv.slice(2), {
  minutes: Number(process.env.SOAK_MINUTES || 10), 'measure-s': 12, 'warmup-s': 3, concurrency: 32, 'reads-per-write': 9,
  names: 1000, threads: 2, fraction: 0.5, rate: 0, 'sample-s': 10, 'max-inflight': 4096, sockets: 64,
  bin: process.env.SWITCHYARD_BIN || path.join(TOP, 'build/switchyard'), out: process.env.SOAK_RESULTS_DIR || path.join(TOP, 'bench/results', stamp()),
});
process.env.SWITCHYARD_BIN = path.resolve(opt.bin);
const require = createRequire(import.meta.url);
const { startServer, api } = require('../api/helpers.js');
const { newLedger, record, pool, verifyChain, checkRetained, checkAudit } = require('../crash/durability.js');

const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}] load:`, ...a);
const mib = (kb) => (kb == null ? null : Math.round((kb / 1024) * 10) / 10);
const r1 = (x) => Math.round(x * 10) / 10;
// the periodic samples below are the measurement's clock, not a synchronisation
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Resolves p, or rejects after ms with what. */
function deadline(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no result within ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(t));
}

function procSample(pid) {
  if (!fs.existsSync(`/proc/${pid}/status`)) throw new Error(`server pid ${pid} is gone (no /proc/${pid}/status)`);
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1]);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // utime + stime
  let fds = null;
  try { fds = fs.readdirSync(`/proc/${pid}/fd`).length; } catch { /* not ours to read */ }
  return { rss_kb: kb('VmRSS'), hwm_kb: kb('VmHWM'), threads: kb('Threads'), fds, cpu_s: ticks / 100 };
}

let S = null;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { try { S?.proc?.kill('SIGKILL'); } catch { /* gone */ } process.removeAllListeners(sig); process.kill(process.pid, sig); });
}

async function main() {
  fs.mkdirSync(opt.out, { recursive: true });
  const t0 = Date.now();
  S = await startServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-soak-')), env: { SWITCHYARD_HEARTBEAT_MS: '15000' } });
  const pid = S.proc.pid;
  log(`server pid ${pid} on ${S.url}, data ${S.dataDir}`);
  // the server must live until we stop it: anything else ends the run with what the log says
  let stopping = false;
  let died = null;
  S.exited.then((r) => {
    if (stopping) return;
    died = `the server (pid ${pid}) exited on its own or by someone else's signal: code ${r.code}, signal ${r.signal}; log tail:\n${S.log.split('\n').filter((l) => !l.includes('"msg":"request"')).slice(-8).join('\n')}`;
    log(died);
  });
  const alive = () => { if (died) throw new Error(died); };
  const idle = procSample(pid);

  // every name exists before the first read
  const names = Array.from({ length: opt.names }, (_, k) => `/soak/k${k}`);
  const ledger = newLedger('/soak/', opt.names);
  const allAcked = [];
  await pool(names, 16, async (name) => {
    const value = `seed.${name}`;
    const r = await api(S, 'PUT', `/api/v1/params${name}`, { value, type: 'String', overwrite: true });
    if (r.status !== 200) throw new Error(`seeding ${name} → ${r.status} ${r.text}`);
    record(ledger, name, r.json.version, value);
    allAcked.push([name, r.json.version, value]);
  });
  const seeded = procSample(pid);

  // the load generator threads
  const workers = [];
  const inbox = new Map(); // id → [pending resolvers by type]
  const waitMsg = (w, type, ms) => deadline(new Promise((resolve) => { inbox.get(w.id).push({ type, resolve }); }), ms, `thread ${w.id} ${type}`);
  for (let id = 0; id < opt.threads; id++) {
    const worker = new Worker(new URL('./loadgen.mjs', import.meta.url), {
      workerData: { role: 'loadgen', id, url: S.url, token: S.token, names, readsPerWrite: opt['reads-per-write'], requestTimeoutMs: 10000, maxInflight: opt['max-inflight'], sockets: opt.sockets },
    });
    const w = { id, worker };
    inbox.set(id, []);
    worker.on('message', (m) => {
      const q = inbox.get(id);
      const i = q.findIndex((x) => x.type === m.type);
      if (i >= 0) q.splice(i, 1)[0].resolve(m);
    });
    worker.on('error', (e) => { log(`thread ${id} failed: ${e.stack || e}`); process.exitCode = 1; });
    workers.push(w);
  }
  await Promise.all(workers.map((w) => waitMsg(w, 'ready', 10000)));
  const all = (cmd, type, ms, extra = {}) => Promise.all(workers.map((w) => {
    const p = type ? waitMsg(w, type, ms) : null;
    w.worker.postMessage({ cmd, ...extra });
    return p;
  }));
  const merge = (msgs) => {
    const m = { reads: 0, writes: 0, errors: 0, skipped: 0, lagMaxMs: 0, inflight: 0, read: new LatencyHist(), write: new LatencyHist() };
    for (const x of msgs) {
      m.reads += x.c.reads; m.writes += x.c.writes; m.errors += x.c.errors; m.skipped += x.c.skipped;
      m.lagMaxMs = Math.max(m.lagMaxMs, x.c.lagMaxMs); m.inflight += x.inflight;
      m.read.merge(LatencyHist.from(x.c.read)); m.write.merge(LatencyHist.from(x.c.write));
    }
    return m;
  };
  const lat = (h) => ({ p50_ms: h.quantileMs(0.5), p99_ms: h.quantileMs(0.99), p999_ms: h.quantileMs(0.999), max_ms: Math.round(h.max) / 1000, n: h.n });
  const both = (m) => new LatencyHist().merge(m.read).merge(m.write);

  // 1. the maximum: closed loop at a fixed concurrency
  let max = null;
  let rate = opt.rate;
  if (!rate) {
    const lanes = Math.max(1, Math.round(opt.concurrency / opt.threads));
    log(`measuring the maximum: ${lanes * opt.threads} in flight, ${opt['reads-per-write']} reads per write, ${opt['warmup-s']} s warm-up + ${opt['measure-s']} s`);
    await all('closed', null, 0, { lanes });
    await sleep(opt['warmup-s'] * 1000);
    await all('sample', 'sample', 10000); // discards the warm-up
    const cpu0 = procSample(pid).cpu_s;
    const m0 = performance.now();
    await sleep(opt['measure-s'] * 1000);
    alive();
    const m = merge(await all('sample', 'sample', 10000));
    const secs = (performance.now() - m0) / 1000;
    const cpu1 = procSample(pid).cpu_s;
    merge(await all('stop', 'stopped', 30000));
    max = {
      concurrency: lanes * opt.threads, seconds: r1(secs), reads_per_s: Math.round(m.reads / secs), writes_per_s: Math.round(m.writes / secs),
      total_per_s: Math.round((m.reads + m.writes) / secs), errors: m.errors, server_cpu_pct: Math.round(((cpu1 - cpu0) / secs) * 100),
      read: lat(m.read), write: lat(m.write), all: lat(both(m)),
    };
    log(`maximum ${max.total_per_s} req/s (${max.reads_per_s} reads + ${max.writes_per_s} writes), p50 ${max.all.p50_ms} ms, p99 ${max.all.p99_ms} ms, errors ${max.errors}, server CPU ${max.server_cpu_pct} %`);
    rate = Math.max(1, Math.round(max.total_per_s * opt.fraction));
  }

  // 2. the soak: open loop at `rate`
  const durationMs = opt.minutes * 60000;
  log(`soak: ${rate} req/s (${r1(rate / (opt['reads-per-write'] + 1))} writes/s) for ${opt.minutes} min, a sample every ${opt['sample-s']} s`);
  const samples = [];
  const tot = { reads: 0, writes: 0, errors: 0, skipped: 0, lagMaxMs: 0, read: new LatencyHist(), write: new LatencyHist() };
  const addTot = (m) => {
    tot.reads += m.reads; tot.writes += m.writes; tot.errors += m.errors; tot.skipped += m.skipped;
    tot.lagMaxMs = Math.max(tot.lagMaxMs, m.lagMaxMs); tot.read.merge(m.read); tot.write.merge(m.write);
  };
  const tsv = fs.createWriteStream(path.join(opt.out, 'load-samples.tsv'));
  tsv.write('t_s\trss_kib\thwm_kib\tthreads\tfds\tserver_cpu_pct\treq_per_s\treads\twrites\terrors\tskipped\tinflight\tclient_lag_ms\tp50_ms\tp99_ms\tmax_ms\n');
  const s0 = performance.now();
  let prev = { t: 0, cpu: procSample(pid).cpu_s };
  const sampleRow = (m) => {
    const t = (performance.now() - s0) / 1000;
    const p = procSample(pid);
    const h = m ? both(m) : new LatencyHist();
    const dt = t - prev.t;
    const row = {
      t_s: r1(t), rss_kb: p.rss_kb, hwm_kb: p.hwm_kb, threads: p.threads, fds: p.fds,
      server_cpu_pct: dt > 0 ? Math.round(((p.cpu_s - prev.cpu) / dt) * 100) : 0,
      req_per_s: m && dt > 0 ? Math.round((m.reads + m.writes) / dt) : 0, reads: m ? m.reads : 0, writes: m ? m.writes : 0,
      errors: m ? m.errors : 0, skipped: m ? m.skipped : 0, inflight: m ? m.inflight : 0, lag_ms: m ? m.lagMaxMs : 0,
      p50_ms: h.quantileMs(0.5), p99_ms: h.quantileMs(0.99), max_ms: Math.round(h.max) / 1000,
    };
    prev = { t, cpu: p.cpu_s };
    samples.push(row);
    tsv.write(`${[row.t_s, row.rss_kb, row.hwm_kb, row.threads, row.fds, row.server_cpu_pct, row.req_per_s, row.reads, row.writes, row.errors, row.skipped, row.inflight, r1(row.lag_ms), row.p50_ms, row.p99_ms, row.max_ms].join('\t')}\n`);
    log(`t=${row.t_s}s RSS ${mib(row.rss_kb)} MiB, ${row.req_per_s} req/s, errors ${row.errors}, skipped ${row.skipped}, client lag ${r1(row.lag_ms)} ms, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, server CPU ${row.server_cpu_pct} %`);
    return row;
  };
  sampleRow(null); // t = 0: the RSS the soak starts from
  await all('open', null, 0, { rate: rate / opt.threads });
  const end = s0 + durationMs;
  for (;;) {
    const left = end - performance.now();
    if (left <= 0) break;
    await sleep(Math.min(opt['sample-s'] * 1000, left));
    alive();
    if (end - performance.now() <= 0) break;
    const m = merge(await all('sample', 'sample', 10000));
    addTot(m);
    sampleRow(m);
  }
  const last = merge(await all('stop', 'stopped', 30000)); // waits for the requests in flight
  addTot(last);
  sampleRow(last);
  const soakSecs = (performance.now() - s0) / 1000;
  alive();
  await new Promise((r) => tsv.end(r));

  // 3. every acknowledged write, and the chain
  const acks = await all('acked', 'acked', 30000);
  const errorSamples = acks.flatMap((a) => a.errorSamples);
  for (const a of acks) for (const [name, ver, value] of a.acked) { record(ledger, name, ver, value); allAcked.push([name, ver, value]); }
  await all('exit', null, 0);
  log(`checking ${allAcked.length} acknowledged writes`);
  const c0 = performance.now();
  const verify = await verifyChain(S, 'after the soak');
  const retained = await checkRetained(S, ledger, 'after the soak');
  const audit = await checkAudit(S, allAcked, 0, 'after the soak');
  const checkSecs = (performance.now() - c0) / 1000;
  const lost = new Set([...retained.lost, ...audit.lost]);
  const failures = [...(verify.ok ? [] : [verify.failure]), ...retained.failures, ...audit.failures];
  const rss = samples.map((s) => s.rss_kb);
  const final = procSample(pid);
  const tsvAll = new LatencyHist().merge(tot.read).merge(tot.write);
  let stopErr = null;
  stopping = true;
  try { await S.stop(); } catch (e) { stopErr = e.message; failures.push(`clean stop: ${e.message}`); }

  const result = {
    date: new Date().toISOString(), host: `${os.hostname()} ${os.cpus().length} vCPU, loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    bin: process.env.SWITCHYARD_BIN, options: opt, server: { pid, idle_rss_kb: idle.rss_kb, seeded_rss_kb: seeded.rss_kb },
    max, rate_per_s: rate, fraction: opt.rate ? null : opt.fraction,
    soak: {
      seconds: r1(soakSecs), requests: tot.reads + tot.writes, reads: tot.reads, writes: tot.writes, errors: tot.errors,
      skipped: tot.skipped, achieved_per_s: Math.round((tot.reads + tot.writes) / soakSecs), max_schedule_lag_ms: r1(tot.lagMaxMs),
      read: lat(tot.read), write: lat(tot.write), all: lat(tsvAll),
      rss_kb: { first: rss[0], last: rss[rss.length - 1], max: Math.max(...rss), min: Math.min(...rss) }, hwm_kb_end: final.hwm_kb,
      threads_end: final.threads, fds_end: final.fds, error_samples: errorSamples,
    },
    check: {
      acknowledged: allAcked.length, lost: lost.size, chain_ok: verify.ok, audit_records: verify.records, versions_checked: retained.checked,
      aged_out_checked_by_audit: retained.agedOut, seconds: r1(checkSecs), clean_stop: stopErr === null, failures: failures.slice(0, 100),
    },
    samples,
  };
  fs.writeFileSync(path.join(opt.out, 'load.json'), `${JSON.stringify(result, null, 1)}\n`);
  fs.writeFileSync(path.join(opt.out, 'switchyard-load.log'), S.log);

  const R = result.soak.rss_kb;
  console.log(`load soak: max ${max ? `${max.total_per_s} req/s (${max.reads_per_s} r + ${max.writes_per_s} w, p99 ${max.all.p99_ms} ms)` : 'not measured'}; `
    + `held ${rate} req/s for ${r1(soakSecs / 60)} min (achieved ${result.soak.achieved_per_s}/s): ${result.soak.requests} requests `
    + `(${tot.reads} reads, ${tot.writes} writes), errors ${tot.errors}, skipped ${tot.skipped}, p50 ${result.soak.all.p50_ms} ms, p99 ${result.soak.all.p99_ms} ms `
    + `(writes p50 ${result.soak.write.p50_ms} / p99 ${result.soak.write.p99_ms} ms); RSS first ${mib(R.first)} / last ${mib(R.last)} / max ${mib(R.max)} MiB; `
    + `${allAcked.length} acknowledged writes, ${lost.size} lost, chain ${verify.ok ? 'verified' : 'BROKEN'} (${verify.records} records); ${Math.round((Date.now() - t0) / 1000)} s`);
  console.log(`results: ${path.join(opt.out, 'load.json')}`);

  const problems = [...failures];
  if (tot.errors) problems.push(`${tot.errors} requests failed during the soak: ${errorSamples.slice(0, 5).join(' | ')}`);
  // a machine shared with other work can stall both sides for a second: reported, not a failure
  if (tot.skipped) console.error(`load soak: warning: ${tot.skipped} requests were skipped (${opt['max-inflight']} per thread already in flight): the rate was not held throughout`);
  if (max && max.errors) problems.push(`${max.errors} requests failed while measuring the maximum`);
  if (problems.length) {
    console.error(`load soak FAILED (${problems.length} problems; data dir kept: ${S.dataDir}):`);
    for (const p of problems.slice(0, 50)) console.error(`  ${p}`);
    process.exitCode = 1;
  } else {
    fs.rmSync(S.dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`load soak FAILED: ${e.stack || e}`);
  if (S) { try { fs.writeFileSync(path.join(opt.out, 'switchyard-load.log'), S.log); } catch { /* best effort */ } console.error(`data dir kept: ${S.dataDir}`); }
  process.exitCode = 1;
}).finally(() => {
  // a worker thread left behind would keep the process alive
  setTimeout(() => process.exit(), 100).unref();
});

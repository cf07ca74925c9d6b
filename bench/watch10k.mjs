// watch10k.mjs — N idle watch subscribers on one server, then one change fanned out to all of them.
//
//  1. P worker processes (default 2) open N (default 10000) concurrent
//     `GET /api/v1/watch?prefix=PREFIX` streams over raw TCP sockets (the HTTP request written by
//     hand; at most 256 connects in flight per worker), and wait until every stream has sent its
//     opening comment (": switchyard watch").
//  2. Server VmRSS, Threads and open fds (from /proc/PID) with all N streams idle.
//  3. One PUT PREFIX/x. Each worker notes, per stream, the CLOCK_MONOTONIC time (shared by all
//     processes of the host) at which the event for PREFIX/x arrived; the delay of a stream is
//     that time minus the time just before the PUT was sent. It includes the client's own
//     event-loop time to read 10k sockets on the same 2 vCPUs (an upper bound on the server's part).
//  4. Close every stream; 1 s later the server must still answer /health, and its RSS is read again.
//     Then /proc/PID/fd is polled (until the deadline) for the time the server takes to drop the
//     closed streams' connections (released_ms; null if it did not within the deadline).
// Everything is bounded by DEADLINE_S (default 60). Prints one JSON line; exits 1 when fewer than N
// streams were held or fewer than N received the change, or when /health fails afterwards.
//
// usage: node watch10k.mjs BASE_URL TOKEN SERVER_PID [N=10000] [PREFIX=/w10k] [PROCS=2] [DEADLINE_S=60]
import { fork } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const now = () => process.hrtime.bigint(); // CLOCK_MONOTONIC, comparable across processes
const ms = (ns) => Number(ns) / 1e6;
const sleep = (t) => new Promise((r) => setTimeout(r, t));

if (process.argv[2] === '--worker') worker();
else main().catch((e) => { console.error(`watch10k.mjs: ${e.stack || e}`); process.exit(1); });

// ---------------------------------------------------------------------------------------------
function worker() {
  const [, , , host, portS, token, prefix, countS, eventName] = process.argv;
  const port = Number(portS), count = Number(countS);
  const req = `GET /api/v1/watch?prefix=${encodeURIComponent(prefix)} HTTP/1.1\r\nHost: ${host}:${port}\r\n` +
    `Authorization: Bearer ${token}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`;
  const marker = `"${eventName}"`;           // the event's JSON data carries the parameter's name
  const socks = [];
  let opened = 0, hello = 0, failed = 0, closedEarly = 0, firstError = null, armed = false, got = 0;
  const at = [];                              // arrival times (ns, as strings) of the change
  const send = (m) => { try { process.send(m); } catch { process.exit(1); } };
  process.on('disconnect', () => process.exit(1)); // the parent is gone: do not linger

  function open(i) {
    return new Promise((resolve) => {
      const s = net.connect({ host, port });
      const st = { buf: '', hello: false, got: false, done: false };
      socks[i] = s;
      s.setNoDelay(true);
      const settle = () => { if (!st.done) { st.done = true; resolve(); } };
      s.on('connect', () => { opened++; s.write(req); });
      s.on('data', (d) => {
        if (st.got) return;
        st.buf += d.toString('latin1');
        if (!st.hello) {
          if (st.buf.startsWith('HTTP/1.1 ') && !st.buf.startsWith('HTTP/1.1 200')) {
            failed++; firstError ??= st.buf.slice(0, 200); s.destroy(); settle(); return;
          }
          if (st.buf.includes(': switchyard watch')) { st.hello = true; hello++; st.buf = ''; settle(); }
          else if (st.buf.length > 65536) st.buf = st.buf.slice(-4096);
          return;
        }
        if (armed && st.buf.includes(marker) && st.buf.includes('event: change')) {
          st.got = true; got++; at.push(String(now())); st.buf = '';
          if (got === hello) send({ t: 'all' });
        } else if (st.buf.length > 65536) st.buf = st.buf.slice(-4096);
        else if (!armed) st.buf = st.buf.slice(-4096);
      });
      s.on('error', (e) => { if (!st.hello) { failed++; firstError ??= e.message; } settle(); });
      s.on('close', () => { if (st.hello && !st.closing) closedEarly++; settle(); });
      st.close = () => { st.closing = true; s.destroy(); };
      s.st = st;
    });
  }

  process.on('message', async (m) => {
    if (m.t === 'open') {
      const t0 = now();
      let next = 0;
      const lane = async () => { for (;;) { const i = next++; if (i >= count) return; await open(i); } };
      await Promise.all(Array.from({ length: Math.min(256, count) }, lane));
      send({ t: 'opened', opened, hello, failed, first_error: firstError, open_ms: ms(now() - t0) });
    } else if (m.t === 'arm') {
      armed = true;
      for (const s of socks) if (s && s.st) s.st.buf = '';
      send({ t: 'armed' });
    } else if (m.t === 'report') {
      send({ t: 'report', got, hello, closed_early: closedEarly, at });
    } else if (m.t === 'close') {
      for (const s of socks) if (s && s.st) s.st.close();
      await sleep(100);
      send({ t: 'closed' });
      process.exit(0);
    }
  });
  send({ t: 'up' });
}

// ---------------------------------------------------------------------------------------------
async function main() {
  const [base, token, pidS, nS = '10000', prefix = '/w10k', procsS = '2', deadlineS = '60'] = process.argv.slice(2);
  if (!base || !token || !pidS) {
    console.error('usage: node watch10k.mjs BASE_URL TOKEN SERVER_PID [N] [PREFIX] [PROCS] [DEADLINE_S]');
    process.exit(2);
  }
  const N = Number(nS), P = Math.max(1, Math.min(Number(procsS), N)), pid = Number(pidS);
  const deadline = Date.now() + Number(deadlineS) * 1000;
  const left = () => Math.max(0, deadline - Date.now());
  const u = new URL(base);
  const eventName = `${prefix}/x`;
  const out = { subscribers_wanted: N, procs: P, held: 0, failed: 0, first_error: null, open_ms: null };
  const kids = [];
  const killKids = () => { for (const k of kids) if (k.exitCode === null && k.signalCode === null) k.kill('SIGKILL'); };
  process.on('exit', killKids);
  // on a signal: stop the workers, then die of the same signal, so that the calling shell sees it
  // (bash ignores a SIGINT for itself when its foreground child exits normally instead)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => { killKids(); process.removeAllListeners(sig); process.kill(process.pid, sig); });
  }
  const hardStop = setTimeout(() => {   // the last guard: print what we have and go
    out.error = `deadline of ${deadlineS} s reached`;
    console.log(JSON.stringify(out)); process.exit(1);
  }, left() + 5000);
  hardStop.unref();

  const proc = (f) => {
    try {
      const s = readFileSync(`/proc/${pid}/status`, 'utf8');
      const v = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1]);
      let fds = null;
      try { fds = readdirSync(`/proc/${pid}/fd`).length; } catch { /* not ours to read */ }
      return { rss_kb: v('VmRSS'), hwm_kb: v('VmHWM'), threads: v('Threads'), fds };
    } catch { return { rss_kb: null, hwm_kb: null, threads: null, fds: null, gone: true }; }
  };
  const httpReq = (method, path, body) => new Promise((resolve) => {
    const r = http.request({ host: u.hostname, port: u.port, path, method, agent: false, timeout: Math.min(10000, left() || 1),
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}) } },
    (res) => { let t = ''; res.setEncoding('utf8'); res.on('data', (d) => { t += d; }); res.on('end', () => resolve({ status: res.statusCode, text: t })); });
    r.on('error', (e) => resolve({ status: 0, text: e.message }));
    r.on('timeout', () => { r.destroy(); resolve({ status: 0, text: 'timeout' }); });
    r.end(body);
  });

  // wait for one message of type t from every child (or the deadline)
  const inbox = new Map();
  const gather = (t, limitMs = left()) => new Promise((resolve) => {
    const check = () => { const got = inbox.get(t) || []; if (got.length >= P) { clearInterval(iv); clearTimeout(to); resolve(got); } };
    const iv = setInterval(check, 5);
    const to = setTimeout(() => { clearInterval(iv); resolve(inbox.get(t) || []); }, limitMs);
    check();
  });
  const self = fileURLToPath(import.meta.url);
  for (let k = 0; k < P; k++) {
    const n = Math.floor(N / P) + (k < N % P ? 1 : 0);
    const c = fork(self, ['--worker', u.hostname, u.port || '80', token, prefix, String(n), eventName], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.on('message', (m) => { if (!inbox.has(m.t)) inbox.set(m.t, []); inbox.get(m.t).push(m); });
    kids.push(c);
  }
  if ((await gather('up', 10000)).length < P) throw new Error('worker processes did not start');
  out.before = proc();

  // 1. open and hold
  const t0 = now();
  for (const c of kids) c.send({ t: 'open' });
  const opened = await gather('opened');
  out.open_ms = Math.round(ms(now() - t0));
  out.held = opened.reduce((a, m) => a + m.hello, 0);
  out.failed = opened.reduce((a, m) => a + m.failed, 0);
  out.first_error = opened.map((m) => m.first_error).find((e) => e) ?? null;
  if (opened.length < P) out.error = 'opening the streams did not finish in time';
  await sleep(Math.min(1000, left()));            // let the server settle with everything idle
  out.idle = proc();
  out.rss_per_sub_kb = out.held && out.idle.rss_kb != null && out.before.rss_kb != null
    ? +((out.idle.rss_kb - out.before.rss_kb) / out.held).toFixed(2) : null;

  // 2. one change, fanned out to everyone
  for (const c of kids) c.send({ t: 'arm' });
  await gather('armed', Math.min(5000, left()));
  const tPut = now();
  const put = await httpReq('PUT', `/api/v1/params${eventName}`, JSON.stringify({ value: `fan-out ${Date.now()}`, type: 'String', overwrite: true }));
  out.put_status = put.status;
  out.put_ms = +ms(now() - tPut).toFixed(2);
  if (put.status !== 200) out.error = `PUT ${eventName} answered ${put.status}: ${put.text.slice(0, 200)}`;
  else await gather('all', Math.min(30000, left()));   // every worker: all its streams got it (or time out)
  for (const c of kids) c.send({ t: 'report' });
  const reps = await gather('report', Math.min(10000, left() + 2000));
  const delays = reps.flatMap((m) => m.at.map((t) => ms(BigInt(t) - tPut))).sort((a, b) => a - b);
  const q = (p) => (delays.length ? +delays[Math.max(0, Math.min(delays.length - 1, Math.ceil(p * delays.length) - 1))].toFixed(2) : null);
  out.received = delays.length;
  out.fanout_ms = { p50: q(0.5), p99: q(0.99), max: delays.length ? +delays[delays.length - 1].toFixed(2) : null, min: q(0) };
  out.closed_early = reps.reduce((a, m) => a + m.closed_early, 0);
  out.after_event = proc();

  // 3. close all, then the server must still be healthy
  for (const c of kids) c.send({ t: 'close' });
  await gather('closed', Math.min(10000, left() + 2000));
  const tClose = now();
  await sleep(Math.min(1000, left()));
  const h = await httpReq('GET', '/health');
  out.health_after = h.status;
  out.after_close = proc();
  // how long the server keeps the closed streams' connections (fds) before it notices them
  out.released_ms = null;
  const base_fds = out.before.fds;
  while (base_fds != null && left() > 3000) {
    const f = proc().fds;
    if (f == null || f <= base_fds + 2) { out.released_ms = Math.round(ms(now() - tClose)); break; }
    await sleep(100);
  }
  out.after_release = proc();
  const h2 = await httpReq('GET', '/health');
  out.health_after_release = h2.status;
  out.ok = out.held === N && out.received === N && h.status === 200 && h2.status === 200;
  console.log(JSON.stringify(out));
  killKids();
  process.exit(out.ok ? 0 : 1);
}

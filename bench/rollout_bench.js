// rollout_bench.js — the rollout controller under load (bench/rollout.sh runs it against a server
// started with SWITCHYARD_TEST_CLOCK=1):
//   1. N flags and N active plans, each with 3 gates on pushed metrics and a 1 h bake;
//   2. the server process's CPU share over an idle window (utime+stime from /proc/PID/stat over
//      the wall time) while the controller evaluates every plan each second, and its evaluation
//      rate when GET /metrics exposes the controller's counter;
//   3. for K plans, one at a time, a breaching batch of pushed metrics: the time from the push's
//      reply to the rollback's state document on the change stream (GET /api/v1/watch).
// Prints one JSON object on stdout; progress on stderr.
//
//   node bench/rollout_bench.js --base http://127.0.0.1:PORT --token T --pid PID
//        [--plans 1000] [--window-s 20] [--breaches 20] [--clk-tck 100]
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { openSSE } = require(path.join(__dirname, '..', 'tests', 'api', 'helpers.js'));

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const BASE = args.base;
const TOKEN = args.token;
const PID = Number(args.pid);
const NPLANS = Number(args.plans || 1000);
const WINDOW_S = Number(args['window-s'] || 20);
const NBREACH = Math.min(Number(args.breaches || 20), NPLANS);
const CLK_TCK = Number(args['clk-tck'] || 100);
if (!BASE || !TOKEN || !PID) {
  console.error('usage: rollout_bench.js --base URL --token T --pid PID [--plans N] [--window-s S] [--breaches K]');
  process.exit(2);
}
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function call(method, p, body) {
  const h = { Authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(BASE + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30000) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}
async function must(method, p, body, ok = [200, 201]) {
  const r = await call(method, p, body);
  if (!ok.includes(r.status)) throw new Error(`${method} ${p} → ${r.status} ${r.text.slice(0, 400)}`);
  return r;
}
async function pool(n, k, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(k, n) }, async () => {
    while (i < n) { const j = i++; await fn(j); }
  }));
}
function cpuTicks() {
  const s = fs.readFileSync(`/proc/${PID}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
  return Number(f[11]) + Number(f[12]); // utime (14th) + stime (15th)
}
function rssKb() {
  const m = /^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${PID}/status`, 'utf8'));
  return m ? Number(m[1]) : null;
}
/* The controller's evaluation counter from GET /metrics, if the server exposes one. */
async function evalCounter() {
  const r = await call('GET', '/metrics');
  if (r.status !== 200) return null;
  let sum = null;
  let name = null;
  let plans = null;
  for (const line of r.text.split('\n')) {
    const pm = /^switchyard_rollout_plans\s+(\S+)/.exec(line);
    if (pm) plans = Number(pm[1]);
    const m = /^(switchyard_\w*(?:rollout|controller)\w*evaluations?\w*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m) { sum = (sum || 0) + Number(m[3]); name = m[1]; }
  }
  return sum === null ? null : { name, value: sum, plans };
}
const q = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
};
const r1 = (x) => (x === null ? null : Math.round(x * 10) / 10);

(async () => {
  const out = { plans: NPLANS, window_s: WINDOW_S, breaches: NBREACH, clk_tck: CLK_TCK };
  const flag = (i) => `bench/rollout/f${i}`;
  const name = (i) => `bench-r${i}`;

  // 1. flags and plans
  let t = Date.now();
  await pool(NPLANS, 32, (i) => must('POST', '/api/v1/flags', { key: flag(i), document: { enabled: true, rollout_percentage: 0 } }));
  out.flags_s = r1((Date.now() - t) / 1000);
  log(`${NPLANS} flags in ${out.flags_s} s`);
  t = Date.now();
  await pool(NPLANS, 32, (i) => must('POST', '/api/v1/rollouts', {
    name: name(i),
    plan: {
      target: { flag: flag(i) },
      steps: [{ percent: 10, bake: '1h' }, { percent: 50, bake: '1h' }, { percent: 100, bake: '1h' }],
      gates: [{ metric: 'requests', min: 100 }, { metric: 'error_rate', max: 5 }, { metric: 'p95_ms', max: 5000 }],
    },
  }));
  out.plans_s = r1((Date.now() - t) / 1000);
  log(`${NPLANS} plans in ${out.plans_s} s`);
  // every plan running, and healthy data for every canary (so the gates judge numbers, not "wait")
  const l = await must('GET', '/api/v1/rollouts');
  out.running = l.json.rollouts.filter((x) => x.phase === 'running').length;
  for (let i = 0; i < NPLANS; i += 500) {
    const items = [];
    for (let j = i; j < Math.min(NPLANS, i + 500); j++) {
      items.push({ flag: flag(j), variant: 'on', requests: 50, errors: 0, latency_ms: [120, 140, 160, 180, 200] });
      items.push({ flag: flag(j), variant: 'off', requests: 50, errors: 0, latency_ms: [120, 140, 160, 180, 200] });
    }
    await must('POST', '/api/v1/metrics', { metrics: items });
  }

  // 2. CPU share and evaluation rate over an idle window
  const e0 = await evalCounter();
  const c0 = cpuTicks();
  const w0 = process.hrtime.bigint();
  await sleep(WINDOW_S * 1000); // the measurement window itself: the server is left alone
  const c1 = cpuTicks();
  const w1 = process.hrtime.bigint();
  const e1 = await evalCounter();
  const wall = Number(w1 - w0) / 1e9;
  out.cpu = { ticks: c1 - c0, wall_s: r1(wall), share_pct: r1(((c1 - c0) / CLK_TCK / wall) * 100) };
  // the counter counts passes over every plan: plan evaluations are passes × plans
  out.eval = e0 && e1 ? { metric: e0.name, per_s: r1((e1.value - e0.value) / wall), plans: e1.plans,
    plan_evals_per_s: e1.plans === null ? null : r1(((e1.value - e0.value) / wall) * e1.plans) } : null;
  out.rss_kb = rssKb();
  log(`server CPU ${out.cpu.share_pct} % of one core over ${out.cpu.wall_s} s with ${NPLANS} plans; evaluations ${out.eval ? `${out.eval.per_s}/s (${out.eval.metric})` : 'not exposed in /metrics'}`);

  // 3. breach → rollback visible on the change stream
  const srv = { url: BASE, token: TOKEN, port: Number(new URL(BASE).port) };
  const w = await openSSE(srv, '/api/v1/watch?prefix=/switchyard/rollout-state/');
  if (w.status !== 200) throw new Error(`watch: ${w.status} ${w.body}`);
  const lat = [];
  const misses = [];
  for (let k = 0; k < NBREACH; k++) {
    const i = Math.floor((k * NPLANS) / NBREACH);
    const doc = `/switchyard/rollout-state/${name(i)}`;
    const seen = w.nextEvent((ev) => {
      if (!ev.json || ev.json.name !== doc || typeof ev.json.value !== 'string') return false;
      try { return JSON.parse(ev.json.value).phase === 'rolled_back'; } catch { return false; }
    }, 10000).then(() => process.hrtime.bigint(), () => null);
    await must('POST', '/api/v1/metrics', { metrics: [{ flag: flag(i), variant: 'on', requests: 200, errors: 100, latency_ms: [150] }] });
    const tReply = process.hrtime.bigint();
    const tSeen = await seen;
    if (tSeen === null) { misses.push(name(i)); continue; }
    lat.push(Math.max(0, Number(tSeen - tReply) / 1e6));
    // a random phase against the controller's period for the next one
    await sleep(Math.floor(Math.random() * 1000));
  }
  w.close();
  out.breach = { n: lat.length, misses, median_ms: r1(q(lat, 0.5)), p95_ms: r1(q(lat, 0.95)), max_ms: r1(lat.length ? Math.max(...lat) : null), all_ms: lat.map(r1) };
  log(`rollback visible after a breach: median ${out.breach.median_ms} ms, p95 ${out.breach.p95_ms} ms, max ${out.breach.max_ms} ms (${lat.length}/${NBREACH}${misses.length ? `, missed ${misses.join(' ')}` : ''})`);
  const h = await call('GET', '/health');
  out.health_after = h.status;
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
})().catch((e) => {
  log(`FAILED: ${e.stack || e}`);
  process.exit(1);
});

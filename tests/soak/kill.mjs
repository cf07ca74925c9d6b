// kill.mjs — the crash test of tests/crash/ at scale, for `make soak`: CYCLES times, 8 concurrent
// writers do durable PUTs to 16 names, the server gets SIGKILL at a random moment, restarts on
// the same data, and then (durability.js) the audit chain must verify, every name must be at a
// version at least as new as any acknowledged, every version acknowledged in the cycle must read
// back (GET name:version) with its value and have its audit record, and every version
// acknowledged in any cycle that the server still keeps (its newest 100) must be in its history
// with its value. The audit log never shrinks across restarts. At the end the whole audit log is
// matched against every acknowledged write and the server must stop cleanly on SIGTERM.
// Prints one summary line; writes kill.json (and the server log) to the results dir.
// Exit 1, with the details, on any loss.
//
// usage: node tests/soak/kill.mjs [--cycles 200] [--writers 8] [--keys 16] [--kill-min-ms 20]
//          [--kill-max-ms 600] [--keep-going] [--inject-loss] [--bin build/switchyard]
//          [--out bench/results/STAMP] [--deadline-min 90]
// --keep-going checks every cycle even after a loss (the summary then counts them all);
// --inject-loss adds a fabricated acknowledgement in cycle 0, to see the check fail.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TOP = path.resolve(HERE, '../..');
const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

const defaults = {
  cycles: Number(process.env.SOAK_CYCLES || 200), writers: 8, keys: 16, 'kill-min-ms': 20, 'kill-max-ms': 600,
  'keep-going': false, 'inject-loss': false, 'deadline-min': 90,
  bin: process.env.SWITCHYARD_BIN || path.join(TOP, 'build/switchyard'), out: process.env.SOAK_RESULTS_DIR || path.join(TOP, 'bench/results', stamp()),
};
const opt = { ...defaults };
for (let i = 2; i < process.argv.length; i++) {
  const m = /^--([a-z-]+)(?:=(.*))?$/.exec(process.argv[i]);
  if (!m || !(m[1] in defaults)) { console.error(`unknown argument ${process.argv[i]}; known: ${Object.keys(defaults).map((k) => `--${k}`).join(' ')}`); process.exit(2); }
  if (typeof defaults[m[1]] === 'boolean') { opt[m[1]] = true; continue; }
  const v = m[2] !== undefined ? m[2] : process.argv[++i];
  opt[m[1]] = typeof defaults[m[1]] === 'number' ? Number(v) : v;
  if (typeof defaults[m[1]] === 'number' && !Number.isFinite(opt[m[1]])) { console.error(`--${m[1]} wants a number`); process.exit(2); }
}
process.env.SWITCHYARD_BIN = path.resolve(opt.bin);
const require = createRequire(import.meta.url);
const { startServer } = require('../api/helpers.js');
const { newLedger, startWriters, lastSeq, verifyChain, checkRound, checkRetained, checkAudit } = require('../crash/durability.js');

const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}] kill:`, ...a);
const pct = (xs, q) => { const v = [...xs].sort((a, b) => a - b); return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : null; };

/* Resolves p, or rejects after ms with what. */
function deadline(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: not done within ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(t));
}

let S = null;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { try { S?.proc?.kill('SIGKILL'); } catch { /* gone */ } process.removeAllListeners(sig); process.kill(process.pid, sig); });
}

async function main() {
  fs.mkdirSync(opt.out, { recursive: true });
  const t0 = Date.now();
  const until = t0 + opt['deadline-min'] * 60000;
  S = await startServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-soak-')), env: { SWITCHYARD_HEARTBEAT_MS: '15000' } });
  log(`server on ${S.url}, data ${S.dataDir}; ${opt.cycles} cycles, ${opt.writers} writers on ${opt.keys} names, kill after ${opt['kill-min-ms']}–${opt['kill-max-ms']} ms`);
  const acked = newLedger('/soak/crash/', opt.keys);
  const allWrites = [];
  const failures = []; // [cycle, message]
  const lost = new Set();
  const perCycle = [];
  let verified = 0;
  let records = 0;
  let cycle = 0;

  for (; cycle < opt.cycles; cycle++) {
    if (Date.now() > until) throw new Error(`deadline of ${opt['deadline-min']} min passed after ${cycle} cycles`);
    const seq0 = await lastSeq(S);
    const logFrom = S.log.length;
    const w = startWriters(S, acked, { round: cycle, writers: opt.writers });
    const killAfter = opt['kill-min-ms'] + Math.floor(Math.random() * (opt['kill-max-ms'] - opt['kill-min-ms'] + 1));
    // The kill moment is the experiment's random variable, not a synchronisation.
    await new Promise((r) => setTimeout(r, killAfter));
    w.killing = true;
    const ex = await deadline(S.kill9().then(() => S.exited), 10000, `cycle ${cycle}: server exit after SIGKILL`);
    w.stopped = true;
    await deadline(w.done, 40000, `cycle ${cycle}: writers to notice the dead server`);
    const fail = (msg) => failures.push([cycle, msg]);
    const stopLine = S.log.slice(logFrom).split('\n').find((l) => l.includes('"msg":"stopping"'));
    if (stopLine) fail(`the server was told to stop by a signal from outside this test before the kill: ${stopLine}`);
    if (ex.signal !== 'SIGKILL') fail(`the server was already gone before the kill: code ${ex.code}, signal ${ex.signal}; log tail:\n${S.log.slice(-1500)}`);
    for (const s of w.surprises) fail(`unexpected answer while the server was up: ${s}`);
    for (const e of w.errorsWhileUp) fail(`request failed before the kill: ${e}`);
    allWrites.push(...w.thisRound);
    if (opt['inject-loss'] && cycle === 0) {
      const name = [...acked.keys()][0];
      const fake = Math.max(0, ...acked.get(name).keys()) + 1;
      acked.get(name).set(fake, 'injected, never written');
      w.thisRound.push([name, fake, 'injected, never written']);
      log(`injected a fabricated acknowledgement ${name}:${fake}`);
    }

    const r0 = performance.now();
    await S.restart();
    const restartMs = performance.now() - r0;
    const round = await checkRound(S, acked, w.thisRound, { round: cycle, seq0 });
    const kept = await checkRetained(S, acked, `cycle ${cycle}`);
    for (const f of [...round.failures, ...kept.failures]) fail(f);
    for (const k of [...round.lost, ...kept.lost]) lost.add(k);
    if (round.verify.ok) verified++;
    if (round.verify.records !== null && round.verify.records < records) fail(`the audit log shrank from ${records} to ${round.verify.records} records`);
    records = Math.max(records, round.verify.records ?? 0);
    perCycle.push({ cycle, kill_after_ms: killAfter, acked: w.thisRound.length, restart_ms: Math.round(restartMs), chain_ok: round.verify.ok, records: round.verify.records, lost: round.lost.size + kept.lost.size });
    if ((cycle + 1) % 10 === 0 || failures.length) {
      log(`cycle ${cycle + 1}/${opt.cycles}: ${allWrites.length} acknowledged so far, ${lost.size} lost, chain verified ${verified}/${cycle + 1}, ${records} audit records, last restart ${Math.round(restartMs)} ms`);
    }
    if (failures.length && !opt['keep-going']) { cycle++; break; }
  }

  // the whole log once more, against every acknowledged write of every cycle
  log(`final check of ${allWrites.length} acknowledged writes against the whole audit log`);
  const fin = await checkAudit(S, allWrites, 0, 'final');
  const finChain = await verifyChain(S, 'final');
  for (const f of fin.failures) failures.push([cycle, f]);
  if (!finChain.ok) failures.push([cycle, finChain.failure]);
  for (const k of fin.lost) lost.add(k);
  let cleanStop = true;
  try { await S.stop(); } catch (e) { cleanStop = false; failures.push([cycle, `clean stop: ${e.message}`]); }
  const dbBytes = fs.readdirSync(S.dataDir).reduce((n, f) => n + fs.statSync(path.join(S.dataDir, f)).size, 0);

  const secs = Math.round((Date.now() - t0) / 1000);
  const restarts = perCycle.map((c) => c.restart_ms);
  const result = {
    date: new Date().toISOString(), host: `${os.hostname()} ${os.cpus().length} vCPU, loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    bin: process.env.SWITCHYARD_BIN, options: opt, cycles: cycle, acknowledged: allWrites.length, lost: lost.size,
    chain_verified: verified, audit_records: records, final_chain_ok: finChain.ok, clean_stop: cleanStop, data_bytes: dbBytes,
    restart_ms: { p50: pct(restarts, 0.5), p99: pct(restarts, 0.99), max: Math.max(0, ...restarts) },
    acked_per_cycle: { min: Math.min(...perCycle.map((c) => c.acked)), max: Math.max(...perCycle.map((c) => c.acked)) },
    seconds: secs, failures: failures.slice(0, 200).map(([c, m]) => `cycle ${c}: ${m}`), cycles_detail: perCycle,
  };
  fs.writeFileSync(path.join(opt.out, 'kill.json'), `${JSON.stringify(result, null, 1)}\n`);
  fs.writeFileSync(path.join(opt.out, 'switchyard-kill.log'), S.log);

  console.log(`kill soak: ${cycle} cycles (SIGKILL under ${opt.writers} writers), ${allWrites.length} acknowledged writes, ${lost.size} lost, `
    + `chain verified ${verified}/${cycle} restarts (+ final ${finChain.ok ? 'ok' : 'BROKEN'}, ${finChain.records} records), `
    + `restart p50 ${result.restart_ms.p50} ms / max ${result.restart_ms.max} ms, ${secs} s`);
  console.log(`results: ${path.join(opt.out, 'kill.json')}`);
  if (failures.length || verified !== cycle || cycle !== opt.cycles) {
    console.error(`kill soak FAILED: ${failures.length} failures, ${lost.size} acknowledged writes lost; data dir kept: ${S.dataDir}`);
    for (const [c, m] of failures.slice(0, 50)) console.error(`  cycle ${c}: ${m}`);
    if (failures.length > 50) console.error(`  … ${failures.length - 50} more in kill.json`);
    process.exitCode = 1;
  } else {
    fs.rmSync(S.dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`kill soak FAILED: ${e.stack || e}`);
  if (S) {
    try { S.proc?.kill('SIGKILL'); } catch { /* gone */ }
    try { fs.mkdirSync(opt.out, { recursive: true }); fs.writeFileSync(path.join(opt.out, 'switchyard-kill.log'), S.log); } catch { /* best effort */ }
    console.error(`data dir kept: ${S.dataDir}`);
  }
  process.exitCode = 1;
});

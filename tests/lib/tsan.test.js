// tsan.test.js — sy_stress (tests/lib/stress.c) built with ThreadSanitizer (make tsan) reads on
// ten threads while this test writes a parameter and a flag in a loop: exit 0, no data race
// report, no inconsistency, and it saw the updates.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const os = require('node:os');
const { startServer } = require('../api/helpers.js');
const { libEnv, put, putFlag, makeToken } = require('./probe.js');

const BIN = process.env.SY_TSAN_BIN;
const SECONDS = 8;

let S;
let token;
before(async () => {
  if (!BIN) return;
  S = await startServer({ env: { SWITCHYARD_HEARTBEAT_MS: '500' } });
  token = await makeToken(S, 'lib-tsan', ['read']);
});
after(async () => {
  if (S) await S.cleanup();
});

function run(argv, norandom) {
  const [cmd, args] = norandom ? ['setarch', [os.arch() === 'x64' ? 'x86_64' : os.arch(), '-R', BIN, ...argv]] : [BIN, argv];
  const child = spawn(cmd, args, {
    env: libEnv({ TSAN_OPTIONS: 'halt_on_error=0 second_deadlock_stack=1 history_size=4' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

test('sy_stress under ThreadSanitizer while updates arrive', { skip: BIN ? false : 'SY_TSAN_BIN is not set (make tsan builds build-tsan/sy_stress)' }, async () => {
  // the parameter's value is its version, the flag's "on" value is its version
  let pv = await put(S, '/ts/param', '1');
  let fv = await putFlag(S, '/ts/flag', { variants: { on: '1', off: 'off' } });
  if (pv !== 1 || fv !== 1) throw new Error(`fresh server expected: versions ${pv}, ${fv}`);
  const argv = ['--server', S.url, '--token', token, '--prefix', '/ts/', '--param', '/ts/param', '--flag', 'ts/flag',
    '--seconds', String(SECONDS), '--threads', '10'];
  let norandom = false;
  let r;
  for (;;) {
    const proc = run(argv, norandom);
    let running = true;
    proc.done.then(() => { running = false; });
    let writes = 0;
    while (running) {
      const want = pv + 1;
      pv = await put(S, '/ts/param', String(want));
      assert.equal(pv, want, 'the parameter\'s versions are consecutive');
      const wantF = fv + 1;
      fv = await putFlag(S, '/ts/flag', { rollout_percentage: 50 + (wantF % 50), variants: { on: String(wantF), off: 'off' } });
      assert.equal(fv, wantF);
      writes++;
    }
    r = await proc.done;
    r.writes = writes;
    // newer kernels' mmap randomness: TSan cannot map its shadow; run it without randomization
    if (!norandom && /unexpected memory mapping|FATAL: ThreadSanitizer/.test(r.stderr)) {
      norandom = true;
      continue;
    }
    break;
  }
  assert.doesNotMatch(r.stderr, /WARNING: ThreadSanitizer/, `data race report:\n${r.stderr.slice(0, 12000)}`);
  assert.equal(r.signal, null, `sy_stress died of ${r.signal}:\n${r.stderr.slice(-4000)}`);
  assert.equal(r.code, 0, `sy_stress exited ${r.code}:\nstdout: ${r.stdout}\nstderr: ${r.stderr.slice(-8000)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
  assert.equal(out.inconsistencies, 0);
  assert.ok(out.ops > 0);
  assert.ok(r.writes > 2, `only ${r.writes} writes while it ran`);
  assert.ok(out.max_param_version > out.min_param_version, `no update seen by the readers: ${r.stdout}`);
  assert.ok(out.changes > 2, `change callbacks: ${out.changes}`);
  console.log(`# sy_stress: ${r.stdout.trim()} (${r.writes} write pairs)`);
});

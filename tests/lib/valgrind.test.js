// valgrind.test.js — a short follow under valgrind (release build only): a few puts, a delete,
// reads and evaluations, then quit. No invalid access, no definite leak: valgrind exits 0.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { startServer } = require('../api/helpers.js');
const { SANITIZED, startProbe, finish, put, putFlag, del, makeToken } = require('./probe.js');

const VG_DEADLINE = 60000; // valgrind is slow; deadlines are only waited out on failure

function haveValgrind() {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let S;
let token;
before(async () => {
  if (SANITIZED) return;
  S = await startServer({ env: { SWITCHYARD_HEARTBEAT_MS: '300' } });
  token = await makeToken(S, 'lib-valgrind', ['read']);
  await put(S, '/vg/a', 'one');
  await putFlag(S, '/vg/flag', { rollout_percentage: 50, variants: { on: 'in', off: 'out' } });
});
after(async () => {
  if (S) await S.cleanup();
});

for (const mode of ['threaded', 'event loop']) {
  test(`sy_probe follow under valgrind (${mode})`, { skip: SANITIZED ? 'the sanitized build is not run under valgrind' : false }, async () => {
    assert.ok(haveValgrind(), 'valgrind is not installed (scripts/deps.sh --test installs it)');
    const p = startProbe(['--server', S.url, '--token', token, '--prefix', '/vg/', '--start-timeout', '20000',
      '--backoff', '50', '500', ...(mode === 'threaded' ? [] : ['--no-thread'])], {
      wrap: ['valgrind', '--quiet', '--leak-check=full', '--errors-for-leak-kinds=definite', '--error-exitcode=99',
        '--show-leak-kinds=definite'],
      deadline: VG_DEADLINE,
    });
    assert.deepEqual((await p.ready).violations, []);
    await p.waitState((s) => s.state === 'synced', VG_DEADLINE, 'synced');
    assert.equal((await p.get('/vg/a')).value, 'one');
    for (let i = 0; i < 3; i++) {
      const v = await put(S, '/vg/a', `v${i}`);
      await p.waitEvent((e) => e.ev === 'change' && e.name === '/vg/a' && e.version === v, VG_DEADLINE, `put ${i}`);
    }
    const vb = await put(S, '/vg/b', 'bee');
    await p.waitEvent((e) => e.ev === 'change' && e.name === '/vg/b' && e.version === vb, VG_DEADLINE, '/vg/b');
    await del(S, '/vg/b');
    await p.waitEvent((e) => e.ev === 'change' && e.name === '/vg/b' && e.action === 'delete', VG_DEADLINE, 'delete');
    assert.equal((await p.cmd('eval vg/flag user-1')).rc, 0);
    assert.equal((await p.cmd('eval vg/flag user-1 {"country":')).rc, 0);
    assert.equal((await p.cmd('flag vg/flag user-2 0')).ev, 'flag');
    assert.equal((await p.cmd('snap')).count, 2);
    const r = await p.quit(VG_DEADLINE);
    assert.equal(r.code, 0, `valgrind exited ${r.code}${r.signal ? `/${r.signal}` : ''}:\n${r.stderr.slice(-8000)}`);
    assert.doesNotMatch(r.stderr, /definitely lost|Invalid (read|write)|uninitialised/, r.stderr.slice(-8000));
    await finish(p, [token]);
  });
}

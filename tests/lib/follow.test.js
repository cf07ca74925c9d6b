// follow.test.js — libswitchyard follows a live server: puts, deletes and flags reach the
// program through the change callback and the reads, threaded and from the program's own
// event loop (sy_client_fd + sy_client_step); prefixes filter; secrets and tokens stay out.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('../api/helpers.js');
const { startProbe, finish, put, putFlag, del, makeToken, bucket, DEADLINE } = require('./probe.js');

let S;
let readToken;
const SECRET = 'pr0be-s3cret-value-do-not-leak';

before(async () => {
  S = await startServer({ env: { SWITCHYARD_HEARTBEAT_MS: '500' } });
  readToken = await makeToken(S, 'lib-follow-read', ['read']);
  await put(S, '/other/x', 'not followed');
  await seed('/app');
});

async function seed(base) {
  await put(S, `${base}/a`, '1');
  await put(S, `${base}/list`, 'x,y,z', 'StringList');
  await put(S, `${base}/secret`, SECRET, 'SecureString');
  await putFlag(S, `${base}/flags/bool`, { variants: { on: true, off: false } });
}

after(async () => {
  if (S) await S.cleanup();
});

function probe(base, extra = [], opts) {
  return startProbe(['--server', S.url, '--token', readToken, '--prefix', `${base}/`, '--start-timeout', '5000',
    '--backoff', '20', '500', ...extra], opts);
}

for (const mode of ['threaded', 'event loop']) {
  const extra = mode === 'threaded' ? [] : ['--no-thread'];
  const B = mode === 'threaded' ? '/app-t' : '/app-e';
  const K = B.slice(1);
  describe(`following the server (${mode})`, () => {
    before(() => seed(B));
    it('starts from the snapshot, sees puts and deletes under its prefix only', async () => {
      const p = probe(B, extra);
      const ready = await p.ready;
      assert.deepEqual(ready.violations, [], 'API self-checks');
      if (mode === 'threaded') assert.equal(ready.fd, -1);
      else assert.ok(ready.fd >= 0, `sy_client_fd of an unthreaded client: ${ready.fd}`);

      const st = await p.waitState((s) => s.state === 'synced', DEADLINE, 'state synced');
      assert.equal(st.source, 'stream');
      assert.ok(st.seq > 0, `seq ${st.seq}`);
      assert.ok(st.reconnects >= 1, `reconnects ${st.reconnects}`);
      assert.equal(st.last_error, 0, `last_error after a clean sync: ${JSON.stringify(st)}`);
      assert.ok(st.synced_ms > 1.6e12, `synced_ms ${st.synced_ms}`);

      // the first snapshot called the change callback for every parameter it holds
      await p.waitEvent((e) => e.ev === 'change' && e.name === `${B}/a`, DEADLINE, 'initial change of /app/a');
      const first = p.changes(`${B}/a`)[0];
      assert.equal(first.action, 'put');
      assert.equal(first.type, 'String');
      assert.equal(first.version, 1);
      assert.equal(first.source, 'stream');

      let g = await p.get(`${B}/a`);
      assert.equal(g.rc, 0, JSON.stringify(g));
      assert.equal(g.value, '1');
      assert.equal(g.len, 1);
      assert.equal(g.version, 1);
      assert.equal(g.source, 'stream');
      assert.equal(g.snap_rc, 0);
      assert.equal(g.snap_type, 'String');
      assert.equal(g.snap_name, `${B}/a`);

      g = await p.get(`${B}/list`);
      assert.equal(g.value, 'x,y,z');
      assert.equal(g.snap_type, 'StringList');

      // a SecureString without decrypt: not held (SY_ENOTFOUND), never printed
      g = await p.get(`${B}/secret`);
      assert.equal(g.rc, 3, `SecureString read with a read-only token: ${JSON.stringify(g)}`);

      // outside the prefix: not followed
      g = await p.get('/other/x');
      assert.equal(g.rc, 3, JSON.stringify(g));

      // a put reaches the callback, with the value readable from inside it
      const v2 = await put(S, `${B}/a`, 'two');
      const ch = await p.waitEvent((e) => e.ev === 'change' && e.name === `${B}/a` && e.version === v2, DEADLINE, `${B}/a v2`);
      assert.equal(ch.action, 'put');
      assert.equal(ch.source, 'stream');
      assert.equal(ch.type, 'String');
      assert.ok(ch.seq > st.seq, `change seq ${ch.seq} after ${st.seq}`);
      assert.equal(ch.get_rc, 0, `sy_param_get inside the callback: ${JSON.stringify(ch)}`);
      assert.equal(ch.value, 'two', 'a read from inside the callback sees the change');
      assert.equal(ch.value_version, v2);
      g = await p.get(`${B}/a`);
      assert.equal(g.value, 'two');
      assert.equal(g.version, v2);

      // a new parameter, then its delete
      const vb = await put(S, `${B}/b`, 'bee');
      await p.waitEvent((e) => e.ev === 'change' && e.name === `${B}/b` && e.version === vb, DEADLINE, `${B}/b created`);
      await del(S, `${B}/b`);
      const d = await p.waitEvent((e) => e.ev === 'change' && e.name === `${B}/b` && e.action === 'delete', DEADLINE, `${B}/b deleted`);
      assert.equal(d.version, 0, 'a delete has version 0');
      assert.equal(d.type, '', 'a delete has type ""');
      assert.equal(d.get_rc, 3, 'the deleted parameter is gone when the callback runs');
      g = await p.get(`${B}/b`);
      assert.equal(g.rc, 3);

      // a write outside the prefix, then one inside: only the inside one is seen
      await put(S, '/other/x', 'still not followed');
      const v3 = await put(S, `${B}/a`, 'three');
      await p.waitEvent((e) => e.ev === 'change' && e.name === `${B}/a` && e.version === v3, DEADLINE, `${B}/a v3`);
      assert.equal(p.changes('/other/x').length, 0, 'a change outside the prefix reached the callback');
      assert.equal((await p.get('/other/x')).rc, 3);

      // a change's seq is the snapshot's; the state follows
      const st2 = await p.state();
      assert.equal(st2.state, 'synced');
      assert.ok(st2.seq >= p.changes(`${B}/a`).at(-1).seq);
      assert.ok(st2.updates >= 4, `updates ${st2.updates}`);

      // the snapshot: consistent, by name, only the prefix, no secret
      const snap = await p.cmd(`snap ${B}/`);
      assert.equal(snap.source, 'stream');
      assert.equal(snap.seq, st2.seq);
      const names = snap.params.map((x) => x.name);
      assert.deepEqual(names, [...names].sort(), 'sy_snapshot_each goes by name');
      assert.ok(names.includes(`${B}/a`) && names.includes(`${B}/flags/bool`) && !names.includes(`${B}/b`), names.join(','));
      assert.ok(!names.includes('/other/x'));
      assert.equal(snap.count, snap.params.length, 'sy_snapshot_count = what sy_snapshot_each gives for the whole prefix');

      await finish(p, [SECRET, readToken]);
    });

    it('evaluates flags locally and follows their changes', async () => {
      const p = probe(B, extra);
      assert.deepEqual((await p.ready).violations, []);
      await p.waitState((s) => s.state === 'synced', DEADLINE, 'state synced');

      let f = await p.cmd(`flag ${K}/flags/bool - 0`);
      assert.equal(f.enabled, 1, 'a static true flag is on');
      f = await p.cmd(`flag ${B}/flags/bool - 0`);
      assert.equal(f.enabled, 1, 'a key given with its leading / is accepted');
      let e = await p.cmd(`eval ${K}/flags/bool -`);
      assert.equal(e.rc, 0);
      assert.equal(e.variant, 'on');
      assert.equal(e.value, 'true');
      assert.equal(e.reason, 'STATIC');
      assert.equal(e.error_code, null);
      assert.equal(e.source, 'stream');
      assert.equal(e.bucket, null, 'no bucket needed for a static flag');
      assert.equal(e.rule, -1);
      assert.equal(e.snap.variant, 'on');
      assert.equal(e.snap.version, e.version);

      // disabled: off, reason DISABLED
      const vd = await putFlag(S, `${B}/flags/bool`, { enabled: false, variants: { on: true, off: false } });
      await p.waitEvent((x) => x.ev === 'change' && x.name === `${B}/flags/bool` && x.version === vd, DEADLINE, 'flag disabled');
      f = await p.cmd(`flag ${K}/flags/bool - 1`);
      assert.equal(f.enabled, 0);
      e = await p.cmd(`eval ${K}/flags/bool -`);
      assert.equal(e.reason, 'DISABLED');
      assert.equal(e.variant, 'off');
      assert.equal(e.version, vd);

      // a 50 % rollout of string variants: the fixed bucket decides, per subject
      const key = `${K}/flags/rollout`;
      const vr = await putFlag(S, `/${key}`, { rollout_percentage: 50, variants: { on: 'in', off: 'out' } });
      await p.waitEvent((x) => x.ev === 'change' && x.name === `/${key}` && x.version === vr, DEADLINE, 'rollout flag');
      let ins = 0;
      for (let i = 0; i < 30; i++) {
        const subject = `subject-${i}`;
        const b = bucket(key, subject);
        e = await p.cmd(`eval ${key} ${subject}`);
        assert.equal(e.bucket, b, `bucket of ${subject}`);
        assert.equal(e.variant, b < 5000 ? 'on' : 'off', `${subject} (bucket ${b})`);
        assert.equal(e.value, b < 5000 ? '"in"' : '"out"');
        assert.equal(e.reason, b < 5000 ? 'SPLIT' : 'DEFAULT');
        f = await p.cmd(`flag ${key} ${subject} 0`);
        assert.equal(f.enabled, b < 5000 ? 1 : 0, 'not the default variant = enabled');
        if (b < 5000) ins++;
      }
      assert.ok(ins > 0 && ins < 30, `30 subjects all on one side (${ins} in)`);
      // no subject: TARGETING_KEY_MISSING, and sy_flag_enabled gives the default
      e = await p.cmd(`eval ${key} -`);
      assert.equal(e.rc, 0);
      assert.equal(e.reason, 'ERROR');
      assert.equal(e.error_code, 'TARGETING_KEY_MISSING');
      assert.equal(e.variant, null);
      assert.equal((await p.cmd(`flag ${key} - 1`)).enabled, 1);
      assert.equal((await p.cmd(`flag ${key} - 0`)).enabled, 0);

      // rules on the context's attributes
      const kt = `${K}/flags/targeted`;
      const vt = await putFlag(S, `/${kt}`, {
        rollout_percentage: 0,
        variants: { on: 'dutch', off: 'other' },
        rules: [{ name: 'nl', constraints: [{ attribute: 'country', operator: 'IN', values: ['NL'] }], variant: 'on' }],
      });
      await p.waitEvent((x) => x.ev === 'change' && x.name === `/${kt}` && x.version === vt, DEADLINE, 'targeted flag');
      e = await p.cmd(`eval ${kt} u1 {"country":"NL"}`);
      assert.equal(e.variant, 'on', JSON.stringify(e));
      assert.equal(e.reason, 'TARGETING_MATCH');
      assert.equal(e.rule, 0);
      e = await p.cmd(`eval ${kt} u1 {"country":"DE"}`);
      assert.equal(e.variant, 'off');
      assert.equal(e.rule, -1);
      // the subject argument replaces a targetingKey in the context
      e = await p.cmd(`eval ${key} subject-1 {"targetingKey":"someone-else"}`);
      assert.equal(e.bucket, bucket(key, 'subject-1'));
      // a malformed context: INVALID_CONTEXT (header), not a crash
      e = await p.cmd(`eval ${kt} u1 {"country":`);
      assert.equal(e.rc, 0, JSON.stringify(e));
      assert.equal(e.reason, 'ERROR');
      assert.equal(e.error_code, 'INVALID_CONTEXT', `a malformed context: ${JSON.stringify(e)}`);
      // a context that is not an object
      e = await p.cmd(`eval ${kt} u1 [1,2]`);
      assert.equal(e.reason, 'ERROR', JSON.stringify(e));
      // nested deeper than 8
      e = await p.cmd(`eval ${kt} u1 {"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":1}}}}}}}}}}`);
      assert.equal(e.reason, 'ERROR', `a context nested 10 deep: ${JSON.stringify(e)}`);
      assert.equal(e.error_code, 'INVALID_CONTEXT');

      // not a flag: TYPE_MISMATCH-like error, default for sy_flag_enabled
      e = await p.cmd(`eval ${K}/a u1`);
      assert.equal(e.reason, 'ERROR', JSON.stringify(e));
      assert.equal((await p.cmd(`flag ${K}/a u1 1`)).enabled, 1);
      assert.equal((await p.cmd(`flag ${K}/a u1 0`)).enabled, 0);

      // deleted flag: not found, default
      await del(S, `/${kt}`);
      await p.waitEvent((x) => x.ev === 'change' && x.name === `/${kt}` && x.action === 'delete', DEADLINE, 'flag deleted');
      e = await p.cmd(`eval ${kt} u1 {"country":"NL"}`);
      assert.equal(e.error_code, 'FLAG_NOT_FOUND');
      assert.equal(e.source, 'default');
      assert.equal(e.version, 0);

      await finish(p, [SECRET, readToken]);
    });
  });
}

describe('options', () => {
  it('two prefixes, one of them a whole name', async () => {
    await put(S, '/p2/x', 'px');
    const p = startProbe(['--server', S.url, '--token', readToken, '--prefix', '/app/a', '--prefix', '/p2/', '--start-timeout', '5000']);
    assert.deepEqual((await p.ready).violations, []);
    await p.waitState((s) => s.state === 'synced', DEADLINE, 'synced');
    assert.equal((await p.get('/p2/x')).value, 'px');
    assert.equal((await p.get('/app/a')).rc, 0);
    assert.equal((await p.get('/app/list')).rc, 3, 'a parameter under neither prefix');
    const v = await put(S, '/p2/y', 'py');
    await p.waitEvent((e) => e.ev === 'change' && e.name === '/p2/y' && e.version === v, DEADLINE, '/p2/y');
    const va = await put(S, '/app/a', 'four');
    await p.waitEvent((e) => e.ev === 'change' && e.name === '/app/a' && e.version === va, DEADLINE, '/app/a');
    await put(S, '/app/list', 'not seen', 'StringList');
    const vy = await put(S, '/p2/y', 'py2');
    await p.waitEvent((e) => e.ev === 'change' && e.name === '/p2/y' && e.version === vy, DEADLINE, '/p2/y v2');
    assert.equal(p.changes('/app/list').length, 0);
    await finish(p, [readToken]);
  });

  it('the client allocator gets every allocation back', async () => {
    const p = startProbe(['--server', S.url, '--token', readToken, '--prefix', '/app/', '--start-timeout', '5000', '--count-alloc']);
    assert.deepEqual((await p.ready).violations, []);
    await p.waitState((s) => s.state === 'synced', DEADLINE, 'synced');
    assert.equal((await p.get('/app/a')).rc, 0);
    assert.equal((await p.cmd('eval app/flags/bool u')).rc, 0);
    const v = await put(S, '/app/a', 'alloc');
    await p.waitEvent((e) => e.ev === 'change' && e.name === '/app/a' && e.version === v, DEADLINE, '/app/a');
    const bye = await finish(p);
    assert.ok(bye.total_allocs > 0, 'the client allocated nothing with the allocator it was given');
    assert.equal(bye.live_allocs, 0, `${bye.live_allocs} allocations of the client allocator not freed by sy_client_free`);
  });

  it('a wrong token: not synced, the error says so, no crash', async () => {
    const p = startProbe(['--server', S.url, '--token', 'not-a-token', '--prefix', '/app/', '--start-timeout', '200', '--backoff', '20', '200']);
    assert.deepEqual((await p.ready).violations, []);
    const st = await p.waitState((s) => s.last_error !== 0 && s.last_error_msg.length > 0, DEADLINE, 'an error in the state');
    assert.notEqual(st.state, 'synced');
    assert.equal(st.last_error, 11, `SY_EUNAUTH for a token the server does not know: ${JSON.stringify(st)}`);
    assert.equal((await p.get('/app/a')).rc, 3);
    await finish(p, ['not-a-token']);
  });
});

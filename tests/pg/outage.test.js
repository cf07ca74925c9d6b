// outage.test.js — PostgreSQL stopped under two live nodes: reads and flag evaluations go on
// from each node's snapshot, writes answer 503 StoreUnavailable with Retry-After, /health says
// "degraded"; PostgreSQL back, the nodes recover by themselves and changes flow again.
// The cluster is the test's own (scripts/pg.sh): stopping the shared one would hit other tests.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const H = require('../api/helpers');
const P = require('./helpers');

const FLAG = '/pgo/flags/checkout';

describe('PostgreSQL stopped mid-run', { skip: P.SKIP }, () => {
  let pg;
  let C;
  const open = [];
  before(async () => {
    pg = await P.ownCluster();
    C = await P.startNodes(2, { base: pg.url });
  });
  after(async () => {
    for (const w of open) w.close();
    try {
      if (C) await C.cleanup();
    } finally {
      if (pg) await pg.destroy();
    }
  });

  const evaluate = (s) => H.api(s, 'POST', `/ofrep/v1/evaluate/flags/${FLAG.slice(1)}`, { context: { targetingKey: 'user-7' } });

  it('serves reads, refuses writes with 503, says degraded, and recovers by itself', async () => {
    const [A, B] = C.nodes;
    const p = await P.put(A, '/pgo/p', 'before');
    const f = await H.api(A, 'PUT', H.pp(FLAG), { type: 'Flag', value: JSON.stringify({ variants: { on: 'new', off: 'old' } }) });
    assert.equal(f.status, 200, f.text);
    for (const s of C.nodes) {
      await P.waitParam(s, '/pgo/p', p.version);
      await P.waitParam(s, FLAG, f.json.version);
    }
    const ev0 = await evaluate(B);
    assert.equal(ev0.status, 200, ev0.text);
    assert.equal(ev0.json.value, 'new', ev0.text);
    const w = await P.watch(B, '/pgo/');
    open.push(w);

    await pg.stop();

    // a write, right away, on either node: 503 with Retry-After, nothing written. The error
    // code is checked last, so that a wrong one does not hide what else the outage does.
    const codes = [];
    for (const s of C.nodes) {
      const r = await H.api(s, 'PUT', H.pp('/pgo/p'), { value: 'during', type: 'String', overwrite: true });
      assert.equal(r.status, 503, `write with PostgreSQL down on ${s.url}: ${r.status} ${r.text}`);
      assert.equal(r.headers['retry-after'], '1', JSON.stringify(r.headers));
      codes.push(r.json.error.code);
    }
    for (const s of C.nodes) {
      const h = await H.waitFor(async () => {
        const j = await P.health(s);
        return j.status === 'degraded' ? j : null;
      }, 15000, `health degraded on ${s.url}`, 100);
      assert.equal(h.store, 'postgres', JSON.stringify(h));
      assert.equal(typeof h.store_error, 'string', JSON.stringify(h));
      assert.ok(h.store_error.length > 0, JSON.stringify(h));
    }
    // reads, listings, snapshots and evaluations from the snapshot
    for (const s of C.nodes) {
      const g = await H.api(s, 'GET', H.pp('/pgo/p'));
      assert.equal(g.status, 200, g.text);
      assert.equal(g.json.value, 'before');
      const l = await H.listAll(s, '/pgo', true);
      assert.ok(l.some((x) => x.name === '/pgo/p'), JSON.stringify(l));
      const e = await evaluate(s);
      assert.equal(e.status, 200, e.text);
      assert.equal(e.json.value, 'new', e.text);
      const snap = await H.api(s, 'GET', '/api/v1/snapshot?prefix=/pgo/');
      assert.equal(snap.status, 200, snap.text);
    }
    // other kinds of writes are refused the same way
    const del = await H.api(A, 'DELETE', H.pp('/pgo/p'));
    assert.equal(del.status, 503, del.text);
    const tok = await H.api(B, 'POST', '/api/v1/admin/tokens', { name: 'during-outage', scopes: ['read'] });
    assert.equal(tok.status, 503, tok.text);
    assert.equal(tok.headers['retry-after'], '1');

    await pg.restart();

    for (const s of C.nodes) {
      await H.waitFor(async () => (await P.health(s)).status === 'ok', 15000, `health ok again on ${s.url}`, 100);
    }
    // nothing refused during the outage was written
    for (const s of C.nodes) {
      const g = await H.api(s, 'GET', H.pp('/pgo/p'));
      assert.deepEqual([g.json.value, g.json.version], ['before', p.version], g.text);
    }
    // a write on one node reaches the other, and the watcher opened before the outage. The first
    // write on each node once its /health says "ok" must succeed: that is checked at the end,
    // after a retry has let the rest of the test run.
    const firstTries = [];
    const writeAfter = async (s, name, value) => {
      const r = await H.api(s, 'PUT', H.pp(name), { value, type: 'String', overwrite: true });
      firstTries.push(`${s.url} PUT ${name}: ${r.status} ${r.text}`);
      if (r.status === 200) return r.json;
      return H.waitFor(async () => {
        const again = await H.api(s, 'PUT', H.pp(name), { value, type: 'String', overwrite: true });
        return again.status === 200 ? again.json : null;
      }, 15000, `a write on ${s.url} after PostgreSQL came back`, 100);
    };
    const after1 = await writeAfter(A, '/pgo/p', 'after');
    assert.equal(after1.version, p.version + 1);
    assert.equal((await P.waitParam(B, '/pgo/p', after1.version)).value, 'after');
    const ev = P.brief((await P.collect(w, 1))[0]);
    assert.deepEqual([ev.name, ev.version, ev.value], ['/pgo/p', after1.version, 'after']);
    const after2 = await writeAfter(B, '/pgo/q', 'from-b');
    assert.equal((await P.waitParam(A, '/pgo/q', after2.version)).value, 'from-b');
    const ev2 = P.brief((await P.collect(w, 1))[0]);
    assert.ok(ev2.seq > ev.seq);
    assert.equal(ev2.name, '/pgo/q');
    const v = await H.api(A, 'GET', '/api/v1/admin/audit/verify');
    assert.equal(v.json.ok, true, v.text);
    codes.push(del.json.error.code, tok.json.error.code);
    // docs/API.md: "answers writes `503 Unavailable` with `Retry-After: 1`"
    assert.deepEqual(codes, codes.map(() => 'Unavailable'), 'the error code of a write refused while PostgreSQL is out of reach');
    assert.ok(firstTries.every((x) => / 200 /.test(x)), `a node said "ok" in /health but refused the next write:\n${firstTries.join('\n')}`);
  });

  it('a node started while PostgreSQL is down exits 1 naming the host', async () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pgdown-'));
    await pg.stop();
    try {
      const s = await H.spawnRun(process.env.SWITCHYARD_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', data, '--store', C.store],
        H.cleanEnv({ SWITCHYARD_ADMIN_TOKEN: C.token }));
      const host = new URL(C.store);
      assert.equal(s.code, 1, s.stderr);
      assert.match(s.stderr, new RegExp(`cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${host.port}(/\\w+)?: \\S`), s.stderr);
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
      await pg.restart();
    }
    for (const s of C.nodes) {
      await H.waitFor(async () => (await P.health(s)).status === 'ok', 15000, `health ok again on ${s.url}`, 100);
    }
  });
});

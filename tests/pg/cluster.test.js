// cluster.test.js — three nodes on one PostgreSQL store: one change stream (same events, same
// order, same ids on every node), resume across nodes, one audit chain, exact if_version.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('../api/helpers');
const P = require('./helpers');

describe('three nodes on one store', { skip: P.SKIP }, () => {
  let C;
  const open = [];
  before(async () => { C = await P.startNodes(3); });
  after(async () => {
    for (const w of open) w.close();
    if (C) await C.cleanup();
  });
  const watch = async (s, prefix, afterId) => {
    const w = await P.watch(s, prefix, afterId);
    open.push(w);
    return w;
  };

  it('every node serves /health as one postgres store', async () => {
    for (const s of C.nodes) {
      const h = await P.health(s);
      assert.equal(h.status, 'ok', JSON.stringify(h));
      assert.equal(h.store, 'postgres', JSON.stringify(h));
      assert.equal(typeof h.leader, 'boolean', JSON.stringify(h));
      assert.ok(Number.isInteger(h.seq), `seq: ${JSON.stringify(h)}`);
    }
    // the store's identity is the same on every node
    const ids = new Set();
    for (const s of C.nodes) {
      const r = await H.api(s, 'GET', '/api/v1/snapshot?prefix=/nothing/');
      assert.equal(r.status, 200, r.text);
      ids.add(r.json.store);
    }
    assert.equal(ids.size, 1, `store identities differ: ${[...ids]}`);
  });

  it('a watcher on every node sees every change, in one order, with the same ids', async () => {
    const prefix = '/pgc/order/';
    const ws = [];
    for (const s of C.nodes) ws.push(await watch(s, prefix));
    // 60 writes, spread over the nodes, 6 at a time, some names written by several nodes
    const acked = [];
    for (let round = 0; round < 10; round++) {
      const batch = [];
      for (let i = 0; i < 6; i++) {
        const s = C.nodes[(round + i) % 3];
        const name = `${prefix}p${i % 4}`;
        const value = `r${round}-i${i}`;
        batch.push(P.put(s, name, value).then((j) => acked.push({ name, value, version: j.version })));
      }
      await Promise.all(batch);
    }
    const seen = [];
    for (const w of ws) seen.push((await P.collect(w, acked.length)).map(P.brief));
    assert.deepEqual(seen[1], seen[0], 'node 2 saw another stream than node 1');
    assert.deepEqual(seen[2], seen[0], 'node 3 saw another stream than node 1');
    const stream = seen[0];
    for (let i = 0; i < stream.length; i++) {
      assert.equal(Number(stream[i].id), stream[i].seq, 'id = seq');
      if (i) assert.ok(stream[i].seq > stream[i - 1].seq, `ids not increasing at ${i}: ${JSON.stringify(stream.slice(i - 1, i + 1))}`);
    }
    // exactly the acknowledged writes, each once; versions of one name in stream order
    const key = (e) => `${e.name}@${e.version}=${e.value}`;
    assert.deepEqual(stream.map(key).sort(), acked.map(key).sort());
    const lastVersion = new Map();
    for (const e of stream) {
      assert.equal(e.version, (lastVersion.get(e.name) || 0) + 1, `${e.name} skipped or repeated a version in the stream`);
      lastVersion.set(e.name, e.version);
    }
    // and no watcher got anything more
    for (const w of ws) assert.equal(w.items.filter((i) => i.type === 'event').length, acked.length);
  });

  it('a watcher that leaves node 1 and resumes on node 3 with Last-Event-ID gets no gap and no duplicate', async () => {
    const prefix = '/pgc/resume/';
    const [A, B, Cn] = C.nodes;
    const ref = await watch(Cn, prefix); // the whole stream, for reference
    const w1 = await watch(A, prefix);
    for (let i = 0; i < 10; i++) await P.put(C.nodes[i % 3], `${prefix}k${i % 3}`, `first-${i}`);
    const part1 = (await P.collect(w1, 10)).map(P.brief);
    w1.close();
    // written while nobody listens to node 1: on every node, the last ones on node 3 itself
    for (let i = 0; i < 12; i++) await P.put(C.nodes[(i + 1) % 3], `${prefix}k${i % 4}`, `second-${i}`);
    const w3 = await watch(Cn, prefix, part1[part1.length - 1].id);
    const part2 = (await P.collect(w3, 12)).map(P.brief);
    const whole = (await P.collect(ref, 22)).map(P.brief);
    assert.deepEqual([...part1, ...part2], whole);
    // nothing after the 12: another write is the very next event
    const last = await P.put(B, `${prefix}k0`, 'third');
    const ev = P.brief((await P.collect(w3, 1))[0]);
    assert.deepEqual([ev.name, ev.version, ev.value], [`${prefix}k0`, last.version, 'third']);
  });

  it('resuming on another node right after an event was seen: the next event is the next change, never that one again', async () => {
    const prefix = '/pgc/hop/';
    const [A, B, Cn] = C.nodes;
    const wA = await watch(A, prefix);
    for (let i = 0; i < 20; i++) {
      const to = i % 2 ? B : Cn;
      const first = await P.put(A, `${prefix}x`, `first-${i}`);
      const seen = P.brief((await P.collect(wA, 1))[0]);
      assert.equal(seen.version, first.version);
      // straight to another node, which may not have applied it yet
      const w = await watch(to, prefix, seen.id);
      const second = await P.put(A, `${prefix}x`, `second-${i}`);
      const next = P.brief((await P.collect(w, 1))[0]);
      w.close();
      assert.deepEqual([next.version, next.value], [second.version, `second-${i}`], `round ${i}: resumed after ${seen.id} on ${to.url}, got ${JSON.stringify(next)}`);
      assert.ok(next.seq > seen.seq);
      await P.collect(wA, 1);
    }
  });

  it('a resume point on one node is the same point on another (?since= and Last-Event-ID)', async () => {
    const prefix = '/pgc/since/';
    const [A, B] = C.nodes;
    const first = await P.put(A, `${prefix}x`, 'a');
    await P.waitParam(B, `${prefix}x`, first.version);
    const w = await watch(A, prefix, 0);
    const ev = P.brief((await P.collect(w, 1))[0]);
    await P.put(B, `${prefix}x`, 'b');
    await P.put(A, `${prefix}y`, 'c');
    const onA = (await P.collect(w, 2)).map(P.brief);
    const s = await H.openSSE(B, `/api/v1/watch?prefix=${encodeURIComponent(prefix)}&since=${ev.id}`);
    open.push(s);
    assert.equal(s.status, 200, s.body);
    const onB = (await P.collect(s, 2)).map(P.brief);
    assert.deepEqual(onB, onA);
  });

  it('audit verify passes on every node after concurrent writes from all of them', async () => {
    const writes = [];
    for (let n = 0; n < 3; n++) {
      writes.push((async () => {
        for (let i = 0; i < 25; i++) await P.put(C.nodes[n], `/pgc/audit/n${n}/k${i % 5}`, `v${i}`, { reason: `node ${n} write ${i}` });
      })());
      writes.push((async () => {
        for (let i = 0; i < 25; i++) await P.put(C.nodes[n], `/pgc/audit/shared`, `n${n}-${i}`);
      })());
    }
    await Promise.all(writes);
    const top = await P.lastSeq(C.nodes[0]);
    for (const s of C.nodes) await P.waitSeq(s, top);
    for (const s of C.nodes) {
      const r = await H.api(s, 'GET', '/api/v1/admin/audit/verify');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.ok, true, `audit verify on ${s.url}: ${r.text}`);
      assert.ok(r.json.records >= top, r.text);
      const cli = H.cliRunner(process.env.SWITCHYARD_BIN, () => ({ url: s.url, token: C.token }));
      const v = await cli.ok(['audit', 'verify']);
      assert.match(v.stdout, /audit chain ok: \d+ records/, v.stdout);
    }
    // the chain is one: every node lists the same records, each hash chained to the one before
    const recs = [];
    for (const s of C.nodes) {
      const r = await H.api(s, 'GET', '/api/v1/admin/audit?limit=200');
      assert.equal(r.status, 200, r.text);
      recs.push(r.json.records.filter((x) => x.seq <= top).map((x) => `${x.seq}:${x.prev_hash}:${x.hash}`));
    }
    assert.deepEqual(recs[1], recs[0]);
    assert.deepEqual(recs[2], recs[0]);
    const shared = await H.api(C.nodes[2], 'GET', H.pp('/pgc/audit/shared'));
    assert.equal(shared.json.version, 75, 'every write of the shared name is one version');
  });

  it('if_version racing on three nodes: exactly one wins, the others get 409', async () => {
    const name = '/pgc/race/x';
    let v = (await P.put(C.nodes[0], name, 'start')).version;
    for (let round = 0; round < 15; round++) {
      for (const s of C.nodes) await P.waitParam(s, name, v);
      const rs = await Promise.all(C.nodes.map((s, i) =>
        H.api(s, 'PUT', H.pp(name), { value: `round${round}-node${i}`, type: 'String', overwrite: true, if_version: v })));
      const won = rs.filter((r) => r.status === 200);
      const lost = rs.filter((r) => r.status === 409);
      assert.equal(won.length, 1, `round ${round}: ${rs.map((r) => `${r.status} ${r.text}`).join(' | ')}`);
      assert.equal(lost.length, 2, `round ${round}: ${rs.map((r) => `${r.status} ${r.text}`).join(' | ')}`);
      for (const r of lost) assert.equal(r.json.error.code, 'VersionConflict', r.text);
      assert.equal(won[0].json.version, v + 1);
      v += 1;
    }
    // a stale if_version is refused on a node that may not have seen the newer version yet
    const fresh = await P.put(C.nodes[0], name, 'fresh', { if_version: v });
    const stale = await H.api(C.nodes[1], 'PUT', H.pp(name), { value: 'stale', type: 'String', overwrite: true, if_version: v });
    assert.equal(stale.status, 409, stale.text);
    // and "must not exist" (if_version 0) races the same way
    const rs = await Promise.all(C.nodes.map((s, i) =>
      H.api(s, 'PUT', H.pp('/pgc/race/new'), { value: `n${i}`, type: 'String', if_version: 0 })));
    assert.deepEqual(rs.map((r) => r.status).sort(), [200, 409, 409], rs.map((r) => r.text).join(' | '));
    for (const s of C.nodes) {
      const got = await P.waitParam(s, name, fresh.version);
      assert.equal(got.value, 'fresh');
      assert.equal(got.version, v + 1);
    }
  });
});

// kill.test.js — one of three nodes on a PostgreSQL store killed with SIGKILL while all of them
// take writes: every acknowledged write survives on the others, which keep serving; the killed
// node, restarted, catches up.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('../api/helpers');
const P = require('./helpers');

describe('a node killed mid-writes', { skip: P.SKIP }, () => {
  let C;
  before(async () => { C = await P.startNodes(3); });
  after(async () => { if (C) await C.cleanup(); });

  it('loses no acknowledged write; the others keep serving; restarted, it catches up', async () => {
    const [A, B, Cn] = C.nodes;
    const acked = new Map(); // name -> value, for every write answered 200
    const ackedOn = [0, 0, 0];
    let stop = false;
    let killedAt = -1; // acks on the surviving nodes when B died
    /* One writer per node and slot: unique names, so each acknowledged write is one version 1. */
    const writer = async (n, slot) => {
      const s = C.nodes[n];
      for (let i = 0; !stop; i++) {
        const name = `/pgk/n${n}/s${slot}/w${i}`;
        let r;
        try {
          r = await H.api(s, 'PUT', H.pp(name), { value: `v-${n}-${slot}-${i}`, type: 'String' });
        } catch {
          if (n === 1) return; // the killed node: connection refused or reset, outcome unknown
          throw new Error(`node ${n + 1} stopped answering`);
        }
        if (r.status === 200) {
          assert.equal(r.json.version, 1, r.text);
          acked.set(name, `v-${n}-${slot}-${i}`);
          ackedOn[n]++;
        } else if (n !== 1) {
          throw new Error(`node ${n + 1}: PUT ${name} → ${r.status} ${r.text}`);
        }
      }
    };
    const writers = [];
    for (let n = 0; n < 3; n++) for (let slot = 0; slot < 2; slot++) writers.push(writer(n, slot));
    const failed = Promise.all(writers).then(() => null, (e) => e);
    // let every node take some writes, then kill node 2 in the middle of its writers' requests
    await H.waitFor(() => ackedOn.every((x) => x >= 20), 30000, 'writes acknowledged on every node');
    await B.kill9();
    killedAt = ackedOn[0] + ackedOn[2];
    // the survivors keep taking writes
    await H.waitFor(() => ackedOn[0] + ackedOn[2] >= killedAt + 60, 30000, 'writes on the surviving nodes after the kill');
    stop = true;
    const err = await failed;
    if (err) throw err;

    // every acknowledged write, the killed node's too, is on both survivors
    const top = await P.lastSeq(A);
    for (const s of [A, Cn]) {
      await P.waitSeq(s, top);
      const snap = await H.api(s, 'GET', '/api/v1/snapshot?prefix=/pgk/');
      assert.equal(snap.status, 200, snap.text);
      const have = new Map(snap.json.params.map((p) => [p.name, p.value]));
      const missing = [...acked].filter(([k, v]) => have.get(k) !== v);
      assert.deepEqual(missing, [], `${missing.length} acknowledged writes missing on ${s.url}`);
      for (const name of [...acked.keys()].filter((k) => k.startsWith('/pgk/n1/')).slice(-3)) {
        const r = await H.api(s, 'GET', H.pp(name));
        assert.equal(r.status, 200, `${name} (acknowledged by the killed node): ${r.text}`);
      }
    }
    assert.ok(ackedOn[1] >= 20);

    // restarted on the same store and data, it catches up on what it missed
    await B.restart();
    await P.waitSeq(B, top, 30000);
    const snap = await H.api(B, 'GET', '/api/v1/snapshot?prefix=/pgk/');
    const have = new Map(snap.json.params.map((p) => [p.name, p.value]));
    const missing = [...acked].filter(([k, v]) => have.get(k) !== v);
    assert.deepEqual(missing, [], `${missing.length} acknowledged writes missing on the restarted node`);
    // and takes part again: its writes reach the others, theirs reach it
    const w = await P.put(B, '/pgk/after', 'from-restarted');
    await P.waitParam(A, '/pgk/after', w.version);
    await P.waitParam(Cn, '/pgk/after', w.version);
    const w2 = await P.put(Cn, '/pgk/after', 'to-restarted');
    assert.equal((await P.waitParam(B, '/pgk/after', w2.version)).value, 'to-restarted');
    const v = await H.api(B, 'GET', '/api/v1/admin/audit/verify');
    assert.equal(v.json.ok, true, v.text);
  });
});

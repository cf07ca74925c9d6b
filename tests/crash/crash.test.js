// crash.test.js — an acknowledged write survives SIGKILL: 8 concurrent writers, kill at a
// random moment, restart on the same data, check every acknowledged version. 20 rounds.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, sha256hex } = require('../api/helpers');

const ROUNDS = Number(process.env.SY_CRASH_ROUNDS || 20);
const WRITERS = 8;
const KEYS = 16;
const KEEP = 100; // versions a parameter keeps (docs/API.md: the oldest goes past 100)

/* Runs fns with at most n in flight. */
async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) {
      const k = i++;
      await fn(items[k]);
    }
  }));
}

test('every acknowledged write survives SIGKILL', { timeout: 300000 }, async (t) => {
  const S = await startServer();
  t.after(() => S.cleanup());
  // name → Map(version → value) of every acknowledged write, across all rounds
  const acked = new Map();
  for (let k = 0; k < KEYS; k++) acked.set(`/crash/k${k}`, new Map());
  let total = 0;

  for (let round = 0; round < ROUNDS; round++) {
    const seq0 = (await api(S, 'GET', '/api/v1/admin/audit?limit=1')).json.records[0]?.seq ?? 0;
    const url = S.url;
    const thisRound = [];
    const surprises = [];
    let stop = false;

    const writer = async (w) => {
      for (let i = 0; !stop; i++) {
        const name = `/crash/k${Math.floor(Math.random() * KEYS)}`;
        const value = `r${round}.w${w}.i${i}.${Math.random().toString(36).slice(2, 10)}`;
        let res;
        let body;
        try {
          res = await fetch(`${url}/api/v1/params${name}`, {
            method: 'PUT',
            headers: { Authorization: `Bearer ${S.token}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({ value, type: 'String', overwrite: true }),
          });
          body = await res.text();
        } catch {
          return; // the server is gone: this write was never acknowledged
        }
        if (res.status !== 200) {
          surprises.push(`PUT ${name} → ${res.status} ${body}`);
          continue;
        }
        let j;
        try { j = JSON.parse(body); } catch { surprises.push(`PUT ${name}: 200 with ${body}`); continue; }
        if (j.name !== name || !Number.isInteger(j.version)) { surprises.push(`PUT ${name}: 200 with ${body}`); continue; }
        const m = acked.get(name);
        if (m.has(j.version) && m.get(j.version) !== value) {
          surprises.push(`${name} version ${j.version} acknowledged twice: ${m.get(j.version)} and ${value}`);
        }
        m.set(j.version, value);
        thisRound.push([name, j.version, value]);
      }
    };
    const loops = Array.from({ length: WRITERS }, (_, w) => writer(w));
    // The kill moment is the experiment's random variable, not a synchronisation.
    await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 300)));
    await S.kill9();
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(surprises, [], `round ${round}: unexpected answers while the server was up`);
    total += thisRound.length;

    await S.restart();
    const v = await api(S, 'GET', '/api/v1/admin/audit/verify');
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.ok, true, `round ${round}: audit chain broken after SIGKILL: ${v.text}`);

    const latest = new Map();
    await pool([...acked.keys()], 8, async (name) => {
      const g = await api(S, 'GET', `/api/v1/params${name}`);
      if (g.status === 404 && acked.get(name).size === 0) return;
      assert.equal(g.status, 200, `round ${round}: GET ${name} → ${g.status} ${g.text}`);
      latest.set(name, g.json.version);
      const maxAck = Math.max(0, ...acked.get(name).keys());
      assert.ok(g.json.version >= maxAck, `round ${round}: ${name} is at version ${g.json.version} but ${maxAck} was acknowledged`);
    });

    // every version acknowledged this round reads back with its value (unless aged out past 100)
    await pool(thisRound, 16, async ([name, ver, value]) => {
      if (ver <= latest.get(name) - KEEP) return;
      const g = await api(S, 'GET', `/api/v1/params${name}:${ver}`);
      assert.equal(g.status, 200, `round ${round}: acknowledged ${name}:${ver} is gone: ${g.status} ${g.text}`);
      assert.equal(g.json.value, value, `round ${round}: ${name}:${ver} has the wrong value`);
    });

    // and every one of them has its audit record, aged out or not
    await pool([...acked.keys()], 8, async (name) => {
      const mine = thisRound.filter(([n]) => n === name);
      if (!mine.length) return;
      const digests = new Map();
      let after = seq0;
      for (;;) {
        const a = await api(S, 'GET', `/api/v1/admin/audit?name=${encodeURIComponent(name)}&order=asc&after=${after}&limit=1000`);
        assert.equal(a.status, 200, a.text);
        for (const r of a.json.records) digests.set(r.new_version, r.new_digest);
        if (!a.json.next || !a.json.records.length) break;
        after = a.json.next;
      }
      for (const [, ver, value] of mine) {
        assert.equal(digests.get(ver), sha256hex(value), `round ${round}: no audit record for acknowledged ${name}:${ver}`);
      }
    });
  }
  t.diagnostic(`${total} acknowledged writes over ${ROUNDS} SIGKILLs`);
  assert.ok(total > ROUNDS, 'the writers barely wrote anything; the test proved nothing');
});

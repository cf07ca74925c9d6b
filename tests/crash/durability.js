// durability.js — acknowledged-write bookkeeping and the checks made after a restart, shared by
// crash.test.js (20 SIGKILLs in `make test`) and tests/soak/ (`make soak`). Not a test file.
// A ledger is a Map name → Map(version → value) of every write the server acknowledged with 200.
'use strict';

const { api, sha256hex } = require('../api/helpers');

const KEEP = 100; // versions a parameter keeps (docs/API.md: the oldest goes past 100)

/* Runs fn over items with at most n in flight. */
async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) {
      const k = i++;
      await fn(items[k]);
    }
  }));
}

/* An empty ledger for the names prefix + 'k0' … prefix + 'k<keys-1>'. */
function newLedger(prefix, keys) {
  const acked = new Map();
  for (let k = 0; k < keys; k++) acked.set(`${prefix}k${k}`, new Map());
  return acked;
}

/* Records one acknowledged write; returns a message if that version was acknowledged before
 * with another value (two writes given the same version), else null. */
function record(acked, name, version, value) {
  const m = acked.get(name);
  const prev = m.get(version);
  m.set(version, value);
  return prev !== undefined && prev !== value ? `${name} version ${version} acknowledged twice: ${prev} and ${value}` : null;
}

/**
 * Starts `writers` loops of durable PUTs (overwrite, type String) to random names of the ledger,
 * until the server goes away. Returns the round's state:
 *   thisRound     [[name, version, value]] acknowledged in this round (also put in the ledger)
 *   surprises     answers other than a well-formed 200 while the server was up
 *   errorsWhileUp requests that failed before the caller set `killing`
 *   killing       set it just before killing the server: failures after it are expected
 *   stopped       set it once the server is dead: no writer starts another request
 *   done          resolves when every writer has returned
 * A request that fails (the server is gone) ends its writer: that write was never acknowledged.
 * Every request is bounded by requestTimeoutMs.
 */
function startWriters(S, acked, { round, writers = 8, requestTimeoutMs = 30000 }) {
  const names = [...acked.keys()];
  const url = S.url;
  const st = { thisRound: [], surprises: [], errorsWhileUp: [], killing: false, stopped: false, done: null };
  const writer = async (w) => {
    for (let i = 0; !st.stopped; i++) {
      const name = names[Math.floor(Math.random() * names.length)];
      const value = `r${round}.w${w}.i${i}.${Math.random().toString(36).slice(2, 10)}`;
      let res;
      let body;
      try {
        res = await fetch(`${url}/api/v1/params${name}`, {
          method: 'PUT',
          headers: { Authorization: `Bearer ${S.token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ value, type: 'String', overwrite: true }),
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        body = await res.text();
      } catch (e) {
        if (!st.killing) st.errorsWhileUp.push(`PUT ${name}: ${e.cause?.code || e.cause?.message || e.message}`);
        return; // the server is gone: this write was never acknowledged
      }
      if (res.status !== 200) {
        st.surprises.push(`PUT ${name} → ${res.status} ${body}`);
        continue;
      }
      let j;
      try { j = JSON.parse(body); } catch { st.surprises.push(`PUT ${name}: 200 with ${body}`); continue; }
      if (j.name !== name || !Number.isInteger(j.version)) { st.surprises.push(`PUT ${name}: 200 with ${body}`); continue; }
      const twice = record(acked, name, j.version, value);
      if (twice) st.surprises.push(twice);
      st.thisRound.push([name, j.version, value]);
    }
  };
  st.done = Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  return st;
}

/* The sequence number of the newest audit record (0 on an empty log). */
async function lastSeq(S) {
  const a = await api(S, 'GET', '/api/v1/admin/audit?limit=1');
  if (a.status !== 200) throw new Error(`GET /api/v1/admin/audit?limit=1 → ${a.status} ${a.text}`);
  return a.json.records[0]?.seq ?? 0;
}

/* GET /api/v1/admin/audit/verify → {ok, records, failure: message|null}. */
async function verifyChain(S, label) {
  const v = await api(S, 'GET', '/api/v1/admin/audit/verify');
  const ok = v.status === 200 && v.json?.ok === true;
  return { ok, records: v.json?.records ?? null, failure: ok ? null : `${label}: audit chain broken: ${v.status} ${v.text}` };
}

/**
 * The checks crash.test.js makes after each restart, for the writes of one round:
 * the audit chain verifies; every name is at a version at least as new as any acknowledged;
 * every version acknowledged this round reads back (GET name:version) with its value unless it
 * aged out past KEEP; and each has its audit record (after seq0) with the value's digest.
 * Returns {failures: [message], lost: Set('name:version'), verify}; never throws on a failed check.
 */
async function checkRound(S, acked, thisRound, { round, seq0 }) {
  const failures = [];
  const lost = new Set();
  const verify = await verifyChain(S, `round ${round}`);
  if (!verify.ok) failures.push(verify.failure);

  const latest = new Map();
  await pool([...acked.keys()], 8, async (name) => {
    const g = await api(S, 'GET', `/api/v1/params${name}`);
    if (g.status === 404 && acked.get(name).size === 0) return;
    if (g.status !== 200) { failures.push(`round ${round}: GET ${name} → ${g.status} ${g.text}`); return; }
    latest.set(name, g.json.version);
    const maxAck = Math.max(0, ...acked.get(name).keys());
    if (!(g.json.version >= maxAck)) {
      failures.push(`round ${round}: ${name} is at version ${g.json.version} but ${maxAck} was acknowledged`);
      for (const ver of acked.get(name).keys()) if (ver > g.json.version) lost.add(`${name}:${ver}`);
    }
  });

  await pool(thisRound, 16, async ([name, ver, value]) => {
    if (ver <= latest.get(name) - KEEP) return;
    const g = await api(S, 'GET', `/api/v1/params${name}:${ver}`);
    if (g.status !== 200) {
      failures.push(`round ${round}: acknowledged ${name}:${ver} is gone: ${g.status} ${g.text}`);
      lost.add(`${name}:${ver}`);
    } else if (g.json.value !== value) {
      failures.push(`round ${round}: ${name}:${ver} has the wrong value: ${JSON.stringify(g.json.value)}, acknowledged ${JSON.stringify(value)}`);
      lost.add(`${name}:${ver}`);
    }
  });

  await pool([...acked.keys()], 8, async (name) => {
    const mine = thisRound.filter(([n]) => n === name);
    if (!mine.length) return;
    const digests = new Map();
    let after = seq0;
    for (;;) {
      const a = await api(S, 'GET', `/api/v1/admin/audit?name=${encodeURIComponent(name)}&order=asc&after=${after}&limit=1000`);
      if (a.status !== 200) { failures.push(`round ${round}: audit of ${name} → ${a.status} ${a.text}`); return; }
      for (const r of a.json.records) digests.set(r.new_version, r.new_digest);
      if (!a.json.next || !a.json.records.length) break;
      after = a.json.next;
    }
    for (const [, ver, value] of mine) {
      if (digests.get(ver) !== sha256hex(value)) {
        failures.push(`round ${round}: no audit record for acknowledged ${name}:${ver}`);
        lost.add(`${name}:${ver}`);
      }
    }
  });
  return { failures, lost, verify };
}

/**
 * Checks every acknowledged write of the ledger, all rounds, through each name's history
 * (GET /api/v1/params/NAME/history, all pages): the newest version is at least the newest
 * acknowledged, and every acknowledged version the server still keeps (the newest KEEP) has
 * its value. Returns {failures, lost: Set('name:version'), checked, agedOut}.
 */
async function checkRetained(S, acked, label, concurrency = 8) {
  const failures = [];
  const lost = new Set();
  let checked = 0;
  let agedOut = 0;
  await pool([...acked.keys()], concurrency, async (name) => {
    const mine = acked.get(name);
    if (!mine.size) return;
    const have = new Map();
    let next = null;
    for (let page = 0; page < 1000; page++) {
      const h = await api(S, 'GET', `/api/v1/params${name}/history?limit=1000${next ? `&next=${encodeURIComponent(next)}` : ''}`);
      if (h.status !== 200) { failures.push(`${label}: history of ${name} → ${h.status} ${h.text}`); break; }
      for (const p of h.json.versions) have.set(p.version, p.value);
      next = h.json.next;
      if (!next || !h.json.versions.length) break;
    }
    const newest = Math.max(0, ...have.keys());
    for (const [ver, value] of mine) {
      if (ver > newest) {
        failures.push(`${label}: acknowledged ${name}:${ver} is newer than the newest version kept, ${newest}`);
        lost.add(`${name}:${ver}`);
      } else if (ver <= newest - KEEP) {
        agedOut++;
      } else if (!have.has(ver)) {
        failures.push(`${label}: acknowledged ${name}:${ver} is missing from its history (newest ${newest})`);
        lost.add(`${name}:${ver}`);
      } else if (have.get(ver) !== value) {
        failures.push(`${label}: ${name}:${ver} has the wrong value: ${JSON.stringify(have.get(ver))}, acknowledged ${JSON.stringify(value)}`);
        lost.add(`${name}:${ver}`);
      } else {
        checked++;
      }
    }
  });
  return { failures, lost, checked, agedOut };
}

/**
 * Reads the whole audit log after seq0 in order (pages of 1000) and checks that every write in
 * `writes` ([[name, version, value]]) has its record with the value's digest. Returns
 * {failures, lost: Set('name:version'), records}.
 */
async function checkAudit(S, writes, seq0, label) {
  const failures = [];
  const lost = new Set();
  const digest = new Map(); // 'name:version' → new_digest
  let after = seq0;
  let records = 0;
  for (let page = 0; page < 1e6; page++) {
    const a = await api(S, 'GET', `/api/v1/admin/audit?order=asc&after=${after}&limit=1000`);
    if (a.status !== 200) { failures.push(`${label}: audit after ${after} → ${a.status} ${a.text}`); break; }
    for (const r of a.json.records) {
      records++;
      if (r.name && r.new_version) digest.set(`${r.name}:${r.new_version}`, r.new_digest);
    }
    if (!a.json.next || !a.json.records.length) break;
    after = a.json.next;
  }
  for (const [name, ver, value] of writes) {
    const d = digest.get(`${name}:${ver}`);
    if (d !== sha256hex(value)) {
      if (failures.length < 1000) failures.push(`${label}: ${d === undefined ? 'no audit record' : 'wrong digest in the audit record'} for acknowledged ${name}:${ver}`);
      lost.add(`${name}:${ver}`);
    }
  }
  return { failures, lost, records };
}

module.exports = { KEEP, pool, newLedger, record, startWriters, lastSeq, verifyChain, checkRound, checkRetained, checkAudit };

// helpers.js — several `switchyard serve` nodes on one PostgreSQL store, and throwaway clusters
// of their own (scripts/pg.sh) for the tests that stop PostgreSQL. Black-box: processes, HTTP, psql.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const H = require('../api/helpers');

const ROOT = path.resolve(__dirname, '..', '..');
const PG_SH = path.join(ROOT, 'scripts', 'pg.sh');

/* `{ skip }` for every test of this directory: they need a cluster (scripts/test_pg.sh). */
const SKIP = H.PG_BASE ? false : 'needs PostgreSQL: SY_TEST_STORE_PG is not set (scripts/test_pg.sh sets it)';

/* Runs scripts/pg.sh CMD DIR ...; resolves with its stdout, trimmed; rejects on failure. */
async function pgSh(cmd, dir, ...rest) {
  const r = await H.spawnRun(PG_SH, [cmd, dir, ...rest], process.env);
  if (r.code !== 0) throw new Error(`pg.sh ${cmd} ${dir} exited ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

/* A PostgreSQL cluster of the test's own (for tests that stop it): {dir, url, stop(), restart(),
 * destroy()}. Its directory must be reachable by the postgres user when pg.sh runs as root. */
async function ownCluster() {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pgown-'));
  fs.chmodSync(top, 0o755);
  const dir = path.join(top, 'pg');
  let url;
  try {
    url = await pgSh('start', dir);
  } catch (e) {
    fs.rmSync(top, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    url,
    stop: () => pgSh('stop', dir),
    restart: () => pgSh('restart', dir),
    async destroy() {
      try { await pgSh('destroy', dir); } finally { fs.rmSync(top, { recursive: true, force: true }); }
    },
  };
}

/* Starts n nodes on one database (a fresh one on `base`, or `store`), with one admin token and
 * one master key: the first node makes DATA/master.key, the others get a copy in their data
 * directory before they start. Returns {store, token, nodes, add(), cleanup()}. */
async function startNodes(n, { base = H.PG_BASE, store, env = {}, args = [] } = {}) {
  const url = store || (await H.pgCreateDb(base));
  const token = H.randomToken('admin');
  const nodes = [];
  const c = {
    store: url,
    token,
    nodes,
    /* One more node on the store, with the first node's master key. */
    async add(extraEnv = {}) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pgnode-'));
      const key = path.join(nodes[0].dataDir, 'master.key');
      fs.copyFileSync(key, path.join(dataDir, 'master.key'));
      fs.chmodSync(path.join(dataDir, 'master.key'), 0o600);
      try {
        const s = await H.startServer({ store: url, token, dataDir, env: { ...env, ...extraEnv }, args });
        nodes.push(s);
        return s;
      } catch (e) {
        fs.rmSync(dataDir, { recursive: true, force: true });
        throw e;
      }
    },
    /* Stops every node (a node already dead is fine), removes their data, drops the database. */
    async cleanup() {
      const errs = [];
      for (const s of nodes) {
        try { await s.cleanup(); } catch (e) { errs.push(e); }
      }
      if (!store) await H.pgDropDb(url);
      if (errs.length) throw errs[0];
    },
  };
  try {
    nodes.push(await H.startServer({ store: url, token, env, args }));
    for (let i = 1; i < n; i++) await c.add();
  } catch (e) {
    await c.cleanup().catch(() => {});
    throw e;
  }
  return c;
}

async function health(s) {
  const r = await H.api(s, 'GET', '/health', undefined, null);
  assert.equal(r.status, 200, `GET /health: ${r.status} ${r.text}`);
  return r.json;
}

/* PUT name = value (String, overwrite) on node s; asserts 200 and returns the answer's JSON. */
async function put(s, name, value, extra = {}) {
  const r = await H.api(s, 'PUT', H.pp(name), { value: String(value), type: 'String', overwrite: true, ...extra });
  assert.equal(r.status, 200, `PUT ${name} on ${s.url}: ${r.status} ${r.text}`);
  return r.json;
}

/* Waits until node s serves name at version (or later, when atLeast), returns the parameter. */
function waitParam(s, name, version, deadlineMs = 15000) {
  return H.waitFor(async () => {
    const r = await H.api(s, 'GET', H.pp(name));
    return r.status === 200 && r.json.version >= version ? r.json : null;
  }, deadlineMs, `${name}@${version} on ${s.url}`, 50);
}

/* Waits until node s has applied audit sequence number seq (GET /health "seq"). */
function waitSeq(s, seq, deadlineMs = 15000) {
  return H.waitFor(async () => {
    const h = await health(s);
    return Number(h.seq) >= seq ? h : null;
  }, deadlineMs, `seq ${seq} on ${s.url}`, 50);
}

/* The newest audit sequence number on node s. */
async function lastSeq(s) {
  const r = await H.api(s, 'GET', '/api/v1/admin/audit?limit=1');
  assert.equal(r.status, 200, r.text);
  return r.json.records.length ? r.json.records[0].seq : 0;
}

/* Opens a watch on node s (prefix, and Last-Event-ID when after is given); asserts 200. */
async function watch(s, prefix, after) {
  const headers = after === undefined ? {} : { 'Last-Event-ID': String(after) };
  const w = await H.openSSE(s, `/api/v1/watch?prefix=${encodeURIComponent(prefix)}`, { headers });
  assert.equal(w.status, 200, `watch on ${s.url}: ${w.status} ${w.body}`);
  return w;
}

/* Reads change events from watch w until `count` events have arrived, or the deadline passes. */
async function collect(w, count, deadlineMs = 20000) {
  const out = [];
  const until = Date.now() + deadlineMs;
  while (out.length < count) {
    const left = until - Date.now();
    if (left <= 0) break;
    let ev;
    try { ev = await w.nextEvent((e) => e.event === 'change', left); } catch { break; }
    out.push(ev);
  }
  assert.equal(out.length, count, `${out.length} of ${count} change events arrived; last: ${JSON.stringify(out.slice(-3).map(brief))}`);
  return out;
}

/* The part of a change event every node must agree on. */
function brief(ev) {
  return { id: ev.id, seq: ev.json.seq, action: ev.json.action, name: ev.json.name, version: ev.json.version, value: ev.json.value };
}

module.exports = { SKIP, ROOT, pgSh, ownCluster, startNodes, health, put, waitParam, waitSeq, lastSeq, watch, collect, brief };

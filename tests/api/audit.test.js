// audit.test.js — every change leaves a hash-chained audit record; tampering is detected.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startServer, api, pp, sha256hex, spawnRun, pgBin, pgSql, sqliteOnly } = require('./helpers');

let S;
let W; // a write token called "audit-writer"
before(async () => {
  S = await startServer();
  const r = await api(S, 'POST', '/api/v1/admin/tokens', { name: 'audit-writer', scopes: ['write'] });
  assert.ok([200, 201].includes(r.status), r.text);
  W = r.json.token;
});
after(async () => { if (S) await S.cleanup(); });

async function allRecords() {
  const out = [];
  let after = 0;
  for (let i = 0; i < 1000; i++) {
    const r = await api(S, 'GET', `/api/v1/admin/audit?order=asc&after=${after}&limit=1000`);
    assert.equal(r.status, 200, r.text);
    out.push(...r.json.records);
    if (r.json.next === null || r.json.next === undefined || !r.json.records.length) break;
    after = r.json.next;
  }
  return out;
}

async function lastRecord() {
  const r = await api(S, 'GET', '/api/v1/admin/audit?limit=1');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.records.length, 1);
  return r.json.records[0];
}

const z = (v) => (v === null || v === undefined ? 0 : v);
const e = (s) => (s === null || s === undefined ? '' : s);

/* The record hash as documented in src/core/audit.h: SHA-256 over prev_hash and every field
 * (including "detail"), each as "<len>:<bytes>\n". Recomputed here from the API's JSON. */
function recordHash(r) {
  const h = crypto.createHash('sha256');
  const f = (s) => {
    const b = Buffer.from(String(s), 'utf8');
    h.update(`${b.length}:`);
    h.update(b);
    h.update('\n');
  };
  f(r.prev_hash);
  f(r.seq);
  f(e(r.time));
  f(e(r.actor));
  f(e(r.action));
  f(e(r.name));
  f(z(r.old_version));
  f(z(r.new_version));
  f(e(r.old_digest));
  f(e(r.new_digest));
  f(e(r.reason));
  if ('detail' in r) f(e(r.detail)); // audit.h hashes "detail" after reason; the API shows it
  return h.digest('hex');
}

describe('audit records', () => {
  const SECRET = 'Pl41nt3xt-N3v3r-L0gged-9f2c';

  it('records every write, delete, label and tag change with actor, versions, digests, reason', async () => {
    const put = (name, body) => api(S, 'PUT', pp(name), body, W);
    let r = await put('/au/a', { value: 'v1', type: 'String', reason: 'create a' });
    assert.equal(r.status, 200, r.text);
    let rec = await lastRecord();
    assert.equal(rec.actor, 'audit-writer');
    assert.equal(rec.action, 'put');
    assert.equal(rec.name, '/au/a');
    assert.equal(z(rec.old_version), 0);
    assert.equal(rec.new_version, 1);
    assert.equal(e(rec.old_digest), '');
    assert.equal(rec.new_digest, sha256hex('v1'));
    assert.equal(rec.reason, 'create a');
    assert.match(rec.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.match(rec.hash, /^[0-9a-f]{64}$/);
    assert.match(rec.prev_hash, /^[0-9a-f]{64}$/);

    r = await put('/au/a', { value: 'v2', overwrite: true, reason: 'bump' });
    assert.equal(r.status, 200, r.text);
    rec = await lastRecord();
    assert.equal(rec.action, 'put');
    assert.equal(rec.old_version, 1);
    assert.equal(rec.new_version, 2);
    assert.equal(rec.old_digest, sha256hex('v1'));
    assert.equal(rec.new_digest, sha256hex('v2'));
    assert.equal(rec.reason, 'bump');

    r = await api(S, 'POST', pp('/au/a', '/labels'), { version: 1, labels: ['prod'], reason: 'pin' }, W);
    assert.equal(r.status, 200, r.text);
    rec = await lastRecord();
    assert.equal(rec.action, 'label');
    assert.equal(rec.name, '/au/a');
    assert.equal(rec.actor, 'audit-writer');
    assert.equal(rec.reason, 'pin');

    r = await api(S, 'DELETE', pp('/au/a', '/labels'), { labels: ['prod'], reason: 'unpin' }, W);
    assert.equal(r.status, 200, r.text);
    rec = await lastRecord();
    assert.equal(rec.action, 'unlabel');
    assert.equal(rec.reason, 'unpin');

    r = await api(S, 'PUT', pp('/au/a', '/tags'), { tags: { team: 'ml' }, reason: 'own' }, W);
    assert.equal(r.status, 200, r.text);
    rec = await lastRecord();
    assert.equal(rec.action, 'tag');
    assert.equal(rec.reason, 'own');

    r = await api(S, 'DELETE', pp('/au/a', '/tags'), { keys: ['team'], reason: 'disown' }, W);
    assert.equal(r.status, 200, r.text);
    rec = await lastRecord();
    assert.equal(rec.action, 'untag');
    assert.equal(rec.reason, 'disown');

    r = await api(S, 'POST', pp('/au/a', '/rollback'), { to_version: 1, reason: 'revert' }, W);
    assert.equal(r.status, 200, r.text);
    rec = await lastRecord();
    assert.equal(rec.action, 'rollback');
    assert.equal(rec.old_version, 2);
    assert.equal(rec.new_version, 3);
    assert.equal(rec.old_digest, sha256hex('v2'));
    assert.equal(rec.new_digest, sha256hex('v1'));
    assert.equal(rec.reason, 'revert');

    r = await api(S, 'DELETE', pp('/au/a') + '?reason=retired%20it', undefined, W);
    assert.equal(r.status, 200, r.text);
    rec = await lastRecord();
    assert.equal(rec.action, 'delete');
    assert.equal(rec.name, '/au/a');
    assert.equal(rec.old_version, 3);
    assert.equal(rec.old_digest, sha256hex('v1'));
    assert.equal(rec.reason, 'retired it');
    assert.equal(rec.actor, 'audit-writer');
  });

  it('a SecureString is audited by digest, never in plaintext (API nor log)', async () => {
    let r = await api(S, 'PUT', pp('/au/sec'), { value: SECRET, type: 'SecureString', reason: 'rotate' }, W);
    assert.equal(r.status, 200, r.text);
    const rec = await lastRecord();
    assert.equal(rec.name, '/au/sec');
    // a keyed digest: it tells equal values apart from changed ones, but unlike a plain
    // SHA-256 it cannot be brute-forced back into a short secret without the master key
    assert.match(rec.new_digest, /^[0-9a-f]{64}$/);
    assert.notEqual(rec.new_digest, sha256hex(SECRET));
    r = await api(S, 'PUT', pp('/au/sec'), { value: SECRET + '-2', overwrite: true }, W);
    assert.equal(r.status, 200, r.text);
    const rec2 = await lastRecord();
    assert.equal(rec2.old_digest, rec.new_digest);
    assert.notEqual(rec2.new_digest, rec.new_digest);
    r = await api(S, 'PUT', pp('/au/sec'), { value: SECRET, overwrite: true }, W);
    assert.equal(r.status, 200, r.text);
    assert.equal((await lastRecord()).new_digest, rec.new_digest, 'the same secret has the same digest');
    const all = await api(S, 'GET', '/api/v1/admin/audit?limit=1000');
    assert.ok(!all.text.includes(SECRET), 'plaintext in the audit JSON');
    const asc = await api(S, 'GET', '/api/v1/admin/audit?order=asc&limit=1000');
    assert.ok(!asc.text.includes(SECRET));
    assert.ok(!S.log.includes(SECRET), 'plaintext in the server log');
    assert.ok(!S.stdout.includes(SECRET), 'plaintext on stdout');
  });

  it('refused writes and reads leave no record', async () => {
    const before0 = (await lastRecord()).seq;
    await api(S, 'PUT', pp('/au/b'), { value: 'x', type: 'String' }, W);
    const mid = (await lastRecord()).seq;
    assert.equal(mid, before0 + 1);
    assert.equal((await api(S, 'PUT', pp('/au/b'), { value: 'y', type: 'String' }, W)).status, 409);
    assert.equal((await api(S, 'PUT', pp('/au/b'), { value: 'y', overwrite: true, if_version: 7 }, W)).status, 409);
    assert.equal((await api(S, 'PUT', pp('/au/c'), { value: 'y' }, W)).status, 400);
    assert.equal((await api(S, 'DELETE', pp('/au/none'), undefined, W)).status, 404);
    assert.equal((await api(S, 'GET', pp('/au/b'), undefined, W)).status, 200);
    assert.equal((await lastRecord()).seq, mid);
  });

  it('token creation is audited without its secret', async () => {
    const r = await api(S, 'POST', '/api/v1/admin/tokens', { name: 'audited-token', scopes: ['read'] });
    assert.ok([200, 201].includes(r.status), r.text);
    const rec = await lastRecord();
    assert.match(rec.action, /^token/);
    assert.equal(rec.name, 'audited-token');
    const all = await api(S, 'GET', '/api/v1/admin/audit?limit=1000');
    assert.ok(!all.text.includes(r.json.token));
    assert.ok(!S.log.includes(r.json.token), 'a token secret in the server log');
  });

  it('filters: limit, name, since, order/after', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await api(S, 'PUT', pp('/au/f'), { value: `f${i}`, type: 'String', overwrite: true }, W);
      assert.equal(r.status, 200, r.text);
    }
    const all = await allRecords();
    assert.ok(all.length >= 14, `expected many records, got ${all.length}`);
    const seqs = all.map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(new Set(seqs).size, seqs.length);
    assert.equal(seqs[0], 1);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, 'gap in audit seq');

    let r = await api(S, 'GET', '/api/v1/admin/audit?limit=2');
    assert.equal(r.json.records.length, 2);
    assert.deepEqual(r.json.records.map((x) => x.seq), [seqs.at(-1), seqs.at(-2)], 'newest first');

    r = await api(S, 'GET', '/api/v1/admin/audit?name=/au/f');
    assert.deepEqual(r.json.records.map((x) => x.new_version), [3, 2, 1]);
    assert.ok(r.json.records.every((x) => x.name === '/au/f'));

    const mid = seqs[Math.floor(seqs.length / 2)];
    r = await api(S, 'GET', `/api/v1/admin/audit?since=${mid}&limit=1000`);
    const got = r.json.records.map((x) => x.seq);
    assert.ok(got.every((s) => s >= mid), `since=${mid} returned older records`);
    for (const s of seqs.filter((x) => x > mid)) assert.ok(got.includes(s), `since=${mid} lost ${s}`);

    r = await api(S, 'GET', `/api/v1/admin/audit?since=2000-01-01T00:00:00Z&limit=1000`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.records.length, all.length);
    r = await api(S, 'GET', `/api/v1/admin/audit?since=2999-01-01T00:00:00Z`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.records, []);

    r = await api(S, 'GET', `/api/v1/admin/audit?order=asc&after=${seqs[2]}&limit=3`);
    assert.deepEqual(r.json.records.map((x) => x.seq), seqs.slice(3, 6));
    assert.equal(r.json.next, seqs[5]);

    for (const bad of ['limit=0', 'limit=1001', 'limit=x', 'order=sideways', 'since=yesterday']) {
      r = await api(S, 'GET', `/api/v1/admin/audit?${bad}`);
      assert.equal(r.status, 400, `${bad} → ${r.status} ${r.text}`);
    }
  });

  it('the chain links and each hash can be recomputed', async () => {
    const all = await allRecords();
    assert.equal(all[0].prev_hash, '0'.repeat(64));
    for (let i = 0; i < all.length; i++) {
      if (i) assert.equal(all[i].prev_hash, all[i - 1].hash, `seq ${all[i].seq} does not link`);
      assert.equal(recordHash(all[i]), all[i].hash, `seq ${all[i].seq}: hash does not match its fields`);
    }
    const v = await api(S, 'GET', '/api/v1/admin/audit/verify');
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.ok, true, v.text);
    assert.equal(v.json.records, all.length);
  });
});

describe('at rest', () => {
  it('a SecureString plaintext is in no file of the data directory', async () => {
    const secret = 'AtRest-Pl41n-7c1e-Never-On-Disk';
    const r = await api(S, 'PUT', pp('/au/rest'), { value: secret, type: 'SecureString' });
    assert.equal(r.status, 200, r.text);
    await S.stop(); // flushes the WAL too; both the db and any -wal/-shm are scanned
    const hits = [];
    const scan = (dir) => {
      for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
        const f = path.join(dir, ent.name);
        if (ent.isDirectory()) scan(f);
        else if (fs.readFileSync(f).includes(Buffer.from(secret))) hits.push(f);
      }
    };
    scan(S.dataDir);
    if (S.store) {
      // on PostgreSQL, the store is the database: a dump of it holds no plaintext either
      const u = new URL(S.store);
      const dump = await spawnRun(pgBin('pg_dump'), ['-h', u.hostname, '-p', u.port, '-U', u.username, u.pathname.slice(1)], process.env);
      assert.equal(dump.code, 0, dump.stderr);
      assert.ok(dump.stdout.includes('/au/rest'), 'the dump does not hold the store');
      if (dump.raw.includes(Buffer.from(secret))) hits.push(`the database ${S.store}`);
    }
    await S.restart();
    assert.deepEqual(hits, [], 'SecureString stored in plaintext');
    const g = await api(S, 'GET', pp('/au/rest') + '?decrypt=true');
    assert.equal(g.json.value, secret, 'the secret must survive a restart');
  });
});

describe('a store from before versions kept their reason', { skip: sqliteOnly('rewrites switchyard.db into SQLite schema 2 with the sqlite3 CLI') }, () => {
  let haveSqlite = true;
  try { execFileSync('sqlite3', ['-version'], { stdio: 'ignore' }); } catch { haveSqlite = false; }

  it('gets the reason of each version from the audit log at start', async (t) => {
    if (!haveSqlite) {
      t.skip('the sqlite3 CLI is not installed (apt package sqlite3)');
      return;
    }
    const name = '/mig/x';
    for (const [value, reason] of [['a', 'first'], ['b', ''], ['c', 'third']]) {
      const r = await api(S, 'PUT', pp(name), { value, type: 'String', overwrite: true, ...(reason ? { reason } : {}) });
      assert.equal(r.status, 200, r.text);
    }
    const before0 = await api(S, 'GET', pp(name, '/history'));
    assert.deepEqual(before0.json.versions.map((v) => v.reason), ['first', '', 'third']);
    await S.stop();
    const db = path.join(S.dataDir, 'switchyard.db');
    // the schema before (2): no reason column, and a schema number that says so
    execFileSync('sqlite3', [db, "ALTER TABLE versions DROP COLUMN reason; UPDATE meta SET v = '2' WHERE k = 'schema';"]);
    await S.restart();
    const after0 = await api(S, 'GET', pp(name, '/history'));
    assert.equal(after0.status, 200, after0.text);
    assert.deepEqual(after0.json.versions, before0.json.versions);
    const indexes = execFileSync('sqlite3', [db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit';"]).toString();
    assert.equal(indexes.trim(), '', 'the index the fill used is left behind');
    const v = await api(S, 'GET', '/api/v1/admin/audit/verify');
    assert.equal(v.json.ok, true, v.text);
  });
});

describe('tampering', () => {
  let haveSqlite = true;
  try { execFileSync('sqlite3', ['-version'], { stdio: 'ignore' }); } catch { haveSqlite = false; }

  it('an edited record is found by verify', async () => {
    // scripts/deps.sh --test installs it: without it this test fails rather than skip unseen
    assert.ok(haveSqlite, 'the sqlite3 CLI is not installed (apt package sqlite3; scripts/deps.sh --test)');
    const before0 = await allRecords();
    assert.ok(before0.length > 3);
    await S.stop();
    let check;
    if (S.store) { // the PostgreSQL store: the same edit through psql
      await pgSql(S.store, "UPDATE switchyard.audit SET actor='mallory' WHERE seq=3");
      check = await pgSql(S.store, 'SELECT actor FROM switchyard.audit WHERE seq=3');
    } else {
      const db = path.join(S.dataDir, 'switchyard.db');
      execFileSync('sqlite3', [db, "UPDATE audit SET actor='mallory' WHERE seq=3;"]);
      check = execFileSync('sqlite3', [db, 'SELECT actor FROM audit WHERE seq=3;']).toString().trim();
    }
    assert.equal(check, 'mallory', 'the tamper did not take');
    await S.restart();
    let v = await api(S, 'GET', '/api/v1/admin/audit/verify');
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.ok, false, `tampering not detected: ${v.text}`);
    assert.equal(v.json.first_broken_seq, 3, v.text);
    // the words of core's chain walk, which `switchyard audit verify` prints too
    assert.equal(v.json.message, "record 3: hash does not match the record's contents");
    assert.equal(v.json.records, before0.length);
    // the server keeps serving, and later writes do not launder the break
    const r = await api(S, 'PUT', pp('/au/after'), { value: 'x', type: 'String' });
    assert.equal(r.status, 200, r.text);
    v = await api(S, 'GET', '/api/v1/admin/audit/verify');
    assert.equal(v.json.ok, false);
    assert.equal(v.json.first_broken_seq, 3);
  });
});

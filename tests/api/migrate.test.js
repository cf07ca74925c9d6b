// migrate.test.js — a store's schema number: an older store is brought up to date at start
// (and by `switchyard migrate`), a newer one is refused with the numbers and the directory.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startServer, api, pp, spawnRun, cleanEnv, sqliteOnly } = require('./helpers');

const BIN = process.env.SWITCHYARD_BIN;
const SCHEMA1 = path.join(__dirname, 'data', 'migrate', 'schema1.sql');

let haveSqlite = true;
try { execFileSync('sqlite3', ['-version'], { stdio: 'ignore' }); } catch { haveSqlite = false; }

function sql(dir, text) {
  return execFileSync('sqlite3', [path.join(dir, 'switchyard.db'), text]).toString().trim();
}
function schemaOf(dir) {
  return Number(sql(dir, "SELECT v FROM meta WHERE k = 'schema';"));
}
function migrate(dir, ...args) {
  return spawnRun(BIN, ['migrate', '--data', dir, ...args], cleanEnv());
}

// The SQLite store's schemas and `migrate --data`; tests/pg/badinput.test.js has `migrate --store`.
describe('schema versions', { skip: sqliteOnly('SQLite schema migrations of switchyard.db, read and rewritten with the sqlite3 CLI') }, () => {
  let S;
  let current;
  before(async () => {
    S = await startServer();
  });
  after(async () => { if (S) await S.cleanup(); });

  it('a new store records the current schema; migrate says it is up to date', async (t) => {
    assert.ok(haveSqlite, 'the sqlite3 CLI is not installed (apt package sqlite3; scripts/deps.sh --test)');
    const r = await api(S, 'PUT', pp('/mig/new'), { value: 'x', type: 'String' });
    assert.equal(r.status, 200, r.text);
    await S.stop();
    current = schemaOf(S.dataDir);
    assert.ok(Number.isInteger(current) && current >= 5, `meta.schema is ${current}`);
    const m = await migrate(S.dataDir);
    assert.equal(m.code, 0, m.stderr);
    assert.equal(m.stdout.trim(), `schema ${current}: up to date`);
    await S.restart();
  });

  it('migrate refuses while the server holds the store', async () => {
    const m = await migrate(S.dataDir);
    assert.equal(m.code, 1, m.stdout);
    assert.match(m.stderr, new RegExp(S.dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  it('a store of schema 1 is read as it was, and brought to the current schema', async () => {
    assert.ok(haveSqlite, 'the sqlite3 CLI is not installed');
    const name = '/mig/old';
    for (const [value, reason] of [['a', 'first'], ['b', ''], ['c', 'third']]) {
      const r = await api(S, 'PUT', pp(name), { value, type: 'String', overwrite: true, ...(reason ? { reason } : {}) });
      assert.equal(r.status, 200, r.text);
    }
    const sec = await api(S, 'PUT', pp('/mig/secret'), { value: 's3cret', type: 'SecureString' });
    assert.equal(sec.status, 200, sec.text);
    const before0 = await api(S, 'GET', pp(name, '/history'));
    assert.equal(before0.status, 200, before0.text);
    await S.stop();

    execFileSync('sqlite3', [path.join(S.dataDir, 'switchyard.db')], { input: fs.readFileSync(SCHEMA1) });
    assert.equal(schemaOf(S.dataDir), 1);
    assert.equal(sql(S.dataDir, "SELECT count(*) FROM pragma_table_info('versions') WHERE name = 'reason';"), '0');

    // a dry run says what it would do and leaves the store as it was
    const dry = await migrate(S.dataDir, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^schema 1 -> ${current} \\(dry run, nothing written\\): `));
    assert.match(dry.stdout, /would add version reasons/);
    assert.match(dry.stdout, /would add tokens' default routes/);
    assert.equal(schemaOf(S.dataDir), 1, 'a dry run wrote the schema number');
    assert.equal(sql(S.dataDir, "SELECT count(*) FROM pragma_table_info('tokens') WHERE name = 'route';"), '0');

    // the server upgrades it at start, and everything reads as before
    await S.restart();
    assert.equal(schemaOf(S.dataDir), current);
    const after0 = await api(S, 'GET', pp(name, '/history'));
    assert.equal(after0.status, 200, after0.text);
    assert.deepEqual(after0.json.versions, before0.json.versions);
    const g = await api(S, 'GET', pp('/mig/secret') + '?decrypt=true');
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.value, 's3cret');
    const v = await api(S, 'GET', '/api/v1/admin/audit/verify');
    assert.equal(v.json.ok, true, v.text);
    const w = await api(S, 'PUT', pp(name), { value: 'd', type: 'String', overwrite: true, reason: 'after' });
    assert.equal(w.status, 200, w.text);
    await S.stop();
    const m = await migrate(S.dataDir);
    assert.equal(m.code, 0, m.stderr);
    assert.equal(m.stdout.trim(), `schema ${current}: up to date`);
  });

  it('migrate runs the migrations itself, and says what it did', async () => {
    execFileSync('sqlite3', [path.join(S.dataDir, 'switchyard.db')], { input: fs.readFileSync(SCHEMA1) });
    const m = await migrate(S.dataDir);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, new RegExp(`^schema 1 -> ${current}: `));
    assert.match(m.stdout, /added version reasons/);
    assert.match(m.stdout, /the change events' columns of the audit log \(already there\)/);
    assert.equal(schemaOf(S.dataDir), current);
    await S.restart();
    const h = await api(S, 'GET', pp('/mig/old', '/history'));
    assert.equal(h.status, 200, h.text);
    assert.deepEqual(h.json.versions.map((x) => x.reason), ['first', '', 'third', 'after']);
  });

  it('a store of a newer schema is refused: serve and migrate exit 1 naming both numbers and the directory', async () => {
    await S.stop();
    sql(S.dataDir, "UPDATE meta SET v = '99' WHERE k = 'schema';");
    const want = `the store in ${S.dataDir} is of schema 99; this build knows schemas up to ${current}: upgrade switchyard`;
    const env = cleanEnv({ SWITCHYARD_ADMIN_TOKEN: S.token });
    const s = await spawnRun(BIN, ['serve', '--listen', '127.0.0.1:0', '--data', S.dataDir], env);
    assert.equal(s.code, 1, s.stderr);
    assert.ok(s.stderr.includes(want), s.stderr);
    const m = await migrate(S.dataDir);
    assert.equal(m.code, 1, m.stdout);
    assert.equal(m.stderr.trim(), `switchyard migrate: ${want}`);
    const dry = await migrate(S.dataDir, '--dry-run');
    assert.equal(dry.code, 1, dry.stdout);
    assert.equal(schemaOf(S.dataDir), 99, 'a refused store was changed');
    // put back, so that cleanup finds a store it can stop
    sql(S.dataDir, `UPDATE meta SET v = '${current}' WHERE k = 'schema';`);
  });

  it('migrate of a directory without a store says so and creates nothing', async () => {
    const dir = path.join(S.dataDir, 'nothing-here');
    const m = await migrate(dir);
    assert.equal(m.code, 1, m.stdout);
    assert.match(m.stderr, /there is no store in/);
    assert.equal(fs.existsSync(dir), false);
  });
});

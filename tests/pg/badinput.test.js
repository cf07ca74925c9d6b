// badinput.test.js — what `serve` and `migrate` say about a PostgreSQL store they cannot use:
// nothing listening, no such database, a schema newer than the build, another master key;
// and `migrate --store URL [--dry-run]` on a new and on an up-to-date database.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const H = require('../api/helpers');
const P = require('./helpers');

const BIN = process.env.SWITCHYARD_BIN;

describe('a PostgreSQL store that cannot be used', { skip: P.SKIP }, () => {
  const dirs = [];
  const dbs = [];
  const tmpData = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pgbad-'));
    dirs.push(d);
    return d;
  };
  const newDb = async () => {
    const u = await H.pgCreateDb();
    dbs.push(u);
    return u;
  };
  const serve = (store, data, env = {}) =>
    H.spawnRun(BIN, ['serve', '--listen', '127.0.0.1:0', '--data', data || tmpData(), '--store', store],
      H.cleanEnv({ SWITCHYARD_ADMIN_TOKEN: H.randomToken('admin'), ...env }));
  const migrate = (store, ...args) => H.spawnRun(BIN, ['migrate', '--store', store, '--data', tmpData(), ...args], H.cleanEnv());
  // the schema number a store keeps in its meta table (in the PostgreSQL schema "switchyard")
  const schemaOf = async (url) => Number(await H.pgSql(url, "SELECT v FROM switchyard.meta WHERE k = 'schema'"));
  const tables = async (url) => Number(await H.pgSql(url,
    "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"));

  after(async () => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    for (const u of dbs) await H.pgDropDb(u);
  });

  it('nothing listening: serve exits 1 naming the host and the reason', async () => {
    const s = await serve('postgres://nobody@127.0.0.1:1/x');
    assert.equal(s.code, 1, `exit ${s.code}; stderr: ${s.stderr}`);
    assert.match(s.stderr, /cannot connect to PostgreSQL at 127\.0\.0\.1:1(\/x)?: \S/, s.stderr);
    assert.match(s.stderr, /refused/i, s.stderr);
    const env = await H.spawnRun(BIN, ['serve', '--listen', '127.0.0.1:0', '--data', tmpData()],
      H.cleanEnv({ SWITCHYARD_STORE: 'postgresql://nobody@127.0.0.1:1/x' }));
    assert.equal(env.code, 1, `SWITCHYARD_STORE: exit ${env.code}; stderr: ${env.stderr}`);
    assert.match(env.stderr, /cannot connect to PostgreSQL at 127\.0\.0\.1:1(\/x)?: \S/, env.stderr);
  });

  it('no such database, or no such role: exit 1 naming the host and the reason', async () => {
    const u = new URL(H.PG_BASE);
    const noDb = H.pgUrlWithDb(H.PG_BASE, `nosuchdb_${crypto.randomBytes(4).toString('hex')}`);
    const s = await serve(noDb);
    assert.equal(s.code, 1, s.stderr);
    assert.match(s.stderr, new RegExp(`cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${u.port}(/\\w+)?: .*does not exist`), s.stderr);
    u.username = 'nosuchrole';
    const r = await serve(u.toString());
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${u.port}(/\\w+)?: .*nosuchrole`), r.stderr);
  });

  it('migrate --dry-run on a new database says what it would do and creates nothing; migrate does it', async () => {
    const url = await newDb();
    const dry = await migrate(url, '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run/, dry.stdout);
    assert.equal(await tables(url), 0, 'a dry run created tables');
    const m = await migrate(url);
    assert.equal(m.code, 0, m.stderr);
    const current = await schemaOf(url);
    assert.ok(Number.isInteger(current) && current >= 1, `meta.schema is ${current}`);
    const again = await migrate(url);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), `schema ${current}: up to date`);
    const dry2 = await migrate(url, '--dry-run');
    assert.equal(dry2.code, 0, dry2.stderr);
    assert.match(dry2.stdout, new RegExp(`schema ${current}: up to date`), dry2.stdout);
    // a server starts on the migrated database
    const S = await H.startServer({ store: url });
    try {
      await P.put(S, '/pgbad/migrated', 'yes');
    } finally {
      await S.cleanup();
    }
  });

  it('a database of a newer schema is refused by serve and migrate, naming both numbers', async () => {
    const S = await H.startServer();
    dirs.push(S.dataDir);
    dbs.push(S.store);
    await P.put(S, '/pgbad/newer', 'x');
    await S.stop();
    const current = await schemaOf(S.store);
    await H.pgSql(S.store, "UPDATE switchyard.meta SET v = '99' WHERE k = 'schema'");
    const s = await serve(S.store, S.dataDir, { SWITCHYARD_ADMIN_TOKEN: S.token });
    assert.equal(s.code, 1, s.stderr);
    const want = `is of schema 99; this build knows schemas up to ${current}`;
    assert.ok(s.stderr.includes(want), s.stderr);
    for (const args of [[], ['--dry-run']]) {
      const m = await migrate(S.store, ...args);
      assert.equal(m.code, 1, `migrate ${args}: ${m.stdout}`);
      assert.ok(m.stderr.includes(want), m.stderr);
    }
    assert.equal(await schemaOf(S.store), 99, 'a refused store was changed');
    await H.pgSql(S.store, `UPDATE switchyard.meta SET v = '${current}' WHERE k = 'schema'`);
    await S.restart();
    assert.equal((await H.api(S, 'GET', H.pp('/pgbad/newer'))).json.value, 'x');
    await S.stop();
  });

  it('a node with another master key than the store refuses to start, naming the master key', async () => {
    const C = await P.startNodes(1);
    try {
      await H.api(C.nodes[0], 'PUT', H.pp('/pgbad/secret'), { value: 's3cret', type: 'SecureString' });
      const data = tmpData();
      fs.writeFileSync(path.join(data, 'master.key'), crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
      const s = await serve(C.store, data, { SWITCHYARD_ADMIN_TOKEN: C.token });
      assert.equal(s.code, 1, s.stderr);
      assert.match(s.stderr, /master key/, s.stderr);
      // and with the store's key it starts, and reads the secret
      const n2 = await C.add();
      const g = await H.api(n2, 'GET', `${H.pp('/pgbad/secret')}?decrypt=true`);
      assert.equal(g.json.value, 's3cret', g.text);
    } finally {
      await C.cleanup();
    }
  });
});

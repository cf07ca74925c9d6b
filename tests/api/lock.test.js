// lock.test.js — one server per data directory: a second refuses to start and names the
// holder; the first goes on serving; a stopped or killed server's lock never blocks the
// next. And a write that fails inside the store is logged with its cause.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, api, pp, cleanEnv, waitFor, sqliteOnly } = require('./helpers');

const BIN = process.env.SWITCHYARD_BIN;
const REFUSE_DEADLINE_MS = 10000;

/* Starts `switchyard serve` on dataDir expecting it to refuse: resolves with its exit code,
 * stderr and how long it took; fails if it is still running after the deadline. */
function serveExpectingRefusal(dataDir, token) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dataDir], {
      env: cleanEnv({ SWITCHYARD_ADMIN_TOKEN: token }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdout.resume();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`a second server on ${dataDir} was still running after ${REFUSE_DEADLINE_MS} ms; stderr:\n${stderr}`));
    }, REFUSE_DEADLINE_MS);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - t0 });
    });
  });
}

const lockPid = (dir) => Number(fs.readFileSync(path.join(dir, 'switchyard.lock'), 'utf8').trim());

test('a second server on the same data directory refuses to start; the first keeps serving', async (t) => {
  const A = await startServer();
  t.after(() => A.cleanup());
  let r = await api(A, 'PUT', pp('/lock/a'), { value: 'one', type: 'String' });
  assert.equal(r.status, 200, r.text);

  const second = await serveExpectingRefusal(A.dataDir, A.token);
  assert.ok(second.code !== 0 && second.code !== null, `the second server exited with ${second.code}/${second.signal}`);
  assert.ok(second.stderr.includes(A.dataDir), `stderr does not name the directory:\n${second.stderr}`);
  assert.match(second.stderr, new RegExp(`pid ${A.proc.pid}\\b`), `stderr does not name the holder's pid ${A.proc.pid}`);
  assert.match(second.stderr, /in use by another switchyard server/);
  assert.doesNotMatch(second.stderr, /listening/);
  assert.equal(lockPid(A.dataDir), A.proc.pid, 'the refused server touched the lock file');

  // the first is unharmed: writes and reads go on
  for (let v = 2; v <= 5; v++) {
    r = await api(A, 'PUT', pp('/lock/a'), { value: `v${v}`, overwrite: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, v);
  }
  r = await api(A, 'PUT', pp('/lock/b'), { value: 'two', type: 'SecureString' });
  assert.equal(r.status, 200, r.text);
  r = await api(A, 'GET', pp('/lock/a'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.value, 'v5');
  r = await api(A, 'GET', '/api/v1/admin/audit/verify');
  assert.equal(r.json.ok, true, r.text);
  assert.doesNotMatch(A.log, /"level":"error"/, 'the first server logged an error');

  // once it stops, the directory is free again
  await A.stop();
  await A.restart();
  assert.equal(lockPid(A.dataDir), A.proc.pid);
  r = await api(A, 'GET', pp('/lock/a'));
  assert.equal(r.json.value, 'v5');
  r = await api(A, 'PUT', pp('/lock/c'), { value: 'three', type: 'String' });
  assert.equal(r.status, 200, r.text);
});

test('the lock of a SIGKILLed server does not block a restart', async (t) => {
  const S = await startServer();
  t.after(() => S.cleanup());
  let r = await api(S, 'PUT', pp('/lock/k'), { value: 'before', type: 'String' });
  assert.equal(r.status, 200, r.text);
  const deadPid = S.proc.pid;
  await S.kill9();
  assert.equal(lockPid(S.dataDir), deadPid, 'the lock file should still name the killed server');
  await S.restart();
  assert.notEqual(S.proc.pid, deadPid);
  assert.equal(lockPid(S.dataDir), S.proc.pid);
  r = await api(S, 'GET', pp('/lock/k'));
  assert.equal(r.json.value, 'before');
  r = await api(S, 'PUT', pp('/lock/k'), { value: 'after', overwrite: true });
  assert.equal(r.status, 200, r.text);
  // and the restarted one holds the directory in turn
  const second = await serveExpectingRefusal(S.dataDir, S.token);
  assert.notEqual(second.code, 0);
  assert.match(second.stderr, new RegExp(`pid ${S.proc.pid}\\b`));
});

test('a data directory that cannot be locked is refused with the reason', async (t) => {
  const S = await startServer();
  t.after(() => S.cleanup());
  await S.stop();
  // a directory where the lock file should be: it cannot be opened as a file
  fs.rmSync(path.join(S.dataDir, 'switchyard.lock'));
  fs.mkdirSync(path.join(S.dataDir, 'switchyard.lock'));
  const r = await serveExpectingRefusal(S.dataDir, S.token);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /switchyard\.lock/);
  fs.rmdirSync(path.join(S.dataDir, 'switchyard.lock'));
  await S.restart();
});

/* Runs SQL on the database behind a live server's back (sqlite3 CLI, else Python's module);
 * null if neither is installed. */
function sqlBehindTheBack(db, sql) {
  let r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', db, sql], { encoding: 'utf8' });
  if (!r.error) return r;
  r = spawnSync('python3', ['-c', 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=5); c.execute(sys.argv[2]); c.commit()', db, sql], { encoding: 'utf8' });
  return r.error ? null : r;
}

// On PostgreSQL an audit record added behind a node's back is another node's commit, which it
// catches up on: the write does not fail there (tests/pg covers the nodes sharing one log).
test('a write that fails in the store is logged with its cause, and no value with it',
  { skip: sqliteOnly('breaks the next write with a row added to switchyard.db behind the server; its log names the SQLite error') }, async (t) => {
  const S = await startServer();
  t.after(() => S.cleanup());
  let r = await api(S, 'PUT', pp('/lock/x'), { value: 'x', type: 'String' });
  assert.equal(r.status, 200, r.text);
  // the next audit record's seq, taken behind the server's back: its next write must fail
  const cols = 'time, time_ms, actor, action, name, old_version, new_version, old_digest, new_digest, reason, detail, ' +
    'prev_hash, hash';
  const sql = `INSERT INTO audit(seq, ${cols}) SELECT seq + 1, ${cols} FROM audit ORDER BY seq DESC LIMIT 1`;
  const out = sqlBehindTheBack(path.join(S.dataDir, 'switchyard.db'), sql);
  assert.ok(out, 'neither the sqlite3 CLI nor python3 is installed (scripts/deps.sh --test installs sqlite3)');
  assert.equal(out.status, 0, `tampering failed: ${out.stderr}`);
  const SECRET = 'do-not-log-me-7f3a9c';
  r = await api(S, 'PUT', pp('/lock/secret'), { value: SECRET, type: 'SecureString' });
  assert.equal(r.status, 500, r.text);
  assert.equal(r.json.error.code, 'InternalError');
  const line = await waitFor(() => S.log.split('\n').find((l) => l.includes('"write failed"')), 5000, 'the cause in the log');
  const j = JSON.parse(line);
  assert.equal(j.level, 'error');
  assert.equal(j.op, 'put');
  assert.equal(j.name, '/lock/secret');
  assert.equal(j.actor, 'admin');
  assert.match(j.sqlite_msg, /UNIQUE constraint failed: audit\.seq/);
  assert.equal(typeof j.sqlite_code, 'number');
  assert.match(j.step, /INSERT INTO audit/);
  assert.ok(!S.log.includes(SECRET), 'the log holds a SecureString value');
  assert.ok(!S.log.includes(S.token), 'the log holds the admin token');
});

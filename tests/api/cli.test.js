// cli.test.js — black-box tests of the `switchyard` CLI against a live server on an ephemeral port.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const { cleanEnv, cliRunner, PG_BASE, pgCreateDb, pgDropDb } = require('./helpers');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BIN = process.env.SWITCHYARD_BIN || path.resolve(__dirname, '../../build/switchyard');
const ADMIN = 'cli-test-admin-' + crypto.randomBytes(12).toString('hex');
const START_DEADLINE_MS = 15000;

let server;
let serverLog = '';
let baseUrl;
let tmp;
let store = null; // the PostgreSQL database of the server, if any

// Resolves with the port once the server logs its JSON "listening" line; rejects if it exits
// or the deadline passes first.
function waitForListening(child, deadlineMs) {
  return new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => finish(new Error(`server did not report listening within ${deadlineMs} ms:\n${serverLog}`)), deadlineMs);
    function finish(err, port) {
      clearTimeout(timer);
      child.stderr.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err); else resolve(port);
    }
    function portOf(line) {
      let obj;
      try { obj = JSON.parse(line); } catch { return null; }
      if (!JSON.stringify(obj).includes('listening')) return null;
      for (const key of ['port', 'listen_port']) if (Number.isInteger(obj[key]) && obj[key] > 0) return obj[key];
      for (const v of Object.values(obj)) {
        const m = typeof v === 'string' && v.match(/:(\d{1,5})$/);
        if (m && Number(m[1]) > 0) return Number(m[1]);
      }
      return null;
    }
    function onData(chunk) {
      pending += chunk.toString();
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const port = portOf(line);
        if (port) return finish(null, port);
      }
    }
    function onExit(code, signal) {
      finish(new Error(`server exited (code ${code}, signal ${signal}) before listening:\n${serverLog}`));
    }
    child.stderr.on('data', onData);
    child.on('exit', onExit);
  });
}

const { run, ok, fails } = cliRunner(BIN, () => ({ url: baseUrl, token: ADMIN }));

// Runs fn over items with at most `width` at a time.
async function pool(items, width, fn) {
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

// A direct API call, for setting up state faster than the CLI would and for cross-checks.
async function api(method, p, body) {
  const res = await fetch(baseUrl + p, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

// The rows of a table printed by the CLI, each split on runs of two or more spaces.
function tableRows(stdout) {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  return { header: lines[0].split(/ {2,}/), rows: lines.slice(1).map((l) => l.split(/ {2,}/)) };
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-cli-test-'));
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir);
  // on the PostgreSQL store too when the suite runs against one (scripts/test_pg.sh)
  if (PG_BASE) store = await pgCreateDb();
  server = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, ...(store ? ['--store', store] : [])], {
    env: cleanEnv({ SWITCHYARD_ADMIN_TOKEN: ADMIN }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server.stderr.on('data', (c) => {
    serverLog += c.toString();
    if (serverLog.length > 200000) serverLog = serverLog.slice(-100000); // keep draining, bounded
  });
  const port = await waitForListening(server, START_DEADLINE_MS);
  baseUrl = `http://127.0.0.1:${port}`;
});

after(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (store) await pgDropDb(store);
});

test('--help on every command and subcommand prints usage to stdout and exits 0', async () => {
  const cases = [
    ['--help'], ['-h'], ['help'],
    ['param', '--help'], ['param', 'put', '--help'], ['param', 'get', '-h'], ['param', 'ls', '--help'],
    ['param', 'history', '--help'], ['param', 'rm', '--help'], ['param', 'label', '--help'],
    ['param', 'unlabel', '--help'], ['param', 'tag', '--help'], ['param', 'untag', '--help'],
    ['param', 'rollback', '--help'], ['audit', '--help'], ['audit', 'verify', '--help'],
    ['config', '--help'], ['config', 'export', '--help'], ['config', 'import', '--help'],
    ['token', '--help'], ['token', 'create', '--help'], ['token', 'list', '--help'], ['token', 'revoke', '--help'],
  ];
  for (const args of cases) {
    const r = await ok(args);
    assert.match(r.stdout, /^usage: switchyard/, args.join(' '));
    assert.equal(r.stderr, '', args.join(' '));
  }
});

test('misuse exits 2 with the problem and usage on stderr', async () => {
  const cases = [
    [[], /missing command/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--bogus', 'param'], /unknown option '--bogus'/],
    [['param'], /missing subcommand/],
    [['param', 'frob'], /unknown subcommand 'frob'/],
    [['param', 'put', '/cli/misuse'], /missing argument/],
    [['param', 'put', '/cli/misuse', 'v', '--nope'], /unknown option '--nope'/],
    [['param', 'put', '/cli/misuse', 'v', '--type', 'Integer'], /--type must be/],
    [['param', 'put', '/cli/misuse', 'v', '--tier'], /needs a value/],
    [['param', 'get', '/a', '--version', 'x'], /--version needs/],
    [['param', 'get', '/a', 'extra'], /unexpected argument 'extra'/],
    [['param', 'rollback', '/a'], /--to-version is required/],
    [['param', 'tag', '/a', 'novalue'], /not KEY=VALUE/],
    [['audit', '--limit', '0'], /--limit/],
    [['token', 'create', 'x'], /--scope is required/],
    [['token', 'create', 'x', '--scope', 'root'], /--scope must be/],
    [['config', 'import'], /missing argument/],
  ];
  for (const [args, re] of cases) {
    const r = await fails(2, args);
    assert.match(r.stderr, re, args.join(' '));
    assert.match(r.stderr, /usage: switchyard/, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
  }
});

test('put / get round trip, overwrite, versions and conflicts', async () => {
  const name = '/cli/rt/greeting';
  let r = await ok(['param', 'put', name, 'hello world', '--description', 'a greeting']);
  assert.match(r.stdout, /version 1\b/);
  r = await ok(['param', 'get', name]);
  assert.equal(r.stdout, 'hello world\n');
  r = await ok(['param', 'get', name, '--raw']);
  assert.equal(r.stdout, 'hello world');

  r = await fails(1, ['param', 'put', name, 'again']);
  assert.match(r.stderr, /^switchyard: ParameterAlreadyExists: /);

  r = await ok(['param', 'put', name, 'ünïcödé = ✓', '--overwrite', '--reason', 'test']);
  assert.match(r.stdout, /version 2\b/);
  assert.equal((await ok(['param', 'get', name])).stdout, 'ünïcödé = ✓\n');
  assert.equal((await ok(['param', 'get', name, '--version', '1'])).stdout, 'hello world\n');

  // --json works before or after the subcommand and prints the whole parameter object.
  for (const args of [['--json', 'param', 'get', name], ['param', 'get', name, '--json']]) {
    const obj = JSON.parse((await ok(args)).stdout);
    assert.equal(obj.name, name);
    assert.equal(obj.value, 'ünïcödé = ✓');
    assert.equal(obj.version, 2);
    assert.equal(obj.type, 'String');
    assert.equal(obj.description, 'a greeting');
  }

  r = await fails(1, ['param', 'put', name, 'x', '--overwrite', '--if-version', '1']);
  assert.match(r.stderr, /^switchyard: VersionConflict: /);
  await ok(['param', 'put', name, 'three', '--overwrite', '--if-version', '2']);
  r = await fails(1, ['param', 'put', '/cli/rt/fresh', 'x', '--if-version', '1']);
  assert.match(r.stderr, /VersionConflict/);

  r = await fails(1, ['param', 'get', name, '--version', '99']);
  assert.match(r.stderr, /^switchyard: ParameterVersionNotFound: /);

  // StringList and SecureString
  await ok(['param', 'put', '/cli/rt/list', 'a,b,c', '--type', 'StringList']);
  assert.equal((await ok(['param', 'get', '/cli/rt/list'])).stdout, 'a,b,c\n');
  await ok(['param', 'put', '/cli/rt/secret', 's3cr3t', '--type', 'SecureString']);
  assert.equal((await ok(['param', 'get', '/cli/rt/secret', '--decrypt'])).stdout, 's3cr3t\n');
  const hidden = JSON.parse((await ok(['param', 'get', '/cli/rt/secret', '--json'])).stdout);
  assert.equal(hidden.type, 'SecureString');
  assert.equal(hidden.value, undefined);
  r = await fails(1, ['param', 'get', '/cli/rt/secret']);
  assert.match(r.stderr, /--decrypt/);
});

test('file:// and stdin values arrive byte for byte', async () => {
  const bytes = Buffer.from('line one\n\ttabbed "quoted" \\ back\r\nüñí ✓ 🚀\n\n{"json": [1,2]}\n', 'utf8');
  const file = path.join(tmp, 'value.txt');
  fs.writeFileSync(file, bytes);
  await ok(['param', 'put', '/cli/file/v', `file://${file}`, '--tier', 'Advanced']);
  let r = await ok(['param', 'get', '/cli/file/v', '--raw']);
  assert.deepEqual(r.raw, bytes);
  r = await ok(['param', 'get', '/cli/file/v']);
  assert.deepEqual(r.raw, Buffer.concat([bytes, Buffer.from('\n')]));

  await ok(['param', 'put', '/cli/file/stdin', '-'], { input: bytes });
  r = await ok(['param', 'get', '/cli/file/stdin', '--raw']);
  assert.deepEqual(r.raw, bytes);

  r = await fails(1, ['param', 'put', '/cli/file/missing', `file://${path.join(tmp, 'nope')}`]);
  assert.match(r.stderr, /cannot open/);
  const big = path.join(tmp, 'big.bin');
  fs.writeFileSync(big, Buffer.alloc(1024 * 1024 + 1, 0x61));
  r = await fails(1, ['param', 'put', '/cli/file/big', `file://${big}`]);
  assert.match(r.stderr, /larger than/);
});

test('ls follows every page over 120 parameters', async () => {
  const names = Array.from({ length: 120 }, (_, i) => `/cli/ls/p${String(i).padStart(3, '0')}`);
  await pool(names, 8, (n, i) => ok(['param', 'put', n, `v${i}`]));
  await ok(['param', 'put', '/cli/ls/sub/deep', 'x']);

  let r = await ok(['param', 'ls', '/cli/ls']);
  const t = tableRows(r.stdout);
  assert.deepEqual(t.header, ['NAME', 'TYPE', 'VERSION', 'LAST_MODIFIED']);
  assert.deepEqual(t.rows.map((row) => row[0]), names);
  assert.ok(t.rows.every((row) => row[1] === 'String' && row[2] === '1' && /^\d{4}-\d\d-\d\dT/.test(row[3])));

  for (const pageSize of ['7', '50', '1000']) {
    const j = JSON.parse((await ok(['param', 'ls', '/cli/ls', '--page-size', pageSize, '--json'])).stdout);
    assert.deepEqual(j.params.map((p) => p.name), names, `page size ${pageSize}`);
    assert.equal(j.next, null);
  }

  r = await ok(['param', 'ls', '/cli/ls', '--recursive', '--page-size', '11', '--json']);
  const all = JSON.parse(r.stdout).params.map((p) => p.name);
  assert.equal(all.length, 121);
  assert.ok(all.includes('/cli/ls/sub/deep'));
  assert.equal(new Set(all).size, 121);
});

test('history lists every version oldest first', async () => {
  const name = '/cli/hist/x';
  await ok(['param', 'put', name, 'one']);
  await ok(['param', 'put', name, 'two', '--overwrite', '--reason', 'gemini outage']);
  await ok(['param', 'put', name, 'three', '--overwrite', '--reason', 'r'.repeat(70)]);
  await ok(['param', 'rollback', name, '--to-version', '1', '--reason', 'back to one']);
  const r = await ok(['param', 'history', name]);
  const t = tableRows(r.stdout);
  assert.deepEqual(t.header, ['VERSION', 'TYPE', 'LAST_MODIFIED', 'USER', 'LABELS', 'VALUE', 'REASON']);
  assert.deepEqual(t.rows.map((row) => row[0]), ['1', '2', '3', '4']);
  assert.deepEqual(t.rows.map((row) => row[5]), ['one', 'two', 'three', 'one']);
  assert.deepEqual(t.rows.map((row) => row[6]), ['-', 'gemini outage', 'r'.repeat(59) + '…', 'back to one']);
  const j = JSON.parse((await ok(['param', 'history', name, '--json'])).stdout);
  assert.deepEqual(j.versions.map((v) => v.value), ['one', 'two', 'three', 'one']);
  assert.deepEqual(j.versions.map((v) => v.reason), ['', 'gemini outage', 'r'.repeat(70), 'back to one']);
  assert.equal((await fails(1, ['param', 'history', '/cli/hist/none'])).stderr.split(':')[1].trim(), 'ParameterNotFound');
});

test('label and unlabel', async () => {
  const name = '/cli/label/x';
  await ok(['param', 'put', name, 'v1']);
  await ok(['param', 'put', name, 'v2', '--overwrite']);
  await ok(['param', 'label', name, 'prod', 'blue']);
  await ok(['param', 'label', name, 'old', '--version', '1']);
  assert.equal((await ok(['param', 'get', name, '--label', 'prod'])).stdout, 'v2\n');
  assert.equal((await ok(['param', 'get', name, '--label', 'old'])).stdout, 'v1\n');
  let j = JSON.parse((await ok(['param', 'history', name, '--json'])).stdout);
  assert.deepEqual(j.versions[0].labels, ['old']);
  assert.deepEqual([...j.versions[1].labels].sort(), ['blue', 'prod']);

  // A label moves from any other version.
  await ok(['param', 'label', name, 'prod', '--version', '1']);
  assert.equal((await ok(['param', 'get', name, '--label', 'prod'])).stdout, 'v1\n');

  const r = await ok(['param', 'unlabel', name, 'prod', 'old']);
  assert.match(r.stdout, /prod/);
  j = JSON.parse((await ok(['param', 'history', name, '--json'])).stdout);
  assert.deepEqual(j.versions[0].labels, []);
  assert.deepEqual(j.versions[1].labels, ['blue']);
  await fails(1, ['param', 'get', name, '--label', 'prod']);
  await fails(1, ['param', 'label', '/cli/label/none', 'prod']);
});

test('tag and untag', async () => {
  const name = '/cli/tag/x';
  await ok(['param', 'put', name, 'v', '--tag', 'team=ml', 'cost=42']);
  let j = JSON.parse((await ok(['param', 'get', name, '--json'])).stdout);
  assert.deepEqual(j.tags, { team: 'ml', cost: '42' });
  let r = await ok(['param', 'tag', name, 'env=prod', 'owner=me=too']);
  const t = tableRows(r.stdout);
  assert.deepEqual(t.header, ['KEY', 'VALUE']);
  assert.deepEqual(Object.fromEntries(t.rows), { team: 'ml', cost: '42', env: 'prod', owner: 'me=too' });
  r = await ok(['param', 'untag', name, 'owner', 'cost', '--json']);
  assert.deepEqual(JSON.parse(r.stdout).tags, { team: 'ml', env: 'prod' });
  j = JSON.parse((await ok(['param', 'get', name, '--json'])).stdout);
  assert.deepEqual(j.tags, { team: 'ml', env: 'prod' });
});

test('rollback writes an old value as a new version', async () => {
  const name = '/cli/rb/x';
  await ok(['param', 'put', name, 'good']);
  await ok(['param', 'put', name, 'bad', '--overwrite']);
  const r = await ok(['param', 'rollback', name, '--to-version', '1', '--reason', 'revert bad']);
  assert.match(r.stdout, /version 3\b/);
  assert.equal((await ok(['param', 'get', name])).stdout, 'good\n');
  assert.equal(JSON.parse((await ok(['param', 'get', name, '--json'])).stdout).version, 3);
  const e = await fails(1, ['param', 'rollback', name, '--to-version', '99']);
  assert.match(e.stderr, /^switchyard: ParameterVersionNotFound: /);
});

test('rm deletes; unknown parameters exit 1 with the server message', async () => {
  const name = '/cli/rm/x';
  await ok(['param', 'put', name, 'v']);
  const r = await ok(['param', 'rm', name, '--reason', 'cleanup']);
  assert.match(r.stdout, /deleted \/cli\/rm\/x/);
  let e = await fails(1, ['param', 'get', name]);
  assert.match(e.stderr, /^switchyard: ParameterNotFound: .*\/cli\/rm\/x/);
  assert.equal(e.stdout, '');
  e = await fails(1, ['param', 'rm', name]);
  assert.match(e.stderr, /^switchyard: ParameterNotFound: /);
  e = await fails(1, ['param', 'get', '/cli/nope/missing']);
  assert.match(e.stderr, /^switchyard: ParameterNotFound: .*\/cli\/nope\/missing\b.*\n$/);
});

test('names are sent as typed; a parameter whose last segment is history is still readable', async () => {
  const e = await fails(1, ['param', 'put', '/cli/dots/../escaped', 'v']);
  assert.match(e.stderr, /^switchyard: ValidationException: /);
  await fails(1, ['param', 'get', '/cli/escaped']);

  const name = '/cli/hx/history';
  await ok(['param', 'put', name, 'h1']);
  await ok(['param', 'put', name, 'h2', '--overwrite']);
  await ok(['param', 'label', name, 'first', '--version', '1']);
  assert.equal((await ok(['param', 'get', name])).stdout, 'h2\n');
  assert.equal((await ok(['param', 'get', name, '--version', '1'])).stdout, 'h1\n');
  assert.equal((await ok(['param', 'get', name, '--label', 'first'])).stdout, 'h1\n');
  const h = JSON.parse((await ok(['param', 'history', name, '--json'])).stdout);
  assert.deepEqual(h.versions.map((v) => v.value), ['h1', 'h2']);
});

// A PUT of the name exactly as given (fetch would resolve "/../"), for the server's answer.
function rawPut(name) {
  const http = require('node:http');
  const body = JSON.stringify({ value: 'v', type: 'String' });
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(baseUrl);
    const req = http.request({
      hostname,
      port,
      path: `/api/v1/params${name}`,
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('serve refuses a number that is not wholly one, or out of range, before it opens anything', async () => {
  const data = path.join(tmp, 'never-made');
  for (const [args, msg] of [
    [['--threads', '+2'], /--threads takes 1 to 64/],
    [['--threads', ' 2'], /--threads takes 1 to 64/],
    [['--threads', '99999999999999999999'], /--threads takes 1 to 64/],
    [['--listen', '127.0.0.1:+80'], /--listen wants ADDR:PORT/],
    [['--listen', '127.0.0.1: 80'], /--listen wants ADDR:PORT/],
    [['--listen', '127.0.0.1:65536'], /--listen wants ADDR:PORT/],
    [['--listen', '127.0.0.1:'], /--listen wants ADDR:PORT/],
    [['--idle-timeout', '1e4'], /--idle-timeout must be a whole number from 1000 to 86400000/],
  ]) {
    const r = await run(['serve', '--data', data, ...args], { noServerFlag: true });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
  }
  const r = await run(['serve', '--data', data], { noServerFlag: true, env: { SWITCHYARD_HEARTBEAT_MS: '15000ms' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /SWITCHYARD_HEARTBEAT_MS must be a whole number/);
  assert.equal(fs.existsSync(data), false, 'the data directory was made');
});

// STYLE.md: the CLI speaks HTTP and execs the server; it is built from core and its own files only.
test('the CLI sources include no server or store header', () => {
  const dir = path.resolve(__dirname, '../../src/cli');
  for (const f of fs.readdirSync(dir)) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    assert.doesNotMatch(text, /#include\s+"(server|store)\//, `src/cli/${f}`);
  }
});

test('names are checked by the rules the server uses, before anything is sent', async () => {
  const sixteen = Array.from({ length: 16 }, (_, i) => `/l${i}`).join('');
  for (const bad of ['/cli/a*b', '/cli/x/', '/cli/../x', '/aws/x', sixteen]) {
    const server_ = await rawPut(bad);
    assert.equal(server_.status, 400, bad);
    const { code, message } = server_.json.error;
    assert.match(message, /^name: /);
    // nothing listens on port 1: a name that was sent would fail with "cannot reach"
    const e = await fails(1, ['--server', 'http://127.0.0.1:1', 'param', 'put', bad, 'v'], { noServerFlag: true });
    assert.equal(e.stderr, `switchyard: ${code}: invalid parameter name '${bad}': ${message.slice('name: '.length)}\n`, bad);
  }
  // the URL cannot carry these to the server as they are: "cli/x" would become /cli/x
  let e = await fails(1, ['--server', 'http://127.0.0.1:1', 'param', 'get', 'cli/x'], { noServerFlag: true });
  assert.equal(e.stderr, "switchyard: ValidationException: invalid parameter name 'cli/x': a hierarchical name must start with '/'\n");
  e = await fails(1, ['--server', 'http://127.0.0.1:1', 'param', 'get', '/cli/a\tb'], { noServerFlag: true });
  assert.equal(e.stderr, "switchyard: ValidationException: invalid parameter name '/cli/a?b': invalid byte 0x09 at position 7; allowed are a-zA-Z0-9_.-/\n");
  e = await fails(1, ['--server', 'http://127.0.0.1:1', 'param', 'get', '/cli/a:b c'], { noServerFlag: true });
  assert.match(e.stderr, /^switchyard: ValidationException: invalid parameter name '\/cli\/a:b c': the selector after ':'/);
});

test('audit lists records and audit verify checks the whole chain', async () => {
  const name = '/cli/audit/x';
  await ok(['param', 'put', name, 'a', '--reason', 'first']);
  await ok(['param', 'put', name, 'b', '--overwrite']);
  let r = await ok(['audit', '--name', name]);
  const t = tableRows(r.stdout);
  assert.deepEqual(t.header, ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'NAME', 'OLD→NEW', 'REASON']);
  assert.equal(t.rows.length, 2);
  assert.deepEqual(t.rows.map((row) => row[5]), ['1→2', '-→1']); // newest first
  assert.deepEqual(t.rows.map((row) => row[6]), ['-', 'first']);
  assert.ok(t.rows.every((row) => row[3] === 'put' && row[4] === name));
  r = await ok(['audit', '--limit', '3', '--json']);
  assert.equal(JSON.parse(r.stdout).records.length, 3);

  // Enough records for verify to need several pages of 1000.
  const writes = Array.from({ length: 1100 }, (_, i) => i);
  await pool(writes, 16, async (i) => {
    const res = await api('PUT', `/api/v1/params/cli/audit/bulk${i % 10}`, { value: `v${i}`, type: 'String', overwrite: true });
    assert.equal(res.status, 200);
  });
  const server_ = await api('GET', '/api/v1/admin/audit/verify');
  assert.equal(server_.json.ok, true);
  r = await ok(['audit', 'verify']);
  assert.equal(r.stdout, `audit chain ok: ${server_.json.records} records\n`);
  assert.ok(server_.json.records > 1100);
  const j = JSON.parse((await ok(['audit', 'verify', '--json'])).stdout);
  assert.deepEqual(j, { ok: true, records: server_.json.records });
});

// Serves `records` as GET /api/v1/admin/audit?order=asc&after=&limit= would; resolves with its URL.
function fakeAuditServer(records) {
  const http = require('node:http');
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname !== '/api/v1/admin/audit' || u.searchParams.get('order') !== 'asc') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { code: 'NotFound', message: 'no route' } }));
    }
    const after = Number(u.searchParams.get('after') || 0);
    const limit = Number(u.searchParams.get('limit') || 100);
    const page = records.filter((r) => r.seq > after).slice(0, limit);
    const more = records.some((r) => r.seq > (page.at(-1) || { seq: after }).seq);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ records: page, next: more ? page.at(-1).seq : null }));
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({ srv, url: `http://127.0.0.1:${srv.address().port}` })));
}

test('audit verify names the first broken record', async () => {
  const records = [];
  for (let after = 0; ;) {
    const page = await api('GET', `/api/v1/admin/audit?order=asc&after=${after}&limit=1000`);
    assert.equal(page.status, 200);
    records.push(...page.json.records);
    if (page.json.records.length === 0 || page.json.next === null) break;
    after = page.json.records.at(-1).seq;
  }
  assert.ok(records.length > 10);
  const cases = [
    ['intact', records, null],
    ['edited reason', records.map((r, i) => (i === 5 ? { ...r, reason: r.reason + ' (edited)' } : r)), `audit chain broken at seq ${records[5].seq}: hash does not match`],
    ['dropped record', records.filter((_, i) => i !== 7), `audit chain broken at seq ${records[8].seq}: prev_hash does not match the hash of seq ${records[6].seq}`],
    ['forged genesis', records.slice(3), `audit chain broken at seq ${records[3].seq}: prev_hash is not the genesis hash`],
  ];
  for (const [what, recs, broken] of cases) {
    const { srv, url } = await fakeAuditServer(recs);
    try {
      const r = await run(['--server', url, 'audit', 'verify'], { noServerFlag: true });
      if (broken === null) {
        assert.equal(r.code, 0, what);
        assert.equal(r.stdout, `audit chain ok: ${recs.length} records\n`, what);
      } else {
        assert.equal(r.code, 1, `${what}: ${r.stdout} ${r.stderr}`);
        assert.ok(r.stderr.startsWith(`switchyard: ${broken}`), `${what}: ${r.stderr}`);
        const j = await run(['--server', url, 'audit', 'verify', '--json'], { noServerFlag: true });
        assert.equal(j.code, 1, what);
        const out = JSON.parse(j.stdout);
        assert.equal(out.ok, false, what);
        assert.equal(out.first_broken_seq, Number(broken.match(/seq (\d+)/)[1]), what);
      }
    } finally {
      await new Promise((resolve) => srv.close(resolve));
    }
  }
});

test('config export then import is a dry run with nothing to change', async () => {
  await ok(['param', 'put', '/cli/config/a', 'x', '--tag', 'k=v']);
  await ok(['param', 'put', '/cli/config/s', 'hidden', '--type', 'SecureString']);
  const file = path.join(tmp, 'export.json');
  let r = await ok(['config', 'export', '--include-secrets', '-o', file]);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(doc.format, 'switchyard-config/1');
  assert.ok(doc.params.some((p) => p.name === '/cli/config/a' && p.value === 'x'));
  assert.ok(doc.params.some((p) => p.name === '/cli/config/s' && p.value === 'hidden'));

  r = await ok(['config', 'export']);
  assert.equal(JSON.parse(r.stdout).format, 'switchyard-config/1');

  r = await ok(['config', 'import', file]);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines[0].split(/ {2,}/), ['NAME', 'ACTION']);
  const rows = lines.slice(1, -1).map((l) => l.split(/ {2,}/));
  assert.equal(rows.length, doc.params.length);
  assert.ok(rows.every((row) => row[1] === 'unchanged'), r.stdout);
  assert.equal(lines.at(-1), `dry run: 0 create, 0 update, ${doc.params.length} unchanged, 0 delete (use --apply to commit)`);

  r = await ok(['config', 'import', file, '--json']);
  const j = JSON.parse(r.stdout);
  assert.equal(j.dry_run, true);
  assert.deepEqual(j.summary, { create: 0, update: 0, unchanged: doc.params.length, delete: 0 });

  // An edited export shows the change; --apply commits it.
  const edited = { ...doc, params: doc.params.map((p) => (p.name === '/cli/config/a' ? { ...p, value: 'y' } : p)) };
  fs.writeFileSync(file, JSON.stringify(edited));
  r = await ok(['config', 'import', file]);
  assert.match(r.stdout, /\/cli\/config\/a\s+update\n/);
  assert.equal((await ok(['param', 'get', '/cli/config/a'])).stdout, 'x\n');
  r = await ok(['config', 'import', file, '--apply']);
  assert.match(r.stdout, /^applied: 0 create, 1 update, \d+ unchanged, 0 delete\n$/);
  assert.equal((await ok(['param', 'get', '/cli/config/a'])).stdout, 'y\n');

  fs.writeFileSync(file, '{"format": ');
  r = await fails(1, ['config', 'import', file]);
  assert.match(r.stderr, /^switchyard: ValidationException: /);
});

test('token create --route: the token\'s default gateway route, listed; a bad one is refused naming it', async () => {
  let r = await ok(['token', 'create', 'cli-routed', '--scope', 'read', '--route', '/cli/routes/a']);
  const token = r.stdout.trim();
  assert.equal(r.stdout, token + '\n');
  r = await ok(['token', 'list']);
  const row = tableRows(r.stdout).rows.find((x) => x[0] === 'cli-routed');
  assert.ok(row, r.stdout);
  assert.equal(row[2], '/cli/routes/a');
  const listed = JSON.parse((await ok(['token', 'list', '--json'])).stdout).tokens.find((x) => x.name === 'cli-routed');
  assert.equal(listed.route, '/cli/routes/a');

  let e = await fails(1, ['token', 'create', 'cli-badroute', '--scope', 'read', '--route', 'no/slash']);
  assert.match(e.stderr, /^switchyard: ValidationException: route: /);
  e = await fails(1, ['token', 'create', 'cli-badroute', '--scope', 'read', '--route', '/bad*route']);
  assert.match(e.stderr, /^switchyard: ValidationException: route: /);
  assert.ok(!(await ok(['token', 'list'])).stdout.includes('cli-badroute'));
  assert.match((await ok(['token', 'create', '--help'])).stdout, /--route ROUTE/);
});

test('token create, list, revoke; a revoked token is refused', async () => {
  let r = await ok(['token', 'create', 'cli-reader', '--scope', 'read']);
  const token = r.stdout.trim();
  assert.ok(token.length >= 16 && !/\s/.test(token), r.stdout);
  assert.equal(r.stdout, token + '\n');

  r = await ok(['token', 'list']);
  const t = tableRows(r.stdout);
  assert.deepEqual(t.header, ['NAME', 'SCOPES', 'ROUTE', 'CREATED', 'REVOKED']);
  const row = t.rows.find((x) => x[0] === 'cli-reader');
  assert.ok(row, r.stdout);
  assert.equal(row[1], 'read');
  assert.equal(row[2], '-');
  assert.ok(!r.stdout.includes(token), 'token list must not print secrets');

  await ok(['param', 'put', '/cli/token/x', 'v']);
  assert.equal((await ok(['param', 'get', '/cli/token/x'], { token })).stdout, 'v\n');
  let e = await fails(1, ['param', 'put', '/cli/token/y', 'v'], { token });
  assert.match(e.stderr, /^switchyard: AccessDenied: /);
  e = await fails(1, ['token', 'list'], { token });
  assert.match(e.stderr, /^switchyard: AccessDenied: /);

  e = await fails(1, ['token', 'create', 'cli-reader', '--scope', 'write']);
  assert.match(e.stderr, /^switchyard: TokenAlreadyExists: /);

  r = await ok(['token', 'revoke', 'cli-reader']);
  assert.match(r.stdout, /revoked cli-reader/);
  e = await fails(1, ['param', 'get', '/cli/token/x'], { token });
  assert.match(e.stderr, /^switchyard: Unauthenticated: /);
  const listed = JSON.parse((await ok(['token', 'list', '--json'])).stdout).tokens.find((x) => x.name === 'cli-reader');
  assert.ok(listed && listed.revoked, JSON.stringify(listed));

  // decrypt is a scope of its own: a read token may not see SecureString values in clear.
  await ok(['param', 'put', '/cli/token/secret', 'shh', '--type', 'SecureString']);
  const decryptor = (await ok(['token', 'create', 'cli-decryptor', '--scope', 'read', '--scope', 'decrypt'])).stdout.trim();
  assert.equal((await ok(['param', 'get', '/cli/token/secret', '--decrypt'], { token: decryptor })).stdout, 'shh\n');
  const plain = (await ok(['token', 'create', 'cli-plain-reader', '--scope', 'read'])).stdout.trim();
  e = await fails(1, ['param', 'get', '/cli/token/secret', '--decrypt'], { token: plain });
  assert.match(e.stderr, /^switchyard: AccessDenied: /);

  e = await fails(1, ['token', 'revoke', 'cli-no-such-token']);
  assert.match(e.stderr, /^switchyard: TokenNotFound: /);
});

test('credentials, server selection and network errors', async () => {
  // without a token the CLI says how to set one and where the admin token came from
  const whence = 'switchyard: the admin token is printed once when `switchyard serve` (or `make run`) first starts, ' +
    'and kept in DATA/admin.token; `switchyard token create` makes more\n';
  let e = await fails(1, ['param', 'get', '/cli/rt/greeting'], { token: null });
  assert.equal(e.stderr, 'switchyard: Unauthenticated: missing Authorization: Bearer <token> header (a developer\'s ' +
    'machine may serve requests without one with switchyard serve --insecure-loopback)\n' +
    'switchyard: no token: set SWITCHYARD_TOKEN, e.g. export SWITCHYARD_TOKEN=$(cat data/admin.token)\n' + whence);
  e = await fails(1, ['param', 'get', '/cli/rt/greeting'], { token: '' });
  assert.match(e.stderr, /\nswitchyard: no token: set SWITCHYARD_TOKEN/);
  e = await fails(1, ['param', 'get', '/cli/rt/greeting'], { token: 'not-a-real-token' });
  assert.equal(e.stderr, 'switchyard: Unauthenticated: unknown or revoked token\n' +
    'switchyard: the token sent is the one in SWITCHYARD_TOKEN\n' + whence);
  // the usage says it too
  assert.match((await ok(['--help'])).stdout, /export SWITCHYARD_TOKEN=\$\(cat data\/admin\.token\)/);

  // SWITCHYARD_URL is used when --server is absent; --server wins over it.
  const r = await ok(['param', 'get', '/cli/rt/list'], { noServerFlag: true, env: { SWITCHYARD_URL: baseUrl + '/' } });
  assert.equal(r.stdout, 'a,b,c\n');
  await ok(['--server', baseUrl, 'param', 'get', '/cli/rt/list'], { noServerFlag: true, env: { SWITCHYARD_URL: 'http://127.0.0.1:1' } });

  e = await fails(1, ['--server', 'http://127.0.0.1:1', 'param', 'get', '/a'], { noServerFlag: true });
  assert.match(e.stderr, /^switchyard: cannot reach http:\/\/127\.0\.0\.1:1: /);

  e = await fails(1, ['param', 'get', '/bad name']);
  assert.match(e.stderr, /invalid parameter name/);
});

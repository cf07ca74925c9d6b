// console.test.js — the web console's files under /console (no credentials, caching, gzip, security
// headers, what is not a file) and GET /api/v1/whoami, which the console asks first.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { startServer, api, spawnRun, cleanEnv } = require('./helpers');

const DATA = path.join(__dirname, 'data', 'console');
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const IMMUTABLE = 'public, max-age=31536000, immutable';

let S; // serves a console (--console DIR)
let bare; // started with SWITCHYARD_CONSOLE_DIR naming an empty directory
let dir;
let empty;
const tmpdirs = [];

function tmpdir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `switchyard-${tag}-`));
  tmpdirs.push(d);
  return d;
}

before(async () => {
  // the build's output: the files of data/console, the script's precompressed copy, and a
  // name the console may not have (skipped when loading)
  dir = tmpdir('console');
  for (const f of fs.readdirSync(DATA)) fs.copyFileSync(path.join(DATA, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'app-0123abcd.js.gz'), zlib.gzipSync(fs.readFileSync(path.join(DATA, 'app-0123abcd.js'))));
  fs.writeFileSync(path.join(dir, 'not mine.txt'), 'a name with a space\n');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'deep.txt'), 'below the console directory\n');
  empty = tmpdir('console-empty');
  // --console wins over the variable
  S = await startServer({ args: ['--console', dir], env: { SWITCHYARD_CONSOLE_DIR: empty } });
  bare = await startServer({ env: { SWITCHYARD_CONSOLE_DIR: empty } });
});

after(async () => {
  try {
    if (S) await S.cleanup();
    if (bare) await bare.cleanup();
  } finally {
    for (const d of tmpdirs) fs.rmSync(d, { recursive: true, force: true });
  }
});

/* One request without credentials, its target sent as it is; resolves with the status, the
 * headers and the body's bytes (not decoded, not decompressed). */
function get(server, target, headers = {}, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, method, path: target, headers: { Connection: 'close', ...headers }, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          let json = null;
          try { json = JSON.parse(body.toString('utf8')); } catch { /* not JSON */ }
          resolve({ status: res.statusCode, headers: res.headers, body, json });
        });
      },
    );
    req.setTimeout(30000, () => req.destroy(new Error(`${method} ${target}: no answer in 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

const file = (name) => fs.readFileSync(path.join(DATA, name));

function assertSecurityHeaders(r, what) {
  assert.equal(r.headers['content-security-policy'], CSP, what);
  assert.equal(r.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(r.headers['referrer-policy'], 'no-referrer', what);
  assert.equal(r.headers['x-frame-options'], 'DENY', what);
  assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin', what);
}

function assertError(r, status, code, what) {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.body}`);
  assert.equal(r.json && r.json.error && r.json.error.code, code, `${what}: ${r.body}`);
  assert.equal(typeof r.json.error.message, 'string', what);
  assertSecurityHeaders(r, what);
}

describe('console files', () => {
  it('serves index.html at /console and /console/ without credentials, revalidated on every use', async () => {
    for (const target of ['/console', '/console/', '/console/index.html']) {
      const r = await get(S, target);
      assert.equal(r.status, 200, `${target}: ${r.status} ${r.body}`);
      assert.deepEqual(r.body, file('index.html'), target);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8', target);
      assert.equal(r.headers['cache-control'], 'no-cache', target);
      assert.match(r.headers.etag, /^"[0-9a-f]{32}"$/, target);
      assert.equal(r.headers['content-encoding'], undefined, target);
      assertSecurityHeaders(r, target);
    }
  });

  it('takes no notice of a token, even a wrong one', async () => {
    const r = await get(S, '/console/', { Authorization: 'Bearer not-a-token-of-this-server' });
    assert.equal(r.status, 200, String(r.body));
    assert.deepEqual(r.body, file('index.html'));
  });

  it('serves each file with its type and its caching: hashed names for good, others revalidated', async () => {
    const want = [
      ['app-0123abcd.js', 'text/javascript; charset=utf-8', IMMUTABLE],
      ['app-0123abcd.css', 'text/css; charset=utf-8', IMMUTABLE],
      ['notes.txt', 'text/plain; charset=utf-8', 'no-cache'],
    ];
    for (const [name, type, cache] of want) {
      const r = await get(S, `/console/${name}`);
      assert.equal(r.status, 200, `${name}: ${r.status} ${r.body}`);
      assert.deepEqual(r.body, file(name), name);
      assert.equal(r.headers['content-type'], type, name);
      assert.equal(r.headers['cache-control'], cache, name);
      assert.equal(r.headers['content-length'], String(file(name).length), name);
      assert.match(r.headers.etag, /^"[0-9a-f]{32}"$/, name);
      assertSecurityHeaders(r, name);
    }
    const notes = await get(S, '/console/notes.txt');
    assert.equal(notes.headers.vary, undefined, 'a file without a .gz does not vary');
  });

  it('answers 304 without a body to an If-None-Match that names the ETag, a list holding it, or *', async () => {
    const first = await get(S, '/console/app-0123abcd.css');
    const etag = first.headers.etag;
    for (const inm of [etag, `"0000", ${etag}`, `W/${etag}`, '*']) {
      const r = await get(S, '/console/app-0123abcd.css', { 'If-None-Match': inm });
      assert.equal(r.status, 304, `If-None-Match: ${inm}`);
      assert.equal(r.body.length, 0, `If-None-Match: ${inm}`);
      assert.equal(r.headers.etag, etag);
      assert.equal(r.headers['cache-control'], IMMUTABLE);
      assertSecurityHeaders(r, `304 for ${inm}`);
    }
    const index = await get(S, '/console');
    const again = await get(S, '/console', { 'If-None-Match': index.headers.etag });
    assert.equal(again.status, 304);
    assert.equal(again.headers['cache-control'], 'no-cache');
    const other = await get(S, '/console/app-0123abcd.css', { 'If-None-Match': '"0123456789abcdef0123456789abcdef"' });
    assert.equal(other.status, 200, 'another ETag: the file itself');
    assert.deepEqual(other.body, file('app-0123abcd.css'));
  });

  it('serves the precompressed copy only to a client that accepts gzip', async () => {
    const plain = file('app-0123abcd.js');
    for (const ae of ['gzip', 'gzip, deflate, br', 'br;q=1.0, gzip;q=0.5', 'GZIP', 'x-gzip', '*', 'deflate, *;q=0.1']) {
      const r = await get(S, '/console/app-0123abcd.js', { 'Accept-Encoding': ae });
      assert.equal(r.status, 200, ae);
      assert.equal(r.headers['content-encoding'], 'gzip', `Accept-Encoding: ${ae}`);
      assert.equal(r.headers.vary, 'Accept-Encoding', ae);
      assert.equal(r.headers['content-type'], 'text/javascript; charset=utf-8', ae);
      assert.equal(r.headers['cache-control'], IMMUTABLE, ae);
      assert.deepEqual(zlib.gunzipSync(r.body), plain, ae);
    }
    for (const ae of [undefined, 'identity', 'gzip;q=0', 'gzip; q=0.000', 'br, deflate', '*;q=0', 'gzip;q=0, *', '*, gzip;q=0']) {
      const r = await get(S, '/console/app-0123abcd.js', ae === undefined ? {} : { 'Accept-Encoding': ae });
      assert.equal(r.status, 200, ae);
      assert.equal(r.headers['content-encoding'], undefined, `Accept-Encoding: ${ae}`);
      assert.equal(r.headers.vary, 'Accept-Encoding', `always Vary for a file with a .gz (${ae})`);
      assert.deepEqual(r.body, plain, ae);
    }
  });

  it('gives each encoding its own ETag, and 304 only for the one asked for', async () => {
    const gz = await get(S, '/console/app-0123abcd.js', { 'Accept-Encoding': 'gzip' });
    const plain = await get(S, '/console/app-0123abcd.js');
    assert.notEqual(gz.headers.etag, plain.headers.etag);
    const r = await get(S, '/console/app-0123abcd.js', { 'Accept-Encoding': 'gzip', 'If-None-Match': gz.headers.etag });
    assert.equal(r.status, 304);
    assert.equal(r.headers.vary, 'Accept-Encoding');
    const cross = await get(S, '/console/app-0123abcd.js', { 'If-None-Match': gz.headers.etag });
    assert.equal(cross.status, 200, 'the gzip ETag does not validate the plain bytes');
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const r = await get(S, '/console/notes.txt', {}, 'HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers['content-length'], String(file('notes.txt').length));
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assertSecurityHeaders(r, 'HEAD');
    const index = await get(S, '/console', {}, 'HEAD');
    assert.equal(index.status, 200);
    assert.equal(index.body.length, 0);
  });

  it('answers 404 NotFound to anything that is not one of its files', async () => {
    const targets = [
      '/console/missing.js',
      '/console/../health',
      '/console/..',
      '/console/.',
      '/console/a/b',
      '/console/sub',
      '/console/sub/deep.txt',
      '/console//index.html',
      '/console/%2e%2e',
      '/console/%2e%2e/health',
      '/console/%2fetc%2fpasswd',
      '/console/..%2fhealth',
      '/console/index%2ehtml',
      '/console/not%20mine.txt',
      '/console/app-0123abcd.js/',
    ];
    for (const t of targets) assertError(await get(S, t), 404, 'NotFound', t);
    const other = await get(S, '/consoles');
    assert.equal(other.status, 404, 'a path that only begins like /console is not the console');
  });

  it('answers 405 to methods other than GET and HEAD', async () => {
    for (const m of ['POST', 'PUT', 'DELETE']) {
      const r = await get(S, '/console/', {}, m);
      assertError(r, 405, 'MethodNotAllowed', m);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
  });

  it('leaves authentication of everything else unchanged', async () => {
    assert.equal((await api(S, 'GET', '/api/v1/params?path=/', undefined, null)).status, 401);
    assert.equal((await api(S, 'GET', '/metrics', undefined, null)).status, 401);
    assert.equal((await get(S, '/health')).status, 200);
  });
});

describe('no console', () => {
  it('answers 404 ConsoleNotBuilt saying how to build it, and says so once at start', async () => {
    for (const t of ['/console', '/console/', '/console/app-0123abcd.js']) {
      const r = await get(bare, t);
      assertError(r, 404, 'ConsoleNotBuilt', t);
      assert.match(r.json.error.message, /make console/);
    }
    assertError(await get(bare, '/console', {}, 'POST'), 405, 'MethodNotAllowed', 'POST');
    const lines = bare.log.split('\n').filter((l) => l.includes('/console answers 404'));
    assert.equal(lines.length, 1, bare.log);
    assert.equal(JSON.parse(lines[0]).level, 'info');
  });

  it('refuses to start (exit 1, naming the directory) when --console names one without index.html', async () => {
    const data = tmpdir('console-data');
    const r = await spawnRun(process.env.SWITCHYARD_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', data, '--console', empty],
      cleanEnv({ SWITCHYARD_ADMIN_TOKEN: 'console-test-admin-token' }));
    assert.equal(r.code, 1, `exit ${r.code}\n${r.stderr}`);
    assert.ok(r.stderr.includes(empty), r.stderr);
    assert.match(r.stderr, /index\.html/);
    const missing = path.join(empty, 'nowhere');
    const r2 = await spawnRun(process.env.SWITCHYARD_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', data, '--console', missing],
      cleanEnv({ SWITCHYARD_ADMIN_TOKEN: 'console-test-admin-token' }));
    assert.equal(r2.code, 1, `exit ${r2.code}\n${r2.stderr}`);
    assert.ok(r2.stderr.includes(missing), r2.stderr);
  });

  it('lists --console and SWITCHYARD_CONSOLE_DIR in serve --help', async () => {
    const r = await spawnRun(process.env.SWITCHYARD_BIN, ['serve', '--help'], cleanEnv({}));
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--console DIR/);
    assert.match(r.stdout, /SWITCHYARD_CONSOLE_DIR/);
  });
});

describe('GET /api/v1/whoami', () => {
  async function mkToken(name, scopes) {
    const r = await api(S, 'POST', '/api/v1/admin/tokens', { name, scopes });
    assert.equal(r.status, 201, r.text);
    return r.json.token;
  }

  it('names the admin token and every scope it holds, those admin implies included', async () => {
    const r = await api(S, 'GET', '/api/v1/whoami');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { name: 'admin', scopes: ['read', 'write', 'admin', 'decrypt', 'evaluate'] });
    assert.ok(!r.text.includes(S.token), 'never the token itself');
  });

  it('answers a read token and an evaluate-only token with their own scopes', async () => {
    const read = await mkToken('console-reader', ['read']);
    const r = await api(S, 'GET', '/api/v1/whoami', undefined, read);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { name: 'console-reader', scopes: ['read', 'evaluate'] });
    assert.ok(!r.text.includes(read));
    const evaluate = await mkToken('console-app', ['evaluate']);
    const e = await api(S, 'GET', '/api/v1/whoami', undefined, evaluate);
    assert.equal(e.status, 200, e.text);
    assert.deepEqual(e.json, { name: 'console-app', scopes: ['evaluate'] });
    // the evaluate-only gate still holds everywhere else
    assert.equal((await api(S, 'GET', '/api/v1/params?path=/', undefined, evaluate)).status, 403);
  });

  it('answers 401 without a token or with an unknown one, and 405 to a write', async () => {
    const r = await api(S, 'GET', '/api/v1/whoami', undefined, null);
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.error.code, 'Unauthenticated');
    assert.equal((await api(S, 'GET', '/api/v1/whoami', undefined, 'sy_unknown')).status, 401);
    assert.equal((await api(S, 'POST', '/api/v1/whoami', {})).status, 405);
  });
});

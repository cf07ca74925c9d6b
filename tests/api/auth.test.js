// auth.test.js — tokens, scopes and the first admin token.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, api, pp, sha256hex, openSSE, PG_BASE } = require('./helpers');

let S;
before(async () => {
  S = await startServer();
  const r = await api(S, 'PUT', pp('/auth/a'), { value: 'x', type: 'String' });
  assert.equal(r.status, 200, r.text);
});
after(async () => { if (S) await S.cleanup(); });

/* The fields the contract names, with their values (extra fields are allowed). */
function assertFields(obj, exp) {
  assert.ok(obj && typeof obj === 'object', `not an object: ${JSON.stringify(obj)}`);
  for (const [k, v] of Object.entries(exp)) assert.deepEqual(obj[k], v, `field ${k} of ${JSON.stringify(obj)}`);
}

async function mkToken(name, scopes, as) {
  const r = await api(S, 'POST', '/api/v1/admin/tokens', { name, scopes }, as);
  assert.ok([200, 201].includes(r.status), `create token ${name}: ${r.status} ${r.text}`);
  assert.equal(r.json.name, name);
  assert.deepEqual(r.json.scopes, scopes);
  assert.equal(typeof r.json.token, 'string');
  assert.ok(r.json.token.length >= 16, 'a token should carry real entropy');
  return r.json.token;
}

function assertCode(r, status, code, what) {
  assert.equal(r.status, status, `${what}: expected ${status}, got ${r.status} ${r.text}`);
  assert.equal(r.json && r.json.error && r.json.error.code, code, `${what}: ${r.text}`);
}

// Every route but /health, with a body where it takes one.
const ROUTES = [
  ['GET', '/api/v1/params?path=/auth'],
  ['GET', pp('/auth/a')],
  ['GET', pp('/auth/a:1')],
  ['GET', pp('/auth/a', '/history')],
  ['PUT', pp('/auth/a'), { value: 'y', overwrite: true }],
  ['PUT', pp('/auth/new'), { value: 'y', type: 'String' }],
  ['DELETE', pp('/auth/a')],
  ['POST', pp('/auth/a', '/labels'), { labels: ['x'] }],
  ['DELETE', pp('/auth/a', '/labels'), { labels: ['x'] }],
  ['PUT', pp('/auth/a', '/tags'), { tags: { k: 'v' } }],
  ['DELETE', pp('/auth/a', '/tags'), { keys: ['k'] }],
  ['POST', pp('/auth/a', '/rollback'), { to_version: 1 }],
  ['GET', '/api/v1/admin/audit'],
  ['GET', '/api/v1/admin/audit/verify'],
  ['GET', '/api/v1/admin/tokens'],
  ['POST', '/api/v1/admin/tokens', { name: 'sneaky', scopes: ['admin'] }],
  ['DELETE', '/api/v1/admin/tokens/whoever'],
  ['GET', '/api/v1/config/runtime'],
  ['POST', '/api/v1/config/runtime?apply=true', { format: 'switchyard-config/1', params: [] }],
  ['GET', '/api/v1/watch?prefix=/auth'],
];
const READS = ROUTES.filter(([m, p]) => m === 'GET' && !p.includes('/admin/') && !p.includes('/config/'));
const WRITES = ROUTES.filter(([m, p]) => m !== 'GET' && p.startsWith('/api/v1/params'));
const ADMIN = ROUTES.filter(([, p]) => p.includes('/admin/') || p.includes('/config/'));

async function call(route, tok) {
  const [m, p, b] = route;
  if (p.startsWith('/api/v1/watch')) {
    const s = await openSSE(S, p, { token: tok === undefined ? undefined : tok });
    s.close();
    let json = null;
    try { json = JSON.parse(s.body); } catch { /* */ }
    return { status: s.status, json, text: s.body };
  }
  return api(S, m, p, b, tok);
}

async function unchanged() {
  const g = await api(S, 'GET', pp('/auth/a'));
  assert.equal(g.status, 200, `the parameter was touched: ${g.text}`);
  assert.equal(g.json.version, 1);
  assert.deepEqual(g.json.labels, []);
  assert.deepEqual(g.json.tags, {});
  assert.equal((await api(S, 'GET', pp('/auth/new'))).status, 404);
  const t = await api(S, 'GET', '/api/v1/admin/tokens');
  assert.ok(!t.json.tokens.some((x) => x.name === 'sneaky'), 'a token was created without authority');
}

describe('health', () => {
  it('needs no token and says who it is', async () => {
    const r = await api(S, 'GET', '/health', undefined, null);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'ok');
    assert.match(r.json.version, /^\d+\.\d+\.\d+/);
    assert.equal(r.json.store, PG_BASE ? 'postgres' : 'sqlite');
    assert.ok(Number.isInteger(r.json.uptime_s) && r.json.uptime_s >= 0, `uptime_s: ${r.text}`);
    const bad = await api(S, 'GET', '/health', undefined, 'not-a-token');
    assert.equal(bad.status, 200, '/health ignores a bad token');
  });
});

describe('authentication', () => {
  for (const route of ROUTES) {
    it(`${route[0]} ${route[1]} without a token → 401`, async () => {
      assertCode(await call(route, null), 401, 'Unauthenticated', 'no token');
      await unchanged();
    });
  }

  it('bad and malformed credentials → 401 on every route', async () => {
    const headers = [
      { Authorization: 'Bearer wrong-token' },
      { Authorization: `Bearer ${S.token}x` },
      { Authorization: `Bearer ${S.token.slice(0, -1)}` },
      { Authorization: 'Bearer ' },
      { Authorization: 'Bearer' },
      { Authorization: `Basic ${Buffer.from(`admin:${S.token}`).toString('base64')}` },
      { Authorization: S.token },
      { Authorization: `Token ${S.token}` },
    ];
    for (const route of ROUTES.filter(([, p]) => !p.startsWith('/api/v1/watch'))) {
      for (const h of headers) {
        const r = await api(S, route[0], route[1], route[2], null, h);
        assertCode(r, 401, 'Unauthenticated', `${route[0]} ${route[1]} with ${JSON.stringify(h)}`);
      }
    }
    const w = await openSSE(S, '/api/v1/watch?prefix=/auth', { token: 'wrong-token' });
    w.close();
    assert.equal(w.status, 401);
    await unchanged();
  });
});

describe('scopes', () => {
  let reader;
  let writer;
  before(async () => {
    reader = await mkToken('reader', ['read']);
    writer = await mkToken('writer', ['write']);
  });

  it('read scope can GET and watch but not write (403 AccessDenied)', async () => {
    for (const route of READS) {
      const r = await call(route, reader);
      assert.equal(r.status, 200, `${route[0]} ${route[1]} as reader: ${r.status} ${r.text}`);
    }
    for (const route of [...WRITES, ...ADMIN]) {
      assertCode(await call(route, reader), 403, 'AccessDenied', `${route[0]} ${route[1]} as reader`);
    }
    await unchanged();
  });

  it('write scope can write but not administer', async () => {
    for (const route of READS) {
      const r = await call(route, writer);
      assert.equal(r.status, 200, `${route[0]} ${route[1]} as writer: ${r.status} ${r.text}`);
    }
    for (const route of ADMIN) {
      assertCode(await call(route, writer), 403, 'AccessDenied', `${route[0]} ${route[1]} as writer`);
    }
    const r = await api(S, 'POST', '/api/v1/admin/tokens', { name: 'w2', scopes: ['read'] }, writer);
    assertCode(r, 403, 'AccessDenied', 'writer creating a token');
    await unchanged();
    const w = await api(S, 'PUT', pp('/auth/bywriter'), { value: 'w', type: 'String' }, writer);
    assert.equal(w.status, 200, w.text);
    const g = await api(S, 'GET', pp('/auth/bywriter'), undefined, reader);
    assert.equal(g.json.last_modified_user, 'writer');
  });

  it('a reader cannot decrypt by asking', async () => {
    const w = await api(S, 'PUT', pp('/auth/sec'), { value: 'classified-77', type: 'SecureString' }, writer);
    assert.equal(w.status, 200, w.text);
    const r = await api(S, 'GET', pp('/auth/sec') + '?decrypt=true', undefined, reader);
    assert.ok(!r.text.includes('classified-77'), `a read token got the plaintext: ${r.status} ${r.text}`);
  });

  it('admin can create, list and revoke tokens', async () => {
    const tmp = await mkToken('temp-admin', ['admin']);
    const other = await mkToken('made-by-temp', ['read'], tmp);
    let r = await api(S, 'GET', '/api/v1/admin/tokens');
    assert.equal(r.status, 200, r.text);
    const names = r.json.tokens.map((t) => t.name);
    for (const n of ['reader', 'writer', 'temp-admin', 'made-by-temp']) assert.ok(names.includes(n), `${n} missing from ${r.text}`);
    for (const t of r.json.tokens) {
      assert.ok(Array.isArray(t.scopes), r.text);
      assert.equal(typeof t.created, 'string');
      assert.ok('revoked' in t);
    }
    // never the secret nor its hash
    for (const secret of [S.token, reader, writer, tmp, other]) {
      assert.ok(!r.text.includes(secret), 'token list contains a token secret');
      assert.ok(!r.text.includes(sha256hex(secret)), 'token list contains a token hash');
      assert.ok(!r.text.toLowerCase().includes(sha256hex(secret).toUpperCase().toLowerCase()));
    }
    for (const t of r.json.tokens) {
      for (const k of Object.keys(t)) assert.ok(!/token|hash|secret/i.test(k), `token list has field ${k}`);
    }
    // duplicate and bad requests
    assertCode(await api(S, 'POST', '/api/v1/admin/tokens', { name: 'reader', scopes: ['read'] }), 409, 'TokenAlreadyExists', 'duplicate');
    assertCode(await api(S, 'POST', '/api/v1/admin/tokens', { name: 'x1', scopes: ['root'] }), 400, 'ValidationException', 'unknown scope');
    assertCode(await api(S, 'POST', '/api/v1/admin/tokens', { scopes: ['read'] }), 400, 'ValidationException', 'no name');
    assertCode(await api(S, 'POST', '/api/v1/admin/tokens', { name: 'x2', scopes: 'read' }), 400, 'ValidationException', 'scopes not a list');
    // revoke
    r = await api(S, 'DELETE', '/api/v1/admin/tokens/made-by-temp');
    assert.equal(r.status, 200, r.text);
    assertFields(r.json, { revoked: 'made-by-temp' });
    assertCode(await api(S, 'GET', pp('/auth/a'), undefined, other), 401, 'Unauthenticated', 'revoked token');
    r = await api(S, 'GET', '/api/v1/admin/tokens');
    const rev = r.json.tokens.find((t) => t.name === 'made-by-temp');
    assert.ok(rev && rev.revoked, `revoked token should be marked: ${JSON.stringify(rev)}`);
    assert.ok(!r.json.tokens.find((t) => t.name === 'reader').revoked);
    assertCode(await api(S, 'DELETE', '/api/v1/admin/tokens/no-such-token'), 404, 'TokenNotFound', 'revoke unknown');
    r = await api(S, 'DELETE', '/api/v1/admin/tokens/temp-admin');
    assert.equal(r.status, 200, r.text);
    assertCode(await api(S, 'GET', '/api/v1/admin/tokens', undefined, tmp), 401, 'Unauthenticated', 'revoked admin');
  });

  it('tokens and revocations survive a restart; secrets never reach the log', async () => {
    const keep = await mkToken('survivor', ['read']);
    const gone = await mkToken('casualty', ['read']);
    assert.equal((await api(S, 'DELETE', '/api/v1/admin/tokens/casualty')).status, 200);
    await S.restart();
    assert.equal((await api(S, 'GET', pp('/auth/a'), undefined, keep)).status, 200);
    assertCode(await api(S, 'GET', pp('/auth/a'), undefined, gone), 401, 'Unauthenticated', 'revoked after restart');
    assertCode(await api(S, 'PUT', pp('/auth/a'), { value: 'z', overwrite: true }, keep), 403, 'AccessDenied', 'scope after restart');
    for (const secret of [keep, gone, reader, writer]) {
      assert.ok(!S.log.includes(secret), 'a token secret was written to the server log');
      assert.ok(!S.stdout.includes(secret), 'a token secret was written to stdout');
    }
  });
});

describe('the first admin token', () => {
  it('without SWITCHYARD_ADMIN_TOKEN, DATA/admin.token is made with mode 0600 and works', async () => {
    const T = await startServer({ token: null });
    try {
      const f = path.join(T.dataDir, 'admin.token');
      assert.ok(fs.existsSync(f), `${f} does not exist`);
      const st = fs.statSync(f);
      assert.equal(st.mode & 0o777, 0o600, `mode is ${(st.mode & 0o777).toString(8)}`);
      const tok = fs.readFileSync(f, 'utf8').trim();
      assert.ok(tok.length >= 16, 'admin token too short');
      let r = await api(T, 'PUT', pp('/first/a'), { value: 'x', type: 'String' }, tok);
      assert.equal(r.status, 200, r.text);
      r = await api(T, 'GET', '/api/v1/admin/tokens', undefined, tok);
      assert.equal(r.status, 200, r.text);
      assert.ok(!r.text.includes(tok));
      assertCode(await api(T, 'GET', pp('/first/a'), undefined, 'x' + tok), 401, 'Unauthenticated', 'near miss');
      // a restart keeps the same admin credential working
      await T.restart();
      const tok2 = fs.readFileSync(f, 'utf8').trim();
      assert.equal((fs.statSync(f).mode & 0o777), 0o600);
      r = await api(T, 'GET', pp('/first/a'), undefined, tok);
      assert.equal(r.status, 200, `the admin token from the first start no longer works: ${r.text}`);
      assert.equal(tok2, tok, 'admin.token was rewritten on restart');
    } finally {
      await T.cleanup();
    }
  });

  it('with SWITCHYARD_ADMIN_TOKEN, that token is admin and others are not', async () => {
    const r = await api(S, 'GET', '/api/v1/admin/audit?limit=1');
    assert.equal(r.status, 200, r.text);
  });
});

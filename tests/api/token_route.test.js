// token_route.test.js — a token's default gateway route: set at creation, listed, changed,
// checked as a parameter name (refusals name the field), audited, and kept across a restart.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api } = require('./helpers');

let S;
before(async () => { S = await startServer(); });
after(async () => { if (S) await S.cleanup(); });

const TOKENS = '/api/v1/admin/tokens';
const listed = async (name) => {
  const r = await api(S, 'GET', TOKENS);
  assert.equal(r.status, 200, r.text);
  return r.json.tokens.find((t) => t.name === name);
};

function assertRefused(r, field) {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.code, 'ValidationException', r.text);
  assert.match(r.json.error.message, new RegExp(`^${field}`), r.text);
}

it('a token made with a route shows it; one without shows none', async () => {
  let r = await api(S, 'POST', TOKENS, { name: 'routed', scopes: ['read'], route: '/tr/routes/a' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.route, '/tr/routes/a');
  assert.equal(typeof r.json.token, 'string');
  r = await api(S, 'POST', TOKENS, { name: 'unrouted', scopes: ['read'] });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.route, undefined);
  r = await api(S, 'POST', TOKENS, { name: 'empty-route', scopes: ['read'], route: '' });
  assert.equal(r.status, 201, r.text);
  r = await api(S, 'POST', TOKENS, { name: 'null-route', scopes: ['read'], route: null });
  assert.equal(r.status, 201, r.text);

  assert.equal((await listed('routed')).route, '/tr/routes/a');
  for (const n of ['unrouted', 'empty-route', 'null-route']) assert.equal((await listed(n)).route, undefined, n);
});

it('a bad route is refused naming the field, and makes no token', async () => {
  for (const route of ['tr/no-slash', '/tr/bad*char', '/tr//double', '/' + 'x'.repeat(1100), 42, ['/a']]) {
    const r = await api(S, 'POST', TOKENS, { name: 'bad-route', scopes: ['read'], route });
    assertRefused(r, 'route');
  }
  assert.equal(await listed('bad-route'), undefined);
});

it('the audit record of a token create names the route, never the secret', async () => {
  const r = await api(S, 'POST', TOKENS, { name: 'audited-route', scopes: ['read'], route: '/tr/routes/audited' });
  assert.equal(r.status, 201, r.text);
  const a = await api(S, 'GET', '/api/v1/admin/audit?limit=5');
  assert.equal(a.status, 200, a.text);
  const rec = a.json.records.find((x) => x.action === 'token.create' && x.name === 'audited-route');
  assert.ok(rec, a.text);
  assert.match(rec.detail, /route=\/tr\/routes\/audited/);
  assert.ok(!a.text.includes(r.json.token));
});

it('PATCH sets, changes and clears a route; refusals name the field', async () => {
  let r = await api(S, 'PATCH', `${TOKENS}/unrouted`, { route: '/tr/routes/b' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { name: 'unrouted', route: '/tr/routes/b' });
  assert.equal((await listed('unrouted')).route, '/tr/routes/b');
  r = await api(S, 'PATCH', `${TOKENS}/empty-route`, { route: '/tr/routes/c' });
  assert.equal(r.status, 200, r.text);
  r = await api(S, 'PATCH', `${TOKENS}/empty-route`, { route: '' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { name: 'empty-route' });
  assert.equal((await listed('empty-route')).route, undefined);

  assertRefused(await api(S, 'PATCH', `${TOKENS}/unrouted`, { route: 'nope' }), 'route');
  assertRefused(await api(S, 'PATCH', `${TOKENS}/unrouted`, {}), 'route');
  assert.equal((await listed('unrouted')).route, '/tr/routes/b');
  r = await api(S, 'PATCH', `${TOKENS}/no-such-token`, { route: '/tr/x' });
  assert.equal(r.status, 404, r.text);
  assert.equal(r.json.error.code, 'TokenNotFound');
  r = await api(S, 'PATCH', '/api/v1/admin/keys/whoever', { route: '/tr/x' });
  assert.equal(r.status, 405, r.text);

  const a = await api(S, 'GET', '/api/v1/admin/audit?limit=5');
  const rec = a.json.records.find((x) => x.action === 'token.route' && x.name === 'empty-route');
  assert.ok(rec, a.text);
  assert.equal(rec.detail, 'route=');
});

it('routes survive a restart', async () => {
  await S.restart();
  assert.equal((await listed('routed')).route, '/tr/routes/a');
  assert.equal((await listed('unrouted')).route, '/tr/routes/b');
  assert.equal((await listed('empty-route')).route, undefined);
  assert.equal((await listed('null-route')).route, undefined);
});

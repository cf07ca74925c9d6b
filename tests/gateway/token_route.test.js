// token_route.test.js — a token's default route: its requests take it without a header, the
// X-Switchyard-Route header still wins, a token without one gets /switchyard/routes/default,
// and a change of a token's route is seen by its very next request.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

const ROUTE_A = '/gw/tokroute/a';
const ROUTE_B = '/gw/tokroute/b';

let G;
let S;
let simA;
let simB;
let routed; // a token whose default route is ROUTE_A
let plain; // a token without a default route

async function mkToken(name, route) {
  const body = { name, scopes: ['read'] };
  if (route !== undefined) body.route = route;
  const r = await H.api(S, 'POST', '/api/v1/admin/tokens', body);
  assert.equal(r.status, 201, r.text);
  return r.json.token;
}

before(async () => {
  G = await H.startGateway({ sims: 2 });
  S = G.S;
  [simA, simB] = G.sims;
  await H.putProvider(S, 'alpha', H.openaiDoc(simA));
  await H.putProvider(S, 'beta', H.openaiDoc(simB));
  await H.putRoute(S, ROUTE_A, { provider: 'alpha' });
  await H.putRoute(S, ROUTE_B, { provider: 'beta' });
  routed = await mkToken('tokroute-a', ROUTE_A);
  plain = await mkToken('tokroute-plain');
});
after(async () => { if (G) await G.cleanup(); });

const ask = (token, headers = {}) => H.chat(S, H.chatBody('which way'), { token, headers });

it('a token with a route is served by that route without any header', async () => {
  const n = simA.stats().by_format.openai || 0;
  const r = await ask(routed);
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'alpha', route: ROUTE_A });
  assert.equal(r.json.choices[0].message.content, 'sim-openai: which way');
  assert.equal(simA.stats().by_format.openai, n + 1);
});

it('the X-Switchyard-Route header still wins over the token\'s route', async () => {
  let r = await ask(routed, { 'X-Switchyard-Route': ROUTE_B });
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'beta', route: ROUTE_B });
  // an empty header is no header
  r = await ask(routed, { 'X-Switchyard-Route': '' });
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'alpha', route: ROUTE_A });
});

it('a token without a route gets the default route', async () => {
  // no default document: the built-in stub
  let r = await ask(plain);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('x-switchyard-provider'), 'stub');
  await H.putRoute(S, H.DEFAULT_ROUTE, { provider: 'beta' });
  r = await ask(plain);
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'beta', route: H.DEFAULT_ROUTE });
  // the admin token has no route either
  r = await ask(S.token);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('x-switchyard-provider'), 'beta');
  // and the routed token is still not sent there
  r = await ask(routed);
  assert.equal(r.headers.get('x-switchyard-provider'), 'alpha');
});

it('a change of a token\'s route is seen by its next request; a missing route document is 404', async () => {
  let p = await H.api(S, 'PATCH', '/api/v1/admin/tokens/tokroute-plain', { route: ROUTE_A });
  assert.equal(p.status, 200, p.text);
  let r = await ask(plain);
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'alpha', route: ROUTE_A });

  const early = await mkToken('tokroute-early', '/gw/tokroute/not-yet');
  r = await ask(early);
  H.assertOpenAIError(r, 404, 'invalid_request_error', 'not-yet');
  await H.putRoute(S, '/gw/tokroute/not-yet', { provider: 'beta' });
  r = await ask(early);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('x-switchyard-provider'), 'beta');

  p = await H.api(S, 'PATCH', '/api/v1/admin/tokens/tokroute-plain', { route: null });
  assert.equal(p.status, 200, p.text);
  r = await ask(plain);
  assert.equal(r.headers.get('x-switchyard-provider'), 'beta'); // the default route again
});

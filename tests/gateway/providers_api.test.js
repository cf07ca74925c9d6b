// providers_api.test.js — runbook 001's provider API (/api/v1/providers...): the listing and its
// jq filters, test-connection and preflight probes, activation of the default route and its
// rollback, status and windowed metrics, each checked against what the simulators received.
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

const SECRET = 'sk-provapi-0123456789-never-shown';
const KEY_PARAM = '/gw/prov/keyed/api-key';
const MISSING_PARAM = '/gw/prov/missing/api-key';

let G;
let S;
let simA; // alpha
let simB; // keyed (needs the key)
let simC; // flaky (its breaker opens after 2 failures)
let simD; // metered

before(async () => {
  G = await H.startGateway({ sims: 4, simOpts: [{}, { keys: { openai: SECRET } }, {}, {}] });
  S = G.S;
  [simA, simB, simC, simD] = G.sims;
  await H.putProvider(S, 'alpha', H.openaiDoc(simA, {
    models: ['sim-gpt', 'sim-gpt-mini'],
    retry: { max_attempts: 3, base_ms: 10, max_ms: 40 },
  }));
  await H.putSecret(S, KEY_PARAM, SECRET);
  await H.putProvider(S, 'keyed', H.openaiDoc(simB, { credentials: KEY_PARAM }));
  await H.putProvider(S, 'nokey', H.openaiDoc(simB, { credentials: MISSING_PARAM }));
  await H.putProvider(S, 'closed', { ...H.openaiDoc(simA), base_url: 'http://127.0.0.1:1/v1' });
  await H.putProvider(S, 'flaky', H.openaiDoc(simC, {
    breaker: { consecutive_failures: 2, error_rate_percent: 100, min_requests: 1000, window_ms: 60000, cooldown_ms: 600000, half_open_max: 1 },
  }));
  await H.putProvider(S, 'metered', H.openaiDoc(simD, { prices: { input_per_1k: 1, output_per_1k: 1, per_image: 0 } }));
  await H.putProvider(S, 'idle', H.openaiDoc(simD)); // never called nor probed
  await H.putRoute(S, '/gw/prov/flaky', { provider: 'flaky' });
  await H.putRoute(S, '/gw/prov/metered', { provider: 'metered' });
});
after(async () => { if (G) await G.cleanup(); });
beforeEach(() => { for (const s of G.sims) s.reset(); });

const PV = '/api/v1/providers';
const get = (p, token) => H.api(S, 'GET', p, undefined, token);
const post = (p, body, token) => H.api(S, 'POST', p, body, token);
const calls = (sim) => sim.stats().by_format.openai;

/* What jq's `.providers[] | {a, b}` prints, as an array. */
const pick = (json, ...keys) => json.providers.map((p) => Object.fromEntries(keys.map((k) => [k, p[k]])));

/* The native error shape with its status and code. */
function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.ok(r.json && r.json.error, r.text);
  assert.equal(r.json.error.code, code, r.text);
  assert.equal(typeof r.json.error.message, 'string');
  return r.json.error.message;
}

async function routeDoc() {
  const r = await get(H.pp(H.DEFAULT_ROUTE));
  if (r.status === 404) return { version: 0, doc: null };
  assert.equal(r.status, 200, r.text);
  return { version: r.json.version, doc: JSON.parse(r.json.value) };
}

describe('GET /api/v1/providers', () => {
  it('lists every document and the built-in stub, untested, the stub active without a default route', async () => {
    const r = await get(PV);
    assert.equal(r.status, 200, r.text);
    const names = r.json.providers.map((p) => p.name);
    for (const n of ['alpha', 'keyed', 'nokey', 'closed', 'flaky', 'metered', 'idle', 'stub']) assert.ok(names.includes(n), `${n} in ${names}`);
    // runbook: jq '.providers[] | {name, connection_status}'
    for (const e of pick(r.json, 'name', 'connection_status')) assert.equal(e.connection_status, 'untested', JSON.stringify(e));
    // runbook: jq '.active_provider'
    assert.equal(r.json.active_provider, 'stub');
    assert.equal(r.json.active_model, null);
    const by = Object.fromEntries(r.json.providers.map((p) => [p.name, p]));
    assert.deepEqual(by.alpha.models, ['sim-gpt', 'sim-gpt-mini']);
    assert.equal(by.alpha.type, 'openai');
    assert.equal(by.alpha.base_url, `${simA.url}/v1`);
    assert.equal(by.alpha.credentials, null);
    assert.equal(by.alpha.breaker, 'closed');
    assert.ok(by.alpha.version >= 1);
    assert.equal(by.keyed.credentials, KEY_PARAM, 'the SecureString\'s name');
    assert.equal(by.stub.type, 'stub');
    assert.equal(by.stub.version, 0);
    assert.deepEqual(r.json.providers.filter((p) => p.is_active).map((p) => p.name), ['stub']);
    assert.ok(!r.text.includes(SECRET), 'never the key itself');
  });

  it('methods other than GET are 405; unknown subpaths 404; bad names 400', async () => {
    assertError(await post(PV, {}), 405, 'MethodNotAllowed');
    assertError(await get(`${PV}/alpha/test-connection`), 405, 'MethodNotAllowed');
    assertError(await post(`${PV}/alpha/status`), 405, 'MethodNotAllowed');
    assertError(await H.api(S, 'DELETE', `${PV}/alpha/activate`), 405, 'MethodNotAllowed');
    assertError(await get(`${PV}/alpha`), 404, 'NotFound');
    assertError(await get(`${PV}/alpha/bogus`), 404, 'NotFound');
    assertError(await get(`${PV}/bad!name/status`), 400, 'ValidationException');
    const m = assertError(await get(`${PV}/ghost/status`), 404, 'ProviderNotFound');
    assert.match(m, /provider ghost does not exist; known providers: .*alpha.*stub/);
  });

  it('a read token may list but not probe or activate (write: a probe is a real call)', async () => {
    const read = (await H.api(S, 'POST', '/api/v1/admin/tokens', { name: 'provapi-reader', scopes: ['read'] })).json.token;
    assert.equal((await get(PV, read)).status, 200);
    assert.equal((await get(`${PV}/alpha/status`, read)).status, 200);
    assertError(await post(`${PV}/alpha/test-connection`, undefined, read), 403, 'AccessDenied');
    assertError(await post(`${PV}/alpha/activate`, undefined, read), 403, 'AccessDenied');
    assert.equal(calls(simA), 0);
  });
});

describe('POST /api/v1/providers/{p}/test-connection', () => {
  it('a real minimal call to that provider alone: success, status, latency, one call on its sim', async () => {
    const r = await post(`${PV}/alpha/test-connection`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.success, true, r.text);
    assert.equal(r.json.provider, 'alpha');
    assert.equal(r.json.model, 'sim-gpt');
    assert.equal(r.json.status, 200);
    assert.equal(r.json.error, null);
    assert.equal(typeof r.json.latency_ms, 'number');
    assert.ok(r.json.latency_ms >= 0);
    assert.equal(calls(simA), 1);
    const last = simA.stats().last.openai;
    assert.equal(last.body.max_tokens, 1);
    assert.deepEqual(last.body.messages, [{ role: 'user', content: 'ping' }]);
    // the runbook's script greps the answer for "success"
    assert.ok(r.text.includes('success'));
  });

  it('the body\'s model is the one asked for; the credentials reach the provider', async () => {
    let r = await post(`${PV}/alpha/test-connection`, { model: 'sim-gpt-mini' });
    assert.equal(r.json.success, true, r.text);
    assert.equal(r.json.model, 'sim-gpt-mini');
    assert.equal(simA.stats().last.openai.model, 'sim-gpt-mini');
    r = await post(`${PV}/keyed/test-connection`);
    assert.equal(r.json.success, true, r.text);
    assert.equal(calls(simB), 1);
    assert.ok(!r.text.includes(SECRET));
  });

  it('a failure: success false with the error, exactly one call (no retry, no fallback)', async () => {
    await H.putRoute(S, H.DEFAULT_ROUTE, { provider: 'alpha', fallbacks: ['keyed', 'stub'] });
    simA.set({ fail_next: 1, fail_status: 503 });
    const r = await post(`${PV}/alpha/test-connection`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.success, false, r.text);
    assert.ok(r.json.status >= 400, `status ${r.json.status}`);
    assert.equal(typeof r.json.error, 'string');
    assert.ok(r.json.error.length > 0);
    assert.equal(calls(simA), 1, 'alpha has 3 attempts on routes; a probe makes one');
    assert.equal(calls(simB), 0, 'no fallback');
  });

  it('a provider at a closed port fails fast with an upstream-facing status', async () => {
    const r = await post(`${PV}/closed/test-connection`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.success, false);
    assert.ok([502, 503, 504].includes(r.json.status), r.text);
    assert.ok(r.json.error);
    assert.equal(calls(simA) + calls(simB), 0);
  });

  it('an unknown provider is 404 naming the known ones; a bad body 400', async () => {
    const m = assertError(await post(`${PV}/nosuch/test-connection`), 404, 'ProviderNotFound');
    assert.match(m, /^provider nosuch does not exist; known providers: /);
    for (const n of ['alpha', 'keyed', 'stub']) assert.ok(m.includes(n), m);
    assertError(await post(`${PV}/alpha/test-connection`, { modle: 'x' }), 400, 'ValidationException');
    assertError(await post(`${PV}/alpha/test-connection`, '{"model":'), 400, 'ValidationException');
    assert.equal(calls(simA), 0);
  });
});

describe('POST /api/v1/providers/{p}/preflight', () => {
  const byName = (j) => Object.fromEntries(j.checks.map((c) => [c.name, c]));

  it('every check passes for a reachable provider with readable credentials', async () => {
    const r = await post(`${PV}/keyed/preflight`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.provider, 'keyed');
    assert.deepEqual(r.json.checks.map((c) => c.name), ['document', 'credentials', 'model', 'connection', 'budget']);
    assert.equal(r.json.ready, true, r.text);
    const c = byName(r.json);
    for (const k of Object.keys(c)) assert.equal(c[k].pass, true, k);
    assert.ok(c.credentials.detail.includes(KEY_PARAM));
    assert.equal(typeof c.connection.latency_ms, 'number');
    assert.equal(c.budget.detail, 'no spending limit applies');
    assert.equal(calls(simB), 1);
    assert.ok(!r.text.includes(SECRET), 'the secret is never in the answer');
  });

  it('missing credentials: that check fails naming the parameter, not ready, no secret', async () => {
    const r = await post(`${PV}/nokey/preflight`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.ready, false);
    const c = byName(r.json);
    assert.equal(c.document.pass, true);
    assert.equal(c.credentials.pass, false);
    assert.ok(c.credentials.detail.includes(MISSING_PARAM), c.credentials.detail);
    assert.ok(!r.text.includes(SECRET));
  });

  it('no credentials needed; a model the provider does not list fails the model check', async () => {
    let r = await post(`${PV}/alpha/preflight`);
    assert.equal(r.json.ready, true, r.text);
    assert.equal(byName(r.json).credentials.detail, 'none needed');
    r = await post(`${PV}/alpha/preflight`, { model: 'gpt-nope' });
    assert.equal(r.json.ready, false);
    assert.equal(byName(r.json).model.pass, false);
    assert.ok(byName(r.json).model.detail.includes('gpt-nope'));
    r = await post(`${PV}/stub/preflight`);
    assert.equal(r.json.ready, true, r.text);
    assert.equal(byName(r.json).document.pass, true);
  });

  it('an unreachable provider is not ready; unknown is 404', async () => {
    const r = await post(`${PV}/closed/preflight`);
    assert.equal(r.json.ready, false);
    assert.equal(byName(r.json).connection.pass, false);
    assertError(await post(`${PV}/nosuch/preflight`), 404, 'ProviderNotFound');
  });
});

describe('POST /api/v1/providers/{p}/activate', () => {
  it('activate keyed: the default route\'s provider, strategy dropped, fallbacks kept; chat goes there', async () => {
    await H.putString(S, '/gw/prov/strategy', 'alpha');
    await H.putRoute(S, H.DEFAULT_ROUTE, { strategy: '/gw/prov/strategy', provider: 'stub', fallbacks: ['stub'], deadline_ms: 30000 });
    let l = await get(PV);
    assert.equal(l.json.active_provider, 'alpha', 'the strategy parameter picks the primary');
    const before = await routeDoc();
    const r = await post(`${PV}/keyed/activate`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { activated: 'keyed', previous: 'alpha', model: null, route: H.DEFAULT_ROUTE, version: before.version + 1 });
    const after = await routeDoc();
    assert.deepEqual(after.doc, { provider: 'keyed', fallbacks: ['stub'], deadline_ms: 30000 });
    l = await get(PV);
    assert.equal(l.json.active_provider, 'keyed');
    assert.deepEqual(pick(l.json, 'name', 'is_active').filter((p) => p.is_active), [{ name: 'keyed', is_active: true }]);
    const c = await H.chat(S, { messages: [{ role: 'user', content: 'test' }] });
    assert.equal(c.status, 200, c.text);
    H.assertGatewayHeaders(c.headers, { provider: 'keyed' });
    assert.equal(calls(simB), 1);
  });

  it('activate without a body is the rollback; the audit log shows the route write', async () => {
    const before = await routeDoc();
    const r = await post(`${PV}/alpha/activate`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.activated, 'alpha');
    assert.equal(r.json.previous, 'keyed');
    assert.equal(r.json.model, null);
    assert.equal(r.json.version, before.version + 1);
    assert.equal((await get(PV)).json.active_provider, 'alpha');
    const c = await H.chat(S, { messages: [{ role: 'user', content: 'rollback test' }] });
    H.assertGatewayHeaders(c.headers, { provider: 'alpha' });
    const a = await get('/api/v1/admin/audit?limit=5');
    assert.equal(a.status, 200, a.text);
    const rec = a.json.records.find((x) => x.name === H.DEFAULT_ROUTE && x.new_version === r.json.version);
    assert.ok(rec, JSON.stringify(a.json.records));
    assert.equal(rec.reason, 'activate alpha');
    assert.equal(rec.action, 'put');
  });

  it('an unknown provider is 404 naming the known ones, an unlisted model 400; nothing is written', async () => {
    const before = await routeDoc();
    const m = assertError(await post(`${PV}/ghost/activate`, { model: 'x' }), 404, 'ProviderNotFound');
    assert.match(m, /provider ghost does not exist; known providers: .*alpha.*keyed.*stub/);
    const m2 = assertError(await post(`${PV}/alpha/activate`, { model: 'gpt-nope' }), 400, 'ValidationException');
    assert.ok(m2.includes('gpt-nope') && m2.includes('sim-gpt') && m2.includes('sim-gpt-mini'), m2);
    assertError(await post(`${PV}/alpha/activate`, { model: 7 }), 400, 'ValidationException');
    assert.deepEqual(await routeDoc(), before, 'no new version');
  });

  // The route's optional "model" field: needs the route compiler that accepts it.
  it('activate with a model: the route asks the provider for it; a later activation without one drops it', async () => {
    let r = await post(`${PV}/alpha/activate`, { model: 'sim-gpt-mini' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.model, 'sim-gpt-mini');
    const l = await get(PV);
    assert.equal(l.json.active_provider, 'alpha');
    assert.equal(l.json.active_model, 'sim-gpt-mini');
    const c = await H.chat(S, { messages: [{ role: 'user', content: 'which model' }] });
    assert.equal(c.status, 200, c.text);
    assert.equal(simA.stats().last.openai.model, 'sim-gpt-mini');
    r = await post(`${PV}/alpha/activate`);
    assert.equal(r.status, 200, r.text);
    assert.equal((await routeDoc()).doc.model, undefined);
    assert.equal((await get(PV)).json.active_model, null);
  });
});

describe('GET /api/v1/providers/{p}/status', () => {
  it('online after successes; "no traffic yet" before any; unknown 404', async () => {
    await H.chat(S, H.chatBody('status'), { headers: { 'X-Switchyard-Route': '/gw/prov/metered' } });
    let r = await get(`${PV}/metered/status`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.provider, 'metered');
    assert.equal(r.json.status, 'online', r.text);
    assert.equal(r.json.breaker, 'closed');
    assert.ok(r.json.requests_5m >= 1);
    assert.equal(r.json.error_rate_5m, 0);
    assert.match(r.json.last_ok, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(r.json.last_error, null);
    r = await get(`${PV}/idle/status`);
    assert.equal(r.json.status, 'online');
    assert.equal(r.json.reason, 'no traffic yet');
    assert.equal(r.json.last_ok, null);
    assertError(await get(`${PV}/ghost/status`), 404, 'ProviderNotFound');
  });

  it('offline once its breaker opens (2 failures in a row); the listing says circuit_open', async () => {
    simC.set({ error_every: 1, fail_status: 500 });
    for (let i = 0; i < 2; i++) {
      const c = await H.chat(S, H.chatBody('down'), { headers: { 'X-Switchyard-Route': '/gw/prov/flaky' } });
      assert.ok(c.status >= 500, c.text);
    }
    const r = await get(`${PV}/flaky/status`);
    assert.equal(r.json.status, 'offline', r.text);
    assert.equal(r.json.breaker, 'open');
    assert.match(r.json.last_error, /^\d{4}-\d\d-\d\dT/);
    assert.equal(r.json.last_ok, null);
    const l = await get(PV);
    const e = pick(l.json, 'name', 'connection_status', 'is_active').find((p) => p.name === 'flaky');
    assert.deepEqual(e, { name: 'flaky', connection_status: 'circuit_open', is_active: false });
  });
});

describe('GET /api/v1/providers/{p}/metrics', () => {
  it('every window counts the requests and errors; latency in ms, cost per request', async () => {
    const r0 = await get(`${PV}/metered/metrics`);
    assert.equal(r0.status, 200, r0.text);
    const base = r0.json.metrics.since_start;
    for (let i = 0; i < 3; i++) {
      const c = await H.chat(S, H.chatBody('count me'), { headers: { 'X-Switchyard-Route': '/gw/prov/metered' } });
      assert.equal(c.status, 200, c.text);
    }
    simD.set({ fail_next: 1, fail_status: 500 });
    const f = await H.chat(S, H.chatBody('fail me'), { headers: { 'X-Switchyard-Route': '/gw/prov/metered' } });
    assert.ok(f.status >= 500);
    const r = await get(`${PV}/metered/metrics`);
    assert.equal(r.json.provider, 'metered');
    // runbook: jq ".metrics"
    const m = r.json.metrics;
    const FIELDS = ['cost_per_request', 'cost_usd', 'error_rate', 'errors', 'latency_ms', 'requests'];
    assert.deepEqual(Object.keys(m).sort(), ['1h', '1m', '5m', ...FIELDS, 'since_start'].sort());
    // the shape: {"metrics": {requests, errors, error_rate, latency_ms, cost_usd, cost_per_request}} (since start)
    for (const k of FIELDS) assert.deepEqual(m[k], m.since_start[k], k);
    for (const w of ['1m', '5m', '1h', 'since_start']) {
      const W = m[w];
      assert.deepEqual(Object.keys(W).sort(), ['cost_per_request', 'cost_usd', 'error_rate', 'errors', 'latency_ms', 'requests']);
      assert.equal(W.requests - base.requests, 4, `${w}: ${JSON.stringify(W)}`);
      assert.equal(W.errors - base.errors, 1, w);
      assert.ok(Math.abs(W.error_rate - W.errors / W.requests) < 1e-9, w);
      for (const q of ['p50', 'p95', 'p99']) assert.equal(typeof W.latency_ms[q], 'number');
      assert.ok(W.latency_ms.p50 <= W.latency_ms.p95 && W.latency_ms.p95 <= W.latency_ms.p99, w);
      assert.ok(W.cost_usd > 0, `${w} cost`);
      assert.ok(Math.abs(W.cost_per_request - W.cost_usd / W.requests) < 1e-9, w);
    }
    const z = (await get(`${PV}/idle/metrics`)).json.metrics['1m'];
    assert.deepEqual(z, { requests: 0, errors: 0, error_rate: 0, latency_ms: { p50: 0, p95: 0, p99: 0 }, cost_usd: 0, cost_per_request: 0 });
  });
});

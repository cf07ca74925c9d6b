// badinput.test.js — bad requests and bad providers: each ends in OpenAI's error shape with the
// status OpenAI would use, no provider sees a refused request, and the server stays healthy.
'use strict';

const { describe, it, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

let G;
let S;
let sim;
const ROUTE = '/gw/bad/route';

before(async () => {
  G = await H.startGateway({ sims: 1 });
  S = G.S;
  sim = G.sims[0];
  // every provider lists its models, so a model nobody lists has nowhere to go
  await H.putProvider(S, 'stub', { type: 'stub', models: ['stub-model'] });
  await H.putProvider(S, 'p', H.openaiDoc(sim, { models: ['sim-gpt', 'sim-gpt-mini'], timeouts_ms: { connect: 1000, first_byte: 2000, idle: 1000, total: 3000 } }));
  await H.putRoute(S, ROUTE, { provider: 'p' });
  await H.putRoute(S, H.DEFAULT_ROUTE, { provider: 'p' });
});
after(async () => { if (G) await G.cleanup(); });
beforeEach(() => sim.reset());
afterEach(async () => { await H.assertHealthy(S); });

const post = (body, headers = {}, p = '/v1/chat/completions') => H.gw(S, p, body, { headers: { 'X-Switchyard-Route': ROUTE, ...headers } });

describe('bad requests never reach a provider', () => {
  afterEach(() => assert.equal(sim.stats().total, 0, 'the provider saw a refused request'));

  it('malformed JSON → 400 invalid_request_error', async () => {
    for (const body of ['{"model":"sim-gpt","messages":[', 'not json at all', '{"model":"sim-gpt","messages":[{"role":"user","content":"x"}]}trailing', '']) {
      const r = await post(body);
      H.assertOpenAIError(r, 400, 'invalid_request_error', JSON.stringify(body));
      assert.ok(r.headers.get('x-request-id'), 'X-Request-Id on a refusal');
    }
  });

  it('a JSON body that is not a chat request → 400 naming the field', async () => {
    const cases = [
      [[1, 2], null],
      [{ model: 'sim-gpt' }, 'messages'],
      [{ model: 'sim-gpt', messages: [] }, 'messages'],
      [{ model: 'sim-gpt', messages: 'hello' }, 'messages'],
      [{ model: 'sim-gpt', messages: [{ role: 'user', content: 42 }] }, 'messages'],
      [{ model: 'sim-gpt', messages: [{ role: 'user', content: 'x' }], stream: 'yes' }, 'stream'],
    ];
    for (const [body, param] of cases) {
      const r = await post(body);
      const e = H.assertOpenAIError(r, 400, 'invalid_request_error', JSON.stringify(body));
      if (param) assert.ok((e.param || '').startsWith(param) || e.message.includes(param), `names ${param}: ${r.text}`);
    }
    const img = await post({ model: 'sim-gpt', n: 99, prompt: 'x' }, {}, '/v1/images/generations');
    H.assertOpenAIError(img, 400, 'invalid_request_error');
    const noPrompt = await post({ model: 'sim-gpt' }, {}, '/v1/images/generations');
    H.assertOpenAIError(noPrompt, 400, 'invalid_request_error');
  });

  it('a body past the gateway\'s 20 MiB limit → 413 in OpenAI shape', async () => {
    const big = JSON.stringify(H.chatBody('x'.repeat(21 << 20)));
    // node:http, not fetch: a server may answer before it has read the whole body
    const r = await H.api(S, 'POST', '/v1/chat/completions', big, undefined, { 'X-Switchyard-Route': ROUTE });
    H.assertOpenAIError(r, 413);
  });

  it('nesting depth 10,000 → 400', async () => {
    const deep = `{"model":"sim-gpt","messages":[{"role":"user","content":"x"}],"metadata":${'['.repeat(10000)}${']'.repeat(10000)}}`;
    H.assertOpenAIError(await post(deep), 400, 'invalid_request_error');
    const deepObj = `{"model":"sim-gpt","messages":[{"role":"user","content":"x"}],"metadata":${'{"a":'.repeat(10000)}1${'}'.repeat(10000)}}`;
    H.assertOpenAIError(await post(deepObj), 400, 'invalid_request_error');
  });

  it('an unknown route in X-Switchyard-Route → 404 in OpenAI shape', async () => {
    const r = await post(H.chatBody('x'), { 'X-Switchyard-Route': '/gw/no/such/route' });
    H.assertOpenAIError(r, 404);
    // a parameter that exists but is not a route
    await H.putString(S, '/gw/bad/not-a-route', 'gemini');
    H.assertOpenAIError(await post(H.chatBody('x'), { 'X-Switchyard-Route': '/gw/bad/not-a-route' }), [400, 404]);
    H.assertOpenAIError(await post(H.chatBody('x'), { 'X-Switchyard-Route': '/bad name/%00' }), [400, 404]);
  });

  it('a model no provider lists → 404 model_not_found', async () => {
    const r = await post({ model: 'no-such-model-anywhere', messages: [{ role: 'user', content: 'x' }] });
    const e = H.assertOpenAIError(r, 404);
    assert.equal(e.code, 'model_not_found');
  });

  it('no token → 401, a wrong token → 401, both in OpenAI shape', async () => {
    H.assertOpenAIError(await H.chat(S, H.chatBody('x'), { token: null }), 401);
    H.assertOpenAIError(await H.chat(S, H.chatBody('x'), { token: 'admin-nope' }), 401);
  });

});

it('a model another provider lists is mapped to this provider\'s default', async () => {
  const r = await post({ model: 'stub-model', messages: [{ role: 'user', content: 'map me' }] });
  assert.equal(r.status, 200, r.text);
  assert.equal(sim.stats().last.openai.body.model, 'sim-gpt');
  const r2 = await post({ model: 'sim-gpt-mini', messages: [{ role: 'user', content: 'listed' }] });
  assert.equal(r2.status, 200, r2.text);
  assert.equal(sim.stats().last.openai.body.model, 'sim-gpt-mini');
});

describe('bad providers → 502 in OpenAI shape', () => {
  for (const kind of ['html', 'json_error', 'truncated']) {
    it(`a 200 with ${kind}`, async () => {
      sim.set({ garbage: kind });
      const r = await post(H.chatBody(kind));
      const e = H.assertOpenAIError(r, 502);
      assert.ok(!e.message.includes('<html'), 'the provider\'s page is not passed through as the message');
      H.assertGatewayHeaders(r.headers, { provider: 'p' });
      assert.equal(sim.stats().total, 1);
    });
  }

  it('a body that never ends: the total timeout ends it (502 or 504)', async () => {
    sim.set({ garbage: 'endless' });
    const t0 = Date.now();
    const r = await post(H.chatBody('endless'));
    H.assertOpenAIError(r, [502, 504]);
    assert.ok(Date.now() - t0 < 15000);
  });

  it('a 50 MB answer is refused, not buffered without bound (502)', async () => {
    sim.set({ garbage: 'huge' });
    const r = await post(H.chatBody('huge'));
    H.assertOpenAIError(r, 502);
  });

  it('a provider that never answers: timeout → 504 or 502', async () => {
    sim.set({ hang: true });
    const r = await post(H.chatBody('hang'));
    H.assertOpenAIError(r, [502, 504]);
  });

  it('images: garbage from the provider is a 502 too', async () => {
    sim.set({ garbage: 'html' });
    const r = await post({ model: 'sim-gpt', prompt: 'x' }, {}, '/v1/images/generations');
    H.assertOpenAIError(r, 502);
  });

  it('after all of it the gateway still serves', async () => {
    const r = await post(H.chatBody('still here'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, 'sim-openai: still here');
  });
});

describe('bad configuration → a clear error, a fallback when there is one', () => {
  it('credentials that name no parameter: 502 naming them, no call made, the fallback serves', async () => {
    await H.putProvider(S, 'nokey', H.openaiDoc(sim, { models: ['sim-gpt'], credentials: '/gw/bad/missing-key' }));
    await H.putRoute(S, '/gw/bad/nokey', { provider: 'nokey' });
    const n = sim.stats().total;
    const r = await H.gw(S, '/v1/chat/completions', H.chatBody('x'), { headers: { 'X-Switchyard-Route': '/gw/bad/nokey' } });
    H.assertOpenAIError(r, 502);
    assert.match(r.json.error.message, /credentials \/gw\/bad\/missing-key/);
    assert.equal(sim.stats().total, n, 'a provider without its key is not called');
    await H.putRoute(S, '/gw/bad/nokey', { provider: 'nokey', fallbacks: ['p'] });
    const f = await H.gw(S, '/v1/chat/completions', H.chatBody('fell back'), { headers: { 'X-Switchyard-Route': '/gw/bad/nokey' } });
    assert.equal(f.status, 200, f.text);
    assert.equal(f.headers.get('x-switchyard-provider'), 'p');
    // once the key exists it is used, and never shown
    await H.putSecret(S, '/gw/bad/missing-key', 'sk-bad-input-secret-1234');
    await H.putRoute(S, '/gw/bad/nokey', { provider: 'nokey' });
    const ok = await H.gw(S, '/v1/chat/completions', H.chatBody('keyed'), { headers: { 'X-Switchyard-Route': '/gw/bad/nokey' } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(sim.stats().last.openai.headers.authorization, 'Bearer sk-bad-input-secret-1234');
    assert.ok(!S.log.includes('sk-bad-input-secret-1234'), 'the key is not in the log');
  });

  it('a route naming providers that have no document: 503 naming the route', async () => {
    await H.putRoute(S, '/gw/bad/ghosts', { provider: 'ghost', fallbacks: ['phantom'] });
    const r = await H.gw(S, '/v1/chat/completions', H.chatBody('x'), { headers: { 'X-Switchyard-Route': '/gw/bad/ghosts' } });
    H.assertOpenAIError(r, 503);
    assert.match(r.json.error.message, /\/gw\/bad\/ghosts/);
    assert.match(r.json.error.message, /ghost/);
  });

  it('a route header that names a document of another kind: 400', async () => {
    await H.putSecret(S, '/gw/bad/not-a-route', 'x');
    const r = await H.gw(S, '/v1/chat/completions', H.chatBody('x'), { headers: { 'X-Switchyard-Route': '/gw/bad/not-a-route' } });
    H.assertOpenAIError(r, 400);
    assert.match(r.json.error.message, /not a Route/);
  });
});

// client.test.js — the gateway through the real `openai` npm client: chat (whole and streamed,
// with usage), images, models, the /api/v1 alias, and the headers every answer carries.
'use strict';

const { it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { OpenAI } = require('openai');
const H = require('./helpers');

let G;
let S;
let sim;
let client;
const SIM_KEY = `sk-sim-${require('node:crypto').randomBytes(12).toString('hex')}`;

before(async () => {
  G = await H.startGateway({ sims: 1, simOpts: [{ keys: { openai: SIM_KEY } }] });
  S = G.S;
  sim = G.sims[0];
  client = new OpenAI({ baseURL: `${S.url}/v1`, apiKey: S.token, maxRetries: 0, timeout: 30000 });
});
after(async () => { if (G) await G.cleanup(); });
beforeEach(() => sim.reset());

it('with no documents at all, requests go to the built-in stub', async () => {
  const r = await H.chat(S, H.chatBody('anyone there?'));
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'stub' });
  assert.equal(r.json.object, 'chat.completion');
  assert.equal(typeof r.json.choices[0].message.content, 'string');
  assert.equal(sim.stats().total, 0, 'the stub makes no network call');
});

it('a default route to an openai provider, the key from a SecureString', async () => {
  await H.putSecret(S, '/gw/client/openai-key', SIM_KEY);
  await H.putProvider(S, 'simai', H.openaiDoc(sim, { models: ['sim-gpt', 'gpt-4o-mini'], credentials: '/gw/client/openai-key' }));
  await H.putRoute(S, H.DEFAULT_ROUTE, { provider: 'simai' });
  const r = await H.chat(S, H.chatBody('route me'));
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'simai', route: H.DEFAULT_ROUTE, attempts: 1 });
  assert.equal(sim.stats().last.openai.headers.authorization, `Bearer ${SIM_KEY}`);
});

it('openai client: non-streaming chat', async () => {
  sim.set({ usage: { prompt_tokens: 12, completion_tokens: 4 } });
  const { data, response } = await client.chat.completions.create({
    model: 'sim-gpt',
    messages: [{ role: 'system', content: 'be terse' }, { role: 'user', content: 'say hi' }],
  }).withResponse();
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.choices[0].message.role, 'assistant');
  assert.equal(data.choices[0].message.content, 'sim-openai: say hi');
  assert.equal(data.choices[0].finish_reason, 'stop');
  assert.deepEqual(
    { p: data.usage.prompt_tokens, c: data.usage.completion_tokens, t: data.usage.total_tokens },
    { p: 12, c: 4, t: 16 },
  );
  H.assertGatewayHeaders(response.headers, { provider: 'simai' });
  const up = sim.stats().last.openai;
  assert.equal(up.path, '/v1/chat/completions');
  assert.equal(up.body.model, 'sim-gpt');
  assert.deepEqual(up.body.messages.map((m) => m.role), ['system', 'user']);
});

it('openai client: streaming chat; the text concatenates; include_usage gives a last chunk with usage', async () => {
  sim.set({ chunks: 6, usage: { prompt_tokens: 3, completion_tokens: 6 } });
  const { data: stream, response } = await client.chat.completions.create({
    model: 'sim-gpt',
    messages: [{ role: 'user', content: 'stream this please' }],
    stream: true,
    stream_options: { include_usage: true },
  }).withResponse();
  assert.match(response.headers.get('content-type'), /^text\/event-stream/);
  H.assertGatewayHeaders(response.headers, { provider: 'simai' });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
  for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
  const text = chunks.map((c) => (c.choices[0] && c.choices[0].delta.content) || '').join('');
  assert.equal(text, 'sim-openai: stream this please');
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual({ p: last.usage.prompt_tokens, c: last.usage.completion_tokens, t: last.usage.total_tokens }, { p: 3, c: 6, t: 9 });
  assert.ok(chunks.slice(0, -1).every((c) => !c.usage), 'only the last chunk carries usage');
  assert.ok(chunks.some((c) => c.choices[0] && c.choices[0].finish_reason === 'stop'));
});

it('a stream without include_usage has no usage chunk and ends with [DONE]', async () => {
  const r = await H.chatStream(S, H.chatBody('no usage'));
  assert.equal(r.status, 200);
  assert.ok(r.done, `ends with [DONE]: ${r.text.slice(-300)}`);
  assert.equal(H.streamText(r.events), 'sim-openai: no usage');
  assert.ok(r.events.every((e) => !e.json || !e.json.usage));
});

it('openai client: images.generate', async () => {
  const { data, response } = await client.images.generate({ model: 'sim-gpt', prompt: 'a red fox', n: 2, size: '1024x1024' }).withResponse();
  assert.equal(data.data.length, 2);
  assert.match(data.data[0].url, /^https:\/\/sim\.invalid\//);
  H.assertGatewayHeaders(response.headers, { provider: 'simai' });
  assert.equal(sim.stats().by_path['/v1/images/generations'], 1);
  assert.equal(sim.stats().last.openai.body.prompt, 'a red fox');
  const b = await client.images.generate({ model: 'sim-gpt', prompt: 'inline', response_format: 'b64_json' });
  assert.equal(typeof b.data[0].b64_json, 'string');
  assert.ok(Buffer.from(b.data[0].b64_json, 'base64').subarray(1, 4).toString() === 'PNG');
});

it('images/edits with a data URL reaches the provider', async () => {
  const { PNG_B64 } = require('../sim/sim');
  const r = await H.gw(S, '/v1/images/edits', { model: 'sim-gpt', prompt: 'make it blue', image: `data:image/png;base64,${PNG_B64}` });
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'simai' });
  assert.ok(Array.isArray(r.json.data) && r.json.data.length >= 1);
  assert.equal(sim.stats().by_path['/v1/images/edits'], 1);
});

it('openai client: models.list answers a list', async () => {
  const page = await client.models.list();
  const ids = [];
  for await (const m of page) ids.push(m.id);
  assert.ok(ids.length > 0, 'some models');
});

it('POST /api/v1/chat/completions answers as /v1/chat/completions', async () => {
  const a = await H.gw(S, '/api/v1/chat/completions', H.chatBody('alias'));
  assert.equal(a.status, 200, a.text);
  H.assertGatewayHeaders(a.headers, { provider: 'simai', route: H.DEFAULT_ROUTE });
  assert.equal(a.json.choices[0].message.content, 'sim-openai: alias');
  const alt = new OpenAI({ baseURL: `${S.url}/api/v1`, apiKey: S.token, maxRetries: 0 });
  const c = await alt.chat.completions.create({ model: 'sim-gpt', messages: [{ role: 'user', content: 'alias client' }] });
  assert.equal(c.choices[0].message.content, 'sim-openai: alias client');
  const s = await H.chatStream(S, H.chatBody('alias stream'), { path: '/api/v1/chat/completions' });
  assert.ok(s.done);
  assert.equal(H.streamText(s.events), 'sim-openai: alias stream');
});

it('headers: X-Request-Id differs per request; X-Switchyard-Overhead-Ms leaves out the upstream time', async () => {
  sim.set({ latency_ms: 400 });
  const t0 = Date.now();
  const a = await H.chat(S, H.chatBody('one'));
  const took = Date.now() - t0;
  const b = await H.chat(S, H.chatBody('two'));
  assert.equal(a.status, 200);
  H.assertGatewayHeaders(a.headers);
  assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
  const ov = Number(a.headers.get('x-switchyard-overhead-ms'));
  assert.ok(took >= 400, `the request took ${took} ms`);
  assert.ok(ov < 300, `overhead ${ov} ms must not include the provider's 400 ms`);
});

it('errors carry the headers too, and a bearer token is required', async () => {
  const r = await H.chat(S, H.chatBody('x'), { token: null });
  H.assertOpenAIError(r, 401);
  const bad = await H.chat(S, '{"model":', {});
  H.assertOpenAIError(bad, 400, 'invalid_request_error');
  assert.ok(bad.headers.get('x-request-id'), 'X-Request-Id on an error');
  await assert.rejects(
    new OpenAI({ baseURL: `${S.url}/v1`, apiKey: 'not-a-token', maxRetries: 0 }).chat.completions.create({ model: 'sim-gpt', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e.status === 401,
  );
});

it('a token with only the read scope may call the gateway; evaluate alone may not', async () => {
  const mk = async (name, scopes) => (await H.api(S, 'POST', '/api/v1/admin/tokens', { name, scopes })).json.token;
  const reader = await mk('gw-reader', ['read']);
  const evalOnly = await mk('gw-eval', ['evaluate']);
  const ok = await new OpenAI({ baseURL: `${S.url}/v1`, apiKey: reader, maxRetries: 0 }).chat.completions.create({ model: 'sim-gpt', messages: [{ role: 'user', content: 'reader' }] });
  assert.equal(ok.choices[0].message.content, 'sim-openai: reader');
  const r = await H.chat(S, H.chatBody('x'), { token: evalOnly });
  H.assertOpenAIError(r, 403);
});

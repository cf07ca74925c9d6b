// gemini.test.js — the Gemini adapter through the simulator: OpenAI messages become Gemini's
// contents and systemInstruction, answers and usage come back in OpenAI's format, Gemini's
// errors in OpenAI's shape, and the API key goes upstream and nowhere else.
'use strict';

const { it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const H = require('./helpers');

const KEY = `AIzaSy${crypto.randomBytes(16).toString('hex')}`;
const KEY_PARAM = '/gw/gemini/api-key';
const ROUTE = '/gw/gemini/route';

let G;
let S;
let sim;
const seen = []; // every body and header value the gateway sent back, to look for the key in

before(async () => {
  G = await H.startGateway({ sims: 1, simOpts: [{ keys: { gemini: KEY } }] });
  S = G.S;
  sim = G.sims[0];
  await H.putSecret(S, KEY_PARAM, KEY);
  await H.putProvider(S, 'gemini', {
    type: 'gemini',
    base_url: `${sim.url}/v1beta`,
    models: ['gemini-2.0-flash', 'gemini-1.5-pro'],
    credentials: KEY_PARAM,
    prices: { input_per_1k: 0.000075, output_per_1k: 0.0003, per_image: 0.039 },
    timeouts_ms: { connect: 1000, first_byte: 10000, idle: 10000, total: 20000 },
    retry: { max_attempts: 1, base_ms: 10, max_ms: 50 },
  });
  await H.putRoute(S, ROUTE, { provider: 'gemini' });
});
after(async () => { if (G) await G.cleanup(); });
beforeEach(() => sim.reset());

const keep = (r) => {
  seen.push(r.text);
  for (const [k, v] of r.headers) seen.push(`${k}: ${v}`);
  return r;
};
const ask = async (body) => keep(await H.chat(S, body, { headers: { 'X-Switchyard-Route': ROUTE } }));

const CONVO = [
  { role: 'system', content: 'You are a photo critic.' },
  { role: 'user', content: 'Describe the photo.' },
  { role: 'assistant', content: 'A beach at dusk.' },
  { role: 'user', content: [{ type: 'text', text: 'And the ' }, { type: 'text', text: 'colours?' }] },
];

it('system → systemInstruction, assistant → model, user → user; usage mapped', async () => {
  sim.set({ usage: { prompt_tokens: 21, completion_tokens: 8 } });
  const r = await ask({ model: 'gemini-1.5-pro', messages: CONVO });
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'gemini', route: ROUTE, attempts: 1 });
  assert.equal(r.json.object, 'chat.completion');
  assert.equal(r.json.choices[0].message.role, 'assistant');
  assert.equal(r.json.choices[0].message.content, 'sim-gemini: And the colours?');
  assert.equal(r.json.choices[0].finish_reason, 'stop');
  assert.deepEqual(r.json.usage && [r.json.usage.prompt_tokens, r.json.usage.completion_tokens, r.json.usage.total_tokens], [21, 8, 29]);

  const up = sim.stats().last.gemini;
  assert.equal(up.path, '/v1beta/models/gemini-1.5-pro:generateContent');
  assert.equal(up.headers['x-goog-api-key'], KEY);
  assert.ok(!/key=/.test(up.query), 'the key is a header, not in the URL');
  const b = up.body;
  assert.ok(b.systemInstruction, `systemInstruction: ${JSON.stringify(b)}`);
  assert.equal(b.systemInstruction.parts.map((p) => p.text).join(''), 'You are a photo critic.');
  assert.deepEqual(b.contents.map((c) => c.role), ['user', 'model', 'user']);
  assert.equal(b.contents[0].parts.map((p) => p.text).join(''), 'Describe the photo.');
  assert.equal(b.contents[1].parts.map((p) => p.text).join(''), 'A beach at dusk.');
  assert.equal(b.contents[2].parts.map((p) => p.text).join(''), 'And the colours?');
  assert.ok(!JSON.stringify(b.contents).includes('"system"'), 'no system role among the contents');
});

it('sampling fields go to generationConfig (temperature, max_tokens → maxOutputTokens, top_p, stop)', async () => {
  const r = await ask({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'tune' }], temperature: 0.2, max_tokens: 64, top_p: 0.9, stop: ['END'] });
  assert.equal(r.status, 200, r.text);
  const gc = sim.stats().last.gemini.body.generationConfig || {};
  assert.deepEqual([gc.temperature, gc.maxOutputTokens, gc.topP, gc.stopSequences], [0.2, 64, 0.9, ['END']]);
});

it('a model gemini does not list, but another provider does, becomes its default model', async () => {
  await H.putProvider(S, 'elsewhere', { type: 'openai', base_url: `${sim.url}/v1`, models: ['gpt-4o'] });
  const r = await ask({ model: 'gpt-4o', messages: [{ role: 'user', content: 'which model?' }] });
  assert.equal(r.status, 200, r.text);
  assert.equal(sim.stats().last.gemini.model, 'gemini-2.0-flash');
});

it('streaming: Gemini SSE events become chat.completion.chunks, usage last, then [DONE]', async () => {
  sim.set({ chunks: 4, usage: { prompt_tokens: 5, completion_tokens: 4 } });
  const s = await H.chatStream(S, { model: 'gemini-2.0-flash', messages: CONVO, stream_options: { include_usage: true } }, { headers: { 'X-Switchyard-Route': ROUTE } });
  keep({ text: s.text, headers: s.headers });
  assert.equal(s.status, 200);
  assert.match(s.headers.get('content-type'), /^text\/event-stream/);
  H.assertGatewayHeaders(s.headers, { provider: 'gemini' });
  assert.ok(s.done, `ends with [DONE]: ${s.text.slice(-400)}`);
  assert.equal(H.streamText(s.events), 'sim-gemini: And the colours?');
  const chunks = s.events.filter((e) => e.json);
  for (const c of chunks) assert.equal(c.json.object, 'chat.completion.chunk');
  assert.equal(new Set(chunks.map((c) => c.json.id)).size, 1, 'one id for the whole stream');
  const usage = chunks.at(-1).json.usage;
  assert.deepEqual(usage && [usage.prompt_tokens, usage.completion_tokens, usage.total_tokens], [5, 4, 9]);
  assert.ok(chunks.some((c) => c.json.choices[0] && c.json.choices[0].finish_reason === 'stop'));
  const up = sim.stats().last.gemini;
  assert.equal(up.path, '/v1beta/models/gemini-2.0-flash:streamGenerateContent');
  assert.match(up.query, /(^|&)alt=sse(&|$)/);
});

it('Gemini 400 INVALID_ARGUMENT → 400 invalid_request_error in OpenAI shape, not retried', async () => {
  sim.set({ gemini: { fail_next: 1, fail_status: 400 } });
  const r = await ask({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'bad' }] });
  H.assertOpenAIError(r, 400, 'invalid_request_error');
  H.assertGatewayHeaders(r.headers, { provider: 'gemini', attempts: 1 });
  assert.equal(sim.stats().by_format.gemini, 1);
});

it('Gemini 429 RESOURCE_EXHAUSTED → 429 in OpenAI shape', async () => {
  sim.set({ gemini: { error_every: 1, fail_status: 429 } });
  const r = await ask({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'slow down' }] });
  H.assertOpenAIError(r, 429);
});

it('the key reached the sim in x-goog-api-key and never comes back: bodies, headers, log, metrics', async () => {
  // a rejected key too: the provider's complaint must not carry it back
  sim.set({ gemini: { key: 'some-other-key' } });
  const denied = await ask({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'who am i' }] });
  assert.ok(denied.status >= 400, denied.text);
  assert.equal(sim.stats().last.gemini.headers['x-goog-api-key'], KEY);
  sim.reset();
  const ok = await ask({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'fine' }] });
  assert.equal(ok.status, 200);
  const m = keep(await H.metricsText(S));
  assert.equal(m.status, 200);
  // the provider document and the parameter as the API shows them
  keep(await H.api(S, 'GET', H.pp('/switchyard/providers/gemini')).then((x) => ({ text: x.text, headers: new Map(Object.entries(x.headers)) })));
  for (const t of seen) assert.ok(!t.includes(KEY), `the key leaked into a response: ${t.slice(0, 300)}`);
  assert.ok(!S.log.includes(KEY), 'the key is in the server log');
  assert.ok(!S.stdout.includes(KEY), 'the key is on the server\'s stdout');
  assert.ok(!m.text.includes(KEY), 'the key is in /metrics');
});

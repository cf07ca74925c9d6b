// edits_multipart.test.js — /v1/images/edits as OpenAI's clients send it (multipart/form-data):
// files reach OpenAI-compatible and Seedream providers as data URLs of the exact bytes, the
// stub answers too, and malformed bodies are refused in OpenAI's error shape.
'use strict';

const { it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { OpenAI, toFile } = require('openai');
const H = require('./helpers');
const { PNG_B64 } = require('../sim/sim');

let G;
let S;
let sim;
let client;
const PNG = Buffer.from(PNG_B64, 'base64');
const OTHER = Buffer.concat([PNG, crypto.randomBytes(300)]); // binary bytes, \r\n and NUL included
const MASK = Buffer.concat([PNG, Buffer.from('\r\n--not-a-boundary\r\n\0mask')]);
const SEEDREAM_ROUTE = '/gw/multipart/seedream';
const STUB_ROUTE = '/gw/multipart/stub';

before(async () => {
  G = await H.startGateway({ sims: 1 });
  S = G.S;
  sim = G.sims[0];
  client = new OpenAI({ baseURL: `${S.url}/v1`, apiKey: S.token, maxRetries: 0, timeout: 30000 });
  await H.putProvider(S, 'simai', H.openaiDoc(sim, { models: ['sim-gpt'] }));
  await H.putProvider(S, 'seedream', {
    type: 'seedream',
    base_url: sim.url,
    models: ['seedream-4-0-250828'],
    retry: { max_attempts: 1, base_ms: 10, max_ms: 50 },
  });
  await H.putRoute(S, H.DEFAULT_ROUTE, { provider: 'simai' });
  await H.putRoute(S, SEEDREAM_ROUTE, { provider: 'seedream' });
  await H.putRoute(S, STUB_ROUTE, { provider: 'stub' });
});
after(async () => { if (G) await G.cleanup(); });
beforeEach(() => sim.reset());

/* The bytes of a data URL of the given media type. */
function dataUrlBytes(url, type) {
  assert.equal(typeof url, 'string', `a data URL, not ${JSON.stringify(url)}`);
  const prefix = `data:${type};base64,`;
  assert.ok(url.startsWith(prefix), `${url.slice(0, 60)} starts with ${prefix}`);
  return Buffer.from(url.slice(prefix.length), 'base64');
}

const png = (buf, name = 'a.png') => toFile(buf, name, { type: 'image/png' });

it('openai client: one image reaches an OpenAI provider as a data URL of its bytes', async () => {
  const { data, response } = await client.images.edit({
    image: await png(PNG), prompt: 'make it blue', model: 'sim-gpt', n: 2, size: '512x512', response_format: 'b64_json',
  }).withResponse();
  assert.equal(response.status, 200);
  H.assertGatewayHeaders(response.headers, { provider: 'simai' });
  assert.equal(data.data.length, 2);
  const last = sim.stats().last.openai;
  assert.equal(last.path, '/v1/images/edits');
  assert.match(last.headers['content-type'], /^application\/json/);
  assert.equal(last.body.prompt, 'make it blue');
  assert.equal(last.body.n, 2);
  assert.equal(last.body.size, '512x512');
  assert.equal(last.body.response_format, 'b64_json');
  assert.ok(dataUrlBytes(last.body.image, 'image/png').equals(PNG));
});

it('openai client: two images and a mask reach the provider in order, byte for byte', async () => {
  const r = await client.images.edit({
    image: [await png(PNG, 'one.png'), await png(OTHER, 'two.png')],
    mask: await toFile(MASK, 'mask.png', { type: 'image/png' }),
    prompt: 'merge them', model: 'sim-gpt', n: 1, size: '1024x1024', user: 'u-42',
  });
  assert.equal(r.data.length, 1);
  const b = sim.stats().last.openai.body;
  assert.ok(Array.isArray(b.image), `image is an array: ${typeof b.image}`);
  assert.equal(b.image.length, 2);
  assert.ok(dataUrlBytes(b.image[0], 'image/png').equals(PNG));
  assert.ok(dataUrlBytes(b.image[1], 'image/png').equals(OTHER));
  assert.ok(dataUrlBytes(b.mask, 'image/png').equals(MASK));
  assert.equal(b.prompt, 'merge them');
  assert.equal(b.n, 1);
  assert.equal(b.user, 'u-42');
});

it('openai client: Seedream gets the images as data URLs', async () => {
  const seed = new OpenAI({ baseURL: `${S.url}/v1`, apiKey: S.token, maxRetries: 0, timeout: 30000, defaultHeaders: { 'X-Switchyard-Route': SEEDREAM_ROUTE } });
  const { data, response } = await seed.images.edit({
    image: [await png(PNG), await png(OTHER, 'b.png')], prompt: 'a seedream edit', model: 'seedream-4-0-250828', size: '1024x1024',
  }).withResponse();
  H.assertGatewayHeaders(response.headers, { provider: 'seedream' });
  assert.ok(data.data.length >= 1);
  const last = sim.stats().last.seedream;
  assert.equal(last.path, '/api/v3/images/generations');
  assert.equal(last.body.prompt, 'a seedream edit');
  const imgs = Array.isArray(last.body.image) ? last.body.image : [last.body.image];
  assert.equal(imgs.length, 2);
  assert.ok(dataUrlBytes(imgs[0], 'image/png').equals(PNG));
  assert.ok(dataUrlBytes(imgs[1], 'image/png').equals(OTHER));
});

it('openai client: the stub answers a multipart edit', async () => {
  const stub = new OpenAI({ baseURL: `${S.url}/v1`, apiKey: S.token, maxRetries: 0, timeout: 30000, defaultHeaders: { 'X-Switchyard-Route': STUB_ROUTE } });
  const { data, response } = await stub.images.edit({ image: await png(PNG), prompt: 'stub it', n: 3, response_format: 'b64_json' }).withResponse();
  H.assertGatewayHeaders(response.headers, { provider: 'stub' });
  assert.equal(data.data.length, 3);
  assert.equal(sim.stats().total, 0, 'the stub makes no network call');
});

/* ---- malformed bodies, over plain HTTP ---- */

const BOUNDARY = 'sy-test-boundary-7d1f';

/* A multipart body from [{name, value} | {name, file: Buffer, filename, type}]. */
function multipart(parts, boundary = BOUNDARY, { close = true } = {}) {
  const chunks = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.file) head += `; filename="${p.filename || 'f.png'}"\r\nContent-Type: ${p.type || 'image/png'}`;
    chunks.push(Buffer.from(`${head}\r\n\r\n`, 'latin1'), p.file || Buffer.from(String(p.value), 'utf8'), Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

const post = (body, contentType = `multipart/form-data; boundary=${BOUNDARY}`, path = '/v1/images/edits') =>
  H.gw(S, path, body, { headers: { 'Content-Type': contentType } });

const fields = (extra = []) => [{ name: 'prompt', value: 'p' }, { name: 'model', value: 'sim-gpt' }, ...extra];

it('a hand-made multipart body is read as the client\'s is', async () => {
  const r = await post(multipart(fields([{ name: 'image', file: PNG }, { name: 'n', value: '2' }])));
  assert.equal(r.status, 200, r.text);
  const b = sim.stats().last.openai.body;
  assert.equal(b.n, 2);
  assert.ok(dataUrlBytes(b.image, 'image/png').equals(PNG));
});

it('a missing boundary is refused naming it', async () => {
  const r = await post(multipart(fields([{ name: 'image', file: PNG }])), 'multipart/form-data');
  const e = H.assertOpenAIError(r, 400, 'invalid_request_error', 'no boundary');
  assert.match(e.message, /boundary/);
  assert.equal(sim.stats().total, 0);
});

it('a truncated body is refused naming its end', async () => {
  const whole = multipart(fields([{ name: 'image', file: OTHER }]));
  const r = await post(whole.subarray(0, whole.length - 60));
  const e = H.assertOpenAIError(r, 400, 'invalid_request_error', 'truncated');
  assert.match(e.message, /ends before its closing boundary/);
  const r2 = await post(multipart(fields([{ name: 'image', file: PNG }]), BOUNDARY, { close: false }));
  assert.match(H.assertOpenAIError(r2, 400, 'invalid_request_error', 'no close').message, /closing boundary/);
  assert.equal(sim.stats().total, 0);
});

it('a body that does not use its boundary is refused', async () => {
  const r = await post(multipart(fields(), 'another-boundary'));
  assert.match(H.assertOpenAIError(r, 400, 'invalid_request_error', 'other boundary').message, /boundary/);
});

it('17 images are refused; 16 are accepted', async () => {
  const imgs = (k) => Array.from({ length: k }, () => ({ name: 'image[]', file: PNG }));
  const r = await post(multipart(fields(imgs(17))));
  assert.match(H.assertOpenAIError(r, 400, 'invalid_request_error', '17 images').message, /more than 16 images/);
  assert.equal(sim.stats().total, 0);
  const ok = await post(multipart(fields(imgs(16))));
  assert.equal(ok.status, 200, ok.text);
  assert.equal(sim.stats().last.openai.body.image.length, 16);
});

it('a non-numeric n is refused naming n', async () => {
  const r = await post(multipart(fields([{ name: 'image', file: PNG }, { name: 'n', value: 'two' }])));
  const e = H.assertOpenAIError(r, 400, 'invalid_request_error', 'n');
  assert.match(e.message, /\bn\b/);
  assert.equal(e.param, 'n');
  assert.equal(sim.stats().total, 0);
});

it('other malformed parts are refused naming the problem', async () => {
  const cases = [
    [multipart(fields([{ name: 'image', file: PNG }, { name: 'prompt', value: 'again' }])), /prompt is given twice/],
    [multipart(fields([{ name: 'image', file: PNG }, { name: 'style', value: 'a\0b' }])), /style contains a NUL byte/],
    [multipart(fields([{ name: 'image', file: PNG }, { name: 'x'.repeat(65), value: '1' }])), /longer than 64 bytes/],
    [multipart(fields([{ name: 'image', file: PNG }, { name: 'user', value: 'u'.repeat(32 * 1024 + 1) }])), /user is longer than 32768 bytes/],
    [multipart(fields([{ name: 'image', file: Buffer.alloc(0) }])), /image is empty/],
    [multipart(fields([{ name: 'image', file: PNG, type: 'not a type' }])), /Content-Type of field image/],
    [Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nv\r\n--${BOUNDARY}--\r\n`), /has no name/],
    [Buffer.from(`--${BOUNDARY}--\r\n`), /no fields/],
    [Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nv\r\n--${BOUNDARY}XX`), /multipart/],
  ];
  for (const [body, re] of cases) {
    const r = await post(body);
    assert.match(H.assertOpenAIError(r, 400, 'invalid_request_error', String(re)).message, re);
  }
  assert.equal(sim.stats().total, 0);
});

it('chat takes no multipart body; the server is healthy after', async () => {
  const r = await post(multipart([{ name: 'model', value: 'sim-gpt' }]), undefined, '/v1/chat/completions');
  assert.match(H.assertOpenAIError(r, 400, 'invalid_request_error', 'chat').message, /chat\/completions takes a JSON body/);
  const ok = await client.images.edit({ image: await png(PNG), prompt: 'still fine', model: 'sim-gpt' });
  assert.ok(ok.data.length >= 1);
  const c = await H.chat(S, H.chatBody('alive?'));
  assert.equal(c.status, 200, c.text);
});

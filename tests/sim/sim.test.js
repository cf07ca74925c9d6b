// sim.test.js — the provider simulator itself: each wire format, each knob, the control paths.
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startSim, PNG_B64 } = require('./sim');

let sim;
before(async () => { sim = await startSim(); });
after(async () => { if (sim) await sim.close(); });
beforeEach(() => sim.reset());

const post = (p, body, headers = {}) => fetch(sim.url + p, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const chat = (extra = {}, headers) => post('/v1/chat/completions', { model: 'sim-gpt', messages: [{ role: 'user', content: 'hello sim' }], ...extra }, headers);
const gemini = (body, op = 'generateContent', headers) => post(`/v1beta/models/gemini-2.0-flash:${op}${op === 'streamGenerateContent' ? '?alt=sse' : ''}`, body, headers);
const GBODY = { systemInstruction: { parts: [{ text: 'be brief' }] }, contents: [{ role: 'user', parts: [{ text: 'hi gemini' }] }] };

/* Reads an SSE body into its data payloads (strings) and whether it ended cleanly. */
async function sse(res) {
  const text = await res.text();
  return text.split(/\r\n\r\n|\n\n/).filter(Boolean).map((b) => b.replace(/^data: /, ''));
}

function now() {
  return performance.timeOrigin + performance.now();
}

describe('OpenAI format', () => {
  it('non-stream chat: chat.completion echoing the last user text, with usage', async () => {
    const r = await chat({ messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'first' }, { role: 'assistant', content: 'a' }, { role: 'user', content: [{ type: 'text', text: 'last one' }] }] });
    assert.equal(r.status, 200);
    const j = await r.json();
    assert.equal(j.object, 'chat.completion');
    assert.equal(j.model, 'sim-gpt');
    assert.equal(j.choices[0].message.role, 'assistant');
    assert.equal(j.choices[0].message.content, 'sim-openai: last one');
    assert.equal(j.choices[0].finish_reason, 'stop');
    assert.equal(j.usage.total_tokens, j.usage.prompt_tokens + j.usage.completion_tokens);
  });

  it('the usage knob sets the counts', async () => {
    sim.set({ usage: { prompt_tokens: 17, completion_tokens: 5 } });
    const j = await (await chat()).json();
    assert.deepEqual(j.usage, { prompt_tokens: 17, completion_tokens: 5, total_tokens: 22 });
  });

  it('stream: chunks that concatenate to the reply, a usage chunk when asked, then [DONE]', async () => {
    sim.set({ chunks: 5 });
    const r = await chat({ stream: true, stream_options: { include_usage: true } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/event-stream/);
    const ev = await sse(r);
    assert.equal(ev.at(-1), '[DONE]');
    const js = ev.slice(0, -1).map((e) => JSON.parse(e));
    for (const j of js) assert.equal(j.object, 'chat.completion.chunk');
    const content = js.filter((j) => j.choices.length && j.choices[0].delta.content !== undefined);
    assert.equal(content.length, 5);
    assert.equal(content.map((j) => j.choices[0].delta.content).join(''), 'sim-openai: hello sim');
    assert.equal(js.at(-2).choices[0].finish_reason, 'stop');
    assert.deepEqual(js.at(-1).choices, []);
    assert.equal(js.at(-1).usage.total_tokens, js.at(-1).usage.prompt_tokens + js.at(-1).usage.completion_tokens);
    // without include_usage: no usage chunk
    const r2 = await chat({ stream: true });
    const ev2 = (await sse(r2)).slice(0, -1).map((e) => JSON.parse(e));
    assert.ok(ev2.every((j) => !j.usage), 'no usage without include_usage');
  });

  it('images: generations (url and b64_json), edits (JSON and multipart), models', async () => {
    let j = await (await post('/v1/images/generations', { model: 'gpt-image-1', prompt: 'a cat', n: 2 })).json();
    assert.equal(j.data.length, 2);
    assert.match(j.data[0].url, /^https:\/\/sim\.invalid\//);
    j = await (await post('/v1/images/generations', { prompt: 'a cat', response_format: 'b64_json' })).json();
    assert.equal(j.data[0].b64_json, PNG_B64);
    j = await (await post('/v1/images/edits', { prompt: 'make it blue', image: 'data:image/png;base64,' + PNG_B64 })).json();
    assert.equal(j.data[0].revised_prompt, 'sim-openai: make it blue');
    const fd = new FormData();
    fd.append('prompt', 'multipart edit');
    fd.append('image', new Blob([Buffer.from(PNG_B64, 'base64')], { type: 'image/png' }), 'a.png');
    const m = await fetch(`${sim.url}/v1/images/edits`, { method: 'POST', body: fd });
    assert.equal(m.status, 200);
    assert.equal((await m.json()).data[0].revised_prompt, 'sim-openai: multipart edit');
    j = await (await fetch(`${sim.url}/v1/models`)).json();
    assert.equal(j.object, 'list');
    assert.ok(j.data.some((x) => x.id === 'sim-gpt'));
  });

  it('a configured key is required as a bearer token: 401 in OpenAI shape otherwise', async () => {
    sim.set({ openai: { key: 'sk-sim' } });
    let r = await chat();
    assert.equal(r.status, 401);
    const j = await r.json();
    assert.equal(j.error.code, 'invalid_api_key');
    assert.equal(typeof j.error.message, 'string');
    r = await chat({}, { Authorization: 'Bearer wrong' });
    assert.equal(r.status, 401);
    r = await chat({}, { Authorization: 'Bearer sk-sim' });
    assert.equal(r.status, 200);
    // other formats unaffected
    assert.equal((await gemini(GBODY)).status, 200);
  });
});

describe('Gemini format', () => {
  it('generateContent: candidates, finishReason, usageMetadata', async () => {
    sim.set({ usage: { prompt_tokens: 4, completion_tokens: 6 } });
    const r = await gemini(GBODY);
    assert.equal(r.status, 200);
    const j = await r.json();
    assert.equal(j.candidates[0].content.role, 'model');
    assert.equal(j.candidates[0].content.parts.map((p) => p.text).join(''), 'sim-gemini: hi gemini');
    assert.equal(j.candidates[0].finishReason, 'STOP');
    assert.deepEqual(j.usageMetadata, { promptTokenCount: 4, candidatesTokenCount: 6, totalTokenCount: 10 });
    const last = sim.stats().last.gemini;
    assert.equal(last.model, 'gemini-2.0-flash');
    assert.deepEqual(last.body.systemInstruction, GBODY.systemInstruction);
  });

  it('streamGenerateContent?alt=sse: GenerateContentResponse events, the last with finishReason and usage, no [DONE]', async () => {
    sim.set({ chunks: 4 });
    const r = await gemini(GBODY, 'streamGenerateContent');
    assert.match(r.headers.get('content-type'), /^text\/event-stream/);
    const ev = await sse(r);
    assert.equal(ev.length, 4);
    assert.ok(!ev.includes('[DONE]'));
    const js = ev.map((e) => JSON.parse(e));
    assert.equal(js.map((j) => j.candidates[0].content.parts[0].text).join(''), 'sim-gemini: hi gemini');
    assert.equal(js.at(-1).candidates[0].finishReason, 'STOP');
    assert.equal(typeof js.at(-1).usageMetadata.totalTokenCount, 'number');
  });

  it('the key goes in x-goog-api-key; a missing one is 403, a wrong one 400, in Gemini shape', async () => {
    sim.set({ keys: { gemini: 'g-secret' } });
    let r = await gemini(GBODY);
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error.status, 'PERMISSION_DENIED');
    r = await gemini(GBODY, 'generateContent', { 'x-goog-api-key': 'nope' });
    assert.equal(r.status, 400);
    const e = await r.json();
    assert.deepEqual([e.error.code, e.error.status], [400, 'INVALID_ARGUMENT']);
    r = await gemini(GBODY, 'generateContent', { 'x-goog-api-key': 'g-secret' });
    assert.equal(r.status, 200);
    assert.equal(sim.stats().last.gemini.headers['x-goog-api-key'], 'g-secret');
  });

  it('errors: {"error":{"code":429,"message","status":"RESOURCE_EXHAUSTED"}}', async () => {
    sim.set({ gemini: { fail_next: 1, fail_status: 429, retry_after: 2 } });
    const r = await gemini(GBODY);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '2');
    const j = await r.json();
    assert.deepEqual([j.error.code, j.error.status, typeof j.error.message], [429, 'RESOURCE_EXHAUSTED', 'string']);
  });

  it('responseModalities IMAGE adds an inlineData part', async () => {
    const j = await (await gemini({ ...GBODY, generationConfig: { responseModalities: ['TEXT', 'IMAGE'] } })).json();
    assert.equal(j.candidates[0].content.parts[1].inlineData.data, PNG_B64);
  });
});

describe('Seedream format', () => {
  it('images/generations: url or b64_json with size, usage.generated_images', async () => {
    let r = await post('/api/v3/images/generations', { model: 'seedream-4-0-250828', prompt: 'a dog', size: '1024x1024', response_format: 'url' });
    assert.equal(r.status, 200);
    let j = await r.json();
    assert.equal(j.model, 'seedream-4-0-250828');
    assert.equal(typeof j.created, 'number');
    assert.match(j.data[0].url, /^https:\/\//);
    assert.deepEqual(j.usage, { generated_images: 1, output_tokens: 4096, total_tokens: 4096 });
    j = await (await post('/api/v3/images/generations', { model: 's', prompt: 'x', image: 'https://example.invalid/a.png', response_format: 'b64_json', size: '2048x2048' })).json();
    assert.deepEqual(j.data[0], { b64_json: PNG_B64, size: '2048x2048' });
    assert.equal(sim.stats().last.seedream.body.image, 'https://example.invalid/a.png');
  });

  it('errors: {"error":{"code":"InvalidParameter","message"}}', async () => {
    sim.set({ seedream: { fail_next: 1, fail_status: 400 } });
    const r = await post('/api/v3/images/generations', { model: 's', prompt: 'x' });
    assert.equal(r.status, 400);
    const j = await r.json();
    assert.equal(j.error.code, 'InvalidParameter');
    assert.equal(typeof j.error.message, 'string');
  });
});

describe('knobs', () => {
  it('latency_ms delays the answer', async () => {
    sim.set({ latency_ms: 150 });
    const t = Date.now();
    await (await chat()).json();
    assert.ok(Date.now() - t >= 140, `answered after ${Date.now() - t} ms`);
  });

  it('first_token_ms and chunk_ms pace a stream', async () => {
    sim.set({ first_token_ms: 200, chunk_ms: 50, chunks: 3 });
    const t = Date.now();
    const r = await chat({ stream: true });
    assert.equal(r.status, 200);
    const tHeaders = Date.now() - t;
    const reader = r.body.getReader();
    const first = await reader.read();
    const tFirst = Date.now() - t;
    assert.ok(!first.done);
    while (!(await reader.read()).done);
    const tEnd = Date.now() - t;
    assert.ok(tHeaders < 150, `headers after ${tHeaders} ms (before the first token)`);
    assert.ok(tFirst >= 190, `first chunk after ${tFirst} ms`);
    assert.ok(tEnd >= 290, `stream ended after ${tEnd} ms (2 × chunk_ms after the first)`);
  });

  it('fail_next fails exactly N requests with fail_status, then answers', async () => {
    sim.set({ openai: { fail_next: 2, fail_status: 503, retry_after: 1 } });
    const a = await chat();
    const b = await chat();
    const c = await chat();
    assert.deepEqual([a.status, b.status, c.status], [503, 503, 200]);
    assert.equal(a.headers.get('retry-after'), '1');
    const e = await a.json();
    assert.equal(e.error.type, 'server_error');
    assert.equal(sim.stats().failed.openai, 2);
    assert.equal((await gemini(GBODY)).status, 200, 'per-format knob leaves gemini alone');
  });

  it('error_every N fails every Nth; error_rate follows a seeded sequence', async () => {
    sim.set({ error_every: 3 });
    const s = [];
    for (let i = 0; i < 6; i++) s.push((await chat()).status);
    assert.deepEqual(s, [200, 200, 500, 200, 200, 500]);
    const run = async () => {
      sim.set({ error_every: 0, error_rate: 0.3, seed: 42 });
      const out = [];
      for (let i = 0; i < 40; i++) out.push((await chat()).status);
      return out;
    };
    const x = await run();
    const y = await run();
    assert.deepEqual(x, y, 'same seed, same sequence');
    const fails = x.filter((v) => v === 500).length;
    assert.ok(fails > 2 && fails < 25, `${fails} of 40 failed at rate 0.3`);
  });

  it('cut_after_chunks destroys the socket mid-stream; 0 cuts right after the headers', async () => {
    sim.set({ cut_after_chunks: 2, chunks: 5 });
    const r = await chat({ stream: true });
    assert.equal(r.status, 200);
    let got = '';
    await assert.rejects(async () => { for await (const c of r.body) got += Buffer.from(c).toString(); });
    assert.ok(got.includes('sim-'), 'some chunks arrived');
    assert.ok(!got.includes('[DONE]'));
    sim.set({ cut_after_chunks: 0 });
    const r0 = await chat({ stream: true });
    await assert.rejects(async () => { for await (const c of r0.body) assert.fail(`no chunk expected: ${c}`); });
  });

  it('garbage html / json_error / truncated answer 200 with a bad body', async () => {
    sim.set({ garbage: 'html' });
    let r = await chat();
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/html/);
    assert.match(await r.text(), /<html>/);
    sim.set({ garbage: 'json_error' });
    r = await gemini(GBODY);
    assert.equal(r.status, 200);
    assert.equal((await r.json()).error.status, 'INTERNAL');
    sim.set({ garbage: 'truncated' });
    r = await chat();
    assert.equal(r.status, 200);
    await assert.rejects(r.json());
  });

  it('garbage endless never ends; huge is 50 MB', async () => {
    sim.set({ garbage: 'endless' });
    const ctl = new AbortController();
    const r = await chat({}, {});
    let n = 0;
    const reader = r.body.getReader();
    while (n < 4 << 20) n += (await reader.read()).value.length;
    await reader.cancel();
    ctl.abort();
    sim.set({ garbage: 'huge' });
    const h = await chat();
    assert.equal(Number(h.headers.get('content-length')), 50 << 20);
    const buf = Buffer.from(await h.arrayBuffer());
    assert.equal(buf.length, 50 << 20);
    assert.equal(JSON.parse(buf.toString()).object, 'chat.completion');
  });

  it('hang accepts and never answers; in_flight counts it', async () => {
    sim.set({ hang: true });
    const ctl = new AbortController();
    const p = chat().catch(() => null);
    const pending = fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"messages":[]}', signal: ctl.signal }).catch((e) => e);
    const until = Date.now() + 3000;
    while (sim.stats().in_flight < 2) {
      assert.ok(Date.now() < until, 'requests in flight');
      await new Promise((r) => setTimeout(r, 10));
    }
    ctl.abort();
    assert.equal((await pending).name, 'AbortError');
    sim.set({ hang: false });
    void p;
  });

  it('control paths over HTTP: /_sim/config, /_sim/stats, /_sim/reset (no auth)', async () => {
    sim.set({ key: 'k' });
    let r = await post('/_sim/config', { gemini: { fail_next: 1, fail_status: 500 } });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).gemini.fail_next, 1);
    assert.equal((await gemini(GBODY, 'generateContent', { 'x-goog-api-key': 'k' })).status, 500);
    r = await fetch(`${sim.url}/_sim/stats`);
    const s = await r.json();
    assert.equal(s.by_format.gemini, 1);
    assert.equal(s.by_path['/v1beta/models/gemini-2.0-flash:generateContent'], 1);
    assert.equal(s.log[0].outcome, 500);
    assert.equal((await post('/_sim/config', { nonsense: 1 })).status, 400);
    r = await post('/_sim/reset', {});
    assert.equal(r.status, 200);
    assert.equal(sim.stats().total, 0);
    assert.equal((await chat()).status, 200, 'reset drops the key');
  });

  it('keep-alive: many requests over one connection', async () => {
    const sock = net.connect(sim.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'ka' }] });
    const req = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    sock.write(req.repeat(10));
    let got = '';
    const until = Date.now() + 5000;
    sock.setEncoding('utf8');
    sock.on('data', (d) => { got += d; });
    while ((got.match(/HTTP\/1\.1 200/g) || []).length < 10) {
      assert.ok(Date.now() < until, `10 answers on one connection; got ${got.length} bytes`);
      await new Promise((r) => setTimeout(r, 10));
    }
    sock.destroy();
  });

  it('answers 10,000 non-stream requests on 32 keep-alive connections, every one 200 (rate logged)', async (t) => {
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const body = JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'bench' }] });
    const N = 10000;
    let sent = 0;
    let ok = 0;
    const t0 = now();
    const worker = async () => {
      while (sent < N) {
        sent++;
        await new Promise((resolve, reject) => {
          const q = http.request({ host: '127.0.0.1', port: sim.port, method: 'POST', path: '/v1/chat/completions', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
            if (res.statusCode === 200) ok++;
            res.resume();
            res.on('end', resolve);
          });
          q.on('error', reject);
          q.end(body);
        });
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    const rps = N / ((now() - t0) / 1000);
    agent.destroy();
    // the rate is logged, not judged: speed belongs in bench/ (a sim alone on a core does
    // 20,000/s), and this process shares its core with the client and other suites
    t.diagnostic(`${rps.toFixed(0)} req/s, client and sim on one event loop`);
    assert.equal(ok, N, `${N - ok} of ${N} requests were not answered 200`);
  });
});

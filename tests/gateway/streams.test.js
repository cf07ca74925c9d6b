// streams.test.js — streaming failures: before the first byte a stream retries or falls back like
// any attempt; after it, the stream ends with an error event and no [DONE].
'use strict';

const { it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

let G;
let S;
let simA; // primary
let simB; // fallback

before(async () => {
  G = await H.startGateway({ sims: 2 });
  S = G.S;
  [simA, simB] = G.sims;
  await H.putProvider(S, 'primary', H.openaiDoc(simA, { timeouts_ms: { connect: 1000, first_byte: 500, idle: 500, total: 20000 } }));
  await H.putProvider(S, 'backup', H.openaiDoc(simB));
  await H.putRoute(S, '/gw/streams', { provider: 'primary', fallbacks: ['backup'] });
});
after(async () => { if (G) await G.cleanup(); });
beforeEach(() => { simA.reset(); simB.reset(); });

const stream = (text, extra = {}) => H.chatStream(S, H.chatBody(text, extra), { headers: { 'X-Switchyard-Route': '/gw/streams' } });
const count = (sim) => sim.stats().by_format.openai;

/* Asserts the stream ended with {"error":{...}} as its last event and no [DONE]. */
function assertErrorEnd(s) {
  assert.ok(!s.done, `no [DONE] after a failure: ${s.text.slice(-300)}`);
  assert.ok(!s.text.includes('[DONE]'), 'no [DONE] anywhere');
  const last = s.events.at(-1);
  assert.ok(last && last.json && last.json.error, `the last event is an error: ${s.text.slice(-300)}`);
  assert.equal(typeof last.json.error.message, 'string');
  assert.equal(typeof last.json.error.type, 'string');
}

it('a healthy stream: chunks, [DONE], the primary serves', async () => {
  simA.set({ chunks: 5, chunk_ms: 20 });
  const s = await stream('all good');
  assert.equal(s.status, 200);
  H.assertGatewayHeaders(s.headers, { provider: 'primary' });
  assert.ok(s.done);
  assert.equal(H.streamText(s.events), 'sim-openai: all good');
});

it('cut mid-answer by the provider: the text so far, then an error event, no [DONE], no fallback', async () => {
  simA.set({ chunks: 6, chunk_ms: 100, cut_after_chunks: 2 });
  const s = await stream('this answer will be cut short');
  assert.equal(s.status, 200);
  H.assertGatewayHeaders(s.headers, { provider: 'primary' });
  const text = H.streamText(s.events);
  assert.ok(text.length > 0 && 'sim-openai: this answer will be cut short'.startsWith(text), `a prefix arrived: ${JSON.stringify(text)}`);
  assert.ok(text.length < 'sim-openai: this answer will be cut short'.length, 'not the whole answer');
  assertErrorEnd(s);
  assert.equal(count(simB), 0, 'once bytes reached the client there is no fallback');
  assert.equal(count(simA), 1, 'nor a retry');
  // the gateway is fine afterwards
  simA.set({ cut_after_chunks: null });
  const ok = await stream('next one');
  assert.ok(ok.done);
});

it('idle longer than timeouts_ms.idle between chunks: an error event, no [DONE]', async () => {
  simA.set({ chunks: 4, chunk_ms: 1500 });
  const t0 = Date.now();
  const s = await stream('slow between chunks');
  assert.equal(s.status, 200);
  assertErrorEnd(s);
  assert.ok(Date.now() - t0 < 4000, 'the idle timeout ended it, not the provider');
  assert.equal(count(simB), 0);
});

it('a first token slower than timeouts_ms.first_byte falls back to the next provider', async () => {
  simA.set({ first_token_ms: 3000 });
  const t0 = Date.now();
  const s = await stream('first token too slow');
  assert.equal(s.status, 200);
  H.assertGatewayHeaders(s.headers, { provider: 'backup' });
  assert.ok(s.done, s.text.slice(-300));
  assert.equal(H.streamText(s.events), 'sim-openai: first token too slow');
  assert.ok(Date.now() - t0 < 2500, `fell back after the 500 ms first-byte timeout, not the 3 s token (${Date.now() - t0} ms)`);
  assert.equal(count(simA), 1);
  assert.equal(count(simB), 1);
});

it('headers slower than timeouts_ms.first_byte fall back too', async () => {
  simA.set({ latency_ms: 3000 });
  const s = await stream('headers too slow');
  assert.equal(s.status, 200);
  H.assertGatewayHeaders(s.headers, { provider: 'backup' });
  assert.ok(s.done);
});

it('a stream failing before its first byte falls back: 503, cut right after the headers, HTML', async () => {
  for (const knobs of [{ fail_next: 1, fail_status: 503 }, { cut_after_chunks: 0 }, { garbage: 'html' }, { garbage: 'truncated' }]) {
    simA.reset();
    simB.reset();
    simA.set(knobs);
    const s = await stream(`fallback on ${JSON.stringify(knobs)}`);
    assert.equal(s.status, 200, `${JSON.stringify(knobs)}: ${s.text.slice(0, 300)}`);
    H.assertGatewayHeaders(s.headers, { provider: 'backup' });
    assert.ok(s.done, `${JSON.stringify(knobs)}: ${s.text.slice(-300)}`);
    assert.equal(H.streamText(s.events), `sim-openai: fallback on ${JSON.stringify(knobs)}`);
    assert.ok(!s.events.some((e) => e.json && e.json.error), 'no error event when nothing had been sent');
    assert.equal(count(simA), 1, JSON.stringify(knobs));
    assert.equal(count(simB), 1, JSON.stringify(knobs));
  }
});

it('a stream on a route with no fallback that fails before its first byte is an HTTP error, not a stream', async () => {
  await H.putRoute(S, '/gw/streams/alone', { provider: 'primary' });
  simA.set({ error_every: 1, fail_status: 503 });
  const s = await H.chatStream(S, H.chatBody('alone'), { headers: { 'X-Switchyard-Route': '/gw/streams/alone' } });
  assert.ok(s.status >= 500, `status ${s.status}`);
  let json = null;
  try { json = JSON.parse(s.text); } catch { /* checked below */ }
  assert.ok(json && json.error && typeof json.error.message === 'string', `OpenAI error shape: ${s.text.slice(0, 300)}`);
});

it('a client that goes away mid-stream frees the upstream request', async () => {
  simA.set({ chunks: 50, chunk_ms: 100 });
  const ctl = new AbortController();
  const p = H.chatStream(S, H.chatBody('abandon'), { headers: { 'X-Switchyard-Route': '/gw/streams' }, signal: ctl.signal });
  await H.waitFor(() => simA.stats().in_flight === 1, 3000, 'the upstream stream started');
  await H.sleep(250); // let a few chunks flow: this is the scenario, not synchronisation
  ctl.abort();
  await p.catch(() => null);
  await H.waitFor(() => simA.stats().in_flight === 0, 3000, 'the gateway closed the upstream stream');
  await H.assertHealthy(S);
});

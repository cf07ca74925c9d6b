// load.test.js — 1,000 concurrent streams against a slow provider all complete, and the server
// holds them without a thread per request: its thread count under load is its count at rest.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

const N = 1000;
const ROUTE = '/gw/load';

let G;
let S;
let sim;

before(async () => {
  G = await H.startGateway({ sims: 1 });
  S = G.S;
  sim = G.sims[0];
  await H.putProvider(S, 'slow', H.openaiDoc(sim, { timeouts_ms: { connect: 5000, first_byte: 20000, idle: 20000, total: 40000 } }));
  await H.putRoute(S, ROUTE, { provider: 'slow' });
});
after(async () => { if (G) await G.cleanup(); });

it(`${N} concurrent streams with a 6 s first token: all complete, no thread per request`, async () => {
  const pid = S.proc.pid; // `switchyard serve` execs switchyard-server: the same pid
  // warm-up: whatever the gateway starts on its first upstream call exists before we count
  sim.set({ chunks: 3 });
  for (let i = 0; i < 3; i++) {
    const w = await H.chatStream(S, H.chatBody(`warm ${i}`), { headers: { 'X-Switchyard-Route': ROUTE } });
    assert.ok(w.done, w.text);
  }
  const atRest = H.threadCount(pid);

  sim.set({ first_token_ms: 6000, chunks: 3, chunk_ms: 10 });
  let maxThreads = atRest;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      maxThreads = Math.max(maxThreads, H.threadCount(pid));
      await H.sleep(25); // a sampling interval, not synchronisation
    }
  })();
  const t0 = Date.now();
  const all = Promise.all(Array.from({ length: N }, (_, i) => H.chatStream(
    S,
    H.chatBody(`stream ${i}`, { stream_options: { include_usage: true } }),
    { headers: { 'X-Switchyard-Route': ROUTE } },
  )));
  // the load is on when every request is waiting at the provider at once
  await H.waitFor(() => sim.stats().in_flight >= N, 60000, `${N} upstream streams in flight`, 10);
  const during = H.threadCount(pid);
  const results = await all;
  sampling = false;
  await sampler;
  const took = Date.now() - t0;

  const bad = [];
  results.forEach((r, i) => {
    const text = H.streamText(r.events);
    const usage = r.events.filter((e) => e.json && e.json.usage).at(-1);
    if (r.status !== 200 || !r.done || text !== `sim-openai: stream ${i}` || !usage) bad.push(`#${i}: ${r.status} done=${r.done} ${JSON.stringify(text)} ${r.error || ''}`);
  });
  assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${N} streams went wrong`);
  assert.equal(sim.stats().by_format.openai, N + 3);
  assert.equal(during, atRest, `threads at rest ${atRest}, with ${N} streams in flight ${during}`);
  assert.equal(maxThreads, atRest, `threads at rest ${atRest}, at most ${maxThreads} during the load`);
  assert.ok(took < 30000, `${N} streams took ${took} ms`);
  await H.assertHealthy(S);
  await H.waitFor(() => sim.stats().in_flight === 0, 5000, 'upstream connections idle');
});

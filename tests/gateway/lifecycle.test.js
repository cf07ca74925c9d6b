// lifecycle.test.js — clients that leave and a server that stops: a stream whose client goes
// away cancels its upstream call, a request abandoned before its answer leaves nothing behind,
// and SIGTERM ends the streams in flight with an error event and exits 0.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const H = require('./helpers');

let G;
let S;
let sim;

before(async () => {
  G = await H.startGateway({ sims: 1 });
  S = G.S;
  sim = G.sims[0];
  await H.putProvider(S, 'slow', H.openaiDoc(sim, {}));
  await H.putRoute(S, H.DEFAULT_ROUTE, { provider: 'slow' });
});
after(async () => { if (G) await G.cleanup().catch(() => {}); });

/* A raw chat request that the client destroys once it has read `after` bytes of the answer
 * (0: as soon as the request is sent, before any answer). Resolves how it ended. */
function leave(text, { stream, after = 0, ms = 50 }) {
  const url = new URL(S.url);
  return new Promise((resolve) => {
    const rq = http.request({
      host: url.hostname, port: url.port, path: '/v1/chat/completions', method: 'POST',
      headers: { authorization: `Bearer ${S.token}`, 'content-type': 'application/json' },
    }, (res) => {
      let got = 0;
      res.on('data', (d) => {
        got += d.length;
        if (after && got >= after) { rq.destroy(); resolve('left'); }
      });
      res.on('end', () => resolve('ended'));
      res.on('error', () => resolve('left'));
    });
    rq.on('error', () => resolve('left'));
    rq.end(JSON.stringify(H.chatBody(text, stream ? { stream: true } : {})));
    if (!after) setTimeout(() => { rq.destroy(); resolve('left'); }, ms);
  });
}

it('60 streams whose clients leave mid-answer: every upstream call is cancelled', async () => {
  sim.set({ chunks: 50, chunk_ms: 50 });
  const ends = await Promise.all(Array.from({ length: 60 }, (_, i) => leave(`leave ${i}`, { stream: true, after: 300 })));
  assert.ok(ends.every((e) => e === 'left'), JSON.stringify(ends));
  // each would take 2.5 s more; cancelled, they are gone long before
  await H.waitFor(() => sim.stats().in_flight === 0, 2000, 'no upstream call left in flight');
  const r = await H.chat(S, H.chatBody('still serving'));
  assert.equal(r.status, 200, r.text);
});

it('requests abandoned before their answer: the server answers the next ones', async () => {
  sim.reset();
  sim.set({ latency_ms: 300 });
  await Promise.all(Array.from({ length: 30 }, (_, i) => leave(`gone ${i}`, { stream: false, ms: 50 })));
  await H.waitFor(() => sim.stats().in_flight === 0, 5000, 'the abandoned calls are over');
  sim.set({ latency_ms: 0 });
  const r = await H.chat(S, H.chatBody('after'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.choices[0].message.content, 'sim-openai: after');
});

it('SIGTERM with 40 streams in flight: each ends with an error event, the server exits 0', async () => {
  sim.reset();
  sim.set({ chunks: 100, chunk_ms: 100 });
  const live = Array.from({ length: 40 }, (_, i) => H.chatStream(S, H.chatBody(`live ${i}`)).catch((e) => ({ error: String(e) })));
  await H.waitFor(() => sim.stats().in_flight >= 40, 10000, '40 streams in flight');
  const exited = new Promise((res) => S.proc.on('exit', (code, sig) => res(code ?? sig)));
  S.proc.kill('SIGTERM');
  assert.equal(await exited, 0);
  const outs = await Promise.all(live);
  for (const o of outs) {
    assert.ok(!o.done, 'no [DONE] for a stream the server cut');
    if (o.status === 200) { // bytes had reached the client: the stream ends with an error event
      const last = o.events.at(-1);
      assert.ok(last && last.json && last.json.error, `the last event is an error: ${o.text.slice(-200)}`);
    } else { // none had: an error answer in OpenAI's shape
      assert.equal(o.status, 503, o.text);
      assert.equal(JSON.parse(o.text).error.code, 'unavailable');
    }
  }
  assert.doesNotMatch(S.log, /(ERROR: (Address|Leak)Sanitizer|runtime error:)/);
});

// series.test.js — GET /api/v1/providers/{p}/series?window=1h|24h: every minute (quarter hour)
// bucket of the window, oldest first, fed by calls through the gateway to a simulator, summing
// to what the metrics API says, and shifting as the server's test clock moves.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

const MIN = 60000;
const QUARTER = 15 * MIN;
const ROUTE = '/gw/series/route';
const PV = '/api/v1/providers';

let G;
let S;
let sim;

before(async () => {
  G = await H.startGateway({ sims: 1, env: { SWITCHYARD_TEST_CLOCK: '1' } });
  S = G.S;
  [sim] = G.sims;
  await H.putProvider(S, 'charted', H.openaiDoc(sim, { prices: { input_per_1k: 1, output_per_1k: 1, per_image: 0 } }));
  await H.putProvider(S, 'quiet', H.openaiDoc(sim)); // never called
  await H.putRoute(S, ROUTE, { provider: 'charted' });
});
after(async () => { if (G) await G.cleanup(); });

const get = (p, token) => H.api(S, 'GET', p, undefined, token);
const series = async (name, window) => {
  const r = await get(`${PV}/${name}/series${window ? `?window=${window}` : ''}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const clock = async (advance) => {
  const r = advance === undefined
    ? await H.api(S, 'GET', '/api/v1/admin/clock')
    : await H.api(S, 'POST', '/api/v1/admin/clock', { advance_ms: advance });
  assert.equal(r.status, 200, r.text);
  return r.json.now_ms;
};
const call = (text) => H.chat(S, H.chatBody(text), { headers: { 'X-Switchyard-Route': ROUTE } });
const sum = (pts, k) => pts.reduce((a, p) => a + p[k], 0);
const busy = (pts) => pts.map((p, i) => (p.requests ? i : -1)).filter((i) => i >= 0);

/* Asserts the shape of a series: n points step_s apart, the last one the bucket of now. */
function assertShape(s, name, window, n, step, nowMs) {
  assert.deepEqual(Object.keys(s).sort(), ['points', 'provider', 'step_s', 'window']);
  assert.equal(s.provider, name);
  assert.equal(s.window, window);
  assert.equal(s.step_s, step / 1000);
  assert.equal(s.points.length, n);
  const last = Math.floor(nowMs / step) * step;
  s.points.forEach((p, i) => {
    assert.deepEqual(Object.keys(p).sort(), ['cost_usd', 'error_rate', 'errors', 'latency_ms', 'requests', 't']);
    assert.equal(Date.parse(p.t), last - (n - 1 - i) * step, `point ${i}: ${p.t}`);
    assert.match(p.t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    if (p.requests) assert.ok(Math.abs(p.error_rate - p.errors / p.requests) < 1e-9, JSON.stringify(p));
    else assert.deepEqual([p.errors, p.error_rate, p.latency_ms, p.cost_usd], [0, 0, null, 0], JSON.stringify(p));
  });
}

it('a provider never called: 60 empty minutes ending with the current one, and 96 quarter hours', async () => {
  const now = await clock(MIN - ((await clock()) % MIN) + 200); // what follows is in one minute
  assertShape(await series('quiet', '1h'), 'quiet', '1h', 60, MIN, now);
  assertShape(await series('quiet'), 'quiet', '1h', 60, MIN, now); // 1h is the default
  assertShape(await series('quiet', '24h'), 'quiet', '24h', 96, QUARTER, now);
  assertShape(await series('stub', '24h'), 'stub', '24h', 96, QUARTER, now); // the built-in
});

it('calls land in the current bucket and sum to the metrics API; old buckets shift, then empty', async () => {
  // just past the start of a quarter hour: what follows (well under a minute) is in one bucket
  const t0 = await clock(QUARTER - ((await clock()) % QUARTER) + 200);
  const q0 = Math.floor(t0 / QUARTER) * QUARTER;
  for (let i = 0; i < 3; i++) assert.equal((await call(`ok ${i}`)).status, 200);
  sim.set({ fail_next: 1, fail_status: 500 });
  assert.ok((await call('fail')).status >= 500);
  sim.reset();

  const h = await series('charted', '1h');
  const d = await series('charted', '24h');
  assertShape(h, 'charted', '1h', 60, MIN, t0);
  assertShape(d, 'charted', '24h', 96, QUARTER, t0);
  for (const s of [h, d]) {
    assert.deepEqual(busy(s.points), [s.points.length - 1], JSON.stringify(s.points.at(-1)));
    const p = s.points.at(-1);
    assert.equal(Date.parse(p.t), s.step_s === 60 ? Math.floor(t0 / MIN) * MIN : q0);
    assert.deepEqual([p.requests, p.errors, p.error_rate], [4, 1, 0.25]);
    assert.ok(p.cost_usd > 0);
    const l = p.latency_ms;
    assert.ok(typeof l.p50 === 'number' && l.p50 <= l.p95 && l.p95 <= l.p99, JSON.stringify(l));
  }
  const m = (await get(`${PV}/charted/metrics`)).json.metrics;
  for (const [s, w] of [[h, m['1h']], [d, m.since_start]]) {
    assert.equal(sum(s.points, 'requests'), w.requests);
    assert.equal(sum(s.points, 'errors'), w.errors);
    assert.ok(Math.abs(sum(s.points, 'cost_usd') - w.cost_usd) < 1e-9);
  }
  assert.deepEqual(h.points.at(-1).latency_ms, m['1h'].latency_ms); // one bucket: the same histogram

  // two minutes later: the minute moved back two places, the quarter hour has not changed
  let now = await clock(2 * MIN);
  let h2 = await series('charted', '1h');
  assertShape(h2, 'charted', '1h', 60, MIN, now);
  assert.deepEqual(busy(h2.points), [57]);
  assert.deepEqual(h2.points[57], h.points[59]);
  assert.deepEqual((await series('charted', '24h')).points.at(-1), d.points.at(-1));

  // an hour after the calls: the minute's slot of the ring is the current minute's, so stale
  now = await clock(58 * MIN);
  h2 = await series('charted', '1h');
  assertShape(h2, 'charted', '1h', 60, MIN, now);
  assert.deepEqual(busy(h2.points), []);
  assert.equal((await get(`${PV}/charted/metrics`)).json.metrics['1h'].requests, 0);
  let d2 = await series('charted', '24h');
  assertShape(d2, 'charted', '24h', 96, QUARTER, now);
  assert.deepEqual(busy(d2.points), [91]); // 4 quarter hours on
  assert.deepEqual(d2.points[91], d.points[95]);

  // 21 hours after: 84 quarter hours back
  now = await clock(20 * 60 * MIN);
  d2 = await series('charted', '24h');
  assertShape(d2, 'charted', '24h', 96, QUARTER, now);
  assert.deepEqual(busy(d2.points), [11]);
  assert.equal(Date.parse(d2.points[11].t), q0);

  // 24 hours after: the quarter's slot is the current one's: stale, all empty
  now = await clock(3 * 60 * MIN);
  d2 = await series('charted', '24h');
  assertShape(d2, 'charted', '24h', 96, QUARTER, now);
  assert.deepEqual(busy(d2.points), []);
  assert.equal((await get(`${PV}/charted/metrics`)).json.metrics.since_start.requests, 4);

  // a new call fills only the current buckets
  assert.equal((await call('again')).status, 200);
  h2 = await series('charted', '1h');
  d2 = await series('charted', '24h');
  for (const s of [h2, d2]) {
    assert.deepEqual(busy(s.points), [s.points.length - 1]);
    assert.deepEqual([s.points.at(-1).requests, s.points.at(-1).errors, s.points.at(-1).error_rate], [1, 0, 0]);
  }
});

it('refusals: a bad window, another query parameter, another method, an unknown provider', async () => {
  for (const w of ['2h', '1H', '60m', 'x']) {
    const r = await get(`${PV}/charted/series?window=${w}`);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'ValidationException');
    assert.match(r.json.error.message, /window/);
    assert.match(r.json.error.message, /1h/);
    assert.match(r.json.error.message, /24h/);
  }
  for (const q of ['window=', 'window=1h&window=24h', 'window=1h&from=0', 'step=60']) {
    const r = await get(`${PV}/charted/series?${q}`);
    assert.equal(r.status, 400, `${q}: ${r.text}`);
  }
  const post = await H.api(S, 'POST', `${PV}/charted/series?window=1h`);
  assert.equal(post.status, 405, post.text);
  const un = await get(`${PV}/nosuch/series?window=24h`);
  const unm = await get(`${PV}/nosuch/metrics`);
  assert.equal(un.status, 404, un.text);
  assert.equal(un.json.error.code, 'ProviderNotFound');
  assert.equal(un.json.error.message, unm.json.error.message);
  assert.match(un.json.error.message, /charted/);
});

it('a read token may read it; an evaluate-only token may not', async () => {
  const mk = async (name, scopes) => {
    const r = await H.api(S, 'POST', '/api/v1/admin/tokens', { name, scopes });
    assert.equal(r.status, 201, r.text);
    return r.json.token;
  };
  const reader = await mk('series-reader', ['read']);
  const r = await get(`${PV}/charted/series?window=24h`, reader);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.points.length, 96);
  const ev = await get(`${PV}/charted/series?window=1h`, await mk('series-eval', ['evaluate']));
  assert.equal(ev.status, 403, ev.text);
  assert.equal((await get(`${PV}/charted/series?window=1h`, null)).status, 401);
});

// metrics.test.js — GET /metrics: Prometheus text with the gateway's metrics of docs/GATEWAY.md,
// values that follow the traffic (requests, tokens, images, cost, retries, fallbacks), and
// `promtool check metrics` (make test installs promtool: Debian's prometheus package).
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const H = require('./helpers');

const ROUTE = '/gw/metrics/route';
const COUNTERS = [
  'switchyard_gateway_requests_total',
  'switchyard_gateway_errors_total',
  'switchyard_gateway_tokens_total',
  'switchyard_gateway_images_total',
  'switchyard_gateway_cost_usd_total',
  'switchyard_gateway_retries_total',
  'switchyard_gateway_fallbacks_total',
];
const HISTOGRAMS = ['switchyard_gateway_ttfb_seconds', 'switchyard_gateway_duration_seconds'];
const GAUGES = ['switchyard_gateway_breaker_state'];
const OTHER = ['switchyard_gateway_overhead_seconds'];

let G;
let S;
let simA;
let simB;

before(async () => {
  G = await H.startGateway({ sims: 2 });
  S = G.S;
  [simA, simB] = G.sims;
  await H.putProvider(S, 'priced', H.openaiDoc(simA, {
    prices: { input_per_1k: 1, output_per_1k: 2, per_image: 0.5 },
    retry: { max_attempts: 2, base_ms: 10, max_ms: 20 },
  }));
  await H.putProvider(S, 'spare', H.openaiDoc(simB));
  await H.putRoute(S, ROUTE, { provider: 'priced', fallbacks: ['spare'] });
});
after(async () => { if (G) await G.cleanup(); });

const via = (body, p = '/v1/chat/completions') => H.gw(S, p, body, { headers: { 'X-Switchyard-Route': ROUTE } });

it('GET /metrics needs a token and answers Prometheus text', async () => {
  const no = await H.metricsText(S, null);
  assert.equal(no.status, 401);
  const r = await H.metricsText(S);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^text\/plain(;|$)/);
  assert.match(r.headers.get('content-type'), /version=0\.0\.4/);
  H.parseMetrics(r.text); // every sample line parses
});

it('after traffic: every metric of the contract, labelled, with values that follow the requests', async () => {
  simA.set({ usage: { prompt_tokens: 1000, completion_tokens: 500 } });
  for (let i = 0; i < 4; i++) assert.equal((await via(H.chatBody(`m${i}`))).status, 200);
  const s = await H.chatStream(S, H.chatBody('stream', { stream_options: { include_usage: true } }), { headers: { 'X-Switchyard-Route': ROUTE } });
  assert.ok(s.done);
  assert.equal((await via({ model: 'x', prompt: 'img', n: 2 }, '/v1/images/generations')).status, 200);
  simA.set({ fail_next: 1, fail_status: 503 });
  assert.equal((await via(H.chatBody('retry once'))).status, 200); // one retry, still priced
  simA.set({ error_every: 1, fail_status: 500 });
  const fb = await via(H.chatBody('to the spare'));
  assert.equal(fb.headers.get('x-switchyard-provider'), 'spare'); // two failures, one fallback
  simA.reset();
  simA.set({ fail_next: 1, fail_status: 400 });
  assert.equal((await via(H.chatBody('refused'))).status, 400); // an error the client sees

  const r = await H.metricsText(S);
  assert.equal(r.status, 200);
  const text = r.text;
  const samples = H.parseMetrics(text);
  const types = {};
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types[m[1]] = m[2];
  for (const n of COUNTERS) {
    assert.equal(types[n.replace(/_total$/, '')] || types[n], 'counter', `# TYPE of ${n}: ${types[n]}`);
    assert.ok(samples.some((x) => x.name === n), `no sample of ${n}`);
  }
  for (const n of HISTOGRAMS) {
    assert.equal(types[n], 'histogram', `# TYPE of ${n}`);
    for (const suf of ['_bucket', '_sum', '_count']) assert.ok(samples.some((x) => x.name === n + suf), `${n}${suf}`);
    const inf = samples.filter((x) => x.name === `${n}_bucket` && x.labels.le === '+Inf' && x.labels.provider === 'priced');
    assert.ok(inf.length >= 1, `${n} has a +Inf bucket for provider priced`);
  }
  for (const n of [...GAUGES, ...OTHER]) assert.ok(samples.some((x) => x.name === n || x.name.startsWith(`${n}_`)), `no sample of ${n}`);
  assert.ok(types[GAUGES[0]] === 'gauge', 'breaker_state is a gauge');

  // labels per provider and route
  const req = samples.filter((x) => x.name === 'switchyard_gateway_requests_total');
  assert.ok(req.every((x) => 'provider' in x.labels && 'route' in x.labels), `provider and route labels: ${JSON.stringify(req)}`);
  const routeLabel = (req.find((x) => x.labels.provider === 'priced') || { labels: {} }).labels.route;
  assert.ok(routeLabel && routeLabel.replace(/^\//, '') === ROUTE.slice(1), `route label ${routeLabel}`);
  const m = { provider: 'priced' };
  // 4 chats + 1 stream + 1 image + 1 retried chat + 1 refused, by priced; the fallback's request counts for spare
  const reqPriced = H.metricSum(samples, 'switchyard_gateway_requests_total', m);
  assert.ok(reqPriced >= 7, `requests_total{provider=priced} ${reqPriced}`);
  assert.ok(H.metricSum(samples, 'switchyard_gateway_requests_total', { provider: 'spare' }) >= 1);
  // tokens: 6 chat answers of 1000 in / 500 out
  const dirs = new Set(samples.filter((x) => x.name === 'switchyard_gateway_tokens_total').map((x) => x.labels.direction));
  assert.ok(dirs.size >= 2, `tokens_total has directions: ${[...dirs]}`);
  const tokIn = samples.filter((x) => x.name === 'switchyard_gateway_tokens_total' && x.labels.provider === 'priced' && /^(in|input|prompt)/.test(x.labels.direction)).reduce((a, x) => a + x.value, 0);
  const tokOut = samples.filter((x) => x.name === 'switchyard_gateway_tokens_total' && x.labels.provider === 'priced' && /^(out|output|completion)/.test(x.labels.direction)).reduce((a, x) => a + x.value, 0);
  assert.deepEqual([tokIn, tokOut], [6000, 3000], 'tokens in/out of provider priced');
  assert.equal(H.metricSum(samples, 'switchyard_gateway_images_total', m), 2);
  // cost: 6 × (1000/1000 × 1 + 500/1000 × 2) + 2 images × 0.5 = 13
  const cost = H.metricSum(samples, 'switchyard_gateway_cost_usd_total', m);
  assert.ok(Math.abs(cost - 13) < 1e-6, `cost_usd_total{provider=priced} ${cost}`);
  assert.ok(H.metricSum(samples, 'switchyard_gateway_retries_total', m) >= 2, 'one retry, then one more before the fallback');
  assert.ok(H.metricSum(samples, 'switchyard_gateway_fallbacks_total') >= 1, 'one fallback');
  const errs = samples.filter((x) => x.name === 'switchyard_gateway_errors_total');
  assert.ok(errs.length && errs.every((x) => 'class' in x.labels), 'errors_total{class}');
  assert.ok(H.metricSum(samples, 'switchyard_gateway_errors_total') >= 1, 'at least the 400 the client saw');
  const st = H.metricSum(samples, 'switchyard_gateway_breaker_state', m);
  assert.ok([0, 1, 2].includes(st), `breaker_state ${st}`);
  const cnt = H.metricSum(samples, 'switchyard_gateway_duration_seconds_count', m);
  assert.ok(cnt >= 7, `duration_seconds_count ${cnt}`);
});

it('promtool check metrics passes', () => {
  const which = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  assert.equal(which.status, 0, 'promtool is on PATH (scripts/deps.sh --test installs Debian\'s prometheus)');
  return H.metricsText(S).then((r) => {
    assert.equal(r.status, 200);
    let out;
    try {
      out = execFileSync('promtool', ['check', 'metrics'], { input: r.text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      assert.fail(`promtool check metrics failed (${e.status}):\n${e.stdout}\n${e.stderr}`);
    }
    return out;
  });
});

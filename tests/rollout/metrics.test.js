// metrics.test.js — pushed metrics (docs/ROLLOUTS.md, "Pushed metrics") against a live server:
// POST /api/v1/metrics checks a batch whole before any of it counts, and GET
// /api/v1/metrics?flag=KEY shows each variant's totals and last five minutes.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api } = require('../api/helpers');

const FLAG = 'audio-transcription/partial-results/config';
const OTHER = 'metrics/other';
let S;
let evalTok;
let readTok;
let writeTok;

async function mkToken(name, scopes) {
  const r = await api(S, 'POST', '/api/v1/admin/tokens', { name, scopes });
  assert.ok([200, 201].includes(r.status), `token ${name}: ${r.status} ${r.text}`);
  return r.json.token;
}

const push = (metrics, tok) => api(S, 'POST', '/api/v1/metrics', { metrics }, tok);
const show = (flag, tok) => api(S, 'GET', `/api/v1/metrics?flag=${encodeURIComponent(flag)}`, undefined, tok);

/* A refusal: status, the native error shape, and a message matching re. */
function refused(r, status, re, what) {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
  assert.ok(r.json && r.json.error && typeof r.json.error.code === 'string', `${what}: native error shape: ${r.text}`);
  if (re) assert.match(r.json.error.message, re, what);
}

async function totals(flag, variant) {
  const r = await show(flag);
  assert.equal(r.status, 200, r.text);
  const v = r.json.variants[variant];
  return v ? v.total : null;
}

before(async () => {
  S = await startServer();
  for (const key of [FLAG, OTHER]) {
    const r = await api(S, 'POST', '/api/v1/flags', {
      key, document: { variants: { on: true, off: false }, default_variant: 'off' },
    });
    assert.ok([200, 201].includes(r.status), `flag ${key}: ${r.status} ${r.text}`);
  }
  evalTok = await mkToken('app-evaluator', ['evaluate']);
  readTok = await mkToken('app-reader', ['read']);
  writeTok = await mkToken('app-writer', ['write']);
});
after(async () => { if (S) await S.cleanup(); });

describe('POST /api/v1/metrics', () => {
  it('accepts a batch and shows it per variant, total and last 5 minutes', async () => {
    const r = await push([
      { flag: FLAG, variant: 'on', requests: 120, errors: 2, latency_ms: [120, 340.5], cost_usd: 0.12, images: 0 },
      { flag: FLAG, variant: 'off', requests: 10 },
    ], evalTok);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { accepted: 2 });
    const g = await show(FLAG);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.flag, FLAG);
    const on = g.json.variants.on;
    assert.equal(on.total.requests, 120);
    assert.equal(on.total.errors, 2);
    assert.ok(Math.abs(on.total.error_rate - 100 * 2 / 120) < 1e-9, JSON.stringify(on.total));
    assert.ok(Math.abs(on.total.cost_usd - 0.12) < 1e-9);
    for (const q of ['p50_ms', 'p95_ms', 'p99_ms']) {
      assert.equal(typeof on.total[q], 'number', q);
      assert.ok(on.total[q] > 0 && on.total[q] <= 1000, `${q} ${on.total[q]}`);
    }
    assert.deepEqual(on.last_5m, on.total);
    assert.equal(g.json.variants.off.total.requests, 10);
    assert.equal(g.json.variants.off.total.p95_ms, null, 'no latency pushed: no percentile');
  });

  it('adds pushes up, with a write token too', async () => {
    const before0 = (await totals(OTHER, 'v2')) || { requests: 0, errors: 0 };
    for (let i = 0; i < 5; i++) {
      const r = await push([{ flag: OTHER, variant: 'v2', requests: 7, errors: 1, cost_usd: 0.5 }], i % 2 ? writeTok : evalTok);
      assert.equal(r.status, 200, r.text);
    }
    const t = await totals(OTHER, 'v2');
    assert.equal(t.requests, before0.requests + 35);
    assert.equal(t.errors, before0.errors + 5);
    assert.ok(Math.abs(t.cost_usd - 2.5) < 1e-9);
  });

  it('refuses a whole batch for one bad item: nothing of it counts', async () => {
    const t0 = await totals(OTHER, 'v2');
    const r = await push([
      { flag: OTHER, variant: 'v2', requests: 100 },
      { flag: OTHER, variant: 'v2', requests: 100 },
      { flag: OTHER, variant: 'v2', requests: 100 },
      { flag: OTHER, variant: 'v2', requests: 1, foo: 1 },
    ]);
    refused(r, 400, /^metrics\[3\]\.foo: unknown key/, 'unknown key in the last item');
    assert.deepEqual(await totals(OTHER, 'v2'), t0);
  });

  it('names the item and the field of each refusal', async () => {
    const cases = [
      [[{ flag: FLAG, variant: 'on', requests: -1 }], /^metrics\[0\]\.requests must be an integer from 0 to 1000000000/],
      [[{ flag: FLAG, variant: 'on', requests: 1.5 }], /^metrics\[0\]\.requests must be an integer/],
      [[{ flag: FLAG, variant: 'on', requests: 1000000001 }], /^metrics\[0\]\.requests/],
      [[{ flag: FLAG, variant: 'on', requests: 1, errors: -3 }], /^metrics\[0\]\.errors must be an integer/],
      [[{ flag: FLAG, variant: 'on', requests: 1, images: '2' }], /^metrics\[0\]\.images must be an integer/],
      [[{ flag: FLAG, variant: 'on', requests: 1 }, { flag: FLAG, variant: 'on', requests: 2, errors: 3 }],
        /^metrics\[1\]\.errors .*may not exceed requests/],
      [[{ flag: FLAG, variant: 'on', requests: 1, cost_usd: -0.01 }], /^metrics\[0\]\.cost_usd/],
      [[{ flag: FLAG, variant: 'on', requests: 1, cost_usd: 1e7 }], /^metrics\[0\]\.cost_usd/],
      [[{ flag: FLAG, variant: 'on', requests: 1, latency_ms: [1, -2] }], /^metrics\[0\]\.latency_ms\[1\]/],
      [[{ flag: FLAG, variant: 'on', requests: 1, latency_ms: [1e7 + 1] }], /^metrics\[0\]\.latency_ms\[0\]/],
      [[{ flag: FLAG, variant: 'on', requests: 1, latency_ms: 5 }], /^metrics\[0\]\.latency_ms must be an array/],
      [[{ flag: FLAG, requests: 1 }], /^metrics\[0\]\.variant is required/],
      [[{ flag: FLAG, variant: '', requests: 1 }], /^metrics\[0\]\.variant/],
      [[{ flag: FLAG, variant: 'x'.repeat(65), requests: 1 }], /^metrics\[0\]\.variant/],
      [[{ variant: 'on', requests: 1 }], /^metrics\[0\]\.flag is required/],
      [[{ flag: 'x/y', variant: 'on', requests: 1 }], /^metrics\[0\]\.flag: no flag named x\/y/],
      [[{ flag: FLAG, variant: 'on' }, 7], /^metrics\[1\] must be an object/],
    ];
    const t0 = await totals(FLAG, 'on');
    for (const [metrics, re] of cases) refused(await push(metrics), 400, re, JSON.stringify(metrics).slice(0, 120));
    refused(await api(S, 'POST', '/api/v1/metrics', { metrics: {} }), 400, /metrics must be an array/, 'not an array');
    refused(await api(S, 'POST', '/api/v1/metrics', { metrics: [], extra: 1 }), 400, /extra: unknown key/, 'top key');
    refused(await api(S, 'POST', '/api/v1/metrics', '{"metrics": [], "metrics": []}'), 400, /duplicate|malformed/i, 'dup');
    assert.deepEqual(await totals(FLAG, 'on'), t0, 'no refused batch counted');
  });

  it('refuses a string that is not a flag', async () => {
    const r = await api(S, 'PUT', '/api/v1/params/metrics/plain', { value: 'x', type: 'String' });
    assert.ok(r.status < 300, r.text);
    refused(await push([{ flag: 'metrics/plain', variant: 'on', requests: 1 }]), 400, /^metrics\[0\]\.flag: no flag named/, 'a String');
    refused(await show('x/y'), 404, /x\/y/, 'GET of an unknown flag');
  });

  it('bounds a batch: 1000 items, 10,000 observations, 1 MiB', async () => {
    const item = { flag: OTHER, variant: 'bulk', requests: 1 };
    const ok = await push(Array.from({ length: 1000 }, () => item));
    assert.equal(ok.status, 200, ok.text);
    refused(await push(Array.from({ length: 1001 }, () => item)), 400, /1001 items; a batch takes at most 1000/, '1001 items');
    const lat = (n) => ({ flag: OTHER, variant: 'bulk', requests: 1, latency_ms: Array.from({ length: n }, () => 1) });
    assert.equal((await push([lat(5000), lat(5000)])).status, 200);
    refused(await push([lat(5000), lat(5000), lat(1)]), 400, /^metrics\[2\]\.latency_ms: a batch takes at most 10000/, 'observations');
    const big = JSON.stringify({ metrics: [{ flag: OTHER, variant: 'bulk', requests: 1, pad: 'x'.repeat(1024 * 1024) }] });
    refused(await api(S, 'POST', '/api/v1/metrics', big), 413, null, 'oversize body');
    assert.equal((await totals(OTHER, 'bulk')).requests, 1002);
  });

  it('asks for a token with the evaluate or write scope', async () => {
    refused(await push([{ flag: FLAG, variant: 'on', requests: 1 }], null), 401, null, 'no token');
    refused(await push([{ flag: FLAG, variant: 'on', requests: 1 }], 'nope-not-a-token'), 401, null, 'unknown token');
    refused(await push([{ flag: FLAG, variant: 'on', requests: 1 }], readTok), 403, /evaluate or write/, 'read-only token');
    refused(await show(FLAG, evalTok), 403, /read/, 'GET with an evaluate-only token');
    assert.equal((await show(FLAG, readTok)).status, 200);
    refused(await api(S, 'DELETE', '/api/v1/metrics'), 405, null, 'DELETE');
  });

  it('counts concurrent pushes exactly', async () => {
    const t0 = (await totals(OTHER, 'race')) || { requests: 0, errors: 0 };
    const N = 40;
    const rs = await Promise.all(Array.from({ length: N }, (_, i) => push([
      { flag: OTHER, variant: 'race', requests: 3, errors: 1, latency_ms: [i] },
      { flag: OTHER, variant: 'race', requests: 2 },
    ], i % 2 ? evalTok : writeTok)));
    for (const r of rs) assert.equal(r.status, 200, r.text);
    const t = await totals(OTHER, 'race');
    assert.equal(t.requests, t0.requests + 5 * N);
    assert.equal(t.errors, t0.errors + N);
  });

  // last: it fills the server with series. Five exist so far (FLAG on/off, OTHER v2/bulk/race).
  it('refuses a whole batch past 10,000 series (429) and still counts known ones', async () => {
    const fresh = (tag, n) => Array.from({ length: n }, (_, i) => ({ flag: OTHER, variant: `${tag}-${i}`, requests: 1 }));
    for (let b = 0; b < 9; b++) assert.equal((await push(fresh(`b${b}`, 1000))).status, 200);
    const race0 = await totals(OTHER, 'race');
    const over = await push([{ flag: OTHER, variant: 'race', requests: 1 }, ...fresh('over', 999)]);
    refused(over, 429, /at most 10000 .*series; nothing of the batch was counted/, '10,004 series');
    assert.deepEqual(await totals(OTHER, 'race'), race0);
    assert.equal((await push(fresh('fit', 995))).status, 200, 'exactly 10,000');
    refused(await push(fresh('one-more', 1)), 429, null, '10,001 series');
    assert.equal((await push([{ flag: OTHER, variant: 'race', requests: 1 }])).status, 200, 'a known series');
  });
});

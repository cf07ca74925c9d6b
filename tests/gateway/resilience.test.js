// resilience.test.js — retries, Retry-After, fallbacks and breakers, observed from both sides:
// the client's answer and its headers, and what each simulated provider actually received.
'use strict';

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

let G;
let S;
let simA; // the primary's upstream
let simB; // the fallback's upstream
let simC; // the breaker's upstream

before(async () => {
  G = await H.startGateway({ sims: 3 });
  S = G.S;
  [simA, simB, simC] = G.sims;
  await H.putProvider(S, 'primary', H.openaiDoc(simA, { retry: { max_attempts: 3, base_ms: 10, max_ms: 40 } }));
  await H.putProvider(S, 'backup', H.openaiDoc(simB));
  await H.putProvider(S, 'flaky', H.openaiDoc(simC, {
    retry: { max_attempts: 1, base_ms: 10, max_ms: 50 },
    breaker: { consecutive_failures: 3, error_rate_percent: 100, min_requests: 1000, window_ms: 60000, cooldown_ms: 300, half_open_max: 1, recovery_ms: 0 },
  }));
  // the same, but back through a ten-minute ramp once a trial closes its breaker
  await H.putProvider(S, 'ramped', H.openaiDoc(simC, {
    retry: { max_attempts: 1, base_ms: 10, max_ms: 50 },
    breaker: { consecutive_failures: 3, error_rate_percent: 100, min_requests: 1000, window_ms: 60000, cooldown_ms: 300, half_open_max: 1, recovery_ms: 600000 },
  }));
  await H.putRoute(S, '/gw/res/ramped', { provider: 'ramped', fallbacks: ['backup'] });
  await H.putRoute(S, '/gw/res/retry', { provider: 'primary' });
  await H.putRoute(S, '/gw/res/fallback', { provider: 'primary', fallbacks: ['backup'] });
  await H.putRoute(S, '/gw/res/breaker', { provider: 'flaky', fallbacks: ['backup'] });
});
after(async () => { if (G) await G.cleanup(); });
beforeEach(() => { for (const s of G.sims) s.reset(); });

const via = (route, text = 'resilience') => H.chat(S, H.chatBody(text), { headers: { 'X-Switchyard-Route': route } });
const count = (sim) => sim.stats().by_format.openai;

describe('retries', () => {
  it('two 503s then success: 200 after 3 attempts on the same provider', async () => {
    simA.set({ fail_next: 2, fail_status: 503 });
    const r = await via('/gw/res/retry', 'third time lucky');
    assert.equal(r.status, 200, r.text);
    H.assertGatewayHeaders(r.headers, { provider: 'primary', attempts: 3 });
    assert.equal(r.json.choices[0].message.content, 'sim-openai: third time lucky');
    assert.equal(count(simA), 3);
    assert.deepEqual(simA.stats().log.map((e) => e.outcome), [503, 503, 'ok']);
  });

  it('429 and 500 are retried too; three failures in three attempts fail the request with an OpenAI error', async () => {
    simA.set({ fail_next: 1, fail_status: 429 });
    let r = await via('/gw/res/retry');
    assert.equal(r.status, 200, r.text);
    H.assertGatewayHeaders(r.headers, { attempts: 2 });
    simA.reset();
    simA.set({ error_every: 1, fail_status: 500 });
    r = await via('/gw/res/retry');
    const e = H.assertOpenAIError(r, [500, 502, 503]);
    assert.ok(e);
    H.assertGatewayHeaders(r.headers, { provider: 'primary', attempts: 3 });
    assert.equal(count(simA), 3, 'max_attempts, no more');
  });

  it('Retry-After is honoured: the sim sees the retry no earlier than the seconds it asked for', async () => {
    simA.set({ fail_next: 1, fail_status: 503, retry_after: 1 });
    const r = await via('/gw/res/retry', 'after a pause');
    assert.equal(r.status, 200, r.text);
    H.assertGatewayHeaders(r.headers, { attempts: 2 });
    const log = simA.stats().log;
    assert.equal(log.length, 2);
    const gap = log[1].at - log[0].at;
    // measured where the requests arrive; 10 ms for the clocks' rounding
    assert.ok(gap >= 990, `the retry came ${gap.toFixed(1)} ms after a Retry-After: 1`);
    simA.reset();
    simA.set({ fail_next: 1, fail_status: 429, retry_after: 1 });
    const r2 = await via('/gw/res/retry');
    assert.equal(r2.status, 200, r2.text);
    const l2 = simA.stats().log;
    assert.ok(l2[1].at - l2[0].at >= 990, `429: retry after ${(l2[1].at - l2[0].at).toFixed(1)} ms`);
  });

  it('a Retry-After longer than the route\'s deadline is not waited for', async () => {
    await H.putRoute(S, '/gw/res/short', { provider: 'primary', fallbacks: ['backup'], deadline_ms: 2000 });
    simA.set({ error_every: 1, fail_status: 503, retry_after: 30 });
    const t0 = Date.now();
    const r = await via('/gw/res/short');
    assert.ok(Date.now() - t0 < 10000, 'answered well before the 30 s Retry-After');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-switchyard-provider'), 'backup');
  });

  it('a 400 from the provider is the caller\'s error: returned as is, not retried, no fallback', async () => {
    simA.set({ fail_next: 1, fail_status: 400 });
    const r = await via('/gw/res/fallback');
    H.assertOpenAIError(r, 400, 'invalid_request_error');
    H.assertGatewayHeaders(r.headers, { provider: 'primary', attempts: 1 });
    assert.equal(count(simA), 1);
    assert.equal(count(simB), 0);
    simA.set({ fail_next: 1, fail_status: 404 });
    const r404 = await via('/gw/res/fallback');
    assert.equal(r404.status, 404, r404.text);
    assert.equal(count(simA), 2);
    assert.equal(count(simB), 0);
  });
});

describe('fallback', () => {
  it('a primary that always answers 500 → served by the fallback after its retries', async () => {
    simA.set({ error_every: 1, fail_status: 500 });
    const r = await via('/gw/res/fallback', 'fall back');
    assert.equal(r.status, 200, r.text);
    H.assertGatewayHeaders(r.headers, { provider: 'backup', route: '/gw/res/fallback' });
    assert.equal(r.json.choices[0].message.content, 'sim-openai: fall back');
    assert.equal(count(simA), 3, 'the primary had its three attempts');
    assert.equal(count(simB), 1);
  });

  it('a connection refused and garbage fall back too', async () => {
    const dead = await H.startSim();
    const url = dead.url;
    await dead.close(); // nothing listens there now
    await H.putProvider(S, 'gone', H.openaiDoc({ url }));
    await H.putRoute(S, '/gw/res/gone', { provider: 'gone', fallbacks: ['backup'] });
    let r = await via('/gw/res/gone');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-switchyard-provider'), 'backup');
    simA.set({ garbage: 'html' });
    r = await via('/gw/res/fallback');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-switchyard-provider'), 'backup');
  });

  it('a primary that hangs past timeouts_ms.total falls back', async () => {
    await H.putProvider(S, 'hanger', H.openaiDoc(simA, { timeouts_ms: { connect: 1000, first_byte: 400, idle: 400, total: 600 } }));
    await H.putRoute(S, '/gw/res/hang', { provider: 'hanger', fallbacks: ['backup'] });
    simA.set({ hang: true });
    const t0 = Date.now();
    const r = await via('/gw/res/hang');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-switchyard-provider'), 'backup');
    assert.ok(Date.now() - t0 < 8000);
  });
});

describe('breaker', () => {
  it('opens after consecutive failures, skips the provider, half-opens after cooldown_ms, closes on success', async () => {
    simC.set({ error_every: 1, fail_status: 500 });
    for (let i = 0; i < 3; i++) {
      const r = await via('/gw/res/breaker', `fail ${i}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('x-switchyard-provider'), 'backup');
    }
    assert.equal(count(simC), 3);
    const openedAt = simC.stats().log.at(-1).at;

    // open: the provider is not contacted at all
    const r = await via('/gw/res/breaker', 'while open');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-switchyard-provider'), 'backup');
    assert.equal(count(simC), 3, 'an open breaker sends nothing upstream');
    const m = H.parseMetrics((await H.metricsText(S)).text);
    assert.equal(H.metricSum(m, 'switchyard_gateway_breaker_state', { provider: 'flaky' }), 1, 'breaker_state 1 (open)');
    await H.waitFor(() => H.logRecords(S).some((x) => x.msg === 'circuit breaker open' && x.provider === 'flaky' && x.level === 'warn'),
      5000, 'a "circuit breaker open" warning naming the provider');

    // the provider recovers; after the cooldown one trial goes through and closes the breaker
    simC.set({ error_every: 0 });
    const served = await H.waitFor(async () => {
      const x = await via('/gw/res/breaker', 'trial');
      return x.headers.get('x-switchyard-provider') === 'flaky' ? x : null;
    }, 5000, 'a half-open trial served by flaky', 25);
    assert.equal(served.status, 200);
    const trialAt = simC.stats().log.at(-1).at;
    assert.equal(count(simC), 4, 'exactly one trial');
    assert.ok(trialAt - openedAt >= 290, `the trial came ${(trialAt - openedAt).toFixed(0)} ms after opening (cooldown 300)`);
    for (let i = 0; i < 5; i++) {
      const x = await via('/gw/res/breaker', `closed ${i}`);
      assert.equal(x.headers.get('x-switchyard-provider'), 'flaky');
    }
    assert.equal(count(simC), 9);
    assert.ok(H.logRecords(S).some((x) => x.msg === 'circuit breaker closed' && x.provider === 'flaky'), 'the breaker closing is logged');
  });

  it('a provider whose breaker closed comes back through a ramp: right after, nearly all of its share still goes down the chain', async () => {
    simC.set({ error_every: 1, fail_status: 500 });
    for (let i = 0; i < 3; i++) await via('/gw/res/ramped');
    assert.equal(count(simC), 3);
    simC.set({ error_every: 0 });
    await H.waitFor(async () => (await via('/gw/res/ramped')).headers.get('x-switchyard-provider') === 'ramped',
      5000, 'a half-open trial served by ramped', 25);
    const n = count(simC);
    const after = [];
    for (let i = 0; i < 40; i++) after.push((await via('/gw/res/ramped')).headers.get('x-switchyard-provider'));
    // seconds into a ten-minute ramp its share is well under 5 %: a full share would send all 40
    assert.ok(after.filter((p) => p === 'ramped').length <= 4, `ramped served ${after.filter((p) => p === 'ramped').length} of 40`);
    assert.ok(after.filter((p) => p === 'backup').length >= 36);
    assert.ok(count(simC) - n <= 4);
  });

  it('a failed half-open trial opens it again', async () => {
    simC.set({ error_every: 1, fail_status: 503 });
    for (let i = 0; i < 3; i++) await via('/gw/res/breaker');
    const n = count(simC);
    assert.equal(n, 3);
    await H.waitFor(async () => { await via('/gw/res/breaker'); return count(simC) > n; }, 5000, 'the trial', 25);
    assert.equal(count(simC), n + 1);
    const reopened = simC.stats().log.at(-1).at;
    // open again: requests right after skip it
    const r = await via('/gw/res/breaker');
    assert.equal(r.headers.get('x-switchyard-provider'), 'backup');
    if (performance.timeOrigin + performance.now() - reopened < 250) assert.equal(count(simC), n + 1, 'skipped while open again');
    simC.reset();
    await H.waitFor(async () => (await via('/gw/res/breaker')).headers.get('x-switchyard-provider') === 'flaky', 5000, 'closed after a good trial', 25);
  });

  it('concurrent requests while half-open: only half_open_max trials reach the provider', async () => {
    simC.set({ error_every: 1, fail_status: 500 });
    for (let i = 0; i < 3; i++) await via('/gw/res/breaker');
    const n = count(simC);
    simC.set({ error_every: 0, latency_ms: 300 });
    // wait out the cooldown on the sim's clock, then a burst
    const openedAt = simC.stats().log.at(-1).at;
    await H.waitFor(() => performance.timeOrigin + performance.now() - openedAt > 400, 2000, 'cooldown elapsed', 10);
    const burst = await Promise.all(Array.from({ length: 10 }, () => via('/gw/res/breaker')));
    for (const b of burst) assert.equal(b.status, 200);
    assert.equal(count(simC), n + 1, 'one trial only');
    assert.equal(burst.filter((b) => b.headers.get('x-switchyard-provider') === 'flaky').length, 1);
  });
});

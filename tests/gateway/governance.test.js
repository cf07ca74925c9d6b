// governance.test.js — runbook 001's spending limits: the API as the runbook writes it, no
// overshoot under 100 concurrent requests, a ledger that survives a restart, and a budget day
// that rolls over on the server's (test) clock.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

let G;
let S;
let sim;

const limit = (body) => H.api(S, 'POST', '/api/v1/governance/limits', body);
const status = async () => (await H.api(S, 'GET', '/api/v1/governance/status')).json;
const named = (st, name) => st.limits.find((l) => l.name === name);

before(async () => {
  G = await H.startGateway({ sims: 1, env: { SWITCHYARD_TEST_CLOCK: '1' } });
  S = G.S;
  sim = G.sims[0];
  // every answer costs exactly 100 output tokens at $1 per 1k: $0.10; max_tokens 100 makes the worst case the same
  await H.putProvider(S, 'paid', H.openaiDoc(sim, { prices: { input_per_1k: 0, output_per_1k: 1.0 }, max_output_tokens: 1000 }));
  await H.putRoute(S, '/gw/gov/paid', { provider: 'paid', fallbacks: ['stub'] });
  await H.putRoute(S, '/gw/gov/strict', { provider: 'paid' });
});
after(async () => { if (G) await G.cleanup(); });

it('runbook 001\'s body as written; bad limits are refused and nothing is written', async () => {
  const r = await limit({ limit_type: 'per_provider', scope: 'openai', soft_limit_usd: 200.0, hard_limit_usd: 250.0 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, '/switchyard/limits/per_provider/openai');
  assert.equal(r.json.limit.period, 'daily');
  const st = await status();
  const l = named(st, '/switchyard/limits/per_provider/openai');
  assert.deepEqual([l.limit_type, l.scope, l.soft_limit_usd, l.hard_limit_usd, l.state, l.consumed_usd], ['per_provider', 'openai', 200, 250, 'ok', 0]);
  for (const [body, re] of [
    [{ limit_type: 'global', soft_limit_usd: 300, hard_limit_usd: 250 }, /soft_limit_usd \(300\) must not be above hard_limit_usd \(250\)/],
    [{ limit_type: 'global', hard_limit_usd: -1 }, /hard_limit_usd must be a number/],
    [{ limit_type: 'global', soft_limit_usd: -5, hard_limit_usd: 5 }, /soft_limit_usd must be a number/],
    [{ limit_type: 'weekly_thing', hard_limit_usd: 5 }, /limit_type must be global, per_provider or per_route/],
    [{ limit_type: 'per_provider', scope: 'bad name!', hard_limit_usd: 5 }, /scope must be a provider's name/],
    [{ limit_type: 'global', hard_limit_usd: 5, period: 'monthly' }, /period must be "daily"/],
    [{ limit_type: 'global' }, /hard_limit_usd is required/],
  ]) {
    const bad = await limit(body);
    assert.equal(bad.status, 400, JSON.stringify(body));
    assert.match(bad.json.error.message, re);
  }
  assert.equal((await status()).limits.length, 1, 'nothing else was written');
});

it('100 concurrent requests at a hard limit that 10 of them reach: spend never passes it', async () => {
  sim.reset();
  sim.set({ latency_ms: 400, usage: { prompt_tokens: 10, completion_tokens: 100 } });
  assert.equal((await limit({ limit_type: 'per_route', scope: '/gw/gov/strict', soft_limit_usd: 0.5, hard_limit_usd: 1.0 })).status, 200);
  const body = H.chatBody('spend', { max_tokens: 100 });
  const all = await Promise.all(Array.from({ length: 100 }, () => H.gw(S, '/v1/chat/completions', body, { headers: { 'X-Switchyard-Route': '/gw/gov/strict' } })));
  const ok = all.filter((r) => r.status === 200).length;
  const refused = all.filter((r) => r.status === 503);
  assert.equal(ok, 10, `exactly the 10 that fit were served: ${ok}`);
  assert.equal(refused.length, 90);
  assert.match(refused[0].json.error.message, /circuit breaker open: daily budget limit reached/);
  assert.equal(sim.stats().by_format.openai, 10, 'the refused ones never reached the provider');
  const l = named(await status(), '/switchyard/limits/per_route/gw/gov/strict');
  assert.ok(l.consumed_usd <= 1.0 + 1e-9, `spent ${l.consumed_usd} <= 1.0`);
  assert.ok(Math.abs(l.consumed_usd - 1.0) < 1e-9, `spent ${l.consumed_usd}`);
  assert.equal(l.reserved_usd, 0);
  assert.equal(l.request_count, 10);
  assert.equal(l.state, 'hard_limit_reached');
  assert.equal(l.remaining_usd, 0);
});

it('a route with a fallback follows it past the budget; raising the limit lifts the refusal', async () => {
  sim.reset();
  sim.set({ usage: { prompt_tokens: 10, completion_tokens: 100 } });
  await limit({ limit_type: 'per_provider', scope: 'paid', hard_limit_usd: 0.2 });
  const body = H.chatBody('fallback', { max_tokens: 100 });
  const served = [];
  for (let i = 0; i < 4; i++) served.push((await H.gw(S, '/v1/chat/completions', body, { headers: { 'X-Switchyard-Route': '/gw/gov/paid' } })).headers.get('x-switchyard-provider'));
  assert.deepEqual(served, ['paid', 'paid', 'stub', 'stub']);
  assert.equal(named(await status(), '/switchyard/limits/per_provider/paid').state, 'hard_limit_reached');
  await limit({ limit_type: 'per_provider', scope: 'paid', hard_limit_usd: 0.3 });
  const r = await H.gw(S, '/v1/chat/completions', body, { headers: { 'X-Switchyard-Route': '/gw/gov/paid' } });
  assert.equal(r.headers.get('x-switchyard-provider'), 'paid', 'room again after the limit was raised');
});

it('a request without max_tokens reserves the provider\'s cap: the limit holds all the same', async () => {
  sim.reset();
  sim.set({ usage: { prompt_tokens: 10, completion_tokens: 100 } });
  await limit({ limit_type: 'global', hard_limit_usd: 100 });
  // the cap is 1000 tokens: $1.00 reserved each, $0.10 spent each
  const before = named(await status(), '/switchyard/limits/global').consumed_usd;
  const r = await H.gw(S, '/v1/chat/completions', H.chatBody('no cap'), { headers: { 'X-Switchyard-Route': '/gw/gov/paid' } });
  assert.equal(r.status, 200, r.text);
  const after = named(await status(), '/switchyard/limits/global');
  assert.ok(Math.abs(after.consumed_usd - before - 0.1) < 1e-9 || r.headers.get('x-switchyard-provider') === 'stub');
  assert.equal(after.reserved_usd, 0, 'the reservation is settled to the real cost');
});

it('a restart keeps the day\'s spend; the next UTC day starts from nothing', async () => {
  const name = '/switchyard/limits/per_route/gw/gov/strict';
  const spent = named(await status(), name).consumed_usd;
  assert.ok(spent > 0);
  await S.restart();
  const again = named(await status(), name);
  assert.ok(Math.abs(again.consumed_usd - spent) < 1e-9, `after a restart: ${again.consumed_usd} (was ${spent})`);
  assert.equal(again.state, 'hard_limit_reached');
  // still refused after the restart
  const r = await H.gw(S, '/v1/chat/completions', H.chatBody('x', { max_tokens: 100 }), { headers: { 'X-Switchyard-Route': '/gw/gov/strict' } });
  assert.equal(r.status, 503);
  // a day later (the server's test clock)
  const day0 = (await status()).day;
  const mv = await H.api(S, 'POST', '/api/v1/admin/clock', { advance_ms: 86400000 });
  assert.equal(mv.status, 200, mv.text);
  const st = await status();
  assert.notEqual(st.day, day0);
  const fresh = named(st, name);
  assert.deepEqual([fresh.consumed_usd, fresh.request_count, fresh.state], [0, 0, 'ok']);
  sim.reset();
  sim.set({ usage: { prompt_tokens: 10, completion_tokens: 100 } });
  const ok = await H.gw(S, '/v1/chat/completions', H.chatBody('new day', { max_tokens: 100 }), { headers: { 'X-Switchyard-Route': '/gw/gov/strict' } });
  assert.equal(ok.status, 200, ok.text);
});

it('preflight names each limit that applies to the provider and fails when one has no room', async () => {
  await limit({ limit_type: 'per_provider', scope: 'paid', hard_limit_usd: 0.0000001 });
  const r = await H.api(S, 'POST', '/api/v1/providers/paid/preflight');
  assert.equal(r.status, 200, r.text);
  const b = r.json.checks.find((c) => c.name === 'budget');
  assert.equal(b.pass, false, JSON.stringify(b));
  assert.match(b.detail, /per_provider paid: \$0\.0000 of \$0\.0000 left today/);
  assert.equal(r.json.ready, false);
  await limit({ limit_type: 'per_provider', scope: 'paid', hard_limit_usd: 1000 });
  const ok = await H.api(S, 'POST', '/api/v1/providers/paid/preflight');
  assert.equal(ok.json.checks.find((c) => c.name === 'budget').pass, true);
});

it('a provider at its hard budget reads as its breaker open, with runbook 002\'s words', async () => {
  await limit({ limit_type: 'per_provider', scope: 'paid', hard_limit_usd: 0.0000001 });
  // a request reaches the limit's refusal
  await H.gw(S, '/v1/chat/completions', H.chatBody('x', { max_tokens: 100 }), { headers: { 'X-Switchyard-Route': '/gw/gov/paid' } });
  const st = (await H.api(S, 'GET', '/api/v1/providers/paid/status')).json;
  assert.deepEqual([st.status, st.breaker, st.reason], ['offline', 'open', 'circuit breaker open: daily budget limit reached']);
  const list = (await H.api(S, 'GET', '/api/v1/providers')).json.providers.find((p) => p.name === 'paid');
  assert.equal(list.connection_status, 'circuit_open');
  await limit({ limit_type: 'per_provider', scope: 'paid', hard_limit_usd: 1000 });
  assert.notEqual((await H.api(S, 'GET', '/api/v1/providers/paid/status')).json.reason, 'circuit breaker open: daily budget limit reached');
});

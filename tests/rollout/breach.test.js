// breach.test.js — what a breached gate does (docs/ROLLOUTS.md): at every step of a 4-step plan
// a breach rolls the target back to 0 by itself (flag and route targets), with the breach object,
// an audit record by the controller and the alert rollout_rolled_back; on_breach "previous" goes
// back one step and pauses; "pause" pauses where it is; a critical alert on the target's provider
// rolls a plan back even without gates; a Prometheus gate that cannot be read pauses the plan,
// which never promotes on missing data.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const H = require('./helpers');

let S;
let sims = [];

before(async () => {
  S = await H.startRolloutServer();
  sims = [await H.startSim({}), await H.startSim({})];
});
after(async () => {
  for (const s of sims) await s.close();
  if (S) await S.cleanup();
});

const PCTS = [10, 25, 50, 100];
const gatedPlan = (target, extra = {}) => ({
  target,
  steps: PCTS.map((p) => ({ percent: p, bake: '1h' })),
  gates: [
    { metric: 'error_rate', max: 10 },
    { metric: 'p95_ms', max: 5000 },
    { metric: 'errors', max: 50 },
    { metric: 'cost_per_request', max: 0.01 },
  ],
  ...extra,
});

/* Moves a plan to step i with promote commands (skips the bakes). */
async function promoteTo(name, i) {
  for (let k = 1; k <= i; k++) {
    await H.command(S, name, 'promote', { reason: `to step ${k}` });
    await H.waitStep(S, name, k, PCTS[k]);
  }
}

/* Polls the target (not the plan's status, whose GET would judge it) until it reads pct. */
async function waitFlagAt(flag, pct, deadlineMs = H.ONE_PERIOD_MS + 5000) {
  const t0 = Date.now();
  await H.waitFor(async () => (await H.getFlag(S, flag)).rollout_percentage === pct, deadlineMs, `${flag} at ${pct} %`, 10);
  return Date.now() - t0;
}

// at each step a different gate breaches: what is pushed, and the gate expected to name it
const BREACHES = [
  { what: 'error_rate 20 %', items: (f) => [H.item(f, 'on', 100, { errors: 20 })], gate: /error_rate/, value: 20, bound: 10 },
  { what: 'p95 9 s', items: (f) => [H.item(f, 'on', 100, { latencyMs: 9000 })], gate: /p95/, bound: 5000 },
  { what: '60 errors', items: (f) => [H.item(f, 'on', 1000, { errors: 60 })], gate: /errors/, value: 60, bound: 50 },
  { what: '$0.05 a request', items: (f) => [H.item(f, 'on', 100, { cost: 5 })], gate: /cost_per_request/, value: 0.05, bound: 0.01 },
];

describe('a breach at each step of a 4-step plan rolls back to 0', () => {
  for (let i = 0; i < 4; i++) {
    it(`step ${i} (${PCTS[i]} %), ${BREACHES[i].what}`, async (t) => {
      const flag = `breach/step${i}`;
      const name = `breach-step${i}`;
      const b = BREACHES[i];
      await H.createFlag(S, flag, { enabled: true, rollout_percentage: 0 });
      await H.createPlan(S, name, gatedPlan({ flag }));
      await H.waitStep(S, name, 0, 10);
      await promoteTo(name, i);
      assert.equal((await H.getFlag(S, flag)).rollout_percentage, PCTS[i]);
      await H.push(S, [...b.items(flag), H.item(flag, 'off', 100)]);
      const took = await waitFlagAt(flag, 0);
      t.diagnostic(`back at 0 % ${took} ms after the push`);
      assert.ok(took <= H.ONE_PERIOD_MS, `rolled back ${took} ms after the push: more than one period (${H.ONE_PERIOD_MS} ms allowed)`);
      const s = await H.status(S, name);
      assert.equal(s.phase, 'rolled_back', H.fmt(s));
      assert.equal(s.percent, 0, H.fmt(s));
      assert.ok(s.breach, H.fmt(s));
      assert.match(s.breach.gate, b.gate, H.fmt(s.breach));
      if (b.value !== undefined) assert.ok(Math.abs(s.breach.value - b.value) < 1e-9, H.fmt(s.breach));
      else assert.ok(s.breach.value > b.bound, H.fmt(s.breach));
      assert.equal(s.breach.bound, b.bound, H.fmt(s.breach));
      assert.equal(s.breach.step, i, H.fmt(s.breach));
      assert.equal(s.breach.percent, PCTS[i], H.fmt(s.breach));
      assert.ok(typeof s.breach.message === 'string' && s.breach.message.length > 0, H.fmt(s.breach));
      await H.assertLastAudit(S, name, { actor: 'controller', reason: b.gate });
      const al = await H.waitFor(() => H.rolledBackAlert(S, name), 5000, `rollout_rolled_back:${name}`);
      assert.equal(al.severity, 'warning', JSON.stringify(al));
      H.assertNoDuplicateTransitions(await H.stateHistory(S, name), name);
    });
  }

  it('a route target: the canary provider fails a quarter of its calls, its split entry is removed', async (t) => {
    const route = '/breach/route';
    const salt = 'breach-route';
    await H.putProvider(S, 'primary-b', H.stubDoc());
    await H.putProvider(S, 'canary-b', H.simDoc(sims[0]));
    await H.putRoute(S, route, { provider: 'primary-b', salt, fallbacks: ['primary-b'] });
    await H.createPlan(S, 'breach-route', gatedPlan({ route, provider: 'canary-b' }));
    await H.waitStep(S, 'breach-route', 0, 10);
    await promoteTo('breach-route', 1);
    assert.equal(await H.routeShare(S, route, 'canary-b'), 25);
    sims[0].set({ error_every: 4, fail_status: 500 });
    const subjects = H.subjectsIn(salt, 0, 2500, 40, 'br');
    const t0 = Date.now();
    await H.drive(S, route, subjects); // the fallback serves the failed ones: every answer is 200
    await H.waitFor(async () => (await H.routeShare(S, route, 'canary-b')) === 0, 5000, 'the canary\'s split entry removed', 10);
    t.diagnostic(`split entry removed ${Date.now() - t0} ms after the traffic began`);
    const s = await H.status(S, 'breach-route');
    assert.equal(s.phase, 'rolled_back', H.fmt(s));
    assert.match(s.breach.gate, /error_rate/, H.fmt(s.breach));
    const doc = (await H.getDoc(S, route)).value;
    assert.equal(doc.provider, 'primary-b');
    assert.deepEqual(doc.fallbacks, ['primary-b'], 'the rest of the route is kept');
    const served = await H.drive(S, route, subjects.slice(0, 10));
    assert.deepEqual(served, Array(10).fill('primary-b'));
    await H.assertLastAudit(S, 'breach-route', { actor: 'controller', reason: /error_rate/ });
    sims[0].set({ error_every: 0 });
  });
});

describe('route gates read from the gateway', () => {
  it('p95 of the canary\'s calls over its bound rolls back', async () => {
    const sim = await H.startSim({});
    sims.push(sim);
    const route = '/breach/latency';
    const salt = 'breach-latency';
    await H.putProvider(S, 'primary-l', H.stubDoc());
    await H.putProvider(S, 'canary-l', H.simDoc(sim));
    await H.putRoute(S, route, { provider: 'primary-l', salt });
    await H.createPlan(S, 'breach-latency', {
      target: { route, provider: 'canary-l' },
      steps: PCTS.map((p) => ({ percent: p, bake: '1h' })),
      gates: [{ metric: 'p95_ms', max: 100 }],
    });
    await H.waitStep(S, 'breach-latency', 0, 10);
    sim.set({ latency_ms: 300 });
    await H.drive(S, route, H.subjectsIn(salt, 0, 1000, 12, 'lat'));
    await H.waitFor(async () => (await H.routeShare(S, route, 'canary-l')) === 0, H.ONE_PERIOD_MS + 5000, 'canary-l back to 0', 10);
    const s = await H.status(S, 'breach-latency');
    assert.equal(s.phase, 'rolled_back', H.fmt(s));
    assert.match(s.breach.gate, /p95/, H.fmt(s.breach));
    assert.ok(s.breach.value > 100, H.fmt(s.breach));
    await H.assertLastAudit(S, 'breach-latency', { actor: 'controller', reason: /p95/ });
  });

  it('provider_status: a degraded canary (10 % of its calls failing) rolls back', async () => {
    const sim = await H.startSim({});
    sims.push(sim);
    const route = '/breach/status';
    const salt = 'breach-status';
    await H.putProvider(S, 'primary-s', H.stubDoc());
    await H.putProvider(S, 'canary-s', H.simDoc(sim));
    await H.putRoute(S, route, { provider: 'primary-s', salt, fallbacks: ['primary-s'] });
    await H.createPlan(S, 'breach-status', {
      target: { route, provider: 'canary-s' },
      steps: PCTS.map((p) => ({ percent: p, bake: '1h' })),
      gates: [{ metric: 'provider_status' }],
    });
    await H.waitStep(S, 'breach-status', 0, 10);
    sim.set({ error_every: 10, fail_status: 500 });
    await H.drive(S, route, H.subjectsIn(salt, 0, 1000, 20, 'st'));
    const ps = await H.api(S, 'GET', '/api/v1/providers/canary-s/status');
    assert.equal(ps.json.status, 'degraded', ps.text);
    await H.waitFor(async () => (await H.routeShare(S, route, 'canary-s')) === 0, H.ONE_PERIOD_MS + 5000, 'canary-s back to 0', 10);
    const s = await H.status(S, 'breach-status');
    assert.equal(s.phase, 'rolled_back', H.fmt(s));
    assert.match(`${s.breach.gate} ${s.breach.message}`, /provider|degraded/, H.fmt(s.breach));
    await H.assertLastAudit(S, 'breach-status', { actor: 'controller' });
  });
});

describe('on_breach', () => {
  it('"previous": back to the previous step\'s percent, paused there', async () => {
    const flag = 'breach/previous';
    await H.createFlag(S, flag, { enabled: true, rollout_percentage: 0 });
    await H.createPlan(S, 'breach-previous', gatedPlan({ flag }, { on_breach: 'previous' }));
    await H.waitStep(S, 'breach-previous', 0, 10);
    await promoteTo('breach-previous', 2);
    await H.push(S, [H.item(flag, 'on', 100, { errors: 30 }), H.item(flag, 'off', 100)]);
    await waitFlagAt(flag, 25);
    const s = await H.status(S, 'breach-previous');
    assert.equal(s.phase, 'paused', H.fmt(s));
    assert.equal(s.percent, 25, H.fmt(s));
    assert.equal(s.step, 1, H.fmt(s));
    assert.equal(s.breach.step, 2, H.fmt(s.breach));
    assert.equal(s.breach.percent, 50, H.fmt(s.breach));
    assert.match(s.breach.gate, /error_rate/, H.fmt(s.breach));
    await H.assertLastAudit(S, 'breach-previous', { actor: 'controller', reason: /error_rate/ });
    // paused: time passes, nothing moves
    await H.advance(S, 3 * H.HOUR);
    await H.assertAt(S, 'breach-previous', 1, 25, 'paused', 'three hours after going back');
    assert.equal((await H.getFlag(S, flag)).rollout_percentage, 25);
    await H.command(S, 'breach-previous', 'abort');
  });

  it('"pause": stays at its percent, paused, with the clock of the bake stopped', async () => {
    const flag = 'breach/pause';
    await H.createFlag(S, flag, { enabled: true, rollout_percentage: 0 });
    await H.createPlan(S, 'breach-pause', gatedPlan({ flag }, { on_breach: 'pause' }));
    await H.waitStep(S, 'breach-pause', 0, 10);
    await promoteTo('breach-pause', 1);
    await H.advance(S, 20 * H.MIN);
    await H.push(S, [H.item(flag, 'on', 100, { latencyMs: 7000 }), H.item(flag, 'off', 100)]);
    let s = await H.waitStatus(S, 'breach-pause', (x) => x.phase === 'paused', 'paused on the breach', 5000);
    assert.equal(s.percent, 25, H.fmt(s));
    assert.equal(s.step, 1, H.fmt(s));
    assert.match(s.breach.gate, /p95/, H.fmt(s.breach));
    assert.equal((await H.getFlag(S, flag)).rollout_percentage, 25);
    assert.equal(await H.rolledBackAlert(S, 'breach-pause'), undefined, 'a pause is not a rollback');
    const left = s.bake_left_ms;
    await H.advance(S, 5 * H.HOUR);
    s = await H.assertAt(S, 'breach-pause', 1, 25, 'paused', 'five hours later');
    assert.ok(Math.abs(s.bake_left_ms - left) < 2 * H.MIN, `the bake's clock stopped while paused: ${left} → ${s.bake_left_ms}`);
    await H.command(S, 'breach-pause', 'abort');
    await H.waitStatus(S, 'breach-pause', (x) => x.phase === 'aborted' && x.percent === 0, 'aborted');
    assert.equal((await H.getFlag(S, flag)).rollout_percentage, 0);
  });
});

describe('besides the gates', () => {
  it('a critical alert on the target provider (breaker open) rolls back a plan that has no gates', async (t) => {
    const route = '/breach/critical';
    const salt = 'breach-critical';
    await H.putProvider(S, 'primary-c', H.stubDoc());
    await H.putProvider(S, 'canary-c', H.simDoc(sims[1], {
      breaker: { consecutive_failures: 3, error_rate_percent: 100, min_requests: 1000, window_ms: 60000, cooldown_ms: 600000, half_open_max: 1 },
    }));
    await H.putRoute(S, route, { provider: 'primary-c', salt, fallbacks: ['primary-c'] });
    await H.createPlan(S, 'breach-critical', { target: { route, provider: 'canary-c' }, steps: PCTS.map((p) => ({ percent: p, bake: '1d' })) });
    await H.waitStep(S, 'breach-critical', 0, 10);
    assert.equal(await H.routeShare(S, route, 'canary-c'), 10);
    sims[1].set({ error_every: 1, fail_status: 503 });
    const t0 = Date.now();
    await H.drive(S, route, H.subjectsIn(salt, 0, 1000, 6, 'crit'));
    const crit = await H.waitFor(async () => (await H.alerts(S, '?severity=critical')).find((a) => a.resource === 'canary-c'), 5000, 'a critical alert on canary-c');
    t.diagnostic(`critical alert ${crit.id}`);
    await H.waitFor(async () => (await H.routeShare(S, route, 'canary-c')) === 0, 5000, 'the canary\'s share back to 0', 10);
    t.diagnostic(`rolled back ${Date.now() - t0} ms after the failures began`);
    const s = await H.status(S, 'breach-critical');
    assert.equal(s.phase, 'rolled_back', H.fmt(s));
    assert.ok(s.breach, H.fmt(s));
    assert.match(`${s.breach.gate} ${s.breach.message}`, /alert|provider_(breaker_open|offline)/, H.fmt(s.breach));
    await H.assertLastAudit(S, 'breach-critical', { actor: 'controller', reason: /alert|provider_(breaker_open|offline)|critical/ });
    await H.waitFor(() => H.rolledBackAlert(S, 'breach-critical'), 5000, 'rollout_rolled_back');
    sims[1].set({ error_every: 0 });
  });

  it('a Prometheus gate on a closed port pauses the plan, which never promotes', async () => {
    const port = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); });
    });
    const flag = 'breach/prometheus';
    await H.createFlag(S, flag, { enabled: true, rollout_percentage: 0 });
    await H.createPlan(S, 'breach-prometheus', {
      target: { flag },
      steps: [{ percent: 10, bake: '1m' }, { percent: 100, bake: '1m' }],
      gates: [{ metric: 'prometheus', query: 'sum(rate(errors_total[5m]))', max: 0.5, url: `http://127.0.0.1:${port}` }],
    });
    let s = await H.waitStatus(S, 'breach-prometheus', (x) => x.phase === 'paused', 'paused on the unreadable gate');
    assert.equal(s.percent, 10, `an unknown gate pauses, it does not roll back: ${H.fmt(s)}`);
    assert.match(s.reason || '', /prometheus/i, H.fmt(s));
    const g = H.gate(s, 'prometheus');
    assert.equal(g.status, 'unknown', H.fmt(s));
    assert.match(g.detail || '', /prometheus|127\.0\.0\.1|connect|refused/i, H.fmt(g));
    await H.advance(S, 2 * H.HOUR);
    s = await H.assertAt(S, 'breach-prometheus', 0, 10, 'paused', 'two hours on, Prometheus still down');
    assert.equal((await H.getFlag(S, flag)).rollout_percentage, 10);
    assert.equal(await H.rolledBackAlert(S, 'breach-prometheus'), undefined);
    const hist = await H.stateHistory(S, 'breach-prometheus');
    H.assertNoDuplicateTransitions(hist, 'breach-prometheus');
    assert.ok(hist.every((v) => v.state.step === 0), `never promoted: ${JSON.stringify(hist.map((v) => v.state))}`);
    await H.command(S, 'breach-prometheus', 'abort');
  });
});

// runbook001.test.js — runbook 001's canary (10 → 25 → 50 → 100 %, monitored 1 h, 1 h, 2 h and
// 4 h) as a rollout plan on a flag, fed by metrics the application pushes (POST /api/v1/metrics):
// the timeline holds to the minute on the test clock. Then its rollback trigger "error rate > 5 %":
// a plan whose canary starts failing at a step is rolled back to 0 by the controller within one
// evaluation period, audited with the gate and its value, and fires rollout_rolled_back.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

let S;

const STEPS = [
  { percent: 10, bake: '1h' },
  { percent: 25, bake: '1h' },
  { percent: 50, bake: '2h' },
  { percent: 100, bake: '4h' },
];
const BAKES = [H.HOUR, H.HOUR, 2 * H.HOUR, 4 * H.HOUR];

const planFor = (flag, extraGates = []) => ({
  description: 'runbook 001 canary',
  target: { flag },
  steps: STEPS.map((s) => ({ ...s })),
  gates: [
    { metric: 'requests', min: 50 },
    { metric: 'error_rate', max: 5 },
    { metric: 'p95_ms', max_baseline_ratio: 2 },
    ...extraGates,
  ],
});

before(async () => {
  S = await H.startRolloutServer();
});
after(async () => { if (S) await S.cleanup(); });

describe('runbook 001 canary on a flag with pushed metrics', () => {
  const FLAG = 'runbook001/provider-canary';
  const NAME = 'provider-canary';

  it('10 → 25 → 50 → 100 → completed, each step held for its bake and not longer', async (t) => {
    await H.createFlag(S, FLAG, { enabled: true, rollout_percentage: 0 });
    await H.createPlan(S, NAME, planFor(FLAG));
    for (let i = 0; i < STEPS.length; i++) {
      const pct = STEPS[i].percent;
      let s = await H.waitStep(S, NAME, i, pct);
      assert.equal((await H.getFlag(S, FLAG)).rollout_percentage, pct, `flag at step ${i}`);
      assert.equal(s.bake_ms, BAKES[i], H.fmt(s));
      // 5 minutes before the bake ends the canary is healthy and busy: the bake alone holds it
      await H.advance(S, BAKES[i] - 5 * H.MIN);
      await H.healthy(S, FLAG, 200);
      s = await H.assertAt(S, NAME, i, pct, 'running', `5 min before the end of the ${BAKES[i] / H.HOUR} h bake`);
      for (const g of s.gates) assert.equal(g.status, 'pass', `gate ${g.gate} at step ${i}: ${H.fmt(s)}`);
      assert.ok(s.bake_left_ms > 4 * H.MIN && s.bake_left_ms <= 5 * H.MIN, `bake_left_ms ${s.bake_left_ms}: ${H.fmt(s)}`);
      await H.advance(S, 6 * H.MIN);
      if (i + 1 < STEPS.length) {
        await H.waitStep(S, NAME, i + 1, STEPS[i + 1].percent);
        await H.assertLastAudit(S, NAME, { actor: 'controller', reason: /error_rate/ });
      } else {
        s = await H.waitStatus(S, NAME, (x) => x.phase === 'completed', 'completed after the 4 h watch at 100 %');
        assert.equal(s.percent, 100, H.fmt(s));
        assert.equal(s.next_percent, null, H.fmt(s));
      }
    }
    assert.equal((await H.getFlag(S, FLAG)).rollout_percentage, 100);
    const hist = await H.stateHistory(S, NAME);
    H.assertNoDuplicateTransitions(hist, NAME);
    assert.deepEqual(hist.map((v) => [v.state.phase, v.state.percent]),
      [['running', 10], ['running', 25], ['running', 50], ['running', 100], ['completed', 100]],
      JSON.stringify(hist.map((v) => v.state)));
    const starts = hist.slice(0, 4).map((v) => Date.parse(v.state.step_started_at));
    for (let i = 0; i < 3; i++) {
      const held = starts[i + 1] - starts[i];
      t.diagnostic(`${STEPS[i].percent} % held ${(held / H.MIN).toFixed(1)} min (bake ${BAKES[i] / H.MIN} min)`);
      assert.ok(held >= BAKES[i] && held <= BAKES[i] + 5 * H.MIN, `step ${i} held ${held / H.MIN} min for a ${BAKES[i] / H.MIN} min bake`);
    }
    // the flag's versions: one per transition that changed the percentage
    const fh = await H.history(S, `/${FLAG}`);
    // (the completion leaves the flag at 100: a write of the same value, if any, is allowed)
    const pcts = fh.map((v) => v.doc.rollout_percentage).filter((x, i, a) => i < a.length - 1 || x !== a[i - 1]);
    assert.deepEqual(pcts, [0, 10, 25, 50, 100], JSON.stringify(fh.map((v) => v.doc)));
    for (const v of fh.slice(2)) assert.equal(v.last_modified_user, 'controller', `flag version ${v.version} by ${v.last_modified_user}`);
    const recs = await H.stateAudit(S, NAME);
    assert.equal(recs.length, hist.length, `one audit record per state version: ${JSON.stringify(recs)}`);
    for (const r of recs.slice(1)) {
      assert.equal(r.actor, 'controller', JSON.stringify(r));
      assert.ok(r.reason && r.reason.length > 0, `a reason on every transition: ${JSON.stringify(r)}`);
    }
  });
});

describe('runbook 001 rollback trigger: error rate > 5 % rolls back to 0 by itself', () => {
  const FLAG = 'runbook001/error-canary';
  const NAME = 'error-canary';

  it('at 25 % the canary fails 8 % of its requests: 0 % within one period, audited, alerted', async (t) => {
    await H.createFlag(S, FLAG, { enabled: true, rollout_percentage: 0 });
    await H.createPlan(S, NAME, planFor(FLAG));
    await H.waitStep(S, NAME, 0, 10);
    await H.advance(S, H.HOUR - 5 * H.MIN);
    await H.healthy(S, FLAG, 200);
    await H.advance(S, 6 * H.MIN);
    await H.waitStep(S, NAME, 1, 25);
    assert.equal((await H.getFlag(S, FLAG)).rollout_percentage, 25);
    assert.equal(await H.rolledBackAlert(S, NAME), undefined, 'no alert before the breach');

    await H.push(S, [H.item(FLAG, 'on', 200, { errors: 16 }), H.item(FLAG, 'off', 200)]);
    const t0 = Date.now();
    // the controller's own evaluation (the flag is read, not the plan's status, which would judge it)
    await H.waitFor(async () => (await H.getFlag(S, FLAG)).rollout_percentage === 0, H.ONE_PERIOD_MS + 5000, 'the flag back at 0 %', 10);
    const took = Date.now() - t0;
    t.diagnostic(`rolled back ${took} ms after the push`);
    assert.ok(took <= H.ONE_PERIOD_MS, `rolled back ${took} ms after the push: more than one period (${H.ONE_PERIOD_MS} ms allowed)`);

    const s = await H.status(S, NAME);
    assert.equal(s.phase, 'rolled_back', H.fmt(s));
    assert.equal(s.percent, 0, H.fmt(s));
    assert.ok(s.breach, H.fmt(s));
    assert.match(s.breach.gate, /error_rate/, H.fmt(s.breach));
    assert.equal(s.breach.value, 8, H.fmt(s.breach));
    assert.equal(s.breach.bound, 5, H.fmt(s.breach));
    assert.equal(s.breach.step, 1, H.fmt(s.breach));
    assert.equal(s.breach.percent, 25, H.fmt(s.breach));
    assert.equal(typeof s.breach.message, 'string', H.fmt(s.breach));
    const rec = await H.assertLastAudit(S, NAME, { actor: 'controller', reason: /error_rate/ });
    assert.match(rec.reason, /\b8(\.0+)?\b/, `the reason gives the value: ${JSON.stringify(rec)}`);
    const fa = (await H.auditOf(S, `/${FLAG}`)).at(-1);
    assert.equal(fa.actor, 'controller', JSON.stringify(fa));

    const al = await H.waitFor(() => H.rolledBackAlert(S, NAME), 5000, 'rollout_rolled_back');
    assert.equal(al.severity, 'warning', JSON.stringify(al));
    assert.equal(al.id, `rollout_rolled_back:${NAME}`, JSON.stringify(al));
    assert.match(al.message, /error_rate/, JSON.stringify(al));

    // nothing moves afterwards; a start again resolves the alert
    await H.advance(S, 3 * H.HOUR);
    await H.assertAt(S, NAME, s.step, 0, 'rolled_back', 'hours after the rollback');
    await H.command(S, NAME, 'start', { reason: 'fixed' });
    await H.waitStep(S, NAME, 0, 10);
    await H.waitFor(async () => (await H.rolledBackAlert(S, NAME)) === undefined, 5000, 'the alert resolved by a start');
    await H.command(S, NAME, 'abort', { reason: 'done with the drill' });
    await H.waitStatus(S, NAME, (x) => x.phase === 'aborted' && x.percent === 0, 'aborted');
    assert.equal((await H.getFlag(S, FLAG)).rollout_percentage, 0);
  });
});

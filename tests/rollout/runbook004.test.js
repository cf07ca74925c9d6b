// runbook004.test.js — runbook 004's week-by-week rollout of partial results: the flag
// audio-transcription/partial-results/config moves 10 → 50 → 100 % with a `not_before` date a
// week apart on each step. However early the bake and the gates pass, the plan waits for the
// date; a minute after it, it moves. The rest of the flag document (the runbook's config fields)
// is kept by every write.
//
// docs/ROLLOUTS.md: "`not_before` (RFC 3339) a date the step may not be promoted before" and "a
// plan promotes only when every gate passes and the bake and not_before are over": the date of
// the step the plan is at holds its promotion (and, on the last step, its completion). Should
// the controller read it as the date before which a step may not be entered instead, run with
// SY_NOT_BEFORE=entering: the same checks, with each transition held by the next step's date.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

const FLAG = 'audio-transcription/partial-results/config';
const NAME = 'partial-results';
const ENTERING = process.env.SY_NOT_BEFORE === 'entering';
const DOC = { enabled: true, rollout_percentage: 0, min_stability_threshold: 0.85, max_buffer_timeout: 5.0 };
const PCTS = [10, 50, 100];
const BAKE = H.DAY;

let S;
before(async () => { S = await H.startRolloutServer(); });
after(async () => { if (S) await S.cleanup(); });

/* Moves the server's clock to at (ms since the epoch; never backwards). */
async function advanceTo(at) {
  const n = await H.now(S);
  assert.ok(at >= n, `advanceTo ${H.iso(at)} is in the past (now ${H.iso(n)})`);
  await H.advance(S, at - n);
}

it('each step waits for its date after its bake and gates pass, then moves a minute after it', async (t) => {
  await H.createFlag(S, FLAG, DOC);
  const n0 = await H.now(S);
  // dates a week apart, on a whole hour, well clear of the bake
  const week1 = Math.ceil((n0 + H.WEEK) / H.HOUR) * H.HOUR;
  const dates = [week1, week1 + H.WEEK, week1 + 2 * H.WEEK];
  const plan = {
    description: 'runbook 004: partial results, week by week',
    target: { flag: FLAG },
    steps: PCTS.map((p, i) => ({ percent: p, bake: '1d', not_before: H.iso(dates[i]) })),
    gates: [
      { metric: 'p95_ms', max: 5000 },
      { metric: 'error_rate', max: 1 },
      { metric: 'alerts', severity: 'critical' },
    ],
  };
  await H.createPlan(S, NAME, plan);
  let s = await H.waitStep(S, NAME, 0, 10);
  let entered = Date.parse(s.state.step_started_at);

  for (let k = 0; k < 3; k++) {
    const last = k === 2;
    // what holds the move off step k: the date, or (entering, last step) only the bake
    const due = ENTERING ? (last ? null : dates[k + 1]) : dates[k];
    const bakeEnd = entered + BAKE;
    if (due !== null) {
      assert.ok(due > bakeEnd + H.HOUR, 'the test needs the date well after the bake');
      await advanceTo(bakeEnd + H.HOUR);
      await H.healthy(S, FLAG, 200, { latencyMs: 800 });
      s = await H.assertAt(S, NAME, k, PCTS[k], 'running', `bake over at ${H.iso(bakeEnd)}, date ${H.iso(due)} not reached`);
      assert.equal(s.bake_left_ms, 0, H.fmt(s));
      for (const g of s.gates) assert.equal(g.status, 'pass', `gate ${g.gate}: ${H.fmt(s)}`);
      assert.equal(Date.parse(s.not_before), due, `status.not_before: ${H.fmt(s)}`);
      await advanceTo(due - 10 * H.MIN);
      await H.healthy(S, FLAG, 200, { latencyMs: 800 });
      await H.assertAt(S, NAME, k, PCTS[k], 'running', `10 min before ${H.iso(due)}`);
      await advanceTo(due + H.MIN);
    } else {
      await advanceTo(bakeEnd - 5 * H.MIN);
      await H.healthy(S, FLAG, 200, { latencyMs: 800 });
      await H.assertAt(S, NAME, k, PCTS[k], 'running', '5 min before the end of the bake');
      await advanceTo(bakeEnd + H.MIN);
    }
    if (!last) {
      s = await H.waitStep(S, NAME, k + 1, PCTS[k + 1]);
      entered = Date.parse(s.state.step_started_at);
      const movedAt = due === null ? bakeEnd : due;
      assert.ok(entered >= movedAt && entered <= movedAt + 5 * H.MIN, `step ${k + 1} began ${H.iso(entered)}, due ${H.iso(movedAt)}`);
      t.diagnostic(`${PCTS[k + 1]} % from ${H.iso(entered)}`);
    } else {
      s = await H.waitStatus(S, NAME, (x) => x.phase === 'completed', 'completed');
      assert.equal(s.percent, 100, H.fmt(s));
    }
    const f = await H.getFlag(S, FLAG);
    assert.equal(f.rollout_percentage, last ? 100 : PCTS[k + 1], JSON.stringify(f));
    const { rollout_percentage: _rp, ...rest } = f.document;
    const { rollout_percentage: _rp0, ...rest0 } = DOC;
    assert.deepEqual(rest, rest0, 'the rest of the flag document is kept');
  }
  const hist = await H.stateHistory(S, NAME);
  H.assertNoDuplicateTransitions(hist, NAME);
  assert.deepEqual(hist.map((v) => v.state.percent), [10, 50, 100, 100]);
  assert.equal(hist.at(-1).state.phase, 'completed');
});

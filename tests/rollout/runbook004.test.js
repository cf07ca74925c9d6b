// runbook004.test.js — runbook 004's week-by-week rollout of partial results: the flag
// audio-transcription/partial-results/config moves 10 → 50 → 100 % with a `not_before` date a
// week apart on each step. However early the bake and the gates pass, the plan waits for the
// date; a minute after it, it moves. The rest of the flag document (the runbook's config fields)
// is kept by every write.
//
// docs/ROLLOUTS.md: `not_before` is "the earliest time the step may be entered (...; on the first
// step it delays the start like `start_at`)": the 50 % step waits for week 1, the 100 % step for
// week 2, whatever the bake and the gates say.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

const FLAG = 'audio-transcription/partial-results/config';
const NAME = 'partial-results';
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

it('each step waits for its date after the bake and gates before it pass, then is entered a minute after it', async (t) => {
  await H.createFlag(S, FLAG, DOC);
  const n0 = await H.now(S);
  // dates a week apart, on a whole hour, well clear of the bakes
  const week1 = Math.ceil((n0 + H.WEEK) / H.HOUR) * H.HOUR;
  const dates = [null, week1, week1 + H.WEEK];
  const plan = {
    description: 'runbook 004: partial results, week by week',
    target: { flag: FLAG },
    steps: PCTS.map((p, i) => ({ percent: p, bake: '1d', ...(dates[i] ? { not_before: H.iso(dates[i]) } : {}) })),
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
    // what holds the move off step k: the next step's date, or (last step) only the bake
    const due = last ? null : dates[k + 1];
    const bakeEnd = entered + BAKE;
    if (due !== null) {
      assert.ok(due > bakeEnd + H.HOUR, 'the test needs the date well after the bake');
      await advanceTo(bakeEnd + H.HOUR);
      await H.healthy(S, FLAG, 200, { latencyMs: 800 });
      s = await H.assertAt(S, NAME, k, PCTS[k], 'running', `bake over at ${H.iso(bakeEnd)}, the next step's date ${H.iso(due)} not reached`);
      assert.equal(s.bake_left_ms, 0, H.fmt(s));
      for (const g of s.gates) assert.equal(g.status, 'pass', `gate ${g.gate}: ${H.fmt(s)}`);
      if (s.not_before !== null) assert.equal(Date.parse(s.not_before), due, `status.not_before: ${H.fmt(s)}`);
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
      assert.ok(entered >= due && entered <= due + 5 * H.MIN, `step ${k + 1} began ${H.iso(entered)}, due ${H.iso(due)}`);
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

it('a date on the first step delays the start, like start_at', async () => {
  const flag = 'audio-transcription/partial-results/later';
  await H.createFlag(S, flag, { ...DOC });
  const n0 = await H.now(S);
  const at = Math.ceil((n0 + 3 * H.DAY) / H.HOUR) * H.HOUR;
  await H.createPlan(S, 'partial-results-later', {
    target: { flag },
    steps: [{ percent: 10, bake: '1d', not_before: H.iso(at) }, { percent: 100, bake: '1d' }],
  });
  let s = await H.status(S, 'partial-results-later');
  assert.equal(s.phase, 'scheduled', H.fmt(s));
  assert.equal((await H.getFlag(S, flag)).rollout_percentage, 0);
  await advanceTo(at - 10 * H.MIN);
  s = await H.status(S, 'partial-results-later');
  assert.equal(s.phase, 'scheduled', `10 min before the date: ${H.fmt(s)}`);
  await advanceTo(at + H.MIN);
  s = await H.waitStep(S, 'partial-results-later', 0, 10);
  assert.ok(Date.parse(s.state.step_started_at) >= at, H.fmt(s));
  assert.equal((await H.getFlag(S, flag)).rollout_percentage, 10);
  await H.command(S, 'partial-results-later', 'abort');
});

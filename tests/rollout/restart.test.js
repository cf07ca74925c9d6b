// restart.test.js — a rollout survives SIGKILL (docs/ROLLOUTS.md, State): the controller reads the
// state document after a restart and goes on; the remaining bake is bake - (now - step_started_at
// - paused_ms), so a plan killed 40 minutes into a 1 h bake promotes 20 minutes after the restart
// (not before, not an hour later), and no step is written twice.
//
// The test clock's offset lives in the server's memory: a restarted server's clock starts again
// at the real time, which is behind the time it was killed at. The test moves it forward again to
// the moment of the kill (or leaves it when the server kept its offset) before it checks anything.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

let S;
before(async () => { S = await H.startRolloutServer(); });
after(async () => { if (S) await S.cleanup(); });

/* SIGKILL, restart on the same data directory, and the clock back to where it was (or later). */
async function killAndRestart(t) {
  const before = await H.now(S);
  await S.kill9();
  await S.restart();
  const n = await H.now(S);
  t.diagnostic(`clock after the restart: ${H.iso(n)} (${((before - n) / H.MIN).toFixed(1)} min behind the kill)`);
  if (n < before) await H.advance(S, before - n);
  return before;
}

const plan = (flag) => ({
  target: { flag },
  steps: [{ percent: 10, bake: '1h' }, { percent: 50, bake: '1h' }],
  gates: [{ metric: 'error_rate', max: 5 }],
});

it('killed 40 min into a 1 h bake, it promotes 20 min after the restart, once', async (t) => {
  const flag = 'restart/bake';
  const name = 'restart-bake';
  await H.createFlag(S, flag, { enabled: true, rollout_percentage: 0 });
  await H.createPlan(S, name, plan(flag));
  let s = await H.waitStep(S, name, 0, 10);
  const started = Date.parse(s.state.step_started_at);
  await H.advance(S, 40 * H.MIN);
  await H.healthy(S, flag, 100);
  s = await H.assertAt(S, name, 0, 10, 'running', 'at 40 min');
  assert.ok(Math.abs(s.bake_left_ms - 20 * H.MIN) < H.MIN, `bake left at 40 min: ${s.bake_left_ms}: ${H.fmt(s)}`);
  const versionsBefore = (await H.stateHistory(S, name)).length;

  await killAndRestart(t);
  s = await H.status(S, name);
  assert.equal(s.phase, 'running', H.fmt(s));
  assert.equal(s.step, 0, H.fmt(s));
  assert.equal(Date.parse(s.state.step_started_at), started, 'the step began when it began');
  assert.ok(Math.abs(s.bake_left_ms - 20 * H.MIN) < H.MIN, `bake left after the restart: ${s.bake_left_ms} (want ~20 min): ${H.fmt(s)}`);
  assert.equal((await H.stateHistory(S, name)).length, versionsBefore, 'the restart wrote no state');
  assert.equal((await H.getFlag(S, flag)).rollout_percentage, 10);

  // counts are in memory: the step's traffic is counted again from the restart
  await H.advance(S, 19 * H.MIN);
  await H.healthy(S, flag, 100);
  s = await H.assertAt(S, name, 0, 10, 'running', '59 min into the bake');
  assert.equal(H.gate(s, 'error_rate').status, 'pass', H.fmt(s));
  await H.advance(S, 2 * H.MIN);
  s = await H.waitStep(S, name, 1, 50);
  const moved = Date.parse(s.state.step_started_at);
  assert.ok(moved >= started + H.HOUR && moved <= started + H.HOUR + 5 * H.MIN, `promoted ${(moved - started) / H.MIN} min after the step began`);

  const hist = await H.stateHistory(S, name);
  H.assertNoDuplicateTransitions(hist, name);
  assert.deepEqual(hist.map((v) => v.state.percent), [10, 50], JSON.stringify(hist.map((v) => v.state)));
  assert.equal((await H.stateAudit(S, name)).length, 2, 'one audit record per transition');
  const fh = await H.history(S, `/${flag}`);
  assert.deepEqual(fh.map((v) => v.doc.rollout_percentage), [0, 10, 50], 'the flag written once per step');
  const ver = await H.api(S, 'GET', '/api/v1/admin/audit/verify');
  assert.equal(ver.json.ok, true, ver.text);
});

it('the time paused is not bake time, across a SIGKILL too', async (t) => {
  const flag = 'restart/paused';
  const name = 'restart-paused';
  await H.createFlag(S, flag, { enabled: true, rollout_percentage: 0 });
  await H.createPlan(S, name, plan(flag));
  let s = await H.waitStep(S, name, 0, 10);
  const started = Date.parse(s.state.step_started_at);
  await H.advance(S, 10 * H.MIN);
  await H.command(S, name, 'pause', { reason: 'hold on' });
  await H.waitStatus(S, name, (x) => x.phase === 'paused', 'paused');
  await H.advance(S, 30 * H.MIN);
  await H.command(S, name, 'resume');
  s = await H.waitStep(S, name, 0, 10);
  assert.ok(Math.abs(s.bake_left_ms - 50 * H.MIN) < H.MIN, `bake left after 10 min baked and 30 paused: ${s.bake_left_ms}: ${H.fmt(s)}`);
  await H.advance(S, 20 * H.MIN);
  s = await H.status(S, name);
  assert.ok(Math.abs(s.bake_left_ms - 30 * H.MIN) < H.MIN, `bake left: ${s.bake_left_ms}: ${H.fmt(s)}`);
  const versionsBefore = (await H.stateHistory(S, name)).length;

  await killAndRestart(t);
  s = await H.status(S, name);
  assert.equal(s.phase, 'running', H.fmt(s));
  assert.ok(s.state.paused_ms >= 30 * H.MIN - H.MIN && s.state.paused_ms <= 30 * H.MIN + H.MIN, `paused_ms is durable: ${H.fmt(s)}`);
  assert.ok(Math.abs(s.bake_left_ms - 30 * H.MIN) < H.MIN, `bake left after the restart: ${s.bake_left_ms} (want ~30 min): ${H.fmt(s)}`);
  assert.equal((await H.stateHistory(S, name)).length, versionsBefore, 'the restart wrote no state');
  await H.advance(S, 28 * H.MIN);
  await H.healthy(S, flag, 100);
  await H.assertAt(S, name, 0, 10, 'running', '2 min before the end of the bake');
  await H.advance(S, 3 * H.MIN);
  s = await H.waitStep(S, name, 1, 50);
  const moved = Date.parse(s.state.step_started_at);
  const want = started + H.HOUR + 30 * H.MIN;
  assert.ok(moved >= want && moved <= want + 5 * H.MIN, `promoted at ${H.iso(moved)}, due ${H.iso(want)}`);
  H.assertNoDuplicateTransitions(await H.stateHistory(S, name), name);
});

it('SIGKILL right after a rollback: the target stays at 0 and nothing is written again', async (t) => {
  const flag = 'restart/rolledback';
  const name = 'restart-rolledback';
  await H.createFlag(S, flag, { enabled: true, rollout_percentage: 0 });
  await H.createPlan(S, name, plan(flag));
  await H.waitStep(S, name, 0, 10);
  await H.push(S, [H.item(flag, 'on', 100, { errors: 50 }), H.item(flag, 'off', 100)]);
  await H.waitFor(async () => (await H.getFlag(S, flag)).rollout_percentage === 0, 5000, 'rolled back', 10);
  const n = (await H.stateHistory(S, name)).length;
  const fv = (await H.getFlag(S, flag)).version;
  await killAndRestart(t);
  await H.advance(S, 2 * H.HOUR);
  const s = await H.status(S, name);
  assert.equal(s.phase, 'rolled_back', H.fmt(s));
  assert.equal((await H.stateHistory(S, name)).length, n, 'no state written after the restart');
  const f = await H.getFlag(S, flag);
  assert.equal(f.version, fv, 'the flag is not written again');
  assert.equal(f.rollout_percentage, 0);
  await H.assertHealthy(S);
});

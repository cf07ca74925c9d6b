// api.test.js — the rollouts API (docs/ROLLOUTS.md, API): list, get, create, replace (the state
// keeps its step), delete (a running plan: 409, after an abort: gone), the STATUS fields with each
// gate's value, bound and status, promote / pause / resume / abort / start with their audit, a
// scheduled start, an approval step, and a plan written as a document of kind Rollout.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

let S;
before(async () => { S = await H.startRolloutServer(); });
after(async () => {
  if (S) {
    await H.assertHealthy(S);
    await S.cleanup();
  }
});

const plan = (flag, extra = {}) => ({
  description: `plan on ${flag}`,
  target: { flag },
  steps: [
    { percent: 10, bake: '1h', gates: [{ metric: 'requests', min: 20 }] },
    { percent: 50, bake: '2h' },
    { percent: 100, bake: '30m' },
  ],
  gates: [{ metric: 'error_rate', max: 5 }, { metric: 'p95_ms', max: 2000 }],
  ...extra,
});

const STATUS_FIELDS = ['name', 'version', 'target', 'phase', 'step', 'steps', 'percent', 'next_percent', 'bake_ms',
  'bake_left_ms', 'not_before', 'gates', 'baseline', 'breach', 'reason', 'state_version', 'updated_at', 'state'];

function assertStatusShape(st, { listed = false } = {}) {
  // the list shows the same without `state`
  for (const k of STATUS_FIELDS) if (!(listed && k === 'state')) assert.ok(k in st, `STATUS has ${k}: ${H.fmt(st)}`);
  assert.ok(Array.isArray(st.gates), H.fmt(st));
  for (const g of st.gates) {
    for (const k of ['gate', 'metric', 'status']) assert.ok(k in g, `gate has ${k}: ${JSON.stringify(g)}`);
    assert.ok(['pass', 'wait', 'breach', 'unknown'].includes(g.status), JSON.stringify(g));
    assert.equal(typeof g.gate, 'string');
  }
  assert.match(st.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, H.fmt(st));
}

describe('create, get, list', () => {
  it('POST creates (201 STATUS) and starts at once; GET and the list show it', async () => {
    await H.createFlag(S, 'api/one', { enabled: true, rollout_percentage: 0 });
    const st = await H.createPlan(S, 'one', plan('api/one'));
    assertStatusShape(st);
    assert.equal(st.name, 'one');
    assert.deepEqual(st.target, { flag: 'api/one' });
    assert.equal(st.steps, 3);
    const g = await H.waitStep(S, 'one', 0, 10);
    assertStatusShape(g);
    assert.equal(g.next_percent, 50);
    assert.equal(g.bake_ms, H.HOUR);
    assert.ok(g.bake_left_ms > 0 && g.bake_left_ms <= H.HOUR, H.fmt(g));
    assert.equal(g.breach, null);
    assert.equal(g.not_before, null);
    assert.equal(g.state.phase, 'running', H.fmt(g));
    assert.equal(g.state.step, 0);
    assert.equal(g.state.percent, 10);
    assert.equal(g.state_version, 1, H.fmt(g));
    assert.equal(g.state.plan_version, g.version, H.fmt(g));
    assert.deepEqual(g.gates.map((x) => x.metric), ['error_rate', 'p95_ms', 'requests'], 'the plan\'s gates, then the step\'s');
    assert.equal((await H.getFlag(S, 'api/one')).rollout_percentage, 10);
    // the documents: the plan (kind Rollout) and its state (kind RolloutState)
    const pd = await H.api(S, 'GET', H.pp(`${H.PLAN_PREFIX}one`));
    assert.equal(pd.status, 200, pd.text);
    assert.equal(pd.json.type, 'Rollout');
    assert.deepEqual(JSON.parse(pd.json.value).steps.map((x) => x.percent), [10, 50, 100]);
    const sd = await H.api(S, 'GET', H.pp(`${H.STATE_PREFIX}one`));
    assert.equal(sd.status, 200, sd.text);
    assert.equal(sd.json.type, 'RolloutState');

    await H.createFlag(S, 'api/two', { enabled: true, rollout_percentage: 0 });
    await H.createPlan(S, 'a-two', plan('api/two'));
    const l = await H.api(S, 'GET', '/api/v1/rollouts');
    assert.equal(l.status, 200, l.text);
    assert.deepEqual(l.json.rollouts.map((x) => x.name), ['a-two', 'one'], 'by name');
    for (const x of l.json.rollouts) assertStatusShape(x, { listed: true });
  });

  it('gates carry value, bound, samples and status once there is data', async () => {
    let s = await H.status(S, 'one');
    const req = H.gate(s, 'requests');
    assert.equal(req.status, 'wait', H.fmt(s));
    assert.equal(req.bound, 20);
    assert.equal(H.gate(s, 'error_rate').status, 'wait', `a rate below min_samples waits: ${H.fmt(s)}`);
    await H.push(S, [H.item('api/one', 'on', 40, { errors: 1, latencyMs: 300 }), H.item('api/one', 'off', 40, { latencyMs: 300 })]);
    s = await H.status(S, 'one');
    const er = H.gate(s, 'error_rate');
    assert.equal(er.status, 'pass', H.fmt(s));
    assert.equal(er.bound, 5);
    assert.equal(er.value, 2.5, H.fmt(er));
    assert.equal(er.samples, 40, H.fmt(er));
    assert.equal(typeof er.detail, 'string');
    const p95 = H.gate(s, 'p95_ms');
    assert.equal(p95.status, 'pass', H.fmt(s));
    // the histogram's buckets (250–500 ms here) bound the quantile, interpolated inside its bucket
    assert.ok(p95.value >= 250 && p95.value <= 500, H.fmt(p95));
    assert.equal(H.gate(s, 'requests').value, 40, H.fmt(s));
    assert.equal(H.gate(s, 'requests').status, 'pass', H.fmt(s));
  });
});

describe('replace and delete', () => {
  it('PUT replaces the plan: a new version, the state keeps its step', async () => {
    const before = await H.status(S, 'one');
    const p = plan('api/one');
    p.steps[0].bake = '3h';
    p.description = 'replaced';
    const r = await H.api(S, 'PUT', '/api/v1/rollouts/one', { plan: p });
    assert.equal(r.status, 200, r.text);
    const s = await H.status(S, 'one');
    assert.equal(s.version, before.version + 1, H.fmt(s));
    assert.equal(s.step, 0);
    assert.equal(s.percent, 10);
    assert.equal(s.phase, 'running');
    assert.equal(s.bake_ms, 3 * H.HOUR, 'the new bake applies');
    assert.equal(s.state.step_started_at, before.state.step_started_at, 'the step did not restart');
    assert.equal((await H.getFlag(S, 'api/one')).rollout_percentage, 10);
    const bad = await H.api(S, 'PUT', '/api/v1/rollouts/one', { plan: { ...p, steps: [{ percent: 50 }, { percent: 10 }] } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal((await H.status(S, 'one')).version, s.version, 'a refused replacement writes nothing');
  });

  it('DELETE of a running plan is 409; after an abort it deletes plan and state, and the target stays', async () => {
    const r = await H.api(S, 'DELETE', '/api/v1/rollouts/a-two');
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, 'Conflict', r.text);
    await H.command(S, 'a-two', 'abort', { reason: 'not now' });
    const s = await H.waitStatus(S, 'a-two', (x) => x.phase === 'aborted', 'aborted');
    assert.equal(s.percent, 0);
    assert.equal((await H.getFlag(S, 'api/two')).rollout_percentage, 0);
    await H.assertLastAudit(S, 'a-two', { actor: 'admin', reason: /not now/ });
    const d = await H.api(S, 'DELETE', '/api/v1/rollouts/a-two');
    assert.equal(d.status, 200, d.text);
    assert.equal((await H.api(S, 'GET', '/api/v1/rollouts/a-two')).status, 404);
    assert.equal(await H.getDoc(S, `${H.PLAN_PREFIX}a-two`), null);
    assert.equal(await H.getDoc(S, `${H.STATE_PREFIX}a-two`), null);
    assert.ok(!(await H.api(S, 'GET', '/api/v1/rollouts')).json.rollouts.some((x) => x.name === 'a-two'));
    assert.equal((await H.getFlag(S, 'api/two')).rollout_percentage, 0);
    // the target is free again
    await H.createPlan(S, 'a-two-again', plan('api/two'));
    await H.waitStep(S, 'a-two-again', 0, 10);
  });
});

describe('commands', () => {
  it('promote skips the bake (not the gates\' breach), audited with the token and the reason', async () => {
    const s0 = await H.status(S, 'a-two-again');
    assert.ok(s0.bake_left_ms > 0);
    const r = await H.command(S, 'a-two-again', 'promote', { reason: 'ship it' });
    assertStatusShape(r.json);
    const s = await H.waitStep(S, 'a-two-again', 1, 50);
    assert.equal(s.state_version, s0.state_version + 1, H.fmt(s));
    assert.equal((await H.getFlag(S, 'api/two')).rollout_percentage, 50);
    const rec = await H.assertLastAudit(S, 'a-two-again', { actor: 'admin', reason: /ship it/ });
    assert.ok(rec);
  });

  it('pause stops the bake\'s clock and the controller; resume restarts them', async () => {
    await H.command(S, 'a-two-again', 'pause', { reason: 'lunch' });
    let s = await H.waitStatus(S, 'a-two-again', (x) => x.phase === 'paused', 'paused');
    assert.ok(s.state.paused_at, H.fmt(s));
    const left = s.bake_left_ms;
    await H.push(S, [H.item('api/two', 'on', 40), H.item('api/two', 'off', 40)]);
    await H.advance(S, 5 * H.HOUR);
    s = await H.assertAt(S, 'a-two-again', 1, 50, 'paused', 'five hours paused');
    assert.ok(Math.abs(s.bake_left_ms - left) < H.MIN, `${left} → ${s.bake_left_ms}`);
    await H.command(S, 'a-two-again', 'resume', { reason: 'back' });
    s = await H.waitStep(S, 'a-two-again', 1, 50);
    assert.equal(s.state.paused_at, null, H.fmt(s));
    assert.ok(s.state.paused_ms >= 5 * H.HOUR - H.MIN, H.fmt(s));
    assert.ok(Math.abs(s.bake_left_ms - left) < H.MIN, `resumed with the bake it had: ${left} → ${s.bake_left_ms}`);
    await H.assertLastAudit(S, 'a-two-again', { actor: 'admin', reason: /back/ });
  });

  it('start_at: scheduled until then, running after', async () => {
    await H.createFlag(S, 'api/sched', { enabled: true, rollout_percentage: 0 });
    const n = await H.now(S);
    const at = Math.ceil((n + 2 * H.DAY) / H.HOUR) * H.HOUR;
    await H.createPlan(S, 'sched', { ...plan('api/sched'), start_at: H.iso(at) });
    let s = await H.status(S, 'sched');
    assert.equal(s.phase, 'scheduled', H.fmt(s));
    assert.equal(s.step, -1, H.fmt(s));
    assert.equal((await H.getFlag(S, 'api/sched')).rollout_percentage, 0);
    await H.advance(S, at - n - H.MIN);
    s = await H.status(S, 'sched');
    assert.equal(s.phase, 'scheduled', `a minute before start_at: ${H.fmt(s)}`);
    await H.advance(S, 2 * H.MIN);
    s = await H.waitStep(S, 'sched', 0, 10);
    assert.ok(Math.abs(Date.parse(s.state.started_at) - at) <= 2 * H.MIN, H.fmt(s));
    assert.equal((await H.getFlag(S, 'api/sched')).rollout_percentage, 10);
    await H.command(S, 'sched', 'abort');
  });

  it('approval: a step with approval is entered only by a person, once the step before it has baked', async () => {
    await H.createFlag(S, 'api/approve', { enabled: true, rollout_percentage: 0 });
    await H.createPlan(S, 'approve', {
      target: { flag: 'api/approve' },
      steps: [{ percent: 20, bake: '10m' }, { percent: 100, bake: '10m', approval: true }],
    });
    await H.waitStep(S, 'approve', 0, 20);
    await H.assertAt(S, 'approve', 0, 20, 'running', 'before the bake of the step before the approval');
    await H.advance(S, 11 * H.MIN);
    let s = await H.waitStatus(S, 'approve', (x) => x.phase === 'awaiting_approval', 'awaiting approval');
    assert.equal(s.percent, 20, H.fmt(s));
    assert.equal(s.step, 0, H.fmt(s));
    await H.advance(S, H.DAY);
    s = await H.assertAt(S, 'approve', 0, 20, 'awaiting_approval', 'a day later, nobody approved');
    assert.equal((await H.getFlag(S, 'api/approve')).rollout_percentage, 20);
    await H.command(S, 'approve', 'promote', { reason: 'approved' });
    s = await H.waitStep(S, 'approve', 1, 100);
    await H.assertLastAudit(S, 'approve', { actor: 'admin', reason: /approved/ });
    await H.advance(S, 11 * H.MIN);
    s = await H.waitStatus(S, 'approve', (x) => x.phase === 'completed', 'completed');
    assert.equal((await H.getFlag(S, 'api/approve')).rollout_percentage, 100);
    // a completed plan may be started again, and deleted once it has ended
    await H.command(S, 'approve', 'start');
    await H.waitStep(S, 'approve', 0, 20);
    assert.equal((await H.getFlag(S, 'api/approve')).rollout_percentage, 20);
    await H.command(S, 'approve', 'abort');
    assert.equal((await H.api(S, 'DELETE', '/api/v1/rollouts/approve')).status, 200);
  });

  it('a plan written as a document (kind Rollout) starts like one made through the API', async () => {
    await H.createFlag(S, 'api/doc', { enabled: true, rollout_percentage: 0 });
    const r = await H.api(S, 'PUT', H.pp(`${H.PLAN_PREFIX}by-doc`), { type: 'Rollout', value: JSON.stringify(plan('api/doc')) });
    assert.equal(r.status, 200, r.text);
    const s = await H.waitStep(S, 'by-doc', 0, 10);
    assertStatusShape(s);
    assert.equal((await H.getFlag(S, 'api/doc')).rollout_percentage, 10);
    // the start was the controller's
    await H.assertLastAudit(S, 'by-doc', { actor: 'controller' });
    await H.command(S, 'by-doc', 'abort');
  });

  it('commands answer the plan\'s STATUS', async () => {
    const r = await H.command(S, 'one', 'pause');
    assertStatusShape(r.json);
    assert.equal(r.json.phase, 'paused');
    const r2 = await H.command(S, 'one', 'resume');
    assert.equal(r2.json.phase, 'running');
  });
});

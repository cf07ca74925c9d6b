// runbook002.test.js — runbook 002's gradual rollout of a new image provider, driven by a
// rollout plan on a route's split: 10 % → 50 % → 100 % with bakes of 3, 7 and 7 days, volume
// gates of 500 and 2000 requests, and the runbook's validation criteria (failure rate < 5 %,
// p95 < 60 s, cost per image < $0.05) on every step. Real traffic goes through the gateway
// (subjects picked by the split's bucket so the canary sees it); days pass on the test clock.
// Then runbook 002's gradual rollback (100 → 50 → 10 → 0, an hour apart) and its immediate one.
// The runbook's full volumes are driven (the stub provider answers in microseconds).
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

const ROUTE = '/photoeditor/staging/image-processor';
const SALT = 'image-processor';
const PLAN = 'gemini-ramp';
const CANARY = 'gemini';
const PRIMARY = 'replicate';

let S;
let watch;

const plan = () => ({
  description: 'Gemini for image processing, runbook 002',
  target: { route: ROUTE, provider: CANARY },
  steps: [
    { percent: 10, bake: '3d', gates: [{ metric: 'requests', min: 500 }] },
    { percent: 50, bake: '7d', gates: [{ metric: 'requests', min: 2000 }] },
    { percent: 100, bake: '7d' },
  ],
  gates: [
    { metric: 'error_rate', max: 5 },
    { metric: 'p95_ms', max: 60000 },
    { metric: 'cost_per_image', max: 0.05 },
  ],
  on_breach: 'rollback',
  rollback: { wait: '1h' },
});

// subjects the split sends to the canary at 10 % and at 50 %, and some it never does
const canary10 = H.subjectsIn(SALT, 0, 1000, 700, 'c10');
const canary50 = H.subjectsIn(SALT, 0, 5000, 2300, 'c50');
const primaryOnly = H.subjectsIn(SALT, 5000, 10000, 100, 'p');

before(async () => {
  S = await H.startRolloutServer();
  await H.putProvider(S, PRIMARY, H.stubDoc({ prices: { input_per_1k: 0.0001, output_per_1k: 0.0001, per_image: 0.03 } }));
  await H.putProvider(S, CANARY, H.stubDoc({ prices: { input_per_1k: 0.0001, output_per_1k: 0.0001, per_image: 0.039 } }));
  await H.putRoute(S, ROUTE, { provider: PRIMARY, salt: SALT, deadline_ms: 60000 });
  watch = await H.openSSE(S, `/api/v1/watch?prefix=${H.STATE_PREFIX}${PLAN},${ROUTE}`);
  assert.equal(watch.status, 200, watch.body);
});
after(async () => {
  if (watch) watch.close();
  if (S) await S.cleanup();
});

describe('runbook 002 on a route split', () => {
  let t0;

  it('creating the plan starts it at 10 %: the route sends 10 % of subjects to the canary', async () => {
    t0 = await H.now(S);
    const st = await H.createPlan(S, PLAN, plan());
    assert.equal(st.name, PLAN, H.fmt(st));
    assert.deepEqual(st.target, { route: ROUTE, provider: CANARY });
    assert.equal(st.steps, 3);
    const s = await H.waitStep(S, PLAN, 0, 10);
    assert.equal(s.next_percent, 50, H.fmt(s));
    assert.equal(s.bake_ms, 3 * H.DAY, H.fmt(s));
    assert.equal(await H.routeShare(S, ROUTE, CANARY), 10);
    const served = await H.drive(S, ROUTE, [...canary10.slice(0, 20), ...primaryOnly.slice(0, 20)]);
    assert.deepEqual(served.slice(0, 20), Array(20).fill(CANARY), 'canary subjects at 10 %');
    assert.deepEqual(served.slice(20), Array(20).fill(PRIMARY), 'other subjects stay on the primary');
  });

  it('3 days pass with too little volume: it waits for the 500 requests', async () => {
    await H.drive(S, ROUTE, canary10.slice(20, 200)); // 200 canary requests in all
    let s = await H.status(S, PLAN);
    const g = H.gate(s, 'requests');
    assert.equal(g.status, 'wait', H.fmt(s));
    assert.equal(g.bound, 500, H.fmt(s));
    assert.ok(g.value >= 200 && g.value < 500, `requests gate value ${g.value}: ${H.fmt(s)}`);
    for (const m of ['error_rate', 'p95_ms', 'cost_per_image']) {
      const x = H.gate(s, m);
      assert.equal(x.status, 'pass', `${m} on 200 healthy requests: ${H.fmt(s)}`);
      assert.ok('value' in x && 'bound' in x, H.fmt(x));
    }
    await H.advance(S, 3 * H.DAY + H.MIN);
    s = await H.assertAt(S, PLAN, 0, 10, 'running', 'after 3 days with 200 of 500 requests');
    assert.equal(s.bake_left_ms, 0, H.fmt(s));
    assert.equal(await H.routeShare(S, ROUTE, CANARY), 10);
  });

  it('the volume arrives: it promotes to 50 % (audited by the controller, naming the gates)', async () => {
    await H.drive(S, ROUTE, canary10.slice(200, 560));
    const s = await H.waitStep(S, PLAN, 1, 50);
    assert.equal(s.next_percent, 100, H.fmt(s));
    assert.equal(await H.routeShare(S, ROUTE, CANARY), 50);
    const rec = await H.assertLastAudit(S, PLAN, { actor: 'controller', reason: /requests/ });
    assert.match(rec.reason, /promot/i, JSON.stringify(rec));
    assert.match(rec.reason, /500/, `the reason names the bound: ${JSON.stringify(rec)}`);
    // the route's write is the same transition: also audited by the controller
    const ra = (await H.auditOf(S, ROUTE)).at(-1);
    assert.equal(ra.actor, 'controller', JSON.stringify(ra));
  });

  it('the 50 % step: volume first, then 7 days of bake; not a minute before', async () => {
    const served = await H.drive(S, ROUTE, canary50.slice(0, 2100));
    assert.ok(served.every((p) => p === CANARY), 'subjects below bucket 5000 go to the canary at 50 %');
    let s = await H.status(S, PLAN);
    assert.equal(H.gate(s, 'requests').status, 'pass', H.fmt(s));
    assert.ok(s.bake_left_ms > 6 * H.DAY, H.fmt(s));
    await H.assertAt(S, PLAN, 1, 50, 'running', 'with the volume but no bake');
    await H.advance(S, 6 * H.DAY);
    s = await H.assertAt(S, PLAN, 1, 50, 'running', 'after 6 of 7 days');
    assert.ok(s.bake_left_ms > 0 && s.bake_left_ms <= H.DAY, H.fmt(s));
    await H.advance(S, H.DAY + H.MIN);
    s = await H.waitStep(S, PLAN, 2, 100);
    assert.equal(s.next_percent, null, H.fmt(s));
    assert.equal(await H.routeShare(S, ROUTE, CANARY), 100);
    await H.assertLastAudit(S, PLAN, { actor: 'controller', reason: /requests/ });
    const all = await H.drive(S, ROUTE, primaryOnly.slice(0, 30));
    assert.deepEqual(all, Array(30).fill(CANARY), 'at 100 % every subject goes to the canary');
  });

  it('the state versions and the route versions follow each transition (history, change stream)', async () => {
    const hist = await H.stateHistory(S, PLAN);
    H.assertNoDuplicateTransitions(hist, PLAN);
    assert.deepEqual(hist.map((v) => v.state.percent), [10, 50, 100], JSON.stringify(hist.map((v) => v.state)));
    const st = hist.map((v) => Date.parse(v.state.step_started_at));
    assert.ok(st[1] - st[0] >= 3 * H.DAY, `10 % lasted ${(st[1] - st[0]) / H.HOUR} h`);
    assert.ok(st[2] - st[1] >= 7 * H.DAY && st[2] - st[1] < 7 * H.DAY + H.HOUR, `50 % lasted ${(st[2] - st[1]) / H.HOUR} h`);
    assert.ok(st[0] >= t0 - H.MIN, 'started when created');
    const s = await H.status(S, PLAN);
    assert.equal(s.state_version, hist.length, H.fmt(s));
    assert.equal(s.state.transitions, hist.length, H.fmt(s));
    // the change stream carried each state version once, in order
    const seen = [];
    while (seen.length < hist.length) {
      const ev = await watch.nextEvent((e) => e.json && e.json.name === `${H.STATE_PREFIX}${PLAN}`, 5000);
      seen.push(ev.json.version);
    }
    assert.deepEqual(seen, hist.map((v) => v.version));
    // the route's split followed, one version per transition
    const rh = await H.history(S, ROUTE);
    const shares = rh.map((v) => ((v.doc.split || []).find((e) => e.provider === CANARY) || { percent: 0 }).percent);
    assert.deepEqual(shares, [0, 10, 50, 100], `route versions: ${JSON.stringify(rh.map((v) => v.doc))}`);
    for (const v of rh.slice(1)) assert.equal(v.doc.provider, PRIMARY, 'the rest of the route is kept');
  });

  it('gradual rollback: 100 → 50 at once, then 10 and 0 an hour apart', async () => {
    let r = await H.command(S, PLAN, 'rollback', { gradual: true, reason: 'runbook 002 gradual rollback drill' });
    let s = await H.waitStatus(S, PLAN, (x) => x.phase === 'rolling_back' && x.percent === 50, 'rolling back at 50 %', 5000);
    assert.ok(s.state.rollback && s.state.rollback.gradual === true, H.fmt(s));
    assert.deepEqual(s.state.rollback.steps, [10, 0], H.fmt(s));
    assert.equal(await H.routeShare(S, ROUTE, CANARY), 50);
    const rec = await H.assertLastAudit(S, PLAN, { actor: 'admin', reason: /runbook 002 gradual rollback drill/ });
    assert.ok(rec);
    assert.ok(r.json, r.text);
    await H.advance(S, 59 * H.MIN);
    s = await H.status(S, PLAN);
    assert.ok(s.phase === 'rolling_back' && s.percent === 50, `still 50 % after 59 min: ${H.fmt(s)}`);
    await H.advance(S, 2 * H.MIN);
    s = await H.waitStatus(S, PLAN, (x) => x.phase === 'rolling_back' && x.percent === 10, '10 % an hour later');
    assert.equal(await H.routeShare(S, ROUTE, CANARY), 10);
    await H.assertLastAudit(S, PLAN, { actor: 'controller' });
    await H.advance(S, 59 * H.MIN);
    s = await H.status(S, PLAN);
    assert.ok(s.phase === 'rolling_back' && s.percent === 10, `still 10 % after 59 min: ${H.fmt(s)}`);
    await H.advance(S, 2 * H.MIN);
    s = await H.waitStatus(S, PLAN, (x) => x.phase === 'rolled_back' && x.percent === 0, 'rolled back to 0');
    assert.equal(await H.routeShare(S, ROUTE, CANARY), 0);
    const route = await H.getDoc(S, ROUTE);
    assert.ok(!(route.value.split || []).some((e) => e.provider === CANARY), `0 removes the entry: ${JSON.stringify(route.value)}`);
    const served = await H.drive(S, ROUTE, canary10.slice(0, 20));
    assert.deepEqual(served, Array(20).fill(PRIMARY));
    const hist = await H.stateHistory(S, PLAN);
    H.assertNoDuplicateTransitions(hist, PLAN);
    assert.deepEqual(hist.slice(-3).map((v) => v.state.percent), [50, 10, 0]);
    // a rollback asked for by a person is not a breach: no breach object
    assert.equal(s.breach, null, H.fmt(s));
  });

  it('immediate rollback: started again, then to 0 at once', async () => {
    await H.command(S, PLAN, 'start', { reason: 'try again' });
    let s = await H.waitStep(S, PLAN, 0, 10);
    assert.equal(await H.routeShare(S, ROUTE, CANARY), 10);
    await H.command(S, PLAN, 'rollback', { reason: 'emergency' });
    s = await H.waitStatus(S, PLAN, (x) => x.phase === 'rolled_back' && x.percent === 0, 'rolled back at once', 3000);
    assert.equal(s.state.rollback === null || s.state.rollback === undefined || s.state.rollback.gradual !== true, true, H.fmt(s));
    assert.equal(await H.routeShare(S, ROUTE, CANARY), 0);
    await H.assertLastAudit(S, PLAN, { actor: 'admin', reason: /emergency/ });
    // nothing moves afterwards, whatever time passes
    await H.advance(S, 2 * H.DAY);
    await H.assertAt(S, PLAN, s.step, 0, 'rolled_back', 'two days after the rollback');
    H.assertNoDuplicateTransitions(await H.stateHistory(S, PLAN), PLAN);
  });
});

// badinput.test.js — what the rollouts API and the pushed metrics refuse (docs/ROLLOUTS.md): each
// refusal has the native error shape, the status and code of the contract, a message naming the
// field, and writes nothing; the server lives through all of it.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

let S;
let readTok;
let evalTok;
const FLAG = 'bad/flag';
const FLAG2 = 'bad/flag2';

before(async () => {
  S = await H.startRolloutServer();
  await H.createFlag(S, FLAG, { enabled: true, rollout_percentage: 0 });
  await H.createFlag(S, FLAG2, { enabled: true, rollout_percentage: 0 });
  for (const [name, scopes] of [['reader', ['read']], ['app', ['evaluate']]]) {
    const r = await H.api(S, 'POST', '/api/v1/admin/tokens', { name, scopes });
    assert.equal(r.status, 201, r.text);
    if (name === 'reader') readTok = r.json.token;
    else evalTok = r.json.token;
  }
});
after(async () => {
  if (S) {
    await H.assertHealthy(S);
    await S.cleanup();
  }
});

const good = (flag = FLAG) => ({
  target: { flag },
  steps: [{ percent: 10, bake: '1h' }, { percent: 50, bake: '2h' }, { percent: 100, bake: '1h' }],
  gates: [{ metric: 'error_rate', max: 5 }],
});

/* Asserts a refusal: status, code (when given), the message matching re; returns the reply. */
function refused(r, status, code, re, what) {
  const st = Array.isArray(status) ? status : [status];
  assert.ok(st.includes(r.status), `${what}: wanted ${st.join('|')}, got ${r.status} ${r.text}`);
  assert.ok(r.json && r.json.error && typeof r.json.error.message === 'string', `${what}: not the native error shape: ${r.text}`);
  if (code) assert.equal(r.json.error.code, code, `${what}: ${r.text}`);
  if (re) assert.match(r.json.error.message, re, `${what}: the message names it: ${r.text}`);
  return r;
}

/* POSTs a plan that must be refused, and checks nothing of it was written. */
async function refusePlan(name, plan, status, code, re, what) {
  const r = await H.api(S, 'POST', '/api/v1/rollouts', { name, plan });
  refused(r, status, code, re, what);
  if (/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    assert.equal((await H.api(S, 'GET', `/api/v1/rollouts/${name}`)).status, 404, `${what}: no plan ${name} after a refusal`);
    assert.equal(await H.getDoc(S, `${H.STATE_PREFIX}${name}`), null, `${what}: no state written`);
    assert.equal(await H.getDoc(S, `${H.PLAN_PREFIX}${name}`), null, `${what}: no plan document written`);
  }
  return r;
}

const with_ = (f) => { const p = good(); f(p); return p; };

describe('plans refused with 400 naming the field', () => {
  const cases = [
    ['steps not rising', with_((p) => { p.steps[1].percent = 10; }), /steps\[1\]\.percent/],
    ['steps falling', with_((p) => { p.steps[2].percent = 40; }), /steps\[2\]\.percent/],
    ['percent over 100', with_((p) => { p.steps[2].percent = 101; }), /steps\[2\]\.percent/],
    ['negative percent', with_((p) => { p.steps[0].percent = -1; }), /steps\[0\]\.percent/],
    ['three decimals', with_((p) => { p.steps[0].percent = 12.345; }), /steps\[0\]\.percent/],
    ['percent as a string', with_((p) => { p.steps[0].percent = '10'; }), /steps\[0\]\.percent/],
    ['no steps', with_((p) => { p.steps = []; }), /steps/],
    ['21 steps', with_((p) => { p.steps = Array.from({ length: 21 }, (_, i) => ({ percent: i * 5 })); }), /steps/],
    ['unknown metric', with_((p) => { p.steps[1].gates = [{ metric: 'latency', max: 5 }]; }), /steps\[1\]\.gates\[0\]\.metric.*latency/],
    ['unknown metric in the plan\'s gates', with_((p) => { p.gates[0].metric = 'errorrate'; }), /gates\[0\]\.metric.*errorrate/],
    ['gate without a bound', with_((p) => { p.gates = [{ metric: 'error_rate' }]; }), /gates\[0\]/],
    ['gate with a negative bound', with_((p) => { p.gates = [{ metric: 'p95_ms', max: -3 }]; }), /gates\[0\]/],
    ['requests gate with a negative min', with_((p) => { p.gates = [{ metric: 'requests', min: -1 }]; }), /gates\[0\]/],
    ['alerts gate with an unknown severity', with_((p) => { p.gates = [{ metric: 'alerts', severity: 'panic' }]; }), /gates\[0\]\.severity/],
    ['prometheus gate without a query', with_((p) => { p.gates = [{ metric: 'prometheus', max: 1 }]; }), /gates\[0\]/],
    ['unknown field in the plan', with_((p) => { p.colour = 'red'; }), /colour/],
    ['unknown field in a step', with_((p) => { p.steps[0].wait = '1h'; }), /steps\[0\].*wait/],
    ['unknown field in a gate', with_((p) => { p.gates[0].maximum = 5; }), /gates\[0\].*maximum/],
    ['bake "3 days"', with_((p) => { p.steps[0].bake = '3 days'; }), /steps\[0\]\.bake/],
    ['bake "-1h"', with_((p) => { p.steps[0].bake = '-1h'; }), /steps\[0\]\.bake/],
    ['bake "1y"', with_((p) => { p.steps[0].bake = '1y'; }), /steps\[0\]\.bake/],
    ['bake -5 seconds', with_((p) => { p.steps[0].bake = -5; }), /steps\[0\]\.bake/],
    ['not_before not RFC 3339', with_((p) => { p.steps[1].not_before = 'next tuesday'; }), /steps\[1\]\.not_before/],
    ['on_breach "explode"', with_((p) => { p.on_breach = 'explode'; }), /on_breach/],
    ['rollback steps rising', with_((p) => { p.rollback = { steps: [10, 50, 0] }; }), /rollback/],
    ['rollback steps not ending in 0', with_((p) => { p.rollback = { steps: [50, 10] }; }), /rollback/],
    ['rollback wait "soon"', with_((p) => { p.rollback = { wait: 'soon' }; }), /rollback\.wait/],
    ['start_at not a date', with_((p) => { p.start_at = 'tomorrow'; }), /start_at/],
    ['min_samples negative', with_((p) => { p.min_samples = -1; }), /min_samples/],
    ['no target', with_((p) => { delete p.target; }), /target/],
    ['target with a flag and a route', with_((p) => { p.target = { flag: FLAG, route: '/r', provider: 'stub' }; }), /target/],
    ['route target without a provider', with_((p) => { p.target = { route: '/r' }; }), /target/],
  ];
  cases.forEach(([what, plan, re], i) => {
    it(what, async () => {
      await refusePlan(`bad-${i}`, plan, 400, 'ValidationException', re, what);
    });
  });

  it('a plan that is not an object, a body without a plan, bad names', async () => {
    for (const [body, re] of [
      [{ name: 'bad-x', plan: 'steps' }, /plan/],
      [{ name: 'bad-x' }, /plan/],
      [{ plan: good() }, /name/],
      [{ name: 'a/b', plan: good() }, /name/],
      [{ name: 'x'.repeat(65), plan: good() }, /name/],
      [{ name: '', plan: good() }, /name/],
      [{ name: 'bad-x', plan: good(), extra: 1 }, /extra/],
    ]) {
      refused(await H.api(S, 'POST', '/api/v1/rollouts', body), 400, 'ValidationException', re, JSON.stringify(body).slice(0, 80));
    }
    refused(await H.api(S, 'POST', '/api/v1/rollouts', '{"name": "bad-x", "plan": {'), 400, null, null, 'broken JSON');
  });

  it('an oversize plan document: 400/413; a body over 1 MiB: 413', async () => {
    const big = with_((p) => { p.description = 'x'.repeat(70000); });
    await refusePlan('bad-big', big, [400, 413], null, null, 'a 70 kB plan');
    const huge = with_((p) => { p.description = 'x'.repeat(1100000); });
    await refusePlan('bad-huge', huge, 413, null, null, 'a 1.1 MB body');
  });

  it('the same checks hold for a plan written as a document (kind Rollout)', async () => {
    const r = await H.api(S, 'PUT', H.pp(`${H.PLAN_PREFIX}bad-doc`), { type: 'Rollout', value: JSON.stringify(with_((p) => { p.steps[1].percent = 5; })) });
    refused(r, 400, 'ValidationException', /steps\[1\]\.percent/, 'PUT /api/v1/params of a bad Rollout');
    assert.equal(await H.getDoc(S, `${H.PLAN_PREFIX}bad-doc`), null);
  });
});

describe('targets', () => {
  it('a plan on a missing flag is refused, naming it', async () => {
    await refusePlan('bad-missing', good('no/such/flag'), [400, 404], null, /no\/such\/flag/, 'missing flag');
  });

  it('a plan on a missing route is refused, naming it', async () => {
    await refusePlan('bad-missing-route', with_((p) => { p.target = { route: '/no/such/route', provider: 'stub' }; }), [400, 404], null, /no\/such\/route/, 'missing route');
  });

  it('two plans on one target: 409 TargetInUse, whatever the first one\'s phase until it ends', async () => {
    await H.createPlan(S, 'first', good(FLAG));
    await H.waitStep(S, 'first', 0, 10);
    await refusePlan('second', good(FLAG), 409, 'TargetInUse', /first|bad\/flag/, 'a second plan on the flag');
    // the key or the path of the flag: the same target
    await refusePlan('second', good(`/${FLAG}`), 409, 'TargetInUse', null, 'the same flag by its path');
    await H.command(S, 'first', 'pause');
    await refusePlan('second', good(FLAG), 409, 'TargetInUse', null, 'while the first is paused');
    await H.command(S, 'first', 'resume');
    // a scheduled plan holds its target too
    const n = await H.now(S);
    await H.createPlan(S, 'later', { ...good(FLAG2), start_at: H.iso(n + H.DAY) });
    const st = await H.status(S, 'later');
    assert.equal(st.phase, 'scheduled', H.fmt(st));
    await refusePlan('second', good(FLAG2), 409, 'TargetInUse', null, 'a scheduled plan on the flag');
  });
});

describe('commands', () => {
  it('commands in the wrong phase are 409 Conflict and write nothing', async () => {
    // "first" is running at step 0
    const v0 = (await H.stateHistory(S, 'first')).length;
    for (const cmd of ['resume', 'start']) {
      refused(await H.api(S, 'POST', `/api/v1/rollouts/first/${cmd}`, {}), 409, 'Conflict', null, `${cmd} on a running plan`);
    }
    assert.equal((await H.stateHistory(S, 'first')).length, v0);
    await H.command(S, 'first', 'abort', { reason: 'test' });
    await H.waitStatus(S, 'first', (x) => x.phase === 'aborted', 'aborted');
    const v1 = (await H.stateHistory(S, 'first')).length;
    for (const cmd of ['promote', 'pause', 'resume', 'abort']) {
      refused(await H.api(S, 'POST', `/api/v1/rollouts/first/${cmd}`, {}), 409, 'Conflict', null, `${cmd} on an aborted plan`);
    }
    assert.equal((await H.stateHistory(S, 'first')).length, v1);
  });

  it('an unknown command, bodies of the wrong shape', async () => {
    const r = await H.api(S, 'POST', '/api/v1/rollouts/later/explode', {});
    assert.ok([400, 404].includes(r.status), `unknown command: ${r.status} ${r.text}`);
    refused(await H.api(S, 'POST', '/api/v1/rollouts/later/pause', { reason: 5 }), 400, 'ValidationException', /reason/, 'a reason that is a number');
    refused(await H.api(S, 'POST', '/api/v1/rollouts/later/rollback', { gradual: 'yes' }), 400, 'ValidationException', /gradual/, 'gradual as a string');
    refused(await H.api(S, 'POST', '/api/v1/rollouts/later/pause', { colour: 1 }), 400, 'ValidationException', /colour/, 'an unknown field');
  });

  it('an unknown plan is 404 RolloutNotFound everywhere', async () => {
    for (const [m, p, b] of [
      ['GET', '/api/v1/rollouts/nope'],
      ['PUT', '/api/v1/rollouts/nope', { plan: good() }],
      ['DELETE', '/api/v1/rollouts/nope'],
      ['POST', '/api/v1/rollouts/nope/promote', {}],
      ['POST', '/api/v1/rollouts/nope/rollback', { gradual: true }],
    ]) {
      refused(await H.api(S, m, p, b), 404, 'RolloutNotFound', /nope/, `${m} ${p}`);
    }
  });

  it('no token: 401; a read token reads but cannot write: 403; an evaluate token cannot read', async () => {
    for (const [m, p, b] of [
      ['GET', '/api/v1/rollouts'],
      ['GET', '/api/v1/rollouts/later'],
      ['POST', '/api/v1/rollouts', { name: 'x', plan: good(FLAG2) }],
      ['POST', '/api/v1/rollouts/later/pause', {}],
      ['POST', '/api/v1/metrics', { metrics: [H.item(FLAG, 'on', 1)] }],
    ]) {
      refused(await H.api(S, m, p, b, null), 401, 'Unauthenticated', null, `${m} ${p} without a token`);
    }
    assert.equal((await H.api(S, 'GET', '/api/v1/rollouts', undefined, readTok)).status, 200);
    assert.equal((await H.api(S, 'GET', '/api/v1/rollouts/later', undefined, readTok)).status, 200);
    for (const [m, p, b] of [
      ['POST', '/api/v1/rollouts', { name: 'x', plan: good(FLAG2) }],
      ['PUT', '/api/v1/rollouts/later', { plan: good(FLAG2) }],
      ['DELETE', '/api/v1/rollouts/later'],
      ['POST', '/api/v1/rollouts/later/pause', {}],
      ['POST', '/api/v1/rollouts/later/abort', {}],
    ]) {
      refused(await H.api(S, m, p, b, readTok), 403, 'AccessDenied', null, `${m} ${p} with a read token`);
    }
    refused(await H.api(S, 'GET', '/api/v1/rollouts', undefined, evalTok), 403, 'AccessDenied', null, 'GET with an evaluate token');
    assert.equal((await H.status(S, 'later')).phase, 'scheduled', 'nothing changed');
  });

  it('the state document is the controller\'s: a direct write of a RolloutState is refused or harmless', async () => {
    const r = await H.api(S, 'PUT', H.pp(`${H.STATE_PREFIX}later`), { type: 'RolloutState', overwrite: true, value: '{"phase":"completed"}' });
    assert.ok(r.status >= 400 && r.status < 500, `a hand-written state: ${r.status} ${r.text}`);
    assert.equal((await H.status(S, 'later')).phase, 'scheduled');
  });
});

describe('pushed metrics refused whole', () => {
  // the counts GET /api/v1/metrics shows, without its times (only numbers and their keys)
  const numbers = (v) => {
    if (Array.isArray(v)) return v.map(numbers);
    if (v && typeof v === 'object') {
      const o = {};
      for (const [k, x] of Object.entries(v)) if (typeof x !== 'string' && !/(^|_)(at|time|now|since|updated)$/.test(k)) o[k] = numbers(x);
      return o;
    }
    return v;
  };
  const counts = async () => {
    const r = await H.api(S, 'GET', `/api/v1/metrics?flag=${FLAG}`);
    assert.equal(r.status, 200, r.text);
    return JSON.stringify(numbers(r.json));
  };
  const cases = [
    ['an unknown key', [H.item(FLAG, 'on', 5), { ...H.item(FLAG, 'on', 5), foo: 1 }], 400, /metrics\[1\]\.foo/],
    ['a negative count', [H.item(FLAG, 'on', 5), { flag: FLAG, variant: 'on', requests: -1 }], 400, /metrics\[1\]\.requests/],
    ['negative errors', [{ flag: FLAG, variant: 'on', requests: 5, errors: -2 }], 400, /metrics\[0\]\.errors/],
    ['a fractional count', [{ flag: FLAG, variant: 'on', requests: 1.5 }], 400, /metrics\[0\]\.requests/],
    ['a count over 10^9', [{ flag: FLAG, variant: 'on', requests: 1e9 + 1 }], 400, /metrics\[0\]\.requests/],
    ['a latency over 10^7 ms', [{ flag: FLAG, variant: 'on', requests: 1, latency_ms: [1e7 + 1] }], 400, /metrics\[0\]\.latency_ms/],
    ['a negative latency', [{ flag: FLAG, variant: 'on', requests: 1, latency_ms: [-1] }], 400, /metrics\[0\]\.latency_ms/],
    ['a cost over 10^6', [{ flag: FLAG, variant: 'on', requests: 1, cost_usd: 1e6 + 1 }], 400, /metrics\[0\]\.cost_usd/],
    ['a missing flag', [H.item(FLAG, 'on', 5), H.item('no/such/flag', 'on', 5)], [400, 404], /no\/such\/flag|metrics\[1\]/],
    ['1001 items', Array.from({ length: 1001 }, () => ({ flag: FLAG, variant: 'on', requests: 1 })), [400, 413], /1000|metrics/],
    ['10,001 latency observations', [{ flag: FLAG, variant: 'on', requests: 10001, latency_ms: Array(10001).fill(1) }], [400, 413], /latency|10000|10,000/],
  ];
  for (const [what, items, status, re] of cases) {
    it(what, async () => {
      const before = await counts();
      const r = await H.api(S, 'POST', '/api/v1/metrics', { metrics: items });
      refused(r, status, null, re, what);
      assert.equal(await counts(), before, `${what}: nothing of a refused batch counts`);
    });
  }

  it('a body over 1 MiB is 413; not an object, no metrics array: 400', async () => {
    const before = await counts();
    const huge = JSON.stringify({ metrics: [{ flag: FLAG, variant: 'on', requests: 1, pad: 'x'.repeat(1100000) }] });
    refused(await H.api(S, 'POST', '/api/v1/metrics', huge), 413, null, null, 'a 1.1 MB batch');
    for (const body of ['[]', '{"metrics": {}}', '{}', '{"metrics": [1]}', 'not json']) {
      const r = await H.api(S, 'POST', '/api/v1/metrics', body);
      assert.equal(r.status, 400, `${body}: ${r.status} ${r.text}`);
    }
    assert.equal(await counts(), before);
  });

  it('an evaluate token may push; a good batch counts', async () => {
    const r = await H.api(S, 'POST', '/api/v1/metrics', { metrics: [H.item(FLAG, 'on', 7, { errors: 1 })] }, evalTok);
    assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${r.text}`);
    assert.match(await counts(), /7/);
  });
});

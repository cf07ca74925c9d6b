// rollouts.test.js — the Rollouts view in Chromium, on a server with the test clock (the plan
// does not promote itself while the test looks): the empty state says how to create a plan; a
// plan on a flag shows its steps and its gates with the values pushed metrics give; promote
// through the console moves the step (the server agrees); roll back through the console puts the
// flag at 0 % and the phase shows it; a read token sees no action button.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('../api/helpers');
const C = require('./helpers');

const FLAG = 'audio-transcription/partial-results/config';
const NAME = 'partial-results-ramp';
const PLAN = {
  description: 'runbook 004: 10 → 50 → 100 % of sessions',
  target: { flag: FLAG },
  steps: [
    { percent: 10, bake: '1w', gates: [{ metric: 'requests', min: 20 }] },
    { percent: 50, bake: '1w' },
    { percent: 100, bake: '1d' },
  ],
  gates: [{ metric: 'error_rate', max: 5 }, { metric: 'p95_ms', max: 5000 }],
  on_breach: 'rollback',
};

async function status(S) {
  const r = await H.api(S, 'GET', `/api/v1/rollouts/${NAME}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/* Polls the plan's status until pred holds (the controller writes its first step on its own). */
async function waitStatus(S, pred, what) {
  const until = Date.now() + 15000;
  for (;;) {
    const st = await status(S);
    if (pred(st)) return st;
    if (Date.now() > until) assert.fail(`waited for ${what}: ${JSON.stringify(st)}`);
    await H.sleep(50);
  }
}

const waitText = (page, id, re) => page.waitForFunction(([i, src]) => {
  const e = document.querySelector(`[data-testid="${i}"]`);
  return e && new RegExp(src).test(e.textContent);
}, [id, re.source]);

describe('the Rollouts view', { skip: C.skipReason() }, () => {
  let S;
  let browser;
  before(async () => {
    S = await C.startServer({ env: { SWITCHYARD_TEST_CLOCK: '1' } });
    browser = await C.launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    if (S) await S.cleanup();
  });

  it('with no plan, says how to create one', async () => {
    const page = await C.openConsole(browser, S, { hash: '#/rollouts' });
    await page.getByTestId('empty').waitFor();
    const t = await page.getByTestId('empty').textContent();
    assert.match(t, /POST \/api\/v1\/rollouts/);
    assert.match(t, /switchyard rollout plan create/);
    await page.context().close();
  });

  it('shows a plan\'s steps and gates, promotes it, and rolls it back', async () => {
    const f = await H.api(S, 'POST', '/api/v1/flags', { key: FLAG, document: { enabled: true, rollout_percentage: 0 } });
    assert.equal(f.status, 201, f.text);
    const c = await H.api(S, 'POST', '/api/v1/rollouts', { name: NAME, plan: PLAN });
    assert.equal(c.status, 201, c.text);
    await waitStatus(S, (s) => s.phase === 'running' && s.step === 0 && s.percent === 10, 'step 1 at 10 %');
    // traffic of the canary ("on") and the baseline ("off"): the gates get values
    const latency = Array.from({ length: 30 }, (_, i) => 200 + i);
    const m = await H.api(S, 'POST', '/api/v1/metrics', { metrics: [
      { flag: FLAG, variant: 'on', requests: 30, errors: 0, latency_ms: latency },
      { flag: FLAG, variant: 'off', requests: 30, errors: 0, latency_ms: latency },
    ] });
    assert.ok(m.status >= 200 && m.status < 300, m.text);

    const page = await C.openConsole(browser, S, { hash: '#/rollouts' });
    const row = page.getByTestId('rollout-row').filter({ hasText: NAME });
    await row.waitFor();
    assert.match(await row.textContent(), /running.*1\/3 at 10 %/);
    await C.shot(page, 'rollouts-list');
    await row.getByRole('link').click();

    await waitText(page, 'rollout-step', /^1\/3 at 10 %, next 50 %$/);
    const steps = page.getByTestId('rollout-step-item');
    assert.equal(await steps.count(), 3);
    assert.deepEqual(await steps.evaluateAll((els) => els.map((e) => e.dataset.state)), ['current', 'next', 'later']);
    assert.match(await steps.nth(0).textContent(), /10 %.*bake 1w/);
    const st = await status(S);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=rollout-gate]').length > 0
      && [...document.querySelectorAll('[data-testid=rollout-gate]')].every((r) => !/—/.test(r.cells[2].textContent)));
    const gates = page.getByTestId('rollout-gate');
    assert.equal(await gates.count(), st.gates.length);
    for (let i = 0; i < st.gates.length; i++) {
      const t = await gates.nth(i).textContent();
      assert.ok(t.includes(st.gates[i].gate), `${t} / ${st.gates[i].gate}`);
      assert.ok(t.includes(st.gates[i].status), `${t} / ${st.gates[i].status}`);
    }
    await C.shot(page, 'rollout-one');

    // promote: the next step now
    await page.getByTestId('rollout-promote').click();
    assert.match(await page.getByTestId('action-dialog').locator('.what').textContent(), /from 10 % to 50 % now/);
    await C.confirmAction(page, 'canary clean, approved by on-call');
    await waitText(page, 'rollout-step', /^2\/3 at 50 %/);
    const p = await status(S);
    assert.equal(p.step, 1, JSON.stringify(p));
    assert.equal(p.percent, 50);
    assert.match(p.reason, /canary clean, approved by on-call/);
    assert.equal((await H.api(S, 'GET', `/api/v1/flags/${FLAG}`)).json.rollout_percentage, 50);
    await page.waitForFunction(() => document.querySelector('[data-testid=rollout-step-item][data-state=done]'));

    // roll back at once
    await page.getByTestId('rollout-rollback').click();
    const d = page.getByTestId('action-dialog');
    assert.match(await d.locator('.what').textContent(), /from 50 % to 0 % now/);
    assert.equal(await d.getByTestId('action-confirm').getAttribute('class'), 'danger');
    await C.confirmAction(page, 'latency regression');
    await waitText(page, 'rollout-phase', /^rolled back$/);
    const b = await status(S);
    assert.equal(b.phase, 'rolled_back', JSON.stringify(b));
    assert.equal((await H.api(S, 'GET', `/api/v1/flags/${FLAG}`)).json.rollout_percentage, 0);
    await waitText(page, 'rollout-percent', /^0 %$/);
    await page.getByTestId('rollout-transitions').waitFor();
    assert.match(await page.getByTestId('rollout-transitions').textContent(), /latency regression/);
    // an ended plan offers start, not promote or rollback
    await page.getByTestId('rollout-start').waitFor();
    assert.equal(await page.getByTestId('rollout-promote').count(), 0);
    assert.equal(await page.getByTestId('rollout-rollback').count(), 0);
    await C.shot(page, 'rollout-rolled-back');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('a read token sees the plan but no action button', async () => {
    const t = await H.api(S, 'POST', '/api/v1/admin/tokens', { name: 'watcher', scopes: ['read'] });
    assert.equal(t.status, 201, t.text);
    const page = await C.openConsole(browser, S, { token: t.json.token, hash: `#/rollouts/${NAME}` });
    await page.getByTestId('rollout-steps').waitFor();
    await page.getByTestId('rollout-transitions').waitFor();
    const actions = ['promote', 'pause', 'resume', 'rollback', 'gradual', 'abort', 'start'].map((a) => `[data-testid=rollout-${a}]`).join(', ');
    assert.equal(await page.locator(actions).count(), 0);
    assert.equal(await page.locator('main button').count(), 0);
    await page.context().close();
  });

  it('fits a narrow window, in dark mode too', async () => {
    for (const [label, opts] of [['narrow', { viewport: { width: 390, height: 800 } }], ['dark', { colorScheme: 'dark' }]]) {
      const page = await C.openConsole(browser, S, { ...opts, hash: `#/rollouts/${NAME}` });
      await page.getByTestId('rollout-transitions').waitFor();
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${label}: the page scrolls sideways`);
      await C.shot(page, `rollout-one-${label}`);
      assert.deepEqual(page.errors, []);
      await page.context().close();
    }
  });
});

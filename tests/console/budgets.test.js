// budgets.test.js — the console's budgets view in Chromium: runbook 001's empty state, a limit
// set through the form (and a refused one showing the API's message), the gauge moving on the
// open page as paid chat requests pass through the gateway, the soft and hard states, and a
// read token that sees the gauges but no form.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('../gateway/helpers');
const C = require('./helpers');

const LIMIT = '/switchyard/limits/per_provider/paid';

describe('the budgets view', { skip: C.skipReason() }, () => {
  let S;
  let browser;
  let sim;
  let page;
  before(async () => {
    S = await C.startServer();
    // every answer costs 100 output tokens at $1 per 1k: $0.10 (max_tokens 100 makes the worst case the same)
    sim = await H.startSim({ usage: { prompt_tokens: 10, completion_tokens: 100 } });
    await H.putProvider(S, 'paid', H.openaiDoc(sim, { models: ['sim-gpt'], prices: { input_per_1k: 0, output_per_1k: 1.0 } }));
    await H.putRoute(S, H.DEFAULT_ROUTE, { provider: 'paid' });
    browser = await C.launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    if (sim) await sim.close();
    if (S) await S.cleanup();
  });

  const spend = () => H.api(S, 'POST', '/v1/chat/completions', { model: 'sim-gpt', max_tokens: 100, messages: [{ role: 'user', content: 'spend' }] });
  const card = () => page.getByTestId(`limit:${LIMIT}`);
  const consumedIs = (text) => page.waitForFunction(([name, t]) => {
    const c = document.querySelector(`[data-testid="limit:${name}"] [data-testid=consumed]`);
    return c && c.textContent === t;
  }, [LIMIT, text]);

  it('shows runbook 001\'s call when no limit is set, and refuses a soft limit above the hard one with the API\'s message', async () => {
    page = await C.openConsole(browser, S, { hash: '#/budgets' });
    const empty = page.getByTestId('empty');
    await empty.waitFor();
    assert.match(await empty.textContent(), /POST http:\/\/localhost:8000\/api\/v1\/governance\/limits/);
    assert.match(await empty.textContent(), /"soft_limit_usd": 200\.0/);
    await C.shot(page, 'budgets-empty');
    await page.getByTestId('limit-scope').fill('paid');
    await page.getByTestId('limit-soft').fill('0.5');
    await page.getByTestId('limit-hard').fill('0.3');
    await page.getByTestId('limit-submit').click();
    const d = page.getByTestId('action-dialog');
    await d.waitFor();
    await d.getByTestId('action-confirm').click();
    await d.getByTestId('error').waitFor();
    assert.match(await d.getByTestId('error').textContent(), /ValidationException.*soft_limit_usd \(0\.5\) must not be above hard_limit_usd \(0\.3\)/);
    await d.getByRole('button', { name: 'Cancel' }).click();
    await d.waitFor({ state: 'detached' });
    assert.equal((await H.api(S, 'GET', '/api/v1/governance/status')).json.limits.length, 0, 'nothing was written');
  });

  it('sets a limit through the form; the server holds it', async () => {
    await page.getByTestId('limit-soft').fill('0.15');
    await page.getByTestId('limit-hard').fill('0.3');
    await page.getByTestId('limit-submit').click();
    const d = page.getByTestId('action-dialog');
    await d.waitFor();
    assert.match(await d.textContent(), /New limit \/switchyard\/limits\/per_provider\/paid: soft \$0\.1500, hard \$0\.3000 a UTC day/);
    await C.confirmAction(page, 'cap the paid provider');
    await card().waitFor();
    const rec = (await H.api(S, 'GET', `/api/v1/admin/audit?name=${encodeURIComponent(LIMIT)}&limit=1`)).json.records[0];
    assert.equal(rec.reason, 'governance limit: cap the paid provider');
    const l = (await H.api(S, 'GET', '/api/v1/governance/status')).json.limits.find((x) => x.name === LIMIT);
    assert.deepEqual([l.limit_type, l.scope, l.soft_limit_usd, l.hard_limit_usd, l.state], ['per_provider', 'paid', 0.15, 0.3, 'ok']);
    assert.equal(await card().getByTestId('limit-state').textContent(), 'ok');
    assert.equal(await card().getByTestId('consumed').textContent(), '$0.00');
  });

  it('the gauge moves with paid traffic on the open page, through the soft and the hard limit', async () => {
    await page.evaluate(() => { window.__sameDocument = true; });
    assert.equal((await spend()).status, 200);
    await consumedIs('$0.1000');
    assert.equal(await card().getByTestId('limit-state').textContent(), 'ok');
    assert.equal(await card().getByTestId('requests').textContent(), '1');
    const gauge = card().getByTestId('gauge');
    assert.match(await gauge.getAttribute('aria-valuetext'), /\$0\.1000 consumed of \$0\.3000 hard limit \(soft \$0\.1500\)/);

    assert.equal((await spend()).status, 200);
    await consumedIs('$0.2000');
    await page.waitForFunction((n) => document.querySelector(`[data-testid="limit:${n}"] [data-testid=limit-state]`).textContent === 'soft_limit_reached', LIMIT);
    await C.shot(page, 'budgets-soft');

    assert.equal((await spend()).status, 200);
    await consumedIs('$0.3000');
    await page.waitForFunction((n) => document.querySelector(`[data-testid="limit:${n}"] [data-testid=limit-state]`).textContent === 'hard_limit_reached', LIMIT);
    assert.equal(await card().getByTestId('remaining').textContent(), '$0.00');
    const width = await card().locator('.gauge-used').evaluate((e) => e.style.width);
    assert.equal(width, '100%');
    // past the hard limit the gateway refuses (the default route has no fallback)
    const refused = await spend();
    assert.equal(refused.status, 503, refused.text);
    assert.equal(sim.stats().by_format.openai, 3);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
    await C.shot(page, 'budgets');
    assert.deepEqual(page.errors, []);
  });

  it('raising the limit through "Change" replaces it and the state follows', async () => {
    await card().getByTestId('limit-edit').click();
    assert.equal(await page.getByTestId('limit-hard').inputValue(), '0.3');
    await page.getByTestId('limit-hard').fill('1');
    await page.getByTestId('limit-soft').fill('0.5');
    await page.getByTestId('limit-submit').click();
    const d = page.getByTestId('action-dialog');
    await d.waitFor();
    assert.match(await d.textContent(), /soft \$0\.1500 → \$0\.5000, hard \$0\.3000 → \$1\.00/);
    await C.confirmAction(page);
    await page.waitForFunction((n) => document.querySelector(`[data-testid="limit:${n}"] [data-testid=limit-state]`).textContent === 'ok', LIMIT);
    assert.equal(await card().getByTestId('consumed').textContent(), '$0.3000', 'the day\'s spend is kept');
    assert.equal((await spend()).status, 200);
    await consumedIs('$0.4000');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('a read token sees the gauges but no form and no change button; narrow and dark', async () => {
    const t = await H.api(S, 'POST', '/api/v1/admin/tokens', { name: 'viewer', scopes: ['read'] });
    assert.equal(t.status, 201, t.text);
    const p = await C.openConsole(browser, S, { token: t.json.token, hash: '#/budgets', viewport: { width: 390, height: 800 }, colorScheme: 'dark' });
    await p.getByTestId(`limit:${LIMIT}`).waitFor();
    assert.equal(await p.getByTestId('limit-form').count(), 0);
    assert.equal(await p.getByTestId('limit-edit').count(), 0);
    assert.equal(await p.locator('main button').count(), 0);
    const fits = await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    assert.ok(fits, 'nothing wider than a 390 px window');
    await C.shot(p, 'budgets-narrow-dark');
    assert.deepEqual(p.errors, []);
    await p.context().close();
  });
});

// providers.test.js — the console's providers view in Chromium, against two simulated
// OpenAI-compatible providers that answer differently: the list with the active provider,
// test-connection and preflight results, runbook 000's swap through activate (the next chat
// request through the gateway is served by the new provider) and the way back, the charts
// filling as requests pass, and a read token that sees no action buttons.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('../gateway/helpers');
const C = require('./helpers');

const DEFAULT_ROUTE = '/switchyard/routes/default';

describe('the providers view', { skip: C.skipReason() }, () => {
  let S;
  let browser;
  let simA;
  let simB;
  before(async () => {
    S = await C.startServer();
    simA = await H.startSim({ reply: 'answer from alpha' });
    simB = await H.startSim({ reply: 'answer from beta', usage: { prompt_tokens: 10, completion_tokens: 100 } });
    browser = await C.launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    for (const s of [simA, simB]) if (s) await s.close();
    if (S) await S.cleanup();
  });

  const ask = (text) => H.api(S, 'POST', '/v1/chat/completions', { model: 'sim-gpt', messages: [{ role: 'user', content: text }] });

  it('with only the built-in stub says how to add a provider; providers written meanwhile appear, the active one at the top', async () => {
    const page = await C.openConsole(browser, S, { hash: '#/providers' });
    const empty = page.getByTestId('empty');
    await empty.waitFor();
    assert.match(await empty.textContent(), /switchyard param put \/switchyard\/providers\/gemini --type Provider/);
    assert.match(await empty.textContent(), /PUT \/api\/v1\/params\/switchyard\/providers\/gemini/);
    assert.equal(await page.getByTestId('active-name').textContent(), 'stub');
    await C.shot(page, 'providers-empty');
    await page.evaluate(() => { window.__sameDocument = true; });

    await H.putProvider(S, 'alpha', H.openaiDoc(simA, { models: ['sim-gpt'] }));
    await H.putProvider(S, 'beta', H.openaiDoc(simB, { models: ['gpt-4o-mini', 'sim-gpt'], prices: { input_per_1k: 0, output_per_1k: 1.0 } }));
    await H.putRoute(S, DEFAULT_ROUTE, { provider: 'alpha', model: 'sim-gpt' });
    assert.equal((await ask('warm up')).status, 200);
    await page.getByTestId('provider-beta').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid=active-name]').textContent === 'alpha');
    assert.equal(await page.getByTestId('empty').count(), 0);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
    assert.equal(await page.getByTestId('active-name').textContent(), 'alpha');
    assert.equal(await page.getByTestId('active-model').textContent(), 'sim-gpt');
    const alpha = page.getByTestId('provider-alpha');
    assert.match(await alpha.textContent(), /active/);
    assert.doesNotMatch(await page.getByTestId('provider-beta').textContent(), /active/);
    assert.match(await page.getByTestId('provider-stub').textContent(), /stub/);
    // the status of each, polled: alpha answered once, so it is online and connected
    await page.waitForFunction(() => /online/.test(document.querySelector('[data-testid=provider-alpha]').textContent));
    assert.match(await alpha.textContent(), /connected/);
    await C.shot(page, 'providers-list');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('tests, preflights and activates beta; the gateway then serves from beta, and switching back restores alpha', async () => {
    const page = await C.openConsole(browser, S, { hash: '#/providers/beta' });
    await page.getByTestId('test-connection').waitFor();
    await page.getByTestId('model').selectOption('gpt-4o-mini');

    await page.getByTestId('test-connection').click();
    const test = page.getByTestId('test-result');
    await test.waitFor();
    assert.match(await test.textContent(), /success/);
    assert.match(await test.textContent(), /model gpt-4o-mini/);
    assert.match(await test.textContent(), /\d ms/);
    assert.match(await test.textContent(), /status 200/);

    await page.getByTestId('preflight').click();
    const pre = page.getByTestId('preflight-result');
    await pre.waitFor();
    assert.match(await pre.textContent(), /ready/);
    for (const c of ['document', 'credentials', 'model', 'connection', 'budget']) {
      assert.match(await page.getByTestId(`check-${c}`).textContent(), /^pass/, c);
    }

    const servedA = simA.stats().by_format.openai;
    await page.getByTestId('activate').click();
    const dialog = page.getByTestId('action-dialog');
    await dialog.waitFor();
    const said = await dialog.textContent();
    assert.match(said, /The default route \/switchyard\/routes\/default is served by beta \(model gpt-4o-mini\) instead of alpha \(model sim-gpt\)/);
    assert.match(await dialog.getByTestId('action-confirm').getAttribute('class'), /danger/);
    await C.shot(page, 'providers-activate-confirm');
    await C.confirmAction(page, 'swap drill');
    const done = page.getByTestId('activation');
    await done.waitFor();
    assert.equal(await done.getByTestId('activated').textContent(), 'beta');
    assert.equal(await done.getByTestId('previous').textContent(), 'alpha');
    await page.waitForFunction(() => document.querySelector('[data-testid=active-name]').textContent === 'beta');

    // what the server now holds, and what the gateway does with the next request
    const list = (await H.api(S, 'GET', '/api/v1/providers')).json;
    assert.equal(list.active_provider, 'beta');
    assert.equal(list.active_model, 'gpt-4o-mini');
    const rec = (await H.api(S, 'GET', `/api/v1/admin/audit?name=${encodeURIComponent('/switchyard/routes/default')}&limit=1`)).json.records[0];
    assert.equal(rec.reason, 'activate beta: swap drill', 'the reason typed in the console is in the audit record');
    const servedB = simB.stats().by_format.openai;
    const r = await ask('after the swap');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-switchyard-provider'], 'beta');
    assert.equal(r.json.choices[0].message.content, 'answer from beta');
    assert.equal(simB.stats().by_format.openai, servedB + 1);
    assert.equal(simA.stats().by_format.openai, servedA, 'alpha got nothing after the swap');
    await C.shot(page, 'providers-activated');

    // the way back: alpha with the model it had
    await page.getByTestId('switch-back').click();
    assert.match(await page.getByTestId('action-dialog').textContent(), /served by alpha \(model sim-gpt\) instead of beta \(model gpt-4o-mini\)/);
    await C.confirmAction(page);
    await page.waitForFunction(() => /Rolled back to provider:\s*alpha/.test(document.querySelector('[data-testid=activation]').textContent));
    await page.waitForFunction(() => document.querySelector('[data-testid=active-name]').textContent === 'alpha');
    const back = await ask('after the rollback');
    assert.equal(back.headers['x-switchyard-provider'], 'alpha');
    assert.equal(back.json.choices[0].message.content, 'answer from alpha');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('a failing provider shows the failure of test-connection and of preflight', async () => {
    simA.set({ fail_next: 2, fail_status: 503 });
    const page = await C.openConsole(browser, S, { hash: '#/providers/alpha' });
    await page.getByTestId('test-connection').click();
    const test = page.getByTestId('test-result');
    await test.waitFor();
    assert.match(await test.textContent(), /failed/);
    assert.match(await test.textContent(), /status 50\d/);
    await page.getByTestId('preflight').click();
    await page.getByTestId('preflight-result').waitFor();
    assert.match(await page.getByTestId('preflight-result').textContent(), /not ready/);
    assert.match(await page.getByTestId('check-connection').textContent(), /^fail/);
    assert.match(await page.getByTestId('check-document').textContent(), /^pass/);
    simA.reset();
    await page.context().close();
  });

  it('draws a chart per metric that fills as requests pass, in 1 h and 24 h', async () => {
    const page = await C.openConsole(browser, S, { hash: '#/providers/beta' });
    const charts = page.getByTestId('charts');
    await charts.waitFor();
    for (const c of ['chart-requests', 'chart-errors', 'chart-latency', 'chart-cost']) {
      await page.getByTestId(c).locator('canvas').waitFor();
    }
    await H.putRoute(S, DEFAULT_ROUTE, { provider: 'beta' });
    for (let i = 0; i < 3; i++) assert.equal((await ask(`traffic ${i}`)).headers['x-switchyard-provider'], 'beta');
    const series = (await H.api(S, 'GET', '/api/v1/providers/beta/series?window=1h')).json;
    const total = series.points.reduce((a, p) => a + p.requests, 0);
    assert.ok(total >= 4, `the server counted ${total}`);
    // the page polls the series: the caption of the requests chart reaches the server's count
    await page.waitForFunction((n) => {
      const m = /window: (\d+) requests/.exec(document.querySelector('[data-testid=chart-requests-caption]').textContent);
      return m && Number(m[1]) >= n;
    }, total, { timeout: 20000 });
    assert.match(await page.getByTestId('chart-cost-caption').textContent(), /window: \$0\.[1-9]/);
    assert.match(await page.getByTestId('chart-latency-caption').textContent(), /p95 [\d.]+ ms/);
    assert.match(await page.getByTestId('metrics').textContent(), /Requests\s*\d/);
    await C.shot(page, 'providers-detail');

    await page.getByTestId('window-24h').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=charts]').dataset.window === '24h');
    assert.equal(await page.getByTestId('window-24h').getAttribute('aria-pressed'), 'true');
    assert.match(await page.getByTestId('chart-requests-caption').textContent(), /window: [1-9]\d* requests/);
    assert.equal(await page.locator('[data-testid=charts] canvas').count(), 4);
    assert.deepEqual(page.errors, []);
    await page.context().close();

    // 390 px wide and dark: the charts fit the window
    const narrow = await C.openConsole(browser, S, { hash: '#/providers/beta', viewport: { width: 390, height: 800 }, colorScheme: 'dark' });
    await narrow.getByTestId('chart-requests').locator('canvas').waitFor();
    const fits = await narrow.evaluate(() => [...document.querySelectorAll('[data-testid=charts] canvas')]
      .every((c) => c.getBoundingClientRect().right <= window.innerWidth));
    assert.ok(fits, 'every chart fits a 390 px window');
    await C.shot(narrow, 'providers-detail-narrow-dark');
    assert.deepEqual(narrow.errors, []);
    await narrow.context().close();
  });

  it('a read token sees the providers and their status but no test, preflight or activate button', async () => {
    const t = await H.api(S, 'POST', '/api/v1/admin/tokens', { name: 'viewer', scopes: ['read'] });
    assert.equal(t.status, 201, t.text);
    const page = await C.openConsole(browser, S, { token: t.json.token, hash: '#/providers/beta' });
    await page.getByTestId('provider-status').waitFor();
    await page.getByTestId('chart-requests').locator('canvas').waitFor();
    for (const b of ['test-connection', 'preflight', 'activate', 'model']) assert.equal(await page.getByTestId(b).count(), 0, b);
    assert.equal(await page.locator('main button:not([data-testid^=window-])').count(), 0, 'no other button than the window toggle');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});

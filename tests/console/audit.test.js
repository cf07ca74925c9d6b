// audit.test.js — the Audit log view in Chromium: records newest first with their reasons,
// the name filter (the API's) and the action filter (over the loaded page), paging with
// "Load more", the chain verified, a write made with the API appearing live, and a read token
// shown the API's refusal.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('../api/helpers');
const C = require('./helpers');

async function put(S, name, value, reason) {
  const r = await H.api(S, 'PUT', `/api/v1/params${name}`, { value, type: 'String', overwrite: true, reason });
  assert.equal(r.status, 200, `${name}: ${r.text}`);
}

const seqs = (page) => page.locator('[data-testid=audit-row]').evaluateAll((rs) => rs.map((r) => Number(r.dataset.seq)));

describe('the Audit log view', { skip: C.skipReason() }, () => {
  let S;
  let browser;
  before(async () => {
    S = await C.startServer();
    browser = await C.launchBrowser();
    for (let i = 1; i <= 3; i++) await put(S, '/aud/a', `a${i}`, `reason a${i}`);
    await put(S, '/aud/gone', 'g', 'short-lived');
    assert.equal((await H.api(S, 'DELETE', '/api/v1/params/aud/gone?reason=cleanup')).status, 200);
    await put(S, '/aud/b', 'b1', 'reason b1');
  });
  after(async () => {
    if (browser) await browser.close();
    if (S) await S.cleanup();
  });

  it('lists records newest first, filters by name and by action, and verifies the chain', async () => {
    const page = await C.openConsole(browser, S, { hash: '#/audit' });
    await page.getByTestId('audit-row').first().waitFor();
    const all = await seqs(page);
    assert.ok(all.length >= 4, `${all.length} rows`);
    assert.deepEqual(all, [...all].sort((x, y) => y - x), 'newest first');
    const first = page.getByTestId('audit-row').first();
    assert.match(await first.textContent(), /\/aud\/b/);
    assert.equal(await first.getByTestId('audit-reason').textContent(), 'reason b1');

    await page.getByTestId('audit-name').fill('/aud/a');
    await page.getByTestId('audit-apply').click();
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('[data-testid=audit-name-cell]')];
      return cells.length === 3 && cells.every((c) => c.textContent === '/aud/a');
    });
    assert.deepEqual(await page.getByTestId('audit-reason').allTextContents(), ['reason a3', 'reason a2', 'reason a1']);

    // since a sequence number: the records after it
    const a2 = Number(await page.locator('[data-testid=audit-row]', { hasText: 'reason a2' }).getAttribute('data-seq'));
    await page.getByTestId('audit-since').fill(String(a2));
    await page.getByTestId('audit-apply').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=audit-row]').length === 1);
    assert.deepEqual(await page.getByTestId('audit-reason').allTextContents(), ['reason a3']);

    await page.getByTestId('audit-name').fill('');
    await page.getByTestId('audit-since').fill('');
    await page.getByTestId('audit-apply').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=audit-row]').length === n, all.length);
    await page.getByTestId('audit-action').fill('delete');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=audit-row]').length === 1);
    assert.equal(await page.getByTestId('audit-reason').textContent(), 'cleanup');

    await page.getByTestId('audit-action').fill('');
    await page.getByTestId('audit-verify').click();
    await page.getByTestId('verify-result').waitFor();
    assert.match(await page.getByTestId('verify-result').textContent(), /^chain intact: \d+ records$/);
    await C.shot(page, 'audit');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('pages back with "Load more", and a new write appears live on page 1', async () => {
    for (let i = 0; i < 60; i++) await put(S, `/aud/many/p${i}`, 'x', `bulk ${i}`);
    const page = await C.openConsole(browser, S, { hash: '#/audit' });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=audit-row]').length === 50);
    const first = await seqs(page);
    await page.getByTestId('audit-more').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=audit-row]').length > 50);
    const both = await seqs(page);
    assert.deepEqual(both.slice(0, 50), first);
    assert.deepEqual(both, [...new Set(both)].sort((x, y) => y - x), 'no record twice, newest first');
    assert.ok(Math.min(...both) < Math.min(...first));

    await page.evaluate(() => { window.__sameDocument = true; });
    await put(S, '/aud/live', 'now', 'appears live');
    await page.waitForFunction(() => {
      const top = document.querySelector('[data-testid=audit-row] [data-testid=audit-reason]');
      return top && top.textContent === 'appears live';
    });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
    assert.equal((await seqs(page)).length, both.length + 1, 'the pages loaded stay, the new record on top');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('reads at 390 px wide and in dark mode, with nothing wider than the window', async () => {
    for (const [label, opts] of [['narrow', { viewport: { width: 390, height: 800 } }], ['dark', { colorScheme: 'dark' }]]) {
      const page = await C.openConsole(browser, S, { ...opts, hash: '#/audit' });
      await page.getByTestId('audit-row').first().waitFor();
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), `${label}: the page scrolls sideways`);
      await C.shot(page, `audit-${label}`);
      await page.context().close();
    }
  });

  it('tells a token without the admin scope why, with the API message', async () => {
    const t = await H.api(S, 'POST', '/api/v1/admin/tokens', { name: 'auditor-read', scopes: ['read'] });
    assert.equal(t.status, 201, t.text);
    const page = await C.openConsole(browser, S, { token: t.json.token, hash: '#/audit' });
    await page.getByTestId('error').waitFor();
    assert.match(await page.getByTestId('error').textContent(), /^AccessDenied/);
    assert.match(await page.getByTestId('audit-scope').textContent(), /admin scope/);
    assert.equal(await page.getByTestId('audit-row').count(), 0);
    await C.shot(page, 'audit-read-token');
    await page.context().close();
  });
});

// flags.test.js — the Flags view in Chromium: a rollout ramped 10 → 50 % through the console
// (the server holds 50 and the audit record has the reason), the kill switch off and on, explain
// for a subject agreeing with the API, a change made through the API showing without a reload,
// a schema refusal shown with the API's message, a read token seeing no write button, and HTML
// in a flag's document shown as text.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('../api/helpers');
const C = require('./helpers');

const KEY = 'checkout/new-flow';
const text = (page, id) => page.getByTestId(id).textContent();
const waitText = (page, id, want) => page.waitForFunction(([i, w]) => {
  const e = document.querySelector(`[data-testid="${i}"]`);
  return e && e.textContent === w;
}, [id, want]);

async function flag(S, key) {
  const r = await H.api(S, 'GET', `/api/v1/flags/${key}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

describe('the Flags view', { skip: C.skipReason() }, () => {
  let S;
  let browser;
  before(async () => {
    S = await C.startServer();
    browser = await C.launchBrowser();
    const r = await H.api(S, 'POST', '/api/v1/flags', {
      key: KEY,
      document: { enabled: true, rollout_percentage: 10, variants: { on: true, off: false }, default_variant: 'off',
        rules: [{ name: 'beta', constraints: [{ attribute: 'country', operator: 'IN', values: ['NL'] }], variant: 'on' }] },
      reason: 'test setup',
    });
    assert.equal(r.status, 201, r.text);
  });
  after(async () => {
    if (browser) await browser.close();
    if (S) await S.cleanup();
  });

  it('lists the flags, and ramps one 10 → 50 % with a reason that reaches the audit log', async () => {
    const page = await C.openConsole(browser, S, { hash: '#/flags' });
    const row = page.getByTestId('flag-row').filter({ hasText: KEY });
    await row.waitFor();
    assert.match(await row.textContent(), /10 %/);
    await C.shot(page, 'flags-list');
    await row.getByRole('link').click();
    await waitText(page, 'flag-percent', '10 %');
    assert.equal(await page.evaluate(() => location.hash), '#/flags/checkout/new-flow');
    await page.getByTestId('flag-rollout-input').fill('50');
    await page.getByTestId('flag-rollout-apply').click();
    const what = await page.getByTestId('action-dialog').locator('.what').textContent();
    assert.match(what, /rollout_percentage 10 % → 50 %/);
    assert.match(what, /checkout\/new-flow/);
    await C.confirmAction(page, 'ramp to half after a clean week');
    await waitText(page, 'flag-percent', '50 %');
    assert.equal((await flag(S, KEY)).rollout_percentage, 50);
    const a = await H.api(S, 'GET', `/api/v1/admin/audit?name=/${KEY}`);
    assert.equal(a.status, 200, a.text);
    assert.ok(a.json.records.some((x) => x.reason === 'ramp to half after a clean week'), a.text);
    await C.shot(page, 'flag-one');
    // and the console's audit log shows that record, filtered by the flag's name
    await page.getByTestId('nav-audit').click();
    await page.getByTestId('audit-name').fill(`/${KEY}`);
    await page.getByTestId('audit-apply').click();
    const rec = page.getByTestId('audit-row').filter({ hasText: 'ramp to half after a clean week' });
    await rec.waitFor();
    assert.match(await rec.textContent(), new RegExp(`/${KEY}`));
    await C.shot(page, 'flag-ramp-audit');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('the kill switch turns the flag off (naming the default every subject gets) and on again', async () => {
    const page = await C.openConsole(browser, S, { hash: `#/flags/${KEY}` });
    await waitText(page, 'flag-enabled', 'on');
    await page.getByTestId('flag-kill').click();
    const d = page.getByTestId('action-dialog');
    assert.match(await d.locator('.what').textContent(), /checkout\/new-flow.*every subject then gets the default variant "off"/);
    assert.equal(await d.getByTestId('action-confirm').getAttribute('class'), 'danger');
    await C.confirmAction(page, 'incident: kill it');
    await waitText(page, 'flag-enabled', 'off');
    assert.equal((await flag(S, KEY)).enabled, false);
    await page.getByTestId('flag-kill').click();
    await C.confirmAction(page, 'incident over');
    await waitText(page, 'flag-enabled', 'on');
    assert.equal((await flag(S, KEY)).enabled, true);
    await page.context().close();
  });

  it('explain for a subject shows the bucket and reason the API gives', async () => {
    const page = await C.openConsole(browser, S, { hash: `#/flags/${KEY}` });
    await page.getByTestId('explain-key').fill('session-8f2c1');
    await page.getByTestId('explain-context').fill('{"country": "DE"}');
    await page.getByTestId('explain-run').click();
    await page.getByTestId('explain-result').waitFor();
    const r = await H.api(S, 'POST', `/api/v1/flags/${KEY}/explain`, { context: { country: 'DE', targetingKey: 'session-8f2c1' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(await text(page, 'explain-bucket'), String(r.json.bucket));
    assert.equal(await text(page, 'explain-reason'), r.json.result.reason);
    assert.match(await page.getByTestId('explain-rules').textContent(), /beta.*no/);
    await C.shot(page, 'flag-explain');
    await page.context().close();
  });

  it('a change made through the API shows on the open page without a reload', async () => {
    const page = await C.openConsole(browser, S, { hash: `#/flags/${KEY}` });
    await page.getByTestId('flag-percent').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid=live-state]').textContent === 'live');
    await page.evaluate(() => { window.__sameDocument = true; });
    const r = await H.api(S, 'POST', `/api/v1/flags/${KEY}/rollout`, { percentage: 75, reason: 'from the CLI' });
    assert.equal(r.status, 200, r.text);
    await waitText(page, 'flag-percent', '75 %');
    assert.equal(await page.evaluate(() => window.__sameDocument), true);
    await page.context().close();
  });

  it('a document the schema refuses shows the API message naming the field, and writes nothing', async () => {
    const c = await H.api(S, 'POST', '/api/v1/flags', {
      key: 'audio/partial', document: { enabled: true, rollout_percentage: 0, min_stability_threshold: 0.85 },
      schema: { min_stability_threshold: { type: 'number', min: 0.7, max: 0.95 } },
    });
    assert.equal(c.status, 201, c.text);
    const page = await C.openConsole(browser, S, { hash: '#/flags/audio/partial' });
    await page.getByTestId('flag-schema').waitFor();
    await page.getByTestId('flag-edit').click();
    const doc = JSON.parse(await page.getByTestId('flag-edit-text').inputValue());
    doc.min_stability_threshold = 0.97;
    await page.getByTestId('flag-edit-text').fill(JSON.stringify(doc, null, 2));
    await page.getByTestId('flag-edit-save').click();
    const d = page.getByTestId('action-dialog');
    await d.getByTestId('action-reason').fill('tune');
    await d.getByTestId('action-confirm').click();
    await d.getByTestId('error').waitFor();
    assert.match(await d.getByTestId('error').textContent(), /min_stability_threshold: 0.97 is above the maximum 0.95/);
    assert.equal((await flag(S, 'audio/partial')).document.min_stability_threshold, 0.85);
    await page.context().close();
  });

  it('an edit made on an older version is refused with the API\'s VersionConflict, nothing lost', async () => {
    const page = await C.openConsole(browser, S, { hash: `#/flags/${KEY}` });
    await page.getByTestId('flag-edit').click();
    const doc = JSON.parse(await page.getByTestId('flag-edit-text').inputValue());
    const r = await H.api(S, 'POST', `/api/v1/flags/${KEY}/rollout`, { percentage: 80, reason: 'meanwhile' });
    assert.equal(r.status, 200, r.text);
    await page.getByTestId('flag-edit-stale').waitFor(); // the change shows live, and the editor says so
    doc.salt = 'edited-on-an-old-version';
    await page.getByTestId('flag-edit-text').fill(JSON.stringify(doc));
    await page.getByTestId('flag-edit-save').click();
    const d = page.getByTestId('action-dialog');
    await d.getByTestId('action-confirm').click();
    await d.getByTestId('error').waitFor();
    assert.match(await d.getByTestId('error').textContent(), /VersionConflict/);
    const f = await flag(S, KEY);
    assert.equal(f.rollout_percentage, 80);
    assert.equal(f.document.salt, undefined);
    await page.context().close();
  });

  it('pages the list ("Load more") below a prefix', async () => {
    for (let i = 0; i < 105; i++) {
      const r = await H.api(S, 'POST', '/api/v1/flags', { key: `many/f${String(i).padStart(3, '0')}` });
      assert.equal(r.status, 201, r.text);
    }
    const page = await C.openConsole(browser, S, { hash: '#/flags' });
    await page.getByTestId('flags-prefix').fill('many/');
    await page.getByTestId('flags-prefix').press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=flag-row]').length === 100
      && [...document.querySelectorAll('[data-testid=flag-row]')].every((r) => r.textContent.startsWith('many/')));
    await page.getByTestId('flags-more').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=flag-row]').length === 105);
    assert.equal(await page.getByTestId('flags-more').count(), 0);
    await page.context().close();
  });

  it('creates a flag through the console, and deletes it', async () => {
    const page = await C.openConsole(browser, S, { hash: '#/flags' });
    await page.getByTestId('flag-new').click();
    await page.getByTestId('flag-new-key').fill('search/semantic');
    await page.getByTestId('flag-new-doc').fill('{"enabled": true, "rollout_percentage": 5}');
    await page.getByTestId('flag-new-create').click();
    assert.match(await page.getByTestId('action-dialog').locator('.what').textContent(), /create flag search\/semantic/);
    await C.confirmAction(page, 'new search experiment');
    await waitText(page, 'flag-percent', '5 %');
    assert.equal((await flag(S, 'search/semantic')).rollout_percentage, 5);
    await page.getByTestId('flag-delete').click();
    assert.equal(await page.getByTestId('action-dialog').getByTestId('action-confirm').getAttribute('class'), 'danger');
    await C.confirmAction(page, 'experiment over');
    await page.waitForFunction(() => location.hash === '#/flags');
    assert.equal((await H.api(S, 'GET', '/api/v1/flags/search/semantic')).status, 404);
    const a = await H.api(S, 'GET', '/api/v1/admin/audit?name=/search/semantic');
    assert.ok(a.json.records.some((x) => x.reason === 'experiment over'), a.text);
    await page.context().close();
  });

  it('a read token sees the flags but no write button', async () => {
    const t = await H.api(S, 'POST', '/api/v1/admin/tokens', { name: 'viewer', scopes: ['read'] });
    assert.equal(t.status, 201, t.text);
    const page = await C.openConsole(browser, S, { token: t.json.token, hash: `#/flags/${KEY}` });
    await page.getByTestId('flag-percent').waitFor();
    await page.getByTestId('flag-doc').waitFor();
    const writes = '[data-testid=flag-kill], [data-testid=flag-delete], [data-testid=flag-edit], '
      + '[data-testid=flag-rollout-input], [data-testid=flag-rollout-apply], [data-testid^=flag-rollout-quick-]';
    assert.equal(await page.locator(writes).count(), 0);
    await page.getByTestId('explain-run').waitFor(); // explaining reads only
    await page.getByTestId('nav-flags').click();
    await page.getByTestId('flag-row').first().waitFor();
    assert.equal(await page.getByTestId('flag-new').count(), 0);
    await page.context().close();
  });

  it('HTML and script in a flag document show as text, and nothing runs', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const script = '<script>window.__pwned=2</script>';
    const c = await H.api(S, 'POST', '/api/v1/flags', {
      key: 'xss/flag', document: { enabled: true, rollout_percentage: 100, variants: { [evil]: script, off: 'no' }, default_variant: 'off' },
    });
    assert.equal(c.status, 201, c.text);
    const page = await C.openConsole(browser, S, { hash: '#/flags/xss/flag' });
    const dialogs = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    await page.getByTestId('flag-variants').waitFor();
    const v = await page.getByTestId('flag-variants').textContent();
    assert.ok(v.includes(evil), v);
    assert.ok(v.includes(JSON.stringify(script)) || v.includes(script), v);
    assert.ok((await page.getByTestId('flag-doc').textContent()).includes(script));
    assert.equal(await page.locator('main img, main script').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(dialogs, []);
    await C.shot(page, 'flag-html');
    await page.context().close();
  });

  it('fits a narrow window, in dark mode too', async () => {
    for (const [label, opts] of [['narrow', { viewport: { width: 390, height: 800 } }], ['dark', { colorScheme: 'dark' }]]) {
      const page = await C.openConsole(browser, S, { ...opts, hash: `#/flags/${KEY}` });
      await page.getByTestId('flag-doc').waitFor();
      await page.getByTestId('flag-evals-minute').waitFor();
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${label}: the page scrolls sideways`);
      await C.shot(page, `flag-one-${label}`);
      assert.deepEqual(page.errors, []);
      await page.context().close();
    }
  });
});

// live.test.js — an open console page follows changes made elsewhere, without a reload: a flag's
// page in Chromium shows the rollout set by Switchyard's own CLI (`switchyard rollout`), the
// document written by the `aws ssm` CLI (`put-parameter --overwrite`), and the last of three
// changes made in a row. Each case marks the page's document (window.__same) before the change
// and checks the mark after: the same document, not a reloaded one.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const H = require('../api/helpers');
const C = require('./helpers');
const ssm = require('../ssm/helpers');

const BIN = process.env.SWITCHYARD_BIN || path.resolve(__dirname, '../../build/switchyard');
const KEY = 'live/checkout';
const DOC = { enabled: true, rollout_percentage: 10, variants: { on: true, off: false }, default_variant: 'off' };

/* Waits (up to 5 s) until the element with testid id reads want. */
const waitText = (page, id, want) => page.waitForFunction(([i, w]) => {
  const e = document.querySelector(`[data-testid="${i}"]`);
  return e && e.textContent === w;
}, [id, want], { timeout: 5000 });

async function flag(S) {
  const r = await H.api(S, 'GET', `/api/v1/flags/${KEY}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

describe('an open page follows changes made with the clients', { skip: C.skipReason() }, () => {
  let S;
  let browser;
  let page;
  let creds;
  const cli = H.cliRunner(BIN, () => ({ url: S.url, token: S.token }));

  before(async () => {
    S = await C.startServer();
    browser = await C.launchBrowser();
    const r = await H.api(S, 'POST', '/api/v1/flags', { key: KEY, document: DOC, reason: 'test setup' });
    assert.equal(r.status, 201, r.text);
    creds = await ssm.createKey(S, 'live-test', ['read', 'write']);
    // one page for the whole file: it is left open, as a user leaves it
    page = await C.openConsole(browser, S, { hash: `#/flags/${KEY}` });
    await waitText(page, 'flag-percent', '10 %');
    await page.waitForFunction(() => document.querySelector('[data-testid=live-state]').textContent === 'live');
    await page.evaluate(() => { window.__same = true; });
  });
  after(async () => {
    if (browser) await browser.close();
    if (S) await S.cleanup();
  });

  it('switchyard rollout --percentage shows on the open flag page', async () => {
    await cli.ok(['rollout', KEY, '--percentage', '35', '--reason', 'from the CLI']);
    await waitText(page, 'flag-percent', '35 %');
    assert.equal(await page.evaluate(() => window.__same), true, 'the page was reloaded');
    assert.equal((await flag(S)).rollout_percentage, 35);
  });

  it('aws ssm put-parameter --overwrite of the flag document shows on the open flag page', async () => {
    const doc = { ...DOC, rollout_percentage: 62.5, enabled: false };
    await ssm.awsOk(S, ['ssm', 'put-parameter', '--name', `/${KEY}`, '--type', 'String',
      '--value', JSON.stringify(doc), '--overwrite'], { creds });
    await waitText(page, 'flag-percent', '62.5 %');
    await waitText(page, 'flag-enabled', 'off');
    assert.equal(await page.evaluate(() => window.__same), true, 'the page was reloaded');
    const f = await flag(S);
    assert.deepEqual([f.rollout_percentage, f.enabled, f.last_modified_user], [62.5, false, 'live-test']);
  });

  it('three changes in a row: the page shows the last', async () => {
    const before = (await flag(S)).version;
    await cli.ok(['rollout', KEY, '--percentage', '70', '--enable']);
    await ssm.awsOk(S, ['ssm', 'put-parameter', '--name', `/${KEY}`, '--type', 'String',
      '--value', JSON.stringify({ ...DOC, rollout_percentage: 80 }), '--overwrite'], { creds });
    const r = await H.api(S, 'POST', `/api/v1/flags/${KEY}/rollout`, { percentage: 90, reason: 'third' });
    assert.equal(r.status, 200, r.text);
    await waitText(page, 'flag-percent', '90 %');
    await waitText(page, 'flag-enabled', 'on');
    assert.equal(await page.evaluate(() => window.__same), true, 'the page was reloaded');
    assert.equal((await flag(S)).version, before + 3);
    // what the page shows of the document is the last version too, not a mix of the three
    await page.waitForFunction(() => /"rollout_percentage": 90\b/.test(document.querySelector('[data-testid=flag-doc]').textContent), null, { timeout: 5000 });
    assert.deepEqual(page.errors, []);
    await C.shot(page, 'live-flag');
  });
});

// shell.test.js — the console's frame in Chromium: signing in (a wrong token, an evaluate-only
// token, a token revoked while the page is open), every view opens without a script error or a
// CSP violation, the stream's state when the server goes away and comes back (no reload), and
// the page at 1280×800, on a narrow window and in dark mode.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const H = require('../api/helpers');
const C = require('./helpers');

/* A port nothing listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

const VIEWS = ['params', 'flags', 'providers', 'budgets', 'rollouts', 'alerts', 'audit', 'backup', 'tokens'];

describe('the console shell', { skip: C.skipReason() }, () => {
  let S;
  let browser;
  before(async () => {
    S = await C.startServer();
    browser = await C.launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    if (S) await S.cleanup();
  });

  it('is served with a strict CSP, and a wrong token gets the API message and stays on sign-in', async () => {
    const r = await H.api(S, 'GET', '/console/', undefined, null);
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.match(r.headers['content-security-policy'] || '', /script-src 'self'/);
    assert.doesNotMatch(r.headers['content-security-policy'] || '', /unsafe-inline|unsafe-eval/);
    assert.doesNotMatch(r.text, /<script>[^<]/, 'no inline script');
    const page = await C.openConsole(browser, S, { token: null });
    await page.getByTestId('login-token').fill('not-a-token');
    await page.getByTestId('login-submit').click();
    const err = page.getByTestId('error');
    await err.waitFor();
    assert.match(await err.textContent(), /unknown or revoked token/);
    assert.equal(await page.getByTestId('who').count(), 0);
    await C.shot(page, 'login-error');
    assert.deepEqual(page.errors.filter((e) => !/401/.test(e)), []);
    await page.context().close();
  });

  it('signs in and moves between views by keyboard alone; the token is in no cookie and no URL', async () => {
    const page = await C.openConsole(browser, S, { token: null });
    await page.getByTestId('login-token').focus();
    await page.keyboard.type(S.token);
    await page.keyboard.press('Enter');
    await page.getByTestId('who').waitFor();
    // Tab from the top of the page reaches the navigation; Enter follows a link
    let reached = false;
    for (let i = 0; i < 12 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement && document.activeElement.dataset.testid === 'nav-flags');
    }
    assert.ok(reached, 'Tab never reached the Flags link');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash === '#/flags');
    assert.equal(await page.evaluate(() => document.cookie), '');
    assert.deepEqual(await page.context().cookies(), []);
    assert.equal(page.url().includes(S.token), false, 'the token is in the address');
    await page.context().close();
  });

  it('a server started with --insecure-loopback needs no token: the page opens signed in', async () => {
    const L = await C.startServer({ args: ['--insecure-loopback'] });
    try {
      const page = await C.openConsole(browser, L, { token: null });
      await page.getByTestId('who').waitFor();
      assert.match(await page.getByTestId('who').textContent(), /insecure-loopback/);
      await page.waitForFunction(() => document.querySelector('[data-testid=live-state]').textContent === 'live');
      await page.context().close();
    } finally {
      await L.cleanup();
    }
  });

  it('an evaluate-only token is told it cannot be used here', async () => {
    const t = await H.api(S, 'POST', '/api/v1/admin/tokens', { name: 'app-eval', scopes: ['evaluate'] });
    assert.equal(t.status, 201, t.text);
    const page = await C.openConsole(browser, S, { token: null });
    await page.getByTestId('login-token').fill(t.json.token);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('error').waitFor();
    assert.match(await page.getByTestId('error').textContent(), /may only evaluate flags/);
    await page.context().close();
  });

  it('every view opens, at 1280×800, narrow and dark, with no script error', async () => {
    for (const [label, opts] of [['wide', {}], ['narrow', { viewport: { width: 390, height: 800 } }], ['dark', { colorScheme: 'dark' }]]) {
      const page = await C.openConsole(browser, S, opts);
      for (const v of VIEWS) {
        await page.getByTestId(`nav-${v}`).click();
        await page.waitForFunction((id) => location.hash.startsWith(`#/${id}`), v);
        await page.locator('#page-title').waitFor();
        await page.waitForFunction(() => !document.querySelector('.loading'));
        await C.shot(page, `${v}-${label}`);
      }
      assert.deepEqual(page.errors, [], `${label}: ${page.errors.join('\n')}`);
      await page.context().close();
    }
  });

  it('the server going away shows "reconnecting", and the page recovers without a reload', async () => {
    // a server of its own on a fixed port: the page must find it again at the same address
    const port = await freePort();
    const S2 = await C.startServer({ args: ['--listen', `127.0.0.1:${port}`] });
    const page = await C.openConsole(browser, S2);
    const live = page.getByTestId('live-state');
    await page.waitForFunction(() => document.querySelector('[data-testid=live-state]').textContent === 'live');
    await page.evaluate(() => { window.__sameDocument = true; });
    await S2.stop();
    await page.waitForFunction(() => /reconnecting/.test(document.querySelector('[data-testid=live-state]').textContent), null, { timeout: 30000 });
    await C.shot(page, 'reconnecting');
    await S2.restart();
    await page.waitForFunction(() => document.querySelector('[data-testid=live-state]').textContent === 'live', null, { timeout: 30000 });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
    assert.equal(await live.textContent(), 'live');
    await page.context().close();
    await S2.cleanup();
  });

  it('a token revoked while the page is open sends the user back to sign-in with a message', async () => {
    const t = await H.api(S, 'POST', '/api/v1/admin/tokens', { name: 'ops-temp', scopes: ['read'] });
    assert.equal(t.status, 201, t.text);
    const page = await C.openConsole(browser, S, { token: t.json.token });
    assert.equal((await H.api(S, 'DELETE', '/api/v1/admin/tokens/ops-temp')).status, 200);
    await page.getByTestId('nav-alerts').click(); // its next request (it polls) gets 401
    await page.getByTestId('login-message').waitFor({ timeout: 30000 });
    assert.match(await page.getByTestId('login-message').textContent(), /Signed out/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('switchyard.token')), null, 'the token is forgotten');
    await page.context().close();
  });
});

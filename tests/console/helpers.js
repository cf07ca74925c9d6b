// helpers.js — the console in a real Chromium (Debian's chromium, driven by playwright-core):
// a server serving the console built by `make console` (build/console, or SY_CONSOLE_DIR),
// a signed-in page, and screenshots under the test output directory.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const H = require('../api/helpers');

const ROOT = path.resolve(__dirname, '..', '..');
const CONSOLE_DIR = process.env.SY_CONSOLE_DIR || path.join(ROOT, 'build', 'console');
const SHOTS = process.env.SY_CONSOLE_SHOTS || path.join(ROOT, 'build', 'test-output', 'console');
const CHROMIUM = process.env.SY_CHROMIUM || '/usr/bin/chromium';

/* `{ skip }` when there is no browser or no built console (make test installs and builds both). */
function skipReason() {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  if (!fs.existsSync(path.join(CONSOLE_DIR, 'index.html'))) return `the console is not built in ${CONSOLE_DIR} (make console)`;
  return false;
}

async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    // root in a container has no user namespaces for the sandbox
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    timeout: 60000,
  });
}

/* A server that serves the console (and anything else opts asks for). */
function startServer(opts = {}) {
  return H.startServer({ ...opts, env: { SWITCHYARD_CONSOLE_DIR: CONSOLE_DIR, ...(opts.env || {}) } });
}

/* A new page on S's console, signed in with token (S's admin token by default). The page
 * records what the browser logged as an error, and any CSP violation: see pageErrors. */
async function openConsole(browser, S, { token = S.token, viewport = { width: 1280, height: 800 }, colorScheme = 'light', hash = '' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) page.errors.push(`console: ${m.text()}`); });
  page.setDefaultTimeout(15000);
  await page.goto(`${S.url}/console/${hash}`);
  if (token !== null) await signIn(page, token);
  return page;
}

async function signIn(page, token) {
  await page.getByTestId('login-token').fill(token);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('who').waitFor();
}

/* Writes page's screenshot as SHOTS/name.png. */
async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/* Runs an action through the console's dialog: fills the reason (when asked) and confirms. */
async function confirmAction(page, reason = 'console test') {
  const d = page.getByTestId('action-dialog');
  await d.waitFor();
  const r = d.getByTestId('action-reason');
  if (await r.count()) await r.fill(reason);
  await d.getByTestId('action-confirm').click();
  await d.waitFor({ state: 'detached' });
}

module.exports = { CONSOLE_DIR, SHOTS, skipReason, launchBrowser, startServer, openConsole, signIn, shot, confirmAction };

// params.test.js — the Parameters view in Chromium: the folder tree and its breadcrumbs, a
// parameter's value; an edit with a reason (the server's new version, the audit record's
// reason), history and a diff of two versions, rollback; create, labels, tags, delete; a write
// made with the API showing on the open page; a SecureString hidden from a read token and
// revealed for the admin; HTML and script values shown as text; a read token sees no write
// button; a folder of 100,000 parameters stays responsive.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const H = require('../api/helpers');
const C = require('./helpers');

/* PUT one parameter through the API, as the CLI would. */
async function put(S, name, value, extra = {}, token) {
  const r = await H.api(S, 'PUT', `/api/v1/params${name}`, { value, type: 'String', overwrite: true, ...extra }, token);
  assert.equal(r.status, 200, `${name}: ${r.text}`);
  return r.json;
}

async function get(S, name, q = '') {
  const r = await H.api(S, 'GET', `/api/v1/params${name}${q}`);
  return r;
}

/* An import of many parameters in one request (about 16 MiB for 100,000): longer than the
 * helpers' 30 s timeout allows on a busy machine. */
function importParams(S, params) {
  const body = Buffer.from(JSON.stringify({ format: 'switchyard-config/1', params }));
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: S.port, method: 'POST', path: '/api/v1/config/runtime?apply=true', agent: false,
      headers: { Authorization: `Bearer ${S.token}`, 'Content-Type': 'application/json', 'Content-Length': body.length, Connection: 'close' },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(110000, () => req.destroy(new Error('import: no answer in 110 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const text = (page, id) => page.getByTestId(id).textContent();
const waitText = (page, id, re) => page.waitForFunction(([i, src]) => {
  const el = document.querySelector(`[data-testid="${i}"]`);
  return !!el && new RegExp(src).test(el.textContent);
}, [id, re.source]);

// every button that writes: a read token must see none of them
const WRITE_BUTTONS = ['param-create', 'param-edit', 'param-delete', 'param-label-add', 'param-tag-add']
  .map((id) => `[data-testid="${id}"]`).concat(['[data-testid^="rollback-"]', '[data-testid^="label-remove-"]', '[data-testid^="tag-remove-"]'])
  .join(', ');

describe('the Parameters view', { skip: C.skipReason() }, () => {
  let S;
  let browser;
  before(async () => {
    S = await C.startServer();
    browser = await C.launchBrowser();
    await put(S, '/app/web/color', 'blue\nsize=L\nfont=sans');
    await put(S, '/app/web/size', 'L');
    await put(S, '/app/db/url', 'postgres://db/app');
    await put(S, '/app/db/pool/max', '10');
    await put(S, '/top', '1');
  });
  after(async () => {
    if (browser) await browser.close();
    if (S) await S.cleanup();
  });

  it('walks the folders and breadcrumbs and shows a parameter', async () => {
    const page = await C.openConsole(browser, S, { hash: '#/params' });
    await page.locator('[data-testid=folder-link][data-path="/app/"]').click();
    await page.locator('[data-testid=folder-link][data-path="/app/web/"]').waitFor();
    const counts = await page.locator('[data-testid=folders] li').allTextContents();
    assert.deepEqual(counts.map((t) => t.replace(/\s+/g, ' ').trim()), ['▸db/ 2 params', '▸web/ 2 params']);
    await page.locator('[data-testid=folder-link][data-path="/app/db/"]').click();
    await page.locator('[data-testid=folder-link][data-path="/app/db/pool/"]').waitFor();
    await page.locator('[data-testid=param-row][data-name="/app/db/url"]').waitFor();
    assert.deepEqual(await page.getByTestId('crumb').allTextContents(), ['/', 'app', 'db']);
    await page.locator('[data-testid=crumb][data-path="/app/"]').click();
    await page.locator('[data-testid=folder-link][data-path="/app/web/"]').click();
    // the tree shows each parameter's value beside its name, on one line
    const row = page.locator('[data-testid=param-row][data-name="/app/web/color"] [data-testid=row-value]');
    assert.equal(await row.textContent(), 'blue ⏎ size=L ⏎ font=sans');
    await page.locator('[data-testid=param-row][data-name="/app/web/color"] a').click();
    await waitText(page, 'param-value', /size=L/);
    assert.equal(await text(page, 'param-value'), 'blue\nsize=L\nfont=sans');
    assert.equal(await text(page, 'param-type'), 'String');
    assert.match(page.url(), /name=%2Fapp%2Fweb%2Fcolor/);
    // the filter narrows what the folder shows
    await page.getByTestId('params-filter').fill('siz');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=param-row]').length === 1);
    assert.equal(await page.getByTestId('param-row').getAttribute('data-name'), '/app/web/size');
    await page.getByTestId('params-filter').fill('');
    await C.shot(page, 'params');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('edits a value with a reason, shows history and a diff, and rolls back', async () => {
    const page = await C.openConsole(browser, S, { hash: '#/params?name=/app/web/color' });
    await waitText(page, 'param-version', /^1$/);
    await page.getByTestId('param-edit').click();
    await page.getByTestId('edit-value').fill('blue\nsize=XL\nfont=sans');
    await page.getByTestId('edit-save').click();
    assert.match(await page.getByTestId('action-dialog').textContent(), /value of \/app\/web\/color changes \(version 1 → version 2/);
    await C.confirmAction(page, 'bigger for the launch');
    await waitText(page, 'param-version', /^2$/);
    const now = await get(S, '/app/web/color');
    assert.equal(now.json.version, 2);
    assert.equal(now.json.value, 'blue\nsize=XL\nfont=sans');
    const audit = await H.api(S, 'GET', '/api/v1/admin/audit?name=/app/web/color&limit=1');
    assert.equal(audit.json.records[0].new_version, 2);
    assert.equal(audit.json.records[0].reason, 'bigger for the launch');

    // history newest first, with the reason; the diff of 1 → 2 shows the changed line
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=history-row]').length === 2);
    assert.deepEqual(await page.locator('[data-testid=history-row]').evaluateAll((rs) => rs.map((r) => r.dataset.version)), ['2', '1']);
    assert.equal(await page.getByTestId('history-reason').first().textContent(), 'bigger for the launch');
    await page.getByTestId('diff').waitFor();
    const ops = async () => page.locator('[data-testid=diff] [data-op]').evaluateAll((ls) => ls.map((l) => `${l.dataset.op}${l.textContent.slice(1)}`));
    assert.deepEqual(await ops(), [' blue', '-size=L', '+size=XL', ' font=sans']);
    await page.getByTestId('diff-from').selectOption('2');
    await page.getByTestId('diff-to').selectOption('1');
    assert.deepEqual(await ops(), [' blue', '-size=XL', '+size=L', ' font=sans']);
    await C.shot(page, 'params-history-diff');

    await page.getByTestId('rollback-1').click();
    assert.match(await page.getByTestId('action-dialog').textContent(),
      /value of \/app\/web\/color goes back to version 1's \(written as version 3\)/);
    await C.confirmAction(page, 'launch postponed');
    await waitText(page, 'param-version', /^3$/);
    const back = await get(S, '/app/web/color');
    assert.equal(back.json.version, 3);
    assert.equal(back.json.value, 'blue\nsize=L\nfont=sans');
    assert.equal(await text(page, 'param-value'), 'blue\nsize=L\nfont=sans');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('creates a parameter in the folder, labels and tags it, and deletes it', async () => {
    const page = await C.openConsole(browser, S, { hash: '#/params?path=/app/web/' });
    await page.getByTestId('param-create').click();
    await page.getByTestId('create-name').fill('made');
    await page.getByTestId('create-value').fill('hello');
    await page.getByTestId('create-save').click();
    await C.confirmAction(page, 'new knob');
    await waitText(page, 'param-value', /^hello$/);
    assert.equal((await get(S, '/app/web/made')).json.value, 'hello');
    await page.locator('[data-testid=param-row][data-name="/app/web/made"]').waitFor();

    await page.getByTestId('param-label-add').click();
    await page.getByTestId('label-name').fill('prod');
    await page.getByTestId('label-save').click();
    await C.confirmAction(page);
    await waitText(page, 'param-labels', /prod/);
    assert.deepEqual((await get(S, '/app/web/made')).json.labels, ['prod']);
    await page.getByTestId('param-tag-add').click();
    await page.getByTestId('tag-key').fill('team');
    await page.getByTestId('tag-value').fill('ml');
    await page.getByTestId('tag-save').click();
    await C.confirmAction(page);
    await waitText(page, 'param-tags', /team=ml/);
    assert.deepEqual((await get(S, '/app/web/made')).json.tags, { team: 'ml' });

    await page.getByTestId('label-remove-prod').click();
    await C.confirmAction(page);
    await waitText(page, 'param-labels', /^—$/);
    assert.deepEqual((await get(S, '/app/web/made')).json.labels, []);
    await page.getByTestId('tag-remove-team').click();
    await C.confirmAction(page);
    await waitText(page, 'param-tags', /^—$/);
    assert.deepEqual((await get(S, '/app/web/made')).json.tags || {}, {});

    await page.getByTestId('param-delete').click();
    assert.match(await page.getByTestId('action-dialog').textContent(), /\/app\/web\/made is deleted/);
    await C.confirmAction(page, 'not needed');
    await page.waitForFunction(() => !/name=/.test(location.hash));
    assert.equal((await get(S, '/app/web/made')).status, 404);
    await page.waitForFunction(() => !document.querySelector('[data-testid=param-row][data-name="/app/web/made"]'));
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('shows a write made with the API on the open page, without a reload', async () => {
    const page = await C.openConsole(browser, S, { hash: '#/params?name=/app/web/size' });
    await waitText(page, 'param-value', /^L$/);
    await page.evaluate(() => { window.__sameDocument = true; });
    await put(S, '/app/web/size', 'XXL', { reason: 'from the CLI' });
    await waitText(page, 'param-value', /^XXL$/);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=history-reason]')].some((e) => e.textContent === 'from the CLI'));
    await put(S, '/app/web/fresh', 'new');
    await page.locator('[data-testid=param-row][data-name="/app/web/fresh"]').waitFor();
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');

    // an edit begun before someone else's write is refused, not written over it
    await page.locator('[data-testid=param-row][data-name="/app/web/size"] a').click();
    await waitText(page, 'param-value', /^XXL$/);
    await page.getByTestId('param-edit').click();
    await page.getByTestId('edit-value').fill('mine');
    await put(S, '/app/web/size', 'theirs');
    await waitText(page, 'param-value', /^theirs$/);
    await page.getByTestId('edit-save').click();
    await page.getByTestId('action-confirm').click();
    await page.getByTestId('action-dialog').getByTestId('error').waitFor();
    assert.match(await page.getByTestId('action-dialog').getByTestId('error').textContent(), /^VersionConflict/);
    await page.getByTestId('action-dialog').getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await get(S, '/app/web/size')).json.value, 'theirs');
    await page.context().close();
  });

  it('reads at 390 px wide and in dark mode, with nothing wider than the window', async () => {
    for (const [label, opts] of [['narrow', { viewport: { width: 390, height: 800 } }], ['dark', { colorScheme: 'dark' }]]) {
      const page = await C.openConsole(browser, S, { ...opts, hash: '#/params?name=/app/web/color' });
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=history-row]').length >= 2);
      await page.getByTestId('diff').waitFor();
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), `${label}: the page scrolls sideways`);
      await C.shot(page, `params-${label}`);
      assert.deepEqual(page.errors, []);
      await page.context().close();
    }
  });

  it('hides a SecureString from a read token, which sees no write button; the admin reveals it', async () => {
    await put(S, '/app/sec/key', 's3cret-value', { type: 'SecureString' });
    assert.equal((await H.api(S, 'POST', '/api/v1/params/app/web/color/labels', { version: 2, labels: ['prod'] })).status, 200);
    assert.equal((await H.api(S, 'PUT', '/api/v1/params/app/web/color/tags', { tags: { team: 'web' } })).status, 200);
    const t = await H.api(S, 'POST', '/api/v1/admin/tokens', { name: 'reader', scopes: ['read'] });
    assert.equal(t.status, 201, t.text);

    const reader = await C.openConsole(browser, S, { token: t.json.token, hash: '#/params?name=/app/sec/key' });
    await waitText(reader, 'param-value', /^hidden$/);
    assert.equal(await reader.getByTestId('param-reveal').count(), 0);
    assert.doesNotMatch(await reader.locator('#main').textContent(), /s3cret/);
    assert.equal(await reader.locator(WRITE_BUTTONS).count(), 0);
    // a parameter with history, a label and a tag: still no rollback or remove button
    await reader.evaluate(() => { location.hash = '#/params?name=/app/web/color'; });
    await reader.waitForFunction(() => document.querySelectorAll('[data-testid=history-row]').length >= 3);
    await waitText(reader, 'param-tags', /team=web/);
    assert.equal(await reader.locator(WRITE_BUTTONS).count(), 0);
    await C.shot(reader, 'params-read-only');
    await reader.context().close();

    const admin = await C.openConsole(browser, S, { hash: '#/params?name=/app/sec/key' });
    await waitText(admin, 'param-value', /^hidden$/);
    await admin.getByTestId('param-reveal').click();
    await waitText(admin, 'param-value', /^s3cret-value$/);
    assert.deepEqual(admin.errors, []);
    await admin.context().close();
  });

  it('shows HTML and script values as text', async () => {
    const img = '<img src=x onerror=alert(1)>';
    const script = '<script>window.__pwned = 1; alert(2)</script>';
    await put(S, '/app/xss/img', img);
    await put(S, '/app/xss/script', script, { description: '<b>bold?</b>' });
    const page = await C.openConsole(browser, S, { hash: '#/params?name=/app/xss/img' });
    const dialogs = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    await waitText(page, 'param-value', /onerror/);
    assert.equal(await text(page, 'param-value'), img);
    await page.locator('[data-testid=param-row][data-name="/app/xss/script"] a').click();
    await waitText(page, 'param-value', /__pwned/);
    assert.equal(await text(page, 'param-value'), script);
    assert.match(await page.getByTestId('param-attrs').textContent(), /<b>bold\?<\/b>/);
    assert.equal(await page.locator('#main img, #main script, #main b').count(), 0, 'no element was injected');
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(dialogs, []);
    await page.context().close();
  });

  it('stays responsive on a folder of 100,000 parameters, showing a page at a time', async () => {
    const params = [];
    for (let i = 0; i < 100000; i++) params.push({ name: `/big/p${String(i).padStart(6, '0')}`, value: `v${i}`, type: 'String' });
    const r = await importParams(S, params);
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const page = await C.openConsole(browser, S, { hash: '#/params?path=/' });
    await page.locator('[data-testid=folder-link][data-path="/big/"]').waitFor();
    assert.match(await page.locator('[data-testid=folders] li', { hasText: 'big/' }).textContent(), /100,000 params/);
    await page.locator('[data-testid=folder-link][data-path="/big/"]').click();
    await waitText(page, 'params-count', /^100 parameters shown, more in this folder$/);
    assert.equal(await page.getByTestId('param-row').count(), 100);
    await page.getByTestId('params-more').click();
    await waitText(page, 'params-count', /^200 parameters shown/);
    // the page answers, and holds the rows it shows, not the folder
    for (let i = 0; i < 5; i++) assert.equal(await page.evaluate((x) => x + 1, i), i + 1);
    assert.equal(await page.getByTestId('param-row').count(), 200);
    await page.getByTestId('params-filter').fill('p000150');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=param-row]').length === 1);
    // a write in the folder reloads what is shown, as many rows as were loaded
    await page.getByTestId('params-filter').fill('');
    await put(S, '/big/p000000', 'changed');
    await page.locator('[data-testid=param-row][data-name="/big/p000000"] a').click();
    await waitText(page, 'param-value', /^changed$/);
    assert.equal(await page.getByTestId('param-row').count(), 200);
    await C.shot(page, 'params-big-folder');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});

// backup.test.js — the console's Backup and restore view in Chromium: a downloaded backup is
// the server's export; after parameters are changed and deleted through the API, restoring the
// file shows the dry run's exact counts and puts the values back (the reason in the audit log);
// prune deletes what the backup does not hold; a file that is not JSON, not an export, or holds
// an entry the server refuses shows the precise message and writes nothing; SecureString
// values only with the checkbox; a read token sees neither backup nor restore (both are admin
// calls).
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const H = require('../api/helpers');
const C = require('./helpers');

const put = (S, name, value, extra = {}) =>
  H.api(S, 'PUT', `/api/v1/params${name}`, { value, type: 'String', overwrite: true, ...extra }).then((r) => {
    assert.equal(r.status, 200, r.text);
    return r;
  });
const exported = async (S, q = '') => {
  const r = await H.api(S, 'GET', `/api/v1/config/runtime${q}`);
  assert.equal(r.status, 200, r.text);
  const { exported_at: at, ...rest } = r.json;
  assert.match(at, /^\d{4}-\d\d-\d\dT/);
  return rest;
};

describe('the backup and restore view', { skip: C.skipReason() }, () => {
  let S;
  let browser;
  let page;
  let dir;
  let backupFile;
  before(async () => {
    S = await C.startServer();
    browser = await C.launchBrowser();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-backup-'));
    await put(S, '/app/a', 'one');
    await put(S, '/app/b', 'x,y', { type: 'StringList' });
    await put(S, '/app/c', '<b>c</b>', { description: 'html stays text' });
    await put(S, '/app/d', 'keep');
  });
  after(async () => {
    if (browser) await browser.close();
    if (S) await S.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /* Clicks the download button and answers the saved file's name and text. */
  const download = async (p) => {
    const [dl] = await Promise.all([p.waitForEvent('download'), p.getByTestId('backup-download').click()]);
    const file = path.join(dir, dl.suggestedFilename());
    await dl.saveAs(file);
    return { name: dl.suggestedFilename(), file, text: fs.readFileSync(file, 'utf8') };
  };
  const dryRun = async (file) => {
    await page.getByTestId('restore-file').setInputFiles(file);
    await page.getByTestId('restore-file-info').waitFor();
    await page.getByTestId('restore-dryrun').click();
    await page.getByTestId('restore-dry').waitFor();
  };
  const sum = async () => Object.fromEntries(await Promise.all(['create', 'update', 'delete', 'unchanged'].map(
    async (a) => [a, Number(await page.getByTestId(`sum-${a}`).first().textContent())])));
  const rows = () => page.locator('[data-testid=restore-changes] tbody tr').evaluateAll(
    (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent).join(' ')));

  it('downloads the server\'s export as switchyard-config-<seq>-<stamp>.json and says what it holds', async () => {
    page = await C.openConsole(browser, S, { hash: '#/backup' });
    await page.getByTestId('backup-download').waitFor();
    assert.match(await page.getByTestId('empty').textContent(), /No file chosen/);
    assert.match(await page.locator('#main').textContent(), /History and labels are not part of it/);
    await C.shot(page, 'backup-initial');
    const want = await exported(S);
    const b = await download(page);
    backupFile = b.file;
    assert.match(b.name, new RegExp(`^switchyard-config-${want.seq}-\\d{8}T\\d{6}Z\\.json$`));
    const { exported_at: at, ...got } = JSON.parse(b.text);
    assert.equal(b.name, `switchyard-config-${want.seq}-${at.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '')}.json`);
    assert.deepEqual(got, want);
    assert.equal(got.params.length, 4);
    await page.getByTestId('backup-info').waitFor();
    assert.equal(await page.getByTestId('backup-name').textContent(), b.name);
    assert.equal(await page.getByTestId('backup-count').textContent(), '4');
    assert.equal(await page.getByTestId('backup-seq').textContent(), String(want.seq));
    assert.equal(await page.getByTestId('backup-size').textContent(), `${Buffer.byteLength(b.text)} B`);
  });

  it('restores the file after a dry run with the exact counts; the values are back and the audit log has the reason', async () => {
    await put(S, '/app/a', 'two');
    assert.equal((await H.api(S, 'DELETE', '/api/v1/params/app/b')).status, 200);
    await put(S, '/app/new', 'made after the backup');
    await dryRun(backupFile);
    assert.deepEqual(await sum(), { create: 1, update: 1, delete: 0, unchanged: 2 });
    assert.deepEqual(await rows(), ['/app/a update', '/app/b create']);
    await C.shot(page, 'backup-dry-run');
    await page.getByTestId('restore-filter').selectOption('create');
    assert.deepEqual(await rows(), ['/app/b create']);
    await page.getByTestId('restore-filter').selectOption('all');
    assert.equal((await rows()).length, 4);

    await page.getByTestId('restore-apply').click();
    const d = page.getByTestId('action-dialog');
    await d.waitFor();
    assert.match(await d.textContent(), /creates 1, updates 1, deletes 0 parameters in one transaction/);
    assert.equal(await d.getByTestId('action-confirm').getAttribute('class'), 'danger');
    await C.confirmAction(page, 'undo the failed change');
    await page.getByTestId('restore-result').waitFor();
    assert.match(await page.getByTestId('restore-result').textContent(), /created 1, updated 1, deleted 0, 2 unchanged/);

    assert.equal((await H.api(S, 'GET', '/api/v1/params/app/a')).json.value, 'one');
    const bb = (await H.api(S, 'GET', '/api/v1/params/app/b')).json;
    assert.deepEqual([bb.type, bb.value], ['StringList', 'x,y']);
    assert.equal((await H.api(S, 'GET', '/api/v1/params/app/new')).status, 200, 'no prune: kept');
    for (const name of ['/app/a', '/app/b']) {
      const rec = (await H.api(S, 'GET', `/api/v1/admin/audit?name=${encodeURIComponent(name)}&limit=1`)).json.records[0];
      assert.match(rec.reason, /undo the failed change/, JSON.stringify(rec));
    }
  });

  it('prune deletes a parameter created after the backup', async () => {
    await page.getByTestId('restore-prune').check();
    await page.getByTestId('restore-dryrun').click();
    await page.getByTestId('restore-dry').waitFor();
    assert.deepEqual(await sum(), { create: 0, update: 0, delete: 1, unchanged: 4 });
    assert.deepEqual(await rows(), ['/app/new delete']);
    await page.getByTestId('restore-apply').click();
    assert.match(await page.getByTestId('action-dialog').textContent(), /creates 0, updates 0, deletes 1 parameters/);
    await C.confirmAction(page, 'prune');
    await page.getByTestId('restore-result').waitFor();
    assert.equal((await H.api(S, 'GET', '/api/v1/params/app/new')).status, 404);
    assert.deepEqual((await exported(S)).params, JSON.parse(fs.readFileSync(backupFile, 'utf8')).params);
    // the same file again: nothing left to restore
    await page.getByTestId('restore-dryrun').click();
    await page.getByTestId('restore-dry').waitFor();
    assert.deepEqual(await sum(), { create: 0, update: 0, delete: 0, unchanged: 4 });
    assert.equal(await page.getByTestId('restore-apply').isDisabled(), true);
    await page.getByTestId('restore-prune').uncheck();
    // a long change list: the first 200 are listed, the rest counted
    const many = JSON.parse(fs.readFileSync(backupFile, 'utf8'));
    for (let i = 0; i < 250; i++) many.params.push({ name: `/many/p${String(i).padStart(3, '0')}`, type: 'String', value: String(i) });
    const f = path.join(dir, 'many.json');
    fs.writeFileSync(f, JSON.stringify(many));
    await dryRun(f);
    assert.deepEqual(await sum(), { create: 250, update: 0, delete: 0, unchanged: 4 });
    const listed = await rows();
    assert.equal(listed.length, 200);
    assert.equal(listed[199], '/many/p199 create');
    assert.match(await page.getByTestId('restore-more').textContent(), /The first 200 of 250 are shown; 50 more\./);
    assert.equal((await H.api(S, 'GET', '/api/v1/params/many/p000')).status, 404, 'a dry run writes nothing');
  });

  it('refuses a file that is not JSON, not an export, or that the server refuses, naming what is wrong; nothing is written', async () => {
    const before = await exported(S);
    const write = (name, text) => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };
    const fileError = async (file, re) => {
      await page.getByTestId('restore-file').setInputFiles(file);
      await page.getByTestId('restore-file-error').waitFor();
      assert.match(await page.getByTestId('restore-file-error').textContent(), re);
      assert.equal(await page.getByTestId('restore-dryrun').isDisabled(), true);
    };
    await fileError(write('notes.json', '{"format": "switchyard-config/1", oops'), /^notes\.json: this file is not JSON \(.+\)$/);
    await fileError(write('other.json', '{"format":"switchyard-snapshot/1","params":[]}'),
      /^other\.json: this file's format is "switchyard-snapshot\/1", not "switchyard-config\/1"$/);
    await fileError(write('plain.json', '[1,2]'), /not a configuration export: it is not a JSON object/);

    // a SecureString exported without its value: the server refuses the whole file, naming the entry
    await put(S, '/app/secret', 's3cret', { type: 'SecureString' });
    const b = await download(page);
    assert.match(await page.getByTestId('backup-secure').textContent(), /1 SecureString\(s\) are in the file without their value/);
    const doc = JSON.parse(b.text);
    const i = doc.params.findIndex((p) => p.name === '/app/secret');
    assert.ok(i >= 0 && !('value' in doc.params[i]), 'no SecureString value by default');
    assert.equal((await H.api(S, 'DELETE', '/api/v1/params/app/secret')).status, 200);
    await put(S, '/app/a', 'changed again');
    const held = await exported(S);
    const refusal = await H.api(S, 'POST', '/api/v1/config/runtime', b.text);
    assert.equal(refusal.status, 400);
    assert.match(refusal.json.error.message, new RegExp(`^params\\[${i}\\]`));
    await page.getByTestId('restore-file').setInputFiles(b.file);
    await page.getByTestId('restore-secureless').waitFor();
    await page.getByTestId('restore-dryrun').click();
    await page.getByTestId('error').waitFor();
    assert.equal(await page.getByTestId('error').textContent(), `ValidationException ${refusal.json.error.message}`);
    assert.equal(await page.getByTestId('restore-apply').count(), 0);
    assert.deepEqual(await exported(S), held, 'nothing written');
    assert.notDeepEqual(held, before);
  });

  it('shows the server\'s 413 for a file over its import limit, and writes nothing', async () => {
    const small = await C.startServer({ args: ['--import-max-bytes', String(1 << 20)] });
    try {
      const p = await C.openConsole(browser, small, { hash: '#/backup', viewport: { width: 390, height: 800 }, colorScheme: 'dark' });
      const big = { format: 'switchyard-config/1', seq: 1, params: [] };
      for (let i = 0; i < 300; i++) big.params.push({ name: `/big/p${i}`, type: 'String', value: 'v'.repeat(4000) });
      const f = path.join(dir, 'big.json');
      fs.writeFileSync(f, JSON.stringify(big));
      await p.getByTestId('restore-file').setInputFiles(f);
      await p.getByTestId('restore-file-info').waitFor();
      await p.getByTestId('restore-dryrun').click();
      await p.getByTestId('error').waitFor();
      assert.match(await p.getByTestId('error').textContent(), /^PayloadTooLarge /);
      assert.equal((await H.api(small, 'GET', '/api/v1/params/big/p0')).status, 404);
      await C.shot(p, 'backup-narrow-dark');
      assert.deepEqual(p.errors, []);
      await p.context().close();
    } finally {
      await small.cleanup();
    }
  });

  it('puts SecureString values in the file only with the checkbox, with a warning', async () => {
    await put(S, '/app/secret', 's3cret', { type: 'SecureString' });
    assert.equal(await page.getByTestId('backup-warning').count(), 0);
    await page.getByTestId('backup-secrets').check();
    assert.match(await page.getByTestId('backup-warning').textContent(), /every SecureString value in clear text/);
    const b = await download(page);
    const { exported_at: at, ...got } = JSON.parse(b.text);
    assert.ok(at);
    assert.equal(got.params.find((p) => p.name === '/app/secret').value, 's3cret');
    assert.deepEqual(got, await exported(S, '?include_secrets=true'));
    assert.match(await page.getByTestId('backup-secure').textContent(), /1 SecureString value\(s\) are in the file in clear text/);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('a read token sees neither backup nor restore: both are admin calls', async () => {
    const t = await H.api(S, 'POST', '/api/v1/admin/tokens', { name: 'reader', scopes: ['read'] });
    assert.equal(t.status, 201, t.text);
    assert.equal((await H.api(S, 'GET', '/api/v1/config/runtime', undefined, t.json.token)).status, 403);
    const reader = await C.openConsole(browser, S, { token: t.json.token, hash: '#/backup' });
    await reader.getByTestId('backup-noscope').waitFor();
    assert.match(await reader.getByTestId('backup-noscope').textContent(), /admin scope/);
    for (const id of ['backup-download', 'backup-secrets', 'restore-file', 'restore-dryrun']) {
      assert.equal(await reader.getByTestId(id).count(), 0, id);
    }
    await C.shot(reader, 'backup-read-only');
    assert.deepEqual(reader.errors, []);
    await reader.context().close();
  });
});

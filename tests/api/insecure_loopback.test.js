// insecure_loopback.test.js — `switchyard serve --insecure-loopback`: runbook curl lines without a
// token run on a developer's machine; it is refused on an address that is not loopback; a token
// that is sent is still checked; without the option a missing token is a 401 that says which
// header to send.
'use strict';

const { it, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const H = require('./helpers');

const started = [];
after(async () => { for (const s of started) await s.stop().catch(() => {}); });

it('refused unless the listen address is a loopback address', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-insecure-'));
  for (const addr of ['0.0.0.0:0', '10.1.2.3:0', 'localhost:0']) {
    const r = spawnSync(process.env.SWITCHYARD_BIN, ['serve', '--listen', addr, '--data', dir, '--insecure-loopback'],
      { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 2, `${addr}: ${r.stderr}`);
    assert.match(r.stderr, /--insecure-loopback .*loopback listen address/);
  }
});

it('runbook 001\'s lines without a token: served, audited as insecure-loopback, loudly logged', async () => {
  const S = await H.startServer({ args: ['--insecure-loopback'] });
  started.push(S);
  assert.match(S.log, /"level":"warn"[^\n]*INSECURE: --insecure-loopback/);
  // curl http://localhost:8000/api/v1/config/runtime > config-backup.json
  const backup = await H.api(S, 'GET', '/api/v1/config/runtime', undefined, null);
  assert.equal(backup.status, 200, backup.text);
  // a write without a token
  const put = await H.api(S, 'PUT', '/api/v1/params/dev/loop/p', { value: 'v', type: 'String' }, null);
  assert.equal(put.status, 200, put.text);
  // curl -X POST .../api/v1/chat/completions -d '{"messages": [{"role": "user", "content": "test"}]}'
  const chat = await H.api(S, 'POST', '/api/v1/chat/completions', { messages: [{ role: 'user', content: 'test' }] }, null);
  assert.equal(chat.status, 200, chat.text);
  // curl .../api/v1/admin/audit?limit=5
  const audit = await H.api(S, 'GET', '/api/v1/admin/audit?limit=5', undefined, null);
  assert.equal(audit.status, 200, audit.text);
  assert.ok(JSON.stringify(audit.json).includes('insecure-loopback'), 'the write is audited to the insecure-loopback actor');
  // a token that is sent is checked as always
  const wrong = await H.api(S, 'GET', '/api/v1/params', undefined, 'not-a-real-token-000000');
  assert.equal(wrong.status, 401);
  // no decrypt scope: a SecureString's value is not shown without a token
  await H.api(S, 'PUT', '/api/v1/params/dev/loop/secret', { value: 'hunter2-secret', type: 'SecureString' });
  const sec = await H.api(S, 'GET', '/api/v1/params/dev/loop/secret?decrypt=true', undefined, null);
  assert.ok(!sec.text.includes('hunter2-secret'), `the secret stays hidden: ${sec.status} ${sec.text}`);
  // whoami says so: an admin without decrypt
  const me = await H.api(S, 'GET', '/api/v1/whoami', undefined, null);
  assert.equal(me.status, 200, me.text);
  assert.deepEqual(me.json, { name: 'insecure-loopback', scopes: ['read', 'write', 'admin', 'evaluate'] });
});

it('without the option: no token is a 401 that names the header and the option', async () => {
  const S = await H.startServer({});
  started.push(S);
  const r = await H.api(S, 'GET', '/api/v1/providers', undefined, null);
  assert.equal(r.status, 401);
  assert.match(r.json.error.message, /Authorization: Bearer <token>/);
  assert.match(r.json.error.message, /--insecure-loopback/);
});

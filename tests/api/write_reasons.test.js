// write_reasons.test.js — the two writes of runbook 001 that the console makes besides the
// parameter and flag APIs take a reason too, which goes into the audit record after their own
// words: POST /api/v1/providers/{p}/activate ("activate P: <reason>") and POST
// /api/v1/governance/limits ("governance limit: <reason>"). The limit's document does not keep it.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, pp } = require('./helpers');

describe('reasons on activate and on a spending limit', () => {
  let S;
  before(async () => { S = await startServer(); });
  after(async () => { if (S) await S.cleanup(); });

  const lastRecord = async (name) =>
    (await api(S, 'GET', `/api/v1/admin/audit?name=${encodeURIComponent(name)}&limit=1`)).json.records[0];

  it('activate keeps its own words and adds the reason; no reason is as before', async () => {
    let r = await api(S, 'POST', '/api/v1/providers/stub/activate', { reason: 'gemini outage, see INC-42' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await lastRecord('/switchyard/routes/default')).reason, 'activate stub: gemini outage, see INC-42');
    r = await api(S, 'POST', '/api/v1/providers/stub/activate');
    assert.equal(r.status, 200, r.text);
    assert.equal((await lastRecord('/switchyard/routes/default')).reason, 'activate stub');
  });

  it('a bad reason, or a reason where nothing is written, is a 400 naming it; nothing is written', async () => {
    const before = (await api(S, 'GET', pp('/switchyard/routes/default'))).json.version;
    let r = await api(S, 'POST', '/api/v1/providers/stub/activate', { reason: 7 });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /reason/);
    r = await api(S, 'POST', '/api/v1/providers/stub/activate', { reason: 'x'.repeat(1025) });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /reason is longer than 1024/);
    r = await api(S, 'POST', '/api/v1/providers/stub/activate', { why: 'x' });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /unknown field why: the body takes only model and reason/);
    r = await api(S, 'POST', '/api/v1/providers/stub/test-connection', { reason: 'x' });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /unknown field reason: the body takes only model$/);
    assert.equal((await api(S, 'GET', pp('/switchyard/routes/default'))).json.version, before);
  });

  it('a limit takes a reason into its audit record, not into its document', async () => {
    const body = { limit_type: 'global', soft_limit_usd: 5, hard_limit_usd: 10 };
    let r = await api(S, 'POST', '/api/v1/governance/limits', { ...body, reason: 'Q4 cap' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await lastRecord('/switchyard/limits/global')).reason, 'governance limit: Q4 cap');
    const doc = JSON.parse((await api(S, 'GET', pp('/switchyard/limits/global'))).json.value);
    assert.equal('reason' in doc, false, `the document keeps no reason: ${JSON.stringify(doc)}`);
    r = await api(S, 'POST', '/api/v1/governance/limits', body);
    assert.equal(r.status, 200, r.text);
    assert.equal((await lastRecord('/switchyard/limits/global')).reason, 'governance limit');
    r = await api(S, 'POST', '/api/v1/governance/limits', { ...body, reason: ['no'] });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /reason/);
  });
});

describe('reasons on tokens and access keys', () => {
  let S;
  before(async () => { S = await startServer(); });
  after(async () => { if (S) await S.cleanup(); });

  const recordOf = async (action, name) => {
    const a = (await api(S, 'GET', '/api/v1/admin/audit?limit=20')).json.records;
    return a.find((x) => x.action === action && x.name === name);
  };

  it('create, route and revoke of a token carry the reason into their audit records', async () => {
    let r = await api(S, 'POST', '/api/v1/admin/tokens', { name: 'ci', scopes: ['read'], reason: 'for the CI job' });
    assert.equal(r.status, 201, r.text);
    assert.equal((await recordOf('token.create', 'ci')).reason, 'for the CI job');
    r = await api(S, 'PATCH', '/api/v1/admin/tokens/ci', { route: '/switchyard/routes/ci', reason: 'its own route' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await recordOf('token.route', 'ci')).reason, 'its own route');
    r = await api(S, 'DELETE', '/api/v1/admin/tokens/ci?reason=leaked%20in%20a%20log');
    assert.equal(r.status, 200, r.text);
    assert.equal((await recordOf('token.revoke', 'ci')).reason, 'leaked in a log');
  });

  it('an access key too; a bad reason is a 400 and creates nothing; another query parameter is a 400', async () => {
    let r = await api(S, 'POST', '/api/v1/admin/keys', { name: 'deployer', scopes: ['read'], reason: 'aws cli' });
    assert.equal(r.status, 201, r.text);
    assert.equal((await recordOf('key.create', 'deployer')).reason, 'aws cli');
    r = await api(S, 'DELETE', '/api/v1/admin/keys/deployer', { reason: 'rotated' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await recordOf('key.revoke', 'deployer')).reason, 'rotated');
    r = await api(S, 'POST', '/api/v1/admin/tokens', { name: 'bad', scopes: ['read'], reason: 12 });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /reason/);
    assert.equal((await api(S, 'GET', '/api/v1/admin/tokens')).json.tokens.some((t) => t.name === 'bad'), false);
    r = await api(S, 'DELETE', '/api/v1/admin/tokens/admin?why=x');
    assert.equal(r.status, 400, r.text);
    r = await api(S, 'POST', '/api/v1/admin/tokens?reason=x', { name: 'q', scopes: ['read'] });
    assert.equal(r.status, 400, r.text);
  });
});

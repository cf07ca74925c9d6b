// unsupported.test.js — every AWS service or operation that Switchyard does not serve gets one
// answer, however a client asks for it (an X-Amz-Target, an awsQuery Action, a credential scoped
// to another service, another path), signed or not: 400 UnknownOperationException in the SSM
// error shape, naming what Switchyard serves and what was asked for. Nothing is written.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { PutParameterCommand } = require('@aws-sdk/client-ssm');
const {
  startSsmServer, ssmClient, signAny, rawSend, assertSsmError, storeSnapshot, assertHealthy, api, SSM_CT,
} = require('./helpers');

const SERVES = /^Switchyard serves the SSM Parameter Store API \(AmazonSSM\.GetParameter, GetParameters, GetParametersByPath, .*RemoveTagsFromResource\) and STS GetCallerIdentity; (.+) is not supported$/;

let S;
let ssm;
let prefix; // the message up to "; ", the same in every answer
before(async () => {
  S = await startSsmServer();
  ssm = ssmClient(S);
  await ssm.send(new PutParameterCommand({ Name: '/unsupported/kept', Value: 'v1', Type: 'String' }));
});
after(async () => {
  if (ssm) ssm.destroy();
  if (S) await S.cleanup();
});

/* Sent signed for a service Switchyard does not serve: a signature error (403, as every
 * other), whatever it asks for, and nothing written. */
async function wrongService(what, { headers = {}, body = '', service, expect = 'ssm' }) {
  const before = await storeSnapshot(S);
  const s = await signAny(S, { headers, body, service });
  const r = await rawSend(S, 'POST', '/', s.headers, s.body);
  assertSsmError(r, 403, 'IncompleteSignatureException', what);
  assert.match(r.json.message, new RegExp(`Credential should be scoped to correct service: '${expect}'`), what);
  assert.deepEqual(await storeSnapshot(S), before, `${what}: something was written`);
}

/* Sends it (signed for `service`, or unsigned), and checks the one answer: what it names. */
async function unsupported(what, { method = 'POST', path = '/', headers = {}, body = '', service, sign = true }) {
  const before = await storeSnapshot(S);
  const s = sign ? await signAny(S, { method, path, headers, body, service }) : { headers, body };
  const r = await rawSend(S, method, path, s.headers, s.body);
  assertSsmError(r, 400, 'UnknownOperationException', what);
  assert.equal(r.headers['content-type'], SSM_CT, `${what}: content type`);
  assert.ok(r.headers['x-amzn-requestid'], `${what}: no x-amzn-RequestId`);
  const m = SERVES.exec(r.json.message);
  assert.ok(m, `${what}: ${r.json.message}`);
  const head = r.json.message.slice(0, r.json.message.indexOf('; ') + 2);
  if (prefix === undefined) prefix = head;
  assert.equal(head, prefix, `${what}: another wording`);
  assert.deepEqual(await storeSnapshot(S), before, `${what}: something was written`);
  return m[1];
}

describe('an X-Amz-Target of another service', () => {
  const targets = [
    ['dynamodb', 'DynamoDB_20120810.ListTables', 'application/x-amz-json-1.0'],
    ['secretsmanager', 'secretsmanager.GetSecretValue', 'application/x-amz-json-1.1'],
    ['kms', 'TrentService.Decrypt', 'application/x-amz-json-1.1'],
    ['ecr', 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken', 'application/x-amz-json-1.1'],
    ['ssm', 'AmazonS3.PutParameter', SSM_CT],
  ];
  for (const [service, target, ct] of targets) {
    for (const sign of [true, false]) {
      it(`${target} (${sign ? `signed for ${service}` : 'unsigned'})`, async () => {
        const headers = { 'content-type': ct, 'x-amz-target': target };
        if (sign && service !== 'ssm') return wrongService(target, { headers, body: '{}', service });
        const named = await unsupported(target, { headers, body: '{}', service, sign });
        assert.equal(named, target);
      });
    }
  }
});

describe('an AmazonSSM operation that Switchyard does not have', () => {
  for (const op of ['Bogus', 'SendCommand', 'StartSession', 'GetParametersByPathX', 'getParameter', 'DescribeDocument']) {
    for (const sign of [true, false]) {
      it(`AmazonSSM.${op} (${sign ? 'signed' : 'unsigned'})`, async () => {
        const headers = { 'content-type': SSM_CT, 'x-amz-target': `AmazonSSM.${op}` };
        const named = await unsupported(op, { headers, body: '{}', service: 'ssm', sign });
        assert.equal(named, `AmazonSSM.${op}`);
      });
    }
  }
});

describe('an awsQuery Action, or a credential scoped to another service', () => {
  const form = 'application/x-www-form-urlencoded; charset=utf-8';
  it('sqs ListQueues: unsigned, not served; signed for sqs, a signature error', async () => {
    const named = await unsupported('sqs', { headers: { 'content-type': form }, body: 'Action=ListQueues&Version=2012-11-05', sign: false });
    assert.equal(named, 'sts:ListQueues');
    await wrongService('sqs', { headers: { 'content-type': form }, body: 'Action=ListQueues&Version=2012-11-05', service: 'sqs', expect: 'sts' });
  });
  it('sts AssumeRole, signed and unsigned', async () => {
    const body = 'Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&RoleSessionName=s';
    assert.equal(await unsupported('sts', { headers: { 'content-type': form }, body, service: 'sts' }), 'sts:AssumeRole');
    assert.equal(await unsupported('sts', { headers: { 'content-type': form }, body, sign: false }), 'sts:AssumeRole');
  });
  it('GetCallerIdentity signed for another service (iam) is a signature error', async () => {
    await wrongService('iam', { headers: { 'content-type': form }, body: 'Action=GetCallerIdentity&Version=2011-06-15', service: 'iam', expect: 'sts' });
  });
  it('a form with no Action', async () => {
    const named = await unsupported('no Action', { headers: { 'content-type': form }, body: 'Version=2011-06-15', sign: false });
    assert.equal(named, 'an awsQuery request without an Action');
  });
  it('an AmazonSSM operation signed for dynamodb, lambda or sts is a signature error (403)', async () => {
    for (const service of ['dynamodb', 'lambda', 'sts']) {
      const headers = { 'content-type': SSM_CT, 'x-amz-target': 'AmazonSSM.PutParameter' };
      await wrongService(service, { headers, body: JSON.stringify({ Name: '/unsupported/kept', Value: 'x', Overwrite: true }), service });
    }
  });
  it('STS GetCallerIdentity itself is served', async () => {
    const s = await signAny(S, { headers: { 'content-type': form }, body: 'Action=GetCallerIdentity&Version=2011-06-15', service: 'sts' });
    const r = await rawSend(S, 'POST', '/', s.headers, s.body);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<GetCallerIdentityResult><Arn>arn:aws:iam::\d+:user\//);
  });
});

describe('another path, signed as a REST service signs it', () => {
  const cases = [
    ['s3 ListBuckets', 'GET', '/', 's3'],
    ['s3 PutObject', 'PUT', '/a-bucket/a-key', 's3'],
    ['lambda ListFunctions', 'GET', '/2015-03-31/functions/', 'lambda'],
    ['sns, JSON', 'POST', '/sns', 'sns'],
  ];
  for (const [what, method, path, service] of cases) {
    it(what, async () => {
      const named = await unsupported(what, { method, path, body: method === 'PUT' ? 'data' : '', service });
      assert.equal(named, `${method} ${path} for the service '${service}'`);
    });
  }
  it('an X-Amz-Target on another path', async () => {
    const named = await unsupported('target elsewhere', { path: '/x', headers: { 'content-type': SSM_CT, 'x-amz-target': 'AmazonSSM.GetParameter' }, body: '{}', sign: false });
    assert.equal(named, 'AmazonSSM.GetParameter on POST /x');
  });
  it('a request with nothing of AWS is still 404 NotFound', async () => {
    const r = await rawSend(S, 'GET', '/nothing-here', {});
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.error.code, 'NotFound');
  });
  it('the native API is untouched, and the server is healthy', async () => {
    const r = await api(S, 'GET', '/api/v1/params/unsupported/kept');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.value, 'v1');
    await assertHealthy(S);
  });
});

// fidelity_cli.test.js — the same Parameter Store behaviours through the `aws ssm` CLI as a user
// types them: put/get/overwrite, SecureString decryption, exact refusals, labels, history paging,
// root names, data types, and clients of other regions (--region).
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { PutParameterCommand } = require('@aws-sdk/client-ssm');
const { startSsmServer, ssmClient, aws, awsOk, awsFails } = require('./helpers');

let S;
let ACCOUNT;
before(async () => {
  S = await startSsmServer();
  const id = await awsOk(S, ['sts', 'get-caller-identity']);
  assert.match(id.json.Account, /^\d{12}$/, id.stdout);
  ACCOUNT = id.json.Account;
});
after(async () => { if (S) await S.cleanup(); });

/* The message of "An error occurred (CODE) when calling the OP operation...: MESSAGE". */
const messageOf = (r) => {
  const m = /An error occurred \([^)]+\) when calling the \w+ operation(?: \(reached max retries: \d+\))?: (.*)/.exec(r.stderr);
  return m ? m[1].trim() : null;
};

it('put-parameter, get-parameter, overwrite; a re-create without --overwrite is ParameterAlreadyExists', async () => {
  const r = await awsOk(S, ['ssm', 'put-parameter', '--name', '/cli/fid/a', '--value', 'one', '--type', 'String', '--description', 'first']);
  assert.deepEqual([r.json.Version, r.json.Tier], [1, 'Standard']);
  const g = await awsOk(S, ['ssm', 'get-parameter', '--name', '/cli/fid/a']);
  assert.deepEqual([g.json.Parameter.Value, g.json.Parameter.Version, g.json.Parameter.DataType], ['one', 1, 'text']);
  assert.equal(g.json.Parameter.ARN, `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/cli/fid/a`);
  const e = await awsFails(S, ['ssm', 'put-parameter', '--name', '/cli/fid/a', '--value', 'two', '--type', 'String'], 'ParameterAlreadyExists');
  assert.equal(messageOf(e), 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
  const o = await awsOk(S, ['ssm', 'put-parameter', '--name', '/cli/fid/a', '--value', 'two', '--overwrite']);
  assert.equal(o.json.Version, 2);
  const d = await awsOk(S, ['ssm', 'describe-parameters', '--parameter-filters', 'Key=Name,Values=/cli/fid/a']);
  assert.equal(d.json.Parameters[0].Description, 'first', 'an overwrite of the value keeps the description');
});

it('a SecureString is not in the clear without --with-decryption; KeyId alias/aws/ssm by default', async () => {
  await awsOk(S, ['ssm', 'put-parameter', '--name', '/cli/fid/secret', '--value', 'hunter2', '--type', 'SecureString']);
  const plain = await awsOk(S, ['ssm', 'get-parameter', '--name', '/cli/fid/secret']);
  assert.notEqual(plain.json.Parameter.Value, 'hunter2');
  const dec = await awsOk(S, ['ssm', 'get-parameter', '--name', '/cli/fid/secret', '--with-decryption', '--query', 'Parameter.Value', '--output', 'text']);
  assert.equal(dec.stdout.trim(), 'hunter2');
  const d = await awsOk(S, ['ssm', 'describe-parameters', '--parameter-filters', 'Key=KeyId,Values=alias/aws/ssm']);
  assert.deepEqual(d.json.Parameters.map((p) => p.Name), ['/cli/fid/secret']);
});

it('refusals carry AWS codes and messages: not found, no type, reserved prefix, bad data type', async () => {
  let e = await awsFails(S, ['ssm', 'get-parameter', '--name', '/cli/fid/none'], 'ParameterNotFound');
  assert.equal(messageOf(e), 'Parameter /cli/fid/none not found.');
  e = await awsFails(S, ['ssm', 'put-parameter', '--name', '/cli/fid/notype', '--value', 'x'], 'ValidationException');
  assert.equal(messageOf(e), 'A parameter type is required when you create a parameter.');
  e = await awsFails(S, ['ssm', 'put-parameter', '--name', 'ssm_cli', '--value', 'x', '--type', 'String'], 'ValidationException');
  assert.equal(messageOf(e), 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).');
  e = await awsFails(S, ['ssm', 'put-parameter', '--name', '/cli/fid/dt', '--value', 'x', '--type', 'String', '--data-type', 'not_text'], 'ValidationException');
  assert.equal(messageOf(e), 'The following data type is not supported: not_text (Data type names are all lowercase.)');
  e = await awsFails(S, ['ssm', 'get-parameter', '--name', '/aws/service/global-infrastructure/regions/us-east-1'], 'ParameterNotFound');
});

it('--data-type aws:ec2:image takes an AMI id', async () => {
  await awsOk(S, ['ssm', 'put-parameter', '--name', '/cli/fid/ami', '--value', 'ami-0123456789abcdef0', '--type', 'String', '--data-type', 'aws:ec2:image']);
  const g = await awsOk(S, ['ssm', 'get-parameter', '--name', '/cli/fid/ami']);
  assert.equal(g.json.Parameter.DataType, 'aws:ec2:image');
  await awsFails(S, ['ssm', 'put-parameter', '--name', '/cli/fid/ami2', '--value', 'not-an-ami', '--type', 'String', '--data-type', 'aws:ec2:image'], 'ValidationException');
});

it('labels: several move at once; history shows them; get by name:label', async () => {
  for (let i = 1; i <= 3; i++) {
    await awsOk(S, ['ssm', 'put-parameter', '--name', '/cli/fid/lbl', '--value', `v${i}`, '--type', 'String', '--overwrite']);
  }
  await awsOk(S, ['ssm', 'label-parameter-version', '--name', '/cli/fid/lbl', '--parameter-version', '1', '--labels', 'a', 'b', 'c']);
  const r = await awsOk(S, ['ssm', 'label-parameter-version', '--name', '/cli/fid/lbl', '--parameter-version', '2', '--labels', 'b', 'c']);
  assert.deepEqual([r.json.InvalidLabels, r.json.ParameterVersion], [[], 2]);
  const h = await awsOk(S, ['ssm', 'get-parameter-history', '--name', '/cli/fid/lbl']);
  assert.deepEqual(h.json.Parameters.map((p) => [...p.Labels].sort()), [['a'], ['b', 'c'], []]);
  const g = await awsOk(S, ['ssm', 'get-parameter', '--name', '/cli/fid/lbl:c']);
  assert.deepEqual([g.json.Parameter.Value, g.json.Parameter.Selector], ['v2', ':c']);
  const bad = await awsOk(S, ['ssm', 'label-parameter-version', '--name', '/cli/fid/lbl', '--labels', 'awsabc', '9abc']);
  assert.deepEqual([...bad.json.InvalidLabels].sort(), ['9abc', 'awsabc']);
});

it('get-parameter-history pages by itself over 60 versions (--page-size 7)', async () => {
  // the versions are written through the SDK: sixty CLI processes would only be slow
  const c = ssmClient(S);
  try {
    for (let i = 1; i <= 60; i++) await c.send(new PutParameterCommand({ Name: 'cli-fid-hist', Value: `v${i}`, Type: 'String', Overwrite: true }));
  } finally {
    c.destroy();
  }
  const h = await awsOk(S, ['ssm', 'get-parameter-history', '--name', 'cli-fid-hist', '--page-size', '7']);
  assert.deepEqual(h.json.Parameters.map((p) => p.Version), Array.from({ length: 60 }, (_, i) => i + 1));
  await awsFails(S, ['ssm', 'get-parameter-history', '--name', 'cli-fid-hist', '--max-results', '51', '--no-paginate'], 'ValidationException');
});

it('a root name: put as "clifoo", read, listed once at / and deleted as "/clifoo"', async () => {
  await awsOk(S, ['ssm', 'put-parameter', '--name', 'clifoo', '--value', 'bar', '--type', 'String']);
  await awsFails(S, ['ssm', 'put-parameter', '--name', '/clifoo', '--value', 'baz', '--type', 'String'], 'ParameterAlreadyExists');
  const g = await awsOk(S, ['ssm', 'get-parameter', '--name', '/clifoo']);
  assert.equal(g.json.Parameter.Value, 'bar');
  assert.equal(g.json.Parameter.ARN, `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/clifoo`);
  const top = await awsOk(S, ['ssm', 'get-parameters-by-path', '--path', '/']);
  assert.equal(top.json.Parameters.filter((p) => p.Name.replace(/^\//, '') === 'clifoo').length, 1);
  await awsOk(S, ['ssm', 'delete-parameter', '--name', '/clifoo']);
  await awsFails(S, ['ssm', 'get-parameter', '--name', 'clifoo'], 'ParameterNotFound');
});

it('--region eu-west-3 and cn-north-1: the same store, ARNs in the client\'s region', async () => {
  const put = await aws(S, ['ssm', 'put-parameter', '--name', '/cli/fid/region', '--value', 'from-paris', '--type', 'String', '--region', 'eu-west-3']);
  assert.equal(put.code, 0, put.stderr);
  const eu = await awsOk(S, ['ssm', 'get-parameter', '--name', '/cli/fid/region', '--region', 'eu-west-3']);
  assert.equal(eu.json.Parameter.ARN, `arn:aws:ssm:eu-west-3:${ACCOUNT}:parameter/cli/fid/region`);
  const us = await awsOk(S, ['ssm', 'get-parameter', '--name', '/cli/fid/region']);
  assert.equal(us.json.Parameter.Value, 'from-paris');
  assert.equal(us.json.Parameter.ARN, `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/cli/fid/region`);
  const cn = await awsOk(S, ['ssm', 'get-parameter', '--name', '/cli/fid/region', '--region', 'cn-north-1']);
  assert.equal(cn.json.Parameter.ARN, `arn:aws-cn:ssm:cn-north-1:${ACCOUNT}:parameter/cli/fid/region`);
  const ap = await awsOk(S, ['ssm', 'get-parameters-by-path', '--path', '/cli/fid', '--region', 'ap-southeast-2']);
  assert.ok(ap.json.Parameters.some((p) => p.ARN === `arn:aws:ssm:ap-southeast-2:${ACCOUNT}:parameter/cli/fid/region`), ap.stdout);
});

it('delete-parameters reports deleted and invalid names', async () => {
  await awsOk(S, ['ssm', 'put-parameter', '--name', '/cli/fid/d1', '--value', 'x', '--type', 'String']);
  const r = await awsOk(S, ['ssm', 'delete-parameters', '--names', '/cli/fid/d1', '/cli/fid/d-missing']);
  assert.deepEqual([r.json.DeletedParameters, r.json.InvalidParameters], [['/cli/fid/d1'], ['/cli/fid/d-missing']]);
});

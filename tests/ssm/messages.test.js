// messages.test.js — SSM's exceptions with SSM's exact codes and texts (scripts match on them),
// and the SSM attributes KeyId, DataType and Policies, through @aws-sdk/client-ssm.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PutParameterCommand, GetParameterCommand, GetParametersCommand, GetParameterHistoryCommand,
  GetParametersByPathCommand, DeleteParameterCommand, DeleteParametersCommand, LabelParameterVersionCommand,
  UnlabelParameterVersionCommand, DescribeParametersCommand, AddTagsToResourceCommand,
  RemoveTagsFromResourceCommand, ListTagsForResourceCommand,
} = require('@aws-sdk/client-ssm');
const { startSsmServer, ssmClient, sdkRejects } = require('./helpers');

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
let S;
let ssm;
before(async () => {
  S = await startSsmServer({ env: { SWITCHYARD_AWS_ACCOUNT_ID: ACCOUNT } });
  ssm = ssmClient(S);
});
after(async () => {
  if (ssm) ssm.destroy();
  if (S) await S.cleanup();
});

const put = (input) => ssm.send(new PutParameterCommand(input));
const get = (Name, WithDecryption) => ssm.send(new GetParameterCommand({ Name, WithDecryption }));
const history = (input) => ssm.send(new GetParameterHistoryCommand(input));
const describeOne = async (name) =>
  (await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] })))
    .Parameters[0];

/* fn must fail with exactly code and message. */
async function refused(fn, code, message, what = message) {
  const err = await sdkRejects(fn, code, what);
  assert.equal(err.message, message, what);
  assert.equal(err.$metadata.httpStatusCode, 400, what);
  return err;
}

describe('PutParameter', () => {
  it('an empty Value, a missing Type on create, an unknown Type', async () => {
    await refused(() => put({ Name: 'm-empty', Value: '', Type: 'String' }), 'ValidationException',
      "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.");
    await refused(() => put({ Name: 'm-notype', Value: 'x' }), 'ValidationException',
      'A parameter type is required when you create a parameter.');
    await refused(() => put({ Name: 'm-badtype', Value: 'x', Type: 'str' }), 'ValidationException',
      "1 validation error detected: Value 'str' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]");
  });

  it('ParameterAlreadyExists; an overwrite without a Type keeps the type', async () => {
    await put({ Name: 'm-exists', Value: 'a,b', Type: 'StringList' });
    await refused(() => put({ Name: 'm-exists', Value: 'x', Type: 'StringList' }), 'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
    assert.equal((await put({ Name: 'm-exists', Value: 'c,d', Overwrite: true })).Version, 2);
    assert.equal((await get('m-exists')).Parameter.Type, 'StringList');
    await sdkRejects(() => put({ Name: 'm-exists', Value: 'x', Overwrite: true, Tags: [{ Key: 'k', Value: 'v' }] }),
      'ValidationException');
  });

  it('reserved and malformed names', async () => {
    const prefixed = 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).';
    for (const n of ['ssm_test', 'SSM_TEST', 'aws_test', 'AWS_TEST', '/aws', '/ssm']) {
      await refused(() => put({ Name: n, Value: 'x', Type: 'String' }), 'ValidationException', prefixed, n);
    }
    const rules = 'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of '
      + 'sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_';
    for (const n of ['/ssm_test/path/to/var', '/SSM/PATH/TO/VAR', '/a b/c', '/x/y@z']) {
      await refused(() => put({ Name: n, Value: 'x', Type: 'String' }), 'ValidationException', rules, n);
    }
    for (const n of ['/aws_test/path/to/var', '/AWS/PATH/TO/VAR']) {
      await refused(() => put({ Name: n, Value: 'x', Type: 'String' }), 'AccessDeniedException',
        `No access to reserved parameter name: ${n}.`, n);
    }
    await refused(() => put({ Name: 'a/b', Value: 'x', Type: 'String' }), 'ValidationException',
      'Parameter name must be a fully qualified name.');
    const deep = `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join('/')}`;
    const hierarchy = 'A hierarchy can have a maximum of 15 levels. For more information, see Requirements and constraints for '
      + 'parameter names in the Amazon Web Services Systems Manager User Guide.';
    await refused(() => put({ Name: deep, Value: 'x', Type: 'String' }), 'HierarchyLevelLimitExceededException', hierarchy);
    await refused(() => ssm.send(new GetParametersByPathCommand({ Path: deep })), 'HierarchyLevelLimitExceededException', hierarchy);
  });

  it('pattern mismatch, tier downgrade, an over-long description, too many tags', async () => {
    await refused(() => put({ Name: 'm-pat', Value: 'eighty', Type: 'String', AllowedPattern: '^[0-9]+$' }),
      'ParameterPatternMismatchException', 'Parameter value, cannot be validated against allowedPattern: ^[0-9]+$');
    await put({ Name: 'm-adv', Value: 'x', Type: 'String', Tier: 'Advanced' });
    await refused(() => put({ Name: 'm-adv', Value: 'y', Overwrite: true, Tier: 'Standard' }), 'ValidationException',
      "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to "
      + 'the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.');
    const long = 'd'.repeat(1025);
    await refused(() => put({ Name: 'm-desc', Value: 'x', Type: 'String', Description: long }), 'ValidationException',
      `1 validation error detected: Value '${long}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 1024`);
    const tags = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await refused(() => put({ Name: 'm-tags51', Value: 'x', Type: 'String', Tags: tags }), 'TooManyTagsError',
      'The Systems Manager resource can have a maximum of 50 tags.');
  });

  it('DataType: text, aws:ec2:image with an AMI id, aws:ssm:integration; others refused', async () => {
    await put({ Name: 'm-dt-text', Value: 'x', Type: 'String', DataType: 'text' });
    assert.equal((await get('m-dt-text')).Parameter.DataType, 'text');
    await put({ Name: 'm-dt-int', Value: '{}', Type: 'String', DataType: 'aws:ssm:integration' });
    const e = await sdkRejects(() => put({ Name: 'm-dt-bad-ami', Value: 'value 3', Type: 'String', DataType: 'aws:ec2:image' }),
      'ValidationException');
    assert.match(e.message, /^Parameter value, value 3, is not a valid EC2 image ID/);
    for (const dt of ['not_text', 'something weird', 'TEXT']) {
      await refused(() => put({ Name: 'm-dt-x', Value: 'x', Type: 'String', DataType: dt }), 'ValidationException',
        `The following data type is not supported: ${dt} (Data type names are all lowercase.)`, dt);
    }
  });

  it('DataType is kept by an overwrite and reported by every read', async () => {
    await put({ Name: 'm-dt-ami', Value: 'ami-12345678', Type: 'String', DataType: 'aws:ec2:image' });
    assert.equal((await get('m-dt-ami')).Parameter.DataType, 'aws:ec2:image');
    await put({ Name: 'm-dt-ami', Value: 'ami-0123456789abcdef0', Overwrite: true });
    assert.equal((await get('m-dt-ami')).Parameter.DataType, 'aws:ec2:image', 'an overwrite keeps the data type');
    const h = await history({ Name: 'm-dt-ami' });
    assert.deepEqual(h.Parameters.map((p) => p.DataType), ['aws:ec2:image', 'aws:ec2:image']);
    assert.equal((await describeOne('m-dt-ami')).DataType, 'aws:ec2:image');
    const all = await ssm.send(new GetParametersCommand({ Names: ['m-dt-ami'] }));
    assert.equal(all.Parameters[0].DataType, 'aws:ec2:image');
  });

  it('KeyId: alias/aws/ssm by default; an AWS-managed alias other than alias/aws/ssm is InvalidKeyId', async () => {
    await put({ Name: 'm-key-default', Value: 's', Type: 'SecureString' });
    assert.equal((await describeOne('m-key-default')).KeyId, 'alias/aws/ssm');
    assert.equal((await history({ Name: 'm-key-default' })).Parameters[0].KeyId, 'alias/aws/ssm');
    await put({ Name: 'm-key', Value: 's', Type: 'SecureString', KeyId: 'alias/custom' });
    await put({ Name: 'm-key-string', Value: 's', Type: 'String', KeyId: 'someKeyId' });
    await refused(() => put({ Name: 'm-key-bad', Value: 's', Type: 'SecureString', KeyId: 'alias/aws/s3' }), 'InvalidKeyId',
      `Alias arn:aws:kms:${REGION}:${ACCOUNT}:alias/aws/s3 is not found.`);
    await sdkRejects(() => put({ Name: 'm-key-bad', Value: 's', Type: 'SecureString', KeyId: 'tab\there' }), 'ValidationException');
    // a key of the store's own may be any printable name: it seals apart, opens again, and is found by its id
    await put({ Name: 'm-key-spaced', Value: 'spaced secret', Type: 'SecureString', KeyId: 'a key' });
    const got = await ssm.send(new GetParametersCommand({ Names: ['m-key-spaced'], WithDecryption: true }));
    assert.equal(got.Parameters[0].Value, 'spaced secret');
    const found = await ssm.send(new DescribeParametersCommand({ Filters: [{ Key: 'KeyId', Values: ['a key'] }] }));
    assert.deepEqual(found.Parameters.map((p) => [p.Name, p.KeyId]), [['m-key-spaced', 'a key']]);
  });

  it('KeyId is kept and reported, on a SecureString and on another type', async () => {
    assert.equal((await describeOne('m-key')).KeyId, 'alias/custom');
    assert.equal((await history({ Name: 'm-key' })).Parameters[0].KeyId, 'alias/custom');
    assert.equal((await describeOne('m-key-string')).KeyId, 'someKeyId');
  });

  it('Policies: unknown types and bad attributes refused; text that is not JSON is none', async () => {
    await refused(() => put({ Name: 'm-pol3', Value: 'x', Type: 'String', Policies: '["Retire"]' }), 'InvalidPolicyTypeException',
      "The policy type isn't supported. Parameter Store supports the following policy types: Expiration, ExpirationNotification, and NoChangeNotification.");
    const bad = await sdkRejects(() => put({ Name: 'm-pol3', Value: 'x', Type: 'String',
      Policies: JSON.stringify([{ Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: 'tomorrow' } }]) }),
    'InvalidPolicyAttributeException');
    assert.match(bad.message, /Timestamp/);
    const unit = await sdkRejects(() => put({ Name: 'm-pol3', Value: 'x', Type: 'String',
      Policies: JSON.stringify([{ Type: 'NoChangeNotification', Version: '1.0', Attributes: { After: '2', Unit: 'Weeks' } }]) }),
    'InvalidPolicyAttributeException');
    assert.match(unit.message, /Unit/);
    await sdkRejects(() => put({ Name: 'm-pol3', Value: 'x', Type: 'String', Policies: JSON.stringify(Array(11).fill('Expiration')) }),
      'PoliciesLimitExceededException');

    await put({ Name: 'm-pol4', Value: 'x', Type: 'String', Policies: 'invalid json' });
    assert.equal((await describeOne('m-pol4')).Policies, undefined);
    assert.deepEqual((await history({ Name: 'm-pol4' })).Parameters[0].Policies, []);
  });

  it('Policies: type names and policy objects are kept and listed', async () => {
    await put({ Name: 'm-pol', Value: 'x', Type: 'String', Tier: 'Advanced', Policies: '["Expiration"]' });
    const obj = { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: '2030-05-13T00:00:00.000Z' } };
    const note = { Type: 'ExpirationNotification', Version: '1.0', Attributes: { Before: '15', Unit: 'Days' } };
    await put({ Name: 'm-pol2', Value: 'x', Type: 'String', Tier: 'Advanced', Policies: JSON.stringify([obj, note]) });
    assert.deepEqual((await describeOne('m-pol')).Policies,
      [{ PolicyStatus: 'Finished', PolicyText: 'Expiration', PolicyType: 'Expiration' }]);
    await put({ Name: 'm-pol', Value: 'y', Overwrite: true });
    assert.equal((await describeOne('m-pol')).Policies.length, 1, 'an overwrite keeps the policies');
    const pols = (await describeOne('m-pol2')).Policies;
    assert.deepEqual(pols.map((p) => [p.PolicyType, p.PolicyStatus]), [['Expiration', 'Pending'], ['ExpirationNotification', 'Pending']]);
    assert.deepEqual(JSON.parse(pols[0].PolicyText), obj);
    assert.equal((await history({ Name: 'm-pol2' })).Parameters[0].Policies.length, 2);
  });
});

describe('GetParameter and GetParameters', () => {
  before(async () => {
    await put({ Name: 'test-1', Value: 'value', Type: 'String' });
    await put({ Name: 'test-2', Value: 'value', Type: 'String' });
    await ssm.send(new LabelParameterVersionCommand({ Name: 'test-2', ParameterVersion: 1, Labels: ['test-label'] }));
  });

  it('not found, version not found, two selectors, a missing label', async () => {
    await refused(() => get('test_noexist'), 'ParameterNotFound', 'Parameter test_noexist not found.');
    await refused(() => get('test-2:2:3'), 'ParameterNotFound', 'Parameter test-2:2:3 not found.');
    await refused(() => get('test-2:2'), 'ParameterVersionNotFound',
      'Systems Manager could not find version 2 of test-2. Verify the version and try again.');
    await refused(() => get('test-3:2'), 'ParameterNotFound', 'Parameter test-3:2 not found.');
    await refused(() => get('test-2:nolabel'), 'ParameterNotFound', 'Parameter test-2:nolabel not found.');
    assert.equal((await get('test-2:test-label')).Parameter.Version, 1);
  });

  it('an ARN of any partition, region and account names the parameter', async () => {
    for (const arn of [`arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/test-1`, 'arn:aws-cn:ssm:cn-north-1:111122223333:parameter/test-1']) {
      const p = (await get(arn)).Parameter;
      assert.equal(p.Name, 'test-1', arn);
      assert.equal(p.DataType, 'text');
    }
  });

  it('more than ten names; a name twice is answered once', async () => {
    const names = 'abcdefghijk'.split('');
    await refused(() => ssm.send(new GetParametersCommand({ Names: names })), 'ValidationException',
      `1 validation error detected: Value '[${names.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10.`);
    const r = await ssm.send(new GetParametersCommand({ Names: ['test-1', 'test-1', 'test-2:9', 'test-2:9', 'test-2:x:y'] }));
    assert.deepEqual(r.Parameters.map((p) => p.Name), ['test-1']);
    assert.deepEqual(r.InvalidParameters, ['test-2:9', 'test-2:x:y']);
  });
});

describe('MaxResults bounds and paging', () => {
  before(async () => {
    await put({ Name: '/page/p', Value: 'v1', Type: 'String' });
    for (let i = 2; i <= 7; i++) await put({ Name: '/page/p', Value: `v${i}`, Overwrite: true });
    for (let i = 0; i < 7; i++) await put({ Name: `/page/dir/n${i}`, Value: `${i}`, Type: 'String' });
  });

  it('the texts of the bounds', async () => {
    await refused(() => history({ Name: '/page/p', MaxResults: 51 }), 'ValidationException',
      "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50.");
    await refused(() => ssm.send(new GetParametersByPathCommand({ Path: '/page', MaxResults: 23 })), 'ValidationException',
      "1 validation error detected: Value 23 at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10");
    await refused(() => ssm.send(new DescribeParametersCommand({ MaxResults: 51 })), 'ValidationException',
      "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50.");
  });

  it('history and by-path page with a different MaxResults each time', async () => {
    const seen = [];
    let token;
    for (const max of [2, 3, 1, 5]) {
      const r = await history({ Name: '/page/p', MaxResults: max, NextToken: token });
      seen.push(...r.Parameters.map((p) => p.Version));
      token = r.NextToken;
      if (!token) break;
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
    const names = [];
    token = undefined;
    for (const max of [3, 1, 2, 10]) {
      const r = await ssm.send(new GetParametersByPathCommand({ Path: '/page/dir', MaxResults: max, NextToken: token }));
      names.push(...r.Parameters.map((p) => p.Name));
      token = r.NextToken;
      if (!token) break;
    }
    assert.deepEqual(names, Array.from({ length: 7 }, (_, i) => `/page/dir/n${i}`));
  });
});

describe('labels', () => {
  before(async () => {
    await put({ Name: 'test', Value: 'v1', Type: 'String' });
    await put({ Name: 'test', Value: 'v2', Overwrite: true });
  });

  it('a label over 100 characters refuses the request; bad ones are InvalidLabels', async () => {
    const long = 'a'.repeat(101);
    await refused(() => ssm.send(new LabelParameterVersionCommand({ Name: 'test', Labels: ['ok', long] })), 'ValidationException',
      `1 validation error detected: Value '[${long}]' at 'labels' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 100, Member must have length greater than or equal to 1]`);
    const r = await ssm.send(new LabelParameterVersionCommand({ Name: 'test', Labels: ['awsx', 'ssmy', '9z', 'a/b', 'fine'] }));
    assert.deepEqual(r.InvalidLabels, ['awsx', 'ssmy', '9z', 'a/b']);
    assert.equal(r.ParameterVersion, 2);
  });

  it('the limit, a missing parameter, a missing version', async () => {
    const ten = Array.from({ length: 10 }, (_, i) => `l${i}`);
    await ssm.send(new LabelParameterVersionCommand({ Name: 'test', ParameterVersion: 1, Labels: ten }));
    await refused(() => ssm.send(new LabelParameterVersionCommand({ Name: 'test', ParameterVersion: 1, Labels: ['l10'] })),
      'ParameterVersionLabelLimitExceeded',
      'An error occurred (ParameterVersionLabelLimitExceeded) when calling the LabelParameterVersion operation: A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.');
    await refused(() => ssm.send(new LabelParameterVersionCommand({ Name: 'nothere', Labels: ['x'] })), 'ParameterNotFound',
      'Parameter nothere not found.');
    await refused(() => ssm.send(new LabelParameterVersionCommand({ Name: 'test', ParameterVersion: 5, Labels: ['x'] })),
      'ParameterVersionNotFound', 'Systems Manager could not find version 5 of test. Verify the version and try again.');
    await refused(() => ssm.send(new UnlabelParameterVersionCommand({ Name: 'test', ParameterVersion: 5, Labels: ['x'] })),
      'ParameterVersionNotFound', 'Systems Manager could not find version 5 of test. Verify the version and try again.');
    await sdkRejects(() => ssm.send(new UnlabelParameterVersionCommand({ Name: 'nothere', ParameterVersion: 1, Labels: ['x'] })),
      'ParameterNotFound');
  });

  it('the oldest version carries a label: ParameterMaxVersionLimitExceeded', async () => {
    await put({ Name: 'm-max', Value: 'v1', Type: 'String' });
    await ssm.send(new LabelParameterVersionCommand({ Name: 'm-max', ParameterVersion: 1, Labels: ['keep'] }));
    for (let i = 2; i <= 100; i++) await put({ Name: 'm-max', Value: `v${i}`, Overwrite: true });
    await refused(() => put({ Name: 'm-max', Value: 'v101', Overwrite: true }), 'ParameterMaxVersionLimitExceeded',
      'You attempted to create a new version of m-max by calling the PutParameter API with the overwrite flag. Version 1, the oldest version, can\'t be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.');
  });
});

describe('tags and deletes', () => {
  it('a missing resource, an unknown resource type, a bad tag', async () => {
    const tags = [{ Key: 'k', Value: 'v' }];
    await refused(() => ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: 'nothere' })),
      'InvalidResourceId', 'Invalid Resource Id');
    await refused(() => ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: 'nothere', Tags: tags })),
      'InvalidResourceId', 'Invalid Resource Id');
    await refused(() => ssm.send(new RemoveTagsFromResourceCommand({ ResourceType: 'Parameter', ResourceId: 'nothere', TagKeys: ['k'] })),
      'InvalidResourceId', 'Invalid Resource Id');
    await refused(() => ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Spaceship', ResourceId: 'x' })),
      'InvalidResourceType', 'Invalid Resource Type');
    await put({ Name: 'm-tags', Value: 'x', Type: 'String' });
    await refused(() => ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: 'm-tags', Tags: [{ Key: 'a*b', Value: 'v' }] })),
      'ValidationException',
      "1 validation error detected: Value 'a*b' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$");
  });

  it('DeleteParameter of a missing name; DeleteParameters names as given', async () => {
    await refused(() => ssm.send(new DeleteParameterCommand({ Name: 'gone' })), 'ParameterNotFound', 'Parameter gone not found.');
    await put({ Name: 'm-del', Value: 'x', Type: 'String' });
    const eleven = Array.from({ length: 11 }, (_, i) => `n${i}`);
    await refused(() => ssm.send(new DeleteParametersCommand({ Names: eleven })), 'ValidationException',
      `1 validation error detected: Value '[${eleven.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10.`);
    const r = await ssm.send(new DeleteParametersCommand({ Names: ['m-del', 'gone', 'bad name'] }));
    assert.deepEqual(r.DeletedParameters, ['m-del']);
    assert.deepEqual([...r.InvalidParameters].sort(), ['bad name', 'gone']);
  });
});

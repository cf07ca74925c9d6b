// fidelity_params.test.js — Parameter Store as AWS answers it, through @aws-sdk/client-ssm: put,
// overwrite and the metadata an overwrite keeps; DataType, KeyId and Policies; the exact codes and
// messages of refusals; history paging and the 100-version limit; GetParameters selectors;
// labels and their limits; tags; DescribeParameters and GetParametersByPath filters; the public
// /aws/service namespace.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PutParameterCommand, GetParameterCommand, GetParametersCommand, GetParameterHistoryCommand,
  GetParametersByPathCommand, DeleteParameterCommand, DeleteParametersCommand,
  LabelParameterVersionCommand, UnlabelParameterVersionCommand, DescribeParametersCommand,
  AddTagsToResourceCommand, RemoveTagsFromResourceCommand, ListTagsForResourceCommand,
  paginateDescribeParameters,
} = require('@aws-sdk/client-ssm');
const { startSsmServer, ssmClient, sdkRejects, storeSnapshot } = require('./helpers');

let S;
let ssm;
let ACCOUNT;
before(async () => {
  S = await startSsmServer();
  ssm = ssmClient(S);
  await ssm.send(new PutParameterCommand({ Name: '/acct/probe', Value: 'x', Type: 'String' }));
  const arn = (await ssm.send(new GetParameterCommand({ Name: '/acct/probe' }))).Parameter.ARN;
  const m = /^arn:aws:ssm:us-east-1:(\d{12}):parameter\/acct\/probe$/.exec(arn);
  assert.ok(m, `ARN ${arn}`);
  ACCOUNT = m[1];
});
after(async () => {
  if (ssm) ssm.destroy();
  if (S) await S.cleanup();
});

const put = (input) => ssm.send(new PutParameterCommand(input));
const get = (Name, WithDecryption) => ssm.send(new GetParameterCommand({ Name, WithDecryption }));
const getMany = (Names, WithDecryption) => ssm.send(new GetParametersCommand({ Names, WithDecryption }));
const history = (Name, extra = {}) => ssm.send(new GetParameterHistoryCommand({ Name, ...extra }));
const label = (Name, Labels, ParameterVersion) => ssm.send(new LabelParameterVersionCommand({ Name, Labels, ParameterVersion }));
const describeOne = async (name) => {
  const d = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] }));
  assert.equal(d.Parameters.length, 1, `DescribeParameters Name=${name}: ${JSON.stringify(d.Parameters)}`);
  return d.Parameters[0];
};
const arnOf = (name) => `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/${name.replace(/^\//, '')}`;

/* Runs fn, which must fail with `code` (one name or a list) and HTTP 400, leaving the store as it
 * was; `message`, when given, is the exact message. Returns the error. */
async function refused(fn, code, what, message) {
  const before0 = await storeSnapshot(S);
  let err = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: expected ${code}, but the call succeeded`);
  const codes = Array.isArray(code) ? code : [code];
  assert.ok(codes.includes(err.name), `${what}: expected ${codes.join('|')}, got ${err.name}: ${err.message}`);
  assert.equal(err.$metadata.httpStatusCode, 400, `${what}: HTTP ${err.$metadata.httpStatusCode}`);
  if (message !== undefined) assert.equal(err.message, message, what);
  assert.deepEqual(await storeSnapshot(S), before0, `${what}: the store changed`);
  return err;
}

const ALREADY = 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.';
const notFound = (n) => `Parameter ${n} not found.`;
const noVersion = (v, n) => `Systems Manager could not find version ${v} of ${n}. Verify the version and try again.`;
const TAGS_OVERWRITE = "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove "
  + 'overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.';
const EXPIRE = JSON.stringify([{ Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: '2035-01-01T00:00:00.000Z' } }]);

describe('put, get and overwrite', () => {
  for (const name of ['fp-test', 'fp-my-cool-parameter', '/fp/slashed/name']) {
    it(`${name}: create, refused re-create, Tags with Overwrite refused, overwrite with a DataType`, async () => {
      const r = await put({ Name: name, Description: 'A test parameter', Value: 'value', Type: 'String' });
      assert.deepEqual([r.Version, r.Tier], [1, 'Standard']);
      const p1 = (await getMany([name])).Parameters;
      assert.equal(p1.length, 1);
      assert.deepEqual([p1[0].Name, p1[0].Value, p1[0].Type, p1[0].Version, p1[0].DataType], [name, 'value', 'String', 1, 'text']);
      assert.ok(p1[0].LastModifiedDate instanceof Date);
      assert.equal(p1[0].ARN, arnOf(name));

      await refused(() => put({ Name: name, Description: 'desc 2', Value: 'value 2', Type: 'String' }), 'ParameterAlreadyExists', 're-create', ALREADY);
      const same = (await getMany([name])).Parameters[0];
      assert.deepEqual(same, p1[0], 'a refused re-create changed the parameter');

      await refused(() => put({ Name: name, Description: 'desc 3', Value: 'value 3', Type: 'String', Overwrite: true, Tags: [{ Key: 'foo', Value: 'bar' }], DataType: 'aws:ec2:image' }),
        'ValidationException', 'Tags with Overwrite', TAGS_OVERWRITE);

      const ami = 'ami-0123456789abcdef0';
      const r2 = await put({ Name: name, Description: 'desc 3', Value: ami, Type: 'String', Overwrite: true, DataType: 'aws:ec2:image' });
      assert.equal(r2.Version, 2);
      const p2 = (await getMany([name])).Parameters[0];
      assert.deepEqual([p2.Value, p2.Type, p2.Version, p2.DataType, p2.ARN], [ami, 'String', 2, 'aws:ec2:image', arnOf(name)]);
      assert.ok(p2.LastModifiedDate >= p1[0].LastModifiedDate);
    });
  }

  it('an overwrite without Type keeps the Type; without Overwrite it is ParameterAlreadyExists', async () => {
    await put({ Name: 'fp_update', Description: 'Description', Value: 'Value', Type: 'StringList' });
    await put({ Name: 'fp_update', Value: 'UpdatedValue', Overwrite: true });
    const p = (await get('fp_update')).Parameter;
    assert.deepEqual([p.Type, p.Value, p.Version], ['StringList', 'UpdatedValue', 2]);
    await refused(() => put({ Name: 'fp_update', Value: 'Again' }), 'ParameterAlreadyExists', 'no Overwrite', ALREADY);
  });

  for (const type of ['String', 'SecureString']) {
    it(`${type}: an overwrite of only the value keeps Description, AllowedPattern, KeyId, Tier, Policies and tags`, async () => {
      const name = `/fp/keep/${type}`;
      // a KeyId is kept whatever the type: only a SecureString is sealed with it
      const keyId = type === 'SecureString' ? 'alias/fp-custom' : 'someKeyId';
      const r = await put({
        Name: name, Description: 'A test parameter', Value: 'value', Type: type, Tags: [{ Key: 'TestKey', Value: 'TestValue' }],
        AllowedPattern: '.*', KeyId: keyId, Tier: 'Advanced', Policies: EXPIRE,
      });
      assert.deepEqual([r.Version, r.Tier], [1, 'Advanced']);
      const d1 = await describeOne(name);
      assert.deepEqual([d1.Description, d1.AllowedPattern, d1.Tier, d1.DataType], ['A test parameter', '.*', 'Advanced', 'text']);
      assert.equal(d1.KeyId, keyId);
      assert.equal(d1.Policies.length, 1, JSON.stringify(d1.Policies));
      assert.equal(d1.Policies[0].PolicyType, 'Expiration');
      assert.deepEqual(JSON.parse(d1.Policies[0].PolicyText), JSON.parse(EXPIRE)[0]);
      assert.equal(typeof d1.Policies[0].PolicyStatus, 'string');

      const r2 = await put({ Name: name, Value: 'value 2', Overwrite: true });
      assert.deepEqual([r2.Version, r2.Tier], [2, 'Advanced']);
      const p = (await get(name, true)).Parameter;
      assert.deepEqual([p.Value, p.Type, p.Version, p.DataType, p.ARN], ['value 2', type, 2, 'text', arnOf(name)]);
      const t = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }));
      assert.deepEqual(t.TagList, [{ Key: 'TestKey', Value: 'TestValue' }]);
      const d2 = await describeOne(name);
      assert.deepEqual([d2.Description, d2.AllowedPattern, d2.KeyId, d2.Tier], [d1.Description, d1.AllowedPattern, d1.KeyId, 'Advanced']);
      assert.deepEqual(d2.Policies.map((x) => [x.PolicyType, JSON.parse(x.PolicyText)]), d1.Policies.map((x) => [x.PolicyType, JSON.parse(x.PolicyText)]));
      // the history carries them on both versions
      const h = (await history(name)).Parameters;
      assert.deepEqual(h.map((x) => [x.Version, x.Description, x.AllowedPattern, x.KeyId, x.Tier]),
        [[1, 'A test parameter', '.*', keyId, 'Advanced'], [2, 'A test parameter', '.*', keyId, 'Advanced']]);
      for (const x of h) assert.deepEqual(x.Policies.map((y) => y.PolicyType), ['Expiration'], `history v${x.Version}`);
    });
  }

  it('Policies of an unknown type are refused; text that is not JSON holds no policy', async () => {
    for (const Policies of ['["Retire"]', '[{"Type":"Explode","Version":"1.0","Attributes":{}}]']) {
      await refused(() => put({ Name: '/fp/badpolicy', Value: 'v', Type: 'String', Tier: 'Advanced', Policies }),
        'InvalidPolicyTypeException', `Policies ${Policies}`);
    }
    await sdkRejects(() => get('/fp/badpolicy'), 'ParameterNotFound');
    await put({ Name: '/fp/nopolicy', Description: 'A test parameter', Value: 'value', Type: 'String', Policies: 'invalid json' });
    const d = await describeOne('/fp/nopolicy');
    assert.equal(d.Description, 'A test parameter');
    assert.equal(d.Policies, undefined, `Policies ${JSON.stringify(d.Policies)}`);
  });

  it('Policies given as type names are kept and listed', async () => {
    await put({ Name: '/fp/typepolicy', Value: 'value', Type: 'String', Tier: 'Advanced', Policies: '["Expiration"]' });
    const d = await describeOne('/fp/typepolicy');
    assert.deepEqual(d.Policies.map((x) => [x.PolicyType, x.PolicyText]), [['Expiration', 'Expiration']]);
    await put({ Name: '/fp/typepolicy', Value: 'value 2', Overwrite: true });
    assert.deepEqual((await describeOne('/fp/typepolicy')).Policies.map((x) => x.PolicyType), ['Expiration']);
  });

  it('an empty value: ValidationException with AWS message', async () => {
    await refused(() => put({ Name: 'fp_test_name', Value: '', Type: 'String' }), 'ValidationException', 'empty value',
      "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.");
  });

  it('an unknown Type: ValidationException naming the enum', async () => {
    for (const bad of ['str', 'string', 'Number']) {
      await refused(() => put({ Name: 'fp_test_name', Value: 'some_value', Type: bad, DataType: 'text' }), 'ValidationException', `Type ${bad}`,
        `1 validation error detected: Value '${bad}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`);
    }
  });

  it('no Type on create: "A parameter type is required when you create a parameter."', async () => {
    await refused(() => put({ Name: 'fp_test_name', Value: 'some_value' }), 'ValidationException', 'no Type',
      'A parameter type is required when you create a parameter.');
    await ssm.send(new DescribeParametersCommand({}));
  });
});

describe('DataType', () => {
  it('text is the default; aws:ec2:image takes an AMI id and refuses anything else', async () => {
    await put({ Name: '/fp/dt/plain', Value: 'v', Type: 'String' });
    assert.equal((await get('/fp/dt/plain')).Parameter.DataType, 'text');
    await put({ Name: '/fp/dt/text', Value: 'v', Type: 'String', DataType: 'text' });
    assert.equal((await describeOne('/fp/dt/text')).DataType, 'text');
    const r = await put({ Name: '/fp/dt/ami', Value: 'ami-0123456789abcdef0', Type: 'String', DataType: 'aws:ec2:image' });
    assert.equal(r.Version, 1);
    assert.equal((await get('/fp/dt/ami')).Parameter.DataType, 'aws:ec2:image');
    assert.equal((await describeOne('/fp/dt/ami')).DataType, 'aws:ec2:image');
    assert.equal((await history('/fp/dt/ami')).Parameters[0].DataType, 'aws:ec2:image');
    for (const bad of ['not-an-ami', 'ami-', 'ami-XYZ', 'AMI-0123456789abcdef0', 'ami-0123456789abcdef0 ']) {
      await refused(() => put({ Name: '/fp/dt/badami', Value: bad, Type: 'String', DataType: 'aws:ec2:image' }), 'ValidationException', `AMI value ${JSON.stringify(bad)}`);
    }
    // the data type stays on an overwrite that does not name it, and so does its check
    await refused(() => put({ Name: '/fp/dt/ami', Value: 'not-an-ami', Overwrite: true }), 'ValidationException', 'overwrite an image with a non-AMI');
    assert.equal((await put({ Name: '/fp/dt/ami', Value: 'ami-0fedcba9876543210', Overwrite: true })).Version, 2);
    assert.equal((await get('/fp/dt/ami')).Parameter.DataType, 'aws:ec2:image');
  });

  it('aws:ssm:integration is accepted and reported', async () => {
    const name = '/d9d01087-4a3f-49e0-b0b4-d568d7826553/ssm/integrations/webhook/fp-hook';
    await put({ Name: name, Value: '{"description":"hook","url":"https://example.com/hook"}', Type: 'SecureString', DataType: 'aws:ssm:integration' });
    assert.equal((await get(name, true)).Parameter.DataType, 'aws:ssm:integration');
    assert.equal((await describeOne(name)).DataType, 'aws:ssm:integration');
  });

  for (const bad of ['not_text', 'not_ec2', 'something weird', 'Text', 'AWS:EC2:IMAGE', 'aws:ec2:images']) {
    it(`DataType ${JSON.stringify(bad)} is not supported`, async () => {
      await refused(() => put({ Name: 'fp_test_name', Value: 'some_value', Type: 'String', DataType: bad }), 'ValidationException', `DataType ${bad}`,
        `The following data type is not supported: ${bad} (Data type names are all lowercase.)`);
    });
  }
});

describe('SecureString and KeyId', () => {
  before(async () => {
    await put({ Name: 'fp-secure-param', Value: 'secure-value', Type: 'SecureString' });
    await put({ Name: 'fp-custom-secure-param', Value: 'custom-secure-value', Type: 'SecureString', KeyId: 'alias/fp-custom' });
    await put({ Name: 'fp-plain-param', Value: 'value', Type: 'String' });
  });

  it('without decryption the value is not the plaintext; with it, it is (GetParameter, GetParameters, history)', async () => {
    for (const [name, plain] of [['fp-secure-param', 'secure-value'], ['fp-custom-secure-param', 'custom-secure-value']]) {
      assert.notEqual((await get(name, false)).Parameter.Value, plain);
      assert.equal((await get(name, true)).Parameter.Value, plain);
      assert.notEqual((await getMany([name], false)).Parameters[0].Value, plain);
      assert.equal((await getMany([name], true)).Parameters[0].Value, plain);
      assert.notEqual((await history(name, { WithDecryption: false })).Parameters[0].Value, plain);
      assert.equal((await history(name, { WithDecryption: true })).Parameters[0].Value, plain);
    }
  });

  it('DescribeParameters and history report KeyId: alias/aws/ssm by default, the custom alias kept', async () => {
    assert.equal((await describeOne('fp-secure-param')).KeyId, 'alias/aws/ssm');
    assert.equal((await describeOne('fp-custom-secure-param')).KeyId, 'alias/fp-custom');
    assert.equal((await describeOne('fp-plain-param')).KeyId, undefined);
    assert.equal((await history('fp-secure-param')).Parameters[0].KeyId, 'alias/aws/ssm');
    assert.equal((await history('fp-custom-secure-param')).Parameters[0].KeyId, 'alias/fp-custom');
    // an overwrite keeps the key
    await put({ Name: 'fp-custom-secure-param', Value: 'v2', Overwrite: true });
    assert.deepEqual((await history('fp-custom-secure-param')).Parameters.map((h) => h.KeyId), ['alias/fp-custom', 'alias/fp-custom']);
  });

  it('the KeyId filter finds SecureStrings only, by Equals and BeginsWith, in ParameterFilters and Filters', async () => {
    const names = async (input) => {
      const out = [];
      for await (const page of paginateDescribeParameters({ client: ssm }, input)) out.push(...page.Parameters);
      return out.map((p) => p.Name).filter((n) => n.startsWith('fp-')).sort();
    };
    assert.deepEqual(await names({ ParameterFilters: [{ Key: 'KeyId', Values: ['alias/aws/ssm'] }] }), ['fp-secure-param']);
    assert.deepEqual(await names({ ParameterFilters: [{ Key: 'KeyId', Values: ['alias/fp-custom'] }] }), ['fp-custom-secure-param']);
    assert.deepEqual(await names({ ParameterFilters: [{ Key: 'KeyId', Option: 'BeginsWith', Values: ['alias'] }] }), ['fp-custom-secure-param', 'fp-secure-param']);
    assert.deepEqual(await names({ Filters: [{ Key: 'KeyId', Values: ['alias/fp-custom'] }] }), ['fp-custom-secure-param']);
    assert.deepEqual(await names({ Filters: [{ Key: 'Type', Values: ['SecureString'] }] }), ['fp-custom-secure-param', 'fp-secure-param']);
    assert.deepEqual(await names({ Filters: [{ Key: 'Name', Values: ['fp-plain-param'] }] }), ['fp-plain-param']);
  });

  it('a KeyId on a String is kept and reported, and the String stays in the clear', async () => {
    await put({ Name: 'fp-plain-key', Value: 'v', Type: 'String', KeyId: 'someKeyId' });
    assert.equal((await describeOne('fp-plain-key')).KeyId, 'someKeyId');
    assert.equal((await get('fp-plain-key', false)).Parameter.Value, 'v');
  });
});

describe('names', () => {
  const PREFIX = 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).';
  const SSM_PATH = 'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of '
    + 'sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_';

  for (const n of ['ssm_test', 'SSM_TEST', 'aws_test', 'AWS_TEST', 'Ssm-mixed', 'awsflat', '/aws', '/ssm', '/AWSx']) {
    it(`${n}: ${PREFIX}`, async () => {
      await refused(() => put({ Name: n, Value: 'value', Type: 'String' }), 'ValidationException', n, PREFIX);
    });
  }
  for (const n of ['/ssm_test/path/to/var', '/SSM/PATH/TO/VAR', '/ssm/x']) {
    it(`${n}: the "ssm" path message`, async () => {
      await refused(() => put({ Name: n, Value: 'value', Type: 'String' }), 'ValidationException', n, SSM_PATH);
    });
  }
  for (const n of ['/aws_test/path/to/var', '/AWS/PATH/TO/VAR', '/aws/service/fp/mine', '/aws/reference/x']) {
    it(`${n}: AccessDeniedException, No access to reserved parameter name`, async () => {
      await refused(() => put({ Name: n, Value: 'value', Type: 'String' }), 'AccessDeniedException', n, `No access to reserved parameter name: ${n}.`);
    });
  }

  it('not-found messages name the parameter as asked', async () => {
    await put({ Name: 'fp-v-1', Value: 'value', Type: 'String' });
    await put({ Name: 'fp-v-2', Value: 'value', Type: 'String' });
    await label('fp-v-2', ['test-label'], 1);
    for (const [n, v] of [['fp-v-1:1', 1], ['fp-v-2:1', 1], ['fp-v-2:test-label', 1]]) {
      const p = (await get(n, false)).Parameter;
      assert.deepEqual([p.Name, p.Value, p.Type, p.DataType, p.Version, p.ARN], [n.split(':')[0], 'value', 'String', 'text', v, arnOf(n.split(':')[0])]);
    }
    let e = await sdkRejects(() => get('fp-v-2:2:3'), 'ParameterNotFound');
    assert.equal(e.message, notFound('fp-v-2:2:3'));
    e = await sdkRejects(() => get('fp-v-2:2'), 'ParameterVersionNotFound');
    assert.equal(e.message, noVersion(2, 'fp-v-2'));
    e = await sdkRejects(() => get('fp-v-3:2'), 'ParameterNotFound');
    assert.equal(e.message, notFound('fp-v-3:2'));
    e = await sdkRejects(() => get('fp_noexist'), 'ParameterNotFound');
    assert.equal(e.message, notFound('fp_noexist'));
    await refused(() => ssm.send(new DeleteParameterCommand({ Name: 'fp_noexist' })), 'ParameterNotFound', 'delete', notFound('fp_noexist'));
    e = await sdkRejects(() => history('fp_noexist'), 'ParameterNotFound');
    assert.equal(e.message, notFound('fp_noexist'));
    await refused(() => label('fp_noexist', ['l']), 'ParameterNotFound', 'label', notFound('fp_noexist'));
  });

  it('reads under /aws/service are ParameterNotFound; nothing is served from the public namespace', async () => {
    for (const n of ['/aws/service/global-infrastructure/regions/us-east-1', '/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2', '/aws/service/fp/none']) {
      const e = await sdkRejects(() => get(n), 'ParameterNotFound', n);
      assert.equal(e.message, notFound(n));
      const g = await getMany([n]);
      assert.deepEqual([g.Parameters, g.InvalidParameters], [[], [n]]);
    }
  });
});

describe('delete', () => {
  it('delete-parameter and delete-parameters', async () => {
    await put({ Name: 'fp-del', Description: 'A test parameter', Value: 'value', Type: 'String' });
    assert.equal((await getMany(['fp-del'])).Parameters.length, 1);
    await ssm.send(new DeleteParameterCommand({ Name: 'fp-del' }));
    assert.equal((await getMany(['fp-del'])).Parameters.length, 0);
    await put({ Name: 'fp-del', Value: 'value', Type: 'String' });
    const r = await ssm.send(new DeleteParametersCommand({ Names: ['fp-del', 'fp-invalid'] }));
    assert.deepEqual([r.DeletedParameters, r.InvalidParameters], [['fp-del'], ['fp-invalid']]);
    assert.equal((await getMany(['fp-del'])).Parameters.length, 0);
  });
});

describe('GetParameters', () => {
  before(async () => {
    for (let i = 1; i <= 5; i++) await put({ Name: 'fp-gp', Value: `value-${i}`, Type: 'String', Overwrite: true });
    await label('fp-gp', ['test-label'], 1);
  });

  it('a version that does not exist is in InvalidParameters; one that does comes back', async () => {
    const r = await getMany(['fp-gp:6', 'fp-gp:4']);
    assert.deepEqual(r.InvalidParameters, ['fp-gp:6']);
    assert.equal(r.Parameters.length, 1);
    assert.deepEqual([r.Parameters[0].Name, r.Parameters[0].Value, r.Parameters[0].Type, r.Parameters[0].Selector], ['fp-gp', 'value-4', 'String', ':4']);
  });

  it('a label that does not exist is in InvalidParameters; the others come back', async () => {
    const r = await getMany(['fp-gp:test-label', 'fp-gp:invalid-label', 'fp-gp', 'fp-gp:2']);
    assert.deepEqual(r.InvalidParameters, ['fp-gp:invalid-label']);
    assert.deepEqual(r.Parameters.map((p) => p.Value).sort(), ['value-1', 'value-2', 'value-5']);
  });

  it('a name asked twice comes back once; a missing one once in InvalidParameters', async () => {
    const r = await getMany(['fp-gp', 'fp-gp', 'fp-gone', 'fp-gone']);
    assert.equal(r.Parameters.length, 1);
    assert.deepEqual(r.InvalidParameters, ['fp-gone']);
  });

  it('more than 10 names: ValidationException listing them', async () => {
    const names = 'abcdefghijk'.split('').map((c) => `fp-${c}`);
    for (const n of names) await put({ Name: n, Value: 'value', Type: 'String' });
    await refused(() => getMany(names), 'ValidationException', 'eleven names',
      `1 validation error detected: Value '[${names.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10.`);
    assert.equal((await getMany(names.slice(0, 10))).Parameters.length, 10);
  });
});

describe('history and the version limit', () => {
  const NAME = 'fp-test-param';
  before(async () => {
    for (let i = 1; i <= 100; i++) await put({ Name: NAME, Value: `value-${i}`, Type: 'String', Overwrite: true });
  });

  it('100 versions: MaxResults 50, then 7 at a time, covers all of them in order', async () => {
    let r = await history(NAME, { MaxResults: 50 });
    const all = [...r.Parameters];
    assert.equal(r.Parameters.length, 50);
    let next = r.NextToken;
    let pages = 1;
    while (next) {
      r = await history(NAME, { MaxResults: 7, NextToken: next });
      assert.ok(r.Parameters.length <= 7);
      all.push(...r.Parameters);
      next = r.NextToken;
      assert.ok(++pages < 100, 'the paging does not end');
    }
    assert.equal(all.length, 100);
    assert.deepEqual(all.map((h) => h.Version), Array.from({ length: 100 }, (_, i) => i + 1));
    assert.deepEqual(all.map((h) => h.Value), Array.from({ length: 100 }, (_, i) => `value-${i + 1}`));
  });

  it('MaxResults 51: ValidationException with AWS message', async () => {
    await refused(() => history(NAME, { MaxResults: 51 }), 'ValidationException', 'MaxResults 51',
      "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50.");
  });

  it('a label on the oldest blocks the 101st version; moved off, the 101st drops version 1', async () => {
    await label(NAME, ['test-label'], 1);
    const e = await refused(() => put({ Name: NAME, Value: 'new-value', Type: 'String', Overwrite: true }), 'ParameterMaxVersionLimitExceeded', '101st with a labelled oldest');
    assert.ok(e.message.includes(NAME), e.message);
    assert.ok(e.message.includes('Version 1'), e.message);
    assert.match(e.message, /the oldest version, can't be deleted because it has a label associated with it\. Move the label to another version of the parameter, and try again\./);
    await ssm.send(new UnlabelParameterVersionCommand({ Name: NAME, ParameterVersion: 1, Labels: ['test-label'] }));
    assert.equal((await put({ Name: NAME, Value: 'value-101', Type: 'String', Overwrite: true })).Version, 101);
    const all = [];
    let next;
    do {
      const r = await history(NAME, { MaxResults: 50, NextToken: next });
      all.push(...r.Parameters);
      next = r.NextToken;
    } while (next);
    assert.equal(all.length, 100);
    assert.equal(all[0].Value, 'value-2');
    assert.equal(all[99].Value, 'value-101');
  });
});

describe('labels', () => {
  let n = 0;
  /* A fresh parameter with `versions` versions "value-0".."value-(versions-1)", descriptions to match. */
  async function fresh(versions = 1) {
    const name = `fp-lbl-${++n}`;
    for (let i = 0; i < versions; i++) {
      await put({ Name: name, Description: `A test parameter version ${i}`, Value: `value-${i}`, Type: 'String', Overwrite: true });
    }
    return name;
  }
  async function labelsByVersion(name) {
    const h = (await history(name)).Parameters;
    for (const [i, p] of h.entries()) {
      assert.deepEqual([p.Name, p.Type, p.Value, p.Version, p.Description], [name, 'String', `value-${i}`, i + 1, `A test parameter version ${i}`]);
    }
    return h.map((p) => [...p.Labels].sort());
  }

  it('without ParameterVersion the latest is labelled; with it, that version', async () => {
    const name = await fresh(3);
    let r = await label(name, ['test-label']);
    assert.deepEqual([r.InvalidLabels, r.ParameterVersion], [[], 3]);
    assert.deepEqual(await labelsByVersion(name), [[], [], ['test-label']]);
    r = await label(name, ['other'], 1);
    assert.deepEqual([r.InvalidLabels, r.ParameterVersion], [[], 1]);
    assert.deepEqual(await labelsByVersion(name), [['other'], [], ['test-label']]);
  });

  it('labelling twice changes nothing', async () => {
    const name = await fresh(1);
    for (let i = 0; i < 2; i++) {
      const r = await label(name, ['test-label'], 1);
      assert.deepEqual([r.InvalidLabels, r.ParameterVersion], [[], 1]);
    }
    assert.deepEqual(await labelsByVersion(name), [['test-label']]);
  });

  it('a label moves from version 1 to version 2', async () => {
    const name = await fresh(3);
    await label(name, ['test-label'], 1);
    const r = await label(name, ['test-label'], 2);
    assert.deepEqual([r.InvalidLabels, r.ParameterVersion], [[], 2]);
    assert.deepEqual(await labelsByVersion(name), [[], ['test-label'], []]);
  });

  it('moving several labels at once moves all of them; the rest stay', async () => {
    const name = await fresh(3);
    await label(name, ['test-label1', 'test-label2', 'test-label3'], 1);
    await label(name, ['test-label2', 'test-label3'], 2);
    assert.deepEqual(await labelsByVersion(name), [['test-label1'], ['test-label2', 'test-label3'], []]);
    // labels from two versions onto a third, in one call
    await label(name, ['test-label1', 'test-label3', 'fresh'], 3);
    assert.deepEqual(await labelsByVersion(name), [[], ['test-label2'], ['fresh', 'test-label1', 'test-label3']]);
    assert.equal((await get(`${name}:test-label1`)).Parameter.Version, 3);
    assert.equal((await get(`${name}:test-label2`)).Parameter.Version, 2);
  });

  const TEN = 'A parameter version can have maximum 10 labels.';
  it('10 labels per version: over two calls and in one call that would pass ten, ParameterVersionLabelLimitExceeded', async () => {
    const name = await fresh(1);
    await label(name, ['test-label1', 'test-label2', 'test-label3', 'test-label4', 'test-label5'], 1);
    let e = await refused(() => label(name, ['test-label6', 'test-label7', 'test-label8', 'test-label9', 'test-label10', 'test-label11'], 1),
      'ParameterVersionLabelLimitExceeded', 'five more than ten over two calls');
    assert.ok(e.message.includes(TEN), e.message);
    assert.equal((await labelsByVersion(name))[0].length, 5, 'a refused call applied some labels');
    await label(name, ['test-label6', 'test-label7', 'test-label8', 'test-label9', 'test-label10'], 1);
    assert.equal((await labelsByVersion(name))[0].length, 10);
    // a label the version has already is not a new one
    await label(name, ['test-label3'], 1);
    e = await refused(() => label(name, ['test-label11'], 1), 'ParameterVersionLabelLimitExceeded', 'an eleventh');
    assert.ok(e.message.includes(TEN), e.message);
    // one call of ten new labels onto a version with one
    const other = await fresh(1);
    await label(other, ['one'], 1);
    const ten = Array.from({ length: 10 }, (_, i) => `n${i}`);
    e = await refused(() => label(other, ten, 1), 'ParameterVersionLabelLimitExceeded', 'ten new onto one');
    assert.ok(e.message.includes(TEN), e.message);
    assert.deepEqual(await labelsByVersion(other), [['one']]);
  });

  it('eleven labels in one call are refused: ParameterVersionLabelLimitExceeded, with its text', async () => {
    const name = await fresh(1);
    const eleven = Array.from({ length: 11 }, (_, i) => `test-label${i + 1}`);
    const e = await refused(() => label(name, eleven, 1), 'ParameterVersionLabelLimitExceeded', 'eleven labels in one call');
    assert.equal(e.message, 'An error occurred (ParameterVersionLabelLimitExceeded) when calling the LabelParameterVersion operation: '
      + 'A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.');
    assert.deepEqual(await labelsByVersion(name), [[]]);
  });

  it('a version that does not exist: ParameterVersionNotFound with AWS message', async () => {
    const name = await fresh(1);
    await refused(() => label(name, ['test-label'], 5), 'ParameterVersionNotFound', 'version 5', noVersion(5, name));
  });

  for (const bad of ['awsabc', 'ssmabc', 'AWSabc', '9abc', 'abc/123', 'has space', 'a:b']) {
    it(`label ${JSON.stringify(bad)} comes back in InvalidLabels`, async () => {
      const name = await fresh(1);
      const r = await label(name, [bad], 1);
      assert.deepEqual(r.InvalidLabels, [bad]);
      assert.deepEqual(await labelsByVersion(name), [[]]);
    });
  }

  it('a label of 101 characters: ValidationException with AWS message; 100 are fine', async () => {
    const name = await fresh(1);
    const long = 'a'.repeat(101);
    await refused(() => label(name, [long], 1), 'ValidationException', '101 characters',
      `1 validation error detected: Value '[${long}]' at 'labels' failed to satisfy constraint: Member must satisfy constraint: `
      + '[Member must have length less than or equal to 100, Member must have length greater than or equal to 1]');
    const r = await label(name, ['a'.repeat(100)], 1);
    assert.deepEqual(r.InvalidLabels, []);
  });

  it('unlabel: RemovedLabels and InvalidLabels; the rest stay; unknown parameter and version refused', async () => {
    await put({ Name: '/fp/test/param', Value: 'value', Type: 'String' });
    await label('/fp/test/param', ['label1', 'label2'], 1);
    const r = await ssm.send(new UnlabelParameterVersionCommand({ Name: '/fp/test/param', ParameterVersion: 1, Labels: ['label1', 'label3'] }));
    assert.deepEqual([r.RemovedLabels, r.InvalidLabels], [['label1'], ['label3']]);
    assert.deepEqual((await history('/fp/test/param')).Parameters[0].Labels, ['label2']);
    await refused(() => ssm.send(new UnlabelParameterVersionCommand({ Name: '/fp/test/nonexistent', ParameterVersion: 1, Labels: ['label1'] })),
      'ParameterNotFound', 'unlabel a missing parameter');
    await refused(() => ssm.send(new UnlabelParameterVersionCommand({ Name: '/fp/test/param', ParameterVersion: 999, Labels: ['label1'] })),
      'ParameterVersionNotFound', 'unlabel version 999');
  });
});

describe('tags', () => {
  it('add, list, remove; a missing or deleted parameter is InvalidResourceId; another type InvalidResourceType', async () => {
    await refused(() => ssm.send(new AddTagsToResourceCommand({ ResourceId: 'fp-tagged', ResourceType: 'Parameter', Tags: [{ Key: 'test-key', Value: 'test-value' }] })),
      'InvalidResourceId', 'tag a missing parameter');
    await put({ Name: 'fp-tagged', Value: 'value', Type: 'String', Tags: [{ Key: 'spam', Value: 'eggs' }] });
    await ssm.send(new AddTagsToResourceCommand({ ResourceId: 'fp-tagged', ResourceType: 'Parameter', Tags: [{ Key: 'test-key', Value: 'test-value' }] }));
    let t = await ssm.send(new ListTagsForResourceCommand({ ResourceId: 'fp-tagged', ResourceType: 'Parameter' }));
    assert.deepEqual(Object.fromEntries(t.TagList.map((x) => [x.Key, x.Value])), { spam: 'eggs', 'test-key': 'test-value' });
    await ssm.send(new RemoveTagsFromResourceCommand({ ResourceId: 'fp-tagged', ResourceType: 'Parameter', TagKeys: ['test-key', 'spam'] }));
    t = await ssm.send(new ListTagsForResourceCommand({ ResourceId: 'fp-tagged', ResourceType: 'Parameter' }));
    assert.deepEqual(t.TagList, []);
    await ssm.send(new DeleteParameterCommand({ Name: 'fp-tagged' }));
    await sdkRejects(() => ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: 'fp-tagged' })), 'InvalidResourceId');
    await sdkRejects(() => ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: 'fp-never' })), 'InvalidResourceId');
    await sdkRejects(() => ssm.send(new ListTagsForResourceCommand({ ResourceType: 'foo', ResourceId: 'bar' })), 'InvalidResourceType');
  });
});

describe('DescribeParameters', () => {
  before(async () => {
    await put({ Name: 'fpd-aa', Value: '11', Type: 'String', Description: 'my description', AllowedPattern: '.*' });
    await put({ Name: 'fpd-bb', Value: '22', Type: 'String' });
    for (let i = 0; i < 30; i++) {
      await put({ Name: `fpd-param-${i}`, Value: `value-${i}`, Type: i % 5 === 0 ? 'SecureString' : 'String', KeyId: i % 5 === 0 ? `fpd-key:${i}` : undefined });
    }
    await put({ Name: '/fpd/spam/eggs', Value: 'eggs', Type: 'String', Tags: [{ Key: 'spam', Value: 'eggs' }] });
    await put({ Name: '/fpd/spam/was-ham', Value: 'h', Type: 'String', Tags: [{ Key: 'spam', Value: 'ham' }] });
    await ssm.send(new AddTagsToResourceCommand({ ResourceId: '/fpd/spam/was-ham', ResourceType: 'Parameter', Tags: [{ Key: 'spam', Value: 'eggs' }] }));
    await put({ Name: '/fpd/spam/becomes-ham', Value: 'h', Type: 'String', Tags: [{ Key: 'spam', Value: 'eggs' }] });
    await ssm.send(new AddTagsToResourceCommand({ ResourceId: '/fpd/spam/becomes-ham', ResourceType: 'Parameter', Tags: [{ Key: 'spam', Value: 'ham' }] }));
    await put({ Name: '/fpd/spam/remove-spam', Value: 'h', Type: 'String', Tags: [{ Key: 'spam', Value: 'eggs' }] });
    await ssm.send(new RemoveTagsFromResourceCommand({ ResourceId: '/fpd/spam/remove-spam', ResourceType: 'Parameter', TagKeys: ['spam'] }));
    for (const x of 'ab') {
      await put({ Name: `fpd_multi_${x}`, Value: x, Type: 'String', Tags: [{ Key: 'hello', Value: 'world' }, { Key: 'x', Value: x }] });
    }
  });

  async function names(input) {
    const out = [];
    for await (const page of paginateDescribeParameters({ client: ssm }, input)) out.push(...page.Parameters);
    return out.filter((p) => /^\/?fpd/.test(p.Name));
  }

  it('attributes: Description only when set, Version, DataType, AllowedPattern, LastModifiedDate, user', async () => {
    const [aa, bb] = [await describeOne('fpd-aa'), await describeOne('fpd-bb')];
    assert.deepEqual([aa.Description, aa.Version, aa.Type, aa.DataType, aa.AllowedPattern], ['my description', 1, 'String', 'text', '.*']);
    assert.ok(aa.LastModifiedDate instanceof Date);
    assert.match(aa.LastModifiedUser, new RegExp(`^arn:aws:iam::${ACCOUNT}:user/`));
    assert.equal(bb.Description, undefined);
    assert.equal(bb.Version, 1);
  });

  it('pages of 10 cover everything once', async () => {
    const seen = [];
    let next;
    do {
      const r = await ssm.send(new DescribeParametersCommand({ MaxResults: 10, NextToken: next }));
      assert.ok(r.Parameters.length <= 10);
      seen.push(...r.Parameters.map((p) => p.Name));
      next = r.NextToken;
    } while (next);
    assert.equal(new Set(seen).size, seen.length);
    assert.equal(seen.filter((x) => x.startsWith('fpd-param-')).length, 30);
  });

  it('Filters by Name, Type and KeyId', async () => {
    assert.deepEqual((await names({ Filters: [{ Key: 'Name', Values: ['fpd-param-22'] }] })).map((p) => [p.Name, p.Type]), [['fpd-param-22', 'String']]);
    const sec = await names({ Filters: [{ Key: 'Type', Values: ['SecureString'] }] });
    assert.equal(sec.length, 6);
    for (const p of sec) assert.equal(p.Type, 'SecureString');
    assert.deepEqual((await names({ Filters: [{ Key: 'KeyId', Values: ['fpd-key:10'] }] })).map((p) => p.Name), ['fpd-param-10']);
  });

  it('ParameterFilters by tag: a value, the key alone, BeginsWith, and two tags together', async () => {
    const n = async (f) => (await names({ ParameterFilters: f })).map((p) => p.Name).sort();
    assert.deepEqual(await n([{ Key: 'tag:spam', Values: ['eggs'] }]), ['/fpd/spam/eggs', '/fpd/spam/was-ham']);
    assert.deepEqual(await n([{ Key: 'tag:spam' }]), ['/fpd/spam/becomes-ham', '/fpd/spam/eggs', '/fpd/spam/was-ham']);
    assert.deepEqual(await n([{ Key: 'tag:x', Option: 'Equals', Values: ['b'] }, { Key: 'tag:hello', Option: 'Equals', Values: ['world'] }]), ['fpd_multi_b']);
    assert.deepEqual(await n([{ Key: 'tag:hello', Option: 'Equals', Values: ['world'] }, { Key: 'tag:x', Option: 'Equals', Values: ['b'] }]), ['fpd_multi_b']);
    assert.deepEqual(await n([{ Key: 'tag:hello', Option: 'BeginsWith', Values: ['w'] }]), ['fpd_multi_a', 'fpd_multi_b']);
    assert.deepEqual(await n([{ Key: 'tag:x', Option: 'BeginsWith', Values: ['a'] }]), ['fpd_multi_a']);
  });

  it('Name Contains', async () => {
    const r = await names({ ParameterFilters: [{ Key: 'Name', Option: 'Contains', Values: ['spam/was'] }] });
    assert.deepEqual(r.map((p) => p.Name), ['/fpd/spam/was-ham']);
  });

  it('Filters and ParameterFilters together are refused', async () => {
    await refused(() => ssm.send(new DescribeParametersCommand({ Filters: [{ Key: 'Name', Values: ['test'] }], ParameterFilters: [{ Key: 'Name', Values: ['test'] }] })),
      'ValidationException', 'both kinds of filter', 'You can use either Filters or ParameterFilters in a single request.');
  });

  const BAD_FILTERS = [
    [[{ Key: 'key' }], 'Member must satisfy regular expression pattern: tag:.+|Name|Type|KeyId|Path|Label|Tier'],
    [[{ Key: `tag:${'t'.repeat(129)}` }], 'Member must have length less than or equal to 132'],
    [[{ Key: 'Name', Option: 'over 10 chars' }], 'Member must have length less than or equal to 10'],
    [[{ Key: 'Name', Values: Array(51).fill('test') }], 'Member must have length less than or equal to 50'],
    [[{ Key: 'Name', Values: ['t'.repeat(1025)] }], 'Member must have length less than or equal to 1024, Member must have length greater than or equal to 1'],
    [[{ Key: 'Name', Option: 'over 10 chars' }, { Key: 'key' }], '2 validation errors detected:'],
    [[{ Key: 'Label' }], 'The following filter key is not valid: Label. Valid filter keys include: [Path, Name, Type, KeyId, Tier]'],
    [[{ Key: 'Name' }], 'The following filter values are missing : null for filter key Name'],
    [[{ Key: 'Name', Values: ['test'] }, { Key: 'Name', Values: ['test test'] }],
      'The following filter is duplicated in the request: Name. A request can contain only one occurrence of a specific filter.'],
    [[{ Key: 'Path', Values: ['/aws', '/ssm'] }], 'Filters for common parameters can\'t be prefixed with "aws" or "ssm" (case-insensitive).'],
    [[{ Key: 'Path', Option: 'Equals', Values: ['test'] }], 'The following filter option is not valid: Equals. Valid options include: [Recursive, OneLevel]'],
    [[{ Key: 'Tier', Values: ['test'] }], 'The following filter value is not valid: test. Valid values include: [Standard, Advanced, Intelligent-Tiering]'],
    [[{ Key: 'Type', Values: ['test'] }], 'The following filter value is not valid: test. Valid values include: [String, StringList, SecureString]'],
    [[{ Key: 'Name', Option: 'option', Values: ['test'] }], 'The following filter option is not valid: option. Valid options include: [BeginsWith, Equals].'],
  ];
  for (const [filters, msg] of BAD_FILTERS) {
    it(`refuses ${JSON.stringify(filters).slice(0, 80)}: "${msg.slice(0, 60)}..."`, async () => {
      const what = JSON.stringify(filters).slice(0, 80);
      let e = null;
      try {
        await ssm.send(new DescribeParametersCommand({ ParameterFilters: filters }));
      } catch (x) {
        e = x;
      }
      assert.ok(e, `${what}: refused, but the call succeeded`);
      const codes = codesFor(msg);
      assert.ok(codes.includes(e.name), `${what}: expected ${codes.join('|')}, got ${e.name}: ${e.message}`);
      assert.ok(e.message.includes(msg), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(msg)}`);
      assert.equal(e.$metadata.httpStatusCode, 400);
    });
  }
  /* The code each kind of bad filter is refused with. A value outside Tier's or Type's set is
   * reported as a bad option by some and a bad value by others: either is taken. */
  function codesFor(msg) {
    if (/filter key is not valid|filter is duplicated/.test(msg)) return ['InvalidFilterKey'];
    if (/filter option is not valid/.test(msg)) return ['InvalidFilterOption'];
    if (/filter values are missing/.test(msg)) return ['InvalidFilterValue'];
    if (/filter value is not valid/.test(msg)) return ['InvalidFilterValue', 'InvalidFilterOption'];
    return ['ValidationException'];
  }

  for (const value of ['/###', '//', 'test']) {
    it(`Path ${JSON.stringify(value)}: the parameter name requirements`, async () => {
      const e = await sdkRejects(() => ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Path', Values: [value] }] })), 'ValidationException');
      for (const part of [
        "The parameter doesn't meet the parameter name requirements",
        'The parameter name must begin with a forward slash "/".',
        'It can\'t be prefixed with "aws" or "ssm" (case-insensitive).',
        'It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore).',
        'Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/".',
        'Valid example: /get/parameters2-/by1./path0_.',
      ]) assert.ok(e.message.includes(part), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(part)}`);
    });
  }
});

describe('GetParametersByPath filters', () => {
  before(async () => {
    await put({ Name: '/fpb/foo/name1', Value: 'value1', Type: 'String' });
    await put({ Name: '/fpb/foo/name2', Value: 'value2', Type: 'String' });
    await put({ Name: '/fpb/baz/name1', Description: 'A test parameter (list)', Value: 'value1,value2,value3', Type: 'StringList' });
    await put({ Name: '/fpb/baz/name2', Value: 'value1', Type: 'String' });
    await put({ Name: '/fpb/baz/pwd', Description: 'A secure test parameter', Value: 'my_secret', Type: 'SecureString', KeyId: 'alias/aws/ssm' });
  });
  const byPath = async (Path, ParameterFilters, extra = {}) =>
    (await ssm.send(new GetParametersByPathCommand({ Path, ParameterFilters, ...extra }))).Parameters.map((p) => p.Name).sort();

  it('Type (Equals by default, several values, BeginsWith), KeyId and Label', async () => {
    assert.deepEqual(await byPath('/fpb/baz', [{ Key: 'Type', Option: 'Equals', Values: ['StringList'] }]), ['/fpb/baz/name1']);
    assert.deepEqual(await byPath('/fpb/baz', [{ Key: 'Type', Values: ['StringList'] }]), ['/fpb/baz/name1']);
    assert.deepEqual(await byPath('/fpb/baz', [{ Key: 'Type', Values: ['String'] }]), ['/fpb/baz/name2']);
    assert.deepEqual(await byPath('/fpb/baz', [{ Key: 'Type', Values: ['String', 'SecureString'] }]), ['/fpb/baz/name2', '/fpb/baz/pwd']);
    assert.deepEqual(await byPath('/fpb/baz', [{ Key: 'Type', Option: 'BeginsWith', Values: ['String'] }]), ['/fpb/baz/name1', '/fpb/baz/name2']);
    assert.deepEqual(await byPath('/fpb/baz', [{ Key: 'KeyId', Option: 'Equals', Values: ['alias/aws/ssm'] }]), ['/fpb/baz/pwd']);
    await label('/fpb/foo/name2', ['Label1']);
    assert.deepEqual(await byPath('/fpb/foo', [{ Key: 'Label', Values: ['Label1'] }]), ['/fpb/foo/name2']);
  });

  for (const key of ['Name', 'Path', 'Tier']) {
    it(`filter key ${key} is not valid here`, async () => {
      const e = await sdkRejects(() => ssm.send(new GetParametersByPathCommand({ Path: '/fpb/baz', ParameterFilters: [{ Key: key, Values: ['/error'] }] })), 'InvalidFilterKey');
      assert.equal(e.message, `The following filter key is not valid: ${key}. Valid filter keys include: [Type, KeyId].`);
    });
  }

  it('MaxResults 23: ValidationException with AWS message', async () => {
    const e = await sdkRejects(() => ssm.send(new GetParametersByPathCommand({ Path: '/', MaxResults: 23 })), 'ValidationException');
    assert.equal(e.message, '1 validation error detected: Value 23 at \'maxResults\' failed to satisfy constraint: Member must have value less than or equal to 10');
  });
});

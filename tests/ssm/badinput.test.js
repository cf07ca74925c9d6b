// badinput.test.js — what no SDK would send, straight to POST /: every answer is an SSM error
// (JSON with __type and message, HTTP 400, or 403 for a signature), nothing is written, and
// the server stays healthy.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { PutParameterCommand, GetParameterCommand } = require('@aws-sdk/client-ssm');
const {
  startSsmServer, ssmClient, signRequest, signedCall, rawPost, assertSsmError, storeSnapshot, assertHealthy, SSM_CT, pool,
} = require('./helpers');

const NAME = '/bad/existing';
let S;
let ssm;
before(async () => {
  S = await startSsmServer();
  ssm = ssmClient(S);
  await ssm.send(new PutParameterCommand({ Name: NAME, Value: 'v1', Type: 'String' }));
});
after(async () => {
  if (ssm) ssm.destroy();
  if (S) await S.cleanup();
});

/* Sends it, checks the SSM error shape and type, that nothing was written and that the server answers. */
async function refused(send, status, type, what) {
  const before = await storeSnapshot(S);
  const r = await send();
  if (process.env.SY_DEBUG) console.log(what, r.status, r.text.slice(0, 160));
  assertSsmError(r, status, type, what);
  assert.equal(r.headers['content-type'], SSM_CT, `${what}: content type`);
  assert.ok(r.headers['x-amzn-requestid'], `${what}: no x-amzn-RequestId`);
  assert.deepEqual(await storeSnapshot(S), before, `${what}: something was written`);
  return r;
}

const putBody = (over = {}) => JSON.stringify({ Name: '/bad/new', Value: 'x', Type: 'String', ...over });

it('the protocol envelope: target header, operation, content type', async () => {
  await refused(() => signedCall(S, null, putBody()), 400, 'UnknownOperationException', 'no X-Amz-Target');
  const bogus = await refused(() => signedCall(S, 'Bogus', '{}'), 400, 'UnknownOperationException', 'AmazonSSM.Bogus');
  assert.match(bogus.json.message, /Bogus/);
  await refused(() => signedCall(S, 'getParameter', JSON.stringify({ Name: NAME })), 400, 'UnknownOperationException', 'operation names are case-sensitive');
  // the target with another service's prefix
  const s = await signRequest(S, 'AmazonS3.PutParameter', putBody());
  await refused(() => rawPost(S, s.headers, s.body), 400, 'UnknownOperationException', 'AmazonS3.PutParameter');
  await refused(() => signedCall(S, 'PutParameter', putBody(), { contentType: 'application/json' }), 400, null, 'Content-Type application/json');
  await refused(() => signedCall(S, 'PutParameter', putBody(), { contentType: 'text/plain' }), 400, null, 'Content-Type text/plain');
  await refused(() => signedCall(S, 'PutParameter', putBody(), { contentType: null }), 400, null, 'no Content-Type');
  // not a 404 page, whatever the method: unsigned, unknown operation
  await refused(() => rawPost(S, { 'Content-Type': SSM_CT, 'X-Amz-Target': 'AmazonSSM.Bogus' }, '{}'), [400, 403], null, 'unsigned Bogus');
});

it('bodies that are not a JSON object', async () => {
  const cases = [
    ['truncated JSON', '{"Name":'],
    ['not JSON', 'Name=/bad/new&Value=x'],
    ['a JSON array', '[]'],
    ['a JSON string', '"PutParameter"'],
    ['JSON null', 'null'],
    ['trailing garbage', `${putBody()} {}`],
    ['duplicate keys', '{"Name":"/bad/new","Name":"/bad/other","Value":"x","Type":"String"}'],
    ['deep nesting', '['.repeat(50000)],
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"Name":"/bad/new","Value":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","Type":"String"}')])],
    ['a NUL byte', Buffer.from('{"Name":"/bad/new\u0000x","Value":"x","Type":"String"}')],
    ['a huge number', '{"Name":"/bad/new","Value":"x","Type":"String","Overwrite":1e999999}'],
  ];
  for (const [what, body] of cases) {
    await refused(() => signedCall(S, 'PutParameter', body), 400, ['SerializationException', 'ValidationException'], what);
  }
});

it('fields of the wrong type, unknown fields, missing required fields', async () => {
  const cases = [
    ['Name a number', 'PutParameter', { Name: 5, Value: 'x', Type: 'String' }],
    ['Name null, no Value', 'PutParameter', { Name: null }],
    ['Value an object', 'PutParameter', { Name: '/bad/new', Value: { a: 1 }, Type: 'String' }],
    ['Value a number', 'PutParameter', { Name: '/bad/new', Value: 42, Type: 'String' }],
    ['Overwrite a string', 'PutParameter', { Name: NAME, Value: 'x', Overwrite: 'yes' }],
    ['Type a list', 'PutParameter', { Name: '/bad/new', Value: 'x', Type: ['String'] }],
    ['Tags an object', 'PutParameter', { Name: '/bad/new', Value: 'x', Type: 'String', Tags: { k: 'v' } }],
    ['Tags of strings', 'PutParameter', { Name: '/bad/new', Value: 'x', Type: 'String', Tags: ['k=v'] }],
    ['a tag without Value', 'PutParameter', { Name: '/bad/new', Value: 'x', Type: 'String', Tags: [{ Key: 'k' }] }],
    ['an unknown field', 'PutParameter', { Name: '/bad/new', Value: 'x', Type: 'String', Colour: 'red' }],
    ['no Value', 'PutParameter', { Name: '/bad/new', Type: 'String' }],
    ['no Name', 'PutParameter', { Value: 'x', Type: 'String' }],
    ['Names a string', 'DeleteParameters', { Names: NAME }],
    ['Names of numbers', 'DeleteParameters', { Names: [1, 2] }],
    ['Names empty', 'DeleteParameters', { Names: [] }],
    ['ParameterVersion a string', 'LabelParameterVersion', { Name: NAME, ParameterVersion: '1', Labels: ['x'] }],
    ['ParameterVersion a float', 'LabelParameterVersion', { Name: NAME, ParameterVersion: 1.5, Labels: ['x'] }],
    ['ParameterVersion 0', 'LabelParameterVersion', { Name: NAME, ParameterVersion: 0, Labels: ['x'] }],
    ['Labels a string', 'LabelParameterVersion', { Name: NAME, ParameterVersion: 1, Labels: 'x' }],
    ['TagKeys missing', 'RemoveTagsFromResource', { ResourceType: 'Parameter', ResourceId: NAME }],
    ['ResourceType missing', 'AddTagsToResource', { ResourceId: NAME, Tags: [{ Key: 'a', Value: 'b' }] }],
    ['Name with a selector on a write', 'PutParameter', { Name: `${NAME}:1`, Value: 'x', Overwrite: true }],
    ['Name with a bad character', 'PutParameter', { Name: '/bad/na me', Value: 'x', Type: 'String' }],
    ['Name with ..', 'PutParameter', { Name: '/bad/../etc', Value: 'x', Type: 'String' }],
    ['Name too long', 'PutParameter', { Name: `/${'n'.repeat(1100)}`, Value: 'x', Type: 'String' }],
    ['an empty Value', 'PutParameter', { Name: '/bad/new', Value: '', Type: 'String' }],
    ['a bad AllowedPattern', 'PutParameter', { Name: '/bad/new', Value: 'x', Type: 'String', AllowedPattern: '([' }],
    ['a bad Tier', 'PutParameter', { Name: '/bad/new', Value: 'x', Type: 'String', Tier: 'Gold' }],
    ['MaxResults a string', 'GetParametersByPath', { Path: '/bad', MaxResults: '10' }],
    ['MaxResults 0', 'GetParametersByPath', { Path: '/bad', MaxResults: 0 }],
    ['Recursive a number', 'GetParametersByPath', { Path: '/bad', Recursive: 1 }],
    ['WithDecryption a string', 'GetParameter', { Name: NAME, WithDecryption: 'true' }],
    ['ParameterFilters an object', 'DescribeParameters', { ParameterFilters: { Key: 'Type' } }],
    ['a filter without Key', 'DescribeParameters', { ParameterFilters: [{ Values: ['String'] }] }],
  ];
  const types = ['SerializationException', 'ValidationException', 'InvalidResourceType', 'ParameterPatternMismatchException',
    'HierarchyLevelLimitExceededException', 'InvalidFilterKey', 'InvalidAllowedPatternException'];
  for (const [what, op, body] of cases) {
    await refused(() => signedCall(S, op, JSON.stringify(body)), 400, types, what);
  }
  const g = await ssm.send(new GetParameterCommand({ Name: NAME }));
  assert.deepEqual([g.Parameter.Value, g.Parameter.Version], ['v1', 1]);
});

it('a refused Name or Path is named once', async () => {
  // SSM says the same of every malformed name, in these words
  const NAME_RULES = 'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of '
    + 'sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_';
  for (const [op, body, type, message] of [
    ['GetParameter', { Name: '/bad/a*b' }, 'ValidationException', NAME_RULES],
    ['PutParameter', { Name: '/bad/x/', Value: 'x', Type: 'String' }, 'ValidationException', NAME_RULES],
    ['GetParametersByPath', { Path: 'bad' }, 'ValidationException', "Path: must start with '/'"],
  ]) {
    const r = await refused(() => signedCall(S, op, JSON.stringify(body)), 400, type, op);
    assert.equal(r.json.message, message);
  }
});

it('an oversize body (> 1 MiB) is refused, signed or not, and the server answers the next request', async () => {
  const big = putBody({ Value: 'a'.repeat((1 << 20) + 100) });
  await refused(() => signedCall(S, 'PutParameter', big), [400, 413], null, 'signed 1 MiB + 100');
  await refused(() => rawPost(S, { 'Content-Type': SSM_CT, 'X-Amz-Target': 'AmazonSSM.PutParameter' }, big), [400, 403, 413], null, 'unsigned 1 MiB + 100');
  // a Content-Length that announces too much
  const huge = Buffer.alloc(3 << 20, 0x61);
  await refused(() => rawPost(S, { 'Content-Type': SSM_CT, 'X-Amz-Target': 'AmazonSSM.GetParameter' }, huge), [400, 403, 413], null, 'unsigned 3 MiB');
  // just under the limit, the body parses and the value rules decide (too big for a parameter)
  const under = putBody({ Value: 'b'.repeat((1 << 20) - 200) });
  await refused(() => signedCall(S, 'PutParameter', under), 400, 'ValidationException', 'a 1 MiB value');
});

it('a burst of bad requests in parallel leaves the server healthy and the store as it was', async () => {
  const before = await storeSnapshot(S);
  const kinds = [
    () => signedCall(S, 'PutParameter', '{"Name":'),
    () => signedCall(S, 'Bogus', '{}'),
    () => signedCall(S, null, '{}'),
    () => rawPost(S, { 'Content-Type': SSM_CT, 'X-Amz-Target': 'AmazonSSM.PutParameter' }, putBody()),
    () => signedCall(S, 'PutParameter', JSON.stringify({ Name: 7 })),
    () => signedCall(S, 'PutParameter', putBody(), { contentType: 'application/json' }),
  ];
  const results = await pool(8, Array.from({ length: 60 }, (_, i) => kinds[i % kinds.length]), (f) => f());
  for (const r of results) assertSsmError(r, [400, 403], null, 'burst');
  assert.deepEqual(await storeSnapshot(S), before);
  await assertHealthy(S);
  const g = await ssm.send(new GetParameterCommand({ Name: NAME }));
  assert.equal(g.Parameter.Value, 'v1');
  assert.equal((await ssm.send(new PutParameterCommand({ Name: NAME, Value: 'v2', Overwrite: true }))).Version, 2);
});

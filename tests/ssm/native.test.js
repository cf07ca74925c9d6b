// native.test.js — the SSM API and the native API are two views of one store: the same
// documents, version numbers, labels, tags, deletes, change events and audit records.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PutParameterCommand, GetParameterCommand, GetParameterHistoryCommand, DeleteParameterCommand,
  LabelParameterVersionCommand, ListTagsForResourceCommand, AddTagsToResourceCommand,
} = require('@aws-sdk/client-ssm');
const { startSsmServer, createKey, ssmClient, sdkRejects, awsOk, api, pp, openSSE } = require('./helpers');

let S;
let ssm;
before(async () => {
  S = await startSsmServer();
  ssm = ssmClient(S);
});
after(async () => {
  if (ssm) ssm.destroy();
  if (S) await S.cleanup();
});

async function nativeGet(name, query = '') {
  const r = await api(S, 'GET', pp(name) + query);
  assert.equal(r.status, 200, `GET ${pp(name)}${query}: ${r.status} ${r.text}`);
  return r.json;
}

async function auditFor(name) {
  const r = await api(S, 'GET', `/api/v1/admin/audit?limit=100&order=asc&name=${encodeURIComponent(name)}`);
  assert.equal(r.status, 200, r.text);
  return r.json.records;
}

it('SSM writes are native documents: values, versions, history, audit actor = the key name', async () => {
  const NAME = '/x/ssm-first/flag';
  const deployer = await createKey(S, 'deployer', ['write']);
  const dc = ssmClient(S, deployer);
  try {
    assert.equal((await ssm.send(new PutParameterCommand({ Name: NAME, Value: 'on', Type: 'String', Description: 'the flag' }))).Version, 1);
    assert.equal((await dc.send(new PutParameterCommand({ Name: NAME, Value: 'off', Overwrite: true }))).Version, 2);
  } finally {
    dc.destroy();
  }
  const n = await nativeGet(NAME);
  assert.equal(n.name, NAME);
  assert.equal(n.value, 'off');
  assert.equal(n.version, 2);
  assert.equal(n.type, 'String');
  assert.equal(n.tier, 'Standard');
  assert.equal(n.description, 'the flag');
  assert.equal(n.last_modified_user, 'deployer');
  const v1 = await nativeGet(NAME, '?version=1');
  assert.deepEqual([v1.value, v1.version, v1.last_modified_user], ['on', 1, S.keyName]);

  // the SSM view of the same versions and users
  const h = await ssm.send(new GetParameterHistoryCommand({ Name: NAME }));
  assert.deepEqual(h.Parameters.map((p) => [p.Version, p.Value]), [[1, 'on'], [2, 'off']]);
  assert.ok(h.Parameters[0].LastModifiedUser.endsWith(`/${S.keyName}`), h.Parameters[0].LastModifiedUser);
  assert.ok(h.Parameters[1].LastModifiedUser.endsWith('/deployer'), h.Parameters[1].LastModifiedUser);
  // the two APIs agree on when
  assert.equal(h.Parameters[1].LastModifiedDate.getTime(), Date.parse(n.last_modified));

  const recs = await auditFor(NAME);
  assert.deepEqual(recs.map((r) => [r.action, r.actor, r.new_version]), [['put', S.keyName, 1], ['put', 'deployer', 2]]);
  assert.equal(recs[1].old_version, 1);
  for (const r of recs) assert.equal(r.name, NAME);
  assert.ok(!recs[0].old_version, `a create has no old version: ${JSON.stringify(recs[0])}`);
  const verify = await api(S, 'GET', '/api/v1/admin/audit/verify');
  assert.equal(verify.json.ok, true, verify.text);
});

it('native writes are SSM parameters: aws ssm get-parameter reads them; versions interleave', async () => {
  const NAME = '/x/native-first/provider';
  let r = await api(S, 'PUT', pp(NAME), { value: 'gemini', type: 'String' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.version, 1);
  const json = await awsOk(S, ['ssm', 'get-parameter', '--name', NAME]);
  assert.equal(json.json.Parameter.Value, 'gemini');
  assert.equal(json.json.Parameter.Version, 1);
  assert.equal(json.json.Parameter.Type, 'String');

  // SSM, native, SSM: one sequence of versions
  assert.equal((await ssm.send(new PutParameterCommand({ Name: NAME, Value: 'seedream', Overwrite: true }))).Version, 2);
  r = await api(S, 'PUT', pp(NAME), { value: 'stub', overwrite: true });
  assert.equal(r.json.version, 3, r.text);
  const g = await ssm.send(new GetParameterCommand({ Name: NAME }));
  assert.deepEqual([g.Parameter.Value, g.Parameter.Version], ['stub', 3]);
  const h = await ssm.send(new GetParameterHistoryCommand({ Name: NAME }));
  assert.ok(h.Parameters[0].LastModifiedUser.endsWith('/admin'), `the native admin token's name: ${h.Parameters[0].LastModifiedUser}`);

  // a native rollback is a new version SSM sees
  r = await api(S, 'POST', pp(NAME, '/rollback'), { to_version: 1, reason: 'provider outage' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.version, 4);
  const g4 = await ssm.send(new GetParameterCommand({ Name: NAME }));
  assert.deepEqual([g4.Parameter.Value, g4.Parameter.Version], ['gemini', 4]);
});

it('SecureStrings, labels and tags cross over in both directions', async () => {
  // native SecureString → SSM decrypt
  const SEC = '/x/cross/secret';
  let r = await api(S, 'PUT', pp(SEC), { value: 'p@ss "word"\nline2', type: 'SecureString' });
  assert.equal(r.status, 200, r.text);
  const d = await ssm.send(new GetParameterCommand({ Name: SEC, WithDecryption: true }));
  assert.equal(d.Parameter.Value, 'p@ss "word"\nline2');
  assert.equal(d.Parameter.Type, 'SecureString');
  // SSM SecureString → native decrypt
  await ssm.send(new PutParameterCommand({ Name: SEC, Value: 'rotated', Overwrite: true }));
  const n = await nativeGet(SEC, '?decrypt=true');
  assert.deepEqual([n.value, n.version, n.type], ['rotated', 2, 'SecureString']);
  const sealed = await nativeGet(SEC);
  assert.equal(sealed.value, undefined, 'a native read without decrypt shows no value');

  // SSM label → native ?label=, native label → SSM selector
  const L = '/x/cross/labelled';
  await ssm.send(new PutParameterCommand({ Name: L, Value: 'a', Type: 'String' }));
  await ssm.send(new PutParameterCommand({ Name: L, Value: 'b', Overwrite: true }));
  await ssm.send(new LabelParameterVersionCommand({ Name: L, ParameterVersion: 1, Labels: ['stable'] }));
  const nl = await nativeGet(L, '?label=stable');
  assert.deepEqual([nl.value, nl.version, nl.labels], ['a', 1, ['stable']]);
  r = await api(S, 'POST', pp(L, '/labels'), { version: 2, labels: ['canary'] });
  assert.equal(r.status, 200, r.text);
  const sl = await ssm.send(new GetParameterCommand({ Name: `${L}:canary` }));
  assert.deepEqual([sl.Parameter.Value, sl.Parameter.Version], ['b', 2]);

  // tags: SSM add → native; native put → SSM list
  await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: L, Tags: [{ Key: 'team', Value: 'ml' }] }));
  assert.deepEqual((await nativeGet(L)).tags, { team: 'ml' });
  r = await api(S, 'PUT', pp(L, '/tags'), { tags: { owner: 'ops' } });
  assert.equal(r.status, 200, r.text);
  const t = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: L }));
  assert.deepEqual(Object.fromEntries(t.TagList.map((x) => [x.Key, x.Value])), { team: 'ml', owner: 'ops' });
});

it('deletes cross over: SSM delete → native 404, native delete → ParameterNotFound', async () => {
  await ssm.send(new PutParameterCommand({ Name: '/x/del/a', Value: '1', Type: 'String' }));
  await ssm.send(new DeleteParameterCommand({ Name: '/x/del/a' }));
  const g = await api(S, 'GET', pp('/x/del/a'));
  assert.equal(g.status, 404, g.text);
  assert.equal(g.json.error.code, 'ParameterNotFound');
  let r = await api(S, 'PUT', pp('/x/del/b'), { value: '2', type: 'String' });
  assert.equal(r.status, 200, r.text);
  r = await api(S, 'DELETE', pp('/x/del/b'));
  assert.equal(r.status, 200, r.text);
  await sdkRejects(() => ssm.send(new GetParameterCommand({ Name: '/x/del/b' })), 'ParameterNotFound');
  const recs = await auditFor('/x/del/a');
  assert.deepEqual(recs.map((x) => [x.action, x.actor]), [['put', S.keyName], ['delete', S.keyName]]);
});

it('an SSM write is a change event on the native watch stream', async () => {
  const stream = await openSSE(S, '/api/v1/watch?prefix=/x/watched');
  try {
    assert.equal(stream.status, 200, stream.body);
    const put = await ssm.send(new PutParameterCommand({ Name: '/x/watched/k', Value: 'hello', Type: 'String' }));
    const ev = await stream.nextEvent((e) => e.json && e.json.name === '/x/watched/k', 5000);
    assert.equal(ev.json.action, 'put');
    assert.equal(ev.json.version, put.Version);
    assert.equal(ev.json.value, 'hello');
    await ssm.send(new PutParameterCommand({ Name: '/x/watched/s', Value: 'hidden-value-123', Type: 'SecureString' }));
    const ev2 = await stream.nextEvent((e) => e.json && e.json.name === '/x/watched/s', 5000);
    assert.equal(ev2.json.value, undefined, 'a SecureString event carries no value');
    assert.ok(!ev2.data.includes('hidden-value-123'));
  } finally {
    stream.close();
  }
});

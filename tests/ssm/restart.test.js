// restart.test.js — what SSM clients wrote and the keys they use survive a restart; a revoked
// key stays revoked, the start-up key included.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PutParameterCommand, GetParameterCommand, LabelParameterVersionCommand, ListTagsForResourceCommand,
} = require('@aws-sdk/client-ssm');
const { startSsmServer, createKey, revokeKey, ssmClient, sdkRejects, api } = require('./helpers');

let S;
before(async () => { S = await startSsmServer(); });
after(async () => { if (S) await S.cleanup(); });

/* One client per call: a restart changes the port. */
async function withClient(creds, fn) {
  const c = ssmClient(S, creds);
  try {
    return await fn(c);
  } finally {
    c.destroy();
  }
}

it('parameters, SecureStrings, labels, tags and access keys survive a restart; a revoked key stays revoked', async () => {
  const reader = await createKey(S, 'restart-reader', ['read']);
  const gone = await createKey(S, 'restart-gone', ['write']);
  await withClient(null, async (c) => {
    await c.send(new PutParameterCommand({ Name: '/rs/secret', Value: 'kept "secret"\n', Type: 'SecureString', Tags: [{ Key: 'k', Value: 'v' }] }));
    await c.send(new PutParameterCommand({ Name: '/rs/secret', Value: 'second', Overwrite: true }));
    await c.send(new LabelParameterVersionCommand({ Name: '/rs/secret', ParameterVersion: 1, Labels: ['first'] }));
  });
  await revokeKey(S, 'restart-gone');
  await S.restart();

  await withClient(null, async (c) => {
    const p = await c.send(new GetParameterCommand({ Name: '/rs/secret:first', WithDecryption: true }));
    assert.deepEqual([p.Parameter.Value, p.Parameter.Version], ['kept "secret"\n', 1]);
    const latest = await c.send(new GetParameterCommand({ Name: '/rs/secret', WithDecryption: true }));
    assert.deepEqual([latest.Parameter.Value, latest.Parameter.Version], ['second', 2]);
    const t = await c.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/rs/secret' }));
    assert.deepEqual(t.TagList, [{ Key: 'k', Value: 'v' }]);
  });
  await withClient(reader, async (c) => {
    const p = await c.send(new GetParameterCommand({ Name: '/rs/secret' }));
    assert.equal(p.Parameter.Type, 'SecureString');
    await sdkRejects(() => c.send(new GetParameterCommand({ Name: '/rs/secret', WithDecryption: true })), 'AccessDeniedException', 'read scope after restart');
  });
  await withClient(gone, (c) => sdkRejects(() => c.send(new GetParameterCommand({ Name: '/rs/secret' })), 'UnrecognizedClientException', 'revoked key after restart'));
  assert.ok(!S.log.includes('kept "secret"') && !S.log.includes('kept \\"secret\\"'), 'the secret is in the server log');
});

it('the start-up key, once revoked, stays revoked when the server restarts with the same environment', async () => {
  await revokeKey(S, S.keyName);
  await withClient(null, (c) => sdkRejects(() => c.send(new GetParameterCommand({ Name: '/rs/secret' })), 'UnrecognizedClientException', 'revoked start-up key'));
  // SWITCHYARD_AWS_ACCESS_KEY_ID / _SECRET_ACCESS_KEY are still set: the server must start
  // (a revoked key must not keep the service down) and must not bring the key back
  await S.restart();
  await withClient(null, (c) => sdkRejects(() => c.send(new GetParameterCommand({ Name: '/rs/secret' })), 'UnrecognizedClientException', 'revoked start-up key after restart'));
  const keys = await api(S, 'GET', '/api/v1/admin/keys');
  const k = keys.json.keys.find((x) => x.name === S.keyName);
  assert.ok(k && k.revoked, `the start-up key should still be revoked: ${keys.text}`);
});

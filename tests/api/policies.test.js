// policies.test.js — SSM's attributes of a version through the native API: key_id, data_type
// and policies are kept, refused when wrong (nothing written), exported and imported; an
// Expiration policy deletes its parameter when its time comes, audited and streamed.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, pp, waitFor, storeSnapshot, assertHealthy } = require('./helpers');

let S;
before(async () => { S = await startServer(); });
after(async () => { if (S) await S.cleanup(); });

const expiration = (ms) => JSON.stringify([
  { Type: 'Expiration', Version: '1.0', Attributes: { Timestamp: new Date(ms).toISOString() } },
]);

describe('the attributes of a version', () => {
  it('are kept by a put that leaves them out, and shown', async () => {
    const policies = JSON.stringify([{ Type: 'NoChangeNotification', Version: '1.0', Attributes: { After: '30', Unit: 'Days' } }]);
    let r = await api(S, 'PUT', pp('/attrs/image'), { value: 'ami-0123456789abcdef0', type: 'String', data_type: 'aws:ec2:image', policies });
    assert.equal(r.status, 200, r.text);
    r = await api(S, 'PUT', pp('/attrs/image'), { value: 'ami-12345678', overwrite: true });
    assert.equal(r.status, 200, r.text);
    r = await api(S, 'GET', pp('/attrs/image'));
    assert.equal(r.json.version, 2);
    assert.equal(r.json.data_type, 'aws:ec2:image');
    assert.equal(r.json.policies, policies);
    r = await api(S, 'PUT', pp('/attrs/secret'), { value: 's3cret', type: 'SecureString', key_id: 'alias/team-a' });
    assert.equal(r.status, 200, r.text);
    r = await api(S, 'GET', `${pp('/attrs/secret')}?decrypt=true`);
    assert.equal(r.json.value, 's3cret');
    assert.equal(r.json.key_id, 'alias/team-a');
    r = await api(S, 'PUT', pp('/attrs/plain'), { value: 'p', type: 'SecureString' });
    r = await api(S, 'GET', pp('/attrs/plain'));
    assert.equal(r.json.key_id, 'alias/aws/ssm');
    assert.equal(r.json.data_type, 'text');
  });

  it('are refused when wrong, each naming what is wrong, and nothing is written', async () => {
    const before = await storeSnapshot(S);
    const cases = [
      [{ value: 'ami-xyz', type: 'String', data_type: 'aws:ec2:image' }, 400, /not a valid EC2 image ID/],
      [{ value: 'v', type: 'String', data_type: 'Text' }, 400, /The following data type is not supported: Text \(Data type names are all lowercase\.\)/],
      [{ value: 'v', type: 'SecureString', key_id: 'alias/aws/kms' }, 400, /alias\/aws\/kms is not found/],
      [{ value: 'v', type: 'SecureString', key_id: 'k'.repeat(257) }, 400, /keyId/],
      [{ value: 'v', type: 'String', policies: '["Bogus"]' }, 400, /The policy type isn't supported/],
      [{ value: 'v', type: 'String', policies: '[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"tomorrow"}}]' }, 400, /Timestamp/],
      [{ value: 'v', type: 'String', policies: '[{"Type":"NoChangeNotification","Attributes":{"After":"0","Unit":"Days"}}]' }, 400, /After/],
      [{ value: 'v', type: 'String', policies: '{"Type":"Expiration"}' }, 400, /JSON array/],
      [{ value: 'v', type: 'String', policies: JSON.stringify(Array(11).fill('Expiration')) }, 400, /maximum is 10/],
    ];
    for (const [body, status, re] of cases) {
      const r = await api(S, 'PUT', pp('/attrs/refused'), body);
      assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
      assert.match(r.json.error.message, re, JSON.stringify(body).slice(0, 80));
    }
    assert.deepEqual(await storeSnapshot(S), before);
  });

  it('travel through an export and an import', async () => {
    let r = await api(S, 'GET', '/api/v1/config/runtime');
    assert.equal(r.status, 200, r.text);
    const image = r.json.params.find((p) => p.name === '/attrs/image');
    assert.equal(image.data_type, 'aws:ec2:image');
    assert.ok(image.policies);
    const secret = r.json.params.find((p) => p.name === '/attrs/secret');
    assert.equal(secret.key_id, 'alias/team-a');
    // the same export imported elsewhere holds the same attributes
    const T = await startServer();
    try {
      const exp = (await api(S, 'GET', '/api/v1/config/runtime?include_secrets=true')).json;
      r = await api(T, 'POST', '/api/v1/config/runtime?apply=true', exp);
      assert.equal(r.status, 200, r.text);
      r = await api(T, 'GET', `${pp('/attrs/secret')}?decrypt=true`);
      assert.equal(r.json.value, 's3cret');
      assert.equal(r.json.key_id, 'alias/team-a');
      r = await api(T, 'GET', pp('/attrs/image'));
      assert.equal(r.json.data_type, 'aws:ec2:image');
      // imported again: nothing differs
      r = await api(T, 'POST', '/api/v1/config/runtime?apply=true', exp);
      assert.equal(r.json.summary.unchanged, exp.params.length, r.text);
    } finally {
      await T.cleanup();
    }
  });
});

describe('an Expiration policy', () => {
  it('deletes its parameter once its time has come: audited as the policy, streamed, gone for good', async () => {
    const at = Date.now() + 1500;
    let r = await api(S, 'PUT', pp('/expiring/soon'), { value: 'v', type: 'String', policies: expiration(at) });
    assert.equal(r.status, 200, r.text);
    r = await api(S, 'PUT', pp('/expiring/later'), { value: 'v', type: 'String', policies: expiration(Date.now() + 3600e3) });
    assert.equal(r.status, 200, r.text);
    await waitFor(async () => (await api(S, 'GET', pp('/expiring/soon'))).status === 404, 15000, 'the expired parameter to go');
    assert.ok(Date.now() >= at, 'deleted before its time');
    assert.equal((await api(S, 'GET', pp('/expiring/later'))).status, 200);
    r = await api(S, 'GET', '/api/v1/admin/audit?limit=20');
    const rec = r.json.records.find((x) => x.name === '/expiring/soon' && x.action === 'delete');
    assert.ok(rec, r.text);
    assert.equal(rec.actor, 'policy');
    assert.match(rec.reason, /parameter policy: Expiration at /);
    await assertHealthy(S);
  });
});

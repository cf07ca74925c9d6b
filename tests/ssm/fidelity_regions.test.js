// fidelity_regions.test.js — one store answers SSM clients of every region: a value put through
// one region is read through another, and each ARN carries the region (and partition) the client
// signed for. A request signed for another service is refused like a bad signature.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PutParameterCommand, GetParameterCommand, GetParametersCommand, GetParametersByPathCommand,
  DescribeParametersCommand, GetParameterHistoryCommand,
} = require('@aws-sdk/client-ssm');
const { startSsmServer, ssmClient, signAny, signRequest, rawPost, SSM_CT, storeSnapshot } = require('./helpers');

const REGIONS = [
  { region: 'us-east-1', partition: 'aws' },
  { region: 'eu-west-3', partition: 'aws' },
  { region: 'ap-southeast-2', partition: 'aws' },
  { region: 'cn-north-1', partition: 'aws-cn' },
];

/* The account the server answers for, from its own STS GetCallerIdentity. */
async function accountOf(srv, region = 'us-east-1') {
  const s = await signAny(srv, {
    service: 'sts',
    region,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: 'Action=GetCallerIdentity&Version=2011-06-15',
  });
  const r = await rawPost(srv, s.headers, s.body);
  assert.equal(r.status, 200, `GetCallerIdentity: ${r.status} ${r.text}`);
  const m = /<Account>(\d{12})<\/Account>/.exec(r.text);
  assert.ok(m, `no Account in ${r.text}`);
  return m[1];
}

describe('one store, four regions', () => {
  let S;
  let ACCOUNT;
  const clients = {};
  before(async () => {
    S = await startSsmServer();
    ACCOUNT = await accountOf(S);
    for (const { region } of REGIONS) clients[region] = ssmClient(S, null, { region });
  });
  after(async () => {
    for (const c of Object.values(clients)) c.destroy();
    if (S) await S.cleanup();
  });

  for (const { region: writer } of REGIONS) {
    it(`a value put through ${writer} is read through every region, each with its own ARN`, async () => {
      const name = `/regions/from-${writer}`;
      const r = await clients[writer].send(new PutParameterCommand({ Name: name, Value: `written in ${writer}`, Type: 'String' }));
      assert.equal(r.Version, 1);
      for (const { region, partition } of REGIONS) {
        const c = clients[region];
        const p = (await c.send(new GetParameterCommand({ Name: name }))).Parameter;
        assert.equal(p.Value, `written in ${writer}`, `read through ${region}`);
        const arn = `arn:${partition}:ssm:${region}:${ACCOUNT}:parameter${name}`;
        assert.equal(p.ARN, arn, `the ARN seen by a ${region} client`);
        // the ARN a client was given addresses the parameter for that client
        assert.equal((await c.send(new GetParameterCommand({ Name: arn }))).Parameter.Value, `written in ${writer}`);
      }
    });
  }

  it('an overwrite in one region is the next version everywhere; history and listings agree', async () => {
    const name = '/regions/shared';
    await clients['eu-west-3'].send(new PutParameterCommand({ Name: name, Value: 'v1', Type: 'String' }));
    await clients['ap-southeast-2'].send(new PutParameterCommand({ Name: name, Value: 'v2', Overwrite: true }));
    await clients['cn-north-1'].send(new PutParameterCommand({ Name: name, Value: 'v3', Overwrite: true }));
    for (const { region, partition } of REGIONS) {
      const c = clients[region];
      const h = (await c.send(new GetParameterHistoryCommand({ Name: name }))).Parameters;
      assert.deepEqual(h.map((x) => [x.Version, x.Value]), [[1, 'v1'], [2, 'v2'], [3, 'v3']], region);
      const g = await c.send(new GetParametersCommand({ Names: [name] }));
      assert.equal(g.Parameters[0].ARN, `arn:${partition}:ssm:${region}:${ACCOUNT}:parameter${name}`, `GetParameters via ${region}`);
      const bp = await c.send(new GetParametersByPathCommand({ Path: '/regions' }));
      const mine = bp.Parameters.find((p) => p.Name === name);
      assert.ok(mine, `GetParametersByPath via ${region}: ${JSON.stringify(bp.Parameters.map((p) => p.Name))}`);
      assert.equal(mine.ARN, `arn:${partition}:ssm:${region}:${ACCOUNT}:parameter${name}`);
      const d = await c.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: [name] }] }));
      assert.equal(d.Parameters.length, 1);
      assert.equal(d.Parameters[0].ARN, `arn:${partition}:ssm:${region}:${ACCOUNT}:parameter${name}`, `DescribeParameters via ${region}`);
      assert.match(d.Parameters[0].LastModifiedUser, new RegExp(`^arn:${partition}:iam::${ACCOUNT}:user/`), `LastModifiedUser via ${region}`);
    }
  });
});

describe('SWITCHYARD_AWS_REGION sets only the default', () => {
  let S;
  let ACCOUNT;
  before(async () => {
    S = await startSsmServer({ env: { SWITCHYARD_AWS_REGION: 'eu-west-1' } });
    ACCOUNT = await accountOf(S, 'eu-west-1');
  });
  after(async () => { if (S) await S.cleanup(); });

  it('clients of other regions are still served, each with its own region in the ARN', async () => {
    const eu1 = ssmClient(S, null, { region: 'eu-west-1' });
    const us = ssmClient(S, null, { region: 'us-east-1' });
    const ap = ssmClient(S, null, { region: 'ap-southeast-2' });
    try {
      await us.send(new PutParameterCommand({ Name: '/dflt/x', Value: 'x', Type: 'String' }));
      assert.equal((await eu1.send(new GetParameterCommand({ Name: '/dflt/x' }))).Parameter.ARN,
        `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/dflt/x`);
      assert.equal((await us.send(new GetParameterCommand({ Name: '/dflt/x' }))).Parameter.ARN,
        `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/dflt/x`);
      assert.equal((await ap.send(new GetParameterCommand({ Name: '/dflt/x' }))).Parameter.ARN,
        `arn:aws:ssm:ap-southeast-2:${ACCOUNT}:parameter/dflt/x`);
    } finally {
      eu1.destroy();
      us.destroy();
      ap.destroy();
    }
  });
});

describe('a request signed for another service', () => {
  let S;
  before(async () => {
    S = await startSsmServer();
    const c = ssmClient(S);
    await c.send(new PutParameterCommand({ Name: '/svc/secret', Value: 'do-not-leak', Type: 'SecureString' }));
    c.destroy();
  });
  after(async () => { if (S) await S.cleanup(); });

  /* An SSM operation, its body and headers as the SDK sends them, signed for `service`. */
  async function signedFor(service, op, body, region = 'us-east-1') {
    const s = await signAny(S, {
      service,
      region,
      headers: { 'content-type': SSM_CT, 'x-amz-target': `AmazonSSM.${op}` },
      body: JSON.stringify(body),
    });
    return rawPost(S, s.headers, s.body);
  }

  it('a bad signature is 403: the baseline', async () => {
    const s = await signRequest(S, 'AmazonSSM.GetParameter', { Name: '/svc/secret' },
      { creds: { accessKeyId: S.creds.accessKeyId, secretAccessKey: `x${S.creds.secretAccessKey}` } });
    const r = await rawPost(S, s.headers, s.body);
    assert.equal(r.status, 403, r.text);
  });

  for (const service of ['dynamodb', 'sts', 's3', 'secretsmanager']) {
    it(`GetParameter signed with a valid key for '${service}' is 403, like a bad signature, and reveals nothing`, async () => {
      const r = await signedFor(service, 'GetParameter', { Name: '/svc/secret', WithDecryption: true });
      assert.equal(r.status, 403, `${service}: ${r.status} ${r.text}`);
      assert.ok(r.json && typeof r.json.__type === 'string' && typeof r.json.message === 'string', r.text);
      assert.ok(!r.text.includes('do-not-leak'), r.text);
    });
  }

  it('PutParameter signed for dynamodb (in any region) is 403 and writes nothing', async () => {
    const before0 = await storeSnapshot(S);
    for (const region of ['us-east-1', 'eu-west-3']) {
      const r = await signedFor('dynamodb', 'PutParameter', { Name: '/svc/new', Value: 'x', Type: 'String' }, region);
      assert.equal(r.status, 403, `${region}: ${r.status} ${r.text}`);
    }
    assert.deepEqual(await storeSnapshot(S), before0);
  });

  it('STS GetCallerIdentity signed for sts is still served', async () => {
    assert.match(await accountOf(S), /^\d{12}$/);
  });
});

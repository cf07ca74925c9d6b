// seeds.test.js — the seed runbooks' `aws ssm` commands, unchanged, through the real aws CLI (v2).
// Seed 000 (provider swap, tags, rollback), seed 002 (a service-account JSON as a SecureString
// from file://, traffic-percent), seed 004 (a JSON feature-flag config as a String).
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
  PutParameterCommand, GetParameterCommand, GetParameterHistoryCommand, ListTagsForResourceCommand,
} = require('@aws-sdk/client-ssm');
const {
  startSsmServer, createKey, ssmClient, aws, awsOk, api, pp, filesHolding, auditAll,
} = require('./helpers');

const DATA = path.join(__dirname, 'data');
// A throwaway service-account file made for this test (its RSA key protects nothing).
const SA_FILE = path.join(DATA, 'google-service-account.json');

let S;
let ssm;
before(async () => {
  // the access log on: request lines must not carry secrets either
  S = await startSsmServer({ env: { SWITCHYARD_ACCESS_LOG: '1' } });
  ssm = ssmClient(S);
});
after(async () => {
  if (ssm) ssm.destroy();
  if (S) await S.cleanup();
});

/* `$(date -u +"%Y-%m-%dT%H:%M:%SZ")` */
function utcStamp() {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

describe('seed 000: switch the AI provider', () => {
  const ENV = 'staging';
  const NAME = `/photoeditor/${ENV}/provider/strategy`;

  before(async () => {
    // the state the runbook starts from: a provider already configured
    await ssm.send(new PutParameterCommand({ Name: NAME, Value: 'gemini', Type: 'String' }));
  });

  it('reads the current provider, swaps it, verifies, tags the swap, and rolls back', async () => {
    // 1. CURRENT_PROVIDER=$(aws ssm get-parameter --name ... --query 'Parameter.Value' --output text)
    const cur = await awsOk(S, ['ssm', 'get-parameter', '--name', NAME, '--query', 'Parameter.Value', '--output', 'text']);
    assert.equal(cur.stdout, 'gemini\n');
    const PREVIOUS_PROVIDER = cur.stdout.trim();

    // 2. aws ssm put-parameter --name ... --value "${NEW_PROVIDER}" --type String --overwrite
    const NEW_PROVIDER = 'seedream';
    const put = await awsOk(S, ['ssm', 'put-parameter', '--name', NAME, '--value', NEW_PROVIDER, '--type', 'String', '--overwrite']);
    assert.deepEqual(put.json, { Version: 2, Tier: 'Standard' });

    // 3. UPDATED_PROVIDER=$(aws ssm get-parameter ...)
    const upd = await awsOk(S, ['ssm', 'get-parameter', '--name', NAME, '--query', 'Parameter.Value', '--output', 'text']);
    assert.equal(upd.stdout, `${NEW_PROVIDER}\n`);

    // 4. aws ssm add-tags-to-resource --resource-type Parameter --resource-id ... --tags Key=...,Value=... Key=...
    //    SwappedBy=$(aws sts get-caller-identity --query 'Arn' --output text), served by Switchyard too
    const stamp = utcStamp();
    const who = await awsOk(S, ['sts', 'get-caller-identity', '--query', 'Arn', '--output', 'text']);
    const swappedBy = who.stdout.trim();
    assert.match(swappedBy, /^arn:aws:iam::\d{12}:user\/[A-Za-z0-9._-]+$/, who.stdout);
    const tag = await awsOk(S, ['ssm', 'add-tags-to-resource', '--resource-type', 'Parameter', '--resource-id', NAME,
      '--tags', `Key=LastSwapDate,Value=${stamp}`, `Key=SwappedBy,Value=${swappedBy}`]);
    assert.equal(tag.stdout.trim(), '', `add-tags-to-resource prints nothing on success: ${tag.stdout}`);

    const tags = await awsOk(S, ['ssm', 'list-tags-for-resource', '--resource-type', 'Parameter', '--resource-id', NAME]);
    const tagMap = Object.fromEntries(tags.json.TagList.map((t) => [t.Key, t.Value]));
    assert.deepEqual(tagMap, { LastSwapDate: stamp, SwappedBy: swappedBy });

    // Rollback: aws ssm put-parameter --name ... --value "${PREVIOUS_PROVIDER}" --type String --overwrite
    const rb = await awsOk(S, ['ssm', 'put-parameter', '--name', NAME, '--value', PREVIOUS_PROVIDER, '--type', 'String', '--overwrite']);
    assert.deepEqual(rb.json, { Version: 3, Tier: 'Standard' });
    const after1 = await awsOk(S, ['ssm', 'get-parameter', '--name', NAME, '--query', 'Parameter.Value', '--output', 'text']);
    assert.equal(after1.stdout, 'gemini\n');
    // the history holds all three; tags belong to the parameter, not a version: they stay
    const hist = await ssm.send(new GetParameterHistoryCommand({ Name: NAME }));
    assert.deepEqual(hist.Parameters.map((h) => [h.Version, h.Value]), [[1, 'gemini'], [2, 'seedream'], [3, 'gemini']]);
    const tags2 = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: NAME }));
    assert.equal(tags2.TagList.length, 2, JSON.stringify(tags2.TagList));
  });
});

describe('seed 002: the Gemini service account as a SecureString', () => {
  const NAME = '/garmaxai/gemini/production/service-account-json';
  const plain = fs.readFileSync(SA_FILE, 'utf8');
  const sa = JSON.parse(plain);
  // fragments that exist only in the secret: each line of the key's base64, the key id
  const needles = [plain, sa.private_key_id, sa.client_id,
    ...sa.private_key.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'))];
  let reader; // a key with read but not decrypt

  before(async () => {
    assert.ok(plain.includes('"') && plain.includes('\n') && plain.includes('-----BEGIN PRIVATE KEY-----'));
    assert.ok(plain.length < 4096, 'the fixture must fit a Standard parameter');
    reader = await createKey(S, 'ci-reader', ['read']);
  });

  it('put-parameter --value file://google-service-account.json --type SecureString stores it byte for byte', async () => {
    // run where the runbook runs: next to the file, with the relative file:// path
    const put = await awsOk(S, ['ssm', 'put-parameter', '--name', NAME, '--value', 'file://google-service-account.json',
      '--type', 'SecureString', '--region', 'us-east-1'], { cwd: DATA });
    assert.deepEqual(put.json, { Version: 1, Tier: 'Standard' });

    const [json, text, sealed, denied] = await Promise.all([
      // the runbook's verify step, JSON output
      awsOk(S, ['ssm', 'get-parameter', '--name', NAME, '--with-decryption', '--region', 'us-east-1']),
      awsOk(S, ['ssm', 'get-parameter', '--name', NAME, '--with-decryption', '--region', 'us-east-1',
        '--query', 'Parameter.Value', '--output', 'text']),
      awsOk(S, ['ssm', 'get-parameter', '--name', NAME, '--region', 'us-east-1']),
      aws(S, ['ssm', 'get-parameter', '--name', NAME, '--with-decryption', '--region', 'us-east-1'], { creds: reader }),
    ]);
    const rc = ssmClient(S, reader);
    const readerSealed = { json: await rc.send(new GetParameterCommand({ Name: NAME })) };
    rc.destroy();
    const p = json.json.Parameter;
    assert.equal(p.Name, NAME);
    assert.equal(p.Type, 'SecureString');
    assert.equal(p.Version, 1);
    assert.equal(p.Value, plain, 'the decrypted value differs from the file');
    assert.deepEqual(JSON.parse(p.Value), sa);
    // --output text prints the value and one newline
    assert.equal(text.stdout, `${plain}\n`);

    // without --with-decryption: a SecureString, but not the plaintext
    for (const [r, who] of [[sealed, 'admin key'], [readerSealed, 'read-only key']]) {
      const q = r.json.Parameter;
      assert.equal(q.Type, 'SecureString', who);
      assert.equal(typeof q.Value, 'string', who);
      assert.notEqual(q.Value, plain, `${who}: the plaintext came back without --with-decryption`);
      for (const n of needles) assert.ok(!q.Value.includes(n), `${who}: part of the secret came back without decryption`);
    }
    // a key without the decrypt scope cannot decrypt
    assert.notEqual(denied.code, 0, `a read-only key decrypted the SecureString:\n${denied.stdout}`);
    assert.equal(denied.errorCode, 'AccessDeniedException', denied.stderr);
    assert.ok(!denied.stdout.includes(sa.private_key_id) && !denied.stderr.includes(sa.private_key_id));
  });

  it('re-uploading with --overwrite (the troubleshooting step) makes version 2, still byte for byte', async () => {
    const put = await awsOk(S, ['ssm', 'put-parameter', '--name', NAME, '--value', 'file://google-service-account.json',
      '--type', 'SecureString', '--overwrite', '--region', 'us-east-1'], { cwd: DATA });
    assert.deepEqual(put.json, { Version: 2, Tier: 'Standard' });
    const get = await ssm.send(new GetParameterCommand({ Name: NAME, WithDecryption: true }));
    assert.equal(get.Parameter.Version, 2);
    assert.equal(get.Parameter.Value, plain);
  });

  it('traffic-percent: put-parameter --value "0" --type String --overwrite --region us-east-1', async () => {
    const TP = '/garmaxai/gemini/production/traffic-percent';
    const put = await awsOk(S, ['ssm', 'put-parameter', '--name', TP, '--value', '0', '--type', 'String', '--overwrite',
      '--region', 'us-east-1']);
    assert.deepEqual(put.json, { Version: 1, Tier: 'Standard' });
    const get = await ssm.send(new GetParameterCommand({ Name: TP }));
    assert.equal(get.Parameter.Value, '0');
    assert.equal(get.Parameter.Type, 'String');
  });

  it('the plaintext is nowhere: not in the server log, the audit log, the native API or the data files', async () => {
    // all the writes above are committed (their replies came back); read what is on disk now
    const audit = await api(S, 'GET', '/api/v1/admin/audit?limit=1000');
    assert.equal(audit.status, 200, audit.text);
    const mine = audit.json.records.filter((r) => r.name === NAME);
    assert.equal(mine.length, 2, `two audited writes of ${NAME}: ${audit.text}`);
    // the native API without ?decrypt=true, and the config export without include_secrets
    const nat = await api(S, 'GET', pp(NAME));
    assert.equal(nat.status, 200, nat.text);
    const exp = await api(S, 'GET', '/api/v1/config/runtime');
    assert.equal(exp.status, 200, exp.text);
    for (const n of needles) {
      assert.ok(!S.log.includes(n), `the server log holds part of the secret (${n.slice(0, 30)}…)`);
      assert.ok(!audit.text.includes(n), `the audit log holds part of the secret (${n.slice(0, 30)}…)`);
      assert.ok(!nat.text.includes(n), `GET ${pp(NAME)} without decrypt shows part of the secret`);
      assert.ok(!exp.text.includes(n), 'the config export without include_secrets shows part of the secret');
    }
    assert.deepEqual(filesHolding(S.dataDir, needles), [], 'the data directory holds the plaintext');
  });
});

describe('seed 004: a JSON feature-flag config as a String', () => {
  const NAME = '/audio-transcription/partial-results/config';

  it('stores and returns the JSON text unchanged; --overwrite without --type keeps the type', async () => {
    // the infrastructure deploy creates it (CDK in the runbook; the SDK here)
    const v1 = '{"enabled": true, "rollout_percentage": 10}';
    await ssm.send(new PutParameterCommand({ Name: NAME, Value: v1, Type: 'String' }));
    // aws ssm get-parameter --name /audio-transcription/partial-results/config
    const g1 = await awsOk(S, ['ssm', 'get-parameter', '--name', NAME]);
    assert.equal(g1.json.Parameter.Value, v1);
    assert.deepEqual(JSON.parse(g1.json.Parameter.Value), { enabled: true, rollout_percentage: 10 });

    // the runbook's phase change: put-parameter --name ... --value '{...}' --overwrite (no --type)
    const v2 = '{"enabled":true,"rollout_percentage":100,"min_stability_threshold":0.85,"max_buffer_timeout":3.0}';
    const put = await awsOk(S, ['ssm', 'put-parameter', '--name', NAME, '--value', v2, '--overwrite']);
    assert.deepEqual(put.json, { Version: 2, Tier: 'Standard' });
    const g2 = await awsOk(S, ['ssm', 'get-parameter', '--name', NAME]);
    assert.equal(g2.json.Parameter.Type, 'String');
    assert.equal(g2.json.Parameter.Version, 2);
    assert.equal(g2.json.Parameter.Value, v2, 'the text must come back as sent (0.85, 3.0 kept as written)');
    assert.deepEqual(JSON.parse(g2.json.Parameter.Value),
      { enabled: true, rollout_percentage: 100, min_stability_threshold: 0.85, max_buffer_timeout: 3 });
  });

  it('every write above is audited with the key name as the actor', async () => {
    const recs = (await auditAll(S)).filter((r) => r.name === NAME);
    assert.deepEqual(recs.map((r) => r.new_version), [1, 2]);
    for (const r of recs) assert.equal(r.actor, S.keyName, JSON.stringify(r));
  });
});

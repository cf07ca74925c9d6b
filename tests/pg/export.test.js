// export.test.js — `switchyard config export` of a SQLite server, imported into a PostgreSQL
// server, exports the same again (all but the export's time and sequence number).
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const H = require('../api/helpers');
const P = require('./helpers');

const BIN = process.env.SWITCHYARD_BIN;
// What differs between two exports of the same parameters: when and at which audit record.
const VOLATILE = ['exported_at', 'seq'];

const FLAG = {
  enabled: true,
  rollout_percentage: 25,
  variants: { on: { model: 'gemini' }, off: { model: 'stub' } },
  rules: [{ name: 'nl', constraints: [{ attribute: 'country', operator: 'IN', values: ['NL'] }], variant: 'on' }],
  min_stability_threshold: 0.85,
};

/* Writes one of each kind of parameter and attribute an export carries. */
async function populate(s) {
  const puts = [
    ['/exp/plain', { type: 'String', value: 'hello' }],
    ['/exp/overwritten', { type: 'String', value: 'v1' }],
    ['/exp/overwritten', { type: 'String', value: 'v2', overwrite: true, reason: 'second' }],
    ['/exp/list', { type: 'StringList', value: 'a,b,c', description: 'three letters' }],
    ['/exp/secret', { type: 'SecureString', value: 's3cret-\u00e9\u4e2d', description: 'a secret' }],
    ['/exp/secret-key', { type: 'SecureString', value: 'other key', key_id: 'alias/exp-key' }],
    ['/exp/pattern', { type: 'String', value: '42', allowed_pattern: '^[0-9]+$' }],
    ['/exp/advanced', { type: 'String', value: 'x'.repeat(5000), tier: 'Advanced' }],
    ['/exp/tagged', { type: 'String', value: 't', tags: { team: 'ml', env: 'staging' } }],
    ['/exp/image', { type: 'String', value: 'ami-0123456789abcdef0', data_type: 'aws:ec2:image' }],
    ['/exp/policy', {
      type: 'String', value: 'p', tier: 'Advanced',
      policies: JSON.stringify([{ Type: 'NoChangeNotification', Version: '1.0', Attributes: { After: '30', Unit: 'Days' } }]),
    }],
    ['/exp/json/unicode', { type: 'String', value: '{"quote":"\\"","nl":"a\\nb","tab":"\\t"}' }],
    ['/exp/flags/checkout', { type: 'Flag', value: JSON.stringify(FLAG) }],
  ];
  for (const [name, body] of puts) {
    const r = await H.api(s, 'PUT', H.pp(name), body);
    assert.equal(r.status, 200, `PUT ${name}: ${r.status} ${r.text}`);
  }
  const del = await H.api(s, 'PUT', H.pp('/exp/deleted'), { type: 'String', value: 'gone' });
  assert.equal(del.status, 200, del.text);
  assert.equal((await H.api(s, 'DELETE', H.pp('/exp/deleted'))).status, 200);
  for (let i = 0; i < 300; i++) {
    const r = await H.api(s, 'PUT', H.pp(`/exp/many/p${String(i).padStart(3, '0')}`), { type: 'String', value: `value ${i}` });
    assert.equal(r.status, 200, r.text);
  }
}

describe('config export from SQLite, import into PostgreSQL', { skip: P.SKIP }, () => {
  let src;
  let dst;
  let tmp;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pgexp-'));
    src = await H.startServer({ store: null }); // SQLite in its data directory
    dst = await H.startServer(); // a database of its own on SY_TEST_STORE_PG
  });
  after(async () => {
    if (src) await src.cleanup();
    if (dst) await dst.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const cli = (s) => H.cliRunner(BIN, () => ({ url: s.url, token: s.token }));
  const exportOf = async (s, file) => {
    await cli(s).ok(['config', 'export', '--include-secrets', '-o', file]);
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  };
  const stable = (doc) => {
    const d = { ...doc };
    for (const k of VOLATILE) delete d[k];
    return d;
  };

  it('round-trips every parameter and attribute', async () => {
    assert.equal((await P.health(src)).store, 'sqlite');
    assert.equal((await P.health(dst)).store, 'postgres');
    await populate(src);
    const a = path.join(tmp, 'sqlite.json');
    const b = path.join(tmp, 'postgres.json');
    const orig = await exportOf(src, a);
    assert.equal(orig.format, 'switchyard-config/1');
    assert.equal(orig.params.length, 312, `params in the export: ${orig.params.length}`);
    for (const k of VOLATILE) assert.ok(k in orig, `the export has no ${k}`);

    const dry = await cli(dst).ok(['config', 'import', a, '--json']);
    assert.equal(JSON.parse(dry.stdout).summary.create, 312, dry.stdout);
    await cli(dst).ok(['config', 'import', a, '--apply']);
    const back = await exportOf(dst, b);
    assert.deepEqual(stable(back), stable(orig));

    // importing it again changes nothing, and the PostgreSQL store's audit chain holds
    const again = await cli(dst).ok(['config', 'import', a, '--json']);
    const sum = JSON.parse(again.stdout).summary;
    assert.deepEqual(sum, { create: 0, update: 0, unchanged: 312, delete: 0 }, again.stdout);
    const v = await cli(dst).ok(['audit', 'verify']);
    assert.match(v.stdout, /audit chain ok/);
    // and the values read back the same through the API, secrets too
    for (const name of ['/exp/secret', '/exp/secret-key', '/exp/json/unicode', '/exp/flags/checkout']) {
      const x = await H.api(src, 'GET', `${H.pp(name)}?decrypt=true`);
      const y = await H.api(dst, 'GET', `${H.pp(name)}?decrypt=true`);
      assert.equal(y.json.value, x.json.value, name);
      assert.equal(y.json.type, x.json.type, name);
    }
  });
});

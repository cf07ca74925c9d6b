// config.test.js — export the whole config, import it back: dry run, apply, prune, refusals.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, pp, storeSnapshot, assertHealthy } = require('./helpers');

let S;
const SECRET = 'cfg-S3cret-Value-0042';
const CFG = '/api/v1/config/runtime';

before(async () => {
  S = await startServer();
  const w = async (name, body) => {
    const r = await api(S, 'PUT', pp(name), body);
    assert.equal(r.status, 200, `${name}: ${r.text}`);
  };
  await w('/cfg/a', { value: 'one', type: 'String', description: 'desc a', tags: { team: 'ml' } });
  await w('/cfg/b', { value: 'x,y', type: 'StringList' });
  await w('/cfg/s', { value: SECRET, type: 'SecureString' });
  await w('/cfg/pat', { value: '123', type: 'String', allowed_pattern: '^[0-9]+$' });
  await w('/cfg/lab', { value: 'l1', type: 'String' });
  await w('/cfg/lab', { value: 'l2', overwrite: true });
  const l = await api(S, 'POST', pp('/cfg/lab', '/labels'), { version: 1, labels: ['prod'] });
  assert.equal(l.status, 200, l.text);
});
after(async () => { if (S) await S.cleanup(); });

const NAMES = ['/cfg/a', '/cfg/b', '/cfg/lab', '/cfg/pat', '/cfg/s'];

async function exportCfg(secrets) {
  const r = await api(S, 'GET', CFG + (secrets ? '?include_secrets=true' : ''));
  assert.equal(r.status, 200, r.text);
  return r;
}

async function versions() {
  const out = {};
  for (const n of [...NAMES, '/cfg/new']) {
    const g = await api(S, 'GET', pp(n) + '?decrypt=true');
    out[n] = g.status === 200 ? `${g.json.version}:${g.json.value}` : g.status;
  }
  return out;
}

const byName = (changes) => Object.fromEntries(changes.map((c) => [c.name, c.action]));

describe('config export/import', () => {
  it('exports every parameter, SecureString values only with include_secrets=true', async () => {
    const r = await exportCfg(false);
    const x = r.json;
    assert.equal(x.format, 'switchyard-config/1');
    assert.match(x.exported_at, /^\d{4}-\d\d-\d\dT/);
    assert.ok(Number.isInteger(x.seq) && x.seq > 0, `seq: ${x.seq}`);
    assert.deepEqual(x.params.map((p) => p.name), NAMES);
    const a = x.params.find((p) => p.name === '/cfg/a');
    assert.equal(a.type, 'String');
    assert.equal(a.value, 'one');
    assert.equal(a.description, 'desc a');
    assert.equal(a.tier, 'Standard');
    assert.deepEqual(a.tags, { team: 'ml' });
    assert.equal(x.params.find((p) => p.name === '/cfg/b').type, 'StringList');
    assert.equal(x.params.find((p) => p.name === '/cfg/pat').allowed_pattern, '^[0-9]+$');
    assert.equal(x.params.find((p) => p.name === '/cfg/lab').value, 'l2');
    const s = x.params.find((p) => p.name === '/cfg/s');
    assert.equal(s.type, 'SecureString');
    assert.ok(s.value === undefined || s.value === null, `secret exported: ${JSON.stringify(s)}`);
    assert.ok(!r.text.includes(SECRET));
    const full = await exportCfg(true);
    assert.equal(full.json.params.find((p) => p.name === '/cfg/s').value, SECRET);
  });

  it('posting an export back is a dry run with everything unchanged', async () => {
    const before0 = await storeSnapshot(S);
    const full = (await exportCfg(true)).json;
    const r = await api(S, 'POST', CFG, full);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.dry_run, true);
    assert.deepEqual(byName(r.json.changes), Object.fromEntries(NAMES.map((n) => [n, 'unchanged'])));
    assert.deepEqual(r.json.summary, { create: 0, update: 0, unchanged: 5, delete: 0 });
    const ap = await api(S, 'POST', CFG + '?apply=true', full);
    assert.equal(ap.status, 200, ap.text);
    assert.equal(ap.json.dry_run, false);
    assert.deepEqual(ap.json.summary, { create: 0, update: 0, unchanged: 5, delete: 0 });
    assert.deepEqual(await storeSnapshot(S), before0, 'an import of an identical export wrote something');
  });

  it('an export without secrets, imported back, never blanks a SecureString', async () => {
    const before0 = await versions();
    const plain = (await exportCfg(false)).json;
    const r = await api(S, 'POST', CFG, plain);
    if (r.status === 200) {
      assert.equal(byName(r.json.changes)['/cfg/s'], 'unchanged', `dry run would change the secret: ${r.text}`);
      const ap = await api(S, 'POST', CFG + '?apply=true', plain);
      assert.equal(ap.status, 200, ap.text);
    } else {
      assert.equal(r.status, 400, r.text);
    }
    assert.deepEqual(await versions(), before0);
  });

  it('a changed value and a new param show as update/create in a dry run, and nothing is written', async () => {
    const x = (await exportCfg(true)).json;
    x.params.find((p) => p.name === '/cfg/a').value = 'uno';
    x.params.push({ name: '/cfg/new', type: 'String', value: 'fresh', description: '', allowed_pattern: '', tier: 'Standard', tags: {}, labels: {} });
    const before0 = await storeSnapshot(S);
    const v0 = await versions();
    const r = await api(S, 'POST', CFG, x);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.dry_run, true);
    const c = byName(r.json.changes);
    assert.equal(c['/cfg/a'], 'update');
    assert.equal(c['/cfg/new'], 'create');
    for (const n of ['/cfg/b', '/cfg/lab', '/cfg/pat', '/cfg/s']) assert.equal(c[n], 'unchanged', n);
    assert.deepEqual(r.json.summary, { create: 1, update: 1, unchanged: 4, delete: 0 });
    assert.deepEqual(await storeSnapshot(S), before0, 'a dry run wrote something');
    assert.deepEqual(await versions(), v0);
  });

  it('apply=true commits and audits each change as "import"', async () => {
    const x = (await exportCfg(true)).json;
    x.params.find((p) => p.name === '/cfg/a').value = 'uno';
    x.params.push({ name: '/cfg/new', type: 'String', value: 'fresh', description: '', allowed_pattern: '', tier: 'Standard', tags: {}, labels: {} });
    const seq0 = (await storeSnapshot(S)).lastSeq;
    const r = await api(S, 'POST', CFG + '?apply=true', x);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.dry_run, false);
    assert.deepEqual(r.json.summary, { create: 1, update: 1, unchanged: 4, delete: 0 });
    const v = await versions();
    assert.equal(v['/cfg/a'], '2:uno');
    assert.equal(v['/cfg/new'], '1:fresh');
    assert.equal(v['/cfg/b'], '1:x,y');
    assert.equal(v['/cfg/s'], `1:${SECRET}`);
    assert.equal(v['/cfg/lab'], '2:l2');
    assert.equal((await api(S, 'GET', pp('/cfg/a'))).json.description, 'desc a');
    assert.deepEqual((await api(S, 'GET', pp('/cfg/lab:prod'))).json.version, 1);
    const a = await api(S, 'GET', `/api/v1/admin/audit?order=asc&after=${seq0}`);
    const recs = a.json.records;
    assert.equal(recs.length, 2, `expected 2 audit records: ${a.text}`);
    const ra = recs.find((q) => q.name === '/cfg/a');
    const rn = recs.find((q) => q.name === '/cfg/new');
    assert.ok(ra && rn, a.text);
    assert.equal(ra.action, 'import');
    assert.equal(ra.old_version, 1);
    assert.equal(ra.new_version, 2);
    assert.equal(rn.action, 'import');
    assert.equal(rn.new_version, 1);
    // applying the same import again changes nothing
    const again = await api(S, 'POST', CFG + '?apply=true', x);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json.summary, { create: 0, update: 0, unchanged: 6, delete: 0 });
    assert.equal((await storeSnapshot(S)).lastSeq, recs.at(-1).seq);
    // the applied answer lists its changes like a dry run (checked last so the rest runs)
    assert.ok(Array.isArray(r.json.changes), `an applied import should list its changes: ${r.text}`);
    assert.equal(byName(r.json.changes)['/cfg/a'], 'update');
    assert.equal(byName(r.json.changes)['/cfg/new'], 'create');
  });

  it('prune=true deletes params the export does not hold (and only with prune)', async () => {
    const x = (await exportCfg(true)).json;
    x.params = x.params.filter((p) => p.name !== '/cfg/b');
    let r = await api(S, 'POST', CFG + '?apply=true', x);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.summary.delete, 0);
    assert.equal((await api(S, 'GET', pp('/cfg/b'))).status, 200, 'deleted without prune');
    r = await api(S, 'POST', CFG + '?prune=true', x);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.dry_run, true);
    assert.equal(byName(r.json.changes)['/cfg/b'], 'delete');
    assert.equal(r.json.summary.delete, 1);
    assert.equal((await api(S, 'GET', pp('/cfg/b'))).status, 200, 'a dry run pruned');
    const seq0 = (await storeSnapshot(S)).lastSeq;
    r = await api(S, 'POST', CFG + '?apply=true&prune=true', x);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.summary.delete, 1);
    const g = await api(S, 'GET', pp('/cfg/b'));
    assert.equal(g.status, 404, g.text);
    assert.equal(g.json.error.code, 'ParameterNotFound');
    const a = await api(S, 'GET', `/api/v1/admin/audit?order=asc&after=${seq0}`);
    assert.equal(a.json.records.length, 1, a.text);
    assert.equal(a.json.records[0].name, '/cfg/b');
    assert.equal(a.json.records[0].old_version, 1);
    for (const n of ['/cfg/a', '/cfg/lab', '/cfg/pat', '/cfg/s', '/cfg/new']) {
      assert.equal((await api(S, 'GET', pp(n))).status, 200, `${n} was pruned`);
    }
  });

  it('a malformed or invalid import → 400 and nothing is written', async () => {
    const good = (await exportCfg(true)).json;
    const withParam = (p) => ({ ...good, params: [...good.params, p] });
    const mod = (name, patch) => ({ ...good, params: good.params.map((p) => (p.name === name ? { ...p, ...patch } : p)) });
    const newParam = { name: '/cfg/ok-new', type: 'String', value: 'fine', tags: {}, labels: {} };
    const cases = [
      ['invalid JSON', '{"format": "switchyard-config/1", "params": ['],
      ['not an object', '[]'],
      ['wrong format', { ...good, format: 'other/9' }],
      ['no format', { params: good.params }],
      ['params not a list', { ...good, params: {} }],
      ['bad name', withParam({ ...newParam, name: '/cfg/../x' })],
      ['16 levels', withParam({ ...newParam, name: '/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p' })],
      ['unknown type', withParam({ ...newParam, type: 'Bogus' })],
      ['value not a string', withParam({ ...newParam, value: 5 })],
      ['duplicate name', withParam({ ...newParam, name: '/cfg/a', value: 'dup' })],
      ['a good new param and a bad one', { ...good, params: [...good.params, newParam, { ...newParam, name: '/cfg/bad$' }] }],
      ['pattern mismatch', mod('/cfg/pat', { value: 'abc' })],
      ['value over 4096 bytes', mod('/cfg/a', { value: 'z'.repeat(4097) })],
      ['a good update and a bad create', { ...mod('/cfg/a', { value: 'changed' }), params: [...mod('/cfg/a', { value: 'changed' }).params, { ...newParam, type: 'Nope' }] }],
    ];
    const failures = []; // every case is tried; all failures are reported together
    for (const [what, body] of cases) {
      for (const q of ['', '?apply=true', '?apply=true&prune=true']) {
        const before0 = await storeSnapshot(S);
        const v0 = await versions();
        const r = await api(S, 'POST', CFG + q, body);
        if (r.status !== 400 || !(r.json && r.json.error && typeof r.json.error.code === 'string')) {
          failures.push(`${what} ${q}: ${r.status} ${r.text.slice(0, 300)}`);
        } else if (what === 'pattern mismatch' && r.json.error.code !== 'ParameterPatternMismatchException') {
          failures.push(`${what} ${q}: code ${r.json.error.code}`);
        }
        if (JSON.stringify(await storeSnapshot(S)) !== JSON.stringify(before0)) failures.push(`${what} ${q}: changed the store`);
        if (JSON.stringify(await versions()) !== JSON.stringify(v0)) failures.push(`${what} ${q}: changed a value`);
        if ((await api(S, 'GET', pp('/cfg/ok-new'))).status !== 404) failures.push(`${what} ${q}: a partial import`);
      }
    }
    assert.deepEqual(failures, []);
    await assertHealthy(S);
  });
});

// params.test.js — the parameter endpoints of docs/API.md against a live server.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, pp, listAll } = require('./helpers');

let S;
before(async () => { S = await startServer(); });
after(async () => { if (S) await S.cleanup(); });

/* The fields the contract names, with their values (extra fields are allowed). */
function assertFields(obj, exp) {
  assert.ok(obj && typeof obj === 'object', `not an object: ${JSON.stringify(obj)}`);
  for (const [k, v] of Object.entries(exp)) assert.deepEqual(obj[k], v, `field ${k} of ${JSON.stringify(obj)}`);
}

const put = (name, body, tok) => api(S, 'PUT', pp(name), body, tok);
const get = (name, q = '', tok) => api(S, 'GET', pp(name) + q, undefined, tok);

function assertError(r, status, code, what = '') {
  assert.equal(r.status, status, `${what} expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.ok(r.json && r.json.error, `${what} error body must be {"error":{...}}: ${r.text}`);
  if (code) assert.equal(r.json.error.code, code, `${what} error code: ${r.text}`);
  assert.equal(typeof r.json.error.message, 'string', `${what} error.message: ${r.text}`);
  assert.ok(r.json.error.message.length > 0);
}

async function mustPut(name, body) {
  const r = await put(name, body);
  assert.equal(r.status, 200, `PUT ${name} ${JSON.stringify(body).slice(0, 200)} → ${r.status} ${r.text}`);
  return r.json;
}

async function history(name) {
  const out = [];
  let next = null;
  for (let i = 0; i < 100; i++) {
    const r = await api(S, 'GET', pp(name, `/history?limit=100${next ? `&next=${encodeURIComponent(next)}` : ''}`));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, name);
    out.push(...r.json.versions);
    next = r.json.next;
    if (!next) break;
  }
  return out;
}

describe('put and get', () => {
  it('round-trips a String with every field of the parameter object', async () => {
    const w = await mustPut('/p/rt/strategy', { value: 'gemini', type: 'String', description: 'the provider', allowed_pattern: '^[a-z]+$' });
    assertFields(w, { name: '/p/rt/strategy', version: 1, tier: 'Standard' });
    const r = await get('/p/rt/strategy');
    assert.equal(r.status, 200, r.text);
    const p = r.json;
    assert.equal(p.name, '/p/rt/strategy');
    assert.equal(p.type, 'String');
    assert.equal(p.value, 'gemini');
    assert.equal(p.version, 1);
    assert.equal(p.tier, 'Standard');
    assert.equal(p.data_type, 'text');
    assert.equal(p.description, 'the provider');
    assert.equal(p.allowed_pattern, '^[a-z]+$');
    assert.deepEqual(p.labels, []);
    assert.deepEqual(p.tags, {});
    assert.match(p.last_modified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(typeof p.last_modified_user, 'string');
    assert.ok(p.last_modified_user.length > 0);
    assert.match(r.headers['content-type'] || '', /application\/json/);
  });

  it('keeps unicode and JSON-special characters byte for byte', async () => {
    const v = 'naïve "quoted" \\ back\nslash\ttab — ☃ 𝄞 <>&\'';
    await mustPut('/p/rt/unicode', { value: v, type: 'String' });
    const r = await get('/p/rt/unicode');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.value, v);
  });

  it('refuses a create without type (400 ValidationException naming "type") and writes nothing', async () => {
    const r = await put('/p/notype', { value: 'x' });
    assertError(r, 400, 'ValidationException');
    assert.match(r.json.error.message, /type/);
    assertError(await get('/p/notype'), 404, 'ParameterNotFound');
  });

  it('refuses an existing name without overwrite (409 ParameterAlreadyExists), value unchanged', async () => {
    await mustPut('/p/exists', { value: 'one', type: 'String' });
    const r = await put('/p/exists', { value: 'two', type: 'String' });
    assertError(r, 409, 'ParameterAlreadyExists');
    const g = await get('/p/exists');
    assert.equal(g.json.value, 'one');
    assert.equal(g.json.version, 1);
    const r2 = await put('/p/exists', { value: 'two', type: 'String', overwrite: false });
    assertError(r2, 409, 'ParameterAlreadyExists');
  });

  it('overwrite makes version n+1 (type may be omitted and is kept)', async () => {
    await mustPut('/p/ow', { value: 'v1', type: 'String' });
    const w2 = await mustPut('/p/ow', { value: 'v2', type: 'String', overwrite: true });
    assert.equal(w2.version, 2);
    const w3 = await mustPut('/p/ow', { value: 'v3', overwrite: true });
    assert.equal(w3.version, 3);
    const g = await get('/p/ow');
    assert.equal(g.json.version, 3);
    assert.equal(g.json.value, 'v3');
    assert.equal(g.json.type, 'String');
  });

  it('if_version: mismatch → 409 VersionConflict, match → 200, 0 means must not exist', async () => {
    await mustPut('/p/ifv', { value: 'a', type: 'String' });
    await mustPut('/p/ifv', { value: 'b', overwrite: true });
    const bad = await put('/p/ifv', { value: 'c', overwrite: true, if_version: 1 });
    assertError(bad, 409, 'VersionConflict');
    assert.equal((await get('/p/ifv')).json.value, 'b');
    const ok = await put('/p/ifv', { value: 'c', overwrite: true, if_version: 2 });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.version, 3);
    const zero = await put('/p/ifv', { value: 'd', overwrite: true, if_version: 0 });
    assertError(zero, 409, 'VersionConflict');
    const create = await put('/p/ifv-new', { value: 'n', type: 'String', if_version: 0 });
    assert.equal(create.status, 200, create.text);
    assert.equal(create.json.version, 1);
    const again = await put('/p/ifv-new', { value: 'n2', type: 'String', overwrite: true, if_version: 0 });
    assertError(again, 409, 'VersionConflict');
    const ahead = await put('/p/ifv-missing', { value: 'n', type: 'String', if_version: 5 });
    assert.ok([404, 409].includes(ahead.status), `if_version 5 on a missing name: ${ahead.status} ${ahead.text}`);
    assertError(await get('/p/ifv-missing'), 404, 'ParameterNotFound');
  });
});

describe('selectors', () => {
  before(async () => {
    await mustPut('/p/sel', { value: 'one', type: 'String' });
    await mustPut('/p/sel', { value: 'two', overwrite: true });
    await mustPut('/p/sel', { value: 'three', overwrite: true });
    const l = await api(S, 'POST', pp('/p/sel', '/labels'), { version: 1, labels: ['prod'] });
    assert.equal(l.status, 200, l.text);
  });

  it('GET ?version=N and name:N', async () => {
    for (const [n, v] of [[1, 'one'], [2, 'two'], [3, 'three']]) {
      const r = await get('/p/sel', `?version=${n}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.version, n);
      assert.equal(r.json.value, v);
      const r2 = await api(S, 'GET', pp(`/p/sel:${n}`));
      assert.equal(r2.status, 200, r2.text);
      assert.equal(r2.json.version, n);
      assert.equal(r2.json.value, v);
      assert.equal(r2.json.name, '/p/sel', 'the selector is not part of the name');
    }
  });

  it('GET ?label=L and name:label', async () => {
    const a = await get('/p/sel', '?label=prod');
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.version, 1);
    assert.equal(a.json.value, 'one');
    assert.deepEqual(a.json.labels, ['prod']);
    const b = await api(S, 'GET', pp('/p/sel:prod'));
    assert.equal(b.status, 200, b.text);
    assert.equal(b.json.version, 1);
    assert.equal(b.json.value, 'one');
    const latest = await get('/p/sel');
    assert.deepEqual(latest.json.labels, []);
  });

  it('unknown name → 404 ParameterNotFound, unknown version → 404 ParameterVersionNotFound', async () => {
    assertError(await get('/p/nope'), 404, 'ParameterNotFound');
    assertError(await api(S, 'GET', pp('/p/nope:1')), 404, 'ParameterNotFound');
    assertError(await get('/p/sel', '?version=99'), 404, 'ParameterVersionNotFound');
    assertError(await api(S, 'GET', pp('/p/sel:99')), 404, 'ParameterVersionNotFound');
    const lab = await get('/p/sel', '?label=nolabel');
    assert.equal(lab.status, 404, lab.text);
    assert.ok(['ParameterVersionNotFound', 'ParameterNotFound'].includes(lab.json.error.code), lab.text);
    const bad = await get('/p/sel', '?version=abc');
    assert.equal(bad.status, 400, `?version=abc → ${bad.status} ${bad.text}`);
    const zero = await get('/p/sel', '?version=0');
    assert.ok([400, 404].includes(zero.status), `?version=0 → ${zero.status} ${zero.text}`);
  });
});

describe('list', () => {
  before(async () => {
    for (const n of ['/l/b', '/l/a', '/l/sub/c', '/l/sub/deep/d', '/l2/x']) await mustPut(n, { value: n, type: 'String' });
  });

  it('lists direct children only without recursive, by name', async () => {
    const r = await api(S, 'GET', '/api/v1/params?path=/l');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.params.map((p) => p.name), ['/l/a', '/l/b']);
    assert.equal(r.json.next, null);
    assert.equal(r.json.params[0].value, '/l/a');
  });

  it('lists the whole subtree with recursive=true, sorted', async () => {
    const r = await api(S, 'GET', '/api/v1/params?path=/l&recursive=true');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.params.map((p) => p.name), ['/l/a', '/l/b', '/l/sub/c', '/l/sub/deep/d']);
    const sub = await api(S, 'GET', '/api/v1/params?path=/l/sub');
    assert.deepEqual(sub.json.params.map((p) => p.name), ['/l/sub/c']);
  });

  it('an empty path lists nothing, not an error', async () => {
    const r = await api(S, 'GET', '/api/v1/params?path=/nothing-here&recursive=true');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.params, []);
    assert.equal(r.json.next, null);
  });

  it('pages 120 params with limit/next: every name once, sorted by name', async () => {
    const names = [];
    for (let i = 0; i < 120; i++) {
      // mixed case, digits, '-', '_' and '.' so byte order differs from a naive numeric order
      const stem = ['A', 'b', 'B', 'z', '_', '-', '0', '9', 'a.b', 'Z'][i % 10];
      names.push(`/page/${stem}${String(119 - i).padStart(3, '0')}`);
    }
    for (const n of names) await mustPut(n, { value: 'v', type: 'String' });
    const expect = [...names].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
    const seen = [];
    let next = null;
    let pages = 0;
    do {
      const r = await api(S, 'GET', `/api/v1/params?path=/page&limit=50${next ? `&next=${encodeURIComponent(next)}` : ''}`);
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.params.length <= 50);
      seen.push(...r.json.params.map((p) => p.name));
      next = r.json.next;
      pages++;
      assert.ok(pages < 10, 'paging does not terminate');
    } while (next);
    assert.equal(pages, 3);
    assert.deepEqual(seen, expect);
    // default limit is 50
    const d = await api(S, 'GET', '/api/v1/params?path=/page');
    assert.equal(d.json.params.length, 50);
    assert.equal(typeof d.json.next, 'string');
  });

  it('refuses limit outside 1..1000', async () => {
    for (const l of ['0', '1001', '-1', 'abc']) {
      const r = await api(S, 'GET', `/api/v1/params?path=/page&limit=${l}`);
      assertError(r, 400, 'ValidationException', `limit=${l}`);
    }
    const r = await api(S, 'GET', '/api/v1/params?path=/page&limit=1000');
    assert.equal(r.status, 200, r.text);
  });
});

describe('history', () => {
  it('lists every version oldest first with labels', async () => {
    await mustPut('/h/x', { value: 'a', type: 'String' });
    await mustPut('/h/x', { value: 'b', overwrite: true });
    await mustPut('/h/x', { value: 'c', overwrite: true });
    await api(S, 'POST', pp('/h/x', '/labels'), { version: 2, labels: ['canary'] });
    const v = await history('/h/x');
    assert.deepEqual(v.map((p) => p.version), [1, 2, 3]);
    assert.deepEqual(v.map((p) => p.value), ['a', 'b', 'c']);
    assert.deepEqual(v.map((p) => p.labels), [[], ['canary'], []]);
    const paged = await api(S, 'GET', pp('/h/x', '/history?limit=2'));
    assert.equal(paged.status, 200, paged.text);
    assert.deepEqual(paged.json.versions.map((p) => p.version), [1, 2]);
    assert.ok(paged.json.next, 'a next token when more versions remain');
    const rest = await api(S, 'GET', pp('/h/x', `/history?limit=2&next=${encodeURIComponent(paged.json.next)}`));
    assert.deepEqual(rest.json.versions.map((p) => p.version), [3]);
    assert.equal(rest.json.next, null);
    assertError(await api(S, 'GET', pp('/h/none', '/history')), 404, 'ParameterNotFound');
  });
});

describe('history reasons', () => {
  it('each version carries the reason it was written with', async () => {
    await mustPut('/hr/x', { value: 'a', type: 'String' });
    await mustPut('/hr/x', { value: 'b', overwrite: true, reason: 'gemini outage' });
    let r = await api(S, 'POST', pp('/hr/x', '/rollback'), { to_version: 1, reason: 'back to a' });
    assert.equal(r.status, 200, r.text);
    await api(S, 'POST', pp('/hr/x', '/labels'), { version: 2, labels: ['bad'] }); // no new version, no new reason
    const doc = { format: 'switchyard-config/1', params: [{ name: '/hr/x', type: 'String', value: 'imported' }] };
    r = await api(S, 'POST', '/api/v1/config/runtime?apply=true&reason=restore%20backup', doc);
    assert.equal(r.status, 200, r.text);
    const h = await history('/hr/x');
    assert.deepEqual(h.map((v) => [v.version, v.value, v.reason]),
      [[1, 'a', ''], [2, 'b', 'gemini outage'], [3, 'a', 'back to a'], [4, 'imported', 'restore backup']]);
    // a parameter deleted and made again starts a history of its own
    assert.equal((await api(S, 'DELETE', pp('/hr/x') + '?reason=gone')).status, 200);
    await mustPut('/hr/x', { value: 'again', type: 'String', reason: 'new life' });
    assert.deepEqual((await history('/hr/x')).map((v) => [v.version, v.reason]), [[1, 'new life']]);
  });
});

describe('labels', () => {
  it('moves a label between versions', async () => {
    await mustPut('/lab/m', { value: 'a', type: 'String' });
    await mustPut('/lab/m', { value: 'b', overwrite: true });
    let r = await api(S, 'POST', pp('/lab/m', '/labels'), { version: 1, labels: ['prod'] });
    assert.equal(r.status, 200, r.text);
    assertFields(r.json, { version: 1, invalid_labels: [] });
    r = await api(S, 'POST', pp('/lab/m', '/labels'), { labels: ['prod'] }); // default: latest
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 2);
    assert.deepEqual((await get('/lab/m', '?version=1')).json.labels, []);
    assert.deepEqual((await get('/lab/m', '?version=2')).json.labels, ['prod']);
    assert.equal((await get('/lab/m', '?label=prod')).json.value, 'b');
    r = await api(S, 'POST', pp('/lab/m', '/labels'), { version: 9, labels: ['x'] });
    assertError(r, 404, 'ParameterVersionNotFound');
    r = await api(S, 'POST', pp('/lab/none', '/labels'), { labels: ['x'] });
    assertError(r, 404, 'ParameterNotFound');
  });

  it('refuses more than 10 labels on one version and changes nothing', async () => {
    await mustPut('/lab/ten', { value: 'a', type: 'String' });
    const ten = Array.from({ length: 10 }, (_, i) => `l${i}`);
    let r = await api(S, 'POST', pp('/lab/ten', '/labels'), { labels: ten });
    assert.equal(r.status, 200, r.text);
    r = await api(S, 'POST', pp('/lab/ten', '/labels'), { labels: ['eleventh'] });
    assert.equal(r.status, 400, `11th label → ${r.status} ${r.text}`);
    assert.deepEqual([...(await get('/lab/ten')).json.labels].sort(), [...ten].sort());
    await mustPut('/lab/eleven', { value: 'a', type: 'String' });
    r = await api(S, 'POST', pp('/lab/eleven', '/labels'), { labels: [...ten, 'l10'] });
    assert.equal(r.status, 400, `11 labels at once → ${r.status} ${r.text}`);
    assert.deepEqual((await get('/lab/eleven')).json.labels, []);
    // re-applying labels a version already has is not "more"
    r = await api(S, 'POST', pp('/lab/ten', '/labels'), { labels: ['l0', 'l1'] });
    assert.equal(r.status, 200, r.text);
  });

  it('reports invalid labels (SSM rules) and applies none of them', async () => {
    await mustPut('/lab/inv', { value: 'a', type: 'String' });
    const invalid = ['1abc', '9', 'aws-x', 'AWSfoo', 'ssm', 'SsmBar', 'has space', 'slash/x', 'colon:x', 'x'.repeat(101), 'ünï'];
    const valid = ['ok_label', 'a.b-c_D9', 'y'.repeat(100), 'awx', 'xssm'];
    // at most 10 labels per request, so in three requests that mix valid and invalid ones
    for (const [v, inv] of [[valid.slice(0, 2), invalid.slice(0, 6)], [valid.slice(2, 4), invalid.slice(6)], [valid.slice(4), []]]) {
      const r = await api(S, 'POST', pp('/lab/inv', '/labels'), { labels: [...inv, ...v] });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual([...r.json.invalid_labels].sort(), [...inv].sort());
    }
    const labels = (await get('/lab/inv')).json.labels;
    for (const l of invalid) assert.ok(!labels.includes(l), `invalid label ${l} was attached`);
    assert.deepEqual([...labels].sort(), [...valid].sort());
  });

  it('removes labels, reporting the ones that were not there', async () => {
    await mustPut('/lab/rm', { value: 'a', type: 'String' });
    await api(S, 'POST', pp('/lab/rm', '/labels'), { labels: ['a', 'b', 'c'] });
    let r = await api(S, 'DELETE', pp('/lab/rm', '/labels'), { labels: ['a', 'zz'] });
    assert.equal(r.status, 200, r.text);
    assertFields(r.json, { removed: ['a'], invalid_labels: ['zz'] });
    r = await api(S, 'DELETE', pp('/lab/rm', '/labels?labels=b,c'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([...r.json.removed].sort(), ['b', 'c']);
    assert.deepEqual((await get('/lab/rm')).json.labels, []);
  });
});

describe('tags', () => {
  it('adds, replaces and removes tags without making a version', async () => {
    await mustPut('/t/a', { value: 'a', type: 'String', tags: { team: 'ml' } });
    assert.deepEqual((await get('/t/a')).json.tags, { team: 'ml' });
    let r = await api(S, 'PUT', pp('/t/a', '/tags'), { tags: { env: 'prod' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.tags, { team: 'ml', env: 'prod' });
    r = await api(S, 'PUT', pp('/t/a', '/tags'), { tags: { team: 'ai', empty: '' } });
    assert.deepEqual(r.json.tags, { team: 'ai', env: 'prod', empty: '' });
    r = await api(S, 'DELETE', pp('/t/a', '/tags'), { keys: ['env'] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.tags, { team: 'ai', empty: '' });
    r = await api(S, 'DELETE', pp('/t/a', '/tags?keys=team,empty'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.tags, {});
    const g = await get('/t/a');
    assert.deepEqual(g.json.tags, {});
    assert.equal(g.json.version, 1, 'tag changes are metadata, not versions');
    assertError(await api(S, 'PUT', pp('/t/none', '/tags'), { tags: { a: 'b' } }), 404, 'ParameterNotFound');
  });

  it('tags are allowed on create only', async () => {
    await mustPut('/t/ow', { value: 'a', type: 'String' });
    const r = await put('/t/ow', { value: 'b', overwrite: true, tags: { k: 'v' } });
    assertError(r, 400, 'ValidationException');
    assert.match(r.json.error.message, /tags/);
    const g = await get('/t/ow');
    assert.equal(g.json.value, 'a');
    assert.deepEqual(g.json.tags, {});
  });

  it('enforces ≤50 tags, key 1–128 and value 0–256 characters', async () => {
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, `v${i}`]));
    await mustPut('/t/lim', { value: 'a', type: 'String', tags: fifty });
    let r = await api(S, 'PUT', pp('/t/lim', '/tags'), { tags: { k51: 'x' } });
    assertError(r, 400, null, '51st tag');
    const code51 = r.json.error.code; // checked last, so the other limits are tested too
    assert.equal(Object.keys((await get('/t/lim')).json.tags).length, 50);
    r = await api(S, 'PUT', pp('/t/lim', '/tags'), { tags: { k0: 'replaced' } });
    assert.equal(r.status, 200, `replacing a tag at the limit: ${r.text}`);
    const fiftyOne = { ...fifty, k50: 'x' };
    r = await put('/t/lim51', { value: 'a', type: 'String', tags: fiftyOne });
    assertError(r, 400, null, '51 tags on create');
    assertError(await get('/t/lim51'), 404, 'ParameterNotFound');

    await mustPut('/t/len', { value: 'a', type: 'String' });
    r = await api(S, 'PUT', pp('/t/len', '/tags'), { tags: { ['k'.repeat(128)]: 'v'.repeat(256) } });
    assert.equal(r.status, 200, `128/256 boundary: ${r.text}`);
    for (const [k, v, what] of [['k'.repeat(129), 'v', 'key 129'], ['', 'v', 'empty key'], ['k', 'v'.repeat(257), 'value 257']]) {
      r = await api(S, 'PUT', pp('/t/len', '/tags'), { tags: { [k]: v } });
      assertError(r, 400, 'ValidationException', what);
    }
    assert.deepEqual(Object.keys((await get('/t/len')).json.tags), ['k'.repeat(128)]);
    assert.equal(code51, 'TooManyTagsError', 'the tag limit has its own code, as in SSM (docs/API.md)');
  });
});

describe('delete and rollback', () => {
  it('delete then GET → 404, delete again → 404', async () => {
    await mustPut('/d/x', { value: 'a', type: 'String' });
    await mustPut('/d/x', { value: 'b', overwrite: true });
    let r = await api(S, 'DELETE', pp('/d/x'));
    assert.equal(r.status, 200, r.text);
    assertFields(r.json, { deleted: '/d/x' });
    assertError(await get('/d/x'), 404, 'ParameterNotFound');
    assertError(await get('/d/x', '?version=1'), 404, 'ParameterNotFound');
    assertError(await api(S, 'GET', pp('/d/x', '/history')), 404, 'ParameterNotFound');
    r = await api(S, 'DELETE', pp('/d/x'));
    assertError(r, 404, 'ParameterNotFound');
    const l = await api(S, 'GET', '/api/v1/params?path=/d');
    assert.deepEqual(l.json.params, []);
    // the name can be created again, and does not resurrect the old value
    const c = await put('/d/x', { value: 'new', type: 'String' });
    assert.equal(c.status, 200, c.text);
    assert.equal((await get('/d/x')).json.value, 'new');
  });

  it('rollback writes the old value as a new version', async () => {
    await mustPut('/rb/x', { value: 'good', type: 'String' });
    await mustPut('/rb/x', { value: 'bad', overwrite: true });
    const r = await api(S, 'POST', pp('/rb/x', '/rollback'), { to_version: 1, reason: 'bad deploy' });
    assert.equal(r.status, 200, r.text);
    assertFields(r.json, { name: '/rb/x', version: 3, tier: 'Standard' });
    const g = await get('/rb/x');
    assert.equal(g.json.version, 3);
    assert.equal(g.json.value, 'good');
    const h = await history('/rb/x');
    assert.deepEqual(h.map((p) => p.value), ['good', 'bad', 'good']);
    assertError(await api(S, 'POST', pp('/rb/x', '/rollback'), { to_version: 42 }), 404, 'ParameterVersionNotFound');
    assertError(await api(S, 'POST', pp('/rb/none', '/rollback'), { to_version: 1 }), 404, 'ParameterNotFound');
    assert.equal((await get('/rb/x')).json.version, 3);
  });
});

describe('validation of values', () => {
  it('enforces allowed_pattern on every write', async () => {
    await mustPut('/v/pat', { value: '123', type: 'String', allowed_pattern: '^[0-9]+$' });
    let r = await put('/v/pat', { value: 'abc', overwrite: true });
    assertError(r, 400, 'ParameterPatternMismatchException');
    assert.equal((await get('/v/pat')).json.value, '123');
    assert.equal((await get('/v/pat')).json.version, 1);
    r = await put('/v/pat', { value: '456', overwrite: true });
    assert.equal(r.status, 200, r.text);
    r = await put('/v/pat2', { value: 'abc', type: 'String', allowed_pattern: '^[0-9]+$' });
    assertError(r, 400, 'ParameterPatternMismatchException');
    assertError(await get('/v/pat2'), 404, 'ParameterNotFound');
    r = await put('/v/pat3', { value: 'x', type: 'String', allowed_pattern: '([unclosed' });
    assertError(r, 400, 'ValidationException', 'an invalid regex');
    assertError(await get('/v/pat3'), 404, 'ParameterNotFound');
  });

  it('Standard values up to 4096 bytes, Advanced up to 8192 (bytes, not characters)', async () => {
    let r = await put('/v/std', { value: 'x'.repeat(4096), type: 'String' });
    assert.equal(r.status, 200, r.text);
    r = await put('/v/std4097', { value: 'x'.repeat(4097), type: 'String' });
    assertError(r, 400, 'ValidationException', '4097 bytes Standard');
    assertError(await get('/v/std4097'), 404, 'ParameterNotFound');
    // 2048 two-byte characters = 4096 bytes; one more ASCII byte is over
    r = await put('/v/stdutf', { value: 'é'.repeat(2048), type: 'String' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await get('/v/stdutf')).json.value, 'é'.repeat(2048));
    r = await put('/v/stdutf2', { value: 'é'.repeat(2048) + 'a', type: 'String' });
    assertError(r, 400, 'ValidationException', '2049 chars = 4097 bytes');
    r = await put('/v/adv', { value: 'y'.repeat(8192), type: 'String', tier: 'Advanced' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.tier, 'Advanced');
    const g = await get('/v/adv');
    assert.equal(g.json.tier, 'Advanced');
    assert.equal(g.json.value.length, 8192);
    r = await put('/v/adv8193', { value: 'y'.repeat(8193), type: 'String', tier: 'Advanced' });
    assertError(r, 400, 'ValidationException', '8193 bytes Advanced');
    r = await put('/v/std', { value: 'x'.repeat(4097), overwrite: true });
    assertError(r, 400, 'ValidationException', 'overwrite of a Standard with 4097 bytes');
    assert.equal((await get('/v/std')).json.version, 1);
  });

  it('keeps 100 versions: the oldest goes, unless it carries a label', async () => {
    const n = '/v/hundred';
    await mustPut(n, { value: 'v1', type: 'String' });
    for (let i = 2; i <= 100; i++) await mustPut(n, { value: `v${i}`, overwrite: true });
    assert.equal((await get(n, '?version=1')).json.value, 'v1');
    const w = await mustPut(n, { value: 'v101', overwrite: true });
    assert.equal(w.version, 101);
    assertError(await get(n, '?version=1'), 404, 'ParameterVersionNotFound');
    assert.equal((await get(n, '?version=2')).json.value, 'v2');
    let h = await history(n);
    assert.equal(h.length, 100);
    assert.equal(h[0].version, 2);
    assert.equal(h[99].version, 101);
    // a label on the oldest version pins it: the next write is refused
    let r = await api(S, 'POST', pp(n, '/labels'), { version: 2, labels: ['pinned'] });
    assert.equal(r.status, 200, r.text);
    r = await put(n, { value: 'v102', overwrite: true });
    assertError(r, 400, 'ParameterMaxVersionLimitExceeded');
    const g = await get(n);
    assert.equal(g.json.version, 101);
    assert.equal(g.json.value, 'v101');
    assert.equal((await get(n, '?version=2')).json.value, 'v2');
    h = await history(n);
    assert.equal(h.length, 100);
    // rollback is a write too
    r = await api(S, 'POST', pp(n, '/rollback'), { to_version: 50 });
    assertError(r, 400, 'ParameterMaxVersionLimitExceeded', 'rollback at the limit');
    // unpinning lets writes continue
    r = await api(S, 'DELETE', pp(n, '/labels'), { labels: ['pinned'] });
    assert.equal(r.status, 200, r.text);
    r = await put(n, { value: 'v102', overwrite: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 102);
    assertError(await get(n, '?version=2'), 404, 'ParameterVersionNotFound');
  });
});

describe('types', () => {
  it('StringList keeps its comma-separated value', async () => {
    const w = await mustPut('/ty/list', { value: 'a,b,c', type: 'StringList' });
    assert.equal(w.version, 1);
    const g = await get('/ty/list');
    assert.equal(g.json.type, 'StringList');
    assert.equal(g.json.value, 'a,b,c');
  });

  it('SecureString has no value without decrypt=true, in GET, list and history', async () => {
    const secret = 'hunter2-Sup3rS3cret';
    await mustPut('/ty/sec', { value: secret, type: 'SecureString' });
    let g = await get('/ty/sec');
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.type, 'SecureString');
    assert.ok(!('value' in g.json), `value leaked: ${g.text}`);
    assert.ok(!g.text.includes(secret));
    g = await get('/ty/sec', '?decrypt=false');
    assert.ok(!g.text.includes(secret));
    g = await get('/ty/sec', '?decrypt=true');
    assert.equal(g.json.value, secret);
    g = await api(S, 'GET', pp('/ty/sec:1') + '?decrypt=true');
    assert.equal(g.json.value, secret);
    const l = await api(S, 'GET', '/api/v1/params?path=/ty');
    assert.equal(l.status, 200);
    assert.ok(!l.text.includes(secret), `list leaks the secret: ${l.text}`);
    const h = await api(S, 'GET', pp('/ty/sec', '/history'));
    assert.ok(!h.text.includes(secret), `history leaks the secret: ${h.text}`);
    const all = await listAll(S, '/ty');
    assert.ok(all.some((p) => p.name === '/ty/sec' && !('value' in p)));
  });
});

// flags.test.js — the flag endpoints of docs/API.md ("Flags") against a live server: create,
// read, list, update, rollout, evaluate, explain, status, schema refusals, bad input, and a
// write of runbook 004's JSON through the SSM-compatible API.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, api, storeSnapshot } = require('./helpers');

const DATA = path.join(__dirname, 'data', 'flags');
const data = (f) => JSON.parse(fs.readFileSync(path.join(DATA, f), 'utf8'));
const RUNBOOK_DOC = data('runbook004.json');
const RUNBOOK_SCHEMA = data('runbook004.schema.json');
const TARGETING_DOC = data('targeting.json');
const REFUSED_097 = 'config.min_stability_threshold: 0.97 is above the maximum 0.95';

let S;
before(async () => { S = await startServer(); });
after(async () => { if (S) await S.cleanup(); });

const fp = (key, suffix = '') => `/api/v1/flags/${key}${suffix}`;
const create = (body, tok) => api(S, 'POST', '/api/v1/flags', body, tok);
const getFlag = (key, tok) => api(S, 'GET', fp(key), undefined, tok);
const evaluate = (key, context, tok) => api(S, 'POST', fp(key, '/evaluate'), context === undefined ? {} : { context }, tok);

function assertError(r, status, code, re, what = '') {
  assert.equal(r.status, status, `${what} expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.ok(r.json && r.json.error, `${what} error body must be {"error":{...}}: ${r.text}`);
  if (code) assert.equal(r.json.error.code, code, `${what} error code: ${r.text}`);
  assert.equal(typeof r.json.error.message, 'string');
  if (re) assert.match(r.json.error.message, re, `${what} message: ${r.text}`);
}

async function mustCreate(body) {
  const r = await create(body);
  assert.equal(r.status, 201, `create ${JSON.stringify(body).slice(0, 200)} → ${r.status} ${r.text}`);
  return r.json;
}

async function auditOf(name) {
  const r = await api(S, 'GET', `/api/v1/admin/audit?name=${encodeURIComponent(name)}&limit=100`);
  assert.equal(r.status, 200, r.text);
  return r.json.records; // newest first
}

/* The rollout bucket of docs' fixed contract: SHA-256(salt + "/" + subject), first 8 bytes big-endian, mod 10000. */
function bucket(salt, subject) {
  const h = crypto.createHash('sha256').update(`${salt}/${subject}`).digest();
  return Number(h.readBigUInt64BE(0) % 10000n);
}

/* A request refused with 400 naming `re` that leaves the store as it was. */
async function refusedUnchanged(fn, re, code = 'ValidationException', status = 400) {
  const before = await storeSnapshot(S);
  const r = await fn();
  assertError(r, status, code, re);
  assert.deepEqual(await storeSnapshot(S), before, 'a refused request wrote nothing');
  return r;
}

describe('create and get', () => {
  it('creates a flag by key (201) and reads every field back', async () => {
    const w = await mustCreate({ key: 'fl/basic', document: { enabled: true, rollout_percentage: 25 }, reason: 'first flag' });
    assert.deepEqual(w, { key: 'fl/basic', name: '/fl/basic', version: 1 });
    const r = await getFlag('fl/basic');
    assert.equal(r.status, 200, r.text);
    const f = r.json;
    assert.equal(f.key, 'fl/basic');
    assert.equal(f.name, '/fl/basic');
    assert.equal(f.version, 1);
    assert.deepEqual(f.document, { enabled: true, rollout_percentage: 25 });
    assert.equal(f.schema, null);
    assert.equal(f.enabled, true);
    assert.equal(f.rollout_percentage, 25);
    assert.equal(f.type, 'boolean');
    assert.match(f.last_modified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(f.last_modified_user, 'admin');
    const audit = await auditOf('/fl/basic');
    assert.equal(audit[0].actor, 'admin');
    assert.equal(audit[0].reason, 'first flag');
    assert.equal(audit[0].new_version, 1);
  });

  it('creates by name, with the default document {"enabled": false}', async () => {
    const w = await mustCreate({ name: '/fl/by-name' });
    assert.equal(w.key, 'fl/by-name');
    const f = (await getFlag('fl/by-name')).json;
    assert.deepEqual(f.document, { enabled: false });
    assert.equal(f.enabled, false);
    assert.equal(f.rollout_percentage, 100);
  });

  it('keeps a schema given on create and shows it', async () => {
    await mustCreate({ key: 'fl/with-schema', document: RUNBOOK_DOC, schema: RUNBOOK_SCHEMA });
    const f = (await getFlag('fl/with-schema')).json;
    assert.deepEqual(f.schema, RUNBOOK_SCHEMA);
    assert.deepEqual(f.document, RUNBOOK_DOC);
  });

  it('refuses a second create of a key: 409 FlagAlreadyExists, nothing written', async () => {
    await mustCreate({ key: 'fl/twice' });
    await refusedUnchanged(() => create({ key: 'fl/twice', document: { enabled: true } }), /fl\/twice already exists/,
      'FlagAlreadyExists', 409);
  });

  it('refuses a create where a parameter of another kind is: 409 naming its kind', async () => {
    const p = await api(S, 'PUT', '/api/v1/params/fl/plain', { value: 'x', type: 'String' });
    assert.equal(p.status, 200, p.text);
    await refusedUnchanged(() => create({ key: 'fl/plain' }), /\/fl\/plain already exists as a String/,
      'FlagAlreadyExists', 409);
  });

  it('answers 404 FlagNotFound for an absent key and for a parameter that is not a flag', async () => {
    assertError(await getFlag('fl/absent'), 404, 'FlagNotFound', /flag fl\/absent not found/);
    assertError(await getFlag('fl/plain'), 404, 'FlagNotFound', /\/fl\/plain is not a flag/);
    assertError(await evaluate('fl/plain', {}), 404, 'FlagNotFound', /is not a flag/);
    assertError(await api(S, 'GET', fp('fl/absent', '/status')), 404, 'FlagNotFound');
  });
});

describe('list', () => {
  before(async () => {
    for (const k of ['a', 'b', 'c', 'd/deep']) await mustCreate({ key: `ls/${k}`, document: { enabled: k !== 'b' } });
    const p = await api(S, 'PUT', '/api/v1/params/ls/not-a-flag', { value: 'x', type: 'String' });
    assert.equal(p.status, 200, p.text);
  });

  it('lists the flags below a prefix (any depth) with their summaries, and only flags', async () => {
    const r = await api(S, 'GET', '/api/v1/flags?prefix=/ls/');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.flags.map((f) => f.key), ['ls/a', 'ls/b', 'ls/c', 'ls/d/deep']);
    assert.equal(r.json.next, null);
    const b = r.json.flags[1];
    assert.deepEqual(b, { key: 'ls/b', name: '/ls/b', version: 1, enabled: false, rollout_percentage: 100, type: 'boolean' });
  });

  it('takes a key prefix without the leading slash', async () => {
    const r = await api(S, 'GET', '/api/v1/flags?prefix=ls/d');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.flags.map((f) => f.key), ['ls/d/deep']);
  });

  it('pages with limit and next', async () => {
    const seen = [];
    let next = null;
    for (let i = 0; i < 10; i++) {
      const r = await api(S, 'GET', `/api/v1/flags?prefix=/ls/&limit=3${next ? `&next=${encodeURIComponent(next)}` : ''}`);
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.flags.length <= 3);
      seen.push(...r.json.flags.map((f) => f.key));
      next = r.json.next;
      if (!next) break;
    }
    assert.deepEqual(seen, ['ls/a', 'ls/b', 'ls/c', 'ls/d/deep']);
  });

  it('refuses a bad limit, a foreign next token, an unknown query parameter', async () => {
    assertError(await api(S, 'GET', '/api/v1/flags?limit=0'), 400, 'ValidationException', /limit/);
    assertError(await api(S, 'GET', '/api/v1/flags?prefix=/ls/&next=/other/x'), 400, 'InvalidNextToken');
    assertError(await api(S, 'GET', '/api/v1/flags?path=/ls/'), 400, 'ValidationException', /path/);
    assertError(await api(S, 'GET', '/api/v1/flags?prefix=/bad*/'), 400, null, /prefix/);
  });
});

describe('update', () => {
  it('replaces the document (a new version), keeps the schema, honours if_version', async () => {
    await mustCreate({ key: 'up/one', document: { enabled: false } });
    let r = await api(S, 'PUT', fp('up/one'), { document: { enabled: true, rollout_percentage: 30 }, reason: 'turn on' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { key: 'up/one', version: 2 });
    const f = (await getFlag('up/one')).json;
    assert.equal(f.version, 2);
    assert.equal(f.enabled, true);
    assert.equal(f.rollout_percentage, 30);
    const audit = await auditOf('/up/one');
    assert.equal(audit[0].reason, 'turn on');
    assert.equal(audit[0].actor, 'admin');
    r = await api(S, 'PUT', fp('up/one'), { document: { enabled: false }, if_version: 1 });
    assertError(r, 409, 'VersionConflict');
    r = await api(S, 'PUT', fp('up/one'), { document: { enabled: false }, if_version: 2 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, 3);
  });

  it('answers 404 for a PUT of an absent flag or of a parameter of another kind', async () => {
    await refusedUnchanged(() => api(S, 'PUT', fp('up/absent'), { document: { enabled: true } }), /not found/,
      'FlagNotFound', 404);
    await refusedUnchanged(() => api(S, 'PUT', fp('fl/plain'), { document: { enabled: true } }), /is not a flag/,
      'FlagNotFound', 404);
  });

  it('deletes a flag (audited) and only a flag', async () => {
    await mustCreate({ key: 'up/gone' });
    const r = await api(S, 'DELETE', fp('up/gone', '?reason=retired'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { deleted: 'up/gone' });
    assertError(await getFlag('up/gone'), 404, 'FlagNotFound');
    assert.equal((await auditOf('/up/gone'))[0].reason, 'retired');
    assertError(await api(S, 'DELETE', fp('fl/plain')), 404, 'FlagNotFound', /is not a flag/);
  });
});

describe('schema', () => {
  it("refuses runbook 004's 0.97 naming the field, on create and on update, writing nothing", async () => {
    await refusedUnchanged(() => create({ key: 'sc/new', document: { ...RUNBOOK_DOC, min_stability_threshold: 0.97 },
      schema: RUNBOOK_SCHEMA }), new RegExp(REFUSED_097.replace(/\./g, '\\.')));
    await mustCreate({ key: 'sc/cfg', document: RUNBOOK_DOC, schema: RUNBOOK_SCHEMA });
    const r = await refusedUnchanged(() => api(S, 'PUT', fp('sc/cfg'),
      { document: { ...RUNBOOK_DOC, min_stability_threshold: 0.97 } }), /min_stability_threshold/);
    assert.ok(r.json.error.message.includes(REFUSED_097), r.text);
    await refusedUnchanged(() => api(S, 'PUT', fp('sc/cfg'), { document: { ...RUNBOOK_DOC, max_buffer_timeout: 1.5 } }),
      /max_buffer_timeout: 1\.5 is below the minimum 2/);
    await refusedUnchanged(() => api(S, 'PUT', fp('sc/cfg'), { document: { ...RUNBOOK_DOC, max_buffer_timeout: 'soon' } }),
      /max_buffer_timeout/);
    assert.equal((await getFlag('sc/cfg')).json.version, 1);
  });

  it('accepts the limits themselves and keeps the schema across a write that leaves it out', async () => {
    const r = await api(S, 'PUT', fp('sc/cfg'), { document: { ...RUNBOOK_DOC, min_stability_threshold: 0.95, max_buffer_timeout: 2.0 } });
    assert.equal(r.status, 200, r.text);
    const f = (await getFlag('sc/cfg')).json;
    assert.deepEqual(f.schema, RUNBOOK_SCHEMA);
    assert.equal(f.document.min_stability_threshold, 0.95);
  });

  it('refuses a schema that is not a schema, naming it', async () => {
    await refusedUnchanged(() => create({ key: 'sc/bad', schema: { x: { type: 'number', min: 5, max: 1 } } }), /schema\.x/);
    await refusedUnchanged(() => create({ key: 'sc/bad', schema: ['number'] }), /schema must be an object, not an array/);
  });
});

describe('rollout', () => {
  before(async () => {
    await mustCreate({ key: 'ro/cfg', document: RUNBOOK_DOC, schema: RUNBOOK_SCHEMA });
  });

  it('changes only the percentage, in one audited write, and says what changed', async () => {
    const r = await api(S, 'POST', fp('ro/cfg', '/rollout'), { percentage: 10, reason: 'canary' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { key: 'ro/cfg', version: 2, changed: { rollout_percentage: [100, 10] } });
    const f = (await getFlag('ro/cfg')).json;
    assert.deepEqual(f.document, { ...RUNBOOK_DOC, rollout_percentage: 10 });
    assert.deepEqual(f.schema, RUNBOOK_SCHEMA);
    const audit = await auditOf('/ro/cfg');
    assert.equal(audit[0].reason, 'canary');
    assert.equal(audit[0].actor, 'admin');
    assert.equal(audit[0].old_version, 1);
    assert.equal(audit[0].new_version, 2);
  });

  it('is idempotent: a request that changes nothing writes nothing and answers changed {}', async () => {
    const before = await storeSnapshot(S);
    const r = await api(S, 'POST', fp('ro/cfg', '/rollout'), { percentage: 10, enabled: true });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { key: 'ro/cfg', version: 2, changed: {} });
    assert.deepEqual(await storeSnapshot(S), before);
  });

  it('disables and re-enables, with decimals', async () => {
    let r = await api(S, 'POST', fp('ro/cfg', '/rollout'), { enabled: false });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.changed, { enabled: [true, false] });
    r = await api(S, 'POST', fp('ro/cfg', '/rollout'), { enabled: true, percentage: 12.5 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.changed, { enabled: [false, true], rollout_percentage: [10, 12.5] });
    const f = (await getFlag('ro/cfg')).json;
    assert.equal(f.rollout_percentage, 12.5);
    assert.equal(f.enabled, true);
    assert.equal(f.version, 4);
  });

  it('refuses a percentage outside 0..100, with three decimals, or not a number, naming it', async () => {
    for (const [p, re] of [[101, /percentage: 101 is outside 0\.\.100/], [-1, /percentage: -1 is outside/],
      [12.345, /percentage: 12\.345 has more than two decimals/], ['10', /percentage must be a number, not a string/],
      [true, /percentage must be a number/]]) {
      await refusedUnchanged(() => api(S, 'POST', fp('ro/cfg', '/rollout'), { percentage: p }), re);
    }
    await refusedUnchanged(() => api(S, 'POST', fp('ro/cfg', '/rollout'), { enabled: 'yes' }), /enabled must be a boolean/);
    await refusedUnchanged(() => api(S, 'POST', fp('ro/cfg', '/rollout'), { percent: 5 }), /unknown field "percent"/);
    await refusedUnchanged(() => api(S, 'POST', fp('ro/cfg', '/rollout'), {}), /percentage or enabled/);
    await refusedUnchanged(() => api(S, 'POST', fp('ro/absent', '/rollout'), { percentage: 5 }), /not found/, 'FlagNotFound', 404);
  });
});

describe('evaluate and explain', () => {
  before(async () => {
    await mustCreate({ key: 'ev/target', document: TARGETING_DOC });
    await mustCreate({ key: 'ev/half', document: { enabled: true, rollout_percentage: 50 } });
  });

  it('matches a rule on an attribute and falls back to the default variant', async () => {
    let r = await evaluate('ev/target', { country: 'NL' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { key: 'ev/target', value: true, variant: 'on', reason: 'TARGETING_MATCH', version: 1 });
    r = await evaluate('ev/target', { country: 'DE' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.value, false);
    assert.equal(r.json.variant, 'off');
    assert.equal(r.json.reason, 'DEFAULT');
  });

  it('buckets subjects by the fixed contract (salt = key)', async () => {
    let inside = 0;
    for (let i = 0; i < 40; i++) {
      const subject = `session-${i}`;
      const r = await evaluate('ev/half', { targetingKey: subject });
      assert.equal(r.status, 200, r.text);
      const want = bucket('ev/half', subject) < 5000;
      assert.equal(r.json.value, want, `${subject}: bucket ${bucket('ev/half', subject)} → ${r.text}`);
      assert.equal(r.json.reason, want ? 'SPLIT' : 'DEFAULT');
      inside += want;
    }
    assert.ok(inside > 5 && inside < 35, `a 50% rollout took ${inside} of 40`);
  });

  it('reports a missing targetingKey as an error result (200, error_code)', async () => {
    const r = await evaluate('ev/half', { country: 'NL' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.reason, 'ERROR');
    assert.equal(r.json.error_code, 'TARGETING_KEY_MISSING');
    assert.equal(typeof r.json.error_details, 'string');
    assert.equal(r.json.value, false);
  });

  it('takes no body, or no context, as an empty context', async () => {
    let r = await api(S, 'POST', fp('ev/target', '/evaluate'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.reason, 'DEFAULT');
    r = await api(S, 'POST', fp('ev/target', '/evaluate'), {});
    assert.equal(r.status, 200, r.text);
  });

  it('explains: the result, each rule with why, key and version', async () => {
    const r = await api(S, 'POST', fp('ev/target', '/explain'), { context: { country: 'DE', targetingKey: 'u1' } });
    assert.equal(r.status, 200, r.text);
    const e = r.json;
    assert.equal(e.key, 'ev/target');
    assert.equal(e.version, 1);
    assert.equal(e.result.reason, 'DEFAULT');
    assert.equal(e.bucket, bucket('ev/target', 'u1'));
    assert.equal(e.rules.length, 1);
    assert.equal(e.rules[0].name, 'netherlands');
    assert.equal(e.rules[0].matched, false);
    assert.match(e.rules[0].why, /DE/);
  });

  it('refuses bad contexts with 400 naming context', async () => {
    const cases = [
      [{ context: [1, 2] }, /context must be an object, not an array/],
      [{ context: 'NL' }, /context must be an object, not a string/],
      [{ context: { big: 'x'.repeat(70000) } }, /context is \d+ bytes of JSON; at most 65536/],
      [{ context: { targetingKey: 7 } }, /context: targetingKey must be a string/],
      [{ context: { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: 1 } } } } } } } } } } }, /context: .*nested deeper/],
      [{ context: {}, extra: 1 }, /unknown field "extra"/],
      ['{"context": {', /line|column|JSON/i],
      ['[]', /object/],
    ];
    for (const [body, re] of cases) {
      await refusedUnchanged(() => api(S, 'POST', fp('ev/target', '/evaluate'), body), re);
      const x = await api(S, 'POST', fp('ev/target', '/explain'), body);
      assertError(x, 400, null, re, 'explain');
    }
  });
});

describe('status', () => {
  it('counts evaluations over the last minute and hour, with the enabled share', async () => {
    await mustCreate({ key: 'st/flag', document: { enabled: true } });
    let r = await api(S, 'GET', fp('st/flag', '/status'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      key: 'st/flag', enabled: true, rollout_percentage: 100, version: 1,
      evaluations: { last_minute: 0, last_hour: 0, enabled_share_last_minute: null, enabled_share_last_hour: null },
    });
    for (let i = 0; i < 6; i++) assert.equal((await evaluate('st/flag', { targetingKey: `s${i}` })).json.value, true);
    const off = await api(S, 'POST', fp('st/flag', '/rollout'), { enabled: false });
    assert.equal(off.status, 200, off.text);
    for (let i = 0; i < 2; i++) assert.equal((await evaluate('st/flag', { targetingKey: `s${i}` })).json.value, false);
    // refused evaluations and explanations are not counted
    await api(S, 'POST', fp('st/flag', '/evaluate'), { context: [] });
    await api(S, 'POST', fp('st/flag', '/explain'), { context: {} });
    r = await api(S, 'GET', fp('st/flag', '/status'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.enabled, false);
    assert.equal(r.json.version, 2);
    assert.equal(r.json.evaluations.last_minute, 8);
    assert.equal(r.json.evaluations.last_hour, 8);
    assert.equal(r.json.evaluations.enabled_share_last_minute, 0.75);
    assert.equal(r.json.evaluations.enabled_share_last_hour, 0.75);
  });

  it('counts concurrent evaluations exactly', async () => {
    await mustCreate({ key: 'st/busy', document: { enabled: true } });
    await Promise.all(Array.from({ length: 200 }, (_, i) => evaluate('st/busy', { targetingKey: `c${i}` })));
    const r = await api(S, 'GET', fp('st/busy', '/status'));
    assert.equal(r.json.evaluations.last_minute, 200);
    assert.equal(r.json.evaluations.enabled_share_last_minute, 1);
  });
});

describe('bad input', () => {
  it('refuses unknown fields and wrong types on create and update, naming the field', async () => {
    await mustCreate({ key: 'bad/f' });
    const cases = [
      [() => create({ key: 'bad/x', colour: 'red' }), /unknown field "colour"/],
      [() => create({ key: 7 }), /key must be a string, not an integer/],
      [() => create({ name: ['a'] }), /name must be a string/],
      [() => create({}), /key \(or name\) is required/],
      [() => create({ key: '/bad/x' }), /key "\/bad\/x" starts with '\/'/],
      [() => create({ key: 'bad/x*y' }), /key: /],
      [() => create({ key: 'bad/x', name: '/bad/y' }), /name different flags/],
      [() => create({ key: 'bad/x', document: 'on' }), /document must be an object, not a string/],
      [() => create({ key: 'bad/x', document: [true] }), /document must be an object, not an array/],
      [() => create({ key: 'bad/x', document: { rollout_percentage: 150 } }), /rollout_percentage/],
      [() => create({ key: 'bad/x', document: { variants: { on: true }, default_variant: 'nope' } }), /default_variant|nope/],
      [() => create({ key: 'bad/x', reason: 5 }), /reason must be a string/],
      [() => create({ key: 'bad/x', reason: 'r'.repeat(1025) }), /reason is longer than 1024/],
      [() => create('not json'), /line|column|JSON/i],
      [() => api(S, 'PUT', fp('bad/f'), { document: { enabled: true }, value: 'x' }), /unknown field "value"/],
      [() => api(S, 'PUT', fp('bad/f'), {}), /document is required/],
      [() => api(S, 'PUT', fp('bad/f'), { document: { enabled: true }, if_version: 'one' }), /if_version must be an integer/],
      [() => api(S, 'PUT', fp('bad/f'), { document: { enabled: true }, if_version: 0 }), /if_version must be 1 or more/],
      [() => api(S, 'PUT', fp('bad/f'), { document: { enabled: 1 } }), /enabled/],
    ];
    for (const [fn, re] of cases) await refusedUnchanged(fn, re, null);
  });

  it('refuses bad keys in the path and unknown methods or query parameters', async () => {
    assertError(await api(S, 'GET', '/api/v1/flags/bad/%66'), 400, 'InvalidPath');
    assertError(await api(S, 'GET', '/api/v1/flags/bad//f'), 400, null, /key/);
    assertError(await api(S, 'GET', fp('bad/f', '?version=1')), 400, 'ValidationException', /version/);
    assertError(await api(S, 'PATCH', fp('bad/f')), 405, 'MethodNotAllowed');
    assertError(await api(S, 'DELETE', '/api/v1/flags'), 405, 'MethodNotAllowed');
  });

  it('checks scopes: a read token reads and evaluates but writes nothing', async () => {
    const t = await api(S, 'POST', '/api/v1/admin/tokens', { name: 'flag-reader', scopes: ['read'] });
    assert.equal(t.status, 201, t.text);
    const tok = t.json.token;
    assert.equal((await getFlag('bad/f', tok)).status, 200);
    assert.equal((await evaluate('bad/f', {}, tok)).status, 200);
    assert.equal((await api(S, 'GET', '/api/v1/flags', undefined, tok)).status, 200);
    await refusedUnchanged(() => create({ key: 'bad/r' }, tok), /scope/, 'AccessDenied', 403);
    await refusedUnchanged(() => api(S, 'POST', fp('bad/f', '/rollout'), { enabled: true }, tok), /scope/, 'AccessDenied', 403);
    assertError(await api(S, 'GET', '/api/v1/flags', undefined, null), 401, 'Unauthenticated');
  });

  it('lets an evaluate-only token evaluate and nothing else', async () => {
    const made = await api(S, 'POST', '/api/v1/admin/tokens', { name: 'flag-evaluator', scopes: ['evaluate'] });
    assert.equal(made.status, 201, made.text);
    const tok = made.json.token;
    assert.equal((await evaluate('bad/f', {}, tok)).status, 200);
    // an explanation shows the rules' values: readers only
    assertError(await api(S, 'POST', fp('bad/f', '/explain'), {}, tok), 403, 'AccessDenied');
    assertError(await getFlag('bad/f', tok), 403, 'AccessDenied');
    assertError(await api(S, 'GET', fp('bad/f', '/status'), undefined, tok), 403, 'AccessDenied');
  });
});

describe('through the SSM-compatible API (runbook 004)', () => {
  let X;
  let ssm;
  const NAME = '/audio-transcription/partial-results/config';
  const KEY = NAME.slice(1);
  before(async () => {
    ssm = require('../ssm/helpers');
    X = await ssm.startSsmServer();
    const r = await api(X, 'POST', '/api/v1/flags', { key: KEY, document: RUNBOOK_DOC, schema: RUNBOOK_SCHEMA });
    assert.equal(r.status, 201, r.text);
  });
  after(async () => { if (X) await X.cleanup(); });

  it('aws ssm put-parameter --overwrite of the runbook JSON makes a new flag version', async () => {
    const value = '{"enabled":true,"rollout_percentage":10,"min_stability_threshold":0.90,"max_buffer_timeout":5.0}';
    const w = await ssm.awsOk(X, ['ssm', 'put-parameter', '--name', NAME, '--value', value, '--overwrite']);
    assert.equal(w.json.Version, 2, w.stdout);
    const f = await api(X, 'GET', fp(KEY));
    assert.equal(f.status, 200, f.text);
    assert.equal(f.json.version, 2);
    assert.equal(f.json.rollout_percentage, 10);
    assert.equal(f.json.document.min_stability_threshold, 0.9);
    assert.deepEqual(f.json.schema, RUNBOOK_SCHEMA);
    const g = await ssm.awsOk(X, ['ssm', 'get-parameter', '--name', NAME]);
    assert.deepEqual(JSON.parse(g.json.Parameter.Value), JSON.parse(value));
  });

  it('refuses 0.97 with ValidationException naming the field, and writes nothing', async () => {
    const value = '{"enabled":true,"rollout_percentage":10,"min_stability_threshold":0.97,"max_buffer_timeout":5.0}';
    const r = await ssm.awsFails(X, ['ssm', 'put-parameter', '--name', NAME, '--value', value, '--overwrite'], 'ValidationException');
    assert.ok(r.stderr.includes(REFUSED_097), r.stderr);
    assert.equal((await api(X, 'GET', fp(KEY))).json.version, 2);
  });
});

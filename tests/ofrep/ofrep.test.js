// ofrep.test.js — OFREP end to end: flags written through the native API, evaluated by the
// real OpenFeature server SDK through the real OFREP provider, and the protocol's edges
// (errors, auth, bulk with ETag/304, percent-encoded keys) spoken directly.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { OpenFeature } = require('@openfeature/server-sdk');
const { OFREPProvider } = require('@openfeature/ofrep-provider');
const { startServer, api, rawApi } = require('../api/helpers.js');

let server;
let evalToken; // scope evaluate only
let readToken; // scope read
let writeToken; // scope write only
let domains = 0;

const FLAGS = {
  '/ofrep-test/bool': { variants: { on: true, off: false } },
  '/ofrep-test/string': { variants: { on: 'blue', off: 'red' } },
  '/ofrep-test/number': { variants: { on: 0.25, off: 0 } },
  '/ofrep-test/integer': { variants: { on: 42, off: 0 } },
  '/ofrep-test/object': { variants: { on: { model: 'gemini', limits: { rpm: 60 }, tags: ['a', 'b'] }, off: {} } },
  '/ofrep-test/disabled': { enabled: false, variants: { on: 'new', off: 'old' }, default_variant: 'off' },
  '/ofrep-test/rollout': { rollout_percentage: 50, variants: { on: 'in', off: 'out' } },
  '/ofrep-test/targeted': {
    rollout_percentage: 0,
    variants: { on: 'dutch', off: 'other' },
    rules: [{ name: 'nl', constraints: [{ attribute: 'country', operator: 'IN', values: ['NL'] }], variant: 'on' }],
  },
  '/audio-transcription/partial-results/config': { variants: { on: { partial: true }, off: { partial: false } } },
};

async function putFlag(name, doc) {
  const r = await api(server, 'PUT', `/api/v1/params${name}`, { type: 'Flag', value: JSON.stringify(doc), overwrite: true });
  assert.equal(r.status, 200, `PUT ${name}: ${r.status} ${r.text}`);
  return r.json.version;
}

async function makeToken(name, scopes) {
  const r = await api(server, 'POST', '/api/v1/admin/tokens', { name, scopes });
  assert.equal(r.status, 201, `token ${name}: ${r.status} ${r.text}`);
  assert.deepEqual(r.json.scopes, scopes);
  return r.json.token;
}

/* An OpenFeature client on its own domain, whose OFREP provider sends headers. */
async function clientWith(headers) {
  const domain = `ofrep-${++domains}`;
  await OpenFeature.setProviderAndWait(domain, new OFREPProvider({ baseUrl: server.url, headers }));
  return OpenFeature.getClient(domain);
}

/* The rollout bucket of the fixed contract: first 8 bytes of SHA-256(salt/subject), big-endian, % 10000. */
function bucket(salt, subject) {
  return Number(crypto.createHash('sha256').update(`${salt}/${subject}`).digest().readBigUInt64BE(0) % 10000n);
}

function ofrep(path, body, headers, token) {
  return api(server, 'POST', `/ofrep/v1/evaluate/flags${path}`, body, token, headers);
}

before(async () => {
  server = await startServer();
  for (const [name, doc] of Object.entries(FLAGS)) await putFlag(name, doc);
  const r = await api(server, 'PUT', '/api/v1/params/ofrep-test/plain', { type: 'String', value: 'not a flag' });
  assert.equal(r.status, 200, r.text);
  evalToken = await makeToken('app-eval', ['evaluate']);
  readToken = await makeToken('app-read', ['read']);
  writeToken = await makeToken('app-write', ['write']);
});

after(async () => {
  await OpenFeature.close();
  if (server) await server.cleanup();
});

test('the SDK evaluates boolean, string, number and object flags', async () => {
  const c = await clientWith({ Authorization: `Bearer ${evalToken}` });
  const ctx = { targetingKey: 'user-1' };
  const b = await c.getBooleanDetails('ofrep-test/bool', false, ctx);
  assert.equal(b.value, true);
  assert.equal(b.reason, 'STATIC');
  assert.equal(b.variant, 'on');
  assert.equal(b.errorCode, undefined);
  assert.equal(b.flagMetadata.version, 1);
  const s = await c.getStringDetails('ofrep-test/string', 'none', ctx);
  assert.deepEqual([s.value, s.reason, s.variant], ['blue', 'STATIC', 'on']);
  const n = await c.getNumberDetails('ofrep-test/number', -1, ctx);
  assert.deepEqual([n.value, n.reason, n.variant], [0.25, 'STATIC', 'on']);
  assert.equal(await c.getNumberValue('ofrep-test/integer', -1, ctx), 42);
  const o = await c.getObjectDetails('ofrep-test/object', {}, ctx);
  assert.deepEqual(o.value, { model: 'gemini', limits: { rpm: 60 }, tags: ['a', 'b'] });
  assert.equal(o.reason, 'STATIC');
  const deep = await c.getObjectValue('audio-transcription/partial-results/config', {}, ctx);
  assert.deepEqual(deep, { partial: true });
});

test('reasons: DISABLED, TARGETING_MATCH, SPLIT and DEFAULT by the bucket contract', async () => {
  const c = await clientWith({ Authorization: `Bearer ${readToken}` });
  const d = await c.getStringDetails('ofrep-test/disabled', 'x', { targetingKey: 'u' });
  assert.deepEqual([d.value, d.reason, d.variant], ['old', 'DISABLED', 'off']);
  const t = await c.getStringDetails('ofrep-test/targeted', 'x', { targetingKey: 'u', country: 'NL' });
  assert.deepEqual([t.value, t.reason, t.variant], ['dutch', 'TARGETING_MATCH', 'on']);
  let ins = 0;
  let outs = 0;
  for (let i = 0; i < 40; i++) {
    const subject = `subject-${i}`;
    const r = await c.getStringDetails('ofrep-test/rollout', 'x', { targetingKey: subject });
    const inside = bucket('ofrep-test/rollout', subject) < 5000;
    if (inside) {
      ins++;
      assert.deepEqual([r.value, r.reason, r.variant], ['in', 'SPLIT', 'on'], subject);
    } else {
      outs++;
      assert.deepEqual([r.value, r.reason, r.variant], ['out', 'DEFAULT', 'off'], subject);
    }
  }
  assert.ok(ins > 0 && outs > 0, `40 subjects all on one side of a 50 % rollout (${ins} in)`);
});

test('errors as the SDK reports them: not found, targeting key missing, invalid context, type mismatch', async () => {
  const c = await clientWith({ Authorization: `Bearer ${evalToken}` });
  const nf = await c.getBooleanDetails('ofrep-test/absent', true, { targetingKey: 'u' });
  assert.deepEqual([nf.value, nf.reason, nf.errorCode], [true, 'ERROR', 'FLAG_NOT_FOUND']);
  const plain = await c.getStringDetails('ofrep-test/plain', 'd', { targetingKey: 'u' });
  assert.equal(plain.errorCode, 'FLAG_NOT_FOUND', 'a parameter that is not a flag is not found');
  const tk = await c.getStringDetails('ofrep-test/rollout', 'd', {});
  assert.deepEqual([tk.value, tk.errorCode], ['d', 'TARGETING_KEY_MISSING']);
  const ic = await c.getStringDetails('ofrep-test/string', 'd', { targetingKey: 7 });
  assert.deepEqual([ic.value, ic.errorCode], ['d', 'INVALID_CONTEXT']);
  let deep = { v: 1 };
  for (let i = 0; i < 12; i++) deep = { deep };
  const dc = await c.getStringDetails('ofrep-test/string', 'd', { targetingKey: 'u', deep });
  assert.deepEqual([dc.value, dc.errorCode], ['d', 'INVALID_CONTEXT']);
  const tm = await c.getBooleanDetails('ofrep-test/string', false, { targetingKey: 'u' });
  assert.deepEqual([tm.value, tm.errorCode], [false, 'TYPE_MISMATCH']);
  const tm2 = await c.getNumberDetails('ofrep-test/object', 3, { targetingKey: 'u' });
  assert.equal(tm2.errorCode, 'TYPE_MISMATCH');
});

test('wire shapes: success, 404, 400 PARSE_ERROR and INVALID_CONTEXT bodies', async () => {
  const ok = await ofrep('/ofrep-test/string', { context: { targetingKey: 'u' } });
  assert.equal(ok.status, 200);
  assert.match(ok.headers['content-type'], /application\/json/);
  assert.deepEqual(ok.json, { key: 'ofrep-test/string', value: 'blue', reason: 'STATIC', variant: 'on', metadata: { version: 1 } });
  const nf = await ofrep('/nope/nothing', { context: {} });
  assert.equal(nf.status, 404);
  assert.equal(nf.json.key, 'nope/nothing');
  assert.equal(nf.json.errorCode, 'FLAG_NOT_FOUND');
  assert.equal(typeof nf.json.errorDetails, 'string');
  for (const bad of ['{"context": {', '[1,2]', 'null', '{"context": 3}', '{"context": "x"}', '{"context":{},"context":{}}']) {
    const r = await ofrep('/ofrep-test/string', bad);
    assert.equal(r.status, 400, `${bad}: ${r.text}`);
    assert.equal(r.json.errorCode, 'PARSE_ERROR', bad);
    assert.equal(r.json.key, 'ofrep-test/string');
  }
  const noBody = await ofrep('/ofrep-test/string');
  assert.equal(noBody.status, 200, 'no body is an empty context');
  const big = await ofrep('/ofrep-test/string', { context: { targetingKey: 'u', pad: 'x'.repeat(70000) } });
  assert.equal(big.status, 400);
  assert.equal(big.json.errorCode, 'INVALID_CONTEXT');
  const tkm = await ofrep('/ofrep-test/rollout', { context: { country: 'NL' } });
  assert.equal(tkm.status, 400);
  assert.equal(tkm.json.errorCode, 'TARGETING_KEY_MISSING');
  const get = await api(server, 'GET', '/ofrep/v1/evaluate/flags/ofrep-test/string');
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, 'POST');
});

test('keys: raw slashes, percent-encoded, bad escapes, over-long keys', async () => {
  const enc = await ofrep('/ofrep-test%2Fstring', { context: {} });
  assert.equal(enc.status, 200, enc.text);
  assert.equal(enc.json.key, 'ofrep-test/string');
  const all = await ofrep(`/${encodeURIComponent('audio-transcription/partial-results/config')}`, { context: {} });
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(all.json.value, { partial: true });
  const lower = await ofrep('/ofrep-test%2fbool', { context: {} });
  assert.equal(lower.status, 200);
  const c = await clientWith({ Authorization: `Bearer ${evalToken}` });
  assert.equal(await c.getStringValue('ofrep-test%2Fstring', 'd', {}), 'blue', 'the SDK passes an encoded key through');
  for (const bad of ['/ofrep-test%2', '/ofrep-test%zzstring', '/ofrep-test%00string', '/ofrep-%ff']) {
    const r = await rawApi(server, 'POST', `/ofrep/v1/evaluate/flags${bad}`, '{}');
    assert.equal(r.status, 400, `${bad}: ${r.text}`);
    assert.equal(r.json.errorCode, 'PARSE_ERROR', bad);
    assert.equal(typeof r.json.key, 'string');
  }
  for (const miss of ['/', '/ofrep-test/../ofrep-test/string', '/ofrep-test%2F..%2Fofrep-test%2Fstring', '//ofrep-test/string']) {
    const r = await rawApi(server, 'POST', `/ofrep/v1/evaluate/flags${miss}`, '{}');
    assert.equal(r.status, 404, `${miss}: ${r.text}`);
    assert.equal(r.json.errorCode, 'FLAG_NOT_FOUND', miss);
  }
  const long = await rawApi(server, 'POST', `/ofrep/v1/evaluate/flags/${'a'.repeat(4000)}`, '{}');
  assert.equal(long.status, 404);
  assert.ok(long.json.key.length <= 256);
});

test('auth: 401 without a token, 403 for write-only, evaluate-only reaches OFREP and nothing else', async () => {
  const none = await ofrep('/ofrep-test/bool', { context: {} }, {}, null);
  assert.equal(none.status, 401);
  assert.equal(none.text, '');
  const wrong = await ofrep('/ofrep-test/bool', { context: {} }, {}, 'sy_not-a-token-at-all');
  assert.equal(wrong.status, 401);
  assert.equal(wrong.text, '');
  const w = await ofrep('/ofrep-test/bool', { context: {} }, {}, writeToken);
  assert.equal(w.status, 403);
  assert.equal(w.text, '');
  const bulkW = await ofrep('', { context: {} }, {}, writeToken);
  assert.equal(bulkW.status, 403);
  const key = await ofrep('/ofrep-test/bool', { context: {} }, { 'X-API-Key': evalToken }, null);
  assert.equal(key.status, 200, key.text);
  assert.equal(key.json.value, true);
  const badKey = await ofrep('/ofrep-test/bool', { context: {} }, { 'X-API-Key': 'sy_wrong' }, null);
  assert.equal(badKey.status, 401);
  // the evaluate scope reaches nothing else
  for (const [m, p] of [['GET', '/api/v1/params/ofrep-test/string'], ['GET', '/api/v1/params'], ['GET', '/api/v1/admin/tokens'],
    ['GET', '/api/v1/watch'], ['GET', '/api/v1/config/runtime']]) {
    const r = await api(server, m, p, undefined, evalToken);
    assert.equal(r.status, 403, `${m} ${p}: ${r.status} ${r.text}`);
  }
  const put = await api(server, 'PUT', '/api/v1/params/ofrep-test/x', { type: 'String', value: 'v' }, evalToken);
  assert.equal(put.status, 403);
  // X-API-Key is OFREP's header only: the native API wants Authorization
  const nat = await api(server, 'GET', '/api/v1/params/ofrep-test/string', undefined, null, { 'X-API-Key': readToken });
  assert.equal(nat.status, 401);
  // through the SDK: both refusals are errors, with the code default
  const c401 = await clientWith({});
  const d401 = await c401.getBooleanDetails('ofrep-test/bool', false, {});
  assert.equal(d401.value, false);
  assert.equal(d401.reason, 'ERROR');
  const c403 = await clientWith({ Authorization: `Bearer ${writeToken}` });
  const d403 = await c403.getBooleanDetails('ofrep-test/bool', false, {});
  assert.equal(d403.reason, 'ERROR');
  const cKey = await clientWith({ 'X-API-Key': evalToken });
  assert.equal(await cKey.getBooleanValue('ofrep-test/bool', false, {}), true);
});

test('bulk: every flag, ETag and 304, changes with the flags and the context', async () => {
  const ctx = { context: { targetingKey: 'user-7', country: 'NL' } };
  const r = await ofrep('', ctx, {}, evalToken);
  assert.equal(r.status, 200, r.text);
  const etag = r.headers.etag;
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  const byKey = Object.fromEntries(r.json.flags.map((f) => [f.key, f]));
  assert.deepEqual(Object.keys(byKey).sort(), Object.keys(FLAGS).map((n) => n.slice(1)).sort(), 'every flag, no plain parameter');
  assert.equal(byKey['ofrep-test/bool'].value, true);
  assert.equal(byKey['ofrep-test/targeted'].reason, 'TARGETING_MATCH');
  assert.equal(byKey['ofrep-test/disabled'].reason, 'DISABLED');
  assert.equal(byKey['ofrep-test/bool'].metadata.version, 1);

  const same = await ofrep('', ctx, { 'If-None-Match': etag }, evalToken);
  assert.equal(same.status, 304);
  assert.equal(same.text, '');
  assert.equal(same.headers.etag, etag);
  const reordered = await ofrep('', '{"context": {"country": "NL", "targetingKey": "user-7"}}', { 'If-None-Match': etag }, evalToken);
  assert.equal(reordered.status, 304, 'the same context in another order or spacing is the same');
  const listed = await ofrep('', ctx, { 'If-None-Match': `"other", ${etag}` }, evalToken);
  assert.equal(listed.status, 304);

  const other = await ofrep('', { context: { targetingKey: 'user-8' } }, { 'If-None-Match': etag }, evalToken);
  assert.equal(other.status, 200, 'another context is another evaluation');
  assert.notEqual(other.headers.etag, etag);
  // a flag without the targeting key it needs is an error item, not a failed request
  const noTk = await ofrep('', { context: {} }, {}, evalToken);
  assert.equal(noTk.status, 200);
  const rollout = noTk.json.flags.find((f) => f.key === 'ofrep-test/rollout');
  assert.equal(rollout.errorCode, 'TARGETING_KEY_MISSING');
  assert.equal(rollout.value, undefined);

  await putFlag('/ofrep-test/bool', { variants: { on: false, off: true } });
  const changed = await ofrep('', ctx, { 'If-None-Match': etag }, evalToken);
  assert.equal(changed.status, 200, 'a changed flag changes the ETag');
  assert.notEqual(changed.headers.etag, etag);
  const b = changed.json.flags.find((f) => f.key === 'ofrep-test/bool');
  assert.equal(b.value, false);
  assert.equal(b.metadata.version, 2);
  await putFlag('/ofrep-test/bool', FLAGS['/ofrep-test/bool']);

  const bad = await ofrep('', '{"context": [1]}', {}, evalToken);
  assert.equal(bad.status, 400);
  assert.equal(bad.json.errorCode, 'PARSE_ERROR');
  const badTk = await ofrep('', { context: { targetingKey: { a: 1 } } }, {}, evalToken);
  assert.equal(badTk.status, 400);
  assert.equal(badTk.json.errorCode, 'INVALID_CONTEXT');
  const q = await api(server, 'POST', '/ofrep/v1/evaluate/flags?flagConfigEtag=abc&flagConfigLastModified=1771622898', ctx, evalToken);
  assert.equal(q.status, 200, 'OFREP\'s re-fetch metadata is accepted');
});

test('a flag change is seen on the next evaluation; a deleted flag is not found', async () => {
  const c = await clientWith({ Authorization: `Bearer ${evalToken}` });
  await putFlag('/ofrep-test/live', { variants: { on: 'v1', off: 'off' } });
  const a = await c.getStringDetails('ofrep-test/live', 'd', {});
  assert.equal(a.value, 'v1');
  const v = await putFlag('/ofrep-test/live', { variants: { on: 'v2', off: 'off' } });
  const b = await c.getStringDetails('ofrep-test/live', 'd', {});
  assert.equal(b.value, 'v2');
  assert.equal(b.flagMetadata.version, v);
  await putFlag('/ofrep-test/live', { enabled: false, variants: { on: 'v2', off: 'off' } });
  const d = await c.getStringDetails('ofrep-test/live', 'd', {});
  assert.deepEqual([d.value, d.reason], ['off', 'DISABLED']);
  const del = await api(server, 'DELETE', '/api/v1/params/ofrep-test/live');
  assert.equal(del.status, 200, del.text);
  const gone = await c.getStringDetails('ofrep-test/live', 'd', {});
  assert.equal(gone.errorCode, 'FLAG_NOT_FOUND');
});

test('OFREP evaluations are counted in the flag\'s statistics', async () => {
  await putFlag('/ofrep-test/counted', { variants: { on: 'yes', off: 'no' } });
  const c = await clientWith({ 'X-API-Key': evalToken });
  for (let i = 0; i < 3; i++) assert.equal(await c.getStringValue('ofrep-test/counted', 'd', { targetingKey: `u${i}` }), 'yes');
  const bulk = await ofrep('', { context: { targetingKey: 'u' } }, {}, evalToken);
  assert.equal(bulk.status, 200);
  const st = await api(server, 'GET', '/api/v1/flags/ofrep-test/counted/status');
  assert.equal(st.status, 200, st.text);
  assert.equal(st.json.evaluations.last_minute, 4, st.text);
  assert.equal(st.json.evaluations.enabled_share_last_minute, 1);
});

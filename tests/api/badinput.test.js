// badinput.test.js — bad input is normal input: every refusal is precise, writes nothing,
// and leaves the server answering.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startServer, api, rawApi, pp, storeSnapshot, assertHealthy } = require('./helpers');

let S;
before(async () => {
  S = await startServer();
  // something in the store so "unchanged" means something
  for (const n of ['/keep/a', '/keep/b/c']) {
    const r = await api(S, 'PUT', pp(n), { value: n, type: 'String' });
    assert.equal(r.status, 200, r.text);
  }
});
after(async () => { if (S) await S.cleanup(); });

const GOOD = { value: 'x', type: 'String' };

/* Runs send(), asserts the status (and code, and that the message matches `field`), then
 * that the store and the audit log are unchanged and /health still answers. */
async function refused(send, status, codes, field) {
  const before0 = await storeSnapshot(S);
  const r = await send();
  assert.equal(r.status, status, `expected ${status}, got ${r.status} ${r.text}`);
  if (codes) {
    const list = Array.isArray(codes) ? codes : [codes];
    assert.ok(r.json && r.json.error, `error body must be {"error":{...}}: ${r.text}`);
    assert.ok(list.includes(r.json.error.code), `code ${r.json.error.code} not in ${list}: ${r.text}`);
    assert.equal(typeof r.json.error.message, 'string');
  }
  if (field) assert.match(r.json.error.message, field, `message should name ${field}: ${r.text}`);
  await assertHealthy(S);
  const after0 = await storeSnapshot(S);
  assert.deepEqual(after0, before0, 'the store or the audit log changed');
  return r;
}

const putRaw = (name, body) => api(S, 'PUT', pp(name), body);

describe('malformed JSON', () => {
  it('names line and column (one line)', async () => {
    const r = await refused(() => putRaw('/j/a', '{"value": "x", "type": }'), 400, 'ValidationException');
    assert.match(r.json.error.message, /line\D{0,4}1\b/i);
    assert.match(r.json.error.message, /col(umn)?\D{0,4}\d+/i);
  });

  it('names line and column (third line)', async () => {
    const r = await refused(() => putRaw('/j/a', '{\n  "value": "x",\n  "type" "String"\n}'), 400, 'ValidationException');
    assert.match(r.json.error.message, /line\D{0,4}3\b/i);
    assert.match(r.json.error.message, /col(umn)?\D{0,4}\d+/i);
  });

  for (const [what, body] of [
    ['truncated', '{"value": "x"'],
    ['empty body', ''],
    ['null', 'null'],
    ['an array', '[]'],
    ['a string', '"str"'],
    ['a number', '42'],
    ['trailing garbage', '{"value":"x","type":"String"} xyz'],
    ['two objects', '{"value":"x","type":"String"}{"value":"y"}'],
    ['single quotes', "{'value':'x','type':'String'}"],
    ['a comment', '{"value":"x", /* c */ "type":"String"}'],
    ['deep nesting', '['.repeat(200000)],
    ['deep object nesting', '{"a":'.repeat(50000)],
  ]) {
    it(`refuses ${what}`, async () => {
      await refused(() => putRaw('/j/a', body), 400, 'ValidationException');
    });
  }
});

describe('wrong types name the field', () => {
  for (const [field, body] of [
    ['value', { value: 42, type: 'String' }],
    ['value', { value: null, type: 'String' }],
    ['value', { value: true, type: 'String' }],
    ['value', { value: ['a'], type: 'StringList' }],
    ['value', { type: 'String' }],
    ['overwrite', { value: 'x', type: 'String', overwrite: 'true' }],
    ['overwrite', { value: 'x', type: 'String', overwrite: 1 }],
    ['tags', { value: 'x', type: 'String', tags: ['a', 'b'] }],
    ['tags', { value: 'x', type: 'String', tags: 'team=ml' }],
    ['tags', { value: 'x', type: 'String', tags: { k: 1 } }],
    ['type', { value: 'x', type: 5 }],
    ['if_version', { value: 'x', type: 'String', if_version: '1' }],
    ['if_version', { value: 'x', type: 'String', if_version: 1.5 }],
    ['description', { value: 'x', type: 'String', description: 5 }],
    ['tier', { value: 'x', type: 'String', tier: 5 }],
    ['allowed_pattern', { value: 'x', type: 'String', allowed_pattern: 5 }],
    ['reason', { value: 'x', type: 'String', reason: { a: 1 } }],
  ]) {
    it(`${field}: ${JSON.stringify(body)}`, async () => {
      await refused(() => putRaw('/wt/a', body), 400, 'ValidationException', new RegExp(field));
    });
  }

  it('a negative if_version is no version: refused (400 or 409), nothing written', async () => {
    const before0 = await storeSnapshot(S);
    const r = await putRaw('/wt/neg', { value: 'x', type: 'String', if_version: -1 });
    assert.ok([400, 409].includes(r.status), `if_version -1 → ${r.status} ${r.text}`);
    assert.deepEqual(await storeSnapshot(S), before0);
    const r2 = await putRaw('/keep/a', { value: 'y', overwrite: true, if_version: -1 });
    assert.ok([400, 409].includes(r2.status), `if_version -1 on an existing name → ${r2.status} ${r2.text}`);
    assert.deepEqual(await storeSnapshot(S), before0);
  });

  it('an overwrite with a wrong-typed value leaves the old version', async () => {
    await refused(() => putRaw('/keep/a', { value: 7, overwrite: true }), 400, 'ValidationException', /value/);
    const g = await api(S, 'GET', pp('/keep/a'));
    assert.equal(g.json.value, '/keep/a');
    assert.equal(g.json.version, 1);
  });

  it('unknown type and tier are refused (case-sensitive)', async () => {
    await refused(() => putRaw('/wt/b', { value: 'x', type: 'Integer' }), 400, 'ValidationException', /type/);
    await refused(() => putRaw('/wt/b', { value: 'x', type: 'string' }), 400, 'ValidationException', /type/);
    await refused(() => putRaw('/wt/b', { value: 'x', type: '' }), 400, 'ValidationException', /type/);
    await refused(() => putRaw('/wt/b', { value: 'x', type: 'String', tier: 'Premium' }), 400, 'ValidationException', /tier/);
  });

  it('other endpoints check their bodies too', async () => {
    await refused(() => api(S, 'POST', pp('/keep/a', '/labels'), { labels: 'prod' }), 400, 'ValidationException', /labels/);
    await refused(() => api(S, 'POST', pp('/keep/a', '/labels'), { labels: [1] }), 400, 'ValidationException', /labels/);
    await refused(() => api(S, 'POST', pp('/keep/a', '/labels'), { version: '1', labels: ['p'] }), 400, 'ValidationException', /version/);
    await refused(() => api(S, 'PUT', pp('/keep/a', '/tags'), { tags: ['a'] }), 400, 'ValidationException', /tags/);
    await refused(() => api(S, 'DELETE', pp('/keep/a', '/tags'), { keys: 'a' }), 400, 'ValidationException', /keys/);
    await refused(() => api(S, 'POST', pp('/keep/a', '/rollback'), { to_version: '1' }), 400, 'ValidationException', /to_version/);
    await refused(() => api(S, 'POST', pp('/keep/a', '/rollback'), {}), 400, 'ValidationException', /to_version/);
    await refused(() => api(S, 'POST', pp('/keep/a', '/labels'), '{"labels": ['), 400, 'ValidationException', /line/i);
  });
});

describe('names', () => {
  const NAME_CODES = ['ValidationException', 'InvalidPath'];

  it('1011 characters is the longest name', async () => {
    const ok = '/' + 'a'.repeat(1010);
    const r = await api(S, 'PUT', pp(ok), GOOD);
    assert.equal(r.status, 200, r.text);
    assert.equal((await api(S, 'GET', pp(ok))).json.name, ok);
    await api(S, 'DELETE', pp(ok));
    await refused(() => api(S, 'PUT', pp('/' + 'b'.repeat(1011)), GOOD), 400, NAME_CODES);
  });

  it('15 levels is the deepest name; 16 → HierarchyLevelLimitExceededException', async () => {
    const fifteen = Array.from({ length: 15 }, (_, i) => `/l${i}`).join('');
    const r = await api(S, 'PUT', pp(fifteen), GOOD);
    assert.equal(r.status, 200, r.text);
    await api(S, 'DELETE', pp(fifteen));
    const sixteen = Array.from({ length: 16 }, (_, i) => `/m${i}`).join('');
    await refused(() => api(S, 'PUT', pp(sixteen), GOOD), 400, 'HierarchyLevelLimitExceededException');
  });

  for (const bad of ['/bad/a$b', '/bad/a*b', '/bad/a!b', '/bad/a@b', "/bad/a'b", '/bad/a~b', '/bad/a=b',
    '/bad/a,b', '/bad/a;b', '/bad/a+b', '/bad/a\\b', '/bad/a"b', '/bad/a<b', '/bad/a|b', '/bad/a(b)']) {
    it(`refuses the character in ${bad}`, async () => {
      await refused(() => api(S, 'PUT', pp(bad), GOOD), 400, NAME_CODES);
    });
  }

  for (const [what, target] of [
    ['a space', '/api/v1/params/bad/a b'],
    ['raw UTF-8', Buffer.concat([Buffer.from('/api/v1/params/bad/'), Buffer.from('é', 'utf8')])],
    ['a raw 0xff byte', Buffer.concat([Buffer.from('/api/v1/params/bad/'), Buffer.from([0xff])])],
  ]) {
    it(`refuses ${what} in the request target`, async () => {
      await refused(() => rawApi(S, 'PUT', target, GOOD), 400, null);
    });
  }

  for (const name of ['/bad/../x', '/bad/..', '/..', '/bad/./x', '/bad/.', '/bad//x', '//bad/x', '/bad/x/',
    '/bad/%2e%2e/x', '/bad/%2E%2E/x', '/bad/.%2e/x', '/bad/a%2Fb', '/bad/a%2fb', '/bad/%41', '/bad/a%20b', '/bad/%2e', '/bad/a%00b']) {
    it(`refuses ${name} on PUT and GET`, async () => {
      await refused(() => api(S, 'PUT', pp(name), GOOD), 400, NAME_CODES);
      await refused(() => api(S, 'GET', pp(name)), 400, NAME_CODES);
    });
  }

  // The name rules say what is wrong; each endpoint says which field, once ("name: name has ..." was a doubled prefix).
  it('a refused name or path is named once, by the field that carried it', async () => {
    const chars = "; allowed are a-zA-Z0-9_.-/";
    const exportDoc = { format: 'switchyard-config/1', params: [{ name: '/bad/a*b', type: 'String', value: 'x' }] };
    for (const [send, code, message] of [
      [() => api(S, 'PUT', pp('/bad/a*b'), GOOD), 'ValidationException', `name: invalid character '*' at position 7${chars}`],
      [() => api(S, 'GET', pp('/bad/x/')), 'ValidationException', "name: may not end with '/'"],
      [() => api(S, 'GET', '/api/v1/params?path=bad'), 'ValidationException', "path: must start with '/'"],
      [() => api(S, 'GET', '/api/v1/admin/audit?name=bad/x'), 'ValidationException', "query parameter name: a hierarchical name must start with '/'"],
      [() => api(S, 'GET', '/api/v1/watch?prefix=/bad//x'), 'ValidationException', "prefix: empty segment ('//') at position 6"],
      [() => api(S, 'POST', '/api/v1/config/runtime', exportDoc), 'ValidationException', `params[0].name: invalid character '*' at position 7${chars}`],
    ]) {
      const r = await refused(send, 400, code);
      assert.equal(r.json.error.message, message);
    }
  });

  it('a name that ends at /api/v1/params/ is not a parameter', async () => {
    const r = await api(S, 'PUT', '/api/v1/params/', GOOD);
    assert.ok([400, 404, 405].includes(r.status), `${r.status} ${r.text}`);
    await assertHealthy(S);
  });
});

describe('encodings and sizes', () => {
  for (const [what, bytes] of [
    ['0xff 0xfe', [0xff, 0xfe]],
    ['an overlong "/"', [0xc0, 0xaf]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ]) {
    it(`refuses invalid UTF-8 in a body: ${what}`, async () => {
      const body = Buffer.concat([Buffer.from('{"value":"a'), Buffer.from(bytes), Buffer.from('b","type":"String"}')]);
      await refused(() => putRaw('/u/a', body), 400, 'ValidationException');
    });
  }

  it('refuses a lone surrogate escape', async () => {
    await refused(() => putRaw('/u/b', '{"value":"a\\ud800b","type":"String"}'), 400, 'ValidationException');
  });

  it('a NUL in a value is refused or kept exactly, never truncated', async () => {
    const r = await putRaw('/u/nul', '{"value":"a\\u0000b","type":"String"}');
    if (r.status === 200) {
      const g = await api(S, 'GET', pp('/u/nul'));
      assert.equal(g.json.value, 'a\u0000b', 'the value was truncated at the NUL');
    } else {
      assert.equal(r.status, 400, r.text);
      assert.equal((await api(S, 'GET', pp('/u/nul'))).status, 404);
    }
    await assertHealthy(S);
  });

  it('a body of exactly 1 MiB is read; 1 MiB + 1 → 413 PayloadTooLarge', async () => {
    const json = JSON.stringify({ value: 'big', type: 'String' });
    const exact = json.slice(0, -1) + ' '.repeat(1048576 - json.length) + '}';
    assert.equal(Buffer.byteLength(exact), 1048576);
    const r = await putRaw('/size/exact', exact);
    assert.equal(r.status, 200, r.text);
    const over = json.slice(0, -1) + ' '.repeat(1048577 - json.length) + '}';
    await refused(() => putRaw('/size/over', over), 413, 'PayloadTooLarge');
  });

  it('a 16 MiB body → 413 and the server lives', async () => {
    const huge = '{"value":"' + 'x'.repeat(16 * 1048576) + '","type":"String"}';
    await refused(() => putRaw('/size/huge', huge), 413, 'PayloadTooLarge');
  });

  it('a chunked body over 1 MiB → 413', async () => {
    await refused(() => new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: S.port, method: 'PUT', path: pp('/size/chunked'), agent: false,
        headers: { Authorization: `Bearer ${S.token}`, 'Content-Type': 'application/json', Connection: 'close' },
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json = null;
          try { json = JSON.parse(text); } catch { /* */ }
          resolve({ status: res.statusCode, json, text });
        });
      });
      let answered = false;
      req.on('response', () => { answered = true; });
      req.on('error', (e) => { if (!answered) reject(e); });
      req.write('{"value":"');
      const block = 'y'.repeat(65536);
      let sent = 0;
      const pump = () => {
        while (sent < 32 && !answered) {
          sent++;
          if (!req.write(block)) { req.once('drain', pump); return; }
        }
        req.end('","type":"String"}');
      };
      pump();
    }), 413, 'PayloadTooLarge');
  });

  it('a huge header is refused without harm', async () => {
    const r = await api(S, 'GET', pp('/keep/a'), undefined, 'x'.repeat(200000)).catch((e) => ({ status: 'error', text: String(e) }));
    assert.notEqual(r.status, 200, 'a 200 KB bearer token must not authenticate');
    await assertHealthy(S);
  });
});

describe('routes', () => {
  it('unknown route → 404 NotFound, wrong method → 405 MethodNotAllowed', async () => {
    let r = await api(S, 'GET', '/api/v1/nope');
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.error.code, 'NotFound');
    r = await refused(() => api(S, 'PATCH', pp('/keep/a'), GOOD), 405, 'MethodNotAllowed');
    r = await refused(() => api(S, 'POST', pp('/keep/a'), GOOD), 405, 'MethodNotAllowed');
    r = await refused(() => api(S, 'DELETE', '/api/v1/params'), 405, 'MethodNotAllowed');
    r = await refused(() => api(S, 'PUT', '/health', GOOD), 405, 'MethodNotAllowed');
  });
});

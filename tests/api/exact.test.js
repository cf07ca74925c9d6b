// exact.test.js — names and query values mean exactly what was sent. A query value that does
// not decode, a boolean that is not true/false/1/0, an integer out of range, a parameter given
// twice or a parameter the endpoint does not take is a 400 ValidationException naming it,
// never a guess; an invalid name in a query is refused like one in a path; and a NUL (raw or
// %00) in a name never reaches the store.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startServer, api, pp, storeSnapshot, assertHealthy } = require('./helpers');
const { rawHttp, buildRequest } = require('./rawhttp');

let S;
before(async () => {
  S = await startServer();
  const put = async (name, body) => {
    const r = await api(S, 'PUT', pp(name), body);
    assert.equal(r.status, 200, `${name}: ${r.text}`);
  };
  await put('/ex/a', { value: 'one', type: 'String', tags: { team: 'ml' } });
  await put('/ex/a', { value: 'two', overwrite: true });
  await put('/ex/b/c', { value: 'deep', type: 'String' });
  await put('/ex/s', { value: 'hush', type: 'SecureString' });
  await put('/ex/d', { value: 'keep', type: 'String' }); // the target of refused DELETEs
  const l = await api(S, 'POST', pp('/ex/a', '/labels'), { version: 1, labels: ['prod'] });
  assert.equal(l.status, 200, l.text);
});
after(async () => { if (S) await S.cleanup(); });

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/* api() for requests that may start a watch stream: a 200 event stream is returned at once
 * (as {status, stream: true}) instead of being read until it ends. */
function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: `Bearer ${S.token}`, Connection: 'close' };
    let payload = null;
    if (body !== undefined) {
      payload = Buffer.from(JSON.stringify(body));
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const req = http.request({ host: '127.0.0.1', port: S.port, method, path, headers, agent: false }, (res) => {
      if (/text\/event-stream/.test(res.headers['content-type'] || '')) {
        resolve({ status: res.statusCode, stream: true, json: null, text: '(an event stream)' });
        res.destroy();
        return;
      }
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.setTimeout(15000, () => req.destroy(new Error(`${method} ${path}: no answer in 15 s`)));
    req.on('error', reject);
    req.end(payload || undefined);
  });
}

/* /ex/a has the label prod on version 1 and the tag team=ml (an earlier failure may have
 * removed them). */
async function ensureLabelAndTag() {
  if ((await api(S, 'GET', pp('/ex/a:prod'))).status !== 200) {
    const r = await api(S, 'POST', pp('/ex/a', '/labels'), { version: 1, labels: ['prod'] });
    assert.equal(r.status, 200, `re-labelling /ex/a: ${r.text}`);
  }
  const g = await api(S, 'GET', pp('/ex/a'));
  if (!g.json || !g.json.tags || g.json.tags.team !== 'ml') {
    const r = await api(S, 'PUT', pp('/ex/a', '/tags'), { tags: { team: 'ml' } });
    assert.equal(r.status, 200, `re-tagging /ex/a: ${r.text}`);
  }
}

/* Makes sure a parameter that a refused request must leave alone exists (an earlier failure
 * may have removed it), so each case fails for its own reason. */
async function ensure(name) {
  if ((await api(S, 'GET', pp(name))).status === 200) return;
  const r = await api(S, 'PUT', pp(name), { value: 'keep', type: 'String' });
  assert.equal(r.status, 200, `re-creating ${name}: ${r.text}`);
}

/* The request is refused with 400 ValidationException whose message names `param`, and the
 * store and the audit log are as they were. */
async function refused(method, path, param, body, { message } = {}) {
  if (method === 'DELETE' && path.startsWith(pp('/ex/d'))) await ensure('/ex/d');
  if (method === 'DELETE' && path.startsWith(pp('/ex/a', '/'))) await ensureLabelAndTag();
  const before0 = await storeSnapshot(S);
  const r = await call(method, path, body);
  assert.equal(r.status, 400, `${method} ${path}: expected 400 naming ${param}, got ${r.status} ${r.text.slice(0, 300)}`);
  assert.ok(r.json && r.json.error, `${method} ${path}: not a JSON error: ${r.text.slice(0, 300)}`);
  assert.equal(r.json.error.code, 'ValidationException', `${method} ${path}: ${r.text}`);
  assert.match(r.json.error.message, message || new RegExp(`\\b${esc(param)}\\b`), `${method} ${path}: the message should name ${param}: ${r.text}`);
  assert.deepEqual(await storeSnapshot(S), before0, `${method} ${path}: the store or the audit log changed`);
  return r;
}

async function ok(method, path, body) {
  const r = await api(S, method, path, body);
  assert.equal(r.status, 200, `${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return r;
}

const names = (r) => r.json.params.map((p) => p.name).sort();
const CONFIG_DOC = (name) => ({ format: 'switchyard-config/1', params: [{ name, type: 'String', value: 'imported' }] });

describe('a query value that does not decode is a 400 naming it', () => {
  for (const [method, path, param, body] of [
    ['GET', pp('/ex/a', '?label=%ff'), 'label'],
    ['GET', pp('/ex/a', '?label=%zz'), 'label'],
    ['GET', pp('/ex/a', '?label=%'), 'label'],
    ['GET', pp('/ex/a', '?label=%f'), 'label'],
    ['GET', pp('/ex/a', '?label=pr%c3'), 'label'],
    ['GET', pp('/ex/a', '?version=%zz'), 'version'],
    ['GET', pp('/ex/a', '?decrypt=%zz'), 'decrypt'],
    ['GET', '/api/v1/params/?recursive=%zz', 'recursive'],
    ['GET', '/api/v1/params?recursive=%zz', 'recursive'],
    ['GET', '/api/v1/params?path=/ex&decrypt=%zz', 'decrypt'],
    ['GET', '/api/v1/params?path=%zz', 'path'],
    ['GET', '/api/v1/params?path=/ex%ff', 'path'],
    ['GET', '/api/v1/params?limit=%zz', 'limit'],
    ['GET', pp('/ex/a', '/history?limit=%zz'), 'limit'],
    ['GET', pp('/ex/a', '/history?decrypt=%zz'), 'decrypt'],
    ['GET', '/api/v1/admin/audit?name=%ff', 'name'],
    ['GET', '/api/v1/admin/audit?name=%zz', 'name'],
    ['GET', '/api/v1/admin/audit?order=%zz', 'order'],
    ['GET', '/api/v1/admin/audit?since=%zz', 'since'],
    ['GET', '/api/v1/watch?prefix=%zz', 'prefix'],
    ['GET', '/api/v1/watch?since=%zz', 'since'],
    ['GET', '/api/v1/config/runtime?include_secrets=%zz', 'include_secrets'],
    ['POST', '/api/v1/config/runtime?apply=%zz', 'apply', CONFIG_DOC('/ex/never1')],
    ['POST', '/api/v1/config/runtime?prune=%zz', 'prune', CONFIG_DOC('/ex/never1')],
    ['DELETE', pp('/ex/d', '?reason=%zz'), 'reason'],
    ['DELETE', pp('/ex/d', '?reason=%ff'), 'reason'],
    ['DELETE', pp('/ex/a', '/labels?labels=%zz'), 'labels'],
    ['DELETE', pp('/ex/a', '/tags?keys=%zz'), 'keys'],
  ]) {
    it(`${method} ${path}`, async () => {
      await refused(method, path, param, body);
    });
  }

  it('the refused DELETEs deleted nothing', async () => {
    await ok('GET', pp('/ex/d'));
    await ok('GET', pp('/ex/a'));
    await ok('GET', pp('/ex/a:prod'));
    const g = await ok('GET', pp('/ex/a'));
    assert.deepEqual(g.json.tags, { team: 'ml' });
    assert.equal((await api(S, 'GET', pp('/ex/never1'))).status, 404);
  });
});

describe('empty and invalid values', () => {
  it('an empty ?label= is a 400 naming label, not a 404', async () => {
    await refused('GET', pp('/ex/a', '?label='), 'label');
  });

  it('an empty ?version= is a 400 naming version', async () => {
    await refused('GET', pp('/ex/a', '?version='), 'version');
  });

  for (const name of ['..', 'a//b', '/x/../y', '/x/./y', '//x', '/x/', '/a%20b', '/x/..', '.', '/ex/a$b', '/ex/%2e%2e/a']) {
    it(`audit ?name=${name} is a 400 naming name`, async () => {
      await refused('GET', `/api/v1/admin/audit?name=${name}`, 'name');
    });
  }

  it('a valid name in the audit query still works', async () => {
    const r = await ok('GET', '/api/v1/admin/audit?name=/ex/a');
    assert.ok(r.json.records.length >= 2, r.text);
    assert.ok(r.json.records.every((x) => x.name === '/ex/a'), r.text);
  });
});

describe('booleans are true, false, 1 or 0 (a bare key is true); anything else names the parameter', () => {
  const BAD = ['maybe', '', 'yes', 'no', 'TRUE', 'True', '2', 'on', 'true%20', '%20true', 't'];
  const endpoints = [
    ['GET', '/api/v1/params?path=/ex&recursive=', 'recursive'],
    ['GET', '/api/v1/params?path=/ex&decrypt=', 'decrypt'],
    ['GET', `${pp('/ex/s')}?decrypt=`, 'decrypt'],
    ['GET', `${pp('/ex/a', '/history')}?decrypt=`, 'decrypt'],
    ['GET', '/api/v1/config/runtime?include_secrets=', 'include_secrets'],
    ['POST', '/api/v1/config/runtime?apply=', 'apply', CONFIG_DOC('/ex/never2')],
    ['POST', '/api/v1/config/runtime?prune=', 'prune', CONFIG_DOC('/ex/never2')],
  ];
  for (const [method, prefix, param, body] of endpoints) {
    it(`${method} ${prefix}… refuses ${BAD.map((b) => JSON.stringify(b)).join(' ')}`, async () => {
      for (const v of BAD) await refused(method, prefix + v, param, body);
    });
  }

  it('recursive: true/1/bare list the subtree, false/0 only the direct children', async () => {
    for (const q of ['recursive=true', 'recursive=1', 'recursive']) {
      const r = await ok('GET', `/api/v1/params?path=/ex&${q}`);
      assert.ok(names(r).includes('/ex/b/c'), `${q}: ${names(r)}`);
    }
    for (const q of ['recursive=false', 'recursive=0']) {
      const r = await ok('GET', `/api/v1/params?path=/ex&${q}`);
      assert.ok(!names(r).includes('/ex/b/c'), `${q}: ${names(r)}`);
      assert.ok(names(r).includes('/ex/a'), `${q}: ${names(r)}`);
    }
    const bareLast = await ok('GET', '/api/v1/params?recursive&path=/ex');
    assert.ok(names(bareLast).includes('/ex/b/c'), `bare recursive first: ${names(bareLast)}`);
  });

  it('decrypt: true/1/bare show a SecureString value, false/0 do not', async () => {
    for (const q of ['decrypt=true', 'decrypt=1', 'decrypt']) {
      const r = await ok('GET', `${pp('/ex/s')}?${q}`);
      assert.equal(r.json.value, 'hush', `${q}: ${r.text}`);
    }
    for (const q of ['decrypt=false', 'decrypt=0']) {
      const r = await ok('GET', `${pp('/ex/s')}?${q}`);
      assert.equal(r.json.value, undefined, `${q}: ${r.text}`);
    }
  });

  it('include_secrets: 1/bare export SecureString values, 0 does not', async () => {
    const secretOf = (r) => (r.json.params.find((p) => p.name === '/ex/s') || {}).value;
    for (const q of ['include_secrets=true', 'include_secrets=1', 'include_secrets']) {
      assert.equal(secretOf(await ok('GET', `/api/v1/config/runtime?${q}`)), 'hush', q);
    }
    for (const q of ['include_secrets=false', 'include_secrets=0']) {
      assert.equal(secretOf(await ok('GET', `/api/v1/config/runtime?${q}`)), undefined, q);
    }
  });

  it('apply: 0/false are dry runs, 1/bare apply', async () => {
    for (const q of ['apply=0', 'apply=false']) {
      const r = await ok('POST', `/api/v1/config/runtime?${q}`, CONFIG_DOC('/ex/imp0'));
      assert.equal(r.json.dry_run, true, `${q}: ${r.text}`);
      assert.equal((await api(S, 'GET', pp('/ex/imp0'))).status, 404, `${q} wrote`);
    }
    // an import without prune leaves the other parameters alone
    for (const [q, name] of [['apply=1', '/ex/imp1'], ['apply', '/ex/imp2'], ['apply=true', '/ex/imp3']]) {
      const r = await ok('POST', `/api/v1/config/runtime?${q}`, CONFIG_DOC(name));
      assert.equal(r.json.dry_run, false, `${q}: ${r.text}`);
      await ok('GET', pp(name));
    }
  });

  it('prune: 1/bare list deletions in a dry run, 0/false do not', async () => {
    const deletes = (r) => r.json.changes.filter((c) => c.action === 'delete').length;
    for (const q of ['prune=1', 'prune', 'prune=true']) {
      const r = await ok('POST', `/api/v1/config/runtime?${q}`, CONFIG_DOC('/ex/a'));
      assert.equal(r.json.dry_run, true, r.text);
      assert.ok(deletes(r) > 0, `${q}: ${r.text}`);
    }
    for (const q of ['prune=0', 'prune=false']) {
      const r = await ok('POST', `/api/v1/config/runtime?${q}`, CONFIG_DOC('/ex/a'));
      assert.equal(deletes(r), 0, `${q}: ${r.text}`);
    }
  });
});

describe('integers must be integers in range', () => {
  const BAD_LIMIT = ['0', '1001', '-1', 'abc', '', '1.5', '1e2', '0x10', '5abc', '99999999999999999999', '%205', '5%20'];
  for (const [prefix, param, bad] of [
    ['/api/v1/params?path=/ex&limit=', 'limit', BAD_LIMIT],
    [`${pp('/ex/a', '/history')}?limit=`, 'limit', BAD_LIMIT],
    ['/api/v1/admin/audit?limit=', 'limit', BAD_LIMIT],
    [`${pp('/ex/a')}?version=`, 'version', ['0', '-1', 'abc', '1.0', '1x', '99999999999999999999999']],
    [`${pp('/ex/a', '/history')}?next=`, 'next', ['-1', 'abc', '1.5', '99999999999999999999999']],
    ['/api/v1/admin/audit?after=', 'after', ['-1', 'abc', '', '1.5', '99999999999999999999999']],
    ['/api/v1/admin/audit?before=', 'before', ['-1', 'abc', '', '1.5', '99999999999999999999999']],
    ['/api/v1/admin/audit?since=', 'since', ['-1', 'abc', '', '1.5', '99999999999999999999999']],
    ['/api/v1/watch?since=', 'since', ['-1', 'abc', '', '1.5', '99999999999999999999999']],
  ]) {
    it(`${prefix}… refuses ${bad.map((b) => JSON.stringify(b)).join(' ')}`, async () => {
      for (const v of bad) await refused('GET', prefix + v, param);
    });
  }

  it('the bounds themselves are accepted', async () => {
    await ok('GET', '/api/v1/params?path=/ex&limit=1');
    await ok('GET', '/api/v1/params?path=/ex&limit=1000');
    await ok('GET', `${pp('/ex/a', '/history')}?limit=1000`);
    await ok('GET', '/api/v1/admin/audit?limit=1000');
    const v = await ok('GET', `${pp('/ex/a')}?version=1`);
    assert.equal(v.json.value, 'one');
  });
});

describe('a query parameter given twice is a 400 naming it', () => {
  for (const [method, path, param, body] of [
    ['GET', pp('/ex/a', '?label=a&label=b'), 'label'],
    ['GET', pp('/ex/a', '?label=prod&label=prod'), 'label'],
    ['GET', pp('/ex/a', '?version=1&version=2'), 'version'],
    ['GET', '/api/v1/params?path=/ex&limit=1&limit=2', 'limit'],
    ['GET', '/api/v1/params?path=/ex&path=/other', 'path'],
    ['GET', '/api/v1/params?path=/ex&recursive=true&recursive=true', 'recursive'],
    ['GET', '/api/v1/params?path=/ex&recursive&recursive=false', 'recursive'],
    ['GET', '/api/v1/admin/audit?name=/ex/a&name=/ex/a', 'name'],
    ['GET', '/api/v1/watch?prefix=/a&prefix=/b', 'prefix'],
    ['GET', '/api/v1/config/runtime?include_secrets=1&include_secrets=0', 'include_secrets'],
    ['POST', '/api/v1/config/runtime?apply=0&apply=1', 'apply', CONFIG_DOC('/ex/never3')],
    ['DELETE', pp('/ex/d', '?reason=a&reason=b'), 'reason'],
    ['DELETE', pp('/ex/a', '/labels?labels=prod&labels=x'), 'labels'],
  ]) {
    it(`${method} ${path}`, async () => {
      await refused(method, path, param, body);
    });
  }
});

describe('an unknown query parameter is refused by name', () => {
  for (const [method, path, param, body] of [
    ['GET', '/api/v1/params?path=/ex&recursiv=true', 'recursiv'],
    ['GET', '/api/v1/params?recursiv=true', 'recursiv'],
    ['GET', pp('/ex/a', '?lable=prod'), 'lable'],
    ['GET', pp('/ex/a', '/history?limt=5'), 'limt'],
    ['GET', '/api/v1/admin/audit?nmae=/ex/a', 'nmae'],
    ['GET', '/api/v1/watch?prefx=/ex', 'prefx'],
    ['GET', '/api/v1/config/runtime?include_secret=true', 'include_secret'],
    ['POST', '/api/v1/config/runtime?aply=true', 'aply', CONFIG_DOC('/ex/never4')],
    ['PUT', pp('/ex/never5', '?overwrite=true'), 'overwrite', { value: 'x', type: 'String' }],
    ['DELETE', pp('/ex/d', '?reasn=x'), 'reasn'],
  ]) {
    it(`${method} ${path}`, async () => {
      await refused(method, path, param, body, { message: new RegExp(`unknown query parameter\\W{0,3}${esc(param)}\\b`, 'i') });
    });
  }

  it('nothing was written or deleted', async () => {
    await ok('GET', pp('/ex/a'));
    for (const n of ['/ex/never4', '/ex/never5']) assert.equal((await api(S, 'GET', pp(n))).status, 404, n);
  });
});

describe('a NUL in a name never reaches the store', () => {
  for (const [method, path, param] of [
    ['GET', '/api/v1/admin/audit?name=/ex/a%00x', 'name'],
    ['GET', '/api/v1/admin/audit?name=/ex/a%00', 'name'],
    ['GET', '/api/v1/params?path=/ex%00x', 'path'],
    ['GET', pp('/ex/a', '?label=prod%00x'), 'label'],
    ['GET', '/api/v1/watch?prefix=/ex%00', 'prefix'],
    ['DELETE', pp('/ex/a', '/labels?labels=prod%00x'), 'labels'],
    ['DELETE', pp('/ex/a', '/tags?keys=team%00x'), 'keys'],
  ]) {
    it(`${method} ${path}`, async () => {
      await refused(method, path, param);
    });
  }

  it('%00 in the path: refused, nothing written under the truncated name', async () => {
    for (const method of ['PUT', 'GET', 'DELETE']) {
      const r = await api(S, method, pp('/ex/a%00b'), method === 'PUT' ? { value: 'x', type: 'String', overwrite: true } : undefined);
      assert.equal(r.status, 400, `${method} /ex/a%00b: ${r.status} ${r.text}`);
    }
    const g = await ok('GET', pp('/ex/a'));
    assert.equal(g.json.value, 'two', 'the truncated name was written');
  });

  it('a raw NUL in the query: refused, nothing read or removed', async () => {
    await ensureLabelAndTag();
    const H = [`Host: 127.0.0.1:${S.port}`, `Authorization: Bearer ${S.token}`, 'Connection: close'];
    const a = await rawHttp(S.port, buildRequest('GET /api/v1/admin/audit?name=/ex/a\0x HTTP/1.1', H));
    assert.equal(a.status, 400, `${a.status} ${a.text.slice(0, 300)}`);
    const l = await rawHttp(S.port, buildRequest(`DELETE ${pp('/ex/a', '/labels')}?labels=prod\0x HTTP/1.1`, H));
    assert.equal(l.status, 400, `${l.status} ${l.text.slice(0, 300)}`);
    const g = await ok('GET', pp('/ex/a:prod'));
    assert.equal(g.json.value, 'one');
    await assertHealthy(S);
  });
});

// folders.test.js — GET /api/v1/params?path=...&folders=true: the next-level folders under a
// path with the number of parameters below each, beside the direct children; at the root, at a
// middle level, past 1,000 folders, and with 30,000 parameters from one import.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, pp } = require('./helpers');

let S;
before(async () => { S = await startServer(); });
after(async () => { if (S) await S.cleanup(); });

const list = async (q, token) => {
  const r = await api(S, 'GET', `/api/v1/params?${q}`, undefined, token);
  assert.equal(r.status, 200, `${q}: ${r.text}`);
  return r.json;
};
const names = (j) => j.params.map((p) => p.name);

/* One import of params [{name, value, type}], applied. */
async function load(params) {
  const r = await api(S, 'POST', '/api/v1/config/runtime?apply=true', { format: 'switchyard-config/1', params });
  assert.equal(r.status, 200, r.text.slice(0, 500));
}

/* The folders of path (ending in '/') among names, as the API answers them: by path, with counts. */
function expected(all, path) {
  const m = new Map();
  for (const n of all) {
    if (!n.startsWith(path)) continue;
    const i = n.indexOf('/', path.length);
    if (i < 0) continue;
    const f = n.slice(0, i + 1);
    m.set(f, (m.get(f) || 0) + 1);
  }
  return [...m.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((f) => ({ path: f, count: m.get(f) }));
}

describe('small trees', () => {
  const SMALL = ['/f/a', '/f/a/x', '/f/a/y/z', '/f/a/y/w', '/f/b/c', '/f/b0', '/f/b-/q', '/f/c.d/e', '/top', '/g/h/i'];
  before(async () => {
    for (const n of SMALL) assert.equal((await api(S, 'PUT', pp(n), { value: 'v', type: 'String' })).status, 200, n);
    await load([{ name: 'bare', value: 'v', type: 'String' }]); // a single-level name without its slash
    assert.equal((await api(S, 'PUT', pp('/f/s/secret'), { value: 'hush', type: 'SecureString' })).status, 200);
  });

  it('lists the folders beside the direct children, by path, with their counts', async () => {
    const j = await list('path=/f&folders=true');
    assert.deepEqual(Object.keys(j).sort(), ['folders', 'next', 'params']);
    assert.deepEqual(names(j), ['/f/a', '/f/b0']);
    assert.deepEqual(j.folders, [
      { path: '/f/a/', count: 3 },
      { path: '/f/b-/', count: 1 },
      { path: '/f/b/', count: 1 },
      { path: '/f/c.d/', count: 1 },
      { path: '/f/s/', count: 1 }, // a SecureString counts as it is listed
    ]);
    assert.deepEqual(await list('path=/f/&folders=true'), j); // a trailing slash is the same path
    assert.deepEqual(await list('path=/f&folders'), j); // the bare flag is true
    assert.deepEqual((await list('path=/f/a&folders=true')).folders, [{ path: '/f/a/y/', count: 2 }]);
    const leaf = await list('path=/f/a/y&folders=true');
    assert.deepEqual([leaf.folders, names(leaf)], [[], ['/f/a/y/w', '/f/a/y/z']]);
    const none = await list('path=/nothing&folders=true');
    assert.deepEqual(none, { folders: [], params: [], next: null });
  });

  it('the root: single-level names (with or without slash) are children, the rest folders', async () => {
    const j = await list('path=/&folders=true&limit=1000');
    assert.ok(names(j).includes('/top') && names(j).includes('bare'), names(j).join(' '));
    assert.deepEqual(j.folders.filter((f) => ['/f/', '/g/'].includes(f.path)), [{ path: '/f/', count: 9 }, { path: '/g/', count: 1 }]);
    assert.ok(j.folders.every((f) => /^\/[^/]+\/$/.test(f.path) && f.count > 0), JSON.stringify(j.folders));
    assert.deepEqual(await list('folders=true&limit=1000'), j); // no path: the root
  });

  it('without folders=true the answer is as before; recursive=true with it is refused', async () => {
    for (const q of ['path=/f', 'path=/f&folders=false', 'path=/f&folders=0&recursive=true']) {
      assert.ok(!('folders' in await list(q)), q);
    }
    for (const q of ['path=/f&folders=true&recursive=true', 'path=/f&folders&recursive', 'path=/f&folders=yes', 'path=/f&folders=']) {
      const r = await api(S, 'GET', `/api/v1/params?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.text}`);
      assert.equal(r.json.error.code, 'ValidationException', r.text);
      assert.match(r.json.error.message, /folders/, r.text);
    }
    assert.ok('folders' in await list('path=/f&folders=true&recursive=false'));
  });

  it('limit and next page the parameters; the folders come whole on the first page', async () => {
    const p1 = await list('path=/f&folders=true&limit=1');
    assert.deepEqual(names(p1), ['/f/a']);
    assert.equal(p1.folders.length, 5);
    assert.equal(p1.next, '/f/a');
    const p2 = await list(`path=/f&folders=true&limit=1&next=${encodeURIComponent(p1.next)}`);
    assert.deepEqual(names(p2), ['/f/b0']);
    assert.ok(!('folders' in p2), JSON.stringify(p2));
  });

  it('a read token may list folders', async () => {
    const t = await api(S, 'POST', '/api/v1/admin/tokens', { name: 'folders-reader', scopes: ['read'] });
    assert.equal(t.status, 201, t.text);
    assert.equal((await list('path=/f&folders=true', t.json.token)).folders.length, 5);
  });
});

describe('at scale: one import of 30,000 parameters', () => {
  const FOLDERS = 1200;
  const all = [];
  before(async () => {
    const pad = (i, n) => String(i).padStart(n, '0');
    for (let i = 0; i < 20000; i++) all.push(`/big/d${pad(i % FOLDERS, 4)}/e${i % 7}/p${pad(i, 6)}`);
    for (let i = 0; i < 10000; i++) all.push(`/big/c${pad(i, 6)}`); // direct children, before the folders
    for (let i = 0; i < 500; i++) all.push(`/big/z${pad(i, 3)}`); // and after them
    await load(all.map((name, i) => ({ name, value: `v${i}`, type: 'String' })));
  });

  it('the root and a middle level answer exact counts, fast', async () => {
    let t = Date.now();
    const root = await list('path=/&folders=true');
    const tRoot = Date.now() - t;
    assert.deepEqual(root.folders.find((f) => f.path === '/big/'), { path: '/big/', count: all.length });
    for (const d of ['/big/d0000/', '/big/d0777/', '/big/d1199/']) {
      const j = await list(`path=${d}&folders=true`);
      assert.deepEqual(j.folders, expected(all, d), d);
      assert.equal(j.folders.length, 7);
    }
    t = Date.now();
    const big = await list('path=/big&folders=true&limit=3');
    const tBig = Date.now() - t;
    assert.deepEqual(names(big), ['/big/c000000', '/big/c000001', '/big/c000002']);
    const want = expected(all, '/big/');
    assert.equal(want.length, FOLDERS);
    assert.equal(big.folders.length, 1000);
    assert.equal(big.folders_truncated, true);
    assert.deepEqual(big.folders, want.slice(0, 1000));
    assert.ok(tRoot < 2000 && tBig < 2000, `root ${tRoot} ms, /big ${tBig} ms`);
  });

  it('1,000 folders exactly are not truncated', async () => {
    const k = Array.from({ length: 1000 }, (_, i) => `/k/f${String(i).padStart(3, '0')}/x`);
    await load(k.map((name) => ({ name, value: 'v', type: 'String' })));
    const j = await list('path=/k&folders=true');
    assert.ok(!('folders_truncated' in j));
    assert.deepEqual(j.folders, expected(k, '/k/'));
  });
});

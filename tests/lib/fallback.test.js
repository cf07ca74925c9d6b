// fallback.test.js — where values come from when the server cannot be reached: the cache file
// an earlier run wrote (source "cache"), else SWITCHYARD_PARAM_<NAME> / SWITCHYARD_FLAG_<KEY>
// (source "env"), else nothing (not found, the program's default). A cache file that is
// corrupt, truncated, of another format version or written for another server is ignored with
// a warning through the log callback, and the client still works.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer } = require('../api/helpers.js');
const { startProbe, finish, put, putFlag, makeToken, closedPort, DEADLINE } = require('./probe.js');

const SECRET = 'cache-s3cret-never-on-disk';
let S; // the live server
let deadUrl; // the URL of a server that was stopped: the cache file below is written for it
let dir;
let goodCache; // bytes of a cache file written by a client of deadUrl
let readToken;
let deadToken;
let liveA; // the live server's /c/a

const OFFLINE = ['--start-timeout', '300', '--backoff', '50', '300', '--connect-ms', '500'];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-lib-cache-'));
  // a server that the first client follows and writes its cache file for, then stops for good
  const D = await startServer();
  deadToken = await makeToken(D, 'lib-cache-read', ['read', 'decrypt']);
  await put(D, '/c/a', 'from-cache');
  await put(D, '/c/list', 'p,q', 'StringList');
  await put(D, '/c/secret', SECRET, 'SecureString');
  await putFlag(D, '/c/flag', { variants: { on: 'yes', off: 'no' } });
  const cache = path.join(dir, 'seed.cache');
  const p = startProbe(['--server', D.url, '--token', deadToken, '--prefix', '/c/', '--cache', cache, '--start-timeout', '5000']);
  assert.deepEqual((await p.ready).violations, []);
  await p.waitState((s) => s.state === 'synced', DEADLINE, 'synced');
  // a SecureString's value is never held, not even with a decrypt token
  const sec = await p.get('/c/secret');
  assert.equal(sec.rc, 3, `a SecureString with a decrypt token: ${JSON.stringify(sec)}`);
  const v = await put(D, '/c/a', 'from-cache-2');
  await p.waitEvent((e) => e.ev === 'change' && e.name === '/c/a' && e.version === v, DEADLINE, 'the update');
  // the cache file is written after each update: wait until it holds the update
  await waitForFile(cache, (t) => t.includes('from-cache-2'));
  await finish(p, [deadToken]);
  goodCache = fs.readFileSync(cache);
  const mode = fs.statSync(cache).mode & 0o777;
  assert.equal(mode, 0o600, `the cache file's mode is ${mode.toString(8)}`);
  assert.ok(!goodCache.includes(SECRET), 'a SecureString value in the cache file');
  assert.ok(!goodCache.includes(deadToken), 'the token in the cache file');
  assert.deepEqual(fs.readdirSync(dir), ['seed.cache'], 'the atomic write left a temporary file behind');
  deadUrl = D.url;
  await D.cleanup();

  S = await startServer();
  readToken = await makeToken(S, 'lib-cache-live', ['read']);
  liveA = 'from-live-server';
  await put(S, '/c/a', liveA);
});

after(async () => {
  if (S) await S.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function waitForFile(file, pred) {
  const until = Date.now() + DEADLINE;
  for (;;) {
    let t = null;
    try { t = fs.readFileSync(file, 'latin1'); } catch { /* not yet */ }
    if (t !== null && pred(t)) return t;
    if (Date.now() > until) throw new Error(`${file} never held what was expected; it holds ${JSON.stringify(t && t.slice(0, 500))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let n = 0;
function cacheFile(bytes) {
  const f = path.join(dir, `t${++n}.cache`);
  if (bytes !== undefined) fs.writeFileSync(f, bytes, { mode: 0o600 });
  return f;
}

describe('the server cannot be reached', () => {
  it('starts from the cache file: values say "cache"', async () => {
    const f = cacheFile(goodCache);
    const p = startProbe(['--server', deadUrl, '--token', deadToken, '--prefix', '/c/', '--cache', f, ...OFFLINE],
      { env: { SWITCHYARD_PARAM_C_A: 'env loses to the cache' } });
    const ready = await p.ready;
    assert.deepEqual(ready.violations, []);
    assert.equal(ready.source, 'cache', `state.source right after start: ${JSON.stringify(ready)}`);
    const g = await p.get('/c/a');
    assert.equal(g.rc, 0, JSON.stringify(g));
    assert.equal(g.value, 'from-cache-2');
    assert.equal(g.source, 'cache');
    assert.ok(g.version >= 2);
    assert.equal((await p.get('/c/list')).value, 'p,q');
    assert.equal((await p.get('/c/secret')).rc, 3, 'a SecureString is never in the cache');
    const e = await p.cmd('eval c/flag u');
    assert.equal(e.variant, 'on');
    assert.equal(e.value, '"yes"');
    assert.equal(e.source, 'cache');
    assert.equal((await p.cmd('flag c/flag u 0')).enabled, 1);
    const snap = await p.cmd('snap');
    assert.equal(snap.source, 'cache');
    // the first snapshot (from the file) is called back, with source cache
    await p.waitEvent((x) => x.ev === 'change' && x.name === '/c/a', DEADLINE, 'the cache file called back');
    assert.equal(p.changes('/c/a')[0].source, 'cache');
    const st = await p.waitState((s) => s.last_error !== 0, DEADLINE, 'a connection error');
    assert.notEqual(st.state, 'synced');
    assert.equal(st.source, 'cache');
    assert.ok(st.last_error_msg.length > 0);
    await finish(p, [deadToken]);
    assert.deepEqual(fs.readFileSync(f), goodCache, 'the cache file changed without an update from the server');
  });

  it('no cache file: SWITCHYARD_PARAM_ and SWITCHYARD_FLAG_ from the environment say "env"', async () => {
    const f = cacheFile(); // set, but does not exist
    const p = startProbe(['--server', deadUrl, '--token', deadToken, '--prefix', '/c/', '--cache', f, ...OFFLINE], {
      env: {
        SWITCHYARD_PARAM_C_A: 'from-env',
        SWITCHYARD_PARAM_PHOTOEDITOR_STAGING_PROVIDER_STRATEGY: 'strategy-env',
        SWITCHYARD_PARAM_C_DASHED_NAME_V2: 'dashes',
        SWITCHYARD_FLAG_C_ON_FLAG: 'true',
        SWITCHYARD_FLAG_C_OFF_FLAG: 'false',
      },
    });
    assert.deepEqual((await p.ready).violations, []);
    let g = await p.get('/c/a');
    assert.equal(g.rc, 0, JSON.stringify(g));
    assert.equal(g.value, 'from-env');
    assert.equal(g.source, 'env');
    assert.equal(g.version, 0);
    g = await p.get('/photoeditor/staging/provider/strategy');
    assert.equal(g.value, 'strategy-env');
    assert.equal(g.source, 'env');
    assert.equal(g.snap_rc, 0, 'sy_snapshot_get falls back to the environment too');
    assert.equal(g.snap_source, 'env');
    assert.equal(g.snap_type, 'String');
    assert.equal(g.snap_name, '', 'an environment value has name ""');
    g = await p.get('/c/dashed-name.v2');
    assert.equal(g.value, 'dashes', 'every character but A-Z and 0-9 becomes _');
    assert.equal((await p.get('/c/list')).rc, 3);
    assert.equal((await p.cmd('flag c/on-flag u 0')).enabled, 1);
    assert.equal((await p.cmd('flag /c/on-flag u 0')).enabled, 1);
    assert.equal((await p.cmd('flag c/off-flag u 1')).enabled, 0);
    assert.equal((await p.cmd('flag c/unset-flag u 1')).enabled, 1);
    await finish(p, [deadToken]);
  });

  it('nothing at all: not found, the default', async () => {
    const p = startProbe(['--server', deadUrl, '--token', deadToken, '--prefix', '/c/', ...OFFLINE]);
    const ready = await p.ready;
    assert.deepEqual(ready.violations, []);
    assert.notEqual(ready.state, 'synced');
    const g = await p.get('/c/a');
    assert.equal(g.rc, 3, JSON.stringify(g));
    assert.equal(g.error, 'parameter not found');
    assert.equal((await p.cmd('flag c/flag u 1')).enabled, 1);
    assert.equal((await p.cmd('flag c/flag u 0')).enabled, 0);
    const e = await p.cmd('eval c/flag u');
    assert.equal(e.rc, 0);
    assert.equal(e.reason, 'ERROR');
    assert.equal(e.error_code, 'FLAG_NOT_FOUND');
    assert.equal(e.source, 'default');
    const snap = await p.cmd('snap');
    assert.equal(snap.count, 0);
    assert.equal(snap.seq, 0);
    const st = await p.waitState((s) => s.last_error !== 0, DEADLINE, 'a connection error');
    assert.equal(st.last_error, 14, `SY_EUNAVAILABLE for a server that cannot be reached: ${JSON.stringify(st)}`);
    assert.equal(st.params, 0);
    await finish(p, [deadToken]);
  });
});

/* The cache file with its format version changed: the file is a JSON header line (with "format"
 * and "version") and then the parameters; a whole-file JSON with such fields is handled too. */
function otherVersion(bytes) {
  const text = bytes.toString('utf8');
  const nl = text.indexOf('\n');
  for (const [head, rest] of [[nl >= 0 ? text.slice(0, nl) : text, nl >= 0 ? text.slice(nl) : ''], [text, '']]) {
    let j;
    try { j = JSON.parse(head); } catch { continue; }
    if (typeof j.version === 'number') j.version += 1;
    else if (typeof j.format === 'string' && /\d+$/.test(j.format)) j.format = j.format.replace(/\d+$/, (d) => String(Number(d) + 1));
    else continue;
    return Buffer.from(JSON.stringify(j) + rest);
  }
  return null;
}

/* The unusable cache files, each made from the good one when its test runs. */
const BAD = [
  { what: 'corrupt', bytes: () => Buffer.concat([Buffer.from('\x00\xffnot a cache file {{{"'), Buffer.alloc(64, 0x41)]), dead: true },
  { what: 'truncated', bytes: () => goodCache.subarray(0, Math.floor(goodCache.length / 2)), dead: true },
  { what: 'empty', bytes: () => Buffer.alloc(0), dead: true },
  { what: 'of another format version', bytes: () => otherVersion(goodCache), dead: true },
  { what: 'written for another server URL', bytes: () => goodCache, dead: false },
];

function warnedAbout(p, file) {
  return p.logs().find((e) => ['warn', 'error'].includes(e.level) && e.line &&
    (/cache/i.test(e.line.msg) || JSON.stringify(e.line).includes(file)));
}

describe('a cache file that cannot be used', () => {
  for (const c of BAD) {
    it(`${c.what}: ignored with a warning, offline`, async () => {
      const bytes = c.bytes();
      assert.ok(bytes, 'the cache file is not JSON with a format version field to edit');
      const f = cacheFile(bytes);
      const url = c.dead ? deadUrl : `http://127.0.0.1:${await closedPort()}`;
      const p = startProbe(['--server', url, '--token', deadToken, '--prefix', '/c/', '--cache', f, ...OFFLINE]);
      const ready = await p.ready;
      assert.deepEqual(ready.violations, []);
      await p.waitEvent((e) => e.ev === 'log' && warnedAbout(p, f), DEADLINE, `a warning about the ${c.what} cache file`);
      const w = warnedAbout(p, f);
      assert.match(w.line.msg, /cache/i, `the warning's msg names the cache file: ${JSON.stringify(w.line)}`);
      assert.notEqual(ready.source, 'cache');
      const g = await p.get('/c/a');
      assert.equal(g.rc, 3, `a value from an unusable cache file: ${JSON.stringify(g)}`);
      assert.equal((await p.cmd('snap')).count, 0);
      await finish(p, [deadToken]);
    });

    it(`${c.what}: ignored with a warning, and the client follows the live server and rewrites it`, async () => {
      const bytes = c.bytes();
      assert.ok(bytes, 'the cache file is not JSON with a format version field to edit');
      const f = cacheFile(bytes);
      const p = startProbe(['--server', S.url, '--token', readToken, '--prefix', '/c/', '--cache', f, '--start-timeout', '5000']);
      assert.deepEqual((await p.ready).violations, []);
      // for the live server's URL the files of deadUrl are all "another server's"
      await p.waitEvent((e) => e.ev === 'log' && warnedAbout(p, f), DEADLINE, `a warning about the ${c.what} cache file`);
      await p.waitState((s) => s.state === 'synced', DEADLINE, 'synced');
      const g = await p.get('/c/a');
      assert.equal(g.value, liveA);
      assert.equal(g.source, 'stream');
      assert.equal((await p.get('/c/list')).rc, 3, 'a value of the unusable cache file');
      liveA = `rewritten-${n}`;
      const v = await put(S, '/c/a', liveA);
      await p.waitEvent((e) => e.ev === 'change' && e.name === '/c/a' && e.version === v, DEADLINE, 'the update');
      await waitForFile(f, (x) => x.includes(liveA));
      await finish(p, [readToken]);
    });
  }

  it('a cache file in a directory that does not exist: the client still works', async () => {
    const f = path.join(dir, 'no-such-dir', 'x.cache');
    const p = startProbe(['--server', S.url, '--token', readToken, '--prefix', '/c/', '--cache', f, '--start-timeout', '5000']);
    const ready = await p.ready;
    assert.deepEqual(ready.violations, []);
    await p.waitState((s) => s.state === 'synced', DEADLINE, 'synced');
    assert.equal((await p.get('/c/a')).source, 'stream');
    await finish(p, [readToken]);
  });
});

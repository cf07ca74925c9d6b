// config_scale.test.js — backups of any size restore: an export of 100,000 parameters (20,000
// under the sanitizers) imports into a fresh server, dry run then apply, as one transaction;
// every name, value, type, tier, description, pattern and tag round-trips; the audit chain
// verifies; importing it again changes nothing; an import that changes everything is one
// commit too; the CLI does the same with a file of many megabytes.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, api, pp, openSSE, cliRunner, sleep, pgSql, pgUrlWithDb } = require('./helpers');

// 20000 under ASan, and on PostgreSQL, whose commits of a large import are measured in bench/ rather than held to this test's deadline
const N = Number(process.env.SY_SCALE_PARAMS || (process.env.SY_SANITIZED === '1' || process.env.SY_TEST_STORE_PG ? 20000 : 100000));
const CFG = '/api/v1/config/runtime';
const PROBE_FIRST = '/scale/probe/first'; // first and last item of every import: a reader that
const PROBE_LAST = '/scale/probe/last'; //  ever sees one without the other saw half a commit
const LONG_MS = 600000;

/* The i-th generated parameter; gen selects the values of a later import that updates all. */
function param(i, gen) {
  const type = i % 10 === 0 ? 'SecureString' : i % 10 === 1 ? 'StringList' : 'String';
  const p = {
    name: `/scale/s${i % 100}/e${i % 7}/p${String(i).padStart(6, '0')}`,
    type,
    tier: 'Standard',
    description: i % 3 === 0 ? `parameter ${i} "of" the scale test` : '',
    allowed_pattern: '',
    value: type === 'StringList' ? `a${i},b${gen},c` : `v${gen}-${i}`,
    tags: i % 5 === 0 ? { team: `t${i % 9}`, gen: `g${gen}` } : {},
  };
  if (i % 11 === 4 && type !== 'StringList') p.value += ` é ✓ 😀 "quoted" back\\slash\nnew line\ttab`;
  if (i % 997 === 5 && type === 'String') {
    p.tier = 'Advanced';
    p.value = `${gen}`.padEnd(6000, 'x');
  }
  if (i % 7 === 3 && type === 'String' && /^v[0-9]+-[0-9]+$/.test(p.value)) p.allowed_pattern = '^v[0-9]+-[0-9]+$';
  return p;
}

function doc(gen) {
  const params = [{ name: PROBE_FIRST, type: 'String', value: `first-${gen}`, tier: 'Standard', description: '', allowed_pattern: '', tags: {} }];
  for (let i = 0; i < N; i++) params.push(param(i, gen));
  params.push({ name: PROBE_LAST, type: 'String', value: `last-${gen}`, tier: 'Standard', description: '', allowed_pattern: '', tags: {} });
  return { format: 'switchyard-config/1', exported_at: '2026-01-01T00:00:00.000Z', seq: 0, params };
}

const canon = (p) => JSON.stringify([p.name, p.type, p.tier, p.description, p.allowed_pattern, p.value,
  Object.entries(p.tags || {}).sort()]);

/* Asserts that the export x holds exactly the parameters of d. */
function assertSame(x, d, what) {
  assert.equal(x.format, 'switchyard-config/1');
  assert.equal(x.params.length, d.params.length, `${what}: ${x.params.length} params, wanted ${d.params.length}`);
  const want = new Map(d.params.map((p) => [p.name, canon(p)]));
  const bad = [];
  for (const p of x.params) if (want.get(p.name) !== canon(p)) bad.push(`${canon(p)} wanted ${want.get(p.name)}`);
  assert.deepEqual(bad.slice(0, 5), [], `${what}: ${bad.length} params differ`);
  const names = x.params.map((p) => p.name);
  assert.deepEqual(names, [...names].sort(), `${what}: the export is not in name order`);
}

/* Cleans up every server even when one fails to stop (a server left running would keep this
 * test file from ever ending); then throws the first failure. */
async function cleanupAll(servers) {
  const rs = await Promise.allSettled(servers.map((s) => s.cleanup()));
  const bad = rs.find((r) => r.status === 'rejected');
  if (bad) throw bad.reason;
}

async function exportAll(S) {
  const r = await api(S, 'GET', `${CFG}?include_secrets=true`);
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.ok(r.json, 'the export is not JSON');
  return r;
}

async function auditVerify(S) {
  const r = await api(S, 'GET', '/api/v1/admin/audit/verify');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ok, true, `audit chain broken: ${r.text}`);
  return r.json.records;
}

/* POSTs an import while polling the probes: resolves with the answer and how many polls saw
 * a half-applied state (one probe at the new generation without the other). */
async function importWatched(S, body, query, gen) {
  let done = false;
  let torn = 0;
  let polls = 0;
  const watcher = (async () => {
    while (!done) {
      const r = await api(S, 'GET', '/api/v1/params?path=/scale/probe&recursive=true&limit=10');
      if (r.status === 200) {
        polls++;
        const at = r.json.params.filter((p) => p.value === `first-${gen}` || p.value === `last-${gen}`).length;
        if (at === 1) torn++;
      }
      await sleep(2);
    }
  })();
  const t0 = Date.now();
  const r = await api(S, 'POST', CFG + query, body);
  const ms = Date.now() - t0;
  done = true;
  await watcher;
  return { r, ms, torn, polls };
}

test(`export and import round-trip ${N} parameters`, { timeout: LONG_MS }, async (t) => {
  const A = await startServer();
  const B = await startServer();
  t.after(() => cleanupAll([A, B]));
  const d1 = doc(1);
  const body1 = JSON.stringify(d1);
  t.diagnostic(`${N} params, import document ${(body1.length / 1048576).toFixed(1)} MiB`);
  if (N >= 20000) assert.ok(body1.length > 1048576, 'the document should be over the 1 MiB limit of other routes');

  // the source store, made by an import
  let t0 = Date.now();
  let r = await api(A, 'POST', `${CFG}?apply=true`, body1);
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.deepEqual(r.json.summary, { create: N + 2, update: 0, unchanged: 0, delete: 0 });
  t.diagnostic(`create by import: ${Date.now() - t0} ms`);

  t0 = Date.now();
  const ex = await exportAll(A);
  t.diagnostic(`export: ${Date.now() - t0} ms, ${(ex.text.length / 1048576).toFixed(1)} MiB`);
  assertSame(ex.json, d1, 'export of the source');
  assert.ok(ex.json.seq >= N + 2, `seq ${ex.json.seq}`);

  // into a fresh server: a dry run first, which writes nothing
  const exported = ex.text;
  t0 = Date.now();
  r = await api(B, 'POST', CFG, exported);
  assert.equal(r.status, 200, r.text.slice(0, 500));
  t.diagnostic(`dry run: ${Date.now() - t0} ms`);
  assert.equal(r.json.dry_run, true);
  assert.deepEqual(r.json.summary, { create: N + 2, update: 0, unchanged: 0, delete: 0 });
  assert.equal(r.json.changes.length, N + 2);
  assert.ok(r.json.changes.every((c) => c.action === 'create'));
  assert.equal((await api(B, 'GET', pp(PROBE_FIRST))).status, 404, 'a dry run wrote');
  const records0 = await auditVerify(B);

  // then applied: one commit, seen whole or not at all
  let w = await importWatched(B, exported, '?apply=true', 1);
  t.diagnostic(`apply: ${w.ms} ms (${w.polls} reads meanwhile)`);
  assert.equal(w.r.status, 200, w.r.text.slice(0, 500));
  assert.equal(w.r.json.dry_run, false);
  assert.deepEqual(w.r.json.summary, { create: N + 2, update: 0, unchanged: 0, delete: 0 });
  assert.equal(w.r.json.changes.length, N + 2);
  assert.equal(w.torn, 0, 'a reader saw the import half applied');
  assertSame((await exportAll(B)).json, d1, 'export of the restored store');
  assert.equal(await auditVerify(B), records0 + N + 2);
  // the ordinary read path agrees, SecureStrings included
  for (const i of [0, 1, 2, 3, 4, 5, 997 + 5, N - 1]) {
    const p = param(i, 1);
    const g = await api(B, 'GET', `${pp(p.name)}?decrypt=true`);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.value, p.value, p.name);
    assert.equal(g.json.type, p.type, p.name);
    assert.equal(g.json.tier, p.tier, p.name);
    assert.equal(g.json.version, 1);
  }

  // the same export again: nothing changes, nothing is written
  r = await api(B, 'POST', `${CFG}?apply=true`, exported);
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.deepEqual(r.json.summary, { create: 0, update: 0, unchanged: N + 2, delete: 0 });
  assert.equal(await auditVerify(B), records0 + N + 2, 'an unchanged import wrote audit records');

  // an import that changes every parameter, watched by a change stream on the probes
  const seq0 = (await exportAll(B)).json.seq;
  const sse = await openSSE(B, `/api/v1/watch?prefix=/scale/probe&since=${seq0}`);
  t.after(() => sse.close());
  const d2 = doc(2);
  const body2 = JSON.stringify(d2);
  r = await api(B, 'POST', CFG, body2);
  assert.deepEqual(r.json.summary, { create: 0, update: N + 2, unchanged: 0, delete: 0 });
  w = await importWatched(B, body2, '?apply=true&reason=scale%20update', 2);
  t.diagnostic(`apply updating all: ${w.ms} ms`);
  assert.equal(w.r.status, 200, w.r.text.slice(0, 500));
  assert.deepEqual(w.r.json.summary, { create: 0, update: N + 2, unchanged: 0, delete: 0 });
  assert.equal(w.torn, 0, 'a reader saw the update half applied');
  assertSame((await exportAll(B)).json, d2, 'export after updating all');
  assert.equal(await auditVerify(B), records0 + 2 * (N + 2));
  const g = await api(B, 'GET', pp(param(2, 2).name));
  assert.equal(g.json.version, 2);

  // the watcher on the probes gets both changes (resuming from the store if the burst
  // overran the in-memory ring and cut it off)
  const seen = new Map();
  let stream = sse;
  let last = seq0;
  const until = Date.now() + 60000;
  while (seen.size < 2 && Date.now() < until) {
    try {
      const ev = await stream.nextEvent(() => true, Math.max(1, until - Date.now()));
      last = Number(ev.id);
      seen.set(ev.json.name, ev.json);
    } catch {
      stream.close();
      stream = await openSSE(B, '/api/v1/watch?prefix=/scale/probe', { headers: { 'Last-Event-ID': String(last) } });
      t.after(() => stream.close());
    }
  }
  assert.equal(seen.get(PROBE_FIRST)?.value, 'first-2');
  assert.equal(seen.get(PROBE_LAST)?.value, 'last-2');
  assert.equal(seen.get(PROBE_LAST).seq - seen.get(PROBE_FIRST).seq, N + 1, 'the import is not one run of audit records');
});

test('the CLI exports and imports a backup of many megabytes', { timeout: LONG_MS }, async (t) => {
  const BIN = process.env.SWITCHYARD_BIN;
  const A = await startServer();
  const B = await startServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-scale-'));
  t.after(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await cleanupAll([A, B]);
  });
  const d = doc(3);
  let r = await api(A, 'POST', `${CFG}?apply=true`, JSON.stringify(d));
  assert.equal(r.status, 200, r.text.slice(0, 500));
  const cliA = cliRunner(BIN, () => ({ url: A.url, token: A.token }));
  const cliB = cliRunner(BIN, () => ({ url: B.url, token: B.token }));
  const file = path.join(dir, 'backup.json');
  let out = await cliA.ok(['config', 'export', '--include-secrets', '-o', file]);
  assert.match(out.stderr, new RegExp(`exported ${N + 2} parameters`));
  const size = fs.statSync(file).size;
  t.diagnostic(`backup file: ${(size / 1048576).toFixed(1)} MiB`);
  if (N >= 20000) assert.ok(size > 1048576, 'the backup should be over 1 MiB');
  out = await cliB.ok(['config', 'import', file, '--apply']);
  assert.match(out.stdout, new RegExp(`applied: ${N + 2} create, 0 update, 0 unchanged, 0 delete`));
  out = await cliB.ok(['config', 'import', file]);
  assert.match(out.stdout, new RegExp(`dry run: 0 create, 0 update, ${N + 2} unchanged, 0 delete`));
  assertSame((await exportAll(B)).json, d, 'export after the CLI import');
  await auditVerify(B);
  // over the CLI's import bound (the server's default limit): refused before it is read or sent
  const huge = path.join(dir, 'huge.json');
  fs.closeSync(fs.openSync(huge, 'w'));
  fs.truncateSync(huge, 256 * 1048576 + 1); // sparse: costs no disk
  out = await cliB.fails(1, ['config', 'import', huge, '--apply']);
  assert.match(out.stderr, /huge\.json is 268435457 bytes; config import takes at most 268435456 bytes \(256 MiB/);
});

test('an import killed mid-commit leaves all of it or none of it', { timeout: LONG_MS }, async (t) => {
  const S = await startServer();
  t.after(() => S.cleanup());
  const wal = path.join(S.dataDir, 'switchyard.db-wal');
  const walSize = () => (fs.existsSync(wal) ? fs.statSync(wal).size : 0);
  const size0 = walSize();
  // On PostgreSQL: the import's transaction has written once a session on the store's database
  // has a transaction id (the server's other sessions only read).
  const db = S.store ? new URL(S.store).pathname.slice(1) : '';
  const pgWriting = async () => Number(await pgSql(pgUrlWithDb(S.store, 'postgres'),
    `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}' AND backend_xid IS NOT NULL`)) > 0;
  let answered = false;
  const pending = api(S, 'POST', `${CFG}?apply=true`, JSON.stringify(doc(4))).then(
    (r) => { answered = true; return r; },
    (e) => e,
  );
  // kill once the transaction writes to the log (or at the latest once it is answered)
  const until = Date.now() + 120000;
  if (S.store) {
    while (!answered && !(await pgWriting()) && Date.now() < until) await sleep(5);
  } else {
    while (!answered && walSize() < size0 + 2 * 1048576 && Date.now() < until) await sleep(5);
  }
  await S.kill9();
  await pending;
  await S.restart();
  const x = (await exportAll(S)).json;
  const n = x.params.filter((p) => p.name.startsWith('/scale/')).length;
  t.diagnostic(`killed ${answered ? 'after the answer' : 'during the commit'}: ${n} of ${N + 2} params after restart`);
  assert.ok(n === 0 || n === N + 2, `a partial import survived the crash: ${n} of ${N + 2} params`);
  await auditVerify(S);
});

test('the import reader takes any valid JSON and refuses the rest, writing nothing', async (t) => {
  const S = await startServer();
  t.after(() => S.cleanup());
  const F = '"format":"switchyard-config/1"';
  const item = '{"name":"/edge/a","type":"String","value":"x"}';
  const refused = [
    ['empty body', ''],
    ['not an object', '[]'],
    ['a scalar', '"switchyard-config/1"'],
    ['duplicate format', `{${F},"params":[],${F}}`],
    ['duplicate params', `{${F},"params":[${item}],"params":[]}`],
    ['duplicate params, the second an array', `{${F},"params":5,"params":[${item}]}`],
    ['missing comma', `{${F} "params":[${item}]}`],
    ['missing colon', `{"format" "switchyard-config/1","params":[${item}]}`],
    ['trailing comma in params', `{${F},"params":[${item},]}`],
    ['trailing comma in the object', `{${F},"params":[${item}],}`],
    ['cut short in params', `{${F},"params":[${item}`],
    ['cut short in an item', `{${F},"params":[{"name":"/edge/a","type":"Str`],
    ['unclosed object', `{${F},"params":[${item}]`],
    ['text after the object', `{${F},"params":[${item}]} x`],
    ['a bad value elsewhere', `{${F},"seq":tru,"params":[${item}]}`],
    ['a bad nested value elsewhere', `{${F},"x":{"a":[1,}],"params":[${item}]}`],
    ['params not a list', `{${F},"params":{}}`],
    ['an item not an object', `{${F},"params":[${item},1]}`],
    ['a duplicate key in an item', `{${F},"params":[{"name":"/edge/a","type":"String","value":"x","value":"y"}]}`],
    ['a NUL in a value', `{${F},"params":[{"name":"/edge/a","type":"String","value":"a\\u0000b"}]}`],
    ['an unknown field in an item', `{${F},"params":[{"name":"/edge/a","type":"String","value":"x","colour":"red"}]}`],
    ['no format', `{"params":[${item}]}`],
    ['format not a string', `{"format":1,"params":[${item}]}`],
    ['no params', `{${F}}`],
  ];
  const failures = [];
  for (const [what, body] of refused) {
    for (const q of ['', '?apply=true']) {
      const r = await api(S, 'POST', CFG + q, Buffer.from(body));
      if (r.status !== 400 || r.json?.error?.code !== 'ValidationException') failures.push(`${what} ${q}: ${r.status} ${r.text.slice(0, 200)}`);
    }
  }
  assert.deepEqual(failures, []);
  assert.equal((await api(S, 'GET', pp('/edge/a'))).status, 404, 'a refused import wrote');
  let r = await api(S, 'POST', CFG, Buffer.from(`{${F},"params":[${item},]}`));
  assert.match(r.json.error.message, /^malformed JSON at line 1, column \d+: /);

  // any valid JSON is read as jansson reads it: escapes, brackets in strings, nesting, white space
  const tricky = 'x\\"]}[{\\"\\\\ \\u00e9 \\ud83d\\ude00 ,:';
  const accepted = `\r\n\t{ "form\\u0061t" : "switchyard-config/1" , "extra" : { "a" : [ 1, -2.5e3, true, null, { "b" : "]}" } ] } ,\n` +
    `"params" : [ {"name":"/edge/a","type":"String","value":"${tricky}","tags":{"k:/":"v=+@"}} ,\n` +
    ` {"value":"y","type":"StringList","name":"/edge/b"} ] , "seq" : 0 }\n `;
  r = await api(S, 'POST', `${CFG}?apply=true`, Buffer.from(accepted));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.summary, { create: 2, update: 0, unchanged: 0, delete: 0 });
  assert.deepEqual(r.json.changes, [{ name: '/edge/a', action: 'create' }, { name: '/edge/b', action: 'create' }]);
  const a = await api(S, 'GET', pp('/edge/a'));
  assert.equal(a.json.value, 'x"]}[{"\\ é 😀 ,:');
  assert.deepEqual(a.json.tags, { 'k:/': 'v=+@' });
  assert.equal((await api(S, 'GET', pp('/edge/b'))).json.value, 'y');
  r = await api(S, 'POST', CFG, Buffer.from(`{${F},"params":[]}`));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { dry_run: true, changes: [], summary: { create: 0, update: 0, unchanged: 0, delete: 0 } });
  r = await api(S, 'POST', `${CFG}?prune=true&apply=true`, Buffer.from(`{${F},"params":[]}`));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.changes, [{ name: '/edge/a', action: 'delete' }, { name: '/edge/b', action: 'delete' }]);
  assert.deepEqual(r.json.summary, { create: 0, update: 0, unchanged: 0, delete: 2 });
});

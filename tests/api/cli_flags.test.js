// cli_flags.test.js — black-box tests of `switchyard flag` and `switchyard rollout` (runbook 004's
// rollout procedure, one command per step) against a live server on an ephemeral port.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, api, cliRunner } = require('./helpers');

const BIN = process.env.SWITCHYARD_BIN || path.resolve(__dirname, '../../build/switchyard');
const DATA = path.join(__dirname, 'data', 'rollout_004');
const DOC_004 = path.join(DATA, 'document.json');
const SCHEMA_004 = path.join(DATA, 'schema.json');
const BETA_DOC = path.join(DATA, 'beta_document.json');

let server;
let tmp;
const { run, ok, fails } = cliRunner(BIN, () => ({ url: server.url, token: server.token }));

before(async () => {
  server = await startServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-cli-flags-'));
});

after(async () => {
  if (server) await server.cleanup();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// The "label: value" lines of a human-readable answer, as an object.
function fields(stdout) {
  const out = {};
  for (const line of stdout.split('\n')) {
    const m = /^([a-z_ ]+):\s+(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

// Every audit record (oldest first) about the flag with this key.
async function auditOf(key) {
  const records = [];
  for (let after = 0; ;) {
    const page = await api(server, 'GET', `/api/v1/admin/audit?order=asc&after=${after}&limit=1000`);
    assert.equal(page.status, 200, page.text);
    records.push(...page.json.records);
    if (page.json.records.length === 0 || page.json.next === null) break;
    after = page.json.records.at(-1).seq;
  }
  return records.filter((r) => r.name === `/${key}` || r.name === key);
}

async function flagJSON(key) {
  return JSON.parse((await ok(['flag', 'get', key, '--json'])).stdout);
}

test('--help on flag, its subcommands and rollout prints usage to stdout and exits 0', async () => {
  const cases = [
    ['flag', '--help'], ['flag', 'help'], ['flag', 'create', '--help'], ['flag', 'put', '--help'],
    ['flag', 'get', '--help'], ['flag', 'ls', '-h'], ['flag', 'eval', '--help'], ['flag', 'explain', '--help'],
    ['rollout', '--help'],
  ];
  for (const args of cases) {
    const r = await ok(args);
    assert.match(r.stdout, /^usage: switchyard/, args.join(' '));
    assert.equal(r.stderr, '', args.join(' '));
  }
  const top = (await ok(['--help'])).stdout;
  assert.match(top, /^ {2}flag /m);
  assert.match(top, /^ {2}rollout /m);
  const help = (await ok(['rollout', '--help'])).stdout;
  assert.match(help, /idempotent/);
  assert.match(help, /--parameter-name PATH/);
});

test('misuse exits 2 with a precise message and the usage on stderr, and sends nothing', async () => {
  const cases = [
    [['flag'], /flag: missing subcommand/],
    [['flag', 'frob'], /unknown subcommand 'frob'/],
    [['flag', 'get'], /get: missing argument/],
    [['flag', 'create', 'cli/m', '--document', '{"enabled": tru'], /create: --document is not valid JSON: .*\(line 1, column \d+\)/],
    [['flag', 'create', 'cli/m', '--document', '[1, 2]'], /create: --document must be a JSON object/],
    [['flag', 'create', 'cli/m', '--schema', '{'], /create: --schema is not valid JSON/],
    [['flag', 'create', 'cli/m', '--document', '@'], /--document @FILE needs a path/],
    [['flag', 'put', 'cli/m'], /put: --document is required/],
    [['flag', 'put', 'cli/m', '--document', '{}', '--if-version', 'x'], /--if-version needs a whole number/],
    [['flag', 'eval', 'cli/m', '--context', 'not json'], /eval: --context is not valid JSON/],
    [['flag', 'explain', 'cli/m', '--context', '"NL"'], /explain: --context (is not valid JSON|must be a JSON object)/],
    [['rollout'], /rollout: missing flag: give FLAG or --parameter-name PATH/],
    [['rollout', 'cli/m'], /rollout: nothing to do: give --percentage N, --enable, --disable or --status/],
    [['rollout', 'cli/m', '--percentage', '100.001'], /--percentage must be a number from 0 to 100 with at most two decimals, not '100\.001'/],
    [['rollout', 'cli/m', '--percentage', 'abc'], /--percentage must be a number from 0 to 100 with at most two decimals, not 'abc'/],
    [['rollout', 'cli/m', '--percentage', '101'], /not '101'/],
    [['rollout', 'cli/m', '--percentage', '-5'], /not '-5'/],
    [['rollout', 'cli/m', '--percentage', '12.345'], /not '12\.345'/],
    [['rollout', 'cli/m', '--percentage', '1e2'], /not '1e2'/],
    [['rollout', 'cli/m', '--percentage', ''], /not ''/],
    [['rollout', 'cli/m', '--percentage'], /--percentage needs a value/],
    [['rollout', 'cli/m', '--enable', '--disable'], /--enable and --disable exclude each other/],
    [['rollout', 'cli/m', '--status', '--percentage', '5'], /--status only reads/],
    [['rollout', 'cli/m', '--parameter-name', '/cli/m', '--status'], /name the flag once/],
    [['rollout', 'cli/m', 'extra', '--status'], /unexpected argument 'extra'/],
    [['rollout', 'cli/m', '--percent', '5'], /unknown option '--percent'/],
  ];
  for (const [args, re] of cases) {
    const r = await fails(2, args);
    assert.match(r.stderr, re, args.join(' '));
    assert.match(r.stderr, /usage: switchyard/, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
  }
  // none of them reached the server: no flag cli/m exists
  assert.equal((await api(server, 'GET', '/api/v1/flags/cli/m')).status, 404);
});

test('a bad key, a missing file and an unreachable server exit 1 with the reason', async () => {
  let r = await fails(1, ['flag', 'get', 'cli/a b']);
  assert.equal(r.stderr, "switchyard: ValidationException: invalid flag key 'cli/a b': invalid character ' ' at position 7; allowed are a-zA-Z0-9_.-/\n");
  r = await fails(1, ['rollout', '/', '--status']);
  assert.match(r.stderr, /^switchyard: ValidationException: invalid flag key '\/': it is empty/);
  r = await fails(1, ['flag', 'create', 'cli/nofile', '--document', `@${path.join(tmp, 'nope.json')}`]);
  assert.match(r.stderr, /^switchyard: cannot open .*nope\.json/);
  r = await fails(1, ['--server', 'http://127.0.0.1:1', 'rollout', 'cli/x', '--status'], { noServerFlag: true });
  assert.match(r.stderr, /^switchyard: cannot reach http:\/\/127\.0\.0\.1:1/);
});

test('a flag that does not exist: every command exits 1 with the server\'s error', async () => {
  const missing = 'cli/missing/flag';
  for (const args of [
    ['flag', 'get', missing],
    ['flag', 'eval', missing, '--subject', 'u1'],
    ['flag', 'explain', missing, '--subject', 'u1'],
    ['flag', 'put', missing, '--document', '{}'],
    ['rollout', missing, '--status'],
    ['rollout', missing, '--percentage', '10'],
    ['rollout', '--parameter-name', `/${missing}`, '--disable'],
  ]) {
    const r = await fails(1, args);
    assert.match(r.stderr, /^switchyard: \w+: .+/, args.join(' '));
    assert.match(r.stderr, /not found|does not exist|no flag/i, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
  }
  assert.equal((await api(server, 'GET', `/api/v1/flags/${missing}`)).status, 404);
});

test('create, get, ls and put; /a/b and a/b name the same flag', async () => {
  let r = await ok(['flag', 'create', '/cli/crud/alpha', '--reason', 'first flag']);
  assert.equal(r.stdout, 'created cli/crud/alpha: version 1\n');
  // without --document: switched on at 0 percent
  let j = await flagJSON('cli/crud/alpha');
  assert.equal(j.key, 'cli/crud/alpha');
  assert.equal(j.version, 1);
  assert.equal(j.enabled, true);
  assert.equal(j.rollout_percentage, 0);

  r = await ok(['flag', 'create', 'cli/crud/beta', '--document', `@${BETA_DOC}`]);
  assert.match(r.stdout, /^created cli\/crud\/beta: version 1$/m);
  r = await ok(['flag', 'create', 'cli/crud/sub/gamma', '--document', '{"enabled": false, "rollout_percentage": 25}']);

  r = await fails(1, ['flag', 'create', 'cli/crud/alpha']);
  assert.match(r.stderr, /^switchyard: \w+: /);
  assert.match(r.stderr, /exists/i);

  // human get: state, who, document, schema
  for (const k of ['cli/crud/beta', '/cli/crud/beta']) {
    r = await ok(['flag', 'get', k]);
    const f = fields(r.stdout);
    assert.equal(f.key, 'cli/crud/beta');
    assert.equal(f.version, '1');
    assert.equal(f.enabled, 'true');
    assert.equal(f.rollout_percentage, '50');
    assert.equal(f.type, 'boolean');
    assert.match(f.last_modified, /^\d{4}-\d\d-\d\dT.* by \S+/);
    assert.match(r.stdout, /^document:\n\{\n/m);
    assert.match(r.stdout, /"beta-testers"/);
    assert.match(r.stdout, /^schema: +\(none\)$/m);
  }
  j = await flagJSON('/cli/crud/beta');
  assert.deepEqual(j.document.rules[0].constraints[0].values, ['NL', 'BE']);

  // ls: a table, a prefix, --json
  r = await ok(['flag', 'ls', 'cli/crud/']);
  const lines = r.stdout.trim().split('\n').map((l) => l.split(/ {2,}/));
  assert.deepEqual(lines[0], ['KEY', 'TYPE', 'ENABLED', 'ROLLOUT', 'VERSION']);
  const rows = Object.fromEntries(lines.slice(1).map((l) => [l[0], l]));
  assert.deepEqual(Object.keys(rows).sort(), ['cli/crud/alpha', 'cli/crud/beta', 'cli/crud/sub/gamma']);
  assert.deepEqual(rows['cli/crud/sub/gamma'].slice(2), ['false', '25', '1']);
  assert.deepEqual(rows['cli/crud/beta'].slice(1), ['boolean', 'true', '50', '1']);
  for (const prefix of ['/cli/crud/sub/', 'cli/crud/sub/']) {
    const l = JSON.parse((await ok(['flag', 'ls', prefix, '--json'])).stdout);
    assert.deepEqual(l.flags.map((f) => f.key), ['cli/crud/sub/gamma'], prefix);
    assert.equal(l.next, null);
  }
  const everything = JSON.parse((await ok(['--json', 'flag', 'ls'])).stdout).flags.map((f) => f.key);
  assert.ok(everything.includes('cli/crud/alpha') && everything.includes('cli/crud/sub/gamma'));

  // put: a new version; --if-version guards it
  r = await ok(['flag', 'put', 'cli/crud/alpha', '--document', '{"enabled": true, "rollout_percentage": 5}', '--if-version', '1', '--reason', 'five']);
  assert.equal(r.stdout, 'cli/crud/alpha: version 2\n');
  r = await fails(1, ['flag', 'put', 'cli/crud/alpha', '--document', '{"rollout_percentage": 6}', '--if-version', '1']);
  assert.match(r.stderr, /^switchyard: \w+: /);
  assert.equal((await flagJSON('cli/crud/alpha')).rollout_percentage, 5);
  const reasons = (await auditOf('cli/crud/alpha')).map((a) => a.reason);
  assert.deepEqual(reasons, ['first flag', 'five']);
});

test('a document the schema refuses is refused with the server\'s message', async () => {
  let r = await fails(1, ['flag', 'create', 'cli/schema/bad', '--document', '{"enabled": true, "min_stability_threshold": 0.97, "max_buffer_timeout": 5}', '--schema', `@${SCHEMA_004}`]);
  assert.match(r.stderr, /^switchyard: \w+: .*min_stability_threshold.*0\.97.*0\.95/);
  r = await fails(1, ['flag', 'create', 'cli/schema/bad', '--document', '{"rollout_percentage": 150}']);
  assert.match(r.stderr, /^switchyard: \w+: .*rollout_percentage/);
  assert.equal((await api(server, 'GET', '/api/v1/flags/cli/schema/bad')).status, 404);
});

test('runbook 004: 0 -> 10 -> 50 -> 100 -> --disable -> --enable, each step one command, audited with its reason', async () => {
  const P = '/audio-transcription/dev/partial-results/config';
  const key = P.slice(1);
  const rollout = (...a) => ok(['rollout', ...a, '--parameter-name', P]);

  // initial deployment: the SSM structure of the runbook, with its schema, at 0 percent
  let r = await ok(['flag', 'create', P, '--document', `@${DOC_004}`, '--schema', `@${SCHEMA_004}`, '--reason', 'initial deployment']);
  assert.equal(r.stdout, `created ${key}: version 1\n`);
  let j = await flagJSON(key);
  assert.equal(j.document.min_stability_threshold, 0.85);
  assert.equal(j.schema.max_buffer_timeout.max, 10);

  // "Start with 0% rollout": already so, nothing is written
  r = await rollout('--percentage', '0', '--reason', 'start at 0');
  assert.equal(r.stdout, `no change: ${key} already has rollout_percentage 0 (version 1); nothing was written\n`);

  // Phase 1: canary
  r = await rollout('--percentage', '10', '--reason', 'phase 1 canary');
  assert.equal(r.stdout, 'rollout_percentage: 0 -> 10 (version 2)\n');
  assert.equal(r.stderr, '');
  r = await ok(['rollout', '--status', '--parameter-name', P]);
  let f = fields(r.stdout);
  assert.equal(f.flag, key);
  assert.equal(f.enabled, 'true');
  assert.equal(f.rollout_percentage, '10');
  assert.equal(f.version, '2');
  assert.match(f.evaluations, /^\d+ in the last minute, \d+ in the last hour$/);
  assert.match(f['served enabled'], /^(-|\d+\.\d%) in the last minute, (-|\d+\.\d%) in the last hour$/);

  // the same step again is idempotent: exit 0, nothing written
  r = await rollout('--percentage', '10', '--reason', 'repeated');
  assert.equal(r.stdout, `no change: ${key} already has rollout_percentage 10 (version 2); nothing was written\n`);
  assert.equal((await flagJSON(key)).version, 2);

  // Phase 2 and 3, the flag named as a key this time
  r = await ok(['rollout', key, '--percentage', '50', '--reason', 'phase 2']);
  assert.equal(r.stdout, 'rollout_percentage: 10 -> 50 (version 3)\n');
  r = await ok(['rollout', P, '--percentage', '100', '--reason', 'phase 3 full rollout']);
  assert.equal(r.stdout, 'rollout_percentage: 50 -> 100 (version 4)\n');
  r = await ok(['rollout', P, '--status']);
  assert.equal(fields(r.stdout).rollout_percentage, '100');

  // everyone is served at 100 percent
  for (const s of ['golden-eagle-427', 'silver-fox-1', 'x']) {
    const e = JSON.parse((await ok(['flag', 'eval', key, '--subject', s, '--json'])).stdout);
    assert.equal(e.value, true, s);
  }

  // Emergency rollback: the kill switch, then again (a no-op), then back on
  r = await rollout('--disable', '--reason', 'latency p95 above 5 s');
  assert.equal(r.stdout, 'enabled: true -> false (version 5)\n');
  r = await rollout('--disable', '--reason', 'again');
  assert.equal(r.stdout, `no change: ${key} already has enabled false (version 5); nothing was written\n`);
  let e = JSON.parse((await ok(['flag', 'eval', key, '--subject', 'golden-eagle-427', '--json'])).stdout);
  assert.equal(e.value, false);
  assert.equal(e.reason, 'DISABLED');
  r = await ok(['rollout', '--status', '--parameter-name', P]);
  f = fields(r.stdout);
  assert.equal(f.enabled, 'false');
  assert.equal(f.rollout_percentage, '100');
  assert.equal(f.version, '5');

  r = await rollout('--enable', '--reason', 'hotfix deployed');
  assert.equal(r.stdout, 'enabled: false -> true (version 6)\n');
  e = JSON.parse((await ok(['flag', 'eval', key, '--subject', 'golden-eagle-427', '--json'])).stdout);
  assert.equal(e.value, true);

  // one write can move both; the percentage first
  r = await rollout('--percentage', '10', '--disable', '--reason', 'both');
  assert.equal(r.stdout, 'rollout_percentage: 100 -> 10 (version 7)\nenabled: true -> false (version 7)\n');
  r = await rollout('--percentage', '10', '--disable');
  assert.equal(r.stdout, `no change: ${key} already has rollout_percentage 10, enabled false (version 7); nothing was written\n`);

  // --json prints the server's answer
  j = JSON.parse((await ok(['rollout', P, '--enable', '--json'])).stdout);
  assert.equal(j.version, 8);
  assert.deepEqual(j.changed, { enabled: [false, true] });
  j = JSON.parse((await ok(['rollout', P, '--enable', '--json'])).stdout);
  assert.deepEqual(j.changed, {});
  j = JSON.parse((await ok(['rollout', P, '--status', '--json'])).stdout);
  assert.equal(j.enabled, true);
  assert.equal(j.rollout_percentage, 10);
  assert.equal(j.version, 8);
  assert.ok(j.evaluations.last_minute >= 4, JSON.stringify(j));
  assert.ok(j.evaluations.last_hour >= j.evaluations.last_minute, JSON.stringify(j));

  // the document's other fields were left alone by every step
  j = await flagJSON(key);
  assert.equal(j.document.min_stability_threshold, 0.85);
  assert.equal(j.document.max_buffer_timeout, 5);

  // the audit log has one record per write, each with its reason; no-ops wrote none
  const reasons = (await auditOf(key)).map((a) => a.reason || '');
  assert.deepEqual(reasons, [
    'initial deployment', 'phase 1 canary', 'phase 2', 'phase 3 full rollout',
    'latency p95 above 5 s', 'hotfix deployed', 'both', '',
  ]);
});

test('rollout takes percentages with two decimals and prints them as the document holds them', async () => {
  await ok(['flag', 'create', 'cli/pct/f']);
  let r = await ok(['rollout', 'cli/pct/f', '--percentage', '12.5']);
  assert.equal(r.stdout, 'rollout_percentage: 0 -> 12.5 (version 2)\n');
  assert.equal((await flagJSON('cli/pct/f')).rollout_percentage, 12.5);
  r = await ok(['rollout', 'cli/pct/f', '--percentage', '12.50']);
  assert.equal(r.stdout, 'no change: cli/pct/f already has rollout_percentage 12.5 (version 2); nothing was written\n');
  r = await ok(['rollout', 'cli/pct/f', '--percentage', '0.05']);
  assert.equal(r.stdout, 'rollout_percentage: 12.5 -> 0.05 (version 3)\n');
  r = await ok(['rollout', 'cli/pct/f', '--percentage', '100.00']);
  assert.equal(r.stdout, 'rollout_percentage: 0.05 -> 100 (version 4)\n');
});

test('eval and explain: rules, buckets, contexts from files and stdin, errors', async () => {
  const key = 'cli/eval/beta';
  await ok(['flag', 'create', key, '--document', `@${BETA_DOC}`]);

  // a rule matches
  let r = await ok(['flag', 'eval', key, '--context', '{"country": "NL"}', '--subject', 'user-1']);
  let f = fields(r.stdout);
  assert.equal(f.value, 'true');
  assert.equal(f.variant, 'on');
  assert.equal(f.reason, 'TARGETING_MATCH');
  assert.equal(f.version, '1');
  assert.equal(f.error, undefined);

  r = await ok(['flag', 'explain', key, '--context', '{"country": "NL"}', '--subject', 'user-1']);
  assert.match(r.stdout, /^rules:\n {2}1\. beta-testers: matched/m);
  assert.match(r.stdout, /^result: +value true, variant on, reason TARGETING_MATCH$/m);

  // no rule matches: the 50 percent rollout decides by bucket, and explain says which side
  const ctxFile = path.join(tmp, 'ctx.json');
  fs.writeFileSync(ctxFile, '{"country": "DE", "plan": "pro"}');
  let inside = 0;
  for (let i = 0; i < 40; i++) {
    const s = `subject-${i}`;
    const ev = JSON.parse((await ok(['flag', 'eval', key, '--context', `@${ctxFile}`, '--subject', s, '--json'])).stdout);
    r = await ok(['flag', 'explain', key, '--context', `@${ctxFile}`, '--subject', s]);
    assert.match(r.stdout, /^ {2}1\. beta-testers: no match - .+/m, s);
    const m = /^bucket: +(\d+) of 0\.\.9999: (inside|outside) the rollout of 50% \(buckets below 5000\)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(m[2] === 'inside', Number(m[1]) < 5000);
    assert.equal(ev.value, m[2] === 'inside', `${s}: ${JSON.stringify(ev)}\n${r.stdout}`);
    assert.match(r.stdout, new RegExp(`^result: +value ${ev.value}, variant ${ev.variant}, reason ${ev.reason}$`, 'm'));
    if (ev.value) inside++;
  }
  assert.ok(inside > 5 && inside < 35, `inside ${inside} of 40`);

  // the same subject always lands on the same side
  const once = (await ok(['flag', 'eval', key, '--context', '{"country": "DE"}', '--subject', 'sticky'])).stdout;
  for (let i = 0; i < 3; i++) assert.equal((await ok(['flag', 'eval', key, '--context', '{"country": "DE"}', '--subject', 'sticky'])).stdout, once);

  // context from stdin; --subject overrides a targetingKey in it
  r = await ok(['flag', 'eval', key, '--context', '@-', '--json'], { input: '{"country": "BE", "targetingKey": "a"}' });
  assert.equal(JSON.parse(r.stdout).reason, 'TARGETING_MATCH');

  // no subject where the rollout needs one: the error is shown, the exit status is 0
  r = await ok(['flag', 'eval', key, '--context', '{"country": "DE"}']);
  f = fields(r.stdout);
  assert.equal(f.reason, 'ERROR');
  assert.equal(f.value, 'false');
  assert.match(f.error, /^TARGETING_KEY_MISSING/);
  const ej = JSON.parse((await ok(['flag', 'eval', key, '--context', '{"country": "DE"}', '--json'])).stdout);
  assert.equal(ej.error_code, 'TARGETING_KEY_MISSING');

  // --json explain is the server's explanation
  const x = JSON.parse((await ok(['flag', 'explain', key, '--subject', 'user-1', '--context', '{"country": "NL"}', '--json'])).stdout);
  assert.equal(x.rules[0].matched, true);
  assert.equal(x.result.reason, 'TARGETING_MATCH');
});

test('flag ls follows every page over 130 flags', async () => {
  const keys = Array.from({ length: 130 }, (_, i) => `cli/many/f${String(i).padStart(3, '0')}`);
  for (let i = 0; i < keys.length; i += 10) {
    await Promise.all(keys.slice(i, i + 10).map(async (key) => {
      const res = await api(server, 'POST', '/api/v1/flags', { key, document: { enabled: true, rollout_percentage: 1 } });
      assert.equal(res.status, 201, res.text);
    }));
  }
  const j = JSON.parse((await ok(['flag', 'ls', '/cli/many/', '--json'])).stdout);
  assert.deepEqual(j.flags.map((f) => f.key), keys);
  assert.equal(j.next, null);
  const r = await ok(['flag', 'ls', 'cli/many']);
  assert.equal(r.stdout.trim().split('\n').length, 131);
});

// cli_provider.test.js — black-box tests of `switchyard swap` (runbook 000's provider swap drill over the
// params API) and `switchyard provider` (runbook 001's /api/v1/providers endpoints) against a live server
// on an ephemeral port.
//
// The `provider` tests speak to the server's provider API (/api/v1/providers...). They are ordinary
// tests: on a server without that API they fail with "NotFound: no route for /api/v1/providers".
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, api, cliRunner } = require('./helpers');

const BIN = process.env.SWITCHYARD_BIN || path.resolve(__dirname, '../../build/switchyard');

let server;
let tmp;
const { run, ok, fails } = cliRunner(BIN, () => ({ url: server.url, token: server.token }));

before(async () => {
  server = await startServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-cli-provider-'));
});

after(async () => {
  if (server) await server.cleanup();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const strategy = (env) => `/photoeditor/${env}/provider/strategy`;

async function param(name) {
  const r = await api(server, 'GET', `/api/v1/params${name}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function status(name) {
  return (await api(server, 'GET', `/api/v1/params${name}`)).status;
}

async function put(name, value) {
  const r = await api(server, 'PUT', `/api/v1/params${name}`, { value, type: 'String', overwrite: true });
  assert.equal(r.status, 200, r.text);
  return r.json.version;
}

// A fresh directory for the backup files of one test.
function dir(label) {
  return fs.mkdtempSync(path.join(tmp, `${label}-`));
}

function backups(d) {
  return fs.readdirSync(d).filter((f) => /^provider-swap-backup-\d+(-\d+)?\.txt$/.test(f));
}

const ISO_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

// ---- help ----------------------------------------------------------------------------------

test('--help on swap, provider and every provider subcommand prints usage to stdout and exits 0', async () => {
  const cases = [
    ['swap', '--help'], ['swap', '-h'], ['provider', '--help'], ['provider', 'help'],
    ['provider', 'ls', '--help'], ['provider', 'test', '--help'], ['provider', 'preflight', '--help'],
    ['provider', 'activate', '--help'], ['provider', 'status', '--help'], ['provider', 'metrics', '-h'],
  ];
  for (const args of cases) {
    const r = await ok(args);
    assert.match(r.stdout, /^usage: switchyard/, args.join(' '));
    assert.equal(r.stderr, '', args.join(' '));
  }
  const top = (await ok(['--help'])).stdout;
  assert.match(top, /^ {2}provider /m);
  assert.match(top, /^ {2}swap /m);
  const swap = (await ok(['swap', '--help'])).stdout;
  assert.match(swap, /--env ENV --provider P \[--confirm\]/);
  assert.match(swap, /--rollback FILE/);
  assert.match(swap, /Backup value: /);
  assert.match((await ok(['provider', 'status', '--help'])).stdout, /exits 0/);
});

// ---- swap: misuse ----------------------------------------------------------------------------

test('swap misuse exits 2 with a precise message and writes nothing', async () => {
  const d = dir('misuse');
  const cases = [
    [['swap', '--env', 'staging'], /missing --provider/],
    [['swap', '--provider', 'stub'], /missing --env/],
    [['swap', '--env', '../prod', '--provider', 'stub'], /--env must be one path segment/],
    [['swap', '--env', 'a/b', '--provider', 'stub'], /--env must be one path segment/],
    [['swap', '--env', 'staging', '--provider', 'st ub'], /--provider must be 1 to 64 characters/],
    [['swap', '--env', 'staging', '--provider', 'x'.repeat(65)], /--provider must be 1 to 64 characters/],
    [['swap', '--env', 'staging', '--provider', ''], /--provider must be 1 to 64 characters/],
    [['swap', '--rollback', 'f.txt', '--provider', 'stub'], /--rollback takes the value from the file/],
    [['swap', '--env', 'staging', '--provider', 'stub', '--bogus'], /unknown option '--bogus'/],
    [['swap', 'extra', '--env', 'staging', '--provider', 'stub'], /unexpected argument 'extra'/],
  ];
  for (const [args, re] of cases) {
    const r = await fails(2, [...args, '--backup-dir', d]);
    assert.match(r.stderr, re, args.join(' '));
    assert.match(r.stderr, /usage: switchyard swap/);
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(backups(d), []);
  assert.equal(await status(strategy('staging')), 404);
});

// ---- swap: the drill -------------------------------------------------------------------------

test('swap without --confirm says what it would do, exits 2 and writes nothing', async () => {
  const name = strategy('dryrun');
  const v = await put(name, 'gemini');
  const d = dir('dry');
  const r = await fails(2, ['swap', '--env', 'dryrun', '--provider', 'stub', '--backup-dir', d]);
  assert.match(r.stdout, /^Current provider: gemini$/m);
  assert.match(r.stdout, /^New provider: stub$/m);
  assert.match(r.stdout, new RegExp(`would write ${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/provider-swap-backup-\\d+\\.txt`));
  assert.match(r.stdout, /^ {2}Backup value: gemini$/m);
  assert.match(r.stdout, /LastSwapDate=/);
  assert.match(r.stdout, /SwappedBy=/);
  assert.match(r.stderr, /nothing was written; run it again with --confirm/);
  assert.deepEqual(backups(d), []);
  const p = await param(name);
  assert.equal(p.version, v);
  assert.equal(p.value, 'gemini');
  assert.deepEqual(p.tags, {});

  // --json: the plan, dry_run true, still exit 2
  const j = await fails(2, ['swap', '--env', 'dryrun', '--provider', 'stub', '--backup-dir', d, '--json']);
  const plan = JSON.parse(j.stdout);
  assert.equal(plan.dry_run, true);
  assert.equal(plan.previous, 'gemini');
  assert.equal(plan.value, 'stub');
  assert.equal((await param(name)).version, v);
  assert.deepEqual(backups(d), []);
});

test('swap --confirm backs up, writes, verifies and tags; --rollback restores and tags', async () => {
  const name = strategy('staging');
  const v1 = await put(name, 'gemini');
  const d = dir('confirm');
  // a token with a name of its own: SwappedBy names it
  const tok = await api(server, 'POST', '/api/v1/admin/tokens', { name: 'ops-alice', scopes: ['write'] });
  assert.equal(tok.status, 201, tok.text);
  const opts = { token: tok.json.token };

  const r = await ok(['swap', '--env', 'staging', '--provider', 'stub', '--confirm', '--backup-dir', d], opts);
  assert.match(r.stdout, /^Current provider: gemini$/m);
  assert.match(r.stdout, /^New provider: stub$/m);
  assert.match(r.stdout, /^Updated provider: stub$/m);
  const files = backups(d);
  assert.equal(files.length, 1);
  const file = path.join(d, files[0]);
  assert.match(r.stdout, new RegExp(`^roll back: switchyard swap --rollback ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));

  // the backup: the runbook's first line, then what a rollback needs
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.equal(lines[0], 'Backup value: gemini');
  assert.equal(lines[1], `Parameter: ${name}`);
  assert.equal(lines[2], `Version: ${v1}`);
  assert.match(lines[3], /^Time: \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const epoch = Number(/provider-swap-backup-(\d+)/.exec(files[0])[1]);
  assert.ok(Math.abs(epoch - Date.now() / 1000) < 120, `epoch ${epoch}`);

  // the new value, one new version, its reason, and the tags
  const p = await param(name);
  assert.equal(p.value, 'stub');
  assert.equal(p.version, v1 + 1);
  assert.equal(p.tags.SwappedBy, 'ops-alice');
  assert.match(p.tags.LastSwapDate, ISO_SECOND);
  const hist = await api(server, 'GET', `/api/v1/params${name}/history`);
  assert.equal(hist.json.versions.at(-1).reason, 'swap to stub');

  // the rollback command it printed
  const rb = await ok(['swap', '--rollback', file]);
  assert.match(rb.stdout, /^Rolled back to provider: gemini$/m);
  const q = await param(name);
  assert.equal(q.value, 'gemini');
  assert.equal(q.version, v1 + 2);
  assert.equal(q.tags.SwappedBy, 'admin');
  assert.match(q.tags.LastSwapDate, ISO_SECOND);
  const hist2 = await api(server, 'GET', `/api/v1/params${name}/history`);
  assert.equal(hist2.json.versions.at(-1).reason, `rollback from ${file}`);

  // rolling back again writes nothing
  const again = await ok(['swap', '--rollback', file]);
  assert.match(again.stdout, /nothing was written/);
  assert.equal((await param(name)).version, v1 + 2);
});

test('swap to the value it already has writes nothing, with or without --confirm, and exits 0', async () => {
  const name = strategy('same');
  const v = await put(name, 'seedream');
  const d = dir('same');
  for (const extra of [['--confirm'], []]) {
    const r = await ok(['swap', '--env', 'same', '--provider', 'seedream', '--backup-dir', d, ...extra]);
    assert.match(r.stdout, /already has seedream .*nothing was written/);
  }
  const j = JSON.parse((await ok(['swap', '--env', 'same', '--provider', 'seedream', '--confirm', '--json'])).stdout);
  assert.equal(j.changed, false);
  assert.deepEqual(backups(d), []);
  const p = await param(name);
  assert.equal(p.version, v);
  assert.deepEqual(p.tags, {});
});

test('swap --parameter, --reason and --json; a missing parameter is created as a String', async () => {
  const name = '/photoeditor/custom/provider/choice';
  assert.equal(await status(name), 404);
  const d = dir('param');
  const r = await ok(['swap', '--parameter', name, '--provider', 'stub', '--confirm', '--backup-dir', d,
    '--reason', 'gemini outage', '--json']);
  const out = JSON.parse(r.stdout);
  assert.equal(out.parameter, name);
  assert.equal(out.previous, '');
  assert.equal(out.previous_version, 0);
  assert.equal(out.value, 'stub');
  assert.equal(out.changed, true);
  assert.equal(out.tags.SwappedBy, 'admin');
  const p = await param(name);
  assert.equal(p.type, 'String');
  assert.equal(p.value, 'stub');
  assert.equal(p.version, 1);
  const hist = await api(server, 'GET', `/api/v1/params${name}/history`);
  assert.equal(hist.json.versions.at(-1).reason, 'gemini outage');
  const file = path.join(d, backups(d)[0]);
  assert.equal(fs.readFileSync(file, 'utf8').split('\n')[0], 'Backup value: ');
  // its backup holds no value to restore: refused, naming the way out
  const rb = await fails(1, ['swap', '--rollback', file]);
  assert.match(rb.stderr, /did not exist before the swap.*switchyard param rm/);
  assert.equal((await param(name)).version, 1);
});

test('swap --rollback refuses a file that is not a swap backup, naming the file and the line', async () => {
  const name = strategy('badfile');
  const v = await put(name, 'stub');
  const bad = path.join(tmp, 'notes.txt');
  fs.writeFileSync(bad, 'Current provider: gemini\nBackup value: gemini\n');
  let r = await fails(1, ['swap', '--rollback', bad, '--env', 'badfile']);
  assert.match(r.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: not a swap backup: the first line must start with "Backup value: "`));
  const empty = path.join(tmp, 'empty.txt');
  fs.writeFileSync(empty, '');
  r = await fails(1, ['swap', '--rollback', empty, '--env', 'badfile']);
  assert.match(r.stderr, /empty\.txt:1: not a swap backup/);
  r = await fails(1, ['swap', '--rollback', path.join(tmp, 'no-such-file.txt')]);
  assert.match(r.stderr, /cannot open .*no-such-file\.txt/);
  // the runbook's own backup (one line) needs the parameter named
  const runbook = path.join(tmp, 'provider-swap-backup-1700000000.txt');
  fs.writeFileSync(runbook, 'Backup value: gemini\n');
  r = await fails(2, ['swap', '--rollback', runbook]);
  assert.match(r.stderr, /no "Parameter: " line: name the parameter with --parameter NAME or --env ENV/);
  assert.equal((await param(name)).version, v);
  r = await ok(['swap', '--rollback', runbook, '--env', 'badfile']);
  assert.match(r.stdout, /^Rolled back to provider: gemini$/m);
  assert.equal((await param(name)).value, 'gemini');
  // a file naming another parameter than the one given
  const other = path.join(tmp, 'other.txt');
  fs.writeFileSync(other, `Backup value: stub\nParameter: ${strategy('elsewhere')}\nVersion: 1\n`);
  r = await fails(2, ['swap', '--rollback', other, '--env', 'badfile']);
  assert.match(r.stderr, /names the parameter \/photoeditor\/elsewhere\/provider\/strategy, not/);
  assert.equal((await param(name)).value, 'gemini');
});

// ---- provider: runbook 001's endpoints ------------------------------------------------------

// A provider that cannot be reached (nothing listens on port 1) beside the built-in stub.
async function seedProviders() {
  const r = await api(server, 'PUT', '/api/v1/params/switchyard/providers/unreachable', {
    type: 'Provider', overwrite: true,
    value: JSON.stringify({ type: 'openai', base_url: 'http://127.0.0.1:1/v1', models: ['m-1', 'm-2'] }),
  });
  assert.equal(r.status, 200, r.text);
}

test('provider misuse exits 2 and sends nothing', async () => {
  const cases = [
    [['provider'], /provider: missing subcommand/],
    [['provider', 'bogus'], /unknown subcommand 'bogus'/],
    [['provider', 'test'], /test: missing argument/],
    [['provider', 'test', 'a b'], /provider name must be 1 to 64 characters/],
    [['provider', 'status', 'x'.repeat(65)], /provider name must be 1 to 64 characters/],
    [['provider', 'activate', 'a/b'], /provider name must be 1 to 64 characters/],
    [['provider', 'ls', 'extra'], /unexpected argument 'extra'/],
    [['provider', 'metrics', 'stub', '--model', 'm'], /unknown option '--model'/],
  ];
  for (const [args, re] of cases) {
    const r = await fails(2, args);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('provider ls lists every provider as a table, and --json gives the server\'s answer', async () => {
  await seedProviders();
  const r = await ok(['provider', 'ls']);
  const lines = r.stdout.split('\n');
  assert.match(lines[0], /^NAME\s+TYPE\s+STATUS\s+ACTIVE\s+BREAKER\s+MODELS$/);
  assert.ok(lines.some((l) => /^stub\s+stub\s/.test(l)), r.stdout);
  assert.ok(lines.some((l) => /^unreachable\s+openai\s.*m-1,\s?m-2/.test(l)), r.stdout);
  const j = JSON.parse((await ok(['provider', 'ls', '--json'])).stdout);
  assert.ok(Array.isArray(j.providers));
  const names = j.providers.map((p) => p.name);
  assert.ok(names.includes('stub') && names.includes('unreachable'), names.join(','));
  assert.ok('active_provider' in j);
});

test('provider test: ok with its latency, or failed with the error and exit 1', async () => {
  await seedProviders();
  let r = await ok(['provider', 'test', 'stub']);
  assert.match(r.stdout, /^stub: ok \(\d+\.\d ms\)\n$/);
  r = await fails(1, ['provider', 'test', 'unreachable']);
  assert.match(r.stdout, /^unreachable: failed: .+\n$/);
  r = await fails(1, ['provider', 'test', 'unreachable', '--json']);
  assert.equal(JSON.parse(r.stdout).success, false);
  r = await fails(1, ['provider', 'test', 'nosuch']);
  assert.match(r.stderr, /^switchyard: ProviderNotFound: /);
  assert.equal(r.stdout, '');
});

test('provider preflight: one line per check, exit 1 unless ready', async () => {
  await seedProviders();
  let r = await ok(['provider', 'preflight', 'stub']);
  const checks = r.stdout.split('\n').filter((l) => /^(pass|FAIL) /.test(l));
  assert.ok(checks.length >= 1, r.stdout);
  assert.ok(checks.every((l) => /^pass \S+/.test(l)), r.stdout);
  r = await fails(1, ['provider', 'preflight', 'unreachable', '--model', 'm-2']);
  assert.match(r.stdout, /^FAIL \S+/m);
  const j = JSON.parse((await fails(1, ['provider', 'preflight', 'unreachable', '--json'])).stdout);
  assert.equal(j.ready, false);
  assert.ok(Array.isArray(j.checks));
});

test('provider activate prints the route, its version and the rollback command', async () => {
  await seedProviders();
  let r = await ok(['provider', 'activate', 'stub']);
  assert.match(r.stdout, /^activated stub \(was \S+\), route \S+ version \d+$/m);
  r = await ok(['provider', 'activate', 'unreachable', '--model', 'm-2']);
  assert.match(r.stdout, /^activated unreachable \(was stub\), route \/switchyard\/routes\/default version \d+$/m);
  assert.match(r.stdout, /^roll back: switchyard provider activate stub$/m);
  const j = JSON.parse((await ok(['provider', 'activate', 'stub', '--json'])).stdout);
  assert.equal(j.activated, 'stub');
  assert.equal(j.previous, 'unreachable');
  const ls = JSON.parse((await ok(['provider', 'ls', '--json'])).stdout);
  assert.equal(ls.active_provider, 'stub');
  r = await fails(1, ['provider', 'activate', 'nosuch']);
  assert.match(r.stderr, /ProviderNotFound/);
});

test('provider status prints the status and its reason and exits 0 whatever it is', async () => {
  await seedProviders();
  let r = await ok(['provider', 'status', 'stub']);
  assert.match(r.stdout, /^stub: \S+/);
  r = await ok(['provider', 'status', 'unreachable']);
  assert.match(r.stdout, /^unreachable: \S+/);
  const j = JSON.parse((await ok(['provider', 'status', 'stub', '--json'])).stdout);
  assert.equal(j.provider, 'stub');
  assert.equal(typeof j.status, 'string');
  r = await fails(1, ['provider', 'status', 'nosuch']);
  assert.match(r.stderr, /ProviderNotFound/);
});

test('provider metrics prints one row per window', async () => {
  await seedProviders();
  await run(['provider', 'test', 'stub']);
  const r = await ok(['provider', 'metrics', 'stub']);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^WINDOW\s+REQUESTS\s+ERRORS\s+ERROR%\s+P50\s+P95\s+P99\s+COST$/);
  assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), ['1m', '5m', '1h', 'since_start']);
  const j = JSON.parse((await ok(['provider', 'metrics', 'stub', '--json'])).stdout);
  for (const w of ['1m', '5m', '1h', 'since_start']) assert.equal(typeof j.metrics[w].requests, 'number');
});

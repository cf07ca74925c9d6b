// cli_keys.test.js — black-box tests of `switchyard keys` against a live server, and of the keys it makes with the aws CLI.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startServer, api, cleanEnv, spawnRun, cliRunner } = require('./helpers');

const BIN = process.env.SWITCHYARD_BIN || path.resolve(__dirname, '../../build/switchyard');
const AWS = '/usr/bin/aws';

let server;
let tmp;

const { run, ok, fails } = cliRunner(BIN, () => ({ url: server.url, token: server.token }));

// The id and secret from `keys create`'s human output, read off its export lines.
function credsOf(stdout) {
  const id = /^export AWS_ACCESS_KEY_ID=(\S+)$/m.exec(stdout);
  const secret = /^export AWS_SECRET_ACCESS_KEY=(\S+)$/m.exec(stdout);
  assert.ok(id && secret, `no export lines in:\n${stdout}`);
  return { id: id[1], secret: secret[1] };
}

// Makes a key with the CLI and returns its credentials.
async function createKey(name, ...scopeArgs) {
  return credsOf((await ok(['keys', 'create', name, ...scopeArgs])).stdout);
}

// The rows of a table printed by the CLI, each split on runs of two or more spaces.
function tableRows(stdout) {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  return { header: lines[0].split(/ {2,}/), rows: lines.slice(1).map((l) => l.split(/ {2,}/)) };
}

// `aws ssm put-parameter` signed with creds, isolated from any local aws configuration.
function awsPut(creds, name, value) {
  const env = cleanEnv({
    AWS_ACCESS_KEY_ID: creds.id,
    AWS_SECRET_ACCESS_KEY: creds.secret,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_CONFIG_FILE: path.join(tmp, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'aws-credentials'),
    AWS_MAX_ATTEMPTS: '1',
  });
  return spawnRun(AWS, ['ssm', 'put-parameter', '--endpoint-url', server.url, '--name', name, '--value', value,
    '--type', 'String', '--overwrite', '--output', 'json'], env);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-cli-keys-'));
  fs.writeFileSync(path.join(tmp, 'aws-config'), '');
  fs.writeFileSync(path.join(tmp, 'aws-credentials'), '');
  server = await startServer();
});

after(async () => {
  if (server) await server.cleanup();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('--help on keys and each subcommand prints usage to stdout and exits 0', async () => {
  for (const args of [['keys', '--help'], ['keys', 'create', '--help'], ['keys', 'list', '-h'], ['keys', 'revoke', '--help']]) {
    const r = await ok(args);
    assert.match(r.stdout, /^usage: switchyard keys/, args.join(' '));
    assert.equal(r.stderr, '', args.join(' '));
  }
  assert.match((await ok(['--help'])).stdout, /^ {2}keys /m);
});

test('misuse exits 2 with the problem and usage on stderr, and makes no key', async () => {
  const cases = [
    [['keys'], /missing subcommand/],
    [['keys', 'frob'], /unknown subcommand 'frob'/],
    [['keys', 'create'], /missing argument/],
    [['keys', 'create', 'nokey'], /--scope is required/],
    [['keys', 'create', 'nokey', '--decrypt'], /--scope is required/],
    [['keys', 'create', 'nokey', '--scope'], /needs a value/],
    [['keys', 'create', 'nokey', '--scope', 'root'], /--scope must be/],
    [['keys', 'create', 'nokey', '--scope', 'read,'], /--scope must be/],
    [['keys', 'create', 'nokey', '--scope', 'decrypt'], /--scope needs read, write or admin/],
    [['keys', 'create', 'nokey', '--scope', 'read', '--decrypt=yes'], /takes no value/],
    [['keys', 'list', 'extra'], /unexpected argument 'extra'/],
    [['keys', 'revoke'], /missing argument/],
  ];
  for (const [args, re] of cases) {
    const r = await fails(2, args);
    assert.match(r.stderr, re, args.join(' '));
    assert.match(r.stderr, /usage: switchyard/, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
  }
  const keys = await api(server, 'GET', '/api/v1/admin/keys');
  assert.equal(keys.json.keys.filter((k) => k.name === 'nokey').length, 0);
});

test('create prints id, secret and export lines; list shows it and never a secret; revoke marks it', async () => {
  const r = await ok(['keys', 'create', 'ci-deploy', '--scope', 'read,write', '--scope', 'write', '--decrypt']);
  assert.equal(r.stderr, '');
  const { id, secret } = credsOf(r.stdout);
  assert.match(id, /^AKIA[A-Z2-7]{16}$/);
  assert.match(secret, /^[A-Za-z0-9+/]{40}$/);
  assert.match(r.stdout, new RegExp(`^access key id: +${id}$`, 'm'));
  assert.match(r.stdout, new RegExp(`^secret access key: +${secret.replace(/[+/]/g, '\\$&')}$`, 'm'));
  assert.match(r.stdout, /shown once/);

  // the server got the union of the scopes, each once
  let keys = (await api(server, 'GET', '/api/v1/admin/keys')).json.keys;
  const k = keys.find((x) => x.name === 'ci-deploy');
  assert.equal(k.access_key_id, id);
  assert.deepEqual([...k.scopes].sort(), ['decrypt', 'read', 'write']);

  // --json prints the server's answer, secret included
  const j = JSON.parse((await ok(['keys', 'create', 'ci-json', '--scope', 'admin', '--json'])).stdout);
  assert.equal(j.name, 'ci-json');
  assert.match(j.access_key_id, /^AKIA/);
  assert.equal(typeof j.secret_access_key, 'string');
  assert.deepEqual(j.scopes, ['admin']);

  let list = await ok(['keys', 'list']);
  assert.ok(!list.stdout.includes(secret), 'list shows a secret');
  assert.ok(!list.stdout.includes(j.secret_access_key), 'list shows a secret');
  let t = tableRows(list.stdout);
  assert.deepEqual(t.header, ['NAME', 'ACCESS_KEY_ID', 'SCOPES', 'CREATED', 'REVOKED']);
  let row = t.rows.find((x) => x[0] === 'ci-deploy');
  assert.equal(row[1], id);
  assert.deepEqual(row[2].split(',').sort(), ['decrypt', 'read', 'write']);
  assert.match(row[3], /^\d{4}-\d\d-\d\dT/);
  assert.equal(row[4], '-');
  // columns line up: every row's ACCESS_KEY_ID starts where the header's does
  const col = list.stdout.split('\n')[0].indexOf('ACCESS_KEY_ID');
  for (const line of list.stdout.split('\n').slice(1).filter(Boolean)) assert.match(line.slice(col), /^AKIA/);

  const lj = await ok(['keys', 'list', '--json']);
  assert.ok(!lj.stdout.includes(secret) && !lj.stdout.includes('secret_access_key'), 'list --json shows a secret');
  assert.ok(JSON.parse(lj.stdout).keys.some((x) => x.name === 'ci-json'));

  const rv = await ok(['keys', 'revoke', 'ci-deploy']);
  assert.equal(rv.stdout, 'revoked ci-deploy\n');
  assert.deepEqual(JSON.parse((await ok(['keys', 'revoke', 'ci-json', '--json'])).stdout), { revoked: 'ci-json' });
  list = await ok(['keys', 'list']);
  row = tableRows(list.stdout).rows.find((x) => x[0] === 'ci-deploy');
  assert.match(row[4], /^\d{4}-\d\d-\d\dT/);
  keys = (await api(server, 'GET', '/api/v1/admin/keys')).json.keys;
  assert.ok(keys.find((x) => x.name === 'ci-deploy').revoked);
});

test('server errors exit 1 with the server message', async () => {
  await createKey('dup', '--scope', 'read');
  let r = await fails(1, ['keys', 'create', 'dup', '--scope', 'write']);
  assert.match(r.stderr, /^switchyard: TokenAlreadyExists: .*dup/);
  assert.equal(r.stdout, '');

  r = await fails(1, ['keys', 'revoke', 'no-such-key']);
  assert.match(r.stderr, /^switchyard: TokenNotFound: /);

  r = await fails(1, ['keys', 'create', 'bad name!', '--scope', 'read']);
  assert.match(r.stderr, /^switchyard: (ValidationException|BadRequest|InvalidName)/);

  r = await fails(1, ['keys', 'list'], { token: null });
  assert.match(r.stderr, /^switchyard: \w+: /);
  r = await fails(1, ['keys', 'list'], { token: 'not-a-real-token' });
  assert.match(r.stderr, /^switchyard: \w+: /);
});

test('the created key signs SSM requests: write works, read is denied, revoked is unrecognised', async () => {
  const writer = await createKey('aws-writer', '--scope', 'write');
  const reader = await createKey('aws-reader', '--scope', 'read');

  let r = await awsPut(writer, '/cli-keys/aws/greeting', 'hello from aws');
  assert.equal(r.code, 0, `aws put-parameter with a write key failed:\n${r.stderr}`);
  assert.equal(JSON.parse(r.stdout).Version, 1);
  const got = await api(server, 'GET', '/api/v1/params/cli-keys/aws/greeting');
  assert.equal(got.status, 200);
  assert.equal(got.json.value, 'hello from aws');

  r = await awsPut(reader, '/cli-keys/aws/greeting', 'not allowed');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /AccessDeniedException/);

  await ok(['keys', 'revoke', 'aws-writer']);
  r = await awsPut(writer, '/cli-keys/aws/greeting', 'after revoke');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /UnrecognizedClientException/);

  const after2 = await api(server, 'GET', '/api/v1/params/cli-keys/aws/greeting');
  assert.equal(after2.json.value, 'hello from aws');
  assert.equal(after2.json.version, 1);
});

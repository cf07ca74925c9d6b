// path.test.js — GetParametersByPath over 250 parameters: the aws CLI's own paging, the SDK's
// paginator, recursion, and the Type filter.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { PutParameterCommand, GetParametersByPathCommand, paginateGetParametersByPath } = require('@aws-sdk/client-ssm');
const { startSsmServer, ssmClient, awsOk, pool, sdkRejects } = require('./helpers');

let S;
let ssm;
const all = []; // {name, type, value}

before(async () => {
  S = await startSsmServer();
  ssm = ssmClient(S);
  // 200 direct children of /many, 45 one level down, 5 two levels down: 250 in all;
  // every 10th a SecureString. /manyother shares the prefix but is not under /many.
  for (let i = 0; i < 200; i++) all.push({ name: `/many/p${String(i).padStart(3, '0')}` });
  for (let i = 0; i < 45; i++) all.push({ name: `/many/sub/s${String(i).padStart(2, '0')}` });
  for (let i = 0; i < 5; i++) all.push({ name: `/many/sub/deep/d${i}` });
  all.forEach((p, i) => {
    p.type = i % 10 === 3 ? 'SecureString' : 'String';
    p.value = `value-${i}-${p.name}`;
  });
  assert.equal(all.length, 250);
  await pool(16, all, (p) => ssm.send(new PutParameterCommand({ Name: p.name, Value: p.value, Type: p.type })));
  await ssm.send(new PutParameterCommand({ Name: '/manyother/x', Value: 'not under /many', Type: 'String' }));
});
after(async () => {
  if (ssm) ssm.destroy();
  if (S) await S.cleanup();
});

function assertNoDuplicates(names, what) {
  assert.equal(new Set(names).size, names.length, `${what}: a name came back twice`);
}

it('aws ssm get-parameters-by-path: --recursive, one level, and --parameter-filters Type (the CLI pages by itself)', async () => {
  const [rec, one, sec, secPlain, desc] = await Promise.all([
    awsOk(S, ['ssm', 'get-parameters-by-path', '--path', '/many', '--recursive']),
    awsOk(S, ['ssm', 'get-parameters-by-path', '--path', '/many']),
    awsOk(S, ['ssm', 'get-parameters-by-path', '--path', '/many', '--recursive',
      '--parameter-filters', 'Key=Type,Values=SecureString']),
    awsOk(S, ['ssm', 'get-parameters-by-path', '--path', '/many/', '--recursive', '--with-decryption',
      '--parameter-filters', 'Key=Type,Values=SecureString', '--query', 'Parameters[].[Name,Value]', '--output', 'text']),
    // describe-parameters pages by itself too
    awsOk(S, ['ssm', 'describe-parameters', '--parameter-filters', 'Key=Path,Option=Recursive,Values=/many']),
  ]);

  // --recursive: all 250, each with its value (SecureStrings not in the clear)
  const got = rec.json.Parameters;
  assertNoDuplicates(got.map((p) => p.Name), 'recursive');
  assert.deepEqual(got.map((p) => p.Name).sort(), all.map((p) => p.name).sort());
  const byName = new Map(all.map((p) => [p.name, p]));
  for (const p of got) {
    const want = byName.get(p.Name);
    assert.equal(p.Type, want.type, p.Name);
    if (want.type === 'String') assert.equal(p.Value, want.value, p.Name);
    else assert.notEqual(p.Value, want.value, `${p.Name}: a SecureString came back in the clear without --with-decryption`);
    assert.equal(p.Version, 1);
  }

  // without --recursive: only the 200 direct children
  const oneNames = one.json.Parameters.map((p) => p.Name);
  assertNoDuplicates(oneNames, 'one level');
  assert.deepEqual(oneNames.sort(), all.filter((p) => /^\/many\/p\d+$/.test(p.name)).map((p) => p.name).sort());

  // the Type filter
  const secure = all.filter((p) => p.type === 'SecureString');
  assert.equal(secure.length, 25);
  assert.deepEqual(sec.json.Parameters.map((p) => p.Name).sort(), secure.map((p) => p.name).sort());
  for (const p of sec.json.Parameters) assert.equal(p.Type, 'SecureString');

  // --with-decryption, text output: "NAME\tVALUE" lines
  const lines = secPlain.stdout.trim().split('\n').map((l) => l.split('\t')).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  assert.deepEqual(lines, secure.map((p) => [p.name, p.value]).sort((a, b) => (a[0] < b[0] ? -1 : 1)));

  // describe-parameters: the same 250, metadata only
  const dn = desc.json.Parameters.map((p) => p.Name);
  assertNoDuplicates(dn, 'describe-parameters');
  assert.deepEqual(dn.sort(), all.map((p) => p.name).sort());
  for (const p of desc.json.Parameters) assert.equal(p.Value, undefined);
});

it('paginateGetParametersByPath with MaxResults 10: 25 full pages, every parameter once', async () => {
  const pages = [];
  for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 10 }, { Path: '/many', Recursive: true, MaxResults: 10 })) {
    pages.push(page);
  }
  const names = pages.flatMap((p) => p.Parameters.map((q) => q.Name));
  assertNoDuplicates(names, 'paginator');
  assert.deepEqual([...names].sort(), all.map((p) => p.name).sort());
  for (const p of pages) assert.ok(p.Parameters.length <= 10, `a page of ${p.Parameters.length}`);
  // 250 / 10: 25 full pages (and at most one empty last page)
  assert.ok(pages.length === 25 || (pages.length === 26 && pages[25].Parameters.length === 0), `${pages.length} pages`);
  assert.equal(pages.at(-1).NextToken, undefined);

  // one level, with decryption, 7 at a time
  const one = [];
  for await (const page of paginateGetParametersByPath({ client: ssm }, { Path: '/many/sub', MaxResults: 7, WithDecryption: true })) {
    one.push(...page.Parameters);
  }
  const sub = all.filter((p) => /^\/many\/sub\/s\d+$/.test(p.name));
  assert.deepEqual(one.map((p) => [p.Name, p.Value]).sort(), sub.map((p) => [p.name, p.value]).sort());
});

it('refuses MaxResults above 10, a bad NextToken and a path that is not one', async () => {
  await sdkRejects(() => ssm.send(new GetParametersByPathCommand({ Path: '/many', MaxResults: 11 })), 'ValidationException');
  await sdkRejects(() => ssm.send(new GetParametersByPathCommand({ Path: '/many', NextToken: 'not a token!' })), 'InvalidNextToken');
  await sdkRejects(() => ssm.send(new GetParametersByPathCommand({ Path: 'many' })), 'ValidationException');
  // a token from one path is not valid for another
  const first = await ssm.send(new GetParametersByPathCommand({ Path: '/many', Recursive: true, MaxResults: 10 }));
  assert.ok(first.NextToken);
  await sdkRejects(() => ssm.send(new GetParametersByPathCommand({ Path: '/manyother', NextToken: first.NextToken })), 'InvalidNextToken');
  // an empty path is an empty result, not an error
  const none = await ssm.send(new GetParametersByPathCommand({ Path: '/nothing/here', Recursive: true }));
  assert.deepEqual(none.Parameters, []);
});

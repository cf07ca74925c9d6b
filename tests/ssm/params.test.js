// params.test.js — Parameter Store semantics through @aws-sdk/client-ssm: history and its
// paging, labels and selectors, deletes, DescribeParameters filters, GetParameters, limits
// (versions, labels, value sizes by tier, hierarchy depth), names, patterns, ARNs, users.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PutParameterCommand, GetParameterCommand, GetParametersCommand, GetParameterHistoryCommand,
  DeleteParameterCommand, DeleteParametersCommand, LabelParameterVersionCommand,
  UnlabelParameterVersionCommand, DescribeParametersCommand, AddTagsToResourceCommand,
  RemoveTagsFromResourceCommand, ListTagsForResourceCommand,
  paginateGetParameterHistory, paginateDescribeParameters,
} = require('@aws-sdk/client-ssm');
const { startSsmServer, ssmClient, sdkRejects, api, pp, storeSnapshot } = require('./helpers');

const ACCOUNT = '123456789012';
let S;
let ssm;
before(async () => {
  S = await startSsmServer({ env: { SWITCHYARD_AWS_ACCOUNT_ID: ACCOUNT } });
  ssm = ssmClient(S);
});
after(async () => {
  if (ssm) ssm.destroy();
  if (S) await S.cleanup();
});

const put = (input) => ssm.send(new PutParameterCommand(input));
const get = (Name, WithDecryption) => ssm.send(new GetParameterCommand({ Name, WithDecryption }));

/* Runs fn, which must fail with `code`, and checks that the store did not change. */
async function refusedUnchanged(fn, code, what) {
  const before = await storeSnapshot(S);
  const err = await sdkRejects(fn, code, what);
  assert.equal(err.$metadata.httpStatusCode, 400, `${what}: HTTP ${err.$metadata.httpStatusCode}`);
  assert.deepEqual(await storeSnapshot(S), before, `${what}: the store changed`);
  return err;
}

describe('history', () => {
  const NAME = '/hist/app/setting';
  before(async () => {
    await put({ Name: NAME, Value: 'v1', Type: 'String', Description: 'first' });
    for (let i = 2; i <= 12; i++) await put({ Name: NAME, Value: `v${i}`, Overwrite: true });
  });

  it('paginateGetParameterHistory with MaxResults 5: three pages, versions 1..12 in order, who and when', async () => {
    const t0 = Date.now();
    const pages = [];
    for await (const page of paginateGetParameterHistory({ client: ssm, pageSize: 5 }, { Name: NAME, MaxResults: 5 })) pages.push(page);
    assert.deepEqual(pages.map((p) => p.Parameters.length), [5, 5, 2]);
    const hist = pages.flatMap((p) => p.Parameters);
    assert.deepEqual(hist.map((h) => h.Version), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.deepEqual(hist.map((h) => h.Value), hist.map((h) => `v${h.Version}`));
    for (const h of hist) {
      assert.equal(h.Name, NAME);
      assert.equal(h.Type, 'String');
      assert.ok(h.LastModifiedDate instanceof Date && !Number.isNaN(h.LastModifiedDate.getTime()), `LastModifiedDate ${h.LastModifiedDate}`);
      assert.ok(Math.abs(h.LastModifiedDate.getTime() - t0) < 120000, `LastModifiedDate ${h.LastModifiedDate.toISOString()} is not now`);
      assert.ok(h.LastModifiedUser.includes(S.keyName), `LastModifiedUser ${h.LastModifiedUser} should name the key ${S.keyName}`);
      assert.equal(h.LastModifiedUser, `arn:aws:iam::${ACCOUNT}:user/${S.keyName}`);
      assert.equal(h.Tier, 'Standard');
      assert.deepEqual(h.Labels, []);
      assert.equal(h.Description, 'first', 'an overwrite without Description keeps it');
    }
    // dates never go backwards
    for (let i = 1; i < hist.length; i++) assert.ok(hist[i].LastModifiedDate >= hist[i - 1].LastModifiedDate);
  });

  it('refuses MaxResults 51, a bad NextToken and an unknown name', async () => {
    await sdkRejects(() => ssm.send(new GetParameterHistoryCommand({ Name: NAME, MaxResults: 51 })), 'ValidationException');
    await sdkRejects(() => ssm.send(new GetParameterHistoryCommand({ Name: NAME, NextToken: '%%%' })), 'InvalidNextToken');
    await sdkRejects(() => ssm.send(new GetParameterHistoryCommand({ Name: '/hist/nope' })), 'ParameterNotFound');
  });
});

describe('labels and selectors', () => {
  const NAME = '/lbl/db/url';
  before(async () => {
    for (let i = 1; i <= 3; i++) await put({ Name: NAME, Value: `url-${i}`, Type: 'String', Overwrite: i > 1 });
  });

  it('label-parameter-version, then name:label and name:version in GetParameter and GetParameters', async () => {
    const r = await ssm.send(new LabelParameterVersionCommand({ Name: NAME, ParameterVersion: 2, Labels: ['prod', 'blue'] }));
    assert.deepEqual(r.InvalidLabels, []);
    assert.equal(r.ParameterVersion, 2);

    const byLabel = (await get(`${NAME}:prod`)).Parameter;
    assert.equal(byLabel.Version, 2);
    assert.equal(byLabel.Value, 'url-2');
    assert.equal(byLabel.Selector, ':prod');
    assert.equal(byLabel.Name, NAME);
    const byVersion = (await get(`${NAME}:1`)).Parameter;
    assert.equal(byVersion.Version, 1);
    assert.equal(byVersion.Value, 'url-1');
    assert.equal(byVersion.Selector, ':1');
    assert.equal((await get(NAME)).Parameter.Version, 3, 'the latest without a selector');

    const many = await ssm.send(new GetParametersCommand({ Names: [`${NAME}:blue`, `${NAME}:3`, `${NAME}:nolabel`, `${NAME}:9`] }));
    assert.deepEqual(many.Parameters.map((p) => [p.Version, p.Value]).sort(), [[2, 'url-2'], [3, 'url-3']]);
    assert.deepEqual([...many.InvalidParameters].sort(), [`${NAME}:9`, `${NAME}:nolabel`]);

    // no version: ParameterVersionNotFound; no such label: ParameterNotFound, as SSM answers
    await sdkRejects(() => get(`${NAME}:green`), 'ParameterNotFound');
    await sdkRejects(() => get(`${NAME}:99`), 'ParameterVersionNotFound');

    // the history shows the labels on their version
    const hist = await ssm.send(new GetParameterHistoryCommand({ Name: NAME }));
    assert.deepEqual(hist.Parameters.find((h) => h.Version === 2).Labels.sort(), ['blue', 'prod']);
  });

  it('a label moves from the version that had it; unlabel removes it', async () => {
    const r = await ssm.send(new LabelParameterVersionCommand({ Name: NAME, ParameterVersion: 3, Labels: ['prod'] }));
    assert.deepEqual(r.InvalidLabels, []);
    assert.equal((await get(`${NAME}:prod`)).Parameter.Version, 3);
    const u = await ssm.send(new UnlabelParameterVersionCommand({ Name: NAME, ParameterVersion: 3, Labels: ['prod', 'blue'] }));
    assert.deepEqual(u.RemovedLabels, ['prod']);
    assert.deepEqual(u.InvalidLabels, ['blue'], 'blue is on version 2, not 3');
    await sdkRejects(() => get(`${NAME}:prod`), 'ParameterNotFound');
    assert.equal((await get(`${NAME}:blue`)).Parameter.Version, 2);
  });

  it('bad labels come back in InvalidLabels; the good ones are applied', async () => {
    const bad = ['1starts-with-digit', 'awsreserved', 'SSMreserved', 'has/slash', 'has space'];
    const r = await ssm.send(new LabelParameterVersionCommand({ Name: NAME, ParameterVersion: 1, Labels: [...bad, 'good_one'] }));
    assert.deepEqual([...r.InvalidLabels].sort(), [...bad].sort());
    assert.equal((await get(`${NAME}:good_one`)).Parameter.Version, 1);
    // a label longer than 100 characters breaks a constraint of the request: all of it is refused
    await refusedUnchanged(() => ssm.send(new LabelParameterVersionCommand({ Name: NAME, ParameterVersion: 1, Labels: ['x'.repeat(101), 'other'] })),
      'ValidationException', 'a label of 101 characters');
  });

  it('ten labels on a version, an eleventh refused (ParameterVersionLabelLimitExceeded); eleven in one call too', async () => {
    const N2 = '/lbl/limit';
    await put({ Name: N2, Value: 'x', Type: 'String' });
    const ten = Array.from({ length: 10 }, (_, i) => `l${i}`);
    const r = await ssm.send(new LabelParameterVersionCommand({ Name: N2, ParameterVersion: 1, Labels: ten }));
    assert.deepEqual(r.InvalidLabels, []);
    await refusedUnchanged(() => ssm.send(new LabelParameterVersionCommand({ Name: N2, ParameterVersion: 1, Labels: ['l10'] })),
      'ParameterVersionLabelLimitExceeded', 'an eleventh label');
    // a label it already has is not a new one
    await ssm.send(new LabelParameterVersionCommand({ Name: N2, ParameterVersion: 1, Labels: ['l3'] }));
    const eleven = Array.from({ length: 11 }, (_, i) => `m${i}`);
    await put({ Name: N2, Value: 'y', Overwrite: true });
    await refusedUnchanged(() => ssm.send(new LabelParameterVersionCommand({ Name: N2, ParameterVersion: 2, Labels: eleven })),
      'ParameterVersionLabelLimitExceeded', 'eleven labels in one call');
    const h = await ssm.send(new GetParameterHistoryCommand({ Name: N2 }));
    assert.equal(h.Parameters[0].Labels.length, 10);
    assert.deepEqual(h.Parameters[1].Labels, []);
  });

  it('labelling a version that does not exist fails with ParameterVersionNotFound', async () => {
    await refusedUnchanged(() => ssm.send(new LabelParameterVersionCommand({ Name: NAME, ParameterVersion: 42, Labels: ['x'] })),
      'ParameterVersionNotFound', 'label version 42');
    await refusedUnchanged(() => ssm.send(new LabelParameterVersionCommand({ Name: '/lbl/none', ParameterVersion: 1, Labels: ['x'] })),
      'ParameterNotFound', 'label a missing parameter');
  });
});

describe('deletes', () => {
  it('delete-parameter, then ParameterNotFound for get, history and a second delete', async () => {
    const NAME = '/del/one';
    await put({ Name: NAME, Value: 'x', Type: 'String' });
    await ssm.send(new DeleteParameterCommand({ Name: NAME }));
    await sdkRejects(() => get(NAME), 'ParameterNotFound');
    await sdkRejects(() => ssm.send(new GetParameterHistoryCommand({ Name: NAME })), 'ParameterNotFound');
    await refusedUnchanged(() => ssm.send(new DeleteParameterCommand({ Name: NAME })), 'ParameterNotFound', 'second delete');
    // the name can be created again, from version 1
    const again = await put({ Name: NAME, Value: 'y', Type: 'String' });
    assert.equal(again.Version, 1);
  });

  it('delete-parameters with existing and missing names: DeletedParameters and InvalidParameters', async () => {
    await put({ Name: '/del/a', Value: 'a', Type: 'String' });
    await put({ Name: '/del/b', Value: 'b', Type: 'SecureString' });
    const r = await ssm.send(new DeleteParametersCommand({ Names: ['/del/a', '/del/missing', '/del/b', '/del/gone/too'] }));
    assert.deepEqual([...r.DeletedParameters].sort(), ['/del/a', '/del/b']);
    assert.deepEqual([...r.InvalidParameters].sort(), ['/del/gone/too', '/del/missing']);
    const g = await ssm.send(new GetParametersCommand({ Names: ['/del/a', '/del/b'] }));
    assert.deepEqual(g.Parameters, []);
    assert.deepEqual([...g.InvalidParameters].sort(), ['/del/a', '/del/b']);
    // nothing at all to delete: both lists, nothing written
    const before = await storeSnapshot(S);
    const none = await ssm.send(new DeleteParametersCommand({ Names: ['/del/missing'] }));
    assert.deepEqual(none.DeletedParameters, []);
    assert.deepEqual(none.InvalidParameters, ['/del/missing']);
    assert.deepEqual(await storeSnapshot(S), before);
    // more than 10 names is a validation error
    await refusedUnchanged(() => ssm.send(new DeleteParametersCommand({ Names: Array.from({ length: 11 }, (_, i) => `/del/x${i}`) })),
      'ValidationException', 'eleven names');
  });
});

describe('describe-parameters filters', () => {
  before(async () => {
    await put({ Name: '/desc/a/one', Value: '1', Type: 'String', Tags: [{ Key: 'team', Value: 'ml' }] });
    await put({ Name: '/desc/a/two', Value: '2', Type: 'SecureString', Tags: [{ Key: 'team', Value: 'web' }] });
    await put({ Name: '/desc/b', Value: 'x,y', Type: 'StringList', Description: 'a list' });
    await put({ Name: '/desc/a/deep/three', Value: '3', Type: 'String', Tags: [{ Key: 'env', Value: 'prod' }] });
    await put({ Name: '/descx/other', Value: 'o', Type: 'String', Tags: [{ Key: 'team', Value: 'ml' }] });
  });

  async function describeAll(ParameterFilters) {
    const out = [];
    for await (const page of paginateDescribeParameters({ client: ssm, pageSize: 2 }, { ParameterFilters, MaxResults: 2 })) {
      out.push(...page.Parameters);
    }
    return out;
  }
  const names = (ps) => ps.map((p) => p.Name).sort();

  it('Name BeginsWith, Path Recursive and OneLevel, Type, tag:KEY (with and without values)', async () => {
    const [begins, rec, one, secure, teamMl, teamAny, named] = await Promise.all([
      describeAll([{ Key: 'Name', Option: 'BeginsWith', Values: ['/desc/a'] }]),
      describeAll([{ Key: 'Path', Option: 'Recursive', Values: ['/desc'] }]),
      describeAll([{ Key: 'Path', Option: 'OneLevel', Values: ['/desc/a'] }]),
      describeAll([{ Key: 'Path', Option: 'Recursive', Values: ['/desc'] }, { Key: 'Type', Values: ['SecureString'] }]),
      describeAll([{ Key: 'tag:team', Values: ['ml'] }]),
      describeAll([{ Key: 'Path', Option: 'Recursive', Values: ['/desc'] }, { Key: 'tag:team' }]),
      describeAll([{ Key: 'Name', Values: ['/desc/b'] }]),
    ]);
    assert.deepEqual(names(begins), ['/desc/a/deep/three', '/desc/a/one', '/desc/a/two']);
    assert.deepEqual(names(rec), ['/desc/a/deep/three', '/desc/a/one', '/desc/a/two', '/desc/b']);
    assert.deepEqual(names(one), ['/desc/a/one', '/desc/a/two']);
    assert.deepEqual(names(secure), ['/desc/a/two']);
    assert.deepEqual(names(teamMl), ['/desc/a/one', '/descx/other']);
    assert.deepEqual(names(teamAny), ['/desc/a/one', '/desc/a/two']);
    assert.equal(named.length, 1);
    const b = named[0];
    assert.equal(b.Type, 'StringList');
    assert.equal(b.Description, 'a list');
    assert.equal(b.Version, 1);
    assert.equal(b.Tier, 'Standard');
    assert.equal(b.ARN, `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/desc/b`);
    assert.ok(b.LastModifiedDate instanceof Date && !Number.isNaN(b.LastModifiedDate.getTime()));
    assert.ok(b.LastModifiedUser.includes(S.keyName), b.LastModifiedUser);
    assert.equal(secure[0].KeyId, 'alias/aws/ssm');
    // metadata only: DescribeParameters never returns values
    for (const p of [...rec, ...secure]) assert.equal(p.Value, undefined);
  });

  it('refuses an unknown filter key and an option a key does not have', async () => {
    await sdkRejects(() => ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Colour', Values: ['x'] }] })), 'ValidationException');
    await sdkRejects(() => ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Label', Values: ['x'] }] })), 'InvalidFilterKey');
    await sdkRejects(() => ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Type', Option: 'Contains', Values: ['String'] }] })), 'InvalidFilterOption');
  });
});

describe('get-parameters', () => {
  it('returns what exists and lists the rest in InvalidParameters', async () => {
    await put({ Name: '/gp/a', Value: 'A', Type: 'String' });
    await put({ Name: '/gp/s', Value: 'secret-S', Type: 'SecureString' });
    await put({ Name: 'gp-flat', Value: 'F', Type: 'StringList' });
    const r = await ssm.send(new GetParametersCommand({ Names: ['/gp/a', '/gp/missing', '/gp/s', 'gp-flat', 'nope'], WithDecryption: true }));
    assert.deepEqual(r.Parameters.map((p) => [p.Name, p.Value, p.Type]).sort(),
      [['/gp/a', 'A', 'String'], ['/gp/s', 'secret-S', 'SecureString'], ['gp-flat', 'F', 'StringList']]);
    assert.deepEqual([...r.InvalidParameters].sort(), ['/gp/missing', 'nope']);
    // a name without a slash has the ARN ".../parameter/NAME"
    assert.equal(r.Parameters.find((p) => p.Name === 'gp-flat').ARN, `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/gp-flat`);
  });
});

describe('limits', () => {
  it('100 versions: the 101st drops the oldest; with the oldest labelled, ParameterMaxVersionLimitExceeded', async () => {
    const NAME = '/lim/versions';
    await put({ Name: NAME, Value: 'v1', Type: 'String' });
    for (let i = 2; i <= 101; i++) await put({ Name: NAME, Value: `v${i}`, Overwrite: true });
    const hist = [];
    for await (const page of paginateGetParameterHistory({ client: ssm }, { Name: NAME, MaxResults: 50 })) hist.push(...page.Parameters);
    assert.equal(hist.length, 100);
    assert.equal(hist[0].Version, 2);
    assert.equal(hist[99].Version, 101);
    await sdkRejects(() => get(`${NAME}:1`), 'ParameterVersionNotFound');
    assert.equal((await get(`${NAME}:2`)).Parameter.Value, 'v2');

    await ssm.send(new LabelParameterVersionCommand({ Name: NAME, ParameterVersion: 2, Labels: ['keep'] }));
    const err = await refusedUnchanged(() => put({ Name: NAME, Value: 'v102', Overwrite: true }),
      'ParameterMaxVersionLimitExceeded', 'a 101st version over a labelled oldest');
    assert.match(err.message, /label/i);
    assert.equal((await get(NAME)).Parameter.Version, 101);
    // move the label off the oldest: the write goes through and version 2 goes
    await ssm.send(new LabelParameterVersionCommand({ Name: NAME, ParameterVersion: 50, Labels: ['keep'] }));
    assert.equal((await put({ Name: NAME, Value: 'v102', Overwrite: true })).Version, 102);
    await sdkRejects(() => get(`${NAME}:2`), 'ParameterVersionNotFound');
  });

  it('value sizes by tier: Standard 4096 (4097 refused), Advanced 8192 (8193 refused)', async () => {
    const ok4096 = await put({ Name: '/lim/std', Value: 'a'.repeat(4096), Type: 'String' });
    assert.deepEqual([ok4096.Version, ok4096.Tier], [1, 'Standard']);
    await refusedUnchanged(() => put({ Name: '/lim/std2', Value: 'a'.repeat(4097), Type: 'String' }), 'ValidationException', 'Standard 4097, tier not given');
    await refusedUnchanged(() => put({ Name: '/lim/std2', Value: 'a'.repeat(4097), Type: 'String', Tier: 'Standard' }), 'ValidationException', 'Standard 4097');
    await refusedUnchanged(() => put({ Name: '/lim/std', Value: 'b'.repeat(4097), Overwrite: true }), 'ValidationException', 'Standard overwrite 4097');
    const adv = await put({ Name: '/lim/adv', Value: 'c'.repeat(8192), Type: 'SecureString', Tier: 'Advanced' });
    assert.deepEqual([adv.Version, adv.Tier], [1, 'Advanced']);
    assert.equal((await get('/lim/adv', true)).Parameter.Value, 'c'.repeat(8192));
    await refusedUnchanged(() => put({ Name: '/lim/adv2', Value: 'c'.repeat(8193), Type: 'String', Tier: 'Advanced' }), 'ValidationException', 'Advanced 8193');
    // an Advanced parameter stays Advanced on an overwrite that does not name the tier
    const over = await put({ Name: '/lim/adv', Value: 'd'.repeat(6000), Overwrite: true });
    assert.deepEqual([over.Version, over.Tier], [2, 'Advanced']);
    // Intelligent-Tiering picks Advanced for a value that needs it
    const it1 = await put({ Name: '/lim/it', Value: 'e'.repeat(5000), Type: 'String', Tier: 'Intelligent-Tiering' });
    assert.equal(it1.Tier, 'Advanced');
    const it2 = await put({ Name: '/lim/it-small', Value: 'small', Type: 'String', Tier: 'Intelligent-Tiering' });
    assert.equal(it2.Tier, 'Standard');
  });

  it('15 levels are fine, 16 are HierarchyLevelLimitExceededException', async () => {
    const seg = (n) => Array.from({ length: n }, (_, i) => `/l${i}`).join('');
    assert.equal((await put({ Name: seg(15), Value: 'deep', Type: 'String' })).Version, 1);
    await refusedUnchanged(() => put({ Name: seg(16), Value: 'deeper', Type: 'String' }), 'HierarchyLevelLimitExceededException', '16 levels');
  });
});

describe('put-parameter rules', () => {
  it('Type is required on create; ParameterAlreadyExists without Overwrite; Tags with Overwrite refused', async () => {
    await refusedUnchanged(() => put({ Name: '/rules/new', Value: 'x' }), 'ValidationException', 'create without Type');
    await put({ Name: '/rules/a', Value: 'x', Type: 'String' });
    await refusedUnchanged(() => put({ Name: '/rules/a', Value: 'y', Type: 'String' }), 'ParameterAlreadyExists', 'put without overwrite');
    await refusedUnchanged(() => put({ Name: '/rules/a', Value: 'y', Overwrite: true, Tags: [{ Key: 'k', Value: 'v' }] }),
      'ValidationException', 'tags with overwrite');
    await refusedUnchanged(() => put({ Name: '/rules/b', Value: 'y', Type: 'String', Overwrite: true, Tags: [{ Key: 'k', Value: 'v' }] }),
      'ValidationException', 'tags with overwrite on a new name');
    await refusedUnchanged(() => put({ Name: '/rules/c', Value: 'y', Type: 'Number' }), 'ValidationException', 'an unknown Type');
    assert.equal((await get('/rules/a')).Parameter.Value, 'x');
  });

  it('names beginning with aws or ssm (any case) are refused', async () => {
    for (const n of ['/SSM/reserved', 'awsflat', 'Ssm-flat', '/aws']) {
      await refusedUnchanged(() => put({ Name: n, Value: 'x', Type: 'String' }), 'ValidationException', `name ${n}`);
    }
    // a path under /aws is AWS's own: no access
    await refusedUnchanged(() => put({ Name: '/aws/reserved', Value: 'x', Type: 'String' }), 'AccessDeniedException', 'name /aws/reserved');
    // only as the first segment: deeper down it is an ordinary name
    assert.equal((await put({ Name: '/rules/aws/ok', Value: 'x', Type: 'String' })).Version, 1);
  });

  it('AllowedPattern: a mismatch is ParameterPatternMismatchException, on create and on overwrite', async () => {
    await refusedUnchanged(() => put({ Name: '/rules/port', Value: 'eighty', Type: 'String', AllowedPattern: '^[0-9]+$' }),
      'ParameterPatternMismatchException', 'create with a mismatch');
    assert.equal((await put({ Name: '/rules/port', Value: '8080', Type: 'String', AllowedPattern: '^[0-9]+$' })).Version, 1);
    // the pattern stays with the parameter
    await refusedUnchanged(() => put({ Name: '/rules/port', Value: 'http', Overwrite: true }),
      'ParameterPatternMismatchException', 'overwrite with a mismatch');
    assert.equal((await put({ Name: '/rules/port', Value: '9090', Overwrite: true })).Version, 2);
    const h = await ssm.send(new GetParameterHistoryCommand({ Name: '/rules/port' }));
    assert.equal(h.Parameters[1].AllowedPattern, '^[0-9]+$');
  });

  it("AllowedPattern in AWS's own syntax: the documented ^\\d+$ accepts digits and refuses letters", async () => {
    // the example of the PutParameter reference (AllowedPattern=^\d+$); AWS patterns are Java regexes
    const r = await put({ Name: '/rules/digits', Value: '8080', Type: 'String', AllowedPattern: '^\\d+$' });
    assert.equal(r.Version, 1);
    await refusedUnchanged(() => put({ Name: '/rules/digits', Value: 'http', Overwrite: true }),
      'ParameterPatternMismatchException', 'letters against ^\\d+$');
  });

  it('StringList values come back as sent', async () => {
    await put({ Name: '/rules/list', Value: 'a,b,c', Type: 'StringList' });
    const p = (await get('/rules/list')).Parameter;
    assert.deepEqual([p.Type, p.Value], ['StringList', 'a,b,c']);
  });
});

describe('concurrent writers', () => {
  it('parallel overwrites from two keys make one gap-free sequence of versions', async () => {
    const NAME = '/conc/counter';
    await put({ Name: NAME, Value: 'v0', Type: 'String' });
    const other = ssmClient(S);
    try {
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? other : ssm).send(new PutParameterCommand({ Name: NAME, Value: `w${i}`, Overwrite: true }))));
      assert.deepEqual(results.map((r) => r.Version).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 2));
    } finally {
      other.destroy();
    }
    const hist = [];
    for await (const page of paginateGetParameterHistory({ client: ssm }, { Name: NAME, MaxResults: 50 })) hist.push(...page.Parameters);
    assert.deepEqual(hist.map((h) => h.Version), Array.from({ length: 31 }, (_, i) => i + 1));
    assert.deepEqual(new Set(hist.slice(1).map((h) => h.Value)), new Set(Array.from({ length: 30 }, (_, i) => `w${i}`)));
    const audit = await api(S, 'GET', `/api/v1/admin/audit?limit=100&name=${encodeURIComponent(NAME)}`);
    assert.equal(audit.json.records.length, 31, audit.text);
  });
});

describe('tags', () => {
  it('add, overwrite a value, list, remove; unknown resource is InvalidResourceId', async () => {
    const NAME = '/tags/p';
    await put({ Name: NAME, Value: 'x', Type: 'String', Tags: [{ Key: 'owner', Value: 'ml' }] });
    await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: NAME, Tags: [{ Key: 'owner', Value: 'web' }, { Key: 'tier', Value: 'gold' }] }));
    let t = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: NAME }));
    assert.deepEqual(Object.fromEntries(t.TagList.map((x) => [x.Key, x.Value])), { owner: 'web', tier: 'gold' });
    await ssm.send(new RemoveTagsFromResourceCommand({ ResourceType: 'Parameter', ResourceId: NAME, TagKeys: ['owner'] }));
    t = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: NAME }));
    assert.deepEqual(t.TagList, [{ Key: 'tier', Value: 'gold' }]);
    // tags do not make versions
    assert.equal((await get(NAME)).Parameter.Version, 1);
    await refusedUnchanged(() => ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/tags/none', Tags: [{ Key: 'a', Value: 'b' }] })),
      'InvalidResourceId', 'tag a missing parameter');
    // a kind of resource this server has none of: no such resource; a kind SSM does not know: the type is invalid
    await refusedUnchanged(() => ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Document', ResourceId: NAME, Tags: [{ Key: 'a', Value: 'b' }] })),
      'InvalidResourceId', 'tag a document');
    await refusedUnchanged(() => ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Spaceship', ResourceId: NAME, Tags: [{ Key: 'a', Value: 'b' }] })),
      'InvalidResourceType', 'tag a spaceship');
  });
});

describe('ARNs, dates and users', () => {
  it('Parameter has the ARN, a LastModifiedDate and DataType; the ARN addresses it too', async () => {
    const NAME = '/arn/check/x';
    const t0 = Date.now();
    await put({ Name: NAME, Value: 'v', Type: 'String' });
    const p = (await get(NAME)).Parameter;
    assert.equal(p.ARN, `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter${NAME}`);
    assert.ok(p.LastModifiedDate instanceof Date, `LastModifiedDate ${p.LastModifiedDate}`);
    assert.ok(Math.abs(p.LastModifiedDate.getTime() - t0) < 120000);
    assert.equal(p.DataType, 'text');
    const byArn = (await get(p.ARN)).Parameter;
    assert.equal(byArn.Name, NAME);
    assert.equal(byArn.Value, 'v');
    // a native read agrees on the user
    const nat = await api(S, 'GET', pp(NAME));
    assert.equal(nat.json.last_modified_user, S.keyName);
  });

  it('SWITCHYARD_AWS_REGION and SWITCHYARD_AWS_ACCOUNT_ID set the ARNs', async () => {
    const S2 = await startSsmServer({ env: { SWITCHYARD_AWS_REGION: 'eu-west-1', SWITCHYARD_AWS_ACCOUNT_ID: '210987654321' } });
    const c = ssmClient(S2, null, { region: 'eu-west-1' });
    try {
      await c.send(new PutParameterCommand({ Name: '/eu/x', Value: 'v', Type: 'String' }));
      const p = (await c.send(new GetParameterCommand({ Name: '/eu/x' }))).Parameter;
      assert.equal(p.ARN, 'arn:aws:ssm:eu-west-1:210987654321:parameter/eu/x');
      const d = await c.send(new DescribeParametersCommand({}));
      assert.equal(d.Parameters[0].LastModifiedUser, `arn:aws:iam::210987654321:user/${S2.keyName}`);
    } finally {
      c.destroy();
      await S2.cleanup();
    }
  });
});

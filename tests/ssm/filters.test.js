// filters.test.js — the parameter filters of DescribeParameters (Filters, ParameterFilters) and
// GetParametersByPath (ParameterFilters) through @aws-sdk/client-ssm: every key and option,
// root names with and without their slash, paging of a filtered listing, and each refusal with
// SSM's error name and message (tests/ssm/data/filter-errors.json; scripts match on the text).
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {
  PutParameterCommand, DescribeParametersCommand, GetParametersByPathCommand, LabelParameterVersionCommand,
  AddTagsToResourceCommand, RemoveTagsFromResourceCommand, paginateDescribeParameters,
} = require('@aws-sdk/client-ssm');
const { startSsmServer, ssmClient, signedCall, assertSsmError, storeSnapshot, assertHealthy } = require('./helpers');

const ERRORS = JSON.parse(fs.readFileSync(path.join(__dirname, 'data', 'filter-errors.json'), 'utf8'));

/* A server of its own for each group: Name and Path filters look at every parameter. */
function withServer() {
  const ctx = {};
  before(async () => {
    ctx.srv = await startSsmServer();
    ctx.ssm = ssmClient(ctx.srv);
    ctx.put = (input) => ctx.ssm.send(new PutParameterCommand(input));
    /* Every page of DescribeParameters, pageSize at a time: the names, sorted. */
    ctx.describe = async (input, pageSize = 50) => {
      const out = [];
      for await (const page of paginateDescribeParameters({ client: ctx.ssm, pageSize }, { ...input, MaxResults: pageSize })) {
        out.push(...page.Parameters);
      }
      return out;
    };
    ctx.names = async (input, pageSize) => (await ctx.describe(input, pageSize)).map((p) => p.Name).sort();
    ctx.byPath = async (input) => (await ctx.ssm.send(new GetParametersByPathCommand(input))).Parameters;
  });
  after(async () => {
    if (ctx.ssm) ctx.ssm.destroy();
    if (ctx.srv) await ctx.srv.cleanup();
  });
  return ctx;
}

const sorted = (a) => [...a].sort();

describe('DescribeParameters: Name', () => {
  const c = withServer();
  before(async () => {
    for (const Name of ['param', '/param-2', '/tangent-3', 'tangram-4', 'standby-5', '/dir/param']) {
      await c.put({ Name, Value: 'v', Type: 'String' });
    }
  });

  it('Equals: a root name is the same with or without its leading slash', async () => {
    const F = (Values, Option) => ({ ParameterFilters: [{ Key: 'Name', Values, ...(Option ? { Option } : {}) }] });
    assert.deepEqual(await c.names(F(['param'])), ['param']);
    assert.deepEqual(await c.names(F(['/param'])), ['param']);
    assert.deepEqual(await c.names(F(['param-2'])), ['/param-2']);
    assert.deepEqual(await c.names(F(['/param-2'], 'Equals')), ['/param-2']);
    assert.deepEqual(await c.names(F(['dir/param'])), ['/dir/param']);
    assert.deepEqual(await c.names(F(['para', 'tangent-3'])), ['/tangent-3']);
    assert.deepEqual(await c.names(F(['Param'])), []);
  });

  it('BeginsWith compares names with one leading slash; Contains looks in "/" + the name', async () => {
    const F = (Option, Values) => ({ ParameterFilters: [{ Key: 'Name', Option, Values }] });
    assert.deepEqual(await c.names(F('BeginsWith', ['param'])), ['/param-2', 'param']);
    assert.deepEqual(await c.names(F('BeginsWith', ['/tan'])), ['/tangent-3', 'tangram-4']);
    assert.deepEqual(await c.names(F('BeginsWith', ['/'])), sorted(['param', '/param-2', '/tangent-3', 'tangram-4', 'standby-5', '/dir/param']));
    assert.deepEqual(await c.names(F('Contains', ['ram'])), ['/dir/param', '/param-2', 'param', 'tangram-4']);
    assert.deepEqual(await c.names(F('Contains', ['/tan'])), ['/tangent-3', 'tangram-4']);
    assert.deepEqual(await c.names(F('Contains', ['/param'])), ['/dir/param', '/param-2', 'param']);
    assert.deepEqual(await c.names(F('Contains', ['by-', 'nt-'])), ['/tangent-3', 'standby-5']);
  });

  it('the deprecated Filters: Name begins with, root names with or without their slash', async () => {
    assert.deepEqual(await c.names({ Filters: [{ Key: 'Name', Values: ['param'] }] }), ['/param-2', 'param']);
    assert.deepEqual(await c.names({ Filters: [{ Key: 'Name', Values: ['/stand'] }] }), ['standby-5']);
    assert.deepEqual(await c.names({ Filters: [{ Key: 'Name', Values: ['/dir/'] }] }), ['/dir/param']);
  });
});

describe('DescribeParameters: Path', () => {
  const c = withServer();
  const ALL = ['/foo/name1', '/foo/name2', '/bar/name3', '/bar/name3/name4', 'foo', '/rooted'];
  before(async () => {
    for (const Name of ALL) await c.put({ Name, Value: 'v', Type: 'String' });
  });
  const P = (Values, Option) => ({ ParameterFilters: [{ Key: 'Path', Values, ...(Option ? { Option } : {}) }] });

  it('OneLevel (the default): the names right below, and "/" holds every root name', async () => {
    assert.deepEqual(await c.names(P(['/fo'])), []);
    assert.deepEqual(await c.names(P(['/'])), ['/rooted', 'foo']);
    assert.deepEqual(await c.names(P(['/'], 'OneLevel')), ['/rooted', 'foo']);
    assert.deepEqual(await c.names(P(['/', '/foo'])), ['/foo/name1', '/foo/name2', '/rooted', 'foo']);
    assert.deepEqual(await c.names(P(['/foo/'])), ['/foo/name1', '/foo/name2']);
    assert.deepEqual(await c.names(P(['/bar'], 'OneLevel')), ['/bar/name3']);
    assert.deepEqual(await c.names(P(['/bar/name3'], 'OneLevel')), ['/bar/name3/name4']);
  });

  it('Recursive: everything below; "/" is everything', async () => {
    assert.deepEqual(await c.names(P(['/fo'], 'Recursive')), []);
    assert.deepEqual(await c.names(P(['/'], 'Recursive')), sorted(ALL));
    assert.deepEqual(await c.names(P(['/foo', '/bar'], 'Recursive')), ['/bar/name3', '/bar/name3/name4', '/foo/name1', '/foo/name2']);
    assert.deepEqual(await c.names(P(['/foo/'], 'Recursive')), ['/foo/name1', '/foo/name2']);
    assert.deepEqual(await c.names(P(['/bar/name3'], 'Recursive')), ['/bar/name3/name4']);
  });

  it('a filtered listing pages: one name a page, every match once', async () => {
    const pages = [];
    for await (const page of paginateDescribeParameters({ client: c.ssm, pageSize: 1 }, { ...P(['/'], 'Recursive'), MaxResults: 1 })) {
      assert.ok(page.Parameters.length <= 1);
      pages.push(...page.Parameters.map((p) => p.Name));
    }
    assert.deepEqual(sorted(pages), sorted(ALL));
    assert.deepEqual(await c.names(P(['/foo', '/bar'], 'Recursive'), 1), ['/bar/name3', '/bar/name3/name4', '/foo/name1', '/foo/name2']);
  });
});

describe('DescribeParameters: Type, Tier, KeyId, DataType, tags, together', () => {
  const c = withServer();
  before(async () => {
    await c.put({ Name: '/t/string', Value: 'v', Type: 'String', Tags: [{ Key: 'spam', Value: 'eggs' }, { Key: 'x', Value: 'a' }] });
    await c.put({ Name: '/t/list', Value: 'a,b', Type: 'StringList', Tags: [{ Key: 'spam', Value: 'ham' }, { Key: 'x', Value: 'b' }] });
    await c.put({ Name: '/t/secret', Value: 's', Type: 'SecureString' });
    await c.put({ Name: '/t/big', Value: 'x'.repeat(5000), Type: 'String', Tier: 'Advanced', Tags: [{ Key: 'spam', Value: 'eggs' }] });
    await c.put({ Name: 'root-secret', Value: 's', Type: 'SecureString', Tags: [{ Key: 'x', Value: 'b' }] });
  });
  const F = (...f) => ({ ParameterFilters: f });

  it('Type: Equals, BeginsWith, several values', async () => {
    assert.deepEqual(await c.names(F({ Key: 'Type', Values: ['SecureString'] })), ['/t/secret', 'root-secret']);
    assert.deepEqual(await c.names(F({ Key: 'Type', Option: 'Equals', Values: ['String', 'StringList'] })), ['/t/big', '/t/list', '/t/string']);
    assert.deepEqual(await c.names(F({ Key: 'Type', Option: 'BeginsWith', Values: ['String'] })), ['/t/big', '/t/list', '/t/string']);
    assert.deepEqual(await c.names({ Filters: [{ Key: 'Type', Values: ['StringList'] }] }), ['/t/list']);
  });

  it('Tier: Standard, Advanced; Intelligent-Tiering is a value no stored parameter has', async () => {
    assert.deepEqual(await c.names(F({ Key: 'Tier', Values: ['Advanced'] })), ['/t/big']);
    assert.deepEqual(await c.names(F({ Key: 'Tier', Values: ['Standard'] })), ['/t/list', '/t/secret', '/t/string', 'root-secret']);
    assert.deepEqual(await c.names(F({ Key: 'Tier', Values: ['Intelligent-Tiering'] })), []);
  });

  it('KeyId: SecureStrings only, alias/aws/ssm when none was given', async () => {
    assert.deepEqual(await c.names(F({ Key: 'KeyId', Values: ['alias/aws/ssm'] })), ['/t/secret', 'root-secret']);
    assert.deepEqual(await c.names(F({ Key: 'KeyId', Option: 'BeginsWith', Values: ['alias'] })), ['/t/secret', 'root-secret']);
    assert.deepEqual(await c.names(F({ Key: 'KeyId', Values: ['alias/other'] })), []);
    assert.deepEqual(await c.names({ Filters: [{ Key: 'KeyId', Values: ['alias/aws/ssm'] }] }), ['/t/secret', 'root-secret']);
  });

  it('DataType: every parameter is text', async () => {
    assert.equal((await c.names(F({ Key: 'DataType', Values: ['text'] }))).length, 5);
    assert.deepEqual(await c.names(F({ Key: 'DataType', Values: ['aws:ec2:image'] })), []);
  });

  it('tag:KEY: with values Equals or BeginsWith, without values the tag is there', async () => {
    assert.deepEqual(await c.names(F({ Key: 'tag:spam', Values: ['eggs'] })), ['/t/big', '/t/string']);
    assert.deepEqual(await c.names(F({ Key: 'tag:spam' })), ['/t/big', '/t/list', '/t/string']);
    assert.deepEqual(await c.names(F({ Key: 'tag:spam', Option: 'BeginsWith', Values: ['h', 'z'] })), ['/t/list']);
    assert.deepEqual(await c.names(F({ Key: 'tag:none' })), []);
    assert.deepEqual(await c.names(F({ Key: 'tag:x', Values: ['b'] }, { Key: 'tag:spam', Values: ['ham'] })), ['/t/list']);
    assert.deepEqual(await c.names(F({ Key: 'tag:spam', Values: ['ham'] }, { Key: 'tag:x', Values: ['b'] })), ['/t/list']);
    // tags follow AddTags and RemoveTags
    await c.ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/t/secret', Tags: [{ Key: 'spam', Value: 'eggs' }] }));
    await c.ssm.send(new RemoveTagsFromResourceCommand({ ResourceType: 'Parameter', ResourceId: '/t/big', TagKeys: ['spam'] }));
    assert.deepEqual(await c.names(F({ Key: 'tag:spam', Values: ['eggs'] })), ['/t/secret', '/t/string']);
  });

  it('every filter must match; the deprecated Filters too', async () => {
    assert.deepEqual(await c.names(F(
      { Key: 'Path', Option: 'Recursive', Values: ['/t'] },
      { Key: 'Type', Values: ['String', 'SecureString'] },
      { Key: 'Tier', Values: ['Standard'] },
    )), ['/t/secret', '/t/string']);
    assert.deepEqual(await c.names(F({ Key: 'Name', Option: 'BeginsWith', Values: ['/t/s'] }, { Key: 'KeyId', Values: ['alias/aws/ssm'] })), ['/t/secret']);
    assert.deepEqual(await c.names({ Filters: [{ Key: 'Name', Values: ['/t/'] }, { Key: 'Type', Values: ['SecureString'] }] }), ['/t/secret']);
    assert.deepEqual(await c.names({ Filters: [], ParameterFilters: [{ Key: 'Type', Values: ['StringList'] }] }), ['/t/list']);
  });

  it('many distinct tag filters are answered (nothing has them all)', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => ({ Key: `tag:k${i}` }));
    assert.deepEqual(await c.names(F(...many)), []);
    const r = await signedCall(c.srv, 'DescribeParameters', JSON.stringify({ ParameterFilters: [...many, { Key: 'tag:k7', Values: ['x'] }] }));
    assertSsmError(r, 400, 'InvalidFilterKey', 'a repeated tag after 3000');
    assert.equal(r.json.message, 'The following filter is duplicated in the request: tag:k7. A request can contain only one occurrence of a specific filter.');
  });
});

describe('GetParametersByPath: ParameterFilters', () => {
  const c = withServer();
  before(async () => {
    await c.put({ Name: '/baz/name1', Value: 'value1,value2', Type: 'StringList' });
    await c.put({ Name: '/baz/name2', Value: 'value1', Type: 'String', Tags: [{ Key: 'team', Value: 'ml' }] });
    await c.put({ Name: '/baz/pwd', Value: 'my_secret', Type: 'SecureString' });
    await c.put({ Name: '/baz/deep/leaf', Value: 'leaf', Type: 'String' });
    await c.put({ Name: '/baz/name2', Value: 'value2', Overwrite: true });
    await c.ssm.send(new LabelParameterVersionCommand({ Name: '/baz/name2', ParameterVersion: 1, Labels: ['Label1'] }));
  });
  const names = (ps) => ps.map((p) => p.Name).sort();

  it('Type Equals and BeginsWith, KeyId, Option left out', async () => {
    const T = (Values, Option) => c.byPath({ Path: '/baz', ParameterFilters: [{ Key: 'Type', Values, ...(Option ? { Option } : {}) }] });
    assert.deepEqual(names(await T(['StringList'], 'Equals')), ['/baz/name1']);
    assert.deepEqual(names(await T(['StringList'])), ['/baz/name1']);
    assert.deepEqual(names(await T(['String'])), ['/baz/name2']);
    assert.deepEqual(names(await T(['String', 'SecureString'])), ['/baz/name2', '/baz/pwd']);
    assert.deepEqual(names(await T(['String'], 'BeginsWith')), ['/baz/name1', '/baz/name2']);
    const k = await c.byPath({ Path: '/baz', ParameterFilters: [{ Key: 'KeyId', Option: 'Equals', Values: ['alias/aws/ssm'] }] });
    assert.deepEqual(names(k), ['/baz/pwd']);
    const r = await c.byPath({ Path: '/baz', Recursive: true, ParameterFilters: [{ Key: 'Type', Values: ['String'] }] });
    assert.deepEqual(names(r), ['/baz/deep/leaf', '/baz/name2']);
  });

  it('Label returns the version carrying it; with Type the labelled version is the one checked', async () => {
    const l = await c.byPath({ Path: '/baz', ParameterFilters: [{ Key: 'Label', Values: ['Label1'] }] });
    assert.deepEqual(l.map((p) => [p.Name, p.Value, p.Version]), [['/baz/name2', 'value1', 1]]);
    const none = await c.byPath({ Path: '/baz', ParameterFilters: [{ Key: 'Label', Values: ['nope'] }] });
    assert.deepEqual(none, []);
    const both = await c.byPath({ Path: '/baz', ParameterFilters: [{ Key: 'Label', Option: 'Equals', Values: ['nope', 'Label1'] }, { Key: 'Type', Values: ['String'] }] });
    assert.deepEqual(both.map((p) => p.Version), [1]);
  });

  it('tag:KEY is taken', async () => {
    assert.deepEqual(names(await c.byPath({ Path: '/baz', ParameterFilters: [{ Key: 'tag:team', Values: ['ml'] }] })), ['/baz/name2']);
    assert.deepEqual(names(await c.byPath({ Path: '/baz', ParameterFilters: [{ Key: 'tag:team' }] })), ['/baz/name2']);
  });

  it('a filtered page stops at MaxResults and the next starts after it', async () => {
    const F = [{ Key: 'Type', Values: ['String', 'SecureString'] }];
    const p1 = await c.ssm.send(new GetParametersByPathCommand({ Path: '/baz', Recursive: true, MaxResults: 2, ParameterFilters: F }));
    assert.equal(p1.Parameters.length, 2);
    assert.ok(p1.NextToken);
    const p2 = await c.ssm.send(new GetParametersByPathCommand({ Path: '/baz', Recursive: true, MaxResults: 2, ParameterFilters: F, NextToken: p1.NextToken }));
    assert.deepEqual(names([...p1.Parameters, ...p2.Parameters]), ['/baz/deep/leaf', '/baz/name2', '/baz/pwd']);
  });
});

describe('refusals', () => {
  const c = withServer();
  before(async () => {
    await c.put({ Name: '/keep/one', Value: 'v', Type: 'String' });
  });

  for (const e of ERRORS) {
    it(`${e.op}: ${e.what} is ${e.type}`, async () => {
      const r = await signedCall(c.srv, e.op, JSON.stringify(e.body));
      assertSsmError(r, 400, e.type, e.what);
      if (e.message !== undefined) assert.equal(r.json.message, e.message, e.what);
      if (e.contains !== undefined) assert.ok(r.json.message.includes(e.contains), `${e.what}: ${r.json.message}`);
    });
  }

  it('through the SDK: the error name and the message scripts match on', async () => {
    let err = null;
    try {
      await c.ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Label' }] }));
    } catch (e) { err = e; }
    assert.ok(err);
    assert.equal(err.name, 'InvalidFilterKey');
    assert.equal(err.message, 'The following filter key is not valid: Label. Valid filter keys include: [Path, Name, Type, KeyId, Tier].');
  });

  it('an oversize key or value gives a bounded message, and nothing changed', async () => {
    const before = await storeSnapshot(c.srv);
    const r = await signedCall(c.srv, 'DescribeParameters', JSON.stringify({
      ParameterFilters: [{ Key: 'k'.repeat(200000), Values: ['v'.repeat(200000)] }, { Key: 'Name', Option: 'o'.repeat(100000), Values: ['x'] }],
    }));
    assertSsmError(r, 400, 'ValidationException', 'oversize');
    assert.match(r.json.message, /^4 validation errors detected: Value 'kkkk/);
    assert.ok(Buffer.byteLength(r.json.message) <= 4096, `message of ${r.json.message.length}`); // SSM_MSG_MAX
    assert.deepEqual(await storeSnapshot(c.srv), before);
    await assertHealthy(c.srv);
  });
});

// fidelity_names.test.js — a root name and its slashed spelling ("foo" and "/foo") are one
// parameter in every SSM operation, in the native API, the CLI and the config export; and
// GetParametersByPath / DescribeParameters place such names at the root.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const {
  PutParameterCommand, GetParameterCommand, GetParametersCommand, GetParameterHistoryCommand,
  DeleteParameterCommand, DeleteParametersCommand, LabelParameterVersionCommand,
  UnlabelParameterVersionCommand, DescribeParametersCommand, AddTagsToResourceCommand,
  RemoveTagsFromResourceCommand, ListTagsForResourceCommand, paginateGetParametersByPath,
  paginateDescribeParameters,
} = require('@aws-sdk/client-ssm');
const { startSsmServer, ssmClient, sdkRejects, api, cliRunner, storeSnapshot } = require('./helpers');

const BIN = process.env.SWITCHYARD_BIN || path.resolve(__dirname, '../../build/switchyard');

let S;
let ssm;
let ACCOUNT;
before(async () => {
  S = await startSsmServer();
  ssm = ssmClient(S);
  // the account is whatever the server answers with: read it off an ARN it returns
  await ssm.send(new PutParameterCommand({ Name: '/acct/probe', Value: 'x', Type: 'String' }));
  const arn = (await ssm.send(new GetParameterCommand({ Name: '/acct/probe' }))).Parameter.ARN;
  const m = /^arn:aws:ssm:us-east-1:(\d{12}):parameter\/acct\/probe$/.exec(arn);
  assert.ok(m, `ARN ${arn}`);
  ACCOUNT = m[1];
  await ssm.send(new DeleteParameterCommand({ Name: '/acct/probe' }));
});
after(async () => {
  if (ssm) ssm.destroy();
  if (S) await S.cleanup();
});

const put = (input) => ssm.send(new PutParameterCommand(input));
const get = (Name, WithDecryption) => ssm.send(new GetParameterCommand({ Name, WithDecryption }));
const bare = (n) => n.replace(/^\//, '');
const slashed = (n) => `/${bare(n)}`;
const other = (n) => (n.startsWith('/') ? bare(n) : slashed(n));

async function historyOf(Name) {
  return (await ssm.send(new GetParameterHistoryCommand({ Name }))).Parameters;
}

/* Both spellings of every case: created as "/x" and read as "x", and the other way round. */
for (const created of ['/rootslash', 'rootbare']) {
  const alt = other(created);
  describe(`a root name created as "${created}", addressed as "${alt}"`, () => {
    const arn = () => `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/${bare(created)}`;

    it('put: the other spelling is ParameterAlreadyExists, and Overwrite updates the same parameter', async () => {
      await put({ Name: created, Value: 'v1', Type: 'String', Description: 'd' });
      const before0 = await storeSnapshot(S);
      const err = await sdkRejects(() => put({ Name: alt, Value: 'clash', Type: 'String' }), 'ParameterAlreadyExists', `create ${alt}`);
      assert.deepEqual(await storeSnapshot(S), before0, 'a refused create wrote something');
      const r = await put({ Name: alt, Value: 'v2', Overwrite: true });
      assert.equal(r.Version, 2, 'the overwrite through the other spelling is version 2 of the same parameter');
      assert.equal(err.message, 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
      for (const n of [created, alt]) {
        const p = (await get(n)).Parameter;
        assert.equal(p.Value, 'v2', n);
        assert.equal(p.Version, 2, n);
        assert.equal(p.ARN, arn(), `${n}: the ARN names ".../parameter/${bare(created)}"`);
      }
      // both spellings answer with the same Name
      assert.equal((await get(created)).Parameter.Name, (await get(alt)).Parameter.Name);
      assert.ok([created, alt].includes((await get(alt)).Parameter.Name));
    });

    it('get-parameters: either spelling finds it; asking with both returns it once', async () => {
      const one = await ssm.send(new GetParametersCommand({ Names: [alt] }));
      assert.equal(one.Parameters.length, 1, JSON.stringify(one));
      assert.deepEqual(one.InvalidParameters, []);
      assert.equal(one.Parameters[0].ARN, arn());
      const both = await ssm.send(new GetParametersCommand({ Names: [created, alt] }));
      assert.deepEqual(both.InvalidParameters, []);
      assert.equal(both.Parameters.length, 1, `one parameter, asked twice: ${JSON.stringify(both.Parameters.map((p) => p.Name))}`);
    });

    it('history and labels: a label set through one spelling is read through the other', async () => {
      const h = await historyOf(alt);
      assert.deepEqual(h.map((x) => [x.Version, x.Value]), [[1, 'v1'], [2, 'v2']]);
      assert.deepEqual(h.map((x) => x.ARN === undefined ? arn() : x.ARN), [arn(), arn()]);
      const l = await ssm.send(new LabelParameterVersionCommand({ Name: alt, ParameterVersion: 1, Labels: ['old'] }));
      assert.deepEqual(l.InvalidLabels, []);
      assert.equal(l.ParameterVersion, 1);
      const byLabel = (await get(`${created}:old`)).Parameter;
      assert.deepEqual([byLabel.Version, byLabel.Value, byLabel.Selector], [1, 'v1', ':old']);
      assert.equal((await get(`${alt}:1`)).Parameter.Value, 'v1');
      assert.deepEqual((await historyOf(created))[0].Labels, ['old']);
      const u = await ssm.send(new UnlabelParameterVersionCommand({ Name: created, ParameterVersion: 1, Labels: ['old'] }));
      assert.deepEqual(u.RemovedLabels, ['old']);
      assert.deepEqual(u.InvalidLabels, []);
      // a label that names nothing is found nowhere
      const e = await sdkRejects(() => get(`${alt}:old`), 'ParameterNotFound');
      assert.equal(e.message, `Parameter ${alt}:old not found.`);
    });

    it('tags: added through one spelling, listed and removed through the other', async () => {
      await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: bare(created), Tags: [{ Key: 'stripped', Value: 'a' }] }));
      await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: slashed(created), Tags: [{ Key: 'slashed', Value: 'b' }] }));
      for (const id of [bare(created), slashed(created)]) {
        const t = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: id }));
        assert.deepEqual(Object.fromEntries(t.TagList.map((x) => [x.Key, x.Value])), { stripped: 'a', slashed: 'b' }, `tags listed via ${id}`);
      }
      await ssm.send(new RemoveTagsFromResourceCommand({ ResourceType: 'Parameter', ResourceId: slashed(created), TagKeys: ['stripped'] }));
      const t = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: bare(created) }));
      assert.deepEqual(t.TagList, [{ Key: 'slashed', Value: 'b' }]);
      assert.equal((await get(created)).Parameter.Version, 2, 'tags make no version');
    });

    it('delete through the other spelling removes it; delete-parameters through it too', async () => {
      await ssm.send(new DeleteParameterCommand({ Name: alt }));
      for (const n of [created, alt]) await sdkRejects(() => get(n), 'ParameterNotFound', `get ${n} after delete`);
      const g = await ssm.send(new GetParametersCommand({ Names: [created] }));
      assert.deepEqual(g.Parameters, []);
      // recreate under the original spelling: version 1 again, then delete-parameters with the other
      assert.equal((await put({ Name: created, Value: 'again', Type: 'String' })).Version, 1);
      const d = await ssm.send(new DeleteParametersCommand({ Names: [alt] }));
      assert.equal(d.DeletedParameters.length, 1, JSON.stringify(d));
      assert.deepEqual(d.InvalidParameters, []);
      const g2 = await ssm.send(new GetParametersCommand({ Names: [created, alt] }));
      assert.deepEqual(g2.Parameters, []);
      await sdkRejects(() => ssm.send(new DeleteParameterCommand({ Name: created })), 'ParameterNotFound');
    });
  });
}

describe('root names in listings', () => {
  before(async () => {
    await put({ Name: '/lst/name1', Value: 'value1', Type: 'String' });
    await put({ Name: '/lst/name2', Value: 'value2', Type: 'String' });
    await put({ Name: '/lstb/name3', Value: 'value3', Type: 'String' });
    await put({ Name: '/lstb/name3/name4', Value: 'value4', Type: 'String' });
    await put({ Name: 'lstfoo', Value: 'bar', Type: 'String' });
    await put({ Name: '/lstbaz', Value: 'qux', Type: 'String' });
  });

  async function byPath(Path, Recursive) {
    const out = [];
    for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 3 }, { Path, Recursive, MaxResults: 3 })) out.push(...page.Parameters);
    return out;
  }
  async function describeAll(ParameterFilters) {
    const out = [];
    for await (const page of paginateDescribeParameters({ client: ssm, pageSize: 3 }, { ParameterFilters, MaxResults: 3 })) out.push(...page.Parameters);
    return out;
  }
  // other cases of this file leave root names of their own: only this block's names count
  const mine = (ps) => ps.filter((p) => bare(p.Name).startsWith('lst'));
  const bareSet = (ps) => mine(ps).map((p) => bare(p.Name)).sort();

  it('GetParametersByPath Path=/ non-recursive lists the single-level names of both spellings, each once', async () => {
    const ps = mine(await byPath('/', false));
    assert.deepEqual(bareSet(ps), ['lstbaz', 'lstfoo']);
    assert.deepEqual(ps.map((p) => p.Value).sort(), ['bar', 'qux']);
    assert.deepEqual(ps.map((p) => p.ARN).sort(), [
      `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/lstbaz`,
      `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/lstfoo`,
    ]);
    for (const p of ps) assert.ok(p.LastModifiedDate instanceof Date, `${p.Name}: LastModifiedDate`);
  });

  it('GetParametersByPath Path=/ recursive lists everything, root names included', async () => {
    const ps = mine(await byPath('/', true));
    assert.deepEqual(bareSet(ps), ['lst/name1', 'lst/name2', 'lstb/name3', 'lstb/name3/name4', 'lstbaz', 'lstfoo']);
    assert.equal(new Set(ps.map((p) => p.Name)).size, ps.length, 'a name came back twice');
  });

  it('GetParametersByPath under a path: one level and recursive', async () => {
    assert.deepEqual(bareSet(await byPath('/lst', false)), ['lst/name1', 'lst/name2']);
    assert.deepEqual(bareSet(await byPath('/lstb', false)), ['lstb/name3']);
    assert.deepEqual(bareSet(await byPath('/lstb', true)), ['lstb/name3', 'lstb/name3/name4']);
    assert.deepEqual(bareSet(await byPath('/lstb/', true)), ['lstb/name3', 'lstb/name3/name4']);
  });

  it('DescribeParameters Name filter finds a root name by either spelling', async () => {
    for (const v of ['lstfoo', '/lstfoo']) {
      const ps = await describeAll([{ Key: 'Name', Values: [v] }]);
      assert.deepEqual(ps.map((p) => p.Name), ['lstfoo'], `Name=${v}`);
    }
    for (const v of ['lstbaz', '/lstbaz']) {
      const ps = await describeAll([{ Key: 'Name', Option: 'Equals', Values: [v] }]);
      assert.deepEqual(ps.map((p) => p.Name), ['/lstbaz'], `Name=${v}`);
    }
    // BeginsWith compares the slashed forms: "lst" and "/lst" find the same six
    for (const v of ['lst', '/lst']) {
      const ps = await describeAll([{ Key: 'Name', Option: 'BeginsWith', Values: [v] }]);
      assert.equal(mine(ps).length, 6, `BeginsWith ${v}: ${JSON.stringify(ps.map((p) => p.Name))}`);
    }
  });

  it('DescribeParameters Path filter: "/" one level holds the root names; "/fo"-style prefixes match no path', async () => {
    assert.deepEqual(bareSet(await describeAll([{ Key: 'Path', Values: ['/'] }])), ['lstbaz', 'lstfoo']);
    assert.deepEqual(bareSet(await describeAll([{ Key: 'Path', Option: 'OneLevel', Values: ['/'] }])), ['lstbaz', 'lstfoo']);
    assert.deepEqual(bareSet(await describeAll([{ Key: 'Path', Values: ['/', '/lst'] }])), ['lst/name1', 'lst/name2', 'lstbaz', 'lstfoo']);
    assert.deepEqual(await describeAll([{ Key: 'Path', Values: ['/ls'] }]), []);
    assert.deepEqual(await describeAll([{ Key: 'Path', Option: 'Recursive', Values: ['/ls'] }]), []);
    assert.equal(mine(await describeAll([{ Key: 'Path', Option: 'Recursive', Values: ['/'] }])).length, 6);
    assert.deepEqual(bareSet(await describeAll([{ Key: 'Path', Option: 'OneLevel', Values: ['/lstb/name3'] }])), ['lstb/name3/name4']);
  });
});

describe('root names outside SSM', () => {
  const { ok: cliOk } = cliRunner(BIN, () => ({ url: S.url, token: S.token }));

  it('the native API reaches "natfoo" created as "/natfoo" and "natbar" created as "natbar"', async () => {
    await put({ Name: '/natfoo', Value: 'slashed', Type: 'String' });
    await put({ Name: 'natbar', Value: 'bare', Type: 'String' });
    for (const [n, v] of [['natfoo', 'slashed'], ['natbar', 'bare']]) {
      const r = await api(S, 'GET', `/api/v1/params/${n}`);
      assert.equal(r.status, 200, `GET /api/v1/params/${n}: ${r.status} ${r.text}`);
      assert.equal(r.json.value, v);
      assert.equal(r.json.version, 1);
    }
    // a native write to the one name is a new version of the SSM parameter
    const w = await api(S, 'PUT', '/api/v1/params/natbar', { value: 'bare2', overwrite: true });
    assert.ok([200, 201].includes(w.status), `${w.status} ${w.text}`);
    for (const n of ['natbar', '/natbar']) {
      const p = (await get(n)).Parameter;
      assert.deepEqual([p.Value, p.Version], ['bare2', 2], n);
    }
    // the recursive native listing of / holds each once
    const l = await api(S, 'GET', '/api/v1/params?path=/&recursive=true&limit=1000');
    assert.equal(l.status, 200, l.text);
    const names = l.json.params.map((p) => bare(p.name)).filter((n) => n.startsWith('nat'));
    assert.deepEqual(names.sort(), ['natbar', 'natfoo']);
  });

  it('the CLI gets "natfoo" and "/natfoo" alike', async () => {
    for (const n of ['natfoo', '/natfoo']) {
      const r = await cliOk(['param', 'get', n]);
      assert.equal(r.stdout, 'slashed\n', `switchyard param get ${n}`);
    }
    for (const n of ['natbar', '/natbar']) {
      const r = await cliOk(['param', 'get', n]);
      assert.equal(r.stdout, 'bare2\n', `switchyard param get ${n}`);
    }
  });

  it('the config export holds a root name once', async () => {
    await put({ Name: 'expname', Value: 'e1', Type: 'String' });
    await sdkRejects(() => put({ Name: '/expname', Value: 'e2', Type: 'String' }), 'ParameterAlreadyExists');
    const r = await api(S, 'GET', '/api/v1/config/runtime');
    assert.equal(r.status, 200, r.text);
    const hits = r.json.params.filter((p) => bare(p.name) === 'expname');
    assert.equal(hits.length, 1, `export: ${JSON.stringify(hits)}`);
    assert.equal(hits[0].value, 'e1');
    const seen = r.json.params.map((p) => bare(p.name));
    assert.equal(new Set(seen).size, seen.length, 'the export holds some root name under both spellings');
  });
});

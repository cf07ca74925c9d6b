// cli_rollout.test.js — black-box tests of `switchyard rollout plan ...` and `switchyard rollout
// PLAN --rollback [--gradual]` (docs/ROLLOUTS.md, "CLI"): the real CLI against a live server.
// The first group needs no server: help, misuse and bad plans are refused before any request
// (the CLI points at a port nothing listens on, so a request would exit 1, not 2). The second
// starts a server and drives plans on flag targets through the /api/v1/rollouts API.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, api, cliRunner, waitFor } = require('./helpers');

const BIN = process.env.SWITCHYARD_BIN || path.resolve(__dirname, '../../build/switchyard');
const PLANS = path.join(__dirname, 'data', 'rollout_plans');
const plan = (file) => path.join(PLANS, file);

// The "label: value" lines of a human-readable answer, as an object.
function fields(stdout) {
  const out = {};
  for (const line of stdout.split('\n')) {
    const m = /^([a-z_ ]+):\s+(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

describe('rollout plans without a server: help, misuse, bad plans', () => {
  // nothing listens on port 1: any request would fail with exit 1 and "cannot reach"
  const { fails, ok } = cliRunner(BIN, () => ({ url: 'http://127.0.0.1:1', token: 'sytest-none' }));

  test('--help on rollout plan and each subcommand prints its usage to stdout and exits 0', async () => {
    const cases = [
      ['rollout', 'plan', '--help'], ['rollout', 'plan', 'help'], ['rollout', 'plan', '-h'],
      ['rollout', 'plan', 'create', '--help'], ['rollout', 'plan', 'ls', '--help'],
      ['rollout', 'plan', 'status', '--help'], ['rollout', 'plan', 'promote', '--help'],
      ['rollout', 'plan', 'pause', '--help'], ['rollout', 'plan', 'resume', '--help'],
      ['rollout', 'plan', 'abort', '--help'], ['rollout', 'plan', 'start', '--help'],
      ['rollout', 'plan', 'delete', '--help'], ['rollout', 'p', '--rollback', '--help'],
      ['rollout', '--rollback', '--help'], ['rollout', '--json', 'plan', 'ls', '--help'],
    ];
    for (const args of cases) {
      const r = await ok(args);
      assert.match(r.stdout, /^usage: switchyard rollout/, args.join(' '));
      assert.equal(r.stderr, '', args.join(' '));
    }
    const group = (await ok(['rollout', 'plan', '--help'])).stdout;
    for (const sub of ['create', 'ls', 'status', 'promote', 'pause', 'resume', 'abort', 'start', 'delete']) {
      assert.match(group, new RegExp(`^ {2}${sub} `, 'm'), sub);
    }
    assert.match(group, /--rollback \[--gradual\]/);
    // the examples mirror runbooks 001 (10/25/50/100, 1h/1h/2h/4h), 002 (10/50/100, 3d/7d) and the gradual rollback
    const create = (await ok(['rollout', 'plan', 'create', '--help'])).stdout;
    assert.match(create, /runbook 001/);
    assert.match(create, /"percent": 25, "bake": "1h"/);
    assert.match(create, /"percent": 50, "bake": "2h"/);
    assert.match(create, /"percent": 100, "bake": "4h"/);
    assert.match(create, /runbook 002/);
    assert.match(create, /"bake": "3d"/);
    assert.match(create, /"bake": "7d"/);
    assert.match(create, /--file PLAN\.json/);
    const rollback = (await ok(['rollout', 'x', '--rollback', '--help'])).stdout;
    assert.match(rollback, /100 -> 50 -> 10 -> 0/);
    assert.match(rollback, /--gradual/);
    const status = (await ok(['rollout', 'plan', 'status', '--help'])).stdout;
    assert.match(status, /2\/4 at 25%, next 50%/);
    assert.match(status, /2d 3h 5m left of 3d/);
    // the flag form's help and the top-level help point at the plans
    assert.match((await ok(['rollout', '--help'])).stdout, /switchyard rollout plan --help/);
    assert.match((await ok(['rollout', '--help'])).stdout, /idempotent/);
    assert.match((await ok(['--help'])).stdout, /rollout plan create/);
  });

  test('misuse exits 2 with a precise message and the usage on stderr, before any request', async () => {
    const long = 'p'.repeat(65);
    const cases = [
      [['rollout', 'plan'], /rollout plan: missing subcommand/],
      [['rollout', 'plan', 'frob'], /rollout plan: unknown subcommand 'frob'/],
      [['rollout', 'plan', 'status'], /status: missing argument/],
      [['rollout', 'plan', 'status', 'a', 'b'], /status: unexpected argument 'b'/],
      [['rollout', 'plan', 'status', 'bad/name'], /status: a plan name is 1 to 64 characters of A-Za-z0-9_.-, not 'bad\/name'/],
      [['rollout', 'plan', 'promote', long], /promote: a plan name is 1 to 64 characters/],
      [['rollout', 'plan', 'delete', 'a b'], /delete: a plan name is 1 to 64 characters/],
      [['rollout', 'plan', 'ls', 'x'], /ls: unexpected argument 'x'/],
      [['rollout', 'plan', 'pause', 'p', '--gradual'], /pause: unknown option '--gradual'/],
      [['rollout', 'plan', 'pause', 'p', '--reason'], /pause: option --reason needs a value/],
      [['rollout', 'plan', 'create', 'p'], /create: the plan is missing: give --file PLAN\.json or --plan JSON/],
      [['rollout', 'plan', 'create', 'p', '--plan', '{}', '--file', plan('runbook001.json')], /create: give the plan once/],
      [['rollout', 'plan', 'create', 'p', '--plan', '{"steps": ['], /create: --plan is not valid JSON: .* \(line 1, column \d+\)/],
      [['rollout', 'plan', 'create', 'p', '--plan', '{\n  "target": {"flag": "a"},\n  "steps": [}\n}'],
        /create: --plan is not valid JSON: .* \(line 3, column 13\)/],
      [['rollout', 'plan', 'create', 'p', '--plan', '{"a": 1, "a": 2}'], /create: --plan is not valid JSON: duplicate object key/],
      [['rollout', 'plan', 'create', 'p', '--plan', '[{"percent": 10}]'], /create: the plan in --plan must be a JSON object/],
      [['rollout', 'plan', 'create', 'p', '--file', plan('bad_syntax.json')],
        /create: --file .*bad_syntax\.json is not valid JSON: .* \(line 5, column 26\)/],
      [['rollout', 'plan', 'create', 'bad/name', '--file', plan('runbook001.json')], /create: a plan name is 1 to 64/],
      [['rollout', 'p', '--rollback', '--percentage', '5'], /rollout: --rollback rolls a plan back; it takes no --percentage, --enable, --disable, --status or --parameter-name/],
      [['rollout', 'p', '--percentage', '5', '--rollback'], /--rollback rolls a plan back/],
      [['rollout', 'p', '--rollback', '--enable'], /--rollback rolls a plan back/],
      [['rollout', 'p', '--disable', '--rollback', '--gradual'], /--rollback rolls a plan back/],
      [['rollout', 'p', '--rollback', '--status'], /--rollback rolls a plan back/],
      [['rollout', '--rollback', '--parameter-name', '/a/b'], /--rollback rolls a plan back/],
      [['rollout', '--rollback'], /rollout: --rollback needs the plan: switchyard rollout PLAN --rollback/],
      [['rollout', 'p', 'q', '--rollback'], /rollout: unexpected argument 'q'/],
      [['rollout', 'p', '--gradual'], /rollout: --gradual goes with --rollback/],
      [['rollout', 'p', '--rollback', '--reason'], /option --reason needs a value/],
      [['rollout', 'p', '--rollback=yes'], /option --rollback takes no value/],
      [['rollout', 'bad/plan', '--rollback'], /rollback: a plan name is 1 to 64 characters/],
    ];
    for (const [args, re] of cases) {
      const r = await fails(2, args);
      assert.match(r.stderr, re, args.join(' '));
      assert.match(r.stderr, /usage: switchyard rollout/, args.join(' '));
      assert.doesNotMatch(r.stderr, /cannot reach/, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
  });

  test('the flag forms of rollout are unchanged: FLAG --percentage and friends, "-- plan" is a flag', async () => {
    let r = await fails(2, ['rollout', 'cli/m', '--percentage', 'abc']);
    assert.match(r.stderr, /rollout: --percentage must be a number from 0 to 100 with at most two decimals, not 'abc'/);
    r = await fails(2, ['rollout', 'cli/m']);
    assert.match(r.stderr, /rollout: nothing to do: give --percentage N, --enable, --disable or --status/);
    r = await fails(2, ['rollout', '--', 'plan']);
    assert.match(r.stderr, /rollout: nothing to do/);
    r = await fails(2, ['rollout', 'planned']);
    assert.match(r.stderr, /rollout: nothing to do/);
    r = await fails(2, ['rollout', '--reason', 'plan', 'x']);
    assert.match(r.stderr, /rollout: nothing to do/); // "plan" here is --reason's value, not an operand
    r = await fails(2, ['rollout', 'cli/m', '--enable', '--disable']);
    assert.match(r.stderr, /--enable and --disable exclude each other/);
    // a well-formed flag command goes to the server (here: none)
    r = await fails(1, ['rollout', 'cli/m', '--percentage', '10']);
    assert.match(r.stderr, /cannot reach/);
  });

  test('a plan file that cannot be read exits 1 with the reason, before any request', async () => {
    const r = await fails(1, ['rollout', 'plan', 'create', 'p', '--file', path.join(PLANS, 'no-such-plan.json')]);
    assert.match(r.stderr, /cannot open .*no-such-plan\.json: No such file or directory/);
    assert.doesNotMatch(r.stderr, /cannot reach/);
  });
});

// ---- against a live server: needs the /api/v1/rollouts API of docs/ROLLOUTS.md --------------

describe('rollout plans against a live server', () => {
  let server;
  let tmp;
  const { run, ok, fails } = cliRunner(BIN, () => ({ url: server.url, token: server.token }));

  before(async () => {
    server = await startServer();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-cli-rollout-'));
  });

  after(async () => {
    if (server) await server.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  // A copy of a plan file of tests/api/data/rollout_plans aimed at the flag key; its path.
  function planFor(file, key) {
    const p = JSON.parse(fs.readFileSync(plan(file), 'utf8'));
    p.target = { flag: key };
    const out = path.join(tmp, `${key.replace(/\//g, '_')}-${file}`);
    fs.writeFileSync(out, JSON.stringify(p, null, 2));
    return out;
  }

  async function newFlag(key) {
    await ok(['flag', 'create', key]);
  }

  async function statusJSON(name) {
    return JSON.parse((await ok(['rollout', 'plan', 'status', name, '--json'])).stdout);
  }

  async function percentOf(key) {
    return JSON.parse((await ok(['flag', 'get', key, '--json'])).stdout).rollout_percentage;
  }

  test('create, status, ls, pause, resume, promote, rollback and start a plan on a flag (runbook 001)', async () => {
    const key = 'cli-rollout/ramp001';
    await newFlag(key);
    const file = planFor('runbook001.json', key);

    let r = await ok(['rollout', 'plan', 'create', 'ramp-001', '--file', file]);
    assert.match(r.stdout, /^created rollout plan ramp-001/);
    assert.match(r.stdout, /^target:\s+flag \/?cli-rollout\/ramp001$/m);

    // it starts at once: step 1 of 4 at 10 %, the flag's percentage set
    await waitFor(async () => (await statusJSON('ramp-001')).phase === 'running', 5000, 'the plan to run');
    r = await ok(['rollout', 'plan', 'status', 'ramp-001']);
    let f = fields(r.stdout);
    assert.equal(f.name, 'ramp-001');
    assert.match(f.target, /^flag \/?cli-rollout\/ramp001$/);
    assert.equal(f.phase, 'running');
    assert.equal(f.step, '1/4 at 10%, next 25%');
    assert.match(f.bake, /^(1h|\d+m( \d+s)?|\d+s) left of 1h$/);
    assert.match(r.stdout, /^gates:$/m);
    // no pushed metrics: a rate or percentile gate waits for its samples
    assert.match(r.stdout, /^ {2}wait +error_rate.* value .* bound 5\b/m);
    assert.match(r.stdout, /^ {2}wait +p95_ms.* bound 5000\b/m);
    assert.ok('breach' in f && 'reason' in f, r.stdout);
    assert.equal(await percentOf(key), 10);

    const st = await statusJSON('ramp-001');
    assert.equal(st.name, 'ramp-001');
    assert.equal(st.step, 0);
    assert.equal(st.steps, 4);
    assert.equal(st.percent, 10);
    assert.equal(st.next_percent, 25);
    assert.equal(st.bake_ms, 3600000);
    assert.ok(Array.isArray(st.gates) && st.gates.length === 2, JSON.stringify(st));

    // ls: a table with the plan's row
    r = await ok(['rollout', 'plan', 'ls']);
    const [head, ...rows] = r.stdout.trimEnd().split('\n');
    assert.match(head, /^NAME +TARGET +PHASE +STEP +PERCENT +NEXT +BAKE LEFT +REASON$/);
    const row = rows.find((l) => l.startsWith('ramp-001 '));
    assert.ok(row, r.stdout);
    assert.match(row, /^ramp-001 +flag \/?cli-rollout\/ramp001 +running +1\/4 +10% +25% +/);
    const ls = JSON.parse((await ok(['rollout', 'plan', 'ls', '--json'])).stdout);
    assert.ok(ls.rollouts.some((p) => p.name === 'ramp-001'), JSON.stringify(ls));

    // pause stops the clock; resume starts it again
    r = await ok(['rollout', 'plan', 'pause', 'ramp-001', '--reason', 'cost review']);
    assert.match(r.stdout, /^paused ramp-001: paused, step 1\/4 at 10%, next 25%$/m);
    f = fields((await ok(['rollout', 'plan', 'status', 'ramp-001'])).stdout);
    assert.equal(f.phase, 'paused');
    assert.match(f.bake, /left of 1h \(paused: the clock is stopped\)$/);
    r = await ok(['rollout', 'plan', 'resume', 'ramp-001']);
    assert.match(r.stdout, /^resumed ramp-001: running, step 1\/4 at 10%, next 25%$/m);

    // promote: to 25 % now
    r = await ok(['rollout', 'plan', 'promote', 'ramp-001', '--reason', 'approved by oncall']);
    assert.match(r.stdout, /^promoted ramp-001: running, step 2\/4 at 25%, next 50%$/m);
    assert.equal(fields((await ok(['rollout', 'plan', 'status', 'ramp-001'])).stdout).step, '2/4 at 25%, next 50%');
    assert.equal(await percentOf(key), 25);

    // rollback: the flag to 0 at once
    r = await ok(['rollout', 'ramp-001', '--rollback', '--reason', 'error rate 7%']);
    assert.match(r.stdout, /^rolled back ramp-001: rolled_back, step \d\/4 at 0%/m);
    const rb = await statusJSON('ramp-001');
    assert.equal(rb.phase, 'rolled_back');
    assert.equal(rb.percent, 0);
    f = fields((await ok(['rollout', 'plan', 'status', 'ramp-001'])).stdout);
    assert.equal(f.phase, 'rolled_back');
    assert.match(f.step, / at 0%/);
    assert.equal(await percentOf(key), 0);

    // start: again from the first step
    r = await ok(['rollout', 'plan', 'start', 'ramp-001']);
    assert.match(r.stdout, /^started ramp-001: running, step 1\/4 at 10%, next 25%$/m);
    assert.equal(await percentOf(key), 10);

    // abort, then delete
    r = await ok(['rollout', 'plan', 'abort', 'ramp-001']);
    assert.match(r.stdout, /^aborted ramp-001: aborted, /m);
    assert.equal(await percentOf(key), 0);
    r = await ok(['rollout', 'plan', 'delete', 'ramp-001']);
    assert.equal(r.stdout, 'deleted rollout plan ramp-001\n');
    r = await fails(1, ['rollout', 'plan', 'status', 'ramp-001']);
    assert.match(r.stderr, /RolloutNotFound/);
  });

  test('--rollback --gradual from 100 % of a 10/50/100 plan steps down (runbook 002)', async () => {
    const key = 'cli-rollout/ramp002';
    await newFlag(key);
    await ok(['rollout', 'plan', 'create', 'ramp-002', '--file', planFor('runbook002.json', key)]);
    await waitFor(async () => (await statusJSON('ramp-002')).phase === 'running', 5000, 'the plan to run');
    let f = fields((await ok(['rollout', 'plan', 'status', 'ramp-002'])).stdout);
    assert.equal(f.step, '1/3 at 10%, next 50%');
    assert.match(f.bake, /left of 3d$/);
    assert.match((await ok(['rollout', 'plan', 'promote', 'ramp-002'])).stdout, /step 2\/3 at 50%, next 100%/);
    f = fields((await ok(['rollout', 'plan', 'status', 'ramp-002'])).stdout);
    assert.match(f.bake, /left of 7d$/);
    assert.match((await ok(['rollout', 'plan', 'promote', 'ramp-002'])).stdout, /step 3\/3 at 100%, the last step/);
    assert.equal(await percentOf(key), 100);

    const r = await ok(['rollout', 'ramp-002', '--rollback', '--gradual', '--reason', 'p95 > 5 s']);
    assert.match(r.stdout, /^rolling back ramp-002: rolling_back, /m);
    assert.match(r.stdout, /^rollback:\s+gradual, next steps .*0%/m);

    const st = await statusJSON('ramp-002');
    assert.equal(st.phase, 'rolling_back');
    const plan2 = st.rollback || st.state.rollback;
    assert.equal(plan2.gradual, true);
    // the steps left: a tail of 50, 10, 0, each below the percent the flag has now
    const all = [50, 10, 0];
    assert.deepEqual(plan2.steps, all.slice(all.length - plan2.steps.length), JSON.stringify(plan2));
    assert.ok(plan2.steps.length >= 2 && plan2.steps[0] < st.percent, JSON.stringify(st));
    assert.equal(await percentOf(key), st.percent);
    f = fields((await ok(['rollout', 'plan', 'status', 'ramp-002'])).stdout);
    assert.equal(f.phase, 'rolling_back');
    assert.equal(f.rollback.startsWith(`gradual, next steps ${plan2.steps.map((p) => `${p}%`).join(' -> ')}`), true, f.rollback);
    await ok(['rollout', 'plan', 'abort', 'ramp-002']);
  });

  test('errors: an unknown plan, a bad plan, a second plan on a target, a transition that does not apply', async () => {
    for (const args of [
      ['rollout', 'plan', 'status', 'nope-plan'],
      ['rollout', 'plan', 'promote', 'nope-plan'],
      ['rollout', 'plan', 'pause', 'nope-plan', '--json'],
      ['rollout', 'plan', 'delete', 'nope-plan'],
      ['rollout', 'nope-plan', '--rollback'],
      ['rollout', 'nope-plan', '--rollback', '--gradual'],
    ]) {
      const r = await fails(1, args);
      assert.match(r.stderr, /^switchyard: RolloutNotFound: .*nope-plan/m, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }

    const key = 'cli-rollout/errors';
    await newFlag(key);
    let r = await fails(1, ['rollout', 'plan', 'create', 'bad-order', '--file', planFor('not_rising.json', key)]);
    assert.match(r.stderr, /^switchyard: ValidationException: .*steps\[1\]\.percent/m);
    r = await fails(1, ['rollout', 'plan', 'create', 'bad-metric', '--file', planFor('unknown_metric.json', key)]);
    assert.match(r.stderr, /^switchyard: ValidationException: .*gates\[0\]\.metric.*latency/m);
    r = await fails(1, ['rollout', 'plan', 'create', 'bad-target', '--plan', '{"steps": [{"percent": 10}]}']);
    assert.match(r.stderr, /^switchyard: ValidationException: .*target/m);
    assert.equal((await api(server, 'GET', '/api/v1/rollouts/bad-order')).status, 404);

    await ok(['rollout', 'plan', 'create', 'first', '--file', planFor('runbook001.json', key)]);
    r = await fails(1, ['rollout', 'plan', 'create', 'second', '--file', planFor('runbook001.json', key)]);
    assert.match(r.stderr, /^switchyard: TargetInUse: /m);
    r = await fails(1, ['rollout', 'plan', 'create', 'first', '--file', planFor('runbook001.json', 'cli-rollout/other')]);
    assert.match(r.stderr, /^switchyard: \w+: /m); // the name is taken
    await waitFor(async () => (await statusJSON('first')).phase === 'running', 5000, 'the plan to run');
    r = await fails(1, ['rollout', 'plan', 'resume', 'first']);
    assert.match(r.stderr, /^switchyard: Conflict: /m);
    r = await fails(1, ['rollout', 'plan', 'delete', 'first']);
    assert.match(r.stderr, /^switchyard: Conflict: /m);
    await ok(['rollout', 'plan', 'abort', 'first']);
    await ok(['rollout', 'plan', 'delete', 'first']);
  });

  test('--json prints the server\'s answer: create, ls, status, each transition, rollback', async () => {
    const key = 'cli-rollout/json';
    await newFlag(key);
    const file = planFor('runbook001.json', key);
    const created = JSON.parse((await ok(['rollout', 'plan', 'create', 'json-plan', '--file', file, '--json'])).stdout);
    assert.equal(created.name, 'json-plan');
    assert.equal(created.target.flag.replace(/^\//, ''), key);
    await waitFor(async () => (await statusJSON('json-plan')).phase === 'running', 5000, 'the plan to run');
    const ls = JSON.parse((await ok(['--json', 'rollout', 'plan', 'ls'])).stdout);
    assert.ok(Array.isArray(ls.rollouts));
    const st = JSON.parse((await ok(['rollout', '--json', 'plan', 'status', 'json-plan'])).stdout);
    assert.equal(st.phase, 'running');
    for (const [cmd, phase] of [['pause', 'paused'], ['resume', 'running'], ['promote', 'running']]) {
      const r = await ok(['rollout', 'plan', cmd, 'json-plan', '--json', '--reason', `json ${cmd}`]);
      const j = JSON.parse(r.stdout);
      assert.equal(j.phase, phase, `${cmd}: ${r.stdout}`);
    }
    const rb = JSON.parse((await ok(['rollout', 'json-plan', '--rollback', '--json'])).stdout);
    assert.equal(rb.phase, 'rolled_back');
    assert.equal(rb.percent, 0);
    const del = await ok(['rollout', 'plan', 'delete', 'json-plan', '--json']);
    JSON.parse(del.stdout);
    // an error under --json is still the message on stderr and exit 1
    const r = await run(['rollout', 'plan', 'status', 'json-plan', '--json']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /RolloutNotFound/);
  });

  test('the flag form of rollout still sets a flag that no plan drives', async () => {
    const key = 'cli-rollout/manual';
    await newFlag(key);
    let r = await ok(['rollout', key, '--percentage', '30', '--reason', 'by hand']);
    assert.equal(r.stdout, 'rollout_percentage: 0 -> 30 (version 2)\n');
    r = await ok(['rollout', key, '--status']);
    assert.match(r.stdout, /^rollout_percentage:\s+30$/m);
    r = await ok(['rollout', '--disable', '--', key]);
    assert.match(r.stdout, /^enabled: true -> false/m);
  });
});

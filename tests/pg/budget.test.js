// budget.test.js — spending limits shared by two nodes of one PostgreSQL store: many requests
// at once, spread over both nodes, against one hard limit; together they never spend past it,
// both nodes' governance views agree, and the requests past it are refused.
// Needs SY_TEST_STORE_PG (a base URL such as postgres://switchyard@127.0.0.1:PORT/postgres); each
// run makes a database of its own there. Skipped without it. With SY_TEST_BUDGET_PG_DIR too (the
// scripts/pg.sh directory of that cluster), it also stops and starts the cluster to see the
// budgets fail closed and come back: opt-in, as it disturbs whatever else uses the cluster.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const H = require('../gateway/helpers');

const BASE = process.env.SY_TEST_STORE_PG;
const PG_DIR = process.env.SY_TEST_BUDGET_PG_DIR;
const PG_SH = path.join(__dirname, '..', '..', 'scripts', 'pg.sh');
const ROUTE = '/gw/pg/budget';
const LIMIT = `/switchyard/limits/per_route${ROUTE}`;

/* A database of its own for this run, on BASE's server; returns its URL. */
function createDatabase() {
  const name = `sy_budget_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', BASE, '-c', `CREATE DATABASE "${name}"`], { stdio: 'pipe' });
  const u = new URL(BASE);
  u.pathname = `/${name}`;
  return { name, url: u.toString() };
}

function dropDatabase(name) {
  try {
    execFileSync('psql', ['-X', '-q', '-d', BASE, '-c', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`], { stdio: 'pipe' });
  } catch { /* the cluster is thrown away anyway */ }
}

/* A data directory holding the master key every node of the store shares. */
function dataDir(key) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-pg-budget-'));
  fs.writeFileSync(path.join(d, 'master.key'), `${key}\n`, { mode: 0o600 });
  return d;
}

const status = async (S) => (await H.api(S, 'GET', '/api/v1/governance/status')).json;
const named = (st, name) => (st && st.limits ? st.limits.find((l) => l.name === name) : undefined);

/* LIMIT as node S sees it once nothing is held: a node reads its own settlements at once,
 * another node's once that node's ledger thread has written them (milliseconds). */
async function settledLimit(S) {
  const end = Date.now() + 5000;
  for (;;) {
    const l = named(await status(S), LIMIT);
    if (l.reserved_usd === 0 || Date.now() > end) return l;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/* Waits until node S sees limit name (a commit on another node reaches it within ~1 s). */
async function seen(S, name, hard) {
  const end = Date.now() + 15000;
  for (;;) {
    const l = named(await status(S), name);
    if (l && l.hard_limit_usd === hard) return l;
    if (Date.now() > end) throw new Error(`${S.url} never saw ${name} at ${hard}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('budgets shared through PostgreSQL', { skip: BASE ? false : 'SY_TEST_STORE_PG is not set' }, () => {
  let db;
  let A;
  let B;
  let sim;

  before(async () => {
    db = createDatabase();
    const key = crypto.randomBytes(32).toString('hex');
    const token = `admin-${crypto.randomBytes(12).toString('hex')}`;
    const opts = { token, args: ['--store', db.url], env: { SWITCHYARD_STORE: null, SWITCHYARD_TEST_CLOCK: '1' } };
    A = await H.startServer({ ...opts, dataDir: dataDir(key) });
    B = await H.startServer({ ...opts, dataDir: dataDir(key) });
    sim = await H.startSim();
    // every answer costs exactly 100 output tokens at $1 per 1k: $0.10, and max_tokens 100 makes
    // the worst case reserved the same, so exactly 10 fit under $1.00
    await H.putProvider(A, 'paid', H.openaiDoc(sim, { prices: { input_per_1k: 0, output_per_1k: 1.0 }, max_output_tokens: 1000 }));
    await H.putRoute(A, ROUTE, { provider: 'paid' });
    const r = await H.api(A, 'POST', '/api/v1/governance/limits', { limit_type: 'per_route', scope: ROUTE, soft_limit_usd: 0.5, hard_limit_usd: 1.0 });
    assert.equal(r.status, 200, r.text);
    await seen(A, LIMIT, 1.0);
    await seen(B, LIMIT, 1.0);
  });

  after(async () => {
    if (sim) await sim.close();
    for (const S of [A, B]) if (S) await S.cleanup();
    if (db) dropDatabase(db.name);
  });

  it('60 requests at once over two nodes at a hard limit that 10 reach: spend never passes it', async () => {
    sim.reset();
    sim.set({ latency_ms: 400, usage: { prompt_tokens: 10, completion_tokens: 100 } });
    const body = H.chatBody('spend', { max_tokens: 100 });
    const headers = { 'X-Switchyard-Route': ROUTE };
    // while they run, neither node ever shows more spent and held than the limit
    let watching = true;
    let most = 0;
    const watch = (async () => {
      while (watching) {
        for (const S of [A, B]) {
          const l = named(await status(S), LIMIT);
          if (l) most = Math.max(most, l.consumed_usd + l.reserved_usd);
        }
      }
    })();
    const all = await Promise.all(Array.from({ length: 60 }, (_, i) => H.gw(i % 2 ? B : A, '/v1/chat/completions', body, { headers })));
    watching = false;
    await watch;
    const ok = all.filter((r) => r.status === 200);
    const refused = all.filter((r) => r.status === 503);
    assert.equal(ok.length, 10, `exactly the 10 that fit were served: ${ok.length}`);
    assert.equal(refused.length, 50);
    assert.match(refused[0].json.error.message, /circuit breaker open: daily budget limit reached/);
    assert.equal(sim.stats().by_format.openai, 10, 'the refused ones never reached the provider');
    // which node wins the 10 places is a race (one may take all ten): that the other then refuses
    // every call is the sharing; both nodes' totals below say the same
    assert.ok(most <= 1.0 + 1e-9, `spent and held at most ${most} <= 1.0`);
    for (const S of [A, B]) {
      const l = await settledLimit(S);
      assert.ok(Math.abs(l.consumed_usd - 1.0) < 1e-9, `${S.url} spent ${l.consumed_usd}`);
      assert.equal(l.reserved_usd, 0);
      assert.equal(l.request_count, 10);
      assert.equal(l.state, 'hard_limit_reached');
      assert.equal(l.remaining_usd, 0);
    }
  });

  it('past the limit every node refuses; raising it on one node lets both spend again', async () => {
    sim.reset();
    sim.set({ usage: { prompt_tokens: 10, completion_tokens: 100 } });
    const body = H.chatBody('more', { max_tokens: 100 });
    const headers = { 'X-Switchyard-Route': ROUTE };
    for (const S of [A, B]) assert.equal((await H.gw(S, '/v1/chat/completions', body, { headers })).status, 503);
    const r = await H.api(B, 'POST', '/api/v1/governance/limits', { limit_type: 'per_route', scope: ROUTE, soft_limit_usd: 0.5, hard_limit_usd: 1.2 });
    assert.equal(r.status, 200, r.text);
    await seen(A, LIMIT, 1.2);
    await seen(B, LIMIT, 1.2);
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => H.gw(i % 2 ? B : A, '/v1/chat/completions', body, { headers })));
    assert.equal(all.filter((x) => x.status === 200).length, 2, 'the $0.20 raised buys two');
    for (const S of [A, B]) {
      const l = await settledLimit(S);
      assert.ok(Math.abs(l.consumed_usd - 1.2) < 1e-9, `${S.url} spent ${l.consumed_usd}`);
      assert.equal(l.request_count, 12);
    }
  });

  it('PostgreSQL away: calls under a limit are refused, a call in flight is charged when it is back', { skip: PG_DIR ? false : 'SY_TEST_BUDGET_PG_DIR is not set' }, async () => {
    const headers = { 'X-Switchyard-Route': ROUTE };
    const body = H.chatBody('outage', { max_tokens: 100 });
    sim.reset();
    sim.set({ latency_ms: 1500, usage: { prompt_tokens: 10, completion_tokens: 50 } }); // $0.05 each
    const r = await H.api(A, 'POST', '/api/v1/governance/limits', { limit_type: 'per_route', scope: ROUTE, soft_limit_usd: 0.5, hard_limit_usd: 2.0 });
    assert.equal(r.status, 200, r.text);
    await seen(A, LIMIT, 2.0);
    await seen(B, LIMIT, 2.0);
    const inFlight = H.gw(A, '/v1/chat/completions', body, { headers });
    await new Promise((res) => setTimeout(res, 500));
    execFileSync(PG_SH, ['stop', PG_DIR], { stdio: 'pipe' });
    try {
      assert.equal((await inFlight).status, 200, 'a call already reserved is answered');
      sim.set({ latency_ms: 0 });
      for (const S of [A, B]) {
        const x = await H.gw(S, '/v1/chat/completions', body, { headers });
        assert.equal(x.status, 503, 'no spending a ledger cannot check');
        assert.equal(x.json.error.code, 'budget_exceeded');
      }
      assert.equal(sim.stats().by_format.openai, 1);
    } finally {
      execFileSync(PG_SH, ['start', PG_DIR], { stdio: 'pipe' });
    }
    // each node reconnects by itself within a second or so; A then writes what it kept meanwhile
    for (const S of [B, A]) {
      const end = Date.now() + 15000;
      let ok = false;
      while (!ok && Date.now() < end) {
        ok = (await H.gw(S, '/v1/chat/completions', body, { headers })).status === 200;
        if (!ok) await new Promise((res) => setTimeout(res, 200));
      }
      assert.ok(ok, `${S.url} serves again once PostgreSQL is back`);
    }
    for (const S of [A, B]) {
      const l = await settledLimit(S);
      assert.ok(Math.abs(l.consumed_usd - 1.35) < 1e-9, `${S.url} spent ${l.consumed_usd}`); // 1.2 + 3 x 0.05
      assert.equal(l.reserved_usd, 0);
      assert.equal(l.request_count, 15);
    }
  });

  it('a node stopped and started again keeps the shared spend', async () => {
    const before = await settledLimit(A);
    await B.restart();
    const l = named(await status(B), LIMIT);
    assert.ok(Math.abs(l.consumed_usd - before.consumed_usd) < 1e-9, `spent ${l.consumed_usd}`);
    assert.equal(l.reserved_usd, 0);
    assert.equal(l.request_count, before.request_count);
  });

  it('a new UTC day on the nodes\' clocks starts every node from nothing', async () => {
    for (const S of [A, B]) assert.equal((await H.api(S, 'POST', '/api/v1/admin/clock', { advance_ms: 86400000 })).status, 200);
    for (const S of [A, B]) {
      const l = named(await status(S), LIMIT);
      assert.deepEqual([l.consumed_usd, l.reserved_usd, l.request_count, l.state], [0, 0, 0, 'ok']);
    }
    sim.reset();
    sim.set({ usage: { prompt_tokens: 10, completion_tokens: 100 } });
    const body = H.chatBody('tomorrow', { max_tokens: 100 });
    const all = await Promise.all(Array.from({ length: 4 }, (_, i) => H.gw(i % 2 ? B : A, '/v1/chat/completions', body, { headers: { 'X-Switchyard-Route': ROUTE } })));
    assert.deepEqual(all.map((r) => r.status), [200, 200, 200, 200]);
    const l = await settledLimit(A);
    assert.ok(Math.abs(l.consumed_usd - 0.4) < 1e-9, `spent ${l.consumed_usd}`);
    assert.equal(l.request_count, 4);
  });
});

// helpers.js — shared helpers of the rollout tests (docs/ROLLOUTS.md): a real server on the
// test clock (SWITCHYARD_TEST_CLOCK=1, moved by POST /api/v1/admin/clock), flags, routes and
// providers written through the native API, pushed metrics, the rollouts API, and waits on a
// plan's status that print the status JSON when they fail. Black-box only.
//
// Timing discipline: never a fixed sleep. The clock is advanced, then the status is polled
// (GET /api/v1/rollouts/NAME also evaluates "now", so one GET after an advance is already the
// answer; the controller evaluates every second of the server's clock besides). "Does not
// move" is asserted with GETs right after the advance, which evaluate at that instant.
'use strict';

const assert = require('node:assert/strict');
const GW = require('../gateway/helpers');

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

// "within one evaluation period" (1 s of the server's clock), with room for a loaded machine and
// the sanitizers' slowdown
const ONE_PERIOD_MS = Number(process.env.SY_ROLLOUT_ONE_PERIOD_MS || (process.env.SY_SANITIZED === '1' ? 6000 : 3000));

const STATE_PREFIX = '/switchyard/rollout-state/';
const PLAN_PREFIX = '/switchyard/rollouts/';

/* A server whose clock an admin moves forward. */
async function startRolloutServer(opts = {}) {
  return GW.startServer({ ...opts, env: { SWITCHYARD_TEST_CLOCK: '1', ...(opts.env || {}) } });
}

/* Moves the server's clock forward by ms; returns {now_ms, offset_ms}. */
async function advance(S, ms) {
  const r = await GW.api(S, 'POST', '/api/v1/admin/clock', { advance_ms: Math.round(ms) });
  assert.equal(r.status, 200, `POST /api/v1/admin/clock ${ms} → ${r.status} ${r.text}`);
  return r.json;
}

/* The server's now (ms since the epoch, on its clock). */
async function now(S) {
  const r = await GW.api(S, 'GET', '/api/v1/admin/clock');
  assert.equal(r.status, 200, `GET /api/v1/admin/clock → ${r.status} ${r.text}`);
  return r.json.now_ms;
}

const iso = (ms) => new Date(ms).toISOString();

/* ---- targets ---- */

async function createFlag(S, key, document = { enabled: true, rollout_percentage: 0 }) {
  const r = await GW.api(S, 'POST', '/api/v1/flags', { key, document });
  assert.equal(r.status, 201, `POST /api/v1/flags ${key} → ${r.status} ${r.text}`);
  return r.json;
}

/* The flag's document (parsed) and version. */
async function getFlag(S, key) {
  const r = await GW.api(S, 'GET', `/api/v1/flags/${key}`);
  assert.equal(r.status, 200, `GET /api/v1/flags/${key} → ${r.status} ${r.text}`);
  return r.json;
}

/* A parameter's value, parsed as JSON; null when it is absent. */
async function getDoc(S, name) {
  const r = await GW.api(S, 'GET', GW.pp(name));
  if (r.status === 404) return null;
  assert.equal(r.status, 200, `GET ${name} → ${r.status} ${r.text}`);
  return { version: r.json.version, value: JSON.parse(r.json.value), raw: r.json };
}

/* The percent of provider in the route's split (0 when no entry names it). */
async function routeShare(S, route, provider) {
  const d = await getDoc(S, route);
  assert.ok(d, `route ${route} is gone`);
  const e = (d.value.split || []).find((x) => x.provider === provider);
  return e ? e.percent : 0;
}

/* ---- pushed metrics ---- */

/* POST /api/v1/metrics with items; asserts 2xx unless expect is given; returns the reply. */
async function push(S, items, expect) {
  const r = await GW.api(S, 'POST', '/api/v1/metrics', { metrics: Array.isArray(items) ? items : [items] });
  if (expect === undefined) assert.ok(r.status >= 200 && r.status < 300, `POST /api/v1/metrics → ${r.status} ${r.text}`);
  else assert.equal(r.status, expect, `POST /api/v1/metrics → ${r.status} ${r.text}`);
  return r;
}

/* One pushed item: n requests of which errors failed, every successful one at latencyMs. */
function item(flag, variant, n, { errors = 0, latencyMs = 100, cost = 0, images } = {}) {
  const it = { flag, variant, requests: n, errors };
  const ok = Math.max(0, n - errors);
  if (ok > 0) it.latency_ms = Array.from({ length: Math.min(ok, 10000) }, (_, i) => latencyMs + (i % 7));
  if (cost) it.cost_usd = cost;
  if (images !== undefined) it.images = images;
  return it;
}

/* Healthy traffic for a flag's canary ("on") and its baseline ("off"). */
function healthy(S, flag, n = 200, extra = {}) {
  return push(S, [item(flag, 'on', n, extra), item(flag, 'off', n, extra)]);
}

/* ---- the rollouts API ---- */

const R = '/api/v1/rollouts';

function fmt(st) {
  return JSON.stringify(st, null, 1).slice(0, 6000);
}

async function createPlan(S, name, plan, expect = 201) {
  const r = await GW.api(S, 'POST', R, { name, plan });
  assert.equal(r.status, expect, `POST ${R} ${name} → ${r.status} ${r.text}\nplan: ${JSON.stringify(plan)}`);
  return r.json;
}

/* GET /api/v1/rollouts/NAME → STATUS (asserts 200). */
async function status(S, name) {
  const r = await GW.api(S, 'GET', `${R}/${name}`);
  assert.equal(r.status, 200, `GET ${R}/${name} → ${r.status} ${r.text}`);
  return r.json;
}

/* POST /api/v1/rollouts/NAME/CMD; asserts the status (default 200) and returns the reply. */
async function command(S, name, cmd, body = {}, expect = 200) {
  const r = await GW.api(S, 'POST', `${R}/${name}/${cmd}`, body);
  const ok = Array.isArray(expect) ? expect.includes(r.status) : r.status === expect;
  assert.ok(ok, `POST ${R}/${name}/${cmd} ${JSON.stringify(body)} → ${r.status} (wanted ${expect}) ${r.text}`);
  return r;
}

/* Polls GET /api/v1/rollouts/NAME until pred(status) holds; fails with the last status. */
async function waitStatus(S, name, pred, what, deadlineMs = 10000) {
  const until = Date.now() + deadlineMs;
  let last = null;
  let lastErr = null;
  for (;;) {
    try {
      last = await status(S, name);
      if (pred(last)) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > until) {
      assert.fail(`plan ${name}: waited ${deadlineMs} ms for ${what}; last status:\n${fmt(last)}${lastErr ? `\nlast error: ${lastErr.message}` : ''}`);
    }
    await GW.sleep(25);
  }
}

const atStep = (step, percent, phase = 'running') => (s) => s.step === step && s.percent === percent && s.phase === phase;

/* Waits for the plan at step/percent/phase. */
function waitStep(S, name, step, percent, phase = 'running', deadlineMs = 10000) {
  return waitStatus(S, name, atStep(step, percent, phase), `step ${step} at ${percent}% (${phase})`, deadlineMs);
}

/* Asserts that the plan is (still) at step/percent/phase right now: the GET judges now. */
async function assertAt(S, name, step, percent, phase = 'running', why = '') {
  const s = await status(S, name);
  assert.ok(atStep(step, percent, phase)(s), `plan ${name}: expected step ${step} at ${percent}% (${phase}) ${why}; status:\n${fmt(s)}`);
  return s;
}

/* The gate of a status by metric (and optional label match). */
function gate(st, metric, labelRe) {
  const g = (st.gates || []).find((x) => x.metric === metric && (!labelRe || labelRe.test(x.gate)));
  assert.ok(g, `no ${metric} gate in status:\n${fmt(st)}`);
  return g;
}

/* Audit records of the plan's state document, oldest first. */
async function stateAudit(S, name) {
  const r = await GW.api(S, 'GET', `/api/v1/admin/audit?name=${STATE_PREFIX}${name}&limit=1000`);
  assert.equal(r.status, 200, r.text);
  return r.json.records.slice().reverse();
}

/* Audit records of any document, oldest first. */
async function auditOf(S, docName) {
  const r = await GW.api(S, 'GET', `/api/v1/admin/audit?name=${docName}&limit=1000`);
  assert.equal(r.status, 200, r.text);
  return r.json.records.slice().reverse();
}

/* The versions of the plan's state document, oldest first, each with its value parsed. */
async function stateHistory(S, name) {
  const r = await GW.api(S, 'GET', GW.pp(`${STATE_PREFIX}${name}`, '/history?limit=1000'));
  assert.equal(r.status, 200, `state history of ${name}: ${r.status} ${r.text}`);
  return r.json.versions.map((v) => ({ ...v, state: JSON.parse(v.value) }));
}

/* The versions of any document, oldest first, values parsed when JSON. */
async function history(S, docName) {
  const r = await GW.api(S, 'GET', GW.pp(docName, '/history?limit=1000'));
  assert.equal(r.status, 200, `history of ${docName}: ${r.status} ${r.text}`);
  return r.json.versions.map((v) => {
    let doc = null;
    try { doc = JSON.parse(v.value); } catch { /* not JSON */ }
    return { ...v, doc };
  });
}

/* GET /api/v1/alerts → alerts list. */
async function alerts(S, q = '') {
  const r = await GW.api(S, 'GET', `/api/v1/alerts${q}`);
  assert.equal(r.status, 200, r.text);
  return r.json.alerts;
}

/* The firing rollout_rolled_back alert for plan name, or undefined. */
async function rolledBackAlert(S, name) {
  return (await alerts(S)).find((a) => a.name === 'rollout_rolled_back' && a.resource === name);
}

/* Asserts the plan's latest state transition is audited with actor and a reason matching re. */
async function assertLastAudit(S, name, { actor = 'controller', reason } = {}) {
  const recs = await stateAudit(S, name);
  assert.ok(recs.length > 0, `no audit record for ${STATE_PREFIX}${name}`);
  const last = recs.at(-1);
  assert.equal(last.actor, actor, `last audit record of ${name}: ${JSON.stringify(last)}`);
  if (reason) assert.match(last.reason || '', reason, `reason of the last audit record of ${name}: ${JSON.stringify(last)}`);
  return last;
}

/* Checks that the state document's history writes no step twice: every version differs from the
 * one before in phase, step or percent (or rollback progress), and versions are 1..N. */
function assertNoDuplicateTransitions(versions, name) {
  versions.forEach((v, i) => assert.equal(v.version, i + 1, `state versions of ${name} are 1..N: ${versions.map((x) => x.version)}`));
  for (let i = 1; i < versions.length; i++) {
    const a = versions[i - 1].state;
    const b = versions[i].state;
    const same = a.phase === b.phase && a.step === b.step && a.percent === b.percent
      && JSON.stringify(a.rollback) === JSON.stringify(b.rollback) && a.paused_at === b.paused_at;
    assert.ok(!same, `state of ${name} written twice for one transition (v${i} and v${i + 1}):\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
  }
}

/* ---- the gateway: traffic through a route's split ---- */

/* n subjects whose bucket (salt) is in [lo, hi) of 10000, named prefix-i. */
function subjectsIn(salt, lo, hi, n, prefix = 'subj') {
  const out = [];
  for (let i = 0; out.length < n; i++) {
    const s = `${prefix}-${i}`;
    const b = GW.bucket(salt, s);
    if (b >= lo && b < hi) out.push(s);
    if (i > n * 100000) throw new Error(`no ${n} subjects in [${lo}, ${hi})`);
  }
  return out;
}

/* Sends one chat request per subject through route; returns the providers that served them
 * (asserting 200 unless allowErrors). */
async function drive(S, route, subjects, { allowErrors = false, concurrency = 16 } = {}) {
  return GW.pool(subjects, concurrency, async (s) => {
    const r = await GW.chat(S, GW.chatBody(`rollout ${s}`), { headers: { 'X-Switchyard-Route': route, 'X-Switchyard-Subject': s } });
    if (!allowErrors) assert.equal(r.status, 200, `gateway request for ${s}: ${r.status} ${r.text.slice(0, 300)}`);
    return r.headers.get('x-switchyard-provider');
  });
}

/* A stub-backed provider document (type stub: no network, deterministic answers). */
function stubDoc(extra = {}) {
  return { type: 'stub', ...extra };
}

/* A sim-backed openai provider that fails fast and never opens its breaker (unless extra says). */
function simDoc(sim, extra = {}) {
  return GW.openaiDoc(sim, { models: [], ...extra });
}

module.exports = {
  ...GW,
  SEC,
  MIN,
  HOUR,
  DAY,
  WEEK,
  ONE_PERIOD_MS,
  STATE_PREFIX,
  PLAN_PREFIX,
  startRolloutServer,
  advance,
  now,
  iso,
  createFlag,
  getFlag,
  getDoc,
  routeShare,
  push,
  item,
  healthy,
  fmt,
  createPlan,
  status,
  command,
  waitStatus,
  waitStep,
  assertAt,
  atStep,
  gate,
  stateAudit,
  auditOf,
  stateHistory,
  history,
  alerts,
  rolledBackAlert,
  assertLastAudit,
  assertNoDuplicateTransitions,
  subjectsIn,
  drive,
  stubDoc,
  simDoc,
};

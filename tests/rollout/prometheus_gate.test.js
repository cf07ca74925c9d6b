// prometheus_gate.test.js — a rollout plan gated on a real Prometheus: Prometheus scrapes
// Switchyard's own /metrics (with a bearer token) and a gauge this test controls; a plan whose
// gate's query is within its bound promotes after its bake, one whose query breaches rolls back,
// and one whose Prometheus goes away pauses with the reason and never promotes. The server runs
// on the test clock, so bakes of an hour pass in milliseconds.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, waitFor } = require('../api/helpers');
const { HAVE_PROMETHEUS, DEADLINE_MS, listen, startPrometheus, stopPrometheus } = require('./prom');

let S;
let exporter;
let gauge = 1;
let prom;

const advance = (ms) => api(S, 'POST', '/api/v1/admin/clock', { advance_ms: ms });
const status = async (name) => (await api(S, 'GET', `/api/v1/rollouts/${name}`)).json;
const until = (name, pred, what) => waitFor(async () => {
  const st = await status(name);
  return pred(st) ? st : null;
}, DEADLINE_MS, `${name}: ${what}`, 50);

async function flag(key) {
  const r = await api(S, 'POST', '/api/v1/flags', { key, document: { enabled: true, rollout_percentage: 0 } });
  assert.equal(r.status < 300, true, r.text);
}

async function plan(name, key, gate) {
  const r = await api(S, 'POST', '/api/v1/rollouts', {
    name,
    plan: { target: { flag: key }, steps: [{ percent: 10, bake: '1h' }, { percent: 100 }], gates: [gate] },
  });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

before(async () => {
  S = await startServer({ env: { SWITCHYARD_TEST_CLOCK: '1' } });
  exporter = await listen((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(`# TYPE sy_gate_value gauge\nsy_gate_value ${gauge}\n`);
  });
  if (!HAVE_PROMETHEUS) return;
  prom = await startPrometheus([
    { name: 'exporter', target: `127.0.0.1:${exporter.address().port}` },
    { name: 'switchyard', target: `127.0.0.1:${S.port}`, token: S.token },
  ]);
  const put = await api(S, 'PUT', '/api/v1/params/switchyard/prometheus/url', { value: prom.url, type: 'String' });
  assert.equal(put.status < 300, true, put.text);
});

after(async () => {
  await stopPrometheus(prom);
  if (exporter) exporter.close();
  if (S) await S.cleanup();
});

describe('a plan gated on Prometheus', { skip: !HAVE_PROMETHEUS && 'prometheus is not installed' }, () => {
  it('promotes once its query is within the bound and the bake is over; the query reads Switchyard\'s own /metrics', async () => {
    await flag('prom/ok');
    // switchyard_rollout_plans comes from Switchyard's /metrics, scraped by Prometheus
    await plan('prom-ok', 'prom/ok', { metric: 'prometheus', query: 'max(switchyard_rollout_plans)', max: 10 });
    // until Prometheus has scraped it, the query has no series: the gate waits, the plan does not pause
    const first = await status('prom-ok');
    assert.equal(first.phase, 'running', JSON.stringify(first));
    await until('prom-ok', (x) => x.gates[0].status === 'pass', 'the gate passes');
    await advance(3600000);
    const st = await until('prom-ok', (x) => x.percent === 100 || x.phase !== 'running', 'promoted to 100 %');
    assert.equal(st.percent, 100, JSON.stringify(st));
    assert.match(st.state.reason, /promote: 10% -> 100%/);
    assert.match(st.state.reason, /value 1 <= 10/);
  });

  it('rolls back when the query breaches its bound', async () => {
    await flag('prom/bad');
    gauge = 1;
    await plan('prom-bad', 'prom/bad', { metric: 'prometheus', query: 'sy_gate_value', max: 5 });
    // the gate passes first (the bake holds the promotion), then the gauge breaches
    await until('prom-bad', (x) => x.gates[0].status === 'pass', 'the gate passes');
    gauge = 9;
    const st = await until('prom-bad', (x) => x.phase === 'rolled_back', 'rolled back');
    assert.equal(st.percent, 0);
    assert.match(st.breach.message, /value 9 > 5/);
    const f = await api(S, 'GET', '/api/v1/flags/prom/bad');
    assert.equal(f.json.rollout_percentage, 0);
  });

  it('pauses, and never promotes, when Prometheus is gone', async () => {
    await flag('prom/gone');
    gauge = 1; // and Prometheus has scraped it (the last test left it at 9, which would breach at once)
    await waitFor(async () => {
      const q = await api(S, 'GET', `/api/v1/metrics/prometheus?query=sy_gate_value&url=${encodeURIComponent(prom.url)}`);
      return q.json.value === 1;
    }, DEADLINE_MS, 'Prometheus has the gauge at 1', 100);
    await plan('prom-gone', 'prom/gone', { metric: 'prometheus', query: 'sy_gate_value', max: 5, url: prom.url });
    await until('prom-gone', (x) => x.gates[0].status === 'pass', 'the gate passes');
    await stopPrometheus(prom);
    prom = null;
    // within a refresh or two its last answer gives way to the failure, and the plan pauses
    const st = await until('prom-gone', (x) => x.phase !== 'running', 'paused');
    assert.equal(st.phase, 'paused', JSON.stringify(st));
    assert.equal(st.percent, 10);
    assert.match(st.reason, /Prometheus at http:\/\/127\.0\.0\.1:\d+ did not answer/);
    await advance(3600000); // the bake is over: a paused plan still does not promote
    const later = await status('prom-gone');
    assert.equal(later.percent, 10, JSON.stringify(later));
    assert.equal(later.phase, 'paused');
  });
});

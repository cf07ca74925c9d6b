// helpers.js — the gateway's black-box tests: a real server (tests/api/helpers.js), provider
// simulators (tests/sim/sim.js), and the documents of docs/GATEWAY.md written through the
// native API.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const base = require('../api/helpers');
const { startSim } = require('../sim/sim');

const PROVIDERS = '/switchyard/providers/';
const DEFAULT_ROUTE = '/switchyard/routes/default';

/* PUT /api/v1/params<name> {value, type, overwrite: true}; asserts 200 and returns the reply. */
async function putParam(S, name, value, type) {
  const r = await base.api(S, 'PUT', base.pp(name), { value: typeof value === 'string' ? value : JSON.stringify(value), type, overwrite: true });
  assert.equal(r.status, 200, `PUT ${name} (${type}) → ${r.status} ${r.text}`);
  return r.json;
}

const putProvider = (S, name, doc) => putParam(S, PROVIDERS + name, doc, 'Provider');
const putRoute = (S, name, doc) => putParam(S, name, doc, 'Route');
const putSecret = (S, name, value) => putParam(S, name, value, 'SecureString');
const putString = (S, name, value) => putParam(S, name, value, 'String');

/* A provider document of type openai pointed at a sim, fast to fail by default: one attempt,
 * short timeouts, a breaker that does not open in ordinary tests. Fields in extra win. */
function openaiDoc(sim, extra = {}) {
  return {
    type: 'openai',
    base_url: `${sim.url}/v1`,
    timeouts_ms: { connect: 1000, first_byte: 10000, idle: 10000, total: 20000 },
    retry: { max_attempts: 1, base_ms: 10, max_ms: 50 },
    breaker: { consecutive_failures: 1000, error_rate_percent: 100, min_requests: 1000, window_ms: 1000, cooldown_ms: 1000, half_open_max: 1 },
    ...extra,
  };
}

/* A server (with an SSM access key, so the aws CLI can write to it) and n sims. */
async function startGateway({ sims = 1, simOpts = [], env = {} } = {}) {
  const { startSsmServer } = require('../ssm/helpers');
  const S = await startSsmServer({ env });
  const list = [];
  for (let i = 0; i < sims; i++) list.push(await startSim(simOpts[i] || {}));
  return {
    S,
    sims: list,
    async cleanup() {
      for (const s of list) await s.close();
      await S.cleanup();
    },
  };
}

/* One gateway request through fetch (keep-alive): {status, headers (a Headers), json, text}.
 * body is JSON-encoded unless it is a string or a Buffer. */
async function gw(S, p, body, { headers = {}, token, method = 'POST' } = {}) {
  const h = { ...headers };
  const tok = token === undefined ? S.token : token;
  if (tok) h.Authorization = `Bearer ${tok}`;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    if (!h['Content-Type']) h['Content-Type'] = 'application/json';
  }
  const res = await fetch(S.url + p, { method, headers: h, body: payload, signal: AbortSignal.timeout(60000) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, json, text };
}

const chatBody = (text = 'hello gateway', extra = {}) => ({ model: 'sim-gpt', messages: [{ role: 'user', content: text }], ...extra });
const chat = (S, body, opts) => gw(S, '/v1/chat/completions', body, opts);

/* A streaming request: reads the whole body and splits it into SSE data payloads.
 * Resolves {status, headers, events: [{data, json}], done (the last event was [DONE]), text,
 * error (the read failed: the connection was cut)}. */
async function chatStream(S, body, { headers = {}, token, path = '/v1/chat/completions', signal } = {}) {
  const h = { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...headers };
  const tok = token === undefined ? S.token : token;
  if (tok) h.Authorization = `Bearer ${tok}`;
  const res = await fetch(S.url + path, { method: 'POST', headers: h, body: JSON.stringify({ ...body, stream: true }), signal: signal || AbortSignal.timeout(60000) });
  let text = '';
  let error = null;
  try {
    const dec = new TextDecoder();
    for await (const c of res.body) text += dec.decode(c, { stream: true });
  } catch (e) {
    error = e;
  }
  const events = [];
  for (const block of text.split(/\r\n\r\n|\n\n|\r\r/)) {
    const data = block.split(/\r\n|\n|\r/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    if (!block.trim() || !data) continue;
    let json = null;
    try { json = JSON.parse(data); } catch { /* [DONE] or garbage */ }
    events.push({ data, json });
  }
  return { status: res.status, headers: res.headers, events, done: events.length > 0 && events.at(-1).data === '[DONE]', text, error };
}

/* The text of a stream's content deltas, concatenated. */
function streamText(events) {
  return events.filter((e) => e.json && Array.isArray(e.json.choices) && e.json.choices[0] && e.json.choices[0].delta)
    .map((e) => e.json.choices[0].delta.content || '').join('');
}

/* Asserts OpenAI's error shape {"error":{"message","type","param","code"}} and the status. */
function assertOpenAIError(r, status, type, what = '') {
  const st = Array.isArray(status) ? status : [status];
  assert.ok(st.includes(r.status), `${what} expected ${st.join('|')}, got ${r.status} ${r.text.slice(0, 500)}`);
  assert.ok(r.json && r.json.error && typeof r.json.error === 'object', `${what} not OpenAI's error shape: ${r.text.slice(0, 500)}`);
  const e = r.json.error;
  assert.equal(typeof e.message, 'string', `${what} error.message: ${r.text}`);
  assert.ok(e.message.length > 0);
  assert.equal(typeof e.type, 'string', `${what} error.type: ${r.text}`);
  assert.ok('param' in e && 'code' in e, `${what} error has param and code (null allowed): ${r.text}`);
  if (type) assert.equal(e.type, type, `${what} error.type: ${r.text}`);
  return e;
}

/* The X-Switchyard-* headers every gateway answer carries. */
function assertGatewayHeaders(h, { provider, route, attempts } = {}) {
  for (const k of ['x-switchyard-provider', 'x-switchyard-route', 'x-switchyard-attempts', 'x-switchyard-overhead-ms', 'x-request-id']) {
    assert.ok(h.get(k) !== null && h.get(k) !== '', `header ${k} missing`);
  }
  const ov = h.get('x-switchyard-overhead-ms');
  assert.match(ov, /^\d+(\.\d+)?$/, `X-Switchyard-Overhead-Ms is a number: ${ov}`);
  assert.match(h.get('x-switchyard-attempts'), /^[1-9]\d*$/);
  if (provider !== undefined) assert.equal(h.get('x-switchyard-provider'), provider, 'X-Switchyard-Provider');
  if (route !== undefined) assert.equal(h.get('x-switchyard-route').replace(/^\/?/, '/'), route.replace(/^\/?/, '/'), 'X-Switchyard-Route');
  if (attempts !== undefined) assert.equal(h.get('x-switchyard-attempts'), String(attempts), 'X-Switchyard-Attempts');
}

/* The server's stderr as JSON objects (lines that are not JSON are skipped). */
function logRecords(S) {
  const out = [];
  for (const line of S.log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try { out.push(JSON.parse(line)); } catch { /* a line being written */ }
  }
  return out;
}

/* Threads: of /proc/PID/status (`switchyard serve` execs the server, so the pid is the same). */
function threadCount(pid) {
  const m = /^Threads:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

/* The rollout bucket of DESIGN.md: SHA-256(salt + "/" + subject), first 8 bytes big-endian, mod 10000. */
function bucket(salt, subject) {
  return Number(crypto.createHash('sha256').update(`${salt}/${subject}`).digest().readBigUInt64BE(0) % 10000n);
}

/* GET /metrics as text. */
async function metricsText(S, token) {
  return gw(S, '/metrics', undefined, { method: 'GET', token });
}

/* Samples of a Prometheus text exposition: [{name, labels: {..}, value}]. */
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;
      let l;
      while ((l = re.exec(m[3]))) labels[l[1]] = l[2];
    }
    out.push({ name: m[1], labels, value: m[4] === '+Inf' ? Infinity : Number(m[4]) });
  }
  return out;
}

/* The sum of a metric's samples whose labels include `match`. */
function metricSum(samples, name, match = {}) {
  let sum = 0;
  let n = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) { sum += s.value; n++; }
  }
  return n ? sum : null;
}

/* Runs fn with a bounded concurrency over items. */
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k], k);
    }
  }));
  return out;
}

module.exports = {
  ...base,
  startSim,
  PROVIDERS,
  DEFAULT_ROUTE,
  putParam,
  putProvider,
  putRoute,
  putSecret,
  putString,
  openaiDoc,
  startGateway,
  gw,
  chat,
  chatBody,
  chatStream,
  streamText,
  assertOpenAIError,
  assertGatewayHeaders,
  logRecords,
  threadCount,
  bucket,
  metricsText,
  parseMetrics,
  metricSum,
  pool,
};

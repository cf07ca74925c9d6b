// sim.js — a provider simulator for the gateway's tests and benchmarks: one real HTTP server that
// speaks OpenAI, Gemini and Seedream (BytePlus ModelArk) wire formats, with knobs for latency,
// failures, broken bodies and cut streams, and counters a test can read.
//
//   const { startSim } = require('./sim');
//   const sim = await startSim({ keys: { gemini: 'g-key' } });
//   sim.set({ gemini: { fail_next: 2, fail_status: 503, retry_after: 1 } });
//   ... sim.stats().by_format.gemini ...
//   await sim.close();
//
// Standalone (benchmarks): node tests/sim/sim.js --port 8099 [--host 127.0.0.1] [--key K]
//                          [--config '{"latency_ms":5}']
// It logs one JSON line {"msg":"sim listening","port":N} to stdout once it listens.
//
// Knobs (set(cfg) or POST /_sim/config; a knob at the top level applies to every format, under
// "openai" / "gemini" / "seedream" to that format only; set() merges, reset() restores the
// options given to startSim and clears the counters):
//   latency_ms        service time before the status line (every answer, errors included)
//   first_token_ms    streams: delay between the headers and the first chunk
//   chunk_ms          streams: delay between chunks
//   chunks            streams: number of content chunks (default 3)
//   fail_status       status of a simulated failure (default 500)
//   fail_next         fail exactly the next N requests of the format (counts down)
//   error_every       fail every Nth request of the format (1 = all)
//   error_rate        0..1: fail this share, drawn from a PRNG seeded by `seed` (default 1)
//   retry_after       seconds: a Retry-After header on 429 and 503 failures
//   cut_after_chunks  streams: destroy the socket after N content chunks (0: right after headers)
//   garbage           "html" | "json_error" | "truncated" | "endless" | "huge": a 200 whose body is
//                     an HTML page, the format's error body, cut JSON, a body that never ends,
//                     or a 50 MB JSON body
//   usage             {prompt_tokens, completion_tokens} reported (default: counted words)
//   hang              true: read the request and never answer
//   key               the API key the format requires (null: none); also `keys` at start
//   models            the list GET /v1/models returns
//   reply             fixed reply text instead of "sim-<format>: <last user text>"
'use strict';

const http = require('node:http');

const FORMATS = ['openai', 'gemini', 'seedream'];
const KNOBS = new Set([
  'latency_ms', 'first_token_ms', 'chunk_ms', 'chunks', 'fail_status', 'fail_next', 'error_every',
  'error_rate', 'seed', 'retry_after', 'cut_after_chunks', 'garbage', 'usage', 'hang', 'key',
  'models', 'reply',
]);
const GARBAGE = new Set(['html', 'json_error', 'truncated', 'endless', 'huge']);
const DEFAULTS = {
  latency_ms: 0,
  first_token_ms: 0,
  chunk_ms: 0,
  chunks: 3,
  fail_status: 500,
  fail_next: 0,
  error_every: 0,
  error_rate: 0,
  seed: 1,
  retry_after: null,
  cut_after_chunks: null,
  garbage: null,
  usage: null,
  hang: false,
  key: null,
  models: ['sim-gpt', 'gpt-4o-mini', 'gemini-2.0-flash', 'seedream-4-0-250828'],
  reply: null,
};
const MAX_BODY = 64 << 20;
const HUGE_BYTES = 50 << 20;
// 1x1 PNG: what every simulated image is.
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const FILL = Buffer.alloc(1 << 20, 'x');
const HTML = Buffer.from('<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>sim: an HTML page where JSON was expected</p></body></html>\n');

const GEMINI_STATUS = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  408: 'DEADLINE_EXCEEDED', 409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL',
  501: 'UNIMPLEMENTED', 502: 'UNAVAILABLE', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};
const SEEDREAM_CODE = {
  400: 'InvalidParameter', 401: 'AuthenticationError', 403: 'AccessDenied', 404: 'InvalidEndpointOrModel.NotFound',
  408: 'RequestTimeout', 429: 'RateLimitExceeded.EndpointRPMExceeded', 500: 'InternalServiceError',
  502: 'InternalServiceError', 503: 'ServiceUnavailable', 504: 'RequestTimeout',
};
const OPENAI_TYPE = {
  400: ['invalid_request_error', null], 401: ['invalid_request_error', 'invalid_api_key'],
  403: ['permission_error', null], 404: ['invalid_request_error', 'model_not_found'],
  429: ['rate_limit_exceeded', 'rate_limit_exceeded'],
};

/* mulberry32: a small seeded PRNG, so error_rate failures come in a repeatable sequence. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function now() {
  return performance.timeOrigin + performance.now();
}

/* The error body of a format for a status (always a small object). */
function errorBody(fmt, status, message) {
  if (fmt === 'gemini') return { error: { code: status, message, status: GEMINI_STATUS[status] || 'UNKNOWN' } };
  if (fmt === 'seedream') return { error: { code: SEEDREAM_CODE[status] || 'InternalServiceError', message, param: '', type: '' } };
  const [type, code] = OPENAI_TYPE[status] || ['server_error', null];
  return { error: { message, type, param: null, code } };
}

/* The text of the last user turn: OpenAI messages (string or parts) or Gemini contents. */
function lastUserText(fmt, body) {
  if (!body || typeof body !== 'object') return '';
  const partsText = (parts) => (Array.isArray(parts) ? parts.map((p) => (p && typeof p.text === 'string' ? p.text : '')).join('') : '');
  if (fmt === 'gemini') {
    const cs = Array.isArray(body.contents) ? body.contents : [];
    for (let i = cs.length - 1; i >= 0; i--) if (cs[i] && (cs[i].role === 'user' || !cs[i].role)) return partsText(cs[i].parts);
    return '';
  }
  const ms = Array.isArray(body.messages) ? body.messages : [];
  for (let i = ms.length - 1; i >= 0; i--) {
    const m = ms[i];
    if (!m || m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    return partsText(m.content);
  }
  return typeof body.prompt === 'string' ? body.prompt : '';
}

function words(s) {
  const t = String(s).trim();
  return t ? t.split(/\s+/).length : 0;
}

/* Every text of a request, for the default prompt token count. */
function promptWords(fmt, body) {
  if (!body || typeof body !== 'object') return 0;
  let n = 0;
  const add = (parts) => { if (Array.isArray(parts)) for (const p of parts) if (p && typeof p.text === 'string') n += words(p.text); };
  if (fmt === 'gemini') {
    if (body.systemInstruction) add(body.systemInstruction.parts);
    if (Array.isArray(body.contents)) for (const c of body.contents) if (c) add(c.parts);
  } else if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      if (!m) continue;
      if (typeof m.content === 'string') n += words(m.content);
      else add(m.content);
    }
  } else if (typeof body.prompt === 'string') n += words(body.prompt);
  return Math.max(1, n);
}

/* Splits text into n pieces (by code point) whose concatenation is the text. */
function split(text, n) {
  const cps = Array.from(text);
  const out = [];
  const k = Math.max(1, n | 0);
  for (let i = 0; i < k; i++) out.push(cps.slice(Math.floor((i * cps.length) / k), Math.floor(((i + 1) * cps.length) / k)).join(''));
  return out;
}

/* Which format and operation a request is, or null. */
function classify(method, pathname) {
  if (method === 'POST' && pathname === '/v1/chat/completions') return ['openai', 'chat'];
  if (method === 'POST' && pathname === '/v1/images/generations') return ['openai', 'images'];
  if (method === 'POST' && pathname === '/v1/images/edits') return ['openai', 'edits'];
  if (method === 'GET' && pathname === '/v1/models') return ['openai', 'models'];
  if (method === 'POST' && pathname === '/api/v3/images/generations') return ['seedream', 'images'];
  if (method === 'POST' && pathname === '/api/v3/chat/completions') return ['seedream', 'chat']; // ModelArk's chat is OpenAI's
  if (method === 'POST') {
    const m = /\/models\/([^/:]+):(generateContent|streamGenerateContent|predict)$/.exec(pathname);
    if (m) return ['gemini', m[2], decodeURIComponent(m[1])];
  }
  return null;
}

function clone(v) {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

class Sim {
  constructor(opts = {}) {
    this.opts = opts;
    this.server = null;
    this.sockets = new Set();
    this.seq = 0;
    this.reset();
  }

  /* Knobs back to the start options; counters cleared. */
  reset() {
    this.state = {};
    for (const f of FORMATS) this.state[f] = { knobs: { ...DEFAULTS }, failNext: 0, rng: prng(1), n: 0 };
    const o = this.opts;
    const start = {};
    for (const k of Object.keys(o)) if (KNOBS.has(k) || FORMATS.includes(k)) start[k] = o[k];
    if (o.keys && typeof o.keys === 'object') {
      for (const f of FORMATS) if (o.keys[f] !== undefined) start[f] = { ...(start[f] || {}), key: o.keys[f] };
    }
    this.set(start);
    this.stats_ = { total: 0, by_path: {}, by_format: { openai: 0, gemini: 0, seedream: 0 }, failed: { openai: 0, gemini: 0, seedream: 0 }, in_flight: 0, max_in_flight: 0, last: {}, log: [] };
  }

  /* Merges knobs: top-level ones into every format, {openai|gemini|seedream: {...}} into one. */
  set(cfg = {}) {
    if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) throw new Error('sim config must be an object');
    const apply = (fmts, knobs) => {
      for (const [k, v] of Object.entries(knobs)) {
        if (!KNOBS.has(k)) throw new Error(`unknown sim knob: ${k}`);
        if (k === 'garbage' && v !== null && !GARBAGE.has(v)) throw new Error(`garbage must be one of ${[...GARBAGE].join(', ')} or null`);
        if (k === 'error_rate' && v !== null && !(v >= 0 && v <= 1)) throw new Error('error_rate must be within 0..1');
        for (const f of fmts) {
          const s = this.state[f];
          s.knobs[k] = v === null && DEFAULTS[k] !== null ? DEFAULTS[k] : clone(v);
          if (k === 'fail_next') s.failNext = Number(v) || 0;
          if (k === 'seed' || k === 'error_rate') s.rng = prng(s.knobs.seed);
          if (k === 'error_every') s.n = 0;
        }
      }
    };
    const top = {};
    for (const [k, v] of Object.entries(cfg)) {
      if (FORMATS.includes(k)) continue;
      if (k === 'keys') {
        for (const f of FORMATS) if (v && v[f] !== undefined) apply([f], { key: v[f] });
        continue;
      }
      top[k] = v;
    }
    apply(FORMATS, top);
    for (const f of FORMATS) {
      if (cfg[f] === undefined) continue;
      if (!cfg[f] || typeof cfg[f] !== 'object') throw new Error(`sim config ${f} must be an object`);
      apply([f], cfg[f]);
    }
    return this.config();
  }

  config() {
    const out = {};
    for (const f of FORMATS) out[f] = { ...this.state[f].knobs, fail_next: this.state[f].failNext };
    return out;
  }

  /* A snapshot of the counters: totals per path and format, failures, requests in flight, the
   * last request per format ({method, path, query, headers, body (parsed JSON or text), at}),
   * and a log of the last 2000 requests ({format, op, path, at (ms, epoch), outcome}). */
  stats() {
    const s = this.stats_;
    return {
      total: s.total,
      by_path: { ...s.by_path },
      by_format: { ...s.by_format },
      failed: { ...s.failed },
      in_flight: s.in_flight,
      max_in_flight: s.max_in_flight,
      last: { ...s.last },
      log: s.log.slice(),
    };
  }

  listen(port = 0, host = '127.0.0.1') {
    const srv = http.createServer({ keepAlive: true, requestTimeout: 0, headersTimeout: 60000 }, (req, res) => this.handle(req, res));
    srv.keepAliveTimeout = 65000;
    srv.maxHeadersCount = 0;
    srv.on('connection', (sock) => {
      sock.setNoDelay(true);
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    this.server = srv;
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ port, host, backlog: 4096 }, () => {
        srv.removeListener('error', reject);
        resolve(srv.address().port);
      });
    });
  }

  close() {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      for (const t of this.timers || []) clearTimeout(t);
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  handle(req, res) {
    const q = req.url.indexOf('?');
    const pathname = q < 0 ? req.url : req.url.slice(0, q);
    const query = q < 0 ? '' : req.url.slice(q + 1);
    const chunks = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (pathname.startsWith('/_sim/')) return this.control(req, res, pathname, chunks);
      const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      this.serve(req, res, pathname, query, raw, tooBig);
    });
  }

  control(req, res, pathname, chunks) {
    const send = (status, obj) => {
      const b = Buffer.from(JSON.stringify(obj));
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': b.length });
      res.end(b);
    };
    try {
      if (pathname === '/_sim/stats' && req.method === 'GET') return send(200, this.stats());
      if (pathname === '/_sim/reset' && req.method === 'POST') { this.reset(); return send(200, this.config()); }
      if (pathname === '/_sim/config' && req.method === 'GET') return send(200, this.config());
      if (pathname === '/_sim/config' && req.method === 'POST') {
        const cfg = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        return send(200, this.set(cfg));
      }
      return send(404, { error: { message: `no sim control ${req.method} ${pathname}` } });
    } catch (e) {
      return send(400, { error: { message: String(e.message || e) } });
    }
  }

  serve(req, res, pathname, query, raw, tooBig) {
    const st = this.stats_;
    st.total++;
    st.by_path[pathname] = (st.by_path[pathname] || 0) + 1;
    const c = classify(req.method, pathname);
    if (!c) {
      const b = Buffer.from(JSON.stringify({ error: { message: `sim: no route ${req.method} ${pathname}`, type: 'invalid_request_error', param: null, code: 'not_found' } }));
      res.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': b.length });
      return res.end(b);
    }
    const [fmt, op, model] = c;
    const s = this.state[fmt];
    const k = s.knobs;
    st.by_format[fmt]++;
    st.in_flight++;
    if (st.in_flight > st.max_in_flight) st.max_in_flight = st.in_flight;
    res.on('close', () => { st.in_flight--; });

    let body = null;
    const ct = req.headers['content-type'] || '';
    if (raw.length && ct.includes('json')) {
      try { body = JSON.parse(raw.toString('utf8')); } catch { body = null; }
    }
    const entry = { format: fmt, op, path: pathname, at: now(), outcome: 'ok' };
    st.last[fmt] = {
      method: req.method,
      path: pathname,
      query,
      model: model || (body && body.model) || null,
      headers: req.headers,
      body: body !== null ? body : raw.length > 65536 ? `<${raw.length} bytes>` : raw.toString('utf8'),
      at: entry.at,
    };
    st.log.push(entry);
    if (st.log.length > 2000) st.log.splice(0, st.log.length - 2000);

    const fail = (status, message, extra = {}) => {
      entry.outcome = status;
      st.failed[fmt]++;
      this.json(res, status, errorBody(fmt, status, message), extra);
    };

    // Authentication: OpenAI and Seedream a bearer token, Gemini x-goog-api-key (or ?key=).
    if (k.key) {
      if (fmt === 'gemini') {
        const m = /(?:^|&)key=([^&]*)/.exec(query);
        const got = req.headers['x-goog-api-key'] || (m ? decodeURIComponent(m[1]) : undefined);
        if (got === undefined) return fail(403, 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.');
        if (got !== k.key) return fail(400, 'API key not valid. Please pass a valid API key.');
      } else if (req.headers.authorization !== `Bearer ${k.key}`) {
        return fail(401, fmt === 'openai' ? 'Incorrect API key provided.' : 'The API key in the request is missing or invalid.');
      }
    }
    if (tooBig) return fail(413, 'sim: request body too large');
    if (k.hang) { entry.outcome = 'hang'; return; }

    const go = () => {
      if (res.destroyed) return;
      let failing = false;
      if (s.failNext > 0) { s.failNext--; failing = true; }
      else if (k.error_every > 0) { s.n++; failing = s.n % k.error_every === 0; }
      else if (k.error_rate > 0) failing = s.rng() < k.error_rate;
      if (failing) {
        const status = k.fail_status || 500;
        const extra = {};
        if (k.retry_after != null && (status === 429 || status === 503)) extra['Retry-After'] = String(k.retry_after);
        return fail(status, `sim-${fmt}: simulated failure ${status}`, extra);
      }
      if (k.garbage) return this.garbage(res, fmt, k.garbage, entry);
      if (!body && op !== 'models' && !(op === 'edits' && raw.length)) return fail(400, 'sim: the body is not JSON');
      return this.answer(req, res, fmt, op, model, body, raw, k, entry);
    };
    if (k.latency_ms > 0) this.later(go, k.latency_ms);
    else go();
  }

  later(fn, ms) {
    setTimeout(fn, ms);
  }

  json(res, status, obj, extra = {}) {
    const b = Buffer.from(JSON.stringify(obj));
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': b.length, ...extra });
    res.end(b);
  }

  garbage(res, fmt, kind, entry) {
    entry.outcome = `garbage:${kind}`;
    if (kind === 'html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': HTML.length });
      return res.end(HTML);
    }
    if (kind === 'json_error') return this.json(res, 200, errorBody(fmt, 500, `sim-${fmt}: an error in a 200`));
    if (kind === 'truncated') {
      const b = Buffer.from(fmt === 'gemini'
        ? '{"candidates":[{"content":{"role":"model","parts":[{"text":"sim-gemini: cut'
        : fmt === 'seedream' ? '{"model":"seedream","created":1,"data":[{"url":"https://sim.inval'
          : '{"id":"chatcmpl-sim","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"sim-openai: cut');
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': b.length });
      return res.end(b);
    }
    if (kind === 'endless') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"padding":"');
      const pump = () => {
        while (!res.destroyed && res.write(FILL.subarray(0, 16384)));
        if (!res.destroyed) res.once('drain', pump);
      };
      return pump();
    }
    // huge: a well-formed JSON answer of 50 MB
    const head = Buffer.from('{"id":"chatcmpl-sim-huge","object":"chat.completion","created":1,"model":"sim","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"');
    const tail = Buffer.from('"}}],"candidates":[]}');
    let left = HUGE_BYTES - head.length - tail.length;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': HUGE_BYTES });
    res.write(head);
    const pump = () => {
      while (!res.destroyed && left > 0) {
        const piece = left >= FILL.length ? FILL : FILL.subarray(0, left);
        left -= piece.length;
        if (!res.write(piece)) return res.once('drain', pump);
      }
      if (!res.destroyed) res.end(tail);
    };
    return pump();
  }

  answer(req, res, fmt, op, model, body, raw, k, entry) {
    const id = ++this.seq;
    const created = Math.floor(Date.now() / 1000);
    if (op === 'models') {
      return this.json(res, 200, { object: 'list', data: k.models.map((m) => ({ id: m, object: 'model', created: 1700000000, owned_by: 'sim' })) });
    }
    if (op === 'images' || op === 'edits' || op === 'predict') return this.image(res, fmt, op, model, body, raw, id, created);

    const text = k.reply != null ? String(k.reply) : `sim-${fmt}: ${lastUserText(fmt, body)}`;
    const usage = {
      prompt_tokens: k.usage && k.usage.prompt_tokens != null ? k.usage.prompt_tokens : promptWords(fmt, body),
      completion_tokens: k.usage && k.usage.completion_tokens != null ? k.usage.completion_tokens : words(text),
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const mdl = model || (body && typeof body.model === 'string' ? body.model : 'sim');
    const streaming = fmt === 'gemini' ? op === 'streamGenerateContent' : !!(body && body.stream);

    if (!streaming) {
      if (fmt === 'gemini') {
        const parts = [{ text }];
        const gc = body && body.generationConfig;
        if (gc && Array.isArray(gc.responseModalities) && gc.responseModalities.includes('IMAGE')) parts.push({ inlineData: { mimeType: 'image/png', data: PNG_B64 } });
        return this.json(res, 200, {
          candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
          usageMetadata: { promptTokenCount: usage.prompt_tokens, candidatesTokenCount: usage.completion_tokens, totalTokenCount: usage.total_tokens },
          modelVersion: mdl,
          responseId: `sim-${id}`,
        });
      }
      return this.json(res, 200, {
        id: `chatcmpl-sim-${id}`,
        object: 'chat.completion',
        created,
        model: mdl,
        choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage,
        system_fingerprint: 'fp_sim',
      });
    }
    return this.stream(res, fmt, k, body, text, usage, mdl, id, created, entry);
  }

  /* A stream: headers, first_token_ms, then `chunks` content chunks chunk_ms apart, then the end
   * (OpenAI: a finish chunk, a usage chunk when asked, [DONE]; Gemini: the last event carries
   * finishReason and usageMetadata). cut_after_chunks destroys the socket instead. */
  stream(res, fmt, k, body, text, usage, mdl, id, created, entry) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const pieces = split(text, k.chunks);
    const sep = fmt === 'gemini' ? '\r\n\r\n' : '\n\n';
    const cut = k.cut_after_chunks;
    const includeUsage = !!(body && body.stream_options && body.stream_options.include_usage);
    const head = `{"id":"chatcmpl-sim-${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(mdl)},"system_fingerprint":"fp_sim","choices":`;
    const event = (i) => {
      const last = i === pieces.length - 1;
      if (fmt === 'gemini') {
        const ev = { candidates: [{ content: { role: 'model', parts: [{ text: pieces[i] }] }, index: 0 }], modelVersion: mdl, responseId: `sim-${id}` };
        if (last) {
          ev.candidates[0].finishReason = 'STOP';
          ev.usageMetadata = { promptTokenCount: usage.prompt_tokens, candidatesTokenCount: usage.completion_tokens, totalTokenCount: usage.total_tokens };
        }
        return `data: ${JSON.stringify(ev)}${sep}`;
      }
      const delta = i === 0 ? { role: 'assistant', content: pieces[i] } : { content: pieces[i] };
      return `data: ${head}[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":null}]}${sep}`;
    };
    const finish = () => {
      if (fmt !== 'gemini') {
        let out = `data: ${head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]${includeUsage ? ',"usage":null' : ''}}${sep}`;
        if (includeUsage) out += `data: ${head}[],"usage":${JSON.stringify(usage)}}${sep}`;
        out += `data: [DONE]${sep}`;
        res.end(out);
      } else {
        res.end();
      }
    };
    // What was written reaches the client, then the connection closes with the response
    // unfinished (no terminating chunk): the peer sees a stream cut mid-answer.
    const cutNow = () => {
      entry.outcome = 'cut';
      const sock = res.socket;
      if (!sock) return res.destroy();
      sock.once('finish', () => sock.destroy());
      sock.end();
    };
    let i = 0;
    const step = () => {
      if (res.destroyed) return;
      if (cut != null && i >= cut) return cutNow();
      if (i >= pieces.length) return finish();
      res.write(event(i++));
      if (k.chunk_ms > 0) setTimeout(step, k.chunk_ms);
      else step();
    };
    if (cut === 0) {
      res.flushHeaders();
      return setImmediate(cutNow);
    }
    if (k.first_token_ms > 0) {
      res.flushHeaders();
      setTimeout(step, k.first_token_ms);
    } else step();
  }

  image(res, fmt, op, model, body, raw, id, created) {
    if (op === 'predict') {
      const n = (body && body.parameters && body.parameters.sampleCount) || 1;
      return this.json(res, 200, { predictions: Array.from({ length: n }, () => ({ mimeType: 'image/png', bytesBase64Encoded: PNG_B64 })) });
    }
    let prompt = body && typeof body.prompt === 'string' ? body.prompt : '';
    if (!body && raw.length) { // multipart edits: the prompt field, roughly
      const m = /name="prompt"\r\n\r\n([^\r]*)/.exec(raw.toString('latin1'));
      if (m) prompt = m[1];
    }
    const n = Math.max(1, Math.min(10, (body && Number.isInteger(body.n) && body.n) || 1));
    const b64 = body && body.response_format === 'b64_json';
    const size = (body && typeof body.size === 'string' && /^\d+x\d+$/.test(body.size) && body.size) || '1024x1024';
    if (fmt === 'seedream') {
      const [w, h] = size.split('x').map(Number);
      const per = Math.floor((w * h) / 256);
      return this.json(res, 200, {
        model: (body && body.model) || 'seedream',
        created,
        data: Array.from({ length: n }, (_, i) => (b64 ? { b64_json: PNG_B64, size } : { url: `https://sim.invalid/seedream/${id}-${i}.jpeg`, size })),
        usage: { generated_images: n, output_tokens: per * n, total_tokens: per * n },
      });
    }
    return this.json(res, 200, {
      created,
      data: Array.from({ length: n }, (_, i) => (b64
        ? { b64_json: PNG_B64, revised_prompt: `sim-openai: ${prompt}` }
        : { url: `https://sim.invalid/openai/${op}/${id}-${i}.png`, revised_prompt: `sim-openai: ${prompt}` })),
    });
  }
}

/**
 * startSim(opts) — listens on 127.0.0.1:opts.port (0: ephemeral). opts holds start knobs
 * (see the top of this file) and `keys: {openai, gemini, seedream}`. Resolves
 * {url, port, set(cfg), reset(), stats(), config(), close()}.
 */
async function startSim(opts = {}) {
  const sim = new Sim(opts);
  const port = await sim.listen(opts.port || 0, opts.host || '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    sim,
    set: (cfg) => sim.set(cfg),
    reset: () => sim.reset(),
    stats: () => sim.stats(),
    config: () => sim.config(),
    close: () => sim.close(),
  };
}

module.exports = { startSim, FORMATS, PNG_B64 };

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
  };
  const opts = { port: Number(opt('port', '0')), host: opt('host', '127.0.0.1') };
  if (opt('key')) opts.key = opt('key');
  if (opt('config')) Object.assign(opts, JSON.parse(opt('config')));
  const sim = new Sim(opts);
  sim.listen(opts.port, opts.host).then((port) => {
    process.stdout.write(`${JSON.stringify({ msg: 'sim listening', port })}\n`);
  }, (e) => {
    process.stderr.write(`sim: ${e.message}\n`);
    process.exit(1);
  });
  const stop = () => sim.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

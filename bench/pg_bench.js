// pg_bench.js — the node half of bench/pg.sh. Every mode prints one JSON object on stdout, progress
// on stderr, and exits 1 when its check fails.
//
//   merge FILE...           merges the latency histograms that bench/lua/hist.lua appended (several
//                           wrk processes run together): total req/s (Σ requests_i / duration_i),
//                           exact p50 / p90 / p99 / max over all requests, non-2xx and socket errors.
//   prop --token T --put URL --watch URL[,URL...] [--n 500] [--name /bench/prop/x]
//                           one watch stream (GET /api/v1/watch?prefix=NAME) on every watch URL, then
//                           N PUTs of NAME on the put URL, one at a time: the delay of a watcher runs
//                           from just before the PUT is sent to the arrival of that change on its
//                           stream (CLOCK_MONOTONIC, this process). The next PUT goes once every
//                           watcher has the change (or after 5 s: a miss), after a random 0–4 ms gap.
//                           Also the PUT's own latency, and whether every stream gave the change the
//                           same event id (the audit sequence number, the same on every node).
//   etcd-prop --url EP [--n 500] [--key bench/prop/x]
//                           the same against etcd's v3 JSON gateway: a watch (POST /v3/watch, a stream
//                           of JSON objects) and puts (POST /v3/kv/put) on the same member.
//   sync --token T --urls URL[,URL...] [--timeout-s 15]
//                           waits until every node's GET /health "seq" reaches the highest seq any of
//                           them had when it started; null seqs (no such field) are reported as such.
//   versions --token T --url URL --prefix P
//                           the sum of the latest versions of the parameters under P (list API).
'use strict';

const fs = require('node:fs');
const http = require('node:http');

const mode = process.argv[2];
const args = {};
const rest = [];
for (let i = 3; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a.startsWith('--')) { args[a.slice(2)] = process.argv[i + 1]; i++; } else rest.push(a);
}
const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}] pg_bench ${mode}: ${a.join(' ')}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => process.hrtime.bigint();
const msSince = (t0, t1 = now()) => Number(t1 - t0) / 1e6;
const r2 = (x) => (x === null || x === undefined ? null : Math.round(x * 100) / 100);
function q(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}
function summary(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: r2(q(s, 0.5)), p90: r2(q(s, 0.9)), p99: r2(q(s, 0.99)), max: r2(s.length ? s[s.length - 1] : null),
    mean: r2(s.length ? s.reduce((a, b) => a + b, 0) / s.length : null) };
}

// --- HTTP with one keep-alive connection per target -------------------------------------------------------
const agents = new Map();
function request(url, method, body, headers = {}) {
  const u = new URL(url);
  let agent = agents.get(u.host);
  if (!agent) { agent = new http.Agent({ keepAlive: true, maxSockets: 4 }); agents.set(u.host, agent); }
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const h = { ...headers };
    if (data) { h['Content-Type'] = 'application/json'; h['Content-Length'] = data.length; }
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, text, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(10000, () => req.destroy(new Error(`${method} ${url}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(data);
  });
}
const bearer = () => ({ Authorization: `Bearer ${args.token}` });

// --- a stream of text pieces: SSE (Switchyard) or one JSON object per line (etcd's gateway) -------------
function openStream(url, { method = 'GET', body, headers = {}, onPiece, splitter }) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const h = { ...headers };
    if (data) { h['Content-Type'] = 'application/json'; h['Content-Length'] = data.length; }
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        let t = '';
        res.on('data', (c) => { t += c; });
        res.on('end', () => reject(new Error(`${method} ${url}: ${res.statusCode} ${t.slice(0, 300)}`)));
        return;
      }
      res.setEncoding('utf8');
      let buf = '';
      let first = true;
      res.on('data', (chunk) => {
        const at = now();
        if (first) { first = false; resolve({ close: () => req.destroy() }); }
        buf += chunk;
        let m;
        while ((m = splitter.exec(buf))) {
          const piece = buf.slice(0, m.index);
          buf = buf.slice(m.index + m[0].length);
          onPiece(piece, at);
        }
      });
      res.on('error', () => {});
    });
    req.on('error', (e) => reject(e));
    req.end(data);
  });
}
function sseEvent(block) {
  let id = null;
  let event = 'message';
  const data = [];
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (!line || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const f = i < 0 ? line : line.slice(0, i);
    let v = i < 0 ? '' : line.slice(i + 1);
    if (v.startsWith(' ')) v = v.slice(1);
    if (f === 'id') id = v; else if (f === 'event') event = v; else if (f === 'data') data.push(v);
  }
  if (!data.length) return null;
  try { return { id, event, json: JSON.parse(data.join('\n')) }; } catch { return null; }
}

// A watcher: the arrival time (and event id) of each value, and waiters for the values not seen yet.
function makeWatcher(label) {
  const seen = new Map();
  const waiting = new Map();
  return {
    label,
    seen,
    saw(value, at, id) {
      if (seen.has(value)) return;
      seen.set(value, { at, id });
      const w = waiting.get(value);
      if (w) { waiting.delete(value); w(); }
    },
    until(value, ms) {
      if (seen.has(value)) return Promise.resolve(true);
      return new Promise((resolve) => {
        const t = setTimeout(() => { waiting.delete(value); resolve(false); }, ms);
        waiting.set(value, () => { clearTimeout(t); resolve(true); });
      });
    },
  };
}

// The loop shared by Switchyard and etcd: put(value) resolves to the HTTP status.
async function propagate(watchers, put, n, tag) {
  const putMs = [];
  const delays = watchers.map(() => []);
  const misses = watchers.map(() => 0);
  let non2xx = 0;
  // one change first, which every stream must deliver: the streams are live
  const warm = `${tag}-warm`;
  const st = await put(warm);
  if (st < 200 || st > 299) throw new Error(`the first PUT answered ${st}`);
  const ok = await Promise.all(watchers.map((w) => w.until(warm, 10000)));
  if (ok.includes(false)) throw new Error(`the first change did not reach ${watchers.filter((_, i) => !ok[i]).map((w) => w.label).join(', ')} within 10 s`);
  const started = now();
  for (let i = 0; i < n; i++) {
    const value = `${tag}-${i}`;
    const t0 = now();
    const s = await put(value);
    putMs.push(msSince(t0));
    if (s < 200 || s > 299) { non2xx++; continue; }
    const got = await Promise.all(watchers.map((w) => w.until(value, 5000)));
    got.forEach((g, k) => {
      if (g) delays[k].push(Number(watchers[k].seen.get(value).at - t0) / 1e6); else misses[k]++;
    });
    await sleep(Math.random() * 4);
  }
  return { n, non2xx, wall_s: r2(msSince(started) / 1000), put_ms: summary(putMs), watchers: watchers.map((w, k) => ({ label: w.label, received: delays[k].length, missed: misses[k], delay_ms: summary(delays[k]) })) };
}

async function prop() {
  const n = Number(args.n || 500);
  const name = args.name || '/bench/prop/x';
  const putUrl = args.put;
  const watchUrls = (args.watch || '').split(',').filter(Boolean);
  if (!args.token || !putUrl || !watchUrls.length) throw new Error('usage: prop --token T --put URL --watch URL[,URL...] [--n N] [--name NAME]');
  const tag = `p${process.pid}x${Date.now() % 100000}`;
  const watchers = [];
  const streams = [];
  for (const url of watchUrls) {
    const w = makeWatcher(url);
    watchers.push(w);
    streams.push(await openStream(`${url}/api/v1/watch?prefix=${encodeURIComponent(name)}`, {
      headers: { ...bearer(), Accept: 'text/event-stream' },
      splitter: /\r\n\r\n|\n\n|\r\r/,
      onPiece: (block, at) => {
        const ev = sseEvent(block);
        if (ev && ev.event === 'change' && ev.json && ev.json.name === name && typeof ev.json.value === 'string') w.saw(ev.json.value, at, ev.id);
      },
    }));
  }
  log(`${watchUrls.length} watch streams open; ${n} PUTs of ${name} on ${putUrl}`);
  const put = async (value) => (await request(`${putUrl}/api/v1/params${name}`, 'PUT', { value, type: 'String', overwrite: true }, bearer())).status;
  const out = await propagate(watchers, put, n, tag);
  // the same change must carry the same event id on every stream
  let idsCompared = 0;
  let idsDiffer = 0;
  for (const [value, first] of watchers[0].seen) {
    for (const w of watchers.slice(1)) {
      const o = w.seen.get(value);
      if (!o) continue;
      idsCompared++;
      if (o.id !== first.id) idsDiffer++;
    }
  }
  out.ids = { compared: idsCompared, differ: idsDiffer };
  out.put_url = putUrl;
  out.name = name;
  out.ok = out.non2xx === 0 && out.watchers.every((w) => w.received === n) && idsDiffer === 0;
  for (const s of streams) s.close();
  for (const w of out.watchers) log(`${w.label}: ${w.received}/${n} received, delay p50 ${w.delay_ms.p50} ms, p99 ${w.delay_ms.p99} ms, max ${w.delay_ms.max} ms`);
  return out;
}

async function etcdProp() {
  const n = Number(args.n || 500);
  const ep = args.url;
  const key = args.key || 'bench/prop/x';
  if (!ep) throw new Error('usage: etcd-prop --url EP [--n N] [--key K]');
  const b64 = (s) => Buffer.from(s).toString('base64');
  const w = makeWatcher(ep);
  const stream = await openStream(`${ep}/v3/watch`, {
    method: 'POST',
    body: { create_request: { key: b64(key) } },
    splitter: /\n/,
    onPiece: (line, at) => {
      let m = null;
      try { m = JSON.parse(line); } catch { return; }
      for (const ev of (m.result && m.result.events) || []) {
        if (ev.kv && ev.kv.value) w.saw(Buffer.from(ev.kv.value, 'base64').toString(), at, ev.kv.mod_revision);
      }
    },
  });
  log(`watch open on ${ep}; ${n} puts of ${key}`);
  const tag = `p${process.pid}x${Date.now() % 100000}`;
  const put = async (value) => (await request(`${ep}/v3/kv/put`, 'POST', { key: b64(key), value: b64(value) })).status;
  const out = await propagate([w], put, n, tag);
  stream.close();
  out.ok = out.non2xx === 0 && out.watchers[0].received === n;
  out.url = ep;
  log(`delay p50 ${out.watchers[0].delay_ms.p50} ms, p99 ${out.watchers[0].delay_ms.p99} ms`);
  return out;
}

function merge() {
  if (!rest.length) throw new Error('usage: merge FILE...');
  const hist = new Map();
  let requests = 0;
  let rps = 0;
  let non2xx = 0;
  const errors = { connect: 0, read: 0, write: 0, timeout: 0 };
  let runs = 0;
  for (const f of rest) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      if (line.startsWith('#')) {
        const kv = {};
        const t = line.slice(1).trim().split(/\s+/);
        for (let i = 0; i + 1 < t.length; i += 2) kv[t[i]] = Number(t[i + 1]);
        runs++;
        requests += kv.requests;
        if (kv.duration_us > 0) rps += kv.requests / (kv.duration_us / 1e6);
        non2xx += kv.non2xx;
        for (const k of Object.keys(errors)) errors[k] += kv[k] || 0;
      } else if (line.trim()) {
        const [v, c] = line.trim().split(/\s+/).map(Number);
        hist.set(v, (hist.get(v) || 0) + c);
      }
    }
  }
  const keys = [...hist.keys()].sort((a, b) => a - b);
  const total = keys.reduce((s, k) => s + hist.get(k), 0);
  const pct = (p) => {
    const want = Math.ceil(p * total);
    let acc = 0;
    for (const k of keys) { acc += hist.get(k); if (acc >= want) return k; }
    return null;
  };
  const ms = (us) => (us === null ? null : Math.round(us) / 1000);
  const sum = keys.reduce((s, k) => s + k * hist.get(k), 0);
  return { runs, requests, rps: Math.round(rps * 100) / 100, samples: total, p50_ms: ms(pct(0.5)), p90_ms: ms(pct(0.9)), p99_ms: ms(pct(0.99)),
    max_ms: ms(keys.length ? keys[keys.length - 1] : null), mean_ms: total ? ms(sum / total) : null, non2xx, socket_errors: errors,
    ok: runs > 0 && total > 0 };
}

async function health(url) {
  try { return (await request(`${url}/health`, 'GET')).json; } catch { return null; }
}
async function sync() {
  const urls = (args.urls || '').split(',').filter(Boolean);
  const deadline = Date.now() + 1000 * Number(args['timeout-s'] || 15);
  const t0 = now();
  const first = await Promise.all(urls.map(health));
  if (first.some((h) => !h || typeof h.seq !== 'number')) {
    return { ok: true, seqs: first.map((h) => (h && typeof h.seq === 'number' ? h.seq : null)), note: 'no seq in /health', waited_ms: 0 };
  }
  const target = Math.max(...first.map((h) => h.seq));
  for (;;) {
    const hs = await Promise.all(urls.map(health));
    const seqs = hs.map((h) => (h ? h.seq : null));
    if (seqs.every((s) => typeof s === 'number' && s >= target)) return { ok: true, target, seqs, waited_ms: r2(msSince(t0)) };
    if (Date.now() > deadline) return { ok: false, target, seqs, waited_ms: r2(msSince(t0)) };
    await sleep(20);
  }
}
async function versions() {
  let sum = 0;
  let count = 0;
  let next = '';
  for (;;) {
    const r = await request(`${args.url}/api/v1/params?path=${encodeURIComponent(args.prefix)}&limit=1000${next ? `&next=${encodeURIComponent(next)}` : ''}`, 'GET', undefined, bearer());
    if (r.status !== 200 || !r.json) throw new Error(`list ${args.prefix} on ${args.url}: ${r.status} ${r.text.slice(0, 200)}`);
    for (const p of r.json.params || []) { sum += p.version; count++; }
    next = r.json.next || '';
    if (!next) break;
  }
  return { ok: true, url: args.url, prefix: args.prefix, params: count, versions: sum };
}

const modes = { merge: async () => merge(), prop, 'etcd-prop': etcdProp, sync, versions };
if (!modes[mode]) {
  console.error(`usage: pg_bench.js ${Object.keys(modes).join('|')} ... (see the head of this file)`);
  process.exit(2);
}
modes[mode]().then((out) => {
  console.log(JSON.stringify(out));
  for (const a of agents.values()) a.destroy();
  process.exit(out.ok === false ? 1 : 0);
}, (e) => {
  console.error(`pg_bench.js ${mode}: ${e.stack || e}`);
  process.exit(1);
});

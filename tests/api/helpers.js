// helpers.js — start a real `switchyard serve` on an ephemeral port and speak HTTP to it.
// Black-box only: everything here goes through the process, its files and its HTTP API.
'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const net = require('node:net');
const crypto = require('node:crypto');

const BIN = process.env.SWITCHYARD_BIN;
const START_DEADLINE_MS = Number(process.env.SY_TEST_START_MS || 20000);
// A PostgreSQL cluster to run every server against (scripts/test_pg.sh sets them): the base URL
// printed by `scripts/pg.sh start`, and that cluster's directory (for pg.sh stop/restart).
// Unset: every server uses the SQLite store in its data directory, as always.
const PG_BASE = process.env.SY_TEST_STORE_PG || '';
const PG_DIR = process.env.SY_TEST_PG_DIR || '';

const live = new Set(); // every child we started, so a crashed test leaves no server behind
process.on('exit', () => {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

/* The newest PostgreSQL client binary NAME (psql, createdb, ...) of Debian's layout. */
function pgBin(name) {
  const root = '/usr/lib/postgresql';
  let vers = [];
  try { vers = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', name))); } catch { /* none */ }
  vers.sort((a, b) => Number(b) - Number(a));
  if (!vers.length) throw new Error(`PostgreSQL's ${name} is not installed (apt-get install postgresql)`);
  return path.join(root, vers[0], 'bin', name);
}

/* The database URL `url` with its database name replaced by `db`. */
function pgUrlWithDb(url, db) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/* Runs SQL through psql against the database at `url` (a postgres:// URL); resolves with
 * psql's unaligned, tuples-only output, trimmed. Rejects with psql's stderr on failure. */
function pgSql(url, sql) {
  const u = new URL(url);
  const argv = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', u.hostname, '-p', u.port || '5432',
    '-U', decodeURIComponent(u.username || 'postgres'), '-d', decodeURIComponent(u.pathname.slice(1) || 'postgres'), '-c', sql];
  return new Promise((resolve, reject) => {
    const child = spawn(pgBin('psql'), argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGCONNECT_TIMEOUT: '10' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out.trim());
      else reject(new Error(`psql ${JSON.stringify(sql)} on ${url} exited ${code}: ${err.trim()}`));
    });
  });
}

let pgDbCount = 0;
/* A new, empty database on the cluster at SY_TEST_STORE_PG (or `base`); resolves with its URL.
 * The name is unique across the test processes that share the cluster. */
async function pgCreateDb(base = PG_BASE, tag = 'sy') {
  if (!base) throw new Error('SY_TEST_STORE_PG is not set (scripts/pg.sh start prints it)');
  const name = `${tag}_${process.pid}_${++pgDbCount}_${crypto.randomBytes(3).toString('hex')}`;
  await pgSql(base, `CREATE DATABASE "${name}"`);
  return pgUrlWithDb(base, name);
}

/* Drops the database at `url`, closing what is still connected to it. Best effort. */
async function pgDropDb(url) {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  try {
    await pgSql(pgUrlWithDb(url, 'postgres'), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } catch { /* the cluster may be down or gone: it is thrown away at the end anyway */ }
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function sha256hex(s) {
  return crypto.createHash('sha256').update(s).digest('hex');
}

function randomToken(prefix = 'sytest') {
  return `${prefix}-${crypto.randomBytes(18).toString('hex')}`;
}

/* Parses the port out of one stderr log line, or returns 0. The contract asks for a JSON
 * line containing "listening" with a `port` field or an "addr":"127.0.0.1:PORT". */
function portFromLine(line) {
  if (!/listening/i.test(line)) return 0;
  try {
    const j = JSON.parse(line);
    if (Number.isInteger(j.port) && j.port > 0) return j.port;
    if (typeof j.port === 'string' && /^\d+$/.test(j.port)) return Number(j.port);
    for (const k of ['addr', 'address', 'listen']) {
      if (typeof j[k] === 'string') {
        const m = /:(\d+)$/.exec(j[k]);
        if (m) return Number(m[1]);
      }
    }
  } catch { /* not JSON: fall through to the regexes */ }
  let m = /"port"\s*:\s*"?(\d+)/.exec(line);
  if (m) return Number(m[1]);
  m = /127\.0\.0\.1:(\d+)/.exec(line);
  if (m && Number(m[1]) > 0) return Number(m[1]);
  return 0;
}

/* Throws if the server log holds an AddressSanitizer, LeakSanitizer or UBSan report. */
function checkSanitizers(log) {
  const m = /(ERROR: (Address|Leak)Sanitizer|runtime error:)/.exec(log);
  if (m) throw new Error(`sanitizer report in the server log:\n${log.slice(Math.max(0, m.index - 200), m.index + 3000)}`);
}

/* Spawns the server process for `srv` and resolves when it logs that it is listening. */
function launch(srv) {
  if (!BIN) throw new Error('SWITCHYARD_BIN is not set (absolute path to build/switchyard)');
  if (!fs.existsSync(BIN)) throw new Error(`SWITCHYARD_BIN ${BIN} does not exist`);
  const env = { ...process.env };
  delete env.SWITCHYARD_TOKEN;
  if (srv.token) env.SWITCHYARD_ADMIN_TOKEN = srv.token;
  else delete env.SWITCHYARD_ADMIN_TOKEN;
  for (const [k, v] of Object.entries(srv.env)) {
    if (v === null || v === undefined) delete env[k];
    else env[k] = String(v);
  }
  const argv = ['serve', '--listen', '127.0.0.1:0', '--data', srv.dataDir, ...(srv.store ? ['--store', srv.store] : []), ...srv.args];
  const proc = spawn(BIN, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  srv.proc = proc;
  srv.exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
  });
  const logStart = srv.log.length;
  return new Promise((resolve, reject) => {
    let settled = false;
    let errBuf = '';
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      try { proc.kill('SIGKILL'); } catch { /* gone */ }
      reject(new Error(`server did not log "listening" within ${START_DEADLINE_MS} ms; log:\n${srv.log}`));
    }, START_DEADLINE_MS);
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => { srv.stdout += d; });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => {
      srv.log += d;
      if (settled) return;
      errBuf += d;
      let nl;
      while ((nl = errBuf.indexOf('\n')) >= 0) {
        const line = errBuf.slice(0, nl);
        errBuf = errBuf.slice(nl + 1);
        const port = portFromLine(line);
        if (port) {
          settled = true;
          clearTimeout(timer);
          srv.port = port;
          srv.url = `http://127.0.0.1:${port}`;
          resolve(srv);
          return;
        }
      }
    });
    proc.on('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    });
    proc.on('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const err = new Error(`server exited (code ${code}, signal ${signal}) before listening; log:\n${srv.log}`);
      // a binary being relinked by a concurrent build: worth another try (bounded)
      if (/cannot run .*(Permission denied|Text file busy)/.test(srv.log.slice(logStart))) err.code = 'ETXTBSY';
      reject(err);
    });
  });
}

/**
 * startServer({env, args, dataDir, token, store}) starts `switchyard serve` on 127.0.0.1:0 with a
 * fresh data directory. `token` is the admin token put in SWITCHYARD_ADMIN_TOKEN; pass
 * token: null to start without it. `env` values of null remove a variable.
 * With SY_TEST_STORE_PG set, each server gets a fresh PostgreSQL database of its own
 * (`--store URL`; the data directory still holds master.key and admin.token), kept across
 * restart() and dropped by cleanup(). `store: URL` puts the server on that database instead
 * (several nodes on one store), with or without SY_TEST_STORE_PG; `store: null` forces SQLite.
 * Returns {url, port, token, dataDir, store, proc, log, stdout, stop(), kill9(), restart(), cleanup()}.
 */
async function startServer(opts = {}) {
  let store = null;
  let ownStore = false;
  if (opts.store !== undefined) store = opts.store;
  else if (PG_BASE) { store = await pgCreateDb(); ownStore = true; }
  const dataDir = opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-test-'));
  const srv = {
    url: '',
    port: 0,
    token: opts.token === undefined ? randomToken('admin') : opts.token,
    dataDir,
    store, // the --store URL, or null for the SQLite store in dataDir
    env: { SWITCHYARD_HEARTBEAT_MS: '1000', ...(opts.env || {}) },
    args: opts.args || [],
    proc: null,
    exited: null,
    log: '', // everything the server wrote to stderr, across restarts
    stdout: '',
    /* SIGTERM, then waits. A server that needs SIGKILL, exits non-zero, or whose log holds a
     * sanitizer report fails the caller: shutting down cleanly is part of the contract. */
    async stop() {
      if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) {
        checkSanitizers(this.log);
        return;
      }
      this.proc.kill('SIGTERM');
      let forced = false;
      const t = setTimeout(() => { forced = true; try { this.proc.kill('SIGKILL'); } catch { /* gone */ } }, 10000);
      const r = await this.exited;
      clearTimeout(t);
      checkSanitizers(this.log);
      if (forced) throw new Error(`server ignored SIGTERM for 10 s; log tail:\n${this.log.slice(-2000)}`);
      if (r.code !== 0) throw new Error(`server exited with ${r.code}/${r.signal} on SIGTERM; log tail:\n${this.log.slice(-2000)}`);
      return r;
    },
    async kill9() {
      if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
      this.proc.kill('SIGKILL');
      return this.exited;
    },
    async restart(newOpts = {}) {
      await this.stop();
      if (newOpts.env) Object.assign(this.env, newOpts.env);
      if ('token' in newOpts) this.token = newOpts.token;
      await launchRetrying(this);
      return this;
    },
    async cleanup() {
      try {
        await this.stop();
      } finally {
        fs.rmSync(this.dataDir, { recursive: true, force: true });
        if (ownStore) await pgDropDb(this.store);
      }
    },
  };
  try {
    await launchRetrying(srv);
  } catch (e) {
    if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    if (ownStore) await pgDropDb(store);
    throw e;
  }
  return srv;
}

/* A binary being relinked at this moment (EACCES/ETXTBSY on spawn) is retried briefly. */
async function launchRetrying(srv) {
  for (let i = 0; ; i++) {
    try {
      return await launch(srv);
    } catch (e) {
      if (i >= 20 || !['EACCES', 'ETXTBSY'].includes(e.code)) throw e;
      await sleep(250);
    }
  }
}

/* One HTTP request with an exact path (node's http module sends it verbatim: no URL
 * normalisation of "..", "%2e%2e" or "//"). body: undefined (none), a string/Buffer (sent
 * raw), or any other value (sent as JSON). token: undefined → the server's admin token,
 * null → no Authorization header, any string → "Bearer <string>". */
function api(server, method, p, body, token, extraHeaders = {}) {
  const headers = { Connection: 'close', ...extraHeaders };
  const tok = token === undefined ? server.token : token;
  if (tok !== null && tok !== undefined && !('Authorization' in extraHeaders)) {
    headers.Authorization = `Bearer ${tok}`;
  }
  let payload = null;
  if (body !== undefined) {
    payload = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
    if (!('Content-Type' in headers)) headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = http.request(
      { host: '127.0.0.1', port: server.port, method, path: p, headers, agent: false },
      (res) => {
        responded = true;
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try { json = JSON.parse(text); } catch { /* not JSON */ }
          resolve({ status: res.statusCode, json, text, headers: res.headers });
        });
      },
    );
    req.setTimeout(30000, () => req.destroy(new Error(`${method} ${p}: no answer in 30 s`)));
    req.on('error', (e) => { if (!responded) reject(e); });
    if (payload) {
      req.write(payload, () => {}); // a server that answers early may reset: the response still counts
    }
    req.end();
  });
}

/* Sends bytes exactly as given over a fresh TCP connection and parses the HTTP/1.1
 * response (Content-Length, chunked, or until close). For request lines node refuses. */
function rawRequest(server, bytes) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(server.port, '127.0.0.1');
    const chunks = [];
    sock.setTimeout(30000, () => sock.destroy(new Error('raw request: no answer in 30 s')));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e) => { if (!chunks.length) reject(e); });
    sock.on('close', () => {
      const buf = Buffer.concat(chunks);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`raw request: no complete response (${JSON.stringify(buf.toString('latin1'))})`));
      const head = buf.slice(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
      if (!m) return reject(new Error(`raw request: bad status line ${head[0]}`));
      const headers = {};
      for (const h of head.slice(1)) {
        const i = h.indexOf(':');
        if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
      }
      let body = buf.slice(end + 4);
      if (/chunked/i.test(headers['transfer-encoding'] || '')) {
        const out = [];
        let i = 0;
        for (;;) {
          const le = body.indexOf('\r\n', i);
          if (le < 0) break;
          const n = parseInt(body.slice(i, le).toString('latin1'), 16);
          if (!n) break;
          out.push(body.slice(le + 2, le + 2 + n));
          i = le + 2 + n + 2;
        }
        body = Buffer.concat(out);
      } else if (headers['content-length'] !== undefined) {
        body = body.slice(0, Number(headers['content-length']));
      }
      const text = body.toString('utf8');
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      resolve({ status: Number(m[1]), json, text, headers });
    });
    sock.write(bytes);
  });
}

/* A raw request line with the server's admin token: method, exact target bytes, body. */
function rawApi(server, method, target, body, token) {
  const tok = token === undefined ? server.token : token;
  const b = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const head = Buffer.concat([
    Buffer.from(`${method} `, 'latin1'),
    Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'),
    Buffer.from(
      ` HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n` +
        (tok ? `Authorization: Bearer ${tok}\r\n` : '') +
        (body !== undefined ? `Content-Type: application/json\r\nContent-Length: ${b.length}\r\n` : '') +
        '\r\n',
      'latin1',
    ),
  ]);
  return rawRequest(server, Buffer.concat([head, b]));
}

/* Polls fn() until it returns a truthy value; throws with the last value or error when the
 * deadline passes. Never a fixed sleep: it returns as soon as the condition holds. */
async function waitFor(fn, deadlineMs = 5000, what = 'condition', intervalMs = 20) {
  const until = Date.now() + deadlineMs;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > until) {
      throw new Error(`waitFor(${what}) timed out after ${deadlineMs} ms; last value ${JSON.stringify(last)}${lastErr ? `; last error ${lastErr.stack || lastErr}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/* Parses one SSE block (lines up to a blank line) into items: comments become
 * {type:'comment', text}, retry fields {type:'retry', text}, and the event (if a data field
 * was set) {type:'event', id, event, data, json}. */
function parseSSEBlock(block) {
  const items = [];
  let id;
  let event;
  const data = [];
  let any = false;
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line === '') continue;
    if (line.startsWith(':')) {
      items.push({ type: 'comment', text: line.slice(1).trim() });
      continue;
    }
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') { data.push(value); any = true; }
    else if (field === 'retry') items.push({ type: 'retry', text: value });
  }
  // As in the SSE spec, a block dispatches an event only if it carried data.
  if (any) {
    const d = data.join('\n');
    let json = null;
    try { json = JSON.parse(d); } catch { /* not JSON */ }
    items.push({ type: 'event', id, event: event || 'message', data: d, json });
  }
  return items;
}

/**
 * Opens an SSE stream with fetch. Returns {status, headers, next(deadlineMs), nextEvent(pred,
 * deadlineMs), close(), items} where next() yields the next item (events and comments, in
 * order), nextEvent() the next event for which pred(ev) holds (other items are skipped but
 * kept in `items`), and [Symbol.asyncIterator] yields items until the stream ends.
 */
async function openSSE(server, p, { token, headers = {} } = {}) {
  const ctl = new AbortController();
  const tok = token === undefined ? server.token : token;
  const h = { Accept: 'text/event-stream', ...headers };
  if (tok) h.Authorization = `Bearer ${tok}`;
  const res = await fetch(server.url + p, { headers: h, signal: ctl.signal });
  const queue = [];
  const waiters = [];
  const items = [];
  let ended = false;
  let endErr = null;
  const push = (it) => {
    items.push(it);
    if (waiters.length) waiters.shift().resolve(it);
    else queue.push(it);
  };
  const finish = (err) => {
    ended = true;
    endErr = err || null;
    while (waiters.length) waiters.shift().reject(err || new Error('SSE stream ended'));
  };
  const ct = res.headers.get('content-type') || '';
  if (res.ok && res.body && ct.includes('text/event-stream')) {
    (async () => {
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let m;
          while ((m = /\r\n\r\n|\n\n|\r\r/.exec(buf))) {
            const block = buf.slice(0, m.index);
            buf = buf.slice(m.index + m[0].length);
            for (const it of parseSSEBlock(block)) push(it);
          }
        }
        finish(null);
      } catch (e) {
        finish(e);
      }
    })();
  }
  const stream = {
    status: res.status,
    headers: res.headers,
    res,
    items,
    body: null,
    get ended() { return ended; },
    next(deadlineMs = 5000) {
      if (queue.length) return Promise.resolve(queue.shift());
      if (ended) return Promise.reject(endErr || new Error('SSE stream ended'));
      return new Promise((resolve, reject) => {
        const w = {};
        const t = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no SSE item within ${deadlineMs} ms`));
        }, deadlineMs);
        w.resolve = (v) => { clearTimeout(t); resolve(v); };
        w.reject = (e) => { clearTimeout(t); reject(e); };
        waiters.push(w);
      });
    },
    async nextEvent(pred = () => true, deadlineMs = 5000) {
      const until = Date.now() + deadlineMs;
      for (;;) {
        const left = until - Date.now();
        if (left <= 0) throw new Error(`no matching SSE event within ${deadlineMs} ms`);
        const it = await stream.next(left);
        if (it.type === 'event' && pred(it)) return it;
      }
    },
    close() {
      try { ctl.abort(); } catch { /* already closed */ }
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        let it;
        try { it = await stream.next(60000); } catch { return; }
        yield it;
      }
    },
  };
  if (!(res.ok && ct.includes('text/event-stream'))) {
    stream.body = await res.text().catch(() => '');
  }
  return stream;
}

/* Encodes a parameter name for the URL: names never need percent-encoding. */
function pp(name, suffix = '') {
  return `/api/v1/params${name}${suffix}`;
}

/* All parameters under path (recursive), following `next`. */
async function listAll(server, p = '/', recursive = true) {
  const out = [];
  let next = null;
  for (let i = 0; i < 10000; i++) {
    const q = `/api/v1/params?path=${encodeURIComponent(p)}&recursive=${recursive}&limit=1000${next ? `&next=${encodeURIComponent(next)}` : ''}`;
    const r = await api(server, 'GET', q);
    if (r.status !== 200) throw new Error(`list ${q} → ${r.status} ${r.text}`);
    out.push(...r.json.params);
    next = r.json.next;
    if (!next) break;
  }
  return out;
}

/* A snapshot of the whole store (names and versions, plus the audit length) to compare
 * before and after a refused request. */
async function storeSnapshot(server) {
  const params = await listAll(server, '/', true);
  const audit = await api(server, 'GET', '/api/v1/admin/audit?limit=1');
  return {
    params: params.map((p) => `${p.name}@${p.version}`).sort(),
    lastSeq: audit.status === 200 && audit.json.records.length ? audit.json.records[0].seq : 0,
  };
}

async function assertHealthy(server) {
  const r = await api(server, 'GET', '/health', undefined, null);
  if (r.status !== 200 || !r.json || r.json.status !== 'ok') {
    throw new Error(`server not healthy: ${r.status} ${r.text}\nlog tail:\n${server.log.slice(-2000)}`);
  }
}

// The environment a child process starts from: nothing inherited that could point the CLI
// or the aws CLI elsewhere.
function cleanEnv(extra) {
  const env = { ...process.env };
  for (const k of ['SWITCHYARD_URL', 'SWITCHYARD_TOKEN', 'SWITCHYARD_ADMIN_TOKEN']) delete env[k];
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  return { ...env, ...extra };
}

// Runs a program; resolves with { code, stdout, stderr, raw } once it exits. input goes to stdin.
function spawnRun(bin, argv, env, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const raw = Buffer.concat(out);
      resolve({ code: signal ? `signal ${signal}` : code, stdout: raw.toString(), stderr: Buffer.concat(err).toString(), raw });
    });
    child.stdin.on('error', () => {}); // the program need not read stdin
    child.stdin.end(input === undefined ? '' : input);
  });
}

// The CLI against a server: run(args, {token, env, input, noServerFlag}), ok(args) requires
// exit 0, fails(code, args) requires that exit code. target() gives {url, token} when called,
// so a runner can be made before the server is started.
function cliRunner(bin, target) {
  const run = (args, opts = {}) => {
    const { url, token: dflt } = target();
    const token = opts.token === undefined ? dflt : opts.token;
    const env = Object.assign(cleanEnv(token === null ? {} : { SWITCHYARD_TOKEN: token }), opts.env || {});
    return spawnRun(bin, opts.noServerFlag ? args : ['--server', url, ...args], env, opts.input);
  };
  const ok = async (args, opts) => {
    const r = await run(args, opts);
    assert.equal(r.code, 0, `switchyard ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  };
  const fails = async (code, args, opts) => {
    const r = await run(args, opts);
    assert.equal(r.code, code, `switchyard ${args.join(' ')} exited ${r.code}, wanted ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  };
  return { run, ok, fails };
}

/* Why a test cannot run against PostgreSQL, for `{ skip: sqliteOnly('...') }`: false (run it)
 * unless SY_TEST_STORE_PG is set, then 'SQLite-specific: <why>'. */
function sqliteOnly(why) {
  return PG_BASE ? `SQLite-specific: ${why}` : false;
}

/* For a test that starts no server on the store (a build, a document, `make run` on its own data):
 * `{ skip: storeIndependent() }` runs it once, in the SQLite pass, not again against PostgreSQL. */
function storeIndependent() {
  return PG_BASE ? 'store-independent: no server on the store under test; the SQLite pass runs it' : false;
}

module.exports = {
  PG_BASE,
  storeIndependent,
  PG_DIR,
  pgBin,
  pgSql,
  pgCreateDb,
  pgDropDb,
  pgUrlWithDb,
  sqliteOnly,
  cleanEnv,
  spawnRun,
  cliRunner,
  startServer,
  api,
  rawApi,
  rawRequest,
  waitFor,
  openSSE,
  parseSSEBlock,
  sleep,
  sha256hex,
  randomToken,
  pp,
  listAll,
  storeSnapshot,
  assertHealthy,
  portFromLine,
};

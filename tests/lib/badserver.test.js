// badserver.test.js — a fake server (node) answers /api/v1/snapshot and /api/v1/watch with
// what no Switchyard server sends: malformed JSON, an event over 2 MiB, an event that never
// ends, a stream that stalls without closing, garbage status codes. The client keeps its last
// good state, reports the problem (sy_client_state's last_error_msg, a warn/error log line),
// never crashes, and recovers when the fake server becomes good again, with no change lost.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { waitFor } = require('../api/helpers.js');
const { startProbe, finish, DEADLINE } = require('./probe.js');

const TOKEN = 'fake-server-token-0123456789';
const STORE = '5eed0000feedbeef';

class Fake {
  constructor() {
    this.snapMode = 'good';
    this.watchMode = 'good';
    this.seq = 5;
    this.params = new Map([['/f/a', { name: '/f/a', type: 'String', version: 1, value: 'good1' }],
      ['/f/b', { name: '/f/b', type: 'String', version: 3, value: 'bee' }]]);
    this.log = []; // [{seq, action, name, version, type, value}]
    this.requests = []; // {path, query, headers, mode}
    this.streams = new Set(); // open good watch responses
    this.open = new Set(); // every open watch response
  }

  listen() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
    return new Promise((r) => this.server.listen(0, '127.0.0.1', () => {
      this.url = `http://127.0.0.1:${this.server.address().port}`;
      r();
    }));
  }

  close() {
    for (const r of this.open) r.destroy();
    this.server.closeAllConnections?.();
    return new Promise((r) => this.server.close(() => r()));
  }

  count(path, mode) {
    return this.requests.filter((q) => q.path === path && q.mode === mode).length;
  }

  /* a change in the fake store, sent to every good stream */
  put(name, value) {
    const old = this.params.get(name);
    const p = { name, type: 'String', version: old ? old.version + 1 : 1, value };
    this.params.set(name, p);
    const ev = { seq: ++this.seq, action: 'put', ...p, time: new Date().toISOString() };
    this.log.push(ev);
    for (const r of this.streams) this.send(r, ev);
    return ev;
  }

  send(res, ev) {
    res.write(`id: ${ev.seq}\nevent: change\ndata: ${JSON.stringify(ev)}\n\n`);
  }

  /* ends every open watch stream (the client must reconnect) */
  drop() {
    for (const r of this.open) r.destroy();
  }

  handle(req, res) {
    const u = new URL(req.url, 'http://x');
    const mode = u.pathname === '/api/v1/snapshot' ? this.snapMode : u.pathname === '/api/v1/watch' ? this.watchMode : null;
    this.requests.push({ path: u.pathname, query: Object.fromEntries(u.searchParams), headers: req.headers, mode });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end('{"error":"Unauthorized"}');
      return;
    }
    if (mode === null) {
      res.writeHead(404);
      res.end();
      return;
    }
    const status = /^status(\d+)$/.exec(mode);
    if (status) {
      res.writeHead(Number(status[1]), { 'Content-Type': 'text/plain' });
      res.end('garbage status');
      return;
    }
    if (mode === 'html') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html><body>a proxy login page</body></html>');
      return;
    }
    if (u.pathname === '/api/v1/snapshot') return this.snapshot(mode, res);
    return this.watch(mode, req, res);
  }

  snapshot(mode, res) {
    const body = { format: 'switchyard-snapshot/1', store: STORE, seq: this.seq, params: [...this.params.values()] };
    const h = { 'Content-Type': 'application/json', 'X-Switchyard-Store': STORE };
    if (mode === 'good') {
      res.writeHead(200, h);
      res.end(JSON.stringify(body));
    } else if (mode === 'malformed') {
      res.writeHead(200, h);
      res.end(JSON.stringify(body).slice(0, 40));
    } else if (mode === 'wrongformat') {
      res.writeHead(200, h);
      res.end(JSON.stringify({ ...body, format: 'switchyard-snapshot/99' }));
    } else if (mode === 'wrongshape') {
      res.writeHead(200, h);
      res.end(JSON.stringify({ ...body, params: [{ name: 42, version: 'x' }, 'nope'] }));
    } else if (mode === 'hang') {
      res.writeHead(200, h);
      res.write('{"format":"switchyard-snapshot/1",'); // and nothing more
      this.open.add(res);
      res.on('close', () => this.open.delete(res));
    } else {
      throw new Error(`no snapshot mode ${mode}`);
    }
  }

  watch(mode, req, res) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Switchyard-Store': STORE });
    this.open.add(res);
    let hb = null;
    res.on('close', () => {
      this.open.delete(res);
      this.streams.delete(res);
      if (hb) clearInterval(hb);
    });
    const heartbeat = () => { hb = setInterval(() => res.write(': heartbeat\n\n'), 100); };
    const next = this.seq + 1; // what a bad event claims to be
    if (mode === 'good') {
      const last = Number(req.headers['last-event-id'] ?? new URL(req.url, 'http://x').searchParams.get('since') ?? this.seq);
      for (const ev of this.log) if (ev.seq > last) this.send(res, ev);
      this.streams.add(res);
      heartbeat();
    } else if (mode === 'malformed') {
      res.write(`id: ${next}\nevent: change\ndata: {"seq":${next},"action":"put","name":"/f/a","vers\n\n`);
      heartbeat();
    } else if (mode === 'badfields') {
      res.write(`id: ${next}\nevent: change\ndata: {"seq":"seven","action":17,"name":null}\n\n`);
      heartbeat();
    } else if (mode === 'oversize') {
      const v = 'x'.repeat(3 * 1024 * 1024);
      res.write(`id: ${next}\nevent: change\ndata: {"seq":${next},"action":"put","name":"/f/a","version":2,"type":"String","value":"${v}"}\n\n`);
      heartbeat();
    } else if (mode === 'endless') {
      // data lines forever, never the blank line that ends the event (bounded at 64 MiB)
      const line = `data: ${'y'.repeat(64 * 1024)}\n`;
      let sent = 0;
      res.write(`id: ${next}\nevent: change\n`);
      const pump = () => {
        while (!res.destroyed && sent < 64 * 1024 * 1024) {
          sent += line.length;
          if (!res.write(line)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
    } else if (mode === 'stall') {
      res.flushHeaders();
      // nothing more, never closed: only the client's stall timeout ends it
    } else {
      throw new Error(`no watch mode ${mode}`);
    }
  }
}

let fake;
before(async () => {
  fake = new Fake();
  await fake.listen();
});
after(async () => {
  if (fake) await fake.close();
});

function probe(extra = []) {
  return startProbe(['--server', fake.url, '--token', TOKEN, '--prefix', '/f/', '--stall-ms', '700', '--request-ms', '1500',
    '--connect-ms', '1000', '--backoff', '20', '200', ...extra]);
}

const problems = (p) => p.logs().filter((e) => e.level === 'warn' || e.level === 'error').length;

describe('a misbehaving server', () => {
  for (const threading of ['threaded', 'event loop']) {
    it(`bad change streams: the last good state stays, the problem is reported, it recovers (${threading})`, async () => {
      const p = probe(threading === 'threaded' ? ['--start-timeout', '5000'] : ['--no-thread']);
      assert.deepEqual((await p.ready).violations, []);
      await p.waitState((s) => s.state === 'synced', DEADLINE, 'synced with the fake server');
      await p.waitValue('/f/a', 'good1');
      const snapReq = fake.requests.find((q) => q.path === '/api/v1/snapshot');
      assert.equal(snapReq.query.prefix, '/f/');
      const watchReq = fake.requests.find((q) => q.path === '/api/v1/watch');
      assert.equal(watchReq.query.prefix, '/f/');
      assert.equal(Number(watchReq.headers['last-event-id'] ?? watchReq.query.since), fake.seq, 'the stream resumes from the snapshot');

      const seen = {};
      for (const mode of ['malformed', 'badfields', 'oversize', 'endless', 'stall', 'status500', 'status418', 'status302', 'status204', 'html']) {
        const before = await p.get('/f/a');
        const logsBefore = problems(p);
        const n0 = fake.count('/api/v1/watch', mode);
        fake.watchMode = mode;
        fake.drop();
        // the client met the bad stream at least twice: it gave up on it and tried again
        await waitFor(() => fake.count('/api/v1/watch', mode) >= n0 + 2, DEADLINE, `two ${mode} streams served`);
        const st = await p.waitState((s) => s.last_error !== 0 && s.last_error_msg.length > 0, DEADLINE, `an error for ${mode}`);
        seen[mode] = `${st.last_error}: ${st.last_error_msg}`;
        await waitFor(() => problems(p) > logsBefore, DEADLINE, `a warn/error log line for ${mode}`);
        const g = await p.get('/f/a');
        assert.equal(g.value, before.value, `the value changed after a ${mode} stream`);
        assert.equal(g.version, before.version);
        assert.equal((await p.cmd('snap')).count, 2, `the snapshot changed after a ${mode} stream`);

        // good again: a change made meanwhile arrives, and nothing was skipped
        fake.watchMode = 'good';
        const ev = fake.put('/f/a', `after-${mode}`);
        await p.waitValue('/f/a', `after-${mode}`);
        assert.equal((await p.get('/f/a')).version, ev.version);
        await p.waitState((s) => s.state === 'synced' && s.seq === ev.seq, DEADLINE, `synced after ${mode}`);
        // (had the client taken the bad event, which claimed the same seq, as seen, it would have
        // resumed after it and never got this change, unless from a new snapshot)
      }
      const st = await p.state();
      assert.equal(st.last_error, 0, `SY_OK once synced again: ${JSON.stringify(st)}`);
      assert.equal((await p.get('/f/b')).value, 'bee');
      for (const [m, e] of Object.entries(seen)) console.log(`# ${threading} ${m} → ${e}`);
      await finish(p, [TOKEN]);
    });
  }

  it('bad snapshots at start: nothing is served, the problem is reported, it recovers', async () => {
    fake.watchMode = 'good';
    const seen = {};
    fake.snapMode = 'malformed';
    const p = probe(['--start-timeout', '300']);
    assert.deepEqual((await p.ready).violations, []);
    for (const mode of ['malformed', 'wrongformat', 'wrongshape', 'hang', 'status500', 'status418', 'html']) {
      const n0 = fake.count('/api/v1/snapshot', mode);
      const logsBefore = problems(p);
      fake.snapMode = mode;
      await waitFor(() => fake.count('/api/v1/snapshot', mode) >= n0 + 2, DEADLINE, `two ${mode} snapshots served`);
      const st = await p.waitState((s) => s.last_error !== 0 && s.last_error_msg.length > 0, DEADLINE, `an error for ${mode}`);
      seen[mode] = `${st.last_error}: ${st.last_error_msg}`;
      assert.notEqual(st.state, 'synced');
      await waitFor(() => problems(p) > logsBefore, DEADLINE, `a warn/error log line for ${mode}`);
      assert.equal((await p.get('/f/a')).rc, 3, `a value from a ${mode} snapshot`);
      assert.equal((await p.cmd('snap')).count, 0);
    }
    fake.snapMode = 'good';
    const ev = fake.put('/f/a', 'after-bad-snapshots');
    await p.waitValue('/f/a', 'after-bad-snapshots');
    await p.waitState((s) => s.state === 'synced' && s.seq === ev.seq, DEADLINE, 'synced');
    for (const [m, e] of Object.entries(seen)) console.log(`# snapshot ${m} → ${e}`);
    await finish(p, [TOKEN]);
  });
});

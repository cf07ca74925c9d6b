// slowclient.test.js — slow, stalled, idle and too many clients cost the server a bounded
// amount: a body that can never fit is refused before it is sent, a request whose head or body
// stops arriving is cut after its timeout (header/body timeouts), an idle keep-alive connection
// after the idle timeout, and one address holds at most --max-conns-per-ip connections. A watch
// stream is a response, not a slow request: the header and body timeouts never cut it.
// Every timing here is an ordering (this connection was closed while that one was still open)
// or a generous deadline; the server is started with short timeouts so both are quick.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const tls = require('node:tls');
const crypto = require('node:crypto');
const { startServer, api, pp, waitFor, openSSE, assertHealthy } = require('./helpers');
const { RawConn, buildRequest, saysClose } = require('./rawhttp');

const HEADER_MS = 1000;
const BODY_MS = 1000;
const IDLE_MS = 8000; // well above the others, so "closed by the header/body timeout while an idle one is open" is a clear ordering
const PER_IP = 20;

const RUN = crypto.randomBytes(3).toString('hex');
let seq = 0;
const uniq = (tag) => `/slow/${tag}-${RUN}-${++seq}`;

const host = (srv) => `Host: 127.0.0.1:${srv.port}`;
const auth = (srv) => `Authorization: Bearer ${srv.token}`;

/* A keep-alive connection that has had one complete request answered and now sits idle. */
async function idleConn(srv, localAddress) {
  const c = await RawConn.open(srv.port, '127.0.0.1', 10000, localAddress);
  await c.write(buildRequest('GET /health HTTP/1.1', [host(srv)]));
  const r = await c.readResponse(10000);
  assert.ok(r, `no answer to GET /health on a fresh connection (closed: ${c.closed}, error: ${c.error && c.error.code})`);
  assert.equal(r.status, 200, r.text);
  assert.equal(c.closed, false, 'the server closed a keep-alive connection after one request');
  return c;
}

/* idleConn, retried for a few seconds: connections the previous test closed may still be
 * counted against the address for a moment. A cap that is too low still fails (at the deadline). */
function heldConn(srv) {
  return waitFor(async () => {
    try {
      return await idleConn(srv);
    } catch {
      return null;
    }
  }, 5000, 'a held keep-alive connection');
}

/* A connection whose request head has started but will never end. */
async function partialHeadConn(srv, localAddress) {
  const c = await RawConn.open(srv.port, '127.0.0.1', 10000, localAddress);
  await c.write(`GET /health HTTP/1.1\r\n${host(srv)}\r\nX-Pad: a`);
  return c;
}

/* After a timeout, a connection may carry a 408 before the close; nothing else. */
async function assertTimedOutCleanly(c, what) {
  const r = await c.readResponse(1000).catch((e) => ({ status: 'unparsable', text: String(e) }));
  if (r) {
    assert.equal(r.status, 408, `${what}: the only answer allowed before the close is 408, got ${r.status} ${r.text}`);
    if (r.json && r.json.error) assert.equal(r.json.error.code, 'RequestTimeout', `${what}: ${r.text}`);
  }
}

/* A ClientHello as node's TLS client sends it (captured by a plain TCP listener). */
function clientHello() {
  return new Promise((resolve, reject) => {
    let done = false;
    let client = null;
    const srv = net.createServer((c) => {
      c.once('data', (d) => {
        done = true;
        clearTimeout(t);
        resolve(d);
        c.destroy();
        if (client) client.destroy();
        srv.close();
      });
    });
    const t = setTimeout(() => { if (!done) { srv.close(); reject(new Error('no ClientHello captured in 5 s')); } }, 5000);
    srv.listen(0, '127.0.0.1', () => {
      client = tls.connect({ port: srv.address().port, host: '127.0.0.1', servername: 'switchyard.test', rejectUnauthorized: false });
      client.on('error', () => { /* the listener never answers */ });
    });
  });
}

/* Does this log line name the limit n: a field of a JSON line (other than its time) equal to n
 * or holding n as a number of its own, or n standing alone in a plain line? */
function namesNumber(line, n) {
  const alone = new RegExp(`(^|[^0-9.])${n}([^0-9.]|$)`);
  let o = null;
  try { o = JSON.parse(line); } catch { /* a plain line */ }
  if (o && typeof o === 'object') {
    return Object.entries(o).some(([k, v]) => k !== 'time' && (v === n || (typeof v === 'string' && alone.test(v))));
  }
  return alone.test(line.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z?/g, ''));
}

const allConns = new Set();
const track = (c) => { allConns.add(c); return c; };
const closeAll = () => { for (const c of allConns) c.destroy(); allConns.clear(); };

describe('with short timeouts (from the environment)', () => {
  let S;
  before(async () => {
    S = await startServer({
      env: {
        SWITCHYARD_HEADER_TIMEOUT_MS: HEADER_MS,
        SWITCHYARD_BODY_TIMEOUT_MS: BODY_MS,
        SWITCHYARD_IDLE_TIMEOUT_MS: IDLE_MS,
        SWITCHYARD_MAX_CONNS_PER_IP: PER_IP,
        SWITCHYARD_HEARTBEAT_MS: 60000, // a silent watch stream: nothing but the request itself keeps it
      },
    });
  });
  after(async () => {
    closeAll();
    if (S) await S.cleanup();
  });

  /* A PUT announcing len bytes and sending none is refused with 413 and a close. */
  async function tooLargeAtOnce(len) {
    const n = uniq('big');
    const c = track(await RawConn.open(S.port));
    await c.write(buildRequest(`PUT ${pp(n)} HTTP/1.1`, [host(S), auth(S), 'Content-Type: application/json', `Content-Length: ${len}`]));
    // no body is ever sent: a server that waits for it answers 408 or nothing, not 413
    const r = await c.readResponse(10000);
    assert.ok(r, `Content-Length ${len}: no answer before the body (closed: ${c.closed})`);
    assert.equal(r.status, 413, `Content-Length ${len}: ${r.status} ${r.text}`);
    assert.ok(r.json && r.json.error, r.text);
    assert.equal(r.json.error.code, 'PayloadTooLarge', r.text);
    assert.ok(saysClose(r), `413 without Connection: close: ${JSON.stringify(r.headers)}`);
    assert.ok(await c.waitClosed(5000), 'the connection stayed open after the 413');
    c.destroy();
    assert.equal((await api(S, 'GET', pp(n))).status, 404);
  }

  it('Content-Length: 104857600 → 413 PayloadTooLarge at once, before any body byte, with close', async () => {
    await tooLargeAtOnce(104857600);
  });

  it('Content-Length just over the 1 MiB limit (1048577, 2 MiB, 10 MiB) → 413 at once too', async () => {
    for (const len of [1048577, 2 * 1048576, 10 * 1048576]) await tooLargeAtOnce(len);
  });

  it('a body that stops after 10 of 1000 bytes is cut by the body timeout, while an idle keep-alive connection stays', async () => {
    const n = uniq('stall');
    const idle = track(await idleConn(S));
    const c = track(await RawConn.open(S.port));
    await c.write(buildRequest(`PUT ${pp(n)} HTTP/1.1`, [host(S), auth(S), 'Content-Type: application/json', 'Content-Length: 1000'], '{"value":"'));
    // the server's own default connection timeout was 300 s; the body timeout is 1 s
    assert.ok(await c.waitClosed(10 * BODY_MS), `a stalled body was not cut within ${10 * BODY_MS} ms`);
    assert.equal(idle.closed, false, 'the idle keep-alive connection (idle timeout 8 s) was closed before the stalled body (body timeout 1 s): the stall was not what cut it');
    await assertTimedOutCleanly(c, 'stalled body');
    idle.destroy();
    c.destroy();
    assert.equal((await api(S, 'GET', pp(n))).status, 404, 'a stalled request was executed');
    await assertHealthy(S);
  });

  it('slowloris: one header byte every 200 ms is cut after about the header timeout', async () => {
    const idle = track(await idleConn(S));
    const c = track(await RawConn.open(S.port));
    const head = `GET /health HTTP/1.1\r\n${host(S)}\r\nX-Pad: ${'a'.repeat(200)}`;
    const steps = Math.ceil((5 * HEADER_MS) / 200); // it must not survive 5× the header timeout
    let sent = 0;
    for (let i = 0; i < steps && i < head.length && !c.closed; i++) {
      await c.write(head[i]);
      sent++;
      await c.stillOpenAfter(200); // the drip's pace, cut short when the server closes
    }
    assert.ok(c.closed, `a header dripped at 5 bytes/s survived ${sent} bytes (${sent * 200} ms, 5× the header timeout)`);
    assert.equal(idle.closed, false, 'the idle keep-alive connection was closed first: the drip was not what got cut');
    await assertTimedOutCleanly(c, 'slowloris');
    idle.destroy();
    c.destroy();
    await assertHealthy(S);
  });

  it('a TLS ClientHello on the plain port is answered or closed, and the server lives', async () => {
    const hello = await clientHello();
    assert.equal(hello[0], 0x16, 'the captured bytes are not a TLS handshake record');
    const c = track(await RawConn.open(S.port));
    await c.write(hello);
    const r = await c.readResponse(10 * HEADER_MS).catch(() => null);
    if (r) assert.ok(r.status >= 400 && r.status < 500, `a ClientHello was answered ${r.status} ${r.text}`);
    else assert.ok(c.closed, `a ClientHello was neither answered nor closed within ${10 * HEADER_MS} ms`);
    c.destroy();
    await assertHealthy(S);
  });

  it('an idle keep-alive connection is closed by the idle timeout, after a stalled head was cut by the header timeout', async () => {
    const idle = track(await idleConn(S));
    const head = track(await partialHeadConn(S));
    assert.ok(await head.waitClosed(10 * HEADER_MS), `a request head that never ends was not cut within ${10 * HEADER_MS} ms`);
    assert.equal(idle.closed, false, 'the idle connection was closed no later than the stalled head: idle is cut by the header timeout');
    assert.ok(await idle.waitClosed(3 * IDLE_MS), `an idle keep-alive connection outlived 3× the idle timeout (${3 * IDLE_MS} ms)`);
    await assertTimedOutCleanly(idle, 'idle keep-alive');
    idle.destroy();
    head.destroy();
    await assertHealthy(S);
  });

  it('a watch stream outlives 3× the header timeout and still delivers an event', async () => {
    const stream = await openSSE(S, '/api/v1/watch?prefix=/x');
    try {
      assert.equal(stream.status, 200, stream.body);
      // three request heads that never end, one after another, each cut by the header timeout:
      // by the third close, the stream has been open longer than 3× the header timeout
      for (let i = 0; i < 3; i++) {
        const ref = track(await partialHeadConn(S));
        assert.ok(await ref.waitClosed(10 * HEADER_MS), `reference head ${i + 1} was not cut by the header timeout within ${10 * HEADER_MS} ms`);
        ref.destroy();
        assert.equal(stream.ended, false, `the watch stream ended after ${i + 1} header timeout(s)`);
      }
      const name = `/x/w-${RUN}`;
      const w = await api(S, 'PUT', pp(name), { value: 'v', type: 'String' });
      assert.equal(w.status, 200, w.text);
      const ev = await stream.nextEvent((e) => e.json && e.json.name === name, 5000);
      assert.equal(ev.json.action, 'put');
    } finally {
      stream.close();
    }
  });

  describe('connections per address', () => {
    it(`the ${PER_IP + 1}st connection from 127.0.0.1 is closed at once with no response, and logged`, async () => {
      const held = [];
      try {
        for (let i = 0; i < PER_IP; i++) held.push(track(await heldConn(S)));
        // a request head from another address, started just before: if the extra connection were
        // only cut by the header timeout, this one would be cut no later
        const other = track(await partialHeadConn(S, '127.0.0.2'));
        const extra = track(await RawConn.open(S.port));
        assert.ok(await extra.waitClosed(10 * HEADER_MS), `connection ${PER_IP + 1} from 127.0.0.1 was not closed`);
        assert.equal(extra.received.length, 0, `connection ${PER_IP + 1} got bytes: ${JSON.stringify(extra.received.toString('latin1').slice(0, 200))}`);
        assert.equal(other.closed, false, `connection ${PER_IP + 1} was closed no sooner than a header timeout: the cap did not close it`);
        assert.ok(held.every((c) => !c.closed), 'a held connection was closed');
        const line = await waitFor(
          () => S.log.split('\n').find((l) => /too many connections/i.test(l) && l.includes('127.0.0.1') && namesNumber(l, PER_IP)),
          5000, 'a "too many connections" log line naming 127.0.0.1 and the limit');
        assert.ok(line);
        other.destroy();
      } finally {
        for (const c of held) c.destroy();
      }
    });

    it('another address is not counted against 127.0.0.1', async () => {
      const held = [];
      try {
        for (let i = 0; i < PER_IP; i++) held.push(track(await heldConn(S)));
        const c = track(await idleConn(S, '127.0.0.2'));
        c.destroy();
      } finally {
        for (const c of held) c.destroy();
      }
    });

    it('after some connections close, new ones are accepted again', async () => {
      const held = [];
      try {
        for (let i = 0; i < PER_IP; i++) held.push(track(await heldConn(S)));
        const extra = track(await RawConn.open(S.port));
        assert.ok(await extra.waitClosed(10 * HEADER_MS), 'the cap did not close the extra connection');
        for (const c of held.splice(0, 5)) c.destroy();
        // the server sees the closes asynchronously: retry (bounded) until a new connection is served
        const r = await waitFor(async () => {
          const c = track(await RawConn.open(S.port));
          try {
            await c.write(buildRequest('GET /health HTTP/1.1', [host(S), 'Connection: close']));
            const res = await c.readResponse(2000);
            return res && res.status === 200 ? res : null;
          } finally {
            c.destroy();
          }
        }, 5000, 'a new connection served after closing 5');
        assert.equal(r.status, 200);
        // and up to the cap again: 15 held + 5 = 20
        // (the server counts a probe above until it has seen it close: retry, bounded)
        for (let i = 0; i < 5; i++) held.push(track(await waitFor(() => heldConn(S), 5000, `held connection ${16 + i}`)));
      } finally {
        for (const c of held) c.destroy();
      }
      // the server may still count the connections just closed: a refused probe is retried
      await waitFor(async () => { await assertHealthy(S); return true; }, 5000, 'healthy after the cap test');
    });
  });
});

describe('the command-line options', () => {
  let T;
  before(async () => {
    T = await startServer({
      args: ['--header-timeout', String(HEADER_MS), '--body-timeout', String(BODY_MS), '--idle-timeout', String(IDLE_MS), '--max-conns-per-ip', '3'],
    });
  });
  after(async () => {
    closeAll();
    if (T) await T.cleanup();
  });

  it('--max-conns-per-ip 3: the 4th connection is closed with no response, and logged with the limit', async () => {
    const held = [];
    try {
      for (let i = 0; i < 3; i++) held.push(track(await heldConn(T)));
      const extra = track(await RawConn.open(T.port));
      assert.ok(await extra.waitClosed(10 * HEADER_MS), 'the 4th connection was not closed');
      assert.equal(extra.received.length, 0, 'the 4th connection got a response');
      assert.ok(held.every((c) => !c.closed), 'a held connection was closed');
      await waitFor(() => T.log.split('\n').find((l) => /too many connections/i.test(l) && l.includes('127.0.0.1') && namesNumber(l, 3)),
        5000, 'a "too many connections" log line naming 127.0.0.1 and 3');
    } finally {
      for (const c of held) c.destroy();
    }
  });

  it('--header-timeout and --body-timeout cut a stalled head and a stalled body before --idle-timeout cuts an idle connection', async () => {
    const n = uniq('cli-stall');
    const idle = track(await heldConn(T));
    const head = track(await partialHeadConn(T));
    assert.ok(await head.waitClosed(10 * HEADER_MS), 'a stalled head was not cut');
    assert.equal(idle.closed, false, 'the idle connection was cut first');
    head.destroy();
    const body = track(await RawConn.open(T.port));
    await body.write(buildRequest(`PUT ${pp(n)} HTTP/1.1`, [host(T), auth(T), 'Content-Type: application/json', 'Content-Length: 1000'], '{"value":"'));
    assert.ok(await body.waitClosed(10 * BODY_MS), 'a stalled body was not cut');
    assert.equal(idle.closed, false, 'the idle connection was cut before the stalled body');
    body.destroy();
    idle.destroy();
    assert.equal((await api(T, 'GET', pp(n))).status, 404);
  });
});

describe('SWITCHYARD_MAX_CONNS_PER_IP=0 means no cap', () => {
  let U;
  before(async () => {
    U = await startServer({ env: { SWITCHYARD_MAX_CONNS_PER_IP: 0 } });
  });
  after(async () => {
    closeAll();
    if (U) await U.cleanup();
  });

  it(`${2 * PER_IP} connections from one address are all served and kept`, async () => {
    const held = [];
    try {
      for (let i = 0; i < 2 * PER_IP; i++) held.push(track(await idleConn(U)));
      assert.ok(held.every((c) => !c.closed), 'a connection was closed');
      await assertHealthy(U);
    } finally {
      for (const c of held) c.destroy();
    }
  });
});

describe('connections cut by a timeout leave nothing behind', () => {
  it('after partial heads and queries of hundreds of parameters are answered or cut, SIGTERM stops the server (exit 0, within the 10 s of stop())', async () => {
    const V = await startServer({ env: { SWITCHYARD_HEADER_TIMEOUT_MS: HEADER_MS, SWITCHYARD_BODY_TIMEOUT_MS: BODY_MS } });
    try {
      const queries = [];
      for (let round = 0; round < 2; round++) {
        for (const n of [300, 400, 1000]) for (const unit of ['&label=a', '&a=1']) queries.push(`?x=1${unit.repeat(n)}`);
        queries.push(`?x=1${'&'.repeat(600)}`, `?x=1${'&'.repeat(2000)}`);
      }
      const conns = [];
      for (const q of queries) {
        const c = track(await RawConn.open(V.port));
        await c.write(buildRequest(`GET ${pp('/slow/q')}${q} HTTP/1.1`, [host(V), auth(V), 'Connection: close']));
        conns.push(c);
      }
      for (let i = 0; i < 2; i++) conns.push(track(await partialHeadConn(V)));
      // each is answered (at once, for a complete request) or cut by the header timeout
      for (const c of conns) {
        assert.ok(await c.waitClosed(10 * HEADER_MS), 'a connection was neither answered and closed nor cut');
        c.destroy();
      }
      await assertHealthy(V);
    } finally {
      await V.cleanup(); // throws if SIGTERM is ignored for 10 s or the exit code is not 0
    }
  });
});

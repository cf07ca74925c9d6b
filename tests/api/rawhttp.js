// rawhttp.js — HTTP/1.x over a bare TCP socket, for requests no HTTP client would send:
// exact bytes in, a parsed response (or the fact that there was none) out. Black-box only.
'use strict';

const net = require('node:net');

const CRLF = '\r\n';

/* A Buffer from a string (latin1: every char is one byte, so '\0', '\r', '\x7f' go out as
 * they are), a Buffer, or an array of those. */
function bytes(x) {
  if (Buffer.isBuffer(x)) return x;
  if (Array.isArray(x)) return Buffer.concat(x.map(bytes));
  return Buffer.from(String(x), 'latin1');
}

/* Request bytes from a request line, header lines and a body: lines are joined with CRLF,
 * then a blank line, then the body. Strings are taken byte for byte (latin1). */
function buildRequest(requestLine, headerLines = [], body) {
  const head = [requestLine, ...headerLines].map(bytes);
  const parts = [];
  for (const h of head) parts.push(h, bytes(CRLF));
  parts.push(bytes(CRLF));
  if (body !== undefined) parts.push(bytes(body));
  return Buffer.concat(parts);
}

/* Tries to parse one response at the start of buf. Returns null if more bytes are needed,
 * or {status, version, reason, headers, headerList, body, text, json, length} where length
 * is how many bytes of buf it used. A response with neither Content-Length nor chunked
 * encoding runs to the end of the connection: it is complete only when `ended` is true.
 * Informational (1xx) responses are returned like any other. Throws on a malformed head. */
function parseResponse(buf, { ended = false, head = false } = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (ended && buf.length) throw new Error(`incomplete response head: ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`);
    return null;
  }
  const lines = buf.slice(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/(1\.[01]) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
  const status = Number(m[2]);
  const headers = {};
  const headerList = [];
  for (const h of lines.slice(1)) {
    const i = h.indexOf(':');
    if (i <= 0) throw new Error(`bad response header line ${JSON.stringify(h)}`);
    const k = h.slice(0, i).trim().toLowerCase();
    const v = h.slice(i + 1).trim();
    headerList.push([k, v]);
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  let pos = end + 4;
  let body;
  const noBody = head || (status >= 100 && status < 200) || status === 204 || status === 304;
  if (noBody) {
    body = Buffer.alloc(0);
  } else if (/\bchunked\b/i.test(headers['transfer-encoding'] || '')) {
    const out = [];
    for (let guard = 0; ; guard++) {
      if (guard > 1e6) throw new Error('too many chunks');
      const le = buf.indexOf('\r\n', pos);
      if (le < 0) return incomplete(ended, 'chunk size');
      const n = parseInt(buf.slice(pos, le).toString('latin1').split(';')[0], 16);
      if (!Number.isInteger(n) || n < 0) throw new Error(`bad chunk size ${JSON.stringify(buf.slice(pos, le).toString('latin1'))}`);
      if (n === 0) {
        // optional trailers, then a blank line: the first CRLFCRLF from the size line's end
        const te = buf.indexOf('\r\n\r\n', le);
        if (te < 0) return incomplete(ended, 'last chunk');
        pos = te + 4;
        break;
      }
      if (buf.length < le + 2 + n + 2) return incomplete(ended, 'chunk data');
      out.push(buf.slice(le + 2, le + 2 + n));
      pos = le + 2 + n + 2;
    }
    body = Buffer.concat(out);
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad Content-Length ${headers['content-length']}`);
    if (buf.length < pos + n) return incomplete(ended, 'body');
    body = buf.slice(pos, pos + n);
    pos += n;
  } else {
    if (!ended) return null; // delimited by the end of the connection
    body = buf.slice(pos);
    pos = buf.length;
  }
  const text = body.toString('utf8');
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status, version: m[1], reason: m[3] || '', headers, headerList, body, text, json, length: pos };
}

function incomplete(ended, what) {
  if (ended) throw new Error(`connection ended inside the response (${what})`);
  return null;
}

/**
 * One raw connection. Collects everything the server sends; tells when and how it ended.
 *   const c = await RawConn.open(port);
 *   c.write(bytes); const r = await c.readResponse(5000); const closed = await c.waitClosed(5000);
 * Fields: closed (the server ended the stream or the socket closed), reset (ECONNRESET/EPIPE
 * seen), error (the last socket error), received (all bytes so far).
 */
class RawConn {
  constructor(sock) {
    this.sock = sock;
    this.chunks = [];
    this.buf = Buffer.alloc(0);
    this.consumed = 0; // bytes of buf already returned as responses
    this.closed = false;
    this.reset = false;
    this.error = null;
    this.closedAt = 0;
    this.waiters = new Set();
    sock.on('data', (c) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake();
    });
    sock.on('end', () => { this.markClosed(); });
    sock.on('close', () => { this.markClosed(); });
    sock.on('error', (e) => {
      this.error = e;
      if (['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(e.code)) this.reset = true;
      this.markClosed();
    });
  }

  /* Connects to host:port (from localAddress, e.g. '127.0.0.2', when given). */
  static open(port, host = '127.0.0.1', deadlineMs = 10000, localAddress = undefined) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) });
      sock.setNoDelay(true);
      const t = setTimeout(() => { sock.destroy(); reject(new Error(`connect to ${host}:${port}: no answer in ${deadlineMs} ms`)); }, deadlineMs);
      // listeners are in place before any byte can arrive: RawConn is made synchronously
      const conn = new RawConn(sock);
      sock.once('connect', () => { clearTimeout(t); resolve(conn); });
      sock.once('error', (e) => { clearTimeout(t); reject(e); }); // no effect once connected
      sock.once('close', () => {
        clearTimeout(t);
        reject(conn.error || new Error(`connection to ${host}:${port} closed before it opened`));
      });
    });
  }

  markClosed() {
    if (!this.closed) {
      this.closed = true;
      this.closedAt = Date.now();
    }
    this.wake();
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  get received() {
    return this.buf;
  }

  /* Writes bytes; resolves once they are handed to the kernel, or false if the socket is gone. */
  write(data) {
    const b = bytes(data);
    if (this.closed || this.sock.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      try {
        this.sock.write(b, (err) => resolve(!err));
      } catch {
        resolve(false);
      }
    });
  }

  /* Resolves when check() returns a non-undefined value, or with onTimeout() at the deadline. */
  until(check, deadlineMs, onTimeout) {
    return new Promise((resolve, reject) => {
      let t = null;
      const done = (fn, v) => {
        this.waiters.delete(w);
        if (t) clearTimeout(t);
        fn(v);
      };
      const w = () => {
        let v;
        try {
          v = check();
        } catch (e) {
          done(reject, e);
          return;
        }
        if (v !== undefined) done(resolve, v);
      };
      this.waiters.add(w);
      t = setTimeout(() => {
        try {
          done(resolve, onTimeout());
        } catch (e) {
          done(reject, e);
        }
      }, deadlineMs);
      w();
    });
  }

  /* The next complete response; null if the connection ended (or the deadline passed) with
   * no further response. Throws if bytes that are not a response arrive. */
  readResponse(deadlineMs = 10000, { head = false } = {}) {
    const attempt = (ended) => {
      const rest = this.buf.slice(this.consumed);
      if (!rest.length) return ended ? null : undefined;
      const r = parseResponse(rest, { ended, head });
      if (!r) return ended ? null : undefined;
      this.consumed += r.length;
      return r;
    };
    return this.until(
      () => attempt(this.closed),
      deadlineMs,
      () => {
        const r = attempt(false);
        return r === undefined ? null : r;
      },
    );
  }

  /* True once the server has closed (or reset) the connection; false if it is still open
   * at the deadline. */
  waitClosed(deadlineMs = 5000) {
    return this.until(() => (this.closed ? true : undefined), deadlineMs, () => false);
  }

  /* Whether the connection is still open after the server has had `ms` to act: used only
   * to check that something did NOT happen, after a condition said it should have by now. */
  stillOpenAfter(ms) {
    return this.until(() => (this.closed ? false : undefined), ms, () => !this.closed);
  }

  destroy() {
    try { this.sock.destroy(); } catch { /* gone */ }
  }
}

/**
 * Sends `data` on a fresh connection and reads one response. Resolves
 *   {status, headers, headerList, body, text, json, closed, reset, raw, conn}
 * status is null when the server closed (or the deadline passed) without a response.
 * closed tells whether the server had closed the connection by the time we returned: after
 * a response it waits up to waitCloseMs (default 3000) for the close, so a server that
 * keeps the connection open costs that long. keepOpen leaves the socket open (conn).
 */
async function rawHttp(port, data, { deadlineMs = 10000, waitCloseMs = 3000, keepOpen = false, head = false } = {}) {
  const conn = await RawConn.open(port);
  try {
    await conn.write(data);
    const r = await conn.readResponse(deadlineMs, { head });
    if (r && waitCloseMs > 0) await conn.waitClosed(waitCloseMs);
    const out = r
      ? { ...r, closed: conn.closed, reset: conn.reset, raw: conn.received, conn }
      : { status: null, headers: {}, headerList: [], body: Buffer.alloc(0), text: '', json: null, closed: conn.closed, reset: conn.reset, raw: conn.received, conn };
    return out;
  } finally {
    if (!keepOpen) conn.destroy();
  }
}

/* Whether a `Connection` response header asks to close. */
function saysClose(r) {
  return /(^|,)\s*close\s*(,|$)/i.test((r && r.headers && r.headers.connection) || '');
}

module.exports = { RawConn, rawHttp, buildRequest, parseResponse, bytes, saysClose, CRLF };

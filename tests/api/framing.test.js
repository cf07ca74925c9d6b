// framing.test.js — a request whose framing is ambiguous or whose head holds bytes no valid
// request has is refused with a 400 (or 501), the connection is closed after the answer, and
// nothing in it (nor anything behind it on the same connection) is executed. Every case goes
// over a raw socket with a valid admin token, so framing is the only reason to refuse.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startServer, api, pp, assertHealthy } = require('./helpers');
const { RawConn, rawHttp, buildRequest, saysClose } = require('./rawhttp');

let S;
before(async () => {
  S = await startServer();
});
after(async () => { if (S) await S.cleanup(); });

const RUN = crypto.randomBytes(3).toString('hex');
let seq = 0;
/* A fresh parameter name for one case. */
const uniq = (tag) => `/fr/${tag}-${RUN}-${++seq}`;

const BODY = '{"value":"x","type":"String"}';
const host = () => `Host: 127.0.0.1:${S.port}`;
const auth = () => `Authorization: Bearer ${S.token}`;

/* A complete, well-formed PUT of `name` (keep-alive): what a smuggled or pipelined request
 * behind a refused one looks like. */
function goodPut(name, { close = false } = {}) {
  return buildRequest(`PUT ${pp(name)} HTTP/1.1`, [
    host(), auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}`,
    ...(close ? ['Connection: close'] : []),
  ], BODY);
}

/* A chunked encoding of s, ended with the last chunk. */
function chunked(s) {
  return `${s.length.toString(16)}\r\n${s}\r\n0\r\n\r\n`;
}

/* The parameter does not exist (on a fresh connection, through node's HTTP client). */
async function assertAbsent(name, what) {
  const g = await api(S, 'GET', pp(name));
  assert.equal(g.status, 404, `${what}: ${name} was written (GET → ${g.status} ${g.text})`);
}

async function assertPresent(name, what) {
  const g = await api(S, 'GET', pp(name));
  assert.equal(g.status, 200, `${what}: ${name} should exist (GET → ${g.status} ${g.text})`);
}

/* The status codes of every HTTP status line the server sent on the connection. */
function statusLines(raw) {
  return [...raw.toString('latin1').matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

/**
 * Sends the bytes and checks the refusal: a status in `statuses`; the JSON error of the
 * contract ({"error":{"code","message"}} with a code from `codes` and Connection: close), or,
 * when `lib` is set, any non-JSON answer of that status (the HTTP library refusing the line
 * itself); the server closes the connection; exactly one response; and then that none of
 * `absent` exists.
 */
async function refused(data, { statuses = [400], codes = ['BadRequest'], lib = false, absent = [] }) {
  const r = await rawHttp(S.port, data, { deadlineMs: 5000, waitCloseMs: 0, keepOpen: true });
  try {
    return await checkRefusal(r, { statuses, codes, lib, absent });
  } finally {
    r.conn.destroy();
  }
}

async function checkRefusal(r, { statuses, codes, lib, absent }) {
  assert.notEqual(r.status, null,
    `no response (closed: ${r.closed}, reset: ${r.reset}); received ${JSON.stringify(r.raw.toString('latin1').slice(0, 200))}`);
  assert.ok(statuses.includes(r.status), `expected HTTP ${statuses.join('|')}, got ${r.status} ${r.text.slice(0, 300)}`);
  if (r.json && typeof r.json === 'object' && r.json.error) {
    assert.ok(codes.includes(r.json.error.code), `error code ${r.json.error.code}, wanted ${codes.join('|')}: ${r.text}`);
    assert.equal(typeof r.json.error.message, 'string', r.text);
    assert.ok(r.json.error.message.length > 0, 'empty error message');
    if (r.status === 501) assert.equal(r.json.error.code, 'NotImplemented', r.text);
    if (r.status === 400) assert.equal(r.json.error.code, 'BadRequest', r.text);
    assert.ok(saysClose(r), `the refusal must say Connection: close; headers ${JSON.stringify(r.headers)}`);
  } else {
    assert.ok(lib, `the refusal must be the JSON error {"error":{"code":"${codes[0]}",...}}, got ${JSON.stringify(r.text.slice(0, 300))}`);
  }
  assert.ok(await r.conn.waitClosed(5000), 'the server kept the connection open after refusing the request');
  const got = statusLines(r.conn.received);
  if (r.json && r.json.error) {
    assert.equal(got.length, 1, `more than one response on the connection: ${JSON.stringify(r.conn.received.toString('latin1').slice(0, 600))}`);
  } else {
    // the library's own refusal (libmicrohttpd 0.9.75 writes its status line and headers twice
    // for a bad Content-Length): whatever it wrote, nothing on the connection may be a success
    assert.ok(got.every((st) => statuses.includes(st)), `the connection also carried ${got.join(', ')}: ${JSON.stringify(r.conn.received.toString('latin1').slice(0, 600))}`);
  }
  for (const n of absent) await assertAbsent(n, 'after a refused request');
  await assertHealthy(S);
  return r;
}

describe('Content-Length and Transfer-Encoding', () => {
  it('two Content-Length headers with different values: 400, and the rest is not a second request', async () => {
    const n1 = uniq('cl2diff');
    const n2 = uniq('cl2diff-smuggled');
    const smuggled = goodPut(n2);
    // whichever length a server picks, the leftovers are a complete PUT of n2
    const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [
      host(), auth(), 'Content-Type: application/json',
      `Content-Length: ${BODY.length}`, `Content-Length: ${BODY.length + smuggled.length}`,
    ], Buffer.concat([Buffer.from(BODY), smuggled]));
    await refused(req, { absent: [n1, n2] });
  });

  it('two Content-Length headers with different values (the larger first): 400', async () => {
    const n1 = uniq('cl2diff-b');
    const n2 = uniq('cl2diff-b-smuggled');
    const smuggled = goodPut(n2);
    const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [
      host(), auth(), 'Content-Type: application/json',
      `Content-Length: ${BODY.length + smuggled.length}`, `Content-Length: ${BODY.length}`,
    ], Buffer.concat([Buffer.from(BODY), smuggled]));
    await refused(req, { absent: [n1, n2] });
  });

  it('two identical Content-Length headers: 400', async () => {
    const n1 = uniq('cl2same');
    const n2 = uniq('cl2same-next');
    const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [
      host(), auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}`, `Content-Length: ${BODY.length}`,
    ], BODY);
    await refused(Buffer.concat([req, goodPut(n2)]), { absent: [n1, n2] });
  });

  it('Content-Length together with Transfer-Encoding: chunked: 400, nothing from either framing runs', async () => {
    const n1 = uniq('clte');
    const n2 = uniq('clte-smuggled');
    const smuggled = goodPut(n2);
    const tail = Buffer.concat([Buffer.from(chunked(BODY)), smuggled]);
    // Content-Length covers everything (a CL reader sees garbage); a TE reader would find n2 behind the last chunk
    const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [
      host(), auth(), 'Content-Type: application/json', `Content-Length: ${tail.length}`, 'Transfer-Encoding: chunked',
    ], tail);
    await refused(req, { absent: [n1, n2] });
  });

  it('Transfer-Encoding: chunked before Content-Length: 400', async () => {
    const n1 = uniq('tecl');
    const n2 = uniq('tecl-smuggled');
    const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [
      host(), auth(), 'Content-Type: application/json', 'Transfer-Encoding: chunked', `Content-Length: ${BODY.length}`,
    ], Buffer.concat([Buffer.from(chunked(BODY)), goodPut(n2)]));
    await refused(req, { absent: [n1, n2] });
  });

  for (const te of ['gzip', 'chunked, identity', 'xchunked', 'identity', 'gzip, chunked']) {
    it(`Transfer-Encoding: ${te} → 501 NotImplemented or 400, with close`, async () => {
      const n1 = uniq('te');
      const n2 = uniq('te-next');
      const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [
        host(), auth(), 'Content-Type: application/json', `Transfer-Encoding: ${te}`,
      ], Buffer.concat([Buffer.from(chunked(BODY)), goodPut(n2)]));
      await refused(req, { statuses: [501, 400], codes: ['NotImplemented', 'BadRequest'], absent: [n1, n2] });
    });
  }

  it('two Transfer-Encoding: chunked headers: 400', async () => {
    const n1 = uniq('te2');
    const n2 = uniq('te2-next');
    const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [
      host(), auth(), 'Content-Type: application/json', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked',
    ], Buffer.concat([Buffer.from(chunked(BODY)), goodPut(n2)]));
    await refused(req, { statuses: [400, 501], codes: ['BadRequest', 'NotImplemented'], absent: [n1, n2] });
  });
});

describe('bytes that no header value may hold', () => {
  /* One PUT of n1 with `line` among its headers, followed by a pipelined PUT of n2. */
  const withHeader = (n1, n2, lines) => Buffer.concat([
    buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [host(), ...lines, 'Content-Type: application/json', `Content-Length: ${BODY.length}`], BODY),
    goodPut(n2),
  ]);

  for (const [what, value] of [
    ['a NUL', 'a\0b'],
    ['a bare CR', 'a\rb'],
    ['a 0x01 byte', 'a\x01b'],
    ['a 0x7f byte', 'a\x7fb'],
    ['a 0x1b (ESC) byte', 'a\x1bb'],
    ['a NUL at the end', 'ab\0'],
  ]) {
    it(`${what} in an X-Note header value: 400, close, nothing written`, async () => {
      const n1 = uniq('hv');
      const n2 = uniq('hv-next');
      await refused(withHeader(n1, n2, [auth(), `X-Note: ${value}`]), { lib: true, absent: [n1, n2] });
    });
  }

  it('a NUL inside the Authorization value (the token before it is valid): 400, nothing written', async () => {
    const n1 = uniq('authnul');
    const n2 = uniq('authnul-next');
    await refused(withHeader(n1, n2, [`${auth()}\0junk`]), { lib: true, absent: [n1, n2] });
  });

  it('a bare CR inside the Authorization value: 400, nothing written', async () => {
    const n1 = uniq('authcr');
    const n2 = uniq('authcr-next');
    await refused(withHeader(n1, n2, [`${auth()}\rjunk`]), { lib: true, absent: [n1, n2] });
  });

  it('a NUL inside Content-Length ("N\\0 7"): 400, the leftovers are not a request', async () => {
    const n1 = uniq('clnul');
    const n2 = uniq('clnul-smuggled');
    const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [
      host(), auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}\0 7`,
    ], BODY);
    await refused(Buffer.concat([req, goodPut(n2)]), { lib: true, absent: [n1, n2] });
  });

  it('Content-Length that is not a plain decimal ("29 7", "+29", "0x1d"): 400, nothing written', async () => {
    for (const v of [`${BODY.length} 7`, `+${BODY.length}`, `0x${BODY.length.toString(16)}`, `${BODY.length}abc`, `-1`]) {
      const n1 = uniq('clbad');
      const n2 = uniq('clbad-next');
      const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [host(), auth(), 'Content-Type: application/json', `Content-Length: ${v}`], BODY);
      await refused(Buffer.concat([req, goodPut(n2)]), { lib: true, absent: [n1, n2] });
    }
  });

  it('an obs-fold continuation line (a header line starting with a space): 400, nothing written', async () => {
    const n1 = uniq('fold');
    const n2 = uniq('fold-next');
    await refused(withHeader(n1, n2, [auth(), 'X-Note: a', ' folded']), { lib: true, absent: [n1, n2] });
  });

  it('an obs-fold continuation line starting with a tab: 400, nothing written', async () => {
    const n1 = uniq('foldtab');
    const n2 = uniq('foldtab-next');
    await refused(withHeader(n1, n2, [auth(), 'X-Note: a', '\tfolded']), { lib: true, absent: [n1, n2] });
  });
});

describe('Host', () => {
  it('HTTP/1.1 with no Host header: 400, nothing written', async () => {
    const n1 = uniq('nohost');
    const n2 = uniq('nohost-next');
    const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}`], BODY);
    await refused(Buffer.concat([req, goodPut(n2)]), { absent: [n1, n2] });
  });

  it('two Host headers (same value): 400, nothing written', async () => {
    const n1 = uniq('host2');
    const n2 = uniq('host2-next');
    const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [host(), host(), auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}`], BODY);
    await refused(Buffer.concat([req, goodPut(n2)]), { absent: [n1, n2] });
  });

  it('two Host headers (different values): 400, nothing written', async () => {
    const n1 = uniq('host2d');
    const n2 = uniq('host2d-next');
    const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1`, [host(), 'Host: example.com', auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}`], BODY);
    await refused(Buffer.concat([req, goodPut(n2)]), { absent: [n1, n2] });
  });
});

describe('NUL in the request line', () => {
  it('PUT /api/v1/params/t1/a\\0b does not write /t1/a', async () => {
    const n2 = uniq('tnul-next');
    const req = buildRequest('PUT /api/v1/params/t1/a\0b HTTP/1.1', [host(), auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}`], BODY);
    await refused(Buffer.concat([req, goodPut(n2)]), { lib: true, absent: ['/t1/a', '/t1/ab', n2] });
  });

  it('DELETE /api/v1/params/t1/aws\\0/../../x deletes neither /t1/aws nor /x', async () => {
    for (const n of ['/t1/aws', '/x']) {
      const r = await api(S, 'PUT', pp(n), { value: n, type: 'String', overwrite: true });
      assert.equal(r.status, 200, r.text);
    }
    const req = buildRequest('DELETE /api/v1/params/t1/aws\0/../../x HTTP/1.1', [host(), auth()]);
    await refused(req, { lib: true });
    await assertPresent('/t1/aws', 'after DELETE .../aws\\0/../../x');
    await assertPresent('/x', 'after DELETE .../aws\\0/../../x');
  });

  it('GET /api/v1/params/t1/aws\\0junk does not read /t1/aws', async () => {
    const r0 = await api(S, 'PUT', pp('/t1/aws'), { value: '/t1/aws', type: 'String', overwrite: true });
    assert.equal(r0.status, 200, r0.text);
    const r = await refused(buildRequest('GET /api/v1/params/t1/aws\0junk HTTP/1.1', [host(), auth()]), { lib: true });
    assert.ok(!r.text.includes('"name":"/t1/aws"'), `the truncated name was read: ${r.text}`);
  });

  it('a NUL in the query of a DELETE: 400, nothing deleted', async () => {
    const n = uniq('qnul');
    const r0 = await api(S, 'PUT', pp(n), { value: 'x', type: 'String' });
    assert.equal(r0.status, 200, r0.text);
    await refused(buildRequest(`DELETE ${pp(n)}?reason=a\0b HTTP/1.1`, [host(), auth()]), { lib: true });
    await assertPresent(n, 'after DELETE ?reason=a\\0b');
  });

  it('a NUL in the method (PU\\0T): 400, nothing written', async () => {
    const n1 = uniq('mnul');
    const n2 = uniq('mnul-next');
    const req = buildRequest(`PU\0T ${pp(n1)} HTTP/1.1`, [host(), auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}`], BODY);
    await refused(Buffer.concat([req, goodPut(n2)]), { lib: true, absent: [n1, n2] });
  });

  it('a NUL in the HTTP version: 400, nothing written', async () => {
    const n1 = uniq('vnul');
    const req = buildRequest(`PUT ${pp(n1)} HTTP/1.1\0`, [host(), auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}`], BODY);
    const r = await rawHttp(S.port, req, { waitCloseMs: 5000 });
    assert.ok(r.status === null || r.status >= 400, `a NUL in the version was answered ${r.status} ${r.text}`);
    assert.ok(r.closed, 'the connection stayed open');
    await assertAbsent(n1, 'after a NUL in the version');
    await assertHealthy(S);
  });
});

describe('well-formed requests on a raw socket (controls)', () => {
  it('a PUT with CRLF line endings succeeds', async () => {
    const n = uniq('ok');
    const r = await rawHttp(S.port, goodPut(n, { close: true }));
    assert.ok([200, 201].includes(r.status), `${r.status} ${r.text}`);
    await assertPresent(n, 'well-formed PUT');
  });

  it('keep-alive: two requests on one socket, both executed, the socket stays open between them', async () => {
    const n1 = uniq('ka1');
    const n2 = uniq('ka2');
    const c = await RawConn.open(S.port);
    try {
      await c.write(goodPut(n1));
      const r1 = await c.readResponse(10000);
      assert.ok(r1, `no first response (closed: ${c.closed})`);
      assert.ok([200, 201].includes(r1.status), `${r1.status} ${r1.text}`);
      assert.ok(!saysClose(r1), `keep-alive refused: ${JSON.stringify(r1.headers)}`);
      assert.equal(c.closed, false, 'the server closed a keep-alive connection after one request');
      await c.write(goodPut(n2));
      const r2 = await c.readResponse(10000);
      assert.ok(r2, `no second response (closed: ${c.closed})`);
      assert.ok([200, 201].includes(r2.status), `${r2.status} ${r2.text}`);
    } finally {
      c.destroy();
    }
    await assertPresent(n1, 'keep-alive 1');
    await assertPresent(n2, 'keep-alive 2');
  });

  it('a chunked PUT (Transfer-Encoding: chunked alone) succeeds', async () => {
    const n = uniq('chunked');
    const req = buildRequest(`PUT ${pp(n)} HTTP/1.1`, [host(), auth(), 'Content-Type: application/json', 'Transfer-Encoding: chunked', 'Connection: close'],
      `5\r\n${BODY.slice(0, 5)}\r\n${(BODY.length - 5).toString(16)}\r\n${BODY.slice(5)}\r\n0\r\n\r\n`);
    const r = await rawHttp(S.port, req);
    assert.ok([200, 201].includes(r.status), `${r.status} ${r.text}`);
    await assertPresent(n, 'chunked PUT');
  });

  it('HTTP/1.0 without Host still works', async () => {
    const n = uniq('http10');
    const req = buildRequest(`PUT ${pp(n)} HTTP/1.0`, [auth(), 'Content-Type: application/json', `Content-Length: ${BODY.length}`], BODY);
    const r = await rawHttp(S.port, req);
    assert.ok([200, 201].includes(r.status), `${r.status} ${r.text}`);
    await assertPresent(n, 'HTTP/1.0 PUT');
    const g = await rawHttp(S.port, buildRequest(`GET ${pp(n)} HTTP/1.0`, [auth()]));
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json && g.json.value, 'x', g.text);
  });

  it('header values with spaces, tabs between words and a long but legal header still work', async () => {
    const n = uniq('okhdr');
    const req = buildRequest(`PUT ${pp(n)} HTTP/1.1`, [host(), auth(), 'X-Note: a b\tc', `X-Pad: ${'p'.repeat(1000)}`,
      'Content-Type: application/json', `Content-Length: ${BODY.length}`, 'Connection: close'], BODY);
    const r = await rawHttp(S.port, req);
    assert.ok([200, 201].includes(r.status), `${r.status} ${r.text}`);
    await assertPresent(n, 'PUT with ordinary headers');
  });
});

// restart.test.js — the server is SIGKILLed under a following client, the store changes while
// the client cannot reach it, and the server comes back on the same address: the client
// converges to the latest values without a restart of its own (reconnecting → synced), and
// every change that it missed reaches the change callback exactly once.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, sleep } = require('../api/helpers.js');
const { startProbe, finish, put, putFlag, del, makeToken, DEADLINE } = require('./probe.js');

let dataDir;
let admin;
let S; // the server the client follows, always on `port`
let port;
let readToken;

/* A server on the same data directory and the same port as before. The port may still be held
 * for a moment after a SIGKILL: retried (bounded), the client meanwhile keeps trying too. */
async function startOnPort() {
  let lastErr;
  for (let i = 0; i < 40; i++) {
    try {
      return await startServer({ dataDir, token: admin, args: ['--listen', `127.0.0.1:${port}`] });
    } catch (e) {
      lastErr = e;
      if (!/in use|EADDRINUSE|bind/i.test(String(e.message))) throw e;
      await sleep(250); // the port is not free yet: nothing else to wait on
    }
  }
  throw lastErr;
}

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-lib-restart-'));
  S = await startServer({ dataDir, env: { SWITCHYARD_HEARTBEAT_MS: '500' } });
  admin = S.token;
  port = S.port;
  readToken = await makeToken(S, 'lib-restart-read', ['read']);
});

after(async () => {
  if (S) await S.stop().catch(() => {});
  fs.rmSync(dataDir, { recursive: true, force: true });
});

for (const mode of ['threaded', 'event loop']) {
  describe(`the server dies and comes back (${mode})`, () => {
    it('converges to what changed while it was away, with no restart of the client', async () => {
      const base = `/r-${mode === 'threaded' ? 't' : 'e'}`;
      await put(S, `${base}/a`, 'a1');
      await put(S, `${base}/b`, 'b1');
      await put(S, `${base}/gone`, 'soon deleted');
      await putFlag(S, `${base}/flag`, { variants: { on: true, off: false } });

      const p = startProbe(['--server', S.url, '--token', readToken, '--prefix', `${base}/`, '--start-timeout', '5000',
        '--backoff', '20', '300', '--stall-ms', '3000', '--connect-ms', '1000', ...(mode === 'threaded' ? [] : ['--no-thread'])]);
      assert.deepEqual((await p.ready).violations, []);
      const st0 = await p.waitState((s) => s.state === 'synced', DEADLINE, 'synced');
      assert.equal((await p.get(`${base}/a`)).value, 'a1');
      const va2 = await put(S, `${base}/a`, 'a2');
      await p.waitEvent((e) => e.ev === 'change' && e.name === `${base}/a` && e.version === va2, DEADLINE, 'a2 before the kill');

      // SIGKILL mid-stream
      await S.kill9();
      const down = await p.waitState((s) => s.state === 'reconnecting', DEADLINE, 'reconnecting after SIGKILL');
      assert.ok(down.last_error_msg.length > 0, `no words for the failure: ${JSON.stringify(down)}`);
      assert.notEqual(down.last_error, 0);
      // still serving the last values meanwhile
      let g = await p.get(`${base}/a`);
      assert.equal(g.value, 'a2');
      assert.equal(g.source, 'stream');

      // the store changes while the client cannot reach it: a second server on the same data
      // directory, on another port, started only after the first one died
      const other = await startServer({ dataDir, token: admin });
      const va3 = await put(other, `${base}/a`, 'a3');
      const vb2 = await put(other, `${base}/b`, 'b2');
      const vc = await put(other, `${base}/c`, 'c1');
      await del(other, `${base}/gone`);
      const vf = await putFlag(other, `${base}/flag`, { enabled: false, variants: { on: true, off: false } });
      await other.stop();
      // still down for the client
      assert.equal((await p.get(`${base}/a`)).value, 'a2');

      // back on the client's address
      S = await startOnPort();
      const up = await p.waitState((s) => s.state === 'synced' && s.seq > st0.seq, DEADLINE, 'synced again');
      assert.equal(up.source, 'stream');
      assert.ok(up.reconnects >= 2, `reconnects ${up.reconnects}`);
      await p.waitValue(`${base}/a`, 'a3');
      g = await p.get(`${base}/a`);
      assert.equal(g.version, va3);
      assert.equal((await p.get(`${base}/b`)).version, vb2);
      assert.equal((await p.get(`${base}/c`)).version, vc);
      assert.equal((await p.get(`${base}/gone`)).rc, 3, 'deleted while the client was away');
      assert.equal((await p.cmd(`flag ${base.slice(1)}/flag - 1`)).enabled, 0, 'disabled while the client was away');
      assert.equal((await p.cmd(`eval ${base.slice(1)}/flag -`)).version, vf);

      // every missed change reached the callback exactly once (resume with Last-Event-ID, or a
      // new snapshot that calls back only what differs)
      const count = (name, pred) => p.changes(name).filter(pred).length;
      await p.waitEvent((e) => e.ev === 'change' && e.name === `${base}/gone` && e.action === 'delete', DEADLINE, 'delete callback');
      assert.equal(count(`${base}/a`, (e) => e.version === va3), 1, 'a3 called back once');
      assert.equal(count(`${base}/b`, (e) => e.version === vb2), 1, 'b2 called back once');
      assert.equal(count(`${base}/c`, (e) => e.version === vc), 1, 'c1 called back once');
      assert.equal(count(`${base}/gone`, (e) => e.action === 'delete'), 1, 'the delete called back once');
      assert.equal(count(`${base}/a`, (e) => e.version === va2), 1, 'a2 not called back again');

      // and it keeps following
      const va4 = await put(S, `${base}/a`, 'a4');
      await p.waitEvent((e) => e.ev === 'change' && e.name === `${base}/a` && e.version === va4, DEADLINE, 'a4 after the restart');
      const last = await p.state();
      assert.equal(last.last_error, 0, `last_error is SY_OK once synced again: ${JSON.stringify(last)}`);
      await finish(p, [readToken]);
    });
  });
}

// probe.js — drives sy_probe (tests/lib/probe.c), the public-API program of libswitchyard,
// and the server-side chores of the library's tests. Black-box: the probe's stdout is one JSON
// line per event (change, log) or per answer to a command written on its stdin.
'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const crypto = require('node:crypto');
const { api, pp, waitFor, cleanEnv } = require('../api/helpers.js');

const SANITIZED = process.env.SY_SANITIZED === '1';
// deadlines: generous, they are never waited out when things work (no timing assertions)
const DEADLINE = SANITIZED ? 30000 : 15000;

function buildDir() {
  if (!process.env.SWITCHYARD_BIN) throw new Error('SWITCHYARD_BIN is not set (absolute path to build/switchyard)');
  return path.dirname(process.env.SWITCHYARD_BIN);
}

function probeBin() {
  const p = process.env.SY_PROBE_BIN || path.join(buildDir(), 'sy_probe');
  if (!fs.existsSync(p)) throw new Error(`${p} does not exist (CMake builds sy_probe from tests/lib/probe.c)`);
  return p;
}

/* The environment of a library process: nothing inherited that would configure the client. */
function libEnv(extra = {}) {
  const env = cleanEnv();
  for (const k of Object.keys(env)) if (k.startsWith('SWITCHYARD_')) delete env[k];
  // the probe's own leaks are reported by ASan at exit; keep its reports readable
  return { ...env, ...extra };
}

const ANSWERS = new Set(['get', 'flag', 'eval', 'snap', 'state', 'wait']);

/* A port nothing listens on (bound, then closed). */
function closedPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `sy_probe follow` with argv (after "follow"). Returns a handle:
 *   events: every parsed stdout line; raw: stdout text; stderr
 *   ready: a promise of the "ready" line
 *   cmd(line) → the answer line; waitEvent(pred, ms, what) → the first event (seen or to come) for
 *   which pred holds; changes(name) → the change events of name; logs() → the log events;
 *   quit() → {code, signal, stderr} after "quit" (the process must exit by itself).
 * opts: {env, wrap: [cmd, ...args] to run it under (valgrind), deadline}
 */
function startProbe(argv, opts = {}) {
  const bin = probeBin();
  const [cmd, ...pre] = opts.wrap ? [...opts.wrap, bin] : [bin];
  const child = spawn(cmd, [...pre, 'follow', ...argv], { env: libEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
  const h = {
    child,
    argv,
    events: [],
    bad: [], // stdout lines that are not JSON
    raw: '',
    stderr: '',
    exited: null,
    pending: [],
    waiters: [],
  };
  h.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    h.raw += d;
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let ev;
      try {
        ev = JSON.parse(line);
      } catch {
        h.bad.push(line);
        continue;
      }
      h.events.push(ev);
      if ((ANSWERS.has(ev.ev) || (ev.ev === 'error' && ev.command !== undefined)) && h.pending.length) {
        h.pending.shift().resolve(ev);
      }
      for (const w of [...h.waiters]) {
        if (w.pred(ev)) {
          h.waiters.splice(h.waiters.indexOf(w), 1);
          w.resolve(ev);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { h.stderr += d; });
  child.stdin.on('error', () => {});
  child.on('exit', () => {
    const err = new Error(`sy_probe exited; stderr:\n${h.stderr.slice(-4000)}\nstdout tail:\n${h.raw.slice(-2000)}`);
    for (const p of h.pending.splice(0)) p.reject(err);
    for (const w of h.waiters.splice(0)) w.reject(err);
  });
  const deadline = opts.deadline || DEADLINE;

  h.waitEvent = (pred, ms = deadline, what = 'event') => {
    const seen = h.events.find(pred);
    if (seen) return Promise.resolve(seen);
    if (child.exitCode !== null || child.signalCode !== null) {
      return Promise.reject(new Error(`sy_probe has exited (${child.exitCode}/${child.signalCode}) before ${what}; stderr:\n${h.stderr.slice(-4000)}`));
    }
    return new Promise((resolve, reject) => {
      const w = { pred };
      const t = setTimeout(() => {
        const i = h.waiters.indexOf(w);
        if (i >= 0) h.waiters.splice(i, 1);
        reject(new Error(`sy_probe: no ${what} within ${ms} ms; last lines:\n${h.events.slice(-15).map((e) => JSON.stringify(e)).join('\n')}\nstderr:\n${h.stderr.slice(-2000)}`));
      }, ms);
      w.resolve = (v) => { clearTimeout(t); resolve(v); };
      w.reject = (e) => { clearTimeout(t); reject(e); };
      h.waiters.push(w);
    });
  };
  h.ready = h.waitEvent((e) => e.ev === 'ready' || (e.ev === 'error' && e.command === undefined), deadline * 2, 'ready line')
    .then((e) => {
      if (e.ev !== 'ready') throw new Error(`sy_probe failed to start: ${JSON.stringify(e)}`);
      return e;
    });
  h.cmd = (line, ms = deadline) => {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`sy_probe has exited; cannot send ${line}`));
    return new Promise((resolve, reject) => {
      const p = {};
      const t = setTimeout(() => reject(new Error(`sy_probe: no answer to "${line}" within ${ms} ms; stderr:\n${h.stderr.slice(-2000)}`)), ms);
      p.resolve = (v) => { clearTimeout(t); resolve(v); };
      p.reject = (e) => { clearTimeout(t); reject(e); };
      h.pending.push(p);
      child.stdin.write(`${line}\n`);
    });
  };
  h.get = (name) => h.cmd(`get ${name}`);
  h.state = () => h.cmd('state');
  h.changes = (name) => h.events.filter((e) => e.ev === 'change' && (name === undefined || e.name === name));
  h.logs = () => h.events.filter((e) => e.ev === 'log');
  /* waits until `get name` answers with value (polling, no fixed sleep) */
  h.waitValue = (name, value, ms = deadline) =>
    waitFor(async () => {
      const r = await h.get(name);
      return r.rc === 0 && r.value === value ? r : null;
    }, ms, `${name} = ${JSON.stringify(value)} in the probe`);
  h.waitState = (pred, ms = deadline, what = 'state') =>
    waitFor(async () => {
      const s = await h.state();
      return pred(s) ? s : null;
    }, ms, what);
  h.quit = async (ms = deadline * 2) => {
    if (child.exitCode === null && child.signalCode === null) child.stdin.write('quit\n');
    const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, ms);
    const r = await h.exited;
    clearTimeout(t);
    return { ...r, stderr: h.stderr };
  };
  h.kill = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
  return h;
}

/* The checks every probe run ends with: it quits by itself with 0, no sanitizer report, every
 * stdout line is JSON, every log line is one JSON object with a level and a msg, no probe-side
 * error line, and (when given) no secret in anything it printed. */
async function finish(h, secrets = []) {
  const r = await h.quit();
  assert.equal(r.signal, null, `sy_probe died of ${r.signal}; stderr:\n${r.stderr.slice(-4000)}`);
  assert.equal(r.code, 0, `sy_probe exited ${r.code}; stderr:\n${r.stderr.slice(-4000)}`);
  const san = /(ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer)/.exec(r.stderr);
  assert.equal(san, null, `sanitizer report from sy_probe:\n${san ? r.stderr.slice(Math.max(0, san.index - 200), san.index + 4000) : ''}`);
  assert.deepEqual(h.bad, [], 'stdout lines that are not JSON');
  checkLogs(h);
  const errs = h.events.filter((e) => e.ev === 'error');
  assert.deepEqual(errs, [], 'the probe reported failures');
  const bye = h.events.find((e) => e.ev === 'bye');
  assert.ok(bye, 'no bye line');
  for (const s of secrets) {
    assert.ok(!h.raw.includes(s), `sy_probe's output holds the secret ${s}`);
    assert.ok(!h.stderr.includes(s), `sy_probe's stderr holds the secret ${s}`);
  }
  return bye;
}

function checkLogs(h) {
  for (const e of h.logs()) {
    assert.equal(e.bad, undefined, `a log line that is not one JSON object on one line: ${JSON.stringify(e.bad)}`);
    assert.equal(typeof e.line, 'object', `log line: ${JSON.stringify(e)}`);
    assert.ok(e.line && typeof e.line.msg === 'string' && e.line.msg.length > 0, `log line without msg: ${JSON.stringify(e.line)}`);
    assert.equal(e.line.level, e.level, `log line level ${JSON.stringify(e.line.level)} but callback level ${e.level}`);
  }
}

/* ---- server side ---------------------------------------------------------------------- */

async function put(S, name, value, type = 'String', extra = {}) {
  const r = await api(S, 'PUT', pp(name), { value, type, overwrite: true, ...extra });
  assert.equal(r.status, 200, `PUT ${name}: ${r.status} ${r.text}`);
  return r.json.version;
}

async function putFlag(S, name, doc) {
  return put(S, name, JSON.stringify(doc), 'Flag');
}

async function del(S, name) {
  const r = await api(S, 'DELETE', pp(name));
  assert.equal(r.status, 200, `DELETE ${name}: ${r.status} ${r.text}`);
}

async function makeToken(S, name, scopes = ['read']) {
  const r = await api(S, 'POST', '/api/v1/admin/tokens', { name, scopes });
  assert.equal(r.status, 201, `token ${name}: ${r.status} ${r.text}`);
  return r.json.token;
}

/* The rollout bucket of the fixed contract: first 8 bytes of SHA-256(salt/subject), big-endian, % 10000. */
function bucket(salt, subject) {
  return Number(crypto.createHash('sha256').update(`${salt}/${subject}`).digest().readBigUInt64BE(0) % 10000n);
}

module.exports = {
  SANITIZED,
  DEADLINE,
  buildDir,
  probeBin,
  libEnv,
  closedPort,
  startProbe,
  finish,
  checkLogs,
  put,
  putFlag,
  del,
  makeToken,
  bucket,
};

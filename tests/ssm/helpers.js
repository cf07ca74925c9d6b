// helpers.js — the SSM-compatible API through real clients: the Debian `aws` CLI (v2) and
// @aws-sdk/client-ssm, plus raw SigV4-signed requests for what a client would never send.
// Servers come from tests/api/helpers.js's startServer; everything is black-box.
'use strict';

const { execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const assert = require('node:assert/strict');

const base = require('../api/helpers');

// The pinned SDK runs on this node; its notice about future releases is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { SSMClient } = require('@aws-sdk/client-ssm');
const { SignatureV4 } = require('@smithy/signature-v4');

/* Always the Debian package's CLI (v2): an older v1 may come first on PATH. */
const AWS_BIN = process.env.SY_AWS_CLI || '/usr/bin/aws';
const REGION = 'us-east-1';
const SSM_CT = 'application/x-amz-json-1.1';

/* An access key id like AWS's: "AKIA" and 16 of A-Z2-7 (the server takes 16–31 of A-Z0-9). */
function newAccessKeyId() {
  const b32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const raw = crypto.randomBytes(16);
  let id = 'AKIA';
  for (const b of raw) id += b32[b & 31];
  return id;
}

function newSecret() {
  return crypto.randomBytes(30).toString('base64');
}

/**
 * startSsmServer({env, ...}) — a server with one access key made at start from
 * SWITCHYARD_AWS_ACCESS_KEY_ID / _SECRET_ACCESS_KEY (admin + decrypt scopes). Returns the
 * server of tests/api/helpers.js plus srv.creds {accessKeyId, secretAccessKey} and
 * srv.keyName (the key's name: actor in audit records, user in LastModifiedUser).
 */
async function startSsmServer(opts = {}) {
  const accessKeyId = newAccessKeyId();
  const secretAccessKey = newSecret();
  const srv = await base.startServer({
    ...opts,
    env: {
      SWITCHYARD_AWS_ACCESS_KEY_ID: accessKeyId,
      SWITCHYARD_AWS_SECRET_ACCESS_KEY: secretAccessKey,
      ...(opts.env || {}),
    },
  });
  srv.creds = { accessKeyId, secretAccessKey };
  srv.keyName = `env-${accessKeyId}`;
  return srv;
}

/* A new access key through the native admin API: {name, accessKeyId, secretAccessKey}. */
async function createKey(srv, name, scopes) {
  const r = await base.api(srv, 'POST', '/api/v1/admin/keys', { name, scopes });
  assert.ok([200, 201].includes(r.status), `create key ${name}: ${r.status} ${r.text}`);
  assert.equal(typeof r.json.access_key_id, 'string', r.text);
  assert.equal(typeof r.json.secret_access_key, 'string', r.text);
  return { name, accessKeyId: r.json.access_key_id, secretAccessKey: r.json.secret_access_key };
}

async function revokeKey(srv, name) {
  const r = await base.api(srv, 'DELETE', `/api/v1/admin/keys/${name}`);
  assert.equal(r.status, 200, `revoke key ${name}: ${r.status} ${r.text}`);
}

/* An SDK client for the server; creds default to the server's start-up key. */
function ssmClient(srv, creds, extra = {}) {
  const c = creds || srv.creds;
  return new SSMClient({
    endpoint: srv.url,
    region: REGION,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    maxAttempts: 1,
    ...extra,
  });
}

/* Runs `await fn()` expecting an SDK error named `name`; returns the error. */
async function sdkRejects(fn, name, what = name) {
  let err = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: expected ${name}, but the call succeeded`);
  assert.equal(err.name, name, `${what}: expected ${name}, got ${err.name}: ${err.message} (HTTP ${err.$metadata && err.$metadata.httpStatusCode})`);
  return err;
}

/* One directory of empty AWS config files for every CLI call of this process. */
let cliHome = null;
function cliFiles() {
  if (cliHome) return cliHome;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-awscli-'));
  fs.writeFileSync(path.join(dir, 'config'), '');
  fs.writeFileSync(path.join(dir, 'credentials'), '');
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  cliHome = { dir, config: path.join(dir, 'config'), credentials: path.join(dir, 'credentials') };
  return cliHome;
}

/**
 * Runs `/usr/bin/aws --endpoint-url URL ARGS...` with only the given credentials in its
 * environment. Resolves {code, stdout, stderr, json, errorCode}: json is the parsed stdout
 * (when it is JSON), errorCode the code of "An error occurred (CODE) when calling ...".
 */
function aws(srv, args, { creds, env = {}, cwd } = {}) {
  const c = creds || srv.creds;
  const files = cliFiles();
  const e = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^AWS_/.test(k)) e[k] = v;
  Object.assign(e, {
    AWS_ACCESS_KEY_ID: c.accessKeyId,
    AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: files.config,
    AWS_SHARED_CREDENTIALS_FILE: files.credentials,
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
    AWS_RETRY_MODE: 'standard',
    ...env,
  });
  const argv = ['--endpoint-url', srv.url, ...args];
  return new Promise((resolve, reject) => {
    execFile(AWS_BIN, argv, { env: e, cwd, maxBuffer: 64 << 20, timeout: 60000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`aws ${args.join(' ')}: ${err.message}\n${stderr}`));
      let json = null;
      try { json = JSON.parse(stdout); } catch { /* text output */ }
      const m = /An error occurred \(([^)]+)\)/.exec(stderr);
      resolve({ code: err ? err.code : 0, stdout, stderr, json, errorCode: m ? m[1] : null, argv });
    });
  });
}

/* aws(...) that must succeed. */
async function awsOk(srv, args, opts) {
  const r = await aws(srv, args, opts);
  assert.equal(r.code, 0, `aws ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return r;
}

/* aws(...) that must fail with the given error code. */
async function awsFails(srv, args, code, opts) {
  const r = await aws(srv, args, opts);
  assert.notEqual(r.code, 0, `aws ${args.join(' ')} should have failed with ${code}; stdout:\n${r.stdout}`);
  assert.equal(r.errorCode, code, `aws ${args.join(' ')}: expected ${code}; stderr:\n${r.stderr}`);
  return r;
}

/* SHA-256 / HMAC-SHA256 for @smithy/signature-v4, from node's crypto. */
class Sha256 {
  constructor(secret) {
    this.h = secret ? crypto.createHmac('sha256', Buffer.from(secret)) : crypto.createHash('sha256');
  }
  update(data) {
    this.h.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
}

/**
 * Signs a POST / (awsJson1_1) with @smithy/signature-v4. `target` is the X-Amz-Target (null to
 * leave it out), `body` a string or Buffer (objects become JSON). Returns {headers, body} to
 * send, possibly after tampering. `date` signs at another time; `headers` adds headers
 * before signing.
 */
async function signRequest(srv, target, body, { creds, date, headers = {}, contentType = SSM_CT } = {}) {
  const c = creds || srv.creds;
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const h = { host: `127.0.0.1:${srv.port}`, 'content-length': String(payload.length), ...headers };
  if (contentType) h['content-type'] = contentType;
  if (target) h['x-amz-target'] = target;
  const signer = new SignatureV4({
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    region: REGION,
    service: 'ssm',
    sha256: Sha256,
  });
  const signed = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: srv.port, path: '/', query: {}, headers: h, body: payload },
    date ? { signingDate: date } : {},
  );
  return { headers: signed.headers, body: payload };
}

/**
 * Signs any request with @smithy/signature-v4, as the SDK of `service` would: `method`,
 * `path`, `query` (an object), `headers` (host and content-length are added), `body`, in
 * `region`. Returns {headers, body} to send with rawSend.
 */
async function signAny(srv, { method = 'POST', path: p = '/', query = {}, headers = {}, body = '', service = 'ssm', region = REGION, creds } = {}) {
  const c = creds || srv.creds;
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const h = { host: `127.0.0.1:${srv.port}`, ...headers };
  if (payload.length || method === 'POST' || method === 'PUT') h['content-length'] = String(payload.length);
  const signer = new SignatureV4({
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    region,
    service,
    sha256: Sha256,
  });
  const signed = await signer.sign({ method, protocol: 'http:', hostname: '127.0.0.1', port: srv.port, path: p, query, headers: h, body: payload });
  return { headers: signed.headers, body: payload };
}

/* Sends METHOD target (path and query as written) over a fresh connection with exactly these
 * headers (Host, Content-Length and Connection are set here) and body: {status, json, text, headers}. */
function rawSend(srv, method, target, headers, body) {
  const b = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  let head = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\n`;
  if (b.length || method === 'POST' || method === 'PUT') head += `Content-Length: ${b.length}\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (['host', 'content-length', 'connection'].includes(k.toLowerCase())) continue;
    head += `${k}: ${v}\r\n`;
  }
  return base.rawRequest(srv, Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), b]));
}

/* POSTs to / over a fresh connection with exactly these headers (Host, Content-Length and
 * Connection are set here) and body: {status, json, text, headers}. */
function rawPost(srv, headers, body) {
  const b = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  let head = `POST / HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\nContent-Length: ${b.length}\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (['host', 'content-length', 'connection'].includes(k.toLowerCase())) continue;
    head += `${k}: ${v}\r\n`;
  }
  return base.rawRequest(srv, Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), b]));
}

/* A signed SSM call sent raw: {status, json, text, headers}. */
async function signedCall(srv, op, body, opts = {}) {
  const s = await signRequest(srv, op === null ? null : `AmazonSSM.${op}`, body, opts);
  return rawPost(srv, s.headers, s.body);
}

/* An SSM error reply: status, a JSON body with __type and message, and the SSM content type. */
function assertSsmError(r, status, type, what) {
  const st = Array.isArray(status) ? status : [status];
  assert.ok(st.includes(r.status), `${what}: expected HTTP ${st.join('|')}, got ${r.status} ${r.text}`);
  assert.ok(r.json && typeof r.json === 'object', `${what}: the body is not JSON: ${r.text}`);
  assert.equal(typeof r.json.__type, 'string', `${what}: no __type in ${r.text}`);
  assert.equal(typeof r.json.message, 'string', `${what}: no message in ${r.text}`);
  assert.ok(r.json.message.length > 0, `${what}: empty message`);
  if (type) {
    const types = Array.isArray(type) ? type : [type];
    assert.ok(types.includes(r.json.__type), `${what}: expected __type ${types.join('|')}, got ${r.text}`);
  }
}

/* Every file under dir (recursively) that holds any of the needles: [{file, needle}]. */
function filesHolding(dir, needles) {
  const hits = [];
  const walk = (d) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile()) {
        const buf = fs.readFileSync(p);
        for (const n of needles) if (buf.includes(Buffer.from(n, 'utf8'))) hits.push({ file: p, needle: n.slice(0, 40) });
      }
    }
  };
  walk(dir);
  return hits;
}

/* All audit records, oldest first, following `next`. */
async function auditAll(srv) {
  const out = [];
  let after = 0;
  for (let i = 0; i < 1000; i++) {
    const r = await base.api(srv, 'GET', `/api/v1/admin/audit?limit=1000&order=asc&after=${after}`);
    assert.equal(r.status, 200, `audit: ${r.status} ${r.text}`);
    out.push(...r.json.records);
    if (r.json.next === null || r.json.next === undefined || r.json.records.length === 0) break;
    after = r.json.next;
  }
  return out;
}

/* Runs async fns with at most `n` in flight; resolves to their results in order. */
async function pool(n, items, fn) {
  const out = new Array(items.length);
  let i = 0;
  const worker = async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k], k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

module.exports = {
  ...base,
  AWS_BIN,
  REGION,
  SSM_CT,
  startSsmServer,
  createKey,
  revokeKey,
  ssmClient,
  sdkRejects,
  aws,
  awsOk,
  awsFails,
  Sha256,
  signRequest,
  signAny,
  rawSend,
  rawPost,
  signedCall,
  assertSsmError,
  filesHolding,
  auditAll,
  pool,
  newAccessKeyId,
  newSecret,
};

// auth.test.js — SigV4 and scopes on the SSM API: every refusal is the error code the real
// client reports, and nothing is written.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  PutParameterCommand, GetParameterCommand, GetParametersByPathCommand, DeleteParameterCommand,
  LabelParameterVersionCommand, AddTagsToResourceCommand, DescribeParametersCommand,
} = require('@aws-sdk/client-ssm');
const {
  startSsmServer, createKey, revokeKey, ssmClient, sdkRejects, aws, signRequest, rawPost,
  assertSsmError, storeSnapshot, assertHealthy, api, pp, newAccessKeyId, newSecret, SSM_CT, signAny, rawSend,
} = require('./helpers');

const NAME = '/auth/guarded';
let S;
let admin;
let readOnly;
let writer;
before(async () => {
  S = await startSsmServer();
  admin = ssmClient(S);
  await admin.send(new PutParameterCommand({ Name: NAME, Value: 'original', Type: 'String' }));
  await admin.send(new PutParameterCommand({ Name: '/auth/secret', Value: 'top-secret-value', Type: 'SecureString' }));
  readOnly = await createKey(S, 'reader', ['read']);
  writer = await createKey(S, 'writer', ['write']);
});
after(async () => {
  if (admin) admin.destroy();
  if (S) await S.cleanup();
});

/* One attempted write with `client`, refused with `code`; the store is as it was. */
async function refusedWrite(client, code, what, input = { Name: NAME, Value: 'tampered', Overwrite: true }) {
  const before = await storeSnapshot(S);
  const err = await sdkRejects(() => client.send(new PutParameterCommand(input)), code, what);
  assert.deepEqual(await storeSnapshot(S), before, `${what}: something was written`);
  const g = await admin.send(new GetParameterCommand({ Name: NAME }));
  assert.equal(g.Parameter.Value, 'original', `${what}: the value changed`);
  return err;
}

function withClient(creds, extra, fn) {
  const c = ssmClient(S, creds, extra);
  return Promise.resolve(fn(c)).finally(() => c.destroy());
}

describe('credentials', () => {
  it('a wrong secret is InvalidSignatureException (SDK and CLI)', async () => {
    const bad = { accessKeyId: S.creds.accessKeyId, secretAccessKey: `${S.creds.secretAccessKey}x` };
    const err = await withClient(bad, {}, (c) => refusedWrite(c, 'InvalidSignatureException', 'wrong secret'));
    assert.equal(err.$metadata.httpStatusCode, 403);
    assert.match(err.message, /signature/i);
  });

  it('an unknown access key id is UnrecognizedClientException', async () => {
    const unknown = { accessKeyId: newAccessKeyId(), secretAccessKey: newSecret() };
    await withClient(unknown, {}, (c) => refusedWrite(c, 'UnrecognizedClientException', 'unknown key'));
  });

  it('the aws CLI reports the same codes, exits non-zero and prints nothing on stdout', async () => {
    const before = await storeSnapshot(S);
    const args = ['ssm', 'put-parameter', '--name', NAME, '--value', 'tampered', '--type', 'String', '--overwrite'];
    const [wrong, unknown, ro] = await Promise.all([
      aws(S, args, { creds: { accessKeyId: S.creds.accessKeyId, secretAccessKey: 'not-the-secret-at-all' } }),
      aws(S, args, { creds: { accessKeyId: newAccessKeyId(), secretAccessKey: newSecret() } }),
      aws(S, args, { creds: readOnly }),
    ]);
    for (const [r, code] of [[wrong, 'InvalidSignatureException'], [unknown, 'UnrecognizedClientException'], [ro, 'AccessDeniedException']]) {
      assert.notEqual(r.code, 0, `${code}: the CLI succeeded:\n${r.stdout}`);
      assert.equal(r.errorCode, code, r.stderr);
      assert.equal(r.stdout, '');
    }
    assert.deepEqual(await storeSnapshot(S), before);
  });

  it('a revoked key stops working at once', async () => {
    const temp = await createKey(S, 'temporary', ['write']);
    await withClient(temp, {}, async (c) => {
      const ok = await c.send(new PutParameterCommand({ Name: '/auth/temp', Value: 'one', Type: 'String' }));
      assert.equal(ok.Version, 1);
      await revokeKey(S, 'temporary');
      await refusedWrite(c, 'UnrecognizedClientException', 'revoked key');
      await sdkRejects(() => c.send(new GetParameterCommand({ Name: '/auth/temp' })), 'UnrecognizedClientException', 'revoked key read');
    });
  });

  it('a request signed 10 minutes ago is refused: InvalidSignatureException, "Signature expired"', async () => {
    const err = await withClient(S.creds, { systemClockOffset: -600000 }, (c) => refusedWrite(c, 'InvalidSignatureException', 'expired'));
    assert.match(err.message, /Signature expired/);
    assert.equal(err.$metadata.httpStatusCode, 403);
    // and one signed 10 minutes ahead
    const err2 = await withClient(S.creds, { systemClockOffset: 600000 }, (c) => refusedWrite(c, 'InvalidSignatureException', 'future'));
    assert.match(err2.message, /not yet current/);
  });

  it('a body changed after signing is refused (SDK middleware after signing)', async () => {
    const c = ssmClient(S);
    try {
      let tampered = 0;
      // the deserialize step runs after finalizeRequest (where the signature is made), right before sending
      c.middlewareStack.add((next) => async (args) => {
        const body = args.request.body;
        const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
        const evil = text.replace('"Value":"harmless"', '"Value":"sinister"'); // same length
        assert.notEqual(evil, text, `the serialized body: ${text}`);
        args.request.body = typeof body === 'string' ? evil : new Uint8Array(Buffer.from(evil));
        tampered++;
        return next(args);
      }, { step: 'deserialize', priority: 'low', name: 'tamperAfterSigning' });
      await refusedWrite(c, 'InvalidSignatureException', 'tampered body', { Name: NAME, Value: 'harmless', Overwrite: true });
      assert.equal(tampered, 1);
    } finally {
      c.destroy();
    }
  });

  it('a body changed after signing is refused (@smithy/signature-v4, then fetch)', async () => {
    const s = await signRequest(S, 'AmazonSSM.PutParameter', { Name: NAME, Value: 'harmless', Overwrite: true });
    const evil = Buffer.from(s.body.toString().replace('harmless', 'sinister'));
    const before = await storeSnapshot(S);
    const headers = { ...s.headers };
    delete headers.host;
    delete headers['content-length'];
    const res = await fetch(`${S.url}/`, { method: 'POST', headers, body: evil });
    const text = await res.text();
    assert.equal(res.status, 403, text);
    const j = JSON.parse(text);
    assert.equal(j.__type, 'InvalidSignatureException', text);
    assert.equal(res.headers.get('content-type'), SSM_CT);
    assert.deepEqual(await storeSnapshot(S), before);
    // the untouched request goes through: the refusal was about the body
    const ok = await fetch(`${S.url}/`, { method: 'POST', headers, body: s.body });
    assert.equal(ok.status, 200, await ok.text());
    assert.equal((await admin.send(new GetParameterCommand({ Name: NAME }))).Parameter.Value, 'harmless');
    await admin.send(new PutParameterCommand({ Name: NAME, Value: 'original', Overwrite: true }));
  });

  it('an x-amz-content-sha256 that does not match the body is refused', async () => {
    const body = JSON.stringify({ Name: NAME, Value: 'x', Overwrite: true });
    const s = await signRequest(S, 'AmazonSSM.PutParameter', body, {
      headers: { 'x-amz-content-sha256': require('node:crypto').createHash('sha256').update('something else').digest('hex') },
    });
    const before = await storeSnapshot(S);
    const r = await rawPost(S, s.headers, s.body);
    assertSsmError(r, 403, 'InvalidSignatureException', 'content sha mismatch');
    assert.deepEqual(await storeSnapshot(S), before);
  });

  it('no signature at all (plain fetch) is MissingAuthenticationTokenException', async () => {
    const before = await storeSnapshot(S);
    const res = await fetch(`${S.url}/`, {
      method: 'POST',
      headers: { 'Content-Type': SSM_CT, 'X-Amz-Target': 'AmazonSSM.PutParameter' },
      body: JSON.stringify({ Name: NAME, Value: 'unsigned', Overwrite: true }),
    });
    const text = await res.text();
    assert.ok([400, 403].includes(res.status), `${res.status} ${text}`);
    assert.equal(JSON.parse(text).__type, 'MissingAuthenticationTokenException', text);
    assert.deepEqual(await storeSnapshot(S), before);
    // a native bearer token is not an SSM credential
    const r = await rawPost(S, { 'Content-Type': SSM_CT, 'X-Amz-Target': 'AmazonSSM.PutParameter', Authorization: `Bearer ${S.token}` },
      JSON.stringify({ Name: NAME, Value: 'bearer', Overwrite: true }));
    assertSsmError(r, [400, 403], null, 'bearer token on the SSM API');
    assert.deepEqual(await storeSnapshot(S), before);
  });

  it('a signature scoped to another service is refused', async () => {
    const { SignatureV4 } = require('@smithy/signature-v4');
    const { Sha256 } = require('./helpers');
    const body = JSON.stringify({ Name: NAME, Value: 'sts', Overwrite: true });
    const signer = new SignatureV4({ credentials: S.creds, region: 'us-east-1', service: 'sts', sha256: Sha256 });
    const s = await signer.sign({
      method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: S.port, path: '/', query: {},
      headers: { host: `127.0.0.1:${S.port}`, 'content-type': SSM_CT, 'x-amz-target': 'AmazonSSM.PutParameter' }, body,
    });
    const before = await storeSnapshot(S);
    const r = await rawPost(S, s.headers, body);
    assertSsmError(r, [400, 403], ['IncompleteSignatureException', 'InvalidSignatureException'], 'service sts');
    assert.deepEqual(await storeSnapshot(S), before);
  });
});

describe('the region and the query string', () => {
  it('a client signing for any region is served from the one store, and its ARNs carry that region', async () => {
    const name = '/auth/regions/any';
    const body = JSON.stringify({ Name: name, Value: 'eu', Type: 'String' });
    const s = await signAny(S, { body, region: 'eu-west-1', headers: { 'content-type': SSM_CT, 'x-amz-target': 'AmazonSSM.PutParameter' } });
    const r = await rawSend(S, 'POST', '/', s.headers, s.body);
    assert.equal(r.status, 200, r.text);
    for (const [region, partition] of [['eu-west-1', 'aws'], ['ap-southeast-2', 'aws'], ['cn-north-1', 'aws-cn'], ['us-gov-west-1', 'aws-us-gov']]) {
      await withClient(S.creds, { region }, async (c) => {
        const got = await c.send(new GetParameterCommand({ Name: name }));
        assert.equal(got.Parameter.Value, 'eu', region);
        assert.match(got.Parameter.ARN, new RegExp(`^arn:${partition}:ssm:${region}:\\d{12}:parameter${name}$`), region);
      });
    }
  });

  it('a long query string is refused whole, never checked or served cut short', async () => {
    const before = await storeSnapshot(S);
    const body = JSON.stringify({ Name: NAME, Value: 'query', Overwrite: true });
    const headers = { 'content-type': SSM_CT, 'x-amz-target': 'AmazonSSM.PutParameter' };
    // one parameter of 9 KiB, past any 8 KiB buffer, signed over the whole of it
    const long = 'x'.repeat(9 * 1024);
    let s = await signAny(S, { body, query: { a: long }, headers });
    let r = await rawSend(S, 'POST', `/?a=${long}`, s.headers, s.body);
    assertSsmError(r, 400, 'ValidationException', '9 KiB query');
    assert.match(r.json.message, /query parameter a.*this endpoint takes none/);
    // signed over the first 8 KiB of it only: still refused, not served
    s = await signAny(S, { body, query: { a: long.slice(0, 8 * 1024 - 2) }, headers });
    r = await rawSend(S, 'POST', `/?a=${long}`, s.headers, s.body);
    assertSsmError(r, 400, 'ValidationException', 'query signed cut short');
    // many parameters
    const many = {};
    for (let i = 0; i < 40; i++) many[`p${i}`] = 'y'.repeat(200);
    s = await signAny(S, { body, query: many, headers });
    r = await rawSend(S, 'POST', `/?${Object.entries(many).map(([k, v]) => `${k}=${v}`).join('&')}`, s.headers, s.body);
    assertSsmError(r, 400, 'ValidationException', '40 query parameters');
    assert.match(r.json.message, /more than 32 query parameters/);
    // longer than a request line may be at all
    const huge = 'z'.repeat(20 * 1024);
    s = await signAny(S, { body, query: { a: huge }, headers });
    r = await rawSend(S, 'POST', `/?a=${huge}`, s.headers, s.body);
    assert.ok(r.status >= 400 && r.status < 500, `a 20 KiB query: ${r.status} ${r.text.slice(0, 200)}`);
    assert.deepEqual(await storeSnapshot(S), before, 'a request with a long query wrote something');
    await assertHealthy(S);
  });
});

describe('scopes', () => {
  it('a read-only key reads, but every write is AccessDeniedException', async () => {
    await withClient(readOnly, {}, async (c) => {
      assert.equal((await c.send(new GetParameterCommand({ Name: NAME }))).Parameter.Value, 'original');
      assert.ok((await c.send(new DescribeParametersCommand({}))).Parameters.length >= 2);
      await refusedWrite(c, 'AccessDeniedException', 'read-only put');
      await refusedWrite(c, 'AccessDeniedException', 'read-only create', { Name: '/auth/new', Value: 'x', Type: 'String' });
      const before = await storeSnapshot(S);
      await sdkRejects(() => c.send(new DeleteParameterCommand({ Name: NAME })), 'AccessDeniedException', 'read-only delete');
      await sdkRejects(() => c.send(new LabelParameterVersionCommand({ Name: NAME, ParameterVersion: 1, Labels: ['x'] })), 'AccessDeniedException', 'read-only label');
      await sdkRejects(() => c.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: NAME, Tags: [{ Key: 'a', Value: 'b' }] })), 'AccessDeniedException', 'read-only tag');
      assert.deepEqual(await storeSnapshot(S), before);
    });
  });

  it('decryption needs the decrypt scope: not read, not write; read+decrypt can', async () => {
    const rd = await createKey(S, 'read-decrypt', ['read', 'decrypt']);
    for (const k of [readOnly, writer]) {
      await withClient(k, {}, async (c) => {
        const sealed = await c.send(new GetParameterCommand({ Name: '/auth/secret' }));
        assert.notEqual(sealed.Parameter.Value, 'top-secret-value');
        const err = await sdkRejects(() => c.send(new GetParameterCommand({ Name: '/auth/secret', WithDecryption: true })), 'AccessDeniedException', `${k.name} decrypt`);
        assert.ok(!err.message.includes('top-secret-value'));
        await sdkRejects(() => c.send(new GetParametersByPathCommand({ Path: '/auth', WithDecryption: true })), 'AccessDeniedException', `${k.name} by path decrypt`);
      });
    }
    await withClient(rd, {}, async (c) => {
      const p = await c.send(new GetParameterCommand({ Name: '/auth/secret', WithDecryption: true }));
      assert.equal(p.Parameter.Value, 'top-secret-value');
      await refusedWrite(c, 'AccessDeniedException', 'read+decrypt put');
    });
  });

  it('a write key writes, and the audit names it', async () => {
    await withClient(writer, {}, async (c) => {
      const r = await c.send(new PutParameterCommand({ Name: '/auth/by-writer', Value: 'w', Type: 'String' }));
      assert.equal(r.Version, 1);
    });
    const a = await api(S, 'GET', '/api/v1/admin/audit?limit=5&name=/auth/by-writer');
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.records[0].actor, 'writer');
    const n = await api(S, 'GET', pp('/auth/by-writer'));
    assert.equal(n.json.last_modified_user, 'writer');
  });

  it('the server is healthy after all of it', async () => {
    await assertHealthy(S);
    assert.equal((await admin.send(new GetParameterCommand({ Name: NAME }))).Parameter.Value, 'original');
  });
});

describe('the signature covers what selects the operation', () => {
  const { SignatureV4 } = require('@smithy/signature-v4');
  const { Sha256 } = require('./helpers');

  /* A GetParameter signed with only the headers in `signed`, sent with `target` instead. */
  async function replay(signed, target, contentType = SSM_CT) {
    const signer = new SignatureV4({ credentials: S.creds, region: 'us-east-1', service: 'ssm', sha256: Sha256 });
    const body = JSON.stringify({ Name: NAME });
    const headers = { host: `127.0.0.1:${S.port}`, 'content-type': SSM_CT, 'x-amz-target': 'AmazonSSM.GetParameter' };
    const unsignable = new Set(['content-type', 'x-amz-target'].filter((h) => !signed.includes(h)));
    const s = await signer.sign({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: S.port, path: '/',
      query: {}, headers, body }, { unsignableHeaders: unsignable });
    assert.ok(!s.headers.authorization.includes('x-amz-target') || signed.includes('x-amz-target'));
    const sent = { ...s.headers, 'x-amz-target': target, 'content-type': contentType };
    return rawPost(S, sent, body);
  }

  for (const signed of [[], ['content-type'], ['x-amz-target']]) {
    it(`signed over host, x-amz-date${signed.map((h) => `, ${h}`).join('')} only: refused, even as the same operation`, async () => {
      const before = await storeSnapshot(S);
      for (const target of ['AmazonSSM.DeleteParameter', 'AmazonSSM.GetParameter']) {
        const r = await replay(signed, target);
        assertSsmError(r, 403, 'IncompleteSignatureException', `${target} with ${signed}`);
        assert.match(r.json.message, /must be signed/);
      }
      assert.deepEqual(await storeSnapshot(S), before, 'a replayed request changed the store');
      assert.equal((await admin.send(new GetParameterCommand({ Name: NAME }))).Parameter.Value, 'original');
    });
  }

  it('signed over content-type and x-amz-target, swapping the target breaks the signature', async () => {
    const r = await replay(['content-type', 'x-amz-target'], 'AmazonSSM.DeleteParameter');
    assertSsmError(r, 403, 'InvalidSignatureException', 'swapped target');
    const ok = await replay(['content-type', 'x-amz-target'], 'AmazonSSM.GetParameter');
    assert.equal(ok.status, 200, ok.text);
  });

  it('a header past the verifier\'s view is not executed: more than 128 headers is refused', async () => {
    const signer = new SignatureV4({ credentials: S.creds, region: 'us-east-1', service: 'ssm', sha256: Sha256 });
    const body = JSON.stringify({ Name: NAME });
    const s = await signer.sign({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: S.port, path: '/',
      query: {}, headers: { host: `127.0.0.1:${S.port}`, 'x-amz-target': 'AmazonSSM.GetParameter' }, body },
      { unsignableHeaders: new Set(['x-amz-target', 'content-type']) });
    const filler = {};
    for (let i = 0; i < 140; i++) filler[`x-filler-${i}`] = '1';
    const { 'x-amz-target': _t, ...rest } = s.headers;
    const r = await rawPost(S, { ...rest, ...filler, 'content-type': SSM_CT, 'x-amz-target': 'AmazonSSM.DeleteParameter' }, body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /more than 128 headers/);
    assert.equal((await admin.send(new GetParameterCommand({ Name: NAME }))).Parameter.Value, 'original');
  });

  it('two X-Amz-Target headers are refused', async () => {
    const s = await signRequest(S, 'GetParameter', JSON.stringify({ Name: NAME }));
    const raw = await new Promise((resolve, reject) => {
      const net = require('node:net');
      const sock = net.connect(S.port, '127.0.0.1');
      const lines = Object.entries(s.headers).filter(([k]) => !/^(content-length|connection)$/i.test(k)).map(([k, v]) => `${k}: ${v}`);
      lines.push('x-amz-target: AmazonSSM.DeleteParameter');
      const body = s.body;
      sock.on('error', reject);
      let out = '';
      sock.on('data', (c) => { out += c; });
      sock.on('end', () => resolve(out));
      sock.write(`POST / HTTP/1.1\r\n${lines.join('\r\n')}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    assert.match(raw, /^HTTP\/1\.1 400 /, raw.slice(0, 200));
    assert.match(raw, /more than one X-Amz-Target/, raw.slice(0, 400));
    assert.equal((await admin.send(new GetParameterCommand({ Name: NAME }))).Parameter.Value, 'original');
  });
});

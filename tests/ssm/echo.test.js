// echo.test.js — SSM error messages quote what the request sent (a header, a value cut to
// its first N bytes); bytes that are not UTF-8, or a character cut in two, must still give
// the JSON error reply of a 400, never a 500.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSsmServer, signedCall, rawPost, assertSsmError, assertHealthy, SSM_CT } = require('./helpers');

let S;
before(async () => {
  S = await startSsmServer();
});
after(async () => {
  if (S) await S.cleanup();
});

it('a Content-Type or X-Amz-Target with bytes that are not UTF-8 is refused with a JSON error', async () => {
  let r = await rawPost(S, { 'Content-Type': 'text/\xff\xfe', 'X-Amz-Target': 'AmazonSSM.GetParameter' }, '{}');
  assertSsmError(r, 400, 'UnknownOperationException', 'Content-Type with 0xff');
  assert.match(r.json.message, /text\/\?\?/);
  r = await rawPost(S, { 'Content-Type': SSM_CT, 'X-Amz-Target': 'Amazon\xffSSM.GetParameter' }, '{}');
  assertSsmError(r, [400, 403], null, 'X-Amz-Target with 0xff');
  await assertHealthy(S);
});

it('a value quoted to its first bytes, cut inside a character, is refused with a JSON error', async () => {
  // "Value '%.64s' at 'type'": 'x' and then two-byte characters put the 64th byte inside one
  const type = `x${'\u00e9'.repeat(40)}`;
  const r = await signedCall(S, 'PutParameter', JSON.stringify({ Name: '/echo/a', Value: 'v', Type: type }));
  assertSsmError(r, 400, 'ValidationException', 'a Type cut inside a character');
  assert.ok(r.json.message.includes('x\u00e9\u00e9'), r.text);
  await assertHealthy(S);
});

// swap.test.js — runbook 000's provider swap drill end to end: the strategy parameter written by
// the real `aws ssm put-parameter`, the next request served by the new provider, and one
// "Provider strategy loaded" log line per change.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const H = require('./helpers');
const { awsOk } = require('../ssm/helpers');

const ENV = 'staging';
const STRATEGY = `/photoeditor/${ENV}/provider/strategy`;
const ROUTE = `/photoeditor/${ENV}/image-processor`;
const GEMINI_KEY = `AIzaSy-sim-${crypto.randomBytes(12).toString('hex')}`;
const SEEDREAM_KEY = `ark-sim-${crypto.randomBytes(12).toString('hex')}`;

let G;
let S;
let sim;

before(async () => {
  G = await H.startGateway({ sims: 1, simOpts: [{ keys: { gemini: GEMINI_KEY, seedream: SEEDREAM_KEY } }] });
  S = G.S;
  sim = G.sims[0];
  await H.putSecret(S, `/photoeditor/${ENV}/gemini/api-key`, GEMINI_KEY);
  await H.putSecret(S, `/photoeditor/${ENV}/seedream/api-key`, SEEDREAM_KEY);
  await H.putProvider(S, 'gemini', {
    type: 'gemini',
    base_url: `${sim.url}/v1beta`,
    models: ['gemini-2.0-flash', 'gemini-1.5-pro'],
    credentials: `/photoeditor/${ENV}/gemini/api-key`,
    retry: { max_attempts: 1, base_ms: 10, max_ms: 50 },
  });
  await H.putProvider(S, 'seedream', {
    type: 'seedream',
    base_url: sim.url,
    models: ['seedream-4-0-250828'],
    credentials: `/photoeditor/${ENV}/seedream/api-key`,
    retry: { max_attempts: 1, base_ms: 10, max_ms: 50 },
  });
});
after(async () => { if (G) await G.cleanup(); });

const ssm = (args) => awsOk(S, ['ssm', ...args]);
const put = (value) => ssm(['put-parameter', '--name', STRATEGY, '--value', value, '--type', 'String', '--overwrite']);
const current = async () => (await ssm(['get-parameter', '--name', STRATEGY, '--query', 'Parameter.Value', '--output', 'text'])).stdout.trim();
const ask = (text) => H.chat(S, { model: 'gemini-2.0-flash', messages: [{ role: 'user', content: text }] }, { headers: { 'X-Switchyard-Route': ROUTE } });

/* The "Provider strategy loaded" records of the strategy parameter, in order. */
const loaded = () => H.logRecords(S).filter((r) => r.msg === 'Provider strategy loaded' && r.parameter === STRATEGY);
const countFor = (p) => loaded().filter((r) => r.provider === p).length;

it('the drill: gemini → stub → gemini, each swap seen by the very next request', async () => {
  await put('gemini');
  await H.putRoute(S, ROUTE, { strategy: STRATEGY, provider: 'seedream' });
  assert.equal(await current(), 'gemini');

  let n = sim.stats().by_format.gemini;
  let r = await ask('before the swap');
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'gemini', route: ROUTE });
  assert.equal(r.json.choices[0].message.content, 'sim-gemini: before the swap');
  assert.equal(sim.stats().by_format.gemini, n + 1, 'the gemini sim served it');
  assert.equal(sim.stats().last.gemini.headers['x-goog-api-key'], GEMINI_KEY);
  await H.waitFor(() => countFor('gemini') >= 1, 5000, 'a "Provider strategy loaded" line for gemini');
  const gemini0 = countFor('gemini');
  assert.equal(gemini0, 1, `one line for the first load: ${JSON.stringify(loaded())}`);

  // swap to the stub: the CLI's write is acknowledged before the next request is sent
  await put('stub');
  assert.equal(await current(), 'stub');
  const total = sim.stats().total;
  r = await ask('during the outage');
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'stub', route: ROUTE });
  assert.equal(typeof r.json.choices[0].message.content, 'string');
  assert.equal(sim.stats().total, total, 'the stub makes no call to any provider');
  for (let i = 0; i < 5; i++) {
    const again = await ask(`still the stub ${i}`);
    assert.equal(again.headers.get('x-switchyard-provider'), 'stub');
  }
  await H.waitFor(() => countFor('stub') >= 1, 5000, 'a "Provider strategy loaded" line for stub');
  const stubLine = loaded().find((x) => x.provider === 'stub');
  assert.equal(stubLine.source, 'ssm', `written by aws ssm: ${JSON.stringify(stubLine)}`);

  // rollback
  await put('gemini');
  n = sim.stats().by_format.gemini;
  r = await ask('after the rollback');
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'gemini', route: ROUTE });
  assert.equal(sim.stats().by_format.gemini, n + 1);
  await H.waitFor(() => countFor('gemini') >= gemini0 + 1, 5000, 'a line for the rollback');

  // a write of the same value is not a change: no line
  await put('gemini');
  r = await ask('same value again');
  assert.equal(r.headers.get('x-switchyard-provider'), 'gemini');
  // a marker request after everything: any line of the writes above is out by now
  await H.waitFor(async () => (await H.api(S, 'GET', '/health', undefined, null)).status === 200, 2000, 'health');
  assert.equal(countFor('stub'), 1, `exactly one line for the stub: ${JSON.stringify(loaded())}`);
  assert.equal(countFor('gemini'), gemini0 + 1, `exactly one line per change to gemini: ${JSON.stringify(loaded())}`);
  for (const rec of loaded()) assert.equal(rec.parameter, STRATEGY);
});

it('the runbook\'s other commands: tag the parameter; swap to seedream for images', async () => {
  await ssm(['add-tags-to-resource', '--resource-type', 'Parameter', '--resource-id', STRATEGY,
    '--tags', `Key=LastSwapDate,Value=${new Date().toISOString().slice(0, 19)}Z`, 'Key=SwappedBy,Value=drill']);
  const before0 = countFor('seedream');
  await put('seedream');
  const n = sim.stats().by_format.seedream;
  const r = await H.gw(S, '/v1/images/generations', { model: 'gemini-2.0-flash', prompt: 'a lighthouse', size: '1024x1024' }, { headers: { 'X-Switchyard-Route': ROUTE.slice(1) } });
  assert.equal(r.status, 200, r.text);
  H.assertGatewayHeaders(r.headers, { provider: 'seedream', route: ROUTE });
  assert.match(r.json.data[0].url, /^https:\/\//);
  assert.equal(sim.stats().by_format.seedream, n + 1);
  const up = sim.stats().last.seedream;
  assert.equal(up.path, '/api/v3/images/generations');
  assert.equal(up.headers.authorization, `Bearer ${SEEDREAM_KEY}`);
  assert.equal(up.body.model, 'seedream-4-0-250828', 'a swap does not break clients naming the old provider\'s model');
  assert.equal(up.body.prompt, 'a lighthouse');
  await H.waitFor(() => countFor('seedream') === before0 + 1, 5000, 'a line for seedream');
});

it('a deleted strategy leaves the route on its provider field (source default)', async () => {
  await put('gemini');
  let r = await ask('strategy gemini');
  assert.equal(r.headers.get('x-switchyard-provider'), 'gemini');
  await ssm(['delete-parameter', '--name', STRATEGY]);
  r = await ask('no strategy');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('x-switchyard-provider'), 'seedream', 'the route\'s provider');
  await H.waitFor(() => loaded().some((x) => x.source === 'default' && x.provider === 'seedream'), 5000, 'a line with source default');
  await put('stub');
  r = await ask('strategy back');
  assert.equal(r.headers.get('x-switchyard-provider'), 'stub');
});

it('a strategy naming no provider (a typo): a warning, and the route keeps its own provider', async () => {
  await put('gemni');
  await H.waitFor(() => H.logRecords(S).some((x) => x.level === 'warn' && x.parameter === STRATEGY && x.value === 'gemni'),
    5000, 'a warning naming the value');
  const r = await ask('typo');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('x-switchyard-provider'), 'seedream', 'the route\'s provider field serves');
  await put('stub');
  assert.equal((await ask('fixed')).headers.get('x-switchyard-provider'), 'stub');
});

// watch_behind.test.js — a filtered change stream more than the in-memory ring (65,536 events)
// behind is served from the store, however many events in a row its filter skips: it is
// never cut, and a resume point that far back gets every matching event.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, pp, openSSE } = require('./helpers');

const RING = 65536;
const N = RING + 4000; // one import larger than the ring

test('a stream far behind the ring catches up from the store, past a long run of skipped events', { timeout: 300000 }, async (t) => {
  const S = await startServer({ env: { SWITCHYARD_HEARTBEAT_MS: '200' } });
  t.after(() => S.cleanup());
  let r = await api(S, 'PUT', pp('/far/probe'), { value: 'before', type: 'String' });
  assert.equal(r.status, 200, r.text);
  const seq0 = (await api(S, 'GET', '/api/v1/config/runtime')).json.seq;
  const params = [];
  for (let i = 0; i < N; i++) params.push({ name: `/far/bulk/p${i}`, value: `v${i}`, type: 'String' });
  params.push({ name: '/far/probe', value: 'after', type: 'String' });
  r = await api(S, 'POST', '/api/v1/config/runtime?apply=true', JSON.stringify({ format: 'switchyard-config/1', params }));
  assert.equal(r.status, 200, r.text.slice(0, 300));
  // the probe's change sits behind N changes the filter skips, and the ring no longer holds them
  const s = await openSSE(S, `/api/v1/watch?prefix=/far/probe&since=${seq0}`);
  t.after(() => s.close());
  assert.equal(s.status, 200);
  const ev = await s.nextEvent((e) => e.event === 'change', 120000);
  assert.equal(ev.json.name, '/far/probe');
  assert.equal(ev.json.value, 'after');
  assert.equal(Number(ev.id), seq0 + N + 1);
});

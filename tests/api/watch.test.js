// watch.test.js — the SSE change stream: ordering, prefix filter, resume, heartbeats, secrets.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, pp, openSSE } = require('./helpers');

let S;
const open = [];
before(async () => { S = await startServer({ env: { SWITCHYARD_HEARTBEAT_MS: '200' } }); });
after(async () => {
  for (const s of open) s.close();
  if (S) await S.cleanup();
});

async function watch(q, opts) {
  const s = await openSSE(S, `/api/v1/watch${q}`, opts);
  open.push(s);
  assert.equal(s.status, 200, `watch${q}: ${s.status} ${s.body}`);
  assert.match(s.headers.get('content-type') || '', /^text\/event-stream/);
  return s;
}

async function put(name, value, extra = {}) {
  const r = await api(S, 'PUT', pp(name), { value, type: 'String', overwrite: true, ...extra });
  assert.equal(r.status, 200, `PUT ${name}: ${r.text}`);
  return r.json;
}

function checkEvent(ev, name, version, action = 'put') {
  assert.equal(ev.event, 'change', JSON.stringify(ev));
  assert.ok(ev.json, `data is not JSON: ${ev.data}`);
  assert.match(ev.id || '', /^\d+$/, `id: ${JSON.stringify(ev)}`);
  assert.equal(ev.json.seq, Number(ev.id), 'id = seq');
  assert.equal(ev.json.name, name);
  assert.equal(ev.json.version, version);
  assert.equal(ev.json.action, action);
  assert.match(ev.json.time, /^\d{4}-\d\d-\d\dT/);
}

describe('watch', () => {
  it('a PUT under the prefix produces a change event with id = seq', async () => {
    const s = await watch('?prefix=/w');
    const w = await put('/w/a', 'x');
    const ev = await s.nextEvent(undefined, 5000);
    checkEvent(ev, '/w/a', w.version);
    assert.equal(ev.json.type, 'String');
    assert.equal(ev.json.value, 'x');
    // the seq is the audit record of the same commit
    const a = await api(S, 'GET', '/api/v1/admin/audit?limit=1&name=/w/a');
    assert.equal(a.json.records[0].seq, ev.json.seq);
    s.close();
  });

  it('changes outside the prefix are not delivered; order is commit order', async () => {
    const s = await watch('?prefix=/w');
    await put('/x/outside', '1');
    await put('/other/w/a', '2');
    const w1 = await put('/w/in1', 'a');
    await put('/x/outside', '3');
    const w2 = await put('/w/deep/in2', 'b');
    const e1 = await s.nextEvent(undefined, 5000);
    const e2 = await s.nextEvent(undefined, 5000);
    checkEvent(e1, '/w/in1', w1.version);
    checkEvent(e2, '/w/deep/in2', w2.version);
    assert.ok(e2.json.seq > e1.json.seq);
    // nothing from outside slipped in between
    assert.ok(s.items.filter((i) => i.type === 'event').every((i) => i.json.name.startsWith('/w/')));
    s.close();
  });

  it('a delete is an event without a value', async () => {
    const s = await watch('?prefix=/w/del');
    await put('/w/del/x', 'gone-soon');
    const r = await api(S, 'DELETE', pp('/w/del/x'));
    assert.equal(r.status, 200, r.text);
    const e1 = await s.nextEvent(undefined, 5000);
    const e2 = await s.nextEvent(undefined, 5000);
    assert.equal(e1.json.action, 'put');
    assert.equal(e2.json.action, 'delete');
    assert.equal(e2.json.name, '/w/del/x');
    assert.ok(!('value' in e2.json), e2.data);
    s.close();
  });

  it('SecureString events carry no value', async () => {
    const s = await watch('?prefix=/w/sec');
    const secret = 'Wat-ch-S3cret-4411';
    const r = await api(S, 'PUT', pp('/w/sec/k'), { value: secret, type: 'SecureString' });
    assert.equal(r.status, 200, r.text);
    const ev = await s.nextEvent(undefined, 5000);
    checkEvent(ev, '/w/sec/k', 1);
    assert.equal(ev.json.type, 'SecureString');
    assert.ok(!('value' in ev.json), ev.data);
    assert.ok(!ev.data.includes(secret));
    const r2 = await api(S, 'PUT', pp('/w/sec/k'), { value: secret + 'v2', overwrite: true });
    assert.equal(r2.status, 200, r2.text);
    const ev2 = await s.nextEvent(undefined, 5000);
    assert.equal(ev2.json.type, 'SecureString');
    assert.ok(!ev2.data.includes(secret), 'an overwrite of a SecureString leaked its value');
    s.close();
  });

  it('a Last-Event-ID that is not wholly a sequence number is refused', async () => {
    for (const v of ['+1', '1x', '-1', '0x10', '99999999999999999999']) {
      const r = await api(S, 'GET', '/api/v1/watch?prefix=/w', undefined, undefined, { 'Last-Event-ID': v });
      assert.equal(r.status, 400, `Last-Event-ID ${v}: ${r.status} ${r.text}`);
      assert.equal(r.json.error.message, 'Last-Event-ID must be a sequence number');
    }
  });

  for (const how of ['Last-Event-ID', 'since']) {
    it(`reconnecting with ${how} resumes with no gap`, async () => {
      const prefix = `/w/resume-${how.toLowerCase()}`;
      let s = await watch(`?prefix=${prefix}`);
      const first = await put(`${prefix}/k0`, '0');
      const ev = await s.nextEvent(undefined, 5000);
      checkEvent(ev, `${prefix}/k0`, first.version);
      s.close();
      // writes while disconnected, interleaved with writes elsewhere
      const expect = [];
      for (let i = 1; i <= 6; i++) {
        const w = await put(`${prefix}/k${i % 3}`, `v${i}`);
        expect.push([`${prefix}/k${i % 3}`, w.version]);
        await put('/elsewhere/x', `e${i}`);
      }
      s = how === 'since'
        ? await watch(`?prefix=${prefix}&since=${ev.id}`)
        : await watch(`?prefix=${prefix}`, { headers: { 'Last-Event-ID': ev.id } });
      const got = [];
      for (let i = 0; i < expect.length; i++) got.push(await s.nextEvent(undefined, 5000));
      assert.deepEqual(got.map((g) => [g.json.name, g.json.version]), expect);
      for (let i = 0; i < got.length; i++) {
        assert.ok(Number(got[i].id) > Number(ev.id));
        if (i) assert.ok(Number(got[i].id) > Number(got[i - 1].id));
      }
      // and it goes on live after the replay, with no duplicate
      const live = await put(`${prefix}/k9`, 'live');
      const nx = await s.nextEvent(undefined, 5000);
      checkEvent(nx, `${prefix}/k9`, live.version);
      s.close();
    });
  }

  it('heartbeats arrive', async () => {
    const s = await watch('?prefix=/w/quiet');
    const beats = [];
    while (beats.length < 3) {
      const it = await s.next(10000);
      if (it.type === 'comment' && /heartbeat/.test(it.text)) beats.push(it);
    }
    assert.equal(s.items.filter((i) => i.type === 'event').length, 0);
    s.close();
  });

  it('two watchers both see the same events', async () => {
    const a = await watch('?prefix=/w/two');
    const b = await watch('?prefix=/w/two');
    const w = await put('/w/two/x', 'both');
    const ea = await a.nextEvent(undefined, 5000);
    const eb = await b.nextEvent(undefined, 5000);
    checkEvent(ea, '/w/two/x', w.version);
    assert.equal(ea.id, eb.id);
    assert.equal(ea.data, eb.data);
    a.close();
    b.close();
  });

  it('a read token may watch; a bad since is 400', async () => {
    const r = await api(S, 'POST', '/api/v1/admin/tokens', { name: 'watcher', scopes: ['read'] });
    assert.ok([200, 201].includes(r.status), r.text);
    const s = await watch('?prefix=/w/ro', { token: r.json.token });
    const w = await put('/w/ro/x', 'ro');
    checkEvent(await s.nextEvent(undefined, 5000), '/w/ro/x', w.version);
    s.close();
    const bad = await openSSE(S, '/api/v1/watch?prefix=/w&since=banana');
    bad.close();
    assert.equal(bad.status, 400, `since=banana → ${bad.status}`);
    const h = await api(S, 'GET', '/health', undefined, null);
    assert.equal(h.status, 200);
  });
});

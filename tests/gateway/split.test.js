// split.test.js — a route's split sends a sticky share of subjects elsewhere, exactly as the
// bucket contract computes it: SHA-256(salt + "/" + subject), first 8 bytes big-endian, mod 10000.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('./helpers');

const ROUTE = '/gw/split/route';
const SALT = 'split-salt';
const N = 20000;

let G;
let S;
let blue; // the primary's sim
let green; // the split's sim
const subjects = Array.from({ length: N }, (_, i) => `user-${i}`);
const buckets = new Map(subjects.map((s) => [s, H.bucket(SALT, s)]));
const expect10 = (s) => (buckets.get(s) < 1000 ? 'green' : 'blue');

before(async () => {
  G = await H.startGateway({ sims: 2 });
  S = G.S;
  [blue, green] = G.sims;
  await H.putProvider(S, 'blue', H.openaiDoc(blue));
  await H.putProvider(S, 'green', H.openaiDoc(green));
  await H.putRoute(S, ROUTE, { provider: 'blue', split: [{ provider: 'green', percent: 10 }], salt: SALT });
});
after(async () => { if (G) await G.cleanup(); });

const ask = (subject, how = 'header') => H.chat(
  S,
  H.chatBody(`from ${subject}`, how === 'user' ? { user: subject } : {}),
  { headers: { 'X-Switchyard-Route': ROUTE, ...(how === 'header' ? { 'X-Switchyard-Subject': subject } : {}) } },
);

/* ~300 subjects: 100 inside the split and 200 outside, spread over the whole list. */
function sample() {
  const inside = subjects.filter((s) => expect10(s) === 'green');
  const outside = subjects.filter((s) => expect10(s) === 'blue');
  const pick = (arr, n) => Array.from({ length: n }, (_, i) => arr[Math.floor((i * arr.length) / n)]);
  return [...pick(inside, 100), ...pick(outside, 200)];
}

it('the computed share over 20,000 subjects is 10 % ± 1 %', () => {
  const share = subjects.filter((s) => expect10(s) === 'green').length / N;
  assert.ok(Math.abs(share - 0.1) <= 0.01, `share ${share}`);
});

it('~300 subjects are served exactly as computed, and again the same (sticky)', async () => {
  const list = sample();
  const got = await H.pool(list, 16, async (s) => {
    const r = await ask(s);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.choices[0].message.content, `sim-openai: from ${s}`);
    return r.headers.get('x-switchyard-provider');
  });
  const wrong = list.filter((s, i) => got[i] !== expect10(s)).map((s) => `${s} (bucket ${buckets.get(s)}) → ${got[list.indexOf(s)]}`);
  assert.deepEqual(wrong, [], 'subjects served by the wrong provider');
  assert.equal(green.stats().by_format.openai, 100);
  assert.equal(blue.stats().by_format.openai, 200);
  // sticky: the same subjects again, in another order
  const again = await H.pool([...list].reverse(), 16, async (s) => [s, (await ask(s)).headers.get('x-switchyard-provider')]);
  for (const [s, p] of again) assert.equal(p, expect10(s), `${s} moved`);
});

it('without the header, the body\'s user is the subject', async () => {
  const list = sample().slice(0, 60).concat(sample().slice(100, 160));
  const got = await H.pool(list, 16, async (s) => (await ask(s, 'user')).headers.get('x-switchyard-provider'));
  list.forEach((s, i) => assert.equal(got[i], expect10(s), `${s} by user`));
});

it('raising the percent keeps every subject that was in the split, and adds the next buckets', async () => {
  await H.putRoute(S, ROUTE, { provider: 'blue', split: [{ provider: 'green', percent: 20 }], salt: SALT });
  const was = sample().slice(0, 100); // all inside the 10 %
  const near = subjects.filter((s) => buckets.get(s) >= 1000 && buckets.get(s) < 2000).slice(0, 50);
  const far = subjects.filter((s) => buckets.get(s) >= 2000).slice(0, 50);
  const got = await H.pool([...was, ...near, ...far], 16, async (s) => [s, (await ask(s)).headers.get('x-switchyard-provider')]);
  for (const [s, p] of got) assert.equal(p, buckets.get(s) < 2000 ? 'green' : 'blue', `${s} (bucket ${buckets.get(s)}) at 20 %`);
});

it('two entries take successive ranges; two decimals count', async () => {
  await H.putRoute(S, ROUTE, { provider: 'blue', split: [{ provider: 'green', percent: 2.5 }, { provider: 'stub', percent: 0.75 }], salt: SALT });
  const pickRange = (lo, hi, n) => subjects.filter((s) => buckets.get(s) >= lo && buckets.get(s) < hi).slice(0, n);
  const cases = [
    ...pickRange(0, 250, 20).map((s) => [s, 'green']),
    ...pickRange(250, 325, 20).map((s) => [s, 'stub']),
    ...pickRange(325, 10000, 20).map((s) => [s, 'blue']),
  ];
  // the edges themselves, when a subject falls on them
  for (const [b, p] of [[249, 'green'], [250, 'stub'], [324, 'stub'], [325, 'blue']]) {
    const s = subjects.find((x) => buckets.get(x) === b);
    if (s) cases.push([s, p]);
  }
  const got = await H.pool(cases, 16, async ([s]) => (await ask(s)).headers.get('x-switchyard-provider'));
  cases.forEach(([s, p], i) => assert.equal(got[i], p, `${s} (bucket ${buckets.get(s)})`));
});

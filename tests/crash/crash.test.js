// crash.test.js — an acknowledged write survives SIGKILL: 8 concurrent writers, kill at a
// random moment, restart on the same data, check every acknowledged version. 20 rounds.
// The writers and the checks live in durability.js, shared with the soak (tests/soak/kill.mjs).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('../api/helpers');
const { newLedger, startWriters, lastSeq, checkRound } = require('./durability');

const ROUNDS = Number(process.env.SY_CRASH_ROUNDS || 20);
const WRITERS = 8;
const KEYS = 16;

test('every acknowledged write survives SIGKILL', { timeout: 300000 }, async (t) => {
  const S = await startServer();
  t.after(() => S.cleanup());
  // name → Map(version → value) of every acknowledged write, across all rounds
  const acked = newLedger('/crash/', KEYS);
  let total = 0;

  for (let round = 0; round < ROUNDS; round++) {
    const seq0 = await lastSeq(S);
    const w = startWriters(S, acked, { round, writers: WRITERS });
    // The kill moment is the experiment's random variable, not a synchronisation.
    await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 300)));
    w.killing = true;
    await S.kill9();
    w.stopped = true;
    await w.done;
    assert.deepEqual(w.surprises, [], `round ${round}: unexpected answers while the server was up`);
    total += w.thisRound.length;

    await S.restart();
    // the chain verifies; every name is at least at its newest acknowledged version; every
    // version acknowledged this round reads back with its value (unless aged out past 100)
    // and has its audit record
    const c = await checkRound(S, acked, w.thisRound, { round, seq0 });
    assert.deepEqual(c.failures, [], `round ${round}: ${c.lost.size} acknowledged writes lost or wrong after SIGKILL`);
  }
  t.diagnostic(`${total} acknowledged writes over ${ROUNDS} SIGKILLs`);
  assert.ok(total > ROUNDS, 'the writers barely wrote anything; the test proved nothing');
});

// lease.test.js — the rollout controller's lease on a PostgreSQL store: exactly one node says
// "leader" in /health; kill it and another takes over; the killed node, back, does not make two.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('../api/helpers');
const P = require('./helpers');

const TAKEOVER_MS = Number(process.env.SY_TEST_LEASE_MS || 30000);

/* Waits until exactly one of `nodes` says leader and it says so on three reads in a row of every
 * node; returns its index. */
async function oneLeader(nodes, deadlineMs, what) {
  let last = -1;
  let steady = 0;
  let seen = [];
  return H.waitFor(async () => {
    seen = [];
    for (const s of nodes) seen.push((await P.health(s)).leader);
    const leaders = seen.flatMap((l, i) => (l === true ? [i] : []));
    if (leaders.length !== 1) { steady = 0; return null; }
    steady = leaders[0] === last ? steady + 1 : 1;
    last = leaders[0];
    return steady >= 3 ? last + 1 : null; // +1: waitFor wants a truthy value
  }, deadlineMs, `${what} (last reads: ${JSON.stringify(seen)})`, 100).then((i) => i - 1);
}

describe('the rollout controller lease', { skip: P.SKIP }, () => {
  let C;
  before(async () => { C = await P.startNodes(3); });
  after(async () => { if (C) await C.cleanup(); });

  it('is held by exactly one node, and passes to another when that one is killed', async () => {
    const first = await oneLeader(C.nodes, TAKEOVER_MS, 'one leader among three nodes');
    for (const s of C.nodes) assert.equal((await P.health(s)).status, 'ok');
    const dead = C.nodes[first];
    await dead.kill9();
    const rest = C.nodes.filter((s) => s !== dead);
    const second = await oneLeader(rest, TAKEOVER_MS, 'a new leader after the leader was killed');
    const leader = rest[second];
    // the killed node comes back as a follower: still one leader, the same one
    await dead.restart();
    await H.waitFor(async () => (await P.health(dead)).status === 'ok', 15000, 'the restarted node is healthy');
    const third = await oneLeader(C.nodes, TAKEOVER_MS, 'one leader after the old one came back');
    assert.equal(C.nodes[third], leader, 'the lease moved back to the restarted node while its holder was alive');
  });

  it('a node stopped cleanly hands the lease on', async () => {
    const i = await oneLeader(C.nodes, TAKEOVER_MS, 'one leader');
    const holder = C.nodes[i];
    await holder.stop();
    const rest = C.nodes.filter((s) => s !== holder);
    await oneLeader(rest, TAKEOVER_MS, 'a new leader after the leader stopped');
    await holder.restart();
    await oneLeader(C.nodes, TAKEOVER_MS, 'one leader with all three up');
  });
});

// refused.test.js — PostgreSQL refuses a write in the middle of a batch (a trigger on versions raises):
// nothing of that batch is acknowledged or kept, the answer names the cause, and the node's
// next writes — which run as statements prepared on the same connection — still work, the
// chain stays whole, and a second node sees only what was committed.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const H = require('../api/helpers');
const P = require('./helpers');

const TRIGGER = `
CREATE FUNCTION switchyard.refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.name LIKE '/boom/%' THEN RAISE EXCEPTION 'refused by test trigger: %', NEW.name; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_boom BEFORE INSERT ON switchyard.versions FOR EACH ROW EXECUTE FUNCTION switchyard.refuse_boom();`;

describe('a write PostgreSQL refuses mid-batch', { skip: P.SKIP }, () => {
  let C;
  let S;
  before(async () => {
    C = await P.startNodes(1);
    S = C.nodes[0];
    // before the node's first write: the refused batch is the one that first prepares the
    // writer's statements, and those queued behind the refused one are skipped
    await H.pgSql(C.store, TRIGGER);
  });
  after(async () => { if (C) await C.cleanup(); });

  it('is not acknowledged, names the cause, and leaves nothing behind; later writes succeed', async () => {
    const seq0 = (await H.api(S, 'GET', '/api/v1/config/runtime')).json.seq;
    for (let round = 0; round < 3; round++) {
      const bad = await H.api(S, 'PUT', H.pp(`/boom/x${round}`), { value: 'no', type: 'String' });
      assert.ok(bad.status >= 500, `refused write answered ${bad.status}: ${bad.text}`);
      assert.equal(bad.json && bad.json.error && typeof bad.json.error.message, 'string', bad.text);
      const miss = await H.api(S, 'GET', H.pp(`/boom/x${round}`));
      assert.equal(miss.status, 404, `a refused write is readable: ${miss.text}`);
      const ok = await H.api(S, 'PUT', H.pp(`/fine/after${round}`), { value: `a${round}`, type: 'String' });
      assert.equal(ok.status, 200, `the write after a refused batch: ${ok.text}`);
    }
    // an import that carries one refused name is refused whole
    const params = [];
    for (let i = 0; i < 50; i++) params.push({ name: `/fine/bulk${i}`, value: `b${i}`, type: 'String' });
    params.push({ name: '/boom/bulk', value: 'no', type: 'String' });
    const imp = await H.api(S, 'POST', '/api/v1/config/runtime?apply=true', JSON.stringify({ format: 'switchyard-config/1', params }));
    assert.ok(imp.status >= 500, `refused import answered ${imp.status}: ${imp.text.slice(0, 300)}`);
    assert.equal((await H.api(S, 'GET', H.pp('/fine/bulk0'))).status, 404, 'half an import was kept');
    // the same import without the refused name goes through
    params.pop();
    const imp2 = await H.api(S, 'POST', '/api/v1/config/runtime?apply=true', JSON.stringify({ format: 'switchyard-config/1', params }));
    assert.equal(imp2.status, 200, imp2.text.slice(0, 300));
    const seq1 = (await H.api(S, 'GET', '/api/v1/config/runtime')).json.seq;
    assert.equal(seq1, seq0 + 3 + 50, 'the sequence counts only what was committed');
    assert.equal(Number(await H.pgSql(C.store, 'SELECT max(seq) FROM switchyard.audit')), seq1);
    const v = await H.api(S, 'GET', '/api/v1/admin/audit/verify');
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.ok, true, v.text);
  });

  it('a second node on the same store sees exactly what was committed', async () => {
    const B = await C.add();
    assert.equal((await H.api(B, 'GET', H.pp('/fine/after2'))).json.value, 'a2');
    assert.equal((await H.api(B, 'GET', H.pp('/fine/bulk49'))).json.value, 'b49');
    assert.equal((await H.api(B, 'GET', H.pp('/boom/x0'))).status, 404);
    assert.equal((await H.api(B, 'GET', H.pp('/boom/bulk'))).status, 404);
  });
});

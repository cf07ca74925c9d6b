// runbook001.test.js — runbook 001's rollout and rollback, every curl line as the runbook writes
// it (no token), through bash, curl and jq, against a server started with --insecure-loopback.
// Only the address is changed: the runbook's localhost:8000 becomes the test server's port.
'use strict';

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const H = require('./helpers');
const A = require('../api/helpers');

let S;
let sim;
let dir;

before(async () => {
  sim = await H.startSim({});
  S = await A.startServer({ args: ['--insecure-loopback'] });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-runbook001-'));
  // two providers to move between, as an operator would have them
  for (const [name, doc] of [
    ['gemini', { type: 'openai', base_url: `${sim.url}/v1`, models: ['model-name', 'sim-gpt'] }],
    ['backup', { type: 'openai', base_url: `${sim.url}/v1`, models: ['sim-gpt'] }],
  ]) {
    const r = await A.api(S, 'PUT', `/api/v1/params/switchyard/providers/${name}`, { type: 'Provider', value: JSON.stringify(doc) });
    assert.equal(r.status, 200, r.text);
  }
  const r = await A.api(S, 'PUT', '/api/v1/params/switchyard/routes/default', { type: 'Route', value: JSON.stringify({ provider: 'backup' }) });
  assert.equal(r.status, 200, r.text);
});
after(async () => {
  if (S) await S.stop();
  if (sim) await sim.close();
});

/* Runs a runbook line in bash in the scratch directory, the runbook's address made the test's
 * (asynchronously: the provider simulator answers from this process). Resolves its stdout. */
async function sh(line) {
  const cmd = line.replaceAll('http://localhost:8000', `http://127.0.0.1:${S.port}`);
  const { stdout } = await promisify(execFile)('bash', ['-c', `set -o pipefail; ${cmd}`], { cwd: dir, encoding: 'utf8', timeout: 30000 });
  return stdout;
}

it('pre-rollout: backups, test-connection, preflight', async () => {
  await sh('curl http://localhost:8000/api/v1/config/runtime > config-backup-$(date +%Y%m%d-%H%M%S).json');
  await sh('curl http://localhost:8000/api/v1/providers > providers-backup-$(date +%Y%m%d-%H%M%S).json');
  const files = fs.readdirSync(dir);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, files.find((f) => f.startsWith('config-backup-'))), 'utf8'));
  assert.ok(cfg.params.some((p) => p.name === '/switchyard/providers/gemini'));
  const prov = JSON.parse(fs.readFileSync(path.join(dir, files.find((f) => f.startsWith('providers-backup-'))), 'utf8'));
  assert.deepEqual(prov.providers.map((p) => p.name).sort(), ['backup', 'gemini', 'stub']);
  assert.equal(JSON.parse(await sh('curl -X POST http://localhost:8000/api/v1/providers/gemini/test-connection')).success, true);
  assert.equal(JSON.parse(await sh('curl -X POST http://localhost:8000/api/v1/providers/gemini/preflight')).ready, true);
});

it('rollout: pre-check, activate with a model, governance, verify, monitor', async () => {
  const status = await sh("curl http://localhost:8000/api/v1/providers | jq '.providers[] | {name, connection_status}'");
  assert.match(status, /"name": "gemini",\s*"connection_status": "connected"/);
  assert.equal((await sh("curl http://localhost:8000/api/v1/providers | jq '.active_provider'")).trim(), '"backup"');
  const crit = JSON.parse(await sh('curl http://localhost:8000/api/v1/alerts?severity=critical'));
  assert.equal(crit.summary.critical, 0, 'no critical alert before the rollout');
  await sh('curl -X POST http://localhost:8000/api/v1/providers/gemini/test-connection');
  const act = JSON.parse(await sh(`curl -X POST http://localhost:8000/api/v1/providers/gemini/activate \\
  -H "Content-Type: application/json" \\
  -d '{"model": "model-name"}'`));
  assert.deepEqual([act.activated, act.previous, act.model], ['gemini', 'backup', 'model-name']);
  const lim = JSON.parse(await sh(`curl -X POST http://localhost:8000/api/v1/governance/limits \\
  -H "Content-Type: application/json" \\
  -d '{
    "limit_type": "per_provider",
    "scope": "openai",
    "soft_limit_usd": 200.0,
    "hard_limit_usd": 250.0
  }'`));
  assert.equal(lim.name, '/switchyard/limits/per_provider/openai');
  assert.ok(JSON.parse(await sh('curl http://localhost:8000/api/v1/governance/status')).limits.length >= 1);
  assert.equal(JSON.parse(await sh('curl http://localhost:8000/api/v1/providers/gemini/status')).provider, 'gemini');
  const chat = JSON.parse(await sh(`curl -X POST http://localhost:8000/api/v1/chat/completions \\
  -H "Content-Type: application/json" \\
  -d '{"messages": [{"role": "user", "content": "test"}]}'`));
  assert.equal(chat.choices[0].message.content, 'sim-openai: test');
  assert.equal(sim.stats().last.openai.body.model, 'model-name', 'the activated model is asked for');
  const audit = JSON.parse(await sh('curl http://localhost:8000/api/v1/admin/audit?limit=5'));
  assert.ok(JSON.stringify(audit).includes('/switchyard/routes/default'), 'the activation is in the audit log');
  const metrics = JSON.parse(await sh('curl -s http://localhost:8000/api/v1/providers/gemini/metrics | jq ".metrics"'));
  assert.ok(metrics['1m'].requests >= 1);
  const summary = JSON.parse(await sh('curl -s http://localhost:8000/api/v1/alerts | jq ".summary"'));
  assert.equal(typeof summary.total, 'number');
});

it('rollback: activate the previous provider without a body; the next request goes there', async () => {
  await sh("curl http://localhost:8000/api/v1/providers | jq '.providers[] | {name, connection_status, is_active}'");
  await sh('curl -X POST http://localhost:8000/api/v1/providers/backup/activate');
  assert.equal((await sh("curl http://localhost:8000/api/v1/providers | jq '.active_provider'")).trim(), '"backup"');
  assert.equal(JSON.parse(await sh('curl http://localhost:8000/health')).status, 'ok');
  await sh(`curl -X POST http://localhost:8000/api/v1/chat/completions \\
  -H "Content-Type: application/json" \\
  -d '{"messages": [{"role": "user", "content": "rollback test"}]}'`);
  assert.equal(sim.stats().last.openai.body.model, 'sim-gpt', 'the route no longer names the activated model');
  await sh('curl http://localhost:8000/api/v1/providers/backup/status');
});

it('scripts/provider-rollout.sh as written: tests, then activates', async () => {
  fs.writeFileSync(path.join(dir, 'provider-rollout.sh'), `PROVIDER=$1
MODEL=$2

# Backup
curl http://localhost:8000/api/v1/config/runtime > backup-$(date +%Y%m%d-%H%M%S).json

# Test
RESULT=$(curl -X POST http://localhost:8000/api/v1/providers/\${PROVIDER}/test-connection)
if echo "$RESULT" | grep -q "success"; then
  # Activate
  curl -X POST http://localhost:8000/api/v1/providers/\${PROVIDER}/activate \\
    -H "Content-Type: application/json" \\
    -d "{\\"model\\": \\"\${MODEL}\\"}"
else
  echo "Test failed, aborting"
  exit 1
fi
`.replaceAll('http://localhost:8000', `http://127.0.0.1:${S.port}`));
  const { stdout: out } = await promisify(execFile)('bash', ['provider-rollout.sh', 'gemini', 'model-name'], { cwd: dir, encoding: 'utf8' });
  assert.match(out, /"activated":"gemini"/);
  assert.equal((await sh("curl http://localhost:8000/api/v1/providers | jq '.active_provider'")).trim(), '"gemini"');
});

// prom.js — a real Prometheus for the tests of tests/rollout (Debian's package; scripts/deps.sh
// --test installs it): started on a free port with a scratch storage, scraping the targets
// given every second, stopped and removed after. Waits are on conditions with deadlines.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { waitFor } = require('../api/helpers');

const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus']
  .find((p) => fs.existsSync(p)) || (spawnSync('sh', ['-c', 'command -v prometheus']).stdout || '').toString().trim();
const HAVE_PROMETHEUS = !!PROMETHEUS && fs.existsSync(PROMETHEUS);
const DEADLINE_MS = 30000;

function listen(handler) {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

/* Starts Prometheus scraping each of jobs: [{name, target: "127.0.0.1:PORT", path, token}]. */
async function startPrometheus(jobs) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-prom-'));
  const cfg = path.join(dir, 'prometheus.yml');
  const lines = ['global:', '  scrape_interval: 1s', '  evaluation_interval: 1s', 'scrape_configs:'];
  for (const j of jobs) {
    lines.push(`  - job_name: ${j.name}`);
    if (j.path) lines.push(`    metrics_path: ${j.path}`);
    if (j.token) lines.push('    authorization:', '      type: Bearer', `      credentials: ${j.token}`);
    lines.push('    static_configs:', `      - targets: ["${j.target}"]`);
  }
  fs.writeFileSync(cfg, lines.join('\n') + '\n');
  const proc = spawn(PROMETHEUS, [
    `--config.file=${cfg}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  await waitFor(async () => (await get(`http://127.0.0.1:${port}/-/ready`)) === 200, DEADLINE_MS,
    `prometheus ready (log: ${log.slice(-500)})`, 100);
  return { proc, port, dir, exited, url: `http://127.0.0.1:${port}` };
}

async function stopPrometheus(prom) {
  if (!prom) return;
  if (prom.proc.exitCode === null && prom.proc.signalCode === null) {
    prom.proc.kill('SIGTERM');
    const t = setTimeout(() => prom.proc.kill('SIGKILL'), 10000);
    await prom.exited;
    clearTimeout(t);
  }
  fs.rmSync(prom.dir, { recursive: true, force: true });
}

module.exports = { PROMETHEUS, HAVE_PROMETHEUS, DEADLINE_MS, listen, freePort, get, startPrometheus, stopPrometheus };

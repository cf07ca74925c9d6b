// newuser.test.js — what a new user meets following README.md: the commands it shows, the help
// they read, the variables they are told about. Real binaries and the real README.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { cleanEnv, spawnRun } = require('./helpers');

const ROOT = path.resolve(__dirname, '../..');
const BIN = process.env.SWITCHYARD_BIN || path.join(ROOT, 'build/switchyard');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

// Every SWITCHYARD_* variable the server or the store reads: the string literals of their sources.
function serverVariables() {
  const names = new Set();
  for (const dir of ['src/server', 'src/store']) {
    for (const f of fs.readdirSync(path.join(ROOT, dir)).filter((x) => x.endsWith('.c'))) {
      const text = fs.readFileSync(path.join(ROOT, dir, f), 'utf8');
      for (const m of text.matchAll(/"(SWITCHYARD_[A-Z0-9_]+)"/g)) names.add(m[1]);
    }
  }
  return [...names].sort();
}

test('serve --help lists every variable the server reads, each with its default', async () => {
  const vars = serverVariables();
  assert.ok(vars.length >= 13, vars.join(' '));
  const r = await spawnRun(BIN, ['serve', '--help'], cleanEnv({}));
  assert.equal(r.code, 0, r.stderr);
  const env = r.stdout.slice(r.stdout.indexOf('\nEnvironment'));
  assert.ok(env.length > 1, r.stdout);
  // one entry per variable: its line and the lines indented under it, up to the next variable
  const entries = env.split(/\n(?= {2}SWITCHYARD_)/).slice(1);
  for (const v of vars) {
    const i = entries.findIndex((e) => e.trimStart().startsWith(v));
    assert.ok(i >= 0, `serve --help does not list ${v}:\n${env}`);
    // a pair explained together shares the entry that follows
    const entry = entries[i].includes('default') ? entries[i] : entries[i + 1];
    assert.match(entry, /\(default[ :]/, `${v} has no default in serve --help:\n${entries[i]}`);
  }
});

test('README names every variable the server reads', () => {
  for (const v of serverVariables()) assert.ok(README.includes('`' + v), `README.md does not mention ${v}`);
});

test('the unit-test binaries find their data from any directory', async () => {
  const dir = path.dirname(BIN);
  const units = fs.readdirSync(dir).filter((f) => /^test_[a-z0-9_]+$/.test(f));
  assert.ok(units.length >= 3, `no unit-test binaries in ${dir}`);
  for (const cwd of [ROOT, os.tmpdir()]) {
    for (const u of units) {
      const r = await new Promise((resolve) => {
        execFile(path.join(dir, u), [], { cwd }, (err, stdout, stderr) =>
          resolve({ code: err ? err.code : 0, out: stdout + stderr }));
      });
      assert.equal(r.code, 0, `${u} run from ${cwd} failed:\n${r.out.slice(-2000)}`);
    }
  }
});

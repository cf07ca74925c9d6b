// newuser.test.js — what a new user meets following README.md: the commands it shows, the help
// they read, the variables they are told about. Real binaries and the real README.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { cleanEnv, spawnRun, startServer, storeIndependent } = require('./helpers');

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

test('serve --help lists every variable the server reads, each with its default', { skip: storeIndependent() }, async () => {
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

test('README names every variable the server reads', { skip: storeIndependent() }, () => {
  for (const v of serverVariables()) assert.ok(README.includes('`' + v), `README.md does not mention ${v}`);
});

test('the unit-test binaries find their data from any directory', { skip: storeIndependent() }, async () => {
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

// `make run` with the README's variables, from the repository root: resolves with the process
// (its own process group), its output so far, and the port, once the server logs "listening".
function makeRun(vars, env = {}) {
  const child = spawn('make', ['--no-print-directory', 'run', ...vars], {
    cwd: ROOT, env: cleanEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c) => { out.stdout += c; });
  child.stderr.on('data', (c) => { out.stderr += c; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`make run: no "listening" in 120 s:\n${out.stderr}`)), 120000);
    child.stderr.on('data', () => {
      const line = out.stderr.split('\n').find((l) => l.includes('"listening"'));
      if (line) { clearTimeout(timer); resolve(JSON.parse(line).port); }
    });
    exited.then((code) => { clearTimeout(timer); reject(Object.assign(new Error(`make run exited ${code}`), { code })); });
  });
  listening.catch(() => {}); // a caller that awaits only the exit need not hear it twice
  return { child, out, exited, listening };
}

// The release build this suite runs, if it is one `make run` would make (it must not rebuild another).
function releaseBuildDir() {
  const dir = path.dirname(BIN);
  try {
    const cache = fs.readFileSync(path.join(dir, 'CMakeCache.txt'), 'utf8');
    if (/^CMAKE_BUILD_TYPE:STRING=RelWithDebInfo$/m.test(cache) && !/^SY_SANITIZE:BOOL=ON$/m.test(cache)) return dir;
  } catch { /* not a CMake build directory */ }
  return null;
}

test('make run shows the server, not the build: its first line on stdout is the admin token', { skip: storeIndependent() }, async (t) => {
  const build = releaseBuildDir();
  if (!build) {
    t.skip(`${path.dirname(BIN)} is not a release build that make run would keep`);
    return;
  }
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-make-run-'));
  t.after(() => fs.rmSync(data, { recursive: true, force: true }));
  const run = makeRun([`BUILD=${build}`, 'LISTEN=127.0.0.1:0', `DATA=${data}`]);
  try {
    const port = await run.listening;
    const token = fs.readFileSync(path.join(data, 'admin.token'), 'utf8').trim();
    assert.equal(run.out.stdout, `admin token (shown once, also in ${data}/admin.token): ${token}\n`);
    // stderr: one line about the build, then the server's JSON log, nothing of cmake or the compiler
    const lines = run.out.stderr.split('\n').filter((l) => l);
    assert.equal(lines[0], `make run: installing what is missing and building (output in ${build}/make-run.log)`);
    for (const l of lines.slice(1)) assert.doesNotThrow(() => JSON.parse(l), `not a server log line: ${l}`);
    assert.ok(fs.statSync(path.join(build, 'make-run.log')).size > 0, 'the build log is empty');
    // LISTEN and DATA were used, and the token printed is the admin's
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/admin/tokens`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
  } finally {
    try { process.kill(-run.child.pid, 'SIGTERM'); } catch { /* gone */ }
  }
  await run.exited;
  assert.match(run.out.stderr, /"msg":"stopped"/);
});

test('make run prints the build output when the build fails, and starts nothing', { skip: storeIndependent() }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-make-fail-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = makeRun([`BUILD=${dir}/build`, `DATA=${dir}/data`], { CC: '/bin/false' }); // no working compiler
  const code = await run.exited;
  assert.notEqual(code, 0);
  assert.equal(run.out.stdout, '');
  assert.match(run.out.stderr, /CMake Error/);
  assert.match(run.out.stderr, new RegExp(`make run: the build failed; its output is above and in ${dir}/build/make-run.log\\n`));
  assert.equal(fs.existsSync(path.join(dir, 'data')), false);
});

// The indented code block after a README heading, as the lines a user would paste.
function readmeBlock(heading) {
  const lines = README.split('\n');
  let i = lines.findIndex((l) => l.startsWith(heading));
  assert.ok(i >= 0, `README.md has no "${heading}"`);
  while (!lines[++i].startsWith('    '));
  const block = [];
  for (; i < lines.length && (lines[i].startsWith('    ') || lines[i] === ''); i++) block.push(lines[i].slice(4));
  return block.join('\n').trim().split('\n');
}

const AWS_BIN = process.env.SY_AWS_CLI || '/usr/bin/aws';

test('the README aws section runs as written: every file it reads, it makes first', async (t) => {
  if (!fs.existsSync(AWS_BIN)) {
    t.skip(`no aws CLI at ${AWS_BIN} (apt package awscli, or SY_AWS_CLI)`);
    return;
  }
  const S = await startServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-readme-aws-'));
  t.after(async () => {
    await S.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const q = (s) => `'${s.replace(/'/g, "'\\''")}'`;
  // what the user does by hand: paste the two export lines that `keys create` printed
  const script = readmeBlock('## The `aws ssm` commands').map((l) => {
    let line = l.replaceAll('http://127.0.0.1:8000', S.url);
    if (line.startsWith('build/switchyard keys create')) return `${line.replace(/\s+#.*$/, '').replace('build/switchyard', q(BIN))} > keys.out; cat keys.out`;
    if (line.startsWith('export AWS_ACCESS_KEY_ID=...')) return 'eval "$(grep \'^export \' keys.out)"';
    if (line.startsWith('aws ')) line = q(AWS_BIN) + line.slice(3);
    return line.replace(/^build\/switchyard/, q(BIN));
  }).join('\n');
  const files = readmeBlock('## The `aws ssm` commands').join('\n').match(/file:\/\/[^\s]+/g) || [];
  assert.ok(files.length > 0, 'the aws section reads no file any more: drop this test');
  const env = cleanEnv({
    SWITCHYARD_TOKEN: S.token,
    SWITCHYARD_URL: S.url, // the README's server is on 127.0.0.1:8000
    HOME: dir,
    AWS_CONFIG_FILE: path.join(dir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const r = await new Promise((resolve) => {
    execFile('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, env, timeout: 120000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
  assert.equal(r.code, 0, `the README's aws section failed:\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  for (const f of files) assert.ok(fs.existsSync(path.join(dir, f.slice('file://'.length))), `${f} was not made by the README`);
  // the SecureString comes back as the file held it
  const secret = fs.readFileSync(path.join(dir, files[0].slice('file://'.length)), 'utf8');
  const got = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('\n{\n'))); // the last command's answer
  assert.equal(got.Parameter.Value, secret);
  assert.match(r.stdout, /^stub$/m);
});

test('the README first steps run as written, with the admin token the server printed', async (t) => {
  const S = await startServer({ token: null }); // no SWITCHYARD_ADMIN_TOKEN: one is made and printed
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-readme-first-'));
  t.after(async () => {
    await S.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  fs.symlinkSync(S.dataDir, path.join(dir, 'data')); // make run's DATA, ./data
  const steps = readmeBlock('## First steps');
  assert.match(steps[0], /^make run\b/);
  const script = steps.slice(1).map((l) => l.replace(/^build\/switchyard/, `'${BIN}'`)).join('\n');
  const r = await new Promise((resolve) => {
    execFile('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, env: cleanEnv({ SWITCHYARD_URL: S.url }), timeout: 60000 },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
  assert.equal(r.code, 0, `README first steps failed:\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  assert.match(S.stdout, /^admin token \(shown once, also in .*admin\.token\): \S+\n/);
  assert.match(r.stdout, /^stub$/m);
  assert.match(r.stdout, /\bgemini outage$/m); // history and audit show the --reason
  assert.match(r.stdout, /^audit chain ok: \d+ records$/m);
});

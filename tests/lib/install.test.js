// install.test.js — libswitchyard as a user gets it: `cmake --install` of the build of
// SWITCHYARD_BIN into a temporary prefix, then programs compiled against that prefix with
// `cc … $(pkg-config --cflags --libs switchyard)` and run against a live server. Black-box:
// the installed files, the symbols and soname of the installed library, the examples' output.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, api, waitFor } = require('../api/helpers');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = process.env.SWITCHYARD_BIN;
const CC = process.env.CC || 'cc';
const STRATEGY = '/photoeditor/staging/provider/strategy';
const FLAG = '/audio-transcription/partial-results/config';
const FLAG_DOC = (enabled, pct) => JSON.stringify({ enabled, rollout_percentage: pct, min_stability_threshold: 0.85 });

let prefix; // the temporary install prefix
let libdir; // prefix + CMAKE_INSTALL_LIBDIR of the build
let pcdir;
let work; // compiled programs
let sanFlags = []; // the build's sanitizer, which the programs must link too
const children = new Set();

function sh(cmd, opts = {}) {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}
const q = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

/* cc SRC -o OUT $(PKG_CONFIG_PATH=<prefix>/lib/pkgconfig pkg-config --cflags --libs switchyard) */
function compile(src, out) {
  sh(`${CC} -std=c11 -Wall -Wextra -Werror ${sanFlags.join(' ')} ${q(src)} -o ${q(out)} ` +
     `$(PKG_CONFIG_PATH=${q(pcdir)} pkg-config --cflags --libs switchyard)`);
  return out;
}

function runEnv(server) {
  const env = { ...process.env, LD_LIBRARY_PATH: libdir, SWITCHYARD_URL: server.url, SWITCHYARD_TOKEN: server.token };
  for (const k of Object.keys(env)) if (k.startsWith('SWITCHYARD_PARAM_') || k.startsWith('SWITCHYARD_FLAG_')) delete env[k];
  return env;
}

/* Starts a compiled example; collects its stdout and stderr. */
function startProgram(exe, args, env) {
  const p = spawn(exe, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  const prog = { proc: p, out: '', err: '', exited: null };
  prog.exited = new Promise((resolve) => p.on('exit', (code, signal) => { children.delete(p); resolve({ code, signal }); }));
  p.stdout.setEncoding('utf8');
  p.stderr.setEncoding('utf8');
  p.stdout.on('data', (d) => { prog.out += d; });
  p.stderr.on('data', (d) => { prog.err += d; });
  return prog;
}

async function stopProgram(prog) {
  if (prog.proc.exitCode === null && prog.proc.signalCode === null) prog.proc.kill('SIGTERM');
  let timer;
  const r = await Promise.race([
    prog.exited,
    new Promise((resolve) => { timer = setTimeout(() => resolve(null), 10000); }),
  ]);
  clearTimeout(timer);
  if (!r) { prog.proc.kill('SIGKILL'); await prog.exited; }
  return r;
}

function lines(text) {
  return text.split('\n').filter((l) => l.length > 0);
}

async function put(server, name, value, type) {
  const r = await api(server, 'PUT', `/api/v1/params${name}`, { value, type, overwrite: true });
  assert.equal(r.status, 200, `PUT ${name}: ${r.text}`);
  return r.json;
}

before(() => {
  assert.ok(BIN, 'SWITCHYARD_BIN is not set');
  const build = path.dirname(BIN);
  const cache = fs.readFileSync(path.join(build, 'CMakeCache.txt'), 'utf8');
  const cacheVar = (k) => { const m = new RegExp(`^${k}:[A-Z]+=(.*)$`, 'm').exec(cache); return m ? m[1] : ''; };
  const rel = cacheVar('CMAKE_INSTALL_LIBDIR') || 'lib';
  assert.ok(!path.isAbsolute(rel), `CMAKE_INSTALL_LIBDIR is absolute (${rel}): cannot install under a temporary prefix`);
  if (/^(ON|1|TRUE|YES)$/i.test(cacheVar('SY_SANITIZE'))) sanFlags = ['-fsanitize=address,undefined'];
  if (/^(ON|1|TRUE|YES)$/i.test(cacheVar('SY_TSAN'))) sanFlags = ['-fsanitize=thread'];
  prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-install-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-libprog-'));
  execFileSync('cmake', ['--install', build, '--prefix', prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
  libdir = path.join(prefix, rel);
  pcdir = path.join(libdir, 'pkgconfig');
});

after(() => {
  for (const p of children) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
  if (prefix) fs.rmSync(prefix, { recursive: true, force: true });
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('cmake --install', () => {
  it('installs the CLI, the server, the library with its soname links, the header and switchyard.pc', () => {
    for (const f of ['bin/switchyard', 'bin/switchyard-server']) {
      fs.accessSync(path.join(prefix, f), fs.constants.X_OK);
    }
    assert.ok(fs.existsSync(path.join(prefix, 'include', 'switchyard.h')));
    const pc = fs.readFileSync(path.join(pcdir, 'switchyard.pc'), 'utf8');
    const version = /^Version:\s*(\S+)/m.exec(pc)[1];
    assert.match(version, /^\d+\.\d+\.\d+$/);
    assert.match(pc, /^Libs:.*-L\$\{libdir\} -lswitchyard\s*$/m);
    assert.match(pc, /^Cflags:.*-I\$\{includedir\}\s*$/m);
    assert.match(pc, /^Requires\.private:\s*libcurl jansson libcrypto libpcre2-8 liburcu-bp\s*$/m);
    // libswitchyard.so -> libswitchyard.so.MAJOR -> libswitchyard.so.X.Y.Z (a file)
    const major = version.split('.')[0];
    assert.equal(fs.readlinkSync(path.join(libdir, 'libswitchyard.so')), `libswitchyard.so.${major}`);
    assert.equal(fs.readlinkSync(path.join(libdir, `libswitchyard.so.${major}`)), `libswitchyard.so.${version}`);
    assert.ok(fs.lstatSync(path.join(libdir, `libswitchyard.so.${version}`)).isFile());
    // pkg-config answers for the prefix the files were installed to, not the configured one
    const env = { ...process.env, PKG_CONFIG_PATH: pcdir };
    const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'switchyard'], { env, encoding: 'utf8' });
    const inc = /(?:^|\s)-I(\S+)/.exec(flags)[1]; // a flag, not "-I" inside a temporary path
    const lib = /(?:^|\s)-L(\S+)/.exec(flags)[1];
    assert.equal(fs.realpathSync(inc), fs.realpathSync(path.join(prefix, 'include')));
    assert.equal(fs.realpathSync(lib), fs.realpathSync(libdir));
  });

  it('exports every function of switchyard.h and nothing else (no sy__ internals); soname libswitchyard.so.0', () => {
    const so = path.join(libdir, 'libswitchyard.so');
    const syms = lines(execFileSync('nm', ['-D', '--defined-only', so], { encoding: 'utf8' }))
      .map((l) => l.trim().split(/\s+/).pop().replace(/@.*$/, ''));
    const bad = syms.filter((s) => !/^sy_/.test(s) || /^sy__/.test(s));
    assert.deepEqual(bad, [], `symbols exported besides the API: ${bad.join(' ')}`);
    const header = fs.readFileSync(path.join(prefix, 'include', 'switchyard.h'), 'utf8');
    const api = [...header.matchAll(/^SY_API[^;(]*?\b(sy_\w+)\s*\(/gm)].map((m) => m[1]);
    assert.ok(api.length > 30, `only ${api.length} SY_API functions found in the header`);
    const missing = api.filter((f) => !syms.includes(f));
    assert.deepEqual(missing, [], `declared in switchyard.h but not exported: ${missing.join(' ')}`);
    const extra = syms.filter((s) => !api.includes(s));
    assert.deepEqual(extra, [], `exported but not declared in switchyard.h: ${extra.join(' ')}`);
    const dyn = execFileSync('readelf', ['-d', so], { encoding: 'utf8' });
    assert.match(dyn, /\(SONAME\)\s+Library soname: \[libswitchyard\.so\.0\]/);
  });

  it('sy_version() of the installed library is the pkg-config Version and the header\'s SWITCHYARD_VERSION', () => {
    const src = path.join(work, 'version.c');
    fs.writeFileSync(src, '#include <stdio.h>\n#include <switchyard.h>\n' +
      'int main(void) { printf("%s %d %s %d\\n", sy_version(), sy_version_number(), SWITCHYARD_VERSION,' +
      ' SWITCHYARD_VERSION_NUMBER); return 0; }\n');
    const exe = compile(src, path.join(work, 'version'));
    const [v, n, hv, hn] = execFileSync(exe, [], { env: { ...process.env, LD_LIBRARY_PATH: libdir }, encoding: 'utf8' }).trim().split(' ');
    const pcv = execFileSync('pkg-config', ['--modversion', 'switchyard'], { env: { ...process.env, PKG_CONFIG_PATH: pcdir }, encoding: 'utf8' }).trim();
    assert.equal(v, pcv);
    assert.equal(hv, pcv);
    const [ma, mi, pa] = pcv.split('.').map(Number);
    assert.equal(Number(n), ma * 1000000 + mi * 1000 + pa);
    assert.equal(Number(hn), Number(n));
    // the header is C++17 too
    let cxx = null;
    try { execFileSync('c++', ['--version'], { stdio: 'ignore' }); cxx = 'c++'; } catch { /* no C++ compiler */ }
    if (cxx) {
      const cc = path.join(work, 'api.cc');
      fs.writeFileSync(cc, '#include <switchyard.h>\nint main() { return sy_version_number() > 0 ? 0 : 1; }\n');
      sh(`${cxx} -std=c++17 -Wall -Wextra -Werror -fsyntax-only ${q(cc)} $(PKG_CONFIG_PATH=${q(pcdir)} pkg-config --cflags switchyard)`);
    }
  });
});

/* One example against a live server: it starts with gemini and the flag on, then sees a PUT of
 * the strategy and a PUT of the flag (off), and stops with status 0 on SIGTERM. */
async function exampleFollowsChanges(source) {
  const exe = compile(path.join(ROOT, 'examples', source), path.join(work, path.basename(source, '.c')));
  const S = await startServer();
  let prog;
  try {
    await put(S, STRATEGY, 'gemini', 'String');
    await put(S, FLAG, FLAG_DOC(true, 100), 'Flag');
    prog = startProgram(exe, ['golden-eagle-427'], runEnv(S));
    const seen = (re) => () => lines(prog.out).some((l) => re.test(l));
    await waitFor(seen(/^strategy=gemini .*partial-results=on .*session=golden-eagle-427/), 10000,
      `${source} prints strategy=gemini with the flag on`);
    await put(S, STRATEGY, 'seedream', 'String');
    await waitFor(seen(/^strategy=seedream .*source=stream .*partial-results=on/), 5000, `${source} prints strategy=seedream`);
    await put(S, FLAG, FLAG_DOC(false, 100), 'Flag');
    await waitFor(seen(/^strategy=seedream .*partial-results=off/), 5000, `${source} prints partial-results=off`);
    const r = await stopProgram(prog);
    assert.deepEqual(r, { code: 0, signal: null }, `${source} on SIGTERM; stderr:\n${prog.err}`);
    // its stderr: the library's log lines (one JSON object each) and the example's own words
    const json = lines(prog.err).filter((l) => l.startsWith('{'));
    for (const l of json) {
      const j = JSON.parse(l);
      assert.equal(typeof j.level, 'string', l);
      assert.equal(typeof j.msg, 'string', l);
    }
    assert.ok(!prog.err.includes(S.token), 'a log line holds the token');
    return prog;
  } catch (e) {
    if (prog) e.message += `\n--- ${source} stdout:\n${prog.out}\n--- stderr:\n${prog.err.slice(-3000)}`;
    throw e;
  } finally {
    if (prog) await stopProgram(prog);
    await S.cleanup();
  }
}

describe('the examples, built from the installed tree', () => {
  it('examples/follow.c (threaded client) prints the new strategy after a PUT', async () => {
    await exampleFollowsChanges('follow.c');
  });

  it('examples/evloop.c (the program\'s own poll loop) prints the new strategy after a PUT', async () => {
    await exampleFollowsChanges('evloop.c');
  });
});

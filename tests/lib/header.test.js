// header.test.js — include/switchyard.h is C11 and C++17: a translation unit that includes it
// and uses its declarations compiles with -Wall -Wextra -Werror (and -Wpedantic) as both, and a
// C++ program links and runs against the shared library.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { SANITIZED, buildDir, libEnv } = require('./probe.js');

const ROOT = path.resolve(__dirname, '..', '..');
const INCLUDE = path.join(ROOT, 'include');

const TU = `#include <switchyard.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
static int each(void *ud, const sy_value *v) { (void)ud; return v->len > 0; }
static void on_log(void *ud, sy_log_level l, const char *line) { (void)ud; (void)l; (void)line; }
static void on_change(void *ud, const sy_change *c) { (void)ud; (void)c; }
int use_it(void);
int use_it(void) {
  sy_options *o = NULL;
  sy_client *c = NULL;
  if (sy_options_new(&o) != SY_OK) return 1;
  sy_options_set_log(o, on_log, NULL);
  sy_options_set_on_change(o, on_change, NULL);
  sy_options_set_threaded(o, 0);
  sy_options_set_server(o, "http://127.0.0.1:1");
  sy_rc rc = sy_client_new(o, &c);
  sy_options_free(o);
  if (rc != SY_OK) return 100 + (int)rc;
  sy_snapshot *s = sy_snapshot_acquire(c);
  sy_snapshot_each(s, "/", each, NULL);
  sy_eval e;
  memset(&e, 0, sizeof e);
  (void)sy_snapshot_evaluate(s, "k", "subject", NULL, &e);
  sy_snapshot_release(s);
  sy_state st;
  (void)sy_client_state(c, &st);
  int next = -1;
  (void)sy_client_step(c, &next);
  int on = sy_flag_enabled(c, "k", NULL, 0);
  sy_client_free(c);
  return on + (SWITCHYARD_VERSION_NUMBER == sy_version_number() ? 0 : 10) +
         (strcmp(sy_source_name(SY_SOURCE_CACHE), "cache") == 0 ? 0 : 20);
}
`;
const MAIN = `
int main() {
  int r = use_it();
  printf("%s %d\\n", sy_version(), r);
  return r;
}
`;

let dir;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-lib-header-')); });
after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env || process.env });
  if (r.error) throw r.error;
  return r;
}

const LANGS = [
  { lang: 'C11', cc: 'cc', std: '-std=c11', ext: 'c', pedantic: ['-Wpedantic', '-Wstrict-prototypes', '-Wmissing-prototypes'] },
  { lang: 'C++17', cc: 'c++', std: '-std=c++17', ext: 'cc', pedantic: ['-Wpedantic'] },
];

for (const l of LANGS) {
  test(`the header compiles as ${l.lang} with -Wall -Wextra -Werror`, () => {
    const src = path.join(dir, `tu.${l.ext}`);
    fs.writeFileSync(src, TU);
    const x = l.ext === 'c' ? 'c' : 'c++';
    let r = run(l.cc, [l.std, '-x', x, '-Wall', '-Wextra', '-Werror', '-I', INCLUDE, '-fsyntax-only', src]);
    assert.equal(r.status, 0, `${l.cc} ${l.std}:\n${r.stderr}`);
    r = run(l.cc, [l.std, '-x', x, '-Wall', '-Wextra', '-Werror', ...l.pedantic, '-I', INCLUDE, '-fsyntax-only', src]);
    assert.equal(r.status, 0, `${l.cc} ${l.std} ${l.pedantic.join(' ')}:\n${r.stderr}`);
  });
}

test('a C++17 program links against libswitchyard.so and runs', () => {
  const lib = path.join(buildDir(), 'libswitchyard.so');
  assert.ok(fs.existsSync(lib), `${lib} does not exist`);
  const src = path.join(dir, 'prog.cc');
  fs.writeFileSync(src, TU + MAIN);
  const exe = path.join(dir, 'prog');
  const san = SANITIZED ? ['-fsanitize=address,undefined'] : [];
  let r = run('c++', ['-std=c++17', '-Wall', '-Wextra', '-Werror', ...san, '-I', INCLUDE, src, '-o', exe, '-L', buildDir(),
    `-Wl,-rpath,${buildDir()}`, '-lswitchyard']);
  assert.equal(r.status, 0, `link:\n${r.stderr}`);
  r = run(exe, [], libEnv({ ASAN_OPTIONS: 'detect_leaks=1' }));
  assert.equal(r.status, 0, `exit ${r.status}: ${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout.trim(), '0.1.0 0');
});

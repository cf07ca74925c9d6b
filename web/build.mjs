// build.mjs OUTDIR — bundles the console (web/src) with esbuild into OUTDIR: index.html, one
// content-hashed script and style sheet, and a gzip copy of each beside it for the server to
// send when the browser accepts it. Prints each file's size, raw and gzipped.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || path.join(here, '..', 'build', 'console'));
const tmp = `${out}.tmp-${process.pid}`;

const result = await esbuild.build({
  entryPoints: { app: path.join(here, 'src', 'main.jsx') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]',
  outdir: tmp,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

// each asset is named by its content's hash (hex), so the server can let browsers keep it for good
const named = {};
for (const f of Object.keys(result.metafile.outputs).map((o) => path.basename(o))) {
  const body = fs.readFileSync(path.join(tmp, f));
  const ext = path.extname(f);
  const hashed = `${path.basename(f, ext)}-${crypto.createHash('sha256').update(body).digest('hex').slice(0, 12)}${ext}`;
  fs.renameSync(path.join(tmp, f), path.join(tmp, hashed));
  named[ext] = hashed;
}
const js = named['.js'];
const css = named['.css'];
const html = fs.readFileSync(path.join(here, 'src', 'index.html'), 'utf8')
  .replace('%CSS%', css).replace('%JS%', js);
fs.writeFileSync(path.join(tmp, 'index.html'), html);

const sizes = [];
for (const f of fs.readdirSync(tmp)) {
  const raw = fs.readFileSync(path.join(tmp, f));
  const gz = zlib.gzipSync(raw, { level: 9 });
  if (!f.endsWith('.html')) fs.writeFileSync(path.join(tmp, `${f}.gz`), gz);
  sizes.push(`${f} ${raw.length} bytes, ${gz.length} gzipped`);
}
// swapped in whole: a server reading the directory never sees half a build
fs.rmSync(out, { recursive: true, force: true });
fs.renameSync(tmp, out);
console.log(`console built in ${out}:\n  ${sizes.join('\n  ')}`);

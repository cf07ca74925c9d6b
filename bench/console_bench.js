// console_bench.js — the web console in Chromium (playwright-core, /usr/bin/chromium), for bench/console.sh:
//   switchyard --base URL --token T --flag KEY --console-dir DIR [--loads 10] [--writes 100]
//     bundle: each file of the built console, raw and gzipped, and the bytes a cold load of /console
//             actually transferred (CDP Network.loadingFinished encodedDataLength, Content-Encoding);
//     cold load: fresh browser contexts, signed in by an init script that puts the token in
//             sessionStorage (web/src/api.js), from navigation to the signed-in shell of /console/
//             and to the flag's row on #/flags (median, min, max);
//     propagation: the flag's page open; one POST /api/v1/flags/KEY/rollout at a time, each until the
//             page shows the new percentage. A MutationObserver in the page stamps the moment the text
//             changes (Date.now(), and again at the next animation frame); node stamps the write's send
//             time with Date.now() — one machine, one clock. p50/p95/p99/max; beside it, when the same
//             change arrived on a watch stream read by node (the page's share is the rest).
//   unleash --base URL [--user admin --password unleash4all] [--loads 10] [--timeout-s 60]
//     the same cold load for Unleash's admin UI: signed in (a session cookie from /auth/simple/login,
//     given to each fresh context), from navigation to its root page's first render and to the
//     flag "checkout" in the default project's list; and what a cold load of / transfers.
// Prints one JSON object on stdout; progress on stderr.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.SY_CHROMIUM || '/usr/bin/chromium';
const log = (...a) => process.stderr.write(`[console_bench] ${a.join(' ')}\n`);

function args(argv) {
  const o = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) o[argv[i].slice(2)] = argv[++i];
    else o._.push(argv[i]);
  }
  return o;
}

/* q-quantile of sorted xs, nearest rank. */
function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
const r1 = (x) => (x === null || x === undefined ? null : Math.round(x * 10) / 10);
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, min: r1(s[0]), median: r1(quantile(s, 0.5)), p95: r1(quantile(s, 0.95)), p99: r1(quantile(s, 0.99)), max: r1(s.at(-1)) };
}

async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'], timeout: 60000 });
}

/* Every request of a page through CDP: url, status, Content-Encoding, bytes on the wire. */
async function recordTransfers(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const byId = new Map();
  cdp.on('Network.responseReceived', (e) => {
    const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    byId.set(e.requestId, { url: e.response.url, status: e.response.status, encoding: h['content-encoding'] || 'identity', bytes: null });
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = byId.get(e.requestId);
    if (r) r.bytes = e.encodedDataLength;
  });
  return byId;
}

/*
 * One cold load in a fresh context: navigates to url and resolves with the ms from navigation
 * start (performance.timeOrigin) until each mark first holds, checked on every animation frame
 * inside the page. marks: [[name, {sel, text, exact}]] in the order they occur: an element matching
 * sel (whose text contains text, or is text when exact) is on the page. A function with an
 * argument, not a string: the console's CSP refuses eval.
 */
function markHolds(m) {
  for (const e of document.querySelectorAll(m.sel)) {
    const t = e.textContent.trim();
    if (!m.text || (m.exact ? t === m.text : t.includes(m.text))) return performance.now();
  }
  return false;
}

async function coldLoad(browser, url, marks, { init, cookies, transfers = false, timeout = 30000 } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    if (cookies) await context.addCookies(cookies);
    if (init) await context.addInitScript(init.fn, init.arg);
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    const byId = transfers ? await recordTransfers(context, page) : null;
    await page.goto(url, { waitUntil: 'commit' });
    const out = {};
    for (const [name, pred] of marks) {
      const h = await page.waitForFunction(markHolds, pred, { polling: 'raf', timeout });
      out[name] = await h.jsonValue();
    }
    const nav = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0];
      return n ? { ttfb: n.responseStart, dom_content_loaded: n.domContentLoadedEventEnd, load: n.loadEventEnd } : {};
    });
    out.nav = nav;
    if (byId) {
      await page.waitForLoadState('networkidle').catch(() => {});
      out.transfers = [...byId.values()];
    }
    return out;
  } finally {
    await context.close();
  }
}

async function coldLoads(browser, n, url, marks, opts = {}) {
  opts = { timeout: 30000, ...opts };
  const runs = [];
  // one discarded: the browser process's own first start
  await coldLoad(browser, url, marks, opts).catch((e) => { if (!/Timeout/.test(e.message)) throw e; });
  let timeouts = 0;
  for (let i = 0; i < n; i++) {
    try {
      runs.push(await coldLoad(browser, url, marks, opts));
    } catch (e) {
      // a load that never got there within the deadline is counted, not averaged
      if (!/Timeout/.test(e.message)) throw e;
      timeouts++;
      log(`cold load ${i + 1}/${n}: not rendered within ${opts.timeout / 1000} s`);
      continue;
    }
    log(`cold load ${i + 1}/${n}: ${marks.map(([m]) => `${m} ${r1(runs.at(-1)[m])} ms`).join(', ')}`);
  }
  if (!runs.length) throw new Error(`no cold load of ${url} rendered within ${opts.timeout / 1000} s`);
  const res = { n: runs.length, timeouts, timeout_s: opts.timeout / 1000, url, runs: runs.map(({ transfers, ...r }) => r) };
  for (const [m] of marks) res[m] = stats(runs.map((r) => r[m]));
  for (const k of ['ttfb', 'dom_content_loaded', 'load']) res[k] = stats(runs.map((r) => r.nav[k]).filter((x) => typeof x === 'number'));
  return res;
}

/* The built console's files: raw and gzip -9 sizes (what web/build.mjs prints and writes beside each). */
function bundleSizes(dir) {
  const files = fs.readdirSync(dir).filter((f) => !f.endsWith('.gz')).sort();
  return files.map((f) => {
    const raw = fs.readFileSync(path.join(dir, f));
    return { file: f, raw: raw.length, gzip: zlib.gzipSync(raw, { level: 9 }).length };
  });
}

async function api(base, token, method, p, body) {
  const res = await fetch(base + p, {
    method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/* In the page: stamps each new text of [data-testid=flag-percent] (DOM change, then next frame). */
function watchPercent() {
  window.__seen = {};
  let last = null;
  const check = () => {
    const e = document.querySelector('[data-testid="flag-percent"]');
    const t = e ? e.textContent : null;
    if (t === null || t === last) return;
    last = t;
    const rec = { dom: Date.now(), dom_hr: performance.timeOrigin + performance.now(), frame: null };
    window.__seen[t] = rec;
    requestAnimationFrame(() => { rec.frame = Date.now(); });
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
  check();
}

/* A watch stream of the flag in node: arrival time (Date.now()) of each change, by version. The same
 * stream the page reads; its delay, beside the page's, says how much of the page's is the page's. */
async function watchVersions(base, token, key) {
  const ac = new AbortController();
  const res = await fetch(`${base}/api/v1/watch?prefix=/${key}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, signal: ac.signal });
  if (!res.ok) throw new Error(`watch → ${res.status}`);
  const seen = new Map();
  (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body) {
        const at = Date.now();
        buf += dec.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const data = buf.slice(0, i).split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
          buf = buf.slice(i + 2);
          try { const ev = JSON.parse(data); if (ev.version) seen.set(ev.version, at); } catch { /* heartbeat or comment */ }
        }
      }
    } catch { /* aborted at the end */ }
  })();
  return { seen, close: () => ac.abort() };
}

const GAP_MS = Number(process.env.CONSOLE_GAP_MS || 200); // between one write seen and the next sent

async function propagation(browser, base, token, key, writes) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript((t) => sessionStorage.setItem('switchyard.token', t), token);
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(`${base}/console/#/flags/${key}`);
  await page.waitForFunction(() => document.querySelector('[data-testid=live-state]')?.textContent === 'live'
    && document.querySelector('[data-testid=flag-percent]'));
  await page.evaluate(watchPercent);
  await page.evaluate(() => { window.__same = true; });
  const cur = (await api(base, token, 'GET', `/api/v1/flags/${key}`)).rollout_percentage;
  const watch = await watchVersions(base, token, key);
  const rows = [];
  for (let i = 0; i < writes; i++) {
    let n = 1 + (i % 100);
    if (n === cur && i === 0) n = 100;
    const want = `${n} %`;
    const sent = Date.now();
    const sentHr = performance.timeOrigin + performance.now();
    const w = await api(base, token, 'POST', `/api/v1/flags/${key}/rollout`, { percentage: n, reason: 'console bench' });
    const answered = Date.now();
    const h = await page.waitForFunction((w) => { const s = window.__seen[w]; return s && s.frame !== null ? s : false; }, want, { timeout: 10000 });
    const seen = await h.jsonValue();
    await page.evaluate((w) => { delete window.__seen[w]; }, want); // the value comes round again after 100 writes
    // each change on its own, as an operator's command is: the page reloads a view at once on a
    // change and at most every 150 ms during a burst (web/src/live.js), which back-to-back writes are
    await new Promise((r) => setTimeout(r, GAP_MS));
    const streamed = watch.seen.get(w.version);
    rows.push({ n, api_ms: answered - sent, stream_ms: streamed === undefined ? null : streamed - sent, dom_ms: seen.dom - sent, dom_hr_ms: seen.dom_hr - sentHr, frame_ms: seen.frame - sent });
  }
  const same = await page.evaluate(() => window.__same === true);
  watch.close();
  await context.close();
  return {
    writes, reloaded: !same,
    api: stats(rows.map((r) => r.api_ms)),
    stream: stats(rows.map((r) => r.stream_ms).filter((x) => x !== null)),
    dom: stats(rows.map((r) => r.dom_ms)),
    dom_hr: stats(rows.map((r) => r.dom_hr_ms)),
    frame: stats(rows.map((r) => r.frame_ms)),
    rows,
  };
}

const WHO = { sel: '[data-testid=who]' }; // the signed-in shell: whoami answered

async function switchyard(o) {
  const base = o.base.replace(/\/$/, '');
  const loads = Number(o.loads || 10);
  const writes = Number(o.writes || 100);
  const out = { bundle: { files: bundleSizes(o['console-dir']) } };
  const browser = await launch();
  try {
    out.browser = browser.version();
    const init = { fn: (t) => sessionStorage.setItem('switchyard.token', t), arg: o.token };
    // what a cold load transfers (same context setup, recorded once, outside the timed runs)
    const t = await coldLoad(browser, `${base}/console/`, [['shell', WHO]], { init, transfers: true });
    const mine = t.transfers.filter((x) => new URL(x.url).pathname.startsWith('/console'));
    out.bundle.transferred = { console_bytes: mine.reduce((a, x) => a + (x.bytes || 0), 0), all_bytes: t.transfers.reduce((a, x) => a + (x.bytes || 0), 0), requests: t.transfers };
    log(`cold load of /console transferred ${out.bundle.transferred.console_bytes} bytes of console files`);
    out.cold_root = await coldLoads(browser, loads, `${base}/console/`, [['shell', WHO]], { init });
    out.cold_flags = await coldLoads(browser, loads, `${base}/console/#/flags`, [
      ['shell', WHO],
      ['list', { sel: '[data-testid=flag-row]', text: o.flag }],
    ], { init });
    out.propagation = await propagation(browser, base, o.token, o.flag, writes);
    log(`propagation over ${writes} writes: DOM p50 ${out.propagation.dom.median} ms, p99 ${out.propagation.dom.p99} ms`);
  } finally {
    await browser.close();
  }
  return out;
}

async function unleash(o) {
  const base = o.base.replace(/\/$/, '');
  const loads = Number(o.loads || 10);
  const res = await fetch(`${base}/auth/simple/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: o.user || 'admin', password: o.password || 'unleash4all' }), redirect: 'manual',
  });
  if (!res.ok) throw new Error(`unleash login → ${res.status} ${(await res.text()).slice(0, 200)}`);
  const u = new URL(base);
  const cookies = res.headers.getSetCookie().map((c) => {
    const [nv] = c.split(';');
    const i = nv.indexOf('=');
    return { name: nv.slice(0, i), value: nv.slice(i + 1), domain: u.hostname, path: '/' };
  });
  if (!cookies.length) throw new Error('unleash login set no cookie');
  const browser = await launch();
  try {
    const out = { browser: browser.version() };
    // the root page (/personal, where / sends a signed-in user) first rendered: the navigation
    // of the signed-in layout, its "Projects" link, is on the page
    const shell = { sel: 'a[href="/projects"]' };
    const timeout = Number(o['timeout-s'] || 60) * 1000; // its project page took 5–11 s here under load
    const t = await coldLoad(browser, `${base}/`, [['shell', shell]], { cookies, transfers: true, timeout });
    const assets = t.transfers.filter((x) => !/^\/(api|auth)\//.test(new URL(x.url).pathname));
    out.transferred = { asset_bytes: assets.reduce((a, x) => a + (x.bytes || 0), 0), asset_requests: assets.length,
      all_bytes: t.transfers.reduce((a, x) => a + (x.bytes || 0), 0), requests: t.transfers };
    log(`cold load of / transferred ${out.transferred.asset_bytes} bytes in ${assets.length} requests outside /api and /auth`);
    out.cold_root = await coldLoads(browser, loads, `${base}/`, [['shell', shell]], { cookies, timeout });
    out.cold_flags = await coldLoads(browser, loads, `${base}/projects/default`, [
      ['shell', shell],
      ['list', { sel: 'a[href$="/features/checkout"]', text: 'checkout', exact: true }],
    ], { cookies, timeout });
    return out;
  } finally {
    await browser.close();
  }
}

(async () => {
  const o = args(process.argv.slice(2));
  const mode = o._[0];
  const out = mode === 'switchyard' ? await switchyard(o) : mode === 'unleash' ? await unleash(o) : null;
  if (!out) throw new Error('usage: console_bench.js switchyard|unleash --base URL ...');
  process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
})().catch((e) => { log(e.stack || e.message); process.exit(1); });

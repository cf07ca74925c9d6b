// load.mjs — load N parameters into a running Switchyard, the fastest honest way:
// POST /api/v1/config/runtime?apply=true with generated exports in chunks of at most 1 MiB
// (each chunk is one transaction on the server). If the import endpoint refuses the first
// chunk, it falls back to plain PUTs with 50 keep-alive connections. Then it counts what the
// server holds through the list API and prints one JSON line.
//
// usage: node load.mjs BASE_URL TOKEN [N=100000] [PREFIX=/bench/load] [MODE=import|put]
import http from 'node:http';

const [base, token, nArg = '100000', prefix = '/bench/load', modeArg = 'import'] = process.argv.slice(2);
if (!base || !token) { console.error('usage: node load.mjs BASE_URL TOKEN [N] [PREFIX] [MODE]'); process.exit(2); }
const N = Number(nArg);
const MAX_BODY = 1024 * 1024 - 1024; // keep a little slack under the 1 MiB limit
const auth = { Authorization: `Bearer ${token}` };
const nameOf = (i) => `${prefix}/g${Math.floor(i / 1000)}/p${i}`;
const valueOf = (i) => `{"id":${i},"enabled":${i % 2 === 0},"rollout":"${i % 100}","strategy":"flexibleRollout","pad":"xxxxxxxx"}`;
const t0 = performance.now();

async function viaImport() {
  const chunks = [];
  let cur = [], curLen = 0;
  const head = JSON.stringify({ format: 'switchyard-config/1', exported_at: new Date().toISOString(), seq: 0, params: [] });
  for (let i = 0; i < N; i++) {
    const p = JSON.stringify({ name: nameOf(i), type: 'String', value: valueOf(i), description: '',
      allowed_pattern: '', tier: 'Standard', tags: {}, labels: {} });
    if (cur.length && head.length + curLen + p.length + 1 > MAX_BODY) { chunks.push(cur); cur = []; curLen = 0; }
    cur.push(p); curLen += p.length + 1;
  }
  if (cur.length) chunks.push(cur);
  let applied = 0;
  for (let c = 0; c < chunks.length; c++) {
    const body = head.slice(0, -2) + chunks[c].join(',') + ']}';
    if (Buffer.byteLength(body) > 1024 * 1024) throw new Error('chunk over 1 MiB');
    const r = await fetch(`${base}/api/v1/config/runtime?apply=true`, {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body });
    const text = await r.text();
    if (!r.ok) {
      if (c === 0) return { ok: false, why: `import answered HTTP ${r.status}: ${text.slice(0, 300)}` };
      throw new Error(`import chunk ${c} answered HTTP ${r.status}: ${text.slice(0, 300)}`);
    }
    const j = JSON.parse(text);
    if (j.dry_run !== false) throw new Error(`import chunk ${c} was not applied: ${text.slice(0, 300)}`);
    const s = j.summary || {};
    applied += (s.create || 0) + (s.update || 0) + (s.unchanged || 0);
  }
  return { ok: true, chunks: chunks.length, applied };
}

// plain node:http with 50 keep-alive sockets (cheaper per request than fetch)
const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
function put(path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base), { method: 'PUT', agent,
      headers: { ...auth, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = ''; res.setEncoding('utf8'); res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject); req.end(body);
  });
}

async function viaPut(conc = 50) {
  let next = 0, ok = 0, failed = 0, firstError = null;
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= N) return;
      const r = await put(`/api/v1/params${nameOf(i)}`, JSON.stringify({ value: valueOf(i), type: 'String', overwrite: true }));
      if (r.status >= 200 && r.status < 300) ok++; else { failed++; firstError ??= `HTTP ${r.status}: ${r.text.slice(0, 300)}`; }
    }
  }
  await Promise.all(Array.from({ length: conc }, worker));
  if (failed) throw new Error(`${failed} PUTs failed, first: ${firstError}`);
  return { ok: true, applied: ok };
}

async function countParams() {
  let count = 0, next = null, pages = 0;
  do {
    const u = new URL(`${base}/api/v1/params`);
    u.searchParams.set('path', prefix); u.searchParams.set('recursive', 'true'); u.searchParams.set('limit', '1000');
    if (next) u.searchParams.set('next', next);
    const r = await fetch(u, { headers: auth });
    if (!r.ok) return { count: null, why: `list answered HTTP ${r.status}` };
    const j = await r.json();
    count += j.params.length; next = j.next; pages++;
    if (pages > N / 1000 + 10) return { count: null, why: 'list pagination did not end' };
  } while (next);
  return { count };
}

try {
  let method = modeArg, res, note = '';
  if (modeArg === 'import') {
    res = await viaImport();
    if (!res.ok) { note = `import refused (${res.why}); fell back to PUTs`; method = 'put'; res = await viaPut(); }
  } else res = await viaPut();
  const loadSeconds = (performance.now() - t0) / 1000;
  const probe = await fetch(`${base}/api/v1/params${nameOf(N - 1)}`, { headers: auth });
  const probeOk = probe.ok && (await probe.json()).value === valueOf(N - 1);
  const listed = await countParams();
  const out = { method, params: N, applied: res.applied, chunks: res.chunks ?? null, load_s: +loadSeconds.toFixed(2),
    listed: listed.count, list_note: listed.why ?? null, last_param_ok: probeOk, note };
  console.log(JSON.stringify(out));
  const bad = !probeOk || (listed.count !== null && listed.count !== N) || res.applied !== N;
  process.exit(bad ? 1 : 0);
} catch (e) {
  console.error(`load.mjs: ${e.message}`);
  process.exit(1);
}

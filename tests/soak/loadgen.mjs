// loadgen.mjs — the load generator thread of load.mjs: mixed reads (GET /api/v1/params/NAME) and
// durable writes (PUT, overwrite) over keep-alive HTTP, closed loop (fixed concurrency, for the
// maximum) or open loop (a fixed rate). Imported by load.mjs for LatencyHist; run as a worker
// thread it obeys the messages of load.mjs (the protocol is at the bottom).
import http from 'node:http';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/* Latency histogram in microseconds: log buckets 1 % wide, from 1 µs to about 12 minutes. */
const GROWTH = Math.log(1.01);
const NBUCKETS = 2800;
export class LatencyHist {
  constructor(counts) { this.counts = counts ? Uint32Array.from(counts) : new Uint32Array(NBUCKETS); this.max = 0; this.n = 0; }
  add(us) {
    const b = us < 1 ? 0 : Math.min(NBUCKETS - 1, Math.floor(Math.log(us) / GROWTH));
    this.counts[b]++;
    this.n++;
    if (us > this.max) this.max = us;
  }
  merge(o) {
    for (let i = 0; i < NBUCKETS; i++) this.counts[i] += o.counts[i];
    this.n += o.n;
    if (o.max > this.max) this.max = o.max;
    return this;
  }
  /* The q-quantile in milliseconds (the middle of its bucket), or null when empty. */
  quantileMs(q) {
    if (!this.n) return null;
    const want = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < NBUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= want) return Math.round(Math.exp((i + 0.5) * GROWTH)) / 1000;
    }
    return this.max / 1000;
  }
  toJSON() { return { counts: Array.from(this.counts), max: this.max, n: this.n }; }
  static from(j) { const h = new LatencyHist(j.counts); h.max = j.max; h.n = j.n; return h; }
}

/* Interval counters: reset at every sample, merged into the totals by load.mjs. */
function newCounters() {
  return { reads: 0, writes: 0, errors: 0, read: new LatencyHist(), write: new LatencyHist(), skipped: 0, lagMaxMs: 0 };
}

function worker() {
  const { url, token, names, readsPerWrite, id, requestTimeoutMs, maxInflight, sockets } = workerData;
  const { hostname, port } = new URL(url);
  // requests beyond `sockets` wait in the agent's queue: their latency includes that wait
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  const auth = `Bearer ${token}`;
  const acked = []; // [name, version, value] of every acknowledged write
  const errorSamples = [];
  let cur = newCounters();
  let inflight = 0;
  let seq = 0; // request counter: every (readsPerWrite+1)-th request is a write
  let stopping = false;
  let drained = null; // resolve() once inflight reaches 0 while stopping

  const fail = (what) => {
    cur.errors++;
    if (errorSamples.length < 20) errorSamples.push(`${new Date().toISOString()} ${what}`);
  };

  /* One request; calls done(err, status, body, us) exactly once. Bounded by requestTimeoutMs. */
  function send(method, path, payload, done) {
    inflight++;
    const t0 = process.hrtime.bigint();
    const headers = { Authorization: auth };
    if (payload) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = Buffer.byteLength(payload); }
    let finished = false;
    const finish = (err, status, body) => {
      if (finished) return;
      finished = true;
      inflight--;
      done(err, status, body, Number(process.hrtime.bigint() - t0) / 1000);
      if (stopping && inflight === 0 && drained) drained();
    };
    const req = http.request({ hostname, port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (e) => finish(e));
      res.on('end', () => finish(null, res.statusCode, Buffer.concat(chunks).toString('utf8')));
    });
    req.setTimeout(requestTimeoutMs, () => req.destroy(new Error(`no answer in ${requestTimeoutMs} ms`)));
    req.on('error', (e) => finish(e));
    req.end(payload || undefined);
  }

  /* The next request of the fixed mix (every (readsPerWrite+1)-th is a write); then() runs
   * when it has completed, successfully or not. */
  function one(then) {
    const k = seq++;
    const name = names[Math.floor(Math.random() * names.length)];
    if (k % (readsPerWrite + 1) === readsPerWrite) {
      const value = `soak.t${id}.i${k}.${Math.random().toString(36).slice(2, 10)}`.padEnd(100, '.');
      send('PUT', `/api/v1/params${name}`, JSON.stringify({ value, type: 'String', overwrite: true }), (err, status, body, us) => {
        let j = null;
        if (!err) try { j = JSON.parse(body); } catch { /* checked below */ }
        if (err) fail(`PUT ${name}: ${err.code || err.message}`);
        else if (status !== 200 || !j || j.name !== name || !Number.isInteger(j.version)) fail(`PUT ${name} → ${status} ${body.slice(0, 300)}`);
        else { cur.writes++; cur.write.add(us); acked.push([name, j.version, value]); }
        then();
      });
    } else {
      send('GET', `/api/v1/params${name}`, null, (err, status, body, us) => {
        if (err) fail(`GET ${name}: ${err.code || err.message}`);
        else if (status !== 200 || !body.includes(`"name":"${name}"`)) fail(`GET ${name} → ${status} ${body.slice(0, 300)}`);
        else { cur.reads++; cur.read.add(us); }
        then();
      });
    }
  }

  /* Closed loop: `lanes` requests in flight; each lane sends its next when its last one ends. */
  function closed(lanes) {
    for (let l = 0; l < lanes; l++) {
      const lane = () => { if (!stopping) one(() => setImmediate(lane)); };
      lane();
    }
  }

  /* Open loop: request k is due at t0 + k/rate; a request is skipped (counted) rather than
   * queued when maxInflight are already outstanding. */
  function open(rate) {
    const t0 = performance.now();
    let issued = 0;
    const tick = () => {
      if (stopping) return;
      const now = performance.now();
      const due = Math.floor(((now - t0) * rate) / 1000);
      if (due > issued) {
        const lag = now - (t0 + (issued * 1000) / rate);
        if (lag > cur.lagMaxMs) cur.lagMaxMs = lag;
      }
      while (issued < due) {
        issued++;
        if (inflight >= maxInflight) { cur.skipped++; continue; }
        one(() => {});
      }
      setTimeout(tick, 1);
    };
    tick();
  }

  // load.mjs → thread: closed {lanes} | open {rate} | sample | stop | acked | exit.
  // thread → load.mjs: ready; sample and stopped {inflight, c: the counters since the last
  // sample}, stopped once nothing is in flight; acked {acked, errorSamples}.
  parentPort.on('message', (m) => {
    if (m.cmd === 'closed') { stopping = false; closed(m.lanes); }
    else if (m.cmd === 'open') { stopping = false; open(m.rate); }
    else if (m.cmd === 'sample') {
      const c = cur;
      cur = newCounters();
      parentPort.postMessage({ type: 'sample', id, inflight, c: { ...c, read: c.read.toJSON(), write: c.write.toJSON() } });
    } else if (m.cmd === 'stop') {
      stopping = true;
      const reply = () => {
        const c = cur;
        cur = newCounters();
        parentPort.postMessage({ type: 'stopped', id, inflight, c: { ...c, read: c.read.toJSON(), write: c.write.toJSON() } });
      };
      if (inflight === 0) reply();
      else drained = () => { drained = null; reply(); };
    } else if (m.cmd === 'acked') {
      parentPort.postMessage({ type: 'acked', id, acked, errorSamples });
    } else if (m.cmd === 'exit') {
      agent.destroy();
      parentPort.close();
    }
  });
  parentPort.postMessage({ type: 'ready', id });
}

if (!isMainThread && workerData?.role === 'loadgen') worker();

// prometheus.test.js — the Prometheus query cache (control/promq.c) against a real `prometheus`
// (Debian's package; scripts/deps.sh --test installs it) scraping a metric this test controls,
// and against fake Prometheus servers that answer garbage, HTTP 500 or a huge body. What the
// cache answers is read through GET /api/v1/metrics/prometheus?query=Q&url=U. Waits are on
// conditions with deadlines, never fixed sleeps.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, api, waitFor } = require('../api/helpers');
const { HAVE_PROMETHEUS, DEADLINE_MS, listen, startPrometheus: start, stopPrometheus: stop } = require('./prom');

let S;
let exporter; // the metric Prometheus scrapes
let gauge = 1;
let fake; // a fake Prometheus
let prom; // {proc, port, dir, exited}

/* What the server's cache answers for query at url. */
async function ask(query, url) {
  let p = `/api/v1/metrics/prometheus?query=${encodeURIComponent(query)}`;
  if (url !== undefined) p += `&url=${encodeURIComponent(url)}`;
  const r = await api(S, 'GET', p);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

const answers = (query, url, pred) => waitFor(async () => {
  const j = await ask(query, url);
  return pred(j) ? j : null;
}, DEADLINE_MS, `${query} at ${url}`, 100);

const startPrometheus = () => start([{ name: 'exporter', target: `127.0.0.1:${exporter.address().port}` }]);
async function stopPrometheus() {
  await stop(prom);
  prom = null;
}

before(async () => {
  S = await startServer();
  exporter = await listen((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end([
      '# TYPE sy_test_value gauge',
      `sy_test_value ${gauge}`,
      '# TYPE sy_test_multi gauge',
      'sy_test_multi{k="a"} 1',
      'sy_test_multi{k="b"} 2',
      '',
    ].join('\n'));
  });
  const vector = (n) => JSON.stringify({
    status: 'success',
    data: { resultType: 'vector', result: Array.from({ length: n }, (_, i) => ({ metric: { i: String(i) }, value: [1, String(i + 0.5)] })) },
  });
  fake = await listen((req, res) => {
    const p = req.url.split('?')[0];
    if (p === '/garbage/api/v1/query') { res.writeHead(200); res.end('<html>not prometheus</html>'); return; }
    if (p === '/e500/api/v1/query') { res.writeHead(500); res.end('{"status":"error"}'); return; }
    if (p === '/huge/api/v1/query') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const more = () => {
        while (sent < 4 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) { res.once('drain', more); return; }
        }
        res.end();
      };
      res.on('error', () => {});
      more();
      return;
    }
    if (p === '/one/api/v1/query') { res.writeHead(200); res.end(vector(1)); return; }
    if (p === '/two/api/v1/query') { res.writeHead(200); res.end(vector(2)); return; }
    if (p === '/nan/api/v1/query') {
      res.writeHead(200);
      res.end('{"status":"success","data":{"resultType":"scalar","result":[1,"NaN"]}}');
      return;
    }
    if (p === '/slow/api/v1/query') return; // never answers: the cache's timeout ends it
    res.writeHead(404);
    res.end();
  });
});

after(async () => {
  await stopPrometheus();
  if (exporter) exporter.close();
  if (fake) { fake.closeAllConnections(); fake.close(); }
  if (S) await S.cleanup(); // fails on a crash, a non-zero exit or a sanitizer report
});

describe('Prometheus instant queries', () => {
  it('answers "no answer yet", then the value of a one-sample vector, through a URL prefix', async () => {
    const url = `http://127.0.0.1:${fake.address().port}/one`;
    const first = await ask('up', url);
    assert.equal(first.known, false, JSON.stringify(first));
    assert.equal(typeof first.error, 'string');
    const j = await answers('up', url, (x) => x.value !== undefined);
    assert.equal(j.value, 0.5);
  });

  it('names what is wrong with a fake Prometheus: several series, garbage, HTTP 500, a huge body, NaN', async () => {
    const base = `http://127.0.0.1:${fake.address().port}`;
    const cases = [
      ['/two', /the query returned 2 series; a gate needs exactly one/],
      ['/garbage', /not its query API's JSON/],
      ['/e500', /Prometheus answered HTTP 500/],
      ['/huge', /answered more than 1048576 bytes/],
      ['/nan', /the query's value is NaN/],
      ['/slow', /did not answer/],
    ];
    await Promise.all(cases.map(async ([p, re]) => {
      const j = await answers('up', base + p, (x) => x.error && re.test(x.error));
      assert.equal(j.known, false);
    }));
  });

  it('never shows the URL\'s user:password part', async () => {
    const j = await answers('up', 'http://alice:s3cr3t-pw@127.0.0.1:1', (x) => /did not answer/.test(x.error || ''));
    assert.ok(!/s3cr3t-pw|alice/.test(j.error), j.error);
    assert.match(j.error, /http:\/\/127\.0\.0\.1:1/);
    assert.ok(!/s3cr3t-pw/.test(S.log), 'the server log holds the password');
  });

  it('refuses a query or URL it may not ask', async () => {
    let j = await ask('up', 'file:///etc/passwd');
    assert.equal(j.known, false);
    assert.match(j.error, /http\(s\)/);
    j = await ask('up', 'http://127.0.0.1:1/?a=b');
    assert.match(j.error, /http\(s\)/);
    j = await ask('x'.repeat(5000), 'http://127.0.0.1:1');
    assert.match(j.error, /1 to 4096 bytes/);
    const r = await api(S, 'GET', '/api/v1/metrics/prometheus?url=http://127.0.0.1:1');
    assert.equal(r.status, 400, r.text);
    j = await ask('up');
    assert.match(j.error, /no url given/);
  });

  describe('a real Prometheus', () => {
    before(async () => {
      if (HAVE_PROMETHEUS) prom = await startPrometheus();
    });

    it('follows the metric it scrapes', async (t) => {
      if (!HAVE_PROMETHEUS) { t.skip('the prometheus binary is not installed (scripts/deps.sh --test)'); return; }
      gauge = 7;
      await answers('sy_test_value', prom.url, (x) => x.value === 7);
      gauge = 13.5;
      await answers('sy_test_value', prom.url, (x) => x.value === 13.5);
      // the default URL is the /switchyard/prometheus/url parameter
      const put = await api(S, 'PUT', '/api/v1/params/switchyard/prometheus/url', { value: prom.url, type: 'String' });
      assert.ok(put.status < 300, put.text);
      await answers('sy_test_value', undefined, (x) => x.value === 13.5);
      await answers('scalar(sy_test_value) * 2', prom.url, (x) => x.value === 27);
    });

    it('says a query with several series needs exactly one, and a bad query why', async (t) => {
      if (!HAVE_PROMETHEUS) { t.skip('the prometheus binary is not installed (scripts/deps.sh --test)'); return; }
      await answers('sy_test_multi', prom.url, (x) => /returned 2 series; a gate needs exactly one/.test(x.error || ''));
      await answers('sy_test_nothing_here', prom.url, (x) => /no series/.test(x.error || ''));
      await answers('sum(', prom.url, (x) => /HTTP 400.*bad_data/.test(x.error || ''));
    });

    it('says "did not answer" once Prometheus stops, and the server stays up', async (t) => {
      if (!HAVE_PROMETHEUS) { t.skip('the prometheus binary is not installed (scripts/deps.sh --test)'); return; }
      await answers('sy_test_value', prom.url, (x) => x.value !== undefined);
      const url = prom.url;
      await stopPrometheus();
      const j = await answers('sy_test_value', url, (x) => /did not answer/.test(x.error || ''));
      assert.equal(j.known, false);
      assert.match(j.error, new RegExp(`Prometheus at ${url.replace(/\./g, '\\.')} did not answer`));
      const h = await api(S, 'GET', '/health');
      assert.equal(h.status, 200);
    });
  });
});

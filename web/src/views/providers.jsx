// providers.jsx — the gateway's providers (runbook 001's /api/v1/providers): the list with the
// active provider and model at the top and each one's status; one provider's status, checks
// (test-connection, preflight), its figures since start and its charts over 1 h or 24 h; and
// runbook 000's swap, activate, with the way back. Status and traffic move without change
// events, so they are polled; the list also reloads live when a provider document or the
// default route is written.
import { useMemo, useState } from 'preact/hooks';
import {
  api, Badge, Empty, ErrorBox, fmt, href, Loaded, Page, useAction, useData, usePoll, useSession,
} from '../ui.jsx';
import { TimeChart } from './chart.jsx';

const DEFAULT_ROUTE = '/switchyard/routes/default';
const LIVE = ['/switchyard/providers/', DEFAULT_ROUTE];
const STATUS_KIND = { online: 'good', degraded: 'warn', offline: 'bad' };
const CONN_KIND = { connected: 'good', untested: 'neutral', failing: 'bad', circuit_open: 'bad' };
const BREAKER_KIND = { closed: 'good', half_open: 'warn', open: 'bad' };

const base = (name) => `/api/v1/providers/${encodeURIComponent(name)}`;
const listProviders = () => api('GET', '/api/v1/providers');

export default function Providers({ route }) {
  const name = route.rest[0];
  return name ? <ProviderDetail key={name} name={name} /> : <ProviderList />;
}

/* "alpha (model m)", or just "alpha" when no model is set. */
function withModel(provider, model) {
  return model ? `${provider} (model ${model})` : provider;
}

function ActiveLine({ list }) {
  return (
    <div class="panel" data-testid="active-provider">
      <span class="muted">Active provider</span>{' '}
      <a href={href('providers', [list.active_provider])}><strong data-testid="active-name">{list.active_provider}</strong></a>
      {' · '}<span class="muted">model</span>{' '}
      <strong data-testid="active-model">{list.active_model || 'none set (each request\'s own)'}</strong>
      <div class="muted small">Requests that name no route go to the default route {DEFAULT_ROUTE}, served by the active provider.</div>
    </div>
  );
}

function ProviderList() {
  const q = useData(listProviders, [], LIVE);
  usePoll(q.reload, 3000);
  const names = q.data ? q.data.providers.map((p) => p.name) : [];
  // one provider's status failing (deleted meanwhile) does not hide the others'
  const st = useData(() => Promise.all(names.map((n) => api('GET', `${base(n)}/status`).catch((error) => ({ error })))),
    [names.join('\n')]);
  usePoll(st.reload, 3000);
  const status = {};
  (st.data || []).forEach((s, i) => { status[names[i]] = s; });
  return (
    <Page title="Providers">
      <Loaded q={q}>
        {(list) => (
          <>
            <ActiveLine list={list} />
            {list.providers.every((p) => !p.version) && <AddProvider />}
            <div class="scroll">
              <table class="grid" data-testid="providers">
                <thead>
                  <tr>
                    <th>Name</th><th>Status</th><th>Connection</th><th>Breaker</th><th class="num">Requests 5 min</th>
                    <th class="num">Error rate 5 min</th><th>Type</th><th>Base URL</th><th>Models</th>
                  </tr>
                </thead>
                <tbody>
                  {list.providers.map((p) => {
                    const s = status[p.name];
                    return (
                      <tr key={p.name} data-testid={`provider-${p.name}`}>
                        <td>
                          <a href={href('providers', [p.name])}>{p.name}</a>
                          {p.is_active && <> <Badge kind="good">active</Badge></>}
                        </td>
                        <td>{s && !s.error ? <Badge kind={STATUS_KIND[s.status]} title={s.reason}>{s.status}</Badge>
                          : s && s.error ? <span class="muted" title={s.error.message}>unknown</span> : '…'}
                        {s && !s.error && <div class="muted small">{s.reason}</div>}</td>
                        <td><Badge kind={CONN_KIND[p.connection_status]}>{p.connection_status}</Badge></td>
                        <td><Badge kind={BREAKER_KIND[p.breaker]}>{p.breaker}</Badge></td>
                        <td class="num">{s && !s.error ? fmt.num(s.requests_5m) : '—'}</td>
                        <td class="num">{s && !s.error ? fmt.pct(s.error_rate_5m * 100) : '—'}</td>
                        <td>{p.type}</td>
                        <td class="wrap mono">{p.base_url || '—'}</td>
                        <td class="wrap">{p.models.length ? p.models.join(', ') : 'any'}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </>
        )}
      </Loaded>
    </Page>
  );
}

/* Only the built-in stub exists: how to add a provider (docs/GATEWAY.md, README). */
function AddProvider() {
  return (
    <Empty>
      <p>Only the built-in <code>stub</code> provider exists. A provider is a document of kind Provider under
        /switchyard/providers/ (docs/GATEWAY.md); its API key lives in a SecureString it names. With the CLI:</p>
      <pre>{`switchyard param put /photoeditor/staging/gemini/api-key "$GEMINI_KEY" --type SecureString
switchyard param put /switchyard/providers/gemini --type Provider \\
  '{"type":"gemini","base_url":"https://generativelanguage.googleapis.com/v1beta",
    "models":["gemini-2.0-flash"],"credentials":"/photoeditor/staging/gemini/api-key"}'`}</pre>
      <p>or the API: <code>PUT /api/v1/params/switchyard/providers/gemini</code> with{' '}
        <code>{'{"type": "Provider", "value": "{…the document…}", "overwrite": true}'}</code>. Then test it, run its preflight
        and activate it here.</p>
    </Empty>
  );
}

function ProviderDetail({ name }) {
  const { can } = useSession();
  const q = useData(listProviders, [], LIVE);
  usePoll(q.reload, 3000);
  const st = useData(() => api('GET', `${base(name)}/status`), [name]);
  usePoll(st.reload, 3000);
  return (
    <Page title={<>Provider <span data-testid="provider-name">{name}</span></>}
      actions={<a href={href('providers')}>All providers</a>}>
      <Loaded q={q}>
        {(list) => {
          const p = list.providers.find((x) => x.name === name);
          if (!p) {
            return (
              <Empty>There is no provider named {name}: it is neither a document /switchyard/providers/{name} nor the
                built-in stub. <a href={href('providers')}>See the providers</a>.</Empty>
            );
          }
          return (
            <>
              <ActiveLine list={list} />
              <Facts p={p} />
              <StatusPanel q={st} />
              {can('write') && <Actions p={p} list={list} onChange={q.reload} />}
              <SinceStart name={name} />
              <Charts name={name} />
            </>
          );
        }}
      </Loaded>
    </Page>
  );
}

function Facts({ p }) {
  return (
    <dl class="facts" data-testid="provider-facts">
      <div><dt>Type</dt><dd>{p.type}</dd></div>
      <div><dt>Base URL</dt><dd class="mono">{p.base_url || '— (no network)'}</dd></div>
      <div><dt>Models</dt><dd>{p.models.length ? p.models.join(', ') : 'any, passed as asked'}</dd></div>
      <div><dt>Credentials</dt><dd class="mono">{p.credentials || 'none'}</dd></div>
      <div><dt>Connection</dt><dd><Badge kind={CONN_KIND[p.connection_status]}>{p.connection_status}</Badge></dd></div>
      <div><dt>Breaker</dt><dd><Badge kind={BREAKER_KIND[p.breaker]}>{p.breaker}</Badge></dd></div>
      <div><dt>Active</dt><dd>{p.is_active ? <Badge kind="good">active</Badge> : 'no'}</dd></div>
      <div><dt>Document version</dt><dd>{p.version || 'built in'}</dd></div>
    </dl>
  );
}

function StatusPanel({ q }) {
  return (
    <section aria-labelledby="status-title">
      <h2 id="status-title">Status</h2>
      <Loaded q={q}>
        {(s) => (
          <div class="stats" data-testid="provider-status">
            <div class="stat"><span>Status</span><strong><Badge kind={STATUS_KIND[s.status]}>{s.status}</Badge></strong>
              <div class="small" data-testid="status-reason">{s.reason}</div></div>
            <div class="stat"><span>Error rate, 5 min</span><strong>{fmt.pct(s.error_rate_5m * 100)}</strong></div>
            <div class="stat"><span>Requests, 5 min</span><strong>{fmt.num(s.requests_5m)}</strong></div>
            <div class="stat"><span>Last success</span><strong title={s.last_ok || ''}>{fmt.ago(s.last_ok)}</strong></div>
            <div class="stat"><span>Last failure</span><strong title={s.last_error || ''}>{fmt.ago(s.last_error)}</strong></div>
          </div>
        )}
      </Loaded>
    </section>
  );
}

/* test-connection, preflight and activate, with the model they concern. The two checks change
 * nothing in the store (a write scope is asked because they cost a real call), so they run at
 * once; activate swaps the default route and goes through the confirmation. */
function Actions({ p, list, onChange }) {
  const run = useAction();
  const initial = p.is_active && list.active_model && (!p.models.length || p.models.includes(list.active_model))
    ? list.active_model : p.models[0] || '';
  const [model, setModel] = useState(initial);
  const [busy, setBusy] = useState('');
  const [error, setError] = useState(null);
  const [test, setTest] = useState(null);
  const [pre, setPre] = useState(null);
  const [swap, setSwap] = useState(null);
  const body = model ? { model } : undefined;

  const probe = async (what, path, set) => {
    setBusy(what);
    setError(null);
    try { set(await api('POST', `${base(p.name)}/${path}`, body)); } catch (e) { setError(e); }
    setBusy('');
  };

  /* Runbook 000's swap: to provider `to` (model m) from what is active now. */
  const activate = async (to, m, rollback) => {
    const from = withModel(list.active_provider, list.active_model);
    const res = await run({
      title: rollback ? `Switch back to ${to}` : `Activate ${to}`,
      what: `The default route ${DEFAULT_ROUTE} is served by ${withModel(to, m)} instead of ${from}.\n`
        + `Current provider: ${list.active_provider}\nNew provider: ${to}\n`
        + `The next request that names no route goes to ${to}. The audit log records it as "activate ${to}: <reason>"; `
        + `activating ${list.active_provider} again undoes it.`,
      destructive: true,
      confirmLabel: rollback ? `Switch back to ${to}` : `Swap to ${to}`,
      action: (reason) => api('POST', `${base(to)}/activate`, { ...(m ? { model: m } : {}), ...(reason ? { reason } : {}) }),
    });
    if (!res) return;
    setSwap({ ...res, rollback, before: { provider: list.active_provider, model: list.active_model } });
    onChange();
  };

  return (
    <section aria-labelledby="actions-title">
      <h2 id="actions-title">Check and activate</h2>
      <div class="panel">
        <div class="row">
          <label class="field inline">
            <span>Model</span>
            <select value={model} onChange={(e) => setModel(e.currentTarget.value)} data-testid="model">
              {p.models.map((m) => <option value={m} key={m}>{m}</option>)}
              <option value="">{p.models.length ? 'none (the route sets no model)' : 'any (the provider lists none)'}</option>
            </select>
          </label>
          <button type="button" onClick={() => probe('test', 'test-connection', setTest)} disabled={!!busy} data-testid="test-connection">
            {busy === 'test' ? 'Testing…' : 'Test connection'}
          </button>
          <button type="button" onClick={() => probe('preflight', 'preflight', setPre)} disabled={!!busy} data-testid="preflight">
            {busy === 'preflight' ? 'Checking…' : 'Preflight'}
          </button>
          <button type="button" class="danger" onClick={() => activate(p.name, model, false)} data-testid="activate"
            disabled={!!busy || (p.is_active && (list.active_model || '') === model)}
            title={p.is_active && (list.active_model || '') === model ? `${p.name} already serves the default route with this model` : undefined}>
            Activate…
          </button>
        </div>
        <ErrorBox error={error} />
        {test && <TestResult t={test} />}
        {pre && <Preflight r={pre} />}
        {swap && <SwapResult s={swap} onBack={() => activate(swap.previous,
          swap.before.provider === swap.previous ? swap.before.model : null, true)} />}
      </div>
    </section>
  );
}

function TestResult({ t }) {
  return (
    <div class="prov-result" data-testid="test-result" role="status">
      <strong>Test connection:</strong>{' '}
      <Badge kind={t.success ? 'good' : 'bad'}>{t.success ? 'success' : 'failed'}</Badge>{' '}
      model {t.model || '—'} · {fmt.ms(t.latency_ms)} · status {t.status}
      {t.error ? <div class="error">{t.error}</div> : <div class="small">{t.reason}</div>}
    </div>
  );
}

function Preflight({ r }) {
  return (
    <div class="prov-result" data-testid="preflight-result" role="status">
      <strong>Preflight of {r.provider}:</strong>{' '}
      <Badge kind={r.ready ? 'good' : 'bad'}>{r.ready ? 'ready' : 'not ready'}</Badge>
      <ul class="checks">
        {r.checks.map((c) => (
          <li key={c.name} data-testid={`check-${c.name}`}>
            <Badge kind={c.pass ? 'good' : 'bad'}>{c.pass ? 'pass' : 'fail'}</Badge> <strong>{c.name}</strong>{' '}
            <span class="wrap">{c.detail}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function SwapResult({ s, onBack }) {
  return (
    <div class="prov-result" data-testid="activation" role="status">
      <div><strong>{s.rollback ? 'Rolled back to provider:' : 'Updated provider:'}</strong>{' '}
        <span data-testid="activated">{s.activated}</span>{s.model ? ` (model ${s.model})` : ''}</div>
      <div class="small">Previous provider: <span data-testid="previous">{s.previous}</span> · route {s.route || DEFAULT_ROUTE}{' '}
        version {s.version}</div>
      {s.previous && s.previous !== s.activated && (
        <button type="button" onClick={onBack} data-testid="switch-back">Switch back to {s.previous}</button>
      )}
    </div>
  );
}

/* The figures since the server started (runbook 001's `jq ".metrics"`). */
function SinceStart({ name }) {
  const q = useData(() => api('GET', `${base(name)}/metrics`), [name]);
  usePoll(q.reload, 5000);
  return (
    <section aria-labelledby="since-title">
      <h2 id="since-title">Since the server started</h2>
      <Loaded q={q}>
        {({ metrics: m }) => {
          // latency is of successful calls: without one there is none to show (the API says 0)
          const lat = (k) => (m.requests > m.errors && m.latency_ms ? fmt.ms(m.latency_ms[k]) : '—');
          return (
            <div class="stats" data-testid="metrics">
              <div class="stat"><span>Requests</span><strong data-testid="metric-requests">{fmt.num(m.requests)}</strong></div>
              <div class="stat"><span>Errors</span><strong>{fmt.num(m.errors)}</strong></div>
              <div class="stat"><span>Error rate</span><strong>{fmt.pct(m.error_rate * 100)}</strong></div>
              <div class="stat"><span>Latency p50 / p95 / p99</span>
                <strong>{lat('p50')} / {lat('p95')} / {lat('p99')}</strong></div>
              <div class="stat"><span>Cost</span><strong>{fmt.usd(m.cost_usd)}</strong></div>
              <div class="stat"><span>Cost per request</span><strong>{fmt.usd(m.cost_per_request)}</strong></div>
            </div>
          );
        }}
      </Loaded>
    </section>
  );
}

const WINDOWS = { '1h': 'last hour, per minute', '24h': 'last 24 h, per quarter-hour' };

function Charts({ name }) {
  const [win, setWin] = useState('1h');
  const q = useData(() => api('GET', `${base(name)}/series?window=${win}`), [name, win]);
  usePoll(q.reload, 5000);
  return (
    <section aria-labelledby="charts-title">
      <div class="row">
        <h2 id="charts-title">Traffic, {WINDOWS[win]}</h2>
        <div class="toggle" role="group" aria-label="Window">
          {Object.keys(WINDOWS).map((w) => (
            <button type="button" key={w} aria-pressed={w === win ? 'true' : 'false'} onClick={() => setWin(w)}
              data-testid={`window-${w}`}>{w === '1h' ? '1 h' : '24 h'}</button>
          ))}
        </div>
      </div>
      <Loaded q={q}>{(s) => <SeriesCharts s={s} />}</Loaded>
    </section>
  );
}

const sum = (a) => a.reduce((x, y) => x + (y || 0), 0);

function SeriesCharts({ s }) {
  // one set of arrays per answer: the charts redraw when (and only when) new data arrived
  const d = useMemo(() => {
    const pts = s.points;
    const lat = (k) => pts.map((x) => (x.latency_ms ? x.latency_ms[k] : null));
    return {
      xs: pts.map((x) => Date.parse(x.t) / 1000),
      requests: pts.map((x) => x.requests),
      errors: pts.map((x) => x.errors),
      rate: pts.map((x) => x.error_rate * 100),
      p50: lat('p50'),
      p95: lat('p95'),
      p99: lat('p99'),
      cost: pts.map((x) => x.cost_usd),
    };
  }, [s]);
  const last = s.points.length ? s.points[s.points.length - 1] : null;
  const lastLat = s.points.findLast((x) => x.latency_ms); // the newest bucket with a successful call
  const bucket = s.step_s >= 3600 ? `${s.step_s / 3600} h` : `${s.step_s / 60} min`;
  const reqs = sum(d.requests);
  const errs = sum(d.errors);
  const now = `this ${bucket}`;
  return (
    <div class="charts" data-testid="charts" data-window={s.window}>
      <TimeChart testid="chart-requests" title={`Requests per ${bucket}`} unit="" xs={d.xs}
        series={[{ label: 'requests', values: d.requests }, { label: 'errors', values: d.errors }]} format={fmt.num}
        caption={`${now}: ${fmt.num(last && last.requests)} requests · window: ${fmt.num(reqs)} requests, ${fmt.num(errs)} errors`} />
      <TimeChart testid="chart-errors" title="Error rate" unit="%" xs={d.xs}
        series={[{ label: 'error rate', values: d.rate }]} format={fmt.pct}
        caption={`${now}: ${fmt.pct(last && last.error_rate * 100)} · window: ${fmt.pct(reqs ? (errs / reqs) * 100 : 0)}`} />
      <TimeChart testid="chart-latency" title="Latency of successful calls" unit="ms" xs={d.xs}
        series={[{ label: 'p50', values: d.p50 }, { label: 'p95', values: d.p95 }, { label: 'p99', values: d.p99 }]} format={fmt.ms} dots
        caption={lastLat ? `${bucket} from ${new Date(lastLat.t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}: `
          + `p50 ${fmt.ms(lastLat.latency_ms.p50)}, p95 ${fmt.ms(lastLat.latency_ms.p95)}, p99 ${fmt.ms(lastLat.latency_ms.p99)}`
          : 'no successful call in the window'} />
      <TimeChart testid="chart-cost" title={`Cost per ${bucket}`} unit="$" xs={d.xs}
        series={[{ label: 'cost', values: d.cost }]} format={fmt.usd}
        caption={`${now}: ${fmt.usd(last && last.cost_usd)} · window: ${fmt.usd(sum(d.cost))}`} />
    </div>
  );
}

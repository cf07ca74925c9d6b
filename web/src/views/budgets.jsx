// budgets.jsx — the daily spending limits (runbook 001's /api/v1/governance): per limit a gauge
// of what today (UTC) has consumed and holds reserved against its soft and hard limits, and
// the form that creates or replaces a limit. Spend moves with traffic, which no change event
// announces: polled every 2 s, and reloaded at once when a limit is written.
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  api, Badge, Empty, fmt, Loaded, Page, useAction, useData, usePoll, useSession,
} from '../ui.jsx';

const STATE_KIND = { ok: 'good', soft_limit_reached: 'warn', hard_limit_reached: 'bad' };
const TYPES = {
  global: 'global (every request)',
  per_provider: 'per provider',
  per_route: 'per route',
};

export default function Budgets() {
  const { can } = useSession();
  const q = useData(() => api('GET', '/api/v1/governance/status'), [], ['/switchyard/limits/']);
  usePoll(q.reload, 2000);
  const [edit, setEdit] = useState(null);
  const [written, setWritten] = useState(0); // a limit written: the form starts empty again
  return (
    <Page title="Budgets">
      <Loaded q={q}>
        {(st) => (
          <>
            <div class="stats" data-testid="budget-summary">
              <div class="stat"><span>UTC day</span><strong data-testid="budget-day">{st.day}</strong></div>
              <div class="stat"><span>Limits</span><strong>{st.summary.limits}</strong></div>
              <div class="stat"><span>Soft limit reached</span><strong>{st.summary.soft_limit_reached}</strong></div>
              <div class="stat"><span>Hard limit reached</span><strong>{st.summary.hard_limit_reached}</strong></div>
            </div>
            {st.limits.length === 0 ? (
              <Empty>
                <p>No spending limit is set: requests are not counted against any budget. Set one with the form below,
                  or as runbook 001 does:</p>
                <pre>{`curl -X POST http://localhost:8000/api/v1/governance/limits \\
  -H "Authorization: Bearer $SWITCHYARD_TOKEN" \\
  -H "Content-Type: application/json" \\
  -d '{
    "limit_type": "per_provider",
    "scope": "openai",
    "soft_limit_usd": 200.0,
    "hard_limit_usd": 250.0
  }'`}</pre>
              </Empty>
            ) : (
              <div class="limits" data-testid="limits">
                {st.limits.map((l) => (
                  <LimitCard key={l.name} l={l} onEdit={can('write') ? () => setEdit({ ...l }) : null} />
                ))}
              </div>
            )}
            {can('write') && <LimitForm key={edit ? `edit:${edit.name}` : `new:${written}`}
              init={edit} limits={st.limits} done={(wrote) => { setEdit(null); if (wrote) setWritten((n) => n + 1); q.reload(); }} />}
          </>
        )}
      </Loaded>
    </Page>
  );
}

/* Share of the gauge's scale, 0..100; the scale is the hard limit. */
function share(x, hard) {
  if (!(hard > 0)) return x > 0 ? 100 : 0;
  return Math.max(0, Math.min(100, (x / hard) * 100));
}

function LimitCard({ l, onEdit }) {
  const used = share(l.consumed_usd, l.hard_limit_usd);
  const held = Math.min(share(l.reserved_usd, l.hard_limit_usd), 100 - used);
  const soft = share(l.soft_limit_usd, l.hard_limit_usd);
  const what = l.limit_type === 'global' ? 'all requests' : `${l.limit_type === 'per_provider' ? 'provider' : 'route'} ${l.scope}`;
  const words = `${fmt.usd(l.consumed_usd)} consumed of ${fmt.usd(l.hard_limit_usd)} hard limit (soft ${fmt.usd(l.soft_limit_usd)}), ${fmt.usd(l.reserved_usd)} reserved`;
  return (
    <article class={`panel limit ${l.state}`} data-testid={`limit:${l.name}`} aria-labelledby={`lim-${l.name}`}>
      <header class="row">
        <h2 id={`lim-${l.name}`} class="limit-name">{l.name}</h2>
        <Badge kind={STATE_KIND[l.state]}><span data-testid="limit-state">{l.state}</span></Badge>
        {onEdit && <button type="button" class="limit-edit" onClick={onEdit} data-testid="limit-edit">Change…</button>}
      </header>
      <div class="muted small">{l.period} limit on {what}, UTC day {l.day}</div>
      <div class="gauge" role="meter" aria-label={`Spend of ${l.name}`} aria-valuemin={0}
        aria-valuemax={l.hard_limit_usd} aria-valuenow={l.consumed_usd} aria-valuetext={words} data-testid="gauge">
        <div class="gauge-used" style={{ width: `${used}%` }} />
        <div class="gauge-held" style={{ left: `${used}%`, width: `${held}%` }} />
        <div class="gauge-mark soft" style={{ left: `${soft}%` }} title={`soft limit ${fmt.usd(l.soft_limit_usd)}`} />
        <div class="gauge-mark hard" style={{ left: '100%' }} title={`hard limit ${fmt.usd(l.hard_limit_usd)}`} />
      </div>
      <dl class="limit-figures">
        <div><dt><span class="key used" aria-hidden="true" />Consumed</dt><dd data-testid="consumed">{fmt.usd(l.consumed_usd)}</dd></div>
        <div><dt><span class="key held" aria-hidden="true" />Reserved</dt><dd data-testid="reserved">{fmt.usd(l.reserved_usd)}</dd></div>
        <div><dt>Remaining</dt><dd data-testid="remaining">{fmt.usd(l.remaining_usd)}</dd></div>
        <div><dt><span class="key soft" aria-hidden="true" />Soft limit</dt><dd>{fmt.usd(l.soft_limit_usd)}</dd></div>
        <div><dt><span class="key hard" aria-hidden="true" />Hard limit</dt><dd>{fmt.usd(l.hard_limit_usd)}</dd></div>
        <div><dt>Requests</dt><dd data-testid="requests">{fmt.num(l.request_count)}</dd></div>
      </dl>
    </article>
  );
}

/* The limit's document name, as the server derives it (docs/API.md, Governance). */
function limitName(type, scope) {
  if (type === 'global') return '/switchyard/limits/global';
  if (type === 'per_route') return `/switchyard/limits/per_route/${scope.replace(/^\//, '')}`;
  return `/switchyard/limits/per_provider/${scope}`;
}

/* Creates or replaces a limit: POST /api/v1/governance/limits, runbook 001's body and the
 * reason (the audit log records "governance limit: <reason>"); a refused body shows the API's
 * message in the dialog. */
function LimitForm({ init, limits, done }) {
  const run = useAction();
  const [type, setType] = useState(init ? init.limit_type : 'per_provider');
  const [scope, setScope] = useState(init && init.scope ? init.scope : '');
  const [soft, setSoft] = useState(init ? String(init.soft_limit_usd) : '');
  const [hard, setHard] = useState(init ? String(init.hard_limit_usd) : '');
  const providers = useData(() => api('GET', '/api/v1/providers'), [], ['/switchyard/providers/']);
  const box = useRef(null);
  // "Change…" fills this form: bring it into view and to the keyboard
  useEffect(() => {
    if (!init || !box.current) return;
    box.current.scrollIntoView({ block: 'nearest' });
    box.current.querySelector('[data-testid=limit-hard]').focus();
  }, []);
  const submit = async (e) => {
    e.preventDefault();
    const body = { limit_type: type };
    if (type !== 'global') body.scope = scope.trim();
    if (soft.trim() !== '') body.soft_limit_usd = Number(soft);
    body.hard_limit_usd = Number(hard);
    const name = limitName(type, body.scope || '');
    const old = limits.find((l) => l.name === name);
    const now = `soft ${fmt.usd(body.soft_limit_usd ?? body.hard_limit_usd)}, hard ${fmt.usd(body.hard_limit_usd)} a UTC day`;
    const res = await run({
      title: old ? 'Replace a spending limit' : 'Set a spending limit',
      what: old
        ? `${name}: soft ${fmt.usd(old.soft_limit_usd)} → ${fmt.usd(body.soft_limit_usd ?? body.hard_limit_usd)}, hard ${fmt.usd(old.hard_limit_usd)} → ${fmt.usd(body.hard_limit_usd)} a UTC day. Today's spend (${fmt.usd(old.consumed_usd)}) is kept.`
        : `New limit ${name}: ${now}. Requests that would pass the hard limit are refused (or go to the route's fallbacks).`,
      confirmLabel: old ? 'Replace limit' : 'Set limit',
      action: (reason) => api('POST', '/api/v1/governance/limits', reason ? { ...body, reason } : body),
    });
    if (res) done(true);
  };
  return (
    <section aria-labelledby="limit-form-title" ref={box}>
      <h2 id="limit-form-title">{init ? `Change ${init.name}` : 'Set a daily limit'}</h2>
      <form class="panel limit-form" onSubmit={submit} data-testid="limit-form">
        <div class="row">
          <label class="field">
            <span>Applies to</span>
            <select value={type} onChange={(e) => setType(e.currentTarget.value)} data-testid="limit-type">
              {Object.entries(TYPES).map(([k, v]) => <option value={k} key={k}>{v}</option>)}
            </select>
          </label>
          {type !== 'global' && (
            <label class="field">
              <span>{type === 'per_provider' ? 'Provider' : 'Route (a route document\'s name)'}</span>
              <input value={scope} onInput={(e) => setScope(e.currentTarget.value)} required
                list={type === 'per_provider' ? 'limit-providers' : undefined}
                placeholder={type === 'per_provider' ? 'openai' : '/photoeditor/staging/image-processor'} data-testid="limit-scope" />
            </label>
          )}
          <label class="field">
            <span>Soft limit, USD (blank: the hard limit)</span>
            <input type="number" min="0" step="any" inputMode="decimal" value={soft} onInput={(e) => setSoft(e.currentTarget.value)}
              placeholder="200.0" data-testid="limit-soft" />
          </label>
          <label class="field">
            <span>Hard limit, USD</span>
            <input type="number" min="0" step="any" inputMode="decimal" value={hard} onInput={(e) => setHard(e.currentTarget.value)}
              required placeholder="250.0" data-testid="limit-hard" />
          </label>
        </div>
        <datalist id="limit-providers">
          {(providers.data ? providers.data.providers : []).map((p) => <option value={p.name} key={p.name} />)}
        </datalist>
        <div class="row">
          <button type="submit" class="primary" data-testid="limit-submit">{init ? 'Replace limit…' : 'Set limit…'}</button>
          {init && <button type="button" onClick={() => done(false)}>Cancel</button>}
        </div>
      </form>
    </section>
  );
}

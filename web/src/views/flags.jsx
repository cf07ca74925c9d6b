// flags.jsx — the Flags view: the flags (paged, filtered by a prefix), and one flag: its kill
// switch, its rollout percentage, its variants, rules and schema, the whole document (edited
// as JSON), live evaluation counts, and why a subject gets what it gets (explain). Every write
// is the API call the CLI makes (docs/API.md, "Flags"), through the action dialog.
import { useState } from 'preact/hooks';
import { namePath, qs } from '../api.js';
import { api, Badge, Empty, ErrorBox, fmt, href, Loaded, Page, useAction, useData, usePoll, useSession } from '../ui.jsx';
import { FlagDetails, Json } from './flags_doc.jsx';

const PAGE = 100;
const flagPath = (key) => `/api/v1/flags/${namePath(key)}`;
const go = (key) => { location.hash = key ? href('flags', key.split('/')) : '#/flags'; };

/* A percentage as the API takes it: 0..100, at most two decimals. null when it is not one. */
function parsePercent(text) {
  const t = String(text).trim();
  if (!/^\d{1,3}(\.\d{1,2})?$/.test(t)) return null;
  const n = Number(t);
  return n <= 100 ? n : null;
}

/* Parses a JSON text a user typed; throws an Error that says where it is wrong. */
function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${e.message}`);
  }
}

export default function Flags({ route }) {
  const key = route.rest.join('/');
  return key ? <Flag key={key} flagKey={key} /> : <FlagList initialPrefix={route.query.prefix || ''} />;
}

/* ---- the list ---- */

function FlagList({ initialPrefix }) {
  const { can } = useSession();
  const [prefix, setPrefix] = useState(initialPrefix);
  const [typed, setTyped] = useState(initialPrefix);
  const [pages, setPages] = useState(1);
  // the pages shown so far, fetched again together on a change so that a live reload keeps them
  const q = useData(async () => {
    const flags = [];
    let next = null;
    for (let i = 0; i < pages; i++) {
      const r = await api('GET', `/api/v1/flags${qs({ prefix, limit: PAGE, next })}`);
      flags.push(...r.flags);
      next = r.next;
      if (!next) break;
    }
    return { flags, next };
  }, [prefix, pages], [prefix ? `/${prefix.replace(/^\//, '')}` : '']);
  const filter = (e) => {
    e.preventDefault();
    setPages(1);
    setPrefix(typed.trim());
  };
  return (
    <Page title="Flags" actions={can('write') && <CreateFlag />}>
      <form class="row" onSubmit={filter} role="search">
        <label class="row">
          <span>Prefix</span>
          <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} placeholder="audio-transcription/"
            data-testid="flags-prefix" />
        </label>
        <button type="submit">Filter</button>
      </form>
      <Loaded q={q}>
        {({ flags, next }) => (flags.length === 0 ? (
          <Empty>
            No flag{prefix ? ` below ${prefix}` : ''}. Create one with <code>POST /api/v1/flags {'{"key": "a/b", "document": {"enabled": false}}'}</code>
            {' '}or <code>switchyard param put /a/b --type Flag --value '{'{"enabled": false}'}'</code>.
          </Empty>
        ) : (
          <>
            <div class="scroll">
              <table class="grid" data-testid="flags-list">
                <thead><tr><th>Key</th><th>Enabled</th><th class="num">Rollout</th><th>Type</th><th class="num">Version</th></tr></thead>
                <tbody>
                  {flags.map((f) => (
                    <tr key={f.key} data-testid="flag-row">
                      <td class="wrap"><a href={href('flags', f.key.split('/'))}>{f.key}</a></td>
                      <td><Badge kind={f.enabled ? 'good' : 'bad'}>{f.enabled ? 'on' : 'off'}</Badge></td>
                      <td class="num">{fmt.pct(f.rollout_percentage)}</td>
                      <td>{f.type}</td>
                      <td class="num">{f.version}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {next && <button type="button" onClick={() => setPages(pages + 1)} disabled={q.loading} data-testid="flags-more">Load more</button>}
          </>
        ))}
      </Loaded>
    </Page>
  );
}

function CreateFlag() {
  const run = useAction();
  const [open, setOpen] = useState(false);
  const [key, setKey] = useState('');
  const [doc, setDoc] = useState('{\n  "enabled": false,\n  "rollout_percentage": 0\n}');
  const [error, setError] = useState(null);
  if (!open) return <button type="button" class="primary" onClick={() => setOpen(true)} data-testid="flag-new">New flag</button>;
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    const k = key.trim().replace(/^\//, '');
    let document;
    try {
      document = parseJson(doc, 'the document');
    } catch (err) {
      setError(err);
      return;
    }
    const done = await run({
      title: 'Create a flag',
      what: `create flag ${k} with the document shown`,
      action: (reason) => api('POST', '/api/v1/flags', { key: k, document, reason }),
    });
    if (done) go(k);
  };
  return (
    <form class="panel flag-create" onSubmit={submit} aria-label="New flag">
      <label class="field"><span>Key (a path without the leading /)</span>
        <input value={key} required onInput={(e) => setKey(e.currentTarget.value)} placeholder="checkout/new-flow"
          data-testid="flag-new-key" />
      </label>
      <label class="field"><span>Document (JSON)</span>
        <textarea rows={6} class="mono" value={doc} onInput={(e) => setDoc(e.currentTarget.value)} data-testid="flag-new-doc" />
      </label>
      <ErrorBox error={error} />
      <div class="row">
        <button type="submit" class="primary" data-testid="flag-new-create">Create…</button>
        <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}

/* ---- one flag ---- */

function Flag({ flagKey: key }) {
  const { can } = useSession();
  const run = useAction();
  const live = [`/${key}`];
  const q = useData(() => api('GET', flagPath(key)), [key], live);
  const s = useData(() => api('GET', `${flagPath(key)}/status`), [key], live);
  usePoll(s.reload, 2000);
  const del = async () => {
    const done = await run({
      title: `Delete flag ${key}`,
      what: `delete flag ${key}: applications evaluating it then fall back to their own defaults`,
      destructive: true,
      confirmLabel: 'Delete',
      action: (reason) => api('DELETE', `${flagPath(key)}${qs({ reason })}`),
    });
    if (done) go('');
  };
  return (
    <Page title={<span class="flag-title">Flag <span class="mono">{key}</span></span>}
      actions={<>
        <a href="#/flags">All flags</a>
        {can('write') && q.data && <button type="button" class="danger" onClick={del} data-testid="flag-delete">Delete…</button>}
      </>}>
      <Loaded q={q}>
        {(f) => (
          <>
            <div class="flag-top">
              <KillSwitch f={f} />
              <Rollout f={f} />
              <Status s={s} />
            </div>
            <FlagDetails f={f} />
            <Document f={f} reload={q.reload} />
            <Explain flagKey={key} />
          </>
        )}
      </Loaded>
    </Page>
  );
}

function KillSwitch({ f }) {
  const { can } = useSession();
  const run = useAction();
  const def = (f.document && f.document.default_variant) || 'off';
  const flip = () => {
    const to = !f.enabled;
    return run({
      title: to ? `Turn flag ${f.key} on` : `Turn flag ${f.key} off`,
      what: to
        ? `enabled false → true on flag ${f.key}: subjects get the rollout and rules again (rollout_percentage ${fmt.pct(f.rollout_percentage)})`
        : `enabled true → false on flag ${f.key}: every subject then gets the default variant "${def}"`,
      destructive: !to,
      confirmLabel: to ? 'Turn on' : 'Turn off',
      action: (reason) => api('POST', `${flagPath(f.key)}/rollout`, { enabled: to, reason }),
    });
  };
  return (
    <div class="panel">
      <h2>Kill switch</h2>
      <p class="row">
        <Badge kind={f.enabled ? 'good' : 'bad'}><span data-testid="flag-enabled">{f.enabled ? 'on' : 'off'}</span></Badge>
        <span class="muted">{f.enabled ? 'the rules and the rollout decide' : `every subject gets "${def}"`}</span>
      </p>
      {can('write') && (
        <button type="button" class={f.enabled ? 'danger' : 'primary'} onClick={flip} data-testid="flag-kill">
          {f.enabled ? 'Turn off…' : 'Turn on…'}
        </button>
      )}
    </div>
  );
}

const QUICK = [0, 10, 25, 50, 100];

function Rollout({ f }) {
  const { can } = useSession();
  const run = useAction();
  const [text, setText] = useState('');
  const [bad, setBad] = useState('');
  const cur = f.rollout_percentage;
  const set = (to) => {
    if (to === null) {
      setBad('a number from 0 to 100 with at most two decimals');
      return;
    }
    setBad('');
    run({
      title: `Roll out flag ${f.key}`,
      what: `rollout_percentage ${fmt.num(cur)} % → ${fmt.num(to)} % of flag ${f.key}`,
      destructive: to === 0 && cur > 0,
      confirmLabel: `Set ${fmt.num(to)} %`,
      action: (reason) => api('POST', `${flagPath(f.key)}/rollout`, { percentage: to, reason }),
    }).then((done) => { if (done) setText(''); });
  };
  return (
    <div class="panel">
      <h2>Rollout</h2>
      <p><strong class="big" data-testid="flag-percent">{fmt.pct(cur)}</strong> <span class="muted">of subjects (by targetingKey)</span></p>
      <div class="meter" aria-hidden="true"><span style={{ width: `${Math.min(100, Math.max(0, cur || 0))}%` }} /></div>
      {can('write') && (
        <>
          <form class="row" onSubmit={(e) => { e.preventDefault(); set(parsePercent(text)); }}>
            <label class="row"><span>New %</span>
              <input type="text" inputMode="decimal" size={7} value={text} onInput={(e) => setText(e.currentTarget.value)}
                placeholder={String(cur)} aria-invalid={bad ? 'true' : undefined} data-testid="flag-rollout-input" />
            </label>
            <button type="submit" class="primary" data-testid="flag-rollout-apply">Set…</button>
          </form>
          {bad && <div class="error" role="alert">{bad}</div>}
          <div class="row quick" role="group" aria-label="Quick percentages">
            {QUICK.map((p) => (
              <button type="button" onClick={() => set(p)} disabled={p === cur} data-testid={`flag-rollout-quick-${p}`}>{p} %</button>
            ))}
          </div>
        </>
      )}
    </div>
  );
}

function Status({ s }) {
  const e = s.data && s.data.evaluations;
  const share = (x) => (x === null || x === undefined ? '—' : fmt.pct(x * 100));
  return (
    <div class="panel" data-testid="flag-status">
      <h2>Evaluations</h2>
      <ErrorBox error={s.error} />
      {e ? (
        <div class="stats">
          <div class="stat"><span>Last minute</span><strong data-testid="flag-evals-minute">{fmt.num(e.last_minute)}</strong></div>
          <div class="stat"><span>Last hour</span><strong>{fmt.num(e.last_hour)}</strong></div>
          <div class="stat"><span>Enabled (minute)</span><strong>{share(e.enabled_share_last_minute)}</strong></div>
          <div class="stat"><span>Enabled (hour)</span><strong>{share(e.enabled_share_last_hour)}</strong></div>
        </div>
      ) : !s.error && <div class="loading">Loading…</div>}
    </div>
  );
}

function Document({ f, reload }) {
  const { can } = useSession();
  const run = useAction();
  // the text being edited, and the version it was taken from: the write is conditional on that
  // version, so a change made meanwhile (shown live above) is refused, not overwritten
  const [edit, setEdit] = useState(null);
  const [base, setBase] = useState(0);
  const [error, setError] = useState(null);
  const save = async (e) => {
    e.preventDefault();
    setError(null);
    let document;
    try {
      document = parseJson(edit, 'the document');
    } catch (err) {
      setError(err);
      return;
    }
    const done = await run({
      title: `Save flag ${f.key}`,
      what: `replace the document of flag ${f.key} (version ${base}) with the one edited; a write made meanwhile is refused, not lost`,
      action: (reason) => api('PUT', flagPath(f.key), { document, if_version: base, reason }),
    });
    if (done) {
      setEdit(null);
      reload();
    }
  };
  return (
    <>
      <div class="row">
        <h2>Document</h2>
        <span class="muted">version {f.version}, {fmt.time(f.last_modified)} by {f.last_modified_user || '—'}</span>
        {can('write') && edit === null && (
          <button type="button" onClick={() => { setError(null); setBase(f.version); setEdit(JSON.stringify(f.document, null, 2)); }}
            data-testid="flag-edit">Edit document</button>
        )}
      </div>
      {edit === null ? <Json value={f.document} testid="flag-doc" /> : (
        <form onSubmit={save} aria-label="Edit the document">
          <label class="field"><span>The flag's document (JSON)</span>
            <textarea class="mono flag-edit" rows={16} value={edit} onInput={(e) => setEdit(e.currentTarget.value)}
              spellcheck={false} data-testid="flag-edit-text" />
          </label>
          {f.version !== base && (
            <div class="notice" role="status" data-testid="flag-edit-stale">
              The flag changed since you started editing (version {base} → {f.version}): saving will be refused. Cancel and edit again.
            </div>
          )}
          <ErrorBox error={error} />
          <div class="row">
            <button type="submit" class="primary" data-testid="flag-edit-save">Save…</button>
            <button type="button" onClick={() => setEdit(null)}>Cancel</button>
          </div>
        </form>
      )}
    </>
  );
}

/* Why a subject gets what it gets: POST …/explain (read scope; not counted as an evaluation). */
function Explain({ flagKey: key }) {
  const [subject, setSubject] = useState('');
  const [ctx, setCtx] = useState('');
  const [res, setRes] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const extra = ctx.trim() ? parseJson(ctx, 'the context') : {};
      const context = extra && typeof extra === 'object' && !Array.isArray(extra) ? { ...extra } : extra;
      if (subject.trim() && context && typeof context === 'object') context.targetingKey = subject.trim();
      setRes(await api('POST', `${flagPath(key)}/explain`, { context }));
    } catch (err) {
      setError(err);
      setRes(null);
    }
    setBusy(false);
  };
  return (
    <>
      <h2>Explain for a subject</h2>
      <form class="panel" onSubmit={submit} aria-label="Explain for a subject">
        <label class="field"><span>Subject (targetingKey, e.g. a session id)</span>
          <input value={subject} onInput={(e) => setSubject(e.currentTarget.value)} placeholder="session-1234"
            data-testid="explain-key" />
        </label>
        <label class="field"><span>More context (optional JSON object)</span>
          <textarea class="mono" rows={3} value={ctx} onInput={(e) => setCtx(e.currentTarget.value)}
            placeholder='{"country": "NL"}' spellcheck={false} data-testid="explain-context" />
        </label>
        <button type="submit" disabled={busy} data-testid="explain-run">{busy ? 'Explaining…' : 'Explain'}</button>
        <ErrorBox error={error} />
        {res && <ExplainResult r={res} />}
      </form>
    </>
  );
}

function ExplainResult({ r }) {
  const x = r.result || {};
  const inside = r.bucket !== null && r.bucket !== undefined && r.bucket < Math.round((r.rollout_percentage || 0) * 100);
  return (
    <div data-testid="explain-result">
      <dl class="facts">
        <dt>Value</dt><dd><code data-testid="explain-value">{JSON.stringify(x.value)}</code></dd>
        <dt>Variant</dt><dd data-testid="explain-variant">{x.variant === null || x.variant === undefined ? '—' : x.variant}</dd>
        <dt>Reason</dt><dd><Badge kind={x.reason === 'ERROR' ? 'bad' : 'neutral'}><span data-testid="explain-reason">{x.reason}</span></Badge>
          {x.error && <> {x.error}</>}{x.detail && <> — {x.detail}</>}{x.overridden && <> (environment override)</>}</dd>
        <dt>Bucket</dt><dd>
          {r.bucket === null || r.bucket === undefined ? 'none (no targetingKey)' : (
            <><span data-testid="explain-bucket">{r.bucket}</span> of 10000: {inside ? 'inside' : 'outside'} the
              {' '}{fmt.pct(r.rollout_percentage)} rollout (buckets below {Math.round((r.rollout_percentage || 0) * 100)})</>
          )}
        </dd>
        <dt>Kill switch</dt><dd>{r.enabled ? 'on' : 'off'}</dd>
        {r.override && <><dt>Override</dt><dd>{r.override.variable} = {r.override.value === null ? 'unset' : r.override.value}
          {r.override.applied ? ' (applied)' : ' (not applied)'}</dd></>}
      </dl>
      {r.rules && r.rules.length > 0 && (
        <div class="scroll">
          <table class="grid" data-testid="explain-rules">
            <thead><tr><th>Rule</th><th>Matched</th><th>Why</th><th>Decided</th></tr></thead>
            <tbody>
              {r.rules.map((ru, i) => (
                <tr key={i}>
                  <td>{ru.name}</td>
                  <td><Badge kind={ru.matched ? 'good' : 'neutral'}>{ru.matched ? 'yes' : 'no'}</Badge></td>
                  <td class="wrap">{ru.why}</td>
                  <td>{ru.decided ? 'this rule' : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

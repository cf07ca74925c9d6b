// ui.jsx — what every view is made of: loading data (and reloading it live), the action
// dialog every write goes through (a reason, and a confirmation naming what changes), the
// session's scopes, the router, and numbers with their units. Text is always rendered as
// text: nothing here sets HTML.
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { useLive } from './live.js';

/* ---- the session ---- */

export const Session = createContext({ name: '', scopes: [] });

/* {name, scopes, can(scope)}: admin implies write, read and decrypt; write implies read. */
export function useSession() {
  const s = useContext(Session);
  const has = new Set(s.scopes || []);
  if (has.has('admin')) ['write', 'read', 'decrypt'].forEach((x) => has.add(x));
  if (has.has('write')) has.add('read');
  return { ...s, can: (scope) => has.has(scope) };
}

/* ---- the router: #/view/rest?query ---- */

export function parseHash(hash) {
  const h = (hash || '').replace(/^#/, '');
  const qi = h.indexOf('?');
  const path = qi < 0 ? h : h.slice(0, qi);
  const query = Object.fromEntries(new URLSearchParams(qi < 0 ? '' : h.slice(qi + 1)));
  const parts = path.split('/').filter(Boolean);
  return { view: parts[0] || 'params', rest: parts.slice(1).map(decodeURIComponent), query };
}

export function useRoute() {
  const [route, set] = useState(parseHash(location.hash));
  useEffect(() => {
    const f = () => set(parseHash(location.hash));
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  return route;
}

/* A link inside the console: view, path segments, query. */
export function href(view, rest = [], query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return `#/${[view, ...rest.map(encodeURIComponent)].join('/')}${s ? `?${s}` : ''}`;
}

/* ---- data ---- */

/* Loads fn() now, again when deps change, and whenever a change under one of the live
 * prefixes arrives (pass [] for none). Keeps the last data while reloading, so a live
 * update does not blank the view. Returns {data, error, loading, reload}. */
export function useData(fn, deps, live = []) {
  const [st, set] = useState({ data: undefined, error: null, loading: true });
  const gen = useRef(0);
  const reload = useCallback(() => {
    const my = ++gen.current;
    set((s) => ({ ...s, loading: true }));
    Promise.resolve().then(fn).then(
      (data) => { if (my === gen.current) set({ data, error: null, loading: false }); },
      (error) => { if (my === gen.current) set((s) => ({ data: s.data, error, loading: false })); },
    );
  }, deps);
  useEffect(() => { reload(); }, [reload]);
  useLive(live, reload);
  return { ...st, reload };
}

/* Calls fn every ms while the page is visible (for figures that no change event announces:
 * traffic, spend, alerts). */
export function usePoll(fn, ms) {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const t = setInterval(() => { if (document.visibilityState === 'visible') ref.current(); }, ms);
    return () => clearInterval(t);
  }, [ms]);
}

/* ---- the action dialog ---- */

const Actions = createContext(() => {});

/* run({title, what, destructive, reason: true|false, confirmLabel, action(reason) -> Promise})
 * opens the dialog: it names what changes, asks for a reason when the write takes one, and
 * shows the API's error if the call fails (the dialog stays open). Resolves with the action's
 * result, or undefined when cancelled. */
export function useAction() { return useContext(Actions); }

export function ActionHost({ children }) {
  const [req, setReq] = useState(null);
  const run = useCallback((r) => new Promise((resolve) => setReq({ ...r, resolve })), []);
  return (
    <Actions.Provider value={run}>
      {children}
      {req && <ActionDialog req={req} close={(v) => { req.resolve(v); setReq(null); }} />}
    </Actions.Provider>
  );
}

function ActionDialog({ req, close }) {
  const ref = useRef(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const v = await req.action(reason.trim());
      close(v === undefined ? true : v);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} class="action" onCancel={(e) => { e.preventDefault(); if (!busy) close(undefined); }}
      aria-labelledby="action-title" data-testid="action-dialog">
      <form onSubmit={submit}>
        <h2 id="action-title">{req.title}</h2>
        {req.what && <div class="what">{req.what}</div>}
        {req.reason !== false && (
          <label class="field">
            <span>Reason (goes into the audit record)</span>
            <input name="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)}
              placeholder="why this change" autoFocus maxLength={1000} data-testid="action-reason" />
          </label>
        )}
        <ErrorBox error={error} />
        <div class="buttons">
          <button type="button" onClick={() => close(undefined)} disabled={busy}>Cancel</button>
          <button type="submit" class={req.destructive ? 'danger' : 'primary'} disabled={busy} data-testid="action-confirm">
            {busy ? 'Working…' : req.confirmLabel || 'Apply'}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/* ---- pieces ---- */

export function Page({ title, actions, children }) {
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">{title}</h1>
        {actions && <div class="page-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/* The API's own message (and code), or a network failure, as text. */
export function ErrorBox({ error }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : 'Error';
  return (
    <div class="error" role="alert" data-testid="error">
      <strong>{code}</strong> {String(error.message || error)}
    </div>
  );
}

/* What is not there yet, and what to do about it. */
export function Empty({ children }) {
  return <div class="empty" data-testid="empty">{children}</div>;
}

export function Loading() {
  return <div class="loading" aria-live="polite">Loading…</div>;
}

/* The usual head of a loaded view: the error if any, "Loading…" the first time. */
export function Loaded({ q, children }) {
  if (q.data === undefined) return q.error ? <ErrorBox error={q.error} /> : <Loading />;
  return (
    <>
      <ErrorBox error={q.error} />
      {children(q.data)}
    </>
  );
}

export function Badge({ kind = 'neutral', children, title }) {
  return <span class={`badge ${kind}`} title={title}>{children}</span>;
}

/* ---- numbers with units ---- */

const nf = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
export const fmt = {
  num: (x) => (x === null || x === undefined ? '—' : nf.format(x)),
  ms: (x) => (x === null || x === undefined ? '—' : `${x >= 100 ? Math.round(x) : nf.format(x)} ms`),
  pct: (x) => (x === null || x === undefined ? '—' : `${nf.format(x)} %`),
  usd: (x) => (x === null || x === undefined ? '—' : `$${x < 1 && x > 0 ? x.toFixed(4) : x.toFixed(2)}`),
  time: (t) => {
    if (!t) return '—';
    const d = new Date(t);
    return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString();
  },
  ago: (t) => {
    if (!t) return '—';
    const s = Math.round((Date.now() - new Date(t).getTime()) / 1000);
    if (Number.isNaN(s)) return String(t);
    if (s < 60) return `${Math.max(s, 0)} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86400) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} d ago`;
  },
};

export { api };

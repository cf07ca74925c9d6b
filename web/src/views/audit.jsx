// audit.jsx — the audit log, newest first, a page of 50 at a time (GET /api/v1/admin/audit,
// `before=NEXT` for the next page). The name and since filters are the API's; action and actor
// filter the loaded records. New records appear as changes arrive. "Verify chain" checks the
// log's hash chain. The log needs the admin scope: another token is shown the API's refusal.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, qs } from '../api.js';
import { useLive } from '../live.js';
import { Badge, Empty, ErrorBox, Loading, Page, fmt, href, useSession } from '../ui.jsx';

const PAGE = 50;

/* What the since box holds, as the API takes it: a sequence number, or a time in UTC. */
function sinceParam(text) {
  const t = text.trim();
  if (!t || /^\d+$/.test(t)) return t;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toISOString(); // the API's message names what is wrong
}

/* The log's records for the filters: page 1, more pages on demand, and new ones live. */
function useAudit(filters) {
  const [st, set] = useState({ records: [], next: null, error: null, loading: true, loaded: false });
  const gen = useRef(0);
  const base = { limit: PAGE, name: filters.name, since: sinceParam(filters.since) };

  const reload = useCallback(async () => {
    const my = ++gen.current;
    set((s) => ({ ...s, loading: true }));
    try {
      const page = await api('GET', `/api/v1/admin/audit${qs(base)}`);
      if (my !== gen.current) return;
      set((s) => {
        // pages beyond the first stay: the new records go on top of them
        if (s.loaded && s.records.length > PAGE) {
          const top = s.records[0] ? s.records[0].seq : 0;
          return { ...s, records: [...page.records.filter((r) => r.seq > top), ...s.records], error: null, loading: false };
        }
        return { records: page.records, next: page.next, error: null, loading: false, loaded: true };
      });
    } catch (error) {
      if (my === gen.current) set((s) => ({ ...s, error, loading: false }));
    }
  }, [filters.name, filters.since]);

  const loadMore = useCallback(async () => {
    const my = ++gen.current;
    set((s) => ({ ...s, loading: true }));
    try {
      const page = await api('GET', `/api/v1/admin/audit${qs({ ...base, before: st.next })}`);
      if (my !== gen.current) return;
      set((s) => ({ ...s, records: [...s.records, ...page.records], next: page.next, error: null, loading: false }));
    } catch (error) {
      if (my === gen.current) set((s) => ({ ...s, error, loading: false }));
    }
  }, [st.next, filters.name, filters.since]);

  useEffect(() => { set({ records: [], next: null, error: null, loading: true, loaded: false }); reload(); }, [reload]);
  // a token refused the log (403) would only be refused again at every change
  useLive(st.error && st.error.status === 403 ? [] : [''], reload);
  return { ...st, reload, loadMore };
}

function Verify() {
  const [st, set] = useState({ busy: false, result: null, error: null });
  const verify = async () => {
    set({ busy: true, result: null, error: null });
    try {
      set({ busy: false, result: await api('GET', '/api/v1/admin/audit/verify'), error: null });
    } catch (error) {
      set({ busy: false, result: null, error });
    }
  };
  const r = st.result;
  return (
    <div class="row audit-verify">
      <button type="button" onClick={verify} disabled={st.busy} data-testid="audit-verify">
        {st.busy ? 'Verifying…' : 'Verify chain'}
      </button>
      {r && (r.ok
        ? <span class="badge good" role="status" data-testid="verify-result">chain intact: {fmt.num(r.records)} records</span>
        : <span class="badge bad" role="status" data-testid="verify-result">
            broken at seq {r.first_broken_seq} (of {fmt.num(r.records)} records): {r.message}
          </span>)}
      <ErrorBox error={st.error} />
    </div>
  );
}

/* "3 → 4": the versions a record took the name from and to. */
function versions(r) {
  if (!r.old_version && !r.new_version) return '—';
  return `${r.old_version || '—'} → ${r.new_version || '—'}`;
}

export default function Audit() {
  const s = useSession();
  const [form, setForm] = useState({ name: '', since: '' });
  const [applied, setApplied] = useState({ name: '', since: '' });
  const [action, setAction] = useState('');
  const [actor, setActor] = useState('');
  const q = useAudit(applied);
  const submit = (e) => {
    e.preventDefault();
    setApplied({ name: form.name.trim(), since: form.since.trim() });
  };
  const a = action.trim().toLowerCase();
  const u = actor.trim().toLowerCase();
  const rows = q.records.filter((r) => (!a || r.action.toLowerCase().includes(a)) && (!u || r.actor.toLowerCase().includes(u)));
  const denied = q.error && q.error.status === 403;
  return (
    <Page title="Audit log" actions={<Verify />}>
      {!s.can('admin') && (
        <div class="notice" data-testid="audit-scope">The audit log is read with a token that has the admin scope; this one has {(s.scopes || []).join(', ') || 'none'}.</div>
      )}
      <form class="row audit-filters" onSubmit={submit} data-testid="audit-filters">
        <label class="field"><span>Name (exact)</span>
          <input value={form.name} placeholder="/a/b/c" onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} data-testid="audit-name" />
        </label>
        <label class="field"><span>Since (after a seq, or from a time)</span>
          <input value={form.since} placeholder="1200 or 2026-12-01T09:00:00Z" onInput={(e) => setForm({ ...form, since: e.currentTarget.value })} data-testid="audit-since" />
        </label>
        <button type="submit" class="primary" data-testid="audit-apply">Apply</button>
        <label class="field"><span>Action (loaded records)</span>
          <input value={action} placeholder="put, delete, rollback…" onInput={(e) => setAction(e.currentTarget.value)} data-testid="audit-action" />
        </label>
        <label class="field"><span>Actor (loaded records)</span>
          <input value={actor} placeholder="token name" onInput={(e) => setActor(e.currentTarget.value)} data-testid="audit-actor" />
        </label>
      </form>
      <ErrorBox error={q.error} />
      {denied && <Empty>Ask an administrator for a token with the admin scope (switchyard token create NAME --scope admin).</Empty>}
      {!q.loaded ? (q.error ? null : <Loading />) : (
        <>
          {rows.length === 0 ? (
            <Empty>{q.records.length
              ? 'No loaded record matches the action and actor filters.'
              : 'No audit record matches. Every write (a parameter put, a flag change, a token created) adds one.'}
              {q.next ? ' Load more to look further back.' : ''}</Empty>
          ) : (
            <div class="scroll">
              <table class="grid audit-table" data-testid="audit">
                <thead>
                  <tr><th class="num">Seq</th><th>Time</th><th>Actor</th><th>Action</th><th>Name</th><th>Version</th><th>Reason</th><th>Detail</th></tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={r.seq} data-testid="audit-row" data-seq={r.seq}>
                      <td class="num">{r.seq}</td>
                      <td title={r.time}>{fmt.time(r.time)}</td>
                      <td>{r.actor}</td>
                      <td><Badge kind={/delete|rollback|revoke/.test(r.action) ? 'warn' : 'neutral'}>{r.action}</Badge></td>
                      <td class="wrap" data-testid="audit-name-cell">
                        {r.name && r.name.startsWith('/') && !r.action.startsWith('token')
                          ? <a href={href('params', [], { name: r.name })}>{r.name}</a> : r.name}
                      </td>
                      <td class="mono">{versions(r)}</td>
                      <td class="wrap" data-testid="audit-reason">{r.reason || '—'}</td>
                      <td class="wrap mono">{r.detail || ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <div class="row">
            <span class="audit-muted" data-testid="audit-count">{fmt.num(q.records.length)} record{q.records.length === 1 ? '' : 's'} loaded</span>
            {q.next !== null && q.next !== undefined && (
              <button type="button" onClick={q.loadMore} disabled={q.loading} data-testid="audit-more">
                {q.loading ? 'Loading…' : `Load ${PAGE} more`}
              </button>
            )}
          </div>
        </>
      )}
    </Page>
  );
}

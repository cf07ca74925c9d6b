// params.jsx — the Parameters view: one folder at a time (#/params?path=/a/b/), its sub-folders
// with how many parameters each holds, and its direct parameters a page at a time (a folder may
// hold 100,000: never loaded whole), breadcrumbs up, a filter over what is loaded, creating a
// parameter there, and the selected one (#/params?name=/a/b/c, params_detail.jsx). The folder
// and the selected parameter reload when a change under them arrives.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, qs } from '../api.js';
import { useLive } from '../live.js';
import { Empty, ErrorBox, Loading, Page, fmt, href, useAction, useSession } from '../ui.jsx';
import Detail, { paramUrl } from './params_detail.jsx';

const PAGE = 100;
const CHUNK = 1000; // the API's largest page

/* '/a/b' or 'a/b/' → '/a/b/'; '' → '/'. */
function asFolder(p) {
  let f = p || '/';
  if (f[0] !== '/') f = `/${f}`;
  return f.endsWith('/') ? f : `${f}/`;
}

/* The folder holding a name: '/a/b/c' → '/a/b/'. */
function parentOf(name) {
  const i = name.lastIndexOf('/');
  return i <= 0 ? '/' : name.slice(0, i + 1);
}

/* The last segment of a name or folder path. */
function leaf(p) {
  const parts = p.split('/').filter(Boolean);
  return parts[parts.length - 1] || '/';
}

/* One folder's sub-folders and its direct parameters, the first `want` of them (more with
 * loadMore). A live reload fetches again as many as are shown, so paging on is not undone. */
function useFolder(folder) {
  const [st, set] = useState({ folder, params: [], folders: [], truncated: false, next: null, error: null, loading: true, loaded: false });
  const want = useRef(PAGE);
  const gen = useRef(0);
  const path = folder === '/' ? '/' : folder.slice(0, -1);

  const reload = useCallback(async () => {
    const my = ++gen.current;
    set((s) => ({ ...s, loading: true }));
    try {
      const first = await api('GET', `/api/v1/params${qs({ path, folders: 'true', limit: Math.min(want.current, CHUNK) })}`);
      const params = [...first.params];
      let next = first.next;
      while (next && params.length < want.current && my === gen.current) {
        const page = await api('GET', `/api/v1/params${qs({ path, limit: Math.min(want.current - params.length, CHUNK), next })}`);
        params.push(...page.params);
        next = page.next;
      }
      if (my !== gen.current) return;
      set({ folder, params, folders: first.folders || [], truncated: !!first.folders_truncated, next, error: null, loading: false, loaded: true });
    } catch (error) {
      if (my === gen.current) set((s) => ({ ...s, error, loading: false }));
    }
  }, [folder]);

  const loadMore = useCallback(async () => {
    if (!st.next) return;
    const my = ++gen.current;
    set((s) => ({ ...s, loading: true }));
    try {
      const page = await api('GET', `/api/v1/params${qs({ path, limit: PAGE, next: st.next })}`);
      if (my !== gen.current) return;
      want.current = st.params.length + page.params.length;
      set((s) => ({ ...s, params: [...s.params, ...page.params], next: page.next, error: null, loading: false }));
    } catch (error) {
      if (my === gen.current) set((s) => ({ ...s, error, loading: false }));
    }
  }, [st.next, st.params.length, folder]);

  useEffect(() => { want.current = PAGE; reload(); }, [reload]);
  useLive([folder], reload);
  // a new folder's first answer has not come yet: show nothing of the one before
  return st.folder === folder ? { ...st, reload, loadMore } : { params: [], folders: [], loading: true, loaded: false, reload, loadMore };
}

function Breadcrumbs({ folder }) {
  const parts = folder.split('/').filter(Boolean);
  return (
    <nav class="crumbs" aria-label="Folder" data-testid="breadcrumbs">
      <a href={href('params', [], { path: '/' })} data-testid="crumb" data-path="/">/</a>
      {parts.map((p, i) => {
        const path = `/${parts.slice(0, i + 1).join('/')}/`;
        const last = i === parts.length - 1;
        return (
          <span key={path}>
            <a href={href('params', [], { path })} aria-current={last ? 'page' : undefined} data-testid="crumb" data-path={path}>{p}</a>
            {!last && <span class="crumb-sep" aria-hidden="true">/</span>}
          </span>
        );
      })}
    </nav>
  );
}

function CreateForm({ folder, done }) {
  const run = useAction();
  const [name, setName] = useState('');
  const [type, setType] = useState('String');
  const [value, setValue] = useState('');
  const full = `${folder}${name.trim().replace(/^\/+/, '')}`;
  const submit = async (e) => {
    e.preventDefault();
    const ok = await run({
      title: 'Create parameter',
      what: `${full} is created as a ${type} (version 1)`,
      confirmLabel: 'Create',
      action: (reason) => api('PUT', paramUrl(full), { value, type, if_version: 0, reason }),
    });
    if (ok) {
      done();
      location.hash = href('params', [], { path: folder, name: full });
    }
  };
  return (
    <form class="panel" onSubmit={submit} data-testid="create-form">
      <label class="field"><span>Name (in {folder})</span>
        <input value={name} required maxLength={1011}
          onInput={(e) => setName(e.currentTarget.value)} data-testid="create-name" />
      </label>
      <label class="field"><span>Type</span>
        <select value={type} onChange={(e) => setType(e.currentTarget.value)} data-testid="create-type">
          <option value="String">String</option>
          <option value="StringList">StringList (comma-separated)</option>
          <option value="SecureString">SecureString</option>
        </select>
      </label>
      <label class="field"><span>Value</span>
        <textarea rows={3} value={value} maxLength={8192} required onInput={(e) => setValue(e.currentTarget.value)} data-testid="create-value" />
      </label>
      <div class="row">
        <button type="submit" class="primary" data-testid="create-save">Create…</button>
        <button type="button" onClick={done}>Cancel</button>
      </div>
    </form>
  );
}

function FolderList({ folder, selected }) {
  const f = useFolder(folder);
  const [filter, setFilter] = useState('');
  useEffect(() => setFilter(''), [folder]);
  const needle = filter.trim().toLowerCase();
  const match = (p) => !needle || leaf(p).toLowerCase().includes(needle);
  const folders = f.folders.filter((d) => match(d.path));
  const params = f.params.filter((p) => match(p.name));
  return (
    <div class="param-list" data-testid="param-list">
      <label class="field">
        <span>Filter names in this folder</span>
        <input type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} placeholder="part of a name"
          data-testid="params-filter" />
      </label>
      <ErrorBox error={f.error} />
      {!f.loaded ? (f.error ? null : <Loading />) : (
        <>
          {f.folders.length === 0 && f.params.length === 0 && (
            <Empty>No parameter under {folder}. Create one here, or with the CLI:
              <code> switchyard param put {folder}NAME VALUE</code> (PUT /api/v1/params{folder}NAME).</Empty>
          )}
          {folders.length > 0 && (
            <ul class="folders" data-testid="folders">
              {folders.map((d) => (
                <li key={d.path}>
                  <a href={href('params', [], { path: d.path })} data-testid="folder-link" data-path={d.path}>
                    <span class="folder-icon" aria-hidden="true">▸</span>{leaf(d.path)}/
                  </a>
                  <span class="muted"> {fmt.num(d.count)} param{d.count === 1 ? '' : 's'}</span>
                </li>
              ))}
            </ul>
          )}
          {f.truncated && <p class="muted" data-testid="folders-truncated">Only the first sub-folders are listed.</p>}
          {params.length > 0 && (
            <ul class="params" data-testid="params">
              {params.map((p) => (
                <li key={p.name} data-testid="param-row" data-name={p.name} class={p.name === selected ? 'selected' : ''}>
                  <a href={href('params', [], { path: folder, name: p.name })} aria-current={p.name === selected ? 'true' : undefined}>
                    {leaf(p.name)}
                  </a>
                  <span class="muted"> {p.type} · v{p.version}</span>
                  <RowValue p={p} />
                </li>
              ))}
            </ul>
          )}
          {needle && folders.length === 0 && params.length === 0 && (f.folders.length > 0 || f.params.length > 0) && (
            <Empty>No loaded name matches “{filter}”{f.next ? ': load more to look further.' : '.'}</Empty>
          )}
          <p class="muted" data-testid="params-count">
            {fmt.num(f.params.length)} parameter{f.params.length === 1 ? '' : 's'} shown{f.next ? ', more in this folder' : ''}
          </p>
          {f.next && (
            <button type="button" onClick={f.loadMore} disabled={f.loading} data-testid="params-more">
              {f.loading ? 'Loading…' : `Load ${PAGE} more`}
            </button>
          )}
        </>
      )}
    </div>
  );
}

export default function Params({ route }) {
  const s = useSession();
  const name = route.query.name || '';
  const folder = asFolder(route.query.path || (name ? parentOf(name) : '/'));
  const [creating, setCreating] = useState(false);
  return (
    <Page title="Parameters" actions={s.can('write') && (
      <button type="button" aria-expanded={creating} onClick={() => setCreating(!creating)} data-testid="param-create">New parameter</button>
    )}>
      <Breadcrumbs folder={folder} />
      {creating && <CreateForm folder={folder} done={() => setCreating(false)} />}
      <div class="params-layout">
        <FolderList folder={folder} selected={name} />
        <div class="param-side">
          {name ? <Detail key={name} name={name} folder={folder} /> : (
            <Empty>Pick a parameter to see its value, history and labels.</Empty>
          )}
        </div>
      </div>
    </Page>
  );
}

/* A parameter's value beside its name, on one line and cut: the listing never decrypts, so a
 * SecureString says "hidden" (its detail has Reveal for a token that may decrypt). */
function RowValue({ p }) {
  if (p.type === 'SecureString') return <span class="row-value muted" data-testid="row-value">hidden</span>;
  const v = typeof p.value === 'string' ? p.value : '';
  const one = v.length > 120 ? `${v.slice(0, 120)}…` : v;
  return <span class="row-value mono" data-testid="row-value" title={v.slice(0, 1000)}>{one.replace(/\n/g, ' ⏎ ')}</span>;
}

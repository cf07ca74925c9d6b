// params_detail.jsx — one parameter: its value (a SecureString stays hidden until a token
// allowed to decrypt asks), its attributes, labels and tags, its history newest first with the
// reasons, a diff of two versions, and the writes: edit, rollback, delete, labels, tags.
import { useState } from 'preact/hooks';
import { api, namePath, qs } from '../api.js';
import { Badge, Empty, Loaded, fmt, href, useAction, useData, useSession } from '../ui.jsx';
import { Diff } from './params_diff.jsx';

// the SSM types; a gateway document (Provider, Route) keeps its own type when edited
const TYPES = ['String', 'StringList', 'SecureString'];

/* The parameter's URL below /api/v1/params (a single-level name may lack its slash). */
export function paramUrl(name) {
  return `/api/v1/params/${namePath(name.replace(/^\//, ''))}`;
}

/* Every version, oldest first. A parameter keeps at most 100, so this is two or three pages. */
async function loadHistory(name, decrypt) {
  const versions = [];
  let next = null;
  do {
    const page = await api('GET', `${paramUrl(name)}/history${qs({ limit: 50, next, decrypt: decrypt ? 'true' : '' })}`);
    versions.push(...page.versions);
    next = page.next;
  } while (next !== null && next !== undefined);
  return versions;
}

/* A value as text: a SecureString read without decrypt has none. */
function shown(p) {
  return p.value === undefined ? null : p.value;
}

export default function Detail({ name, folder }) {
  const s = useSession();
  const run = useAction();
  const [revealed, setRevealed] = useState(false);
  const q = useData(() => api('GET', `${paramUrl(name)}${revealed ? '?decrypt=true' : ''}`), [name, revealed], [name]);
  const h = useData(() => loadHistory(name, revealed), [name, revealed], [name]);
  return (
    <div class="param-detail" data-testid="param-detail">
      <h2 class="param-name"><code data-testid="param-name">{name}</code></h2>
      <Loaded q={q}>
        {(p) => (
          <>
            <Value p={p} revealed={revealed} reveal={() => setRevealed(true)} canDecrypt={s.can('decrypt')} />
            {s.can('write') && <Writes p={p} run={run} folder={folder} revealed={revealed} />}
            <Attributes p={p} run={run} canWrite={s.can('write')} />
          </>
        )}
      </Loaded>
      <h3>History</h3>
      <Loaded q={h}>
        {(versions) => (q.data ? <History p={q.data} versions={versions} run={run} canWrite={s.can('write')} /> : null)}
      </Loaded>
    </div>
  );
}

function Value({ p, revealed, reveal, canDecrypt }) {
  const v = shown(p);
  if (p.type === 'SecureString' && (!revealed || v === null)) {
    return (
      <div class="row param-value-row">
        <span class="value secret" data-testid="param-value">hidden</span>
        {canDecrypt
          ? <button type="button" onClick={reveal} data-testid="param-reveal">Reveal</button>
          : <span class="muted">(a token with the decrypt scope may reveal it)</span>}
      </div>
    );
  }
  return <pre class="value" data-testid="param-value">{v}</pre>;
}

function Attributes({ p, run, canWrite }) {
  const removeLabel = (l) => run({
    title: 'Remove label',
    what: `label ${l} is removed from version ${p.version} of ${p.name}`,
    confirmLabel: 'Remove label',
    action: (reason) => api('DELETE', `${paramUrl(p.name)}/labels`, { labels: [l], reason }),
  });
  const removeTag = (k) => run({
    title: 'Remove tag',
    what: `tag ${k}=${p.tags[k]} is removed from ${p.name}`,
    confirmLabel: 'Remove tag',
    action: (reason) => api('DELETE', `${paramUrl(p.name)}/tags`, { keys: [k], reason }),
  });
  const tags = Object.entries(p.tags || {});
  return (
    <dl class="attrs" data-testid="param-attrs">
      <dt>Type</dt><dd data-testid="param-type">{p.type}</dd>
      <dt>Version</dt><dd data-testid="param-version">{p.version}</dd>
      <dt>Tier</dt><dd>{p.tier}</dd>
      <dt>Data type</dt><dd>{p.data_type || 'text'}</dd>
      <dt>Description</dt><dd class="wrap">{p.description || '—'}</dd>
      <dt>Last modified</dt>
      <dd><span title={p.last_modified}>{fmt.time(p.last_modified)}</span> by {p.last_modified_user || '—'}</dd>
      <dt>Labels</dt>
      <dd data-testid="param-labels">
        {(p.labels || []).length === 0 ? '—' : p.labels.map((l) => (
          <span class="chip" key={l}>
            {l}
            {canWrite && <button type="button" class="chip-x" aria-label={`Remove label ${l}`} data-testid={`label-remove-${l}`}
              onClick={() => removeLabel(l)}>×</button>}
          </span>
        ))}
      </dd>
      <dt>Tags</dt>
      <dd data-testid="param-tags">
        {tags.length === 0 ? '—' : tags.map(([k, v]) => (
          <span class="chip" key={k}>
            {k}={v}
            {canWrite && <button type="button" class="chip-x" aria-label={`Remove tag ${k}`} data-testid={`tag-remove-${k}`}
              onClick={() => removeTag(k)}>×</button>}
          </span>
        ))}
      </dd>
    </dl>
  );
}

/* The write buttons, each opening its small form; every write goes through the dialog. */
function Writes({ p, run, folder, revealed }) {
  const [open, setOpen] = useState(null); // 'edit' | 'label' | 'tag' | null
  const toggle = (f) => setOpen(open === f ? null : f);
  const del = () => run({
    title: 'Delete parameter',
    what: `${p.name} is deleted, with every version (it is at version ${p.version})`,
    destructive: true,
    confirmLabel: 'Delete',
    action: async (reason) => {
      await api('DELETE', `${paramUrl(p.name)}${qs({ reason })}`);
      location.hash = href('params', [], { path: folder });
    },
  });
  return (
    <>
      <div class="row param-writes">
        <button type="button" aria-expanded={open === 'edit'} onClick={() => toggle('edit')} data-testid="param-edit">Edit value</button>
        <button type="button" aria-expanded={open === 'label'} onClick={() => toggle('label')} data-testid="param-label-add">Add label</button>
        <button type="button" aria-expanded={open === 'tag'} onClick={() => toggle('tag')} data-testid="param-tag-add">Add tag</button>
        <button type="button" class="danger" onClick={del} data-testid="param-delete">Delete…</button>
      </div>
      {open === 'edit' && <EditForm p={p} run={run} revealed={revealed} done={() => setOpen(null)} />}
      {open === 'label' && <LabelForm p={p} run={run} done={() => setOpen(null)} />}
      {open === 'tag' && <TagForm p={p} run={run} done={() => setOpen(null)} />}
    </>
  );
}

function EditForm({ p, run, revealed, done }) {
  const hidden = p.type === 'SecureString' && !revealed;
  const [value, setValue] = useState(hidden ? '' : shown(p) || '');
  const [type, setType] = useState(p.type);
  // the version this edit started from: a write by someone else since then is refused
  // (409 VersionConflict), not overwritten
  const [base] = useState(p.version);
  const submit = async (e) => {
    e.preventDefault();
    const ok = await run({
      title: 'Edit parameter',
      what: `value of ${p.name} changes (version ${base} → version ${base + 1}, ${type})`,
      confirmLabel: 'Save',
      action: (reason) => api('PUT', paramUrl(p.name), { value, type, overwrite: true, if_version: base, reason }),
    });
    if (ok) done();
  };
  return (
    <form class="panel" onSubmit={submit} data-testid="edit-form">
      {p.version !== base && (
        <div class="notice" role="status">Version {p.version} was written since this edit began: saving will be refused.
          Cancel and edit again to start from it.</div>
      )}
      <label class="field">
        <span>New value{hidden ? ' (the current one is hidden)' : ''}</span>
        <textarea rows={Math.min(12, Math.max(3, value.split('\n').length + 1))} value={value} maxLength={8192}
          onInput={(e) => setValue(e.currentTarget.value)} data-testid="edit-value" />
      </label>
      <label class="field">
        <span>Type</span>
        <select value={type} onChange={(e) => setType(e.currentTarget.value)} data-testid="edit-type">
          {(TYPES.includes(p.type) ? TYPES : [p.type, ...TYPES]).map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
      </label>
      <div class="row">
        <button type="submit" class="primary" data-testid="edit-save">Save…</button>
        <button type="button" onClick={done}>Cancel</button>
      </div>
    </form>
  );
}

function LabelForm({ p, run, done }) {
  const [label, setLabel] = useState('');
  const [version, setVersion] = useState(String(p.version));
  const submit = async (e) => {
    e.preventDefault();
    const ok = await run({
      title: 'Add label',
      what: `label ${label} goes on version ${version} of ${p.name} (moving from any other version)`,
      confirmLabel: 'Add label',
      action: (reason) => api('POST', `${paramUrl(p.name)}/labels`, { version: Number(version), labels: [label.trim()], reason }),
    });
    if (ok) done();
  };
  return (
    <form class="panel row" onSubmit={submit} data-testid="label-form">
      <label class="field"><span>Label</span>
        <input value={label} required maxLength={100} onInput={(e) => setLabel(e.currentTarget.value)} data-testid="label-name" />
      </label>
      <label class="field"><span>Version</span>
        <input type="number" min={1} max={p.version} value={version} required
          onInput={(e) => setVersion(e.currentTarget.value)} data-testid="label-version" />
      </label>
      <button type="submit" class="primary" data-testid="label-save">Add label…</button>
      <button type="button" onClick={done}>Cancel</button>
    </form>
  );
}

function TagForm({ p, run, done }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    const k = key.trim();
    const ok = await run({
      title: 'Add tag',
      what: `tag ${k}=${value} is set on ${p.name}${p.tags && k in p.tags ? ` (was ${p.tags[k]})` : ''}`,
      confirmLabel: 'Set tag',
      action: (reason) => api('PUT', `${paramUrl(p.name)}/tags`, { tags: { [k]: value }, reason }),
    });
    if (ok) done();
  };
  return (
    <form class="panel row" onSubmit={submit} data-testid="tag-form">
      <label class="field"><span>Key</span>
        <input value={key} required maxLength={128} onInput={(e) => setKey(e.currentTarget.value)} data-testid="tag-key" />
      </label>
      <label class="field"><span>Value</span>
        <input value={value} maxLength={256} onInput={(e) => setValue(e.currentTarget.value)} data-testid="tag-value" />
      </label>
      <button type="submit" class="primary" data-testid="tag-save">Set tag…</button>
      <button type="button" onClick={done}>Cancel</button>
    </form>
  );
}

/* The first line of a value, cut short, for the history table. */
function preview(v) {
  if (v === null) return 'hidden';
  const line = v.split('\n')[0];
  return line.length > 80 || v.includes('\n') ? `${line.slice(0, 80)}…` : line;
}

function History({ p, versions, run, canWrite }) {
  const newest = [...versions].reverse();
  // until picked, the diff follows the two newest versions (live writes move them)
  const [fromPick, setFrom] = useState(null);
  const [toPick, setTo] = useState(null);
  if (!newest.length) return <Empty>No history is kept for this parameter.</Empty>;
  const latest = newest[0].version;
  const from = fromPick ?? (newest[1] || newest[0]).version;
  const to = toPick ?? latest;
  const rollback = (v) => run({
    title: 'Roll back',
    what: `value of ${p.name} goes back to version ${v}'s (written as version ${latest + 1})`,
    destructive: true,
    confirmLabel: 'Roll back',
    action: (reason) => api('POST', `${paramUrl(p.name)}/rollback`, { to_version: v, reason }),
  });
  const byVersion = new Map(versions.map((v) => [v.version, v]));
  const a = byVersion.get(Number(from));
  const b = byVersion.get(Number(to));
  return (
    <>
      <div class="scroll">
        <table class="grid history-table" data-testid="history">
          <thead>
            <tr><th class="num">Version</th><th>Written</th><th>By</th><th>Labels</th><th>Reason</th><th>Value</th>{canWrite && <th>Actions</th>}</tr>
          </thead>
          <tbody>
            {newest.map((v) => (
              <tr key={v.version} data-testid="history-row" data-version={v.version}>
                <td class="num">{v.version}</td>
                <td title={v.last_modified}>{fmt.time(v.last_modified)}</td>
                <td>{v.last_modified_user || '—'}</td>
                <td>{(v.labels || []).map((l) => <Badge key={l}>{l}</Badge>)}</td>
                <td class="wrap" data-testid="history-reason">{v.reason || '—'}</td>
                <td class="wrap mono">{preview(shown(v))}</td>
                {canWrite && (
                  <td>{v.version !== latest && (
                    <button type="button" onClick={() => rollback(v.version)} data-testid={`rollback-${v.version}`}>Roll back…</button>
                  )}</td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {newest.length > 1 && (
        <>
          <h3>Compare versions</h3>
          <div class="row">
            <label class="field"><span>From version</span>
              <select value={String(from)} onChange={(e) => setFrom(Number(e.currentTarget.value))} data-testid="diff-from">
                {newest.map((v) => <option key={v.version} value={String(v.version)}>{v.version}</option>)}
              </select>
            </label>
            <label class="field"><span>To version</span>
              <select value={String(to)} onChange={(e) => setTo(Number(e.currentTarget.value))} data-testid="diff-to">
                {newest.map((v) => <option key={v.version} value={String(v.version)}>{v.version}</option>)}
              </select>
            </label>
          </div>
          {a && b && shown(a) !== null && shown(b) !== null
            ? <Diff from={shown(a)} to={shown(b)} />
            : <Empty>{a && b ? 'The values are hidden: reveal the parameter to compare them.' : 'Pick two versions the history holds.'}</Empty>}
        </>
      )}
    </>
  );
}

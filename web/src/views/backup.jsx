// backup.jsx — the Backup and restore view: runbooks 000 and 001 back the configuration up
// before a change (`GET /api/v1/config/runtime > backup.json`) and restore it when the change
// fails; this view makes the same two calls. Both are admin calls (docs/API.md, Scopes).
// A restore is always a dry run first (POST without apply: what would be created, updated,
// deleted), then the apply, one transaction, through the action dialog.
import { useState } from 'preact/hooks';
import { apiText, qs } from '../api.js';
import { api, Empty, ErrorBox, fmt, Page, useAction, useSession } from '../ui.jsx';

const FORMAT = 'switchyard-config/1';
const EXPORT = '/api/v1/config/runtime';
// The server's import limit unless `switchyard serve --import-max-bytes` says otherwise
// (docs/API.md): a bigger file is refused here, before it is read into the page's memory. A
// server with a lower limit answers 413, shown as the API's message.
const IMPORT_MAX = 256 * 1024 * 1024;
const SHOWN = 200; // changes listed at once; the rest are counted
const ACTIONS = ['create', 'update', 'delete', 'unchanged'];

export default function Backup() {
  const { can } = useSession();
  return (
    <Page title="Backup and restore">
      <p class="muted">
        A backup is the configuration export runbooks 000 and 001 take before every change
        (<code>GET /api/v1/config/runtime</code>): the current value and metadata of every parameter.
        History and labels are not part of it: history is never rewritten, so a restore writes each
        changed parameter as a new version and keeps the versions and labels already there.
      </p>
      {can('admin') ? (
        <>
          <BackupPanel secretsAllowed={can('decrypt')} />
          <RestorePanel />
        </>
      ) : (
        <Empty>
          <p data-testid="backup-noscope">Backing up and restoring the configuration need a token with the
            admin scope: the export holds every parameter, and a restore may rewrite or delete any of them.
            With an admin token, the CLI's equivalent is:</p>
          <pre>{'curl -H "Authorization: Bearer $SWITCHYARD_TOKEN" \\\n  http://localhost:8000/api/v1/config/runtime > backup.json'}</pre>
        </Empty>
      )}
    </Page>
  );
}

/* ---- backup ---- */

/* 2026-12-03T07:53:00.123Z → 20261203T075300Z */
function stamp(iso) {
  const d = new Date(iso);
  const t = Number.isNaN(d.getTime()) ? new Date() : d;
  return t.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${fmt.num(n / 1024)} KiB`;
  return `${fmt.num(n / (1024 * 1024))} MiB`;
}

/* Saves text as a file through a clicked <a download>; the object URL is freed once the
 * browser has taken it. */
function save(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

function BackupPanel({ secretsAllowed }) {
  const [secrets, setSecrets] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      // the exact bytes the server exported, not a re-serialisation
      const text = await apiText('GET', EXPORT + qs({ include_secrets: secrets ? 'true' : undefined }));
      const doc = JSON.parse(text);
      const name = `switchyard-config-${doc.seq}-${stamp(doc.exported_at)}.json`;
      save(name, text);
      const sec = doc.params.filter((p) => p.type === 'SecureString');
      setDone({
        name, seq: doc.seq, exported_at: doc.exported_at, count: doc.params.length,
        size: new Blob([text]).size, secure: sec.length, unsealed: sec.filter((p) => p.value !== undefined).length,
      });
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };
  return (
    <section class="panel backup-panel" aria-labelledby="backup-title">
      <h2 id="backup-title">Back up</h2>
      <p class="muted">Downloads the export as <code>switchyard-config-SEQ-STAMP.json</code>: SEQ is the last change it
        holds, STAMP the server's UTC time of the export. Writes made while it streams are not in it.</p>
      {secretsAllowed && (
        <label class="backup-check">
          <input type="checkbox" checked={secrets} onChange={(e) => setSecrets(e.currentTarget.checked)} data-testid="backup-secrets" />
          <span>Include SecureString values</span>
        </label>
      )}
      {secrets ? (
        <div class="notice" data-testid="backup-warning">The file will hold every SecureString value in clear text.
          Keep it where secrets belong, and delete it when it is no longer needed.</div>
      ) : (
        <p class="muted small">Without SecureString values, the file cannot restore a SecureString: the server refuses an
          entry with no value.</p>
      )}
      <div class="row">
        <button type="button" class="primary" onClick={download} disabled={busy} data-testid="backup-download">
          {busy ? 'Exporting…' : 'Download backup'}
        </button>
      </div>
      <ErrorBox error={error} />
      {done && (
        <div data-testid="backup-info">
          <p>Saved <strong data-testid="backup-name">{done.name}</strong>.</p>
          <div class="stats">
            <div class="stat"><span>Parameters</span><strong data-testid="backup-count">{fmt.num(done.count)}</strong></div>
            <div class="stat"><span>Seq</span><strong data-testid="backup-seq">{done.seq}</strong></div>
            <div class="stat"><span>Exported at</span><strong title={done.exported_at}>{fmt.time(done.exported_at)}</strong></div>
            <div class="stat"><span>Size</span><strong data-testid="backup-size">{bytes(done.size)}</strong></div>
          </div>
          {done.secure > 0 && (
            <p class={done.unsealed === done.secure ? 'notice' : 'muted'} data-testid="backup-secure">
              {done.unsealed === done.secure
                ? `${done.secure} SecureString value(s) are in the file in clear text.`
                : `${done.secure} SecureString(s) are in the file without their value: restoring this file is refused until they are removed from it or it is taken again with their values.`}
            </p>
          )}
        </div>
      )}
    </section>
  );
}

/* ---- restore ---- */

/* The file's text as an export, or an Error naming what is wrong with it. */
function readExport(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`this file is not JSON (${e.message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('this file is not a configuration export: it is not a JSON object');
  if (doc.format !== FORMAT) {
    throw new Error(doc.format === undefined
      ? `this file is not a configuration export: it has no "format" (expected "${FORMAT}")`
      : `this file's format is ${JSON.stringify(doc.format)}, not "${FORMAT}"`);
  }
  if (!Array.isArray(doc.params)) throw new Error('this file has no "params" array');
  return doc;
}

function RestorePanel() {
  const run = useAction();
  const [file, setFile] = useState(null); // {name, size, doc}
  const [fileError, setFileError] = useState(null);
  const [prune, setPrune] = useState(false);
  const [dry, setDry] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null);

  const choose = async (e) => {
    const f = e.currentTarget.files && e.currentTarget.files[0];
    setFile(null); setDry(null); setError(null); setResult(null); setFileError(null);
    if (!f) return;
    if (f.size > IMPORT_MAX) {
      setFileError(new Error(`${f.name} is ${bytes(f.size)}: the server takes an import of at most ${bytes(IMPORT_MAX)} (its default import limit; an export of 100,000 parameters is about 16 MiB). Restore it with curl against a server started with a larger --import-max-bytes.`));
      return;
    }
    try {
      setFile({ name: f.name, size: f.size, doc: readExport(await f.text()) });
    } catch (err) {
      setFileError(new Error(`${f.name}: ${err.message}`));
    }
  };
  const changePrune = (v) => { setPrune(v); setDry(null); setResult(null); };

  const dryRun = async () => {
    setBusy(true); setError(null); setResult(null);
    try {
      setDry(await api('POST', EXPORT + qs({ prune: prune ? 'true' : undefined }), file.doc));
    } catch (e) {
      setDry(null);
      setError(e);
    }
    setBusy(false);
  };

  const apply = async () => {
    const s = dry.summary;
    const res = await run({
      title: 'Restore the configuration',
      what: `${file.name} creates ${s.create}, updates ${s.update}, deletes ${s.delete} parameters in one transaction `
        + `(${s.unchanged} unchanged). Each changed parameter gets a new version; history and labels stay.`,
      destructive: s.update + s.delete > 0,
      confirmLabel: 'Restore',
      action: (reason) => api('POST', EXPORT + qs({ apply: 'true', prune: prune ? 'true' : undefined, reason }), file.doc),
    });
    if (res) { setResult(res); setDry(null); }
  };

  const secureless = file ? file.doc.params.filter((p) => p && p.type === 'SecureString' && p.value === undefined).length : 0;
  return (
    <section class="panel backup-panel" aria-labelledby="restore-title">
      <h2 id="restore-title">Restore</h2>
      <p class="muted">1. Choose a backup file. 2. A dry run shows what the restore would create, update and delete,
        writing nothing. 3. Restore applies it in one transaction: readers see all of it or none of it.</p>
      <label class="field">
        <span>Backup file (a switchyard-config/1 export)</span>
        <input type="file" accept="application/json,.json" onChange={choose} data-testid="restore-file" />
      </label>
      {fileError && <div class="error" role="alert" data-testid="restore-file-error">{fileError.message}</div>}
      {file && (
        <p data-testid="restore-file-info"><strong>{file.name}</strong>: {fmt.num(file.doc.params.length)} parameters,
          seq {String(file.doc.seq ?? '—')}, exported {fmt.time(file.doc.exported_at)}, {bytes(file.size)}.</p>
      )}
      {secureless > 0 && (
        <div class="notice" data-testid="restore-secureless">{secureless} SecureString(s) in this file have no value
          (exported without SecureString values): the server will refuse the file.</div>
      )}
      <label class="backup-check">
        <input type="checkbox" checked={prune} onChange={(e) => changePrune(e.currentTarget.checked)} data-testid="restore-prune" />
        <span>Prune (delete parameters the backup does not hold)</span>
      </label>
      <div class="row">
        <button type="button" onClick={dryRun} disabled={!file || busy} data-testid="restore-dryrun">
          {busy ? 'Comparing…' : 'Dry run'}
        </button>
        {dry && (
          <button type="button" class={dry.summary.update + dry.summary.delete > 0 ? 'danger' : 'primary'} onClick={apply}
            disabled={dry.summary.create + dry.summary.update + dry.summary.delete === 0} data-testid="restore-apply">
            Restore…
          </button>
        )}
      </div>
      <ErrorBox error={error} />
      {!file && !fileError && !result && (
        <Empty>No file chosen. The dry run compares a backup with what the server holds now; nothing is written
          until you confirm the restore.</Empty>
      )}
      {dry && <Changes dry={dry} />}
      {result && (
        <div data-testid="restore-result">
          <p class="notice">Restored: created {result.summary.create}, updated {result.summary.update},
            deleted {result.summary.delete}, {result.summary.unchanged} unchanged.</p>
          <Summary s={result.summary} />
        </div>
      )}
    </section>
  );
}

function Summary({ s }) {
  return (
    <div class="stats" data-testid="restore-summary">
      {ACTIONS.map((a) => (
        <div class="stat" key={a}><span>{a === 'unchanged' ? 'Unchanged' : `${a[0].toUpperCase()}${a.slice(1)}s`}</span>
          <strong data-testid={`sum-${a}`}>{fmt.num(s[a])}</strong></div>
      ))}
    </div>
  );
}

/* The dry run: its counts, and the changed names (the first SHOWN of the chosen action). */
function Changes({ dry }) {
  const [only, setOnly] = useState('changed');
  const s = dry.summary;
  const list = dry.changes.filter((c) => (only === 'changed' ? c.action !== 'unchanged' : only === 'all' || c.action === only));
  const nothing = s.create + s.update + s.delete === 0;
  return (
    <div data-testid="restore-dry">
      <h3>Dry run: nothing written yet</h3>
      <Summary s={s} />
      {nothing ? (
        <Empty>The server already holds exactly this backup: there is nothing to restore.</Empty>
      ) : (
        <>
          <label class="field backup-filter">
            <span>Show</span>
            <select value={only} onChange={(e) => setOnly(e.currentTarget.value)} data-testid="restore-filter">
              <option value="changed">changes (create, update, delete)</option>
              <option value="all">all, unchanged included</option>
              {ACTIONS.map((a) => <option value={a} key={a}>{a}</option>)}
            </select>
          </label>
          {list.length === 0 ? <Empty>No parameter has this action.</Empty> : (
            <div class="scroll">
              <table class="grid" data-testid="restore-changes">
                <thead><tr><th>Parameter</th><th>Action</th></tr></thead>
                <tbody>
                  {list.slice(0, SHOWN).map((c) => (
                    <tr key={c.name}><td class="wrap">{c.name}</td><td><span class={`badge backup-${c.action}`}>{c.action}</span></td></tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {list.length > SHOWN && (
            <p class="muted" data-testid="restore-more">The first {SHOWN} of {fmt.num(list.length)} are shown;
              {' '}{fmt.num(list.length - SHOWN)} more.</p>
          )}
        </>
      )}
    </div>
  );
}

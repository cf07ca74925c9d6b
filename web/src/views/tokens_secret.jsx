// tokens_secret.jsx — what the Tokens and keys view's two tables share: scope badges, states,
// the panel that shows a new secret once (with a Copy button and the warning that it cannot be
// shown again), the scope checkboxes with what each scope allows (docs/API.md), and the live
// reload on credential changes. A secret lives only in the state of the view that created it: never in the URL,
// sessionStorage or a log; closing the panel or leaving the view drops it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useChanges } from '../live.js';
import { Badge, fmt } from '../ui.jsx';

/* Active credentials first, each group by name. */
export function byState(list) {
  return [...list].sort((a, b) => (!!a.revoked - !!b.revoked) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function Scopes({ scopes }) {
  return <span class="tok-badges">{(scopes || []).map((s) => <Badge key={s} kind={s === 'admin' ? 'warn' : 'neutral'}>{s}</Badge>)}</span>;
}

export function State({ revoked }) {
  return revoked
    ? <Badge kind="bad" title={revoked}><span data-testid="cred-state">revoked {fmt.time(revoked)}</span></Badge>
    : <Badge kind="good"><span data-testid="cred-state">active</span></Badge>;
}

/* What each scope allows, in docs/API.md's words. */
export const SCOPES = {
  read: 'GETs of parameters and the watch stream; may evaluate flags.',
  write: 'parameter writes; implies read.',
  admin: 'tokens, access keys, audit, config export/import; implies write and decrypt.',
  decrypt: 'may read SecureString values in clear (?decrypt=true).',
  evaluate: 'evaluates flags (OFREP and /api/v1/flags/{key}/evaluate) and nothing else: for tokens shipped inside applications.',
};

/* Calls reload when a token.* or key.* change arrives on the stream (their events carry the
 * credential's bare name, under no parameter prefix), and after the stream came back. */
export function useCredentialChanges(reload) {
  const ref = useRef(reload);
  ref.current = reload;
  useChanges((ev) => {
    const a = ev.action || '';
    if (ev.resync || a.startsWith('token.') || a.startsWith('key.')) ref.current();
  });
}

/* The scope checkboxes: scopes is the list of names offered, value a Set, set(newSet). */
export function ScopeBoxes({ scopes, value, set, idPrefix }) {
  const toggle = (s) => {
    const n = new Set(value);
    if (n.has(s)) n.delete(s); else n.add(s);
    set(n);
  };
  return (
    <fieldset class="tok-scopes">
      <legend>Scopes</legend>
      {scopes.map((s) => (
        <label key={s} class="tok-scope">
          <input type="checkbox" checked={value.has(s)} onChange={() => toggle(s)} data-testid={`${idPrefix}-scope-${s}`} />
          <span><strong>{s}</strong> <span class="muted">— {SCOPES[s]}</span></span>
        </label>
      ))}
    </fieldset>
  );
}

/* Copies text; when the browser refuses (no clipboard permission), selects el's text so that
 * Ctrl+C copies it. */
function useCopy() {
  const [note, setNote] = useState('');
  const copy = async (text, el) => {
    try {
      await navigator.clipboard.writeText(text);
      setNote('Copied.');
    } catch {
      if (el) {
        const r = document.createRange();
        r.selectNodeContents(el);
        const sel = getSelection();
        sel.removeAllRanges();
        sel.addRange(r);
      }
      setNote('The browser refused the clipboard: the text is selected, press Ctrl+C (⌘C) to copy it.');
    }
  };
  return [note, copy];
}

/* One secret value with its own Copy button. */
export function SecretValue({ label, value, testid }) {
  const el = useRef(null);
  const [note, copy] = useCopy();
  return (
    <div class="tok-value">
      <div class="tok-label">{label}</div>
      <div class="row">
        <code ref={el} class="tok-secret" data-testid={testid}>{value}</code>
        <button type="button" onClick={() => copy(value, el.current)} data-testid={`${testid}-copy`}>Copy</button>
      </div>
      {note && <div class="muted small" role="status">{note}</div>}
    </div>
  );
}

/* The panel a new secret is shown in, once. close() must drop the secret from the caller's
 * state. Focus moves to the panel so that a keyboard user finds it. */
export function SecretPanel({ title, close, children, testid }) {
  const ref = useRef(null);
  useEffect(() => { if (ref.current) ref.current.focus(); }, []);
  return (
    <section class="panel tok-once" ref={ref} tabIndex={-1} aria-labelledby={`${testid}-title`} data-testid={testid}>
      <h2 id={`${testid}-title`}>{title}</h2>
      <div class="notice" role="alert">
        Copy it now: this secret is shown once and cannot be shown again. The server keeps only what it needs to check it;
        if it is lost, revoke it and create another.
      </div>
      {children}
      <div class="row">
        <button type="button" class="primary" onClick={close} data-testid={`${testid}-close`}>I have copied it — close</button>
      </div>
    </section>
  );
}

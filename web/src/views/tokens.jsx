// tokens.jsx — the Tokens and keys view: the API tokens (bearer, for the native API) with their
// scopes and default gateway route, creating one (its secret shown once), setting or clearing
// its route, revoking it; and the SigV4 access keys for the aws CLI and SDKs (tokens_keys.jsx).
// Everything here needs the admin scope: another token sees a notice and the API's 403.
// No credential change is a parameter: the view reloads on token.* and key.* events.
import { useState } from 'preact/hooks';
import { api, qs } from '../api.js';
import {
  Badge, Empty, ErrorBox, Loaded, Page, fmt, useAction, useData, useSession,
} from '../ui.jsx';
import Keys from './tokens_keys.jsx';
import {
  Scopes, ScopeBoxes, SecretPanel, SecretValue, State, byState, useCredentialChanges,
} from './tokens_secret.jsx';

const TOKEN_SCOPES = ['read', 'write', 'admin', 'decrypt', 'evaluate'];

export default function Tokens() {
  const s = useSession();
  const admin = s.can('admin');
  const q = useData(() => api('GET', '/api/v1/admin/tokens'), []);
  useCredentialChanges(q.reload);
  if (!admin) {
    return (
      <Page title="Tokens and keys">
        <div class="notice" role="status" data-testid="tokens-no-admin">
          Tokens and access keys are managed with the admin scope. This console is signed in as {s.name}
          {' '}({(s.scopes || []).join(', ')}), which does not have it: ask an operator with an admin token.
        </div>
        <ErrorBox error={q.error} />
      </Page>
    );
  }
  return (
    <Page title="Tokens and keys">
      <TokenSection q={q} me={s.name} />
      <Keys />
    </Page>
  );
}

function TokenSection({ q, me }) {
  const [creating, setCreating] = useState(false);
  // the new token's answer ({name, scopes, token}): the only place its secret lives
  const [created, setCreated] = useState(null);
  return (
    <section aria-labelledby="tokens-title">
      <div class="row tok-head">
        <h2 id="tokens-title">API tokens</h2>
        <button type="button" aria-expanded={creating} onClick={() => setCreating(!creating)} data-testid="token-new">New token</button>
      </div>
      <p class="muted">Bearer tokens for the native API, the CLI (<code>SWITCHYARD_TOKEN</code>), the gateway and OFREP.</p>
      {created && (
        <SecretPanel title={`Token ${created.name} is created`} close={() => setCreated(null)} testid="token-once">
          <SecretValue label={`Token (scopes ${created.scopes.join(', ')})`} value={created.token} testid="token-secret" />
          <p class="muted small">Use it as <code>Authorization: Bearer …</code>, or for the CLI:
            <code> export SWITCHYARD_TOKEN=…</code> (paste the token in place of …).</p>
        </SecretPanel>
      )}
      {creating && <TokenForm done={(res) => { setCreating(false); if (res) setCreated(res); }} />}
      <Loaded q={q}>
        {(d) => (d.tokens.length === 0 ? (
          <Empty>No token. Create one here, or with the CLI: <code>switchyard token create NAME --scope read</code>
            {' '}(POST /api/v1/admin/tokens).</Empty>
        ) : <TokenTable tokens={byState(d.tokens)} me={me} />)}
      </Loaded>
    </section>
  );
}

/* POST /api/v1/admin/tokens; done(answer) with the new token, done(null) when cancelled. */
function TokenForm({ done }) {
  const run = useAction();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState(new Set(['read']));
  const [route, setRoute] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    const list = TOKEN_SCOPES.filter((x) => scopes.has(x));
    const n = name.trim();
    const r = route.trim();
    const res = await run({
      title: 'Create a token',
      what: `token ${n} with scopes ${list.join(', ')}${r ? `, default route ${r}` : ''}. Its secret is shown once, here.`,
      confirmLabel: 'Create token',
      action: (reason) => api('POST', '/api/v1/admin/tokens', { name: n, scopes: list, ...(r ? { route: r } : {}), ...(reason ? { reason } : {}) }),
    });
    if (res) done(res);
  };
  return (
    <form class="panel tok-form" onSubmit={submit} data-testid="token-form">
      <label class="field"><span>Name (1 to 64 of a-z A-Z 0-9 . _ -)</span>
        <input value={name} required maxLength={64} autoComplete="off" placeholder="ci-deployer"
          onInput={(e) => setName(e.currentTarget.value)} data-testid="token-name" />
      </label>
      <ScopeBoxes scopes={TOKEN_SCOPES} value={scopes} set={setScopes} idPrefix="token" />
      <label class="field"><span>Default gateway route (optional): the route its gateway requests take without an X-Switchyard-Route header</span>
        <input value={route} maxLength={1011} autoComplete="off" placeholder="/photoeditor/staging/image-processor"
          onInput={(e) => setRoute(e.currentTarget.value)} data-testid="token-route" />
      </label>
      <div class="row">
        <button type="submit" class="primary" disabled={!name.trim() || scopes.size === 0} data-testid="token-create">Create token…</button>
        <button type="button" onClick={() => done(null)}>Cancel</button>
      </div>
    </form>
  );
}

function TokenTable({ tokens, me }) {
  const run = useAction();
  const [editing, setEditing] = useState(null); // the token whose route is being set
  const revoke = async (t) => {
    const own = t.name === me;
    const ok = await run({
      title: `Revoke token ${t.name}`,
      what: `Token ${t.name} is revoked: every request made with it is refused (401) from now on. This cannot be undone.${own
        ? ' It is the token this console is signed in with: revoking it signs you out.' : ''}`,
      destructive: true,
      confirmLabel: 'Revoke token',
      action: (reason) => api('DELETE', `/api/v1/admin/tokens/${encodeURIComponent(t.name)}${qs({ reason })}`),
    });
    // the server refuses the token now: the next call's 401 ends the session at once
    if (ok && own) api('GET', '/api/v1/whoami').catch(() => {});
  };
  const clearRoute = (t) => run({
    title: `Clear the default route of token ${t.name}`,
    what: `default route of token ${t.name}: ${t.route} → none. Its gateway requests without an X-Switchyard-Route header then find no route.`,
    confirmLabel: 'Clear route',
    action: (reason) => api('PATCH', `/api/v1/admin/tokens/${encodeURIComponent(t.name)}`, { route: '', ...(reason ? { reason } : {}) }),
  });
  return (
    <div class="scroll">
      <table class="grid tok-table" data-testid="tokens">
        <thead><tr><th>Name</th><th>Scopes</th><th>Default route</th><th>Created</th><th>State</th><th>Actions</th></tr></thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.name} data-testid="token-row" data-name={t.name}>
              <td class="tok-name">{t.name}{t.name === me && <> <Badge>this console</Badge></>}</td>
              <td><Scopes scopes={t.scopes} /></td>
              <td class="mono tok-route" data-testid="token-route-cell">
                {editing === t.name
                  ? <RouteForm t={t} done={() => setEditing(null)} />
                  : (t.route || <span class="muted">none</span>)}
              </td>
              <td title={t.created}>{fmt.time(t.created)}</td>
              <td><State revoked={t.revoked} /></td>
              <td class="tok-actions">
                {!t.revoked && editing !== t.name && (
                  <div class="row">
                    <button type="button" onClick={() => setEditing(t.name)} data-testid="token-route-edit">{t.route ? 'Change route…' : 'Set route…'}</button>
                    {t.route && <button type="button" onClick={() => clearRoute(t)} data-testid="token-route-clear">Clear route…</button>}
                    <button type="button" class="danger" onClick={() => revoke(t)} data-testid="token-revoke">Revoke…</button>
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/* PATCH /api/v1/admin/tokens/{name} {"route"}: sets the route ("" clears it). */
function RouteForm({ t, done }) {
  const run = useAction();
  const [route, setRoute] = useState(t.route || '');
  const submit = async (e) => {
    e.preventDefault();
    const r = route.trim();
    const ok = await run({
      title: `Default route of token ${t.name}`,
      what: `default route of token ${t.name}: ${t.route || 'none'} → ${r || 'none'}`,
      confirmLabel: r ? 'Set route' : 'Clear route',
      action: (reason) => api('PATCH', `/api/v1/admin/tokens/${encodeURIComponent(t.name)}`, { route: r, ...(reason ? { reason } : {}) }),
    });
    if (ok) done();
  };
  return (
    <form class="row tok-route-form" onSubmit={submit} data-testid="route-form">
      <input value={route} maxLength={1011} autoFocus placeholder="/a/b (empty: none)" aria-label={`Default route of token ${t.name}`}
        onInput={(e) => setRoute(e.currentTarget.value)} data-testid="route-input" />
      <button type="submit" class="primary" data-testid="route-save">Save…</button>
      <button type="button" onClick={done}>Cancel</button>
    </form>
  );
}

// tokens_keys.jsx — the access keys of the Tokens and keys view: SigV4 credentials for the aws
// CLI and SDKs (the SSM-compatible API). The list, creating one (its id and secret shown once,
// with the lines that put them to use against this server), and revoking one.
import { useState } from 'preact/hooks';
import { api, qs } from '../api.js';
import { Empty, Loaded, fmt, useAction, useData } from '../ui.jsx';
import {
  Scopes, ScopeBoxes, SecretPanel, SecretValue, State, byState, useCredentialChanges,
} from './tokens_secret.jsx';

const KEY_SCOPES = ['read', 'write', 'admin', 'decrypt'];
// the server serves SSM in any region; the README's runbooks and the tests sign for this one
const REGION = 'us-east-1';

export default function Keys() {
  const q = useData(() => api('GET', '/api/v1/admin/keys'), []);
  useCredentialChanges(q.reload);
  const [creating, setCreating] = useState(false);
  // the new key's answer ({name, access_key_id, secret_access_key, scopes}): the only place its secret lives
  const [created, setCreated] = useState(null);
  return (
    <section aria-labelledby="keys-title">
      <div class="row tok-head">
        <h2 id="keys-title">Access keys</h2>
        <button type="button" aria-expanded={creating} onClick={() => setCreating(!creating)} data-testid="key-new">New access key</button>
      </div>
      <p class="muted">Signature V4 keys for the <code>aws</code> CLI and the AWS SDKs, on the SSM-compatible API (<code>POST /</code>).</p>
      {created && <KeyOnce k={created} close={() => setCreated(null)} />}
      {creating && <KeyForm done={(res) => { setCreating(false); if (res) setCreated(res); }} />}
      <Loaded q={q}>
        {(d) => (d.keys.length === 0 ? (
          <Empty>No access key. Create one here, or with the CLI: <code>switchyard keys create NAME --scope read</code>
            {' '}(POST /api/v1/admin/keys), then use it with <code>aws --endpoint-url {location.origin} ssm …</code>.</Empty>
        ) : <KeyTable keys={byState(d.keys)} />)}
      </Loaded>
    </section>
  );
}

/* The new key, once: its id, its secret, and how to use them against this server. */
function KeyOnce({ k, close }) {
  const env = `export AWS_ACCESS_KEY_ID=${k.access_key_id}
export AWS_SECRET_ACCESS_KEY=${k.secret_access_key}
export AWS_DEFAULT_REGION=${REGION}
aws ssm get-parameter --endpoint-url ${location.origin} --region ${REGION} --name /a/b`;
  const profile = `aws configure set aws_access_key_id ${k.access_key_id} --profile switchyard
aws configure set aws_secret_access_key ${k.secret_access_key} --profile switchyard
aws configure set region ${REGION} --profile switchyard
aws --profile switchyard --endpoint-url ${location.origin} ssm get-parameter --name /a/b`;
  return (
    <SecretPanel title={`Access key ${k.name} is created`} close={close} testid="key-once">
      <SecretValue label="Access key id (AWS_ACCESS_KEY_ID)" value={k.access_key_id} testid="key-id" />
      <SecretValue label={`Secret access key (AWS_SECRET_ACCESS_KEY), scopes ${k.scopes.join(', ')}`} value={k.secret_access_key} testid="key-secret" />
      <SecretValue label="In a shell" value={env} testid="key-env" />
      <SecretValue label="Or as an aws profile (written to ~/.aws)" value={profile} testid="key-profile" />
    </SecretPanel>
  );
}

/* POST /api/v1/admin/keys; done(answer) with the new key, done(null) when cancelled. */
function KeyForm({ done }) {
  const run = useAction();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState(new Set(['read']));
  const submit = async (e) => {
    e.preventDefault();
    const list = KEY_SCOPES.filter((x) => scopes.has(x));
    const n = name.trim();
    const res = await run({
      title: 'Create an access key',
      what: `access key ${n} with scopes ${list.join(', ')}. Its secret is shown once, here.`,
      confirmLabel: 'Create access key',
      action: (reason) => api('POST', '/api/v1/admin/keys', { name: n, scopes: list, ...(reason ? { reason } : {}) }),
    });
    if (res) done(res);
  };
  return (
    <form class="panel tok-form" onSubmit={submit} data-testid="key-form">
      <label class="field"><span>Name (1 to 64 of a-z A-Z 0-9 . _ -)</span>
        <input value={name} required maxLength={64} autoComplete="off" placeholder="ops"
          onInput={(e) => setName(e.currentTarget.value)} data-testid="key-name" />
      </label>
      <ScopeBoxes scopes={KEY_SCOPES} value={scopes} set={setScopes} idPrefix="key" />
      <div class="row">
        <button type="submit" class="primary" disabled={!name.trim() || scopes.size === 0} data-testid="key-create">Create access key…</button>
        <button type="button" onClick={() => done(null)}>Cancel</button>
      </div>
    </form>
  );
}

function KeyTable({ keys }) {
  const run = useAction();
  const revoke = (k) => run({
    title: `Revoke access key ${k.name}`,
    what: `Access key ${k.name} (${k.access_key_id}) is revoked: every aws CLI or SDK request signed with it is refused from now on. This cannot be undone.`,
    destructive: true,
    confirmLabel: 'Revoke access key',
    action: (reason) => api('DELETE', `/api/v1/admin/keys/${encodeURIComponent(k.name)}${qs({ reason })}`),
  });
  return (
    <div class="scroll">
      <table class="grid tok-table" data-testid="keys">
        <thead><tr><th>Name</th><th>Access key id</th><th>Scopes</th><th>Created</th><th>State</th><th>Actions</th></tr></thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.name} data-testid="key-row" data-name={k.name}>
              <td class="tok-name">{k.name}</td>
              <td class="mono">{k.access_key_id}</td>
              <td><Scopes scopes={k.scopes} /></td>
              <td title={k.created}>{fmt.time(k.created)}</td>
              <td><State revoked={k.revoked} /></td>
              <td>{!k.revoked && <button type="button" class="danger" onClick={() => revoke(k)} data-testid="key-revoke">Revoke…</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// main.jsx — the console's shell: sign-in with a token, the navigation, the stream's state,
// and the view the address names (#/params, #/flags, ...).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getToken, onAuthLost, setToken, whoami } from './api.js';
import { startLive, stopLive, useLiveState } from './live.js';
import { ActionHost, ErrorBox, Session, useRoute } from './ui.jsx';
import Params from './views/params.jsx';
import Flags from './views/flags.jsx';
import Providers from './views/providers.jsx';
import Budgets from './views/budgets.jsx';
import Rollouts from './views/rollouts.jsx';
import Alerts from './views/alerts.jsx';
import Audit from './views/audit.jsx';
import Backup from './views/backup.jsx';
import Tokens from './views/tokens.jsx';
import './style.css';

const VIEWS = [
  { id: 'params', title: 'Parameters', component: Params },
  { id: 'flags', title: 'Flags', component: Flags },
  { id: 'providers', title: 'Providers', component: Providers },
  { id: 'budgets', title: 'Budgets', component: Budgets },
  { id: 'rollouts', title: 'Rollouts', component: Rollouts },
  { id: 'alerts', title: 'Alerts', component: Alerts },
  { id: 'audit', title: 'Audit log', component: Audit },
  { id: 'backup', title: 'Backup and restore', component: Backup },
  { id: 'tokens', title: 'Tokens and keys', component: Tokens },
];

function Login({ message, onIn }) {
  const [tok, setTok] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setToken(tok.trim());
    try {
      const me = await whoami();
      const usable = (me.scopes || []).some((s) => s !== 'evaluate');
      if (!usable) throw new Error(`token ${me.name} may only evaluate flags (scope evaluate): the console needs read, write or admin`);
      onIn(me);
    } catch (err) {
      setToken('');
      setError(err);
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Switchyard</h1>
        <p>Sign in with an API token. It is kept for this tab only, never in a cookie.</p>
        {message && <div class="notice" role="status" data-testid="login-message">{message}</div>}
        <label class="field">
          <span>Token</span>
          <input type="password" name="token" autoComplete="off" value={tok} required autoFocus
            onInput={(e) => setTok(e.currentTarget.value)} data-testid="login-token" />
        </label>
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy || !tok.trim()} data-testid="login-submit">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function LiveBadge() {
  const s = useLiveState();
  const text = s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting…' : 'connecting…';
  return <span class={`live ${s}`} role="status" aria-live="polite" data-testid="live-state">{text}</span>;
}

function Shell({ me, signOut }) {
  const route = useRoute();
  const view = VIEWS.find((v) => v.id === route.view) || VIEWS[0];
  const View = view.component;
  useEffect(() => { document.title = `${view.title} · Switchyard`; }, [view]);
  return (
    <Session.Provider value={me}>
      <ActionHost>
        <div class="shell">
          <header class="top">
            <a class="brand" href="#/params">Switchyard</a>
            <LiveBadge />
            <span class="who" data-testid="who">{me.name} <small>({(me.scopes || []).join(', ')})</small></span>
            <button type="button" onClick={signOut} data-testid="sign-out">Sign out</button>
          </header>
          <nav class="side" aria-label="Views">
            {VIEWS.map((v) => (
              <a href={`#/${v.id}`} aria-current={v === view ? 'page' : undefined} data-testid={`nav-${v.id}`}>{v.title}</a>
            ))}
          </nav>
          <main class="main" id="main">
            <View route={route} />
          </main>
        </div>
      </ActionHost>
    </Session.Provider>
  );
}

function App() {
  const [me, setMe] = useState(null);
  const [message, setMessage] = useState('');
  const [checking, setChecking] = useState(true);
  const lost = (msg) => {
    stopLive();
    setToken('');
    setMe(null);
    setMessage(`Signed out: ${msg}`);
  };
  useEffect(() => {
    onAuthLost(lost);
    // with the session's token; without one, a server started with --insecure-loopback answers too
    const had = !!getToken();
    onAuthLost(() => {});
    whoami().then((m) => { onAuthLost(lost); setMe(m); setChecking(false); }, (e) => {
      onAuthLost(lost);
      if (had) setToken('');
      setChecking(false);
      if (had || e.status !== 401) setMessage(had && e.status === 401 ? `Signed out: ${e.message}` : e.message);
    });
  }, []);
  useEffect(() => { if (me) startLive(lost); }, [me]);
  if (checking) return <main class="login"><p>Loading…</p></main>;
  if (!me) return <Login message={message} onIn={(m) => { setMessage(''); setMe(m); }} />;
  return <Shell me={me} signOut={() => { stopLive(); setToken(''); setMe(null); setMessage('Signed out.'); }} />;
}

render(<App />, document.getElementById('app'));

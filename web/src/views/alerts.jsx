// alerts.jsx — the alerts that fire now, with their summary, and the recent transitions.
// Alerts change on the evaluator's clock, not only on writes: polled every 2 s, and reloaded
// at once when a transition is recorded (/switchyard/alerts/...).
import { api, Badge, Empty, fmt, Loaded, Page, useData, usePoll } from '../ui.jsx';

const SEV = { critical: 'bad', warning: 'warn', info: 'neutral' };

export default function Alerts() {
  const q = useData(() => Promise.all([api('GET', '/api/v1/alerts'), api('GET', '/api/v1/alerts/history?limit=50')]),
    [], ['/switchyard/alerts/']);
  usePoll(q.reload, 2000);
  return (
    <Page title="Alerts">
      <Loaded q={q}>
        {([now, hist]) => (
          <>
            <div class="stats" data-testid="alert-summary">
              <div class="stat"><span>Critical</span><strong>{now.summary.critical}</strong></div>
              <div class="stat"><span>Warning</span><strong>{now.summary.warning}</strong></div>
              <div class="stat"><span>Info</span><strong>{now.summary.info}</strong></div>
            </div>
            <h2>Firing</h2>
            {now.alerts.length === 0 ? (
              <Empty>No alert fires. Alerts come from providers' breakers and error rates, spending limits,
                alert rules and rollouts; see docs/ROLLOUTS.md to add a rule.</Empty>
            ) : (
              <table class="grid" data-testid="alerts">
                <thead><tr><th>Severity</th><th>Alert</th><th>Resource</th><th>Message</th><th>Since</th></tr></thead>
                <tbody>
                  {now.alerts.map((a) => (
                    <tr key={a.id}>
                      <td><Badge kind={SEV[a.severity]}>{a.severity}</Badge></td>
                      <td>{a.name}</td>
                      <td>{a.resource}</td>
                      <td class="wrap">{a.message}</td>
                      <td title={a.since}>{fmt.ago(a.since)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <h2>Recent transitions</h2>
            {hist.history.length === 0 ? <Empty>No alert has fired or resolved since the server started.</Empty> : (
              <table class="grid">
                <thead><tr><th>At</th><th>State</th><th>Severity</th><th>Alert</th><th>Message</th></tr></thead>
                <tbody>
                  {hist.history.map((h, i) => (
                    <tr key={i}>
                      <td title={h.at}>{fmt.time(h.at)}</td>
                      <td><Badge kind={h.state === 'firing' ? 'bad' : 'good'}>{h.state}</Badge></td>
                      <td>{h.severity}</td>
                      <td>{h.id}</td>
                      <td class="wrap">{h.message}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </Loaded>
    </Page>
  );
}

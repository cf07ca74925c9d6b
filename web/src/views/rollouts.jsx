// rollouts.jsx — the Rollouts view (docs/ROLLOUTS.md): the plans with their phase and step, and
// one plan: the timeline of its steps, its gates against their bounds, the last transition's
// reason and the transitions so far, and the actions a person takes (promote, pause, resume,
// roll back, abort, start) where the phase allows them. Gate values move with traffic, which no
// change event announces: polled every 2 s, besides reloading on every plan or state change.
import { useState } from 'preact/hooks';
import { namePath, qs } from '../api.js';
import { api, Badge, Empty, ErrorBox, fmt, href, Loaded, Page, useAction, useData, usePoll, useSession } from '../ui.jsx';

const PLANS = '/switchyard/rollouts/';
const STATES = '/switchyard/rollout-state/';
const R = '/api/v1/rollouts';

const PHASE = {
  pending: 'neutral', scheduled: 'neutral', running: 'good', awaiting_approval: 'warn', paused: 'warn',
  completed: 'good', rolling_back: 'bad', rolled_back: 'bad', aborted: 'bad',
};
const GATE = { pass: 'good', wait: 'neutral', breach: 'bad', unknown: 'warn' };
const ACTIVE = new Set(['scheduled', 'running', 'awaiting_approval', 'paused', 'rolling_back']);

const phaseText = (p) => String(p || 'pending').replace(/_/g, ' ');

function PhaseBadge({ phase }) {
  return <Badge kind={PHASE[phase] || 'neutral'}><span data-testid="rollout-phase">{phaseText(phase)}</span></Badge>;
}

/* A duration in ms as people say it: "2 d 3 h", "45 min", "12 s". */
function dur(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  return `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/* What a plan moves, in words, and where it links to. */
function targetOf(t) {
  if (!t) return { text: '—' };
  if (t.flag) {
    const key = String(t.flag).replace(/^\//, '');
    return { text: `flag ${key}`, long: `the rollout_percentage of flag ${key}`, link: href('flags', key.split('/')) };
  }
  return { text: `${t.provider} on ${t.route}`, long: `provider ${t.provider}'s share of route ${t.route}` };
}

const ENDED = new Set(['completed', 'rolled_back', 'aborted']);

function stepText(st) {
  if (st.step === undefined || st.step === null || st.step < 0) return `not started (${st.steps} steps)`;
  const next = st.next_percent !== null && st.next_percent !== undefined && !ENDED.has(st.phase);
  return `${st.step + 1}/${st.steps} at ${fmt.pct(st.percent)}${next ? `, next ${fmt.pct(st.next_percent)}` : ''}`;
}

export default function Rollouts({ route }) {
  const name = route.rest[0];
  return name ? <Rollout key={name} name={name} /> : <RolloutList />;
}

/* ---- the list ---- */

const EXAMPLE_PLAN = `{"name": "partial-results-ramp", "plan": {
  "target": {"flag": "audio-transcription/partial-results/config"},
  "steps": [{"percent": 10, "bake": "1w"}, {"percent": 50, "bake": "1w"}, {"percent": 100}],
  "gates": [{"metric": "p95_ms", "max": 5000}, {"metric": "error_rate", "max": 1}],
  "on_breach": "rollback"}}`;

function RolloutList() {
  const q = useData(() => api('GET', R), [], [PLANS, STATES]);
  usePoll(q.reload, 2000);
  return (
    <Page title="Rollouts">
      <Loaded q={q}>
        {({ rollouts }) => (rollouts.length === 0 ? (
          <Empty>
            <p>No rollout plan. A plan moves a flag's rollout percentage, or a provider's share of a route, through
              steps, and promotes itself when its gates pass (docs/ROLLOUTS.md). Create one with the API:</p>
            <pre>POST /api/v1/rollouts {EXAMPLE_PLAN}</pre>
            <p>or the CLI: <code>switchyard rollout plan create NAME --file plan.json</code></p>
          </Empty>
        ) : (
          <div class="scroll">
            <table class="grid" data-testid="rollouts-list">
              <thead><tr><th>Plan</th><th>Target</th><th>Phase</th><th>Step</th><th>Last transition</th></tr></thead>
              <tbody>
                {rollouts.map((r) => (
                  <tr key={r.name} data-testid="rollout-row">
                    <td><a href={href('rollouts', [r.name])}>{r.name}</a></td>
                    <td class="wrap">{targetOf(r.target).text}</td>
                    <td class="nowrap"><PhaseBadge phase={r.phase} /></td>
                    <td>{stepText(r)}</td>
                    <td class="wrap"><span title={r.updated_at}>{fmt.ago(r.updated_at)}</span>{r.reason ? `: ${r.reason}` : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      </Loaded>
    </Page>
  );
}

/* ---- one plan ---- */

const HIST_PAGES = 10; // of 1000 versions: a plan makes a few transitions a step

/* The plan's document (its steps with bake times) and its state's versions (the transitions,
 * oldest first), read as the parameters they are; either may be missing (a plan not started). */
async function planAndHistory(name) {
  const plan = await api('GET', `/api/v1/params${namePath(PLANS + name)}`)
    .then((p) => JSON.parse(p.value), () => null);
  const versions = [];
  let next = null;
  try {
    for (let i = 0; i < HIST_PAGES; i++) {
      const h = await api('GET', `/api/v1/params${namePath(STATES + name)}/history${qs({ limit: 1000, next })}`);
      versions.push(...h.versions);
      next = h.next;
      if (!next) break;
    }
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  const hist = versions.map((v) => {
    let state = null;
    try { state = JSON.parse(v.value); } catch { /* not JSON: skipped */ }
    return { version: v.version, at: v.last_modified, user: v.last_modified_user, reason: v.reason, state };
  }).filter((v) => v.state);
  return { plan, hist };
}

function Rollout({ name }) {
  const live = [PLANS + name, STATES + name];
  const q = useData(() => api('GET', `${R}/${encodeURIComponent(name)}`), [name], live);
  const d = useData(() => planAndHistory(name), [name], live);
  usePoll(q.reload, 2000);
  return (
    <Page title={<>Rollout <span class="mono">{name}</span></>} actions={<a href="#/rollouts">All rollouts</a>}>
      <Loaded q={q}>
        {(st) => (
          <>
            <Summary st={st} />
            <Actions st={st} />
            <ErrorBox error={d.error} />
            <Timeline st={st} plan={d.data && d.data.plan} hist={(d.data && d.data.hist) || []} />
            <Gates st={st} />
            <Transitions hist={(d.data && d.data.hist) || []} />
          </>
        )}
      </Loaded>
    </Page>
  );
}

function Summary({ st }) {
  const t = targetOf(st.target);
  return (
    <div class="panel rollout-summary">
      <p class="row">
        <PhaseBadge phase={st.phase} />
        <span>Step <strong data-testid="rollout-step">{stepText(st)}</strong></span>
        <span>Target: {t.link ? <a href={t.link}>{t.text}</a> : t.text} at <strong data-testid="rollout-percent">{fmt.pct(st.percent)}</strong></span>
      </p>
      {st.phase === 'running' && st.bake_left_ms !== null && st.bake_left_ms !== undefined && (
        <p>Bake: {dur(st.bake_left_ms)} left of {dur(st.bake_ms)}{st.not_before ? `; not before ${fmt.time(st.not_before)}` : ''}</p>
      )}
      {st.phase === 'scheduled' && st.start_at && <p>Starts at {fmt.time(st.start_at)}.</p>}
      {st.phase === 'awaiting_approval' && <p><strong>Waiting for approval:</strong> the next step is entered only by a person (promote).</p>}
      <p class="wrap">Last transition{st.updated_at ? <> ({fmt.ago(st.updated_at)})</> : ''}: <span data-testid="rollout-reason">{st.reason || '—'}</span></p>
      {st.breach && (
        <div class="error" role="status" data-testid="rollout-breach">
          Breach at step {st.breach.step + 1} ({fmt.pct(st.breach.percent)}): {st.breach.gate} was {String(st.breach.value)}, bound {String(st.breach.bound)}.
          {st.breach.message ? ` ${st.breach.message}` : ''}
        </div>
      )}
      {st.critical_alert && <div class="error" role="status">A critical alert concerns the target: {typeof st.critical_alert === 'string' ? st.critical_alert : JSON.stringify(st.critical_alert)}</div>}
      {st.rollback && (
        <p>Rolling back {st.rollback.gradual ? 'gradually' : 'at once'}{Array.isArray(st.rollback.steps) ? `: next ${st.rollback.steps.map((p) => `${p} %`).join(' → ')}` : ''}
          {st.rollback.next_at ? `, next at ${fmt.time(st.rollback.next_at)}` : ''}</p>
      )}
      {st.baseline && (st.baseline.who || st.baseline.p95_ms !== undefined) && (
        <p class="muted">Canary {st.canary || '—'} against the baseline {st.baseline.who || '—'}{st.baseline.p95_ms !== null && st.baseline.p95_ms !== undefined ? ` (p95 ${fmt.ms(st.baseline.p95_ms)})` : ''}</p>
      )}
    </div>
  );
}

/* The actions a person may take now: only those the phase allows (the server refuses the
 * others with 409 Conflict), and only for a token that may write. */
function Actions({ st }) {
  const { can } = useSession();
  const run = useAction();
  const [gradual, setGradual] = useState(false);
  if (!can('write')) return null;
  const t = targetOf(st.target).long || 'the target';
  const ph = st.phase || 'pending';
  const path = (cmd) => `${R}/${encodeURIComponent(st.name)}/${cmd}`;
  const act = (cmd, o, body = {}) => run({ ...o, action: (reason) => api('POST', path(cmd), { ...body, reason }) });
  const last = st.next_percent === null || st.next_percent === undefined;
  const buttons = [];
  if (['pending', 'scheduled', 'running', 'awaiting_approval', 'paused'].includes(ph)) {
    buttons.push(
      <button type="button" class="primary" data-testid="rollout-promote" onClick={() => act('promote', {
        title: `Promote ${st.name}`,
        what: ph === 'pending' || ph === 'scheduled'
          ? `starts the plan now: ${t} goes to ${fmt.pct((st.percents || [])[0])}`
          : last ? `completes the plan: ${t} stays at ${fmt.pct(st.percent)}, the watch after the last step ends`
            : `${t} goes from ${fmt.pct(st.percent)} to ${fmt.pct(st.next_percent)} now (step ${st.step + 2}/${st.steps}), skipping the rest of the bake and any approval`,
        confirmLabel: 'Promote',
      })}>Promote…</button>,
    );
  }
  if (ACTIVE.has(ph) && ph !== 'paused') {
    buttons.push(
      <button type="button" data-testid="rollout-pause" onClick={() => act('pause', {
        title: `Pause ${st.name}`,
        what: `${t} stays at ${fmt.pct(st.percent)}; the bake clock stops and the controller neither promotes nor rolls back until resume`,
        confirmLabel: 'Pause',
      })}>Pause…</button>,
    );
  }
  if (ph === 'paused') {
    buttons.push(
      <button type="button" class="primary" data-testid="rollout-resume" onClick={() => act('resume', {
        title: `Resume ${st.name}`,
        what: `the bake clock and the controller's moves start again, from ${fmt.pct(st.percent)}`,
        confirmLabel: 'Resume',
      })}>Resume…</button>,
    );
  }
  if ((ACTIVE.has(ph) || ph === 'completed') && ph !== 'scheduled' && st.percent > 0) {
    buttons.push(
      <span class="row rollout-rb">
        <button type="button" class="danger" data-testid="rollout-rollback" onClick={() => act('rollback', {
          title: `Roll back ${st.name}`,
          what: gradual
            ? `${t} steps down from ${fmt.pct(st.percent)} to 0 % gradually (the plan's rollback steps, waiting between them)`
            : `${t} goes from ${fmt.pct(st.percent)} to 0 % now; the plan ends rolled back`,
          destructive: true,
          confirmLabel: 'Roll back',
        }, { gradual })}>Roll back…</button>
        <label class="row"><input type="checkbox" checked={gradual} onChange={(e) => setGradual(e.currentTarget.checked)}
          data-testid="rollout-gradual" /> gradually</label>
      </span>,
    );
  }
  if (ACTIVE.has(ph) || ph === 'pending') {
    buttons.push(
      <button type="button" class="danger" data-testid="rollout-abort" onClick={() => act('abort', {
        title: `Abort ${st.name}`,
        what: `${t} goes to 0 % now and the plan ends (aborted)`,
        destructive: true,
        confirmLabel: 'Abort',
      })}>Abort…</button>,
    );
  }
  if (!ACTIVE.has(ph) || ph === 'scheduled') {
    buttons.push(
      <button type="button" class="primary" data-testid="rollout-start" onClick={() => act('start', {
        title: `Start ${st.name}`,
        what: `the plan starts again from its first step now: ${t} goes to ${fmt.pct((st.percents || [])[0])}`,
        confirmLabel: 'Start',
      })}>Start…</button>,
    );
  }
  return <div class="row rollout-actions" role="group" aria-label="Actions">{buttons}</div>;
}

function Timeline({ st, plan, hist }) {
  const steps = plan && Array.isArray(plan.steps) ? plan.steps : (st.percents || []).map((percent) => ({ percent }));
  // when each step began: the step_started_at of the latest state at that step
  const began = {};
  for (const v of hist) if (v.state.step >= 0 && v.state.step_started_at) began[v.state.step] = v.state.step_started_at;
  const cur = st.step === undefined || st.step === null ? -1 : st.step;
  const ended = st.phase === 'completed';
  const where = (i) => {
    if (ended || i < cur) return ['done', 'good'];
    if (i === cur) {
      if (st.phase === 'rolled_back' || st.phase === 'aborted' || st.phase === 'rolling_back') return [phaseText(st.phase), 'bad'];
      return [st.phase === 'paused' ? 'current (paused)' : 'current', 'warn'];
    }
    if (ENDED.has(st.phase)) return ['not reached', 'neutral'];
    if (i === cur + 1) return [st.phase === 'awaiting_approval' ? 'next: awaiting approval' : 'next', 'neutral'];
    return ['later', 'neutral'];
  };
  return (
    <>
      <h2>Steps</h2>
      <ol class="timeline" data-testid="rollout-steps">
        {steps.map((s, i) => {
          const [label, kind] = where(i);
          return (
            <li key={i} class={`tl-${kind}${i === cur ? ' tl-current' : ''}`} data-testid="rollout-step-item" data-state={label}>
              <div class="tl-head">
                <strong>{fmt.pct(s.percent)}</strong>
                <Badge kind={kind}>{label}</Badge>
              </div>
              <div class="muted">
                bake {s.bake === undefined ? '0 s' : String(s.bake)}
                {s.approval ? '; needs approval' : ''}
                {s.not_before ? `; not before ${fmt.time(s.not_before)}` : ''}
                {Array.isArray(s.gates) && s.gates.length ? `; ${s.gates.length} gate${s.gates.length > 1 ? 's' : ''} of its own` : ''}
              </div>
              {began[i] && (ended || i <= cur) && <div class="muted">began {fmt.time(began[i])}</div>}
              {i === cur && st.phase === 'running' && st.bake_left_ms > 0 && <div>{dur(st.bake_left_ms)} of bake left</div>}
            </li>
          );
        })}
      </ol>
      {plan && plan.on_breach && <p class="muted">On a breach: {plan.on_breach}; at least {plan.min_samples ?? 10} requests before a rate gate judges.</p>}
    </>
  );
}

/* A gate's value or bound with its unit, from the metric it reads. */
function gateNum(metric, x) {
  if (x === null || x === undefined) return '—';
  if (typeof x !== 'number') return String(x);
  if (metric === 'error_rate') return fmt.pct(x);
  if (/_ms$/.test(metric)) return fmt.ms(x);
  if (/^cost/.test(metric)) return fmt.usd(x);
  return fmt.num(x);
}

function Gates({ st }) {
  const gates = st.gates || [];
  return (
    <>
      <h2>Gates</h2>
      {gates.length === 0 ? <p class="muted">No gate at this step: it promotes when its bake is over.</p> : (
        <div class="scroll">
          <table class="grid" data-testid="rollout-gates">
            <thead><tr><th>Gate</th><th>Status</th><th class="num">Value</th><th class="num">Bound</th><th class="num">Samples</th><th>Detail</th></tr></thead>
            <tbody>
              {gates.map((g, i) => (
                <tr key={i} data-testid="rollout-gate">
                  <td class="mono">{g.gate}</td>
                  <td class="nowrap"><Badge kind={GATE[g.status] || 'neutral'}>{g.status}</Badge></td>
                  <td class="num">{gateNum(g.metric, g.value)}</td>
                  <td class="num">{g.bound === null || g.bound === undefined ? '—' : `${g.gate.includes('<') ? '≤' : g.gate.includes('>') ? '≥' : ''} ${gateNum(g.metric, g.bound)}`}</td>
                  <td class="num">{g.samples === undefined ? '—' : fmt.num(g.samples)}</td>
                  <td class="wrap">{g.detail || ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

const SHOWN = 100;

function Transitions({ hist }) {
  if (!hist.length) return null;
  return (
    <>
      <h2>Transitions</h2>
      {hist.length > SHOWN && <p class="muted">The last {SHOWN} of {hist.length}.</p>}
      <div class="scroll">
        <table class="grid" data-testid="rollout-transitions">
          <thead><tr><th>At</th><th>By</th><th>Phase</th><th>Step</th><th class="num">Percent</th><th>Reason</th></tr></thead>
          <tbody>
            {hist.slice(-SHOWN).reverse().map((v) => (
              <tr key={v.version}>
                <td title={v.at}>{fmt.time(v.at)}</td>
                <td>{v.user || '—'}</td>
                <td class="nowrap"><Badge kind={PHASE[v.state.phase] || 'neutral'}>{phaseText(v.state.phase)}</Badge></td>
                <td>{v.state.step >= 0 ? v.state.step + 1 : '—'}</td>
                <td class="num">{fmt.pct(v.state.percent)}</td>
                <td class="wrap">{v.state.reason || v.reason || ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}


// flags_doc.jsx — a flag's document shown readably (src/core/flag.h): its variants with their
// weights and the default, its rules in order with their constraints, its schema, and the
// config fields. Everything from the document is rendered as text.
import { Badge, Empty } from '../ui.jsx';

/* The fields the flag engine reads; any other top-level field is a config field. */
const ENGINE = new Set(['enabled', 'rollout_percentage', 'salt', 'variants', 'weights', 'default_variant', 'rules',
  'env_override', 'config']);

const text = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

/* A JSON value, formatted, read-only. */
export function Json({ value, testid }) {
  return <pre class="json" data-testid={testid}>{JSON.stringify(value, null, 2)}</pre>;
}

/* The variants a flag serves: its own, or the engine's default {"on": true, "off": false}. */
function variantsOf(doc) {
  const v = doc.variants && typeof doc.variants === 'object' ? doc.variants : { on: true, off: false };
  const def = typeof doc.default_variant === 'string' ? doc.default_variant : 'off';
  const names = Object.keys(v);
  let weights = doc.weights && typeof doc.weights === 'object' ? doc.weights : null;
  if (!weights) {
    // without weights, the whole rollout is "on", or the only variant that is not the default
    const others = names.filter((n) => n !== def);
    const one = names.includes('on') ? 'on' : others.length === 1 ? others[0] : null;
    weights = one ? { [one]: 1 } : {};
  }
  const sum = Object.values(weights).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
  return { v, def, names, weights, sum, explicit: !!doc.weights };
}

function constraintText(c) {
  const vals = Array.isArray(c.values) ? c.values.map(text).join(', ') : c.value !== undefined ? text(c.value) : '';
  return `${c.inverted ? 'NOT ' : ''}${c.attribute} ${c.operator} [${vals}]${c.case_insensitive ? ' (any case)' : ''}`;
}

export function FlagDetails({ f }) {
  const doc = f.document && typeof f.document === 'object' ? f.document : {};
  const { v, def, names, weights, sum, explicit } = variantsOf(doc);
  const rules = Array.isArray(doc.rules) ? doc.rules : [];
  const config = { ...(doc.config && typeof doc.config === 'object' ? doc.config : {}) };
  for (const [k, val] of Object.entries(doc)) if (!ENGINE.has(k)) config[k] = val;
  const schema = f.schema && typeof f.schema === 'object' ? f.schema : null;
  return (
    <div class="flag-details">
      <section>
        <h2>Variants</h2>
        <p class="muted">Type {f.type}; default variant <strong data-testid="flag-default">{def}</strong>
          {doc.salt ? <>; bucket salt <code>{text(doc.salt)}</code></> : '; bucket salt: the key'}
          {doc.env_override ? <>; environment override <code>{text(doc.env_override)}</code></> : ''}</p>
        <div class="scroll">
          <table class="grid" data-testid="flag-variants">
            <thead><tr><th>Variant</th><th>Value</th><th class="num">Weight</th><th class="num">Share of the rollout</th></tr></thead>
            <tbody>
              {names.map((n) => (
                <tr key={n}>
                  <td class="wrap">{n} {n === def && <Badge>default</Badge>}</td>
                  <td class="wrap mono">{text(v[n])}</td>
                  <td class="num">{weights[n] === undefined ? '—' : text(weights[n])}</td>
                  <td class="num">{sum > 0 && typeof weights[n] === 'number' ? `${Math.round((weights[n] / sum) * 10000) / 100} %` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {!explicit && <p class="muted">No weights: {Object.keys(weights)[0] ? `the rollout serves "${Object.keys(weights)[0]}"` : 'the rollout serves the default'}.</p>}
      </section>
      <section>
        <h2>Rules</h2>
        {rules.length === 0 ? <p class="muted">No rules: the rollout alone decides.</p> : (
          <ol class="rules" data-testid="flag-rules">
            {rules.map((r, i) => (
              <li key={i}>
                <strong>{text(r.name || `rule ${i + 1}`)}</strong>
                {': '}
                {Array.isArray(r.constraints) && r.constraints.length
                  ? r.constraints.map(constraintText).join(' AND ')
                  : 'every subject'}
                {' → '}
                {r.variant !== undefined ? <>variant <strong>{text(r.variant)}</strong></> : null}
                {r.percentage !== undefined ? <>{r.variant !== undefined ? ', ' : ''}{text(r.percentage)} % of them get the rollout's variant</> : null}
              </li>
            ))}
          </ol>
        )}
      </section>
      {Object.keys(config).length > 0 && (
        <section>
          <h2>Config fields</h2>
          <div class="scroll">
            <table class="grid" data-testid="flag-config">
              <thead><tr><th>Field</th><th>Value</th></tr></thead>
              <tbody>
                {Object.entries(config).map(([k, val]) => (
                  <tr key={k}><td class="mono">{k}</td><td class="wrap mono">{text(val)}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      <section>
        <h2>Schema</h2>
        {!schema ? <Empty>No schema: config fields are not checked. Add one with <code>PUT /api/v1/flags/KEY {'{"document": …, "schema": {"field": {"type": "number", "min": 0, "max": 1}}}'}</code>.</Empty> : (
          <div class="scroll">
            <table class="grid" data-testid="flag-schema">
              <thead><tr><th>Field</th><th>Type</th><th class="num">Min</th><th class="num">Max</th><th>One of</th><th>Required</th></tr></thead>
              <tbody>
                {Object.entries(schema).map(([k, s]) => (
                  <tr key={k}>
                    <td class="mono">{k}</td>
                    <td>{text(s.type)}</td>
                    <td class="num">{s.min === undefined ? '—' : text(s.min)}</td>
                    <td class="num">{s.max === undefined ? '—' : text(s.max)}</td>
                    <td class="wrap">{Array.isArray(s.enum) ? s.enum.map(text).join(', ') : '—'}</td>
                    <td>{s.required ? 'yes' : 'no'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

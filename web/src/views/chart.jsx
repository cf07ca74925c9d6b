// chart.jsx — one small uPlot time-series chart: as wide as its box (it follows the box when the
// window or the layout changes), colored from style.css's variables so it reads in light and
// dark, axes with units, and destroyed with the component. Canvas is not text: the figure
// carries a label and a caption with the latest figures in words.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef, useState } from 'preact/hooks';

const HEIGHT = 150;

/* The page's colors, read from the CSS variables (they differ between light and dark). */
function palette() {
  const cs = getComputedStyle(document.documentElement);
  const v = (n) => cs.getPropertyValue(n).trim();
  return { fg: v('--fg'), muted: v('--muted'), line: v('--line'), series: [v('--accent'), v('--warn'), v('--bad'), v('--good')] };
}

/* 'light' or 'dark', following the system while the page is open. */
function useScheme() {
  const mq = matchMedia('(prefers-color-scheme: dark)');
  const [dark, set] = useState(mq.matches);
  useEffect(() => {
    const f = () => set(mq.matches);
    mq.addEventListener('change', f);
    return () => mq.removeEventListener('change', f);
  }, []);
  return dark ? 'dark' : 'light';
}

/* Axis tick text: a short number with its unit ("12 ms", "5 %", "$0.002"). */
function tick(unit, v) {
  if (v === null || v === undefined) return '';
  const n = Math.abs(v) >= 1000 ? Math.round(v).toString() : String(+v.toPrecision(3));
  return unit === '$' ? `$${n}` : unit ? `${n} ${unit}` : n;
}

/* props: title, unit ('ms' | '%' | '$' | ''), xs (unix seconds), series [{label, values}],
 * format (a value as text, for the legend), caption (text under the chart), testid, dots (mark
 * each point). xs and the
 * values are memoized by the caller: a new xs array is what redraws the chart. */
export function TimeChart({ title, unit, xs, series, format, caption, testid, dots }) {
  const box = useRef(null);
  const plot = useRef(null);
  const scheme = useScheme();
  const data = [xs, ...series.map((s) => s.values)];
  const dataRef = useRef(data);
  dataRef.current = data;
  const labels = series.map((s) => s.label).join('\n');

  useEffect(() => {
    const el = box.current;
    const p = palette();
    const width = () => Math.max(el.clientWidth, 120);
    const axis = { stroke: p.muted, grid: { stroke: p.line, width: 1 }, ticks: { stroke: p.line, width: 1 } };
    const u = new uPlot({
      width: width(),
      height: HEIGHT,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        // counts, rates and money start at 0; a flat zero line still gets a scale
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
      },
      axes: [
        { ...axis },
        { ...axis, size: 64, values: (_u, splits) => splits.map((v) => tick(unit, v)) },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: p.series[i % p.series.length],
          width: 1.5,
          spanGaps: false,
          // a series with gaps (latency: null where no call succeeded) shows its lone points
          points: { show: !!dots, size: 4 },
          value: (_u, v) => (v === null || v === undefined ? '—' : format(v)),
        })),
      ],
    }, dataRef.current, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      if (u.width !== width()) u.setSize({ width: width(), height: HEIGHT });
    });
    ro.observe(el);
    return () => { ro.disconnect(); u.destroy(); plot.current = null; };
  }, [scheme, labels, unit, dots]);

  // the parent keeps xs (and the values) while its data is unchanged: new data, new xs
  useEffect(() => { if (plot.current) plot.current.setData(dataRef.current); }, [xs]);

  return (
    <figure class="chart" data-testid={testid} aria-label={`${title}: ${caption}`}>
      <figcaption class="chart-title">{title}</figcaption>
      <div class="chart-box" ref={box} />
      <div class="chart-caption" data-testid={testid && `${testid}-caption`}>{caption}</div>
    </figure>
  );
}

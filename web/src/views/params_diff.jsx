// params_diff.jsx — a line diff of two values (longest common subsequence), and its display.
// Values are at most 8 KiB, but 8 KiB of empty lines is 8,193 lines a side: the table is
// bounded (beyond it the changed middle shows as all removed, then all added).

const MAX_CELLS = 4_000_000; // 8 MB of Uint16: the LCS table's ceiling

/* [{op: ' ' | '-' | '+', text}] turning a into b, line by line. */
export function lineDiff(a, b) {
  const A = a.split('\n');
  const B = b.split('\n');
  let head = 0;
  while (head < A.length && head < B.length && A[head] === B[head]) head++;
  let tail = 0;
  while (tail < A.length - head && tail < B.length - head && A[A.length - 1 - tail] === B[B.length - 1 - tail]) tail++;
  const a2 = A.slice(head, A.length - tail);
  const b2 = B.slice(head, B.length - tail);
  const same = (t) => ({ op: ' ', text: t });
  return [...A.slice(0, head).map(same), ...middle(a2, b2), ...A.slice(A.length - tail).map(same)];
}

/* The diff of the part that differs: LCS when its table fits, else all out and all in. */
function middle(a, b) {
  const n = a.length;
  const m = b.length;
  if ((n + 1) * (m + 1) > MAX_CELLS) {
    return [...a.map((t) => ({ op: '-', text: t })), ...b.map((t) => ({ op: '+', text: t }))];
  }
  // L[i][j]: the LCS length of a[i..] and b[j..], one flat row-major table
  const w = m + 1;
  const L = new Uint16Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      L[i * w + j] = a[i] === b[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push({ op: ' ', text: a[i] }); i++; j++; }
    else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) out.push({ op: '-', text: a[i++] });
    else out.push({ op: '+', text: b[j++] });
  }
  while (i < n) out.push({ op: '-', text: a[i++] });
  while (j < m) out.push({ op: '+', text: b[j++] });
  return out;
}

const CLASS = { ' ': 'same', '-': 'del', '+': 'add' };
const LABEL = { ' ': 'unchanged', '-': 'removed', '+': 'added' };

/* The diff of from → to, each line marked (and labelled for screen readers). */
export function Diff({ from, to }) {
  const lines = lineDiff(from, to);
  const changed = lines.filter((l) => l.op !== ' ').length;
  return (
    <div class="diff" data-testid="diff">
      <p class="muted">{changed === 0 ? 'The two values are the same.' : `${changed} line${changed === 1 ? '' : 's'} changed`}</p>
      <pre class="diff-lines">
        {lines.map((l, k) => (
          <div key={k} class={`diff-${CLASS[l.op]}`} data-op={l.op} aria-label={`${LABEL[l.op]}: ${l.text}`}>
            <span class="diff-op" aria-hidden="true">{l.op}</span>{l.text}
          </div>
        ))}
      </pre>
    </div>
  );
}

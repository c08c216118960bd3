// A line diff (LCS) of two JSON values, rendered as two aligned columns.
import { h } from '../util.js';

const MAX_CELLS = 4_000_000; // above this, fall back to a positional comparison

export function pretty(v) {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2) ?? '';
}

/** Operations turning lines a into lines b: [['eq'|'del'|'add', lineA, lineB], ...] */
export function diffLines(a, b) {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    const ops = [];
    for (let i = 0; i < Math.max(n, m); i++) {
      if (i < n && i < m && a[i] === b[i]) ops.push(['eq', a[i], b[i]]);
      else {
        if (i < n) ops.push(['del', a[i], null]);
        if (i < m) ops.push(['add', null, b[i]]);
      }
    }
    return ops;
  }
  // LCS lengths from the end, one row of Uint32 per line of a.
  const w = m + 1;
  const L = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      L[i * w + j] = a[i] === b[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
    }
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { ops.push(['eq', a[i++], b[j++]]); }
    else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) ops.push(['del', a[i++], null]);
    else ops.push(['add', null, b[j++]]);
  }
  while (i < n) ops.push(['del', a[i++], null]);
  while (j < m) ops.push(['add', null, b[j++]]);
  return ops;
}

/** Two columns, A and B, with removed lines red on the left and added lines green on the right. */
export function diffView(va, vb) {
  const ta = pretty(va);
  const tb = pretty(vb);
  if (ta === tb) return h('div', h('div.same-note', '✓ identical'), h('div.difftext', ta.split('\n').map((l) => h('div.l', l))));
  const ops = diffLines(ta.split('\n'), tb.split('\n'));
  const left = h('div.difftext');
  const right = h('div.difftext');
  left.dataset.testid = 'diff-a';
  right.dataset.testid = 'diff-b';
  // Pair a run of deletions with the additions that follow, so changed lines sit side by side.
  for (let k = 0; k < ops.length;) {
    if (ops[k][0] === 'eq') {
      left.append(h('div.l', ops[k][1]));
      right.append(h('div.l', ops[k][2]));
      k++;
      continue;
    }
    const dels = [];
    const adds = [];
    while (k < ops.length && ops[k][0] === 'del') dels.push(ops[k++][1]);
    while (k < ops.length && ops[k][0] === 'add') adds.push(ops[k++][2]);
    const rows = Math.max(dels.length, adds.length);
    for (let r = 0; r < rows; r++) {
      left.append(r < dels.length ? h('div.l.del', dels[r]) : h('div.l.gap', ''));
      right.append(r < adds.length ? h('div.l.add', adds[r]) : h('div.l.gap', ''));
    }
  }
  const sync = (from, to) => from.addEventListener('scroll', () => { to.scrollTop = from.scrollTop; });
  sync(left, right);
  sync(right, left);
  return h('div.side-by-side', left, right);
}

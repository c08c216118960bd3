// A trace's span tree from its compact outline, in typed arrays: O(n) to build, no recursion (a 10k-deep
// chain must not blow the stack), and the visible rows of any collapse state in one pass over the pre-order.

export function buildTree(outline) {
  const sp = outline.spans;
  const n = sp.id.length;
  const parent = Int32Array.from(sp.parent);
  const start = Float64Array.from(sp.start);
  const end = Float64Array.from(sp.end);
  const kindNames = outline.kinds;
  const statusNames = outline.statuses;

  // Children in CSR form, in start-time order (the outline is sorted by start time).
  const childCount = new Int32Array(n);
  for (let i = 0; i < n; i++) if (parent[i] >= 0) childCount[parent[i]]++;
  const childStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) childStart[i + 1] = childStart[i] + childCount[i];
  const childList = new Int32Array(childStart[n]);
  const fill = childStart.slice(0, n);
  for (let i = 0; i < n; i++) if (parent[i] >= 0) childList[fill[parent[i]]++] = i;

  // Pre-order walk from the roots; spans caught in a parent cycle become roots too.
  const order = new Int32Array(n);
  const depth = new Int32Array(n);
  const seen = new Uint8Array(n);
  const roots = [];
  let k = 0;
  const stack = [];
  const walk = (r) => {
    stack.push(r);
    depth[r] = 0;
    while (stack.length) {
      const i = stack.pop();
      if (seen[i]) continue;
      seen[i] = 1;
      order[k++] = i;
      for (let c = childStart[i + 1] - 1; c >= childStart[i]; c--) {
        const ch = childList[c];
        if (!seen[ch]) {
          depth[ch] = depth[i] + 1;
          stack.push(ch);
        }
      }
    }
  };
  for (let i = 0; i < n; i++) if (parent[i] < 0) { roots.push(i); walk(i); }
  for (let i = 0; i < n && k < n; i++) if (!seen[i]) { roots.push(i); parent[i] = -1; walk(i); }

  const pre = new Int32Array(n); // span -> its position in the pre-order
  for (let p = 0; p < n; p++) pre[order[p]] = p;

  // Subtree sizes (a subtree is a contiguous block of the pre-order) and the deepest span.
  const size = new Int32Array(n).fill(1);
  for (let p = n - 1; p >= 0; p--) {
    const i = order[p];
    if (parent[i] >= 0) size[parent[i]] += size[i];
  }
  let deepest = n ? order[0] : -1;
  for (let i = 0; i < n; i++) if (depth[i] > depth[deepest]) deepest = i;

  let t0 = Infinity;
  let t1 = -Infinity;
  for (let i = 0; i < n; i++) {
    if (start[i] < t0) t0 = start[i];
    if (end[i] > t1) t1 = end[i];
  }
  if (!n) { t0 = 0; t1 = 1; }

  return {
    n, ids: sp.id, parent, start, end, childStart, childList, order, pre, depth, size, roots, deepest,
    nameIdx: sp.name, names: outline.names, kind: sp.kind, kindNames, status: sp.status, statusNames,
    tokens: sp.tokens, cost: sp.cost, findings: sp.findings,
    t0, total: Math.max(1, t1 - t0),
    indexOf: null,
  };
}

export function nameOf(tree, i) {
  return tree.names[tree.nameIdx[i]];
}
export function kindOf(tree, i) {
  return tree.kindNames[tree.kind[i]];
}
export function statusOf(tree, i) {
  return tree.statusNames[tree.status[i]];
}
export function durationMs(tree, i) {
  return (tree.end[i] - tree.start[i]) / 1000;
}
export function hasChildren(tree, i) {
  return tree.childStart[i + 1] > tree.childStart[i];
}

/** Span index of a span id (built on first use). */
export function indexOfId(tree, id) {
  if (!tree.indexOf) {
    tree.indexOf = new Map();
    for (let i = 0; i < tree.n; i++) tree.indexOf.set(tree.ids[i], i);
  }
  return tree.indexOf.get(id) ?? -1;
}

/**
 * The rows to show: pre-order, skipping the subtrees of collapsed spans, and (with `keep`) only kept spans.
 * Returns {rows: Int32Array, pos: Int32Array (span -> row or -1)}.
 */
export function visibleRows(tree, collapsed, keep = null) {
  const { n, order, size } = tree;
  const rows = new Int32Array(n);
  const pos = new Int32Array(n).fill(-1);
  let r = 0;
  for (let p = 0; p < n; p++) {
    const i = order[p];
    if (keep && !keep[i]) continue;
    pos[i] = r;
    rows[r++] = i;
    if (collapsed[i]) p += size[i] - 1;
  }
  return { rows: rows.subarray(0, r), pos };
}

/** Mark every ancestor of a span (to expand the path to it, or keep search matches in context). */
export function markAncestors(tree, i, into) {
  for (let p = tree.parent[i]; p >= 0 && !into[p]; p = tree.parent[p]) into[p] = 1;
}

/**
 * The critical path: from the root, the child that finished last, then the child that finished last
 * before that one started, and so on down each chosen child (the spans the trace's end waited for).
 */
export function criticalPath(tree) {
  const cp = new Uint8Array(tree.n);
  if (!tree.n) return cp;
  let root = tree.roots[0];
  for (const r of tree.roots) if (tree.end[r] - tree.start[r] > tree.end[root] - tree.start[root]) root = r;
  const { end } = tree;
  const stack = [[root, end[root]]];
  while (stack.length) {
    const [i, limit] = stack.pop();
    cp[i] = 1;
    const kids = tree.childList.slice(tree.childStart[i], tree.childStart[i + 1]);
    if (kids.length > 1) kids.sort((a, b) => end[b] - end[a]);
    let cursor = Math.min(tree.end[i], limit);
    for (const c of kids) {
      if (tree.start[c] >= cursor) continue;
      stack.push([c, cursor]);
      cursor = tree.start[c];
    }
  }
  return cp;
}

/** Spans whose name, kind or id contains `text` (case-insensitive): Uint8Array flags and the count. */
export function searchSpans(tree, text) {
  const flags = new Uint8Array(tree.n);
  const q = text.trim().toLowerCase();
  if (!q) return { flags, count: 0 };
  const nameHit = tree.names.map((nm) => nm.toLowerCase().includes(q));
  const kindHit = tree.kindNames.map((kd) => kd === q);
  let count = 0;
  for (let i = 0; i < tree.n; i++) {
    if (nameHit[tree.nameIdx[i]] || kindHit[tree.kind[i]] || tree.ids[i].startsWith(q)) {
      flags[i] = 1;
      count++;
    }
  }
  return { flags, count };
}

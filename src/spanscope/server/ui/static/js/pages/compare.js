// Compare two traces: spans aligned by their path of names (parent path / name #n-th among same-named
// siblings), with the differences in latency, tokens, status, inputs and outputs highlighted.
import { ApiError, get } from '../api.js';
import { diffView } from '../components/diff.js';
import { createVList } from '../components/vlist.js';
import { buildTree, durationMs, kindOf, nameOf, statusOf } from '../tree.js';
import { KIND_LABEL, clear, fmtAgo, fmtCost, fmtInt, fmtMs, fmtTime, fmtValue, h, queryParams } from '../util.js';

const ROW_H = 26;
const SLOWER = 0.2; // a latency change counts above 20% ...
const SLOWER_MS = 5; // ... and 5 ms

/** Path keys of every span; roots are keyed by their rank, so two traces' roots align whatever their names. */
function pathKeys(tree) {
  const keys = new Array(tree.n);
  const seen = new Map();
  let rootRank = 0;
  for (let p = 0; p < tree.n; p++) {
    const i = tree.order[p];
    const par = tree.parent[i];
    if (par < 0) { keys[i] = `#root${rootRank++}`; continue; }
    const base = `${keys[par]}/${nameOf(tree, i)}`;
    const k = seen.get(base) || 0;
    seen.set(base, k + 1);
    keys[i] = `${base}#${k}`;
  }
  return keys;
}

/** Rows of the merged tree: {depth, a, b} (span index in A or B, -1 when absent), A's order first. */
export function alignTrees(ta, tb) {
  const ka = pathKeys(ta);
  const kb = pathKeys(tb);
  const nodes = new Map();
  const top = { children: [] };
  const add = (key, parentKey) => {
    const node = { key, a: -1, b: -1, children: [] };
    nodes.set(key, node);
    (parentKey ? nodes.get(parentKey) : top).children.push(node);
    return node;
  };
  for (let p = 0; p < ta.n; p++) {
    const i = ta.order[p];
    add(ka[i], ta.parent[i] >= 0 ? ka[ta.parent[i]] : null).a = i;
  }
  for (let p = 0; p < tb.n; p++) {
    const i = tb.order[p];
    const node = nodes.get(kb[i]) || add(kb[i], tb.parent[i] >= 0 ? kb[tb.parent[i]] : null);
    node.b = i;
  }
  const rows = [];
  const stack = top.children.slice().reverse().map((nd) => [nd, 0]);
  while (stack.length) {
    const [nd, depth] = stack.pop();
    rows.push({ depth, a: nd.a, b: nd.b });
    for (let c = nd.children.length - 1; c >= 0; c--) stack.push([nd.children[c], depth + 1]);
  }
  return rows;
}

function llmTotal(tree, values) {
  let s = 0;
  let any = false;
  for (let i = 0; i < tree.n; i++) if (values[i] != null && kindOf(tree, i) === 'llm') { s += values[i]; any = true; }
  return any ? s : values[tree.roots[0]] ?? null;
}

export async function mount(root, { link, navigate }) {
  const q = queryParams();
  const inA = h('input', { value: q.a || '', placeholder: 'trace id A', 'aria-label': 'Trace A' });
  const inB = h('input', { value: q.b || '', placeholder: 'trace id B', 'aria-label': 'Trace B' });
  const go = () => navigate(link('/compare', { a: inA.value.trim(), b: inB.value.trim() }));
  const pick = h('div.compare-pick', h('b', 'Compare'), inA, h('span', 'with'), inB,
    h('button.primary', { onclick: go }, 'Compare'),
    h('button', { onclick: () => { const t = inA.value; inA.value = inB.value; inB.value = t; go(); } }, '⇄ Swap'));
  const page = h('section.page.compare-page', pick);
  root.append(page);
  for (const inp of [inA, inB]) inp.addEventListener('keydown', (e) => { if (e.key === 'Enter') go(); });

  if (!q.a || !q.b) {
    page.append(await candidates(q.a, link));
    return {};
  }
  let oa;
  let ob;
  try {
    [oa, ob] = await Promise.all([
      get(`/api/v1/traces/${q.a}/outline`, { io_hash: 1 }),
      get(`/api/v1/traces/${q.b}/outline`, { io_hash: 1 }),
    ]);
  } catch (e) {
    page.append(h('div.empty', h('h2', 'Could not load both traces'), h('p.muted', e instanceof ApiError ? e.message : String(e))));
    return {};
  }
  const ta = buildTree(oa);
  const tb = buildTree(ob);
  const allRows = alignTrees(ta, tb);
  const flag = allRows.map((r) => rowDiff(r));
  let rows = allRows.map((_, k) => k);
  let selected = -1;

  function rowDiff(r) {
    const d = { status: false, dur: 0, tokens: false, io: false, missing: r.a < 0 || r.b < 0 };
    if (d.missing) return d;
    d.status = statusOf(ta, r.a) !== statusOf(tb, r.b);
    const da = durationMs(ta, r.a);
    const db = durationMs(tb, r.b);
    if (Math.abs(db - da) > Math.max(SLOWER_MS, SLOWER * da)) d.dur = db > da ? 1 : -1;
    d.tokens = (ta.tokens[r.a] ?? null) !== (tb.tokens[r.b] ?? null);
    d.io = oa.spans.in_hash[r.a] !== ob.spans.in_hash[r.b] || oa.spans.out_hash[r.a] !== ob.spans.out_hash[r.b];
    return d;
  }
  const anyDiff = (d) => d.missing || d.status || d.dur || d.tokens || d.io;
  const nDiff = flag.filter(anyDiff).length;

  // -- summary cards --------------------------------------------------------------------------------------
  function card(side, o, t, other) {
    const dur = o.trace.duration_ms;
    const tok = llmTotal(t, t.tokens);
    const cost = llmTotal(t, t.cost);
    const delta = (x, y, fmt) => {
      if (!other || x == null || y == null || x === y) return null;
      const up = x > y;
      const pct = y ? ` (${up ? '+' : ''}${(((x - y) / y) * 100).toFixed(0)}%)` : '';
      return h(`span.${up ? 'delta-up' : 'delta-down'}`, ` ${up ? '+' : '−'}${fmt(Math.abs(x - y))}${pct}`);
    };
    const otherTok = other ? llmTotal(other.t, other.t.tokens) : null;
    const otherCost = other ? llmTotal(other.t, other.t.cost) : null;
    return h(`div.card.${side.toLowerCase()}`,
      h('h3', h('span.side', side), h('a', { href: link(`/traces/${o.trace.trace_id}`) }, o.trace.name || '(no root)'),
        h(`span.badge.${o.trace.status === 'ERROR' ? 'err' : o.trace.status === 'OK' ? 'ok' : 'unset'}`, o.trace.status)),
      h('div.trace-facts',
        h('span.fact', h('span.fact-label', 'duration'), h('span.fact-value', fmtMs(dur)), delta(dur, other?.o.trace.duration_ms, fmtMs)),
        h('span.fact', h('span.fact-label', 'spans'), h('span.fact-value', fmtInt(t.n)), delta(t.n, other?.t.n, fmtInt)),
        h('span.fact', h('span.fact-label', 'tokens'), h('span.fact-value', fmtInt(tok)), delta(tok, otherTok, fmtInt)),
        h('span.fact', h('span.fact-label', 'cost'), h('span.fact-value', fmtCost(cost)), delta(cost, otherCost, fmtCost)),
        h('span.fact', h('span.fact-label', 'started'), h('span.fact-value', fmtTime(o.trace.start_time_ns)))),
      h('div.trace-tags', Object.entries(o.trace.tags || {}).map(([k, v]) => h('span.chip.tag', h('span.k', k), h('span.v', fmtValue(v))))),
      h('div.muted.mono', o.trace.trace_id));
  }
  const cards = h('div.compare-cards', card('A', oa, ta, null), card('B', ob, tb, { o: oa, t: ta }));

  // -- aligned table --------------------------------------------------------------------------------------
  const onlyDiff = h('input', { type: 'checkbox' });
  const head = h('div.chead',
    h('span', 'Span (aligned by path)'),
    h('span.num', 'A time'), h('span.num', 'A tok'), h('span', 'A'),
    h('span.num', 'B time'), h('span.num', 'B tok'), h('span', 'B'),
    h('span.num', 'Δ time'));
  const list = createVList({ rowHeight: ROW_H, createRow, renderRow, overscan: 8, className: 'vlist compare-rows' });
  list.el.dataset.testid = 'compare-rows';
  const table = h('div.compare-table',
    h('div.tree-toolbar', h('b', `${fmtInt(allRows.length)} aligned spans`), h('span.muted', ` · ${fmtInt(nDiff)} differ`), h('span.spacer'),
      h('label.check', onlyDiff, 'only differences')),
    head, list.el);
  const detail = h('div.compare-detail', h('div.muted', 'Select a row to compare the two spans\' inputs, outputs and attributes.'));
  detail.dataset.testid = 'compare-detail';
  page.append(cards, h('div.compare-main', table, detail));

  function cell(cls) {
    const s = document.createElement('span');
    s.className = cls;
    return s;
  }
  function createRow() {
    const row = document.createElement('div');
    row.className = 'crow';
    const c = [cell('cname'), cell('num'), cell('num'), cell(''), cell('num'), cell('num'), cell(''), cell('num')];
    row.append(...c);
    row._ = c;
    return row;
  }
  function renderRow(row, k) {
    const idx = rows[k];
    const r = allRows[idx];
    const d = flag[idx];
    row.__row = idx;
    const c = row._;
    const t = r.a >= 0 ? ta : tb;
    const i = r.a >= 0 ? r.a : r.b;
    clear(c[0]);
    const kind = kindOf(t, i);
    c[0].style.paddingLeft = `${6 + Math.min(r.depth, 30) * 12}px`;
    c[0].append(h(`span.kind.k-${kind}`, KIND_LABEL[kind] || kind), ' ', h('span', { class: d.io ? 'diff-io' : '' }, nameOf(t, i)));
    c[0].title = d.io ? 'inputs or outputs differ' : '';
    const side = (tree, j, base) => {
      c[base].textContent = j >= 0 ? fmtMs(durationMs(tree, j)) : '—';
      c[base + 1].textContent = j >= 0 ? fmtInt(tree.tokens[j]) : '—';
      c[base + 1].className = `num${d.tokens ? ' diff-hi' : ''}`;
      c[base + 2].textContent = j >= 0 ? statusOf(tree, j) : '—';
      c[base + 2].className = d.status ? 'diff-status' : (j >= 0 && statusOf(tree, j) === 'ERROR' ? 'error' : 'muted');
    };
    side(ta, r.a, 1);
    side(tb, r.b, 4);
    if (r.a >= 0 && r.b >= 0) {
      const da = durationMs(ta, r.a);
      const db = durationMs(tb, r.b);
      const pct = da ? ` ${db >= da ? '+' : ''}${(((db - da) / da) * 100).toFixed(0)}%` : '';
      c[7].textContent = `${db >= da ? '+' : '−'}${fmtMs(Math.abs(db - da))}${pct}`;
      c[7].className = `num${d.dur > 0 ? ' diff-slower' : d.dur < 0 ? ' diff-faster' : ' muted'}`;
    } else {
      c[7].textContent = '';
      c[7].className = 'num';
    }
    row.className = `crow${r.a < 0 ? ' only-b' : r.b < 0 ? ' only-a' : ''}${idx === selected ? ' sel' : ''}${anyDiff(d) ? ' differs' : ''}`;
  }

  function relayout() {
    rows = allRows.map((_, k) => k).filter((k) => !onlyDiff.checked || anyDiff(flag[k]));
    list.setCount(rows.length);
  }
  onlyDiff.addEventListener('change', relayout);
  list.el.addEventListener('click', (e) => {
    const row = e.target.closest('.crow');
    if (!row || row.__row == null) return;
    const prev = selected;
    selected = row.__row;
    for (const k of [prev, selected]) { const pos = rows.indexOf(k); if (pos >= 0) list.refreshRow(pos); }
    showDetail(allRows[selected]);
  });

  let seq = 0;
  async function showDetail(r) {
    const s = ++seq;
    const name = r.a >= 0 ? nameOf(ta, r.a) : nameOf(tb, r.b);
    clear(detail).append(h('h3', name), h('div.muted', 'Loading both spans…'));
    const fetchSpan = (traceId, tree, i) => (i >= 0 ? get(`/api/v1/traces/${traceId}/spans/${tree.ids[i]}`) : Promise.resolve(null));
    const [da, db] = await Promise.all([fetchSpan(q.a, ta, r.a), fetchSpan(q.b, tb, r.b)]);
    if (s !== seq) return;
    clear(detail).append(h('h3', name));
    if (!da || !db) {
      detail.append(h('div.muted', `Only in ${da ? 'A' : 'B'}.`));
      return;
    }
    const attrKeys = [...new Set([...Object.keys(da.attributes), ...Object.keys(db.attributes)])].sort();
    const attrRows = attrKeys.map((k) => {
      const va = da.attributes[k];
      const vb = db.attributes[k];
      const same = JSON.stringify(va) === JSON.stringify(vb);
      return h('tr', { class: same ? '' : 'diff-hi' }, h('th', k), h('td', va === undefined ? '—' : fmtValue(va)), h('td', vb === undefined ? '—' : fmtValue(vb)));
    });
    const pair = (label, x, y) => h('tr', { class: x === y ? '' : 'diff-hi' }, h('th', label), h('td', x), h('td', y));
    detail.append(
      h('table.kv', h('thead', h('tr', h('th', ''), h('th', 'A'), h('th', 'B'))), h('tbody',
        pair('status', da.status, db.status),
        pair('duration', fmtMs(da.duration_ms), fmtMs(db.duration_ms)),
        pair('status message', da.status_message || '—', db.status_message || '—'))),
      h('div.subhead', 'Inputs (A | B)'), diffView(da.inputs, db.inputs),
      h('div.subhead', 'Outputs (A | B)'), diffView(da.outputs, db.outputs),
      h('div.subhead', 'Attributes'),
      h('table.kv', h('thead', h('tr', h('th', ''), h('th', 'A'), h('th', 'B'))), h('tbody', attrRows)));
  }

  relayout();
  // Open on the first row that differs (else the root).
  const firstDiff = flag.findIndex((d) => anyDiff(d));
  const start = firstDiff >= 0 ? firstDiff : 0;
  if (allRows.length) {
    selected = start;
    list.scrollToIndex(rows.indexOf(start));
    list.refresh();
    showDetail(allRows[start]);
  }
  return { destroy: () => list.destroy() };
}

/** When a trace is missing: recent traces (of the same name as A, if given) to pick from. */
async function candidates(a, link) {
  const box = h('div.card', h('h3', a ? 'Pick trace B' : 'Pick two traces'));
  let filter = '';
  if (a) {
    try {
      const o = await get(`/api/v1/traces/${a}/outline`);
      if (o.trace.name) filter = `trace.name = '${o.trace.name.replaceAll("'", "''")}'`;
    } catch { /* A is not found: list everything */ }
  }
  const out = await get('/api/v1/ui/traces', { filter, limit: 15 }).catch(() => ({ traces: [] }));
  box.append(h('p.muted', a ? 'Recent traces with the same name:' : 'Select two traces on the traces page (checkboxes), or paste two trace ids above. Recent traces:'));
  const list = h('table.findings', h('tbody', out.traces.filter((t) => t.trace_id !== a).map((t) => h('tr',
    h('td', h('a', { href: link('/compare', { a: a || t.trace_id, b: a ? t.trace_id : undefined }) }, a ? 'compare with A' : 'use as A')),
    h('td.mono', t.trace_id.slice(0, 12)), h('td', t.name), h('td', fmtMs(t.duration_ms)), h('td', t.status), h('td.muted', fmtAgo(t.start_time_ns))))));
  box.append(list);
  return box;
}

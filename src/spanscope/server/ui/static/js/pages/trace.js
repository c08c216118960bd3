// The trace page: span tree and waterfall side by side (one virtual list, so they stay aligned), the span
// panel beside them. Built for 10k-span agent traces: the outline of every span arrives in one compact
// request; a span's body is fetched when it is opened; only visible rows exist; the selection is an overlay,
// so a click never re-renders the rows.
import { ApiError, get, session } from '../api.js';
import { openFeedback } from '../components/feedback.js';
import { findingsView, spanBody, spanHeader } from '../components/spanpanel.js';
import { renderValue } from '../components/values.js';
import { createVList } from '../components/vlist.js';
import {
  buildTree, criticalPath, durationMs, hasChildren, indexOfId, kindOf, markAncestors, nameOf, searchSpans, statusOf,
  visibleRows,
} from '../tree.js';
import { KIND_LABEL, clear, copyText, debounce, fmtCost, fmtInt, fmtMs, fmtTime, fmtValue, h, queryParams, setQuery } from '../util.js';

const ROW_H = 24;
const INDENT = 14;
const MAX_INDENT_DEPTH = 40;

function takePrefetch(traceId) {
  const pf = window.__outline;
  window.__outline = null;
  if (pf && pf.id === traceId && (pf.project || null) === (session.project || null)) return pf.response;
  return null;
}

export async function mount(root, { params, link, navigate }) {
  const traceId = params[0];
  const page = h('section.page.trace-page', h('div.loading-msg', 'Loading trace…'));
  root.append(page);
  let outline;
  try {
    outline = await get(`/api/v1/traces/${traceId}/outline`, {}, { prefetched: takePrefetch(traceId) });
  } catch (e) {
    clear(page).append(h('div.empty', h('h2', e instanceof ApiError && e.status === 404 ? 'Trace not found' : 'Could not load the trace'),
      h('p.muted', e.message), h('p', h('a', { href: link('/') }, '← Back to traces'))));
    return {};
  }
  performance.mark('spanscope:outline-loaded');
  const tree = buildTree(outline);
  performance.mark('spanscope:tree-built');
  const n = tree.n;
  const collapsed = new Uint8Array(n);
  let cp = new Uint8Array(n); // the critical path, computed just after the first paint
  let matches = new Uint8Array(n);
  let matchOrder = [];
  let keep = null;
  let vis = visibleRows(tree, collapsed);
  let selected = -1;
  const details = new Map(); // span id -> detail (or a pending promise)
  let detailSeq = 0;
  const info = outline.trace;

  // -- header --------------------------------------------------------------------------------------------
  const headFindings = h('div.head-findings');
  const header = h('div.trace-head',
    h('div.trace-title',
      h('a.back', { href: link('/') }, '← Traces'),
      h('h1', info.name || '(no root span yet)'),
      h(`span.badge.${info.status === 'ERROR' ? 'err' : info.status === 'OK' ? 'ok' : 'unset'}`, info.status),
      h('span.spacer'),
      h('button', { onclick: () => feedback(null) }, '+ Feedback on trace'),
      h('button', { onclick: () => navigate(link('/compare', { a: traceId })) }, 'Compare with…'),
      h('button', { title: 'Copy the link to this view', onclick: (e) => { copyText(location.href); e.target.textContent = 'Copied'; setTimeout(() => { e.target.textContent = 'Copy link'; }, 1200); } }, 'Copy link')),
    h('div.trace-facts',
      fact('duration', fmtMs(info.duration_ms)),
      fact('spans', fmtInt(n)),
      fact('tokens', fmtInt(sumLlm(tree.tokens))),
      fact('cost', fmtCost(sumLlm(tree.cost))),
      fact('started', fmtTime(info.start_time_ns, true)),
      info.session_id ? fact('session', info.session_id) : null,
      info.user_id ? fact('user', info.user_id) : null,
      fact('trace id', h('span.mono', traceId))),
    h('div.trace-tags', Object.entries(info.tags || {}).map(([k, v]) => h('span.chip.tag', h('span.k', k), h('span.v', fmtValue(v))))),
    headFindings);

  function fact(label, value) {
    return h('span.fact', h('span.fact-label', label), h('span.fact-value', value));
  }
  function sumLlm(values) {
    // The trace's total: its llm spans' sum, else the root's own value (what the traces list shows).
    let s = 0;
    let any = false;
    for (let i = 0; i < n; i++) {
      if (values[i] != null && kindOf(tree, i) === 'llm') { s += values[i]; any = true; }
    }
    if (any) return s;
    const r = tree.roots[0];
    return r != null ? values[r] : null;
  }
  function renderHeadFindings() {
    clear(headFindings);
    const fs = outline.findings;
    if (!fs.length) return;
    const latest = new Map();
    for (const f of fs) if (!f.span_id) latest.set(f.name, f);
    for (const f of latest.values()) {
      const tone = f.value === true ? 'good' : f.value === false ? 'bad' : '';
      headFindings.append(h('span.chip.finding', { class: tone, title: f.rationale || '' }, h('span.k', f.name), h('span.v', fmtValue(f.value)), h(`span.src.src-${f.source}`, f.source)));
    }
    const onSpans = fs.filter((f) => f.span_id).length;
    if (onSpans) headFindings.append(h('span.muted', ` + ${onSpans} on spans`));
  }

  // -- toolbar: search, collapse, critical path ---------------------------------------------------------------
  const search = h('input.search', { type: 'search', placeholder: 'Search spans…', title: 'Name, kind or span id; Enter: next match', 'aria-label': 'Search spans' });
  search.dataset.testid = 'span-search';
  const matchInfo = h('span.match-info');
  const onlyMatches = h('input', { type: 'checkbox' });
  const showCp = h('input', { type: 'checkbox', checked: true });
  const zoomBtn = h('button', { title: 'Zoom the waterfall to the selected span (or double-click a bar)', onclick: () => zoomTo(selected) }, 'Zoom');
  const resetZoom = h('button', { hidden: true, onclick: () => setWindow(tree.t0, tree.total) }, 'Unzoom');
  const toolbar = h('div.tree-toolbar',
    search,
    h('button.icon', { title: 'Previous match (Shift+Enter)', onclick: () => jump(-1) }, '▲'),
    h('button.icon', { title: 'Next match (Enter)', onclick: () => jump(1) }, '▼'),
    matchInfo,
    h('label.check', onlyMatches, 'only matches'),
    h('span.spacer'),
    zoomBtn,
    resetZoom,
    h('button', { onclick: () => setAll(false) }, 'Expand all'),
    h('button', { onclick: () => setAll(true) }, 'Collapse all'),
    h('label.check.cp-toggle', showCp, h('span.cp-swatch'), 'critical path'));

  // -- axis + rows -----------------------------------------------------------------------------------------
  // The waterfall's window (microseconds): the whole trace, or the span it was zoomed to.
  let win0 = tree.t0;
  let winLen = tree.total;
  const ticks = h('div.ticks');
  function renderTicks() {
    clear(ticks);
    for (let t = 0; t <= 4; t++) {
      ticks.append(h('span.tick', { style: { left: `${t * 25}%` } }, fmtMs((win0 - tree.t0 + (winLen * t) / 4) / 1000)));
    }
  }
  renderTicks();
  function setWindow(start, len) {
    win0 = start;
    winLen = Math.max(1, len);
    resetZoom.hidden = win0 === tree.t0 && winLen === tree.total;
    renderTicks();
    list.refresh();
  }
  function zoomTo(i) {
    if (i < 0) return;
    const len = tree.end[i] - tree.start[i];
    setWindow(tree.start[i] - len * 0.02, len * 1.04 || 1);
  }
  const maxDepth = n ? tree.depth[tree.deepest] : 0;
  const axis = h('div.axis',
    h('div.axis-tree', h('span.span-count', `${fmtInt(n)} spans`), ' · depth ', String(maxDepth), ' ',
      n ? h('button.link.small', { title: 'Show the deepest span', onclick: () => reveal(tree.deepest) }, 'go to deepest') : null),
    h('div.axis-wf', ticks));

  const list = createVList({ rowHeight: ROW_H, createRow, renderRow, overscan: 12, className: 'vlist trace-rows' });
  list.el.dataset.testid = 'span-tree';
  const selbox = h('div.selbox', { hidden: true });
  list.content.append(selbox);
  const left = h('div.trace-left', toolbar, axis, list.el);

  // -- panel ---------------------------------------------------------------------------------------------
  const spanPane = h('div.pane.span-pane');
  spanPane.dataset.testid = 'span-panel';
  const tracePane = h('div.pane.trace-pane', { hidden: true });
  const tabSpan = h('button.tab.active', { onclick: () => showTab('span') }, 'Span');
  const tabTrace = h('button.tab', { onclick: () => showTab('trace') }, 'Trace');
  const panel = h('aside.trace-panel', h('div.tabs', tabSpan, tabTrace), spanPane, tracePane);
  const splitter = h('div.splitter', { title: 'Drag to resize' });
  const body = h('div.trace-body', left, splitter, panel);
  clear(page).append(header, body);
  renderHeadFindings();
  list.el.classList.toggle('show-cp', true);

  function showTab(which) {
    tabSpan.classList.toggle('active', which === 'span');
    tabTrace.classList.toggle('active', which === 'trace');
    spanPane.hidden = which !== 'span';
    tracePane.hidden = which !== 'trace';
    if (which === 'trace') renderTracePane();
  }

  function renderTracePane() {
    clear(tracePane).append(
      h('h3', 'Findings'),
      findingsView(outline.findings, (sid) => { const i = indexOfId(tree, sid); if (i >= 0) { showTab('span'); reveal(i); } }),
      h('button.small', { onclick: () => feedback(null) }, '+ Feedback on trace'),
      h('h3', 'Tags'), kvTable(info.tags),
      h('h3', 'Metadata'), kvTable(info.metadata),
      h('h3', 'Trace'), kvTable({ trace_id: traceId, session: info.session_id, user: info.user_id, project: info.project, started: fmtTime(info.start_time_ns, true) }));
  }

  function kvTable(obj) {
    const entries = Object.entries(obj || {}).filter(([, v]) => v != null);
    if (!entries.length) return h('div.muted', 'none');
    return h('table.kv', h('tbody', entries.map(([k, v]) => h('tr', h('th', k), h('td', v !== null && typeof v === 'object' ? renderValue(v) : h('span.mono', fmtValue(v)))))));
  }

  // -- rows ----------------------------------------------------------------------------------------------
  function createRow() {
    const row = document.createElement('div');
    row.className = 'trow';
    const tcell = document.createElement('div');
    tcell.className = 'tcell';
    const caret = document.createElement('span');
    caret.className = 'caret';
    const kind = document.createElement('span');
    const name = document.createElement('span');
    name.className = 'name';
    const mark = document.createElement('span');
    mark.className = 'fmark';
    const dur = document.createElement('span');
    dur.className = 'dur';
    tcell.append(caret, kind, name, mark, dur);
    const wcell = document.createElement('div');
    wcell.className = 'wcell';
    const bar = document.createElement('div');
    bar.className = 'bar';
    wcell.append(bar);
    row.append(tcell, wcell);
    row._ = { tcell, caret, kind, name, mark, dur, bar };
    return row;
  }

  function renderRow(row, r) {
    const i = vis.rows[r];
    const p = row._;
    row.__span = i;
    const k = kindOf(tree, i);
    const d = tree.depth[i];
    p.tcell.style.paddingLeft = `${6 + Math.min(d, MAX_INDENT_DEPTH) * INDENT}px`;
    p.caret.textContent = hasChildren(tree, i) ? (collapsed[i] ? '▸' : '▾') : '';
    p.kind.className = `kind k-${k}`;
    p.kind.textContent = KIND_LABEL[k] || k;
    p.name.textContent = nameOf(tree, i);
    p.mark.textContent = tree.findings[i] ? `◆${tree.findings[i] > 1 ? tree.findings[i] : ''}` : '';
    const ms = durationMs(tree, i);
    p.dur.textContent = fmtMs(ms);
    let cls = 'trow';
    if (tree.status[i] === 1) cls += ' err';
    if (cp[i]) cls += ' cp';
    if (matches[i]) cls += ' match';
    if (d > MAX_INDENT_DEPTH) p.name.title = `depth ${d}`;
    row.className = cls;
    const left = ((tree.start[i] - win0) / winLen) * 100;
    const width = ((tree.end[i] - tree.start[i]) / winLen) * 100;
    p.bar.className = `bar k-${k}`;
    p.bar.style.left = `${left}%`;
    p.bar.style.width = `max(2px, ${width}%)`;
  }

  function placeSelection() {
    const r = selected >= 0 ? vis.pos[selected] : -1;
    if (r < 0) { selbox.hidden = true; return; }
    selbox.hidden = false;
    selbox.style.transform = `translateY(${r * ROW_H}px)`;
  }

  function relayout() {
    vis = visibleRows(tree, collapsed, keep);
    list.setCount(vis.rows.length);
    placeSelection();
  }

  function toggle(i, subtree = false) {
    const to = collapsed[i] ? 0 : 1;
    collapsed[i] = to;
    if (subtree) {
      const p0 = tree.pre[i];
      for (let p = p0; p < p0 + tree.size[i]; p++) collapsed[tree.order[p]] = to;
    }
    relayout();
  }

  function setAll(collapse) {
    collapsed.fill(0);
    if (collapse) for (let i = 0; i < n; i++) if (tree.depth[i] >= 1 && hasChildren(tree, i)) collapsed[i] = 1;
    relayout();
  }

  /** Expand the path to span i, scroll it into view and select it. */
  function reveal(i, align = 'center') {
    const anc = new Uint8Array(n);
    markAncestors(tree, i, anc);
    let changed = false;
    for (let a = 0; a < n; a++) if (anc[a] && collapsed[a]) { collapsed[a] = 0; changed = true; }
    if (keep && !keep[i]) { keep = null; onlyMatches.checked = false; changed = true; }
    if (changed) relayout();
    list.scrollToIndex(vis.pos[i], align);
    select(i);
  }

  // -- selection + panel -----------------------------------------------------------------------------------------
  function select(i) {
    if (i < 0 || i >= n) return;
    selected = i;
    placeSelection();
    setQuery({ ...queryParams(), span: tree.ids[i] });
    showTab('span');
    renderPanel(i);
  }

  function panelInfo(i) {
    return {
      name: nameOf(tree, i), kind: kindOf(tree, i), status: statusOf(tree, i), spanId: tree.ids[i],
      durationMs: durationMs(tree, i), offsetMs: (tree.start[i] - tree.t0) / 1000, tokens: tree.tokens[i], cost: tree.cost[i],
    };
  }

  function renderPanel(i) {
    const seq = ++detailSeq;
    const id = tree.ids[i];
    const holder = h('div.span-body-holder');
    clear(spanPane).append(spanHeader(panelInfo(i)), holder);
    const cached = details.get(id);
    if (cached && !(cached instanceof Promise)) {
      holder.append(spanBody(cached, { onFeedback: () => feedback(i) }));
      return;
    }
    holder.append(h('div.muted.loading-msg', 'Loading span…'));
    fetchDetail(id).then((d) => {
      if (seq !== detailSeq) return;
      clear(holder).append(spanBody(d, { onFeedback: () => feedback(i) }));
    }).catch((e) => {
      if (seq === detailSeq) clear(holder).append(h('div.error', `Could not load the span: ${e.message}`));
    });
  }

  function fetchDetail(id) {
    const have = details.get(id);
    if (have) return have instanceof Promise ? have : Promise.resolve(have);
    const p = get(`/api/v1/traces/${traceId}/spans/${id}`).then((d) => { details.set(id, d); return d; }, (e) => { details.delete(id); throw e; });
    details.set(id, p);
    return p;
  }

  async function feedback(i) {
    const names = [...new Set(outline.findings.map((f) => f.name))];
    const saved = await openFeedback({
      traceId, spanId: i == null ? null : tree.ids[i], targetLabel: i == null ? `trace ${info.name || traceId}` : `span ${nameOf(tree, i)}`, findingNames: names,
    });
    if (!saved) return;
    const out = await get(`/api/v1/traces/${traceId}/findings`);
    outline.findings = out.findings;
    tree.findings.fill(0);
    for (const f of out.findings) if (f.span_id) { const k = indexOfId(tree, f.span_id); if (k >= 0) tree.findings[k]++; }
    renderHeadFindings();
    list.refresh();
    if (i != null) {
      details.delete(tree.ids[i]);
      if (selected === i) renderPanel(i);
    } else if (!tracePane.hidden) {
      renderTracePane();
    }
  }

  // -- search ----------------------------------------------------------------------------------------------
  const runSearch = debounce(() => {
    const res = searchSpans(tree, search.value);
    matches = res.flags;
    matchOrder = [];
    for (let p = 0; p < n; p++) if (matches[tree.order[p]]) matchOrder.push(tree.order[p]);
    matchInfo.textContent = search.value.trim() ? `${fmtInt(res.count)} match${res.count === 1 ? '' : 'es'}` : '';
    applyKeep();
  }, 100);

  function applyKeep() {
    if (onlyMatches.checked && search.value.trim()) {
      keep = new Uint8Array(n);
      for (const i of matchOrder) { keep[i] = 1; markAncestors(tree, i, keep); }
    } else {
      keep = null;
    }
    relayout();
    list.refresh();
  }

  function jump(dir) {
    if (!matchOrder.length) return;
    const curPos = selected >= 0 ? tree.pre[selected] : -1;
    let target;
    if (dir > 0) target = matchOrder.find((i) => tree.pre[i] > curPos) ?? matchOrder[0];
    else target = [...matchOrder].reverse().find((i) => tree.pre[i] < curPos) ?? matchOrder[matchOrder.length - 1];
    const k = matchOrder.indexOf(target);
    matchInfo.textContent = `${k + 1} of ${fmtInt(matchOrder.length)}`;
    reveal(target);
  }

  search.addEventListener('input', runSearch);
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); runSearch.cancel(); if (!matchOrder.length) { runSearch(); setTimeout(() => jump(1), 120); } else jump(e.shiftKey ? -1 : 1); }
  });
  onlyMatches.addEventListener('change', applyKeep);
  showCp.addEventListener('change', () => list.el.classList.toggle('show-cp', showCp.checked));

  // -- events --------------------------------------------------------------------------------------------
  list.el.addEventListener('click', (e) => {
    const row = e.target.closest('.trow');
    if (!row || row.__span == null) return;
    const i = row.__span;
    if (e.target.classList.contains('caret') && hasChildren(tree, i)) { toggle(i, e.altKey); return; }
    select(i);
  });
  list.el.addEventListener('dblclick', (e) => {
    const row = e.target.closest('.trow');
    if (!row) return;
    if (e.target.closest('.wcell')) zoomTo(row.__span);
    else if (hasChildren(tree, row.__span)) toggle(row.__span);
  });
  const hoverPrefetch = debounce((i) => { if (i >= 0 && i < n) fetchDetail(tree.ids[i]).catch(() => {}); }, 60);
  list.el.addEventListener('mouseover', (e) => {
    const row = e.target.closest('.trow');
    if (row && row.__span != null && !details.has(tree.ids[row.__span])) hoverPrefetch(row.__span);
  });
  list.el.addEventListener('keydown', (e) => {
    if (selected < 0) return;
    const r = vis.pos[selected];
    let target = -1;
    if (e.key === 'ArrowDown') target = vis.rows[Math.min(vis.rows.length - 1, r + 1)];
    else if (e.key === 'ArrowUp') target = vis.rows[Math.max(0, r - 1)];
    else if (e.key === 'ArrowRight') { if (hasChildren(tree, selected) && collapsed[selected]) { toggle(selected); e.preventDefault(); return; } target = hasChildren(tree, selected) ? tree.childList[tree.childStart[selected]] : -1; }
    else if (e.key === 'ArrowLeft') { if (hasChildren(tree, selected) && !collapsed[selected]) { toggle(selected); e.preventDefault(); return; } target = tree.parent[selected]; }
    else return;
    e.preventDefault();
    if (target >= 0 && target !== undefined) { list.scrollToIndex(vis.pos[target]); select(target); }
  });

  // Drag the splitter to resize the panel.
  const savedW = Number(localStorage.getItem('spanscope.panelWidth')) || 0;
  if (savedW > 200) panel.style.width = `${savedW}px`;
  splitter.addEventListener('mousedown', (e) => {
    e.preventDefault();
    const startX = e.clientX;
    const startW = panel.getBoundingClientRect().width;
    const move = (ev) => { panel.style.width = `${Math.max(280, Math.min(window.innerWidth - 360, startW - (ev.clientX - startX)))}px`; };
    const up = () => {
      document.removeEventListener('mousemove', move);
      document.removeEventListener('mouseup', up);
      localStorage.setItem('spanscope.panelWidth', String(Math.round(panel.getBoundingClientRect().width)));
    };
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
  });

  // -- first paint ------------------------------------------------------------------------------------------
  relayout();
  const wanted = queryParams().span;
  const first = wanted ? indexOfId(tree, wanted) : -1;
  if (first >= 0) reveal(first);
  else if (n) select(tree.roots[0]);
  window.__spanscopeTrace = { n, paintedAt: performance.now() };
  performance.mark('spanscope:trace-painted');
  setTimeout(() => {
    cp = criticalPath(tree);
    list.refresh();
  }, 0);
  return { destroy: () => { list.destroy(); runSearch.cancel(); hoverPrefetch.cancel(); } };
}

// The traces page: filter bar (same language as search_traces), time range, sortable columns, pages.
// Everything that defines the view (filter, range, sort, page) lives in the query string, so it can be shared.
import { ApiError, get } from '../api.js';
import { createFilterBar } from '../components/filterbar.js';
import { createTimeRange, rangeFromQuery, rangeParams, resolveRange } from '../components/timerange.js';
import { clear, fmtAgo, fmtCost, fmtInt, fmtMs, fmtTime, fmtValue, h, queryParams, setQuery } from '../util.js';

const PAGE_SIZE = 50;
const COLUMNS = [
  ['time', 'Time', 'desc'],
  ['name', 'Name', 'asc'],
  ['duration', 'Duration', 'desc'],
  ['status', 'Status', 'asc'],
  ['spans', 'Spans', 'desc'],
  ['tokens', 'Tokens', 'desc'],
  ['cost', 'Cost', 'desc'],
  ['tags', 'Tags', 'asc'],
  ['findings', 'Findings', 'desc'],
];
const EXAMPLES = [
  "tag.quality_score < 0.7",
  "span.kind = 'tool' AND span.status = 'ERROR'",
  "span.name = 'db.query' AND span.duration_ms > 500",
  "finding.response_safe_score < 0.75",
];

export async function mount(root, { link, navigate }) {
  const q = queryParams();
  const view = {
    filter: q.filter || '',
    range: rangeFromQuery(q),
    sort: COLUMNS.some((c) => c[0] === q.sort) ? q.sort : 'time',
    dir: q.dir === 'asc' ? 'asc' : 'desc',
    page: Math.max(1, parseInt(q.page || '1', 10) || 1),
  };
  const selected = new Set();
  let seq = 0;

  const filterBar = createFilterBar({
    value: view.filter,
    placeholder: "Filter, e.g. tag.quality_score < 0.7 AND span.name = 'db.query'   (Ctrl+Space: suggestions)",
    onSubmit: (text) => { view.filter = text; view.page = 1; load(true); },
  });
  const timeRange = createTimeRange(view.range, (r) => { view.range = r; view.page = 1; load(true); });
  const searchBtn = h('button.primary', { onclick: () => { view.filter = filterBar.value(); view.page = 1; load(true); } }, 'Search');
  const summary = h('span.summary');
  const compareBtn = h('button', { disabled: true, onclick: () => {
    const [a, b] = [...selected];
    navigate(link('/compare', { a, b }));
  } }, 'Compare selected');
  compareBtn.dataset.testid = 'compare-selected';
  const thead = h('thead');
  const tbody = h('tbody');
  const table = h('table.traces', thead, tbody);
  const pager = h('div.pager');
  const examples = h('div.examples', h('span.muted', 'Try: '),
    EXAMPLES.map((ex) => h('a.example', { href: '#', onclick: (e) => { e.preventDefault(); filterBar.setValue(ex); view.filter = ex; view.page = 1; load(true); } }, ex)));

  root.append(
    h('section.page.traces-page',
      h('div.toolbar', filterBar.el, timeRange.el, searchBtn),
      examples,
      h('div.toolbar.sub', summary, h('span.spacer'),
        h('a', { href: '#', title: 'Create a dataset from the traces this filter matches', onclick: (e) => {
          e.preventDefault();
          navigate(link('/datasets', { new: 1, filter: view.filter }));
        } }, 'Save as dataset…'),
        h('span.muted', ' · Select two traces to '), compareBtn),
      h('div.table-wrap', table),
      pager),
  );

  function renderHead() {
    clear(thead);
    const tr = h('tr', h('th.check', ''));
    for (const [key, label, firstDir] of COLUMNS) {
      const active = view.sort === key;
      const arrow = active ? (view.dir === 'asc' ? ' ▲' : ' ▼') : '';
      tr.append(h(`th.sortable.col-${key}`, {
        class: active ? 'sorted' : '',
        'aria-sort': active ? (view.dir === 'asc' ? 'ascending' : 'descending') : 'none',
        onclick: () => {
          if (view.sort === key) view.dir = view.dir === 'asc' ? 'desc' : 'asc';
          else { view.sort = key; view.dir = firstDir; }
          view.page = 1;
          load(true);
        },
      }, label, arrow));
    }
    thead.append(tr);
  }

  function statusCell(t) {
    if (t.status === 'ERROR') return h('span.badge.err', 'ERROR');
    const badge = h(`span.badge.${t.status === 'OK' ? 'ok' : 'unset'}`, t.status);
    if (t.error_spans) return h('span', badge, ' ', h('span.badge.warn', { title: 'spans in error inside this trace' }, `${t.error_spans} span err`));
    return badge;
  }

  function chips(obj, cls, max = 4) {
    const entries = Object.entries(obj || {});
    const out = entries.slice(0, max).map(([k, v]) => {
      let tone = '';
      if (v === true) tone = 'good';
      else if (v === false) tone = 'bad';
      return h(`span.chip.${cls}`, { class: tone, title: `${k} = ${fmtValue(v)}` }, h('span.k', k), h('span.v', fmtValue(v)));
    });
    if (entries.length > max) out.push(h('span.muted', `+${entries.length - max}`));
    return out;
  }

  function renderRows(out) {
    clear(tbody);
    if (!out.traces.length) {
      tbody.append(h('tr', h('td.empty', { colSpan: COLUMNS.length + 1 }, view.filter ? 'No trace matches this filter and time range.' : 'No traces in this time range yet. Run `spanscope demo` or send some with the SDK.')));
      return;
    }
    for (const t of out.traces) {
      const href = link(`/traces/${t.trace_id}`);
      const box = h('input', { type: 'checkbox', checked: selected.has(t.trace_id), 'aria-label': 'select for compare', onchange: (e) => {
        if (e.target.checked) selected.add(t.trace_id); else selected.delete(t.trace_id);
        updateCompare();
      } });
      const tr = h('tr', { dataset: { traceId: t.trace_id } },
        h('td.check', box),
        h('td.col-time', h('a', { href, title: t.trace_id }, fmtTime(t.start_time_ns)), h('div.sub', fmtAgo(t.start_time_ns))),
        h('td.col-name', h('a', { href }, t.name || '(no root yet)'), h('div.sub.mono', t.trace_id.slice(0, 12))),
        h('td.col-duration.num', fmtMs(t.duration_ms)),
        h('td.col-status', statusCell(t)),
        h('td.col-spans.num', fmtInt(t.span_count)),
        h('td.col-tokens.num', fmtInt(t.tokens)),
        h('td.col-cost.num', fmtCost(t.cost)),
        h('td.col-tags', chips(t.tags, 'tag', 3)),
        h('td.col-findings', chips(t.findings, 'finding', 3)),
      );
      tbody.append(tr);
    }
  }

  function renderPager(out) {
    clear(pager);
    const pages = Math.max(1, Math.ceil(out.total / PAGE_SIZE));
    const go = (p) => { view.page = p; load(true); };
    pager.append(
      h('button', { disabled: view.page <= 1, onclick: () => go(1) }, '«'),
      h('button', { disabled: view.page <= 1, onclick: () => go(view.page - 1) }, '‹ Prev'),
      h('span.pageinfo', `Page ${view.page} of ${pages}`),
      h('button', { disabled: view.page >= pages, onclick: () => go(view.page + 1) }, 'Next ›'),
      h('button', { disabled: view.page >= pages, onclick: () => go(pages) }, '»'),
    );
  }

  function updateCompare() {
    compareBtn.disabled = selected.size !== 2;
    compareBtn.textContent = selected.size === 2 ? 'Compare the 2 selected' : `Compare selected (${selected.size}/2)`;
  }

  async function load(push = false) {
    const s = ++seq;
    setQuery({ project: queryParams().project, filter: view.filter, ...rangeParams(view.range), sort: view.sort === 'time' ? undefined : view.sort, dir: view.dir === 'desc' ? undefined : view.dir, page: view.page > 1 ? view.page : undefined }, { push });
    renderHead();
    table.classList.add('loading');
    const { from, to } = resolveRange(view.range);
    try {
      const out = await get('/api/v1/ui/traces', {
        filter: view.filter, from, to, sort: view.sort, dir: view.dir, limit: PAGE_SIZE, offset: (view.page - 1) * PAGE_SIZE,
      });
      if (s !== seq) return;
      filterBar.clearError();
      const first = out.total ? out.offset + 1 : 0;
      summary.textContent = `${fmtInt(out.total)} trace${out.total === 1 ? '' : 's'}${out.total ? ` · showing ${first}–${out.offset + out.traces.length}` : ''}`;
      renderRows(out);
      renderPager(out);
    } catch (e) {
      if (s !== seq) return;
      if (e instanceof ApiError && e.status === 400 && e.column != null) {
        filterBar.showError({ message: e.message, column: e.column });
        summary.textContent = 'Fix the filter to search';
      } else {
        summary.textContent = `Error: ${e.message}`;
      }
    } finally {
      if (s === seq) table.classList.remove('loading');
    }
  }

  updateCompare();
  await load(false);
  return { destroy: () => filterBar.destroy() };
}

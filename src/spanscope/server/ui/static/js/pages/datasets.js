// Datasets: create one from a filter with a field mapping, browse its versions and records, edit expected
// values inline, export; evaluation runs on it and their comparison. Needs the server's /api/v1/datasets
// (the quality-loop work); without it the page says so and shows the way in.
import { ApiError, fields, get, headers, post } from '../api.js';
import { createFilterBar } from '../components/filterbar.js';
import { clear, fmtAgo, fmtInt, fmtMs, fmtTime, h, queryParams } from '../util.js';

const PAGE = 100;
const PATH_HINTS = ['span.inputs', 'span.outputs', 'span.inputs.messages', 'span.outputs.choices[0].message.content',
  'trace.id', 'trace.name', 'session.id', 'user.id'];

async function available(path) {
  try {
    return await get(path);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
    throw e;
  }
}

/** A one-line preview: a chat input shows its last message, an answer its text. */
function preview(v) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    if (Array.isArray(v.messages) && v.messages.length) {
      const last = v.messages[v.messages.length - 1];
      if (typeof last?.content === 'string') return `${last.role || 'message'}: ${last.content}`;
    }
    const msg = Array.isArray(v.choices) ? v.choices[0]?.message : null;
    if (typeof msg?.content === 'string') return msg.content;
    const keys = Object.keys(v);
    if (keys.length === 1 && typeof v[keys[0]] === 'string') return v[keys[0]];
  }
  return v;
}

function compact(v, max = 160) {
  v = preview(v);
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function download(filename, text) {
  const a = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' })), download: filename });
  document.body.append(a);
  a.click();
  a.remove();
}

async function del(path) {
  const res = await fetch(path, { method: 'DELETE', headers: headers() });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => ({})));
}

export async function mount(root, ctx) {
  const page = h('section.page.datasets-page');
  root.append(page);
  const list = await available('/api/v1/datasets');
  if (list === null) {
    page.append(placeholder(ctx.link));
    return {};
  }
  const name = (ctx.params[0] || '').replace(/^\/+/, '').split('/')[0];
  if (name) await detail(page, decodeURIComponent(name), ctx);
  else listView(page, list.datasets, ctx);
  return {};
}

// -- list + create ---------------------------------------------------------------------------------------------

function listView(page, datasets, { link, navigate }) {
  const q = queryParams();
  const form = createForm({ link, navigate, filter: q.filter || '', open: Boolean(q.new) || !datasets.length });
  const rows = datasets.map((d) => h('tr',
    h('td', h('a', { href: link(`/datasets/${encodeURIComponent(d.name)}`) }, d.name)),
    h('td.muted', d.description || ''),
    h('td.num', `v${d.version}`),
    h('td.num', fmtInt(d.record_count)),
    h('td.mono.muted', (d.content_hash || '').slice(0, 10)),
    h('td.muted', fmtAgo(d.version_created_at_ns))));
  page.append(
    h('div.toolbar.sub', h('h2.page-title', 'Datasets'), h('span.spacer'), form.toggle),
    form.el,
    h('div.table-wrap', h('table.traces.datasets', h('thead', h('tr', ['Name', 'Description', 'Version', 'Records', 'Hash', 'Updated'].map((c) => h('th', c)))),
      h('tbody', rows.length ? rows : h('tr', h('td.empty', { colSpan: 6 }, 'No dataset yet: create one from a filter.'))))));
}

function mappingEditor(initial) {
  const box = h('div.mapping');
  const listId = 'mapping-paths';
  const hints = h('datalist', { id: listId }, PATH_HINTS.map((p) => h('option', { value: p })));
  const addRow = (field = '', path = '') => {
    const row = h('div.map-row',
      h('input.map-field', { value: field, placeholder: 'record field', 'aria-label': 'record field' }),
      h('span.muted', '←'),
      h('input.map-path.mono', { value: path, placeholder: 'span.inputs.messages', list: listId, 'aria-label': 'path' }),
      h('button.icon', { type: 'button', title: 'Remove', onclick: () => row.remove() }, '✕'));
    box.insertBefore(row, add);
  };
  const add = h('button.small', { type: 'button', onclick: () => addRow() }, '+ field');
  box.append(hints, add);
  fields().then((d) => {
    const more = [
      ...d.tag_keys.map((k) => `tag.${k}`), ...d.finding_names.map((n) => `finding.${n}`),
      ...d.metadata_keys.map((k) => `metadata.${k}`),
      ...d.span_names.slice(0, 30).flatMap((n) => [`\`${n}\`.inputs`, `\`${n}\`.outputs`]),
    ];
    for (const p of more) hints.append(h('option', { value: p }));
  }).catch(() => {});
  for (const [f, p] of initial) addRow(f, p);
  return {
    el: box,
    value: () => Object.fromEntries([...box.querySelectorAll('.map-row')]
      .map((r) => [r.querySelector('.map-field').value.trim(), r.querySelector('.map-path').value.trim()])
      .filter(([f, p]) => f && p)),
  };
}

function createForm({ navigate, link, filter, open, target = null }) {
  const nameIn = h('input', { placeholder: 'e.g. low-quality-turns', pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]*', 'aria-label': 'Dataset name' });
  const descIn = h('input', { placeholder: 'what it is for (optional)', 'aria-label': 'Description', size: 40 });
  const filterBar = createFilterBar({ value: filter, placeholder: 'Filter: which traces become records (empty: all)', onSubmit: () => count() });
  const mapping = mappingEditor([['input', 'span.inputs'], ['output', 'span.outputs']]);
  const sampleIn = h('input', { type: 'number', min: 1, placeholder: 'all', 'aria-label': 'Sample size', style: { width: '90px' } });
  const matchInfo = h('span.muted');
  const status = h('div.form-status');
  const submit = h('button.primary', { type: 'button', onclick: () => create() }, target ? 'Add records' : 'Create dataset');
  submit.dataset.testid = 'create-dataset';
  const el = h('div.card.dataset-form', { hidden: !open },
    target ? null : h('div.form-row', h('label', 'Name'), nameIn, h('label', 'Description'), descIn),
    h('div.form-row', h('label', 'Traces'), filterBar.el, matchInfo),
    h('div.form-row', h('label', 'Fields'), mapping.el),
    h('div.form-row', h('label', 'Sample'), sampleIn, h('span.muted', 'records at most (random, seeded)'), h('span.spacer'), submit),
    status);
  const toggle = h('button', { onclick: () => { el.hidden = !el.hidden; if (!el.hidden) count(); } }, target ? '+ Add traces' : '+ New dataset from traces');

  async function count() {
    try {
      const out = await get('/api/v1/ui/traces', { filter: filterBar.value(), limit: 1 });
      filterBar.clearError();
      matchInfo.textContent = `${fmtInt(out.total)} traces match`;
    } catch (e) {
      if (e instanceof ApiError && e.column != null) filterBar.showError({ message: e.message, column: e.column });
    }
  }

  async function create() {
    const name = target || nameIn.value.trim();
    if (!name) { status.textContent = 'Name the dataset.'; return; }
    const map = mapping.value();
    if (!Object.keys(map).length) { status.textContent = 'Map at least one record field to a path.'; return; }
    submit.disabled = true;
    status.textContent = 'Working…';
    try {
      if (!target) await post('/api/v1/datasets', { name, description: descIn.value.trim() || null, created_by: 'ui' });
      const body = { mapping: map, filter: filterBar.value() || null, by: 'ui' };
      if (sampleIn.value) body.sample = { n: Number(sampleIn.value), seed: 7 };
      const out = await post(`/api/v1/datasets/${encodeURIComponent(name)}/records/from-traces`, body);
      status.textContent = `Added ${fmtInt(out.added ?? 0)} records.`;
      navigate(link(`/datasets/${encodeURIComponent(name)}`));
    } catch (e) {
      if (e instanceof ApiError && e.column != null) filterBar.showError({ message: e.message, column: e.column });
      status.textContent = `Not done: ${e.message}`;
      submit.disabled = false;
    }
  }
  if (open) count();
  return { el, toggle };
}

// -- one dataset -------------------------------------------------------------------------------------------------

async function detail(page, name, { link, navigate }) {
  const q = queryParams();
  const base = `/api/v1/datasets/${encodeURIComponent(name)}`;
  let info;
  try {
    info = await get(base);
  } catch (e) {
    page.append(h('div.empty', h('h2', 'Dataset not found'), h('p.muted', e.message), h('a', { href: link('/datasets') }, '← Datasets')));
    return;
  }
  const version = q.version != null && q.version !== '' ? Number(q.version) : info.latest_version;
  const latest = version === info.latest_version;
  let offset = 0;
  const [versions, runs] = await Promise.all([get(`${base}/versions`), available(`/api/v1/runs?dataset=${encodeURIComponent(name)}&limit=50`)]);
  const shown = versions.versions.find((v) => v.version === version) || versions.versions[versions.versions.length - 1];

  const recordsBox = h('div.table-wrap.records');
  const pager = h('div.pager');
  const addForm = createForm({ navigate, link, filter: '', open: false, target: name });
  page.append(
    h('div.trace-title', h('a.back', { href: link('/datasets') }, '← Datasets'), h('h1', name),
      h('span.badge.unset', `v${version}${latest ? ' (latest)' : ` of v${info.latest_version}`}`), h('span.spacer'),
      addForm.toggle,
      h('button', { onclick: () => exportRecords() }, 'Export JSONL'),
      h('button', { onclick: () => exportFinetune() }, 'Export fine-tune JSONL'),
      h('button', { onclick: async () => {
        if (!window.confirm(`Delete dataset ${name} and all its versions?`)) return;
        await del(base);
        navigate(link('/datasets'));
      } }, 'Delete')),
    h('div.trace-facts',
      h('span.fact', h('span.fact-label', 'records'), h('span.fact-value', fmtInt(shown?.record_count))),
      h('span.fact', h('span.fact-label', 'hash'), h('span.fact-value.mono', (shown?.content_hash || '').slice(0, 16))),
      h('span.fact', h('span.fact-label', 'created'), h('span.fact-value', fmtTime(info.created_at_ns))),
      info.description ? h('span.muted', info.description) : null),
    addForm.el,
    h('div.dataset-body',
      h('div.dataset-main', recordsBox, pager),
      h('aside.dataset-side', h('h3', 'Versions'), versionList(versions.versions, version, name, link),
        h('h3', 'Evaluation runs'), runs === null ? h('div.muted', 'Runs appear here once the server has the evaluation API (/api/v1/runs).') : runsView(runs.runs, link))));

  async function loadRecords() {
    const out = await get(`${base}/records`, { version, offset, limit: PAGE });
    clear(recordsBox).append(recordsTable(out.records, offset));
    clear(pager);
    const total = shown?.record_count ?? out.records.length;
    pager.append(
      h('button', { disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); loadRecords(); } }, '‹ Prev'),
      h('span.pageinfo', `${fmtInt(total ? offset + 1 : 0)}–${fmtInt(offset + out.records.length)} of ${fmtInt(total)}`),
      h('button', { disabled: offset + PAGE >= total, onclick: () => { offset += PAGE; loadRecords(); } }, 'Next ›'));
  }

  function recordsTable(records, start) {
    const fieldNames = [...new Set(records.flatMap((r) => Object.keys(r.fields || {})))];
    const table = h('table.traces.records-table',
      h('thead', h('tr', h('th', '#'), fieldNames.map((f) => h('th', f)), h('th', 'expected'), h('th', 'source'))),
      h('tbody', records.length ? records.map((r, i) => h('tr', { dataset: { recordId: r.record_id } },
        h('td.muted', String(start + i + 1)),
        fieldNames.map((f) => h('td.cell', { title: JSON.stringify(r.fields[f], null, 1)?.slice(0, 3000) }, compact(r.fields[f]))),
        expectedCell(r),
        h('td', r.source_trace_id ? h('a.mono', { href: link(`/traces/${r.source_trace_id}`, { span: r.source_span_id }) }, r.source_trace_id.slice(0, 10)) : '')))
        : h('tr', h('td.empty', { colSpan: fieldNames.length + 3 }, 'No records in this version.'))));
    table.dataset.testid = 'records';
    return table;
  }

  function expectedCell(r) {
    const td = h('td.cell.expected', { title: latest ? 'Click to edit the expected value' : 'Open the latest version to edit' });
    const show = () => {
      clear(td).append(r.expected === null || r.expected === undefined ? h('span.muted', latest ? '+ set expected' : '—') : compact(r.expected));
    };
    show();
    if (!latest) return td;
    td.addEventListener('click', () => {
      if (td.querySelector('textarea')) return;
      const initial = r.expected === null || r.expected === undefined ? '' : typeof r.expected === 'string' ? r.expected : JSON.stringify(r.expected, null, 1);
      const area = h('textarea.expected-edit', { rows: 3 }, initial);
      const save = h('button.primary.small', { type: 'button' }, 'Save');
      const cancel = h('button.small', { type: 'button', onclick: (e) => { e.stopPropagation(); show(); } }, 'Cancel');
      const note = h('span.muted.small', ' JSON or text');
      save.addEventListener('click', async (e) => {
        e.stopPropagation();
        const text = area.value.trim();
        let value = text;
        try { value = text === '' ? null : JSON.parse(text); } catch { value = text; }
        save.disabled = true;
        try {
          await post(`${base}/expected`, { items: [{ match: r.record_id, expected: value }], key: 'record_id', by: 'ui' });
          navigate(link(`/datasets/${encodeURIComponent(name)}`), { replace: true }); // the new latest version
        } catch (err) {
          note.textContent = ` Not saved: ${err.message}`;
          save.disabled = false;
        }
      });
      clear(td).append(area, h('div', save, ' ', cancel, note));
      area.focus();
    });
    return td;
  }

  async function exportRecords() {
    const out = await get(`${base}/records`, { version });
    download(`${name}-v${version}.jsonl`, out.records.map((r) => JSON.stringify({ record_id: r.record_id, ...r.fields, expected: r.expected, source_trace_id: r.source_trace_id })).join('\n') + '\n');
  }

  async function exportFinetune() {
    const out = await get(`${base}/finetune`, { version });
    download(`${name}-v${version}-finetune.jsonl`, out.examples.map((e) => JSON.stringify({ messages: e.messages })).join('\n') + '\n');
  }

  await loadRecords();
}

function versionList(versions, current, name, link) {
  return h('ol.versions', [...versions].reverse().map((v) => h('li', { class: v.version === current ? 'current' : '' },
    h('a', { href: link(`/datasets/${encodeURIComponent(name)}`, { version: v.version }) }, `v${v.version}`),
    h('span', ` ${fmtInt(v.record_count)} records`),
    h('div.muted.small', [v.message, v.created_by ? `by ${v.created_by}` : null, fmtAgo(v.created_at_ns)].filter(Boolean).join(' · ')))));
}

// -- evaluation runs -----------------------------------------------------------------------------------------------

function scorerMeans(run) {
  const out = {};
  for (const [k, v] of Object.entries(run.aggregates?.scorers || {})) out[k] = v.mean ?? null;
  return out;
}

function runsView(runs, link) {
  if (!runs.length) return h('div.muted', 'No run yet: spanscope.evaluate(dataset, app, scorers=[...]).');
  const picked = new Set();
  const cmp = h('div.run-compare');
  const created = new Map(runs.map((r) => [r.run_id, r.created_at_ns]));
  const btn = h('button.small', { disabled: true, onclick: () => compareRuns([...picked].sort((x, y) => created.get(x) - created.get(y)), cmp, link) }, 'Compare 2 runs');
  btn.dataset.testid = 'compare-runs';
  const table = h('table.findings', h('tbody', runs.map((r) => {
    const box = h('input', { type: 'checkbox', onchange: (e) => {
      if (e.target.checked) picked.add(r.run_id); else picked.delete(r.run_id);
      btn.disabled = picked.size !== 2;
    } });
    const means = Object.entries(scorerMeans(r)).map(([k, v]) => `${k} ${v == null ? '—' : v.toFixed(3)}`).join(' · ');
    return h('tr', h('td', box), h('td', h('b', r.name), h('div.muted.small', `v${r.dataset_version ?? '?'} · ${r.status} · ${fmtAgo(r.created_at_ns)}`)),
      h('td.small', means || '—'), h('td.small.muted', r.aggregates?.latency_ms ? `p50 ${fmtMs(r.aggregates.latency_ms.p50)}` : ''));
  })));
  return h('div', table, btn, cmp);
}

async function compareRuns([a, b], box, link) {
  clear(box).append(h('div.muted', 'Comparing…'));
  let cmp;
  try {
    cmp = await post('/api/v1/runs/compare', { run_a: a, run_b: b });
  } catch (e) {
    clear(box).append(h('div.error', e.message));
    return;
  }
  const fmt = (x) => (x == null ? '—' : Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3));
  const verdictClass = (v) => (v === 'better' ? 'delta-down' : v === 'worse' ? 'delta-up' : 'muted');
  const el = h('div',
    h('div.subhead', `${cmp.a?.name ?? 'A'} → ${cmp.b?.name ?? 'B'}`),
    h('table.kv', h('thead', h('tr', h('th', 'metric'), h('th', 'A'), h('th', 'B'), h('th', 'Δ (95% CI)'), h('th', 'verdict'))),
      h('tbody', cmp.metrics.map((m) => h('tr',
        h('th', m.metric), h('td', fmt(m.mean_a)), h('td', fmt(m.mean_b)),
        h('td', m.diff == null ? '—' : `${m.diff > 0 ? '+' : ''}${fmt(m.diff)} [${fmt(m.ci_low)}, ${fmt(m.ci_high)}]`),
        h('td', h(`span.${verdictClass(m.verdict)}`, m.verdict), m.p_value != null ? h('span.muted.small', ` p=${m.p_value.toFixed(3)}`) : null))))));
  for (const [metric, recs] of Object.entries(cmp.worse || {})) {
    if (!recs.length) continue;
    el.append(h('div.subhead', `${metric}: ${recs.length} record${recs.length === 1 ? '' : 's'} got worse`),
      h('table.findings', h('tbody', recs.slice(0, 30).map((r) => h('tr',
        h('td.mono', String(r.record_id).slice(0, 12)), h('td', `${compact(r.a, 40)} → ${compact(r.b, 40)}`),
        h('td', r.trace_a && r.trace_b ? h('a', { href: link('/compare', { a: r.trace_a, b: r.trace_b }) }, 'compare traces') : ''))))));
  }
  clear(box).append(el);
}

// -- no datasets API yet ---------------------------------------------------------------------------------------------

function placeholder(link) {
  const el = h('div.placeholder',
    h('h2', 'Datasets arrive with the quality-loop work'),
    h('p', 'Once the server has the datasets API: create a dataset from the current filter with a field mapping, browse its versions and records, edit expected values inline, export it, and compare evaluation runs.'),
    h('p', 'Until then, the same filter language turns traces into a DataFrame you can save:'),
    h('pre', [
      'import spanscope',
      "spanscope.configure(endpoint='http://127.0.0.1:8417', project='demo')",
      'df = spanscope.search_traces(',
      '    "tag.quality_score < 0.7",',
      "    extract_fields=['span.inputs.messages', 'span.outputs.choices'],",
      ')',
      "df.to_json('low_quality.jsonl', orient='records', lines=True)",
    ].join('\n')),
    h('p', h('a', { href: link('/', { filter: 'tag.quality_score < 0.7' }) }, 'Open these traces on the traces page →')));
  el.dataset.testid = 'datasets-placeholder';
  return el;
}

// The span panel: the header straight from the outline (instant), then the fetched body: inputs, outputs,
// attributes, events (exceptions with their stack traces) and findings.
import { KIND_LABEL, fmtCost, fmtInt, fmtMs, fmtTime, fmtValue, h } from '../util.js';
import { jsonTree } from './jsontree.js';
import { renderValue, textBlock } from './values.js';

function section(title, body, { open = true, count = null, testid = null } = {}) {
  const d = h('details.section', { open },
    h('summary', title, count != null ? h('span.count', String(count)) : null),
    h('div.section-body', body));
  if (testid) d.dataset.testid = testid;
  return d;
}

function kv(rows) {
  return h('table.kv', h('tbody', rows.map(([k, v]) => h('tr', h('th', k), h('td', v)))));
}

export function spanHeader(info) {
  const status = h(`span.badge.${info.status === 'ERROR' ? 'err' : info.status === 'OK' ? 'ok' : 'unset'}`, info.status);
  const el = h('div.span-head',
    h('div.span-title',
      h(`span.kind.k-${info.kind}`, KIND_LABEL[info.kind] || info.kind),
      h('h2.span-name', info.name),
      status),
    h('div.span-facts',
      h('span', h('b', fmtMs(info.durationMs))),
      h('span.muted', `starts +${fmtMs(info.offsetMs)}`),
      info.tokens != null ? h('span', `${fmtInt(info.tokens)} tokens`) : null,
      info.cost != null ? h('span', fmtCost(info.cost)) : null,
      h('span.mono.muted', info.spanId)));
  return el;
}

function exceptionView(ev) {
  const a = ev.attributes || {};
  return h('div.exception',
    h('div.exc-head', h('b', a['exception.type'] || 'Exception'), a['exception.message'] ? `: ${a['exception.message']}` : ''),
    a['exception.stacktrace'] ? h('pre.stack', a['exception.stacktrace']) : null);
}

function eventsView(events, spanStartNs) {
  return h('div.events', events.map((ev) => {
    const offset = ev.time_ns != null && spanStartNs != null ? fmtMs((ev.time_ns - spanStartNs) / 1e6) : '';
    const head = h('div.event-head', h('span.event-name', ev.name), h('span.muted', ` +${offset}`));
    if (ev.name === 'exception') return h('div.event.is-exception', head, exceptionView(ev));
    const attrs = ev.attributes || {};
    return h('div.event', head, Object.keys(attrs).length ? kv(Object.entries(attrs).map(([k, v]) => [k, fmtValue(v)])) : null);
  }));
}

export function findingsView(findings, onSpanClick = null) {
  if (!findings.length) return h('div.muted', 'No findings yet.');
  return h('table.findings', h('thead', h('tr', h('th', 'name'), h('th', 'value'), h('th', 'source'), h('th', 'on'), h('th', 'rationale'), h('th', 'time'))),
    h('tbody', findings.map((f) => {
      let tone = '';
      if (f.value === true) tone = 'good';
      else if (f.value === false) tone = 'bad';
      const on = f.span_id
        ? (onSpanClick ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); onSpanClick(f.span_id); } }, 'span') : 'span')
        : 'trace';
      return h('tr', h('td.mono', f.name), h('td', h('span.fval', { class: tone }, fmtValue(f.value))),
        h(`td`, h(`span.src.src-${f.source}`, f.source)), h('td', on), h('td.rationale', f.rationale || ''), h('td.muted', fmtTime(f.time_ns)));
    })));
}

/** The fetched part of the panel for a span detail (from GET /api/v1/traces/{id}/spans/{span_id}). */
export function spanBody(d, { onFeedback } = {}) {
  const attrs = Object.entries(d.attributes || {}).sort(([a], [b]) => a.localeCompare(b));
  const parts = [];
  if (d.status === 'ERROR' && d.status_message) parts.push(h('div.status-msg', h('b', 'Error: '), d.status_message));
  parts.push(section('Inputs', renderValue(d.inputs), { testid: 'inputs' }));
  parts.push(section('Outputs', renderValue(d.outputs), { testid: 'outputs' }));
  parts.push(section('Attributes', attrs.length ? kv(attrs.map(([k, v]) => [k, typeof v === 'string' ? textBlock(v) : h('span.mono', fmtValue(v))])) : h('div.muted', 'none'), { count: attrs.length, testid: 'attributes' }));
  parts.push(section('Events', d.events?.length ? eventsView(d.events, d.start_time_ns) : h('div.muted', 'none'), { count: d.events?.length || 0, testid: 'events', open: (d.events || []).length > 0 }));
  parts.push(section('Findings', h('div', findingsView(d.findings || []),
    onFeedback ? h('button.small', { onclick: onFeedback }, '+ Feedback on this span') : null), { count: d.findings?.length || 0, testid: 'span-findings' }));
  parts.push(section('Raw', h('div', jsonTree(d, 0)), { open: false }));
  parts.push(h('div.muted.small', `${fmtTime(d.start_time_ns, true)} → ${fmtTime(d.end_time_ns, true)}`));
  return h('div.span-body', parts);
}

// Time range picker: relative ranges (kept relative in the URL) or a custom from/to.
import { h } from '../util.js';

export const RANGES = [
  ['15m', 'Last 15 minutes', 15 * 60e3],
  ['1h', 'Last hour', 3600e3],
  ['6h', 'Last 6 hours', 6 * 3600e3],
  ['24h', 'Last 24 hours', 24 * 3600e3],
  ['7d', 'Last 7 days', 7 * 86400e3],
  ['30d', 'Last 30 days', 30 * 86400e3],
  ['all', 'All time', null],
  ['custom', 'Custom…', null],
];

function toLocalInput(ms) {
  if (ms == null || Number.isNaN(ms)) return '';
  const d = new Date(ms);
  const off = d.getTimezoneOffset() * 60e3;
  return new Date(ms - off).toISOString().slice(0, 16);
}

/** The epoch-ms bounds of a range state {range, from, to}: {from, to} (either may be undefined). */
export function resolveRange(state) {
  if (state.range === 'custom') return { from: state.from ? Number(state.from) : undefined, to: state.to ? Number(state.to) : undefined };
  const found = RANGES.find((r) => r[0] === state.range);
  if (!found || found[2] == null) return {};
  return { from: Math.floor(Date.now() - found[2]) };
}

/** URL params of a range state. */
export function rangeParams(state) {
  if (state.range === 'custom') return { range: 'custom', from: state.from, to: state.to };
  return { range: state.range === 'all' ? undefined : state.range };
}

export function rangeFromQuery(q, fallback = 'all') {
  if (q.from || q.to) return { range: 'custom', from: q.from, to: q.to };
  return { range: RANGES.some((r) => r[0] === q.range) ? q.range : fallback };
}

/** createTimeRange(state, onChange) -> {el, state()} */
export function createTimeRange(initial, onChange) {
  let state = { ...initial };
  const select = h('select.range-select', { 'aria-label': 'Time range' },
    RANGES.map(([v, label]) => h('option', { value: v, selected: v === state.range }, label)));
  select.dataset.testid = 'range-select';
  const from = h('input', { type: 'datetime-local', value: toLocalInput(state.from ? Number(state.from) : Date.now() - 86400e3) });
  const to = h('input', { type: 'datetime-local', value: toLocalInput(state.to ? Number(state.to) : Date.now()) });
  const custom = h('span.range-custom', { hidden: state.range !== 'custom' }, from, ' → ', to);
  const el = h('div.timerange', select, custom);

  function emit() {
    if (state.range === 'custom') {
      state.from = from.value ? String(new Date(from.value).getTime()) : undefined;
      state.to = to.value ? String(new Date(to.value).getTime()) : undefined;
    } else {
      delete state.from;
      delete state.to;
    }
    onChange({ ...state });
  }
  select.addEventListener('change', () => {
    state.range = select.value;
    custom.hidden = state.range !== 'custom';
    emit();
  });
  from.addEventListener('change', emit);
  to.addEventListener('change', emit);
  return { el, state: () => ({ ...state }) };
}

// Small DOM and formatting helpers shared by every page. No framework: pages build elements with h().

/** h('div.row.sel', {onclick, title}, child, 'text', [more]) -> HTMLElement */
export function h(tag, attrs, ...children) {
  const [head, ...classes] = tag.split('.');
  const [name, id] = head.split('#');
  const el = document.createElement(name || 'div');
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className += (el.className ? ' ' : '') + v;
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function debounce(fn, ms) {
  let t = null;
  const wrapped = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(t);
  return wrapped;
}

// -- formatting ------------------------------------------------------------------------------------------

export function fmtMs(ms) {
  if (ms == null || Number.isNaN(ms)) return '—';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} m ${Math.round((ms % 60_000) / 1000)} s`;
}

export function fmtInt(n) {
  if (n == null) return '—';
  return Math.round(n).toLocaleString('en-US');
}

export function fmtCost(usd) {
  if (usd == null) return '—';
  if (usd === 0) return '$0';
  if (usd < 0.01) return `$${usd.toFixed(5)}`;
  return `$${usd.toFixed(usd < 10 ? 3 : 2)}`;
}

export function fmtPct(x) {
  return x == null ? '—' : `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** Local date-time of an epoch in nanoseconds: 2026-11-21 14:03:07 */
export function fmtTime(ns, withMs = false) {
  if (ns == null) return '—';
  const d = new Date(Number(ns) / 1e6);
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${s}.${pad(d.getMilliseconds(), 3)}` : s;
}

export function fmtAgo(ns) {
  if (ns == null) return '';
  const s = (Date.now() - Number(ns) / 1e6) / 1000;
  if (s < 0) return 'in the future';
  if (s < 60) return `${Math.round(s)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export function fmtValue(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toFixed(4));
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export function shortId(id) {
  return id ? `${id.slice(0, 8)}…` : '';
}

// -- URL state -------------------------------------------------------------------------------------------

/** The current query string as an object. */
export function queryParams() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

/** Replace (or push) the query string without re-rendering the page. Empty values are dropped. */
export function setQuery(params, { push = false } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const qs = q.toString();
  const url = location.pathname + (qs ? `?${qs}` : '');
  if (url === location.pathname + location.search) return;
  history[push ? 'pushState' : 'replaceState'](history.state, '', url);
}

export function copyText(text) {
  if (navigator.clipboard?.writeText) return navigator.clipboard.writeText(text).catch(() => {});
  return Promise.resolve();
}

export const KIND_LABEL = {
  llm: 'LLM', tool: 'TOOL', retriever: 'RETR', embedding: 'EMB', chain: 'CHAIN', agent: 'AGENT', db: 'DB',
  http: 'HTTP', guardrail: 'GUARD', evaluator: 'EVAL', other: 'SPAN',
};

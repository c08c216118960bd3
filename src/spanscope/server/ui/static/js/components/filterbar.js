// The filter bar: the same filter language as search_traces, with completion and errors shown at their column.
import { ApiError, fields, get } from '../api.js';
import { debounce, h, clear } from '../util.js';

const STOP = new Set([' ', '\t', '\n', '(', ')', ',', '=', '!', '<', '>', "'", '"']);
const OPERATORS = ['=', '!=', '<', '<=', '>', '>=', 'LIKE', 'ILIKE', 'NOT LIKE', 'NOT ILIKE', 'IN (', 'NOT IN (', 'IS NULL', 'IS NOT NULL'];
const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'LIKE', 'ILIKE', 'IN', 'IS', 'NULL', 'TRUE', 'FALSE']);
const PREFIX_SOURCES = [
  ['span.attributes.', 'attribute_keys', 'attribute'],
  ['tag.', 'tag_keys', 'tag'],
  ['tags.', 'tag_keys', 'tag'],
  ['metadata.', 'metadata_keys', 'metadata'],
  ['finding.', 'finding_names', 'finding'],
  ['feedback.', 'finding_names', 'finding'],
];
const FIELD_HELP = {
  'trace.id': 'trace id', 'trace.name': 'root span name', 'trace.status': 'OK, ERROR, UNSET',
  'trace.timestamp': 'ISO date or epoch ms', 'trace.duration_ms': 'number', 'session.id': 'session',
  'user.id': 'user', 'span.name': 'any span', 'span.kind': 'llm, tool, db…', 'span.status': 'any span',
  'span.duration_ms': 'any span', 'tag.': 'tag.<key>', 'metadata.': 'metadata.<key>', 'finding.': 'finding.<name>',
  'span.attributes.': 'span.attributes.<key>', 'span.inputs.': 'JSON path', 'span.outputs.': 'JSON path',
};

/** Tokens of the text before the caret (enough of the grammar to know what may come next). */
function lex(text) {
  const toks = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) { toks.push({ kind: 'open-string', text: text.slice(i), start: i, quote: c }); return toks; }
      toks.push({ kind: 'string', text: text.slice(i, j + 1), start: i });
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') { toks.push({ kind: c, text: c, start: i }); i++; continue; }
    if ('=!<>'.includes(c)) {
      let j = i + 1;
      while (j < text.length && '=<>'.includes(text[j])) j++;
      toks.push({ kind: 'op', text: text.slice(i, j), start: i });
      i = j;
      continue;
    }
    let j = i;
    while (j < text.length && !STOP.has(text[j])) {
      if (text[j] === '`') { j++; while (j < text.length && text[j] !== '`') j++; }
      j++;
    }
    const word = text.slice(i, Math.min(j, text.length));
    const up = word.toUpperCase();
    if (KEYWORDS.has(up)) toks.push({ kind: 'kw', text: up, start: i });
    else if (/^-?[\d.]/.test(word)) toks.push({ kind: 'number', text: word, start: i });
    else toks.push({ kind: 'field', text: word, start: i });
    i = j;
  }
  return toks;
}

function quoteKey(key) {
  return /[\s()=!<>,'"`]/.test(key) ? `\`${key.replaceAll('`', '')}\`` : key;
}

function sqlString(v) {
  return `'${String(v).replaceAll("'", "''")}'`;
}

/** Suggestions for the caret position: {start, items: [{label, insert, detail, more}]}. */
export function suggest(text, caret, data) {
  const before = text.slice(0, caret);
  const toks = lex(before);
  const last = toks[toks.length - 1];
  // Inside a quoted value: complete span names, kinds and statuses.
  if (last?.kind === 'open-string') {
    const field = [...toks].reverse().find((t) => t.kind === 'field')?.text.toLowerCase() || '';
    const typed = last.text.slice(1);
    let values = [];
    if (field === 'span.name' || field === 'trace.name') values = data.span_names || [];
    else if (field === 'span.kind' || field === 'span.type') values = data.kinds || [];
    else if (field.endsWith('.status')) values = data.statuses || [];
    const items = values
      .filter((v) => v.toLowerCase().includes(typed.toLowerCase()))
      .map((v) => ({ label: v, insert: `${v}${last.quote}`, detail: 'value' }));
    return { start: last.start + 1, items, inString: true };
  }
  const typingWord = before.length > 0 && !STOP.has(before[before.length - 1]);
  const word = typingWord ? last.text : '';
  const start = typingWord ? last.start : caret;
  const prev = typingWord ? toks[toks.length - 2] : last;
  const lower = word.toLowerCase();
  const expectField = !prev || prev.kind === '(' || (prev.kind === 'kw' && ['AND', 'OR', 'NOT'].includes(prev.text));
  if (expectField) {
    for (const [prefix, source, detail] of PREFIX_SOURCES) {
      if (lower.startsWith(prefix)) {
        const rest = word.slice(prefix.length).replaceAll('`', '').toLowerCase();
        const items = (data[source] || [])
          .filter((k) => k.toLowerCase().includes(rest))
          .map((k) => ({ label: `${prefix}${k}`, insert: `${prefix}${quoteKey(k)} `, detail }));
        return { start, items };
      }
    }
    const fieldsList = [...(data.fields || []), ...(data.prefixes || [])];
    const items = fieldsList
      .filter((f) => f.startsWith(lower) || (lower.length > 1 && f.includes(lower)))
      .map((f) => ({ label: f, insert: f.endsWith('.') ? f : `${f} `, detail: FIELD_HELP[f] || '', more: f.endsWith('.') }));
    if (!word) items.unshift({ label: 'NOT', insert: 'NOT ', detail: 'negate' }, { label: '(', insert: '(', detail: 'group' });
    return { start, items };
  }
  if (prev.kind === 'field') {
    const items = OPERATORS.filter((o) => o.toLowerCase().startsWith(lower)).map((o) => ({ label: o.replace(' (', ' (…)'), insert: `${o}${o.endsWith('(') ? '' : ' '}`, detail: 'operator' }));
    return { start, items };
  }
  if (prev.kind === 'kw' && prev.text === 'IS') {
    return { start, items: ['NULL', 'NOT NULL'].filter((o) => o.toLowerCase().startsWith(lower)).map((o) => ({ label: o, insert: `${o} `, detail: '' })) };
  }
  if (prev.kind === 'op' || (prev.kind === '(' && toks.some((t) => t.kind === 'kw' && t.text === 'IN'))) {
    const field = [...toks].reverse().find((t) => t.kind === 'field')?.text.toLowerCase() || '';
    let values = [];
    if (field === 'span.name' || field === 'trace.name') values = data.span_names || [];
    else if (field === 'span.kind') values = data.kinds || [];
    else if (field.endsWith('.status')) values = data.statuses || [];
    const items = values
      .filter((v) => v.toLowerCase().includes(lower))
      .map((v) => ({ label: sqlString(v), insert: `${sqlString(v)} `, detail: 'value' }));
    return { start, items };
  }
  if (['string', 'number', ')'].includes(prev.kind) || (prev.kind === 'kw' && ['NULL', 'TRUE', 'FALSE'].includes(prev.text))) {
    return { start, items: ['AND', 'OR'].filter((o) => o.toLowerCase().startsWith(lower)).map((o) => ({ label: o, insert: `${o} `, detail: '' })) };
  }
  return { start, items: [] };
}

/**
 * createFilterBar({value, placeholder, onSubmit}) -> {el, value(), setValue(), showError(err), clearError(), focus()}
 * Errors come from the server (FilterError: message, column, hint); the token at the column is marked in place.
 */
export function createFilterBar({ value = '', placeholder = '', onSubmit }) {
  const input = h('input.filter-input', {
    type: 'text', value, placeholder, spellcheck: false, autocomplete: 'off', 'aria-label': 'Filter',
  });
  input.dataset.testid = 'filter-input';
  const backdrop = h('div.filter-backdrop', { 'aria-hidden': 'true' });
  const list = h('ul.completion', { role: 'listbox', hidden: true });
  const message = h('div.filter-error', { role: 'alert', hidden: true });
  const wrap = h('div.filter-wrap', backdrop, input, list);
  const el = h('div.filterbar', wrap, message);
  let data = { fields: [], prefixes: [] };
  let state = { items: [], start: 0, active: -1 };
  let error = null;
  let checkSeq = 0;

  fields().then((d) => {
    data = d;
    // Typed before the fields arrived: the list shown was made without them.
    if (document.activeElement === input && input.value) open();
  }).catch(() => {});

  function renderBackdrop() {
    clear(backdrop);
    const text = input.value;
    if (!error) return;
    const i = Math.max(0, Math.min(text.length, (error.column || 1) - 1));
    let j = i;
    while (j < text.length && !/\s/.test(text[j])) j++;
    if (j === i) j = i + 1;
    backdrop.append(text.slice(0, i), h('mark.err', text.slice(i, j) || ' '), text.slice(j));
    backdrop.scrollLeft = input.scrollLeft;
  }

  function showError(err) {
    error = { message: err.message || err.error || String(err), column: err.column ?? null, hint: err.hint || '' };
    el.classList.add('has-error');
    clear(message);
    const text = input.value;
    if (error.column != null) {
      const col = error.column;
      const lo = Math.max(0, col - 50);
      const snippet = text.slice(lo, col + 30);
      message.append(
        h('pre.caret-line', snippet, '\n', ' '.repeat(col - 1 - lo), '^'),
        h('div', h('b', `Column ${col}: `), error.message.replace(/ at column \d+.*$/, '')),
      );
      if (error.hint) message.append(h('div.muted', error.hint));
    } else {
      message.append(h('div', error.message));
    }
    message.hidden = false;
    renderBackdrop();
  }

  function clearError() {
    error = null;
    el.classList.remove('has-error');
    message.hidden = true;
    renderBackdrop();
  }

  const check = debounce(async () => {
    const seq = ++checkSeq;
    const text = input.value.trim();
    if (!text) { clearError(); return; }
    try {
      const out = await get('/api/v1/filter/check', { filter: input.value });
      if (seq !== checkSeq) return;
      if (out.ok) clearError();
      else showError(out);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  }, 250);

  function close() {
    list.hidden = true;
    state = { items: [], start: 0, active: -1 };
  }

  function open(force = false) {
    const s = suggest(input.value, input.selectionStart ?? input.value.length, data);
    const typed = input.value.slice(s.start, input.selectionStart ?? input.value.length);
    // Hide a list whose only item is what's already typed.
    const items = s.items.filter((it) => it.insert.trim() !== typed.trim() || it.more).slice(0, 50);
    // Unasked, a list opens only for a word being typed (so Enter after a complete filter still searches).
    if (!items.length || (!force && !typed && !s.inString)) { close(); return; }
    state = { items, start: s.start, active: 0, navigated: false };
    clear(list);
    items.forEach((it, i) => {
      list.append(h('li', { role: 'option', class: i === 0 ? 'active' : '', onmousedown: (e) => { e.preventDefault(); accept(i); } },
        h('span.label', it.label), it.detail ? h('span.detail', it.detail) : null));
    });
    list.hidden = false;
  }

  function move(delta) {
    if (list.hidden) return;
    const n = state.items.length;
    state.active = (state.active + delta + n) % n;
    state.navigated = true;
    [...list.children].forEach((li, i) => li.classList.toggle('active', i === state.active));
    list.children[state.active]?.scrollIntoView({ block: 'nearest' });
  }

  function accept(i) {
    const it = state.items[i];
    if (!it) return;
    const caret = input.selectionStart ?? input.value.length;
    const text = input.value;
    // Replace the word being typed (to the end of the current token) with the suggestion.
    let end = caret;
    while (end < text.length && !STOP.has(text[end])) end++;
    input.value = text.slice(0, state.start) + it.insert + text.slice(end);
    const pos = state.start + it.insert.length;
    input.setSelectionRange(pos, pos);
    close();
    input.focus();
    open(true); // the next step: keys after a prefix, operators after a field, AND/OR after a value
    check();
  }

  input.addEventListener('input', () => { open(); check(); if (error) renderBackdrop(); });
  input.addEventListener('scroll', () => { backdrop.scrollLeft = input.scrollLeft; });
  input.addEventListener('focus', () => { if (!input.value) open(true); });
  input.addEventListener('blur', () => setTimeout(close, 120));
  input.addEventListener('keydown', (e) => {
    if (e.key === ' ' && e.ctrlKey) { e.preventDefault(); open(true); return; }
    if (!list.hidden && state.items.length) {
      if (e.key === 'ArrowDown') { e.preventDefault(); move(1); return; }
      if (e.key === 'ArrowUp') { e.preventDefault(); move(-1); return; }
      if (e.key === 'Tab' || (e.key === 'Enter' && state.navigated)) { e.preventDefault(); accept(state.active); return; }
      if (e.key === 'Escape') { e.preventDefault(); close(); return; }
    }
    if (e.key === 'Enter') {
      e.preventDefault();
      close();
      check.cancel();
      onSubmit?.(input.value.trim());
    }
  });

  return {
    el,
    input,
    value: () => input.value.trim(),
    setValue: (v) => { input.value = v; clearError(); },
    showError,
    clearError,
    focus: () => input.focus(),
    destroy: () => check.cancel(),
  };
}

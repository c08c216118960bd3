// Inputs and outputs rendered for what they are: chat messages as a conversation (roles, tool calls and
// their results), plain text wrapped, anything else as a collapsible JSON tree.
import { h } from '../util.js';
import { jsonTree } from './jsontree.js';

const CLAMP_CHARS = 1600;
const CLAMP_LINES = 24;

/** Long text, wrapped, clamped with a "show all" toggle. */
export function textBlock(text, cls = '') {
  const s = String(text);
  const el = h('div.text', { class: cls }, s);
  const long = s.length > CLAMP_CHARS || s.split('\n').length > CLAMP_LINES;
  if (!long) return el;
  el.classList.add('clamped');
  const toggle = h('button.link', {
    onclick: () => {
      const clamped = el.classList.toggle('clamped');
      toggle.textContent = clamped ? `Show all (${s.length.toLocaleString('en-US')} characters)` : 'Show less';
    },
  }, `Show all (${s.length.toLocaleString('en-US')} characters)`);
  return h('div', el, toggle);
}

function isMessage(m) {
  return m && typeof m === 'object' && !Array.isArray(m) && typeof m.role === 'string';
}

export function isMessages(v) {
  return Array.isArray(v) && v.length > 0 && v.every(isMessage);
}

function prettyArgs(args) {
  if (typeof args === 'string') {
    try {
      return jsonTree(JSON.parse(args), 3);
    } catch {
      return textBlock(args, 'mono');
    }
  }
  return jsonTree(args, 3);
}

function toolCall(name, args, id) {
  return h('div.toolcall',
    h('div.toolcall-head', h('span.toolcall-icon', '⚙'), h('span', 'calls '), h('code', name || '(unnamed tool)'), id ? h('span.muted.mono', ` ${id}`) : null),
    args != null && args !== '' ? prettyArgs(args) : null);
}

function contentPart(part) {
  if (typeof part === 'string') return textBlock(part);
  if (!part || typeof part !== 'object') return textBlock(String(part));
  switch (part.type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      return textBlock(part.text ?? '');
    case 'image_url':
    case 'image':
    case 'input_image':
      return h('div.muted', '[image] ', typeof part.image_url === 'string' ? part.image_url : part.image_url?.url?.slice(0, 80) || '');
    case 'tool_use':
      return toolCall(part.name, part.input, part.id);
    case 'tool_result':
      return h('div.toolresult', h('div.muted', `result of ${part.tool_use_id || 'tool call'}`), renderContent(part.content));
    default:
      return jsonTree(part, 1);
  }
}

function renderContent(content) {
  if (content == null || content === '') return null;
  if (typeof content === 'string') {
    const parsed = tryJson(content);
    return parsed !== undefined && typeof parsed === 'object' && parsed !== null ? jsonTree(parsed, 2) : textBlock(content);
  }
  if (Array.isArray(content)) return h('div.parts', content.map(contentPart));
  return jsonTree(content, 2);
}

export function messageView(m, extra = null) {
  const role = String(m.role || 'message').toLowerCase();
  const body = h('div.msg-body');
  const content = renderContent(m.content);
  if (content) body.append(content);
  for (const call of m.tool_calls || []) {
    const fn = call.function || call;
    body.append(toolCall(fn.name, fn.arguments ?? fn.input, call.id));
  }
  if (m.function_call) body.append(toolCall(m.function_call.name, m.function_call.arguments));
  if (!content && !(m.tool_calls || []).length && !m.function_call) body.append(h('div.muted', '(empty)'));
  return h(`div.msg.role-${role.replace(/[^a-z_]/g, '')}`,
    h('div.msg-head',
      h('span.role', role),
      m.name ? h('span.muted', ` ${m.name}`) : null,
      m.tool_call_id ? h('span.muted.mono', ` ↳ result of ${m.tool_call_id}`) : null,
      extra),
    body);
}

const KEEP_FIRST = 1;
const KEEP_LAST = 5;

/** Messages as a conversation; a long history folds its middle behind a button. */
export function conversation(messages) {
  const el = h('div.conversation');
  el.dataset.testid = 'conversation';
  if (messages.length <= KEEP_FIRST + KEEP_LAST + 2) {
    for (const m of messages) el.append(messageView(m));
    return el;
  }
  const hidden = messages.slice(KEEP_FIRST, messages.length - KEEP_LAST);
  for (const m of messages.slice(0, KEEP_FIRST)) el.append(messageView(m));
  const more = h('button.fold', { onclick: () => {
    more.replaceWith(...hidden.map((m) => messageView(m)));
  } }, `Show ${hidden.length} earlier messages`);
  el.append(more);
  for (const m of messages.slice(messages.length - KEEP_LAST)) el.append(messageView(m));
  return el;
}

function tryJson(s) {
  const t = s.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

function restOf(obj, skip) {
  const rest = {};
  for (const [k, v] of Object.entries(obj)) if (!skip.includes(k)) rest[k] = v;
  return Object.keys(rest).length ? rest : null;
}

/** The best view of an input or output value. */
export function renderValue(v) {
  if (v === undefined || v === null) return h('div.muted', 'none');
  if (typeof v === 'string') {
    const parsed = tryJson(v);
    if (parsed !== undefined) return renderValue(parsed);
    return textBlock(v);
  }
  if (typeof v !== 'object') return h('div.text.mono', String(v));
  if (isMessages(v)) return conversation(v);
  if (Array.isArray(v)) return jsonTree(v, 2);
  if (isMessages(v.messages)) {
    const rest = restOf(v, ['messages']);
    return h('div', conversation(v.messages), rest ? h('div.rest', h('div.subhead', 'Other fields'), jsonTree(rest, 1)) : null);
  }
  if (Array.isArray(v.choices) && v.choices.length && v.choices.every((c) => isMessage(c?.message))) {
    const rest = restOf(v, ['choices']);
    const el = h('div.conversation');
    el.dataset.testid = 'conversation';
    for (const c of v.choices) {
      el.append(messageView(c.message, c.finish_reason ? h('span.chip.small', c.finish_reason) : null));
    }
    return h('div', el, rest ? h('div.rest', jsonTree(rest, 1)) : null);
  }
  if (isMessage(v) && ('content' in v || 'tool_calls' in v)) return conversation([v]);
  const keys = Object.keys(v);
  if (keys.length === 1 && typeof v[keys[0]] === 'string' && v[keys[0]].length > 60) {
    return h('div', h('div.subhead', keys[0]), textBlock(v[keys[0]]));
  }
  return jsonTree(v, 2);
}

// JSON as a collapsible tree. Children are built when a node is first opened, so a large payload costs
// nothing until someone looks inside it.
import { h } from '../util.js';

const LONG_STRING = 400;

function preview(v) {
  if (Array.isArray(v)) return `[${v.length}]`;
  const keys = Object.keys(v);
  const shown = keys.slice(0, 4).join(', ');
  return `{${shown}${keys.length > 4 ? ', …' : ''}}`;
}

function scalar(v) {
  if (v === null) return h('span.j-null', 'null');
  if (typeof v === 'string') {
    if (v.length > LONG_STRING || v.includes('\n')) {
      return h('div.j-longstr', h('span.j-str.long', v));
    }
    return h('span.j-str', JSON.stringify(v));
  }
  if (typeof v === 'number') return h('span.j-num', String(v));
  if (typeof v === 'boolean') return h('span.j-bool', String(v));
  return h('span', String(v));
}

function node(key, v, depth, openDepth) {
  const label = key == null ? null : h('span.j-key', Array.isArray(key) ? key[0] : `${key}: `);
  if (v === null || typeof v !== 'object') return h('div.j-row', label, scalar(v));
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  if (!entries.length) return h('div.j-row', label, h('span.j-punct', Array.isArray(v) ? '[]' : '{}'));
  const details = h('details.j-node');
  const summary = h('summary', label, h('span.j-preview', preview(v)));
  details.append(summary);
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    const box = h('div.j-children');
    for (const [k, x] of entries) box.append(node(Array.isArray(v) ? [`${k}: `] : k, x, depth + 1, openDepth));
    details.append(box);
  };
  details.addEventListener('toggle', () => { if (details.open) build(); });
  if (depth < openDepth && entries.length <= 50) {
    details.open = true;
    build();
  }
  return details;
}

/** A collapsible tree of `value`, opened `openDepth` levels deep. */
export function jsonTree(value, openDepth = 2) {
  return h('div.jtree', node(null, value, 0, openDepth));
}

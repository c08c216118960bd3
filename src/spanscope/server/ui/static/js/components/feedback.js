// Feedback on a trace or a span: thumbs up/down, a numeric score, a category and a comment, stored as
// findings with source "human" through the feedback API (POST /api/v1/findings, else the native ingest API).
import { logFindings } from '../api.js';
import { h } from '../util.js';

/** A modal dialog; resolves once findings were saved (true) or it was closed (false). */
export function openFeedback({ traceId, spanId = null, targetLabel, findingNames = [] }) {
  return new Promise((resolve) => {
    let thumbs = null;
    const up = h('button.thumb', { type: 'button', title: 'Thumbs up', 'aria-label': 'Thumbs up' }, '👍');
    const down = h('button.thumb', { type: 'button', title: 'Thumbs down', 'aria-label': 'Thumbs down' }, '👎');
    const setThumb = (v) => {
      thumbs = thumbs === v ? null : v;
      up.classList.toggle('on', thumbs === true);
      down.classList.toggle('on', thumbs === false);
    };
    up.addEventListener('click', () => setThumb(true));
    down.addEventListener('click', () => setThumb(false));
    up.dataset.testid = 'thumb-up';
    down.dataset.testid = 'thumb-down';

    const listId = `finding-names-${Math.random().toString(36).slice(2)}`;
    const datalist = h('datalist', { id: listId }, findingNames.map((n) => h('option', { value: n })));
    const thumbName = h('input.name', { value: 'thumbs_up', list: listId, 'aria-label': 'Thumbs finding name' });
    const scoreName = h('input.name', { value: 'score', list: listId, 'aria-label': 'Score finding name' });
    const score = h('input', { type: 'number', step: 'any', placeholder: 'e.g. 0.8', 'aria-label': 'Score' });
    const categoryName = h('input.name', { value: 'category', list: listId, 'aria-label': 'Category finding name' });
    const category = h('input', { type: 'text', placeholder: 'e.g. hallucination', list: `${listId}-cat`, 'aria-label': 'Category' });
    const catList = h('datalist', { id: `${listId}-cat` },
      ['correct', 'hallucination', 'wrong_tool', 'off_topic', 'unsafe', 'too_long', 'incomplete'].map((c) => h('option', { value: c })));
    const comment = h('textarea', { rows: 3, placeholder: 'What was right or wrong? (saved as the rationale)', 'aria-label': 'Comment' });
    const status = h('div.form-status', { role: 'status' });
    const save = h('button.primary', { type: 'submit' }, 'Save feedback');
    save.dataset.testid = 'save-feedback';

    const dlg = h('dialog.dialog.feedback-dialog',
      h('form', { method: 'dialog' },
        h('h3', 'Feedback on ', h('span.target', targetLabel)),
        h('div.fb-grid',
          h('label', 'Thumbs'), h('div.fb-row', up, down, h('span.muted', 'as'), thumbName),
          h('label', 'Score'), h('div.fb-row', score, h('span.muted', 'as'), scoreName),
          h('label', 'Category'), h('div.fb-row', category, h('span.muted', 'as'), categoryName),
          h('label', 'Comment'), comment),
        datalist, catList,
        status,
        h('div.actions', h('button', { type: 'button', onclick: () => { dlg.close(); } }, 'Cancel'), save)));

    dlg.querySelector('form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const rationale = comment.value.trim() || undefined;
      const base = { trace_id: traceId, ...(spanId ? { span_id: spanId } : {}), metadata: { via: 'ui' } };
      const items = [];
      if (thumbs !== null) items.push({ ...base, name: thumbName.value.trim() || 'thumbs_up', value: thumbs, value_type: 'bool', rationale });
      if (score.value.trim() !== '') {
        const num = Number(score.value);
        if (Number.isNaN(num)) { status.textContent = 'The score must be a number.'; return; }
        items.push({ ...base, name: scoreName.value.trim() || 'score', value: num, value_type: 'float', rationale });
      }
      if (category.value.trim()) items.push({ ...base, name: categoryName.value.trim() || 'category', value: category.value.trim(), value_type: 'category', rationale });
      if (!items.length && rationale) items.push({ ...base, name: 'comment', value: rationale, value_type: 'text' });
      if (!items.length) { status.textContent = 'Pick a thumb, a score, a category or write a comment.'; return; }
      save.disabled = true;
      status.textContent = 'Saving…';
      try {
        await logFindings(items);
        status.textContent = 'Saved.';
        dlg.returnValue = 'saved';
        dlg.close();
      } catch (err) {
        status.textContent = `Not saved: ${err.message}`;
        save.disabled = false;
      }
    });
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(dlg.returnValue === 'saved');
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

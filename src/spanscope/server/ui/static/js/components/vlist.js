// A virtual list of fixed-height rows: only the rows in view (plus a margin) exist in the DOM.
// Row elements live in a pool; row i always uses slot i % poolSize, so scrolling one row re-renders one row.

/**
 * createVList({rowHeight, createRow(), renderRow(el, index), overscan}) ->
 *   {el, content, setCount(n), refresh(), scrollToIndex(i, align), firstVisible()}
 * `content` is the full-height box inside the scroller: overlays (the selection) are positioned in it.
 */
export function createVList({ rowHeight, createRow, renderRow, overscan = 10, className = 'vlist' }) {
  const el = document.createElement('div');
  el.className = className;
  el.tabIndex = 0;
  const content = document.createElement('div');
  content.className = 'vlist-content';
  el.append(content);
  let count = 0;
  let pool = [];
  let viewport = 0;

  function ensurePool() {
    const need = Math.ceil((viewport || 800) / rowHeight) + 2 * overscan + 1;
    if (pool.length >= need) return;
    // Growing the pool changes the slot of every index: start over.
    for (const r of pool) r.remove();
    pool = [];
    for (let s = 0; s < need; s++) {
      const row = createRow();
      row.style.position = 'absolute';
      row.style.left = '0';
      row.style.right = '0';
      row.style.height = `${rowHeight}px`;
      row.__idx = -1;
      row.hidden = true;
      content.append(row);
      pool.push(row);
    }
  }

  function render() {
    const top = el.scrollTop;
    const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
    const last = Math.min(count - 1, Math.ceil((top + viewport) / rowHeight) + overscan);
    const size = pool.length;
    const used = new Uint8Array(size);
    for (let i = first; i <= last; i++) {
      const slot = i % size;
      const row = pool[slot];
      used[slot] = 1;
      if (row.__idx !== i) {
        row.__idx = i;
        renderRow(row, i);
        row.style.transform = `translateY(${i * rowHeight}px)`;
      }
      if (row.hidden) row.hidden = false;
    }
    for (let s = 0; s < size; s++) {
      if (!used[s] && !pool[s].hidden) {
        pool[s].hidden = true;
        pool[s].__idx = -1;
      }
    }
  }

  el.addEventListener('scroll', render, { passive: true });
  const ro = new ResizeObserver(() => {
    const h = el.clientHeight;
    if (h !== viewport) {
      viewport = h;
      ensurePool();
      render();
    }
  });
  ro.observe(el);

  return {
    el,
    content,
    rowHeight,
    setCount(n) {
      count = n;
      content.style.height = `${n * rowHeight}px`;
      viewport = el.clientHeight || viewport;
      ensurePool();
      for (const r of pool) r.__idx = -1;
      render();
    },
    refresh() {
      for (const r of pool) r.__idx = -1;
      render();
    },
    /** Re-render one row if it is in the DOM. */
    refreshRow(i) {
      const row = pool[i % pool.length];
      if (row && row.__idx === i) renderRow(row, i);
    },
    scrollToIndex(i, align = 'auto') {
      const y = i * rowHeight;
      const h = el.clientHeight;
      if (align === 'center') el.scrollTop = Math.max(0, y - h / 2 + rowHeight / 2);
      else if (y < el.scrollTop) el.scrollTop = y;
      else if (y + rowHeight > el.scrollTop + h) el.scrollTop = y + rowHeight - h;
      render();
    },
    firstVisible: () => Math.floor(el.scrollTop / rowHeight),
    destroy() {
      ro.disconnect();
    },
  };
}

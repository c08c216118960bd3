// The dashboard: over a time range and an optional filter, request count, error rate, latency percentiles
// per span name, tokens and cost per model, and the mean of a finding or tag over time (Chart.js, vendored).
import { ApiError, fields, get } from '../api.js';
import { createFilterBar } from '../components/filterbar.js';
import { createTimeRange, rangeFromQuery, rangeParams, resolveRange } from '../components/timerange.js';
import { clear, fmtCost, fmtInt, fmtMs, fmtPct, h, queryParams, setQuery } from '../util.js';

const BUCKETS = 24;
const COLORS = { ok: '#6c8cff', err: '#e5484d', p50: '#3d6bff', p95: '#f08c00', tokens: '#7c5cff', cost: '#12b886', metric: '#e64980' };
let chartJs = null;

/** Chart.js is loaded only on this page (the trace page's first load stays small). */
function loadChartJs() {
  if (!chartJs) {
    chartJs = new Promise((resolve, reject) => {
      if (window.Chart) { resolve(window.Chart); return; }
      const s = document.createElement('script');
      s.src = '/static/vendor/chartjs/chart.umd.min.js';
      s.onload = () => resolve(window.Chart);
      s.onerror = () => { chartJs = null; reject(new Error('could not load Chart.js')); };
      document.head.append(s);
    });
  }
  return chartJs;
}

function bucketLabel(ns, width) {
  const d = new Date(ns / 1e6);
  const p = (x) => String(x).padStart(2, '0');
  const day = `${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return width >= 86400e9 ? day : `${day} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export async function mount(root) {
  const q = queryParams();
  const view = { filter: q.filter || '', range: rangeFromQuery(q, '7d'), metric: q.metric || '' };
  const charts = [];
  let seq = 0;

  const filterBar = createFilterBar({ value: view.filter, placeholder: 'Optional filter, e.g. tag.model = \'gpt-4o\'', onSubmit: (t) => { view.filter = t; load(); } });
  const timeRange = createTimeRange(view.range, (r) => { view.range = r; load(); });
  const metricSelect = h('select', { 'aria-label': 'Metric' });
  metricSelect.dataset.testid = 'metric-select';
  const kpis = h('div.kpis');
  const status = h('div.muted');
  const canvases = {};
  const chartCard = (key, title, extra = null, cls = '') => {
    canvases[key] = h('canvas', { 'aria-label': title, role: 'img' });
    const box = h('div.chart-box', canvases[key]);
    const card = h(`div.chart-card${cls}`, h('h3', title, h('span.spacer'), extra), box);
    card.dataset.chart = key;
    return card;
  };
  const grid = h('div.charts',
    chartCard('requests', 'Requests and errors over time'),
    chartCard('latency', 'Latency over time (p50 / p95)'),
    chartCard('spans', 'Latency per span name (p50 / p95)', null, '.tall'),
    chartCard('models', 'Tokens and cost per model', null, '.tall'),
    chartCard('metric', 'Mean over time', metricSelect, '.wide'));
  root.append(h('section.page.dashboard-page',
    h('div.toolbar', filterBar.el, timeRange.el, h('button.primary', { onclick: () => { view.filter = filterBar.value(); load(); } }, 'Apply')),
    status, kpis, grid));

  const fieldData = await fields().catch(() => ({ finding_names: [], numeric_tag_keys: [] }));
  const options = [
    ...fieldData.finding_names.map((n) => [`finding:${n}`, `finding · ${n}`]),
    ...(fieldData.numeric_tag_keys || []).map((k) => [`tag:${k}`, `tag · ${k}`]),
  ];
  if (!view.metric) view.metric = options.find(([v]) => v.endsWith(':quality_score'))?.[0] || options[0]?.[0] || '';
  for (const [v, label] of options) metricSelect.append(h('option', { value: v, selected: v === view.metric }, label));
  if (!options.length) metricSelect.append(h('option', { value: '' }, 'no findings or numeric tags yet'));
  metricSelect.addEventListener('change', () => { view.metric = metricSelect.value; load(); });

  function kpi(label, value, bad = false) {
    return h('div.kpi', h('div.label', label), h('div.value', { class: bad ? 'bad' : '' }, value));
  }

  function draw(Chart, key, config) {
    const existing = charts.find((c) => c.key === key);
    if (existing) existing.chart.destroy();
    const idx = charts.findIndex((c) => c.key === key);
    if (idx >= 0) charts.splice(idx, 1);
    const chart = new Chart(canvases[key], {
      ...config,
      options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } }, ...config.options },
    });
    charts.push({ key, chart });
  }

  async function load() {
    const s = ++seq;
    setQuery({ project: queryParams().project, filter: view.filter, ...rangeParams(view.range), metric: view.metric });
    status.textContent = 'Loading…';
    const { from, to } = resolveRange(view.range);
    let data;
    let Chart;
    try {
      [data, Chart] = await Promise.all([get('/api/v1/ui/dashboard', { filter: view.filter, from, to, metric: view.metric, buckets: BUCKETS }), loadChartJs()]);
    } catch (e) {
      if (s !== seq) return;
      if (e instanceof ApiError && e.column != null) filterBar.showError({ message: e.message, column: e.column });
      status.textContent = `Error: ${e.message}`;
      return;
    }
    if (s !== seq) return;
    filterBar.clearError();
    const sm = data.summary;
    status.textContent = sm.count ? '' : 'No traces match this filter and time range.';
    clear(kpis).append(
      kpi('Requests', fmtInt(sm.count)),
      kpi('Error rate', fmtPct(sm.error_rate), sm.error_rate > 0.05),
      kpi('p50 latency', fmtMs(sm.p50_ms)),
      kpi('p95 latency', fmtMs(sm.p95_ms)),
      kpi('Tokens', fmtInt(sm.tokens)),
      kpi('Cost', fmtCost(sm.cost_usd)));
    const ser = data.series;
    const labels = ser.bucket_start_ns.map((ns) => bucketLabel(ns, ser.bucket_ns));
    const timeAxis = { ticks: { maxRotation: 0, autoSkipPadding: 12 }, grid: { display: false } };
    draw(Chart, 'requests', {
      type: 'bar',
      data: { labels, datasets: [
        { label: 'ok', data: (ser.count || []).map((c, i) => c - ser.errors[i]), backgroundColor: COLORS.ok, stack: 'r' },
        { label: 'with an error', data: ser.errors || [], backgroundColor: COLORS.err, stack: 'r' }] },
      options: { scales: { x: { ...timeAxis, stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'traces' } } } },
    });
    draw(Chart, 'latency', {
      type: 'line',
      data: { labels, datasets: [
        { label: 'p50', data: ser.p50_ms || [], borderColor: COLORS.p50, backgroundColor: COLORS.p50, spanGaps: true, pointRadius: 2 },
        { label: 'p95', data: ser.p95_ms || [], borderColor: COLORS.p95, backgroundColor: COLORS.p95, spanGaps: true, pointRadius: 2 }] },
      options: { scales: { x: timeAxis, y: { beginAtZero: true, title: { display: true, text: 'ms' } } } },
    });
    draw(Chart, 'spans', {
      type: 'bar',
      data: { labels: data.span_names.map((r) => r.name), datasets: [
        { label: 'p50 ms', data: data.span_names.map((r) => r.p50_ms), backgroundColor: COLORS.p50 },
        { label: 'p95 ms', data: data.span_names.map((r) => r.p95_ms), backgroundColor: COLORS.p95 }] },
      options: { indexAxis: 'y', scales: { x: { beginAtZero: true, title: { display: true, text: 'ms' } }, y: { ticks: { autoSkip: false, font: { size: 11 } } } },
        plugins: { tooltip: { callbacks: { afterLabel: (ctx) => `${fmtInt(data.span_names[ctx.dataIndex].count)} spans, ${data.span_names[ctx.dataIndex].errors} errors` } } } },
    });
    draw(Chart, 'models', {
      type: 'bar',
      data: { labels: data.models.map((m) => m.model), datasets: [
        { label: 'tokens', data: data.models.map((m) => m.tokens), backgroundColor: COLORS.tokens, yAxisID: 'y' },
        { label: 'cost (USD)', data: data.models.map((m) => m.cost_usd), backgroundColor: COLORS.cost, yAxisID: 'y1' }] },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'tokens' } }, y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'USD' } } } },
    });
    const metricName = view.metric ? view.metric.replace(':', ' · ') : 'no metric';
    draw(Chart, 'metric', {
      type: 'line',
      data: { labels, datasets: [{ label: `mean ${metricName}`, data: ser.metric_mean || [], borderColor: COLORS.metric, backgroundColor: COLORS.metric, spanGaps: true, pointRadius: 2 }] },
      options: { scales: { x: timeAxis, y: { title: { display: true, text: metricName } } },
        plugins: { tooltip: { callbacks: { afterLabel: (ctx) => `${(ser.metric_count || [])[ctx.dataIndex] || 0} values` } } } },
    });
    document.body.dataset.dashboardReady = String(s);
  }

  await load();
  return { destroy: () => { for (const c of charts) c.chart.destroy(); filterBar.destroy(); } };
}

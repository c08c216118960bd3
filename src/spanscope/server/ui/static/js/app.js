// The shell: routes on location (History API), keeps the project in the URL, loads each page on demand.
import { get, session, setApiKey, setProject, storedProject, forgetFields } from './api.js';
import { h, clear } from './util.js';

const ROUTES = [
  [/^\/$/, 'traces'],
  [/^\/traces\/([0-9a-f]{32})\/?$/, 'trace'],
  [/^\/compare\/?$/, 'compare'],
  [/^\/dashboard\/?$/, 'dashboard'],
  [/^\/datasets(\/.*)?$/, 'datasets'],
];

const main = document.getElementById('app');
const projectSelect = document.getElementById('project');
let current = null; // {name, page}
let renderSeq = 0;
let projects = null;

/** A URL inside the app that keeps the project in force. */
export function link(path, params = {}) {
  const q = new URLSearchParams();
  if (session.project) q.set('project', session.project);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}

export function navigate(url, { replace = false } = {}) {
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  render();
}

function match(pathname) {
  for (const [re, name] of ROUTES) {
    const m = pathname.match(re);
    if (m) return { name, params: m.slice(1) };
  }
  return null;
}

async function resolveProject() {
  const fromUrl = new URLSearchParams(location.search).get('project');
  if (fromUrl) {
    setProject(fromUrl);
    return;
  }
  if (!projects) await loadProjects();
  const names = (projects || []).map((p) => p.name);
  const stored = storedProject();
  setProject(stored && names.includes(stored) ? stored : names[0] || stored || 'default');
}

async function loadProjects() {
  try {
    const out = await get('/api/v1/projects');
    projects = out.projects;
  } catch {
    projects = [];
  }
  fillProjects();
}

function fillProjects() {
  clear(projectSelect);
  const names = (projects || []).map((p) => p.name);
  if (session.project && !names.includes(session.project)) names.unshift(session.project);
  for (const p of names) {
    const info = (projects || []).find((x) => x.name === p);
    projectSelect.append(h('option', { value: p, selected: p === session.project }, info ? `${p} (${info.traces})` : p));
  }
}

function markNav(name) {
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.classList.toggle('active', a.dataset.nav === (name === 'trace' ? 'traces' : name));
    a.setAttribute('href', link(a.dataset.path));
  }
}

async function render() {
  const seq = ++renderSeq;
  const route = match(location.pathname);
  await resolveProject();
  if (seq !== renderSeq) return;
  if (projects) fillProjects();
  if (current?.page?.destroy) current.page.destroy();
  current = null;
  clear(main);
  if (!route) {
    main.append(h('div.empty', h('h2', 'Not found'), h('p', 'No page here. ', h('a', { href: link('/') }, 'Back to traces'))));
    return;
  }
  markNav(route.name);
  const mod = await import(`./pages/${route.name}.js`);
  if (seq !== renderSeq) return;
  const page = await mod.mount(main, { params: route.params, link, navigate });
  if (seq !== renderSeq) {
    page?.destroy?.();
    return;
  }
  current = { name: route.name, page };
}

// Internal links navigate without reloading the page.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/static/') || url.pathname.startsWith('/api/')) return;
  e.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

projectSelect.addEventListener('change', () => {
  setProject(projectSelect.value);
  forgetFields();
  const route = match(location.pathname);
  // A trace belongs to one project: switching project goes back to the list.
  navigate(link(route && route.name !== 'trace' && route.name !== 'compare' ? location.pathname : '/'));
});

session.onAuthNeeded = () => {
  if (document.getElementById('auth-dialog')) return;
  const input = h('input', { type: 'password', placeholder: 'API key', autocomplete: 'off', size: 40 });
  const dlg = h(
    'dialog#auth-dialog.dialog',
    h('form', { method: 'dialog', onsubmit: () => { setApiKey(input.value.trim()); projects = null; setTimeout(() => { dlg.remove(); render(); }); } },
      h('h3', 'This server requires an API key'),
      h('p.muted', 'The key is kept in this browser (localStorage) and sent as Authorization: Bearer.'),
      input,
      h('div.actions', h('button.primary', { type: 'submit' }, 'Use key'))),
  );
  document.body.append(dlg);
  dlg.showModal();
};

loadProjects().then(render);

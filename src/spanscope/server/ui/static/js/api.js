// The HTTP API as the pages use it: the project in force, the optional API key, errors with a column.

const KEY_STORAGE = 'spanscope.apiKey';
const PROJECT_STORAGE = 'spanscope.project';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.column = body?.column ?? null;
  }
}

export const session = {
  project: null,
  apiKey: localStorage.getItem(KEY_STORAGE) || null,
  onAuthNeeded: null, // set by app.js: shows the key prompt
};

export function setApiKey(key) {
  session.apiKey = key || null;
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

export function setProject(name) {
  session.project = name;
  if (name) localStorage.setItem(PROJECT_STORAGE, name);
}

export function storedProject() {
  return localStorage.getItem(PROJECT_STORAGE);
}

export function headers(extra = {}) {
  const out = { ...extra };
  if (session.apiKey) out.Authorization = `Bearer ${session.apiKey}`;
  if (session.project) out['X-Spanscope-Project'] = session.project;
  return out;
}

export function apiUrl(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}

async function parse(res) {
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { error: text.slice(0, 300) };
  }
  if (!res.ok) {
    if (res.status === 401 && session.onAuthNeeded) session.onAuthNeeded();
    throw new ApiError(res.status, body);
  }
  return body;
}

/** GET path?params, JSON answer. `prefetched` is a Response promise started before the modules loaded. */
export async function get(path, params = {}, { signal, prefetched } = {}) {
  const res = prefetched ? await prefetched : await fetch(apiUrl(path, params), { headers: headers(), signal });
  return parse(res);
}

export async function post(path, body, { signal } = {}) {
  const res = await fetch(path, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify(body),
    signal,
  });
  return parse(res);
}

let findingsApi = null; // true / false once known: does the server have POST /api/v1/findings?

/**
 * Write findings with source "human": through the feedback API (POST /api/v1/findings, what log_feedback
 * uses) when the server has it, else through the native ingest API.
 */
export async function logFindings(findings) {
  const items = findings.map((f) => ({ source: 'human', ...f }));
  if (findingsApi !== false) {
    try {
      const out = await post('/api/v1/findings', { findings: items });
      findingsApi = true;
      return out;
    } catch (e) {
      if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 405)) throw e;
      findingsApi = false;
    }
  }
  const plain = items.map(({ value_type: _, ...f }) => f); // ingest's Finding has no value_type
  const out = await post('/api/v1/ingest', { findings: plain });
  if (out?.rejected?.length) throw new ApiError(400, { error: out.rejected.map((r) => r.reason).join('; ') });
  return out;
}

// Completion data per project, fetched once and shared by every filter bar.
const fieldCache = new Map();
export function fields() {
  const key = session.project || '';
  if (!fieldCache.has(key)) {
    fieldCache.set(key, get('/api/v1/fields').catch((e) => { fieldCache.delete(key); throw e; }));
  }
  return fieldCache.get(key);
}
export function forgetFields() {
  fieldCache.clear();
}

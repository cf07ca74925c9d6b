// api.js — the console's one door to the server: the same native API the CLI calls, with the
// user's token. The token lives in memory and in sessionStorage (a reload keeps the session,
// closing the tab ends it); never in a cookie, never in a URL.
const KEY = 'switchyard.token';
let token = '';
try { token = sessionStorage.getItem(KEY) || ''; } catch { /* storage refused: memory only */ }
let authLost = () => {};

export function getToken() { return token; }
export function setToken(t) {
  token = t || '';
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch { /* memory only */ }
}
/* fn(message) is called when the server refuses the token (401): the session is over. */
export function onAuthLost(fn) { authLost = fn; }

/* An answer other than 2xx: the API's own code and message ({"error":{"code","message"}}). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/* One request; resolves with the answer's exact text, rejects with ApiError. */
export async function apiText(method, path, body) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, cache: 'no-store', credentials: 'omit', redirect: 'error' });
  } catch {
    throw new ApiError(0, 'Unreachable', 'the server cannot be reached');
  }
  const text = await res.text();
  if (!res.ok) {
    let e = null;
    try { e = JSON.parse(text).error; } catch { /* not JSON */ }
    const err = new ApiError(res.status, (e && e.code) || `HTTP ${res.status}`,
      (e && e.message) || text.slice(0, 300) || res.statusText);
    if (res.status === 401) authLost(err.message);
    throw err;
  }
  return text;
}

/* One request; resolves with the answer's JSON (null when it has none), rejects with ApiError. */
export async function api(method, path, body) {
  const text = await apiText(method, path, body);
  try { return text ? JSON.parse(text) : null; } catch { return null; }
}

/* A parameter name as a path below /api/v1/params: each segment escaped, slashes kept. */
export function namePath(name) {
  return name.split('/').map(encodeURIComponent).join('/');
}

/* A query string from an object; undefined, null and '' values are left out. */
export function qs(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/* Who the token is: {name, scopes}. */
export function whoami() { return api('GET', '/api/v1/whoami'); }

// The backend list of the reference server's control API, and a directory
// that names an endpoint URL ("#1 · :8082") for display.

let tokenRequest = null;

/**
 * The page server's control token (GET /api/token, a same-origin request that
 * pages of other sites cannot read). Asked once, again after a failure.
 */
function controlToken() {
  if (!tokenRequest) {
    tokenRequest = fetch('/api/token', { cache: 'no-store', credentials: 'same-origin' })
      .then(async (response) => {
        const payload = await response.json().catch(() => null);
        if (!response.ok || !payload || typeof payload.token !== 'string') {
          throw new Error((payload && typeof payload.error === 'string' && payload.error) || `GET /api/token: HTTP ${response.status}`);
        }
        return payload;
      })
      .catch((err) => {
        tokenRequest = null;
        throw err;
      });
  }
  return tokenRequest;
}

async function request(path, method, body) {
  const headers = {};
  if (body) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const { token, header } = await controlToken();
    headers[header] = token;
  }
  const response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined, cache: 'no-store' });
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    // not JSON: the status check below reports it
  }
  return { response, payload };
}

/**
 * Calls the page server's control API; resolves with the JSON answer or throws
 * its error. Mutating calls carry the control token (asked for once; asked
 * again once if the server refuses it, e.g. after a restart made a new one).
 */
export async function api(path, { method = 'GET', body } = {}) {
  let { response, payload } = await request(path, method, body);
  if (response.status === 403 && method !== 'GET' && method !== 'HEAD' && tokenRequest) {
    tokenRequest = null;
    ({ response, payload } = await request(path, method, body));
  }
  if (!response.ok) throw new Error((payload && typeof payload.error === 'string' && payload.error) || `${method} ${path}: HTTP ${response.status}`);
  return payload;
}

/** GET /api/backends: [{ index, url, origin, mode, openStreams, connections, chatUrl, logsUrl, messagesUrl }]. */
export function loadBackends() {
  return api('/api/backends');
}

/** POST /api/backends/:i/kill or /revive. */
export function controlBackend(index, action) {
  if (action !== 'kill' && action !== 'revive') throw new TypeError(`unknown action ${action}`);
  return api(`/api/backends/${Number(index)}/${action}`, { method: 'POST' });
}

function normalize(url) {
  try {
    return new URL(url, location.href).href;
  } catch {
    return String(url);
  }
}

/**
 * Maps the stream URLs of one channel (e.g. every backend's chatUrl) to the
 * backend's index, for labels, colours and the control buttons.
 */
export class BackendDirectory {
  /**
   * @param {{ index: number, origin: string }[]} backends from loadBackends()
   * @param {string} urlField 'chatUrl' or 'logsUrl'
   */
  constructor(backends, urlField) {
    this.backends = backends;
    // A backend removed at runtime is no endpoint of a new page.
    const members = backends.filter((b) => !b.removed);
    this.urls = members.map((b) => b[urlField]);
    this.byUrl = new Map(members.map((b) => [normalize(b[urlField]), b.index]));
  }

  /** Backend index of an endpoint URL, or -1. */
  indexOf(url) {
    if (url === null || url === undefined) return -1;
    const i = this.byUrl.get(url) ?? this.byUrl.get(normalize(url));
    return i === undefined ? -1 : i;
  }

  /** Port of backend i ('' if unknown). */
  port(i) {
    const b = this.backends[i];
    if (!b) return '';
    try {
      return new URL(b.origin).port;
    } catch {
      return '';
    }
  }

  /** "#1" for a known endpoint URL, else the URL's host. */
  short(url) {
    const i = this.indexOf(url);
    if (i >= 0) return `#${i}`;
    try {
      return new URL(url).host;
    } catch {
      return String(url ?? '–');
    }
  }

  /** "#1 · :8082". */
  long(url) {
    const i = this.indexOf(url);
    return i >= 0 ? `#${i} · :${this.port(i)}` : this.short(url);
  }
}

/** Shows a message in the page's #fatal banner. */
export function fatal(message) {
  const node = document.getElementById('fatal');
  node.textContent = message;
  node.hidden = false;
}

/**
 * What every page needs before it can stream: the backend directory for its
 * channel (`urlField`) and the library. Shows the reason in #fatal and
 * resolves with null when either cannot be loaded.
 */
export async function loadPageDeps(urlField) {
  let backends;
  try {
    backends = await loadBackends();
  } catch (err) {
    fatal(`Could not load the backend list from /api/backends: ${err.message}`);
    return null;
  }
  try {
    const lib = await import('../dist/sse-balancer.js');
    return { directory: new BackendDirectory(backends, urlField), lib };
  } catch (err) {
    fatal(`Could not load the sse-balancer library: ${err.message}. Has web/dist been built (npm run build)?`);
    return null;
  }
}

// Static file server for the pages and the e2e test pages.
//
// Serves files below the repository root under their repo-relative paths, but
// only those below an allow-list of page directories (and single files):
// every request path is first normalised (percent-escapes decoded once;
// encoded "/", "\\" and NUL, raw "\\" and NUL refused; "//" collapsed; "." and
// ".." resolved, never above the root), then checked against the list, so
// no spelling of a path reaches the server's source, node_modules or dotfiles.
// Later routes (the extraRoutes, express.static) see the normalised path.

import http from 'node:http';
import path from 'node:path';
import express from 'express';
import { listen } from './listen.js';

/**
 * What `npm start`'s page server serves: the pages, their shared code, the
 * library and its Wasm build; nothing else. An entry ending in "/" is a
 * directory (everything below it), others one file.
 */
export const PAGE_ALLOW = Object.freeze(['/web/chat/', '/web/logs/', '/web/demo/', '/web/shared/', '/web/dist/']);

/** What the test and bench page servers serve: the same and the test pages. */
export const DEFAULT_ALLOW = Object.freeze([...PAGE_ALLOW, '/tests/e2e/pages/', '/tests/bench/browser/pages/']);

/** A request whose headers and body have not all arrived by then is answered 408 (then at most 1 s later). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 25_000;

/**
 * Normalise the path of a request URL (without its query).
 * @param {string} rawPath e.g. "/web/chat/../chat/chat.js"
 * @returns {{ path: string, segments: string[] } | null} null when refused
 */
export function normalizePath(rawPath) {
  if (typeof rawPath !== 'string' || !rawPath.startsWith('/')) return null;
  // Encoded separators and NUL would turn into path syntax after decoding.
  if (/%(2f|5c|00)/i.test(rawPath)) return null;
  let decoded;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return null; // a malformed escape
  }
  if (/[\\\u0000-\u001f\u007f]/.test(decoded)) return null;
  const segments = [];
  const parts = decoded.split('/');
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (segments.length === 0) return null; // above the root
      segments.pop();
      continue;
    }
    segments.push(part);
  }
  const last = parts[parts.length - 1];
  const dir = segments.length > 0 && (last === '' || last === '.' || last === '..');
  return { path: `/${segments.join('/')}${dir ? '/' : ''}`, segments: dir ? [...segments, ''] : segments };
}

function checkAllow(allow) {
  if (!Array.isArray(allow)) throw new TypeError('startPageServer: `allow` must be an array of paths');
  return allow.map((entry) => {
    const n = typeof entry === 'string' ? normalizePath(entry) : null;
    if (!n || n.path !== entry || entry === '/' || n.segments.some((s) => s.startsWith('.'))) {
      throw new RangeError(`startPageServer: invalid allow entry ${JSON.stringify(entry)} (a normalised path like "/web/chat/" or "/web/dist/sse-balancer.js")`);
    }
    return entry;
  });
}

/** Is the normalised `p` below an allowed directory or an allowed file? "/web/chat" counts (it redirects to "/web/chat/"). */
function isAllowed(allow, p) {
  return allow.some((entry) => (entry.endsWith('/') ? p.startsWith(entry) || `${p}/` === entry : p === entry));
}

/**
 * @param {{
 *   host?: string,
 *   port?: number,
 *   root: string,
 *   csp?: string,
 *   extraRoutes?: (app: import('express').Express) => void, // see the normalised path
 *   allow?: string[],   // default DEFAULT_ALLOW
 *   requestTimeoutMs?: number, // a request (headers and body) not complete by then gets 408 (default 25000)
 * }} options
 */
export async function startPageServer(options = {}) {
  const { host = '127.0.0.1', port = 0, root, csp, extraRoutes, allow = DEFAULT_ALLOW, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS } = options;
  if (typeof root !== 'string' || root === '') throw new TypeError('startPageServer: `root` (the repository root) is required');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`startPageServer: invalid port ${port}`);
  if (!Number.isSafeInteger(requestTimeoutMs) || requestTimeoutMs < 1) throw new RangeError(`startPageServer: invalid requestTimeoutMs ${requestTimeoutMs}`);
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders(csp));
  app.use(normalizeRequestPath);
  if (typeof extraRoutes === 'function') extraRoutes(app);
  // Browsers ask for it on every page; answer quietly instead of a 404 that
  // shows up as a console error in the tests.
  app.get('/favicon.ico', (req, res) => res.status(204).end());
  app.use(allowedFiles(path.resolve(root), checkAllow(allow)));
  app.use((req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    const status = err.status || err.statusCode || 500;
    if (res.headersSent) return res.destroy();
    res.status(status).type('text/plain').send(status >= 500 ? 'internal error\n' : `${err.message}\n`);
  });
  return listenForPages(app, { host, port, requestTimeoutMs });
}

// Security headers first, so they are on every response, errors included.
function securityHeaders(csp) {
  return (req, res, next) => {
    if (csp) res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    // No page of ours may be framed by another site (clickjacking the demo's Kill buttons).
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  };
}

// One spelling per path for everything after this: refused, or rewritten to
// the normalised path (re-encoded, so express.static decodes it exactly once).
function normalizeRequestPath(req, res, next) {
  const q = req.url.indexOf('?');
  const rawPath = q === -1 ? req.url : req.url.slice(0, q);
  const n = normalizePath(rawPath);
  if (!n) return res.status(404).type('text/plain').send('not found\n');
  req.url = `/${n.segments.map(encodeURIComponent).join('/')}${q === -1 ? '' : req.url.slice(q)}`;
  res.locals.normalizedPath = n.path; // decoded, for the allow-list
  next();
}

/** GET and HEAD of the files below `root` that the allow-list names. */
function allowedFiles(root, allowed) {
  const files = express.static(root, {
    dotfiles: 'ignore',
    index: ['index.html'],
    redirect: true, // /web/demo -> /web/demo/
    fallthrough: true,
    setHeaders(res, filePath) {
      // Always revalidate: the dist files change on every rebuild.
      res.setHeader('Cache-Control', 'no-cache');
      if (filePath.endsWith('.wasm')) res.setHeader('Content-Type', 'application/wasm');
      else if (filePath.endsWith('.js') || filePath.endsWith('.mjs')) res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    },
  });
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (!isAllowed(allowed, res.locals.normalizedPath)) return next();
    return files(req, res, next);
  };
}

async function listenForPages(app, { host, port, requestTimeoutMs }) {
  // A body that trickles in must not hold a connection for ever: Node answers
  // 408 once the whole request has not arrived within requestTimeoutMs
  // (checked every second, so at most a second later).
  const server = http.createServer(
    { requestTimeout: requestTimeoutMs, headersTimeout: Math.min(requestTimeoutMs, 20_000), connectionsCheckingInterval: Math.min(1000, requestTimeoutMs) },
    app,
  );
  server.keepAliveTimeout = 1000;
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const actualPort = await listen(server, port, host);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing = null;
  function close() {
    if (!closing) {
      closing = new Promise((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    }
    return closing;
  }
  return { port: actualPort, origin: `http://${urlHost}:${actualPort}`, app, server, close };
}

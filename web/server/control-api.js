// The control API of the page server: the backends' state, and kill /
// revive / fault mode for the demo page and the tests. Mutating calls need
// the server's token, which only its own pages can read.
//
//   GET  /api/backends               [{ index, url, origin, chatUrl, logsUrl, messagesUrl, mode, openStreams, connections }]
//   GET  /api/modes                  the fault modes setMode accepts
//   GET  /api/token                  { token, header: 'X-Control-Token' }, same-origin pages only
//   POST /api/backends/:i/kill       (also /revive, /drain with {"withinMs": N}, and /mode with {"mode": "..."}) -> the backend as above
//   POST /api/restart                a rolling restart: each backend drains, goes down and comes back
//   POST /api/backends               one more backend -> the backend as above; every stream hears the new list
//   DELETE /api/backends/:i          backend i leaves (its clients move first, it drains {"drainMs": N}, then stops)

import crypto from 'node:crypto';
import express from 'express';
import { MODES } from './backend-cluster.js';

/** The header that carries the control token on every mutating call of the control API. */
export const CONTROL_TOKEN_HEADER = 'X-Control-Token';

/** One backend as the page server shows it: where it is and what it streams. */
export function publicBackend(b) {
  return Object.freeze({
    index: b.index,
    removed: b.removed,
    url: b.url,
    origin: b.origin,
    chatUrl: b.channels.chat,
    logsUrl: b.channels.logs,
    messagesUrl: b.messagesUrl,
  });
}

function sameSecret(given, token) {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function isLoopback(host) {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function parseIndex(raw, count) {
  if (!/^\d{1,3}$/.test(raw)) return null;
  const i = Number(raw);
  return i < count ? i : null;
}

const deny = (res, error) => res.status(403).json({ error });

/**
 * Installs the control API on `app`. `server` gives what exists once the
 * deployment runs: { cluster, pageOrigins (a Set), pageOrigin, host, token }.
 */
export function installControlApi(app, server) {
  app.get('/', (req, res) => res.redirect(302, '/web/chat/'));
  const api = express.Router();
  api.use((req, res, next) => checkMutation(req, res, next, server));
  // Bodies are read only after the checks above passed.
  api.use(express.json({ limit: '16kb' }));
  api.get('/token', (req, res) => giveToken(req, res, server));
  api.get('/modes', (req, res) => res.json(MODES));
  const status = (i) => {
    const { cluster } = server;
    return { ...publicBackend(cluster.backends[i]), mode: cluster.mode(i), openStreams: cluster.openStreams(i), connections: cluster.connectionCount(i) };
  };
  api.get('/backends', (req, res) => res.json(server.cluster.backends.map((b) => status(b.index))));
  const action = (fn) => async (req, res, next) => {
    const count = server.cluster.backends.length;
    const i = parseIndex(req.params.i, count);
    if (i === null) return res.status(400).json({ error: `bad backend index ${JSON.stringify(req.params.i)}; expected 0..${count - 1}` });
    try {
      const err = await fn(i, req);
      if (err) return res.status(400).json({ error: err });
      res.json(status(i));
    } catch (e) {
      next(e);
    }
  };
  api.post('/backends/:i/kill', action((i) => server.cluster.kill(i)));
  api.post('/backends/:i/revive', action((i) => server.cluster.revive(i)));
  api.post(
    '/backends/:i/drain',
    action((i, req) => {
      const withinMs = req.body?.withinMs ?? server.drainMs;
      if (!Number.isSafeInteger(withinMs) || withinMs < 0 || withinMs > 600_000) return 'withinMs must be an integer number of ms in [0, 600000]';
      server.cluster.drain(i, withinMs);
    }),
  );
  api.post('/backends', async (req, res, next) => {
    try {
      const i = await server.cluster.addBackend();
      res.status(201).json(status(i));
    } catch (e) {
      next(e);
    }
  });
  api.delete(
    '/backends/:i',
    action(async (i, req) => {
      const drainMs = req.body?.drainMs ?? 0;
      if (!Number.isSafeInteger(drainMs) || drainMs < 0 || drainMs > 600_000) return 'drainMs must be an integer number of ms in [0, 600000]';
      await server.cluster.removeBackend(i, drainMs);
    }),
  );
  // Every backend drains, goes down and comes back, one after the other.
  api.post('/restart', async (req, res, next) => {
    try {
      await server.cluster.rollingRestart(server.drainMs);
      res.json(server.cluster.backends.map((b) => status(b.index)));
    } catch (e) {
      next(e);
    }
  });
  api.post(
    '/backends/:i/mode',
    action(async (i, req) => {
      const mode = req.body && req.body.mode;
      if (!MODES.includes(mode)) return `mode must be one of ${MODES.join(', ')}`;
      await server.cluster.setMode(i, mode);
    }),
  );
  api.use((req, res) => res.status(404).json({ error: 'not found' }));
  // eslint-disable-next-line no-unused-vars
  api.use((err, req, res, next) => {
    const code = err.status || err.statusCode || 500;
    res.status(code).json({ error: code >= 500 ? 'internal error' : err.message });
    if (code >= 500) console.error(err);
  });
  app.use('/api', api);
}

// Mutating calls must come from our own pages (no cross-site CSRF), with the token.
function checkMutation(req, res, next, { pageOrigins, token }) {
  res.set('Cache-Control', 'no-store');
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  const origin = req.get('Origin');
  if (origin !== undefined && !pageOrigins.has(origin)) return deny(res, `origin ${origin} is not allowed to control the backends`);
  if (!sameSecret(req.get(CONTROL_TOKEN_HEADER), token)) {
    return deny(
      res,
      `missing or wrong ${CONTROL_TOKEN_HEADER} header: the control API needs this server's token, which its own pages read from GET /api/token`,
    );
  }
  next();
}

// The token, for our own pages only. A page of another site cannot read the
// answer (no Access-Control-Allow-Origin); the Host check stops a DNS-rebound
// name, and browsers say where a request comes from in Sec-Fetch-Site
// (required on loopback, where browsers always send it).
function giveToken(req, res, { pageOrigins, pageOrigin, host, token }) {
  const origin = req.get('Origin');
  const site = req.get('Sec-Fetch-Site');
  if (!pageOrigins.has(`http://${req.get('Host')}`)) {
    return deny(res, `the control token is only given to pages of ${pageOrigin} (Host ${JSON.stringify(req.get('Host') ?? '')})`);
  }
  if (origin !== undefined && !pageOrigins.has(origin)) return deny(res, `origin ${origin} may not read the control token`);
  if (site !== undefined ? site !== 'same-origin' : isLoopback(host)) {
    return deny(res, `the control token is only given to same-origin requests of this server's pages (Sec-Fetch-Site: ${site ?? 'missing'})`);
  }
  res.set('Vary', 'Origin, Sec-Fetch-Site');
  res.json({ token, header: CONTROL_TOKEN_HEADER });
}

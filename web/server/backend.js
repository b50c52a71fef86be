// One SSE backend: an Express app on its own port (its own origin) serving
// the stream routes, /health and the chat API, with its lifecycle (listen,
// go down with every socket reset) and its fault mode.

import http from 'node:http';
import express from 'express';
import { listen } from './listen.js';
import { answerFault } from './fault-modes.js';
import { parseResumeId, requestedResumeId } from './sse-format.js';
import { SseStream } from './sse-stream.js';

/** requestLog(i) keeps the most recent this many requests per backend. */
export const REQUEST_LOG_LIMIT = 10_000;

/**
 * What every backend of a cluster shares:
 * @typedef {{
 *   host: string,
 *   requestTimeoutMs: number,
 *   streamRoutes: { path: string, source: object }[],
 *   chat: { install: Function } | null,
 *   cors: (req, res, options?) => boolean,
 *   stream: import('./sse-stream.js').StreamContext,
 * }} BackendContext
 */

/** A backend (not listening yet) on `port` (0: any). */
export function createBackend(index, port, context) {
  const backend = {
    index,
    port,
    mode: 'ok',
    settings: {}, // options of the current mode (see modeSettings)
    server: null,
    sockets: new Set(),
    streams: new Set(),
    timers: new Set(),
    pending: new Set(), // cancel functions of 'slow-accept' requests still waiting
    connections: 0,
    drainUntil: null, // Date.now() by which it goes away, while it drains
    requests: [], // requestLog entries, trimmed to REQUEST_LOG_LIMIT lazily
    removed: false, // taken out of the cluster at runtime (removeBackend)
    app: express(),
  };
  installRoutes(backend, context);
  return backend;
}

function installRoutes(backend, context) {
  const { app } = backend;
  const { cors } = context;
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/health', (req, res) => {
    if (!cors(req, res)) return;
    res.type('text/plain').send('ok');
  });
  // EventSource never preflights, but a fetch()-based client sending
  // Last-Event-ID would; answer it so such clients work too.
  for (const route of context.streamRoutes) {
    app.options(route.path, (req, res) => {
      if (!cors(req, res)) return;
      res.set('Access-Control-Allow-Methods', 'GET');
      res.set('Access-Control-Allow-Headers', 'Last-Event-ID, Cache-Control');
      res.set('Access-Control-Max-Age', '600');
      res.status(204).end();
    });
    app.get(route.path, (req, res) => accept(backend, context, req, res, route));
  }
  if (context.chat) context.chat.install(app, { cors, index: backend.index });
  app.use((req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    const status = err.status || err.statusCode || 500;
    if (!res.headersSent) res.status(status).type('text/plain').send(status >= 500 ? 'internal error\n' : `${err.message}\n`);
    else res.destroy();
  });
}

/** A stream request: logged, then answered in the backend's current mode. */
function accept(backend, context, req, res, route) {
  backend.connections++;
  const { mode, settings } = backend;
  const { lastEventId, truncated } = requestedResumeId(req);
  backend.requests.push(Object.freeze({ at: Date.now(), lastEventId, lastEventIdTruncated: truncated, mode, path: route.path }));
  if (backend.requests.length >= 2 * REQUEST_LOG_LIMIT) backend.requests.splice(0, backend.requests.length - REQUEST_LOG_LIMIT);
  if (mode === 'slow-accept') acceptSlowly(backend, context, req, res, route, settings.delayMs);
  else serve(backend, context, req, res, mode, settings, route);
}

// 'slow-accept': the connection is accepted but nothing at all (not even the
// status line) is written until the delay is over; then the request is
// answered as in mode 'ok'. A client leaving early cancels the timer.
function acceptSlowly(backend, context, req, res, route, delayMs) {
  let waiting = true;
  const stopWaiting = () => {
    if (!waiting) return false;
    waiting = false;
    backend.pending.delete(stopWaiting);
    clearTimeout(t);
    backend.timers.delete(t);
    res.off('close', stopWaiting);
    return true;
  };
  const t = setTimeout(() => {
    if (!stopWaiting()) return;
    if (res.destroyed || res.writableEnded || !backend.server) return;
    serve(backend, context, req, res, 'ok', {}, route);
  }, delayMs);
  backend.timers.add(t);
  backend.pending.add(stopWaiting);
  res.on('close', stopWaiting);
}

/** Answer a stream request in `mode` (any mode but 'slow-accept' and 'down'). */
function serve(backend, context, req, res, mode, settings, route) {
  if (!context.cors(req, res)) return;
  if (answerFault(res, mode, backend.timers)) return;
  const resume = parseResumeId(req);
  if (!resume.ok) {
    res.status(400).type('text/plain').send(resume.message);
    return;
  }
  new SseStream({
    req,
    res,
    mode,
    settings,
    source: route.source,
    streams: backend.streams,
    // A stream that joins while the backend is stalled is stalled too.
    stalled: mode === 'stall' || backend.mode === 'stall',
    resumeId: resume.id,
    context: context.stream,
    drainingMs: () => (backend.drainUntil === null ? null : Math.max(0, backend.drainUntil - Date.now())),
    loads: () => ({ load: backend.streams.size, peers: context.peerLoads() }),
    endpoints: () => context.endpointsFor(route.path),
  });
}

/** Listens on the backend's port (the same one again after a kill). */
export async function startBackend(backend, { host, requestTimeoutMs }) {
  // requestTimeout covers receiving a request (headers + body), not the
  // response: a trickling POST body gets 408, an SSE stream is unbounded.
  // Node looks for expired requests every connectionsCheckingInterval.
  const server = http.createServer({
    requestTimeout: requestTimeoutMs,
    headersTimeout: Math.min(10_000, requestTimeoutMs),
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeoutMs / 4))),
  }, backend.app);
  server.keepAliveTimeout = 1000;
  server.timeout = 0; // no idle-socket timeout: SSE streams may be quiet between heartbeats
  server.on('connection', (socket) => {
    backend.sockets.add(socket);
    socket.on('close', () => backend.sockets.delete(socket));
  });
  backend.port = await listen(server, backend.port, host);
  backend.server = server;
  backend.drainUntil = null;
  backend.mode = 'ok';
  backend.settings = {};
}

/**
 * Announces to every stream, open or opened from now on, that the backend
 * goes away within `withinMs` (the clients move first). Returns how many
 * open streams were told.
 */
export function drainBackend(backend, withinMs) {
  backend.drainUntil = Date.now() + withinMs;
  let told = 0;
  for (const stream of backend.streams) if (!stream.over && stream.res.headersSent && stream.sendDrain(withinMs)) told++;
  return told;
}

/**
 * Tells every open stream the cluster's current endpoint list (after a
 * backend was added or removed). Returns how many streams were told.
 */
export function announceEndpoints(backend) {
  let told = 0;
  for (const stream of backend.streams) {
    const list = stream.endpoints();
    if (list !== null && !stream.over && stream.res.headersSent && stream.sendEndpoints(list)) told++;
  }
  return told;
}

/** Goes down: port closed, every socket reset, every timer and stream ended. */
export async function stopBackend(backend) {
  backend.mode = 'down';
  backend.settings = {};
  const server = backend.server;
  backend.server = null;
  for (const t of backend.timers) clearTimeout(t);
  backend.timers.clear();
  // Cancel pending 'slow-accept' waits; their sockets are reset below.
  for (const cancel of [...backend.pending]) cancel();
  for (const s of [...backend.streams]) s.cleanup();
  const closing = server ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve();
  for (const socket of backend.sockets) {
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  }
  backend.sockets.clear();
  await closing;
}

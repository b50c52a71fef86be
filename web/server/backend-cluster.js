// A small cluster of Server-Sent Events backends for the demo and the e2e
// tests. Every backend is its own Express app listening on its own port (so
// each one is a different origin) and they all stream the same shared
// EventLog. Backends can be killed (sockets reset, port closed), revived on the
// same port, or put into a fault mode at runtime.

import http from 'node:http';
import express from 'express';
import { EventLog } from './event-log.js';

/** Fault modes accepted by setMode(). */
export const MODES = Object.freeze([
  'ok',
  'status-500',
  'status-204',
  'status-404',
  'bad-content-type',
  'stall',
  'down',
]);

const STATUS_MODES = { 'status-500': 500, 'status-204': 204, 'status-404': 404 };

/** How long a 'bad-content-type' response stays open before it is ended. */
const BAD_CONTENT_TYPE_OPEN_MS = 300;

/** A client that stops reading is dropped once this much output is queued. */
const MAX_BUFFERED_BYTES = 1 << 20;

/** Longest Last-Event-ID / lastEventId value accepted (MAX_SAFE_INTEGER has 16 digits). */
const MAX_ID_DIGITS = 16;

/**
 * Serialise one log entry as an SSE frame.
 * @param {{id:number,type:string,data:string}} entry
 */
export function formatEvent(entry) {
  let out = `id: ${entry.id}\n`;
  // An event type can never span lines; strip anything that would break framing.
  const type = String(entry.type).replace(/[\r\n]/g, '');
  if (type !== 'message' && type !== '') out += `event: ${type}\n`;
  for (const line of String(entry.data).split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}

/**
 * Parse the resume position of a request.
 * @returns {{ ok: true, id: number|null } | { ok: false, message: string }}
 */
function parseResumeId(req) {
  let raw;
  let source;
  const header = req.get('Last-Event-ID');
  if (header !== undefined && header.trim() !== '') {
    raw = header.trim();
    source = 'Last-Event-ID header';
  } else if (req.query.lastEventId !== undefined) {
    raw = req.query.lastEventId;
    source = 'lastEventId query parameter';
  } else {
    return { ok: true, id: null };
  }
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || raw.length > MAX_ID_DIGITS || !Number.isSafeInteger(Number(raw))) {
    const shown = typeof raw === 'string' ? JSON.stringify(raw.slice(0, 40)) : 'a repeated parameter';
    return {
      ok: false,
      message: `Bad Request: the ${source} must be a non-negative integer event id, got ${shown}\n`,
    };
  }
  return { ok: true, id: Number(raw) };
}

function assertMode(mode) {
  if (!MODES.includes(mode)) {
    throw new TypeError(`unknown backend mode ${JSON.stringify(mode)}; expected one of ${MODES.join(', ')}`);
  }
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    const onError = (err) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address().port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Start `count` SSE backends sharing one EventLog.
 *
 * @param {{
 *   count?: number,
 *   host?: string,
 *   ports?: number[],
 *   allowedOrigins?: string[],
 *   log?: EventLog,
 *   heartbeatMs?: number,
 *   path?: string,
 * }} [options]
 */
export async function startCluster(options = {}) {
  const {
    count = 3,
    host = '127.0.0.1',
    ports = undefined,
    allowedOrigins = [],
    log = new EventLog(),
    heartbeatMs = 5000,
    path = '/events',
  } = options;

  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  if (ports !== undefined) {
    if (!Array.isArray(ports) || ports.length < count) {
      throw new RangeError(`ports must be an array with at least ${count} entries`);
    }
    for (const p of ports.slice(0, count)) {
      if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`invalid port ${p}`);
    }
  }
  if (!Array.isArray(allowedOrigins)) throw new TypeError('allowedOrigins must be an array of origins');
  if (!Number.isFinite(heartbeatMs) || heartbeatMs <= 0) throw new RangeError(`heartbeatMs must be a positive number, got ${heartbeatMs}`);
  if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`path must start with "/", got ${path}`);

  const anyOrigin = allowedOrigins.includes('*');
  const origins = new Set(allowedOrigins);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed = false;

  /** Applies the CORS policy; returns false (and answers 403) for a foreign origin. */
  function cors(req, res) {
    res.vary('Origin');
    const origin = req.get('Origin');
    if (origin === undefined) return true; // same-origin or non-browser client
    if (!anyOrigin && !origins.has(origin)) {
      res.status(403).type('text/plain').send(`Forbidden: origin ${origin} is not allowed\n`);
      return false;
    }
    res.set('Access-Control-Allow-Origin', origin);
    res.set('Access-Control-Allow-Credentials', 'true');
    return true;
  }

  function createBackend(index) {
    const b = {
      index,
      port: ports ? ports[index] : 0,
      mode: 'ok',
      server: null,
      sockets: new Set(),
      streams: new Set(),
      timers: new Set(),
      connections: 0,
      app: express(),
    };

    const app = b.app;
    app.disable('x-powered-by');
    app.set('etag', false);

    app.get('/health', (req, res) => {
      if (!cors(req, res)) return;
      res.type('text/plain').send('ok');
    });

    // EventSource never preflights, but a fetch()-based client sending
    // Last-Event-ID would; answer it so such clients work too.
    app.options(path, (req, res) => {
      if (!cors(req, res)) return;
      res.set('Access-Control-Allow-Methods', 'GET');
      res.set('Access-Control-Allow-Headers', 'Last-Event-ID, Cache-Control');
      res.set('Access-Control-Max-Age', '600');
      res.status(204).end();
    });

    app.get(path, (req, res) => {
      b.connections++;
      if (!cors(req, res)) return;

      const mode = b.mode;
      if (STATUS_MODES[mode]) {
        res.status(STATUS_MODES[mode]);
        if (mode === 'status-204') res.end();
        else res.type('text/plain').send(`${STATUS_MODES[mode]} (fault mode ${mode})\n`);
        return;
      }
      if (mode === 'bad-content-type') {
        // setHeader (not res.set) so Express does not append a charset.
        res.statusCode = 200;
        res.setHeader('Content-Type', 'text/plain');
        res.setHeader('Cache-Control', 'no-cache');
        res.flushHeaders();
        res.write('this is not an event stream\n');
        const t = setTimeout(() => {
          b.timers.delete(t);
          res.end('bye\n');
        }, BAD_CONTENT_TYPE_OPEN_MS);
        b.timers.add(t);
        res.on('close', () => {
          clearTimeout(t);
          b.timers.delete(t);
        });
        return;
      }

      const resume = parseResumeId(req);
      if (!resume.ok) {
        res.status(400).type('text/plain').send(resume.message);
        return;
      }

      res.statusCode = 200;
      res.setHeader('Content-Type', 'text/event-stream');
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('Connection', 'keep-alive');
      res.setHeader('X-Accel-Buffering', 'no');
      res.flushHeaders();
      req.socket.setNoDelay(true);

      const stream = { req, res, stalled: mode === 'stall', heartbeat: null, unsubscribe: null, lastSent: 0, done: false };
      const cleanup = () => {
        if (stream.done) return;
        stream.done = true;
        b.streams.delete(stream);
        if (stream.heartbeat) clearInterval(stream.heartbeat);
        if (stream.unsubscribe) stream.unsubscribe();
      };
      stream.cleanup = cleanup;
      b.streams.add(stream);
      req.on('close', cleanup);
      res.on('close', cleanup);

      // 'stall': headers are out, but nothing else is ever written.
      if (stream.stalled) return;

      const write = (chunk) => {
        if (stream.done || stream.stalled) return;
        if (res.destroyed || res.writableEnded) {
          cleanup();
          return;
        }
        res.write(chunk);
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          // The client stopped reading; drop it rather than buffer forever.
          cleanup();
          res.destroy();
        }
      };

      write(': ok\n\n');
      if (resume.id !== null) {
        for (const entry of log.since(resume.id)) {
          write(formatEvent(entry));
          stream.lastSent = entry.id;
        }
      }
      stream.unsubscribe = log.subscribe((entry) => {
        if (entry.id <= stream.lastSent) return;
        stream.lastSent = entry.id;
        write(formatEvent(entry));
      });
      stream.heartbeat = setInterval(() => write(`event: heartbeat\ndata: ${Date.now()}\n\n`), heartbeatMs);
      stream.heartbeat.unref?.();
    });

    app.use((req, res) => {
      res.status(404).type('text/plain').send('not found\n');
    });
    // eslint-disable-next-line no-unused-vars
    app.use((err, req, res, next) => {
      const status = err.status || err.statusCode || 500;
      if (!res.headersSent) res.status(status).type('text/plain').send(status >= 500 ? 'internal error\n' : `${err.message}\n`);
      else res.destroy();
    });

    return b;
  }

  async function startServer(b) {
    const server = http.createServer(b.app);
    server.keepAliveTimeout = 1000;
    server.requestTimeout = 0; // SSE responses are unbounded
    server.headersTimeout = 10000;
    server.timeout = 0;
    server.on('connection', (socket) => {
      b.sockets.add(socket);
      socket.on('close', () => b.sockets.delete(socket));
    });
    b.port = await listen(server, b.port, host);
    b.server = server;
    b.mode = 'ok';
  }

  async function stopServer(b) {
    b.mode = 'down';
    const server = b.server;
    b.server = null;
    for (const t of b.timers) clearTimeout(t);
    b.timers.clear();
    for (const s of [...b.streams]) s.cleanup();
    const closing = server
      ? new Promise((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    for (const socket of b.sockets) {
      if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
      else socket.destroy();
    }
    b.sockets.clear();
    await closing;
  }

  const backends = [];
  for (let i = 0; i < count; i++) backends.push(createBackend(i));
  try {
    for (const b of backends) await startServer(b);
  } catch (err) {
    await Promise.all(backends.map((b) => stopServer(b)));
    throw err;
  }

  // Serialise kill/revive per backend so concurrent calls cannot interleave.
  const queues = backends.map(() => Promise.resolve());
  function enqueue(i, fn) {
    const next = queues[i].then(fn, fn);
    queues[i] = next.catch(() => {});
    return next;
  }

  function get(i) {
    if (!Number.isInteger(i) || i < 0 || i >= backends.length) {
      throw new RangeError(`backend index must be an integer in [0, ${backends.length - 1}], got ${i}`);
    }
    return backends[i];
  }

  const publicBackends = backends.map((b) =>
    Object.freeze({
      index: b.index,
      port: b.port,
      origin: `http://${urlHost}:${b.port}`,
      url: `http://${urlHost}:${b.port}${path}`,
    }),
  );

  function kill(i) {
    const b = get(i);
    return enqueue(i, () => stopServer(b));
  }

  function revive(i) {
    const b = get(i);
    return enqueue(i, async () => {
      if (closed) throw new Error('cluster is closed');
      if (b.server) {
        b.mode = 'ok';
        return;
      }
      await startServer(b);
    });
  }

  /**
   * Change a backend's fault mode. 'down' kills it; leaving 'down' revives it
   * (both asynchronous: await the returned promise). Other changes take effect
   * immediately for new requests. Switching to 'stall' also silences the
   * streams already open on that backend (no more events or heartbeats), to
   * simulate a hung server.
   */
  function setMode(i, mode) {
    const b = get(i);
    assertMode(mode);
    if (mode === 'down') return kill(i);
    if (!b.server) {
      return revive(i).then(() => {
        b.mode = mode;
      });
    }
    b.mode = mode;
    if (mode === 'stall') for (const s of b.streams) s.stalled = true;
    return Promise.resolve();
  }

  /** End every open SSE response of backend i gracefully (server stays up). */
  function dropStreams(i) {
    const b = get(i);
    const n = b.streams.size;
    for (const s of [...b.streams]) {
      s.cleanup();
      s.res.end();
    }
    return n;
  }

  async function close() {
    closed = true;
    await Promise.all(backends.map((b, i) => enqueue(i, () => stopServer(b))));
  }

  return {
    backends: publicBackends,
    log,
    kill,
    revive,
    setMode,
    mode: (i) => get(i).mode,
    openStreams: (i) => get(i).streams.size,
    totalOpenStreams: () => backends.reduce((n, b) => n + b.streams.size, 0),
    connectionCount: (i) => get(i).connections,
    dropStreams,
    close,
  };
}

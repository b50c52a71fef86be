// A small cluster of Server-Sent Events backends for the demo and the e2e
// tests. Every backend is its own Express app listening on its own port (so
// each one is a different origin). Each serves:
//
//   GET <path> (default /events)  the store channel named by `defaultChannel`
//                                 (only when one is given)
//   GET /<channel>/events         one stream per configured channel of `store`
//                                 (an async log store, see stores/common.js;
//                                 default channels chat and logs)
//   POST /chat/messages, GET /chat/health   when `chat` is a channel (chat-api.js)
//
// Backends can be killed (sockets reset, port closed), revived on the same
// port, made to flap between the two, or put into a fault mode at runtime;
// every fault mode applies to every stream path.

import http from 'node:http';
import express from 'express';
import { MemoryStore } from './stores/memory-store.js';
import { checkChannel } from './stores/common.js';
import { createChatService } from './chat-api.js';
import { listen } from './listen.js';

/** Fault modes accepted by setMode(). */
export const MODES = Object.freeze([
  'ok',
  'status-500',
  'status-204',
  'status-404',
  'bad-content-type',
  'stall',
  'down',
  'slow-accept',
  'drop-after',
  'reset-after',
]);

const STATUS_MODES = { 'status-500': 500, 'status-204': 204, 'status-404': 404 };

/** Options each mode accepts in setMode(i, mode, options); other modes take none. */
const MODE_OPTIONS = Object.freeze({
  'slow-accept': ['delayMs'],
  'drop-after': ['count'],
  'reset-after': ['count'],
});

/** Default number of events a 'drop-after' / 'reset-after' stream carries. */
const DEFAULT_END_AFTER_COUNT = 1;

/** Longest delay setTimeout() honours (larger values fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Shortest flap() period. */
const MIN_FLAP_PERIOD_MS = 50;

/** requestLog(i) keeps the most recent this many requests per backend. */
const REQUEST_LOG_LIMIT = 10_000;

/**
 * The request log keeps at most this many characters of a resume id (a valid
 * one has at most 16 digits), and at most LOGGED_ID_VALUES values of a
 * repeated query parameter, so that an entry stays small whatever the request
 * carried (a 15 KB Last-Event-ID header must not be kept 20,000 times).
 */
export const LOGGED_ID_CHARS = 64;
const LOGGED_ID_VALUES = 4;

/**
 * Default `requestTimeoutMs`: a request (headers and body) must be received
 * in full within this time, else Node answers 408 and closes the connection.
 * It does not bound responses, so SSE streams last as long as they like.
 */
const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;

/** How long a 'bad-content-type' response stays open before it is ended. */
const BAD_CONTENT_TYPE_OPEN_MS = 300;

/**
 * Default `maxBufferedBytes`: a client that stops reading is dropped when a
 * write is due while more than this many bytes of earlier output are still
 * unsent. The check runs before each write, so one large event (e.g. 5 MB) is
 * always written in full; the bound on memory per client is this plus one
 * frame. Everything is written as Buffers, so the count is in bytes.
 */
const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * Default `maxTotalBufferedBytes`: the most unsent output all streams of the
 * cluster together may hold. Above it, replays wait and a live write to a
 * stream that holds more than SLOW_CLIENT_FLOOR_BYTES drops that stream.
 */
const DEFAULT_MAX_TOTAL_BUFFERED_BYTES = 64 * 1024 * 1024;


/**
 * Default `slowClientMs`: a replay that has waited this long for its client
 * to take what was already written (no 'drain') drops the client.
 */
const DEFAULT_SLOW_CLIENT_MS = 10_000;

/** Entries read from the store per replay page. */
const REPLAY_PAGE = 500;

/** A replay writes in chunks of about this many bytes ... */
const REPLAY_CHUNK_BYTES = 64 * 1024;

/** ... and waits for 'drain' while more than this is unsent. */
const REPLAY_HIGH_WATER_BYTES = 256 * 1024;

/**
 * A stream opens only once the store has answered (a replay page, or its last
 * id without a resume id) within this time; else 503 with Retry-After.
 */
const STORE_OPEN_TIMEOUT_MS = 3000;

/**
 * Under total pressure, streams holding no more than this are never dropped
 * (a replay holds up to its high-water mark plus a chunk).
 */
const SLOW_CLIENT_FLOOR_BYTES = REPLAY_HIGH_WATER_BYTES + 2 * REPLAY_CHUNK_BYTES;

/**
 * At most this many replay chunks are written per turn of the event loop,
 * over all streams of the cluster, so that other requests (a health check, a
 * new stream) are served between turns however many replays run at once.
 */
const REPLAY_CHUNKS_PER_TURN = 16;

/** totalBuffered() is recomputed at most this often. */
const TOTAL_BUFFERED_REFRESH_MS = 10;

/** Channels served by default (GET /<channel>/events). */
export const DEFAULT_CHANNELS = Object.freeze(['chat', 'logs']);

/**
 * Live events that may wait (per stream) while its replay is written; when
 * more arrive, they are forgotten and the replay reads them from the store.
 */
const MAX_PENDING_LIVE = 1000;

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
 * The SSE frame of an entry as a Buffer, made once per entry object and shared
 * by every stream that writes it (entries are frozen; the MemoryStore keeps
 * the same objects, so a replay to many clients formats nothing twice).
 */
const frames = new WeakMap();
function frameOf(entry) {
  let frame = frames.get(entry);
  if (frame === undefined) {
    frame = Buffer.from(formatEvent(entry));
    if (Object.isFrozen(entry)) frames.set(entry, frame);
  }
  return frame;
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

function isPlainObject(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A finite number of milliseconds in [min, 2^31-1]; `what` names it in errors. */
function checkMs(value, what, min = 0) {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number of milliseconds, got ${typeof value}`);
  if (!Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new RangeError(`${what} must be a finite number of milliseconds in [${min}, ${MAX_TIMER_MS}], got ${value}`);
  }
  return value;
}

/**
 * Validate the options of setMode(i, mode, options) and return the settings the
 * backend stores with the mode ({} for modes without options).
 */
function modeSettings(mode, options, slowAcceptMs) {
  if (options !== undefined && options !== null && !isPlainObject(options)) {
    throw new TypeError(`options of mode ${JSON.stringify(mode)} must be a plain object, got ${Array.isArray(options) ? 'an array' : typeof options}`);
  }
  const given = options ? Object.keys(options).filter((k) => options[k] !== undefined) : [];
  const allowed = MODE_OPTIONS[mode] || [];
  for (const key of given) {
    if (!allowed.includes(key)) {
      throw new TypeError(
        allowed.length === 0
          ? `mode ${JSON.stringify(mode)} takes no options, got ${JSON.stringify(key)}`
          : `unknown option ${JSON.stringify(key)} for mode ${JSON.stringify(mode)}; expected ${allowed.join(', ')}`,
      );
    }
  }
  if (mode === 'slow-accept') {
    const delayMs = given.includes('delayMs') ? checkMs(options.delayMs, 'delayMs') : slowAcceptMs;
    return { delayMs };
  }
  if (mode === 'drop-after' || mode === 'reset-after') {
    let count = DEFAULT_END_AFTER_COUNT;
    if (given.includes('count')) {
      count = options.count;
      if (typeof count !== 'number') throw new TypeError(`count must be a number of events, got ${typeof count}`);
      if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
    }
    return { count };
  }
  return {};
}

/**
 * Resume id a stream request carried, as sent (header first, like
 * parseResumeId), cut to LOGGED_ID_CHARS characters (and LOGGED_ID_VALUES
 * values of a repeated parameter): { lastEventId, truncated }.
 */
function requestedResumeId(req) {
  const cut = (v) => {
    const text = typeof v === 'string' ? v : String(v);
    return text.length > LOGGED_ID_CHARS ? { text: text.slice(0, LOGGED_ID_CHARS), cut: true } : { text, cut: false };
  };
  const header = req.get('Last-Event-ID');
  if (header !== undefined && header.trim() !== '') {
    const { text, cut: truncated } = cut(header.trim());
    return { lastEventId: text, truncated };
  }
  const q = req.query.lastEventId;
  if (q === undefined) return { lastEventId: null, truncated: false };
  if (!Array.isArray(q)) {
    const { text, cut: truncated } = cut(q);
    return { lastEventId: text, truncated };
  }
  const values = q.slice(0, LOGGED_ID_VALUES).map(cut);
  return {
    lastEventId: Object.freeze(values.map((v) => v.text)),
    truncated: q.length > LOGGED_ID_VALUES || values.some((v) => v.cut),
  };
}


/**
 * Start `count` SSE backends streaming the channels of one log store.
 *
 * @param {{
 *   count?: number,
 *   host?: string,
 *   ports?: number[],
 *   allowedOrigins?: string[],
 *   heartbeatMs?: number,
 *   path?: string,
 *   slowAcceptMs?: number,
 *   maxBufferedBytes?: number,
 *   maxTotalBufferedBytes?: number,
 *   slowClientMs?: number,
 *   requestTimeoutMs?: number,
 *   store?: object,
 *   channels?: string[],
 *   defaultChannel?: string | null,
 *   chat?: object | false,
 * }} [options]
 *
 * - `store`: the log store of the channels (default: a MemoryStore owned by
 *   the cluster and closed by close(); a store passed in is left open).
 * - `channels`: served as GET /<channel>/events (default ['chat', 'logs']).
 * - `defaultChannel`: when set, `path` also streams this store channel (it
 *   must be one of `channels`); without it `path` is not served and each
 *   backend's `url` is null.
 * - `maxBufferedBytes` (16 MiB), `maxTotalBufferedBytes` (64 MiB),
 *   `slowClientMs` (10 s): bounds on unsent output per stream and over the
 *   whole cluster, and how long a replay waits for a client that does not
 *   read before dropping it (see serve()).
 * - `requestTimeoutMs`: a request whose headers and body have not all arrived
 *   within this time gets 408 and its connection is closed (default 20 s;
 *   Node's server.requestTimeout). Responses are not bounded: an SSE stream
 *   may outlive it.
 * - `chat`: options of the chat API (see createChatService in chat-api.js:
 *   rateLimit, ipRateLimit, maxBodyBytes, appendTimeoutMs), or false for no
 *   POST route; only used when 'chat' is one of `channels`.
 */
export async function startCluster(options = {}) {
  const {
    count = 3,
    host = '127.0.0.1',
    ports = undefined,
    allowedOrigins = [],
    heartbeatMs = 5000,
    path = '/events',
    slowAcceptMs = 3000,
    maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES,
    maxTotalBufferedBytes = DEFAULT_MAX_TOTAL_BUFFERED_BYTES,
    slowClientMs = DEFAULT_SLOW_CLIENT_MS,
    requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
    store: givenStore = undefined,
    channels = DEFAULT_CHANNELS,
    defaultChannel = null,
    chat: chatOptions = {},
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
  checkMs(slowAcceptMs, 'slowAcceptMs');
  checkMs(requestTimeoutMs, 'requestTimeoutMs', 1);
  if (!Array.isArray(channels)) throw new TypeError('channels must be an array of channel names');
  for (const ch of channels) checkChannel(ch);
  if (new Set(channels).size !== channels.length) throw new TypeError(`channels must not repeat a name, got ${channels.join(', ')}`);
  if (defaultChannel !== null && !channels.includes(defaultChannel)) {
    throw new TypeError(`defaultChannel ${JSON.stringify(defaultChannel)} must be one of channels (${channels.join(', ')})`);
  }
  if (options.log !== undefined) {
    throw new TypeError('the log option was removed: append to a store channel and stream it with defaultChannel');
  }
  if (channels.some((ch) => `/${ch}/events` === path)) throw new TypeError(`path ${path} collides with a channel stream path`);
  if (givenStore !== undefined) {
    for (const m of ['append', 'since', 'subscribe', 'lastId', 'close']) {
      if (!givenStore || typeof givenStore[m] !== 'function') throw new TypeError(`store must implement ${m}()`);
    }
  }
  if (chatOptions !== false && (chatOptions === null || typeof chatOptions !== 'object')) {
    throw new TypeError('chat must be an options object or false');
  }
  const store = givenStore === undefined ? new MemoryStore() : givenStore;
  const ownsStore = givenStore === undefined;
  const chat =
    chatOptions !== false && channels.includes('chat') ? createChatService({ ...chatOptions, store, channel: 'chat' }) : null;

  /** A stream source: since(id) -> entries | Promise<entries>, subscribe(fn) -> unsubscribe. */
  const channelSource = (channel) => ({
    channel,
    // A resume id above the channel's last id means the log restarted (an
    // emptied Redis, a restarted process): replay all of it, so the client
    // sees the ids go back and starts afresh rather than waiting.
    // `limit`: at most that many entries (a store may return fewer or, if it
    // ignores the argument, all of them). `first`: the page at the resume id.
    async since(id, limit, first = false) {
      const entries = await store.since(channel, id, limit);
      if (!first || entries.length > 0 || id === 0) return entries;
      const last = await store.lastId(channel);
      return last < id ? store.since(channel, 0, limit) : entries;
    },
    lastId: () => store.lastId(channel),
    subscribe: (fn, onReset, onError) => store.subscribe(channel, fn, { onReset, onError }),
  });
  const streamRoutes = [
    ...(defaultChannel !== null ? [{ path, source: channelSource(defaultChannel) }] : []),
    ...channels.map((ch) => ({ path: `/${ch}/events`, source: channelSource(ch) })),
  ];
  if (!Number.isSafeInteger(maxBufferedBytes) || maxBufferedBytes < 1) {
    throw new RangeError(`maxBufferedBytes must be a positive integer, got ${maxBufferedBytes}`);
  }
  if (!Number.isSafeInteger(maxTotalBufferedBytes) || maxTotalBufferedBytes < 1) {
    throw new RangeError(`maxTotalBufferedBytes must be a positive integer, got ${maxTotalBufferedBytes}`);
  }
  checkMs(slowClientMs, 'slowClientMs', 1);

  const anyOrigin = allowedOrigins.includes('*');
  const origins = new Set(allowedOrigins);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed = false;

  /** Counters for the cluster's stats(). */
  const counters = { slowClientsDropped: 0 };

  let totalCache = 0;
  let totalAt = -Infinity;
  /** Unsent output (bytes) of every open stream of the cluster, recomputed at most every 10 ms. */
  function totalBuffered() {
    const now = performance.now();
    if (now - totalAt < TOTAL_BUFFERED_REFRESH_MS) return totalCache;
    let total = 0;
    for (const b of backends) for (const s of b.streams) total += s.res.writableLength;
    totalCache = total;
    totalAt = now;
    return total;
  }

  let lastStoreReport = 0;

  // Replays take turns: each chunk waits for nextTurn(), which lets at most
  // REPLAY_CHUNKS_PER_TURN chunks go per turn of the event loop (FIFO).
  const turnQueue = [];
  let turnScheduled = false;
  function runTurn() {
    turnScheduled = false;
    const batch = turnQueue.splice(0, REPLAY_CHUNKS_PER_TURN);
    for (const go of batch) go();
    if (turnQueue.length > 0) scheduleTurn();
  }
  function scheduleTurn() {
    if (turnScheduled) return;
    turnScheduled = true;
    setImmediate(runTurn);
  }
  function nextTurn() {
    return new Promise((resolve) => {
      turnQueue.push(resolve);
      scheduleTurn();
    });
  }

  /** `promise`, or a rejection once STORE_OPEN_TIMEOUT_MS have passed. */
  function storeTimeout(promise) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the store did not answer within ${STORE_OPEN_TIMEOUT_MS} ms`)), STORE_OPEN_TIMEOUT_MS);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
  function reportStoreError(err) {
    if (Date.now() - lastStoreReport < 5000) return;
    lastStoreReport = Date.now();
    console.error('backend-cluster: reading the event log failed:', err && err.message ? err.message : err);
  }

  /** Applies the CORS policy; returns false (and answers 403) for a foreign origin. */
  function cors(req, res, { json = false } = {}) {
    res.vary('Origin');
    const origin = req.get('Origin');
    if (origin === undefined) return true; // same-origin or non-browser client
    if (!anyOrigin && !origins.has(origin)) {
      if (json) res.status(403).set('Cache-Control', 'no-store').json({ error: `origin ${origin} is not allowed` });
      else res.status(403).type('text/plain').send(`Forbidden: origin ${origin} is not allowed\n`);
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
      settings: {}, // options of the current mode (see modeSettings)
      server: null,
      sockets: new Set(),
      streams: new Set(),
      timers: new Set(),
      pending: new Set(), // cancel functions of 'slow-accept' requests still waiting
      connections: 0,
      requests: [], // requestLog entries, trimmed to REQUEST_LOG_LIMIT lazily
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
    for (const route of streamRoutes) {
      app.options(route.path, (req, res) => {
        if (!cors(req, res)) return;
        res.set('Access-Control-Allow-Methods', 'GET');
        res.set('Access-Control-Allow-Headers', 'Last-Event-ID, Cache-Control');
        res.set('Access-Control-Max-Age', '600');
        res.status(204).end();
      });
      app.get(route.path, (req, res) => accept(req, res, route));
    }

    if (chat) chat.install(app, { cors, index });

    function accept(req, res, route) {
      b.connections++;
      const mode = b.mode;
      const settings = b.settings;
      const { lastEventId, truncated } = requestedResumeId(req);
      b.requests.push(Object.freeze({ at: Date.now(), lastEventId, lastEventIdTruncated: truncated, mode, path: route.path }));
      if (b.requests.length >= 2 * REQUEST_LOG_LIMIT) b.requests.splice(0, b.requests.length - REQUEST_LOG_LIMIT);

      if (mode !== 'slow-accept') {
        serve(req, res, mode, settings, route.source);
        return;
      }
      // 'slow-accept': the connection is accepted but nothing at all (not even
      // the status line) is written until the delay is over; then the request
      // is answered as in mode 'ok'. A client leaving early cancels the timer.
      let waiting = true;
      const stopWaiting = () => {
        if (!waiting) return false;
        waiting = false;
        b.pending.delete(stopWaiting);
        clearTimeout(t);
        b.timers.delete(t);
        res.off('close', stopWaiting);
        return true;
      };
      const t = setTimeout(() => {
        if (!stopWaiting()) return;
        if (res.destroyed || res.writableEnded || !b.server) return;
        serve(req, res, 'ok', {}, route.source);
      }, settings.delayMs);
      b.timers.add(t);
      b.pending.add(stopWaiting);
      res.on('close', stopWaiting);
    }

    /** Answer a stream request in `mode` (any mode but 'slow-accept' and 'down'). */
    function serve(req, res, mode, settings, source) {
      if (!cors(req, res)) return;

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

      const stream = {
        req,
        res,
        // A stream that joins while the backend is stalled is stalled too.
        stalled: mode === 'stall' || b.mode === 'stall',
        heartbeat: null,
        unsubscribe: null,
        lastSent: 0,
        done: false,
        // 'drop-after' / 'reset-after': end the stream after this many log events.
        eventsLeft: mode === 'drop-after' || mode === 'reset-after' ? settings.count : Infinity,
      };
      const cleanup = () => {
        if (stream.done) return;
        stream.done = true;
        b.streams.delete(stream);
        if (stream.heartbeat) clearInterval(stream.heartbeat);
        if (stream.unsubscribe) stream.unsubscribe();
        if (stream.wake) stream.wake();
      };
      stream.cleanup = cleanup;
      b.streams.add(stream);
      req.on('close', cleanup);
      res.on('close', cleanup);

      const openResponse = () => {
        if (res.headersSent) return;
        res.statusCode = 200;
        res.setHeader('Content-Type', 'text/event-stream');
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('Connection', 'keep-alive');
        res.setHeader('X-Accel-Buffering', 'no');
        res.flushHeaders();
        req.socket.setNoDelay(true);
      };

      // 'stall': headers are out, but nothing else is ever written.
      if (stream.stalled) {
        openResponse();
        return;
      }

      /** Drop a client that does not read (it reconnects and resumes). */
      const dropSlow = () => {
        counters.slowClientsDropped++;
        cleanup();
        res.destroy();
      };

      /**
       * Write a chunk; false when the stream is over (or was just dropped).
       * Output is written as Buffers so that res.writableLength counts bytes.
       */
      const write = (chunk, callback) => {
        if (stream.done || stream.stalled) return false;
        if (res.destroyed || res.writableEnded) {
          cleanup();
          return false;
        }
        // Check what is still queued from earlier writes, not counting this
        // chunk: a client that stopped reading is dropped rather than buffered
        // forever, but one large event never gets a reading client dropped.
        const own = res.writableLength;
        if (own > maxBufferedBytes || (own > SLOW_CLIENT_FLOOR_BYTES && totalBuffered() > maxTotalBufferedBytes)) {
          dropSlow();
          return false;
        }
        res.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, callback);
        return true;
      };

      /**
       * Resolves true once this stream may write more (its own unsent output
       * at most REPLAY_HIGH_WATER_BYTES and the cluster's under its total),
       * false when the stream ended meanwhile or its client was dropped for
       * not reading for slowClientMs.
       */
      const waitForRoom = () => {
        const roomy = () => res.writableLength <= REPLAY_HIGH_WATER_BYTES && totalBuffered() <= maxTotalBufferedBytes;
        if (stream.done || stream.stalled) return Promise.resolve(false);
        if (roomy()) return Promise.resolve(true);
        return new Promise((resolve) => {
          let deadline = Date.now() + slowClientMs;
          let timer = null;
          let settled = false;
          const finish = (ok) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            res.off('drain', onDrain);
            stream.wake = null;
            resolve(ok);
          };
          const check = () => {
            timer = null;
            if (settled) return;
            if (stream.done || stream.stalled) return finish(false);
            if (roomy()) return finish(true);
            if (Date.now() >= deadline) {
              // Dropped in turn with the replays' chunks, so that many slow
              // clients timing out together do not stall the server at once.
              nextTurn().then(() => {
                if (settled) return;
                if (stream.done || stream.stalled) return finish(false);
                if (roomy()) return finish(true);
                dropSlow();
                finish(false);
              });
              return;
            }
            // Our own output drains with 'drain'; the cluster's total is polled.
            // Only time spent with our own output stuck counts against the client.
            const ownFull = res.writableLength > REPLAY_HIGH_WATER_BYTES;
            if (!ownFull) deadline = Date.now() + slowClientMs;
            timer = setTimeout(check, ownFull ? Math.max(1, deadline - Date.now()) : 25);
          };
          const onDrain = () => {
            deadline = Date.now() + slowClientMs; // the client reads: give it another period
            clearTimeout(timer);
            check();
          };
          res.on('drain', onDrain);
          stream.wake = () => {
            clearTimeout(timer);
            check();
          };
          check();
        });
      };

      const sendEvent = (entry) => {
        if (entry.id <= stream.lastSent) return;
        const last = stream.eventsLeft === 1;
        const sent = write(frameOf(entry), last && mode === 'reset-after' ? () => resetConnection(req, res) : undefined);
        stream.lastSent = entry.id;
        if (!sent || !last) {
          stream.eventsLeft--;
          return;
        }
        // That was the last event this stream carries.
        cleanup();
        if (mode === 'drop-after') res.end(); // clean end of the chunked response
        // 'reset-after': the socket is reset once the event has been handed to
        // the OS (write callback above), so the client gets it before the RST.
      };

      /**
       * Write entries in chunks of about REPLAY_CHUNK_BYTES, waiting for room
       * (and yielding to other work) between chunks. Resolves false when the
       * stream is over.
       */
      const writeEntries = async (entries) => {
        // The frames are the shared Buffers of frameOf(): a chunk is written
        // corked (one writev) rather than copied into a new Buffer, so a
        // replay allocates next to nothing per client.
        let bytes = 0;
        let corked = false;
        // The first chunk waits for its turn too: many replays starting at
        // once (a burst of reconnects) must not all write in one turn.
        if (entries.length > 0) {
          await nextTurn();
          if (stream.done || stream.stalled) return false;
        }
        const flush = async () => {
          if (!corked) return true;
          corked = false;
          bytes = 0;
          res.uncork();
          if (stream.done) return false;
          await nextTurn();
          return waitForRoom();
        };
        for (const entry of entries) {
          if (stream.done || stream.stalled) {
            if (corked) res.uncork();
            return false;
          }
          if (stream.eventsLeft !== Infinity) {
            // 'drop-after' / 'reset-after' count events one by one.
            if (!(await flush())) return false;
            sendEvent(entry);
            continue;
          }
          if (entry.id <= stream.lastSent) continue;
          if (!corked) {
            res.cork();
            corked = true;
          }
          const frame = frameOf(entry);
          if (!write(frame)) {
            corked = false;
            if (!res.destroyed) res.uncork();
            return false;
          }
          stream.lastSent = entry.id;
          bytes += frame.length;
          if (bytes >= REPLAY_CHUNK_BYTES && !(await flush())) return false;
        }
        return flush();
      };

      // Subscribe before the replay is read, so that nothing appended in
      // between is lost: live events wait in `pending` until the replay is
      // out, and sendEvent drops any id already sent. When more than
      // MAX_PENDING_LIVE arrive meanwhile they are forgotten (`overflowFrom`)
      // and read from the store by the replay instead.
      let pending = [];
      /** Set when live entries were forgotten: every one after this id was. */
      let overflowFrom = null;
      const onEntry = (entry) => {
        if (stream.done || stream.stalled) return;
        if (pending === null) {
          sendEvent(entry);
          return;
        }
        if (pending.length >= MAX_PENDING_LIVE) {
          if (overflowFrom === null) overflowFrom = pending[0].id - 1;
          pending = [];
        }
        pending.push(entry);
      };
      // The store found its log restarted and the new log holds ids this
      // stream may already have sent (see the README, "Redis restarted
      // empty"). A live stream says so with a `gap` event ({"reset": true})
      // and then carries the new log from its first entry on the same
      // connection: the ids go back, which the client takes as a restarted
      // log. A stream still replaying is ended instead (the client resumes).
      const onReset = () => {
        if (stream.done) return;
        if (pending === null && res.headersSent) {
          if (write(`event: gap\ndata: ${JSON.stringify({ reset: true })}\n\n`)) stream.lastSent = 0;
          return;
        }
        cleanup();
        if (res.headersSent) res.end();
        else res.destroy();
      };
      // The store's subscription failed (e.g. Redis is unreachable): end the
      // stream rather than keep it alive with heartbeats, so that the client
      // notices and fails over; new streams get 503 until the store is back.
      const onStoreLost = (err) => {
        if (stream.done) return;
        cleanup();
        reportStoreError(err);
        if (res.headersSent) res.end();
        else res.status(503).set('Retry-After', '1').type('text/plain').send('Service Unavailable: the event log cannot be read right now\n');
      };
      stream.unsubscribe = source.subscribe(onEntry, onReset, onStoreLost);

      const unavailable = (err) => {
        if (stream.done) return;
        cleanup();
        reportStoreError(err);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        res.status(503).set('Retry-After', '1').type('text/plain').send('Service Unavailable: the event log cannot be read right now\n');
      };

      /**
       * Replay what the client missed page by page from the store, written
       * in bounded chunks, then whatever arrived live meanwhile; then live.
       */
      const run = async () => {
        let cursor = resume.id; // null: no resume id, nothing to replay
        let first = true;
        for (;;) {
          while (cursor !== null) {
            const read = source.since(cursor, REPLAY_PAGE, first);
            const page = await (first ? storeTimeout(read) : read);
            if (stream.done || stream.stalled) return;
            if (first) {
              first = false;
              openResponse();
              if (!write(': ok\n\n')) return;
              // Ids are consecutive per channel, so a replay that starts after
              // resume + 1 means the log no longer holds what the client missed.
              // Say so (a named event without an id) rather than skip it silently.
              const firstId = page.length > 0 ? page[0].id : null;
              if (firstId !== null && firstId > resume.id + 1) {
                if (!write(`event: gap\ndata: ${JSON.stringify({ from: resume.id + 1, to: firstId - 1 })}\n\n`)) return;
              }
            }
            if (!(await writeEntries(page))) return;
            if (page.length > 0) cursor = page[page.length - 1].id;
            if (page.length >= REPLAY_PAGE) continue;
            // Caught up with the store as of that read: what came since is in
            // `pending`, unless some of it was forgotten (then read on).
            if (overflowFrom === null) break;
            overflowFrom = null;
            pending = [];
          }
          if (first) {
            // No resume id, nothing to replay: still, the store must answer
            // before the stream opens. A 200 with heartbeats over a store that
            // cannot be read would hide the outage from the client.
            first = false;
            await storeTimeout(source.lastId());
            if (stream.done || stream.stalled) return;
            openResponse();
            if (!write(': ok\n\n')) return;
          }
          while (pending.length > 0 && overflowFrom === null) {
            const live = pending;
            pending = [];
            if (!(await writeEntries(live))) return;
          }
          if (overflowFrom === null) break;
          // Too many arrived while the replay was written: read them from the store.
          cursor = Math.max(stream.lastSent, overflowFrom);
          overflowFrom = null;
          pending = [];
        }
        pending = null;
        if (stream.done) return;
        stream.heartbeat = setInterval(() => write(`event: heartbeat\ndata: ${Date.now()}\n\n`), heartbeatMs);
        stream.heartbeat.unref?.();
      };
      run().catch(unavailable);
    }

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

  /** Abort a response's connection with a TCP reset (RST) rather than a FIN. */
  function resetConnection(req, res) {
    const socket = res.socket || req.socket;
    if (!socket || socket.destroyed) {
      res.destroy();
      return;
    }
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  }

  async function startServer(b) {
    // requestTimeout covers receiving a request (headers + body), not the
    // response: a trickling POST body gets 408, an SSE stream is unbounded.
    // Node looks for expired requests every connectionsCheckingInterval.
    const server = http.createServer({
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(10_000, requestTimeoutMs),
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeoutMs / 4))),
    }, b.app);
    server.keepAliveTimeout = 1000;
    server.timeout = 0; // no idle-socket timeout: SSE streams may be quiet between heartbeats
    server.on('connection', (socket) => {
      b.sockets.add(socket);
      socket.on('close', () => b.sockets.delete(socket));
    });
    b.port = await listen(server, b.port, host);
    b.server = server;
    b.mode = 'ok';
    b.settings = {};
  }

  async function stopServer(b) {
    b.mode = 'down';
    b.settings = {};
    const server = b.server;
    b.server = null;
    for (const t of b.timers) clearTimeout(t);
    b.timers.clear();
    // Cancel pending 'slow-accept' waits; their sockets are reset below.
    for (const cancel of [...b.pending]) cancel();
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
    if (ownsStore) await store.close();
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

  const publicBackends = backends.map((b) => {
    const origin = `http://${urlHost}:${b.port}`;
    return Object.freeze({
      index: b.index,
      port: b.port,
      origin,
      /** Stream of `defaultChannel` at `path`, or null without a defaultChannel. */
      url: defaultChannel !== null ? `${origin}${path}` : null,
      /** Stream URL of every channel: { chat: 'http://…/chat/events', logs: … }. */
      channels: Object.freeze(Object.fromEntries(channels.map((ch) => [ch, `${origin}/${ch}/events`]))),
      /** POST URL of the chat API (null without a chat channel). */
      messagesUrl: chat ? `${origin}/chat/messages` : null,
    });
  });

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
   *
   * Options (validated synchronously: TypeError / RangeError):
   * - 'slow-accept' { delayMs }: wait delayMs (default: the cluster's
   *   slowAcceptMs) before answering anything, then stream as in 'ok'.
   * - 'drop-after' { count }: stream as in 'ok', then end the response cleanly
   *   once `count` log events (default 1) were written on that stream.
   * - 'reset-after' { count }: the same, but reset the connection (TCP RST).
   * Other modes take no options. Streams already open keep the mode they
   * started in (except for 'stall', see above).
   *
   * @param {number} i
   * @param {string} mode
   * @param {{ delayMs?: number, count?: number }} [options]
   */
  function setMode(i, mode, options) {
    const b = get(i);
    assertMode(mode);
    const settings = modeSettings(mode, options, slowAcceptMs);
    if (mode === 'down') return kill(i);
    if (!b.server) {
      return revive(i).then(() => {
        b.mode = mode;
        b.settings = settings;
      });
    }
    b.mode = mode;
    b.settings = settings;
    if (mode === 'stall') for (const s of b.streams) s.stalled = true;
    return Promise.resolve();
  }

  /** Per-backend flapping state (see flap). */
  const flappers = new Map();

  /**
   * Toggle backend i between down (as kill) and up (as revive, mode 'ok')
   * every `periodMs` (default 500, at least 50); the first toggle happens
   * `periodMs` after the call. Each toggle goes through the same per-backend
   * queue as kill/revive/setMode('down'), so no two of them overlap, and the
   * next period starts when the toggle has finished. kill/revive calls made
   * meanwhile are queued between toggles; flapping goes on from their result.
   *
   * Returns `stop()`: it stops toggling and resolves once the backend is up
   * again (revived if it was down; its mode is left alone if it was up). It is
   * idempotent. close() also stops flapping (without reviving).
   *
   * @param {number} i
   * @param {{ periodMs?: number }} [options]
   * @returns {() => Promise<void>}
   */
  function flap(i, options = {}) {
    const b = get(i);
    if (!isPlainObject(options)) throw new TypeError('flap options must be a plain object like { periodMs: 500 }');
    for (const key of Object.keys(options)) {
      if (key !== 'periodMs') throw new TypeError(`unknown flap option ${JSON.stringify(key)}; expected periodMs`);
    }
    const periodMs = options.periodMs === undefined ? 500 : checkMs(options.periodMs, 'periodMs', MIN_FLAP_PERIOD_MS);
    if (closed) throw new Error('cluster is closed');
    if (flappers.has(i)) throw new Error(`backend ${i} is already flapping; stop it first`);

    const f = { stopped: false, timer: null, stopping: null };
    flappers.set(i, f);
    const schedule = () => {
      if (f.stopped || closed) return;
      f.timer = setTimeout(tick, periodMs);
    };
    const tick = () => {
      f.timer = null;
      enqueue(i, async () => {
        if (f.stopped || closed) return;
        if (b.server) await stopServer(b);
        else await startServer(b);
      })
        .catch((err) => {
          // e.g. the port was taken while the backend was down; try again next period.
          if (!f.stopped && !closed) console.error(`flap: backend ${i} could not be revived:`, err);
        })
        .finally(schedule);
    };
    const halt = () => {
      f.stopped = true;
      if (f.timer) clearTimeout(f.timer);
      f.timer = null;
      if (flappers.get(i) === f) flappers.delete(i);
    };
    f.halt = halt;
    schedule();

    return function stop() {
      if (!f.stopping) {
        halt();
        f.stopping = enqueue(i, async () => {
          if (closed) return; // close() leaves everything down
          if (!b.server) await startServer(b);
        });
      }
      return f.stopping;
    };
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
    for (const f of [...flappers.values()]) f.halt();
    await Promise.all(backends.map((b, i) => enqueue(i, () => stopServer(b))));
    if (ownsStore) await store.close();
  }

  return {
    backends: publicBackends,
    /** The log store of the channels. */
    store,
    channels: Object.freeze([...channels]),
    /** Counters of the chat API ({ stored, duplicates, rejected }), or null. */
    chatStats: chat ? chat.stats : null,
    kill,
    revive,
    setMode,
    flap,
    mode: (i) => get(i).mode,
    openStreams: (i) => get(i).streams.size,
    totalOpenStreams: () => backends.reduce((n, b) => n + b.streams.size, 0),
    connectionCount: (i) => get(i).connections,
    /** 'slow-accept' requests of backend i still waiting to be answered. */
    pendingAccepts: (i) => get(i).pending.size,
    /**
     * Every stream request backend i received (the last 10,000), oldest first:
     * { at: Date.now() on arrival, lastEventId: the Last-Event-ID header if
     * non-blank, else the lastEventId query value (an array of at most 4 if
     * repeated), else null (as sent, not validated, cut to 64 characters),
     * lastEventIdTruncated: true when it was cut, mode: the backend's mode on
     * arrival, path }.
     */
    requestLog: (i) => get(i).requests.slice(-REQUEST_LOG_LIMIT),
    /**
     * { slowClientsDropped: streams dropped because their client did not
     * read, bufferedBytes: unsent output of every open stream now }.
     */
    stats: () => ({ slowClientsDropped: counters.slowClientsDropped, bufferedBytes: totalBuffered() }),
    dropStreams,
    close,
  };
}

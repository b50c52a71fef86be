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
// every fault mode applies to every stream path. The parts: backend.js (one
// backend and its lifecycle), sse-stream.js (one stream), sse-format.js
// (frames and resume ids), fault-modes.js, output-pacer.js, cors.js.

import { MemoryStore } from './stores/memory-store.js';
import { checkChannel } from './stores/common.js';
import { createChatService } from './chat-api.js';
import { createCors } from './cors.js';
import { assertMode, checkMs, isPlainObject, modeSettings } from './fault-modes.js';
import { createOutputPacer } from './output-pacer.js';
import { DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_TOTAL_BUFFERED_BYTES, DEFAULT_SLOW_CLIENT_MS } from './sse-stream.js';
import { REQUEST_LOG_LIMIT, announceEndpoints, createBackend, drainBackend, startBackend, stopBackend } from './backend.js';

export { MODES } from './fault-modes.js';
export { LOGGED_ID_CHARS, formatEvent } from './sse-format.js';

/** Shortest flap() period. */
const MIN_FLAP_PERIOD_MS = 50;

/**
 * Default `requestTimeoutMs`: a request (headers and body) must be received
 * in full within this time, else Node answers 408 and closes the connection.
 * It does not bound responses, so SSE streams last as long as they like.
 */
const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;

/** Channels served by default (GET /<channel>/events). */
export const DEFAULT_CHANNELS = Object.freeze(['chat', 'logs']);

const STORE_METHODS = ['append', 'since', 'subscribe', 'lastId', 'close'];

/** The cluster's options with their defaults, validated (TypeError / RangeError). */
/** addBackend() refuses to go past this many backends (removed ones count). */
const MAX_BACKENDS_EVER = 64;

/** The backends not removed at runtime. */
const members = (backends) => backends.filter((b) => !b.removed);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An error the control API answers with 409 (the request conflicts with the state). */
function conflict(message) {
  return Object.assign(new Error(message), { status: 409 });
}

function clusterOptions(options) {
  const config = {
    count: 3,
    host: '127.0.0.1',
    ports: undefined,
    allowedOrigins: [],
    heartbeatMs: 5000,
    path: '/events',
    slowAcceptMs: 3000,
    maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES,
    maxTotalBufferedBytes: DEFAULT_MAX_TOTAL_BUFFERED_BYTES,
    slowClientMs: DEFAULT_SLOW_CLIENT_MS,
    requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
    store: undefined,
    channels: DEFAULT_CHANNELS,
    defaultChannel: null,
    chat: {},
    announceEndpoints: true,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  if (options.log !== undefined) {
    throw new TypeError('the log option was removed: append to a store channel and stream it with defaultChannel');
  }
  checkShape(config);
  checkChannels(config);
  if (typeof config.announceEndpoints !== 'boolean') throw new TypeError(`announceEndpoints must be a boolean, got ${config.announceEndpoints}`);
  return config;
}

function checkShape({ count, ports, allowedOrigins, heartbeatMs, path, slowAcceptMs, requestTimeoutMs, maxBufferedBytes, maxTotalBufferedBytes, slowClientMs, store, chat }) {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  if (ports !== undefined) {
    if (!Array.isArray(ports) || ports.length < count) throw new RangeError(`ports must be an array with at least ${count} entries`);
    for (const p of ports.slice(0, count)) {
      if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`invalid port ${p}`);
    }
  }
  if (!Array.isArray(allowedOrigins)) throw new TypeError('allowedOrigins must be an array of origins');
  if (!Number.isFinite(heartbeatMs) || heartbeatMs <= 0) throw new RangeError(`heartbeatMs must be a positive number, got ${heartbeatMs}`);
  if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`path must start with "/", got ${path}`);
  checkMs(slowAcceptMs, 'slowAcceptMs');
  checkMs(requestTimeoutMs, 'requestTimeoutMs', 1);
  for (const [name, value] of [['maxBufferedBytes', maxBufferedBytes], ['maxTotalBufferedBytes', maxTotalBufferedBytes]]) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  checkMs(slowClientMs, 'slowClientMs', 1);
  if (store !== undefined) {
    for (const m of STORE_METHODS) {
      if (!store || typeof store[m] !== 'function') throw new TypeError(`store must implement ${m}()`);
    }
  }
  if (chat !== false && (chat === null || typeof chat !== 'object')) throw new TypeError('chat must be an options object or false');
}

function checkChannels({ channels, defaultChannel, path }) {
  if (!Array.isArray(channels)) throw new TypeError('channels must be an array of channel names');
  for (const ch of channels) checkChannel(ch);
  if (new Set(channels).size !== channels.length) throw new TypeError(`channels must not repeat a name, got ${channels.join(', ')}`);
  if (defaultChannel !== null && !channels.includes(defaultChannel)) {
    throw new TypeError(`defaultChannel ${JSON.stringify(defaultChannel)} must be one of channels (${channels.join(', ')})`);
  }
  if (channels.some((ch) => `/${ch}/events` === path)) throw new TypeError(`path ${path} collides with a channel stream path`);
}

/** A stream source: since(id) -> entries | Promise<entries>, subscribe(fn) -> unsubscribe. */
function channelSource(store, channel) {
  return {
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
  };
}

/** Reports a failing store at most every 5 s. */
function storeErrorReporter() {
  let last = 0;
  return (err) => {
    if (Date.now() - last < 5000) return;
    last = Date.now();
    console.error('backend-cluster: reading the event log failed:', err && err.message ? err.message : err);
  };
}

/**
 * What a page or a test needs to know of one backend: its index, port and
 * origin, and the URL of each stream and of the chat API. The one place the
 * descriptor is made (main.js and the tests read these).
 */
function describeBackend(backend, { host, path, channels, defaultChannel, chat }) {
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const origin = `http://${urlHost}:${backend.port}`;
  return Object.freeze({
    index: backend.index,
    port: backend.port,
    removed: backend.removed,
    origin,
    /** Stream of `defaultChannel` at `path`, or null without a defaultChannel. */
    url: defaultChannel !== null ? `${origin}${path}` : null,
    /** Stream URL of every channel: { chat: 'http://…/chat/events', logs: … }. */
    channels: Object.freeze(Object.fromEntries(channels.map((ch) => [ch, `${origin}/${ch}/events`]))),
    /** POST URL of the chat API (null without a chat channel). */
    messagesUrl: chat ? `${origin}/chat/messages` : null,
  });
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
 *   read before dropping it (see sse-stream.js).
 * - `requestTimeoutMs`: a request whose headers and body have not all arrived
 *   within this time gets 408 and its connection is closed (default 20 s;
 *   Node's server.requestTimeout). Responses are not bounded: an SSE stream
 *   may outlive it.
 * - `announceEndpoints` (default true): once backends were added or removed,
 *   every stream is sent the cluster's endpoint list. Turn it off when the
 *   clients' lists span several processes (Redis mode): one process knows
 *   only its own backends, and its list would drop the others'.
 * - `chat`: options of the chat API (see createChatService in chat-api.js:
 *   rateLimit, ipRateLimit, maxBodyBytes, appendTimeoutMs), or false for no
 *   POST route; only used when 'chat' is one of `channels`.
 */
export async function startCluster(options = {}) {
  const config = clusterOptions(options);
  const { count, ports, channels, defaultChannel } = config;
  const ownsStore = config.store === undefined;
  const store = ownsStore ? new MemoryStore() : config.store;
  const chat =
    config.chat !== false && channels.includes('chat') ? createChatService({ ...config.chat, store, channel: 'chat' }) : null;
  const backends = [];
  const counters = { slowClientsDropped: 0 };
  const pacer = createOutputPacer(function* streams() {
    for (const b of backends) yield* b.streams;
  });
  const context = {
    host: config.host,
    requestTimeoutMs: config.requestTimeoutMs,
    streamRoutes: [
      ...(defaultChannel !== null ? [{ path: config.path, source: channelSource(store, defaultChannel) }] : []),
      ...channels.map((ch) => ({ path: `/${ch}/events`, source: channelSource(store, ch) })),
    ],
    chat,
    cors: createCors(config.allowedOrigins),
    // Every member's open streams by origin, for the load events.
    peerLoads: () => Object.fromEntries(members(backends).map((b) => [describeBackend(b, { ...config, chat }).origin, b.streams.size])),
    // The endpoint list of a stream route, announced once backends were
    // added or removed at runtime (before that, the page's list stands).
    membershipChanged: false,
    endpointsFor: (path) =>
      context.membershipChanged && config.announceEndpoints ? members(backends).map((b) => ({ url: `${describeBackend(b, { ...config, chat }).origin}${path}` })) : null,
    stream: {
      heartbeatMs: config.heartbeatMs,
      maxBufferedBytes: config.maxBufferedBytes,
      maxTotalBufferedBytes: config.maxTotalBufferedBytes,
      slowClientMs: config.slowClientMs,
      pacer,
      counters,
      reportStoreError: storeErrorReporter(),
    },
  };
  for (let i = 0; i < count; i++) backends.push(createBackend(i, ports ? ports[i] : 0, context));
  try {
    for (const b of backends) await startBackend(b, context);
  } catch (err) {
    await Promise.all(backends.map((b) => stopBackend(b)));
    if (ownsStore) await store.close();
    throw err;
  }
  const controls = clusterControls(backends, context, config.slowAcceptMs, async () => {
    if (ownsStore) await store.close();
  });
  return {
    /**
     * Every backend ever started, by index (one added at runtime comes last;
     * one removed stays, with `removed: true`, and its index is not reused).
     */
    get backends() {
      return backends.map((b) => describeBackend(b, { ...config, chat }));
    },
    /** The log store of the channels. */
    store,
    channels: Object.freeze([...channels]),
    /** Counters of the chat API ({ stored, duplicates, rejected }), or null. */
    chatStats: chat ? chat.stats : null,
    ...controls,
    /**
     * { slowClientsDropped: streams dropped because their client did not
     * read, bufferedBytes: unsent output of every open stream now }.
     */
    stats: () => ({ slowClientsDropped: counters.slowClientsDropped, bufferedBytes: pacer.totalBuffered() }),
  };
}

/** kill, revive, setMode, flap, the per-backend figures, and close(). */
function clusterControls(backends, context, slowAcceptMs, closeStore) {
  const state = { closed: false };
  // Serialise kill/revive per backend so concurrent calls cannot interleave.
  const queues = backends.map(() => Promise.resolve());
  const enqueue = (i, fn) => {
    const next = queues[i].then(fn, fn);
    queues[i] = next.catch(() => {});
    return next;
  };
  const get = (i) => {
    if (!Number.isInteger(i) || i < 0 || i >= backends.length) {
      throw new RangeError(`backend index must be an integer in [0, ${backends.length - 1}], got ${i}`);
    }
    return backends[i];
  };
  const kill = (i) => {
    const b = get(i);
    return enqueue(i, () => stopBackend(b));
  };
  const revive = (i) => {
    const b = get(i);
    if (b.removed) return Promise.reject(conflict(`backend ${i} was removed from the cluster`));
    return enqueue(i, async () => {
      if (state.closed) throw new Error('cluster is closed');
      if (b.server) {
        b.mode = 'ok';
        return;
      }
      await startBackend(b, context);
    });
  };
  const flappers = new Map();
  const lifecycle = { get, enqueue, state, context, flappers };
  const membership = membershipControls(backends, context, { get, kill, queues, state, flappers });
  return {
    kill,
    revive,
    setMode(i, mode, options) {
      const b = get(i);
      assertMode(mode);
      const settings = modeSettings(mode, options, slowAcceptMs);
      return applyMode(b, mode, settings, { kill: () => kill(i), revive: () => revive(i) });
    },
    flap: (i, options) => flap(i, options, lifecycle),
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
    ...streamControls(backends, get, { kill, revive }),
    addBackend: membership.addBackend,
    removeBackend: membership.removeBackend,
    async close() {
      state.closed = true;
      // A backend being added when close() came is stopped by addBackend itself.
      await membership.settled();
      for (const f of [...flappers.values()]) f.halt();
      await Promise.all(backends.map((b, i) => enqueue(i, () => stopBackend(b))));
      await closeStore();
    },
  };
}

/** What acts on a backend's streams: drain, a rolling restart, ending them. */
function streamControls(backends, get, { kill, revive }) {
  return {
    /**
     * Backend i goes away within `withinMs`: every stream is told (the
     * clients open their next pick and switch before it goes), and so is
     * every stream opened meanwhile. It keeps serving until kill(i).
     * Returns how many open streams were told.
     */
    drain(i, withinMs) {
      checkMs(withinMs, 'withinMs');
      return drainBackend(get(i), withinMs);
    },
    /**
     * A restart of every backend, one after the other, as a deploy does it:
     * each drains for `drainMs`, goes down, and comes back up.
     */
    async rollingRestart(drainMs) {
      checkMs(drainMs, 'drainMs');
      for (let i = 0; i < backends.length; i++) {
        if (get(i).removed) continue;
        drainBackend(get(i), drainMs);
        await sleep(drainMs);
        await kill(i);
        await revive(i);
      }
    },
    /** End every open SSE response of backend i gracefully (server stays up). */
    dropStreams(i) {
      const b = get(i);
      const n = b.streams.size;
      for (const s of [...b.streams]) {
        s.cleanup();
        s.res.end();
      }
      return n;
    },
  };
}

/** Backends added and removed while the cluster runs; every stream hears the new list. */
function membershipControls(backends, context, { get, kill, queues, state, flappers }) {
  let adding = Promise.resolve();
  const announce = () => {
    context.membershipChanged = true;
    for (const b of backends) announceEndpoints(b);
  };
  return {
    /**
     * Starts one more backend (on `port`, 0: any) and announces the new list.
     * Resolves to its index (the next one; indexes are never reused).
     */
    addBackend(port = 0) {
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer in [0, 65535], got ${port}`);
      const step = adding.then(async () => {
        if (state.closed) throw conflict('cluster is closed');
        if (backends.length >= MAX_BACKENDS_EVER) throw conflict(`a cluster starts at most ${MAX_BACKENDS_EVER} backends in its life`);
        const b = createBackend(backends.length, port, context);
        await startBackend(b, context);
        if (state.closed) {
          // close() ran meanwhile and did not know this one: it goes too.
          await stopBackend(b);
          throw conflict('cluster is closed');
        }
        backends.push(b);
        queues.push(Promise.resolve());
        announce();
        return b.index;
      });
      adding = step.catch(() => {});
      return step;
    },
    /** Resolves once no addBackend() is under way. */
    settled: () => adding,
    /**
     * Takes backend i out: every stream hears the list without it (its own
     * clients move off first), it drains for `drainMs`, then goes down for
     * good. Its index stays, marked removed.
     */
    async removeBackend(i, drainMs = 0) {
      checkMs(drainMs, 'drainMs');
      const b = get(i);
      if (b.removed) throw conflict(`backend ${i} was already removed`);
      if (members(backends).length === 1) throw conflict('the last backend of the cluster cannot be removed');
      b.removed = true;
      // A flapping backend would come back up: it stops flapping first.
      flappers.get(i)?.halt();
      announce();
      drainBackend(b, drainMs);
      await sleep(drainMs);
      await kill(i);
    },
  };
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
 */
function applyMode(b, mode, settings, { kill, revive }) {
  if (mode === 'down') return kill();
  if (!b.server) {
    return revive().then(() => {
      b.mode = mode;
      b.settings = settings;
    });
  }
  b.mode = mode;
  b.settings = settings;
  if (mode === 'stall') for (const s of b.streams) s.stalled = true;
  return Promise.resolve();
}

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
 */
function flap(i, options = {}, { get, enqueue, state, context, flappers }) {
  const b = get(i);
  if (!isPlainObject(options)) throw new TypeError('flap options must be a plain object like { periodMs: 500 }');
  for (const key of Object.keys(options)) {
    if (key !== 'periodMs') throw new TypeError(`unknown flap option ${JSON.stringify(key)}; expected periodMs`);
  }
  const periodMs = options.periodMs === undefined ? 500 : checkMs(options.periodMs, 'periodMs', MIN_FLAP_PERIOD_MS);
  if (state.closed) throw new Error('cluster is closed');
  if (b.removed) throw conflict(`backend ${i} was removed from the cluster`);
  if (flappers.has(i)) throw new Error(`backend ${i} is already flapping; stop it first`);
  const f = { stopped: false, timer: null, stopping: null };
  flappers.set(i, f);
  const over = () => f.stopped || state.closed;
  const schedule = () => {
    if (!over()) f.timer = setTimeout(tick, periodMs);
  };
  const tick = () => {
    f.timer = null;
    enqueue(i, async () => {
      if (over() || b.removed) return;
      if (b.server) await stopBackend(b);
      else await startBackend(b, context);
    })
      .catch((err) => {
        // e.g. the port was taken while the backend was down; try again next period.
        if (!over()) console.error(`flap: backend ${i} could not be revived:`, err);
      })
      .finally(schedule);
  };
  f.halt = () => {
    f.stopped = true;
    if (f.timer) clearTimeout(f.timer);
    f.timer = null;
    if (flappers.get(i) === f) flappers.delete(i);
  };
  schedule();
  return function stop() {
    if (!f.stopping) {
      f.halt();
      f.stopping = enqueue(i, async () => {
        if (state.closed || b.removed) return; // close() leaves everything down, and a removed backend stays down
        if (!b.server) await startBackend(b, context);
      });
    }
    return f.stopping;
  };
}

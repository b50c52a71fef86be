// The browser side of the benchmarks (tests/bench/browser/*.mjs drive it):
// the three clients behind one interface, a recorder of what each delivers,
// the dispatch-rate run and the Wasm-boundary loop. Timestamps are
// performance.timeOrigin + performance.now(), comparable with the Node side
// (which measures the offset between the two clocks).
import * as sseb from '/web/dist/sse-balancer.js';
import createSseBalancerCore from '/web/dist/sse-balancer-core.js';
import ReconnectingEventSource from '/vendor/reconnecting-eventsource/reconnecting-eventsource.js';
import { connectWithFailover } from './handwritten-failover.js';

const now = () => performance.timeOrigin + performance.now();

/** Opens one client; `on` gets message/open/failover callbacks. */
function openClient(kind, urls, options, start, on) {
  const first = urls[start % urls.length];
  switch (kind) {
    case 'plain': {
      const es = new EventSource(first);
      es.addEventListener('message', on.message);
      es.addEventListener('open', on.open);
      return { close: () => es.close() };
    }
    case 'sse-balancer': {
      const s = new sseb.BalancedEventSource(urls, options);
      s.addEventListener('message', on.message);
      s.addEventListener('open', on.open);
      s.addEventListener('failover', on.failover);
      return { close: () => s.close(), source: s };
    }
    case 'hand-written':
      return connectWithFailover(urls, { onMessage: on.message, onOpen: on.open, start });
    case 'reconnecting-eventsource': {
      // As users use it: one URL; it reconnects to that URL only.
      const r = new ReconnectingEventSource(first, options ?? undefined);
      r.addEventListener('message', on.message);
      r.onopen = on.open;
      return { close: () => r.close() };
    }
    default:
      throw new TypeError(`unknown client kind ${kind}`);
  }
}

/**
 * Full recorder: every event's arrival time, id and origin, every open.
 * Lite recorder (soak): counters only, so the recording itself does not
 * grow the heap.
 */
function makeRecorder(lite) {
  const r = {
    lite,
    startedAt: now(),
    t: [],
    id: [],
    origin: [],
    opens: [],
    openOrigins: [],
    failovers: 0,
    count: 0,
    lastId: 0,
    maxId: 0,
    gaps: 0,
    duplicates: 0,
    opensCount: 0,
    lastOrigin: null,
  };
  r.message = (e) => {
    const id = Number(e.lastEventId);
    r.count++;
    r.lastOrigin = e.origin;
    if (r.maxId > 0) {
      if (id <= r.maxId) r.duplicates++;
      else if (id > r.maxId + 1) r.gaps += id - r.maxId - 1;
    }
    if (id > r.maxId) r.maxId = id;
    r.lastId = id;
    if (!lite) {
      r.t.push(now());
      r.id.push(id);
      r.origin.push(e.origin);
    }
  };
  r.open = (e) => {
    r.opensCount++;
    if (!lite) {
      r.opens.push(now());
      // The balancer's open event has no origin; its url says where.
      r.openOrigins.push(e?.target?.url ? new URL(e.target.url).origin : null);
    }
  };
  r.failover = () => {
    r.failovers++;
  };
  return r;
}

let client = null;
let rec = null;

window.bench = {
  now,
  defaults: sseb.defaults,
  /** Starts a client of `kind`; returns the page time it was created. */
  start(kind, urls, options = undefined, start = 0, { lite = false } = {}) {
    if (client) throw new Error('a client is already running');
    rec = makeRecorder(lite);
    const t0 = now();
    rec.startedAt = t0;
    client = openClient(kind, urls, options, start, rec);
    return t0;
  },
  /** Counters only (cheap to poll). */
  state() {
    if (!rec) return null;
    const { count, lastId, maxId, gaps, duplicates, opensCount, failovers, lastOrigin } = rec;
    return { count, lastId, maxId, gaps, duplicates, opens: opensCount, failovers, lastOrigin };
  },
  /** True once an event arrived on a connection opened after page time `t`. */
  recoveredAfter(t) {
    if (!rec) return false;
    const firstOpen = rec.opens.find((o) => o > t);
    if (firstOpen === undefined) return false;
    return rec.t.length > 0 && rec.t[rec.t.length - 1] >= firstOpen;
  },
  diagnostics: () => sseb.diagnostics(),
  /** Closes the client and returns the record. */
  stop() {
    if (client) client.close();
    client = null;
    const out = rec;
    rec = null;
    if (!out) return null;
    const { message, open, failover, ...data } = out;
    return data;
  },
  /** Drops the last record and the client without returning anything. */
  reset() {
    if (client) client.close();
    client = null;
    rec = null;
  },

  /**
   * Dispatch rate: opens `kind` on `url` (a stream of `n` events written as
   * fast as the server can) and times the listener seeing them.
   */
  dispatch(kind, url, n, timeoutMs = 60_000) {
    return new Promise((resolve) => {
      let count = 0;
      let first = 0;
      let c = null;
      const t0 = performance.now();
      const finish = (complete) => {
        clearTimeout(timer);
        const last = performance.now();
        c?.close();
        resolve({ complete, count, startMs: t0, firstMs: first, lastMs: last });
      };
      const onEvent = () => {
        if (count === 0) first = performance.now();
        if (++count === n) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const noop = () => {};
      c = openClient(kind, [url], kind === 'sse-balancer' ? {} : undefined, 0, {
        message: onEvent,
        open: noop,
        failover: noop,
      });
    });
  },

  /**
   * The `endpoint` property web/index.js sets on each delivered event,
   * measured as a difference: 'event' = new MessageEvent(type, { data,
   * lastEventId, origin }); 'event+set' = and `event.endpoint = url` (what
   * web/index.js does); 'event+define' = and a read-only `endpoint`
   * property (what it did before). One block of `calls`; returns wall ns per event.
   */
  eventPartsRun(part, calls) {
    let seen = 0;
    const ids = idStrings(calls);
    const data = '{"seq":1}';
    const origin = location.origin;
    const endpoint = `${origin}/events`;
    const define = part.includes('define');
    const set = part.includes('set');
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      const out = new MessageEvent('message', { data, lastEventId: ids[i], origin });
      if (define) Object.defineProperty(out, 'endpoint', { value: endpoint, enumerable: true });
      else if (set) out.endpoint = endpoint;
      if (out.endpoint === endpoint) seen++;
    }
    const t1 = performance.now();
    return { nsPerEvent: ((t1 - t0) * 1e6) / calls, seen };
  },

  /**
   * The core's per-event decision alone, set-up: a second instance of the
   * core module whose host opens nothing (no EventSource, no network), one
   * balancer (3 endpoints, index.js's defaults) on an open stream, and
   * `calls` ids: strings for the string path, numbers for the numeric one.
   */
  async coreSetup(calls) {
    const core = await createSseBalancerCore();
    const split = (text) => (text === '' ? [] : text.split(','));
    const codes = (names) => Object.fromEntries(names.map((name, i) => [name, i]));
    const TABLE = codes(split(core.textOf(0, -1)));
    const OP = codes(split(core.textOf(0, TABLE.ops)));
    const TEXT = codes(split(core.textOf(0, TABLE.textOps)));
    const HOST = codes(split(core.textOf(0, TABLE.hostOps)));
    let connectionId = 0;
    const h = core.create((op, a) => {
      if (op === HOST.openSource) connectionId = a;
      return 0;
    });
    for (const url of ['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b', 'http://127.0.0.1:9/c']) {
      core.text(h, TEXT.addUrl, 0, url);
    }
    // index.js's defaults (the core's own) apart from these.
    core.text(h, TEXT.policy, 0, 'round-robin');
    core.text(h, TEXT.lastEventIdParam, 0, 'lastEventId');
    core.call(h, OP.setSeed, 12345, 0);
    core.call(h, OP.start, 0, 0);
    core.call(h, OP.open, connectionId, 0);
    // One block of ids, reused: each block restarts the sequence, which the
    // core sees as a restarted log (one reset per block, negligible).
    const ids = idStrings(calls);
    coreState = { core, h, OP, TEXT, connectionId, ids, numbers: ids.map(Number), sink: 0 };
    return true;
  },

  /**
   * One block: every id through the core's message op, as a string (mode
   * 'core'), as a number (mode 'core-numeric', what index.js sends for
   * decimal ids), or through an empty JS function (mode 'empty': the loop's
   * own cost). Returns wall ns per call.
   */
  coreRun(mode) {
    const { core, h, OP, TEXT, connectionId, ids, numbers } = coreState;
    const empty = (a, b) => (b.length > 0 ? 0 : a);
    let sink = 0;
    const t0 = performance.now();
    if (mode === 'core') for (let i = 0; i < ids.length; i++) sink += core.text(h, TEXT.message, connectionId, ids[i]);
    else if (mode === 'core-numeric') for (let i = 0; i < ids.length; i++) sink += core.call(h, OP.message, connectionId, numbers[i]);
    else for (let i = 0; i < ids.length; i++) sink += empty(connectionId, ids[i]);
    const t1 = performance.now();
    coreState.sink += sink;
    return { nsPerCall: ((t1 - t0) * 1e6) / ids.length };
  },

  coreTeardown() {
    const { core, h, OP, sink } = coreState;
    core.call(h, OP.close, 0, 0);
    core.call(h, OP.delete, 0, 0);
    coreState = null;
    return sink;
  },
};

let coreState = null;

function idStrings(n) {
  const ids = new Array(n);
  for (let i = 0; i < n; i++) ids[i] = String(i + 1);
  return ids;
}

// The module does not wait for the Wasm core; tests here expect a balancer
// made now to connect before its constructor returns, as it does once loaded.
await sseb.ready;
window.benchReady = true;

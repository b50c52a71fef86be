// sse-balancer: the public face of the package. The balancing decisions are
// made by the C++ core compiled to WebAssembly; this module validates input,
// does what the core decides (opens and closes EventSources, runs timers),
// turns core notifications into DOM events, and keeps each delivered event's
// payload in JS (it never enters Wasm memory).
//
// This file is the second half of web/dist/sse-balancer.js, the module the
// package ships: scripts/bundle.mjs puts the Emscripten glue (which defines
// createSseBalancerCore) before it, so a page loads one module and the .wasm,
// not a chain of three files. It is not loaded on its own.
/* global createSseBalancerCore */

// The platform's EventSource, captured once: a page may install a
// BalancedEventSource subclass as globalThis.EventSource (a drop-in), and the
// balancer must still open the browser's own streams.
const PlatformEventSource = globalThis.EventSource;

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

// Start reading the .wasm at once, while this module evaluates, and compile
// it as it arrives. In a browser that is a fetch; where the module itself was
// loaded from a file (Node, e.g. a page's modules imported for server-side
// rendering, or Deno), the package's own file.
const wasmUrl = new URL('./sse-balancer-core.wasm', import.meta.url);
const wasmSource = readWasm();
const wasmModule = compileWasm(wasmSource);
wasmModule.catch(() => {}); // reported through `loading` below

function readWasm() {
  if (wasmUrl.protocol === 'file:') {
    // Node (20.16+, 22.3+) and other runtimes with process.getBuiltinModule:
    // no import() that a browser bundler would try to resolve.
    const fs = globalThis.process?.getBuiltinModule?.('node:fs/promises');
    if (!fs) return Promise.reject(new Error(`sse-balancer: cannot read ${wasmUrl} (no process.getBuiltinModule)`));
    return fs.readFile(wasmUrl);
  }
  if (typeof globalThis.fetch !== 'function') {
    return Promise.reject(new Error('sse-balancer: no fetch() to load the Wasm core with'));
  }
  return globalThis.fetch(wasmUrl, { credentials: 'same-origin' });
}

function nextTask() {
  return new Promise((resolve) => {
    if (typeof MessageChannel !== 'function') {
      setTimeout(resolve, 0);
      return;
    }
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close(); // nothing stays open (in Node, nothing keeps the process alive)
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

async function compileWasm(read) {
  const source = await read;
  if (!(source instanceof Response)) return WebAssembly.compile(source);
  if (!source.ok) throw new Error(`sse-balancer: cannot load ${wasmUrl} (HTTP ${source.status})`);
  try {
    return await WebAssembly.compileStreaming(source.clone());
  } catch (error) {
    // A server that does not send application/wasm: compile from bytes.
    if (!(error instanceof TypeError)) throw error;
    return WebAssembly.compile(await source.arrayBuffer());
  }
}

// The glue's set-up runs in a task of its own after this module evaluated
// (while the .wasm is fetched and compiled): importing does not wait for it.
// A message, not a timer: a background tab's timers may wait up to a second.
let loadFailed;
const failure = new Promise((_, reject) => {
  loadFailed = reject;
});
const loading = nextTask().then(() =>
  createSseBalancerCore({
    instantiateWasm(imports, receive) {
      wasmModule.then(async (module) => receive(await WebAssembly.instantiate(module, imports), module)).catch(loadFailed);
      return {}; // exports arrive through receive()
    },
  }),
);
// The glue's own promise also rejects when instantiation fails: handled
// here, through the race, so nothing is left unhandled.
loading.catch(() => {});

let core = null;
let loadError = null;
/**
 * Resolves once the Wasm core is loaded; rejects with the reason when it
 * could not be. Importing does not wait for it (no top-level await: a page's
 * own modules run while the .wasm loads) and never throws; a balancer made
 * earlier starts when the core is there, and one made after a failed load
 * throws the reason.
 */
export const ready = Promise.race([loading, failure])
  .then((loaded) => {
    checkBuild(loaded);
    core = loaded;
  })
  .catch((error) => {
    loadError = error;
    throw error;
  });
ready.catch(() => {});

// The boundary (bindings/protocol.h): four functions over numbers and
// strings. Every code and name comes from the core's own tables:
// scripts/bundle.mjs read them from this build of the core (textOf(0, -2),
// "name=a,b,c" lines, and each option's default) into CORE_TABLES and
// CORE_DEFAULTS, so options are checked before the .wasm has loaded.
/* global CORE_TABLES, CORE_DEFAULTS */
const split = (text) => (text === '' ? [] : text.split(','));
const codes = (names) => Object.freeze(Object.fromEntries(names.map((name, i) => [name, i])));
const TABLES = new Map(
  CORE_TABLES.split('\n')
    .filter((line) => line !== '')
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);
const table = (name) => split(TABLES.get(name) ?? '');
const TABLE = codes(table('tables'));
const OP = codes(table('ops'));
const TEXT = codes(table('textOps'));
const HOST = codes(table('hostOps'));
const OPTION_NAMES = table('options');
const STATES = table('states');
const REASONS = table('reasons');
const BALANCER_STATS = table('balancerStats');
const ENDPOINT_STATS = table('endpointStats');
// The hot path's codes, read once.
const OP_MESSAGE = OP.message;
const TEXT_MESSAGE = TEXT.message;

const POLICIES = Object.freeze(table('policies'));

/** The defaults of every option the core applies: the core owns them. */
const CORE = {
  ...Object.fromEntries(OPTION_NAMES.map((name, i) => [name, CORE_DEFAULTS[i]])),
  lastEventIdParam: TABLES.get('defaultParam'),
  lastEventId: TABLES.get('defaultLastEventId'),
};

/** The .wasm must be the build whose tables this module holds (both come from one build). */
function checkBuild(loaded) {
  const same =
    loaded.textOf(0, -2) === CORE_TABLES && CORE_DEFAULTS.every((value, i) => loaded.call(0, OP.default, i, 0) === value);
  if (!same) throw new Error(`sse-balancer: ${wasmUrl} is not the build this module was made with`);
}

/**
 * The core's stats fields as an object: `a.b` names nest, enumerations become
 * their names, -1 means none (null), 0/1 flags become booleans.
 */
function readStats(names, read) {
  const out = {};
  names.forEach((name, field) => {
    const value = read(field);
    const [outer, inner] = name.split('.');
    if (inner !== undefined) (out[outer] ??= {})[inner] = value;
    else out[name] = value;
  });
  return out;
}

/**
 * Every option, its default, and its check. Options the core applies take
 * the core's default; index.d.ts and the README document the same values
 * (tests/e2e/api.spec.js compares all three).
 */
const OPTIONS = Object.freeze({
  policy: { default: 'round-robin', check: checkPolicy },
  seed: { default: undefined, check: checkSeed },
  withCredentials: { default: false, check: checkBoolean },
  lastEventIdParam: { default: CORE.lastEventIdParam, check: checkParamName },
  lastEventId: { default: CORE.lastEventId, check: checkString },
  initialBackoffMs: { default: CORE.initialBackoffMs, check: checkNumber(1, 3.6e6) },
  backoffMultiplier: { default: CORE.backoffMultiplier, check: checkNumber(1, 10) },
  maxBackoffMs: { default: CORE.maxBackoffMs, check: checkNumber(1, 3.6e6) },
  jitter: { default: CORE.jitter, check: checkNumber(0, 1) },
  minRetryMs: { default: CORE.minRetryMs, check: checkNumber(10, 3.6e6) },
  resetBackoffAfterMs: { default: CORE.resetBackoffAfterMs, check: checkNumber(0, 8.64e7) },
  maxOutageRetryMs: { default: CORE.maxOutageRetryMs, check: checkNumber(10, 3.6e6) },
  dedupWindow: { default: CORE.dedupWindow, check: checkInteger(0, 1e6) },
  heartbeatTimeoutMs: { default: CORE.heartbeatTimeoutMs, check: checkTimeout },
  heartbeatEvent: { default: 'heartbeat', check: checkEventType },
  connectTimeoutMs: { default: CORE.connectTimeoutMs, check: checkTimeout },
  ejectAfterFailures: { default: CORE.ejectAfterFailures, check: checkInteger(0, 1000) },
  ejectionMs: { default: CORE.ejectionMs, check: checkNumber(1, 8.64e7) },
  maxEjectionMs: { default: CORE.maxEjectionMs, check: checkNumber(1, 8.64e7) },
  maxEjectedPercent: { default: CORE.maxEjectedPercent, check: checkNumber(0, 100) },
  maxConnectsPerMinute: { default: CORE.maxConnectsPerMinute, check: checkInteger(0, 1e6) },
  urlProvider: { default: null, check: checkUrlProvider },
  share: { default: false, check: checkShare },
  weights: { default: null, check: checkWeights },
  stickyKey: { default: '', check: checkString },
  EventSource: { default: null, check: checkEventSourceClass },
});

/** Browser signals that say the network or the page came back: the core's op for each (null: none). */
const LIFECYCLE = [
  [() => globalThis, 'online', () => 'online'],
  [() => globalThis, 'offline', () => 'offline'],
  // Restored from the back/forward cache: its streams may be long dead.
  [() => globalThis, 'pageshow', (event) => (event.persisted ? 'resume' : null)],
  // Visible again: hidden tabs throttle timers, so check rather than wait.
  // Hiding does nothing: a healthy stream is never torn down.
  [() => globalThis.document, 'visibilitychange', () => (globalThis.document.visibilityState === 'visible' ? 'resume' : null)],
];

/**
 * Event types the balancer dispatches itself. Every other type (`message`
 * and the server's named types) is the browser's own event, which the
 * balancer's listener on the underlying EventSource passes to the page's
 * listeners once the core has decided it.
 */
const OWN_TYPES = new Set(['open', 'error', 'failover']);

/**
 * The servers' control events (README, "Servers speak to their clients"):
 * types with this prefix are handled by the balancer and never delivered.
 */
const CONTROL_PREFIX = 'sse-balancer.';
/** `event: sse-balancer.drain`, `data: {"withinMs": 5000}`: this server goes away within that time. */
const CONTROL_DRAIN = `${CONTROL_PREFIX}drain`;
/**
 * `event: sse-balancer.load`, `data: {"load": 12, "peers": {"https://b.example": 9}}`: this
 * server's load (e.g. open streams), and optionally its peers' by origin.
 */
const CONTROL_LOAD = `${CONTROL_PREFIX}load`;
/** `event: sse-balancer.endpoints`, `data: {"endpoints": [{"url": "…", "weight": 2}, "…"]}`: the current list. */
const CONTROL_ENDPOINTS = `${CONTROL_PREFIX}endpoints`;
/** The longest endpoint list taken (the constructor's, setEndpoints', a server's). */
const MAX_ENDPOINTS = 1024;

export const defaults = Object.freeze(
  Object.fromEntries(Object.entries(OPTIONS).map(([k, v]) => [k, v.default])),
);

/** Open EventSources and share channels of this module, for diagnostics(). */
const liveCount = { eventSources: 0, channels: 0 };

/** For the tab that leads a shared stream (web/share.js): the core's pick for a request, and a failed request. */
const PICK_ENDPOINT = Symbol('pick endpoint');
/** For that tab: called (in a microtask) after the endpoint list changed. */
const ENDPOINTS_CHANGED = Symbol('endpoints changed');
const REQUEST_FAILED = Symbol('request failed');

/**
 * web/share.js, the `share` option's TabShare: a chunk of its own
 * (web/dist/sse-balancer-share.js), imported only for a balancer with
 * `share`, so a page without it never loads it. Null until loaded.
 */
let TabShare = null;
let shareLoading = null;
function loadShare() {
  shareLoading ??= import('./sse-balancer-share.js').then(
    (chunk) => {
      TabShare = chunk.tabShare({
        BalancedEventSource,
        BalancedErrorEvent,
        FailoverEvent,
        PICK_ENDPOINT,
        REQUEST_FAILED,
        ENDPOINTS_CHANGED,
        liveCount,
        waitingStats,
      });
    },
    (error) => {
      shareLoading = null; // a later balancer tries again
      throw error;
    },
  );
  return shareLoading;
}

/** Web Locks and BroadcastChannel, in a document (a worker streams on its own). */
function canShare() {
  return (
    typeof globalThis.document !== 'undefined' &&
    typeof globalThis.navigator?.locks?.request === 'function' &&
    typeof globalThis.BroadcastChannel === 'function'
  );
}

/** stats() of a stream not started yet: a follower before the leader said anything, or before the core loaded. */
function waitingStats(urls, lastEventId) {
  return {
    readyState: 0,
    policy: null,
    activeEndpoint: null,
    lastEventId,
    offline: false,
    idResets: 0,
    connectsLastMinute: { used: 0, limit: 0 },
    endpoints: urls.map((url) => ({ url, state: 'idle' })),
  };
}

/** The policy names this build of the core knows. */
export const policies = POLICIES;

/**
 * Figures for leak checks: live Embind handles, bytes malloc'd in the Wasm
 * heap, and the Wasm heap's size. Not part of the stable API.
 */
export function diagnostics() {
  return {
    emvalHandles: core?.count_emval_handles() ?? 0,
    wasmHeapInUse: core?.call(0, OP.heapInUse, 0, 0) ?? 0,
    wasmHeapSize: core?.call(0, OP.heapSize, 0, 0) ?? 0,
    openEventSources: liveCount.eventSources,
    openShareChannels: liveCount.channels,
  };
}

/**
 * An Event class whose `fields`, given at construction ({ [field]: value }),
 * are read-only properties of its instances.
 */
function eventWithFields(fields) {
  return class extends Event {
    #values;

    constructor(type, init = {}) {
      super(type);
      this.#values = fields.map((field) => init[field]);
    }

    static {
      fields.forEach((field, i) => {
        Object.defineProperty(this.prototype, field, {
          get() {
            return this.#values[i];
          },
          enumerable: true,
          configurable: true,
        });
      });
    }
  };
}

/**
 * The balancer's `error` event: the active stream failed (readyState is then
 * CONNECTING). `reason`: 'network', 'http', 'stall', 'closed' or 'provider';
 * `endpoint`: the one that failed; `cause`: with 'provider', what the
 * urlProvider threw or rejected with.
 */
export class BalancedErrorEvent extends eventWithFields(['reason', 'endpoint', 'cause']) {}

/** The balancer's `failover` event: the active endpoint changed `from` (or null) `to`, for `reason`. */
export class FailoverEvent extends eventWithFields(['from', 'to', 'reason']) {}

/**
 * An EventSource that streams from one of several endpoints and moves to
 * another when the active one fails, without losing or repeating events.
 */
export class BalancedEventSource extends EventTarget {
  static CONNECTING = CONNECTING;
  static OPEN = OPEN;
  static CLOSED = CLOSED;

  /** The core's handle (bindings/module.cc); 0 while shared (web/share.js) or not started. */
  #h = 0;
  /**
   * Until the stream starts (made before the core loaded): the options, and
   * the last setEndpoints() list to apply once started. Else null.
   */
  #pending = null;
  /** Settles once the stream started, or closed before it could. */
  #started = Promise.resolve();
  /** With the `share` option: the tabs' shared stream (TabShare), else null. */
  #share = null;
  #urls;
  #policy;
  #withCredentials;
  #EventSource;
  #handlers = new Map();
  #closed = false;
  #finalStats = null;
  #lastUrl;
  #urlProvider;
  #providerErrors = new Map();
  #lifecycle = [];
  /** The page's listeners of event types: type -> [{ callback, capture, once, removed }]. */
  #listeners = new Map();
  /** Event types the core's listener hears on every EventSource. */
  #types = new Set(['open', 'error', 'message', CONTROL_DRAIN, CONTROL_LOAD, CONTROL_ENDPOINTS]);
  /** The live underlying EventSources, by connection id: { source, gate }. */
  #sources = new Map();
  /** Connections waiting for the urlProvider's answer. */
  #awaiting = new Set();
  /** Pending timers of the core: timer id -> setTimeout handle. */
  #timers = new Map();

  constructor(urls, options = undefined) {
    super();
    if (loadError !== null) {
      throw new Error(`BalancedEventSource: the Wasm core could not be loaded (${loadError?.message ?? loadError})`, {
        cause: loadError,
      });
    }
    const endpoints = normalizeUrls(urls);
    const config = normalizeOptions(options);
    if (config.weights !== null && config.weights.length !== endpoints.length) {
      throw new RangeError(
        `BalancedEventSource: option weights must have one weight per endpoint (${endpoints.length}), got ${config.weights.length}`,
      );
    }
    const EventSourceClass = config.EventSource ?? PlatformEventSource;
    if (typeof EventSourceClass !== 'function') {
      throw new TypeError(
        'BalancedEventSource: this environment has no EventSource (globalThis.EventSource was not a constructor ' +
          'when sse-balancer loaded); pass an implementation as the EventSource option',
      );
    }
    this.#urls = endpoints;
    this.#lastUrl = endpoints[0];
    this.#policy = config.policy;
    this.#withCredentials = config.withCredentials;
    this.#urlProvider = config.urlProvider;
    this.#EventSource = EventSourceClass;
    const shared = config.share !== false && canShare();
    // The options as checked now: a page may change its object afterwards.
    const given = { ...options, ...(config.weights ? { weights: config.weights } : {}) };
    if (core !== null && (!shared || TabShare !== null)) {
      this.#start(config, given, shared);
      return;
    }
    this.#defer(config, given, shared);
  }

  // Made before the core (or, with `share`, its chunk) loaded: checked like
  // any other, started once it is. #started settles then, or at close().
  #defer(config, given, shared) {
    let settle;
    this.#started = new Promise((resolve) => (settle = resolve));
    this.#pending = { config, later: null, settle, first: this.#urls };
    (shared ? Promise.all([ready, loadShare()]) : ready)
      .then(
        () =>
          this.#guard(() => {
            const { later, first } = this.#pending;
            this.#pending = null;
            if (later && !shared) {
              // The list set meanwhile is the one the core starts from: the
              // one given first is never asked.
              this.#start({ ...config, weights: later.weights }, given, shared);
              return;
            }
            // Shared: the key stays the first list's; the new one reaches every tab.
            this.#urls = first;
            this.#start(config, given, shared);
            if (later) this.#setList(later.urls, later.weights);
          }),
        (error) =>
          this.#guard(() => {
            // As an EventSource that cannot connect: CLOSED, then `error`.
            this.close();
            this.dispatchEvent(new BalancedErrorEvent('error', { reason: 'load', endpoint: null, cause: error }));
          }),
      )
      .finally(settle);
  }

  /** Starts the stream: this tab's core, or the tabs' shared stream. */
  #start(config, options, shared) {
    if (shared) {
      // This tab leads or follows; the stream it leads is a source of its own.
      const { share, ...own } = options;
      this.#share = new TabShare({
        share,
        urls: this.#urls,
        options: own,
        face: {
          deliver: (event) => this.#deliver(event),
          emit: (event) => this.dispatchEvent(event),
          types: () => [...this.#listeners.keys()],
          urls: (list) => {
            this.#urls = list;
          },
        },
      });
      return;
    }
    this.#startCore(config);
  }

  /** Creates the core with the validated options and starts it. */
  #startCore(config) {
    const h = (this.#h = core.create((op, a, b, c, text) => this.#host(op, a, b, c, text)));
    const endpoints = this.#urls;
    for (const url of endpoints) core.text(h, TEXT.addUrl, 0, url);
    core.text(h, TEXT.policy, 0, config.policy);
    core.text(h, TEXT.stickyKey, 0, config.stickyKey);
    config.weights?.forEach((weight, i) => core.call(h, OP.setWeight, i, weight));
    core.text(h, TEXT.lastEventIdParam, 0, config.lastEventIdParam);
    core.text(h, TEXT.lastEventId, 0, config.lastEventId);
    OPTION_NAMES.forEach((name, i) => core.call(h, OP.setOption, i, config[name]));
    core.call(h, OP.setSeed, config.seed, 0);
    // The watchdog needs to see the server's named heartbeat events.
    if (config.heartbeatTimeoutMs > 0) this.#forward(config.heartbeatEvent);
    for (const [target, type, opOf] of LIFECYCLE) {
      const node = target();
      if (!node?.addEventListener) continue;
      const listener = (event) => {
        const op = opOf(event);
        if (op !== null) this.#guard(() => core.call(h, OP[op], 0, 0));
      };
      node.addEventListener(type, listener);
      this.#lifecycle.push(() => node.removeEventListener(type, listener));
    }
    core.call(h, OP.start, 0, 0);
  }

  // What the core asks of the browser (HostOp in bindings/protocol.h).
  #host(op, a, b, c, text) {
    switch (op) {
      case HOST.openSource:
        if (this.#urlProvider === null) this.#openSource(a, text);
        else this.#resolveUrl(a, b, text);
        break;
      case HOST.closeSource:
        this.#closeSource(a);
        break;
      case HOST.startTimer:
        this.#timers.set(a, setTimeout(() => this.#onTimer(a), b));
        break;
      case HOST.cancelTimer:
        clearTimeout(this.#timers.get(a));
        this.#timers.delete(a);
        break;
      case HOST.endpointsChanged:
        this.#urls = core.textOf(this.#h, TABLE.endpointUrls).split('\n');
        if (this[ENDPOINTS_CHANGED]) queueMicrotask(this[ENDPOINTS_CHANGED]);
        break;
      case HOST.isAlive:
        return this.#awaiting.has(a) || (this.#sources.get(a)?.source.readyState ?? CLOSED) !== CLOSED ? 1 : 0;
      case HOST.notifyOpen:
        this.#lastUrl = this.#urls[a];
        this.dispatchEvent(new Event('open'));
        break;
      case HOST.notifyError: {
        const reason = REASONS[b];
        const cause = reason === 'provider' ? this.#providerErrors.get(a) : undefined;
        this.dispatchEvent(new BalancedErrorEvent('error', { reason, endpoint: this.#urls[a], cause }));
        break;
      }
      case HOST.notifyFailover:
        this.#lastUrl = this.#urls[b];
        this.dispatchEvent(
          new FailoverEvent('failover', { from: a < 0 ? null : this.#urls[a], to: this.#urls[b], reason: REASONS[c] }),
        );
        break;
    }
    return 0;
  }

  // Opens the EventSource of connection `id` with the core's listener for
  // every forwarded type.
  #openSource(id, url) {
    const source = new this.#EventSource(url, { withCredentials: this.#withCredentials });
    liveCount.eventSources++;
    for (const type of this.#types) source.addEventListener(type, this.#gate(id, type));
    this.#sources.set(id, { source, id, origin: new URL(url).origin });
  }

  // The core's listener of one type on connection `id`'s EventSource: each
  // kind of event has its own, so a message's path tests nothing but its id.
  #gate(id, type) {
    if (type === 'open' || type === 'error') return (event) => this.#onSourceState(id, event);
    if (type.startsWith(CONTROL_PREFIX)) return (event) => this.#guard(() => this.#onControl(id, event));
    return (event) => this.#onSourceMessage(id, type, event);
  }

  #closeSource(id) {
    this.#awaiting.delete(id);
    const entry = this.#sources.get(id);
    if (!entry) return;
    entry.source.close();
    liveCount.eventSources--;
    this.#sources.delete(id);
  }

  #onTimer(id) {
    this.#timers.delete(id);
    this.#guard(() => core.call(this.#h, OP.timer, id, 0));
  }

  // The core's listener hears `type` on every EventSource, now and later.
  #forward(type) {
    if (this.#types.has(type)) return;
    this.#types.add(type);
    for (const { source, id } of this.#sources.values()) source.addEventListener(type, this.#gate(id, type));
  }

  /** CONNECTING (0), OPEN (1) or CLOSED (2), as EventSource. */
  get readyState() {
    if (this.#closed) return CLOSED;
    if (this.#pending) return CONNECTING;
    return this.#share ? this.#share.readyState : core.call(this.#h, OP.stat, -1, 0);
  }

  /** The endpoint streaming or being connected to (or the last one used). */
  get url() {
    if (this.#pending) this.#lastUrl = this.#urls[0];
    else if (this.#share && !this.#closed) this.#lastUrl = this.#share.url;
    else if (!this.#closed) {
      const active = core.call(this.#h, OP.stat, -1, 1);
      if (active >= 0) this.#lastUrl = this.#urls[active];
    }
    return this.#lastUrl;
  }

  get withCredentials() {
    return this.#withCredentials;
  }

  /** Every endpoint's state and counters (a snapshot). */
  get endpoints() {
    return this.stats().endpoints;
  }

  /** A snapshot of the balancer: ready state, last event id, endpoints. */
  /**
   * A snapshot of the balancer: ready state, last event id, endpoints, and
   * `role` ('solo', or with `share` 'leader' / 'follower') with the number of
   * `tabs` sharing the stream.
   */
  stats() {
    if (this.#closed) return structuredClone(this.#finalStats);
    if (this.#pending) return { ...waitingStats(this.#urls, this.#pending.config.lastEventId), role: 'solo', tabs: 1 };
    if (this.#share) return this.#share.stats();
    return { ...this.#readStats(), role: 'solo', tabs: 1 };
  }

  #readStats() {
    const h = this.#h;
    core.call(h, OP.refresh, 0, 0); // as of now: cool-downs that ran out have ended
    const out = readStats(BALANCER_STATS, (field) => core.call(h, OP.stat, -1, field));
    out.policy = this.#policy;
    out.activeEndpoint = out.activeEndpoint < 0 ? null : out.activeEndpoint;
    out.lastEventId = core.textOf(h, TABLE.lastEventId);
    out.offline = out.offline === 1;
    out.endpoints = this.#urls.map((url, i) => {
      const endpoint = { url, ...readStats(ENDPOINT_STATS, (field) => core.call(h, OP.stat, i, field)) };
      endpoint.state = STATES[endpoint.state];
      endpoint.probation = endpoint.probation === 1;
      endpoint.retired = endpoint.retired === 1;
      endpoint.lastError = endpoint.lastError < 0 ? null : REASONS[endpoint.lastError];
      if (endpoint.lastErrorAgoMs < 0) endpoint.lastErrorAgoMs = null;
      return endpoint;
    });
    return out;
  }

  /**
   * Closes the stream for good: no connection stays open, no timer stays
   * pending, no event fires afterwards. Safe to call twice or from a
   * listener.
   */
  close() {
    if (this.#closed) return;
    if (this.#pending) {
      this.#finalStats = { ...this.stats(), readyState: CLOSED };
      this.#closed = true;
      this.#pending.settle(); // a fetch() waiting for the start goes on, and finds the source closed
      this.#pending = null;
      return;
    }
    if (this.#share) {
      this.#finalStats = { ...this.#share.stats(), readyState: CLOSED };
      this.#closed = true;
      this.#share.close();
      return;
    }
    const h = this.#h;
    core.call(h, OP.close, 0, 0);
    this.#finalStats = { ...this.#readStats(), readyState: CLOSED, role: 'solo', tabs: 1 };
    this.#closed = true;
    for (const remove of this.#lifecycle) remove();
    this.#lifecycle = [];
    // The core closed its connections and timers; nothing may outlive close()
    // even if it had not.
    for (const { source } of this.#sources.values()) source.close();
    liveCount.eventSources -= this.#sources.size;
    for (const handle of this.#timers.values()) clearTimeout(handle);
    this.#sources.clear();
    this.#timers.clear();
    this.#awaiting.clear();
    this.#providerErrors.clear();
    // The core may be on the stack (close() called from a listener): free it
    // once the current call has returned.
    queueMicrotask(() => core.call(h, OP.delete, 0, 0));
  }

  /**
   * A request beside the stream (e.g. posting a chat message) sent to a
   * healthy endpoint chosen with the same policy and health state. `input`
   * resolves against the chosen endpoint's URL (`'/chat/messages'` goes to
   * that endpoint's origin). With `init.idempotent: true` a network failure
   * is retried on another endpoint, and an `Idempotency-Key` header is added
   * unless one is given; otherwise the first network error is thrown. HTTP
   * error statuses are returned, never retried. The Response carries the
   * `endpoint` it went to.
   */
  async fetch(input, init = {}) {
    if (this.#closed) {
      throw new DOMException('BalancedEventSource.fetch: the source is closed', 'InvalidStateError');
    }
    if (typeof input !== 'string' && !(input instanceof URL)) {
      throw new TypeError(`BalancedEventSource.fetch: input must be a path or URL string, got ${describe(input)}`);
    }
    if (init === null || typeof init !== 'object') {
      throw new TypeError(`BalancedEventSource.fetch: init must be an object, got ${describe(init)}`);
    }
    if (this.#pending) await this.#started; // made before the core loaded: until the stream started
    const { idempotent = false, ...request } = init;
    if (typeof idempotent !== 'boolean') {
      throw new TypeError(`BalancedEventSource.fetch: init.idempotent must be a boolean, got ${describe(idempotent)}`);
    }
    const headers = new Headers(request.headers);
    if (idempotent && !headers.has('Idempotency-Key')) headers.set('Idempotency-Key', globalThis.crypto.randomUUID());
    request.headers = headers;
    request.credentials ??= this.#withCredentials ? 'include' : 'same-origin';
    // Where `input` goes from each endpoint. An endpoint may take the request
    // only when it stays on that endpoint's origin: a body or an
    // Idempotency-Key must never leave for an origin that is not balanced.
    // Endpoints are named by URL, not index: the list may change while a
    // request is under way.
    const tried = this.#urls.filter((endpoint) => requestTarget(input, endpoint) === null);
    if (tried.length === this.#urls.length) throw offOrigins(input, this.#urls);
    let lastError;
    for (let attempt = 0; attempt === 0 || idempotent; ) {
      if (this.#closed) break;
      const endpoint = this.#share ? await this.#share.pick(tried) : this[PICK_ENDPOINT](tried);
      if (endpoint === null) break;
      tried.push(endpoint);
      const target = requestTarget(input, endpoint);
      if (target === null) continue; // a new list meanwhile: not on its origin
      attempt++;
      // Refused before it leaves (a bad header, a forbidden mode): the
      // caller's error, thrown as is; no endpoint is blamed. On a retry (a
      // stream body cannot be sent twice) the first failure is the answer.
      let outgoing;
      try {
        outgoing = new Request(target, request);
      } catch (error) {
        throw lastError ?? error;
      }
      const blocked = watchPolicyBlocks();
      try {
        const response = await globalThis.fetch(outgoing);
        defineReadOnly(response, { endpoint });
        return response;
      } catch (error) {
        // Aborted by the caller (abort(), AbortSignal.timeout(), any reason):
        // says nothing about the endpoint, and every retry would abort too.
        if (error?.name === 'AbortError' || outgoing.signal.aborted) throw error;
        lastError = error;
        // A Content-Security-Policy block also rejects with a TypeError, but
        // the request never left: it says nothing about the endpoint.
        if (await blocked.saw(outgoing.url)) throw error;
        if (this.#share) this.#share.requestFailed(endpoint);
        else if (!this.#closed) this[REQUEST_FAILED](endpoint);
      } finally {
        blocked.stop();
      }
    }
    if (lastError !== undefined) throw lastError;
    // Nothing sent: closed meanwhile, or a new list left no endpoint on the request's origin.
    if (this.#closed) throw new DOMException('BalancedEventSource.fetch: the source is closed', 'InvalidStateError');
    if (this.#urls.every((endpoint) => requestTarget(input, endpoint) === null)) throw offOrigins(input, this.#urls);
    throw new TypeError(`BalancedEventSource.fetch: no endpoint could take '${input}'; nothing was sent`);
  }

  /** The core's endpoint (its URL) for a request, not one of the URLs `tried` (null: none). */
  [PICK_ENDPOINT](tried) {
    if (this.#closed) return null;
    for (const url of tried) {
      const excluded = this.#urls.indexOf(url);
      if (excluded >= 0) core.call(this.#h, OP.exclude, excluded, 0);
    }
    const index = core.call(this.#h, OP.pick, 0, 0);
    return index < 0 ? null : this.#urls[index];
  }

  /** A request to the endpoint at URL `endpoint` failed at the network level (one no longer listed: nothing). */
  [REQUEST_FAILED](endpoint) {
    const index = this.#urls.indexOf(endpoint);
    if (!this.#closed && index >= 0) core.call(this.#h, OP.requestFailed, index, 0);
  }

  // The page's listeners of event types are kept here; the balancer's
  // listener on the underlying EventSource calls them once the core has
  // decided an event: the page gets the browser's own MessageEvent (no second
  // event built and dispatched, and one DOM listener call per event).
  addEventListener(type, listener, options) {
    const name = String(type);
    if (OWN_TYPES.has(name)) {
      super.addEventListener(type, listener, options);
      return;
    }
    if (listener === null || listener === undefined) return;
    const capture = captureOf(options);
    const signal = typeof options === 'object' ? options?.signal : undefined;
    if (signal?.aborted) return;
    if (this.#findListener(name, listener, capture)) return;
    let entries = this.#listeners.get(name);
    if (!entries) this.#listeners.set(name, (entries = []));
    const entry = { callback: listener, capture, once: typeof options === 'object' && Boolean(options?.once), removed: false };
    entries.push(entry);
    if (this.#closed) return;
    if (this.#share) this.#share.listen(name);
    else this.#forward(name);
    signal?.addEventListener('abort', () => this.#forget(name, entry), { once: true });
  }

  removeEventListener(type, listener, options) {
    const name = String(type);
    if (OWN_TYPES.has(name)) {
      super.removeEventListener(type, listener, options);
      return;
    }
    const entry = this.#findListener(name, listener, captureOf(options));
    if (entry) this.#forget(name, entry);
  }

  // An EventTarget tells listeners apart by type, callback and capture.
  #findListener(type, callback, capture) {
    return this.#listeners.get(type)?.find((e) => e.callback === callback && e.capture === capture);
  }

  #forget(type, entry) {
    const entries = this.#listeners.get(type);
    const at = entries ? entries.indexOf(entry) : -1;
    if (at < 0) return;
    entries.splice(at, 1);
    entry.removed = true; // not called again, even by a dispatch under way
  }

  // Calls the page's listeners of a delivered event, in order, as an
  // EventTarget would: `this` is the balancer, an exception is reported and
  // the next listener still runs, stopImmediatePropagation() stops the rest,
  // a listener added meanwhile waits for the next event and one removed
  // meanwhile is not called.
  #deliver(event, type = event.type) {
    const entries = this.#listeners.get(type);
    if (entries === undefined || entries.length === 0) return;
    if (entries.length === 1) {
      this.#call(type, entries[0], event);
      return;
    }
    let stopped = false;
    // Only here, with a listener after the current one: see whether it asks
    // the rest to be skipped (the event keeps that flag to itself).
    Object.defineProperty(event, 'stopImmediatePropagation', {
      value() {
        stopped = true;
        MessageEvent.prototype.stopImmediatePropagation.call(this);
      },
      configurable: true,
    });
    for (const entry of entries.slice()) {
      if (stopped) break;
      if (!entry.removed) this.#call(type, entry, event);
    }
  }

  #call(type, entry, event) {
    if (entry.once) this.#forget(type, entry);
    try {
      const { callback } = entry;
      if (typeof callback === 'function') callback.call(this, event);
      else callback.handleEvent(event);
    } catch (error) {
      reportListenerError(error);
    }
  }

  get onopen() { return this.#handlers.get('open') ?? null; }
  set onopen(fn) { this.#setHandler('open', fn); }
  get onmessage() { return this.#handlers.get('message') ?? null; }
  set onmessage(fn) { this.#setHandler('message', fn); }
  get onerror() { return this.#handlers.get('error') ?? null; }
  set onerror(fn) { this.#setHandler('error', fn); }
  get onfailover() { return this.#handlers.get('failover') ?? null; }
  set onfailover(fn) { this.#setHandler('failover', fn); }

  // Event handler attributes behave as on EventSource: one slot per type,
  // registered as a listener when first set, non-functions mean null.
  #setHandler(type, fn) {
    const had = this.#handlers.has(type);
    // As [LegacyTreatNonObjectAsNull]: objects are kept, anything else is null.
    const isObject = typeof fn === 'function' || (typeof fn === 'object' && fn !== null);
    this.#handlers.set(type, isObject ? fn : null);
    if (!had) {
      this.addEventListener(type, (event) => {
        const handler = this.#handlers.get(type);
        if (typeof handler === 'function') handler.call(this, event);
      });
    }
  }

  // An underlying EventSource opened or failed: the core decides. A
  // server's own `event: open` / `event: error` arrives as a MessageEvent of
  // that type: a message, which says nothing about the connection.
  #onSourceState(connectionId, event) {
    if (event instanceof MessageEvent) {
      this.#onSourceMessage(connectionId, event.type, event);
      return;
    }
    this.#guard(() => {
      if (event.type === 'open') core.call(this.#h, OP.open, connectionId, 0);
      else core.call(this.#h, OP.error, connectionId, event.target.readyState);
    });
  }

  // The core's listener of a message type (`message` and the server's named
  // types) on every underlying EventSource. One call into Wasm decides it: a
  // duplicate or an event of a stale connection goes no further; a
  // delivered one goes, as the browser's own event, to the page's listeners
  // (#deliver).
  #onSourceMessage(connectionId, type, event) {
    // The hot path: no closure or temporary object per event.
    if (this.#closed) return;
    try {
      const lastEventId = event.lastEventId;
      // An id that is a decimal integer crosses as a number (no string
      // copied into Wasm memory); the core prints it back the same.
      const n = decimalId(lastEventId);
      const endpoint =
        n !== NOT_DECIMAL
          ? core.call(this.#h, OP_MESSAGE, connectionId, n)
          : core.text(this.#h, TEXT_MESSAGE, connectionId, lastEventId);
      if (endpoint < 0) return;
      // A plain property set on the browser's event: defining a read-only
      // one took V8's slow path, about half of this function's time.
      event.endpoint = this.#urls[endpoint];
      // A new connection starts with an empty id; the balancer's last id
      // persists across reconnections, as EventSource's does.
      if (lastEventId === '') {
        const id = core.textOf(this.#h, TABLE.lastEventId);
        if (id !== '') Object.defineProperty(event, 'lastEventId', { value: id, enumerable: true });
      }
    } catch (error) {
      reportLibraryError(error);
      return;
    }
    this.#deliver(event, type);
  }

  // A control event of the server (never delivered to the page). One that
  // cannot be read is ignored: it must not break the stream.
  #onControl(connectionId, event) {
    let body = null;
    try {
      body = JSON.parse(event.data);
    } catch {
      return;
    }
    if (event.type === CONTROL_DRAIN && Number.isFinite(body?.withinMs)) {
      core.call(this.#h, OP.drain, connectionId, Math.min(Math.max(body.withinMs, 0), 3.6e6));
    } else if (event.type === CONTROL_LOAD) {
      this.#onLoad(connectionId, body);
    } else if (event.type === CONTROL_ENDPOINTS) {
      try {
        // A relative URL in the list is relative to the stream that sent it.
        const base = this.#sources.get(connectionId)?.source.url;
        const { urls, weights } = normalizeEndpointList(resolveEntries(body?.endpoints, base));
        this.#applyEndpoints(urls, weights);
      } catch (error) {
        // The server's mistake, not the page's: a warning naming it, and the list stands.
        console.warn(`sse-balancer: ignored the endpoint list sent by ${this.#sources.get(connectionId)?.source.url}: ${error.message}`);
      }
    }
  }

  /**
   * Replaces the endpoint list while the stream runs, for apps that discover
   * their backends themselves (servers can send the same as a control event):
   * URL strings, or `{ url, weight }` objects for the weighted policy,
   * checked as the constructor checks its list. An endpoint in both lists
   * keeps its health and counters, a new one joins, a removed one is left; if
   * the stream is on a removed one, it moves off first (make before break).
   * With `share`, every tab's list changes (the leader's stream).
   */
  setEndpoints(list) {
    if (this.#closed) throw new DOMException('BalancedEventSource.setEndpoints: the source is closed', 'InvalidStateError');
    const { urls, weights } = normalizeEndpointList(list);
    if (this.#pending) {
      // Applied once the stream starts; the page sees the list at once (and
      // without `share` the core starts from it: #urls is its list).
      this.#pending.later = { urls, weights };
      this.#urls = urls;
      return;
    }
    this.#setList(urls, weights);
  }

  #setList(urls, weights) {
    // Absolute URLs and numbers only: what another tab receives means the same.
    if (this.#share) this.#share.setEndpoints(urls, weights);
    else this.#applyEndpoints(urls, weights);
  }

  #applyEndpoints(urls, weights) {
    for (const url of urls) core.text(this.#h, TEXT.nextUrl, 0, url);
    weights?.forEach((weight, i) => core.call(this.#h, OP.nextWeight, i, weight));
    core.call(this.#h, OP.applyEndpoints, 0, 0);
  }

  // The loads a server advertised: its own, and its peers' by origin.
  #onLoad(connectionId, body) {
    const from = this.#sources.get(connectionId)?.origin;
    const peers = body !== null && typeof body?.peers === 'object' ? body.peers : {};
    this.#urls.forEach((url, i) => {
      const origin = new URL(url).origin;
      const load = origin === from && Number.isFinite(body?.load) ? body.load : peers[origin];
      if (Number.isFinite(load) && load >= 0) core.call(this.#h, OP.setLoad, i, load);
    });
    core.call(this.#h, OP.loadReport, connectionId, 0);
  }

  // Asks the page's urlProvider for the URL of one connection. Always
  // answers asynchronously, so a throwing provider fails like a rejecting one.
  #resolveUrl(connectionId, endpoint, url) {
    this.#awaiting.add(connectionId);
    const lastEventId = core.textOf(this.#h, TABLE.lastEventId);
    Promise.resolve()
      .then(() => this.#urlProvider(url, { endpoint: this.#urls[endpoint], lastEventId }))
      .then((result) => {
        if (typeof result !== 'string' && !(result instanceof URL)) {
          throw new TypeError(`BalancedEventSource: urlProvider must return a URL string, got ${describe(result)}`);
        }
        const parsed = new URL(String(result), baseUrl());
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
          throw new TypeError(`BalancedEventSource: urlProvider returned '${result}', not an http(s) URL`);
        }
        return parsed.href;
      })
      .then(
        (href) =>
          this.#guard(() => {
            // Closed meanwhile (a failover, close()): nothing to open.
            if (this.#awaiting.delete(connectionId)) this.#openSource(connectionId, href);
          }),
        (error) =>
          this.#guard(() => {
            if (!this.#awaiting.delete(connectionId)) return;
            this.#providerErrors.set(endpoint, error);
            core.call(this.#h, OP.urlFailed, connectionId, 0);
          }),
      );
  }

  // Listener exceptions are reported by dispatchEvent itself; this catches
  // only a fault of the library, so it can never escape into the page from
  // an EventSource callback or a timer.
  #guard(fn) {
    if (this.#closed) return;
    try {
      fn();
    } catch (error) {
      reportLibraryError(error);
    }
  }
}

Object.defineProperties(BalancedEventSource.prototype, {
  CONNECTING: { value: CONNECTING, enumerable: true },
  OPEN: { value: OPEN, enumerable: true },
  CLOSED: { value: CLOSED, enumerable: true },
});

/**
 * Records Content-Security-Policy violations while one request is in flight:
 * `saw(url)` tells, after the request failed, whether the page's policy
 * blocked that URL (the violation event is queued as a task of its own, so
 * it waits one task for it).
 */
function watchPolicyBlocks() {
  const target = globalThis.document;
  const blocked = new Set();
  const listener = (event) => blocked.add(event.blockedURI);
  target?.addEventListener('securitypolicyviolation', listener);
  return {
    async saw(url) {
      if (!target) return false;
      await new Promise((resolve) => setTimeout(resolve, 0));
      const bare = new URL(url);
      bare.hash = ''; // blockedURI never carries the fragment
      return blocked.has(bare.href) || blocked.has(bare.origin);
    },
    stop: () => target?.removeEventListener('securitypolicyviolation', listener),
  };
}

/** decimalId's answer for an id that is not a decimal integer (it crosses as a string). */
const NOT_DECIMAL = -2;

/**
 * An event id as the core's message op takes it: -1 for none (''), the
 * number for a decimal integer of up to 15 digits written as the core prints
 * it (no sign, no leading zero), else NOT_DECIMAL.
 */
function decimalId(id) {
  const length = id.length;
  if (length === 0) return -1;
  if (length > 15 || (length > 1 && id.charCodeAt(0) === 48)) return NOT_DECIMAL;
  let n = 0;
  for (let i = 0; i < length; i++) {
    const digit = id.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return NOT_DECIMAL;
    n = n * 10 + digit;
  }
  return n;
}

/** The capture flag of addEventListener's options (a boolean or an object). */
function captureOf(options) {
  return typeof options === 'boolean' ? options : Boolean(options?.capture);
}

// As an EventTarget reports a listener's exception: to the global error
// handlers, and the dispatch goes on.
function reportListenerError(error) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(error);
  else console.error(error);
}

function reportLibraryError(error) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(error);
  else console.error('sse-balancer:', error);
}

function defineReadOnly(target, values) {
  for (const [key, value] of Object.entries(values)) {
    Object.defineProperty(target, key, { value, enumerable: true });
  }
}

// The URL `input` means from `endpoint`, or null where it would leave that
// endpoint's origin (a body or an Idempotency-Key must never leave for an
// origin that is not balanced). Throws a TypeError for an invalid input.
function requestTarget(input, endpoint) {
  let url;
  try {
    url = new URL(String(input), endpoint);
  } catch {
    throw new TypeError(`BalancedEventSource.fetch: input '${input}' is not a valid URL`);
  }
  return url.origin === new URL(endpoint).origin ? url.href : null;
}

function offOrigins(input, urls) {
  const origins = [...new Set(urls.map((u) => new URL(u).origin))].join(', ');
  return new TypeError(`BalancedEventSource.fetch: '${input}' is not on an endpoint's origin (${origins}); nothing was sent`);
}

function baseUrl() {
  return globalThis.document?.baseURI ?? globalThis.location?.href;
}

function normalizeUrls(urls) {
  const list = typeof urls === 'string' || urls instanceof URL ? [urls] : urls;
  if (list == null || typeof list[Symbol.iterator] !== 'function' || typeof list === 'string') {
    throw new TypeError('BalancedEventSource: urls must be a URL string or an array of them');
  }
  const out = new Set();
  let k = 0;
  for (const url of list) {
    if (k === MAX_ENDPOINTS) {
      throw new RangeError(`BalancedEventSource: at most ${MAX_ENDPOINTS} endpoints, got more`);
    }
    if (typeof url !== 'string' && !(url instanceof URL)) {
      throw new TypeError(`BalancedEventSource: urls[${k}] must be a string, got ${describe(url)}`);
    }
    let parsed;
    try {
      parsed = new URL(String(url), baseUrl());
    } catch {
      throw new DOMException(`BalancedEventSource: urls[${k}] '${url}' is not a valid URL`, 'SyntaxError');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new DOMException(`BalancedEventSource: urls[${k}] '${url}' must be http: or https:`, 'SyntaxError');
    }
    // The same endpoint twice would only get two cool-downs; keep the first.
    out.add(parsed.href);
    k++;
  }
  if (out.size === 0) {
    throw new TypeError('BalancedEventSource: urls must contain at least one URL');
  }
  return [...out];
}

/** A server's endpoint list with its relative URLs resolved against `base`. */
function resolveEntries(list, base) {
  if (!Array.isArray(list) || base === undefined) return list;
  const resolve = (url) => {
    try {
      return new URL(url, base).href;
    } catch {
      return url; // normalizeEndpointList names it
    }
  };
  return list.map((e) => (typeof e === 'string' ? resolve(e) : e !== null && typeof e?.url === 'string' ? { ...e, url: resolve(e.url) } : e));
}

/** An endpoint list of setEndpoints(): URLs, or `{ url, weight }` objects. */
function normalizeEndpointList(list) {
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(`BalancedEventSource.setEndpoints: the list must be a non-empty array, got ${describe(list)}`);
  }
  const entries = list.map((entry, i) => {
    if (typeof entry === 'string' || entry instanceof URL) return { url: entry, weight: undefined };
    if (entry === null || typeof entry !== 'object') {
      throw new TypeError(`BalancedEventSource.setEndpoints: entry ${i} must be a URL or { url, weight }, got ${describe(entry)}`);
    }
    if (entry.weight !== undefined && !(typeof entry.weight === 'number' && entry.weight > 0 && entry.weight <= 1e6)) {
      throw new TypeError(`BalancedEventSource.setEndpoints: entry ${i}'s weight must be a positive number, got ${describe(entry.weight)}`);
    }
    return entry;
  });
  const urls = normalizeUrls(entries.map((e) => e.url));
  if (entries.every((e) => e.weight === undefined)) return { urls, weights: null };
  // 0: not given (the core keeps the endpoint's weight, or 1 for a new one).
  const weightOf = new Map();
  entries.forEach((e) => {
    const href = new URL(String(e.url), baseUrl()).href;
    if (!weightOf.has(href)) weightOf.set(href, e.weight ?? 0);
  });
  return { urls, weights: urls.map((u) => weightOf.get(u) ?? 0) };
}

function normalizeOptions(options) {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`BalancedEventSource: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(OPTIONS, key)) {
      throw new TypeError(
        `BalancedEventSource: unknown option '${key}' (known: ${Object.keys(OPTIONS).join(', ')})`,
      );
    }
  }
  const config = {};
  for (const [key, spec] of Object.entries(OPTIONS)) {
    const value = options[key] === undefined ? spec.default : options[key];
    config[key] = spec.check(value, key);
  }
  if (config.maxBackoffMs < config.initialBackoffMs) {
    throw new RangeError('BalancedEventSource: option maxBackoffMs must be >= initialBackoffMs');
  }
  if (config.maxEjectionMs < config.ejectionMs) {
    throw new RangeError('BalancedEventSource: option maxEjectionMs must be >= ejectionMs');
  }
  if (config.seed === undefined) config.seed = randomSeed();
  if (config.policy === 'sticky' && config.stickyKey === '') {
    throw new TypeError("BalancedEventSource: the 'sticky' policy needs the stickyKey option (a user or room id)");
  }
  // The core takes '' to mean "do not carry the id".
  if (config.lastEventIdParam === null) config.lastEventIdParam = '';
  return config;
}

function fail(key, expected, value) {
  throw new TypeError(`BalancedEventSource: option ${key} must be ${expected}, got ${describe(value)}`);
}

function checkPolicy(value, key) {
  if (typeof value !== 'string' || !POLICIES.includes(value)) {
    fail(key, `one of ${POLICIES.map((p) => `'${p}'`).join(', ')}`, value);
  }
  return value;
}

function checkTimeout(value, key) {
  if (value === 0) return 0;
  return checkNumber(100, 8.64e7)(value, `${key} (0 to turn it off)`);
}

function checkEventType(value, key) {
  if (typeof value !== 'string' || value === '' || /[\r\n]/.test(value)) {
    fail(key, 'a non-empty event type without line breaks', value);
  }
  return value;
}

function checkWeights(value, key) {
  if (value === null) return null;
  if (!Array.isArray(value) || value.length === 0 || !value.every((w) => typeof w === 'number' && Number.isFinite(w) && w > 0 && w <= 1e6)) {
    fail(key, 'null or an array of positive numbers (up to 1e6), one per endpoint', value);
  }
  return value.slice(); // as checked: the page may change its array afterwards
}

function checkShare(value, key) {
  if (typeof value !== 'boolean' && (typeof value !== 'string' || value === '')) fail(key, 'a boolean or a non-empty key string', value);
  return value;
}

function checkUrlProvider(value, key) {
  if (value !== null && typeof value !== 'function') fail(key, 'a function or null', value);
  return value;
}

function checkEventSourceClass(value, key) {
  if (value !== null && typeof value !== 'function') fail(key, 'an EventSource constructor or null', value);
  return value;
}

function checkSeed(value, key) {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) fail(key, 'a non-negative safe integer', value);
  return value;
}

function checkBoolean(value, key) {
  if (typeof value !== 'boolean') fail(key, 'a boolean', value);
  return value;
}

function checkString(value, key) {
  if (typeof value !== 'string') fail(key, 'a string', value);
  return value;
}

function checkParamName(value, key) {
  if (value === null) return null;
  if (typeof value !== 'string' || value === '') fail(key, 'a non-empty string or null', value);
  return value;
}

function checkNumber(min, max) {
  return (value, key) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      fail(key, `a number from ${min} to ${max}`, value);
    }
    return value;
  };
}

function checkInteger(min, max) {
  return (value, key) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      fail(key, `an integer from ${min} to ${max}`, value);
    }
    return value;
  };
}

function randomSeed() {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return (words[0] & 0x1fffff) * 2 ** 32 + words[1];
}

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

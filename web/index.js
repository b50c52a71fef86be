// sse-balancer: the public face of the package. The balancing decisions are
// made by the C++ core compiled to WebAssembly (web/dist/); this module only
// validates input, turns core notifications into DOM events, and keeps each
// delivered event's payload in JS (it never enters Wasm memory).
// The platform's EventSource, captured once: a page may install a
// BalancedEventSource subclass as globalThis.EventSource (a drop-in), and the
// balancer must still open the browser's own streams.
const PlatformEventSource = globalThis.EventSource;

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

// Start reading the .wasm at once, while the glue module loads, instead of
// after it (a static import of the glue would fetch index.js, then the glue,
// then the .wasm, one after the other). In a browser that is a fetch; where
// the module itself was loaded from a file (Node, e.g. a page's modules
// imported for server-side rendering, or Deno), the package's own file.
const wasmUrl = new URL('./dist/sse-balancer-core.wasm', import.meta.url);
const wasmSource = readWasm();
wasmSource.catch(() => {}); // reported through instantiate below

function readWasm() {
  if (wasmUrl.protocol === 'file:') {
    // A computed specifier: bundlers for the browser leave it alone.
    const fsModule = 'node:fs/promises';
    return import(/* @vite-ignore */ fsModule).then((fs) => fs.readFile(wasmUrl));
  }
  if (typeof globalThis.fetch !== 'function') {
    return Promise.reject(new Error('sse-balancer: no fetch() to load the Wasm core with'));
  }
  return globalThis.fetch(wasmUrl, { credentials: 'same-origin' });
}

async function instantiate(imports) {
  const source = await wasmSource;
  if (!(source instanceof Response)) return WebAssembly.instantiate(source, imports);
  if (!source.ok) throw new Error(`sse-balancer: cannot load ${wasmUrl} (HTTP ${source.status})`);
  try {
    return await WebAssembly.instantiateStreaming(source.clone(), imports);
  } catch (error) {
    // A server that does not send application/wasm: compile from bytes.
    if (!(error instanceof TypeError)) throw error;
    return WebAssembly.instantiate(await source.arrayBuffer(), imports);
  }
}

let loadFailed;
const failure = new Promise((_, reject) => {
  loadFailed = reject;
});
const loading = import('./dist/sse-balancer-core.js').then(({ default: createSseBalancerCore }) =>
  createSseBalancerCore({
    instantiateWasm(imports, receive) {
      instantiate(imports).then(
        ({ instance, module }) => receive(instance, module),
        (error) => loadFailed(error),
      );
      return {}; // exports arrive through receive()
    },
  }),
);
// The glue's own promise also rejects when instantiation fails: handled
// here, through the race, so nothing is left unhandled.
loading.catch(() => {});
const loaded = Promise.race([loading, failure]);

/**
 * Resolves once the Wasm core is loaded (the module awaits it on import);
 * rejects with the reason when it could not be. Importing never throws: a
 * module graph imported where the core cannot load (server-side rendering
 * without the file, a restricted worker) still evaluates, and the
 * constructor says what went wrong.
 */
export const ready = loaded.then(() => undefined);
ready.catch(() => {});
let core = null;
let loadError = null;
try {
  core = await loaded;
} catch (error) {
  loadError = error;
}
const POLICIES = Object.freeze(core ? Array.from(core.policyNames()) : []);

/** The defaults of every option the core applies: the core owns them. */
const CORE = core ? core.defaultOptions() : {};

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
  EventSource: { default: null, check: checkEventSourceClass },
});

/** Browser signals that say the network or the page came back. */
const LIFECYCLE = [
  [() => globalThis, 'online', (core) => core.onOnline()],
  [() => globalThis, 'offline', (core) => core.onOffline()],
  // Restored from the back/forward cache: its streams may be long dead.
  [() => globalThis, 'pageshow', (core, event) => event.persisted && core.onResume()],
  // Visible again: hidden tabs throttle timers, so check rather than wait.
  // Hiding does nothing: a healthy stream is never torn down.
  [
    () => globalThis.document,
    'visibilitychange',
    (core) => globalThis.document.visibilityState === 'visible' && core.onResume(),
  ],
];

/**
 * Event types the balancer dispatches itself. Every other type (`message`
 * and the server's named types) is the browser's own event, delivered to the
 * page's listeners on the underlying EventSource behind the core's listener.
 */
const OWN_TYPES = new Set(['open', 'error', 'failover']);

export const defaults = Object.freeze(
  Object.fromEntries(Object.entries(OPTIONS).map(([k, v]) => [k, v.default])),
);

/** The policy names this build of the core knows. */
export const policies = POLICIES;

/**
 * Figures for leak checks: live Embind handles, bytes malloc'd in the Wasm
 * heap, and the Wasm heap's size. Not part of the stable API.
 */
export function diagnostics() {
  return {
    emvalHandles: core.count_emval_handles(),
    wasmHeapInUse: core.heapInUse(),
    wasmHeapSize: core.heapSize(),
  };
}

/**
 * An EventSource that streams from one of several endpoints and moves to
 * another when the active one fails, without losing or repeating events.
 */
export class BalancedEventSource extends EventTarget {
  static CONNECTING = CONNECTING;
  static OPEN = OPEN;
  static CLOSED = CLOSED;

  #core;
  #urls;
  #withCredentials;
  #handlers = new Map();
  #closed = false;
  #finalStats = null;
  #lastUrl;
  #urlProvider;
  #providerErrors = new Map();
  #lifecycle = [];
  /** The page's listeners of event types: type -> [{ callback, capture, once, wrapper }]. */
  #listeners = new Map();
  /** The live underlying EventSources, by connection id. */
  #sources = new Map();

  constructor(urls, options = undefined) {
    super();
    if (core === null) {
      throw new Error(`BalancedEventSource: the Wasm core could not be loaded (${loadError?.message ?? loadError})`, {
        cause: loadError,
      });
    }
    const endpoints = normalizeUrls(urls);
    const config = normalizeOptions(options);
    const EventSourceClass = config.EventSource ?? PlatformEventSource;
    if (typeof EventSourceClass !== 'function') {
      throw new TypeError(
        'BalancedEventSource: this environment has no EventSource (globalThis.EventSource was not a constructor ' +
          'when sse-balancer loaded); pass an implementation as the EventSource option',
      );
    }
    this.#urls = endpoints;
    this.#lastUrl = endpoints[0];
    this.#withCredentials = config.withCredentials;
    this.#urlProvider = config.urlProvider;
    const bridge = {
      eventSourceClass: EventSourceClass,
      listenerFor: (connectionId) => (event) => this.#onSourceEvent(connectionId, event),
      sourceReady: (connectionId, source) => {
        this.#sources.set(connectionId, source);
        for (const [type, entries] of this.#listeners) {
          for (const entry of entries) source.addEventListener(type, entry.wrapper);
        }
      },
      sourceClosed: (connectionId) => this.#sources.delete(connectionId),
      onTimer: (timerId) => this.#guard(() => this.#core.onTimer(timerId)),
      notifyOpen: (endpoint) => {
        this.#lastUrl = this.#urls[endpoint];
        this.dispatchEvent(new Event('open'));
      },
      notifyError: (endpoint, reason) => {
        const event = new Event('error');
        defineReadOnly(event, { reason, endpoint: this.#urls[endpoint] });
        if (reason === 'provider') defineReadOnly(event, { cause: this.#providerErrors.get(endpoint) });
        this.dispatchEvent(event);
      },
      resolveUrl: (connectionId, endpoint, url) => this.#resolveUrl(connectionId, endpoint, url),
      notifyFailover: (from, to, reason) => {
        this.#lastUrl = this.#urls[to];
        const event = new Event('failover');
        defineReadOnly(event, {
          from: from < 0 ? null : this.#urls[from],
          to: this.#urls[to],
          reason,
        });
        this.dispatchEvent(event);
      },
    };
    const { urlProvider, EventSource: _eventSource, ...coreOptions } = config;
    coreOptions.hasUrlProvider = urlProvider !== null;
    this.#core = new core.WasmBalancer(endpoints, coreOptions, bridge);
    // The watchdog needs to see the server's named heartbeat events.
    if (config.heartbeatTimeoutMs > 0) this.#core.listen(config.heartbeatEvent);
    for (const [target, type, action] of LIFECYCLE) {
      const node = target();
      if (!node?.addEventListener) continue;
      const listener = (event) => this.#guard(() => action(this.#core, event));
      node.addEventListener(type, listener);
      this.#lifecycle.push(() => node.removeEventListener(type, listener));
    }
    this.#core.start();
  }

  /** CONNECTING (0), OPEN (1) or CLOSED (2), as EventSource. */
  get readyState() {
    return this.#closed ? CLOSED : this.#core.readyState();
  }

  /** The endpoint streaming or being connected to (or the last one used). */
  get url() {
    if (!this.#closed) {
      const active = this.#core.activeEndpoint();
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
  stats() {
    if (this.#closed) return structuredClone(this.#finalStats);
    return this.#core.stats();
  }

  /**
   * Closes the stream for good: no connection stays open, no timer stays
   * pending, no event fires afterwards. Safe to call twice or from a
   * listener.
   */
  close() {
    if (this.#closed) return;
    const wasm = this.#core;
    wasm.close();
    this.#finalStats = wasm.stats();
    this.#finalStats.readyState = CLOSED;
    this.#closed = true;
    for (const remove of this.#lifecycle) remove();
    this.#lifecycle = [];
    this.#sources.clear();
    this.#providerErrors.clear();
    // The core may be on the stack (close() called from a listener): free it
    // once the current call has returned.
    queueMicrotask(() => wasm.delete());
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
    const targets = this.#requestTargets(input);
    const tried = [];
    targets.forEach((target, index) => target === null && tried.push(index));
    let lastError;
    do {
      if (this.#closed) break;
      const index = this.#core.pickForRequest(tried);
      if (index < 0) break;
      tried.push(index);
      // Refused before it leaves (a bad header, a forbidden mode): the
      // caller's error, thrown as is; no endpoint is blamed. On a retry (a
      // stream body cannot be sent twice) the first failure is the answer.
      let outgoing;
      try {
        outgoing = new Request(targets[index], request);
      } catch (error) {
        throw lastError ?? error;
      }
      const blocked = watchPolicyBlocks();
      try {
        const response = await globalThis.fetch(outgoing);
        defineReadOnly(response, { endpoint: this.#urls[index] });
        return response;
      } catch (error) {
        // Aborted by the caller (abort(), AbortSignal.timeout(), any reason):
        // says nothing about the endpoint, and every retry would abort too.
        if (error?.name === 'AbortError' || outgoing.signal.aborted) throw error;
        lastError = error;
        // A Content-Security-Policy block also rejects with a TypeError, but
        // the request never left: it says nothing about the endpoint.
        if (await blocked.saw(outgoing.url)) throw error;
        if (!this.#closed) this.#core.onRequestFailed(index);
      } finally {
        blocked.stop();
      }
    } while (idempotent);
    throw lastError ?? new DOMException('BalancedEventSource.fetch: the source is closed', 'InvalidStateError');
  }

  // The URL `input` means from each endpoint, or null where it would leave
  // that endpoint's origin. Throws a TypeError when no endpoint can take it.
  #requestTargets(input) {
    const text = String(input);
    const targets = this.#urls.map((endpoint) => {
      let url;
      try {
        url = new URL(text, endpoint);
      } catch {
        throw new TypeError(`BalancedEventSource.fetch: input '${text}' is not a valid URL`);
      }
      return url.origin === new URL(endpoint).origin ? url.href : null;
    });
    if (targets.every((t) => t === null)) {
      const origins = [...new Set(this.#urls.map((u) => new URL(u).origin))].join(', ');
      throw new TypeError(
        `BalancedEventSource.fetch: '${text}' is not on an endpoint's origin (${origins}); nothing was sent`,
      );
    }
    return targets;
  }

  // The page's listeners of event types are kept here and added to every
  // underlying EventSource behind the core's listener, which stops a
  // duplicate or stale event before them: the page gets the browser's own
  // MessageEvent (no second event built and dispatched per message).
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
    const entry = { callback: listener, capture, once: typeof options === 'object' && Boolean(options?.once) };
    entry.wrapper = (event) => {
      if (entry.once) this.#forget(name, entry);
      if (typeof listener === 'function') listener.call(this, event);
      else listener.handleEvent(event);
    };
    entries.push(entry);
    if (this.#closed) return;
    if (name !== 'message') this.#core.listen(name);
    for (const source of this.#sources.values()) source.addEventListener(name, entry.wrapper);
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
    for (const source of this.#sources.values()) source.removeEventListener(type, entry.wrapper);
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

  // Every event of every underlying EventSource reaches this listener first.
  // One call into Wasm decides it: a duplicate or an event of a stale
  // connection goes no further; a delivered one goes on, as the browser's own
  // event, to the page's listeners behind this one.
  #onSourceEvent(connectionId, event) {
    // The hot path: no closure or temporary object per event.
    try {
      if (this.#closed) {
        event.stopImmediatePropagation();
        return;
      }
      if (!(event instanceof MessageEvent)) {
        if (event.type === 'open') this.#core.onOpen(connectionId);
        else if (event.type === 'error') this.#core.onError(connectionId, event.target.readyState);
        return;
      }
      const lastEventId = event.lastEventId;
      const endpoint = this.#core.onMessage(connectionId, lastEventId);
      if (endpoint < 0) {
        event.stopImmediatePropagation();
        return;
      }
      Object.defineProperty(event, 'endpoint', { value: this.#urls[endpoint], enumerable: true });
      // A new connection starts with an empty id; the balancer's last id
      // persists across reconnections, as EventSource's does.
      if (lastEventId === '') {
        const id = this.#core.lastEventId();
        if (id !== '') Object.defineProperty(event, 'lastEventId', { value: id, enumerable: true });
      }
    } catch (error) {
      event.stopImmediatePropagation();
      reportLibraryError(error);
    }
  }

  // Asks the page's urlProvider for the URL of one connection. Always
  // answers asynchronously, so a throwing provider fails like a rejecting one.
  #resolveUrl(connectionId, endpoint, url) {
    Promise.resolve()
      .then(() => this.#urlProvider(url, { endpoint: this.#urls[endpoint], lastEventId: this.#core.lastEventId() }))
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
        (href) => this.#guard(() => this.#core.onUrlResolved(connectionId, href)),
        (error) =>
          this.#guard(() => {
            this.#providerErrors.set(endpoint, error);
            this.#core.onUrlFailed(connectionId);
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

/** The capture flag of addEventListener's options (a boolean or an object). */
function captureOf(options) {
  return typeof options === 'boolean' ? options : Boolean(options?.capture);
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

function baseUrl() {
  return globalThis.document?.baseURI ?? globalThis.location?.href;
}

function normalizeUrls(urls) {
  const list = typeof urls === 'string' || urls instanceof URL ? [urls] : urls;
  if (list == null || typeof list[Symbol.iterator] !== 'function' || typeof list === 'string') {
    throw new TypeError('BalancedEventSource: urls must be a URL string or an array of them');
  }
  const out = [];
  for (const url of list) {
    if (typeof url !== 'string' && !(url instanceof URL)) {
      throw new TypeError(
        `BalancedEventSource: urls[${out.length}] must be a string, got ${describe(url)}`,
      );
    }
    let parsed;
    try {
      parsed = new URL(String(url), baseUrl());
    } catch {
      throw new DOMException(
        `BalancedEventSource: urls[${out.length}] '${url}' is not a valid URL`,
        'SyntaxError',
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new DOMException(
        `BalancedEventSource: urls[${out.length}] '${url}' must be http: or https:`,
        'SyntaxError',
      );
    }
    // The same endpoint twice would only get two cool-downs; keep the first.
    if (!out.includes(parsed.href)) out.push(parsed.href);
  }
  if (out.length === 0) {
    throw new TypeError('BalancedEventSource: urls must contain at least one URL');
  }
  return out;
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

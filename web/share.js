// Tabs of one origin share one stream: the `share` option.
//
// Every tab with the same key asks for the same Web Lock; the one holding it
// leads: it runs a BalancedEventSource of its own (the C++ core and its
// EventSources) and relays what it delivers over a BroadcastChannel. The
// others follow: they deliver what the channel brings. When the leader goes
// (close(), navigation, a crash, a frozen tab), the lock passes to the next
// tab, which resumes from the last id it delivered itself. Every tab drops
// an id it has already delivered, so an event in flight during a handoff is
// delivered once.
//
// A chunk of its own (web/dist/sse-balancer-share.js, minified by
// scripts/bundle.mjs): web/index.js imports it only for a balancer with
// `share`, so a page without it never loads these bytes. It imports nothing:
// what it uses of web/index.js comes through tabShare().

// Given by web/index.js (tabShare): its classes, keys and counters.
let BalancedEventSource;
let BalancedErrorEvent;
let FailoverEvent;
let PICK_ENDPOINT;
let REQUEST_FAILED;
let ENDPOINTS_CHANGED;
let liveCount;
let waitingStats;

/** The TabShare class, given what it uses of web/index.js. */
export function tabShare(deps) {
  ({ BalancedEventSource, BalancedErrorEvent, FailoverEvent, PICK_ENDPOINT, REQUEST_FAILED, ENDPOINTS_CHANGED, liveCount, waitingStats } =
    deps);
  return TabShare;
}

// The version of the tabs' messages: tabs of two versions of the library
// (a deploy while tabs are open) use two locks and channels, never each
// other's messages.
const SHARE_PREFIX = 'sse-balancer/2/';
/** Every tab says it is there this often (the leader counts the tabs). */
const HERE_EVERY_MS = 1000;
/** A tab not heard from for this long is gone (it crashed). */
const TAB_GONE_MS = 3500;
/** The leader sends its state (readyState, url, stats) this often. */
const STATE_EVERY_MS = 500;
/** A follower's request pick waits this long for the leader's answer. */
const PICK_TIMEOUT_MS = 1000;
/** Ids each tab remembers to drop repeats (a handoff repeats a few at most). */
const SEEN_IDS = 1024;
/** Delivered events each tab keeps for a tab that joins with a resume id. */
const BACKLOG_EVENTS = 1024;
/** A joining tab waits this long for the backlog before it delivers live events. */
const BACKLOG_WAIT_MS = 1000;

/** The lock and channel name: the page's key, or the endpoint list for `share: true`. */
function shareName(share, urls) {
  return `${SHARE_PREFIX}${typeof share === 'string' ? `key:${share}` : `urls:${JSON.stringify(urls)}`}`;
}

/** The last ids a tab delivered, to drop one that comes again. */
class SeenIds {
  #set = new Set();
  #order = [];
  last = '';

  /** False when `id` was delivered already; events without an id always pass. */
  admit(id) {
    if (id === '') return true;
    if (this.#set.has(id)) return false;
    this.#set.add(id);
    this.#order.push(id);
    if (this.#order.length > SEEN_IDS) this.#set.delete(this.#order.shift());
    this.last = id;
    return true;
  }
}

/**
 * The shared side of one BalancedEventSource. `face` gives what the page's
 * object does with what arrives: deliver(messageEvent) to the page's
 * listeners, emit(event) for open / error / failover, types() the event
 * types the page listens to. `options` are the page's options (without
 * `share`), for the stream this tab runs when it leads.
 */
class TabShare {
  #name;
  #urls;
  #weights = null; // the latest list's weights, when they matter
  #first; // the page's own list
  #options;
  #face;
  #tab = globalThis.crypto.randomUUID();
  #channel;
  #abort = new AbortController();
  #seen = new SeenIds();
  #inner = null; // the stream, while this tab leads
  #resign = null; // ends the lock's hold
  #state = null; // the leader's last state, while following
  #tabs = new Map(); // tab -> when last heard (leader)
  #types = new Set(); // types every tab listens to (leader)
  #picks = new Map(); // request -> resolve (follower)
  #backlog = []; // the last events this tab delivered, as relayed
  #held = null; // live events held while waiting for the backlog, or null
  #timers = [];
  #closed = false;
  #lifecycle = [];

  constructor({ share, urls, options, face }) {
    // The key stays the first list's; the list itself follows every change.
    this.#name = shareName(share, urls);
    this.#urls = urls;
    this.#first = urls;
    this.#options = options;
    this.#face = face;
    this.#join();
    const onPageHide = (event) => (event.persisted ? this.#leave() : this.#handOver());
    const onPageShow = (event) => event.persisted && !this.#closed && this.#join();
    // A frozen tab runs nothing: one that leads hands over first.
    const onFreeze = () => this.#handOver();
    for (const [type, fn] of [['pagehide', onPageHide], ['pageshow', onPageShow]]) this.#listen(globalThis, type, fn);
    this.#listen(globalThis.document, 'freeze', onFreeze);
  }

  #listen(target, type, fn) {
    target.addEventListener(type, fn);
    this.#lifecycle.push(() => target.removeEventListener(type, fn));
  }

  /** Opens the channel and queues for the lock. */
  #join() {
    if (this.#channel) return;
    this.#channel = new BroadcastChannel(this.#name);
    liveCount.channels++;
    this.#channel.onmessage = (event) => this.#receive(event.data);
    this.#abort = new AbortController();
    this.#queueForLock();
    const here = () => this.#post({ kind: 'here', tab: this.#tab, types: this.#face.types() });
    here();
    this.#askBacklog();
    this.#timers.push(setInterval(here, HERE_EVERY_MS));
  }

  // A tab that resumes from an id (the lastEventId option, or what it
  // delivered before the back/forward cache) asks the leader for what it
  // delivered after it, and holds live events until that arrives.
  #askBacklog() {
    const after = this.#seen.last || this.#options.lastEventId || '';
    if (after === '') return;
    this.#held = [];
    this.#post({ kind: 'hello', tab: this.#tab, after });
    const timer = setTimeout(() => this.#deliverBacklog([]), BACKLOG_WAIT_MS);
    this.#timers.push(timer);
  }

  #deliverBacklog(events) {
    if (this.#held === null) return;
    const held = this.#held;
    this.#held = null;
    for (const message of [...events, ...held]) this.#deliverRelayed(message);
  }

  #queueForLock() {
    globalThis.navigator.locks
      .request(this.#name, { signal: this.#abort.signal }, () => this.#lead())
      .catch(() => {}); // aborted: this tab left before it led
  }

  /** Leaves the channel and the lock queue (close(), or into the back/forward cache). */
  #leave() {
    this.#handOver(false);
    this.#abort.abort();
    this.#post({ kind: 'bye', tab: this.#tab });
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    if (this.#channel) {
      this.#channel.close();
      liveCount.channels--;
      this.#channel = null;
    }
    this.#state = null;
  }

  /** Stops leading (if it does); with `requeue`, waits for the lock again. */
  #handOver(requeue = true) {
    if (this.#inner === null) return;
    this.#inner.close();
    this.#inner = null;
    this.#tabs.clear();
    const resign = this.#resign;
    this.#resign = null;
    resign();
    if (requeue && !this.#closed && this.#channel) {
      this.#abort = new AbortController();
      this.#queueForLock();
    }
  }

  #post(message) {
    this.#channel?.postMessage(message);
  }

  get role() {
    return this.#inner ? 'leader' : 'follower';
  }

  /** The lock is ours: run the stream, from the last id this tab delivered. */
  #lead() {
    if (this.#closed || !this.#channel) return undefined;
    const lastEventId = this.#seen.last || this.#options.lastEventId;
    // The latest list the tabs knew (a server's or setEndpoints'), with its weights.
    const known = this.#weights ?? this.#options.weights;
    const weights = known?.length === this.#urls.length ? known : null;
    let inner;
    try {
      inner = new BalancedEventSource(this.#urls, { ...this.#options, weights, lastEventId });
    } catch {
      // A list the tabs agreed on that this tab cannot take: the page's own.
      inner = new BalancedEventSource(this.#first, { ...this.#options, lastEventId });
    }
    this.#inner = inner;
    // Every tab learns a new list at once: the next leader starts from it.
    inner[ENDPOINTS_CHANGED] = () => this.#inner === inner && this.#sendState();
    this.#state = null;
    this.#tabs.clear();
    for (const type of this.#face.types()) this.#types.add(type);
    const relay = (event) => this.#relay(event);
    for (const type of new Set(['message', ...this.#types])) inner.addEventListener(type, relay);
    inner.addEventListener('open', () => this.#lifecycleEvent({ kind: 'open' }));
    inner.addEventListener('error', (e) => this.#lifecycleEvent({ kind: 'error', reason: e.reason, endpoint: e.endpoint }));
    inner.addEventListener('failover', (e) => this.#lifecycleEvent({ kind: 'failover', from: e.from, to: e.to, reason: e.reason }));
    const timer = setInterval(() => this.#sendState(), STATE_EVERY_MS);
    this.#post({ kind: 'leader', tab: this.#tab });
    this.#sendState();
    return new Promise((resolve) => {
      this.#resign = () => {
        clearInterval(timer);
        resolve();
      };
    });
  }

  /** An event of the stream this tab runs: delivered here, and to every other tab. */
  #relay(event) {
    const { type, data, lastEventId, origin, endpoint } = event;
    const message = { kind: 'event', type, data, lastEventId, origin, endpoint };
    this.#post(message);
    if (this.#seen.admit(lastEventId)) this.#delivered(message, event);
  }

  /** An event another tab relayed (live, or from a backlog). */
  #deliverRelayed(message) {
    if (this.#seen.admit(String(message.lastEventId))) this.#delivered(message, messageEventOf(message));
  }

  #delivered(message, event) {
    this.#backlog.push(message);
    if (this.#backlog.length > BACKLOG_EVENTS) this.#backlog.shift();
    this.#face.deliver(event);
  }

  /** What this tab delivered after `after`: all it kept if `after` is older or unknown. */
  #backlogAfter(after) {
    const at = this.#backlog.findIndex((m) => m.lastEventId === after);
    if (at >= 0) return this.#backlog.slice(at + 1);
    const numeric = /^\d+$/.test(after);
    return this.#backlog.filter((m) => !numeric || !/^\d+$/.test(m.lastEventId) || Number(m.lastEventId) > Number(after));
  }

  #lifecycleEvent(message) {
    this.#post(message);
    this.#face.emit(lifecycleEventOf(message));
    this.#sendState();
  }

  #sendState() {
    if (!this.#inner) return;
    const now = Date.now();
    for (const [tab, at] of this.#tabs) if (now - at > TAB_GONE_MS) this.#tabs.delete(tab);
    const state = this.#snapshot();
    this.#follow(state.stats.endpoints);
    this.#post({ kind: 'state', state });
  }

  #snapshot() {
    const inner = this.#inner;
    return { readyState: inner.readyState, url: inner.url, stats: inner.stats(), tabs: this.#tabs.size + 1 };
  }

  /** What another tab said. */
  #receive(message) {
    if (this.#closed || message === null || typeof message !== 'object') return;
    switch (message.kind) {
      case 'event':
        if (this.#held !== null) this.#held.push(message);
        else this.#deliverRelayed(message);
        break;
      case 'hello':
        if (this.#inner) this.#post({ kind: 'backlog', to: message.tab, events: this.#backlogAfter(String(message.after)) });
        break;
      case 'backlog':
        if (message.to === this.#tab && Array.isArray(message.events)) this.#deliverBacklog(message.events);
        break;
      case 'open':
      case 'error':
      case 'failover':
        if (!this.#inner) this.#face.emit(lifecycleEventOf(message));
        break;
      case 'state':
        if (!this.#inner) {
          this.#state = message.state;
          this.#follow(message.state.stats.endpoints);
        }
        break;
      case 'setEndpoints':
        if (!Array.isArray(message.urls)) break;
        if (this.#inner) this.#inner.setEndpoints(message.urls.map((url, i) => ({ url, weight: message.weights?.[i] || undefined })));
        else this.#adopt(message.urls, message.weights); // no leader now: the next one starts from it
        break;
      case 'leader':
        if (!this.#inner) this.#state = null; // a new leader: connecting until it says more
        break;
      case 'here':
        if (this.#inner) this.#welcome(message);
        break;
      case 'bye':
        this.#tabs.delete(message.tab);
        break;
      case 'pick':
        if (this.#inner) this.#post({ kind: 'picked', to: message.from, request: message.request, endpoint: this.#inner[PICK_ENDPOINT](message.tried) });
        break;
      case 'picked':
        if (message.to === this.#tab) this.#picks.get(message.request)?.(message.endpoint ?? null);
        break;
      case 'requestFailed':
        if (this.#inner) this.#inner[REQUEST_FAILED](message.endpoint);
        break;
    }
  }

  /** A tab is there: counted, and its event types are forwarded. */
  #welcome({ tab, types }) {
    this.#tabs.set(tab, Date.now());
    for (const type of Array.isArray(types) ? types : []) this.listen(String(type));
  }

  /** The page of some tab listens to `type`: the stream must forward it. */
  listen(type) {
    if (!this.#inner) {
      this.#post({ kind: 'here', tab: this.#tab, types: [type] });
      return;
    }
    if (this.#types.has(type) || type === 'message') return;
    this.#types.add(type);
    this.#inner.addEventListener(type, (event) => this.#relay(event));
  }

  get readyState() {
    return this.#inner ? this.#inner.readyState : (this.#state?.readyState ?? 0);
  }

  get url() {
    return this.#inner ? this.#inner.url : (this.#state?.url ?? this.#urls[0]);
  }

  stats() {
    const snapshot = this.#inner ? this.#snapshot() : this.#state;
    const stats = snapshot ? structuredClone(snapshot.stats) : waitingStats(this.#urls, this.#seen.last);
    return { ...stats, role: this.role, tabs: snapshot?.tabs ?? 1 };
  }

  /** The leader's endpoint list as it stands: this tab's face, and the list a new leader starts from. */
  #follow(all) {
    // One being left (removed from the list) is not part of it any more.
    const endpoints = all.filter((e) => !e.retired);
    this.#urls = endpoints.map((e) => e.url);
    const weights = endpoints.map((e) => e.weight);
    const valid = weights.every((w) => typeof w === 'number' && w > 0 && w <= 1e6);
    this.#weights = valid ? this.#kept(weights) : null;
    this.#face.urls(this.#urls);
  }

  /** An endpoint (its URL) for a request, chosen by the leader's core, not one of the URLs `tried` (null: none). */
  pick(tried) {
    if (this.#inner) return Promise.resolve(this.#inner[PICK_ENDPOINT](tried));
    const request = globalThis.crypto.randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(firstUntried(this.#urls, tried)), PICK_TIMEOUT_MS);
      const finish = (index) => {
        clearTimeout(timer);
        this.#picks.delete(request);
        resolve(index);
      };
      this.#picks.set(request, finish);
      this.#post({ kind: 'pick', from: this.#tab, request, tried });
    });
  }

  /**
   * A new endpoint list (absolute URLs; weights, 0 where not given, or
   * null), checked by the caller: the leader's stream takes it. Without a
   * leader at the moment, the next one starts from it.
   */
  setEndpoints(urls, weights) {
    if (this.#inner) {
      this.#inner.setEndpoints(urls.map((url, i) => ({ url, weight: weights?.[i] || undefined })));
      return;
    }
    this.#adopt(urls, weights);
    this.#post({ kind: 'setEndpoints', urls, weights });
  }

  /** A list set while no tab leads: kept as the one the next leader starts from. */
  #adopt(urls, weights) {
    // Weights not given (0) keep what the list had, as the core does.
    const had = new Map(this.#urls.map((url, i) => [url, this.#weights?.[i] ?? 1]));
    const merged = urls.map((url, i) => (weights?.[i] > 0 ? weights[i] : (had.get(url) ?? 1)));
    this.#weights = this.#kept(merged);
    this.#urls = urls;
  }

  /** A list's weights, kept when they matter: one is not 1, or the page gave weights. */
  #kept(weights) {
    return weights.some((w) => w !== 1) || this.#options.weights ? weights : null;
  }

  requestFailed(endpoint) {
    if (this.#inner) this.#inner[REQUEST_FAILED](endpoint);
    else this.#post({ kind: 'requestFailed', endpoint });
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#leave();
    for (const remove of this.#lifecycle) remove();
    this.#lifecycle = [];
    for (const finish of this.#picks.values()) finish(null);
  }
}

/** A follower's MessageEvent for what the leader relayed. */
function messageEventOf({ type, data, lastEventId, origin, endpoint }) {
  const event = new MessageEvent(String(type), { data, lastEventId: String(lastEventId), origin: String(origin) });
  event.endpoint = endpoint; // as web/index.js sets it on the browser's event
  return event;
}

/** The balancer's own event for a relayed open / error / failover. */
function lifecycleEventOf(message) {
  if (message.kind === 'error') return new BalancedErrorEvent('error', { reason: message.reason, endpoint: message.endpoint });
  if (message.kind === 'failover') return new FailoverEvent('failover', { from: message.from, to: message.to, reason: message.reason });
  return new Event('open');
}

function firstUntried(urls, tried) {
  return urls.find((url) => !tried.includes(url)) ?? null;
}

// Types for sse-balancer. Hand-written; tests/types/type-test.ts checks them
// against the DOM's EventSource so the two cannot drift apart silently.

/** Why a connection was given up. */
/** Why a stream failed; 'drain' (a failover only) means its server announced it goes away. */
export type FailureReason =
  /** Connection refused or dropped; the browser alone would retry the same URL. */
  | 'network'
  /** The browser gave up: non-200 status, 204, wrong Content-Type, CORS. */
  | 'http'
  /** No event arrived within the heartbeat timeout. */
  | 'stall'
  /** A stream that had opened ended (server closed it or the connection dropped). */
  | 'closed'
  /** The `urlProvider` threw, rejected or returned no http(s) URL. */
  | 'provider'
  /** Not a failure (a failover's reason only): the server announced a drain and the stream moved first. */
  | 'drain'
  /** Not a failure (a failover's reason only): under 'least-loaded' the stream moved off an endpoint with more than its share. */
  | 'rebalance';

/** An `error` event's reason: a stream's failure, or 'load' when the Wasm core could not be loaded. */
export type ErrorReason = FailureReason | 'load';

/** A built-in selection policy. */
export type PolicyName = 'round-robin' | 'random' | 'weighted' | 'sticky' | 'least-loaded';

export type EndpointState = 'idle' | 'connecting' | 'open' | 'cooling-down' | 'ejected';

/** What a `urlProvider` is told about the connection it makes a URL for. */
export interface UrlProviderInfo {
  /** The endpoint as configured (resolved against the document). */
  readonly endpoint: string;
  /** The last event id delivered ('' if none); already in the URL passed. */
  readonly lastEventId: string;
}

export interface BalancedEventSourceOptions {
  /**
   * How the next endpoint is chosen. `'round-robin'` takes the next eligible
   * endpoint in this client's own order (a random permutation of the list,
   * entered at a random position), so the clients of a failed endpoint spread
   * over the others; `'random'` is uniform among the eligible endpoints;
   * `'weighted'` is smooth weighted round-robin over `weights`, from a random
   * start; `'sticky'` is rendezvous hashing on `stickyKey`, with bounded load
   * (1.25x the mean); `'least-loaded'` is power of two choices on the load
   * the servers advertise (random where unknown). Where servers advertise
   * load, all three move a client off an endpoint above its share (per unit
   * of weight), make before break.
   * @default 'round-robin'
   */
  policy?: PolicyName;
  /** Seeds every random choice (first index, random picks, jitter). Default: from crypto. */
  seed?: number;
  /** Passed to every underlying EventSource. @default false */
  withCredentials?: boolean;
  /**
   * Query parameter that carries the last delivered event id to a new
   * connection (EventSource cannot send headers). `null` disables it.
   * @default 'lastEventId'
   */
  lastEventIdParam?: string | null;
  /** Resume point for the first connection. @default '' */
  lastEventId?: string;
  /** First cool-down of a failed endpoint, before jitter. @default 1000 */
  initialBackoffMs?: number;
  /** Growth of the cool-down per consecutive failure. @default 1.6 */
  backoffMultiplier?: number;
  /** Cap of the cool-down. @default 30000 */
  maxBackoffMs?: number;
  /**
   * Fraction of the cool-down that is randomised: 1 is full jitter
   * (uniform in (0, base]), 0 is exact. @default 1
   */
  jitter?: number;
  /**
   * Floor of every cool-down and of every wait between outage sweeps
   * (at least 10). @default 250
   */
  minRetryMs?: number;
  /** A stream open this long before failing starts its backoff afresh. @default 60000 */
  resetBackoffAfterMs?: number;
  /**
   * While every endpoint is down, the balancer sweeps up to three
   * endpoints per round; rounds wait `initialBackoffMs`, growing by
   * `backoffMultiplier` up to this, ±20 % (× `jitter`). Bounds how long a
   * page stays silent after a backend returns from an outage. @default 2000
   */
  maxOutageRetryMs?: number;
  /** How many recent event ids are remembered to drop replays. @default 1024 */
  dedupWindow?: number;
  /**
   * Stall watchdog: an open stream that delivers no event of any type for
   * this long counts as failed (reason `'stall'`). SSE comments (`: ping`)
   * are invisible to JavaScript, so the server must send a named event
   * (`heartbeatEvent`) or data more often than this. 0 turns it off.
   * @default 0
   */
  heartbeatTimeoutMs?: number;
  /** The named event type the server sends as a heartbeat. @default 'heartbeat' */
  heartbeatEvent?: string;
  /** A connection that has not opened after this long counts as stalled. 0 = off. @default 10000 */
  connectTimeoutMs?: number;
  /** Consecutive failures after which an endpoint is ejected; 0 = never. @default 5 */
  ejectAfterFailures?: number;
  /** Ejection time per ejection so far (30 s, 60 s, 90 s …), jittered ±25 %. @default 30000 */
  ejectionMs?: number;
  /** Cap of the ejection time. @default 300000 */
  maxEjectionMs?: number;
  /** Never eject more than this share of the endpoints at once. @default 50 */
  maxEjectedPercent?: number;
  /** Cap on connection attempts per sliding minute across all endpoints; 0 = none. @default 60 */
  maxConnectsPerMinute?: number;
  /**
   * Called for every new connection with the URL the balancer would open
   * (resume id included); returns the URL to open instead, e.g. with a fresh
   * token. May be async. Throwing, rejecting or returning a non-http(s) URL
   * fails that endpoint with reason `'provider'`.
   * @default null
   */
  urlProvider?: ((url: string, info: UrlProviderInfo) => string | URL | Promise<string | URL>) | null;
  /**
   * The EventSource implementation to drive, for where there is no platform
   * one (Node, e.g. the `eventsource` package); null uses the platform's,
   * captured when the module loaded.
   * @default null
   */
  EventSource?: (new (url: string, init?: { withCredentials?: boolean }) => EventSource) | null;
  /**
   * Share one stream among the tabs of this origin with the same key: one tab
   * leads (Web Locks) and streams, the others receive (BroadcastChannel).
   * `true` takes the key from the endpoint list. Without Web Locks or
   * BroadcastChannel, or in a worker, the tab streams on its own.
   * @default false
   */
  share?: boolean | string;
  /**
   * For the `'weighted'` policy: each endpoint's share of new connections, in
   * the order of the URLs (one positive number per distinct URL).
   * @default null
   */
  weights?: readonly number[] | null;
  /**
   * For the `'sticky'` policy (required by it): the key (a user or room id)
   * whose endpoint stays the same across clients and reloads.
   * @default ''
   */
  stickyKey?: string;
}

/** One endpoint's state and counters, from `stats()`. */
export interface EndpointStats {
  readonly url: string;
  readonly state: EndpointState;
  /** Connection attempts started. */
  readonly connects: number;
  /** Attempts that reached `open`. */
  readonly opens: number;
  /** Attempts or streams that failed. */
  readonly failures: number;
  /** Events delivered through this endpoint. */
  readonly messages: number;
  /** Replayed events dropped because their id was already delivered. */
  readonly duplicates: number;
  /** Times it was ejected. */
  readonly ejections: number;
  /** Failures since it last streamed healthily. */
  readonly consecutiveFailures: number;
  /** Back from an ejection and not yet trusted: tried last, re-ejected on its next failure. */
  readonly probation: boolean;
  readonly lastError: FailureReason | null;
  /** Milliseconds since that last error, or null if it never failed. */
  readonly lastErrorAgoMs: number | null;
  readonly failuresByReason: Readonly<Record<FailureReason, number>>;
  /**
   * While cooling down or ejected: ms until it is eligible again (as of the
   * stats() call); otherwise 0.
   */
  readonly retryInMs: number;
  /** Its weight (the `weights` option, or the latest endpoint list's); 1 unless given. */
  readonly weight: number;
  /**
   * Removed from the list while the stream was on it: never picked again,
   * listed only until the stream has moved off it.
   */
  readonly retired: boolean;
}

export interface BalancerStats {
  readonly readyState: number;
  readonly policy: PolicyName;
  /** Index of the endpoint streaming or being connected to, or null. */
  readonly activeEndpoint: number | null;
  /** The last event id delivered (carried to the next connection). */
  readonly lastEventId: string;
  /** The browser reported offline: attempts are paused. */
  readonly offline: boolean;
  /** Times the server's numeric ids went backwards (a restarted log) and dedup started afresh. */
  readonly idResets: number;
  /** Connection attempts in the last minute, and the cap (`maxConnectsPerMinute`). */
  readonly connectsLastMinute: { readonly used: number; readonly limit: number };
  /** 'solo': a stream of its own; with `share`, 'leader' (this tab streams) or 'follower'. */
  readonly role: 'solo' | 'leader' | 'follower';
  /** How many tabs share the stream (1 when solo). */
  readonly tabs: number;
  readonly endpoints: readonly EndpointStats[];
}

/** `fetch` options: RequestInit plus whether the request may be retried. */
export interface BalancedRequestInit extends RequestInit {
  /** Safe to send twice: retried on another endpoint after a network failure. @default false */
  idempotent?: boolean;
}

/** A Response from `BalancedEventSource.fetch`, with the endpoint it went to. */
export interface BalancedResponse extends Response {
  readonly endpoint: string;
}

/** A delivered event: EventSource's MessageEvent plus the endpoint it came through. */
/**
 * A message or named event: the browser's own (trusted) MessageEvent of the
 * underlying EventSource it came through, which is its `target` and
 * `currentTarget`; listeners are still called with `this` set to the
 * BalancedEventSource. `lastEventId` is the balancer's last event id.
 */
export interface BalancedMessageEvent<T = any> extends MessageEvent<T> {
  /** The endpoint URL (as configured, resolved) the event arrived through. */
  readonly endpoint: string;
}

/** Fired when the active endpoint changes. */
export declare class FailoverEvent extends Event {
  constructor(type: string, init: { from: string | null; to: string; reason: FailureReason });
  readonly type: 'failover';
  /** The endpoint given up, or null. */
  readonly from: string | null;
  /** The endpoint the balancer connects to now. */
  readonly to: string;
  readonly reason: FailureReason;
}

/**
 * Fired when the active stream fails (readyState is then CONNECTING); or,
 * with reason `'load'`, when the Wasm core could not be loaded for a
 * balancer made before it was (readyState is then CLOSED).
 */
export declare class BalancedErrorEvent extends Event {
  constructor(type: string, init: { reason: ErrorReason; endpoint: string | null; cause?: unknown });
  readonly type: 'error';
  readonly reason: ErrorReason;
  /** The endpoint that failed (null with `'load'`). */
  readonly endpoint: string | null;
  /** With `'provider'`: what the urlProvider threw or rejected with; with `'load'`: why the core did not load; otherwise undefined. */
  readonly cause: unknown;
}

export interface BalancedEventSourceEventMap {
  open: Event;
  message: BalancedMessageEvent;
  error: BalancedErrorEvent;
  failover: FailoverEvent;
}

/** One entry of `setEndpoints()` or of the `sse-balancer.endpoints` event. */
export interface EndpointEntry {
  url: string | URL;
  /**
   * For the weighted policy; a positive number up to 1e6. Not given: the
   * endpoint keeps the weight it had (1 for a new one).
   */
  weight?: number;
}

/**
 * An EventSource that streams from one of several endpoints and fails over
 * to another when the active one fails, carrying the last event id and
 * dropping replayed duplicates.
 */
export declare class BalancedEventSource extends EventTarget {
  /**
   * @param urls One URL or a list; relative URLs resolve against the
   *   document. Throws `SyntaxError` (DOMException) for an unparsable or
   *   non-http(s) URL, `TypeError` for an empty list or bad option.
   */
  constructor(urls: string | URL | Iterable<string | URL>, options?: BalancedEventSourceOptions);

  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSED: 2;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSED: 2;

  /** 0 connecting (also while waiting to retry), 1 open, 2 closed. */
  readonly readyState: number;
  /** The endpoint streaming or being connected to (or the last one used). */
  readonly url: string;
  readonly withCredentials: boolean;
  /** Every endpoint's state and counters (a snapshot). */
  readonly endpoints: readonly EndpointStats[];

  onopen: ((this: BalancedEventSource, ev: Event) => any) | null;
  onmessage: ((this: BalancedEventSource, ev: BalancedMessageEvent) => any) | null;
  onerror: ((this: BalancedEventSource, ev: BalancedErrorEvent) => any) | null;
  onfailover: ((this: BalancedEventSource, ev: FailoverEvent) => any) | null;

  /** A snapshot of the balancer's state and counters. */
  stats(): BalancerStats;
  /**
   * A request beside the stream (e.g. `POST /chat/messages`), sent to a
   * healthy endpoint chosen with the same policy and health state; `input`
   * resolves against that endpoint's URL. With `idempotent: true` a network
   * failure is retried on the next endpoint (with an `Idempotency-Key`
   * header added unless given); otherwise the first network error rejects.
   * HTTP error statuses resolve normally and are never retried.
   * @throws DOMException `InvalidStateError` after `close()`.
   */
  fetch(input: string | URL, init?: BalancedRequestInit): Promise<BalancedResponse>;
  /**
   * Replaces the endpoint list while the stream runs (a server can send the
   * same as an `sse-balancer.endpoints` event). Entries are URLs, or
   * `{ url, weight }` for the weighted policy; checked as the constructor
   * checks its list (same errors). An endpoint in both lists keeps its
   * health; a removed one that is streaming is left without a gap (the next
   * pick opens first). With `share`, it changes every tab's stream.
   * @throws DOMException `InvalidStateError` after `close()`.
   */
  setEndpoints(list: ReadonlyArray<string | URL | EndpointEntry>): void;
  /** Closes for good: nothing stays open or pending, no event fires after. */
  close(): void;

  addEventListener<K extends keyof BalancedEventSourceEventMap>(
    type: K,
    listener: (this: BalancedEventSource, ev: BalancedEventSourceEventMap[K]) => any,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Named SSE event types are forwarded to every underlying EventSource. */
  addEventListener(
    type: string,
    listener: (this: BalancedEventSource, event: BalancedMessageEvent) => any,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof BalancedEventSourceEventMap>(
    type: K,
    listener: (this: BalancedEventSource, ev: BalancedEventSourceEventMap[K]) => any,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: (this: BalancedEventSource, event: BalancedMessageEvent) => any,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ): void;
}

/**
 * Resolves once the Wasm core has loaded; rejects with the reason if it
 * could not be. Importing does not wait for it: a balancer made earlier
 * starts once it has loaded.
 */
export declare const ready: Promise<void>;
/** The default of every option. */
export declare const defaults: Readonly<Required<Omit<BalancedEventSourceOptions, 'seed'>>> & {
  readonly seed: undefined;
};
/** The policy names this build knows. */
export declare const policies: readonly PolicyName[];
/** Figures for leak checks (not a stable API). */
export declare function diagnostics(): {
  readonly emvalHandles: number;
  readonly wasmHeapInUse: number;
  readonly wasmHeapSize: number;
  /** EventSources of this module open now. */
  readonly openEventSources: number;
  /** BroadcastChannels of shared streams (the `share` option) open now. */
  readonly openShareChannels: number;
};

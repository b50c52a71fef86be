// In-process log store: one bounded EventLog (ring buffer) per channel.
//
// Implements the asynchronous store interface described in ./common.js, so the
// SSE backends treat it exactly like the Redis store; the underlying EventLog
// of a channel (synchronous API) is available through log(channel), e.g. for
// tests that want append() to return the entry at once (appendSync does too).
//
// Ids start at 1 per channel and only increase; they are not shared between
// processes (use the Redis store for that).

import { EventLog } from '../event-log.js';
import {
  IDEMPOTENCY_TTL_MS,
  DEFAULT_CAPACITY,
  IdempotencyConflictError,
  StoreClosedError,
  appendIdempotency,
  checkCapacity,
  checkChannel,
  checkLastId,
  checkSubscriber,
  checkType,
  toData,
} from './common.js';

/** The optional `limit` of since(): a positive integer, default all. */
export function checkLimit(limit) {
  if (limit === undefined) return Infinity;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  return limit;
}

/** At most this many idempotency keys are remembered (oldest forgotten first). */
const DEFAULT_MAX_IDEMPOTENCY_KEYS = 10000;

export class MemoryStore {
  /**
   * @param {{
   *   capacity?: number,              // entries kept per channel (default 10000)
   *   idempotencyTtlMs?: number,
   *   maxIdempotencyKeys?: number,
   *   now?: () => number,
   * }} [options]
   */
  constructor({
    capacity = DEFAULT_CAPACITY,
    idempotencyTtlMs = IDEMPOTENCY_TTL_MS,
    maxIdempotencyKeys = DEFAULT_MAX_IDEMPOTENCY_KEYS,
    now = Date.now,
  } = {}) {
    this.kind = 'memory';
    this.capacity = checkCapacity(capacity);
    if (!Number.isFinite(idempotencyTtlMs) || idempotencyTtlMs <= 0) throw new RangeError('idempotencyTtlMs must be a positive number');
    if (!Number.isSafeInteger(maxIdempotencyKeys) || maxIdempotencyKeys < 1) throw new RangeError('maxIdempotencyKeys must be a positive integer');
    this._ttl = idempotencyTtlMs;
    this._maxKeys = maxIdempotencyKeys;
    this._now = now;
    /** @type {Map<string, EventLog>} */
    this._logs = new Map();
    /** @type {Map<string, {entry: object, hash: string, expires: number}>} channel + scoped key; insertion order == expiry order */
    this._idem = new Map();
    this._closed = false;
    /** @type {Set<() => void>} unsubscribe functions of live subscriptions */
    this._subs = new Set();
  }

  /** The EventLog behind `channel` (created on first use). Synchronous API. */
  log(channel) {
    checkChannel(channel);
    let log = this._logs.get(channel);
    if (!log) {
      log = new EventLog({ capacity: this.capacity });
      this._logs.set(channel, log);
    }
    return log;
  }

  _check() {
    if (this._closed) throw new StoreClosedError(this.kind);
  }

  /** Synchronous append (what append() does); returns the entry. */
  appendSync(channel, type, data, options) {
    this._check();
    const log = this.log(channel);
    checkType(type);
    const text = toData(data);
    const idem = appendIdempotency(options, type, text);
    if (idem === null) return log.append(type, text);

    const now = this._now();
    this._sweep(now);
    const mapKey = `${channel}\n${idem.id}`;
    const hit = this._idem.get(mapKey);
    if (hit && hit.expires > now) {
      if (hit.hash !== idem.hash) throw new IdempotencyConflictError(idem.key);
      return Object.freeze({ ...hit.entry, duplicate: true });
    }
    const entry = log.append(type, text);
    this._idem.delete(mapKey);
    this._idem.set(mapKey, { entry: { id: entry.id, type: entry.type, data: entry.data }, hash: idem.hash, expires: now + this._ttl });
    while (this._idem.size > this._maxKeys) this._idem.delete(this._idem.keys().next().value);
    return entry;
  }

  _sweep(now) {
    for (const [k, v] of this._idem) {
      if (v.expires > now) break;
      this._idem.delete(k);
    }
  }

  async append(channel, type, data, options) {
    return this.appendSync(channel, type, data, options);
  }

  /** Entries with id > lastId, oldest first; at most `limit` (default: all). */
  async since(channel, lastId, limit) {
    this._check();
    checkLastId(lastId);
    return this.log(channel).since(lastId, checkLimit(limit));
  }

  // eslint-disable-next-line no-unused-vars
  subscribe(channel, fn, { onReset, onError } = {}) {
    // An in-process log never restarts under its subscribers and cannot become
    // unreachable: onReset and onError are never called.
    this._check();
    checkSubscriber(fn);
    const off = this.log(channel).subscribe(fn);
    const unsubscribe = () => {
      off();
      this._subs.delete(unsubscribe);
    };
    this._subs.add(unsubscribe);
    return unsubscribe;
  }

  async lastId(channel) {
    this._check();
    return this.log(channel).lastId;
  }

  async close() {
    this._closed = true;
    for (const unsubscribe of [...this._subs]) unsubscribe();
    this._idem.clear();
  }
}

// Shared checks and helpers of the log stores (memory-store.js, redis-store.js).
//
// Every store implements the same asynchronous interface:
//
//   append(channel, type, data, { idempotencyKey }?) -> Promise<{ id, type, data, duplicate? }>
//   since(channel, lastId)                           -> Promise<entries with id > lastId, oldest first>
//   subscribe(channel, fn, { onReset }?)              -> unsubscribe()   (fn(entry) for every new entry, in id order;
//                                                       onReset() if the log restarted with lower ids, e.g. an emptied Redis)
//   lastId(channel)                                  -> Promise<number> (0 before the first append)
//   close()                                          -> Promise<void>   (idempotent)
//
// Entries are frozen { id, type, data } objects: `id` a positive integer,
// strictly increasing per channel; `type` the SSE event type; `data` a string
// (a non-string `data` is stored as its JSON text).

/** Channel names: also used in URL paths (/<channel>/events) and Redis keys. */
export const CHANNEL_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Event types: one SSE line, no colon-free surprises. */
const TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Idempotency keys: 1-200 visible ASCII characters. */
export const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,200}$/;

/** How long an idempotency key is remembered (ms). */
export const IDEMPOTENCY_TTL_MS = 5 * 60 * 1000;

export const DEFAULT_CAPACITY = 10000;

export function checkChannel(channel) {
  if (typeof channel !== 'string' || !CHANNEL_RE.test(channel)) {
    throw new TypeError(
      `channel must be 1-64 characters of a-z, 0-9, "_" or "-" starting with a letter or digit, got ${JSON.stringify(channel)}`,
    );
  }
  return channel;
}

export function checkType(type) {
  if (typeof type !== 'string' || !TYPE_RE.test(type)) {
    throw new TypeError(`event type must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" or "-", got ${JSON.stringify(type)}`);
  }
  return type;
}

export function toData(data) {
  if (typeof data === 'string') return data;
  if (data === undefined) throw new TypeError('data is required');
  const json = JSON.stringify(data);
  if (json === undefined) throw new TypeError(`data must be a string or JSON-serialisable, got ${typeof data}`);
  return json;
}

export function checkLastId(lastId) {
  if (typeof lastId !== 'number' || !Number.isSafeInteger(lastId) || lastId < 0) {
    throw new TypeError(`lastId must be a non-negative safe integer, got ${typeof lastId === 'number' ? lastId : typeof lastId}`);
  }
  return lastId;
}

export function checkCapacity(capacity) {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }
  return capacity;
}

/** Validates the options argument of append(); returns the idempotency key or null. */
export function appendKey(options) {
  if (options === undefined || options === null) return null;
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError('append options must be an object');
  for (const k of Object.keys(options)) {
    if (k !== 'idempotencyKey') throw new TypeError(`unknown append option ${JSON.stringify(k)}; expected idempotencyKey`);
  }
  const key = options.idempotencyKey;
  if (key === undefined || key === null) return null;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY_RE.test(key)) {
    throw new TypeError('idempotencyKey must be 1-200 visible ASCII characters');
  }
  return key;
}

export function checkSubscriber(fn) {
  if (typeof fn !== 'function') throw new TypeError('subscribe expects a function');
  return fn;
}

export class StoreClosedError extends Error {
  constructor(kind) {
    super(`the ${kind} store is closed`);
    this.name = 'StoreClosedError';
  }
}

// Shared checks and helpers of the log stores (memory-store.js, redis-store.js).
//
// Every store implements the same asynchronous interface:
//
//   append(channel, type, data, { idempotencyKey, idempotencyScope?, idempotencyFingerprint? }?)
//                                                    -> Promise<{ id, type, data, duplicate? }>
//                                                       (rejects with IdempotencyConflictError when the key
//                                                       was used in the same scope for a different body)
//   since(channel, lastId)                           -> Promise<entries with id > lastId, oldest first>
//   subscribe(channel, fn, { onReset }?)              -> unsubscribe()   (fn(entry) for every new entry, in id order;
//                                                       onReset() if the log restarted with lower ids, e.g. an emptied Redis)
//   lastId(channel)                                  -> Promise<number> (0 before the first append)
//   close()                                          -> Promise<void>   (idempotent)
//
// Idempotency: a key counts within its channel and its scope (e.g. the
// client's IP and user name: one user's key never answers for another's
// message) and is bound to the body: the fingerprint (default: type and data)
// is stored as a SHA-256 beside the id; a repeat with the same fingerprint
// answers the first entry (duplicate: true), a different one is refused.
//
// Entries are frozen { id, type, data } objects: `id` a positive integer,
// strictly increasing per channel; `type` the SSE event type; `data` a string
// (a non-string `data` is stored as its JSON text).

import crypto from 'node:crypto';

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

const APPEND_OPTIONS = ['idempotencyKey', 'idempotencyScope', 'idempotencyFingerprint'];
/** Longest idempotencyScope / idempotencyFingerprint accepted (characters). */
const IDEMPOTENCY_TEXT_MAX = 16384;

const sha256 = (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

function optionalText(options, name) {
  const v = options[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > IDEMPOTENCY_TEXT_MAX) throw new TypeError(`${name} must be a string of at most ${IDEMPOTENCY_TEXT_MAX} characters`);
  return v;
}

/**
 * Validates the options argument of append(). Returns null without an
 * idempotency key, else { key, id, hash }: `id` the key within its scope
 * (64 hex digits, the same for every store and process), `hash` the SHA-256
 * (hex) of the fingerprint (default: type and data).
 */
export function appendIdempotency(options, type, data) {
  if (options === undefined || options === null) return null;
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError('append options must be an object');
  for (const k of Object.keys(options)) {
    if (!APPEND_OPTIONS.includes(k)) throw new TypeError(`unknown append option ${JSON.stringify(k)}; expected one of ${APPEND_OPTIONS.join(', ')}`);
  }
  const key = options.idempotencyKey;
  const scope = optionalText(options, 'idempotencyScope');
  const fingerprint = optionalText(options, 'idempotencyFingerprint');
  if (key === undefined || key === null) {
    if (scope !== null || fingerprint !== null) throw new TypeError('idempotencyScope and idempotencyFingerprint need an idempotencyKey');
    return null;
  }
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY_RE.test(key)) {
    throw new TypeError('idempotencyKey must be 1-200 visible ASCII characters');
  }
  return {
    key,
    id: sha256(JSON.stringify([scope ?? '', key])),
    hash: sha256(fingerprint ?? JSON.stringify([type, data])),
  };
}

/** The idempotency key of append()'s options, or null (the older helper; stores use appendIdempotency). */
export function appendKey(options) {
  const idem = appendIdempotency(options, '', '');
  return idem ? idem.key : null;
}

/** append() was given an idempotency key already used, in the same scope, for a different body. */
export class IdempotencyConflictError extends Error {
  constructor(key) {
    super(`the Idempotency-Key ${JSON.stringify(key)} was already used for a different message; use a new key for a new message`);
    this.name = 'IdempotencyConflictError';
    this.field = 'Idempotency-Key';
  }
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

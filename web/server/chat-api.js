// POST /<channel>/messages and GET /<channel>/health on every backend.
//
// One ChatService is shared by all backends of a cluster (one rate limiter for
// the whole process); idempotency is the store's (memory: a bounded map in
// the process; Redis: a key with a 5-minute TTL, so a retry on another process
// is recognised too). A key counts per client IP and user name (another
// user's key never answers for your message) and is bound to the message: the
// same key with another text is a 422.
//
//   POST /chat/messages   Content-Type: application/json   {"user": "...", "text": "..."}
//     201 {"id": 17}                 stored as a `message` event {user, text, at} on the channel
//     400 invalid JSON / bad Idempotency-Key   403 disallowed Origin   413 body over the limit
//     415 not application/json       422 missing or wrong field (`field` names it), or an
//                                        Idempotency-Key reused for another message (field: "Idempotency-Key")
//     429 rate limited (Retry-After) 503 store unavailable (Retry-After)
//   Every error answer is {"error": "...", "field"?: "user" | "text" | ...} and stores nothing.

import express from 'express';
import { TokenBuckets, takeAll } from './rate-limit.js';
import { IDEMPOTENCY_KEY_RE, IdempotencyConflictError } from './stores/common.js';

export const USER_MAX = 32;
export const TEXT_MAX = 2000;
export const DEFAULT_MAX_BODY_BYTES = 4096;
export const DEFAULT_RATE_LIMIT = Object.freeze({ ratePerSec: 5, burst: 10 });
export const DEFAULT_IP_RATE_LIMIT = Object.freeze({ ratePerSec: 20, burst: 40 });
const DEFAULT_APPEND_TIMEOUT_MS = 5000;

// C0 and C1 controls and DEL; the text may contain "\n" only.
const USER_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const TEXT_FORBIDDEN = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u;

/** What kind of JSON value `value` is, for error messages. */
function jsonTypeName(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/**
 * Validate a parsed body.
 * @returns {{ ok: true, user: string, text: string } | { ok: false, field: string, message: string }}
 */
export function validateMessage(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, field: 'body', message: `the body must be a JSON object {"user": ..., "text": ...}, got ${jsonTypeName(body)}` };
  }
  for (const key of Object.keys(body)) {
    if (key !== 'user' && key !== 'text') {
      return { ok: false, field: key, message: `unknown field ${JSON.stringify(key.slice(0, 40))}; only "user" and "text" are accepted` };
    }
  }
  const fields = [
    ['user', USER_MAX, USER_FORBIDDEN, 'control or bidirectional-override characters or line breaks'],
    ['text', TEXT_MAX, TEXT_FORBIDDEN, 'control characters (only line breaks are allowed)'],
  ];
  const out = {};
  for (const [name, max, forbidden, what] of fields) {
    const raw = body[name];
    if (raw === undefined) return { ok: false, field: name, message: `"${name}" is required` };
    if (typeof raw !== 'string') return { ok: false, field: name, message: `"${name}" must be a string, got ${jsonTypeName(raw)}` };
    if (!raw.isWellFormed()) return { ok: false, field: name, message: `"${name}" is not valid Unicode (lone surrogate)` };
    const value = (name === 'text' ? raw.replace(/\r\n/g, '\n') : raw).trim();
    const length = [...value].length;
    if (length === 0) return { ok: false, field: name, message: `"${name}" must not be empty` };
    if (length > max) return { ok: false, field: name, message: `"${name}" must be at most ${max} characters, got ${length}` };
    if (forbidden.test(value)) return { ok: false, field: name, message: `"${name}" must not contain ${what}` };
    out[name] = value;
  }
  return { ok: true, user: out.user, text: out.text };
}

function clientIp(req) {
  const ip = req.socket.remoteAddress || 'unknown';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * @param {{
 *   store: { append: Function, lastId: Function, kind?: string },
 *   channel?: string,
 *   rateLimit?: { ratePerSec: number, burst: number } | false,   // per IP + user
 *   ipRateLimit?: { ratePerSec: number, burst: number } | false, // per IP, any user
 *   maxBodyBytes?: number,
 *   appendTimeoutMs?: number,
 *   now?: () => number,
 * }} options
 */
export function createChatService(options) {
  return new ChatService(options);
}

class ChatService {
  constructor({
    store,
    channel = 'chat',
    rateLimit = DEFAULT_RATE_LIMIT,
    ipRateLimit = DEFAULT_IP_RATE_LIMIT,
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    appendTimeoutMs = DEFAULT_APPEND_TIMEOUT_MS,
    now = Date.now,
  }) {
    if (!store || typeof store.append !== 'function') throw new TypeError('createChatService: a store is required');
    if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 64) throw new RangeError('maxBodyBytes must be an integer >= 64');
    this.store = store;
    this.channel = channel;
    this.maxBodyBytes = maxBodyBytes;
    this.appendTimeoutMs = appendTimeoutMs;
    this.now = now;
    this.userBuckets = rateLimit ? new TokenBuckets({ ...rateLimit, now }) : null;
    this.ipBuckets = ipRateLimit ? new TokenBuckets({ ...ipRateLimit, now }) : null;
    this.stats = { stored: 0, duplicates: 0, rejected: 0 };
    this.parseJson = express.json({
      limit: maxBodyBytes,
      strict: false,
      type: () => true,
      // Remember the raw size: body-parser turns an empty body into {}.
      verify: (req, res, buf) => {
        req.rawBodyLength = buf.length;
      },
    });
    this.install = this.install.bind(this);
  }

  fail(res, status, error, extra = {}) {
    this.stats.rejected++;
    res.status(status).set('Cache-Control', 'no-store').json({ error, ...extra });
  }

  /**
   * Install the routes on one backend's app.
   * @param {import('express').Express} app
   * @param {{ cors: (req, res, options?: { json?: boolean }) => boolean, index: number }} backend
   */
  install(app, backend) {
    const { cors } = backend;
    const base = `/${this.channel}`;
    app.options(`${base}/messages`, (req, res) => {
      if (!cors(req, res)) return;
      res.set('Access-Control-Allow-Methods', 'POST');
      res.set('Access-Control-Allow-Headers', 'Content-Type, Idempotency-Key');
      res.set('Access-Control-Max-Age', '600');
      res.status(204).end();
    });
    app.post(
      `${base}/messages`,
      (req, res, next) => this.checkRequest(req, res, next, cors),
      this.parseJson,
      (req, res) => this.post(req, res, backend.index),
    );
    app.get(`${base}/health`, (req, res) => this.health(req, res, backend));
    // Errors of the JSON body parser, answered as JSON for this route only.
    // eslint-disable-next-line no-unused-vars
    app.use(`${base}/messages`, (err, req, res, next) => this.bodyError(err, res));
  }

  /** Origin, content type and Idempotency-Key, before the body is read. */
  checkRequest(req, res, next, cors) {
    if (!cors(req, res, { json: true })) {
      this.stats.rejected++;
      return;
    }
    res.set('Access-Control-Expose-Headers', 'Retry-After');
    if (!req.is('application/json')) {
      return this.fail(res, 415, `Content-Type must be application/json, got ${JSON.stringify(req.get('Content-Type') || '(none)')}`);
    }
    const key = req.get('Idempotency-Key');
    if (key !== undefined && !IDEMPOTENCY_KEY_RE.test(key)) {
      return this.fail(res, 400, 'the Idempotency-Key header must be 1-200 visible ASCII characters', { field: 'Idempotency-Key' });
    }
    next();
  }

  /** Seconds to wait when the sender (IP + user, or IP) is over its rate, else 0. */
  retryAfter(ip, user) {
    const pairs = [];
    if (this.userBuckets) pairs.push([this.userBuckets, `${ip}\n${user}`]);
    if (this.ipBuckets) pairs.push([this.ipBuckets, ip]);
    const rl = takeAll(pairs, this.now());
    return rl.ok ? 0 : Math.max(1, Math.ceil(rl.retryAfterMs / 1000));
  }

  async post(req, res, index) {
    if (!req.rawBodyLength) return this.fail(res, 400, 'the body is empty; expected a JSON object');
    const v = validateMessage(req.body);
    if (!v.ok) return this.fail(res, 422, v.message, { field: v.field });
    const ip = clientIp(req);
    const seconds = this.retryAfter(ip, v.user);
    if (seconds > 0) {
      res.set('Retry-After', String(seconds));
      return this.fail(res, 429, `too many messages; try again in ${seconds} s`, { retryAfter: seconds });
    }
    const data = JSON.stringify({ user: v.user, text: v.text, at: new Date(this.now()).toISOString() });
    const key = req.get('Idempotency-Key');
    // Scoped to this IP and user, bound to what they wrote (not to `at`, which a retry changes).
    const idempotency =
      key === undefined
        ? undefined
        : { idempotencyKey: key, idempotencyScope: JSON.stringify([ip, v.user]), idempotencyFingerprint: JSON.stringify([v.user, v.text]) };
    let entry;
    try {
      entry = await withTimeout(this.store.append(this.channel, 'message', data, idempotency), this.appendTimeoutMs, 'storing the message');
    } catch (err) {
      if (err instanceof IdempotencyConflictError) return this.fail(res, 422, err.message, { field: 'Idempotency-Key' });
      console.error(`chat: backend ${index}: could not store a message:`, err && err.message ? err.message : err);
      res.set('Retry-After', '1');
      return this.fail(res, 503, 'the message store is unavailable; try again');
    }
    if (entry.duplicate) this.stats.duplicates++;
    else this.stats.stored++;
    res.status(201).set('Cache-Control', 'no-store').json({ id: entry.id });
  }

  async health(req, res, { cors, index }) {
    if (!cors(req, res, { json: true })) return;
    res.set('Cache-Control', 'no-store');
    const about = { channel: this.channel, backend: index, store: this.store.kind || 'custom' };
    try {
      const lastId = await withTimeout(this.store.lastId(this.channel), 2000, 'reading the store');
      res.json({ ok: true, ...about, lastId });
    } catch (err) {
      res.status(503).json({ ok: false, ...about, error: String(err && err.message) });
    }
  }

  bodyError(err, res) {
    const status = err.status || err.statusCode || 500;
    if (res.headersSent) return res.destroy();
    if (status === 413) return this.fail(res, 413, `the body must be at most ${this.maxBodyBytes} bytes`);
    if (status === 415) return this.fail(res, 415, `unsupported body encoding: ${err.message}`);
    if (err.type === 'entity.parse.failed') return this.fail(res, 400, 'the body is not valid JSON');
    if (status >= 400 && status < 500) return this.fail(res, status, err.message);
    console.error('chat: unexpected error:', err);
    return this.fail(res, 500, 'internal error');
  }
}

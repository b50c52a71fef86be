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

function describe(value) {
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
    return { ok: false, field: 'body', message: `the body must be a JSON object {"user": ..., "text": ...}, got ${describe(body)}` };
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
    if (typeof raw !== 'string') return { ok: false, field: name, message: `"${name}" must be a string, got ${describe(raw)}` };
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
  const {
    store,
    channel = 'chat',
    rateLimit = DEFAULT_RATE_LIMIT,
    ipRateLimit = DEFAULT_IP_RATE_LIMIT,
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    appendTimeoutMs = DEFAULT_APPEND_TIMEOUT_MS,
    now = Date.now,
  } = options;
  if (!store || typeof store.append !== 'function') throw new TypeError('createChatService: a store is required');
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 64) throw new RangeError('maxBodyBytes must be an integer >= 64');
  const userBuckets = rateLimit ? new TokenBuckets({ ...rateLimit, now }) : null;
  const ipBuckets = ipRateLimit ? new TokenBuckets({ ...ipRateLimit, now }) : null;
  const stats = { stored: 0, duplicates: 0, rejected: 0 };

  const parseJson = express.json({
    limit: maxBodyBytes,
    strict: false,
    type: () => true,
    // Remember the raw size: body-parser turns an empty body into {}.
    verify: (req, res, buf) => {
      req.rawBodyLength = buf.length;
    },
  });

  /**
   * Install the routes on one backend's app.
   * @param {import('express').Express} app
   * @param {{ cors: (req, res, options?: { json?: boolean }) => boolean, index: number }} backend
   */
  function install(app, { cors, index }) {
    const base = `/${channel}`;
    const fail = (res, status, error, extra = {}) => {
      stats.rejected++;
      res.status(status).set('Cache-Control', 'no-store').json({ error, ...extra });
    };

    app.options(`${base}/messages`, (req, res) => {
      if (!cors(req, res)) return;
      res.set('Access-Control-Allow-Methods', 'POST');
      res.set('Access-Control-Allow-Headers', 'Content-Type, Idempotency-Key');
      res.set('Access-Control-Max-Age', '600');
      res.status(204).end();
    });

    app.post(
      `${base}/messages`,
      (req, res, next) => {
        if (!cors(req, res, { json: true })) {
          stats.rejected++;
          return;
        }
        res.set('Access-Control-Expose-Headers', 'Retry-After');
        if (!req.is('application/json')) {
          return fail(res, 415, `Content-Type must be application/json, got ${JSON.stringify(req.get('Content-Type') || '(none)')}`);
        }
        const key = req.get('Idempotency-Key');
        if (key !== undefined && !IDEMPOTENCY_KEY_RE.test(key)) {
          return fail(res, 400, 'the Idempotency-Key header must be 1-200 visible ASCII characters', { field: 'Idempotency-Key' });
        }
        next();
      },
      parseJson,
      async (req, res) => {
        if (!req.rawBodyLength) return fail(res, 400, 'the body is empty; expected a JSON object');
        const v = validateMessage(req.body);
        if (!v.ok) return fail(res, 422, v.message, { field: v.field });

        const ip = clientIp(req);
        const pairs = [];
        if (userBuckets) pairs.push([userBuckets, `${ip}\n${v.user}`]);
        if (ipBuckets) pairs.push([ipBuckets, ip]);
        const rl = takeAll(pairs, now());
        if (!rl.ok) {
          const seconds = Math.max(1, Math.ceil(rl.retryAfterMs / 1000));
          res.set('Retry-After', String(seconds));
          return fail(res, 429, `too many messages; try again in ${seconds} s`, { retryAfter: seconds });
        }

        const data = JSON.stringify({ user: v.user, text: v.text, at: new Date(now()).toISOString() });
        const key = req.get('Idempotency-Key');
        let entry;
        try {
          entry = await withTimeout(
            store.append(
              channel,
              'message',
              data,
              key === undefined
                ? undefined
                : // Scoped to this IP and user, bound to what they wrote (not to `at`, which a retry changes).
                  { idempotencyKey: key, idempotencyScope: JSON.stringify([ip, v.user]), idempotencyFingerprint: JSON.stringify([v.user, v.text]) },
            ),
            appendTimeoutMs,
            'storing the message',
          );
        } catch (err) {
          if (err instanceof IdempotencyConflictError) return fail(res, 422, err.message, { field: 'Idempotency-Key' });
          console.error(`chat: backend ${index}: could not store a message:`, err && err.message ? err.message : err);
          res.set('Retry-After', '1');
          return fail(res, 503, 'the message store is unavailable; try again');
        }
        if (entry.duplicate) stats.duplicates++;
        else stats.stored++;
        res.status(201).set('Cache-Control', 'no-store').json({ id: entry.id });
      },
    );

    app.get(`${base}/health`, async (req, res) => {
      if (!cors(req, res, { json: true })) return;
      res.set('Cache-Control', 'no-store');
      try {
        const lastId = await withTimeout(store.lastId(channel), 2000, 'reading the store');
        res.json({ ok: true, channel, backend: index, store: store.kind || 'custom', lastId });
      } catch (err) {
        res.status(503).json({ ok: false, channel, backend: index, store: store.kind || 'custom', error: String(err && err.message) });
      }
    });

    // Errors of the JSON body parser, answered as JSON for this route only.
    // eslint-disable-next-line no-unused-vars
    app.use(`${base}/messages`, (err, req, res, next) => {
      const status = err.status || err.statusCode || 500;
      if (res.headersSent) return res.destroy();
      if (status === 413) return fail(res, 413, `the body must be at most ${maxBodyBytes} bytes`);
      if (status === 415) return fail(res, 415, `unsupported body encoding: ${err.message}`);
      if (err.type === 'entity.parse.failed') return fail(res, 400, 'the body is not valid JSON');
      if (status >= 400 && status < 500) return fail(res, status, err.message);
      console.error('chat: unexpected error:', err);
      return fail(res, 500, 'internal error');
    });
  }

  return { channel, install, stats, maxBodyBytes };
}

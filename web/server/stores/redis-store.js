// Redis Streams log store, shared by every process that points at the same
// Redis: any backend of any process can resume any client.
//
// Per channel it uses two keys (with an optional key prefix):
//   <channel>:seq      the last id handed out (INCR)
//   <channel>:stream   a stream whose entry ids are `<n>-0`, fields type/data,
//                      capped with MAXLEN ~ capacity
// and, for append(..., { idempotencyKey }), <channel>:idem:<scoped key id>
// (PX 5 min) holding "<id>:<body hash>" (see appendIdempotency in common.js).
//
// append() runs one Lua script (EVALSHA, EVAL on NOSCRIPT) that does INCR then
// XADD, so ids are positive integers, gap-free and atomic across processes.
// since() is XRANGE from `(<id>-0`. subscribe() fans out from one dedicated
// blocking connection per store that loops on
// `XREAD COUNT n BLOCK ms STREAMS <every subscribed channel> <last seen ids>`;
// a newly subscribed channel interrupts the wait with CLIENT UNBLOCK, and
// close() destroys that connection, which ends the loop at once.
//
// Implements the interface described in ./common.js.

import crypto from 'node:crypto';
import { createClient } from 'redis';
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

// KEYS[1] seq, KEYS[2] stream, KEYS[3] (optional) idempotency key
// ARGV[1] capacity, ARGV[2] type, ARGV[3] data, ARGV[4] idempotency TTL (ms), ARGV[5] body hash
// Returns { id, 0 } when appended, { id, 1 } for an idempotent repeat (same key,
// same body hash), { id, 2 } when the key was used for a different body.
export const APPEND_SCRIPT = `
if #KEYS >= 3 then
  local prev = redis.call('GET', KEYS[3])
  if prev then
    local id, hash = string.match(prev, '^(%d+):(%x+)$')
    if not id then return { tonumber(prev), 1 } end
    if hash ~= ARGV[5] then return { tonumber(id), 2 } end
    return { tonumber(id), 1 }
  end
end
local n = redis.call('INCR', KEYS[1])
local ok = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], string.format('%d-0', n), 'type', ARGV[2], 'data', ARGV[3])
if type(ok) == 'table' and ok.err then
  -- The sequence is behind the stream (its key was lost): continue after the stream's last id.
  local info = redis.call('XINFO', 'STREAM', KEYS[2])
  local last = '0-0'
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1] end
  end
  n = tonumber(string.match(last, '^(%d+)-')) + 1
  redis.call('SET', KEYS[1], n)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], string.format('%d-0', n), 'type', ARGV[2], 'data', ARGV[3])
end
if #KEYS >= 3 then redis.call('SET', KEYS[3], n .. ':' .. ARGV[5], 'PX', ARGV[4]) end
return { n, 0 }
`;
const APPEND_SHA = crypto.createHash('sha1').update(APPEND_SCRIPT).digest('hex');

/** XRANGE page size of since(). */
const RANGE_PAGE = 1000;
/** Most entries one XREAD returns per stream. */
const READ_BATCH = 1000;
/** Before the first successful connection, give up after this many retries. */
const INITIAL_CONNECT_RETRIES = 3;
/** Same error from one connection reported at most once per this many ms. */
const ERROR_REPORT_EVERY_MS = 5000;
/** close(): how long a graceful QUIT may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

function reconnectStrategyFor(state) {
  return (retries, cause) => {
    if (state.closing) return false;
    if (!state.everReady && retries >= INITIAL_CONNECT_RETRIES) {
      return new Error(`cannot connect to Redis at ${state.where}: ${cause && cause.message ? cause.message : cause}`);
    }
    return Math.min(2 ** retries * 50, 2000);
  };
}

function parseStreamId(sid) {
  const dash = String(sid).indexOf('-');
  return Number(dash === -1 ? sid : String(sid).slice(0, dash));
}

function toEntry(sid, fields) {
  let type = 'message';
  let data = '';
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'type') type = String(fields[i + 1]);
    else if (fields[i] === 'data') data = String(fields[i + 1]);
  }
  return Object.freeze({ id: parseStreamId(sid), type, data });
}

export class RedisStore {
  /**
   * Connect and return a ready store. Rejects (after a few quick retries) when
   * Redis cannot be reached.
   *
   * @param {{
   *   url?: string,            // default redis://127.0.0.1:6379
   *   capacity?: number,       // MAXLEN ~ per channel stream (default 10000)
   *   keyPrefix?: string,      // prepended to every key (default '')
   *   blockMs?: number,        // XREAD BLOCK timeout of the subscriber loop (default 5000)
   *   connectTimeoutMs?: number,
   *   idempotencyTtlMs?: number,
   *   onError?: (err: Error) => void, // connection errors (default: console.error, throttled)
   * }} [options]
   */
  static async connect(options = {}) {
    const store = new RedisStore(options);
    try {
      await store._connect();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    return store;
  }

  constructor({
    url = 'redis://127.0.0.1:6379',
    capacity = DEFAULT_CAPACITY,
    keyPrefix = '',
    blockMs = 5000,
    connectTimeoutMs = 5000,
    idempotencyTtlMs = IDEMPOTENCY_TTL_MS,
    onError,
  } = {}) {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`Redis url must be a URL like redis://127.0.0.1:6379, got ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
      throw new TypeError(`Redis url must start with redis:// or rediss://, got ${JSON.stringify(url)}`);
    }
    if (typeof keyPrefix !== 'string' || /[\s]/.test(keyPrefix)) throw new TypeError('keyPrefix must be a string without whitespace');
    if (!Number.isSafeInteger(blockMs) || blockMs < 1 || blockMs > 60_000) throw new RangeError('blockMs must be an integer in [1, 60000]');
    if (!Number.isSafeInteger(idempotencyTtlMs) || idempotencyTtlMs < 1) throw new RangeError('idempotencyTtlMs must be a positive integer');
    this.kind = 'redis';
    this.url = url;
    this.capacity = checkCapacity(capacity);
    this.keyPrefix = keyPrefix;
    this._blockMs = blockMs;
    this._idemTtl = idempotencyTtlMs;
    this._where = `${parsed.hostname}:${parsed.port || 6379}`;
    this._onError = typeof onError === 'function' ? onError : null;
    this._lastReport = new Map();
    this._closed = false;
    this._closing = null;

    /** @type {Map<string, {subs: Set<{fn: Function}>, cursor: number|null, ready: Promise<void>|null}>} */
    this._channels = new Map();
    this._keyToChannel = new Map();
    this._readerId = null;
    this._inflight = null; // { gen, channels: Set<string> } of the XREAD waiting now
    this._gen = 0;
    this._recheck = false;
    this._wakeIdle = null;
    this._wakeSleep = null;
    this._loopDone = Promise.resolve();

    const mk = (role) => {
      const state = { where: this._where, everReady: false, closing: false };
      const client = createClient({
        url,
        disableOfflineQueue: true, // fail fast while disconnected: never store late
        socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: reconnectStrategyFor(state) },
      });
      client.on('ready', () => {
        state.everReady = true;
      });
      // Before the first connection, errors surface as the rejection of connect().
      client.on('error', (err) => {
        if (state.everReady) this._report(role, err);
      });
      return { client, state };
    };
    this._main = mk('main');
    this._reader = mk('subscriber');
    this.client = this._main.client;
  }

  _report(role, err) {
    if (this._closed) return;
    if (this._onError) {
      this._onError(err);
      return;
    }
    const key = `${role}:${err && err.message}`;
    const now = Date.now();
    if (now - (this._lastReport.get(key) || 0) < ERROR_REPORT_EVERY_MS) return;
    this._lastReport.set(key, now);
    if (this._lastReport.size > 100) this._lastReport.clear();
    console.error(`redis-store (${role} connection to ${this._where}): ${err && err.message ? err.message : err}`);
  }

  async _connect() {
    await Promise.all([this._main.client.connect(), this._reader.client.connect()]);
    this._loopDone = this._loop().catch((err) => this._report('subscriber', err));
  }

  _keys(channel) {
    const base = `${this.keyPrefix}${channel}`;
    return { seq: `${base}:seq`, stream: `${base}:stream`, idem: `${base}:idem:` };
  }

  _check() {
    if (this._closed) throw new StoreClosedError(this.kind);
  }

  async append(channel, type, data, options) {
    this._check();
    checkChannel(channel);
    checkType(type);
    const text = toData(data);
    const idem = appendIdempotency(options, type, text);
    const k = this._keys(channel);
    const keys = idem === null ? [k.seq, k.stream] : [k.seq, k.stream, k.idem + idem.id];
    const args = [String(keys.length), ...keys, String(this.capacity), type, text, String(this._idemTtl), idem === null ? '' : idem.hash];
    let reply;
    try {
      reply = await this.client.sendCommand(['EVALSHA', APPEND_SHA, ...args]);
    } catch (err) {
      if (!/NOSCRIPT/.test(String(err && err.message))) throw err;
      reply = await this.client.sendCommand(['EVAL', APPEND_SCRIPT, ...args]);
    }
    const id = Number(reply[0]);
    if (Number(reply[1]) === 2) throw new IdempotencyConflictError(idem.key);
    const entry = { id, type, data: text };
    if (Number(reply[1]) === 1) entry.duplicate = true;
    return Object.freeze(entry);
  }

  async since(channel, lastId) {
    this._check();
    checkChannel(channel);
    checkLastId(lastId);
    const { stream } = this._keys(channel);
    const out = [];
    let from = `(${lastId}-0`;
    for (;;) {
      const page = await this.client.sendCommand(['XRANGE', stream, from, '+', 'COUNT', String(RANGE_PAGE)]);
      if (!page || page.length === 0) break;
      for (const [sid, fields] of page) out.push(toEntry(sid, fields));
      if (page.length < RANGE_PAGE) break;
      from = `(${page[page.length - 1][0]}`;
    }
    return out;
  }

  async lastId(channel) {
    this._check();
    checkChannel(channel);
    const v = await this.client.sendCommand(['GET', this._keys(channel).seq]);
    return v === null || v === undefined ? 0 : Number(v);
  }

  /**
   * fn(entry) for every entry appended (by any process) after this call, in id
   * order. The starting point is read (GET <channel>:seq) on the main
   * connection when the channel gets its first subscriber, before any command
   * issued after subscribe() returns: subscribe() then since() leaves no gap.
   * `onReset()` is called when the log was found to have restarted (Redis came
   * back without the data); entries with lower ids follow.
   */
  subscribe(channel, fn, { onReset } = {}) {
    this._check();
    checkChannel(channel);
    checkSubscriber(fn);
    if (onReset !== undefined && typeof onReset !== 'function') throw new TypeError('onReset must be a function');
    let ch = this._channels.get(channel);
    if (!ch) {
      ch = { subs: new Set(), cursor: null, ready: null };
      this._channels.set(channel, ch);
      this._keyToChannel.set(this._keys(channel).stream, channel);
      this._initCursor(channel, ch);
      this._wake(channel);
    }
    const sub = { fn, onReset };
    ch.subs.add(sub);
    return () => {
      if (!ch.subs.delete(sub)) return;
      if (ch.subs.size === 0 && this._channels.get(channel) === ch) this._channels.delete(channel);
    };
  }

  _initCursor(channel, ch) {
    ch.ready = this.client.sendCommand(['GET', this._keys(channel).seq]).then(
      (v) => {
        ch.cursor = v === null || v === undefined ? 0 : Number(v);
      },
      (err) => {
        ch.ready = null; // retried by the loop
        this._report('main', err);
      },
    );
  }

  /** Make the subscriber loop pick up a new channel now. */
  _wake(channel) {
    if (this._wakeIdle) {
      const wake = this._wakeIdle;
      this._wakeIdle = null;
      wake();
      return;
    }
    const inflight = this._inflight;
    if (!inflight || inflight.channels.has(channel)) return;
    this._unblock(inflight.gen, 0);
  }

  _unblock(gen, attempt) {
    if (this._closed || !this._inflight || this._inflight.gen !== gen || this._readerId === null) return;
    this.client.sendCommand(['CLIENT', 'UNBLOCK', String(this._readerId)]).then(
      (n) => {
        // 0: the XREAD was not blocked yet (still on its way); try again shortly.
        if (Number(n) === 0 && attempt < 20) setTimeout(() => this._unblock(gen, attempt + 1), 25).unref?.();
      },
      () => {},
    );
  }

  async _loop() {
    const reader = this._reader.client;
    let failures = 0;
    while (!this._closed) {
      const active = [...this._channels.entries()];
      if (active.length === 0) {
        await new Promise((resolve) => {
          this._wakeIdle = resolve;
        });
        continue;
      }
      for (const [channel, ch] of active) if (ch.ready === null) this._initCursor(channel, ch);
      await Promise.all(active.map(([, ch]) => ch.ready));
      if (this._closed) break;
      const ready = active.filter(([channel, ch]) => ch.cursor !== null && this._channels.get(channel) === ch);
      if (this._recheck && ready.length > 0) {
        // After a lost connection: if Redis came back without our data (restarted
        // empty), the sequence is now below our cursors; read the new entries from
        // the start (subscribers see ids go backwards and can tell their clients).
        try {
          const seqs = await Promise.all(ready.map(([channel]) => this.client.sendCommand(['GET', this._keys(channel).seq])));
          ready.forEach(([, ch], i) => {
            const seq = seqs[i] === null || seqs[i] === undefined ? 0 : Number(seqs[i]);
            if (seq < ch.cursor) {
              ch.cursor = 0;
              for (const sub of [...ch.subs]) {
                try {
                  sub.onReset?.();
                } catch (err) {
                  console.error('redis-store onReset failed:', err);
                }
              }
            }
          });
          this._recheck = false;
        } catch (err) {
          if (this._closed) break;
          this._report('main', err);
          await this._sleep(Math.min(2 ** failures++ * 50, 2000));
          continue;
        }
      }
      if (ready.length === 0) {
        await this._sleep(Math.min(2 ** failures++ * 50, 2000));
        continue;
      }
      const keys = ready.map(([channel]) => this._keys(channel).stream);
      const ids = ready.map(([, ch]) => `${ch.cursor}-0`);
      const gen = ++this._gen;
      this._inflight = { gen, channels: new Set(ready.map(([channel]) => channel)) };
      let reply;
      try {
        if (this._readerId === null) {
          // Pipelined ahead of the XREAD on the same connection; needed by CLIENT UNBLOCK.
          reader.sendCommand(['CLIENT', 'ID']).then(
            (id) => {
              if (this._gen === gen) this._readerId = id;
            },
            () => {},
          );
        }
        reply = await reader.sendCommand(['XREAD', 'COUNT', String(READ_BATCH), 'BLOCK', String(this._blockMs), 'STREAMS', ...keys, ...ids]);
        failures = 0;
      } catch (err) {
        this._inflight = null;
        this._readerId = null; // a reconnect gets a new client id
        this._recheck = true;
        if (this._closed) break;
        this._report('subscriber', err);
        await this._sleep(Math.min(2 ** failures++ * 50, 2000));
        continue;
      }
      this._inflight = null;
      if (!reply) continue; // timeout or CLIENT UNBLOCK
      this._dispatch(reply);
    }
  }

  /** A pause of the loop that close() cuts short. */
  _sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this._wakeSleep = done;
    });
  }

  _dispatch(reply) {
    // RESP2: [[key, [[id, [field, value, ...]], ...]], ...]; RESP3 maps arrive as objects.
    const streams = Array.isArray(reply) ? reply : Object.entries(reply);
    for (const [key, entries] of streams) {
      const channel = this._keyToChannel.get(String(key));
      const ch = channel === undefined ? undefined : this._channels.get(channel);
      if (!ch || ch.cursor === null) continue;
      for (const [sid, fields] of entries) {
        const entry = toEntry(sid, fields);
        if (!(entry.id > ch.cursor)) continue;
        ch.cursor = entry.id;
        for (const sub of [...ch.subs]) {
          try {
            sub.fn(entry);
          } catch (err) {
            console.error('redis-store subscriber failed:', err);
          }
        }
      }
    }
  }

  close() {
    if (this._closing) return this._closing;
    this._closed = true;
    this._main.state.closing = true;
    this._reader.state.closing = true;
    this._channels.clear();
    if (this._wakeIdle) this._wakeIdle();
    if (this._wakeSleep) this._wakeSleep();
    this._closing = (async () => {
      const reader = this._reader.client;
      if (reader.isOpen) reader.destroy();
      await this._loopDone.catch(() => {});
      const client = this._main.client;
      if (client.isOpen) {
        let timer;
        const graceful = client.close().catch(() => {});
        const timeout = new Promise((resolve) => {
          timer = setTimeout(resolve, CLOSE_GRACE_MS);
        });
        await Promise.race([graceful, timeout]);
        clearTimeout(timer);
        if (client.isOpen) client.destroy();
      }
    })();
    return this._closing;
  }
}


export function connectRedisStore(options) {
  return RedisStore.connect(options);
}

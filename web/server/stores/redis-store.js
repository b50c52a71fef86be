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
import * as common from './common.js';
import { checkLimit } from './memory-store.js';

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

// The epoch of a channel's log: a random run id stored beside the sequence
// (<channel>:epoch), created with the log, so a Redis that lost its data
// (restarted empty, flushed) is told apart from the log a process knew by the
// epoch, not by comparing ids. Run by a store before its first append on each
// connection and by the subscriber after a lost connection.
//
// KEYS[1] seq, KEYS[2] epoch, KEYS[3] stream
// ARGV[1] a new epoch (taken if the key is missing), ARGV[2] the epoch the
// caller knew ('' for none), ARGV[3] floor: the highest id the caller knows
// of. When the log is not the one the caller knew and its sequence is below
// the floor, the sequence is raised to the floor: ids of the new log continue
// above every id handed out before, so a client resuming with an old id gets
// the whole new log (with a gap event for what was lost) instead of a replay
// that silently starts in the middle of it.
// Returns { epoch, seq (before any raise), first id in the stream or -1 }.
export const EPOCH_SCRIPT = `
local e = redis.call('GET', KEYS[2])
if not e then
  e = ARGV[1]
  redis.call('SET', KEYS[2], e)
end
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[2] ~= '' and e ~= ARGV[2] and seq < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[3])
end
local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)
local firstId = -1
if #first > 0 then firstId = tonumber(string.match(first[1][1], '^(%d+)-')) end
return { e, seq, firstId }
`;
const EPOCH_SHA = crypto.createHash('sha1').update(EPOCH_SCRIPT).digest('hex');

/** XRANGE page size of since(). */
const RANGE_PAGE = 1000;
/** Most entries one XREAD returns per stream. */
const READ_BATCH = 1000;
/** What _read() returns when Redis could not be read. */
const READ_FAILED = Symbol('read failed');
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
    capacity = common.DEFAULT_CAPACITY,
    keyPrefix = '',
    blockMs = 5000,
    connectTimeoutMs = 5000,
    idempotencyTtlMs = common.IDEMPOTENCY_TTL_MS,
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
    this.capacity = common.checkCapacity(capacity);
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

    /** Per channel: the epoch this store's appends last saw, and the highest id it knows of. */
    this._epochs = new Map();
    this._high = new Map();
    /** Per channel: the epoch check of the current main connection (see _verify). */
    this._verified = new Map();
    // A new connection may lead to a Redis that lost the data: check again.
    this._main.client.on('ready', () => this._verified.clear());
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
    return { seq: `${base}:seq`, stream: `${base}:stream`, idem: `${base}:idem:`, epoch: `${base}:epoch` };
  }

  _noteHigh(channel, id) {
    if (id > (this._high.get(channel) || 0)) this._high.set(channel, id);
  }

  /** Runs EPOCH_SCRIPT; resolves { epoch, seq, firstId }. */
  async _epoch(channel, knownEpoch, floor) {
    const k = this._keys(channel);
    const args = ['3', k.seq, k.epoch, k.stream, crypto.randomUUID(), knownEpoch || '', String(floor)];
    let reply;
    try {
      reply = await this.client.sendCommand(['EVALSHA', EPOCH_SHA, ...args]);
    } catch (err) {
      if (!/NOSCRIPT/.test(String(err && err.message))) throw err;
      reply = await this.client.sendCommand(['EVAL', EPOCH_SCRIPT, ...args]);
    }
    const firstId = Number(reply[2]);
    return { epoch: String(reply[0]), seq: Number(reply[1]), firstId: firstId < 0 ? null : firstId };
  }

  /**
   * Before the first append of a channel on each main connection: make sure
   * the log has an epoch and, if it is not the log this store knew, that its
   * ids continue above every id this store saw (EPOCH_SCRIPT).
   */
  _verify(channel) {
    let p = this._verified.get(channel);
    if (!p) {
      p = this._epoch(channel, this._epochs.get(channel), this._high.get(channel) || 0).then(
        ({ epoch }) => {
          this._epochs.set(channel, epoch);
        },
        (err) => {
          if (this._verified.get(channel) === p) this._verified.delete(channel);
          throw err;
        },
      );
      this._verified.set(channel, p);
    }
    return p;
  }

  _check() {
    if (this._closed) throw new common.StoreClosedError(this.kind);
  }

  async append(channel, type, data, options) {
    this._check();
    common.checkChannel(channel);
    common.checkType(type);
    const text = common.toData(data);
    const idem = common.appendIdempotency(options, type, text);
    await this._verify(channel);
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
    this._noteHigh(channel, id);
    if (Number(reply[1]) === 2) throw new common.IdempotencyConflictError(idem.key);
    const entry = { id, type, data: text };
    if (Number(reply[1]) === 1) entry.duplicate = true;
    return Object.freeze(entry);
  }

  /** Entries with id > lastId, oldest first; at most `limit` (default: all). */
  async since(channel, lastId, limit) {
    this._check();
    common.checkChannel(channel);
    common.checkLastId(lastId);
    const max = checkLimit(limit);
    const { stream } = this._keys(channel);
    const out = [];
    let from = `(${lastId}-0`;
    while (out.length < max) {
      const count = Math.min(RANGE_PAGE, max - out.length);
      const page = await this.client.sendCommand(['XRANGE', stream, from, '+', 'COUNT', String(count)]);
      if (!page || page.length === 0) break;
      for (const [sid, fields] of page) out.push(toEntry(sid, fields));
      if (page.length < count) break;
      from = `(${page[page.length - 1][0]}`;
    }
    return out;
  }

  async lastId(channel) {
    this._check();
    common.checkChannel(channel);
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
  subscribe(channel, fn, { onReset, onError } = {}) {
    this._check();
    common.checkChannel(channel);
    common.checkSubscriber(fn);
    if (onReset !== undefined && typeof onReset !== 'function') throw new TypeError('onReset must be a function');
    if (onError !== undefined && typeof onError !== 'function') throw new TypeError('onError must be a function');
    let ch = this._channels.get(channel);
    if (!ch) {
      ch = { subs: new Set(), cursor: null, epoch: null, ready: null };
      this._channels.set(channel, ch);
      this._keyToChannel.set(this._keys(channel).stream, channel);
      this._initCursor(channel, ch);
      this._wake(channel);
    }
    const sub = { fn, onReset, onError };
    ch.subs.add(sub);
    return () => {
      if (!ch.subs.delete(sub)) return;
      if (ch.subs.size === 0 && this._channels.get(channel) === ch) this._channels.delete(channel);
    };
  }

  _initCursor(channel, ch) {
    ch.ready = this._epoch(channel, '', 0).then(
      ({ epoch, seq }) => {
        ch.cursor = seq;
        ch.epoch = epoch;
        this._noteHigh(channel, seq);
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
    let failures = 0;
    const pause = () => this._sleep(Math.min(2 ** failures++ * 50, 2000));
    while (!this._closed) {
      const ready = await this._readyChannels();
      if (ready === null) continue; // waited for a subscriber
      if (this._closed) break;
      if (this._recheck && ready.length > 0 && !(await this._recheckEpochs(ready))) {
        if (this._closed) break;
        await pause();
        continue;
      }
      if (ready.length === 0) {
        await pause();
        continue;
      }
      const reply = await this._read(ready);
      if (reply === READ_FAILED) {
        if (this._closed) break;
        await pause();
        continue;
      }
      failures = 0;
      if (!reply) {
        // Timeout (every blockMs) or CLIENT UNBLOCK: also check the epochs, so
        // that a log emptied without a lost connection (FLUSHALL, a proxy in
        // front of a replaced Redis) is noticed too.
        this._recheck = true;
        continue;
      }
      this._dispatch(reply);
    }
  }

  /** The subscribed channels whose cursor is known; null after waiting for a first subscriber. */
  async _readyChannels() {
    const active = [...this._channels.entries()];
    if (active.length === 0) {
      await new Promise((resolve) => {
        this._wakeIdle = resolve;
      });
      return null;
    }
    for (const [channel, ch] of active) if (ch.ready === null) this._initCursor(channel, ch);
    await Promise.all(active.map(([, ch]) => ch.ready));
    return active.filter(([channel, ch]) => ch.cursor !== null && this._channels.get(channel) === ch);
  }

  // After a lost connection: Redis may have come back without our data
  // (restarted empty). Tell by the epoch, not by the ids (a new sequence may
  // already have passed our cursor). EPOCH_SCRIPT raises a new log's sequence
  // above our cursor, so its entries normally follow on; only if it already
  // holds entries at or below our cursor (appended by a process that knew
  // less) do subscribers restart from its beginning. False when Redis could
  // not be asked.
  async _recheckEpochs(ready) {
    let found;
    try {
      found = await Promise.all(ready.map(([channel, ch]) => this._epoch(channel, ch.epoch, ch.cursor)));
    } catch (err) {
      if (!this._closed) this._report('main', err);
      return false;
    }
    ready.forEach(([, ch], i) => {
      const { epoch, firstId } = found[i];
      if (ch.epoch === null || epoch === ch.epoch) return;
      ch.epoch = epoch;
      if (firstId === null || firstId > ch.cursor) return;
      ch.cursor = 0;
      for (const sub of [...ch.subs]) {
        try {
          sub.onReset?.();
        } catch (err) {
          console.error('redis-store onReset failed:', err);
        }
      }
    });
    this._recheck = false;
    return true;
  }

  /** One blocking XREAD of the ready channels: its reply (null on timeout), or READ_FAILED. */
  async _read(ready) {
    const reader = this._reader.client;
    const keys = ready.map(([channel]) => this._keys(channel).stream);
    const ids = ready.map(([, ch]) => `${ch.cursor}-0`);
    const gen = ++this._gen;
    this._inflight = { gen, channels: new Set(ready.map(([channel]) => channel)) };
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
      const reply = await reader.sendCommand(['XREAD', 'COUNT', String(READ_BATCH), 'BLOCK', String(this._blockMs), 'STREAMS', ...keys, ...ids]);
      this._inflight = null;
      return reply;
    } catch (err) {
      this._inflight = null;
      this._readerId = null; // a reconnect gets a new client id
      this._recheck = true;
      if (!this._closed) {
        this._report('subscriber', err);
        this._failSubscribers(ready, err);
      }
      return READ_FAILED;
    }
  }

  /**
   * The subscription could not read (Redis unreachable): tell every
   * subscriber of those channels (onError), so that a stream over it ends
   * rather than stay open with nothing behind it. They stay subscribed.
   */
  _failSubscribers(active, err) {
    for (const [, ch] of active) {
      for (const sub of [...ch.subs]) {
        try {
          sub.onError?.(err);
        } catch (e) {
          console.error('redis-store onError failed:', e);
        }
      }
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
        this._noteHigh(channel, entry.id);
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

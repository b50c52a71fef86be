// Redis Streams log store, shared by every process that points at the same
// Redis (one server, or a Redis Cluster): any backend of any process can
// resume any client.
//
// Keys. Every key of a channel carries the channel as a hash tag, so that all
// of them hash to one slot and the Lua scripts (which touch several at once)
// also run on a Redis Cluster. With an optional key prefix P:
//   P{<channel>}:seq        the last id handed out (INCR)
//   P{<channel>}:stream     a stream whose entry ids are `<n>-0`, fields type/data,
//                           capped with MAXLEN ~ capacity
//   P{<channel>}:epoch      a random run id of the log (see EPOCH_SCRIPT)
//   P{<channel>}:idem:<id>  for append(..., { idempotencyKey }): "<id>:<body hash>"
//                           (PX 5 min; see appendIdempotency in common.js)
//   P{<channel>}:generator  the lease of the channel's log generator (tryLease)
// (Before hash tags the keys were `<channel>:seq` and so on: a Redis that holds
// a log written by an older version is read as an empty, new log.)
//
// append() runs one Lua script (EVALSHA, EVAL on NOSCRIPT) that does INCR then
// XADD, so ids are positive integers, gap-free and atomic across processes.
// since() is XRANGE from `(<id>-0`. subscribe() fans out from blocking readers
// (StreamFollower, ./redis-follower.js) on connections of their own: on one
// Redis a single one follows every subscribed channel in one XREAD; on a
// cluster each channel has its own (an XREAD over several slots is refused
// with CROSSSLOT). close() destroys those connections, which ends them at once.
//
// Implements the interface described in ./common.js.

import crypto from 'node:crypto';
import { createClient, createCluster } from 'redis';
import * as common from './common.js';
import { checkLimit } from './memory-store.js';
import { StreamFollower, toEntry } from './redis-follower.js';

// KEYS[1] seq, KEYS[2] stream, KEYS[3] (optional) idempotency key: one channel's keys, one slot
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
// ({<channel>}:epoch), created with the log, so a Redis that lost its data
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


// The lease of a channel's log generator ({<channel>}:generator): however many
// processes share the log, one at a time writes the generated lines (see
// ../generator-lease.js).
// KEYS[1] the lease key; ARGV[1] the caller's owner id, ARGV[2] the TTL (ms).
// Returns 1 when the caller holds the lease for the next TTL (taken because it
// was free, or renewed because the caller held it already), 0 when another
// owner holds it.
export const LEASE_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;
const LEASE_SHA = crypto.createHash('sha1').update(LEASE_SCRIPT).digest('hex');

// Gives a lease up if the caller still holds it (a graceful stop lets another
// process take over at once). KEYS[1] the lease key, ARGV[1] the owner id.
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
const RELEASE_SHA = crypto.createHash('sha1').update(RELEASE_SCRIPT).digest('hex');

/** XRANGE page size of since(). */
const RANGE_PAGE = 1000;
/** Before the first successful connection, give up after this many retries. */
const INITIAL_CONNECT_RETRIES = 3;
/** Same error from one connection reported at most once per this many ms. */
const ERROR_REPORT_EVERY_MS = 5000;
/** close(): how long a graceful QUIT may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;
/** Lease owner ids: 1-200 visible ASCII characters. */
const OWNER_RE = /^[\x21-\x7e]{1,200}$/;
const DEFAULT_URL = 'redis://127.0.0.1:6379';

function reconnectStrategyFor(state) {
  return (retries, cause) => {
    if (state.closing) return false;
    if (!state.everReady && retries >= INITIAL_CONNECT_RETRIES) {
      return new Error(`cannot connect to Redis at ${state.where}: ${cause && cause.message ? cause.message : cause}`);
    }
    return Math.min(2 ** retries * 50, 2000);
  };
}

function checkUrl(url, what) {
  let parsed;
  try {
    if (typeof url !== 'string') throw new TypeError();
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${what} must be a URL like redis://127.0.0.1:6379, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TypeError(`${what} must start with redis:// or rediss://, got ${JSON.stringify(url)}`);
  }
  return parsed;
}

const hostPort = (parsed) => `${parsed.hostname}:${parsed.port || 6379}`;

/** The validated options of a RedisStore, with `where` (host:port, or the cluster's nodes) for messages. */
function storeOptions({
  url,
  cluster,
  capacity = common.DEFAULT_CAPACITY,
  keyPrefix = '',
  blockMs = 5000,
  connectTimeoutMs = 5000,
  idempotencyTtlMs = common.IDEMPOTENCY_TTL_MS,
  onError,
} = {}) {
  let where;
  if (cluster !== undefined && cluster !== null) {
    if (url !== undefined) throw new TypeError('give either url (one Redis) or cluster (the node URLs of a Redis Cluster), not both');
    if (!Array.isArray(cluster) || cluster.length === 0) throw new TypeError('cluster must be a non-empty array of node URLs like redis://127.0.0.1:7000');
    const nodes = cluster.map((u, i) => {
      const parsed = checkUrl(u, `cluster node ${i + 1}`);
      if (parsed.pathname !== '' && parsed.pathname !== '/') {
        throw new TypeError(`cluster node ${i + 1}: a Redis Cluster has only database 0, so a node URL cannot name one, got ${JSON.stringify(u)}`);
      }
      return parsed;
    });
    where = `cluster ${nodes.map(hostPort).join(',')}`;
  } else {
    url = url === undefined ? DEFAULT_URL : url;
    where = hostPort(checkUrl(url, 'Redis url'));
  }
  if (typeof keyPrefix !== 'string' || /[\s{}]/.test(keyPrefix)) {
    throw new TypeError('keyPrefix must be a string without whitespace, "{" or "}" (the channel is the hash tag of every key)');
  }
  if (!Number.isSafeInteger(blockMs) || blockMs < 1 || blockMs > 60_000) throw new RangeError('blockMs must be an integer in [1, 60000]');
  if (!Number.isSafeInteger(idempotencyTtlMs) || idempotencyTtlMs < 1) throw new RangeError('idempotencyTtlMs must be a positive integer');
  capacity = common.checkCapacity(capacity);
  return { url: cluster ? null : url, cluster: cluster || null, capacity, keyPrefix, blockMs, connectTimeoutMs, idempotencyTtlMs, onError, where };
}

/**
 * One connection of a store to one Redis:
 * { client, state, cluster: false, send(key, args), open(), destroy(), onError(fn), onReady(fn) }.
 */
function singleConnection(url, where, connectTimeoutMs) {
  const state = { where, everReady: false, closing: false };
  const client = createClient({
    url,
    disableOfflineQueue: true, // fail fast while disconnected: never store late
    socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: reconnectStrategyFor(state) },
  });
  client.on('ready', () => {
    state.everReady = true;
  });
  return {
    client,
    state,
    cluster: false,
    send: (key, args) => client.sendCommand(args),
    open: () => client.connect(),
    destroy: () => {
      if (client.isOpen) client.destroy();
    },
    // Before the first connection, errors surface as the rejection of connect().
    onError: (fn) => client.on('error', (err) => state.everReady && fn(err)),
    onReady: (fn) => client.on('ready', fn),
  };
}

/**
 * The same over a Redis Cluster (node-redis createCluster): a command goes to
 * the master of its first key's slot (MOVED and ASK are followed). Credentials
 * and TLS of the first node URL apply to every node. `lean`: connect to a
 * node only when a command needs it (a follower talks to one master).
 */
function clusterConnection(urls, where, connectTimeoutMs, lean) {
  const state = { where, everReady: false, closing: false };
  const first = new URL(urls[0]);
  const defaults = {
    disableOfflineQueue: true,
    socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: reconnectStrategyFor(state), ...(first.protocol === 'rediss:' ? { tls: true } : {}) },
  };
  if (first.username) defaults.username = decodeURIComponent(first.username);
  if (first.password) defaults.password = decodeURIComponent(first.password);
  const client = createCluster({ rootNodes: urls.map((url) => ({ url })), defaults, minimizeConnections: lean });
  client.on('connect', () => {
    state.everReady = true;
  });
  // Kept for the message of a failed connect(), which names no cause itself.
  client.on('error', (err) => {
    if (!state.everReady) state.lastError = err;
  });
  return {
    client,
    state,
    cluster: true,
    send: (key, args) => client.sendCommand(key ?? undefined, false, args),
    open: () => client.connect(),
    destroy: () => client.destroy(),
    onError: (fn) => {
      client.on('error', (err) => state.everReady && fn(err));
      client.on('node-error', (err) => state.everReady && fn(err));
    },
    onReady: (fn) => client.on('node-ready', fn),
  };
}

export class RedisStore {
  /**
   * Connect and return a ready store. Rejects (after a few quick retries) when
   * Redis cannot be reached.
   *
   * @param {{
   *   url?: string,            // one Redis (default redis://127.0.0.1:6379)
   *   cluster?: string[],      // or: node URLs of a Redis Cluster (some or all of its masters)
   *   capacity?: number,       // MAXLEN ~ per channel stream (default 10000)
   *   keyPrefix?: string,      // prepended to every key (default ''; no whitespace, "{" or "}")
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

  constructor(options = {}) {
    const o = storeOptions(options);
    this.kind = 'redis';
    /** 'single' (one Redis) or 'cluster'. */
    this.mode = o.cluster ? 'cluster' : 'single';
    this.url = o.url;
    this.clusterUrls = o.cluster ? [...o.cluster] : null;
    this.capacity = o.capacity;
    this.keyPrefix = o.keyPrefix;
    this._blockMs = o.blockMs;
    this._idemTtl = o.idempotencyTtlMs;
    this._connectTimeoutMs = o.connectTimeoutMs;
    this._where = o.where;
    this._onError = typeof o.onError === 'function' ? o.onError : null;
    this._lastReport = new Map();
    this._closed = false;
    this._closing = null;

    /** @type {Map<string, {subs: Set<{fn: Function}>, cursor: number|null, ready: Promise<void>|null}>} */
    this._channels = new Map();
    this._keyToChannel = new Map();

    this._main = this._connection(false);
    this._main.onError((err) => this._report('main', err));
    this.client = this._main.client;
    /** The blocking readers: '*' (one Redis: every channel) or one per channel (cluster). */
    this._followers = new Map();
    if (this.mode === 'single') this._followers.set('*', this._newFollower(null));

    /** Per channel: the epoch this store's appends last saw, and the highest id it knows of. */
    this._epochs = new Map();
    this._high = new Map();
    /** Per channel: the epoch check of the current main connection (see _verify). */
    this._verified = new Map();
    // A new connection may lead to a Redis that lost the data: check again.
    this._main.onReady(() => this._verified.clear());
  }

  _connection(lean) {
    return this.mode === 'cluster'
      ? clusterConnection(this.clusterUrls, this._where, this._connectTimeoutMs, lean)
      : singleConnection(this.url, this._where, this._connectTimeoutMs);
  }

  _newFollower(only) {
    const conn = this._connection(true);
    conn.onError((err) => this._report('subscriber', err));
    return new StreamFollower(this, conn, only);
  }

  /** The follower of a channel (on a cluster created, and started, with the channel's first subscriber). */
  _followerFor(channel) {
    let follower = this._followers.get(this.mode === 'cluster' ? channel : '*');
    if (!follower) {
      follower = this._newFollower(channel);
      this._followers.set(channel, follower);
      follower.start();
    }
    return follower;
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
    const single = this._followers.get('*');
    try {
      await Promise.all([this._main.open(), single?.conn.open()]);
    } catch (err) {
      if (this.mode !== 'cluster') throw err;
      const cause = this._main.state.lastError;
      const why = `${err && err.message ? err.message : err}${cause && cause !== err ? ` (${cause.message || cause})` : ''}`;
      throw new Error(`cannot connect to the Redis Cluster at ${this._where.slice('cluster '.length)}: ${why}`);
    }
    if (single) {
      // A cluster node answers only for its own slots (MOVED for the others): refuse it here, clearly.
      const info = String(await this._main.send(null, ['INFO', 'cluster']));
      if (/^cluster_enabled:1\b/m.test(info)) {
        throw new Error(`Redis at ${this._where} is a node of a Redis Cluster: connect to the cluster instead (--redis-cluster, or the store's cluster option)`);
      }
      single.opened = true;
      single.start();
    }
  }

  /** The keys of a channel: all hash-tagged with the channel, so they share one cluster slot. */
  _keys(channel) {
    const base = `${this.keyPrefix}{${channel}}`;
    return { seq: `${base}:seq`, stream: `${base}:stream`, idem: `${base}:idem:`, epoch: `${base}:epoch`, generator: `${base}:generator` };
  }

  /** EVALSHA of a script (EVAL when the server does not have it yet); routed by its first key. */
  async _eval(sha, script, keys, argv) {
    const args = [String(keys.length), ...keys, ...argv];
    try {
      return await this._main.send(keys[0], ['EVALSHA', sha, ...args]);
    } catch (err) {
      if (!/NOSCRIPT/.test(String(err && err.message))) throw err;
      return this._main.send(keys[0], ['EVAL', script, ...args]);
    }
  }

  _noteHigh(channel, id) {
    if (id > (this._high.get(channel) || 0)) this._high.set(channel, id);
  }

  /** Runs EPOCH_SCRIPT; resolves { epoch, seq, firstId }. */
  async _epoch(channel, knownEpoch, floor) {
    const k = this._keys(channel);
    const reply = await this._eval(EPOCH_SHA, EPOCH_SCRIPT, [k.seq, k.epoch, k.stream], [crypto.randomUUID(), knownEpoch || '', String(floor)]);
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
    const reply = await this._eval(APPEND_SHA, APPEND_SCRIPT, keys, [String(this.capacity), type, text, String(this._idemTtl), idem === null ? '' : idem.hash]);
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
      const page = await this._main.send(stream, ['XRANGE', stream, from, '+', 'COUNT', String(count)]);
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
    const { seq } = this._keys(channel);
    const v = await this._main.send(seq, ['GET', seq]);
    return v === null || v === undefined ? 0 : Number(v);
  }

  /**
   * fn(entry) for every entry appended (by any process) after this call, in id
   * order. The starting point is read ({<channel>}:seq) on the main connection
   * when the channel gets its first subscriber, before any command issued
   * after subscribe() returns: subscribe() then since() leaves no gap.
   * `onReset()` is called when the log was found to have restarted (Redis came
   * back without the data); entries with lower ids follow. `onError(err)` when
   * the subscription cannot read (Redis unreachable); it stays subscribed.
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
      this._followerFor(channel).wake(channel);
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
        ch.ready = null; // retried by the follower
        this._report('main', err);
      },
    );
  }

  /**
   * Take or renew the lease of a channel's log generator
   * (<prefix>{<channel>}:generator) for `ttlMs`: true when `owner` holds it
   * now, false when another owner does. See ../generator-lease.js.
   */
  async tryLease(channel, owner, ttlMs) {
    this._check();
    common.checkChannel(channel);
    if (typeof owner !== 'string' || !OWNER_RE.test(owner)) throw new TypeError('a lease owner must be 1-200 visible ASCII characters');
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 100 || ttlMs > 600_000) throw new RangeError('a lease TTL must be an integer number of ms in [100, 600000]');
    const key = this._keys(channel).generator;
    return Number(await this._eval(LEASE_SHA, LEASE_SCRIPT, [key], [owner, String(ttlMs)])) === 1;
  }

  /** Give the lease up if `owner` still holds it; true when it did. */
  async releaseLease(channel, owner) {
    this._check();
    common.checkChannel(channel);
    if (typeof owner !== 'string' || !OWNER_RE.test(owner)) throw new TypeError('a lease owner must be 1-200 visible ASCII characters');
    const key = this._keys(channel).generator;
    return Number(await this._eval(RELEASE_SHA, RELEASE_SCRIPT, [key], [owner])) === 1;
  }

  close() {
    if (this._closing) return this._closing;
    this._closed = true;
    this._main.state.closing = true;
    this._channels.clear();
    const followers = [...this._followers.values()];
    const ended = followers.map((f) => f.close());
    this._closing = (async () => {
      await Promise.all(ended);
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

// One blocking reader of a RedisStore: a connection of its own that loops on
//
//   XREAD COUNT n BLOCK ms STREAMS <stream keys it follows> <last seen ids>
//
// and hands what it reads to the store's subscribers, in id order.
//
// On one Redis a store has a single follower for every subscribed channel; a
// channel subscribed while its XREAD waits interrupts the wait with CLIENT
// UNBLOCK. On a Redis Cluster the streams of different channels live in
// different hash slots (XREAD over both would fail with CROSSSLOT), so the
// store runs one follower per channel, each on its own cluster connection,
// which sends the XREAD to the master that owns the channel's slot.
//
// After a lost connection and at every idle timeout the follower checks the
// epoch of each log (see EPOCH_SCRIPT in redis-store.js). close() destroys the
// connection, which ends a waiting XREAD and the loop at once.

/** Most entries one XREAD returns per stream. */
const READ_BATCH = 1000;
/** What read() returns when Redis could not be read. */
const READ_FAILED = Symbol('read failed');

function parseStreamId(sid) {
  const dash = String(sid).indexOf('-');
  return Number(dash === -1 ? sid : String(sid).slice(0, dash));
}

export function toEntry(sid, fields) {
  let type = 'message';
  let data = '';
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'type') type = String(fields[i + 1]);
    else if (fields[i] === 'data') data = String(fields[i + 1]);
  }
  return Object.freeze({ id: parseStreamId(sid), type, data });
}

function callEach(subs, method, arg, what) {
  for (const sub of [...subs]) {
    try {
      sub[method]?.(arg);
    } catch (err) {
      console.error(`redis-store ${what} failed:`, err);
    }
  }
}

export class StreamFollower {
  /**
   * @param {object} store  the RedisStore (its channels, keys, epoch script and error report)
   * @param {{ client: object, state: object, cluster: boolean, send: Function, open: Function, destroy: Function }} conn
   *        a connection used by this follower only
   * @param {string|null} only  the one channel followed (cluster mode), or null for every subscribed channel
   */
  constructor(store, conn, only) {
    this.store = store;
    this.conn = conn;
    this.only = only;
    this.opened = false;
    this.readerId = null;
    this.inflight = null; // { gen, channels: Set<string> } of the XREAD waiting now
    this.gen = 0;
    this.recheck = false;
    this.wakeIdle = null;
    this.wakeSleep = null;
    this.done = Promise.resolve();
  }

  serves(channel) {
    return this.only === null || this.only === channel;
  }

  /** Run the loop (opening the connection first if that was not done yet). */
  start() {
    this.done = this._run().catch((err) => this.store._report('subscriber', err));
  }

  async _run() {
    let failures = 0;
    while (!this.opened && !this.store._closed) {
      try {
        await this.conn.open();
        this.opened = true;
      } catch (err) {
        if (this.store._closed) return;
        this.store._report('subscriber', err);
        this._failSubscribers(this._active(), err);
        await this._sleep(Math.min(2 ** failures++ * 50, 2000));
      }
    }
    await this._loop();
  }

  /** Make the loop pick up a newly subscribed channel now. */
  wake(channel) {
    if (!this.serves(channel)) return;
    if (this.wakeIdle) {
      const wake = this.wakeIdle;
      this.wakeIdle = null;
      wake();
      return;
    }
    const inflight = this.inflight;
    if (!inflight || inflight.channels.has(channel) || this.conn.cluster) return;
    this._unblock(inflight.gen, 0);
  }

  _unblock(gen, attempt) {
    if (this.store._closed || !this.inflight || this.inflight.gen !== gen || this.readerId === null) return;
    this.store._main.send(null, ['CLIENT', 'UNBLOCK', String(this.readerId)]).then(
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
    while (!this.store._closed) {
      const ready = await this._readyChannels();
      if (ready === null) continue; // waited for a subscriber
      if (this.store._closed) break;
      if (this.recheck && ready.length > 0 && !(await this._recheckEpochs(ready))) {
        if (this.store._closed) break;
        await pause();
        continue;
      }
      if (ready.length === 0) {
        await pause();
        continue;
      }
      const reply = await this._read(ready);
      if (reply === READ_FAILED) {
        if (this.store._closed) break;
        await pause();
        continue;
      }
      failures = 0;
      if (!reply) {
        // Timeout (every blockMs) or CLIENT UNBLOCK: also check the epochs, so
        // that a log emptied without a lost connection (FLUSHALL, a proxy in
        // front of a replaced Redis) is noticed too.
        this.recheck = true;
        continue;
      }
      this._dispatch(reply);
    }
  }

  /** [channel, state] of the subscribed channels this follower serves. */
  _active() {
    return [...this.store._channels.entries()].filter(([channel]) => this.serves(channel));
  }

  /** The followed channels whose cursor is known; null after waiting for a first subscriber. */
  async _readyChannels() {
    const active = this._active();
    if (active.length === 0) {
      await new Promise((resolve) => {
        this.wakeIdle = resolve;
      });
      return null;
    }
    for (const [channel, ch] of active) if (ch.ready === null) this.store._initCursor(channel, ch);
    await Promise.all(active.map(([, ch]) => ch.ready));
    return active.filter(([channel, ch]) => ch.cursor !== null && this.store._channels.get(channel) === ch);
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
      found = await Promise.all(ready.map(([channel, ch]) => this.store._epoch(channel, ch.epoch, ch.cursor)));
    } catch (err) {
      if (!this.store._closed) this.store._report('main', err);
      return false;
    }
    ready.forEach(([, ch], i) => {
      const { epoch, firstId } = found[i];
      if (ch.epoch === null || epoch === ch.epoch) return;
      ch.epoch = epoch;
      if (firstId === null || firstId > ch.cursor) return;
      ch.cursor = 0;
      callEach(ch.subs, 'onReset', undefined, 'onReset');
    });
    this.recheck = false;
    return true;
  }

  /** One blocking XREAD of the ready channels: its reply (null on timeout), or READ_FAILED. */
  async _read(ready) {
    const keys = ready.map(([channel]) => this.store._keys(channel).stream);
    const ids = ready.map(([, ch]) => `${ch.cursor}-0`);
    const gen = ++this.gen;
    this.inflight = { gen, channels: new Set(ready.map(([channel]) => channel)) };
    try {
      if (this.readerId === null && !this.conn.cluster) {
        // Pipelined ahead of the XREAD on the same connection; needed by CLIENT UNBLOCK.
        this.conn.send(null, ['CLIENT', 'ID']).then(
          (id) => {
            if (this.gen === gen) this.readerId = id;
          },
          () => {},
        );
      }
      const reply = await this.conn.send(keys[0], ['XREAD', 'COUNT', String(READ_BATCH), 'BLOCK', String(this.store._blockMs), 'STREAMS', ...keys, ...ids]);
      this.inflight = null;
      return reply;
    } catch (err) {
      this.inflight = null;
      this.readerId = null; // a reconnect gets a new client id
      this.recheck = true;
      if (!this.store._closed) {
        this.store._report('subscriber', err);
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
    for (const [, ch] of active) callEach(ch.subs, 'onError', err, 'onError');
  }

  /** A pause of the loop that close() cuts short. */
  _sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  _dispatch(reply) {
    const store = this.store;
    // RESP2: [[key, [[id, [field, value, ...]], ...]], ...]; RESP3 maps arrive as objects.
    const streams = Array.isArray(reply) ? reply : reply instanceof Map ? [...reply.entries()] : Object.entries(reply);
    for (const [key, entries] of streams) {
      const channel = store._keyToChannel.get(String(key));
      const ch = channel === undefined ? undefined : store._channels.get(channel);
      if (!ch || ch.cursor === null) continue;
      for (const [sid, fields] of entries) {
        const entry = toEntry(sid, fields);
        if (!(entry.id > ch.cursor)) continue;
        ch.cursor = entry.id;
        store._noteHigh(channel, entry.id);
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

  /** Destroy the connection (ends a waiting XREAD) and wait for the loop to end. */
  close() {
    this.conn.state.closing = true;
    this.conn.destroy();
    if (this.wakeIdle) this.wakeIdle();
    if (this.wakeSleep) this.wakeSleep();
    return this.done.catch(() => {});
  }
}

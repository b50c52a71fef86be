// One SSE stream on one response: replay of what the client missed (read
// from the store page by page, written in bounded chunks), then live events
// and heartbeats; backpressure (a client that does not read is dropped),
// gap and reset notices, and the 'drop-after' / 'reset-after' / 'stall'
// fault modes that act on a stream.

import { frameOf } from './sse-format.js';
import { resetConnection } from './fault-modes.js';

/**
 * Default `maxBufferedBytes`: a client that stops reading is dropped when a
 * write is due while more than this many bytes of earlier output are still
 * unsent. The check runs before each write, so one large event (e.g. 5 MB) is
 * always written in full; the bound on memory per client is this plus one
 * frame. Everything is written as Buffers, so the count is in bytes.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * Default `maxTotalBufferedBytes`: the most unsent output all streams of the
 * cluster together may hold. Above it, replays wait and a live write to a
 * stream that holds more than SLOW_CLIENT_FLOOR_BYTES drops that stream.
 */
export const DEFAULT_MAX_TOTAL_BUFFERED_BYTES = 64 * 1024 * 1024;

/**
 * Default `slowClientMs`: a replay that has waited this long for its client
 * to take what was already written (no 'drain') drops the client.
 */
export const DEFAULT_SLOW_CLIENT_MS = 10_000;

/** Entries read from the store per replay page. */
const REPLAY_PAGE = 500;

/** A replay writes in chunks of about this many bytes ... */
const REPLAY_CHUNK_BYTES = 64 * 1024;

/** ... and waits for 'drain' while more than this is unsent. */
const REPLAY_HIGH_WATER_BYTES = 256 * 1024;

/**
 * A stream opens only once the store has answered (a replay page, or its last
 * id without a resume id) within this time; else 503 with Retry-After.
 */
const STORE_OPEN_TIMEOUT_MS = 3000;

/**
 * Under total pressure, streams holding no more than this are never dropped
 * (a replay holds up to its high-water mark plus a chunk).
 */
const SLOW_CLIENT_FLOOR_BYTES = REPLAY_HIGH_WATER_BYTES + 2 * REPLAY_CHUNK_BYTES;

/**
 * Live events that may wait (per stream) while its replay is written; when
 * more arrive, they are forgotten and the replay reads them from the store.
 */
const MAX_PENDING_LIVE = 1000;

const UNAVAILABLE = 'Service Unavailable: the event log cannot be read right now\n';

/** `promise`, or a rejection once STORE_OPEN_TIMEOUT_MS have passed. */
function storeTimeout(promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the store did not answer within ${STORE_OPEN_TIMEOUT_MS} ms`)), STORE_OPEN_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The cluster-wide part of every stream:
 * @typedef {{
 *   heartbeatMs: number, maxBufferedBytes: number, maxTotalBufferedBytes: number, slowClientMs: number,
 *   pacer: { nextTurn: () => Promise<void>, totalBuffered: () => number },
 *   counters: { slowClientsDropped: number },
 *   reportStoreError: (err: unknown) => void,
 * }} StreamContext
 */

export class SseStream {
  /**
   * Starts streaming `source` on `res` from `resumeId` (null: live only).
   * `streams` is the backend's set of open streams (this one joins it until
   * it ends); `mode` and `settings` the backend's fault mode at the request.
   */
  constructor({ req, res, mode, settings, source, streams, stalled, resumeId, context, drainingMs = () => null, loads = () => null, endpoints = () => null }) {
    this.req = req;
    this.res = res;
    this.mode = mode;
    this.source = source;
    this.streams = streams;
    this.context = context;
    this.resumeId = resumeId;
    /** Milliseconds until the backend goes away, when it drains; else null. */
    this.drainingMs = drainingMs;
    /** { load, peers } to advertise with each heartbeat, or null. */
    this.loads = loads;
    /** The endpoint list to announce (after the cluster changed), or null. */
    this.endpoints = endpoints;
    // 'stall': headers go out, then nothing more is ever written.
    this.stalled = stalled;
    this.heartbeat = null;
    this.unsubscribe = null;
    this.lastSent = 0;
    this.done = false;
    /** Wakes a replay waiting for room (set while one waits). */
    this.wake = null;
    // 'drop-after' / 'reset-after': end the stream after this many log events.
    this.eventsLeft = mode === 'drop-after' || mode === 'reset-after' ? settings.count : Infinity;
    // Live entries wait here while the replay is written (null once live).
    this.pending = [];
    /** Set when live entries were forgotten: every one after this id was. */
    this.overflowFrom = null;
    this.cleanup = this.cleanup.bind(this);
    streams.add(this);
    req.on('close', this.cleanup);
    res.on('close', this.cleanup);
    if (this.stalled) {
      this.openResponse();
      return;
    }
    // Subscribe before the replay is read, so that nothing appended in
    // between is lost: sendEvent drops any id already sent.
    this.unsubscribe = source.subscribe(
      (entry) => this.onEntry(entry),
      () => this.onReset(),
      (err) => this.endUnavailable(err, { destroyIfOpen: false }),
    );
    this.run().catch((err) => this.endUnavailable(err, { destroyIfOpen: true }));
  }

  cleanup() {
    if (this.done) return;
    this.done = true;
    this.streams.delete(this);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.unsubscribe) this.unsubscribe();
    if (this.wake) this.wake();
  }

  get over() {
    return this.done || this.stalled;
  }

  openResponse() {
    const { req, res } = this;
    if (res.headersSent) return;
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    req.socket.setNoDelay(true);
  }

  /** Drop a client that does not read (it reconnects and resumes). */
  dropSlow() {
    this.context.counters.slowClientsDropped++;
    this.cleanup();
    this.res.destroy();
  }

  /**
   * Write a chunk; false when the stream is over (or was just dropped).
   * Output is written as Buffers so that res.writableLength counts bytes.
   */
  write(chunk, callback) {
    const { res, context } = this;
    if (this.over) return false;
    if (res.destroyed || res.writableEnded) {
      this.cleanup();
      return false;
    }
    // Check what is still queued from earlier writes, not counting this
    // chunk: a client that stopped reading is dropped rather than buffered
    // forever, but one large event never gets a reading client dropped.
    const own = res.writableLength;
    if (own > context.maxBufferedBytes || (own > SLOW_CLIENT_FLOOR_BYTES && context.pacer.totalBuffered() > context.maxTotalBufferedBytes)) {
      this.dropSlow();
      return false;
    }
    res.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, callback);
    return true;
  }

  roomy() {
    return this.res.writableLength <= REPLAY_HIGH_WATER_BYTES && this.context.pacer.totalBuffered() <= this.context.maxTotalBufferedBytes;
  }

  /**
   * Resolves true once this stream may write more (its own unsent output
   * at most REPLAY_HIGH_WATER_BYTES and the cluster's under its total),
   * false when the stream ended meanwhile or its client was dropped for
   * not reading for slowClientMs.
   */
  waitForRoom() {
    if (this.over) return Promise.resolve(false);
    if (this.roomy()) return Promise.resolve(true);
    return new Promise((resolve) => this.waitLoop(resolve));
  }

  waitLoop(resolve) {
    const { res, context } = this;
    let deadline = Date.now() + context.slowClientMs;
    let timer = null;
    let settled = false;
    const finish = (ok) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      res.off('drain', onDrain);
      this.wake = null;
      resolve(ok);
    };
    // Past the deadline: dropped in turn with the replays' chunks, so that
    // many slow clients timing out together do not stall the server at once.
    const dropInTurn = () =>
      context.pacer.nextTurn().then(() => {
        if (settled) return;
        if (this.over) return finish(false);
        if (this.roomy()) return finish(true);
        this.dropSlow();
        finish(false);
      });
    const check = () => {
      timer = null;
      if (settled) return;
      if (this.over) return finish(false);
      if (this.roomy()) return finish(true);
      if (Date.now() >= deadline) return dropInTurn();
      // Our own output drains with 'drain'; the cluster's total is polled.
      // Only time spent with our own output stuck counts against the client.
      const ownFull = res.writableLength > REPLAY_HIGH_WATER_BYTES;
      if (!ownFull) deadline = Date.now() + context.slowClientMs;
      timer = setTimeout(check, ownFull ? Math.max(1, deadline - Date.now()) : 25);
    };
    const onDrain = () => {
      deadline = Date.now() + context.slowClientMs; // the client reads: give it another period
      clearTimeout(timer);
      check();
    };
    res.on('drain', onDrain);
    this.wake = () => {
      clearTimeout(timer);
      check();
    };
    check();
  }

  sendEvent(entry) {
    const { req, res } = this;
    if (entry.id <= this.lastSent) return;
    const last = this.eventsLeft === 1;
    const sent = this.write(frameOf(entry), last && this.mode === 'reset-after' ? () => resetConnection(req, res) : undefined);
    this.lastSent = entry.id;
    if (!sent || !last) {
      this.eventsLeft--;
      return;
    }
    // That was the last event this stream carries.
    this.cleanup();
    if (this.mode === 'drop-after') res.end(); // clean end of the chunked response
    // 'reset-after': the socket is reset once the event has been handed to
    // the OS (write callback above), so the client gets it before the RST.
  }

  /**
   * Write entries in chunks of about REPLAY_CHUNK_BYTES, waiting for room
   * (and yielding to other work) between chunks. Resolves false when the
   * stream is over.
   */
  async writeEntries(entries) {
    // The frames are the shared Buffers of frameOf(): a chunk is written
    // corked (one writev) rather than copied into a new Buffer, so a replay
    // allocates next to nothing per client.
    const chunk = { bytes: 0, corked: false };
    // The first chunk waits for its turn too: many replays starting at once
    // (a burst of reconnects) must not all write in one turn.
    if (entries.length > 0) {
      await this.context.pacer.nextTurn();
      if (this.over) return false;
    }
    for (const entry of entries) {
      if (this.over) {
        if (chunk.corked) this.res.uncork();
        return false;
      }
      if (this.eventsLeft !== Infinity) {
        // 'drop-after' / 'reset-after' count events one by one.
        if (!(await this.flush(chunk))) return false;
        this.sendEvent(entry);
        continue;
      }
      if (!(await this.writeCorked(entry, chunk))) return false;
    }
    return this.flush(chunk);
  }

  /** One entry into the current chunk; flushes a full chunk. */
  async writeCorked(entry, chunk) {
    const { res } = this;
    if (entry.id <= this.lastSent) return true;
    if (!chunk.corked) {
      res.cork();
      chunk.corked = true;
    }
    const frame = frameOf(entry);
    if (!this.write(frame)) {
      chunk.corked = false;
      if (!res.destroyed) res.uncork();
      return false;
    }
    this.lastSent = entry.id;
    chunk.bytes += frame.length;
    return chunk.bytes < REPLAY_CHUNK_BYTES || this.flush(chunk);
  }

  /** Sends the current chunk, then waits for a turn and for room. */
  async flush(chunk) {
    if (!chunk.corked) return true;
    chunk.corked = false;
    chunk.bytes = 0;
    this.res.uncork();
    if (this.done) return false;
    await this.context.pacer.nextTurn();
    return this.waitForRoom();
  }

  /** A live entry: written now once live, kept while the replay runs. */
  onEntry(entry) {
    if (this.over) return;
    if (this.pending === null) {
      this.sendEvent(entry);
      return;
    }
    if (this.pending.length >= MAX_PENDING_LIVE) {
      if (this.overflowFrom === null) this.overflowFrom = this.pending[0].id - 1;
      this.pending = [];
    }
    this.pending.push(entry);
  }

  // The store found its log restarted and the new log holds ids this stream
  // may already have sent (see the README, "Redis restarted empty"). A live
  // stream says so with a `gap` event ({"reset": true}) and then carries the
  // new log from its first entry on the same connection: the ids go back,
  // which the client takes as a restarted log. A stream still replaying is
  // ended instead (the client resumes).
  onReset() {
    const { res } = this;
    if (this.done) return;
    if (this.pending === null && res.headersSent) {
      if (this.write(`event: gap\ndata: ${JSON.stringify({ reset: true })}\n\n`)) this.lastSent = 0;
      return;
    }
    this.cleanup();
    if (res.headersSent) res.end();
    else res.destroy();
  }

  // The store failed (unreachable Redis): end the stream rather than keep it
  // alive with heartbeats, so that the client notices and fails over; new
  // streams get 503 until the store is back.
  endUnavailable(err, { destroyIfOpen }) {
    const { res } = this;
    if (this.done) return;
    this.cleanup();
    this.context.reportStoreError(err);
    if (!res.headersSent) res.status(503).set('Retry-After', '1').type('text/plain').send(UNAVAILABLE);
    else if (destroyIfOpen) res.destroy();
    else res.end();
  }

  /**
   * The control event of load: this backend's open streams and its peers'
   * by origin (README, "Servers speak to their clients").
   */
  sendLoad() {
    const loads = this.loads();
    return loads === null || this.write(`event: sse-balancer.load\ndata: ${JSON.stringify(loads)}\n\n`);
  }

  /** The stream opens (headers and a comment) once the store has answered. */
  open() {
    this.openResponse();
    if (!this.write(': ok\n\n')) return false;
    // A backend that drains tells every new stream at once too.
    const within = this.drainingMs();
    if (within !== null && !this.sendDrain(within)) return false;
    const list = this.endpoints();
    return list === null || this.sendEndpoints(list);
  }

  /** The control event of the endpoint list: [{ url, weight? }]. */
  sendEndpoints(list) {
    return this.write(`event: sse-balancer.endpoints\ndata: ${JSON.stringify({ endpoints: list })}\n\n`);
  }

  /**
   * The control event of a drain: this backend goes away within `withinMs`
   * (README, "Servers speak to their clients"). No id: it is not a log event.
   */
  sendDrain(withinMs) {
    return this.write(`event: sse-balancer.drain\ndata: ${JSON.stringify({ withinMs: Math.round(withinMs) })}\n\n`);
  }

  /**
   * Replay what the client missed page by page from the store, written in
   * bounded chunks, then whatever arrived live meanwhile; then live.
   */
  async run() {
    let cursor = this.resumeId; // null: no resume id, nothing to replay
    let first = true;
    for (;;) {
      if (cursor !== null) {
        const replayed = await this.replay(cursor, first);
        if (replayed === false) return;
        first = false;
      }
      if (first) {
        // No resume id, nothing to replay: still, the store must answer
        // before the stream opens. A 200 with heartbeats over a store that
        // cannot be read would hide the outage from the client.
        first = false;
        await storeTimeout(this.source.lastId());
        if (this.over || !this.open()) return;
      }
      if (!(await this.writePending())) return;
      if (this.overflowFrom === null) break;
      // Too many arrived while the replay was written: read them from the store.
      cursor = Math.max(this.lastSent, this.overflowFrom);
      this.overflowFrom = null;
      this.pending = [];
    }
    this.pending = null;
    if (this.done) return;
    this.sendLoad();
    this.heartbeat = setInterval(() => {
      if (this.write(`event: heartbeat\ndata: ${Date.now()}\n\n`)) this.sendLoad();
    }, this.context.heartbeatMs);
    this.heartbeat.unref?.();
  }

  /** Pages of the store after `cursor` until caught up; false when the stream is over. */
  async replay(cursor, first) {
    for (;;) {
      const read = this.source.since(cursor, REPLAY_PAGE, first);
      const page = await (first ? storeTimeout(read) : read);
      if (this.over) return false;
      if (first) {
        first = false;
        if (!this.open() || !this.noticeGap(page)) return false;
      }
      if (!(await this.writeEntries(page))) return false;
      if (page.length > 0) cursor = page[page.length - 1].id;
      if (page.length >= REPLAY_PAGE) continue;
      // Caught up with the store as of that read: what came since is in
      // `pending`, unless some of it was forgotten (then read on).
      if (this.overflowFrom === null) return true;
      this.overflowFrom = null;
      this.pending = [];
    }
  }

  // Ids are consecutive per channel, so a replay that starts after resume + 1
  // means the log no longer holds what the client missed. Say so (a named
  // event without an id) rather than skip it silently.
  noticeGap(page) {
    const firstId = page.length > 0 ? page[0].id : null;
    if (firstId === null || firstId <= this.resumeId + 1) return true;
    return this.write(`event: gap\ndata: ${JSON.stringify({ from: this.resumeId + 1, to: firstId - 1 })}\n\n`);
  }

  /** The live entries kept while the replay ran. */
  async writePending() {
    while (this.pending.length > 0 && this.overflowFrom === null) {
      const live = this.pending;
      this.pending = [];
      if (!(await this.writeEntries(live))) return false;
    }
    return true;
  }
}

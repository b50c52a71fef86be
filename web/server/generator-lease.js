// One log generator per log, however many processes share it (Redis mode):
// every process runs a generator, but it writes only while this process holds
// the log's lease in the store (RedisStore.tryLease: the key
// <prefix>{<channel>}:generator, set with NX and a TTL, holding the owner id).
//
// The holder renews the lease every ttlMs / 3. Another process takes it when
// it has lapsed, i.e. within about ttlMs + ttlMs / 3 after the holder died
// (SIGKILL, a lost machine); a holder that stops cleanly gives it up (stop())
// and the next process takes over at its next attempt. A holder counts itself
// the holder only until (time it sent its last successful claim) + ttlMs -
// margin, which is before the key can expire, so when renewals fail (Redis
// unreachable, slow) it stops writing before another process can start: two
// processes never write at once because of a late renewal.

import crypto from 'node:crypto';
import os from 'node:os';

export const DEFAULT_LEASE_TTL_MS = 3000;

/** An owner id for this process: host, PID and a random part (unique even across PID reuse). */
export function leaseOwnerId() {
  return `${os.hostname().replace(/[^\x21-\x7e]/g, '_').slice(0, 64)}:${process.pid}:${crypto.randomBytes(6).toString('hex')}`;
}

/**
 * @param {{
 *   store: { tryLease: Function, releaseLease: Function },
 *   channel?: string,        // default 'logs'
 *   owner?: string,          // default leaseOwnerId()
 *   ttlMs?: number,          // default 3000
 *   now?: () => number,
 *   onChange?: (held: boolean) => void, // this process became / stopped being the holder
 *   onError?: (err: Error) => void,     // a claim that failed (default: console.error, throttled)
 * }} options
 * @returns {{ readonly held: boolean, readonly owner: string, stop(): Promise<void> }}
 */
export function startGeneratorLease({ store, channel = 'logs', owner = leaseOwnerId(), ttlMs = DEFAULT_LEASE_TTL_MS, now = () => performance.now(), onChange, onError } = {}) {
  if (!store || typeof store.tryLease !== 'function' || typeof store.releaseLease !== 'function') {
    throw new TypeError('startGeneratorLease: a store with tryLease() and releaseLease() is required');
  }
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 300) throw new RangeError('ttlMs must be an integer of at least 300');
  const renewMs = Math.floor(ttlMs / 3);
  const margin = Math.floor(ttlMs / 6);
  let heldUntil = 0;
  let wasHeld = false;
  let stopped = false;
  let pending = null;
  let lastErrorAt = 0;
  const report =
    onError ||
    ((err) => {
      if (Date.now() - lastErrorAt < 5000) return;
      lastErrorAt = Date.now();
      console.error(`generator-lease: could not claim the ${channel} generator: ${err && err.message ? err.message : err}`);
    });
  const held = () => !stopped && now() < heldUntil;
  const notify = () => {
    const h = held();
    if (h === wasHeld) return;
    wasHeld = h;
    onChange?.(h);
  };

  async function claim() {
    if (stopped || pending) return;
    const sentAt = now();
    pending = store.tryLease(channel, owner, ttlMs);
    try {
      const ok = await pending;
      if (!stopped) heldUntil = ok ? sentAt + ttlMs - margin : 0;
    } catch (err) {
      // Keep heldUntil: it lapses before the key could, so nobody else writes meanwhile.
      if (!stopped) report(err);
    } finally {
      pending = null;
      notify();
    }
  }

  const timer = setInterval(() => {
    notify(); // a lease that lapsed without an answer
    claim();
  }, renewMs);
  timer.unref?.();
  claim();

  return {
    get held() {
      return held();
    },
    get owner() {
      return owner;
    },
    /** Stop claiming; give the lease up if this process may hold it. Never rejects. */
    async stop() {
      if (stopped) return;
      const mayHold = heldUntil > 0 || pending !== null;
      stopped = true;
      clearInterval(timer);
      await (pending || Promise.resolve()).catch(() => {});
      notify();
      if (mayHold) await store.releaseLease(channel, owner).catch(() => {});
    },
  };
}

// Token buckets keyed by client, bounded in memory (least recently used keys
// are forgotten first; a forgotten key simply starts again with a full bucket).

export class TokenBuckets {
  /**
   * @param {{ ratePerSec: number, burst: number, maxKeys?: number, now?: () => number }} options
   */
  constructor({ ratePerSec, burst, maxKeys = 10000, now = Date.now }) {
    if (!(typeof ratePerSec === 'number' && ratePerSec > 0 && Number.isFinite(ratePerSec))) {
      throw new RangeError(`ratePerSec must be a positive number, got ${ratePerSec}`);
    }
    if (!(typeof burst === 'number' && burst >= 1 && Number.isFinite(burst))) throw new RangeError(`burst must be a number >= 1, got ${burst}`);
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
    this.ratePerSec = ratePerSec;
    this.burst = burst;
    this._maxKeys = maxKeys;
    this._now = now;
    /** @type {Map<string, {tokens: number, at: number}>} in least-recently-used order */
    this._buckets = new Map();
  }

  get size() {
    return this._buckets.size;
  }

  _bucket(key, now) {
    let b = this._buckets.get(key);
    if (b) {
      this._buckets.delete(key);
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
      b.at = now;
    } else {
      b = { tokens: this.burst, at: now };
    }
    this._buckets.set(key, b);
    while (this._buckets.size > this._maxKeys) this._buckets.delete(this._buckets.keys().next().value);
    return b;
  }

  /** Milliseconds until `key` has a token (0: it has one now). Does not consume. */
  wait(key, now = this._now()) {
    const b = this._bucket(key, now);
    return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) / this.ratePerSec) * 1000);
  }

  /** Consume one token of `key` (call after wait() returned 0). */
  consume(key, now = this._now()) {
    const b = this._bucket(key, now);
    b.tokens -= 1;
  }
}

/**
 * Several bucket sets checked together: a request passes only when every one
 * of its keys has a token, and then takes one from each.
 * @param {Array<[TokenBuckets, string]>} pairs
 * @returns {{ ok: true } | { ok: false, retryAfterMs: number }}
 */
export function takeAll(pairs, now = Date.now()) {
  let wait = 0;
  for (const [buckets, key] of pairs) wait = Math.max(wait, buckets.wait(key, now));
  if (wait > 0) return { ok: false, retryAfterMs: wait };
  for (const [buckets, key] of pairs) buckets.consume(key, now);
  return { ok: true };
}

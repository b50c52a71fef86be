// In-memory bounded event log shared by the demo/test SSE backends.
//
// Entries are { id, type, data } with integer ids that start at 1 and only
// ever increase. Only the most recent `capacity` entries are retained; older
// ones are dropped from the front of the ring buffer.

export class EventLog {
  /**
   * @param {{ capacity?: number }} [options]
   */
  constructor({ capacity = 10000 } = {}) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`EventLog capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    /** @type {Array<{id:number,type:string,data:string}|undefined>} */
    this._buf = new Array(capacity);
    this._start = 0; // index of the oldest retained entry
    this._size = 0; // number of retained entries
    this._lastId = 0;
    /** @type {Set<(entry: {id:number,type:string,data:string}) => void>} */
    this._subscribers = new Set();
  }

  /** Id of the most recently appended entry (0 when nothing was appended yet). */
  get lastId() {
    return this._lastId;
  }

  /** Number of entries currently retained. */
  get size() {
    return this._size;
  }

  /**
   * Append an event and notify subscribers synchronously.
   * @param {string} type
   * @param {string} data
   */
  append(type, data) {
    const entry = Object.freeze({ id: this._lastId + 1, type: String(type), data: String(data) });
    this._lastId = entry.id;
    if (this._size < this.capacity) {
      this._buf[(this._start + this._size) % this.capacity] = entry;
      this._size++;
    } else {
      this._buf[this._start] = entry;
      this._start = (this._start + 1) % this.capacity;
    }
    for (const fn of [...this._subscribers]) {
      try {
        fn(entry);
      } catch (err) {
        // One misbehaving subscriber must not break the others or the appender.
        console.error('EventLog subscriber failed:', err);
      }
    }
    return entry;
  }

  /**
   * Retained entries with id > lastId, oldest first; at most `limit` of them.
   * @param {number} lastId
   * @param {number} [limit]
   */
  since(lastId, limit = Infinity) {
    const after = Number(lastId);
    if (this._size === 0 || !(after < this._lastId)) return [];
    const oldestId = this._buf[this._start].id;
    // Ids are contiguous inside the buffer, so compute the offset directly.
    const skip = Math.max(0, Math.floor(after) - oldestId + 1);
    const end = Math.min(this._size, skip + Math.max(0, limit));
    const out = [];
    for (let k = skip; k < end; k++) {
      out.push(this._buf[(this._start + k) % this.capacity]);
    }
    return out;
  }

  /**
   * @param {(entry: {id:number,type:string,data:string}) => void} fn
   * @returns {() => void} unsubscribe
   */
  subscribe(fn) {
    if (typeof fn !== 'function') throw new TypeError('subscribe expects a function');
    this._subscribers.add(fn);
    return () => {
      this._subscribers.delete(fn);
    };
  }
}

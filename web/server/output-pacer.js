// Shares the cluster's output between its streams: replays write in turns
// (a bounded number of chunks per turn of the event loop, first come first
// served), and the unsent output of every stream is summed for the bounds.

/**
 * At most this many replay chunks are written per turn of the event loop,
 * over all streams of the cluster, so that other requests (a health check, a
 * new stream) are served between turns however many replays run at once.
 */
const REPLAY_CHUNKS_PER_TURN = 16;

/** totalBuffered() is recomputed at most this often. */
const TOTAL_BUFFERED_REFRESH_MS = 10;

/**
 * `streams()` yields every open stream ({ res }) of the cluster.
 * @returns {{ nextTurn: () => Promise<void>, totalBuffered: () => number }}
 */
export function createOutputPacer(streams) {
  const queue = [];
  let scheduled = false;
  const runTurn = () => {
    scheduled = false;
    for (const go of queue.splice(0, REPLAY_CHUNKS_PER_TURN)) go();
    if (queue.length > 0) schedule();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(runTurn);
  };
  let cached = 0;
  let cachedAt = -Infinity;
  return {
    /** Resolves when the caller may write its next chunk. */
    nextTurn: () =>
      new Promise((resolve) => {
        queue.push(resolve);
        schedule();
      }),
    /** Unsent output (bytes) of every open stream, recomputed at most every 10 ms. */
    totalBuffered() {
      const now = performance.now();
      if (now - cachedAt < TOTAL_BUFFERED_REFRESH_MS) return cached;
      let total = 0;
      for (const s of streams()) total += s.res.writableLength;
      cached = total;
      cachedAt = now;
      return total;
    },
  };
}

// Cold start-up: time from a dynamic import() to a usable constructor,
// measured in the page with performance.now(). Nothing else is loaded first.
const CONSTRUCTORS = {
  'sse-balancer': (m) => m.BalancedEventSource,
  'reconnecting-eventsource': (m) => m.default,
  'hand-written': (m) => m.connectWithFailover,
};

window.measureImport = async (kind, specifier) => {
  const t0 = performance.now();
  const m = await import(specifier);
  // The constructor is usable once the import resolved (sse-balancer's
  // module does not wait for its .wasm); a balancer made now starts when the
  // core has loaded, which `ready` tells (the baselines have nothing more).
  const t1 = performance.now();
  const ctor = CONSTRUCTORS[kind](m);
  if (typeof ctor !== 'function') throw new Error(`${kind}: no constructor after import`);
  if (m.ready) await m.ready;
  const t2 = performance.now();
  // Where the time went: each file fetched after t0 (start and end of the
  // response, relative to t0).
  const fetches = performance
    .getEntriesByType('resource')
    .filter((e) => e.startTime >= t0 - 0.5)
    .map((e) => ({
      path: new URL(e.name).pathname,
      startMs: e.startTime - t0,
      endMs: e.responseEnd - t0,
      // 0 with a body: served from a cache, so the load was not cold.
      fromCache: e.transferSize === 0 && e.decodedBodySize > 0,
    }));
  return { importToReadyMs: t1 - t0, coreReadyMs: t2 - t0, fetches };
};
window.startupReady = true;

// Benchmark 4: memory after BENCH_FAILOVERS failovers in one page. Every
// backend is in mode 'drop-after' (count 1): each stream ends cleanly after
// one event, so every connection is one failover, through real EventSources
// and a real server. sse-balancer runs with the soak options of
// tests/e2e/soak.spec.js. Measured after two forced GCs (CDP
// HeapProfiler.collectGarbage): JS heap (Runtime.getHeapUsage) and the Wasm
// figures of diagnostics() (Embind handles, malloc'd bytes, heap size),
// before, during (every quarter) and after close().
import { PAGES, log, pollUntil, round, sleep, startBackends, startPages } from './lib.mjs';

const SOAK_OPTIONS = Object.freeze({
  minRetryMs: 10,
  initialBackoffMs: 10,
  maxBackoffMs: 10,
  jitter: 0,
  ejectAfterFailures: 0,
  maxConnectsPerMinute: 0,
});

const WARM_UP_FAILOVERS = 20;

async function measure(page, cdp, failovers, label) {
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  const d = await page.evaluate(() => window.bench.diagnostics());
  return { at: label, failovers, ...d, jsHeapUsed: heap.usedSize, jsHeapTotal: heap.totalSize };
}

/** Failovers so far: every open after the first. */
const failoversOf = (s) => (s ? Math.max(0, s.opens - 1) : 0);

async function soak(kind, { browser, env, pagesOrigin, target }) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${pagesOrigin}${PAGES}/clients.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 15_000 });
    const cdp = await context.newCDPSession(page);
    const options = kind === 'sse-balancer' ? SOAK_OPTIONS : undefined;
    const start = (lite) =>
      page.evaluate(([k, urls, o, l]) => window.bench.start(k, urls, o, 0, { lite: l }), [kind, env.urls, options, lite]);
    const state = () => page.evaluate(() => window.bench.state());

    // Warm-up: the same client for a few failovers, so lazily created
    // objects exist before the baseline is taken.
    await start(true);
    await pollUntil(async () => failoversOf(await state()) >= WARM_UP_FAILOVERS, { timeoutMs: 20_000 });
    await page.evaluate(() => window.bench.reset());
    await pollUntil(() => env.cluster.totalOpenStreams() === 0, { timeoutMs: 5000 });
    await sleep(300);

    const samples = [await measure(page, cdp, 0, 'before')];
    const t0 = Date.now();
    await start(true);
    const deadline = t0 + Math.max(120_000, target * 25);
    let next = 1;
    let s = null;
    while (Date.now() < deadline) {
      s = await state();
      const f = failoversOf(s);
      if (f >= (target * next) / 4) {
        samples.push(await measure(page, cdp, f, 'during'));
        next++;
        if (f >= target) break;
      }
      await sleep(200);
    }
    const seconds = (Date.now() - t0) / 1000;
    s = await state();
    await page.evaluate(() => window.bench.reset());
    const drained = await pollUntil(() => env.cluster.totalOpenStreams() === 0, { timeoutMs: 10_000 });
    await sleep(300);
    samples.push(await measure(page, cdp, failoversOf(s), 'after'));
    const before = samples[0];
    const after = samples[samples.length - 1];
    const out = {
      failovers: failoversOf(s),
      failoverEvents: kind === 'sse-balancer' ? s.failovers : null,
      reachedTarget: failoversOf(s) >= target,
      seconds: round(seconds, 1),
      failoversPerSecond: Math.round(failoversOf(s) / seconds),
      events: s.count,
      lost: s.gaps,
      duplicates: s.duplicates,
      serverStreamsAfterClose: drained ? 0 : env.cluster.totalOpenStreams(),
      samples,
      growth: {
        jsHeapUsedBytes: after.jsHeapUsed - before.jsHeapUsed,
        wasmHeapInUseBytes: after.wasmHeapInUse - before.wasmHeapInUse,
        wasmHeapSizeBytes: after.wasmHeapSize - before.wasmHeapSize,
        emvalHandles: after.emvalHandles - before.emvalHandles,
      },
      pageErrors: errors.slice(0, 5),
    };
    return out;
  } finally {
    await context.close();
  }
}

export async function runMemory({ browser, cfg }) {
  const pages = await startPages();
  const env = await startBackends({ pagesOrigin: pages.origin, intervalMs: cfg.soakIntervalMs, heartbeatMs: 1000 });
  const result = {
    target: cfg.failovers,
    setup: {
      backends: env.urls.length,
      backendMode: "drop-after, count 1 (every stream ends cleanly after one event)",
      intervalMs: cfg.soakIntervalMs,
      sseBalancerOptions: SOAK_OPTIONS,
    },
    clients: {},
  };
  try {
    for (let i = 0; i < env.urls.length; i++) await env.cluster.setMode(i, 'drop-after', { count: 1 });
    for (const kind of ['sse-balancer', 'hand-written']) {
      log(`memory: ${kind}, ${cfg.failovers} failovers`);
      const r = await soak(kind, { browser, env, pagesOrigin: pages.origin, target: cfg.failovers });
      result.clients[kind] = r;
      const b = r.samples[0];
      const a = r.samples[r.samples.length - 1];
      const peak = r.samples.reduce((m, x) => (x.wasmHeapInUse > m.wasmHeapInUse ? x : m), b);
      log(
        `  ${r.failovers} failovers in ${r.seconds} s; JS heap ${kb(b.jsHeapUsed)} -> ${kb(a.jsHeapUsed)} KB; ` +
          `Embind handles ${b.emvalHandles} -> ${a.emvalHandles}; Wasm malloc'd ${b.wasmHeapInUse} -> ${peak.wasmHeapInUse} (peak) -> ${a.wasmHeapInUse} B; ` +
          `Wasm heap ${b.wasmHeapSize} -> ${a.wasmHeapSize} B; lost ${r.lost}, dup ${r.duplicates}`,
      );
    }
    result.clients['reconnecting-eventsource'] = {
      skipped:
        'not run: a stream that ends cleanly is retried by the browser\'s own EventSource on the same URL after its ' +
        `3 s reconnection delay, so ${cfg.failovers} reconnections would take about ${duration(cfg.failovers * 3)}`,
    };
  } finally {
    await env.stop();
    await pages.close();
  }
  return result;
}

function duration(seconds) {
  return seconds >= 3600 ? `${round(seconds / 3600, 1)} h` : `${Math.round(seconds / 60)} min`;
}

function kb(bytes) {
  return round(bytes / 1024, 0);
}

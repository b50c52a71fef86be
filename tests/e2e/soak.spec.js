// Soak: thousands of failovers in one page, then check that nothing leaked:
// no stream left open on the server, Embind handles and Wasm heap back where
// they started, bounded JS heap growth. Prints the figures.
import { test, expect, startEnv, expectContiguous, until } from './fixtures.js';

const FAILOVERS = 2000;
test.setTimeout(240_000);

async function measure(page, cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  const d = await page.evaluate(() => window.sseb.diagnostics());
  return { ...d, jsHeapUsed: heap.usedSize };
}

test(`${FAILOVERS} failovers in one page leave nothing behind`, async ({ page }, testInfo) => {
  const env = await startEnv({ intervalMs: 3 });
  try {
    // Every stream ends cleanly after one event: each connection is one
    // failover, through real EventSources and a real server.
    for (const i of [0, 1, 2]) await env.cluster.setMode(i, 'drop-after', { count: 1 });
    await page.goto(env.harnessUrl);
    await page.waitForFunction(() => window.harnessReady === true);
    const cdp = await page.context().newCDPSession(page);
    await page.evaluate(() => {
      // Warm up the module's lazily created objects so the baseline is fair.
      const s = new window.sseb.BalancedEventSource(['/warm-up']);
      s.close();
    });
    await page.waitForTimeout(100);
    const before = await measure(page, cdp);

    const started = Date.now();
    await page.evaluate((urls) => {
      window.track(urls, {
        initialBackoffMs: 10,
        maxBackoffMs: 10,
        minRetryMs: 10,
        jitter: 0,
        ejectAfterFailures: 0,
        maxConnectsPerMinute: 0,
      });
    }, env.urls);
    await page.waitForFunction((n) => window.log.failovers.length >= n, FAILOVERS, { timeout: 200_000, polling: 250 });
    const during = await measure(page, cdp);
    const result = await page.evaluate(() => {
      const ids = window.ids();
      window.source.close();
      const out = {
        failovers: window.log.failovers.length,
        errors: window.log.errors.length,
        reasons: [...new Set(window.log.errors.map((e) => e.reason))],
        messages: ids.length,
        ids,
        readyState: window.source.readyState,
      };
      window.log = null; // drop the test's own records before measuring
      window.source = null;
      return out;
    });
    const seconds = (Date.now() - started) / 1000;
    await until(() => env.cluster.totalOpenStreams() === 0, { message: 'every server-side stream to close' });
    await page.waitForTimeout(300);
    const after = await measure(page, cdp);

    const figures = {
      failovers: result.failovers,
      seconds: Number(seconds.toFixed(1)),
      failoversPerSecond: Number((result.failovers / seconds).toFixed(0)),
      emvalHandles: { before: before.emvalHandles, during: during.emvalHandles, after: after.emvalHandles },
      wasmHeapInUse: { before: before.wasmHeapInUse, during: during.wasmHeapInUse, after: after.wasmHeapInUse },
      wasmHeapSize: { before: before.wasmHeapSize, after: after.wasmHeapSize },
      jsHeapUsed: { before: before.jsHeapUsed, during: during.jsHeapUsed, after: after.jsHeapUsed },
      serverOpenStreamsAfterClose: env.cluster.totalOpenStreams(),
    };
    console.log(`soak figures: ${JSON.stringify(figures, null, 2)}`);
    await testInfo.attach('soak-figures.json', { body: JSON.stringify(figures, null, 2), contentType: 'application/json' });

    expect(result.failovers).toBeGreaterThanOrEqual(FAILOVERS);
    expect(result.reasons).toEqual(['closed']);
    expect(result.readyState).toBe(2);
    expectContiguous(result.ids);
    expect(env.cluster.totalOpenStreams()).toBe(0);
    // Handles: the same count as before the source existed.
    expect(after.emvalHandles).toBe(before.emvalHandles);
    // Wasm heap: everything the source allocated is freed, and the heap
    // did not have to grow.
    expect(after.wasmHeapInUse).toBeLessThanOrEqual(before.wasmHeapInUse + 1024);
    expect(after.wasmHeapSize).toBe(before.wasmHeapSize);
    // JS heap: bounded growth after GC (2 MB for thousands of closed
    // EventSources and events would mean a leak of ~1 KB per failover).
    expect(after.jsHeapUsed - before.jsHeapUsed).toBeLessThan(2 * 1024 * 1024);
  } finally {
    await env.stop();
  }
});

// Importing the package does not wait for the .wasm (no top-level await):
// a page's own modules run while it loads. A balancer made before the core
// loaded is checked at once, answers as a connecting source, and starts
// once the core is there, losing nothing; one closed before that never
// connects; if the core cannot load, it ends CLOSED with an `error` whose
// reason is 'load'.
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, startEnv, expectContiguous, ROOT } from './fixtures.js';

const LIB = '/web/dist/sse-balancer.js';

/** Holds every request for the .wasm until release() (then serves it, or `fulfill` instead). */
async function holdWasm(page, fulfill = null) {
  let release;
  const released = new Promise((resolve) => (release = resolve));
  let asked = 0;
  await page.route('**/sse-balancer-core.wasm', async (route) => {
    asked++;
    await released;
    if (fulfill) await route.fulfill(fulfill);
    else await route.continue();
  });
  return { release, asked: () => asked };
}

test('made before the core loaded: checked at once, connecting, then streams from the list set meanwhile', async ({ page }) => {
  const env = await startEnv();
  try {
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const backendRequests = [];
    page.on('request', (r) => {
      if (env.urls.some((u) => r.url().startsWith(new URL(u).origin))) backendRequests.push(r.url());
    });
    await page.goto(`${env.pages.origin}/tests/e2e/pages/empty.html`);
    const wasm = await holdWasm(page);
    const before = await page.evaluate(
      async ([lib, urls]) => {
        const m = await import(lib);
        let loaded = false;
        m.ready.then(() => (loaded = true));
        let badOption = null;
        try {
          new m.BalancedEventSource(urls, { maxBackoffMs: -1 });
        } catch (e) {
          badOption = `${e.name}: ${e.message}`;
        }
        const source = new m.BalancedEventSource(urls, { seed: 1 });
        window.source = source;
        window.received = [];
        window.endpoints = new Set();
        source.onmessage = (e) => {
          window.received.push(e.lastEventId);
          window.endpoints.add(e.endpoint);
        };
        // Closed before the core loaded: must never connect.
        const closed = new m.BalancedEventSource(urls);
        closed.onmessage = () => window.received.push('closed source delivered');
        closed.close();
        // A list set before the start is the one streamed from: the removed
        // endpoint is never asked, whichever the seed's first pick was.
        source.setEndpoints(urls.slice(1));
        window.others = [0, 13, 15, 19, 23].map((seed) => {
          const other = new m.BalancedEventSource(urls, { seed });
          other.setEndpoints(urls.slice(1));
          return other;
        });
        // A request made now, then close(): it fails at once as closed.
        const doomed = new m.BalancedEventSource(urls);
        const doomedFetch = doomed.fetch('/health').then(
          () => 'sent',
          (e) => e.name,
        );
        doomed.close();
        const closedFetch = await Promise.race([doomedFetch, new Promise((r) => setTimeout(() => r('still pending'), 200))]);
        // A request made now is sent once the stream started.
        window.fetched = source.fetch('/health').then((r) => r.endpoint, (e) => `failed: ${e.message}`);
        await new Promise((r) => setTimeout(r, 300));
        const stats = source.stats();
        return {
          loaded,
          badOption,
          readyState: source.readyState,
          url: source.url,
          statsReadyState: stats.readyState,
          role: stats.role,
          listed: stats.endpoints.map((e) => e.url),
          closedFetch,
          closedState: closed.readyState,
          closedStats: closed.stats().readyState,
          open: m.diagnostics().openEventSources,
        };
      },
      [LIB, env.urls],
    );
    // The import resolved and the constructor ran while the .wasm was held.
    expect(wasm.asked()).toBe(1);
    expect(before.loaded).toBe(false);
    expect(before.badOption).toMatch(/TypeError: .*option maxBackoffMs must be a number/);
    expect(before.readyState).toBe(0);
    expect(before.statsReadyState).toBe(0);
    expect(before.role).toBe('solo');
    expect(before.url).toBe(env.urls[1]);
    expect(before.listed).toEqual(env.urls.slice(1));
    expect(before.closedFetch).toBe('InvalidStateError');
    expect(before.closedState).toBe(2);
    expect(before.closedStats).toBe(2);
    expect(before.open).toBe(0);
    expect(backendRequests).toEqual([]);

    wasm.release();
    await page.waitForFunction(() => window.received.length >= 10, null, { timeout: 15_000 });
    const after = await page.evaluate(async () => ({
      ids: window.received.slice(),
      endpoints: [...window.endpoints],
      fetched: await window.fetched,
      readyState: window.source.readyState,
      listed: window.source.stats().endpoints.map((e) => e.url),
    }));
    expectContiguous(after.ids);
    await page.waitForFunction(() => window.others.every((o) => o.readyState === 1), null, { timeout: 10_000 });
    expect(backendRequests.filter((u) => u.startsWith(env.urls[0]))).toEqual([]);
    await page.evaluate(() => window.others.forEach((o) => o.close()));
    expect(after.readyState).toBe(1);
    expect(after.listed).toEqual(env.urls.slice(1));
    for (const endpoint of after.endpoints) expect(env.urls.slice(1)).toContain(endpoint);
    expect(env.urls.slice(1)).toContain(after.fetched);
    // One stream: the closed balancer opened nothing.
    expect(await page.evaluate(async (lib) => (await import(lib)).diagnostics().openEventSources, LIB)).toBe(1);
    await page.evaluate(() => window.source.close());
    expect(await page.evaluate(async (lib) => (await import(lib)).diagnostics().openEventSources, LIB)).toBe(0);
    expect(errors).toEqual([]);
  } finally {
    await env.stop();
  }
});

test('the core cannot load: a balancer made before ends CLOSED with error reason load; later ones throw', async ({ page }) => {
  const env = await startEnv({ intervalMs: 0 });
  try {
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${env.pages.origin}/tests/e2e/pages/empty.html`);
    const wasm = await holdWasm(page, { status: 404, body: 'gone' });
    await page.evaluate(
      async ([lib, urls]) => {
        const m = await import(lib);
        window.m = m;
        const source = new m.BalancedEventSource(urls);
        window.events = [];
        source.onerror = (e) =>
          window.events.push({
            reason: e.reason,
            endpoint: e.endpoint,
            cause: String(e.cause?.message),
            readyState: source.readyState,
            isBalancedError: e instanceof m.BalancedErrorEvent,
          });
        window.source = source;
        window.rejected = m.ready.then(
          () => 'resolved',
          (e) => e.message,
        );
      },
      [LIB, env.urls],
    );
    wasm.release();
    const r = await page.evaluate(async (urls) => {
      const rejected = await window.rejected;
      await new Promise((resolve) => setTimeout(resolve, 50));
      let later = null;
      try {
        new window.m.BalancedEventSource(urls);
      } catch (e) {
        later = e.message;
      }
      return { rejected, events: window.events, readyState: window.source.readyState, later, stats: window.source.stats().readyState };
    }, env.urls);
    expect(r.rejected).toMatch(/cannot load .*sse-balancer-core\.wasm \(HTTP 404\)/);
    expect(r.events).toEqual([
      { reason: 'load', endpoint: null, cause: r.rejected, readyState: 2, isBalancedError: true },
    ]);
    expect(r.readyState).toBe(2);
    expect(r.stats).toBe(2);
    expect(r.later).toMatch(/the Wasm core could not be loaded \(.*HTTP 404/);
    // Nothing unhandled: no page error, no unhandled rejection.
    expect(errors).toEqual([]);
  } finally {
    await env.stop();
  }
});

test('share is a chunk loaded only with `share`; if it cannot load, that balancer ends with error load, and a later one retries', async ({ page }) => {
  const env = await startEnv();
  try {
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const chunkRequests = [];
    page.on('request', (r) => r.url().includes('sse-balancer-share') && chunkRequests.push(r.url()));
    let refuse = true;
    await page.route('**/sse-balancer-share.js', (route) => (refuse ? route.fulfill({ status: 404, body: 'gone' }) : route.continue()));
    await page.goto(`${env.pages.origin}/tests/e2e/pages/empty.html`);
    const first = await page.evaluate(
      async ([lib, urls]) => {
        const m = await import(lib);
        await m.ready;
        const solo = new m.BalancedEventSource(urls);
        const solos = [];
        solo.onmessage = (e) => solos.push(e.lastEventId);
        const shared = new m.BalancedEventSource(urls, { share: 'k' });
        const events = [];
        shared.onerror = (e) => events.push({ reason: e.reason, endpoint: e.endpoint, readyState: shared.readyState, cause: String(e.cause) });
        await new Promise((r) => setTimeout(r, 1000));
        const result = { events, solos: solos.length, soloRole: solo.stats().role, sharedState: shared.readyState };
        solo.close();
        return result;
      },
      [LIB, env.urls],
    );
    expect(first.events).toHaveLength(1);
    expect(first.events[0]).toMatchObject({ reason: 'load', endpoint: null, readyState: 2 });
    expect(first.events[0].cause).toMatch(/sse-balancer-share/);
    expect(first.sharedState).toBe(2);
    expect(first.solos).toBeGreaterThan(5);
    expect(first.soloRole).toBe('solo');
    const before = chunkRequests.length;
    expect(before).toBe(1);
    refuse = false;
    const second = await page.evaluate(async ([lib, urls]) => {
      const m = await import(lib);
      // Options changed by the page after the constructor checked them are
      // not what the stream starts with.
      const options = { share: 'k2', maxBackoffMs: 5000 };
      const shared = new m.BalancedEventSource(urls, options);
      options.maxBackoffMs = -1;
      options.policy = 'no such policy';
      const ids = [];
      shared.onmessage = (e) => ids.push(e.lastEventId);
      await new Promise((resolve) => {
        const t = setInterval(() => ids.length >= 5 && (clearInterval(t), resolve()), 20);
      });
      const role = shared.stats().role;
      shared.close();
      return { ids, role };
    }, [LIB, env.urls]);
    expect(second.role).toBe('leader');
    expectContiguous(second.ids);
    expect(chunkRequests.length).toBe(before + 1);
    expect(errors).toEqual([]);
  } finally {
    await env.stop();
  }
});

test('a server that sends the .wasm without application/wasm: the core is compiled from its bytes and streams', async ({ page }) => {
  const env = await startEnv();
  try {
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const body = fs.readFileSync(path.join(ROOT, 'web/dist/sse-balancer-core.wasm'));
    const wasm = await holdWasm(page, { status: 200, contentType: 'application/octet-stream', body });
    await page.goto(`${env.pages.origin}/tests/e2e/pages/empty.html`);
    wasm.release();
    const ids = await page.evaluate(
      async ([lib, urls]) => {
        const m = await import(lib);
        const source = new m.BalancedEventSource(urls);
        const got = [];
        await new Promise((resolve) => {
          source.onmessage = (e) => got.push(e.lastEventId) >= 5 && resolve();
        });
        source.close();
        return got;
      },
      [LIB, env.urls],
    );
    expect(wasm.asked()).toBe(1);
    expectContiguous(ids);
    expect(errors).toEqual([]);
  } finally {
    await env.stop();
  }
});

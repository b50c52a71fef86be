// Shared fixture: a page server and three real SSE backends on 127.0.0.1,
// streaming the `logs` channel of a MemoryStore at /events (the same store
// path as `npm start`), with a generator, and a page with the library loaded.
import { test as base, expect } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryStore } from '../../web/server/stores/memory-store.js';
import { startCluster } from '../../web/server/backend-cluster.js';
import { startPageServer } from '../../web/server/static-server.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const STRICT_CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' http://127.0.0.1:*";

/** The channel the fixture's backends stream at /events (as main.js does). */
export const CHANNEL = 'logs';

/**
 * Starts a page server and `count` backends that allow its origin. The
 * `logs` channel of the store gets a `message` event every `intervalMs`
 * (data: its sequence number; ids are the channel's consecutive integers).
 * `log` is that channel's EventLog (synchronous append, for tests).
 */
export async function startEnv({ count = 3, intervalMs = 40, csp, heartbeatMs = 1000 } = {}) {
  const pages = await startPageServer({ root: ROOT, csp });
  const store = new MemoryStore({ capacity: 100_000 });
  let cluster;
  try {
    cluster = await startCluster({ count, store, defaultChannel: CHANNEL, allowedOrigins: [pages.origin], heartbeatMs });
  } catch (err) {
    await pages.close();
    throw err;
  }
  let n = 0;
  const generator = intervalMs > 0 ? setInterval(() => store.append(CHANNEL, 'message', String(++n)), intervalMs) : null;
  return {
    pages,
    cluster,
    store,
    log: store.log(CHANNEL),
    urls: cluster.backends.map((b) => b.url),
    harnessUrl: `${pages.origin}/tests/e2e/pages/harness.html`,
    async stop() {
      if (generator) clearInterval(generator);
      await cluster.close();
      await store.close();
      await pages.close();
    },
  };
}

/** A new page of `context` on the harness page, ready; with the errors it throws. */
export async function openHarness(context, env) {
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(env.harnessUrl);
  await page.waitForFunction(() => window.harnessReady === true);
  return { page, pageErrors };
}

export const test = base.extend({
  env: async ({}, use) => {
    const env = await startEnv();
    await use(env);
    await env.stop();
  },
  /** A page with the library loaded and the tracking helpers of harness.js. */
  harness: async ({ page, env }, use) => {
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    await page.goto(env.harnessUrl);
    await page.waitForFunction(() => window.harnessReady === true);
    await use({ page, pageErrors });
    expect(pageErrors, 'no uncaught exception in the page').toEqual([]);
  },
});

export { expect };

/** The received message ids form one gap-free, duplicate-free run. */
export function expectContiguous(ids) {
  const numbers = ids.map(Number);
  for (let i = 1; i < numbers.length; i++) {
    if (numbers[i] !== numbers[i - 1] + 1) {
      throw new Error(
        `ids not contiguous at position ${i}: ${numbers[i - 1]} then ${numbers[i]} ` +
          `(${numbers[i] <= numbers[i - 1] ? 'duplicate/backwards' : 'gap'}); all: ${numbers.join(',')}`,
      );
    }
  }
}

/** Polls until `fn()` returns a truthy value (server-side conditions). */
export async function until(fn, { timeout = 10_000, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

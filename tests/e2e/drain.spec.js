// Drain: a backend announces it goes away (`event: sse-balancer.drain`); its
// clients open their next pick, switch when it delivers, then close the old
// stream (make before break). A rolling restart of every backend, as a
// deploy does it, costs the clients nothing.
import { test, expect } from '@playwright/test';
import { startEnv, expectContiguous, openHarness, until } from './fixtures.js';

let env;
test.afterEach(async () => {
  await env?.stop();
});

/** `count` balanced sources in one page (one browser profile), recording what they deliver. */
async function openClients(browser, count) {
  const context = await browser.newContext();
  const { page, pageErrors } = await openHarness(context, env);
  await page.evaluate(
    ([urls, n]) => {
      window.clients = [];
      for (let k = 0; k < n; k++) {
        const got = { ids: [], at: [], failovers: [], errors: 0, control: 0 };
        const s = new window.sseb.BalancedEventSource(urls);
        s.onmessage = (e) => {
          got.ids.push(Number(e.lastEventId));
          got.at.push(performance.now());
        };
        s.addEventListener('failover', (e) => got.failovers.push(e.reason));
        s.addEventListener('sse-balancer.drain', () => got.control++); // reserved: never delivered
        s.onerror = () => got.errors++;
        window.clients.push({ s, got });
      }
    },
    [env.urls, count],
  );
  return { context, page, pageErrors };
}

const results = (page) =>
  page.evaluate(() =>
    window.clients.map(({ s, got }) => ({
      ids: got.ids,
      maxGapMs: got.at.reduce((max, t, i) => (i === 0 ? 0 : Math.max(max, t - got.at[i - 1])), 0),
      failovers: got.failovers,
      errors: got.errors,
      control: got.control,
      failures: s.stats().endpoints.reduce((n, e) => n + e.failures, 0),
    })),
  );

test('a rolling restart of every backend: 30 clients lose nothing, repeat nothing, see no error', async ({ browser }) => {
  test.setTimeout(120_000);
  env = await startEnv({ count: 3, intervalMs: 20 });
  // Six clients per profile: a browser allows about six connections per host.
  const groups = [];
  for (let g = 0; g < 5; g++) groups.push(await openClients(browser, 6));
  await until(async () => (await Promise.all(groups.map(({ page }) => page.evaluate(() => window.clients.every((c) => c.got.ids.length >= 10))))).every(Boolean), {
    message: 'every client streaming',
  });
  await env.cluster.rollingRestart(1000);
  const last = env.log.lastId;
  await until(async () => (await Promise.all(groups.map(({ page }) => page.evaluate((id) => window.clients.every((c) => c.got.ids.at(-1) >= id + 20), last)))).every(Boolean), {
    message: 'every client past the restart',
  });
  let moved = 0;
  for (const { page, pageErrors, context } of groups) {
    for (const r of await results(page)) {
      expectContiguous(r.ids); // nothing lost, nothing twice
      expect(r.errors).toBe(0); // no error event: nothing failed
      expect(r.failures).toBe(0);
      expect(r.control).toBe(0);
      expect(r.failovers.every((reason) => reason === 'drain')).toBe(true);
      moved += r.failovers.length;
    }
    expect(pageErrors).toEqual([]);
    await context.close();
  }
  expect(moved).toBeGreaterThanOrEqual(30); // every client was on a backend that restarted
});

test('a drained backend tells new streams too, and its clients leave it before it goes', async ({ browser }) => {
  env = await startEnv({ count: 2, intervalMs: 20 });
  const group = await openClients(browser, 4);
  await until(() => group.page.evaluate(() => window.clients.every((c) => c.got.ids.length >= 5)), { message: 'streaming' });
  env.cluster.drain(0, 600);
  await until(() => env.cluster.openStreams(0) === 0, { timeout: 3000, message: 'backend 0 left by every client' });
  // A client opened now on the drained backend is told at once and moves too.
  await group.page.evaluate((urls) => {
    const got = { ids: [], at: [], failovers: [], errors: 0, control: 0 };
    const s = new window.sseb.BalancedEventSource([urls[0], urls[1]], { seed: 1 });
    s.onmessage = (e) => got.ids.push(Number(e.lastEventId));
    s.addEventListener('failover', (e) => got.failovers.push(e.reason));
    window.clients.push({ s, got });
  }, env.urls);
  await until(async () => env.cluster.openStreams(0) === 0 && env.cluster.openStreams(1) === 5, { timeout: 5000, message: 'all five on backend 1' });
  for (const r of await results(group.page)) {
    expectContiguous(r.ids);
    expect(r.errors).toBe(0);
  }
  await group.context.close();
});

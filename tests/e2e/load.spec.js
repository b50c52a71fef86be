// Load: backends advertise their open streams (and their peers') with each
// heartbeat (`event: sse-balancer.load`); under the least-loaded policy a
// client on a backend that carries more than its share moves (make before
// break) with the probability that evens the load out.
import { test, expect } from '@playwright/test';
import { startEnv, expectContiguous, until } from './fixtures.js';

let env;
test.afterEach(async () => {
  await env?.stop();
});

test('30 clients with least-loaded on 3 backends: at most 11 on the busiest, nothing lost on the way', async ({ browser }) => {
  test.setTimeout(120_000);
  env = await startEnv({ count: 3, intervalMs: 50, heartbeatMs: 300 });
  const groups = [];
  for (let g = 0; g < 5; g++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(env.harnessUrl);
    await page.waitForFunction(() => window.harnessReady === true);
    await page.evaluate((urls) => {
      window.clients = [];
      for (let k = 0; k < 6; k++) {
        const got = { ids: [], errors: 0, reasons: [] };
        const s = new window.sseb.BalancedEventSource(urls, { policy: 'least-loaded' });
        s.onmessage = (e) => got.ids.push(Number(e.lastEventId));
        s.onerror = () => got.errors++;
        s.addEventListener('failover', (e) => got.reasons.push(e.reason));
        window.clients.push(got);
      }
    }, env.urls);
    groups.push({ context, page });
  }
  const perBackend = () => env.cluster.backends.map((b) => env.cluster.openStreams(b.index));
  await until(() => perBackend().reduce((a, b) => a + b, 0) === 30, { message: '30 streams' });
  const start = perBackend();
  await until(() => Math.max(...perBackend()) <= 11 && perBackend().reduce((a, b) => a + b, 0) === 30, {
    timeout: 60_000,
    message: `at most 11 per backend (started at ${start.join('/')})`,
  });
  console.log(`[load] streams per backend: ${start.join('/')} -> ${perBackend().join('/')}`);
  for (const { page, context } of groups) {
    for (const c of await page.evaluate(() => window.clients)) {
      expectContiguous(c.ids);
      expect(c.errors).toBe(0);
      expect(c.reasons.every((r) => r === 'rebalance')).toBe(true);
    }
    await context.close();
  }
});

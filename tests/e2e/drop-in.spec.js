// Installing BalancedEventSource as window.EventSource (issue 8, item 2): the
// balancer opens the platform's own EventSource, captured when the module
// loaded, not whatever globalThis.EventSource is now (which would recurse).
import { test, expect, expectContiguous } from './fixtures.js';

test('a page that replaced window.EventSource with a BalancedEventSource subclass streams and fails over', async ({
  env,
  page,
}) => {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const url = `${env.pages.origin}/tests/e2e/pages/drop-in.html?backends=${encodeURIComponent(JSON.stringify(env.urls))}`;
  await page.goto(url);
  await page.waitForFunction(() => window.dropInReady === true);
  await page.waitForFunction(() => window.app.received.length >= 5);
  const first = await page.evaluate(() => ({
    isBalanced: window.app.source instanceof window.EventSource,
    url: window.app.source.url,
    active: window.app.source.stats().activeEndpoint,
  }));
  expect(first.isBalanced).toBe(true);
  await env.cluster.kill(first.active);
  const before = await page.evaluate(() => window.app.received.length);
  await page.waitForFunction((n) => window.app.received.length >= n + 10, before);
  const r = await page.evaluate(() => ({ received: window.app.received, url: window.app.source.url }));
  expect(r.url).not.toBe(first.url);
  expectContiguous(r.received.map((m) => m.id));
  expect(errors).toEqual([]);
  await page.evaluate(() => window.app.source.close());
});

// Accessibility: axe-core's WCAG 2.1 A and AA rules on the three pages of the
// reference server (what `npm start` serves), streaming, with the balancer
// panel filled in. Nothing may be reported.
import { test, expect } from '@playwright/test';
import { AxeBuilder } from '@axe-core/playwright';
import { startServer } from '../../web/server/main.js';

const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let server;
test.beforeAll(async () => {
  server = await startServer({ portBase: 0, logRate: 20 });
});
test.afterAll(async () => {
  await server?.stop();
});

/** Rule id, impact and the first few offending nodes: readable in a failure. */
function summarize(violations) {
  return violations.map((v) => ({ rule: v.id, impact: v.impact, nodes: v.nodes.length, first: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
}

for (const [name, path] of [
  ['chat', '/web/chat/'],
  ['live logs', '/web/logs/'],
  ['demo', '/web/demo/'],
]) {
  test(`the ${name} page passes axe-core's WCAG 2.1 AA rules`, async ({ page }) => {
    // The chat asks for a name on a first visit; a returning visitor has one.
    await page.addInitScript(() => localStorage.setItem('sse-balancer.chat.name', 'Ann'));
    await page.goto(`${server.pageOrigin}${path}`);
    await expect(page.locator('#conn')).toHaveAttribute('data-state', 'open', { timeout: 20_000 });
    await expect(page.locator('.be').first()).toBeVisible();
    const results = await new AxeBuilder({ page }).withTags(WCAG_21_AA).analyze();
    expect(summarize(results.violations)).toEqual([]);
  });
}

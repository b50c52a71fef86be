// The library runs on a page whose CSP forbids eval: only 'self' scripts and
// 'wasm-unsafe-eval' for the module compile.
import { test, expect, startEnv, STRICT_CSP, expectContiguous } from './fixtures.js';

test('works under script-src self wasm-unsafe-eval with no CSP violation', async ({ page }) => {
  const env = await startEnv({ csp: STRICT_CSP });
  try {
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // The browser's own favicon probe 404s; it is not the library's.
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(m.text());
    });
    const response = await page.goto(
      `${env.pages.origin}/tests/e2e/pages/csp.html?urls=${encodeURIComponent(JSON.stringify(env.urls))}`,
    );
    expect(response.headers()['content-security-policy']).toBe(STRICT_CSP);
    await page.waitForFunction(() => window.received && window.received.length >= 5);
    const r = await page.evaluate(() => ({ evalAllowed: window.evalAllowed, violations: window.violations, ids: window.received }));
    expect(r.evalAllowed).toBe(false); // the policy really is in force
    expect(r.violations.filter((v) => !v.startsWith('script-src eval'))).toEqual([]);
    expect(errors).toEqual([]);
    expectContiguous(r.ids);
  } finally {
    await env.stop();
  }
});

// The main job: `node web/server/main.js` (what `npm start` runs) serves the
// pages; its /web/demo/ page streams the log channel through the balancer
// and survives a backend kill.
import { test, expect } from './fixtures.js';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './fixtures.js';
import { freePortRun, stopChild } from './redis-helper.js';

test('demo page streams, and a killed backend fails over to another', async ({ page }, testInfo) => {
  // The page server and its three backends on four ports that were free,
  // below the ephemeral range (a random port there could be taken by any
  // outgoing connection, and the child would exit at once).
  const port = await freePortRun(4);
  const child = spawn(process.execPath, [path.join(ROOT, 'web/server/main.js'), '--port-base', String(port), '--log-rate', '10', '--drain-ms', '200'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  try {
    await expect.poll(() => (child.exitCode === null ? output : `exited ${child.exitCode}: ${output}`), { timeout: 15_000 }).toContain('sse-balancer: chat');
    expect(output).toContain(`http://127.0.0.1:${port}/web/chat/`);
    expect(output).toContain(`http://127.0.0.1:${port}/web/logs/`);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/web/demo/`);
    await expect(page.locator('#ready-state')).toHaveText('open');
    await expect.poll(async () => Number(await page.locator('#received').textContent())).toBeGreaterThan(3);

    const active = await page.locator('#active').textContent();
    const index = Number(/#(\d+)/.exec(active)[1]);
    await page.getByRole('button', { name: 'Kill' }).nth(index).click();
    await expect(page.locator('#failover-count')).toHaveText('1');
    await expect(page.locator('#active')).not.toHaveText(active);
    const before = Number(await page.locator('#received').textContent());
    await expect.poll(async () => Number(await page.locator('#received').textContent())).toBeGreaterThan(before + 3);
    await page.screenshot({ path: testInfo.outputPath('demo.png'), fullPage: true });
    expect(errors).toEqual([]);
  } finally {
    // Bounded, and no wait for an exit that already happened.
    await stopChild(child);
  }
});

test('the demo page rolling restart: every backend drains and restarts, the stream delivers on without an error', async ({ page }) => {
  test.setTimeout(90_000);
  const { startServer } = await import('../../web/server/main.js');
  const server = await startServer({ portBase: 0, logRate: 20, drainMs: 600 });
  try {
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.pageOrigin}/web/demo/`);
    await expect(page.locator('#ready-state')).toHaveText('open');
    const before = Number(await page.locator('#received').textContent());
    await page.getByRole('button', { name: 'Rolling restart' }).click();
    await expect(page.locator('#fault-note')).toHaveText('rolling restart done', { timeout: 30_000 });
    await expect.poll(async () => Number(await page.locator('#received').textContent())).toBeGreaterThan(before + 20);
    // Three drains: the failover log shows moves for 'drain', never an error reason.
    const reasons = await page.locator('.failover-log .reason').allTextContents();
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.every((r) => r === 'drain')).toBe(true);
    expect(errors).toEqual([]);
  } finally {
    await server.stop();
  }
});

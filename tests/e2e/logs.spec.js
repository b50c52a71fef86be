// The live-log page (web/logs/) against the real server of
// web/server/main.js: it keeps up with a fast generator without gaps or
// duplicates (also across a failover), filters the stored lines, freezes
// while paused and catches up on resume, and holds tens of thousands of
// lines in a virtualised table.
import { test, expect } from '@playwright/test';
import { startServer } from '../../web/server/main.js';
import { makeLogLine } from '../../web/server/log-generator.js';
import { expectContiguous } from './fixtures.js';

async function openLogs(page, server) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) problems.push(`csp: ${m.text()}`);
  });
  await page.setViewportSize({ width: 1360, height: 860 });
  await page.goto(server.logsPageUrl);
  await expect(page.locator('#conn')).toHaveAttribute('data-state', 'open');
  await page.waitForFunction(() => window.logView !== undefined);
  return problems;
}

const ids = (page) => page.evaluate(() => window.logView.ids());
const stats = (page) => page.evaluate(() => window.logView.stats());

/** The rows in the DOM: [{ id, level, text }]. */
function domRows(page) {
  return page.$$eval('#rows > .log-row', (rows) =>
    rows.map((r) => ({
      id: Number(r.dataset.id),
      level: r.dataset.level,
      service: r.querySelector('.c-service').textContent,
      msg: r.querySelector('.c-msg').textContent,
    })),
  );
}

/** id -> parsed line, from the server's own store. */
async function serverLines(server) {
  const entries = await server.store.since('logs', 0);
  return new Map(entries.map((e) => [e.id, JSON.parse(e.data)]));
}

test('keeps up at 400 lines/s with no gap, across a failover; filters; pause freezes the table', async ({ page }, testInfo) => {
  test.setTimeout(90_000);
  const server = await startServer({ portBase: 0, logRate: 400, capacity: 100_000 });
  try {
    const problems = await openLogs(page, server);
    await page.waitForTimeout(5000);

    // Every line since the first one seen, once, in order, within a small lag.
    await expect
      .poll(async () => (await server.store.lastId('logs')) - (await ids(page)).at(-1), { timeout: 10_000 })
      .toBeLessThanOrEqual(200);
    let got = await ids(page);
    expectContiguous(got);
    expect(got.length).toBeGreaterThan(1000); // about 2000 in 5 s
    expect(got.length).toBe(got.at(-1) - got[0] + 1);
    let s = await stats(page);
    expect(s.duplicates).toBe(0);
    // Virtualised: a few dozen rows in the DOM, the newest one in view (auto-scroll).
    expect(s.domRows).toBeGreaterThan(10);
    expect(s.domRows).toBeLessThan(100);
    await expect.poll(async () => (await domRows(page)).at(-1).id, { timeout: 5000 }).toBeGreaterThan(got.at(-1) - 400);
    await expect(page.locator('#rate')).not.toHaveText('0');

    // Kill the streaming backend with the panel's button: the stream moves on, no gap, no repeat.
    const active = Number(await page.locator('#conn').getAttribute('data-index'));
    await page.locator(`.be[data-index="${active}"] [data-action="kill"]`).click();
    await expect.poll(() => server.cluster.mode(active)).toBe('down');
    await expect(page.locator('.failover-log li').first()).toContainText(/closed|network/);
    await expect(page.locator('#conn')).toHaveAttribute('data-state', 'open');
    expect(Number(await page.locator('#conn').getAttribute('data-index'))).not.toBe(active);
    await expect(page.locator(`.be[data-index="${active}"] .server`)).toHaveText('server down');
    await page.waitForTimeout(1000);
    await expect
      .poll(async () => (await server.store.lastId('logs')) - (await ids(page)).at(-1), { timeout: 10_000 })
      .toBeLessThanOrEqual(200);
    got = await ids(page);
    expectContiguous(got);
    await page.locator(`.be[data-index="${active}"] [data-action="revive"]`).click();
    await expect.poll(() => server.cluster.mode(active)).toBe('ok');

    // Level filter: unchecking info removes every info row; the view is exactly the non-info stored lines.
    await page.locator('#lvl-info').uncheck();
    await expect.poll(async () => (await domRows(page)).every((r) => r.level !== 'info')).toBe(true);
    expect((await domRows(page)).length).toBeGreaterThan(5);
    {
      const { stored, view } = await page.evaluate(() => ({ stored: window.logView.ids(), view: window.logView.viewIds() }));
      const rows = await domRows(page);
      const lines = await serverLines(server); // read last: it holds every id seen above
      expect(view).toEqual(stored.filter((id) => lines.get(id).level !== 'info'));
      expect(view.length).toBeLessThan(stored.length / 2);
      for (const r of rows) expect(lines.get(r.id).level).toBe(r.level);
    }
    await page.locator('#lvl-info').check();
    await expect.poll(async () => (await domRows(page)).some((r) => r.level === 'info')).toBe(true);

    // Text filter: case-insensitive substring over service and message.
    await page.fill('#filter', 'ORDERS');
    await expect
      .poll(async () => {
        const rows = await domRows(page);
        return rows.length > 0 && rows.every((r) => `${r.service} ${r.msg}`.toLowerCase().includes('orders'));
      })
      .toBe(true);
    {
      const { stored, view } = await page.evaluate(() => ({ stored: window.logView.ids(), view: window.logView.viewIds() }));
      const lines = await serverLines(server);
      const match = (id) => `${lines.get(id).service}\n${lines.get(id).msg}`.toLowerCase().includes('orders');
      expect(view).toEqual(stored.filter(match));
    }
    await expect(page.locator('#rows mark').first()).toHaveText(/orders/i);
    await page.fill('#filter', '');
    await expect.poll(async () => (await domRows(page)).some((r) => !`${r.service} ${r.msg}`.toLowerCase().includes('orders'))).toBe(true);

    // Pause: over 1.5 s the table does not change at all while lines keep arriving into the buffer.
    await page.click('#pause');
    await expect(page.locator('#pause')).toHaveAttribute('aria-pressed', 'true');
    await page.waitForTimeout(400); // a render already scheduled may finish
    const before = await ids(page);
    const mutations = await page.evaluate(
      () =>
        new Promise((resolve) => {
          let count = 0;
          const observer = new MutationObserver((records) => (count += records.length));
          const options = { subtree: true, childList: true, attributes: true, characterData: true };
          observer.observe(document.querySelector('#rows'), options);
          observer.observe(document.querySelector('#spacer'), options);
          setTimeout(() => {
            observer.disconnect();
            resolve(count);
          }, 1500);
        }),
    );
    expect(mutations).toBe(0);
    expect(await ids(page)).toEqual(before);
    const pending = await page.evaluate(() => window.logView.pendingIds());
    expect(pending.length).toBeGreaterThan(300); // 1.9 s at 400 lines/s
    expect(pending[0]).toBe(before.at(-1) + 1);
    await expect(page.locator('#buffered')).toHaveText(/^[1-9][\d,]*$/);
    await expect(page.locator('#paused-bar')).toBeVisible();
    const pausedShot = testInfo.outputPath('logs-paused.png');
    await page.screenshot({ path: pausedShot });
    await testInfo.attach('logs-paused', { path: pausedShot, contentType: 'image/png' });

    // Resume: the buffered lines are appended in order, and live lines follow with no gap.
    await page.click('#pause');
    await expect(page.locator('#pause')).toHaveAttribute('aria-pressed', 'false');
    await expect(page.locator('#paused-bar')).toBeHidden();
    await page.waitForTimeout(500);
    got = await ids(page);
    expectContiguous(got);
    expect(got.slice(0, before.length)).toEqual(before);
    expect(got.length).toBeGreaterThan(before.length + pending.length);
    s = await stats(page);
    expect(s.pending).toBe(0);
    expect(s.duplicates).toBe(0);
    await expect.poll(async () => (await domRows(page)).at(-1).id, { timeout: 5000 }).toBeGreaterThan(before.at(-1) + pending.length);

    const shot = testInfo.outputPath('logs-live.png');
    await page.screenshot({ path: shot });
    await testInfo.attach('logs-live', { path: shot, contentType: 'image/png' });
    expect(problems).toEqual([]);
  } finally {
    await server.stop();
  }
});

test('holds 50,000 lines (drops the oldest beyond), stays responsive, auto-scroll stops when scrolled up', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const server = await startServer({ portBase: 0, logRate: 0 });
  const append = async (n) => {
    for (let i = 0; i < n; i++) await server.store.append('logs', 'message', JSON.stringify(makeLogLine()));
  };
  try {
    const problems = await openLogs(page, server);
    await append(30_000);
    await expect.poll(async () => (await stats(page)).stored, { timeout: 60_000 }).toBe(30_000);
    let got = await ids(page);
    expect(got[0]).toBe(1);
    expect(got.at(-1)).toBe(30_000);
    expectContiguous(got);
    let s = await stats(page);
    expect(s.domRows).toBeLessThan(100);
    await expect(page.locator('#count-stored')).toHaveText('30,000');
    await expect.poll(async () => (await domRows(page)).at(-1).id).toBe(30_000);

    // Responsive: a round trip into the page is quick (generous bound; a sanity check only).
    const t0 = Date.now();
    await page.evaluate(() => document.querySelectorAll('#rows > .log-row').length);
    expect(Date.now() - t0).toBeLessThan(2000);

    // Filtering 30,000 stored lines.
    await page.fill('#filter', 'payment');
    await expect
      .poll(async () => {
        const rows = await domRows(page);
        return rows.length > 0 && rows.every((r) => `${r.service} ${r.msg}`.toLowerCase().includes('payment'));
      })
      .toBe(true);
    const shown = (await stats(page)).shown;
    expect(shown).toBeGreaterThan(100);
    expect(shown).toBeLessThan(30_000);
    await page.fill('#filter', '');
    await expect.poll(async () => (await stats(page)).shown).toBe(30_000);

    // Scroll to the top: following stops, new lines do not move the view, "jump to latest" appears.
    await page.locator('#viewport').evaluate((v) => (v.scrollTop = 0));
    await expect.poll(async () => (await domRows(page))[0].id).toBe(1);
    await expect(page.locator('#jump')).toBeVisible();
    await append(500);
    await expect.poll(async () => (await stats(page)).stored).toBe(30_500);
    await page.waitForTimeout(300);
    expect(await page.locator('#viewport').evaluate((v) => v.scrollTop)).toBe(0);
    expect((await domRows(page))[0].id).toBe(1);
    await expect(page.locator('#jump')).toContainText('500 new');
    await page.click('#jump');
    await expect(page.locator('#jump')).toBeHidden();
    await expect.poll(async () => (await domRows(page)).at(-1).id).toBe(30_500);
    expect((await stats(page)).follow).toBe(true);

    // Past the cap of 50,000 the oldest lines are dropped (and counted), still without a gap.
    await append(20_000);
    await expect.poll(async () => (await stats(page)).received, { timeout: 60_000 }).toBe(50_500);
    s = await stats(page);
    expect(s.stored).toBe(50_000);
    expect(s.dropped).toBe(500);
    got = await ids(page);
    expect(got[0]).toBe(501);
    expect(got.at(-1)).toBe(50_500);
    expectContiguous(got);
    await expect(page.locator('#count-dropped')).toHaveText('500');
    await expect.poll(async () => (await domRows(page)).at(-1).id).toBe(50_500);
    expect((await stats(page)).domRows).toBeLessThan(100);

    const t1 = Date.now();
    await page.evaluate(() => window.logView.stats());
    expect(Date.now() - t1).toBeLessThan(2000);

    const shot = testInfo.outputPath('logs-50k.png');
    await page.screenshot({ path: shot });
    await testInfo.attach('logs-50k', { path: shot, contentType: 'image/png' });
    expect(problems).toEqual([]);
  } finally {
    await server.stop();
  }
});

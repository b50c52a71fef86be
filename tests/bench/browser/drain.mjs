// Benchmark: a rolling restart under real clients. Three local backends
// stream an event every 20 ms; 30 BalancedEventSources (five browser
// profiles of six, as a browser allows about six connections per host) are
// streaming when every backend in turn drains for 1 s, goes down and comes
// back. Figures: ids lost and repeated, `error` events, and the gaps between
// consecutive deliveries in each client (page clocks): their largest and
// 99th percentile over all clients, against the same measure in the same
// clients in the 3 s before the restart.
import { log, pollUntil, round, startBackends, startPages, summary } from './lib.mjs';

const HARNESS = '/tests/e2e/pages/harness.html';
const PROFILES = 5;
const PER_PROFILE = 6;
const DRAIN_MS = 1000;

async function openProfile(browser, origin, urls) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}${HARNESS}`);
  await page.waitForFunction(() => window.harnessReady === true);
  await page.evaluate(
    ([list, n]) => {
      window.clients = [];
      for (let k = 0; k < n; k++) {
        const got = { ids: [], at: [], errors: 0, moves: 0 };
        const s = new window.sseb.BalancedEventSource(list);
        s.onmessage = (e) => {
          got.ids.push(Number(e.lastEventId));
          got.at.push(performance.timeOrigin + performance.now());
        };
        s.onerror = () => got.errors++;
        s.addEventListener('failover', () => got.moves++);
        window.clients.push(got);
      }
    },
    [urls, PER_PROFILE],
  );
  return { context, page };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function runDrain({ browser }) {
  const pages = await startPages();
  const env = await startBackends({ pagesOrigin: pages.origin, intervalMs: 20, heartbeatMs: 1000 });
  const profiles = [];
  try {
    for (let p = 0; p < PROFILES; p++) profiles.push(await openProfile(browser, pages.origin, env.urls));
    const all = () => Promise.all(profiles.map(({ page }) => page.evaluate(() => window.clients)));
    // Polled lightly (the last id of each client), so the measuring does not make the gaps.
    const lastIds = async () => (await Promise.all(profiles.map(({ page }) => page.evaluate(() => window.clients.map((c) => c.ids.at(-1) ?? 0))))).flat();
    const first = env.log.lastId;
    await pollUntil(async () => (await lastIds()).every((id) => id >= first + 250), { timeoutMs: 20_000, everyMs: 500 });
    const from = (await profiles[0].page.evaluate(() => performance.timeOrigin + performance.now()));
    const t0 = Date.now();
    await env.cluster.rollingRestart(DRAIN_MS);
    const restartMs = Date.now() - t0;
    const to = (await profiles[0].page.evaluate(() => performance.timeOrigin + performance.now())) + 500;
    const last = env.log.lastId;
    await pollUntil(async () => (await lastIds()).every((id) => id >= last + 25), { timeoutMs: 20_000, everyMs: 500 });
    const clients = (await all()).flat();
    let lost = 0;
    let duplicates = 0;
    const during = [];
    const before = [];
    for (const c of clients) {
      for (let i = 1; i < c.ids.length; i++) {
        if (c.ids[i] <= c.ids[i - 1]) duplicates++;
        else lost += c.ids[i] - c.ids[i - 1] - 1;
        const gap = c.at[i] - c.at[i - 1];
        if (c.at[i] >= from && c.at[i - 1] <= to) during.push(gap);
        else if (c.at[i] < from && c.at[i - 1] >= from - 3000) before.push(gap);
      }
    }
    during.sort((a, b) => a - b);
    before.sort((a, b) => a - b);
    const out = {
      method:
        `three local backends, an event every 20 ms; ${PROFILES * PER_PROFILE} clients in ${PROFILES} browser profiles; ` +
        `cluster.rollingRestart(${DRAIN_MS}): each backend in turn drains for ${DRAIN_MS} ms, goes down and comes back; ` +
        'gaps between consecutive deliveries of each client (page clocks), during the restart and in the 3 s before it',
      clients: clients.length,
      restartMs,
      lost,
      duplicates,
      errors: clients.reduce((n, c) => n + c.errors, 0),
      moves: clients.reduce((n, c) => n + c.moves, 0),
      gapsDuringMs: { ...summary(during), p99: round(percentile(during, 99), 1) },
      gapsBeforeMs: { ...summary(before), p99: round(percentile(before, 99), 1) },
    };
    log(
      `drain: ${out.clients} clients, rolling restart in ${restartMs} ms: lost ${lost}, dup ${duplicates}, errors ${out.errors}, ` +
        `moves ${out.moves}; gaps during: p99 ${out.gapsDuringMs.p99} ms, max ${out.gapsDuringMs.max} ms ` +
        `(before: p99 ${out.gapsBeforeMs.p99} ms, max ${out.gapsBeforeMs.max} ms)`,
    );
    return out;
  } finally {
    for (const { context } of profiles) await context.close();
    await env.stop();
    await pages.close();
  }
}

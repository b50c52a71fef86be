// Benchmark: tabs sharing one stream (the `share` option). In one browser
// profile (a Playwright context), on the e2e harness page:
// - server streams held with 1, 4 and 8 tabs open, shared and not;
// - handoff: the leader tab closes while events flow every 20 ms; the time
//   from its close to the next event delivered in the other tabs, and the
//   ids those tabs lost or got twice;
// - main-thread CPU per event in a follower against the leader, over a burst.
import { log, median, pollUntil, round, sleep, startBackends, startPages, summary } from './lib.mjs';

const HARNESS = '/tests/e2e/pages/harness.html';
const TABS = [1, 4, 8];
const BURST = 5000;

async function openTab(context, origin, urls, share) {
  const page = await context.newPage();
  await page.goto(`${origin}${HARNESS}`);
  await page.waitForFunction(() => window.harnessReady === true);
  await page.evaluate(
    ([list, shared]) => {
      window.got = { ids: [], at: [] };
      window.source = new window.sseb.BalancedEventSource(list, shared ? { share: true } : {});
      window.source.onmessage = (e) => {
        window.got.ids.push(Number(e.lastEventId));
        window.got.at.push(performance.timeOrigin + performance.now());
      };
    },
    [urls, share],
  );
  return page;
}

const received = (page) => page.evaluate(() => window.got.ids.length);

async function streamsHeld({ browser, pages, env }) {
  const rows = [];
  for (const tabs of TABS) {
    for (const shared of [false, true]) {
      const context = await browser.newContext();
      try {
        const list = [];
        for (let i = 0; i < tabs; i++) list.push(await openTab(context, pages.origin, env.urls, shared));
        await pollUntil(async () => (await Promise.all(list.map(received))).every((n) => n >= 5), { timeoutMs: 15_000 });
        await sleep(300);
        rows.push({ tabs, shared, serverStreams: env.cluster.totalOpenStreams() });
        log(`share: ${tabs} tab(s), ${shared ? 'shared' : 'own streams'}: ${env.cluster.totalOpenStreams()} server stream(s)`);
      } finally {
        await context.close();
        await pollUntil(() => env.cluster.totalOpenStreams() === 0, { timeoutMs: 5000 });
      }
    }
  }
  return rows;
}

/** One handoff: the leader of three tabs closes; what the other two see. */
async function handoffTrial({ browser, pages, env }) {
  const context = await browser.newContext();
  try {
    const tabs = [];
    for (let i = 0; i < 3; i++) tabs.push(await openTab(context, pages.origin, env.urls, true));
    const leader = await pollUntil(async () => {
      const roles = await Promise.all(tabs.map((t) => t.evaluate(() => window.source.stats().role)));
      return roles.filter((r) => r === 'leader').length === 1 ? tabs[roles.indexOf('leader')] : null;
    }, { timeoutMs: 10_000 });
    await pollUntil(async () => (await Promise.all(tabs.map(received))).every((n) => n >= 20), { timeoutMs: 10_000 });
    const others = tabs.filter((t) => t !== leader);
    const closedAt = await leader.evaluate(() => performance.timeOrigin + performance.now());
    await leader.close();
    await pollUntil(async () => {
      const after = await Promise.all(others.map((t) => t.evaluate((at) => window.got.at.filter((x) => x > at).length, closedAt)));
      return after.every((n) => n >= 20);
    }, { timeoutMs: 15_000 });
    let lost = 0;
    let duplicates = 0;
    const gaps = [];
    for (const tab of others) {
      const { ids, at } = await tab.evaluate(() => window.got);
      for (let i = 1; i < ids.length; i++) {
        if (ids[i] <= ids[i - 1]) duplicates++;
        else lost += ids[i] - ids[i - 1] - 1;
      }
      const next = at.find((x) => x > closedAt);
      if (next !== undefined) gaps.push(next - closedAt);
    }
    return { handoffMs: Math.max(...gaps), lost, duplicates };
  } finally {
    await context.close();
  }
}

/** Main-thread CPU per event of a leader and a follower over one burst. */
async function cpuPerEvent({ browser, pages, env }) {
  const context = await browser.newContext();
  try {
    const tabs = [await openTab(context, pages.origin, env.urls, true), await openTab(context, pages.origin, env.urls, true)];
    const roles = await pollUntil(async () => {
      const r = await Promise.all(tabs.map((t) => t.evaluate(() => window.source.stats().role)));
      return r.includes('leader') && r.includes('follower') ? r : null;
    }, { timeoutMs: 10_000 });
    const sessions = await Promise.all(tabs.map(async (t) => {
      const cdp = await context.newCDPSession(t);
      await cdp.send('Performance.enable');
      return cdp;
    }));
    const thread = async (cdp) => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ThreadTime').value;
    await sleep(300);
    const before = await Promise.all(tabs.map(received));
    const cpu0 = await Promise.all(sessions.map(thread));
    env.setInterval(0);
    for (let i = 0; i < BURST; i++) env.store.append('logs', 'message', `burst ${i}`);
    await pollUntil(async () => (await Promise.all(tabs.map(received))).every((n, i) => n >= before[i] + BURST), { timeoutMs: 30_000 });
    const cpu1 = await Promise.all(sessions.map(thread));
    const after = await Promise.all(tabs.map(received));
    env.setInterval(20);
    const per = (i) => round(((cpu1[i] - cpu0[i]) * 1e6) / (after[i] - before[i]), 2);
    const out = {};
    roles.forEach((role, i) => {
      out[role] = { cpuUsPerEvent: per(i), events: after[i] - before[i] };
    });
    return out;
  } finally {
    await context.close();
  }
}

export async function runShare({ browser, cfg }) {
  const pages = await startPages();
  const env = await startBackends({ pagesOrigin: pages.origin, intervalMs: 20, heartbeatMs: cfg.heartbeatMs });
  try {
    const streams = await streamsHeld({ browser, pages, env });
    const trials = [];
    for (let i = 0; i < cfg.trials; i++) {
      const t = await handoffTrial({ browser, pages, env });
      trials.push(t);
      log(`share: handoff ${i + 1}: next event ${round(t.handoffMs, 1)} ms after the leader closed, lost ${t.lost}, dup ${t.duplicates}`);
    }
    const cpu = await cpuPerEvent({ browser, pages, env });
    log(`share: CPU per event: leader ${cpu.leader?.cpuUsPerEvent} us, follower ${cpu.follower?.cpuUsPerEvent} us`);
    return {
      method:
        'one browser context (one profile), tabs of the e2e harness page streaming the logs channel (an event every 20 ms) ' +
        'from three local backends; server streams counted by the cluster; handoff: three tabs, the leader page closed, ' +
        'time from its close to the first event delivered afterwards in each other tab (the larger of the two), page clocks; ' +
        `CPU: a burst of ${BURST} events, main-thread ThreadTime (CDP) of each tab divided by the events it delivered`,
      streams,
      handoff: {
        trials: trials.length,
        ms: summary(trials.map((t) => t.handoffMs)),
        lost: trials.reduce((n, t) => n + t.lost, 0),
        duplicates: trials.reduce((n, t) => n + t.duplicates, 0),
      },
      cpu,
      medianHandoffMs: median(trials.map((t) => t.handoffMs)),
    };
  } finally {
    await env.stop();
    await pages.close();
  }
}

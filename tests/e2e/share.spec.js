// Tabs of one origin share one stream (the `share` option): in one browser
// profile (a Playwright context), the tabs elect a leader with Web Locks,
// only it streams, the others receive through a BroadcastChannel, and a
// leader that goes (closed, crashed, navigated away, frozen) hands over
// without a lost or repeated event.
import { test, expect } from '@playwright/test';
import { startEnv, expectContiguous, openHarness, until } from './fixtures.js';

let env;
test.beforeEach(async () => {
  env = await startEnv({ count: 3, intervalMs: 25 });
});
test.afterEach(async () => {
  await env?.stop();
});

/** A tab of the harness page streaming `urls` with `options`; records ids, failovers and errors. */
async function openTab(context, urls, options = { share: true }) {
  const { page, pageErrors: errors } = await openHarness(context, env);
  await page.evaluate(
    ([list, opts]) => {
      window.got = { ids: [], data: [], failovers: 0 };
      window.source = new window.sseb.BalancedEventSource(list, opts);
      window.source.onmessage = (e) => {
        window.got.ids.push(Number(e.lastEventId));
        window.got.data.push(e.data);
      };
      window.source.addEventListener('failover', () => window.got.failovers++);
    },
    [urls, options],
  );
  return { page, errors };
}

const role = (tab) => tab.page.evaluate(() => window.source.stats().role);
const ids = (tab) => tab.page.evaluate(() => window.got.ids);

async function leaderOf(tabs) {
  return until(async () => {
    const roles = await Promise.all(tabs.map(role));
    return roles.filter((r) => r === 'leader').length === 1 ? tabs[roles.indexOf('leader')] : null;
  }, { message: 'one leader' });
}

/** Waits until every tab has received at least `n` more events than now. */
async function flowing(tabs, n = 10) {
  const before = await Promise.all(tabs.map(async (t) => (await ids(t)).length));
  await until(async () => (await Promise.all(tabs.map(async (t) => (await ids(t)).length))).every((len, i) => len >= before[i] + n), {
    message: `${n} more events in every tab`,
  });
}

test('8 tabs share one stream: the server sees one, every tab gets every event once and in order', async ({ browser }) => {
  const context = await browser.newContext();
  const tabs = [];
  for (let i = 0; i < 8; i++) tabs.push(await openTab(context, env.urls));
  await leaderOf(tabs);
  await flowing(tabs, 20);
  // HTTP/1.1 allows about six connections per host: eight own streams would not even fit.
  expect(env.cluster.totalOpenStreams()).toBe(1);
  const all = await Promise.all(tabs.map(ids));
  const last = Math.min(...all.map((list) => list[list.length - 1]));
  const first = Math.max(...all.map((list) => list[0]));
  const stored = env.log.since(first - 1).filter((e) => e.id <= last).map((e) => e.id);
  for (const list of all) {
    expectContiguous(list);
    expect(list.filter((id) => id >= first && id <= last)).toEqual(stored);
  }
  const stats = await tabs[0].page.evaluate(() => window.source.stats());
  expect(stats.tabs).toBe(8);
  expect(['leader', 'follower']).toContain(stats.role);
  for (const tab of tabs) expect(tab.errors).toEqual([]);
  await context.close();
});

for (const [how, end] of [
  ['closes', (tab) => tab.page.close()],
  ['crashes', async (tab) => {
    const cdp = await tab.page.context().newCDPSession(tab.page);
    const crashed = tab.page.waitForEvent('crash');
    cdp.send('Page.crash').catch(() => {}); // never answered: the renderer is gone
    await crashed;
  }],
  ['navigates away', (tab) => tab.page.goto('about:blank')],
]) {
  test(`the leader tab ${how} while events flow: another tab leads, and no tab loses or repeats an event`, async ({ browser }) => {
    const context = await browser.newContext();
    const tabs = [];
    for (let i = 0; i < 3; i++) tabs.push(await openTab(context, env.urls));
    const leader = await leaderOf(tabs);
    await flowing(tabs, 10);
    const others = tabs.filter((t) => t !== leader);
    const at = Date.now();
    await end(leader);
    const next = await leaderOf(others);
    await flowing(others, 20);
    const handoffMs = Date.now() - at;
    expect(handoffMs).toBeLessThan(10_000);
    for (const tab of others) expectContiguous(await ids(tab));
    expect(await role(next)).toBe('leader');
    expect(env.cluster.totalOpenStreams()).toBe(1);
    await context.close();
  });
}

// Headless Chromium does not freeze a page (CDP Page.setWebLifecycleState
// fires no freeze event here), so the test sends the Page Lifecycle event the
// browser sends before it freezes a tab: what the library does then is what
// can be tested.
test('a leader tab that is about to be frozen hands over and follows', async ({ browser }) => {
  const context = await browser.newContext();
  const tabs = [];
  for (let i = 0; i < 2; i++) tabs.push(await openTab(context, env.urls));
  const leader = await leaderOf(tabs);
  const other = tabs.find((t) => t !== leader);
  await flowing(tabs, 5);
  await leader.page.evaluate(() => document.dispatchEvent(new Event('freeze')));
  await until(async () => (await role(other)) === 'leader', { message: 'the other tab leads' });
  await flowing(tabs, 10);
  expect(await role(leader)).toBe('follower');
  for (const tab of tabs) expectContiguous(await ids(tab));
  await until(() => env.cluster.totalOpenStreams() === 1, { message: 'one stream' });
  await context.close();
});

test('a failover inside the leader is one failover event in every tab', async ({ browser }) => {
  const context = await browser.newContext();
  const tabs = [];
  for (let i = 0; i < 3; i++) tabs.push(await openTab(context, env.urls));
  const leader = await leaderOf(tabs);
  await flowing(tabs, 5);
  const active = await leader.page.evaluate(() => window.source.stats().activeEndpoint);
  await env.cluster.kill(active);
  await flowing(tabs, 20);
  for (const tab of tabs) {
    expect(await tab.page.evaluate(() => window.got.failovers)).toBe(1);
    expectContiguous(await ids(tab));
  }
  await context.close();
});

test('two different endpoint lists in one profile: two leaders, no mixing', async ({ browser }) => {
  const context = await browser.newContext();
  const chatUrls = env.cluster.backends.map((b) => b.channels.chat);
  const logs = [await openTab(context, env.urls), await openTab(context, env.urls)];
  const chat = [await openTab(context, chatUrls), await openTab(context, chatUrls)];
  await leaderOf(logs);
  await leaderOf(chat);
  const timer = setInterval(() => env.store.append('chat', 'message', 'chat line'), 30);
  try {
    await flowing([...logs, ...chat], 10);
  } finally {
    clearInterval(timer);
  }
  expect(env.cluster.totalOpenStreams()).toBe(2);
  for (const tab of logs) expect((await tab.page.evaluate(() => window.got.data)).every((d) => /^\d+$/.test(d))).toBe(true);
  for (const tab of chat) expect((await tab.page.evaluate(() => window.got.data)).every((d) => d === 'chat line')).toBe(true);
  await context.close();
});

test('soak: 200 leader handoffs leave one stream, no held lock, no EventSource or channel open', async ({ browser }) => {
  test.setTimeout(180_000);
  const context = await browser.newContext();
  const tab = await openTab(context, env.urls);
  // Two shared sources in one page elect a leader among themselves as two tabs would.
  const result = await tab.page.evaluate(async (urls) => {
    const { BalancedEventSource, diagnostics } = window.sseb;
    const open = () => {
      const s = new BalancedEventSource(urls, { share: true });
      s.delivered = 0;
      s.onmessage = () => s.delivered++;
      return s;
    };
    const wait = async (fn) => {
      for (let i = 0; i < 400; i++) {
        if (fn()) return true;
        await new Promise((r) => setTimeout(r, 10));
      }
      return false;
    };
    let sources = [window.source, open()];
    let handoffs = 0;
    let maxSources = 0;
    for (let round = 0; round < 200; round++) {
      if (!(await wait(() => sources.some((s) => s.stats().role === 'leader' && s.readyState === 1)))) return { stuck: round };
      maxSources = Math.max(maxSources, diagnostics().openEventSources);
      const leader = sources.find((s) => s.stats().role === 'leader');
      leader.close();
      sources = sources.filter((s) => s !== leader).concat(open());
      handoffs++;
    }
    for (const s of sources) s.close();
    // A lock is given back when its holder's callback has settled: a moment later.
    let locks;
    for (let i = 0; i < 100; i++) {
      locks = await navigator.locks.query();
      if (locks.held.length === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    return { handoffs, maxSources, after: diagnostics(), held: locks.held.length, pending: locks.pending.length };
  }, env.urls);
  expect(result.stuck).toBeUndefined();
  expect(result.handoffs).toBe(200);
  expect(result.maxSources).toBe(1); // the leader's one EventSource, never two
  expect(result.after.openEventSources).toBe(0);
  expect(result.after.openShareChannels).toBe(0);
  expect(result.held).toBe(0);
  expect(result.pending).toBe(0);
  await until(() => env.cluster.totalOpenStreams() === 0, { message: 'no stream left on the server' });
  expect(tab.errors).toEqual([]);
  await context.close();
});

test('without Web Locks each tab streams on its own (role solo)', async ({ browser }) => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });
  });
  const tabs = [await openTab(context, env.urls), await openTab(context, env.urls)];
  await flowing(tabs, 5);
  for (const tab of tabs) {
    const stats = await tab.page.evaluate(() => window.source.stats());
    expect(stats.role).toBe('solo');
    expect(stats.tabs).toBe(1);
  }
  expect(env.cluster.totalOpenStreams()).toBe(2);
  await context.close();
});

test('fetch() works from a follower, on an endpoint the leader picks; a failed one is cooled in the leader', async ({ browser }) => {
  const context = await browser.newContext();
  const tabs = [await openTab(context, env.urls), await openTab(context, env.urls)];
  const leader = await leaderOf(tabs);
  const follower = tabs.find((t) => t !== leader);
  await flowing(tabs, 3);
  const ok = await follower.page.evaluate(async () => {
    const response = await window.source.fetch('/health');
    return { status: response.status, endpoint: response.endpoint };
  });
  expect(ok.status).toBe(200);
  expect(env.urls).toContain(ok.endpoint);
  // Every endpoint but the streaming one goes down: the follower's request
  // fails on one of them, the leader's core cools it down, and an idempotent
  // retry lands on the one that is up.
  const active = await leader.page.evaluate(() => window.source.stats().activeEndpoint);
  for (let i = 0; i < env.urls.length; i++) if (i !== active) await env.cluster.kill(i);
  // Three posts: the leader's round-robin reaches a dead endpoint at least once.
  const retried = await follower.page.evaluate(async () => {
    const out = [];
    for (let i = 0; i < 3; i++) {
      const response = await window.source.fetch('/chat/messages', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user: 'ann', text: `hello ${i} from a follower` }),
        idempotent: true,
      });
      out.push({ status: response.status, endpoint: response.endpoint });
    }
    return out;
  });
  expect(retried).toEqual(Array(3).fill({ status: 201, endpoint: env.urls[active] }));
  const stats = await leader.page.evaluate(() => window.source.stats());
  const cooled = stats.endpoints.filter((e, i) => i !== active && e.failuresByReason.network > 0);
  expect(cooled.length).toBeGreaterThan(0); // the follower's failures reached the leader's core
  await context.close();
});

test('a changed endpoint list survives a leader handoff; a follower may set it with URL objects and weights', async ({ browser }) => {
  const context = await browser.newContext();
  const tabs = [];
  for (let i = 0; i < 3; i++) tabs.push(await openTab(context, env.urls));
  const leader = await leaderOf(tabs);
  await flowing(tabs, 5);
  const follower = tabs.find((t) => t !== leader);
  // The first backend leaves the list; set from a follower, with a URL object and a weight.
  const kept = env.urls.slice(1);
  await follower.page.evaluate((list) => window.source.setEndpoints([new URL(list[0]), { url: new URL(list[1]), weight: 2 }]), kept);
  await until(async () => JSON.stringify((await leader.page.evaluate(() => window.source.stats())).endpoints.map((e) => e.url)) === JSON.stringify(kept), {
    message: 'the leader took the new list',
  });
  await until(() => env.cluster.openStreams(0) === 0 && env.cluster.totalOpenStreams() === 1, { message: 'the stream left backend 0' });
  // The leader goes: the next one starts from the new list, not the first one.
  const others = tabs.filter((t) => t !== leader);
  await leader.page.close();
  const next = await leaderOf(others);
  await flowing(others, 10);
  const stats = await next.page.evaluate(() => window.source.stats());
  expect(stats.endpoints.map((e) => e.url)).toEqual(kept);
  expect(stats.endpoints.map((e) => e.weight)).toEqual([1, 2]);
  expect(env.cluster.openStreams(0)).toBe(0);
  for (const tab of others) {
    expectContiguous(await ids(tab));
    expect(tab.errors).toEqual([]);
  }
  await context.close();
});

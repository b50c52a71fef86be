// The fault-injection suite: every way a backend or the browser can fail.
// For each: the stream continues on a healthy backend, no id is lost or
// duplicated, the reported reason is right, and connection attempts stay
// within the budget.
import { test, expect, expectContiguous, until } from './fixtures.js';

const FAST = { initialBackoffMs: 300, maxBackoffMs: 2000, minRetryMs: 100 };

/** Counts the page's connection attempts to the backends (refused ones too). */
function countAttempts(page, urls) {
  const attempts = [];
  page.on('request', (r) => {
    if (urls.some((u) => r.url().startsWith(u))) attempts.push({ at: Date.now(), url: r.url() });
  });
  return attempts;
}

/** Most attempts inside any sliding window of `ms`. */
function peakInWindow(attempts, ms) {
  let peak = 0;
  for (let i = 0; i < attempts.length; i++) {
    let n = 0;
    for (let j = i; j < attempts.length && attempts[j].at - attempts[i].at < ms; j++) n++;
    peak = Math.max(peak, n);
  }
  return peak;
}

async function track(page, urls, options) {
  await page.evaluate(([u, o]) => window.track(u, o), [urls, options]);
}

/** Most seeds trackStartingAt tries before giving up. */
const MAX_SEEDS = 1000;

/** Starts with a seed whose first pick is endpoint `index` (pick depends only on seed and count). */
async function trackStartingAt(page, urls, options, index) {
  await page.evaluate(
    ([u, o, want, maxSeeds]) => {
      const dummies = u.map((_, i) => `${location.origin}/probe-${i}`);
      for (let seed = 0; seed < maxSeeds; seed++) {
        const probe = new window.sseb.BalancedEventSource(dummies, { ...o, seed });
        const first = probe.stats().activeEndpoint;
        probe.close();
        if (first === want) return window.track(u, { ...o, seed });
      }
      throw new Error(`trackStartingAt: none of seeds 0..${maxSeeds - 1} starts at endpoint ${want} of ${u.length}`);
    },
    [urls, { policy: 'round-robin', ...options }, index, MAX_SEEDS],
  );
}

async function activeIndex(page, env) {
  return env.urls.indexOf(await page.evaluate(() => window.source.url));
}

async function expectMovedOn(page, deadUrl, count = 10) {
  const before = await page.evaluate((dead) => window.log.messages.filter((m) => m.endpoint !== dead).length, deadUrl);
  await page.waitForFunction(
    ([dead, n]) => window.log.messages.filter((m) => m.endpoint !== dead).length >= n,
    [deadUrl, before + count],
  );
}

test('kill: connections reset and port closed -> closed, and the stream moves on', async ({ env, harness }) => {
  const { page } = harness;
  const attempts = countAttempts(page, env.urls);
  await track(page, env.urls, { ...FAST, maxConnectsPerMinute: 30 });
  await page.waitForFunction(() => window.log.messages.length >= 5);
  const victim = await activeIndex(page, env);
  await env.cluster.kill(victim);
  await expectMovedOn(page, env.urls[victim]);
  const log = await page.evaluate(() => window.log);
  expect(log.errors[0]).toMatchObject({ reason: 'closed', endpoint: env.urls[victim] });
  expect(log.failovers[0]).toMatchObject({ from: env.urls[victim], reason: 'closed' });
  expectContiguous(log.messages.map((m) => m.id));
  expect(peakInWindow(attempts, 60_000)).toBeLessThanOrEqual(30);
});

test('stall: the stream stays open but sends nothing -> stall after heartbeatTimeoutMs', async ({ env, harness }) => {
  const { page } = harness;
  await track(page, env.urls, { ...FAST, heartbeatTimeoutMs: 1500 });
  await page.waitForFunction(() => window.log.messages.length >= 5);
  const victim = await activeIndex(page, env);
  await env.cluster.setMode(victim, 'stall'); // freezes its open stream too
  await expectMovedOn(page, env.urls[victim]);
  const log = await page.evaluate(() => window.log);
  const stats = await page.evaluate(() => window.source.stats());
  expect(log.errors[0]).toMatchObject({ reason: 'stall', endpoint: env.urls[victim] });
  expect(log.failovers[0]).toMatchObject({ from: env.urls[victim], reason: 'stall' });
  expect(stats.endpoints[victim].failuresByReason.stall).toBe(1);
  expectContiguous(log.messages.map((m) => m.id));
  // The stalled stream was closed by the balancer, on the server side too.
  await until(() => env.cluster.openStreams(victim) === 0, { message: 'stalled stream closed' });
});

test('heartbeats keep a quiet stream alive under the watchdog', async ({ page }) => {
  const { startEnv } = await import('./fixtures.js');
  const env = await startEnv({ intervalMs: 0, heartbeatMs: 300 }); // no data, only heartbeats
  try {
    await page.goto(env.harnessUrl);
    await page.waitForFunction(() => window.harnessReady === true);
    await track(page, env.urls, { heartbeatTimeoutMs: 1000 });
    await page.waitForFunction(() => window.source.readyState === 1);
    await page.waitForTimeout(2500);
    const log = await page.evaluate(() => window.log);
    expect(log.errors).toEqual([]);
    expect(log.opens).toBe(1);
  } finally {
    await env.stop();
  }
});

for (const [mode, reason] of [
  ['status-500', 'http'],
  ['status-204', 'http'],
  ['status-404', 'http'],
  ['bad-content-type', 'http'],
]) {
  test(`${mode} -> ${reason}, left for a healthy backend`, async ({ env, harness }) => {
    const { page } = harness;
    await env.cluster.setMode(0, mode);
    const attempts = countAttempts(page, env.urls);
    await trackStartingAt(page, env.urls, { ...FAST }, 0);
    await page.waitForFunction(() => window.log.messages.length >= 10);
    const log = await page.evaluate(() => window.log);
    expect(log.errors[0]).toMatchObject({ reason, endpoint: env.urls[0] });
    expect(log.messages.every((m) => m.endpoint !== env.urls[0])).toBe(true);
    expectContiguous(log.messages.map((m) => m.id));
    expect(attempts.filter((a) => a.url.startsWith(env.urls[0])).length).toBeLessThanOrEqual(2);
  });
}

test('slow accept: a connection that never opens within connectTimeoutMs is a stall', async ({ env, harness }) => {
  const { page } = harness;
  await env.cluster.setMode(0, 'slow-accept', { delayMs: 20_000 });
  await trackStartingAt(page, env.urls, { ...FAST, connectTimeoutMs: 800 }, 0);
  await page.waitForFunction(() => window.log.messages.length >= 5);
  const log = await page.evaluate(() => window.log);
  expect(log.errors[0]).toMatchObject({ reason: 'stall', endpoint: env.urls[0] });
  expect(log.failovers[0]).toMatchObject({ from: env.urls[0], reason: 'stall' });
  expectContiguous(log.messages.map((m) => m.id));
});

test('flapping backend (down/up every 250 ms): stream stays whole and attempts stay in budget', async ({
  env,
  harness,
}) => {
  const { page } = harness;
  const attempts = countAttempts(page, env.urls);
  await trackStartingAt(page, env.urls, { ...FAST, maxConnectsPerMinute: 40, ejectAfterFailures: 2 }, 0);
  await page.waitForFunction(() => window.log.messages.length >= 3);
  const stops = [env.cluster.flap(0, { periodMs: 250 }), env.cluster.flap(1, { periodMs: 350 })];
  await page.waitForTimeout(4000);
  for (const stop of stops) await stop();
  const n = await page.evaluate(() => window.log.messages.length);
  await page.waitForFunction((k) => window.log.messages.length >= k + 10, n);
  const log = await page.evaluate(() => window.log);
  expectContiguous(log.messages.map((m) => m.id));
  expect(peakInWindow(attempts, 60_000)).toBeLessThanOrEqual(40);
  // The flapping really hit the client: its stream started on backend 0, which
  // went down within 250 ms, so it saw errors and moved to another backend.
  expect(log.errors.length, 'the client saw the flapping backends fail').toBeGreaterThanOrEqual(1);
  expect(log.errors[0]).toMatchObject({ endpoint: env.urls[0] });
  expect(log.failovers.length, 'the client failed over at least once').toBeGreaterThanOrEqual(1);
  expect(log.failovers[0]).toMatchObject({ from: env.urls[0] });
  for (const e of log.errors) expect(['closed', 'network', 'http']).toContain(e.reason);
  expect(attempts.filter((a) => a.url.startsWith(env.urls[0])).length, 'attempts on the flapping backend 0').toBeGreaterThanOrEqual(1);
});

test('all down then up: retries keep the floor and the budget; the first backend up resumes with no gap', async ({
  env,
  harness,
}) => {
  const { page } = harness;
  const attempts = countAttempts(page, env.urls);
  await track(page, env.urls, { ...FAST, jitter: 0, maxConnectsPerMinute: 24 });
  await page.waitForFunction(() => window.log.messages.length >= 5);
  const downAt = Date.now();
  await Promise.all([0, 1, 2].map((i) => env.cluster.kill(i)));
  await page.waitForTimeout(3000);
  const stats = await page.evaluate(() => window.source.stats());
  expect(stats.readyState).toBe(0);
  expect(stats.connectsLastMinute.limit).toBe(24);
  expect(stats.connectsLastMinute.used).toBeLessThanOrEqual(24);
  expect(peakInWindow(attempts, 60_000)).toBeLessThanOrEqual(24);
  // Attempts while down keep the 100 ms floor between them.
  const down = attempts.filter((a) => a.at >= downAt).map((a) => a.at);
  expect(down.length).toBeLessThanOrEqual(Math.ceil((Date.now() - downAt) / 100) + 3);
  await env.cluster.revive(2);
  const n = await page.evaluate(() => window.log.messages.length);
  await page.waitForFunction((k) => window.log.messages.length >= k + 10, n, { timeout: 30_000 });
  expectContiguous(await page.evaluate(() => window.ids()));
});

test('budget: servers answering 500 as fast as they can never get more than maxConnectsPerMinute', async ({
  env,
  harness,
}) => {
  const { page } = harness;
  for (const i of [0, 1, 2]) await env.cluster.setMode(i, 'status-500');
  const attempts = countAttempts(page, env.urls);
  await track(page, env.urls, { initialBackoffMs: 10, maxBackoffMs: 20, minRetryMs: 10, maxConnectsPerMinute: 8 });
  await page.waitForTimeout(3000);
  // Without the budget, 10-20 ms backoffs over three backends would make
  // hundreds of attempts in 3 s. Past half the budget the outage rounds slow
  // to the pace it sustains (3 per 60 s / 8 = 22.5 s), so it may not even be
  // spent; how many attempts come before that depends on how fast the 10 ms
  // cool-downs end, but never more than the budget, and every backend is
  // tried.
  const stats = await page.evaluate(() => window.source.stats());
  expect(attempts.length).toBeGreaterThanOrEqual(4);
  expect(attempts.length).toBeLessThanOrEqual(8);
  expect(stats.connectsLastMinute).toEqual({ used: attempts.length, limit: 8 });
  for (const e of stats.endpoints) expect(e.connects).toBeGreaterThanOrEqual(1);
  expect(stats.readyState).toBe(0);
});

test('offline pauses attempts; online reconnects at once with no gap', async ({ env, harness, context }) => {
  const { page } = harness;
  await track(page, env.urls, { ...FAST, maxBackoffMs: 5000 });
  await page.waitForFunction(() => window.log.messages.length >= 5);
  const attempts = countAttempts(page, env.urls);
  await context.setOffline(true);
  // setOffline does not cut an open stream: end it from the server.
  const victim = await activeIndex(page, env);
  await env.cluster.kill(victim);
  await page.waitForFunction(() => window.source.stats().offline === true);
  await page.waitForTimeout(2000);
  const whileOffline = attempts.length;
  // At most the immediate failover attempts before the offline signal won,
  // no retry loop while offline.
  expect(whileOffline).toBeLessThanOrEqual(3);
  expect(await page.evaluate(() => window.source.readyState)).toBe(0);
  await env.cluster.revive(victim);
  const onlineAt = Date.now();
  await context.setOffline(false);
  await page.waitForFunction(() => window.source.readyState === 1);
  expect(Date.now() - onlineAt).toBeLessThan(1500); // not after a backoff of seconds
  const n = await page.evaluate(() => window.log.messages.length);
  await page.waitForFunction((k) => window.log.messages.length >= k + 5, n);
  expectContiguous(await page.evaluate(() => window.ids()));
});

test('a hidden tab keeps its healthy stream; visible again reconnects a dead one at once', async ({ env, harness }) => {
  const { page } = harness;
  await track(page, env.urls, { ...FAST, initialBackoffMs: 20_000, maxBackoffMs: 20_000, jitter: 0 });
  await page.waitForFunction(() => window.log.messages.length >= 5);
  const setVisibility = (state) =>
    page.evaluate((s) => {
      Object.defineProperty(document, 'visibilityState', { value: s, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }, state);
  await setVisibility('hidden');
  await page.waitForTimeout(500);
  expect(await page.evaluate(() => window.log.opens)).toBe(1); // no teardown on hide
  expect(env.cluster.totalOpenStreams()).toBe(1);
  // Every backend goes away and comes back while "hidden": the retry waits 20 s.
  await Promise.all([0, 1, 2].map((i) => env.cluster.kill(i)));
  await page.waitForFunction(() => window.log.errors.length >= 3);
  await Promise.all([0, 1, 2].map((i) => env.cluster.revive(i)));
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => window.source.readyState)).toBe(0);
  const visibleAt = Date.now();
  await setVisibility('visible');
  // The cool-downs are 20 s; coming back to the tab ends the wait at once.
  await page.waitForFunction(() => window.source.readyState === 1);
  expect(Date.now() - visibleAt).toBeLessThan(3000);
  const n = await page.evaluate(() => window.log.messages.length);
  await page.waitForFunction((k) => window.log.messages.length >= k + 5, n);
  expectContiguous(await page.evaluate(() => window.ids()));
});

test('urlProvider: a fresh URL per connection; throwing or rejecting fails that endpoint with reason provider', async ({
  env,
  harness,
}) => {
  const { page } = harness;
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));
  await page.evaluate(
    ([urls, fast]) => {
      let n = 0;
      window.track(urls, {
        ...fast,
        urlProvider: async (url, { endpoint }) => {
          if (endpoint === urls[0]) throw new Error('token service down');
          if (endpoint === urls[1]) return Promise.reject(new Error('rejected'));
          const u = new URL(url);
          u.searchParams.set('token', `t${++n}`);
          return u.href;
        },
      });
    },
    [env.urls, FAST],
  );
  await page.waitForFunction(() => window.log.messages.length >= 5);
  const url = await page.evaluate(() => window.source.url);
  expect(url).toBe(env.urls[2]);
  const stats = await page.evaluate(() => window.source.stats());
  const provided = requested.filter((r) => r.startsWith(env.urls[2]));
  expect(new URL(provided[0]).searchParams.get('token')).toBe('t1');
  for (const i of [0, 1]) {
    if (stats.endpoints[i].connects > 0) {
      expect(stats.endpoints[i].lastError).toBe('provider');
      expect(stats.endpoints[i].opens).toBe(0);
    }
  }
  // No request ever went to an endpoint whose provider failed.
  expect(requested.some((r) => r.startsWith(env.urls[0]) || r.startsWith(env.urls[1]))).toBe(false);
  // A reconnect gets a fresh token.
  await env.cluster.kill(2);
  await page.waitForFunction(() => window.log.errors.some((e) => e.reason === 'closed'));
  await env.cluster.revive(2);
  await page.waitForFunction(() => window.log.opens >= 2, null, { timeout: 20_000 });
  const tokens = requested.filter((r) => r.startsWith(env.urls[2])).map((r) => new URL(r).searchParams.get('token'));
  expect(new Set(tokens).size).toBe(tokens.length);
  const errors = await page.evaluate(() => window.log.errors.filter((e) => e.reason === 'provider'));
  expect(errors.length).toBeGreaterThanOrEqual(1);
});

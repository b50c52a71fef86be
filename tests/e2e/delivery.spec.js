// Both policies deliver a live stream through real EventSources.
import { test, expect, expectContiguous } from './fixtures.js';

for (const policy of ['round-robin', 'random']) {
  test(`${policy}: events arrive in order through one of the backends`, async ({ env, harness }) => {
    const { page } = harness;
    await page.evaluate(([urls, policy]) => window.track(urls, { policy }), [env.urls, policy]);
    await page.waitForFunction(() => window.log.messages.length >= 15);
    const state = await page.evaluate(() => ({
      readyState: window.source.readyState,
      url: window.source.url,
      log: window.log,
      stats: window.source.stats(),
    }));
    expect(state.readyState).toBe(1);
    expect(env.urls).toContain(state.url);
    expect(state.log.opens).toBe(1);
    expect(state.stats.policy).toBe(policy);
    for (const m of state.log.messages) {
      expect(m.endpoint).toBe(state.url);
      expect(m.data).toBe(m.id); // the generator writes the id as data
      expect(m.origin).toBe(new URL(state.url).origin);
    }
    expectContiguous(state.log.messages.map((m) => m.id));
    const active = state.stats.endpoints[state.stats.activeEndpoint];
    expect(active.url).toBe(state.url);
    expect(active.state).toBe('open');
    expect(active.messages).toBeGreaterThanOrEqual(15);
    // Exactly one stream is open, on the server side too.
    expect(env.cluster.totalOpenStreams()).toBe(1);
  });
}

test('`endpoint` is a plain own property set on the browser\'s event (README: a listener could overwrite it)', async ({ env, harness }) => {
  const { page } = harness;
  const seen = await page.evaluate(
    (urls) =>
      new Promise((resolve) => {
        const source = new window.sseb.BalancedEventSource(urls);
        const out = {};
        source.addEventListener('message', (e) => {
          out.descriptor = Object.getOwnPropertyDescriptor(e, 'endpoint');
          out.trusted = e.isTrusted;
          e.endpoint = 'changed by the first listener';
        });
        source.addEventListener('message', (e) => {
          out.second = e.endpoint;
          out.active = source.url;
          source.close();
          resolve(out);
        });
      }),
    env.urls,
  );
  expect(seen.trusted).toBe(true);
  expect(seen.descriptor).toEqual({ value: seen.active, writable: true, enumerable: true, configurable: true });
  expect(seen.second).toBe('changed by the first listener');
});

test('random policy spreads fresh pages over every backend', async ({ env, harness }) => {
  const { page } = harness;
  // 60 fresh sources, each closed at once: the first pick is all we look at.
  const picks = await page.evaluate((urls) => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 60; i++) {
      const s = new window.sseb.BalancedEventSource(urls, { policy: 'random' });
      counts[s.stats().activeEndpoint]++;
      s.close();
    }
    return counts;
  }, env.urls);
  for (const c of picks) expect(c).toBeGreaterThan(5);
});

test('round-robin starts at a random index, not always the first', async ({ env, harness }) => {
  const { page } = harness;
  const picks = await page.evaluate((urls) => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 60; i++) {
      const s = new window.sseb.BalancedEventSource(urls, { policy: 'round-robin' });
      counts[s.stats().activeEndpoint]++;
      s.close();
    }
    return counts;
  }, env.urls);
  for (const c of picks) expect(c).toBeGreaterThan(5);
});

test('weighted 1:2:3: fresh pages land in proportion to the weights', async ({ env, harness }) => {
  const counts = await harness.page.evaluate((urls) => {
    const out = [0, 0, 0];
    for (let seed = 1; seed <= 600; seed++) {
      const s = new window.sseb.BalancedEventSource(urls, { policy: 'weighted', weights: [1, 2, 3], seed });
      out[s.stats().activeEndpoint]++;
      s.close();
    }
    return out;
  }, env.urls);
  // Expected 100, 200, 300; the first pick is a random point of the weighted sequence.
  expect(counts[0]).toBeGreaterThan(70);
  expect(counts[0]).toBeLessThan(130);
  expect(counts[1]).toBeGreaterThan(160);
  expect(counts[1]).toBeLessThan(240);
  expect(counts[2]).toBeGreaterThan(250);
  expect(counts[2]).toBeLessThan(350);
});

test('sticky: a key keeps its backend across reloads and moves only when that backend fails', async ({ env, harness }) => {
  const { page } = harness;
  const pickFor = (key) =>
    page.evaluate(
      ([urls, k]) => {
        const s = new window.sseb.BalancedEventSource(urls, { policy: 'sticky', stickyKey: k });
        const active = s.stats().activeEndpoint;
        s.close();
        return active;
      },
      [env.urls, key],
    );
  const first = await pickFor('room-7');
  for (let reload = 0; reload < 20; reload++) {
    await page.reload();
    await page.waitForFunction(() => window.harnessReady === true);
    expect(await pickFor('room-7')).toBe(first);
  }
  // Its backend fails: the key streams elsewhere, and comes back to nothing else.
  await env.cluster.kill(first);
  const moved = await page.evaluate(
    ([urls]) =>
      new Promise((resolve) => {
        const s = new window.sseb.BalancedEventSource(urls, { policy: 'sticky', stickyKey: 'room-7', initialBackoffMs: 200, minRetryMs: 50 });
        s.onopen = () => {
          const active = s.stats().activeEndpoint;
          s.close();
          resolve(active);
        };
      }),
    [env.urls],
  );
  expect(moved).not.toBe(first);
  // The sticky policy without its key is a mistake, named.
  const error = await page.evaluate((urls) => {
    try {
      new window.sseb.BalancedEventSource(urls, { policy: 'sticky' });
      return null;
    } catch (e) {
      return e.message;
    }
  }, env.urls);
  expect(error).toMatch(/stickyKey/);
});

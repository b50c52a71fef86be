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

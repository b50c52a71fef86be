// lastEventId as a single native EventSource reports it: it persists across
// reconnections (also onto another endpoint) and `id:` with no value resets
// it. Regression tests for issue 8, item 1.
import { test, expect } from './fixtures.js';
import { startScriptedServer, frame } from './scripted-server.js';

const QUICK = { initialBackoffMs: 200, maxBackoffMs: 400, minRetryMs: 50, jitter: 0 };

test('an event without an id on a new connection carries the last id (one URL)', async ({ env, harness }) => {
  const { page } = harness;
  const server = await startScriptedServer({
    origin: env.pages.origin,
    script: (n, req, res) => {
      if (n === 0) {
        res.write(frame({ id: 5, data: 'a' }));
        res.end();
      } else if (n === 1) {
        res.write(frame({ data: 'b' })); // no id field
        res.write(frame({ data: 'c' }));
      }
    },
  });
  try {
    await page.evaluate(([u, q]) => window.track([u], q), [server.url, QUICK]);
    await page.waitForFunction(() => window.log.messages.length >= 3);
    const r = await page.evaluate(() => ({ log: window.log, stats: window.source.stats() }));
    expect(r.log.messages.map((m) => [m.data, m.id])).toEqual([
      ['a', '5'],
      ['b', '5'],
      ['c', '5'],
    ]);
    expect(r.stats.lastEventId).toBe('5');
  } finally {
    await server.close();
  }
});

test('after a failover to another endpoint, id-less events carry the last id; `id:` empty resets it', async ({
  env,
  harness,
}) => {
  const { page } = harness;
  const script = (n, req, res) => {
    // Each server: the first connection it gets sends id 9 and ends; the
    // next ones send an id-less event, id 10, an empty `id:` (a reset, seen
    // because this connection had reported an id), then another event.
    if (!req.url.includes('lastEventId')) {
      res.write(frame({ id: 9, data: 'first' }));
      res.end();
      return;
    }
    res.write(frame({ data: 'no id' }));
    res.write(frame({ id: 10, data: 'ten' }));
    res.write('id\ndata: reset\n\n');
    res.write(frame({ data: 'after reset' }));
  };
  const servers = [
    await startScriptedServer({ origin: env.pages.origin, script }),
    await startScriptedServer({ origin: env.pages.origin, script }),
  ];
  try {
    await page.evaluate(([u, q]) => window.track(u, q), [servers.map((s) => s.url), QUICK]);
    await page.waitForFunction(() => window.log.messages.length >= 5);
    const r = await page.evaluate(() => ({ log: window.log, stats: window.source.stats() }));
    expect(r.log.messages.slice(0, 5).map((m) => [m.data, m.id])).toEqual([
      ['first', '9'],
      ['no id', '9'],
      ['ten', '10'],
      ['reset', ''],
      ['after reset', ''],
    ]);
    expect(r.log.messages[1].endpoint).not.toBe(r.log.messages[0].endpoint);
    expect(r.stats.lastEventId).toBe('');
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

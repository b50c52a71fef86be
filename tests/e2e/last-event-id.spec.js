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

test('ids that look numeric but are not written as the core prints a number are distinct ids, kept as sent', async ({
  env,
  harness,
}) => {
  // Decimal ids cross into Wasm as numbers. '007' and '7', '1e3' and
  // '1000' are different ids: converting the first of each to a number
  // would make the second a duplicate and drop it.
  const { page } = harness;
  const ids = ['007', '1e3', '7', '1000', '00', '+5', '0', '5', '123456789012345', '1234567890123456', '12345678901234567', ' 8', '8', '0x9', '9'];
  const server = await startScriptedServer({
    origin: env.pages.origin,
    script: (n, req, res) => {
      if (n > 0) return;
      for (const id of ids) res.write(`id: ${id}\ndata: ${JSON.stringify(id)}\n\n`);
    },
  });
  try {
    await page.evaluate(([u, q]) => window.track([u], q), [server.url, QUICK]);
    await page.waitForFunction((count) => window.log.messages.length >= count, ids.length);
    await page.waitForTimeout(100); // nothing more arrives
    const r = await page.evaluate(() => ({ log: window.log, stats: window.source.stats() }));
    // ' 8' keeps its space: the SSE parser drops only the one after the colon.
    expect(r.log.messages.map((m) => m.id)).toEqual(ids);
    expect(r.log.messages.map((m) => JSON.parse(m.data))).toEqual(ids);
    expect(r.stats.lastEventId).toBe('9');
    expect(r.stats.endpoints[0].duplicates).toBe(0);
  } finally {
    await server.close();
  }
});

test("a server's own `event: error` and `event: open` are messages: their ids count, the stream stays", async ({ env, harness }) => {
  // EventSource hands them over as MessageEvents of type error / open; they
  // say nothing about the connection. Taken for the connection's state, an
  // `event: error` tore a healthy stream down and resumed before its id,
  // so the server sent it again, and again.
  const { page } = harness;
  const server = await startScriptedServer({
    origin: env.pages.origin,
    script: (n, req, res) => {
      if (n > 0) return;
      res.write(frame({ id: 1, data: 'one' }));
      res.write(frame({ id: 2, type: 'error', data: '{"code": 42}' }));
      res.write(frame({ id: 3, type: 'open', data: 'x' }));
      res.write(frame({ id: 4, data: 'four' }));
    },
  });
  try {
    await page.evaluate(([u, q]) => window.track([u], q), [server.url, QUICK]);
    await page.waitForFunction(() => window.log.messages.length >= 2, null, { timeout: 5000 });
    await page.waitForTimeout(300); // a reconnection would show by now
    const r = await page.evaluate(() => ({ log: window.log, stats: window.source.stats(), readyState: window.source.readyState }));
    expect(r.log.messages.map((m) => m.id)).toEqual(['1', '4']);
    expect(r.log.errors).toEqual([]);
    expect(r.log.failovers).toEqual([]);
    expect(r.log.opens).toBe(1);
    expect(r.readyState).toBe(1);
    expect(r.stats.lastEventId).toBe('4');
    expect(r.stats.endpoints[0].opens).toBe(1);
    expect(server.requests).toHaveLength(1);
  } finally {
    await server.close();
  }
});

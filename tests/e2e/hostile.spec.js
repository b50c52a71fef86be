// Hostile and odd streams: restarted id sequences, odd or huge ids, huge
// events, thousands of event types, duplicate URLs.
import { test, expect, expectContiguous } from './fixtures.js';
import { startScriptedServer, frame } from './scripted-server.js';

const QUICK = { initialBackoffMs: 200, maxBackoffMs: 400, minRetryMs: 50, jitter: 0 };

async function withScripted(env, script, fn) {
  const server = await startScriptedServer({ origin: env.pages.origin, script });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

test('ids that go backwards (the server restarted its log) are delivered, not dropped as duplicates', async ({
  env,
  harness,
}) => {
  const { page } = harness;
  await withScripted(
    env,
    (n, req, res) => {
      if (n === 0) {
        for (let id = 1; id <= 5; id++) res.write(frame({ id, data: `first life ${id}` }));
        res.end();
      } else if (n === 1) {
        // Restarted: it does not know id 5 and starts again at 1.
        for (let id = 1; id <= 3; id++) res.write(frame({ id, data: `second life ${id}` }));
      }
    },
    async (server) => {
      await page.evaluate(([u, q]) => window.track([u], q), [server.url, QUICK]);
      await page.waitForFunction(() => window.log.messages.length >= 8);
      const r = await page.evaluate(() => ({ log: window.log, stats: window.source.stats() }));
      expect(r.log.messages.map((m) => m.data)).toEqual([
        'first life 1', 'first life 2', 'first life 3', 'first life 4', 'first life 5',
        'second life 1', 'second life 2', 'second life 3',
      ]);
      expect(r.stats.idResets).toBe(1);
      expect(r.log.errors[0].reason).toBe('closed');
      expect(new URL(server.url.replace(/\/events$/, '') + server.requests[1].url).searchParams.get('lastEventId')).toBe('5');
    },
  );
});

test('a replay that repeats the resume id drops exactly that duplicate', async ({ env, harness }) => {
  const { page } = harness;
  await withScripted(
    env,
    (n, req, res) => {
      if (n === 0) {
        for (let id = 1; id <= 5; id++) res.write(frame({ id, data: String(id) }));
        res.end();
      } else if (n === 1) {
        // Inclusive replay from the resume id, as some servers do.
        for (let id = 5; id <= 8; id++) res.write(frame({ id, data: String(id) }));
      }
    },
    async (server) => {
      await page.evaluate(([u, q]) => window.track([u], q), [server.url, QUICK]);
      await page.waitForFunction(() => window.log.messages.length >= 8);
      await page.waitForTimeout(200);
      const r = await page.evaluate(() => ({ ids: window.ids(), stats: window.source.stats() }));
      expectContiguous(r.ids);
      expect(r.ids).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
      expect(r.stats.endpoints[0].duplicates).toBe(1);
      expect(r.stats.idResets).toBe(0);
    },
  );
});

test('odd ids are delivered intact; an id too long for a URL is delivered but not carried', async ({
  env,
  harness,
}) => {
  const { page } = harness;
  const long = 'x'.repeat(3000);
  const odd = ['a b', 'ünï-çødé', '10x', '&lastEventId=evil#frag', long];
  await withScripted(
    env,
    (n, req, res) => {
      if (n === 0) {
        odd.forEach((id, i) => res.write(frame({ id, data: `odd ${i}` })));
        res.end();
      } else {
        res.write(frame({ id: 'after', data: 'after' }));
      }
    },
    async (server) => {
      await page.evaluate(([u, q]) => window.track([u], q), [server.url, QUICK]);
      await page.waitForFunction(() => window.log.messages.length >= 6);
      const ids = await page.evaluate(() => window.ids());
      expect(ids).toEqual([...odd, 'after']);
      // The 3000-byte id was not put in the URL of the reconnect.
      expect(server.requests[1].url).toBe('/events');
    },
  );
});

test('an odd id is carried percent-encoded and the server gets it back exactly', async ({ env, harness }) => {
  const { page } = harness;
  const id = '&lastEventId=evil#frag ü';
  await withScripted(
    env,
    (n, req, res) => {
      if (n === 0) {
        res.write(frame({ id, data: 'one' }));
        res.end();
      } else {
        res.write(frame({ id: 'two', data: 'two' }));
      }
    },
    async (server) => {
      await page.evaluate(([u, q]) => window.track([`${u}?room=1`], q), [server.url, QUICK]);
      await page.waitForFunction(() => window.log.messages.length >= 2);
      const params = new URL(`http://x${server.requests[1].url}`).searchParams;
      expect(params.get('lastEventId')).toBe(id);
      expect(params.get('room')).toBe('1');
      expect([...params.keys()]).toEqual(['room', 'lastEventId']);
    },
  );
});

test('a 5 MB event arrives whole', async ({ env, harness }) => {
  const { page } = harness;
  await page.evaluate((urls) => window.track(urls, {}), env.urls);
  await page.waitForFunction(() => window.source.readyState === 1);
  const big = 'y'.repeat(5 * 1024 * 1024);
  const entry = env.log.append('message', big);
  await page.waitForFunction((id) => window.log.messages.some((m) => m.id === String(id)), entry.id, {
    timeout: 30_000,
  });
  const r = await page.evaluate(
    (id) => {
      const m = window.log.messages.find((x) => x.id === String(id));
      return { length: m.data.length, allY: /^y+$/.test(m.data) };
    },
    entry.id,
  );
  expect(r).toEqual({ length: big.length, allY: true });
  expectContiguous(await page.evaluate(() => window.ids()));
});

test('3000 named event types are all forwarded, to the open and to later EventSources', async ({
  env,
  harness,
}) => {
  const { page } = harness;
  await page.evaluate(
    ([urls, quick]) => {
      window.track(urls, quick);
      window.typed = [];
      for (let i = 0; i < 3000; i++) {
        window.source.addEventListener(`type-${i}`, (e) => window.typed.push([e.type, e.data]));
      }
    },
    [env.urls, { ...QUICK, jitter: 1 }],
  );
  await page.waitForFunction(() => window.source.readyState === 1);
  env.log.append('type-2999', 'last');
  env.log.append('type-0', 'first');
  await page.waitForFunction(() => window.typed.length >= 2);
  // After a failover the new EventSource gets every type too.
  const url = await page.evaluate(() => window.source.url);
  await env.cluster.kill(env.urls.indexOf(url));
  await page.waitForFunction((dead) => window.source.readyState === 1 && window.source.url !== dead, url);
  env.log.append('type-1500', 'middle');
  await page.waitForFunction(() => window.typed.length >= 3);
  expect(await page.evaluate(() => window.typed)).toEqual([
    ['type-2999', 'last'],
    ['type-0', 'first'],
    ['type-1500', 'middle'],
  ]);
});

test('duplicate URLs (also after resolving) count as one endpoint', async ({ env, harness }) => {
  const { page } = harness;
  const origin = new URL(env.urls[0]).origin;
  const endpoints = await page.evaluate(
    ([a, b, o]) => {
      const s = new window.sseb.BalancedEventSource([a, b, a, `${o}/events`, b]);
      const list = s.endpoints.map((e) => e.url);
      s.close();
      return list;
    },
    [env.urls[0], env.urls[1], origin],
  );
  expect(endpoints).toEqual([env.urls[0], env.urls[1]]);
});

// Endpoint lists while the stream runs: `source.setEndpoints(list)` from the
// app, and `event: sse-balancer.endpoints` from a server whose cluster grew or
// shrank (the control API's add and remove). New endpoints join, removed ones
// are left, and a stream on a removed one moves first (make before break).
import { test, expect } from '@playwright/test';
import { startEnv, expectContiguous, openHarness, until } from './fixtures.js';
import { startScriptedServer, frame, sseHead } from './scripted-server.js';

let env;
test.afterEach(async () => {
  await env?.stop();
});

/** `count` balanced sources in one page (one browser profile), recording what they deliver. */
async function openClients(browser, count, urls, options = {}) {
  const context = await browser.newContext();
  const { page, pageErrors } = await openHarness(context, env);
  await page.evaluate(
    ([list, n, opts]) => {
      window.clients = window.clients ?? [];
      for (let k = 0; k < n; k++) {
        const got = { ids: [], failovers: [], errors: 0, control: 0 };
        const s = new window.sseb.BalancedEventSource(list, opts);
        s.onmessage = (e) => got.ids.push(Number(e.lastEventId));
        s.addEventListener('failover', (e) => got.failovers.push(e.reason));
        s.addEventListener('sse-balancer.endpoints', () => got.control++); // reserved: never delivered
        s.onerror = () => got.errors++;
        window.clients.push({ s, got });
      }
    },
    [urls, count, options],
  );
  return { context, page, pageErrors };
}

const results = (page) =>
  page.evaluate(() =>
    window.clients.map(({ s, got }) => ({
      ids: got.ids,
      failovers: got.failovers,
      errors: got.errors,
      control: got.control,
      url: s.url,
      endpoints: s.stats().endpoints.map((e) => e.url),
    })),
  );

const streamsPer = () => env.cluster.backends.map((b) => (b.removed ? 0 : env.cluster.openStreams(b.index)));

test('setEndpoints: the streaming endpoint removed, the stream moves first and loses nothing', async ({ browser }) => {
  env = await startEnv({ count: 3, intervalMs: 20 });
  const [a, b, c] = env.urls;
  const group = await openClients(browser, 1, [a, b]);
  await group.page.waitForFunction(() => window.clients[0].got.ids.length >= 10);
  const before = await group.page.evaluate(() => window.clients[0].s.url);
  // The new list drops the endpoint in use and adds a new one.
  const next = before === a ? [b, c] : [a, c];
  // Until the stream has moved, the endpoint it is on is listed, retired.
  const during = await group.page.evaluate((list) => {
    window.clients[0].s.setEndpoints(list);
    return window.clients[0].s.stats().endpoints.map((e) => [e.url, e.retired]);
  }, next);
  expect(during).toEqual([...next.map((u) => [u, false]), [before, true]]);
  await until(() => env.cluster.openStreams(env.urls.indexOf(before)) === 0, { message: 'the removed endpoint left' });
  const count = (await results(group.page))[0].ids.length;
  await group.page.waitForFunction((n) => window.clients[0].got.ids.length >= n + 10, count);
  const [got] = await results(group.page);
  expectContiguous(got.ids);
  expect(got.errors).toBe(0);
  expect(got.control).toBe(0);
  expect(got.endpoints).toEqual(next);
  expect(next).toContain(got.url);
  expect(got.failovers).toEqual(['drain']);
  expect(group.pageErrors).toEqual([]);
  await group.context.close();
});

test('setEndpoints checks its list as the constructor does, and throws after close()', async ({ browser }) => {
  env = await startEnv({ count: 2, intervalMs: 0 });
  const group = await openClients(browser, 1, env.urls);
  const errors = await group.page.evaluate(() => {
    const { s } = window.clients[0];
    const attempt = (list) => {
      try {
        s.setEndpoints(list);
        return 'accepted';
      } catch (e) {
        return `${e.name}: ${e.message}`;
      }
    };
    const out = {
      empty: attempt([]),
      notArray: attempt('http://127.0.0.1:1/a'),
      scheme: attempt(['ftp://127.0.0.1/a']),
      weight: attempt([{ url: '/a', weight: -1 }]),
      entry: attempt([42]),
      tooMany: attempt(Array.from({ length: 1025 }, (_, i) => `http://127.0.0.1:1/${i}`)),
      endpoints: s.stats().endpoints.length,
    };
    s.close();
    out.closed = attempt(['/a']);
    return out;
  });
  expect(errors.empty).toMatch(/^TypeError: .*non-empty array/);
  expect(errors.notArray).toMatch(/^TypeError: .*non-empty array/);
  expect(errors.scheme).toMatch(/^SyntaxError: .*ftp:/);
  expect(errors.weight).toMatch(/^TypeError: .*weight must be a positive number/);
  expect(errors.entry).toMatch(/^TypeError: .*entry 0 must be a URL/);
  expect(errors.tooMany).toMatch(/^RangeError: .*at most 1024 endpoints/);
  expect(errors.endpoints).toBe(2); // nothing changed by a refused list
  expect(errors.closed).toMatch(/^InvalidStateError: /);
  await group.context.close();
});

test('weights given with setEndpoints steer the weighted policy: 60 requests go 10 / 20 / 30', async ({ browser }) => {
  env = await startEnv({ count: 3, intervalMs: 0 });
  const group = await openClients(browser, 1, env.urls, { policy: 'weighted' });
  const counts = await group.page.evaluate(async (urls) => {
    const { s } = window.clients[0];
    s.setEndpoints(urls.map((url, i) => ({ url, weight: i + 1 })));
    const out = Object.fromEntries(urls.map((u) => [new URL(u).origin, 0]));
    for (let k = 0; k < 60; k++) out[new URL((await s.fetch('/health')).endpoint).origin]++;
    return urls.map((u) => out[new URL(u).origin]);
  }, env.urls);
  // Smooth weighted round-robin: every 6 picks hold 1, 2 and 3 of them.
  expect(counts).toEqual([10, 20, 30]);
  expect(group.pageErrors).toEqual([]);
  await group.context.close();
});

test('the list changes while a request is under way: its retry goes to the new list, and no endpoint is blamed for another', async ({ browser }) => {
  env = await startEnv({ count: 2, intervalMs: 0 });
  // x refuses every preflight (the request fails in the browser, a network error for fetch()).
  const x = await startScriptedServer({
    origin: env.pages.origin,
    raw: true,
    script: (n, req, res) => {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'Access-Control-Allow-Origin': env.pages.origin });
        res.end();
        return;
      }
      sseHead(res, env.pages.origin);
    },
  });
  try {
    const group = await openClients(browser, 0, []);
    const r = await group.page.evaluate(
      async ([first, next]) => {
        const s = new window.sseb.BalancedEventSource([first]);
        window.clients.push({ s, got: { ids: [], failovers: [], errors: 0, control: 0 } });
        const pending = s.fetch('/chat/messages', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ user: 'ann', text: 'sent while the list changed' }),
          idempotent: true,
        });
        s.setEndpoints(next); // while the first attempt (to x) is under way
        const response = await pending;
        return { status: response.status, url: response.url, endpoint: response.endpoint, stats: s.stats().endpoints };
      },
      [x.url, env.urls],
    );
    expect(r.status).toBe(201);
    expect(env.urls).toContain(r.endpoint);
    expect(r.url.startsWith(new URL(r.endpoint).origin)).toBe(true);
    // x's failure cooled nobody of the new list.
    for (const e of r.stats) expect(e.failures).toBe(0);
    expect(group.pageErrors).toEqual([]);
    await group.context.close();
  } finally {
    await x.close();
  }
});

test('a backend added at runtime: new and rebalancing clients reach it; one removed: its clients move; nothing lost', async ({ browser }) => {
  test.setTimeout(120_000);
  env = await startEnv({ count: 3, intervalMs: 50, heartbeatMs: 300 });
  // 12 least-loaded clients on 3 backends (six per profile: the browser's per-host limit).
  const groups = [await openClients(browser, 6, env.urls, { policy: 'least-loaded' }), await openClients(browser, 6, env.urls, { policy: 'least-loaded' })];
  await until(() => streamsPer().reduce((x, y) => x + y, 0) === 12, { message: '12 streams' });
  const added = await env.cluster.addBackend();
  expect(added).toBe(3);
  // Rebalancing clients (they heard the new list and its load of 0) reach it.
  await until(() => streamsPer()[3] >= 2, { timeout: 60_000, message: `rebalancing clients on the new backend (now ${streamsPer().join('/')})` });
  // A client started after the change with the old list learns the new one from its server.
  const late = await openClients(browser, 4, env.urls.slice(0, 3), { policy: 'least-loaded' });
  await until(() => streamsPer().reduce((x, y) => x + y, 0) === 16, { message: '16 streams' });
  // The list arrives on each new stream, just after the server counted it.
  await late.page.waitForFunction(() => window.clients.every((c) => c.s.stats().endpoints.length === 4), null, { timeout: 10_000 });
  for (const c of await results(late.page)) expect(c.endpoints).toHaveLength(4);
  const beforeRemoval = streamsPer();
  await env.cluster.removeBackend(0, 200);
  await until(() => streamsPer().reduce((x, y) => x + y, 0) === 16, { message: `16 streams without backend 0 (${streamsPer().join('/')})` });
  console.log(`[endpoints] streams per backend: after the add ${beforeRemoval.join('/')}, after removing backend 0 ${streamsPer().join('/')}`);
  const newUrl = env.cluster.backends[3].url;
  for (const group of [...groups, late]) {
    await group.page.waitForFunction(() => window.clients.every((c) => c.got.ids.length >= 20));
    for (const c of await results(group.page)) {
      expectContiguous(c.ids);
      expect(c.errors).toBe(0);
      expect(c.control).toBe(0);
      expect(c.endpoints).toEqual([...env.urls.slice(1), newUrl]);
      expect(c.failovers.every((r) => r === 'rebalance' || r === 'drain')).toBe(true);
    }
    expect(group.pageErrors).toEqual([]);
    await group.context.close();
  }
});

test('a hostile endpoint list from a server is refused with a named warning, and the stream goes on', async ({ browser }) => {
  env = await startEnv({ count: 2, intervalMs: 0 });
  const scripted = await startScriptedServer({
    origin: env.pages.origin,
    script: (n, req, res) => {
      if (n > 0) return; // one stream only: a reconnection would be a failure
      res.write(frame({ id: 1, data: 'one' }));
      res.write(frame({ type: 'sse-balancer.endpoints', data: '{"endpoints": "all of them"}' }));
      res.write(frame({ type: 'sse-balancer.endpoints', data: '{"endpoints": ["javascript:alert(1)"]}' }));
      res.write(frame({ type: 'sse-balancer.endpoints', data: '{"endpoints": [{"url": "/x", "weight": "heavy"}]}' }));
      res.write(frame({ type: 'sse-balancer.endpoints', data: JSON.stringify({ endpoints: Array.from({ length: 5000 }, (_, i) => `/e${i}`) }) }));
      res.write(frame({ type: 'sse-balancer.endpoints', data: 'not json' }));
      res.write(frame({ id: 2, data: 'two' }));
    },
  });
  try {
    const group = await openClients(browser, 0, []);
    const warnings = [];
    group.page.on('console', (m) => {
      if (m.type() === 'warning') warnings.push(m.text());
    });
    await group.page.evaluate((url) => {
      const got = { ids: [], failovers: [], errors: 0, control: 0 };
      const s = new window.sseb.BalancedEventSource([url]);
      s.onmessage = (e) => got.ids.push(Number(e.lastEventId));
      s.addEventListener('sse-balancer.endpoints', () => got.control++);
      s.addEventListener('failover', (e) => got.failovers.push(e.reason));
      s.onerror = () => got.errors++;
      window.clients.push({ s, got });
    }, scripted.url);
    await group.page.waitForFunction(() => window.clients[0].got.ids.length >= 2);
    const [got] = await results(group.page);
    expect(got.ids).toEqual([1, 2]);
    expect(got.control).toBe(0);
    expect(got.errors).toBe(0);
    expect(got.endpoints).toEqual([scripted.url]);
    expect(scripted.requests).toHaveLength(1);
    const ignored = warnings.filter((t) => /ignored the endpoint list/.test(t));
    expect(ignored).toHaveLength(4);
    expect(ignored[0]).toMatch(/non-empty array/);
    expect(ignored[1]).toMatch(/javascript:/);
    expect(ignored[2]).toMatch(/weight/);
    expect(ignored[3]).toMatch(/at most 1024 endpoints/);
    expect(group.pageErrors).toEqual([]);
    await group.context.close();
  } finally {
    await scripted.close();
  }
});

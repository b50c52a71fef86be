// BalancedEventSource.fetch: requests beside the stream go to a healthy
// endpoint; network failures are retried elsewhere only when idempotent.
import { test, expect, ROOT } from './fixtures.js';
import { startServer } from '../../web/server/main.js';
import { startPageServer } from '../../web/server/static-server.js';

let pages;
let server;

test.beforeEach(async () => {
  pages = await startPageServer({ root: ROOT });
  server = await startServer({ portBase: 0, logRate: 0, allowedOrigins: [pages.origin] });
});

test.afterEach(async () => {
  await server.stop();
  await pages.close();
});

async function open(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${pages.origin}/tests/e2e/pages/harness.html`);
  await page.waitForFunction(() => window.harnessReady === true);
  await page.evaluate(
    (urls) => window.track(urls, { initialBackoffMs: 5000, maxBackoffMs: 5000, jitter: 0 }),
    server.backends.map((b) => b.chatUrl),
  );
  await page.waitForFunction(() => window.source.readyState === 1);
  return errors;
}

/** Posts from the page; returns { status, id, endpoint } or { error }. */
function post(page, text, idempotent) {
  return page.evaluate(
    async ([t, i]) => {
      try {
        const r = await window.source.fetch('/chat/messages', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ user: `u${t.length % 7}-${t}`.slice(0, 32), text: t }),
          idempotent: i,
        });
        return { status: r.status, id: (await r.json()).id, endpoint: r.endpoint };
      } catch (e) {
        return { error: e.name };
      }
    },
    [text, idempotent],
  );
}

test('fetch posts to a healthy endpoint and the message comes back on the stream', async ({ page }) => {
  const errors = await open(page);
  const r = await post(page, 'hello', false);
  expect(r.status).toBe(201);
  expect(server.backends.map((b) => b.chatUrl)).toContain(r.endpoint);
  await page.waitForFunction((id) => window.log.messages.some((m) => m.id === String(id)), r.id);
  expect(errors).toEqual([]);
});

test('idempotent requests are retried on another endpoint after a network failure, stored once', async ({ page }) => {
  await open(page);
  const streaming = await page.evaluate(() => window.source.url);
  const dead = server.backends.findIndex((b) => b.chatUrl !== streaming);
  await server.cluster.kill(dead);
  const results = [];
  for (let i = 0; i < 6; i++) results.push(await post(page, `retry-${i}`, true));
  for (const r of results) {
    expect(r.status).toBe(201);
    expect(r.endpoint).not.toBe(server.backends[dead].chatUrl);
  }
  const stored = await server.store.since('chat', 0);
  expect(stored.map((e) => JSON.parse(e.data).text)).toEqual(results.map((_, i) => `retry-${i}`));
  const stats = await page.evaluate(() => window.source.stats());
  // Round-robin reached the dead endpoint, failed, and cooled it down.
  expect(stats.endpoints[dead].failuresByReason.network).toBe(1);
  expect(stats.endpoints[dead].state).toBe('cooling-down');
});

test('non-idempotent requests are not retried: the network error reaches the caller', async ({ page }) => {
  await open(page);
  const streaming = await page.evaluate(() => window.source.url);
  const dead = server.backends.findIndex((b) => b.chatUrl !== streaming);
  await server.cluster.kill(dead);
  const results = [];
  for (let i = 0; i < 3; i++) results.push(await post(page, `once-${i}`, false));
  const failed = results.filter((r) => r.error);
  expect(failed).toEqual([{ error: 'TypeError' }]); // exactly the one that hit the dead endpoint
  const stored = await server.store.since('chat', 0);
  expect(stored.length).toBe(2);
  // The next request avoids the endpoint that just failed.
  const next = await post(page, 'after', false);
  expect(next.status).toBe(201);
});

test('fetch after close() rejects with InvalidStateError; bad arguments name the problem', async ({ page }) => {
  await open(page);
  const r = await page.evaluate(async () => {
    const out = {};
    try {
      await window.source.fetch(42);
    } catch (e) {
      out.badInput = `${e.name}: ${e.message}`;
    }
    try {
      await window.source.fetch('/x', { idempotent: 'yes' });
    } catch (e) {
      out.badFlag = `${e.name}: ${e.message}`;
    }
    window.source.close();
    try {
      await window.source.fetch('/chat/messages');
    } catch (e) {
      out.closed = e.name;
    }
    return out;
  });
  expect(r.badInput).toMatch(/^TypeError: .*input/);
  expect(r.badFlag).toMatch(/^TypeError: .*idempotent/);
  expect(r.closed).toBe('InvalidStateError');
});

test('an absolute URL on a foreign origin is rejected with a TypeError naming it, and nothing leaves the page', async ({
  page,
}) => {
  await open(page);
  // A real server on another origin, counting what reaches it.
  const reached = [];
  const foreign = await startPageServer({
    root: ROOT,
    extraRoutes: (app) => app.use((req, res, next) => (reached.push(req.url), next())),
  });
  const sent = [];
  page.on('request', (r) => sent.push(r.url()));
  try {
    const r = await page.evaluate(async (url) => {
      const out = {};
      for (const [name, input] of [
        ['foreign', `${url}/collect`],
        ['protocolRelative', `//${new URL(url).host}/collect`],
        ['script', 'javascript:alert(1)'],
        ['data', 'data:text/plain,x'],
      ]) {
        try {
          await window.source.fetch(input, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: '{"secret":1}',
            idempotent: true,
          });
          out[name] = 'sent';
        } catch (e) {
          out[name] = `${e.name}: ${e.message}`;
        }
      }
      return { out, stats: window.source.stats() };
    }, foreign.origin);
    expect(r.out.foreign).toMatch(new RegExp(`^TypeError: .*'${foreign.origin}/collect' is not on an endpoint's origin`));
    expect(r.out.protocolRelative).toMatch(/^TypeError: .*not on an endpoint's origin/);
    expect(r.out.script).toMatch(/^TypeError: .*'javascript:alert\(1\)'/);
    expect(r.out.data).toMatch(/^TypeError: /);
    expect(reached).toEqual([]);
    expect(sent.filter((u) => u.startsWith(foreign.origin) || u.startsWith('data:'))).toEqual([]);
    for (const e of r.stats.endpoints) expect(e.failures).toBe(0);
  } finally {
    await foreign.close();
  }
});

test('an absolute URL on one endpoint\'s origin goes there and is labelled with that endpoint', async ({ page }) => {
  await open(page);
  const target = server.backends[1];
  const r = await page.evaluate(async (url) => {
    const response = await window.source.fetch(url, { method: 'GET' });
    return { status: response.status, endpoint: response.endpoint };
  }, `${target.origin}/chat/health`);
  expect(r.status).toBe(200);
  expect(r.endpoint).toBe(target.chatUrl);
});

test('a request the page\'s CSP blocks, or a bad header, does not cool a healthy endpoint down', async ({ page }) => {
  // connect-src allows the stream paths only, so POST /chat/messages is
  // blocked by the browser before it leaves.
  const strict = await startPageServer({
    root: ROOT,
    extraRoutes: (app) =>
      app.use((req, res, next) => {
        const streams = own.backends.map((b) => b.chatUrl).join(' ');
        res.setHeader('Content-Security-Policy', `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ${streams}`);
        next();
      }),
  });
  const own = await startServer({ portBase: 0, logRate: 0, allowedOrigins: [strict.origin] });
  try {
    await page.goto(`${strict.origin}/tests/e2e/pages/harness.html`);
    await page.waitForFunction(() => window.harnessReady === true);
    await page.evaluate(
      (urls) => window.track(urls, { initialBackoffMs: 5000, maxBackoffMs: 5000, jitter: 0 }),
      own.backends.map((b) => b.chatUrl),
    );
    await page.waitForFunction(() => window.source.readyState === 1);
    const r = await page.evaluate(async () => {
      const out = [];
      for (let i = 0; i < 4; i++) {
        try {
          await window.source.fetch('/chat/messages', { method: 'POST', body: '{}', idempotent: i % 2 === 0 });
          out.push('sent');
        } catch (e) {
          out.push(e.name);
        }
      }
      try {
        await window.source.fetch('/chat/health', { headers: { 'Bad Header': 'x' } });
      } catch (e) {
        out.push(e.name);
      }
      return { out, stats: window.source.stats() };
    });
    expect(r.out).toEqual(['TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError']);
    for (const e of r.stats.endpoints) {
      expect(e.failures).toBe(0);
      expect(['idle', 'open', 'connecting']).toContain(e.state);
    }
    expect(await own.store.since('chat', 0)).toEqual([]);
  } finally {
    await own.stop();
    await strict.close();
  }
});

test('a request the caller aborts (a timeout, or any abort reason) is not retried and cools no endpoint down', async ({
  page,
}) => {
  await open(page);
  // Every backend now holds new requests for 5 s (the open stream keeps going).
  for (let i = 0; i < server.backends.length; i++) await server.cluster.setMode(i, 'slow-accept', { delayMs: 5000 });
  const sent = [];
  page.on('request', (r) => r.resourceType() === 'fetch' && sent.push(r.url()));
  const r = await page.evaluate(async () => {
    const out = {};
    try {
      await window.source.fetch('/chat/events', { signal: AbortSignal.timeout(200) });
    } catch (e) {
      out.timeout = e.name;
    }
    const controller = new AbortController();
    controller.abort(new Error('user left the page'));
    try {
      await window.source.fetch('/chat/messages', { method: 'POST', body: '{}', signal: controller.signal, idempotent: true });
    } catch (e) {
      out.custom = e.message;
    }
    out.stats = window.source.stats();
    return out;
  });
  expect(r.timeout).toBe('TimeoutError');
  expect(r.custom).toBe('user left the page');
  expect(sent.length).toBe(1); // the timed-out one; the aborted one never left, and neither was retried
  for (const e of r.stats.endpoints) {
    expect(e.failures).toBe(0);
    expect(e.state).not.toBe('cooling-down');
  }
});

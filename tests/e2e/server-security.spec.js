// The reference server against requests a browser would never send: path
// tricks on the page server, framing, the control API without its token,
// idempotency keys reused across users or bodies. Plain Node requests (the
// raw ones through http.request, which sends the path exactly as given).
import { test, expect } from '@playwright/test';
import http from 'node:http';
import net from 'node:net';
import { startServer } from '../../web/server/main.js';
import { startPageServer } from '../../web/server/static-server.js';
import { ROOT } from './fixtures.js';
import { startRedis, stopChild } from './redis-helper.js';
import fs from 'node:fs';

/** One raw request; the path goes on the wire byte for byte. Resolves { status, headers, body }. */
function rawRequest(origin, rawPath, { method = 'GET', headers = {}, body } = {}) {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path: rawPath, headers: { Connection: 'close', ...headers }, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${rawPath}`)));
    req.on('error', reject);
    req.end(body);
  });
}

// What only the server's own source contains (main.js, static-server.js, ...).
const SOURCE_MARKERS = /from 'node:|import express|startPageServer|createChatService/;

test.describe('page server: static files', () => {
  let server;
  test.beforeAll(async () => {
    server = await startServer({ portBase: 0, logRate: 0, backends: 1 });
  });
  test.afterAll(async () => {
    await server.stop();
  });

  const BYPASSES = [
    '/web/server/main.js',
    '//web/server/main.js',
    '/web//server/main.js',
    '/web/./server/main.js',
    '/web/%73erver/main.js',
    '/web%2fserver/main.js',
    '/web%2Fserver/main.js',
    '/web/chat/../server/main.js',
    '/web/chat/%2e%2e/server/main.js',
    '/web/chat/%2E%2E/server/main.js',
    '/web/chat/.%2e/server/main.js',
    '/web/chat/..%2fserver/main.js',
    '/web/chat/..%5cserver/main.js',
    '/web/chat/..\\server/main.js',
    '/web/chat/%252e%252e/server/main.js',
    '/web/server/main.js%00.html',
    '/web/./server/../server/static-server.js',
    '/api/../web/server/chat-api.js',
    '/web/../package.json',
    '/web/chat/../../package.json',
    '/../package.json',
    '/web/chat/../../../../etc/passwd',
    '/node_modules/express/package.json',
    '/web/index.d.ts',
    '/.git/HEAD',
    '/web/%2e%2e/package.json',
  ];
  for (const p of BYPASSES) {
    test(`GET ${p} -> 404, no server file`, async () => {
      const r = await rawRequest(server.pageOrigin, p);
      expect(r.status, `${p} answered ${r.status}: ${r.body.slice(0, 120)}`).toBe(404);
      expect(r.body).not.toMatch(SOURCE_MARKERS);
      expect(r.body).not.toContain('"dependencies"');
    });
  }

  test('the pages and the library are still served (also through harmless //, ./ and ..)', async () => {
    for (const p of ['/web/chat/', '/web/logs/', '/web/demo/', '/web/chat/chat.js', '/web/shared/backends.js', '/web/shared/logo.svg', '/web/dist/sse-balancer.js']) {
      const r = await rawRequest(server.pageOrigin, p);
      expect(r.status, p).toBe(200);
    }
    // Normalised before the allow-list: these are the chat page's script.
    const direct = await rawRequest(server.pageOrigin, '/web/chat/chat.js');
    for (const p of ['/web//chat/chat.js', '/web/./chat/chat.js', '/web/logs/../chat/chat.js', '/web/%63hat/chat.js']) {
      const r = await rawRequest(server.pageOrigin, p);
      expect(r.status, p).toBe(200);
      expect(r.body, p).toBe(direct.body);
    }
    const dir = await rawRequest(server.pageOrigin, '/web/chat');
    expect(dir.status).toBe(301);
    expect(dir.headers.location).toBe('/web/chat/');
    const root = await rawRequest(server.pageOrigin, '/');
    expect(root.status).toBe(302);
    // main.js's page server does not serve the test pages.
    expect((await rawRequest(server.pageOrigin, '/tests/e2e/pages/harness.html')).status).toBe(404);
  });

  test('every page answer forbids framing: frame-ancestors none and X-Frame-Options DENY', async () => {
    for (const p of ['/web/chat/', '/web/logs/', '/web/demo/', '/web/demo/demo.js', '/api/backends', '/nope']) {
      const r = await rawRequest(server.pageOrigin, p);
      expect(r.headers['x-frame-options'], p).toBe('DENY');
      const csp = r.headers['content-security-policy'] || '';
      expect(csp, p).toMatch(/(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
      expect(csp, p).toMatch(/script-src 'self' 'wasm-unsafe-eval'/);
    }
  });
});

test('in the browser: a page of another origin cannot frame the demo', async ({ page }) => {
  const server = await startServer({ portBase: 0, logRate: 0, backends: 1 });
  const pages = await startPageServer({ root: ROOT });
  try {
    await page.goto(`${pages.origin}/tests/e2e/pages/harness.html`);
    const blocked = page.waitForEvent('console', { predicate: (m) => /frame-ancestors|X-Frame-Options|Refused to display/i.test(m.text()), timeout: 10_000 });
    await page.evaluate((url) => {
      const frame = document.createElement('iframe');
      frame.src = url;
      document.body.append(frame);
    }, `${server.pageOrigin}/web/demo/`);
    await blocked;
    const framed = page.frames().find((f) => f !== page.mainFrame());
    expect(framed.url()).not.toBe(`${server.pageOrigin}/web/demo/`);
    expect(await framed.locator('#ready-state').count()).toBe(0);
  } finally {
    await pages.close();
    await server.stop();
  }
});

test.describe('test page server: static files', () => {
  let pages;
  test.beforeAll(async () => {
    pages = await startPageServer({ root: ROOT });
  });
  test.afterAll(async () => {
    await pages.close();
  });

  test('serves the test pages and the library, nothing else of the checkout', async () => {
    expect((await rawRequest(pages.origin, '/tests/e2e/pages/harness.html')).status).toBe(200);
    expect((await rawRequest(pages.origin, '/web/dist/sse-balancer.js')).status).toBe(200);
    for (const p of [
      '/tests/e2e/fixtures.js',
      '/tests/e2e//fixtures.js',
      '/tests/e2e/pages/../fixtures.js',
      '/tests/e2e/pages/%2e%2e/fixtures.js',
      '/web/server/main.js',
      '/web//server/main.js',
      '/web%2fserver/main.js',
      '/package.json',
    ]) {
      const r = await rawRequest(pages.origin, p);
      expect(r.status, p).toBe(404);
      expect(r.body, p).not.toMatch(SOURCE_MARKERS);
    }
    const framed = await rawRequest(pages.origin, '/tests/e2e/pages/harness.html');
    expect(framed.headers['x-frame-options']).toBe('DENY');
  });
});

/** The first bytes of an SSE stream at `url`, up to and including the frame of `type`. */
function readUntilEvent(url, type) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
        const at = text.indexOf(`event: ${type}\n`);
        if (at >= 0 && text.indexOf('\n\n', at) > 0) {
          req.destroy();
          resolve(text);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no ${type} event from ${url}`)));
    req.on('error', reject);
  });
}

test.describe('control API: adding and removing backends', () => {
  let server;
  test.beforeAll(async () => {
    server = await startServer({ portBase: 0, logRate: 0, backends: 2 });
  });
  test.afterAll(async () => {
    await server.stop();
  });
  const call = (method, p, { body, token = true } = {}) =>
    rawRequest(server.pageOrigin, p, {
      method,
      headers: {
        ...(token ? { 'X-Control-Token': server.controlToken } : {}),
        // Node sends a DELETE body only with its length given.
        ...(body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(JSON.stringify(body)) }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  test('POST adds, DELETE removes, with the token only; bad and conflicting calls get clear errors', async () => {
    const noToken = await call('POST', '/api/backends', { token: false });
    expect(noToken.status).toBe(403);
    expect(server.cluster.backends).toHaveLength(2);

    const added = await call('POST', '/api/backends');
    expect(added.status).toBe(201);
    expect(JSON.parse(added.body)).toMatchObject({ index: 2, removed: false, mode: 'ok', openStreams: 0 });
    const list = JSON.parse((await rawRequest(server.pageOrigin, '/api/backends')).body);
    expect(list.map((b) => b.index)).toEqual([0, 1, 2]);
    // A stream opened now starts with the new list (path of the stream, every member).
    const head = await readUntilEvent(list[2].url, 'sse-balancer.endpoints');
    const data = JSON.parse(/event: sse-balancer\.endpoints\ndata: (.*)\n/.exec(head)[1]);
    expect(data.endpoints.map((e) => e.url)).toEqual(list.map((b) => b.url));

    expect((await call('DELETE', '/api/backends/1', { token: false })).status).toBe(403);
    const badDrain = await call('DELETE', '/api/backends/1', { body: { drainMs: 'soon' } });
    expect(badDrain.status).toBe(400);
    expect(JSON.parse(badDrain.body).error).toMatch(/drainMs must be an integer/);
    expect((await call('DELETE', '/api/backends/7')).status).toBe(400);

    const removed = await call('DELETE', '/api/backends/1', { body: { drainMs: 0 } });
    expect(removed.status).toBe(200);
    expect(JSON.parse(removed.body)).toMatchObject({ index: 1, removed: true, mode: 'down' });
    const again = await call('DELETE', '/api/backends/1');
    expect(again.status).toBe(409);
    expect(JSON.parse(again.body).error).toMatch(/backend 1 was already removed/);
    const revive = await call('POST', '/api/backends/1/revive');
    expect(revive.status).toBe(409);
    expect(JSON.parse(revive.body).error).toMatch(/backend 1 was removed/);
    const head2 = await readUntilEvent(list[0].url, 'sse-balancer.endpoints');
    const data2 = JSON.parse(/event: sse-balancer\.endpoints\ndata: (.*)\n/.exec(head2)[1]);
    expect(data2.endpoints.map((e) => e.url)).toEqual([list[0].url, list[2].url]);

    expect((await call('DELETE', '/api/backends/0')).status).toBe(200);
    const last = await call('DELETE', '/api/backends/2');
    expect(last.status).toBe(409);
    expect(JSON.parse(last.body).error).toMatch(/last backend/);
    expect(server.cluster.mode(2)).toBe('ok');
  });
});

test.describe('control API: the per-process token', () => {
  let server;
  test.beforeAll(async () => {
    server = await startServer({ portBase: 0, logRate: 0, backends: 2 });
  });
  test.afterAll(async () => {
    await server.stop();
  });
  test.afterEach(async () => {
    for (const b of server.backends) if (server.cluster.mode(b.index) !== 'ok') await server.cluster.revive(b.index);
  });

  const post = (p, { headers = {}, body } = {}) =>
    rawRequest(server.pageOrigin, p, {
      method: 'POST',
      headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  test('a POST without the token (plain curl: no Origin) -> 403 with a clear JSON error, and nothing changes', async () => {
    expect(server.controlToken).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const calls = [
      ['/api/backends/0/kill', undefined],
      ['/api/backends/1/mode', { mode: 'status-500' }],
      ['/api/backends/0/revive', undefined],
    ];
    for (const [p, body] of calls) {
      for (const headers of [{}, { 'X-Control-Token': '' }, { 'X-Control-Token': 'x'.repeat(43) }, { 'X-Control-Token': server.controlToken.slice(1) }]) {
        const r = await post(p, { headers, body });
        expect(r.status, `${p} ${JSON.stringify(headers)}`).toBe(403);
        expect(r.headers['content-type']).toMatch(/application\/json/);
        expect(JSON.parse(r.body).error).toMatch(/X-Control-Token/);
      }
    }
    expect(server.cluster.mode(0)).toBe('ok');
    expect(server.cluster.mode(1)).toBe('ok');
  });

  test('the right token works (no Origin, or our own); another Origin is refused even with the token', async () => {
    const token = { 'X-Control-Token': server.controlToken };
    const evil = await post('/api/backends/0/kill', { headers: { ...token, Origin: 'http://evil.example' } });
    expect(evil.status).toBe(403);
    expect(server.cluster.mode(0)).toBe('ok');

    const kill = await post('/api/backends/0/kill', { headers: token });
    expect(kill.status).toBe(200);
    expect(JSON.parse(kill.body)).toMatchObject({ index: 0, mode: 'down' });
    const revive = await post('/api/backends/0/revive', { headers: { ...token, Origin: server.pageOrigin } });
    expect(revive.status).toBe(200);
    const mode = await post('/api/backends/1/mode', { headers: token, body: { mode: 'status-500' } });
    expect(mode.status).toBe(200);
    expect(server.cluster.mode(1)).toBe('status-500');
    // The read-only list needs no token.
    expect((await rawRequest(server.pageOrigin, '/api/backends')).status).toBe(200);
  });

  test('GET /api/token answers same-origin page requests only, without CORS headers', async () => {
    const { host } = new URL(server.pageOrigin);
    const ask = (headers) => rawRequest(server.pageOrigin, '/api/token', { headers });
    const ok = await ask({ 'Sec-Fetch-Site': 'same-origin' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ token: server.controlToken, header: 'X-Control-Token' });
    expect(ok.headers['access-control-allow-origin']).toBeUndefined();
    expect(ok.headers['cache-control']).toBe('no-store');
    const localhost = await ask({ 'Sec-Fetch-Site': 'same-origin', Host: host.replace('127.0.0.1', 'localhost') });
    expect(localhost.status).toBe(200);

    for (const headers of [
      {}, // curl
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
      { 'Sec-Fetch-Site': 'none' },
      { 'Sec-Fetch-Site': 'cross-site', Origin: 'http://evil.example' },
      { 'Sec-Fetch-Site': 'same-origin', Origin: 'http://evil.example' },
      { 'Sec-Fetch-Site': 'same-origin', Host: `evil.example:${new URL(server.pageOrigin).port}` }, // DNS rebinding
    ]) {
      const r = await ask(headers);
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.body).not.toContain(server.controlToken);
      expect(JSON.parse(r.body).error).toMatch(/control token/);
    }
  });

  test('in the browser: our page reads the token, a page of another origin can neither read it nor kill', async ({ browser }) => {
    const pages = await startPageServer({ root: ROOT });
    const context = await browser.newContext();
    try {
      const own = await context.newPage();
      await own.goto(`${server.pageOrigin}/web/shared/logo.svg`);
      const got = await own.evaluate(async () => (await (await fetch('/api/token')).json()).token);
      expect(got).toBe(server.controlToken);

      const other = await context.newPage();
      await other.goto(`${pages.origin}/tests/e2e/pages/harness.html`);
      const r = await other.evaluate(async (origin) => {
        const out = {};
        try {
          await fetch(`${origin}/api/token`);
          out.read = 'read';
        } catch (e) {
          out.read = e.name;
        }
        await fetch(`${origin}/api/backends/0/kill`, { method: 'POST', mode: 'no-cors' }).catch(() => {});
        await fetch(`${origin}/api/backends/0/kill`, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: 'x' }).catch(() => {});
        return out;
      }, server.pageOrigin);
      expect(r.read).toBe('TypeError'); // CORS: the answer is not readable
      expect(server.cluster.mode(0)).toBe('ok');
    } finally {
      await context.close();
      await pages.close();
    }
  });
});

for (const kind of ['memory', 'redis']) {
  test.describe(`Idempotency-Key (${kind} store): scoped per user, bound to the body`, () => {
    let redis = null;
    let server;
    test.beforeAll(async () => {
      if (kind === 'redis') redis = await startRedis();
      server = await startServer({ portBase: 0, logRate: 0, backends: 2, redis: redis ? redis.url : null });
    });
    test.afterAll(async () => {
      try {
        if (server) await server.stop();
        if (redis) await redis.stop();
      } finally {
        if (redis) {
          await stopChild(redis.child, 'SIGKILL', 2000);
          fs.rmSync(redis.dir, { recursive: true, force: true });
        }
      }
    });

    const post = async (body, key, backend = 0) => {
      const res = await fetch(server.backends[backend].messagesUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      return { status: res.status, json: await res.json().catch(() => null) };
    };
    const stored = async () => (await server.store.since('chat', 0)).map((e) => ({ id: e.id, ...JSON.parse(e.data) }));

    test("another user's key does not swallow the message; a repeat is still one message", async () => {
      const key = `shared-${kind}`;
      const ann = await post({ user: 'ann', text: 'from ann' }, key);
      expect(ann.status).toBe(201);
      const bob = await post({ user: 'bob', text: 'from bob' }, key);
      expect(bob.status).toBe(201);
      expect(bob.json.id, "bob's message got its own id, not ann's").not.toBe(ann.json.id);
      // Repeats (a retry, on either backend) answer the first id and store nothing.
      expect(await post({ user: 'ann', text: 'from ann' }, key, 1)).toEqual({ status: 201, json: { id: ann.json.id } });
      expect(await post({ user: 'bob', text: '  from bob ' }, key)).toEqual({ status: 201, json: { id: bob.json.id } });
      const log = (await stored()).filter((e) => e.text.startsWith('from '));
      expect(log.map((e) => [e.id, e.user, e.text])).toEqual([
        [ann.json.id, 'ann', 'from ann'],
        [bob.json.id, 'bob', 'from bob'],
      ]);
    });

    test('the same user reusing a key for a different text -> 422 naming Idempotency-Key, nothing stored', async () => {
      const key = `reuse-${kind}`;
      const first = await post({ user: 'cat', text: 'first text' }, key);
      expect(first.status).toBe(201);
      const before = await server.store.lastId('chat');
      for (const backend of [0, 1]) {
        const r = await post({ user: 'cat', text: 'another text' }, key, backend);
        expect(r.status).toBe(422);
        expect(r.json.field).toBe('Idempotency-Key');
        expect(r.json.error).toMatch(/Idempotency-Key/);
      }
      expect(await server.store.lastId('chat')).toBe(before);
      expect((await stored()).some((e) => e.text === 'another text')).toBe(false);
      // The original still repeats fine.
      expect(await post({ user: 'cat', text: 'first text' }, key)).toEqual({ status: 201, json: { id: first.json.id } });
    });

    test('store level: append() scopes keys and refuses a different body under the same key', async () => {
      const { store } = server;
      const a = await store.append('unit', 'message', 'one', { idempotencyKey: 'k', idempotencyScope: 'ann' });
      const b = await store.append('unit', 'message', 'two', { idempotencyKey: 'k', idempotencyScope: 'bob' });
      expect(b.id).toBe(a.id + 1);
      expect(b.duplicate).toBeUndefined();
      const again = await store.append('unit', 'message', 'one', { idempotencyKey: 'k', idempotencyScope: 'ann' });
      expect(again).toMatchObject({ id: a.id, duplicate: true });
      await expect(store.append('unit', 'message', 'three', { idempotencyKey: 'k', idempotencyScope: 'ann' })).rejects.toMatchObject({
        name: 'IdempotencyConflictError',
      });
      // A fingerprint, when given, is what must match (the data may carry a timestamp).
      const c = await store.append('unit', 'message', 't1', { idempotencyKey: 'f', idempotencyFingerprint: 'same' });
      const c2 = await store.append('unit', 'message', 't2', { idempotencyKey: 'f', idempotencyFingerprint: 'same' });
      expect(c2).toMatchObject({ id: c.id, duplicate: true });
      expect(await store.lastId('unit')).toBe(c.id);
    });
  });
}

test.describe('page server: slow request bodies', () => {
  /** Sends headers and then one byte of body every 200 ms; resolves { status, ms } with the answer, or status 0 at `giveUpMs`. */
  function trickle(origin, rawPath, headers, giveUpMs) {
    const { hostname, port } = new URL(origin);
    return new Promise((resolve) => {
      const t0 = Date.now();
      const sock = net.connect(Number(port), hostname);
      let text = '';
      let iv = null;
      const done = (status) => {
        clearInterval(iv);
        clearTimeout(limit);
        sock.destroy();
        resolve({ status, ms: Date.now() - t0 });
      };
      const limit = setTimeout(() => done(0), giveUpMs);
      sock.on('connect', () => {
        const head = Object.entries({ Host: `${hostname}:${port}`, 'Content-Type': 'application/json', 'Content-Length': '1000', ...headers })
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('');
        sock.write(`POST ${rawPath} HTTP/1.1\r\n${head}\r\n{"mode":`);
        iv = setInterval(() => sock.write(' '), 200);
      });
      sock.on('data', (d) => {
        text += d;
        const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
        if (m) done(Number(m[1]));
      });
      sock.on('error', () => done(-1));
      sock.on('close', () => done(-1));
    });
  }

  test('a POST body that trickles in is ended with 408 (page server default: within 30 s)', async () => {
    const server = await startServer({ portBase: 0, logRate: 0, backends: 1 });
    try {
      expect(server.page.server.requestTimeout).toBeGreaterThan(0);
      expect(server.page.server.requestTimeout + 1000).toBeLessThanOrEqual(30_000);
      // Without the token nothing is read at all: refused at once.
      const refused = await trickle(server.pageOrigin, '/api/backends/0/mode', {}, 3000);
      expect(refused.status).toBe(403);
    } finally {
      await server.stop();
    }
    const fast = await startServer({ portBase: 0, logRate: 0, backends: 1, pageRequestTimeoutMs: 1000 });
    try {
      const r = await trickle(fast.pageOrigin, '/api/backends/0/mode', { 'X-Control-Token': fast.controlToken }, 5000);
      expect(r.status).toBe(408);
      expect(r.ms).toBeLessThan(3000);
      expect(fast.cluster.mode(0)).toBe('ok');
    } finally {
      await fast.stop();
    }
  });
});

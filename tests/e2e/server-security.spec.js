// The reference server against requests a browser would never send: path
// tricks on the page server, framing, the control API without its token,
// idempotency keys reused across users or bodies. Plain Node requests (the
// raw ones through http.request, which sends the path exactly as given).
import { test, expect } from '@playwright/test';
import http from 'node:http';
import { startServer } from '../../web/server/main.js';
import { startPageServer } from '../../web/server/static-server.js';
import { ROOT } from './fixtures.js';

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
    for (const p of ['/web/chat/', '/web/logs/', '/web/demo/', '/web/chat/chat.js', '/web/shared/backends.js', '/web/shared/logo.svg', '/web/index.js']) {
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
    expect((await rawRequest(pages.origin, '/web/index.js')).status).toBe(200);
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

// The package the way users get it: `npm pack`, install the tarball into an
// empty Vite app, `vite build` it, serve the build, stream in Chromium.
import { test, expect, expectContiguous, ROOT } from './fixtures.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import express from 'express';
import { MemoryStore } from '../../web/server/stores/memory-store.js';
import { startCluster } from '../../web/server/backend-cluster.js';

test.setTimeout(180_000);

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

test('npm pack -> install into a throwaway Vite app -> vite build -> events in Chromium', async ({ page }) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sseb-consumer-'));
  const servers = [];
  try {
    // 1. Pack exactly what would be published.
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], ROOT))[0];
    const files = packed.files.map((f) => f.path).sort();
    expect(files).toEqual(
      [
        'README.md',
        'package.json',
        'web/dist/sse-balancer-core.wasm',
        'web/dist/sse-balancer.js',
        'web/dist/sse-balancer.js.map',
        'web/dist/sse-balancer-share.js',
        'web/dist/sse-balancer-share.js.map',
        'web/index.d.ts',
      ].sort(),
    );

    // 2. An empty app that depends on the tarball only.
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'consumer-app', private: true, type: 'module' }, null, 2),
    );
    fs.writeFileSync(
      path.join(app, 'index.html'),
      '<!doctype html><html><head><meta charset="utf-8"><title>consumer</title></head>' +
        '<body><p id="n">0</p><script type="module" src="/main.js"></script></body></html>',
    );
    fs.writeFileSync(
      path.join(app, 'main.js'),
      [
        "import { BalancedEventSource } from 'sse-balancer';",
        "const urls = JSON.parse(new URLSearchParams(location.search).get('urls'));",
        'window.received = [];',
        "const share = new URLSearchParams(location.search).has('share');",
        'const source = new BalancedEventSource(urls, { policy: "random", share });',
        'window.role = () => source.stats().role;',
        'source.onmessage = (e) => {',
        '  window.received.push(e.lastEventId);',
        "  document.getElementById('n').textContent = String(window.received.length);",
        '};',
      ].join('\n'),
    );
    run('npm', ['install', '--no-audit', '--no-fund', '--offline', path.join(work, packed.filename)], app);
    expect(fs.existsSync(path.join(app, 'node_modules/sse-balancer/web/dist/sse-balancer-core.wasm'))).toBe(true);

    // 3. Build with Vite, no config at all.
    run(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], app);
    const assets = fs.readdirSync(path.join(app, 'dist/assets'));
    expect(assets.some((f) => f.endsWith('.wasm'))).toBe(true);
    // The share module is a chunk of its own, loaded only with `share`.
    expect(assets.filter((f) => /^sse-balancer-share.*\.js$/.test(f))).toHaveLength(1);

    // 4. Serve the build and stream from real backends.
    const site = express();
    site.use(express.static(path.join(app, 'dist')));
    const server = http.createServer(site);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    servers.push(() => new Promise((r) => server.close(r)));
    const origin = `http://127.0.0.1:${server.address().port}`;
    const store = new MemoryStore();
    const cluster = await startCluster({ count: 2, store, defaultChannel: 'logs', allowedOrigins: [origin] });
    servers.push(() => store.close());
    servers.push(() => cluster.close());
    const timer = setInterval(() => store.append('logs', 'message', 'x'), 40);
    servers.push(() => clearInterval(timer));

    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const loaded = [];
    page.on('request', (r) => loaded.push(new URL(r.url()).pathname));
    const query = `urls=${encodeURIComponent(JSON.stringify(cluster.backends.map((b) => b.url)))}`;
    await page.goto(`${origin}/?${query}`);
    await page.waitForFunction(() => window.received && window.received.length >= 5);
    expectContiguous(await page.evaluate(() => window.received));
    expect(await page.evaluate(() => window.role())).toBe('solo');
    expect(loaded.filter((p) => p.includes('sse-balancer-share'))).toEqual([]);
    // With `share`, the chunk is loaded and this tab leads.
    await page.goto(`${origin}/?share&${query}`);
    await page.waitForFunction(() => window.received && window.received.length >= 5);
    expectContiguous(await page.evaluate(() => window.received));
    expect(await page.evaluate(() => window.role())).toBe('leader');
    expect(loaded.filter((p) => p.includes('sse-balancer-share'))).toHaveLength(1);
    expect(errors).toEqual([]);
  } finally {
    for (const stop of servers.reverse()) await stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
});

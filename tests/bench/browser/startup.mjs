// Benchmark 3: size and start-up.
//
// Size: what `npm pack` ships (listed by `npm pack --dry-run --json
// --ignore-scripts`; the runtime part is its .js and .wasm files), each file
// compressed on its own as a server would (gzip level 9, brotli quality 11),
// beside the two baselines: reconnecting-eventsource's dist file and the
// hand-written failover snippet's source as written.
//
// Start-up: in Chromium, from a dynamic import() to a usable constructor
// (the import resolved), and to the core ready (sse-balancer: `await
// ready`), measured in the page with performance.now(); each load in a new
// browser context (empty caches, checked with Resource Timing); clients
// interleaved; median of BENCH_COLD_LOADS.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { CLIENTS, PAGES, RES_MODULE, ROOT, log, median, round, startPages, summary } from './lib.mjs';

const RES_DIST = 'node_modules/reconnecting-eventsource/dist/ReconnectingEventSource.min.js';
const HANDWRITTEN = 'tests/bench/browser/pages/handwritten-failover.js';

function sizes(file) {
  const raw = fs.readFileSync(path.join(ROOT, file));
  return {
    path: file,
    raw: raw.length,
    gzip: zlib.gzipSync(raw, { level: 9 }).length,
    brotli: zlib.brotliCompressSync(raw, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
      },
    }).length,
  };
}

function total(files) {
  return files.reduce((t, f) => ({ raw: t.raw + f.raw, gzip: t.gzip + f.gzip, brotli: t.brotli + f.brotli }), {
    raw: 0,
    gzip: 0,
    brotli: 0,
  });
}

export async function runSize() {
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  const pack = JSON.parse(json)[0];
  const packFiles = pack.files.map((f) => ({ path: f.path, size: f.size }));
  const runtime = packFiles
    .map((f) => f.path)
    .filter((p) => /\.(m?js|wasm)$/.test(p))
    .sort();
  const shippedFiles = runtime.map(sizes);
  const result = {
    method:
      'the files of `npm pack --dry-run --json --ignore-scripts` ending in .js/.mjs/.wasm, each compressed alone with ' +
      'node:zlib (gzip level 9, brotli quality 11), as a server sends them; totals are sums',
    package: { id: pack.id, tarballBytes: pack.size, unpackedBytes: pack.unpackedSize, files: packFiles },
    'sse-balancer': { files: shippedFiles, total: total(shippedFiles) },
    'reconnecting-eventsource': { files: [sizes(RES_DIST)], total: total([sizes(RES_DIST)]) },
    'hand-written': { files: [sizes(HANDWRITTEN)], total: total([sizes(HANDWRITTEN)]), note: 'source as written, comments included, not minified' },
  };
  for (const k of CLIENTS) {
    const t = result[k].total;
    log(`size: ${k.padEnd(26)} ${t.raw} B raw, ${t.gzip} B gzip, ${t.brotli} B brotli`);
  }
  result.viteApp = viteAppCost();
  const d = result.viteApp.added;
  const l = result.viteApp.addedLoaded;
  log(
    `size: a Vite production build grows by ${d.gzip} B gzip, ${d.brotli} B brotli with sse-balancer; ` +
      `its page loads ${l.gzip} B gzip, ${l.brotli} B brotli of it (the rest: chunks loaded only with share)`,
  );
  return result;
}

/**
 * What an app pays: the package test's small Vite app built for production
 * with sse-balancer (installed from its tarball), minus the same app
 * without it. Every file of dist/assets compressed alone; totals summed.
 */
function viteAppCost() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sseb-size-'));
  const run = (args, cwd) =>
    execFileSync(args[0], args.slice(1), { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
  try {
    const packed = JSON.parse(run(['npm', 'pack', '--json', '--pack-destination', work], ROOT))[0];
    const body = [
      "const urls = JSON.parse(new URLSearchParams(location.search).get('urls') || '[]');",
      'window.received = [];',
      'const onmessage = (e) => {',
      '  window.received.push(e.lastEventId);',
      "  document.getElementById('n').textContent = String(window.received.length);",
      '};',
    ];
    const apps = {
      with: ["import { BalancedEventSource } from 'sse-balancer';", ...body, 'new BalancedEventSource(urls).onmessage = onmessage;'],
      without: [...body, 'new EventSource(urls[0]).onmessage = onmessage;'],
    };
    const out = {};
    for (const [name, main] of Object.entries(apps)) {
      const app = path.join(work, name);
      fs.mkdirSync(app);
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: `app-${name}`, private: true, type: 'module' }));
      fs.writeFileSync(
        path.join(app, 'index.html'),
        '<!doctype html><html><head><meta charset="utf-8"><title>app</title></head>' +
          '<body><p id="n">0</p><script type="module" src="/main.js"></script></body></html>',
      );
      fs.writeFileSync(path.join(app, 'main.js'), main.join('\n'));
      if (name === 'with') run(['npm', 'install', '--no-audit', '--no-fund', '--offline', path.join(work, packed.filename)], app);
      run([process.execPath, path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--manifest', '--logLevel', 'warn'], app);
      // Chunks only a dynamic import() loads (sse-balancer's share chunk,
      // imported only with `share`): the page of this app never loads them.
      const manifest = JSON.parse(fs.readFileSync(path.join(app, 'dist/.vite/manifest.json'), 'utf8'));
      const lazy = new Set(Object.values(manifest).filter((c) => c.isDynamicEntry).map((c) => path.basename(c.file)));
      const assets = path.join(app, 'dist/assets');
      const files = fs.readdirSync(assets).map((f) => ({ ...sizes(path.relative(ROOT, path.join(assets, f))), lazy: lazy.has(f) }));
      out[name] = {
        files: files.map((f) => ({ ...f, path: path.basename(f.path) })),
        total: total(files),
        loaded: total(files.filter((f) => !f.lazy)),
      };
    }
    const minus = (key) => Object.fromEntries(['raw', 'gzip', 'brotli'].map((k) => [k, out.with[key][k] - out.without[key][k]]));
    return {
      method:
        'a Vite production build (no config) of a small app with sse-balancer from its tarball, minus the same app with a ' +
        'plain EventSource; each asset compressed alone. `added`: every asset of the build; `addedLoaded`: without the ' +
        "chunks only a dynamic import() loads (Vite's manifest: isDynamicEntry), i.e. what this app's page loads",
      ...out,
      added: minus('total'),
      addedLoaded: minus('loaded'),
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const SPECIFIERS = {
  'sse-balancer': '/web/dist/sse-balancer.js',
  'reconnecting-eventsource': RES_MODULE,
  'hand-written': `${PAGES}/handwritten-failover.js`,
};

export async function runStartup({ browser, cfg }) {
  const pages = await startPages();
  const samples = Object.fromEntries(CLIENTS.map((k) => [k, []]));
  const coreReady = Object.fromEntries(CLIENTS.map((k) => [k, []]));
  const fetchEnds = Object.fromEntries(CLIENTS.map((k) => [k, []]));
  const fetchCounts = Object.fromEntries(CLIENTS.map((k) => [k, []]));
  try {
    for (let i = 0; i < cfg.coldLoads; i++) {
      for (const kind of CLIENTS) {
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          // A new context starts with empty HTTP and code caches (checked
          // below). No CDP Network domain: it instruments every request and
          // adds main-thread time to each fetch() the page makes.
          await page.goto(`${pages.origin}${PAGES}/startup.html`);
          await page.waitForFunction(() => window.startupReady === true, null, { timeout: 15_000 });
          const r = await page.evaluate(([k, s]) => window.measureImport(k, s), [kind, SPECIFIERS[kind]]);
          const cached = r.fetches.filter((f) => f.fromCache).map((f) => f.path);
          if (cached.length > 0) throw new Error(`startup: not a cold load, from a cache: ${cached.join(', ')}`);
          samples[kind].push(r.importToReadyMs);
          coreReady[kind].push(r.coreReadyMs);
          fetchEnds[kind].push(r.fetches.reduce((m, f) => Math.max(m, f.endMs), 0));
          fetchCounts[kind].push(r.fetches.length);
        } finally {
          await context.close();
        }
      }
    }
  } finally {
    await pages.close();
  }
  const result = {
    method:
      'in the page: performance.now() before a dynamic import() of the module, after it (a usable constructor), and, ' +
      'for sse-balancer, after `await ready` (the Wasm core loaded: a balancer made at import starts then); a new ' +
      'browser context per load (empty caches; every file checked to have come over the network, Resource Timing ' +
      'transferSize; no CDP Network domain, which adds time to each fetch() the page makes); served from ' +
      '127.0.0.1 by the Express page server; clients interleaved',
    coldLoads: cfg.coldLoads,
    clients: Object.fromEntries(
      CLIENTS.map((k) => [
        k,
        {
          importToReadyMs: summary(samples[k]),
          // Until a balancer made at import can start (sse-balancer: `await
          // ready`, the Wasm core loaded); the baselines' import.
          coreReadyMs: summary(coreReady[k]),
          // Until the last file's response ended (Resource Timing); the rest
          // is parsing, compiling, instantiating and initialising.
          fetchesDoneMs: summary(fetchEnds[k]),
          filesFetched: median(fetchCounts[k]),
          samplesMs: samples[k].map((x) => round(x)),
        },
      ]),
    ),
  };
  for (const k of CLIENTS) {
    const c = result.clients[k];
    log(`startup: ${k.padEnd(26)} import to constructor ${c.importToReadyMs.median} ms, to core ready ${c.coreReadyMs.median} ms (medians; fetches done at ${c.fetchesDoneMs.median} ms, ${c.filesFetched} files)`);
  }
  return result;
}

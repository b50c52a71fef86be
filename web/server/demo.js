#!/usr/bin/env node
// `npm start`: runs the sse-balancer demo.
//
//   node web/server/demo.js [--port 8080] [--backends 3] [--interval 1000]
//
// Starts a page server on --port (serving /web/demo/ plus a small control API)
// and --backends SSE backends on the consecutive ports after it, all streaming
// one shared event log that gets a "tick" message every --interval ms.

import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { EventLog } from './event-log.js';
import { startCluster, MODES } from './backend-cluster.js';
import { startPageServer } from './static-server.js';

const HOST = '127.0.0.1';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' http://127.0.0.1:*";

const USAGE = `usage: node web/server/demo.js [--port 8080] [--backends 3] [--interval 1000]

  --port N       page server port (1-65535, default 8080); backends use N+1 .. N+backends
  --backends N   number of SSE backends (1-16, default 3)
  --interval MS  milliseconds between generated events (10-3600000, default 1000)
  --help         show this help`;

const FLAGS = {
  port: { min: 1, max: 65535, def: 8080 },
  backends: { min: 1, max: 16, def: 3 },
  interval: { min: 10, max: 3_600_000, def: 1000 },
};

class UsageError extends Error {}

export function parseArgs(argv) {
  const out = Object.fromEntries(Object.entries(FLAGS).map(([k, v]) => [k, v.def]));
  const seen = new Set();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { help: true };
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    if (!m || !(m[1] in FLAGS)) throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    const name = m[1];
    let value = m[2];
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    if (seen.has(name)) throw new UsageError(`--${name} given more than once`);
    seen.add(name);
    const { min, max } = FLAGS[name];
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new UsageError(`--${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(value)}`);
    }
    out[name] = Number(value);
  }
  if (out.port + out.backends > 65535) {
    throw new UsageError(`--port ${out.port} leaves no room for ${out.backends} backend port(s) after it (max port 65535)`);
  }
  return out;
}

function parseIndex(raw, count) {
  if (!/^\d{1,3}$/.test(raw)) return null;
  const i = Number(raw);
  return i < count ? i : null;
}

export async function runDemo({ port, backends: count, interval }) {
  const pageOrigin = `http://${HOST}:${port}`;
  const log = new EventLog();
  let cluster = null;

  const controlApi = (app) => {
    const api = express.Router();
    api.use(express.json({ limit: '16kb' }));
    // Mutating calls must come from the demo page itself (no cross-site CSRF).
    api.use((req, res, next) => {
      const origin = req.get('Origin');
      if (req.method !== 'GET' && origin !== undefined && origin !== pageOrigin && origin !== `http://localhost:${port}`) {
        return res.status(403).json({ error: `origin ${origin} not allowed` });
      }
      next();
    });
    const describe = (i) => ({
      index: i,
      url: cluster.backends[i].url,
      mode: cluster.mode(i),
      openStreams: cluster.openStreams(i),
      connections: cluster.connectionCount(i),
    });
    api.get('/backends', (req, res) => {
      res.set('Cache-Control', 'no-store');
      res.json(cluster.backends.map((b) => describe(b.index)));
    });
    const action = (fn) => async (req, res, next) => {
      const i = parseIndex(req.params.i, cluster.backends.length);
      if (i === null) {
        return res.status(400).json({ error: `bad backend index ${JSON.stringify(req.params.i)}; expected 0..${cluster.backends.length - 1}` });
      }
      try {
        const err = await fn(i, req);
        if (err) return res.status(400).json({ error: err });
        res.json(describe(i));
      } catch (e) {
        next(e);
      }
    };
    api.post('/backends/:i/kill', action((i) => cluster.kill(i)));
    api.post('/backends/:i/revive', action((i) => cluster.revive(i)));
    api.post(
      '/backends/:i/mode',
      action(async (i, req) => {
        const mode = req.body && req.body.mode;
        if (!MODES.includes(mode)) return `mode must be one of ${MODES.join(', ')}`;
        await cluster.setMode(i, mode);
      }),
    );
    api.use((req, res) => res.status(404).json({ error: 'not found' }));
    // eslint-disable-next-line no-unused-vars
    api.use((err, req, res, next) => {
      const status = err.status || err.statusCode || 500;
      res.status(status).json({ error: status >= 500 ? 'internal error' : err.message });
      if (status >= 500) console.error(err);
    });
    app.use('/api', api);
    app.get('/', (req, res) => res.redirect(302, '/web/demo/'));
  };

  const page = await startPageServer({ host: HOST, port, root: REPO_ROOT, csp: DEMO_CSP, extraRoutes: controlApi });
  try {
    cluster = await startCluster({
      count,
      host: HOST,
      ports: Array.from({ length: count }, (_, k) => port + 1 + k),
      allowedOrigins: [pageOrigin, `http://localhost:${port}`],
      log,
    });
  } catch (err) {
    await page.close();
    throw err;
  }

  let tick = 0;
  const generator = setInterval(() => {
    tick++;
    log.append('message', JSON.stringify({ text: `tick ${tick}`, at: new Date().toISOString() }));
  }, interval);

  let stopping = null;
  const stop = () => {
    if (!stopping) {
      clearInterval(generator);
      stopping = Promise.all([cluster.close(), page.close()]).then(() => undefined);
    }
    return stopping;
  };

  return { page, cluster, log, stop };
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`sse-balancer demo: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }

  let demo;
  try {
    demo = await runDemo(opts);
  } catch (err) {
    if (err && err.code === 'EADDRINUSE') {
      console.error(`sse-balancer demo: port ${err.port} is already in use; pick another with --port (backends use the ${opts.backends} port(s) after it)`);
    } else {
      console.error('sse-balancer demo: failed to start:', err);
    }
    process.exit(1);
  }

  console.log(`sse-balancer demo: open ${demo.page.origin}/web/demo/`);
  for (const b of demo.cluster.backends) console.log(`  backend ${b.index}: ${b.url}`);
  console.log(`  one event every ${opts.interval} ms; press Ctrl+C to stop`);
  for (const f of ['web/index.js', 'web/dist/sse-balancer-core.wasm']) {
    if (!fs.existsSync(path.join(REPO_ROOT, f))) console.warn(`  warning: ${f} is missing; build the library first or the page cannot load it`);
  }

  let signalled = false;
  const onSignal = (sig) => {
    if (signalled) {
      console.error(`sse-balancer demo: second ${sig}, exiting now`);
      process.exit(130);
    }
    signalled = true;
    console.log(`\nsse-balancer demo: ${sig} received, shutting down`);
    // Safety net only; normally every handle is closed and node exits by itself.
    setTimeout(() => {
      console.error('sse-balancer demo: shutdown timed out, forcing exit');
      process.exit(1);
    }, 3000).unref();
    demo.stop().then(
      () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      },
      (err) => {
        console.error('sse-balancer demo: error during shutdown:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

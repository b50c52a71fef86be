#!/usr/bin/env node
// sse-balancer's server: a page/API server and N SSE backends streaming the
// `chat` and `logs` channels of one log store (in-process memory, or Redis
// Streams shared by every process pointed at the same Redis or Redis Cluster).
//
//   node web/server/main.js [--backends 3] [--port-base 8080]
//                           [--redis redis://127.0.0.1:6379 | --redis-cluster redis://h:p1,redis://h:p2,...]
//                           [--log-rate 20] [--allowed-origin URL]... [--help]
//
// Page server on P (= --port-base): the pages (chat /web/chat/, logs /web/logs/,
// demo /web/demo/, with /web/shared/ and /web/dist/; nothing else: see
// static-server.js), / -> /web/chat/, and the control API (control-api.js).
// Backends on P+1 .. P+N, each: GET /chat/events, GET /logs/events, GET /events
// (= logs, for the demo page), POST /chat/messages, GET /chat/health.
//
// In Redis mode every process runs a log generator, but only the one holding
// the log's lease in Redis writes (generator-lease.js): N processes write
// --log-rate lines per second in total, not N times that.
//
// startServer(options) does the same in-process (for tests) and returns
// { pageOrigin, controlToken, backends, store, cluster, generator, generatorLease, page, stop() }.

import crypto from 'node:crypto';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startCluster } from './backend-cluster.js';
import { CONTROL_TOKEN_HEADER, installControlApi, publicBackend } from './control-api.js';
import { PAGE_ALLOW, startPageServer } from './static-server.js';
import { MemoryStore } from './stores/memory-store.js';
import { startLogGenerator, MAX_LOG_RATE } from './log-generator.js';
import { startGeneratorLease } from './generator-lease.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_HOST = '127.0.0.1';
export const PAGE_CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' http://127.0.0.1:* http://localhost:*; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
const MAX_BACKENDS = 16;
const SHUTDOWN_TIMEOUT_MS = 3000;

export const USAGE = `usage: node web/server/main.js [options]

  --backends N          number of SSE backends (1-${MAX_BACKENDS}, default 3)
  --port-base P         page/API server on port P, backends on P+1 .. P+N (1-65535, default 8080)
  --redis URL           keep the log in Redis Streams (redis://host:port[/db]), shared by every
                        process using the same Redis; default: in this process's memory
  --redis-cluster URLS  the same on a Redis Cluster: comma-separated node URLs
                        (redis://host:port,redis://host:port,...; some or all of its masters, the
                        others are found with CLUSTER SLOTS); not with --redis
  --log-rate N          generated log lines per second on the logs channel (0-${MAX_LOG_RATE}, 0 = off, default 20);
                        with Redis, one process at a time writes them (a lease in Redis, key
                        {logs}:generator), so the processes sharing it write N lines/s together
  --drain-ms N          on SIGTERM (and for the demo's rolling restart) every backend tells its
                        clients it goes away within N ms, waits that long, then stops (0-600000, default 5000)
  --allowed-origin URL  one more origin allowed to use the backends (repeatable); the page
                        server's own origin and its http://localhost:P twin are always allowed
  --help                show this help`;

export class UsageError extends Error {}

function parseOrigin(value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--allowed-origin must be an origin like http://example.com:8080, got ${JSON.stringify(value)}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash || url.pathname !== '/') {
    throw new UsageError(`--allowed-origin must be an http(s) origin without path, query or credentials, got ${JSON.stringify(value)}`);
  }
  return url.origin;
}

function parseRedisUrl(value, what = '--redis') {
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${what} must be a URL like redis://127.0.0.1:6379, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(`${what} must start with redis:// or rediss://, got ${JSON.stringify(value)}`);
  }
  if (!url.hostname) throw new UsageError(`${what} needs a host, got ${JSON.stringify(value)}`);
  return value;
}

/** --redis-cluster: comma-separated node URLs (duplicates dropped). */
function parseRedisClusterUrls(value) {
  const example = 'redis://127.0.0.1:7000,redis://127.0.0.1:7001,redis://127.0.0.1:7002';
  const items = value.split(',').map((s) => s.trim());
  if (items.every((s) => s === '')) throw new UsageError(`--redis-cluster needs node URLs separated by commas, like ${example}`);
  const urls = items.map((item, i) => {
    const what = `--redis-cluster node ${i + 1} of ${items.length}`;
    if (item === '') throw new UsageError(`${what} is empty (a stray comma?) in ${JSON.stringify(value)}`);
    parseRedisUrl(item, what);
    const { pathname } = new URL(item);
    if (pathname !== '' && pathname !== '/') {
      throw new UsageError(`${what}: a Redis Cluster has only database 0, so a node URL cannot name one (${pathname}), got ${JSON.stringify(item)}`);
    }
    return item;
  });
  return [...new Set(urls)];
}

function parseInteger(name, value, min, max) {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

const FLAGS = {
  backends: { key: 'backends', parse: (v) => parseInteger('backends', v, 1, MAX_BACKENDS) },
  'port-base': { key: 'portBase', parse: (v) => parseInteger('port-base', v, 1, 65535) },
  redis: { key: 'redis', parse: parseRedisUrl },
  'redis-cluster': { key: 'redisCluster', parse: parseRedisClusterUrls },
  'log-rate': {
    key: 'logRate',
    parse: (v) => {
      if (!/^\d+(\.\d+)?$/.test(v) || Number(v) > MAX_LOG_RATE) {
        throw new UsageError(`--log-rate must be a number of lines per second between 0 and ${MAX_LOG_RATE}, got ${JSON.stringify(v)}`);
      }
      return Number(v);
    },
  },
  'allowed-origin': { key: 'allowedOrigins', parse: parseOrigin, repeatable: true },
  'drain-ms': { key: 'drainMs', parse: (v) => parseInteger('drain-ms', v, 0, 600_000) },
};

/** Parse the command line; throws UsageError. Returns { help: true } for --help. */
export function parseArgs(argv) {
  const out = { backends: 3, portBase: 8080, redis: null, redisCluster: null, logRate: 20, allowedOrigins: [], drainMs: 5000 };
  const seen = new Set();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { help: true };
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m || !(m[1] in FLAGS)) throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    const flag = FLAGS[m[1]];
    let value = m[2];
    if (value === undefined) {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new UsageError(`--${m[1]} needs a value`);
      value = argv[++i];
    }
    if (seen.has(m[1]) && !flag.repeatable) throw new UsageError(`--${m[1]} given more than once`);
    seen.add(m[1]);
    const parsed = flag.parse(value);
    if (flag.repeatable) {
      if (!out[flag.key].includes(parsed)) out[flag.key].push(parsed);
    } else out[flag.key] = parsed;
  }
  if (out.redis !== null && out.redisCluster !== null) {
    throw new UsageError('give either --redis (one Redis) or --redis-cluster (a Redis Cluster), not both');
  }
  if (out.portBase + out.backends > 65535) {
    throw new UsageError(`--port-base ${out.portBase} leaves no room for ${out.backends} backend port(s) after it (max port 65535)`);
  }
  return out;
}

const SERVER_DEFAULTS = Object.freeze({
  backends: 3,
  portBase: 8080,
  host: DEFAULT_HOST,
  redis: null,
  redisCluster: null,
  redisKeyPrefix: '',
  store: undefined,
  capacity: 10000,
  logRate: 20,
  allowedOrigins: [],
  heartbeatMs: 5000,
  chat: {},
  root: REPO_ROOT,
  pageRequestTimeoutMs: undefined,
  drainMs: 5000,
});

function serverOptions(options) {
  const config = { ...SERVER_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  const { backends: count, portBase, allowedOrigins, redis, redisCluster, store } = config;
  if (!Number.isInteger(count) || count < 1 || count > MAX_BACKENDS) throw new RangeError(`backends must be an integer in [1, ${MAX_BACKENDS}], got ${count}`);
  if (!Number.isInteger(portBase) || portBase < 0 || portBase + count > 65535) throw new RangeError(`invalid portBase ${portBase}`);
  if (!Array.isArray(allowedOrigins)) throw new TypeError('allowedOrigins must be an array');
  if ([redis !== null, redisCluster !== null, store !== undefined].filter(Boolean).length > 1) {
    throw new TypeError('give one of redis, redisCluster and store, not several');
  }
  if (redisCluster !== null && (!Array.isArray(redisCluster) || redisCluster.length === 0)) throw new TypeError('redisCluster must be a non-empty array of node URLs');
  return config;
}

/** The store the options name: the one given, else Redis or memory (then owned). */
async function openStore({ store, redis, redisCluster, capacity, redisKeyPrefix }) {
  if (store !== undefined) return { store, owned: false };
  if (redis === null && redisCluster === null) return { store: new MemoryStore({ capacity }), owned: true };
  const { RedisStore } = await import('./stores/redis-store.js');
  const where = redisCluster !== null ? { cluster: redisCluster } : { url: redis };
  return { store: await RedisStore.connect({ ...where, capacity, keyPrefix: redisKeyPrefix }), owned: true };
}

/**
 * The log generator; over a store shared by processes (one with tryLease:
 * Redis), gated by the log's lease so that one process at a time writes.
 */
function startGenerator(store, rate, { log = false } = {}) {
  let lease = null;
  if (rate > 0 && typeof store.tryLease === 'function') {
    lease = startGeneratorLease({
      store,
      channel: 'logs',
      onChange: log ? (held) => console.log(`sse-balancer: ${held ? 'this process now writes' : 'this process no longer writes'} the generated log lines`) : undefined,
    });
  }
  const generator = startLogGenerator({ store, channel: 'logs', rate, active: lease ? () => lease.held : undefined });
  return { generator, lease };
}

/**
 * Start a whole deployment in this process.
 *
 * @param {{
 *   backends?: number,         // default 3
 *   portBase?: number,         // page server port, backends on the next ports; 0 (default for
 *                              // tests: pass it) picks free ports for all of them. Default 8080.
 *   host?: string,             // default 127.0.0.1
 *   redis?: string | null,     // Redis URL: use the Redis store
 *   redisCluster?: string[] | null, // or node URLs of a Redis Cluster
 *   redisKeyPrefix?: string,   // prefix of every Redis key (default '')
 *   store?: object,            // an already created store (left open by stop())
 *   capacity?: number,         // entries kept per channel (default 10000)
 *   logRate?: number,          // lines/s on the logs channel (default 20, 0 = off); with Redis
 *                              // written by the process that holds the lease (one at a time)
 *   logLeaseMessages?: boolean,// print when this process starts / stops writing them (main() does)
 *   allowedOrigins?: string[], // extra origins allowed by the backends
 *   heartbeatMs?: number,      // default 5000
 *   chat?: object | false,     // chat API options (see chat-api.js)
 *   root?: string,             // directory whose web/ is served (default: this repository)
 *   pageRequestTimeoutMs?: number, // page server: 408 for a request not complete by then (default 25000)
 * }} [options]
 */
/** The SSE backends, on the ports after the page server's, allowed to its origins. */
function startBackends(config, pageOrigins, store) {
  const { backends: count, portBase } = config;
  return startCluster({
    count,
    host: config.host,
    ports: portBase === 0 ? undefined : Array.from({ length: count }, (_, k) => portBase + 1 + k),
    allowedOrigins: [...new Set([...pageOrigins, ...config.allowedOrigins])],
    store,
    defaultChannel: 'logs',
    heartbeatMs: config.heartbeatMs,
    chat: config.chat,
    // With a shared store the clients' lists span processes; this one knows
    // only its own backends, so it does not announce lists.
    announceEndpoints: config.store === undefined && config.redis === null && config.redisCluster === null,
  });
}

export async function startServer(options = {}) {
  const config = serverOptions(options);
  const { portBase, host } = config;
  // The control API's secret: a page of ours reads it from GET /api/token (a
  // same-origin request); other sites cannot read that answer, so they
  // cannot send it, and a request without it changes nothing.
  const server = {
    cluster: null,
    pageOrigins: new Set(),
    pageOrigin: null,
    host,
    drainMs: config.drainMs,
    token: crypto.randomBytes(32).toString('base64url'),
  };
  const parts = { store: null, ownsStore: false, page: null, cluster: null, generator: null, lease: null };
  const stopAll = async () => {
    if (parts.generator) parts.generator.stop();
    await Promise.all([parts.cluster?.close(), parts.page?.close(), parts.lease?.stop()]);
    if (parts.ownsStore && parts.store) await parts.store.close();
  };
  try {
    ({ store: parts.store, owned: parts.ownsStore } = await openStore(config));
    parts.page = await startPageServer({
      host,
      port: portBase,
      root: config.root,
      csp: PAGE_CSP,
      extraRoutes: (app) => installControlApi(app, server),
      allow: PAGE_ALLOW,
      requestTimeoutMs: config.pageRequestTimeoutMs,
    });
    server.pageOrigin = parts.page.origin;
    server.pageOrigins.add(parts.page.origin).add(`http://localhost:${parts.page.port}`);
    parts.cluster = server.cluster = await startBackends(config, server.pageOrigins, parts.store);
    ({ generator: parts.generator, lease: parts.lease } = startGenerator(parts.store, config.logRate, { log: config.logLeaseMessages === true }));
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
  let stopping = null;
  return {
    pageOrigin: parts.page.origin,
    /** The control API's token (send it as X-Control-Token on POST /api/backends/...). */
    controlToken: server.token,
    chatPageUrl: `${parts.page.origin}/web/chat/`,
    logsPageUrl: `${parts.page.origin}/web/logs/`,
    backends: parts.cluster.backends.map(publicBackend),
    store: parts.store,
    cluster: parts.cluster,
    generator: parts.generator,
    /** The lease that gates the generator (Redis mode with a log rate), else null. */
    generatorLease: parts.lease,
    page: parts.page,
    /**
     * Every backend tells its clients it goes away within `drainMs` (they move
     * first, or, with nowhere to go, lose their stream only when it stops),
     * then everything stops.
     */
    async drainAndStop(drainMs = config.drainMs) {
      for (let i = 0; i < parts.cluster.backends.length; i++) parts.cluster.drain(i, drainMs);
      await new Promise((resolve) => setTimeout(resolve, drainMs));
      return this.stop();
    },
    /** Stop the generator, close every server and (if it created it) the store. Idempotent. */
    stop() {
      if (!stopping) stopping = stopAll();
      return stopping;
    },
  };
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`sse-balancer: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }

  let server;
  try {
    server = await startServer({ ...opts, logLeaseMessages: true });
  } catch (err) {
    if (err && err.code === 'EADDRINUSE') {
      console.error(
        `sse-balancer: port ${err.port} is already in use; pick another --port-base (the page server uses it, the ${opts.backends} backend(s) the ports after it)`,
      );
    } else if ((opts.redis || opts.redisCluster) && /redis|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|connect/i.test(String(err && err.message))) {
      console.error(`sse-balancer: ${err.message}`);
    } else {
      console.error('sse-balancer: failed to start:', err);
    }
    process.exit(1);
  }

  const o = server.pageOrigin;
  console.log(`sse-balancer: chat ${o}/web/chat/  logs ${o}/web/logs/`);
  console.log(`  demo ${o}/web/demo/   control API ${o}/api/backends`);
  console.log(`  control token (header ${CONTROL_TOKEN_HEADER} on POST /api/backends/...): ${server.controlToken}`);
  for (const b of server.backends) console.log(`  backend ${b.index}: ${b.origin}  chat ${b.chatUrl}  logs ${b.logsUrl}  post ${b.messagesUrl}`);
  const store = opts.redisCluster
    ? `redis cluster ${opts.redisCluster.join(',')} (shared with every process using it)`
    : opts.redis
      ? `redis ${opts.redis} (shared with every process using it)`
      : 'memory (this process only)';
  const shared = server.generatorLease ? ' by whichever process holds the lease {logs}:generator' : '';
  console.log(`  store: ${store}; ${opts.logRate} log line(s)/s${shared}; press Ctrl+C to stop`);
  for (const f of ['web/dist/sse-balancer.js', 'web/dist/sse-balancer-core.wasm']) {
    if (!fs.existsSync(path.join(REPO_ROOT, f))) console.warn(`  warning: ${f} is missing; build the library first (npm run build) or the pages cannot load it`);
  }

  let signalled = false;
  const onSignal = (sig) => {
    if (signalled) {
      console.error(`sse-balancer: second ${sig}, exiting now`);
      process.exit(130);
    }
    signalled = true;
    // SIGTERM (a deploy): the clients are told to move first. SIGINT (Ctrl+C): now.
    const drainMs = sig === 'SIGTERM' ? opts.drainMs : 0;
    console.log(`\nsse-balancer: ${sig} received, shutting down${drainMs > 0 ? ` after a ${drainMs} ms drain (clients are told to move)` : ''}`);
    setTimeout(() => {
      console.error('sse-balancer: shutdown timed out, forcing exit');
      process.exit(1);
    }, drainMs + SHUTDOWN_TIMEOUT_MS).unref();
    (drainMs > 0 ? server.drainAndStop(drainMs) : server.stop()).then(
      () => process.exit(0),
      (err) => {
        console.error('sse-balancer: error during shutdown:', err);
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

// Shared pieces of the browser benchmarks: configuration from the
// environment, Chromium, the page server (with the baseline library served),
// the SSE backends, clock alignment and statistics. Benchmarks print figures
// and write JSON; nothing here asserts on time.
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { chromium } from '@playwright/test';
import { MemoryStore } from '../../../web/server/stores/memory-store.js';
import { startCluster } from '../../../web/server/backend-cluster.js';
import { startPageServer } from '../../../web/server/static-server.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const PAGES = '/tests/bench/browser/pages';
/** Where the baseline library's ES module build is served from. */
export const RES_MODULE = '/vendor/reconnecting-eventsource/reconnecting-eventsource.js';

/** The clients compared, in report order. */
export const CLIENTS = Object.freeze(['sse-balancer', 'hand-written', 'reconnecting-eventsource']);

export const CLIENT_LABELS = Object.freeze({
  'sse-balancer': 'sse-balancer',
  'hand-written': 'hand-written failover (tutorial, carries ?lastEventId=)',
  'reconnecting-eventsource': 'reconnecting-eventsource 1.6.5 (one URL)',
  plain: 'plain EventSource',
});

function intEnv(name, fallback, min = 1) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${raw}`);
  return n;
}

/** Every knob, from the environment (see tests/bench/browser/README.md). */
export function config() {
  const trials = intEnv('BENCH_TRIALS', 7);
  return {
    trials,
    // Trials of a client that did not recover in any of the first few: the
    // outcome is settled, so the remaining trials are not run (each costs
    // the whole timeout).
    noRecoveryTrials: Math.min(trials, intEnv('BENCH_NORECOVERY_TRIALS', 3)),
    trialTimeoutMs: intEnv('BENCH_TIMEOUT_MS', 10_000, 1000),
    intervalMs: intEnv('BENCH_INTERVAL_MS', 20),
    heartbeatMs: intEnv('BENCH_HEARTBEAT_MS', 300),
    heartbeatTimeoutMs: intEnv('BENCH_HEARTBEAT_TIMEOUT_MS', 1000, 100),
    restartAfterMs: intEnv('BENCH_RESTART_AFTER_MS', 1000),
    dispatchEvents: intEnv('BENCH_EVENTS', 50_000),
    coreCalls: intEnv('BENCH_CORE_CALLS', 100_000),
    coldLoads: intEnv('BENCH_COLD_LOADS', 20),
    failovers: intEnv('BENCH_FAILOVERS', 10_000),
    soakIntervalMs: intEnv('BENCH_SOAK_INTERVAL_MS', 2),
    only: (process.env.BENCH_ONLY || '').split(',').map((s) => s.trim()).filter(Boolean),
  };
}

export const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS],
  });
}

/**
 * The page server: /web/** and /tests/** from the repository, the baseline
 * library's ES module build under /vendor/reconnecting-eventsource/, and
 * whatever `routes` adds (e.g. the dispatch stream).
 */
export function startPages(routes) {
  return startPageServer({
    root: ROOT,
    extraRoutes(app) {
      app.use(
        '/vendor/reconnecting-eventsource',
        express.static(path.join(ROOT, 'node_modules/reconnecting-eventsource/build/esm'), {
          setHeaders(res) {
            res.setHeader('Cache-Control', 'no-cache');
            res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
          },
        }),
      );
      routes?.(app);
    },
  });
}

/**
 * Three backends streaming the `logs` channel of one MemoryStore at /events
 * (the store path of `npm start`); the channel gets a `message` event every
 * `intervalMs` (data: its sequence number; ids are the channel's integers).
 * `log` is that channel's EventLog (log.lastId: the last id appended).
 */
export async function startBackends({ pagesOrigin, count = 3, intervalMs, heartbeatMs, capacity = 100_000 }) {
  const store = new MemoryStore({ capacity });
  const cluster = await startCluster({ count, store, defaultChannel: 'logs', allowedOrigins: [pagesOrigin], heartbeatMs });
  const log = store.log('logs');
  let n = 0;
  let generator = null;
  const env = {
    log,
    store,
    cluster,
    urls: cluster.backends.map((b) => b.url),
    origins: cluster.backends.map((b) => b.origin),
    setInterval(ms) {
      if (generator) clearInterval(generator);
      generator = ms > 0 ? setInterval(() => store.append('logs', 'message', String(++n)), ms) : null;
    },
    /** Every backend up, in mode 'ok', with no stream left from before. */
    async heal() {
      for (let i = 0; i < count; i++) {
        if (cluster.mode(i) !== 'ok') {
          await cluster.kill(i);
          await cluster.revive(i);
        }
      }
    },
    async stop() {
      if (generator) clearInterval(generator);
      generator = null;
      await cluster.close();
      await store.close();
    },
  };
  env.setInterval(intervalMs);
  return env;
}

/** Node's clock in the same units as the page's (epoch ms, high resolution). */
export const nodeNow = () => performance.timeOrigin + performance.now();

/**
 * Offset of the page clock from Node's (page = node + offset), from the
 * round trip with the smallest duration out of `rounds`.
 */
export async function clockOffset(page, rounds = 9) {
  let best = null;
  for (let i = 0; i < rounds; i++) {
    const a = nodeNow();
    const p = await page.evaluate(() => performance.timeOrigin + performance.now());
    const b = nodeNow();
    const rtt = b - a;
    if (!best || rtt < best.rttMs) best = { offsetMs: p - (a + b) / 2, rttMs: rtt };
  }
  return best;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `fn` (async) until truthy or `timeoutMs`; returns the value or null. */
export async function pollUntil(fn, { timeoutMs, everyMs = 25 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() >= deadline) return null;
    await sleep(everyMs);
  }
}

// ---- statistics -----------------------------------------------------------

export function sorted(values) {
  return values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
}

export function median(values) {
  const s = sorted(values);
  if (s.length === 0) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile; null when fewer than `minCount` values. */
export function percentile(values, p, minCount = 5) {
  const s = sorted(values);
  if (s.length < minCount) return null;
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export function summary(values) {
  const s = sorted(values);
  return {
    n: s.length,
    median: round(median(s)),
    p90: round(percentile(s, 90)),
    min: round(s.length ? s[0] : null),
    max: round(s.length ? s[s.length - 1] : null),
  };
}

export function round(x, digits = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return x ?? null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function ratio(a, b, digits = 3) {
  if (a === null || b === null || a === undefined || b === undefined || !b) return null;
  return round(a / b, digits);
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadavg: os.loadavg().map((x) => round(x)),
  };
}

export function log(...args) {
  console.log('[bench]', ...args);
}

/** A page of clients.html in `context`, ready, with its clock offset. */
export async function openClientsPage(context, origin) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${origin}${PAGES}/clients.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 15_000 });
  return { page, errors, offset: await clockOffset(page) };
}

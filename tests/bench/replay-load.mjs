// Replay load on the reference server: a full chat log (10,000 messages of
// 4 KB), then clients that resume from id 0 and never read (raw sockets), a
// bounded churn of more of them, a health probe every 50 ms and one
// well-behaved client resuming from 0 at the same time. The server runs in a
// child process (replay-load-server.mjs) whose RSS is read from
// /proc/<pid>/status. Everything stays on 127.0.0.1 and every loop is bounded
// in count and time.
//
//   node tests/bench/replay-load.mjs [--out docs/bench] [--clients 110] [--churn 500]
//
// writes <out>/replay-load.json and <out>/replay-load.md. runReplayLoad() is
// also used by tests/e2e/server-load.spec.js.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const SERVER = path.join(HERE, 'replay-load-server.mjs');
const HOST = '127.0.0.1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** VmRSS and VmHWM (peak) of a process, in bytes; null once it is gone. */
function readRss(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Starts the server child; resolves { child, ports, lastId, command(line), nextJson() }. */
async function startServerChild(serverOptions, { readyTimeoutMs = 60_000 } = {}) {
  const child = spawn(process.execPath, [SERVER, JSON.stringify(serverOptions)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    if (stderr.length < 20_000) stderr += d;
  });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  const queue = [];
  lines.on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (waiting.length > 0) waiting.shift()(msg);
    else queue.push(msg);
  });
  const nextJson = (timeoutMs = 10_000) =>
    new Promise((resolve, reject) => {
      if (queue.length > 0) return resolve(queue.shift());
      const t = setTimeout(() => reject(new Error(`replay-load server: no answer within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      waiting.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = await Promise.race([nextJson(readyTimeoutMs), exited.then((e) => ({ exited: e }))]);
  if (!ready.ready) throw new Error(`replay-load server did not start: ${JSON.stringify(ready)} ${stderr}`);
  return {
    child,
    exited,
    stderr: () => stderr,
    ports: ready.ports,
    lastId: ready.lastId,
    command: (line) => child.stdin.write(`${line}\n`),
    nextJson,
  };
}

/** A client that sends a resume request and never reads. Resolves the socket once connected. */
function openNonReader(port, resumeId) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: HOST });
    socket.pause(); // never read: the kernel buffers fill, then the server's
    socket.on('error', () => {});
    socket.once('connect', () => {
      socket.write(`GET /chat/events?lastEventId=${resumeId} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nAccept: text/event-stream\r\n\r\n`);
      resolve(socket);
    });
    socket.once('close', () => resolve(socket));
  });
}

/**
 * The well-behaved client: resumes from 0 and reads everything until id
 * `lastId`. Resolves { ids: count, contiguous, first, last, gaps, ms, error }.
 */
function goodClient(port, lastId, timeoutMs) {
  return new Promise((resolve) => {
    const started = Date.now();
    let buf = '';
    let count = 0;
    let prev = 0;
    let contiguous = true;
    let first = null;
    let gaps = 0;
    let done = false;
    const finish = (error = null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ received: count, contiguous, first, last: prev, gaps, ms: Date.now() - started, error });
    };
    const timer = setTimeout(() => finish(`timed out after ${timeoutMs} ms`), timeoutMs);
    const req = http.get({ host: HOST, port, path: '/chat/events?lastEventId=0', agent: false }, (res) => {
      if (res.statusCode !== 200) return finish(`status ${res.statusCode}`);
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf += chunk;
        let end;
        while ((end = buf.indexOf('\n\n')) !== -1) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (frame.startsWith('event: gap')) gaps++;
          const m = /^id: (\d+)\n/.exec(frame);
          if (!m) continue;
          const id = Number(m[1]);
          const data = /\ndata: (\d+) /.exec(frame);
          if (!data || Number(data[1]) !== id) contiguous = false; // the message carries its own number
          if (first === null) first = id;
          if (id !== prev + 1) contiguous = false;
          prev = id;
          count++;
          if (id >= lastId) return finish();
        }
      });
      res.on('end', () => finish('stream ended early'));
      res.on('error', (e) => finish(String(e.message)));
    });
    req.on('error', (e) => finish(String(e.message)));
  });
}

/**
 * Probes GET /chat/health on the ports in turn, one request at a time, every
 * `everyMs`, from a worker thread (so that this process's own work, e.g. the
 * good client's parsing, does not add to the latencies). Returns stop(),
 * which resolves the latencies in ms (Infinity: an error or a 5 s timeout).
 */
function startHealthProbe(ports, everyMs = 50, maxRequests = 10_000) {
  const code = `
    const http = require('node:http');
    const { parentPort, workerData } = require('node:worker_threads');
    const { ports, everyMs, maxRequests, host } = workerData;
    let stop = false;
    parentPort.on('message', () => { stop = true; });
    const one = (port) => new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.get({ host, port, path: '/chat/health', agent: false, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t0 : Infinity));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(Infinity));
    });
    (async () => {
      const latencies = [];
      for (let k = 0; !stop && k < maxRequests; k++) {
        latencies.push(await one(ports[k % ports.length]));
        await new Promise((r) => setTimeout(r, everyMs));
      }
      parentPort.postMessage(latencies.map((x) => (Number.isFinite(x) ? x : -1)));
    })();
  `;
  const worker = new Worker(code, { eval: true, workerData: { ports, everyMs, maxRequests, host: HOST } });
  const result = new Promise((resolve, reject) => {
    worker.once('message', (l) => resolve(l.map((x) => (x < 0 ? Infinity : x))));
    worker.once('error', reject);
  });
  return async () => {
    worker.postMessage('stop');
    const latencies = await result;
    await worker.terminate();
    return latencies;
  };
}

/**
 * Runs the load; resolves the figures.
 * @param {{ clients?: number, churn?: number, churnConcurrency?: number, churnHoldMs?: number, holdMs?: number,
 *           prefill?: number, messageBytes?: number, live?: number, liveRate?: number, cluster?: object,
 *           rssKillBytes?: number, log?: (...args) => void }} [options]
 */
export async function runReplayLoad(options = {}) {
  const o = {
    clients: 110,
    churn: 500,
    churnConcurrency: 50,
    churnHoldMs: 1000,
    holdMs: 12_000,
    prefill: 10_000,
    messageBytes: 4096,
    live: 100,
    liveRate: 20,
    cluster: {},
    rssKillBytes: 2 * 1024 ** 3, // safety on a shared machine: a server above this is killed
    log: () => {},
    ...options,
  };
  const server = await startServerChild({
    prefill: o.prefill,
    messageBytes: o.messageBytes,
    live: o.live,
    liveRate: o.liveRate,
    cluster: o.cluster,
  });
  const { child, ports } = server;
  const expectedLast = server.lastId + o.live;
  const baseline = readRss(child.pid);
  const sockets = new Set();
  let stopping = false;
  let killedForRss = false;
  let rssPeak = baseline ? baseline.rss : 0;
  const latencies = [];
  const started = Date.now();
  try {
    // Samplers: RSS every 100 ms, health every 50 ms (one request at a time).
    const rssLoop = (async () => {
      while (!stopping) {
        const r = readRss(child.pid);
        if (!r) break;
        rssPeak = Math.max(rssPeak, r.rss, r.hwm);
        if (r.rss > o.rssKillBytes) {
          killedForRss = true;
          child.kill('SIGKILL');
          break;
        }
        await sleep(100);
      }
    })();
    const stopHealth = startHealthProbe(ports, 50);

    // Phase 1: `clients` non-readers resuming from 0, spread over the backends.
    o.log(`phase 1: ${o.clients} clients resume from 0 and never read`);
    const phase1 = [];
    for (let k = 0; k < o.clients; k++) phase1.push(openNonReader(ports[k % ports.length], 0));
    for (const s of await Promise.all(phase1)) sockets.add(s);
    // The good client and the live appends start while they hold their streams.
    const good = goodClient(ports[0], expectedLast, 90_000);
    server.command('live');
    await sleep(o.holdMs);
    server.command('stats');
    const afterPhase1 = killedForRss || child.exitCode !== null ? null : (await server.nextJson(10_000)).stats;
    for (const s of sockets) s.destroy();
    sockets.clear();

    // Phase 2: a churn of `churn` more, `churnConcurrency` at a time, each held churnHoldMs.
    o.log(`phase 2: churn of ${o.churn} (${o.churnConcurrency} at a time, ${o.churnHoldMs} ms each)`);
    let next = 0;
    const worker = async (w) => {
      while (next < o.churn && !killedForRss) {
        const k = next++;
        const s = await openNonReader(ports[(k + w) % ports.length], 0);
        sockets.add(s);
        await sleep(o.churnHoldMs);
        s.destroy();
        sockets.delete(s);
      }
    };
    await Promise.all(Array.from({ length: o.churnConcurrency }, (_, w) => worker(w)));

    const goodResult = await good;
    // Final stats once the server has seen every client go (at most 5 s).
    let stats = null;
    for (let k = 0; k < 50 && !killedForRss && child.exitCode === null; k++) {
      server.command('stats');
      stats = (await server.nextJson(10_000)).stats;
      if (stats.openStreams === 0) break;
      await sleep(100);
    }
    const alive = !killedForRss && child.exitCode === null && child.signalCode === null;
    stopping = true;
    await rssLoop;
    latencies.push(...(await stopHealth()));
    const finite = latencies.filter(Number.isFinite);
    const sorted = [...finite].sort((a, b) => a - b);
    const q = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null);
    const round = (x) => (x === null ? null : Math.round(x * 10) / 10);
    return {
      load: {
        prefill: o.prefill,
        messageBytes: o.messageBytes,
        live: o.live,
        liveRate: o.liveRate,
        nonReadingClients: o.clients,
        holdMs: o.holdMs,
        churn: o.churn,
        churnConcurrency: o.churnConcurrency,
        churnHoldMs: o.churnHoldMs,
        backends: ports.length,
        cluster: o.cluster,
      },
      rssBaselineMB: baseline ? round(baseline.rss / 2 ** 20) : null,
      rssPeakMB: round(rssPeak / 2 ** 20),
      killedForRss,
      alive,
      health: {
        requests: latencies.length,
        failed: latencies.length - finite.length,
        maxMs: round(sorted.length ? sorted[sorted.length - 1] : null),
        p99Ms: round(q(0.99)),
        medianMs: round(q(0.5)),
      },
      goodClient: { expected: expectedLast, ...goodResult },
      serverAfterPhase1: afterPhase1,
      server: stats,
      seconds: round((Date.now() - started) / 1000),
    };
  } finally {
    stopping = true;
    for (const s of sockets) s.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      server.command('stop');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await server.exited;
      clearTimeout(t);
    }
  }
}

function markdown(r) {
  const rows = [
    ['load', `${r.load.prefill} messages of ${r.load.messageBytes} B; ${r.load.nonReadingClients} clients resume from 0 and never read for ${r.load.holdMs / 1000} s, then a churn of ${r.load.churn} (${r.load.churnConcurrency} at a time, ${r.load.churnHoldMs} ms each); ${r.load.live} live messages at ${r.load.liveRate}/s; ${r.load.backends} backends`],
    ['RSS (baseline -> peak)', `${r.rssBaselineMB} MB -> ${r.rssPeakMB} MB`],
    ['server alive at the end', r.alive ? 'yes' : 'no'],
    ['GET /chat/health latency (every 50 ms, from a worker thread)', `max ${r.health.maxMs} ms, p99 ${r.health.p99Ms} ms, median ${r.health.medianMs} ms (${r.health.requests} requests, ${r.health.failed} failed)`],
    ['well-behaved client resuming from 0', `${r.goodClient.received} of ${r.goodClient.expected} messages, ${r.goodClient.contiguous ? 'in order, none missing' : 'NOT contiguous'}, in ${(r.goodClient.ms / 1000).toFixed(1)} s${r.goodClient.error ? ` (${r.goodClient.error})` : ''}`],
    ['server event-loop delay', r.server ? `max ${r.server.loopDelayMaxMs} ms, p99 ${r.server.loopDelayP99Ms} ms` : 'n/a'],
    [
      'longest server timer gap (CPU the server used in it)',
      r.server ? `${r.server.longestTimerGapMs} ms (${r.server.cpuDuringLongestGapMs} ms CPU), ${(r.server.longestGapAtMs / 1000).toFixed(1)} s after start` : 'n/a',
    ],
    ['server CPU / event-loop utilisation over the run', r.server ? `${Math.round(r.server.cpuShare * 100)} % of one core / ${Math.round(r.server.eventLoopUtilization * 100)} %` : 'n/a'],
    ['slow clients dropped by the server', r.server ? String(r.server.slowClientsDropped) : 'n/a'],
  ];
  return [
    '# Replay load (reference server)',
    '',
    `Produced by \`node tests/bench/replay-load.mjs\` on ${r.machine.cpus} CPU(s) (load average ${r.machine.loadavg.join(' ')} at the end), Node ${r.machine.node}, ${r.date}. Timings include waiting for a CPU on a shared machine.`,
    '',
    '| measure | value |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
  ].join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? dflt : args[i + 1];
  };
  const out = path.resolve(ROOT, opt('out', 'docs/bench'));
  const result = await runReplayLoad({
    clients: Number(opt('clients', 110)),
    churn: Number(opt('churn', 500)),
    log: (...a) => console.log('[replay-load]', ...a),
  });
  result.date = new Date().toISOString();
  result.machine = { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100) };
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'replay-load.json'), `${JSON.stringify(result, null, 2)}\n`);
  fs.writeFileSync(path.join(out, 'replay-load.md'), markdown(result));
  console.log(markdown(result));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

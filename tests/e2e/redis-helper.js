// Helpers for specs that run real processes: a private redis-server on a free
// port, a private three-master Redis Cluster, and `node web/server/main.js`
// children. Everything listens on 127.0.0.1 and is stopped by its own PID
// (never by name).
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN_JS = path.join(ROOT, 'web/server/main.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the port if `port` (0: any) can be bound on 127.0.0.1, else null. */
function tryBind(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(null));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const { port: bound } = srv.address();
      srv.close(() => resolve(bound));
    });
  });
}

/** A port that was free a moment ago (the kernel's pick). */
export async function freePort() {
  const port = await tryBind(0);
  if (!port) throw new Error('could not bind any port on 127.0.0.1');
  return port;
}

/**
 * A base port P such that P .. P+count-1 were all free a moment ago. Chosen
 * below Linux's ephemeral range (32768+) so outgoing connections of other
 * tests cannot take them meanwhile.
 */
export async function freePortRun(count, { min = 20000, max = 32000, attempts = 60 } = {}) {
  for (let a = 0; a < attempts; a++) {
    const base = min + Math.floor(Math.random() * (max - min - count));
    let ok = true;
    for (let k = 0; k < count && ok; k++) ok = (await tryBind(base + k)) !== null;
    if (ok) return base;
  }
  throw new Error(`no run of ${count} free ports found in [${min}, ${max})`);
}

/** Sends PING on a raw socket; resolves true on +PONG. */
function ping(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    const done = (v) => {
      clearTimeout(t);
      sock.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    sock.on('error', () => done(false));
  });
}

/** Waits for a child's exit; resolves { code, signal } (at once if it already exited). */
export function waitExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

/** Signals the child by its PID, waits for it; SIGKILL if it does not exit in time. */
export async function stopChild(child, signal = 'SIGTERM', timeoutMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child ? { code: child.exitCode, signal: child.signalCode } : null;
  try {
    process.kill(child.pid, signal);
    // A process frozen with SIGSTOP (the Redis spec does that) handles SIGTERM only once continued.
    if (signal !== 'SIGKILL') process.kill(child.pid, 'SIGCONT');
  } catch {
    /* already gone */
  }
  try {
    return await waitExit(child, timeoutMs);
  } catch {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    return waitExit(child, 2000);
  }
}

/**
 * Spawns `redis-server --port <port> <args>` (loopback, no persistence) and
 * waits until it answers PING. Resolves { child, output, ready }; when not
 * ready, the child has been killed.
 */
async function spawnRedisServer(port, args, readyTimeoutMs) {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const spawnError = new Promise((resolve) => child.once('error', resolve));
  const deadline = Date.now() + readyTimeoutMs;
  let ready = false;
  while (!ready && Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    const err = await Promise.race([spawnError, sleep(100).then(() => null)]);
    if (err) throw new Error(`could not start redis-server (is it installed? apt-get install redis-server): ${err.message}`);
    ready = await ping(port);
  }
  if (!ready) await stopChild(child, 'SIGKILL', 2000);
  return { child, output: () => out, ready };
}

/**
 * Starts `redis-server` on a free 127.0.0.1 port (or on `port`, e.g. to
 * restart one that was killed) without persistence and waits until it
 * answers PING.
 * @returns {Promise<{ port: number, url: string, pid: number, child: import('node:child_process').ChildProcess, output: () => string, stop: () => Promise<object> }>}
 */
export async function startRedis({ readyTimeoutMs = 10_000, port: fixedPort = undefined } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sseb-redis-'));
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    for (let attempt = 0; attempt < (fixedPort === undefined ? 3 : 1); attempt++) {
      const port = fixedPort === undefined ? await freePort() : fixedPort;
      const { child, output, ready } = await spawnRedisServer(port, ['--dir', dir], readyTimeoutMs);
      if (ready) {
        return {
          port,
          url: `redis://127.0.0.1:${port}`,
          pid: child.pid,
          child,
          dir,
          output,
          async stop() {
            try {
              return await stopChild(child, 'SIGTERM', 5000);
            } finally {
              removeDir();
            }
          },
        };
      }
      if (!/Address already in use/i.test(output())) throw new Error(`redis-server did not become ready on port ${port}:\n${output()}`);
    }
    throw new Error('redis-server: every port tried was taken');
  } catch (err) {
    removeDir();
    throw err;
  }
}

/** Runs `redis-cli <args>`; resolves its stdout (trimmed), rejects on a failure or after timeoutMs. */
export function redisCli(args, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')} failed (${err.code ?? err.signal ?? err.message}; is redis-tools installed?):\n${stdout}${stderr}`));
      else resolve(String(stdout).trim());
    });
  });
}

/** One cluster-enabled redis-server in its own temporary directory, on a free port and cluster-bus port. */
async function startClusterNode(readyTimeoutMs) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sseb-redis-cluster-'));
    const port = await freePort();
    let busPort = await freePort();
    while (busPort === port) busPort = await freePort();
    const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort), '--dir', dir];
    let started;
    try {
      started = await spawnRedisServer(port, args, readyTimeoutMs);
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const { child, output, ready } = started;
    if (ready) return { port, busPort, url: `redis://127.0.0.1:${port}`, pid: child.pid, child, dir, output };
    fs.rmSync(dir, { recursive: true, force: true });
    if (!/Address already in use/i.test(output())) throw new Error(`cluster node did not become ready on port ${port}:\n${output()}`);
  }
  throw new Error('redis-server (cluster node): every port tried was taken');
}

/** Waits until every node reports cluster_state:ok, all 16384 slots assigned and every node known. */
async function waitClusterOk(nodes, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const infos = await Promise.all(nodes.map((n) => redisCli(['-h', '127.0.0.1', '-p', String(n.port), 'CLUSTER', 'INFO'], 3000).catch((e) => e.message)));
    const ok = infos.every(
      (info) => /^cluster_state:ok$/m.test(info) && /^cluster_slots_ok:16384$/m.test(info) && new RegExp(`^cluster_known_nodes:${nodes.length}$`, 'm').test(info),
    );
    if (ok) return;
    last = infos.join('\n---\n');
    if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok within ${timeoutMs} ms:\n${last}`);
    await sleep(200);
  }
}

/**
 * Starts a real Redis Cluster of `masters` masters and no replicas on free
 * 127.0.0.1 ports: each `redis-server --cluster-enabled yes` in its own
 * temporary directory, joined by `redis-cli --cluster create`, then waits for
 * cluster_state:ok on every node. `arg` is the comma-separated node list for
 * main.js's --redis-cluster. stop() stops every node by its PID and removes
 * the directories.
 * @returns {Promise<{ nodes: Array<{ port: number, busPort: number, url: string, pid: number, child: import('node:child_process').ChildProcess, dir: string }>, urls: string[], arg: string, stop: () => Promise<void> }>}
 */
export async function startRedisCluster({ masters = 3, readyTimeoutMs = 20_000 } = {}) {
  const nodes = [];
  const stop = async () => {
    for (const n of nodes) {
      try {
        await stopChild(n.child, 'SIGTERM', 5000);
      } finally {
        fs.rmSync(n.dir, { recursive: true, force: true });
      }
    }
  };
  try {
    for (let i = 0; i < masters; i++) nodes.push(await startClusterNode(readyTimeoutMs));
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await redisCli(['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], 30_000);
    await waitClusterOk(nodes, readyTimeoutMs);
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  const urls = nodes.map((n) => n.url);
  return { nodes, urls, arg: urls.join(','), stop };
}

/**
 * Starts `node web/server/main.js <args> --port-base <free base>` and waits
 * for its 'sse-balancer:' startup line; retries with another base if the ports
 * were taken meanwhile.
 * @returns {Promise<{ child, pid: number, portBase: number, output: () => string, stop: () => Promise<object>, kill: () => Promise<object> }>}
 */
export async function startMainProcess(args, { backends = 3, readyTimeoutMs = 15_000 } = {}) {
  for (let attempt = 0; attempt < 4; attempt++) {
    const portBase = await freePortRun(backends + 1);
    // A short drain on SIGTERM: stop() waits for the exit.
    const drain = args.includes('--drain-ms') ? [] : ['--drain-ms', '200'];
    const child = spawn(process.execPath, [MAIN_JS, ...args, ...drain, '--backends', String(backends), '--port-base', String(portBase)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const started = await new Promise((resolve) => {
      const t = setTimeout(() => resolve('timeout'), readyTimeoutMs);
      const check = () => {
        if (/^sse-balancer: chat /m.test(out) && /store: /.test(out)) {
          clearTimeout(t);
          resolve('ok');
        }
      };
      child.stdout.on('data', check);
      child.once('exit', () => {
        clearTimeout(t);
        resolve('exit');
      });
    });
    if (started === 'ok') {
      return {
        child,
        pid: child.pid,
        portBase,
        output: () => out,
        /** SIGTERM and wait: the server closes everything and exits 0. */
        stop: () => stopChild(child, 'SIGTERM', 5000),
        /** SIGKILL: no chance to close anything. */
        kill: () => stopChild(child, 'SIGKILL', 5000),
      };
    }
    await stopChild(child, 'SIGKILL', 2000);
    if (started === 'exit' && /already in use/.test(out)) continue;
    throw new Error(`main.js did not start (${started}):\n${out}`);
  }
  throw new Error('main.js: every port base tried was taken');
}

// Helpers for specs that run real processes: a private redis-server on a free
// port, and `node web/server/main.js` children. Everything listens on
// 127.0.0.1 and is stopped by its own PID (never by name).
import { spawn } from 'node:child_process';
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
      const child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
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
      if (ready) {
        return {
          port,
          url: `redis://127.0.0.1:${port}`,
          pid: child.pid,
          child,
          dir,
          output: () => out,
          async stop() {
            try {
              return await stopChild(child, 'SIGTERM', 5000);
            } finally {
              removeDir();
            }
          },
        };
      }
      await stopChild(child, 'SIGKILL', 2000);
      if (!/Address already in use/i.test(out)) throw new Error(`redis-server did not become ready on port ${port}:\n${out}`);
    }
    throw new Error('redis-server: every port tried was taken');
  } catch (err) {
    removeDir();
    throw err;
  }
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

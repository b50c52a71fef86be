// The backends over a real redis-server that goes away: while the store
// cannot be read, streams end and new ones get 503 (no heartbeats over an
// outage); a redis-server killed and restarted empty mid-stream loses no
// message silently (the new log is told apart by its epoch). Node clients on
// 127.0.0.1 that reconnect like EventSource; every process stopped by its PID.
import http from 'node:http';
import { test, expect } from '@playwright/test';
import { startCluster } from '../../web/server/backend-cluster.js';
import { RedisStore } from '../../web/server/stores/redis-store.js';
import { startRedis, stopChild } from './redis-helper.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(fn, { timeout = 10_000, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message}`);
    await sleep(25);
  }
}

/**
 * An SSE client that behaves like EventSource: on an end, an error or a
 * non-200 answer it reconnects after `retryMs` with Last-Event-ID. Records
 * messages { id, data }, gap events { data, at } and the answers' statuses.
 */
function sseClient(url, { retryMs = 200 } = {}) {
  const c = { messages: [], gaps: [], statuses: [], ends: [], lastId: null, stopped: false, req: null, retryAfter: [] };
  const connect = () => {
    if (c.stopped) return;
    let over = false;
    const again = (why) => {
      if (over) return;
      over = true;
      c.ends.push({ why, at: Date.now() });
      if (!c.stopped) setTimeout(connect, retryMs);
    };
    const headers = c.lastId !== null ? { 'Last-Event-ID': c.lastId } : {};
    const req = http.get(url, { headers, agent: false }, (res) => {
      c.statuses.push(res.statusCode);
      if (res.statusCode !== 200) {
        c.retryAfter.push(res.headers['retry-after'] ?? null);
        res.resume();
        res.on('end', () => again(`status ${res.statusCode}`));
        res.on('error', () => again('error'));
        return;
      }
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk) => {
        buf += chunk;
        let end;
        while ((end = buf.indexOf('\n\n')) !== -1) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let id = null;
          let event = 'message';
          const data = [];
          for (const line of frame.split('\n')) {
            if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (id !== null) c.lastId = id;
          if (event === 'gap') c.gaps.push({ data: data.join('\n'), at: Date.now() });
          else if (event === 'message' && id !== null) c.messages.push({ id: Number(id), data: data.join('\n') });
        }
      });
      res.on('end', () => again('end'));
      res.on('error', () => again('error'));
      res.on('close', () => again('close'));
    });
    req.on('error', () => again('request error'));
    c.req = req;
  };
  connect();
  c.stop = () => {
    c.stopped = true;
    c.req?.destroy();
  };
  return c;
}

/** GET once; resolves { status, retryAfter, type } and drops the body. */
function getOnce(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: 8000 }, (res) => {
      resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] ?? null, type: res.headers['content-type'] ?? null });
      res.destroy();
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 8 s')));
    req.on('error', reject);
  });
}

test('store unreachable: open streams end and new streams get 503 with Retry-After, not heartbeats', async () => {
  test.setTimeout(60_000);
  const redis = await startRedis();
  let store = null;
  let cluster = null;
  const clients = [];
  try {
    store = await RedisStore.connect({ url: redis.url, onError: () => {} });
    cluster = await startCluster({ count: 1, store, heartbeatMs: 300 });
    const url = cluster.backends[0].channels.chat;
    const c = sseClient(url, { retryMs: 200 });
    clients.push(c);
    await until(() => c.statuses.includes(200), { message: 'the stream opened' });
    for (let k = 1; k <= 3; k++) await store.append('chat', 'message', `m${k}`);
    await until(() => c.messages.length === 3, { message: 'three messages' });

    await redis.stop(); // redis-server gone (SIGTERM, waited for)
    // The open stream is ended (not kept alive with local heartbeats) ...
    await until(() => c.ends.length >= 1, { message: 'the open stream to end', timeout: 10_000 });
    // ... and every new stream is refused with 503 + Retry-After while Redis is down.
    for (const headers of [{}, { 'Last-Event-ID': '3' }]) {
      const r = await getOnce(url, headers);
      expect(r, `GET ${url} ${JSON.stringify(headers)}`).toMatchObject({ status: 503, retryAfter: '1' });
    }
    await sleep(1000);
    expect(c.statuses.slice(1).length, 'the client retried').toBeGreaterThanOrEqual(1);
    expect(c.statuses.slice(1).every((s) => s === 503), `answers while down: ${c.statuses.join(',')}`).toBe(true);
    expect(cluster.openStreams(0)).toBe(0);
  } finally {
    for (const c of clients) c.stop();
    if (cluster) await cluster.close();
    if (store) await store.close();
    await redis.stop().catch(() => {});
  }
});

test('redis-server killed (SIGKILL) and restarted empty mid-stream: every client gets every new message or a gap event', async () => {
  test.setTimeout(90_000);
  let redis = await startRedis();
  const port = redis.port;
  let storeA = null;
  let storeB = null;
  let cluster = null;
  const clients = [];
  try {
    // Process A serves the streams; B (another process of the fleet) posts.
    storeA = await RedisStore.connect({ url: redis.url, onError: () => {} });
    storeB = await RedisStore.connect({ url: redis.url, onError: () => {} });
    cluster = await startCluster({ count: 2, store: storeA, heartbeatMs: 500 });
    for (let k = 0; k < 4; k++) clients.push(sseClient(cluster.backends[k % 2].channels.chat, { retryMs: 200 }));
    await until(() => clients.every((c) => c.statuses.includes(200)), { message: 'every client connected' });

    const before = [];
    for (let n = 1; n <= 15; n++) {
      before.push(await storeB.append('chat', 'message', `before-${n}`));
      await sleep(20);
    }
    await until(() => clients.every((c) => c.messages.length === 15), { message: 'every client got the first 15' });

    // Kill Redis without a chance to save anything, restart it empty on the same port.
    const killedAt = Date.now();
    await stopChild(redis.child, 'SIGKILL', 5000);
    redis.stop().catch(() => {}); // removes its directory
    await sleep(300);
    redis = await startRedis({ port });

    // B posts as soon as Redis takes writes again, in a burst (the new
    // sequence would pass the old cursor at once).
    const after = [];
    let failures = 0;
    const deadline = Date.now() + 15_000;
    while (after.length < 40 && Date.now() < deadline) {
      try {
        after.push(await storeB.append('chat', 'message', `after-${after.length + 1}`));
      } catch {
        failures++;
        await sleep(20);
      }
    }
    expect(after).toHaveLength(40);

    const covered = (c) => {
      const got = new Set(c.messages.map((m) => m.data));
      return after.every((e) => got.has(e.data)) || c.gaps.some((g) => g.at >= killedAt);
    };
    await until(() => clients.every(covered), { message: 'every client got every new message (or a gap event)', timeout: 20_000 }).catch(() => {});
    for (const [i, c] of clients.entries()) {
      const got = new Set(c.messages.map((m) => m.data));
      const missing = after.filter((e) => !got.has(e.data)).map((e) => e.data);
      const gapSinceKill = c.gaps.filter((g) => g.at >= killedAt);
      expect(missing.length === 0 || gapSinceKill.length > 0, `client ${i}: missing ${missing.join(',')} with no gap event`).toBe(true);
      // And nothing twice.
      expect(c.messages.length, `client ${i}: no message twice`).toBe(new Set(c.messages.map((m) => m.data)).size);
    }
    // The new log continues above the old ids (the epoch told the store it is new).
    expect(after[0].id).toBeGreaterThan(before[before.length - 1].id);
    console.log(
      `[redis-restart] before: ids ${before[0].id}..${before.at(-1).id}; after restart: ids ${after[0].id}..${after.at(-1).id} ` +
        `(${failures} appends refused while down); clients: ${clients
          .map((c) => `${c.messages.length} messages, ${c.gaps.length} gap(s), answers ${c.statuses.join('/')}`)
          .join('; ')}`,
    );
  } finally {
    for (const c of clients) c.stop();
    if (cluster) await cluster.close();
    if (storeA) await storeA.close();
    if (storeB) await storeB.close();
    await redis.stop().catch(() => {});
  }
});

test('a log emptied under open streams (FLUSHALL) and refilled by a process that knew nothing: a gap event, then the new log from its start', async () => {
  test.setTimeout(60_000);
  const redis = await startRedis();
  let storeA = null;
  let storeC = null;
  let cluster = null;
  const clients = [];
  try {
    // A serves the streams and checks the epoch at least every 300 ms.
    storeA = await RedisStore.connect({ url: redis.url, onError: () => {}, blockMs: 300 });
    cluster = await startCluster({ count: 2, store: storeA, heartbeatMs: 500 });
    for (let k = 0; k < 2; k++) clients.push(sseClient(cluster.backends[k].channels.chat, { retryMs: 200 }));
    await until(() => clients.every((c) => c.statuses.includes(200)), { message: 'every client connected' });
    for (let n = 1; n <= 10; n++) await storeA.append('chat', 'message', `before-${n}`);
    await until(() => clients.every((c) => c.messages.length === 10), { message: 'every client got the first 10' });

    // The log disappears without any connection being lost; a process that
    // never saw it (a fresh store) appends at once: its ids start at 1 again.
    const flushedAt = Date.now();
    await storeA.client.sendCommand(['FLUSHALL']);
    storeC = await RedisStore.connect({ url: redis.url, onError: () => {} });
    const after = [];
    for (let n = 1; n <= 5; n++) after.push(await storeC.append('chat', 'message', `after-${n}`));
    expect(after[0].id).toBe(1);
    await sleep(1000); // A notices the new epoch within blockMs
    for (let n = 6; n <= 10; n++) after.push(await storeC.append('chat', 'message', `after-${n}`));

    const complete = (c) => {
      const got = new Set(c.messages.map((m) => m.data));
      return after.every((e) => got.has(e.data));
    };
    await until(() => clients.every(complete), { message: 'every client got every new message', timeout: 10_000 });
    for (const c of clients) {
      // The stream said the log restarted, on the same connection, then carried the new log from id 1.
      const gaps = c.gaps.filter((g) => g.at >= flushedAt);
      expect(gaps.map((g) => JSON.parse(g.data))).toEqual([{ reset: true }]);
      const ids = c.messages.map((m) => m.id);
      expect(ids.slice(10, 15)).toEqual([1, 2, 3, 4, 5]);
      expect(c.messages.length).toBe(new Set(c.messages.map((m) => m.data)).size);
      expect(c.statuses).toEqual([200]);
    }
    // Ids after the check continue above the old ones.
    expect(after[5].id).toBeGreaterThan(10);
  } finally {
    for (const c of clients) c.stop();
    if (cluster) await cluster.close();
    if (storeA) await storeA.close();
    if (storeC) await storeC.close();
    await redis.stop().catch(() => {});
  }
});

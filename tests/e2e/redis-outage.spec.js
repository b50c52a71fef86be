// The backends over a real redis-server that goes away: while the store
// cannot be read, streams end and new ones get 503 (no heartbeats over an
// outage). Node clients on 127.0.0.1 that reconnect like EventSource; every
// process stopped by its PID.
import http from 'node:http';
import { test, expect } from '@playwright/test';
import { startCluster } from '../../web/server/backend-cluster.js';
import { RedisStore } from '../../web/server/stores/redis-store.js';
import { startRedis } from './redis-helper.js';

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

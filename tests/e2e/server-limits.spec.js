// Resource bounds of the SSE backends, from plain Node sockets on 127.0.0.1
// (no browser): the request log stays small whatever the requests carry, and
// a request body that trickles in is ended with 408 while SSE streams that
// outlive the request timeout are left alone.
import net from 'node:net';
import { test, expect } from '@playwright/test';
import { startCluster, LOGGED_ID_CHARS } from '../../web/server/backend-cluster.js';
import { MemoryStore } from '../../web/server/stores/memory-store.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `request` (a raw HTTP/1.1 text) on a new socket and collects what
 * comes back until the server closes the socket or `timeoutMs` passes.
 * Resolves { text, closed, ms }.
 */
function rawExchange(port, request, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect({ port, host: '127.0.0.1' });
    let text = '';
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(request));
    socket.on('data', (d) => (text += d));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

test('the request log keeps at most 64 characters of each resume id (15 KB headers are not kept)', async () => {
  const store = new MemoryStore();
  const cluster = await startCluster({ count: 1, store, defaultChannel: 'logs' });
  try {
    const { port } = cluster.backends[0];
    const huge = '9'.repeat(15 * 1024);
    const N = 200;
    // Sequentially, on keep-alive sockets in batches: each request is answered 400 (not a valid id).
    for (let sent = 0; sent < N; ) {
      const batch = Math.min(20, N - sent);
      let req = '';
      for (let k = 0; k < batch; k++) {
        req += `GET /logs/events HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: ${huge}\r\n${k === batch - 1 ? 'Connection: close\r\n' : ''}\r\n`;
      }
      const r = await rawExchange(port, req, { timeoutMs: 5000 });
      expect(r.text.match(/HTTP\/1\.1 400/g)?.length, r.text.slice(0, 200)).toBe(batch);
      sent += batch;
    }
    // A repeated query parameter with long values.
    const many = Array.from({ length: 20 }, (_, k) => `lastEventId=${'x'.repeat(400)}${k}`).join('&');
    const r = await rawExchange(port, `GET /logs/events?${many} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect(r.text).toMatch(/^HTTP\/1\.1 400/);

    const log = cluster.requestLog(0);
    expect(log).toHaveLength(N + 1);
    for (const entry of log.slice(0, N)) {
      expect(entry.lastEventId).toBe(huge.slice(0, LOGGED_ID_CHARS));
      expect(entry.lastEventIdTruncated).toBe(true);
    }
    const last = log[N];
    expect(Array.isArray(last.lastEventId)).toBe(true);
    expect(last.lastEventId.length).toBeLessThanOrEqual(4);
    for (const v of last.lastEventId) expect(v.length).toBeLessThanOrEqual(LOGGED_ID_CHARS);
    expect(last.lastEventIdTruncated).toBe(true);
    const keptChars = log.reduce((n, e) => n + [e.lastEventId].flat().join('').length, 0);
    expect(keptChars).toBeLessThanOrEqual((N + 4) * LOGGED_ID_CHARS);

    // Short ids are kept as sent and not marked.
    await rawExchange(port, 'GET /logs/events HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: abc\r\nConnection: close\r\n\r\n');
    expect(cluster.requestLog(0).at(-1)).toMatchObject({ lastEventId: 'abc', lastEventIdTruncated: false, path: '/logs/events' });
  } finally {
    await cluster.close();
    await store.close();
  }
});

test('a POST whose body trickles in gets 408 after requestTimeoutMs; an SSE stream outlives it', async () => {
  const store = new MemoryStore();
  const cluster = await startCluster({ count: 1, store, defaultChannel: 'logs', heartbeatMs: 300, requestTimeoutMs: 1000 });
  try {
    const { port } = cluster.backends[0];

    // A stream opened first, read for 3x the request timeout.
    const streamText = [];
    const stream = net.connect({ port, host: '127.0.0.1' });
    let streamClosed = false;
    stream.setEncoding('utf8');
    stream.on('data', (d) => streamText.push(d));
    stream.on('close', () => (streamClosed = true));
    stream.on('error', () => {});
    await new Promise((r) => stream.once('connect', r));
    stream.write('GET /logs/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');

    // Headers with Content-Length: 100, then only 10 bytes of the body.
    const slow = rawExchange(
      port,
      'POST /chat/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user":"a',
      { timeoutMs: 8000 },
    );
    for (let k = 1; k <= 6; k++) {
      await sleep(500);
      await store.append('logs', 'message', `m${k}`);
    }
    const r = await slow;
    expect(r.closed, `the slow request was ended (after ${r.ms} ms): ${JSON.stringify(r.text)}`).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 408/);
    console.log(`[limits] trickling POST ended with 408 after ${r.ms} ms (requestTimeoutMs 1000)`);
    expect(await store.lastId('chat')).toBe(0);

    // The stream is still open 3 s later and carried every event.
    await sleep(200);
    const text = streamText.join('');
    expect(streamClosed).toBe(false);
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    for (let k = 1; k <= 6; k++) expect(text).toContain(`id: ${k}\ndata: m${k}\n\n`);
    expect(cluster.openStreams(0)).toBe(1);
    stream.destroy();
  } finally {
    await cluster.close();
    await store.close();
  }
});

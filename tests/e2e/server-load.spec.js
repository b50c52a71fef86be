// Replays must not exhaust memory or stop the server from answering: a full
// chat log (10,000 messages of 4 KB), 110 clients that resume from id 0 and
// never read, then a churn of 500 more, against three backends in a child
// process (tests/bench/replay-load.mjs, which also writes the figures of
// docs/bench/replay-load.md). Real sockets on 127.0.0.1 only.
import { test, expect } from '@playwright/test';
import { runReplayLoad } from '../bench/replay-load.mjs';

test('110 non-reading clients resuming from 0, then a churn of 500: RSS < 500 MB, server up, a good client gets every message', async () => {
  test.setTimeout(180_000);
  const r = await runReplayLoad({ rssKillBytes: 1.5 * 1024 ** 3 });
  console.log(
    `[replay-load] RSS ${r.rssBaselineMB} -> peak ${r.rssPeakMB} MB; health max ${r.health.maxMs} ms, p99 ${r.health.p99Ms} ms ` +
      `(${r.health.requests} requests, ${r.health.failed} failed); server event-loop delay max ${r.server?.loopDelayMaxMs} ms; ` +
      `good client ${r.goodClient.received}/${r.goodClient.expected} in ${r.goodClient.ms} ms; slow clients dropped ${r.server?.slowClientsDropped}`,
  );
  expect(r.killedForRss, 'the server stayed below 1.5 GB (else it was killed)').toBe(false);
  expect(r.alive, 'the server process is still up').toBe(true);
  expect(r.rssPeakMB).toBeLessThan(500);
  // Health answered throughout (a failure is an error or no answer within 5 s).
  expect(r.health.requests).toBeGreaterThan(20);
  expect(r.health.failed).toBe(0);
  // The well-behaved client resuming at the same time got every message, in order.
  expect(r.goodClient.error).toBeNull();
  expect(r.goodClient).toMatchObject({ first: 1, last: r.goodClient.expected, received: r.goodClient.expected, contiguous: true, gaps: 0 });
  // Nothing is left buffered once the clients are gone.
  expect(r.server.openStreams).toBe(0);
  expect(r.server.bufferedBytes).toBe(0);
});

test('the total unsent output of a cluster is capped: clients that do not read are dropped, a reading one gets everything', async () => {
  test.setTimeout(60_000);
  const { startCluster } = await import('../../web/server/backend-cluster.js');
  const { MemoryStore } = await import('../../web/server/stores/memory-store.js');
  const net = await import('node:net');
  const http = await import('node:http');
  const store = new MemoryStore({ capacity: 5000 });
  // Far below what 8 clients x 10 MB would otherwise hold (each may hold 16 MiB).
  const cluster = await startCluster({ count: 1, store, heartbeatMs: 60_000, maxTotalBufferedBytes: 1024 * 1024 });
  const sockets = [];
  let reader = null;
  try {
    const { port } = cluster.backends[0];
    for (let k = 0; k < 8; k++) {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.pause(); // never reads
      s.on('error', () => {});
      s.on('connect', () => s.write(`GET /chat/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
      sockets.push(s);
    }
    let got = 0;
    let last = 0;
    let inOrder = true;
    reader = http.get({ host: '127.0.0.1', port, path: '/chat/events', agent: false }, (res) => {
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (d) => {
        buf += d;
        let end;
        while ((end = buf.indexOf('\n\n')) !== -1) {
          const m = /^id: (\d+)/.exec(buf.slice(0, end));
          buf = buf.slice(end + 2);
          if (!m) continue;
          if (Number(m[1]) !== last + 1) inOrder = false;
          last = Number(m[1]);
          got++;
        }
      });
    });
    const deadline = Date.now() + 10_000;
    while (cluster.openStreams(0) < 9 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(cluster.openStreams(0)).toBe(9);

    const N = 2500; // 10 MB of 4 KB events
    const text = 'y'.repeat(4090);
    let peak = 0;
    for (let n = 1; n <= N; n++) {
      store.appendSync('chat', 'message', text);
      if (n % 50 === 0) {
        peak = Math.max(peak, cluster.stats().bufferedBytes);
        await new Promise((r) => setImmediate(r));
      }
    }
    const until = Date.now() + 20_000;
    while ((got < N || cluster.openStreams(0) > 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const stats = cluster.stats();
    console.log(`[total-cap] reader got ${got}/${N}; non-readers dropped ${stats.slowClientsDropped}; buffered peak (sampled) ${(peak / 2 ** 20).toFixed(2)} MB`);
    expect(got).toBe(N);
    expect(inOrder).toBe(true);
    expect(stats.slowClientsDropped).toBe(8);
    expect(cluster.openStreams(0)).toBe(1);
  } finally {
    reader?.destroy();
    for (const s of sockets) s.destroy();
    await cluster.close();
    await store.close();
  }
});

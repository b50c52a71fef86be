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

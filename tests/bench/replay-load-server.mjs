// The server side of the replay-load benchmark (replay-load.mjs runs it as a
// child process so that its RSS can be measured on its own): three backends
// of startCluster over a MemoryStore whose `chat` channel is filled with
// `prefill` messages of `messageBytes` bytes. 127.0.0.1 only.
//
//   node tests/bench/replay-load-server.mjs '{"prefill":10000,"messageBytes":4096,...}'
//
// Prints one JSON line {"ready":true,"ports":[...],"lastId":N} when it listens.
// Commands on stdin, one per line:
//   live        append `live` more messages at `liveRate` per second
//   stats       print {"stats":{rss,heapUsed,external,slowClientsDropped,bufferedBytes,openStreams,loopDelay…}}
//   stop        close everything and exit 0
import readline from 'node:readline';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { startCluster } from '../../web/server/backend-cluster.js';
import { MemoryStore } from '../../web/server/stores/memory-store.js';

const opts = {
  prefill: 10_000,
  messageBytes: 4096,
  live: 100,
  liveRate: 20,
  backends: 3,
  cluster: {},
  ...JSON.parse(process.argv[2] || '{}'),
};

/** A message of exactly `messageBytes` bytes that starts with its number. */
function message(n) {
  const head = `${n} `;
  return head + 'x'.repeat(Math.max(0, opts.messageBytes - head.length));
}

const store = new MemoryStore({ capacity: opts.prefill + opts.live });
for (let n = 1; n <= opts.prefill; n++) store.appendSync('chat', 'message', message(n));
const cluster = await startCluster({ count: opts.backends, store, chat: {}, ...opts.cluster });
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const eluStart = performance.eventLoopUtilization();
const cpuStart = process.cpuUsage();
const wallStart = performance.now();
// The longest gap between two ticks of a 10 ms timer, with the CPU time this
// process used during it: CPU close to the gap means the server itself was
// busy; CPU far below it means it was waiting for a CPU (a shared machine).
const stall = { wallMs: 0, cpuMs: 0, atMs: 0 };
{
  let lastT = performance.now();
  let lastCpu = process.cpuUsage();
  setInterval(() => {
    const t = performance.now();
    const cpu = process.cpuUsage();
    const gap = t - lastT;
    if (gap > stall.wallMs) {
      stall.wallMs = Math.round(gap * 10) / 10;
      stall.cpuMs = Math.round((cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 100) / 10;
      stall.atMs = Math.round(t - wallStart);
    }
    lastT = t;
    lastCpu = cpu;
  }, 10).unref();
}
console.log(JSON.stringify({ ready: true, ports: cluster.backends.map((b) => b.port), lastId: await store.lastId('chat') }));

let liveTimer = null;
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const cmd = line.trim();
  if (cmd === 'live' && liveTimer === null) {
    let left = opts.live;
    liveTimer = setInterval(() => {
      if (left-- <= 0) return clearInterval(liveTimer);
      const n = store.log('chat').lastId + 1;
      store.appendSync('chat', 'message', message(n));
    }, 1000 / opts.liveRate);
  } else if (cmd === 'stats') {
    const m = process.memoryUsage();
    const c = cluster.stats ? cluster.stats() : {}; // (absent before the replay bounds)
    console.log(
      JSON.stringify({
        stats: {
          rss: m.rss,
          heapUsed: m.heapUsed,
          external: m.external,
          ...c,
          openStreams: cluster.totalOpenStreams(),
          // Event-loop delay since the server started listening (ms).
          loopDelayMaxMs: Math.round(loopDelay.max / 1e5) / 10,
          loopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e5) / 10,
          // Share of the time the event loop was busy, and CPU time over wall time, since listening.
          longestTimerGapMs: stall.wallMs,
          cpuDuringLongestGapMs: stall.cpuMs,
          longestGapAtMs: stall.atMs, // since the server listened
          eventLoopUtilization: Math.round(performance.eventLoopUtilization(eluStart).utilization * 1000) / 1000,
          cpuShare: Math.round(((c2 => (c2.user + c2.system) / 1000)(process.cpuUsage(cpuStart)) / (performance.now() - wallStart)) * 1000) / 1000,
        },
      }),
    );
  } else if (cmd === 'stop') {
    if (liveTimer) clearInterval(liveTimer);
    await cluster.close();
    await store.close();
    process.exit(0);
  }
});
rl.on('close', () => process.exit(0));

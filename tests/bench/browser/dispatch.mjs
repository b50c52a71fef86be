// Benchmark 2: dispatch cost. A bench-only route writes BENCH_EVENTS small
// events (`id: n`, `data: {"seq":n}`) in one write, as fast as the server
// can, and keeps the stream open. In one page, each client in turn opens
// it and we time its listener seeing them: events per second of wall
// clock from the first event to the last, and the renderer main thread's
// CPU time per event (CDP Performance.getMetrics ThreadTime, which other
// processes on a busy machine do not inflate). Then the core's per-event
// decision alone: a loop of WasmBalancer.onMessage calls through Embind
// (see clients.js).
import { CLIENTS, PAGES, log, ratio, round, startPages, summary } from './lib.mjs';

const KINDS = ['plain', ...CLIENTS];
/** Timed blocks of each micro-loop (after one warm-up block). */
const MICRO_BLOCKS = 7;

function payload(n) {
  const parts = [': dispatch benchmark\n\n'];
  for (let i = 1; i <= n; i++) parts.push(`id: ${i}\ndata: {"seq":${i}}\n\n`);
  return Buffer.from(parts.join(''));
}

export async function runDispatch({ browser, cfg }) {
  const n = cfg.dispatchEvents;
  const body = payload(n);
  const open = new Set();
  const pages = await startPages((app) => {
    app.get('/bench/stream', (req, res) => {
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream');
      res.setHeader('Cache-Control', 'no-cache');
      res.flushHeaders();
      req.socket.setNoDelay(true);
      res.write(body);
      open.add(res);
      res.on('close', () => open.delete(res));
    });
  });
  const context = await browser.newContext();
  const result = {
    events: n,
    bytes: body.length,
    method:
      'one page; each client in turn opens the same stream (all events written at once by the server); ' +
      'wall rate = (events - 1) / (last - first event at the listener, performance.now()); CPU = renderer main-thread ' +
      'ThreadTime (CDP Performance.getMetrics) across the run / events; clients interleaved trial by trial',
    clients: {},
  };
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    const metrics = async () =>
      Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    await page.goto(`${pages.origin}${PAGES}/clients.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 15_000 });
    const url = `${pages.origin}/bench/stream`;
    const runs = Object.fromEntries(KINDS.map((k) => [k, []]));
    // One untimed run each first (JIT warm-up, first connection).
    for (const kind of KINDS) await page.evaluate(([k, u]) => window.bench.dispatch(k, u, 1000, 20_000), [kind, url]);
    for (let t = 0; t < cfg.trials; t++) {
      for (const kind of KINDS) {
        const a = await metrics();
        const r = await page.evaluate(([k, u, m]) => window.bench.dispatch(k, u, m, 60_000), [kind, url, n]);
        const b = await metrics();
        const eps = r.complete && r.lastMs > r.firstMs ? ((r.count - 1) * 1000) / (r.lastMs - r.firstMs) : null;
        const cpuUs = r.complete ? ((b.ThreadTime - a.ThreadTime) * 1e6) / r.count : null;
        runs[kind].push({
          complete: r.complete,
          count: r.count,
          eventsPerSecond: eps === null ? null : Math.round(eps),
          mainThreadCpuUsPerEvent: round(cpuUs, 3),
          scriptUsPerEvent: r.complete ? round(((b.ScriptDuration - a.ScriptDuration) * 1e6) / r.count, 3) : null,
          eventsPerCpuSecond: cpuUs ? Math.round(1e6 / cpuUs) : null,
          firstToLastMs: round(r.lastMs - r.firstMs),
          startToLastMs: round(r.lastMs - r.startMs),
        });
      }
    }
    for (const kind of KINDS) {
      const eps = runs[kind].map((r) => r.eventsPerSecond);
      result.clients[kind] = {
        eventsPerSecond: summary(eps),
        mainThreadCpuUsPerEvent: summary(runs[kind].map((r) => r.mainThreadCpuUsPerEvent)),
        scriptUsPerEvent: summary(runs[kind].map((r) => r.scriptUsPerEvent)),
        eventsPerCpuSecond: summary(runs[kind].map((r) => r.eventsPerCpuSecond)),
        incomplete: runs[kind].filter((r) => !r.complete).length,
        trials: runs[kind],
      };
    }
    const plainEps = result.clients.plain.eventsPerSecond.median;
    const plainCpu = result.clients.plain.mainThreadCpuUsPerEvent.median;
    // Rate relative to the plain EventSource: wall clock (events/s) and
    // main-thread CPU (plain's CPU per event / the client's).
    result.ratioToPlain = Object.fromEntries(
      CLIENTS.map((k) => [
        k,
        {
          wall: ratio(result.clients[k].eventsPerSecond.median, plainEps),
          cpu: ratio(plainCpu, result.clients[k].mainThreadCpuUsPerEvent.median),
        },
      ]),
    );
    // What each client adds per event over a plain EventSource: main-thread
    // CPU (median difference) and wall clock, 1/rate(client) - 1/rate(plain).
    result.addedNsPerEvent = Object.fromEntries(
      CLIENTS.map((k) => {
        const e = result.clients[k].eventsPerSecond.median;
        const c = result.clients[k].mainThreadCpuUsPerEvent.median;
        return [
          k,
          {
            cpu: c !== null && plainCpu !== null ? round((c - plainCpu) * 1000, 0) : null,
            wall: e && plainEps ? round((1 / e - 1 / plainEps) * 1e9, 0) : null,
          },
        ];
      }),
    );
    for (const kind of KINDS) {
      const c = result.clients[kind];
      log(
        `dispatch: ${kind.padEnd(26)} ${Math.round(c.eventsPerSecond.median)} events/s wall, ` +
          `${c.mainThreadCpuUsPerEvent.median} us main-thread CPU/event` +
          (kind === 'plain'
            ? ''
            : ` (${result.ratioToPlain[kind].wall}x plain wall, ${result.ratioToPlain[kind].cpu}x plain CPU, ` +
              `+${result.addedNsPerEvent[kind].cpu} ns CPU/event)`),
      );
    }

    // Micro-loops, each block timed in the page (wall) and by the main
    // thread's CPU time (ThreadTime across the evaluate of that block).
    const blocks = async (fn, arg) => {
      const wall = [];
      const cpu = [];
      for (let r = 0; r <= MICRO_BLOCKS; r++) {
        const a = await metrics();
        const out = await page.evaluate(fn, arg);
        const b = await metrics();
        if (r === 0) continue; // warm-up (Liftoff -> TurboFan tier-up)
        wall.push(out.nsPerCall ?? out.nsPerEvent);
        cpu.push(((b.ThreadTime - a.ThreadTime) * 1e9) / cfg.coreCalls);
      }
      return { wallNs: summary(wall), cpuNs: summary(cpu) };
    };

    await page.evaluate((calls) => window.bench.coreSetup(calls), cfg.coreCalls);
    const core = await blocks((mode) => window.bench.coreRun(mode), 'core');
    const numeric = await blocks((mode) => window.bench.coreRun(mode), 'core-numeric');
    const empty = await blocks((mode) => window.bench.coreRun(mode), 'empty');
    await page.evaluate(() => window.bench.coreTeardown());
    result.wasmBoundary = {
      method:
        'in the page: a second instance of web/dist/sse-balancer-core.js whose host opens nothing; one balancer ' +
        '(3 endpoints, the defaults of index.js) on an open stream; blocks of N calls of the Embind message op, ' +
        'a new decimal id each, as a string (text(h, message, connection, id)) and as a number (call(h, message, ' +
        'connection, n), what index.js sends for decimal ids): the per-event decision (dedup insert, last-id ' +
        `update); median of ${MICRO_BLOCKS} blocks after one warm-up block, by wall clock (performance.now()) and by ` +
        'main-thread CPU time (CDP ThreadTime); the empty loop is the same loop around an empty JS function',
      callsPerBlock: cfg.coreCalls,
      nsPerCall: core.cpuNs,
      wallNsPerCall: core.wallNs,
      emptyLoopNsPerCall: empty.cpuNs,
      netNsPerCall: round(core.cpuNs.median - empty.cpuNs.median, 1),
      numericNsPerCall: numeric.cpuNs,
      numericWallNsPerCall: numeric.wallNs,
      numericNetNsPerCall: round(numeric.cpuNs.median - empty.cpuNs.median, 1),
    };
    log(
      `dispatch: core message op through Embind: string id ${core.cpuNs.median} ns/call CPU, numeric id ` +
        `${numeric.cpuNs.median} ns (${core.wallNs.median} / ${numeric.wallNs.median} wall; empty loop ${empty.cpuNs.median} ns)`,
    );

    // The `endpoint` property web/index.js sets on every delivered event
    // (a plain assignment), beside the read-only property it used to define:
    // the difference between constructing events with it and without it.
    // Parts interleaved block by block, so that drift on a busy machine
    // moves them alike.
    const PARTS = ['event', 'event+set', 'event+define'];
    const samples = Object.fromEntries(PARTS.map((part) => [part, { wall: [], cpu: [] }]));
    for (let r = 0; r <= MICRO_BLOCKS; r++) {
      for (const part of PARTS) {
        const a = await metrics();
        const out = await page.evaluate(([p, calls]) => window.bench.eventPartsRun(p, calls), [part, cfg.coreCalls]);
        const b = await metrics();
        if (r === 0) continue; // warm-up
        samples[part].wall.push(out.nsPerEvent);
        samples[part].cpu.push(((b.ThreadTime - a.ThreadTime) * 1e9) / cfg.coreCalls);
      }
    }
    const parts = Object.fromEntries(
      PARTS.map((part) => [part, { nsPerEvent: summary(samples[part].cpu), wallNsPerEvent: summary(samples[part].wall) }]),
    );
    result.endpointProperty = {
      method:
        'in the page: blocks of N new MessageEvent(type, { data, lastEventId, origin }), then the same with ' +
        '`event.endpoint = url` on each (what web/index.js does), and with Object.defineProperty(event, "endpoint", ' +
        '{ value, enumerable }) (what it did before), interleaved block by block; the differences are the property; median ' +
        `of ${MICRO_BLOCKS} blocks each after one warm-up round, main-thread CPU time`,
      parts,
      nsPerEvent: round(parts['event+set'].nsPerEvent.median - parts.event.nsPerEvent.median, 1),
      definedNsPerEvent: round(parts['event+define'].nsPerEvent.median - parts.event.nsPerEvent.median, 1),
    };
    log(
      `dispatch: the endpoint property costs ${result.endpointProperty.nsPerEvent} ns CPU per event ` +
        `(defined read-only: ${result.endpointProperty.definedNsPerEvent} ns)`,
    );
  } finally {
    await context.close();
    for (const res of open) res.destroy();
    await pages.close();
  }
  return result;
}

// Benchmark 1: failover latency. Three local backends share one EventLog
// (an event every BENCH_INTERVAL_MS, ids are the log's integers); a client
// streams; the backend it streams from fails; we measure, in the page, the
// time from the fault (Node's clock, aligned to the page's) to the first
// event delivered over a connection opened after the fault, and count lost
// and duplicated ids. Also a fresh connection's time-to-first-event.
//
// Faults (all on the backend the client is streaming from):
//   kill          sockets reset, port closed, stays down for the trial
//   stall         setMode('stall'): the open stream stays open, nothing more
//                 is written (no events, no heartbeats)
//   5xx           killed, then back at once answering 500 to every request
//   kill-restart  killed, back healthy BENCH_RESTART_AFTER_MS later (the
//                 only case where a one-URL client can recover)
import {
  CLIENTS,
  openClientsPage,
  log,
  nodeNow,
  ratio,
  round,
  sleep,
  startBackends,
  startPages,
  summary,
} from './lib.mjs';

export const SCENARIOS = Object.freeze({
  kill: 'the active backend is killed (connections reset, port closed) and stays down',
  stall: 'the active backend stalls: its open stream stays open but sends nothing (no events, no heartbeats)',
  '5xx': 'the active backend is killed and comes straight back answering HTTP 500 to every request',
  'kill-restart': 'the active backend is killed and comes back healthy after a delay',
});

/** Events kept in a timeline before the fault. */
const TIMELINE_BEFORE_MS = 500;
/** How long a trial goes on after recovery (to see replays and duplicates). */
const TAIL_MS = 300;
/** Events a client must have delivered before the fault. */
const WARM_EVENTS = 15;

function clientOptions(kind, cfg) {
  if (kind === 'sse-balancer') return { heartbeatTimeoutMs: cfg.heartbeatTimeoutMs };
  return undefined;
}

/** A fresh client's time to open and to its first event (page clock). */
async function freshTtfe(pages, env, cfg) {
  const kinds = ['plain', ...CLIENTS];
  const out = Object.fromEntries(kinds.map((k) => [k, { ttfeMs: [], openMs: [] }]));
  const rounds = cfg.trials * 2;
  for (let r = 0; r < rounds; r++) {
    for (const kind of kinds) {
      const { page } = pages[kind];
      const t0 = await page.evaluate(
        ([k, urls, opts, start]) => window.bench.start(k, urls, opts, start),
        [kind, env.urls, clientOptions(kind, cfg), r % env.urls.length],
      );
      const got = await page
        .waitForFunction(() => window.bench.state().count >= 1, null, { timeout: 5000, polling: 10 })
        .then(() => true, () => false);
      const rec = await page.evaluate(() => window.bench.stop());
      if (!got) continue;
      out[kind].ttfeMs.push(rec.t[0] - t0);
      if (rec.opens.length) out[kind].openMs.push(rec.opens[0] - t0);
    }
  }
  const result = {};
  for (const kind of kinds) {
    result[kind] = {
      ttfeMs: summary(out[kind].ttfeMs),
      openMs: summary(out[kind].openMs),
      samplesTtfeMs: out[kind].ttfeMs.map((x) => round(x)),
    };
  }
  return result;
}

async function injectFault(scenario, env, i, cfg) {
  const { cluster } = env;
  switch (scenario) {
    case 'kill':
      await cluster.kill(i);
      return null;
    case 'stall':
      await cluster.setMode(i, 'stall');
      return null;
    case '5xx':
      await cluster.kill(i);
      await cluster.setMode(i, 'status-500');
      return null;
    case 'kill-restart':
      await cluster.kill(i);
      return sleep(cfg.restartAfterMs).then(() => cluster.revive(i));
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

/** Lost ids (gaps inside the delivered span) and duplicates. */
function accounting(ids) {
  if (ids.length === 0) return { lost: 0, duplicates: 0, firstId: null, lastId: null };
  const unique = new Set(ids);
  let min = Infinity;
  let max = -Infinity;
  for (const id of unique) {
    if (id < min) min = id;
    if (id > max) max = id;
  }
  return { lost: max - min + 1 - unique.size, duplicates: ids.length - unique.size, firstId: min, lastId: max };
}

async function runTrial({ page, offset }, kind, scenario, env, cfg, k) {
  await env.heal();
  const start = k % env.urls.length;
  await page.evaluate(
    ([kd, urls, opts, s]) => window.bench.start(kd, urls, opts, s),
    [kind, env.urls, clientOptions(kind, cfg), start],
  );
  const warm = await page
    .waitForFunction((n) => window.bench.state().count >= n, WARM_EVENTS, { timeout: 5000, polling: 20 })
    .then(() => true, () => false);
  if (!warm) {
    await page.evaluate(() => window.bench.stop());
    return { error: 'no stream before the fault' };
  }
  // A random phase against the log's generator, so the fault does not
  // always land just after an event.
  await sleep(Math.random() * cfg.intervalMs);
  const state = await page.evaluate(() => window.bench.state());
  const backend = env.origins.indexOf(state.lastOrigin);
  const tFault = nodeNow();
  const pendingRestart = await injectFault(scenario, env, backend, cfg);
  const tFaultPage = tFault + offset.offsetMs;
  const remaining = Math.max(100, cfg.trialTimeoutMs - (nodeNow() - tFault));
  const recovered = await page
    .waitForFunction((t) => window.bench.recoveredAfter(t), tFaultPage, { timeout: remaining, polling: 20 })
    .then(() => true, () => false);
  if (recovered) await sleep(TAIL_MS);
  const endMs = nodeNow() - tFault;
  const rec = await page.evaluate(() => window.bench.stop());
  const logLastId = env.log.lastId;
  if (pendingRestart) await pendingRestart;

  const firstOpenAfter = rec.opens.find((o) => o > tFaultPage);
  let j = -1;
  if (firstOpenAfter !== undefined) j = rec.t.findIndex((t) => t >= firstOpenAfter && t > tFaultPage);
  const acc = accounting(rec.id);
  const eventsBefore = rec.t.filter((t) => t <= tFaultPage).length;
  const timeline = [];
  for (let n = 0; n < rec.t.length; n++) {
    const dt = rec.t[n] - tFaultPage;
    if (dt >= -TIMELINE_BEFORE_MS) timeline.push([round(dt, 1), rec.id[n]]);
  }
  return {
    recovered: j >= 0,
    latencyMs: j >= 0 ? round(rec.t[j] - tFaultPage) : null,
    openMs: firstOpenAfter !== undefined ? round(firstOpenAfter - tFaultPage) : null,
    faultedBackend: backend,
    recoveredVia: j >= 0 ? env.origins.indexOf(rec.origin[j]) : null,
    lost: acc.lost,
    duplicates: acc.duplicates,
    // A client that did not recover: events appended to the log after the
    // last one it delivered, by the end of the trial.
    undelivered: recovered || acc.lastId === null ? null : logLastId - acc.lastId,
    eventsBefore,
    eventsAfter: rec.t.length - eventsBefore,
    failovers: rec.failovers,
    timeline,
    endMs: round(endMs, 1),
  };
}

function summarizeClient(trials, cfg) {
  const ok = trials.filter((t) => !t.error);
  const rec = ok.filter((t) => t.recovered);
  const out = {
    attempted: ok.length,
    recovered: rec.length,
    latencyMs: summary(rec.map((t) => t.latencyMs)),
    openMs: summary(rec.map((t) => t.openMs)),
    lost: ok.reduce((s, t) => s + t.lost, 0),
    duplicates: ok.reduce((s, t) => s + t.duplicates, 0),
    trials: trials.map(({ timeline, endMs, ...t }) => t),
  };
  if (rec.length === 0) {
    out.note = `no event over a new connection within ${cfg.trialTimeoutMs} ms of the fault in ${ok.length} of ${ok.length} trials`;
  } else if (rec.length < ok.length) {
    out.note = `recovered in ${rec.length} of ${ok.length} trials within ${cfg.trialTimeoutMs} ms`;
  }
  return out;
}

/** The trial closest to the median latency (or the first) as the timeline. */
function representative(trials) {
  const ok = trials.filter((t) => !t.error);
  const rec = ok.filter((t) => t.recovered).sort((a, b) => a.latencyMs - b.latencyMs);
  const pick = rec.length ? rec[Math.floor((rec.length - 1) / 2)] : ok[0];
  if (!pick) return null;
  return {
    trial: trials.indexOf(pick),
    recovered: pick.recovered,
    latencyMs: pick.latencyMs,
    // The trial ended here (ms from the fault): nothing is known after it.
    endMs: pick.endMs,
    // [ms from the fault, event id] of every event from 500 ms before it.
    points: pick.timeline,
  };
}

export async function runFailover({ browser, cfg }) {
  const pages = await startPages();
  const env = await startBackends({
    pagesOrigin: pages.origin,
    intervalMs: cfg.intervalMs,
    heartbeatMs: cfg.heartbeatMs,
  });
  const context = await browser.newContext();
  const result = {
    setup: {
      backends: env.urls.length,
      intervalMs: cfg.intervalMs,
      backendHeartbeatMs: cfg.heartbeatMs,
      trials: cfg.trials,
      noRecoveryTrials: cfg.noRecoveryTrials,
      trialTimeoutMs: cfg.trialTimeoutMs,
      restartAfterMs: cfg.restartAfterMs,
      clientOptions: Object.fromEntries(CLIENTS.map((c) => [c, clientOptions(c, cfg) ?? null])),
      latencyDefinition:
        'ms from the fault (Node clock, aligned to the page clock by the fastest of 9 round trips) to the first ' +
        'event the page listener receives over a connection opened after the fault',
    },
    fresh: null,
    scenarios: {},
  };
  try {
    const kinds = ['plain', ...CLIENTS];
    const pageSet = {};
    for (const kind of kinds) pageSet[kind] = await openClientsPage(context, pages.origin);
    result.setup.clockOffsets = Object.fromEntries(
      kinds.map((k) => [k, { offsetMs: round(pageSet[k].offset.offsetMs, 3), rttMs: round(pageSet[k].offset.rttMs, 3) }]),
    );

    log('failover: fresh time-to-first-event');
    result.fresh = await freshTtfe(pageSet, env, cfg);
    for (const kind of kinds) {
      log(`  ${kind.padEnd(26)} first event ${fmt(result.fresh[kind].ttfeMs.median)} ms, open ${fmt(result.fresh[kind].openMs.median)} ms`);
    }

    const scenarios = (process.env.BENCH_SCENARIOS || Object.keys(SCENARIOS).join(','))
      .split(',')
      .map((s) => s.trim())
      .filter((s) => SCENARIOS[s]);
    for (const scenario of scenarios) {
      log(`failover: ${scenario}`);
      const trials = Object.fromEntries(CLIENTS.map((c) => [c, []]));
      for (let k = 0; k < cfg.trials; k++) {
        for (const kind of CLIENTS) {
          const done = trials[kind];
          const settled = done.length >= cfg.noRecoveryTrials && done.every((t) => !t.recovered);
          if (settled) continue;
          const t = await runTrial(pageSet[kind], kind, scenario, env, cfg, k);
          done.push(t);
          log(
            `  ${kind.padEnd(26)} trial ${k + 1}: ` +
              (t.error
                ? t.error
                : t.recovered
                  ? `${t.latencyMs} ms (open ${t.openMs} ms) via backend ${t.recoveredVia}, lost ${t.lost}, dup ${t.duplicates}`
                  : `no recovery within ${cfg.trialTimeoutMs} ms (lost ${t.lost}, dup ${t.duplicates}, undelivered ${t.undelivered})`),
          );
        }
      }
      await env.heal();
      const clients = Object.fromEntries(CLIENTS.map((c) => [c, summarizeClient(trials[c], cfg)]));
      const own = clients['sse-balancer'].latencyMs.median;
      result.scenarios[scenario] = {
        description: SCENARIOS[scenario],
        clients,
        // sse-balancer's median latency / the baseline's (below 1: faster);
        // null where the baseline never recovered.
        ratioToBaseline: Object.fromEntries(
          CLIENTS.filter((c) => c !== 'sse-balancer').map((c) => [c, ratio(own, clients[c].latencyMs.median)]),
        ),
        timeline: Object.fromEntries(CLIENTS.map((c) => [c, representative(trials[c])])),
      };
    }
    for (const kind of kinds) {
      if (pageSet[kind].errors.length) result.setup[`pageErrors:${kind}`] = pageSet[kind].errors.slice(0, 5);
    }
  } finally {
    await context.close();
    await env.stop();
    await pages.close();
  }
  return result;
}

function fmt(x) {
  return x === null || x === undefined ? 'n/a' : String(x);
}

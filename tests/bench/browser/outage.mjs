// Benchmark: recovery after every backend was down for a while and one came
// back, and the gaps of streams that a server ends cleanly every few seconds.
//
// outage:  three local backends stream one log (an event every
//          BENCH_INTERVAL_MS); the clients stream; every backend is killed
//          (sockets reset, ports closed) for D ms, then one backend, chosen
//          at random, comes back. Measured per client: ms from that revival
//          (Node clock aligned to the page's) to the first event delivered,
//          connection attempts made during the outage (Playwright request
//          events of type eventsource to a backend, refused ones included),
//          lost and duplicated ids. Each client kind runs in its own browser
//          context (its own connection pool), all at once, so every kind
//          sees the same outage in the same trial.
// ends:    one URL (and three) whose server cleanly ends every stream after
//          BENCH_END_AFTER_MS: the gaps between consecutive events around
//          each end, and lost ids.
//
// Prints figures; never asserts on time.
import { CLIENTS, log, openClientsPage, nodeNow, round, sleep, startBackends, startPages, summary } from './lib.mjs';

/** Outage lengths (ms) and trials of each (BENCH_OUTAGES="2000:10,5000:5"). */
function outagePlan(cfg) {
  const spec = process.env.BENCH_OUTAGES || `2000:${Math.max(cfg.trials, 10)},5000:5,10000:3,30000:3`;
  return spec.split(',').map((part) => {
    const [ms, trials] = part.split(':').map(Number);
    if (!Number.isFinite(ms) || !Number.isInteger(trials) || trials < 1) throw new Error(`BENCH_OUTAGES: bad entry ${part}`);
    return { ms, trials };
  });
}

/** Clients measured: those that can use three URLs. */
const KINDS = CLIENTS.filter((c) => c !== 'reconnecting-eventsource');

function accounting(ids) {
  if (ids.length === 0) return { lost: 0, duplicates: 0 };
  const unique = new Set(ids);
  const min = Math.min(...unique);
  const max = Math.max(...unique);
  return { lost: max - min + 1 - unique.size, duplicates: ids.length - unique.size };
}

async function outageTrial(clients, env, outageMs, cfg) {
  await env.heal();
  for (const c of Object.values(clients)) {
    c.attempts = [];
    await c.page.evaluate(([kind, urls]) => window.bench.start(kind, urls, undefined, Math.floor(Math.random() * 3)), [
      c.kind,
      env.urls,
    ]);
  }
  for (const c of Object.values(clients)) {
    await c.page.waitForFunction(() => window.bench.state().count >= 10, null, { timeout: 5000, polling: 20 });
  }
  await sleep(Math.random() * cfg.intervalMs);
  const tKill = nodeNow();
  await Promise.all(env.urls.map((_, i) => env.cluster.kill(i)));
  await sleep(Math.max(0, outageMs - (nodeNow() - tKill)));
  const back = Math.floor(Math.random() * env.urls.length);
  const tRevive = nodeNow();
  await env.cluster.revive(back);
  const deadline = 15_000;
  await Promise.all(
    Object.values(clients).map((c) =>
      c.page
        .waitForFunction((t) => window.bench.recoveredAfter(t), tRevive + c.offset.offsetMs, { timeout: deadline, polling: 10 })
        .catch(() => null),
    ),
  );
  await sleep(200);
  const out = {};
  for (const c of Object.values(clients)) {
    const rec = await c.page.evaluate(() => window.bench.stop());
    const revivePage = tRevive + c.offset.offsetMs;
    const first = rec.t.find((t) => t > revivePage);
    const during = c.attempts.filter((t) => t >= tKill && t < tRevive).length;
    out[c.kind] = {
      recoveryMs: first === undefined ? null : round(first - revivePage),
      attemptsDuringOutage: during,
      ...accounting(rec.id),
    };
  }
  await env.heal();
  return { outageMs: round(tRevive - tKill), revived: back, clients: out };
}

async function runOutages(browser, env, pagesOrigin, cfg) {
  const clients = {};
  for (const kind of KINDS) {
    const context = await browser.newContext();
    const origins = new Set(env.origins);
    const entry = { kind, context, attempts: [] };
    context.on('request', (r) => {
      if (r.resourceType() === 'eventsource' && origins.has(new URL(r.url()).origin)) entry.attempts.push(nodeNow());
    });
    Object.assign(entry, await openClientsPage(context, pagesOrigin));
    clients[kind] = entry;
  }
  const results = [];
  try {
    for (const { ms, trials } of outagePlan(cfg)) {
      const rows = [];
      for (let k = 0; k < trials; k++) {
        const t = await outageTrial(clients, env, ms, cfg);
        rows.push(t);
        log(
          `  outage ${ms} ms, trial ${k + 1}: ` +
            KINDS.map((kind) => {
              const c = t.clients[kind];
              return `${kind} ${c.recoveryMs ?? 'none'} ms after revival, ${c.attemptsDuringOutage} attempts, lost ${c.lost}, dup ${c.duplicates}`;
            }).join('; '),
        );
      }
      const byKind = {};
      for (const kind of KINDS) {
        const cs = rows.map((r) => r.clients[kind]);
        byKind[kind] = {
          recovered: cs.filter((c) => c.recoveryMs !== null).length,
          trials: cs.length,
          recoveryMs: summary(cs.filter((c) => c.recoveryMs !== null).map((c) => c.recoveryMs)),
          attemptsDuringOutage: summary(cs.map((c) => c.attemptsDuringOutage)),
          lost: cs.reduce((s, c) => s + c.lost, 0),
          duplicates: cs.reduce((s, c) => s + c.duplicates, 0),
        };
      }
      results.push({ outageMs: ms, clients: byKind, trials: rows });
    }
  } finally {
    for (const c of Object.values(clients)) await c.context.close();
  }
  return results;
}

/**
 * Periodic clean ends: every stream a backend serves ends cleanly after
 * `endAfterMs` (setMode('drop-after') with a count of events per stream).
 */
async function runEnds(browser, env, pagesOrigin, cfg) {
  const endAfterMs = Number(process.env.BENCH_END_AFTER_MS || 2000);
  const cycles = Number(process.env.BENCH_END_CYCLES || 15);
  const count = Math.max(1, Math.round(endAfterMs / cfg.intervalMs));
  const context = await browser.newContext();
  const { page } = await openClientsPage(context, pagesOrigin);
  const out = {};
  try {
    for (const [label, urls] of [
      ['one URL', env.urls.slice(0, 1)],
      ['three URLs', env.urls],
    ]) {
      await env.heal();
      for (let i = 0; i < env.urls.length; i++) await env.cluster.setMode(i, 'drop-after', { count });
      for (const kind of ['sse-balancer', 'hand-written']) {
        await page.evaluate(([k, u]) => window.bench.start(k, u), [kind, urls]);
        await page
          .waitForFunction((n) => window.bench.state().opens >= n, cycles + 1, { timeout: cycles * (endAfterMs + 4000), polling: 50 })
          .catch(() => null);
        const rec = await page.evaluate(() => window.bench.stop());
        // The gap across each end: from the last event before a stream
        // opened to the first event after it opened.
        const gaps = [];
        for (const open of rec.opens.slice(1)) {
          const after = rec.t.findIndex((t) => t >= open);
          if (after > 0) gaps.push(round(rec.t[after] - rec.t[after - 1]));
        }
        const acc = accounting(rec.id);
        out[`${label}: ${kind}`] = {
          ends: rec.opens.length - 1,
          gapsMs: summary(gaps),
          gapsOver100Ms: gaps.filter((g) => g >= 100).length,
          ...acc,
        };
        log(`  ends, ${label}, ${kind}: ${rec.opens.length - 1} ends, gap median ${summary(gaps).median} ms, max ${summary(gaps).max} ms, lost ${acc.lost}, dup ${acc.duplicates}`);
      }
    }
  } finally {
    await env.heal();
    await context.close();
  }
  return { endAfterMs, eventsPerStream: count, runs: out };
}

export async function runOutage({ browser, cfg }) {
  const pages = await startPages();
  const env = await startBackends({ pagesOrigin: pages.origin, intervalMs: cfg.intervalMs, heartbeatMs: cfg.heartbeatMs });
  try {
    log('outage: every backend down, one back');
    const outages = await runOutages(browser, env, pages.origin, cfg);
    log('outage: streams that end cleanly every few seconds');
    const ends = await runEnds(browser, env, pages.origin, cfg);
    return {
      setup: {
        backends: env.urls.length,
        intervalMs: cfg.intervalMs,
        clients: KINDS,
        recoveryDefinition:
          'ms from the revival of one backend (Node clock aligned to the page clock) to the first event the page receives',
        attemptsDefinition: 'eventsource requests to a backend seen by Playwright between the kill and the revival (refused ones included)',
      },
      outages,
      ends,
    };
  } finally {
    await env.stop();
    await pages.close();
  }
}

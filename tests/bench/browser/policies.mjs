// Benchmark: where the policies put 30 real clients on 3 local backends, and
// what a backend added at runtime gets. Clients are BalancedEventSources in
// five browser profiles of six (a browser allows about six connections per
// host); the backends advertise their open streams with each heartbeat
// (every 300 ms). Figures:
//   - least-loaded and random: the clients' first picks (made before any
//     load is known), open streams per backend once all 30 stream, and
//     (least-loaded) after it settles (at most 11 on the busiest, or 60 s);
//   - weighted 1:2:3: the same, settled when within 10 % of 5/10/15;
//   - sticky: the backend of each of 5 keys over 20 page loads each, then
//     with that backend killed;
//   - a 4th backend added under 12 least-loaded clients: streams per
//     backend before and after, how long until it carries 2, ids lost or
//     repeated, and whether clients started with the old list learn the new.
import { log, pollUntil, startBackends, startPages } from './lib.mjs';

const HARNESS = '/tests/e2e/pages/harness.html';
const PER_PROFILE = 6;
const SETTLE_MS = 60_000;

async function openProfile(browser, origin, urls, options, n = PER_PROFILE) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}${HARNESS}`);
  await page.waitForFunction(() => window.harnessReady === true);
  await page.evaluate(
    ([list, opts, count]) => {
      window.clients = [];
      for (let k = 0; k < count; k++) {
        const got = { ids: [], errors: 0 };
        const s = new window.sseb.BalancedEventSource(list, opts);
        got.first = s.url; // its first pick, made before any load is known
        s.onmessage = (e) => got.ids.push(Number(e.lastEventId));
        s.onerror = () => got.errors++;
        window.clients.push({ s, got });
      }
    },
    [urls, options, n],
  );
  return { context, page };
}

const streams = (env) => env.cluster.backends.map((b) => (b.removed ? 0 : env.cluster.openStreams(b.index)));
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** Lost and repeated ids and error events over every client of `profiles`. */
async function integrity(profiles) {
  let lost = 0;
  let repeated = 0;
  let errors = 0;
  for (const { page } of profiles) {
    for (const c of await page.evaluate(() => window.clients.map(({ got }) => got))) {
      errors += c.errors;
      for (let i = 1; i < c.ids.length; i++) {
        if (c.ids[i] <= c.ids[i - 1]) repeated++;
        else lost += c.ids[i] - c.ids[i - 1] - 1;
      }
    }
  }
  return { lost, repeated, errors };
}

/** Where the clients of `profiles` made their first pick: a count per URL of `urls`. */
async function firstPicks(profiles, urls) {
  const counts = urls.map(() => 0);
  for (const { page } of profiles) for (const url of await page.evaluate(() => window.clients.map(({ got }) => got.first))) counts[urls.indexOf(url)]++;
  return counts;
}

/** 30 clients with `options`: their first picks, streams per backend once all stream, and once `settled` (or after SETTLE_MS). */
async function spread(browser, pages, env, options, settled) {
  const profiles = [];
  try {
    for (let p = 0; p < 5; p++) profiles.push(await openProfile(browser, pages.origin, env.urls, options));
    await pollUntil(() => sum(streams(env)) === 30, { timeoutMs: 20_000, everyMs: 50 });
    const start = streams(env);
    const t0 = Date.now();
    const done = settled ? await pollUntil(() => sum(streams(env)) === 30 && settled(streams(env)), { timeoutMs: SETTLE_MS, everyMs: 100 }) : true;
    return {
      firstPicks: await firstPicks(profiles, env.urls),
      start,
      end: streams(env),
      settledMs: settled ? (done ? Date.now() - t0 : null) : undefined,
      ...(await integrity(profiles)),
    };
  } finally {
    for (const { context } of profiles) await context.close();
    await pollUntil(() => sum(streams(env)) === 0, { timeoutMs: 10_000, everyMs: 50 });
  }
}

/** Each key's backend over 20 page loads, then with that backend down. */
async function sticky(browser, pages, env) {
  const keys = ['room-1', 'room-2', 'room-3', 'user-ann', 'user-bob'];
  const context = await browser.newContext();
  const page = await context.newPage();
  const out = [];
  try {
    const pick = async (key) => {
      await page.goto(`${pages.origin}${HARNESS}`);
      await page.waitForFunction(() => window.harnessReady === true);
      return page.evaluate(
        async ([list, k]) => {
          const s = new window.sseb.BalancedEventSource(list, { policy: 'sticky', stickyKey: k, initialBackoffMs: 200, minRetryMs: 50 });
          await new Promise((resolve) => s.addEventListener('open', resolve, { once: true }));
          const url = s.url;
          s.close();
          return url;
        },
        [env.urls, key],
      );
    };
    for (const key of keys) {
      const seen = [];
      for (let r = 0; r < 20; r++) seen.push(env.urls.indexOf(await pick(key)));
      const home = seen[0];
      await env.cluster.kill(home);
      const whileDown = env.urls.indexOf(await pick(key));
      await env.cluster.revive(home);
      const back = env.urls.indexOf(await pick(key));
      out.push({ key, loads: 20, distinctBackends: new Set(seen).size, home, whileDown, afterRevive: back });
    }
  } finally {
    await context.close();
  }
  return out;
}

/** 12 least-loaded clients on 3 backends, then a 4th added, then 4 clients that only know the first 3. */
async function addBackend(browser, pages, env) {
  const profiles = [];
  const options = { policy: 'least-loaded' };
  try {
    for (let p = 0; p < 2; p++) profiles.push(await openProfile(browser, pages.origin, env.urls, options));
    await pollUntil(() => sum(streams(env)) === 12, { timeoutMs: 20_000, everyMs: 50 });
    const before = streams(env);
    const t0 = Date.now();
    const index = await env.cluster.addBackend();
    const reached = await pollUntil(() => streams(env)[index] >= 2, { timeoutMs: SETTLE_MS, everyMs: 100 });
    const reachedMs = reached ? Date.now() - t0 : null;
    const late = await openProfile(browser, pages.origin, env.urls, options, 4);
    profiles.push(late);
    await pollUntil(() => sum(streams(env)) === 16, { timeoutMs: 20_000, everyMs: 50 });
    await pollUntil(() => Math.max(...streams(env)) <= 5, { timeoutMs: SETTLE_MS, everyMs: 100 });
    const learned = await late.page.evaluate(() => window.clients.map(({ s }) => s.stats().endpoints.length));
    return { before, reachedMs, after: streams(env), lateClientsKnowing4: learned.filter((n) => n === 4).length, lateClients: learned.length, ...(await integrity(profiles)) };
  } finally {
    for (const { context } of profiles) await context.close();
  }
}

export async function runPolicies({ browser }) {
  const pages = await startPages();
  let env = await startBackends({ pagesOrigin: pages.origin, intervalMs: 50, heartbeatMs: 300 });
  try {
    const out = {
      method:
        'three local backends advertising their open streams every 300 ms, an event every 50 ms; 30 clients in 5 browser ' +
        `profiles; "settled" polled every 100 ms for at most ${SETTLE_MS / 1000} s`,
      random: await spread(browser, pages, env, { policy: 'random' }, null),
      leastLoaded: await spread(browser, pages, env, { policy: 'least-loaded' }, (s) => Math.max(...s) <= 11),
      weighted: await spread(browser, pages, env, { policy: 'weighted', weights: [1, 2, 3] }, ([a, b, c]) => a === 5 && Math.abs(b - 10) <= 1 && Math.abs(c - 15) <= 1),
      sticky: await sticky(browser, pages, env),
    };
    await env.stop();
    env = await startBackends({ pagesOrigin: pages.origin, intervalMs: 50, heartbeatMs: 300 });
    out.addBackend = await addBackend(browser, pages, env);
    const fmt = (r) => `first picks ${r.firstPicks.join('/')}, all streaming ${r.start.join('/')} -> ${r.end.join('/')}${r.settledMs !== undefined ? ` (settled in ${r.settledMs} ms)` : ''}, lost ${r.lost}, repeated ${r.repeated}`;
    log(`policies: random ${fmt(out.random)}; least-loaded ${fmt(out.leastLoaded)}; weighted 1:2:3 ${fmt(out.weighted)}`);
    log(`policies: sticky ${out.sticky.map((k) => `${k.key}: ${k.distinctBackends} backend(s) over ${k.loads} loads, down -> ${k.whileDown}, back -> ${k.afterRevive}`).join('; ')}`);
    const a = out.addBackend;
    log(`policies: 4th backend: ${a.before.join('/')} -> ${a.after.join('/')}, 2 on it after ${a.reachedMs} ms, late clients knowing 4: ${a.lateClientsKnowing4}/${a.lateClients}, lost ${a.lost}, repeated ${a.repeated}, errors ${a.errors}`);
    return out;
  } finally {
    await env.stop();
    await pages.close();
  }
}

// Scenarios that run the same way on one redis-server (redis.spec.js) and on a
// Redis Cluster (redis-cluster.spec.js), with the store chosen by main.js's
// arguments (`--redis URL` or `--redis-cluster URL,URL,...`):
//
// - runTwoProcessResume: two `node web/server/main.js` processes share one
//   log. A browser client balanced over the backends of both survives a
//   SIGKILL of the process it streams from: it resumes on the other process
//   with every posted message exactly once, in id order. A second client on
//   the other process from the start sees the same log.
// - runGeneratorLease: processes with --log-rate 20 on one store write about
//   20 lines/s together (one holds the lease {logs}:generator), and when the
//   holder is killed the other takes over within a bounded time.
//
// Everything a scenario starts is put in `env` (see newEnv) and stopped by its
// PID in cleanupEnv(env), whatever failed.
import fs from 'node:fs';
import { expect } from '@playwright/test';
import { startPageServer } from '../../web/server/static-server.js';
import { ROOT, startMainProcess, stopChild } from './redis-helper.js';
import { expectContiguous } from './fixtures.js';

const FAST = { initialBackoffMs: 300, maxBackoffMs: 1000, minRetryMs: 100 };
/** One post every 66 ms (~15/s): below the 20/s per-IP limit even when one process takes them all. */
const POST_EVERY_MS = 66;
const USERS = 40; // 15/s over 40 users stays far below 5/s per IP + user
const FREEZE_MS = 500;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * What a test started. `servers`: redis-server handles (startRedis) or
 * clusters (startRedisCluster), stopped last.
 */
export function newEnv() {
  return { procs: [], pages: null, servers: [], stopPoster: async () => {} };
}

const serverChildren = (s) => (s.child ? [s.child] : (s.nodes || []).map((n) => n.child));
const serverDirs = (s) => (s.dir ? [s.dir] : (s.nodes || []).map((n) => n.dir));

/** Stops everything in env by PID (servers first, Redis last) and checks that nothing outlives it. */
export async function cleanupEnv(env) {
  if (!env) return;
  await env.stopPoster().catch(() => {});
  const children = () => [...env.procs.map((p) => p.child), ...env.servers.flatMap(serverChildren)].filter(Boolean);
  try {
    for (const p of env.procs) await p.stop().catch(() => {});
    if (env.pages) await env.pages.close().catch(() => {});
    for (const s of env.servers) await s.stop().catch(() => {});
  } finally {
    // Nothing a test spawned may outlive it, whatever failed above.
    for (const child of children()) await stopChild(child, 'SIGKILL', 2000);
    for (const dir of env.servers.flatMap(serverDirs)) fs.rmSync(dir, { recursive: true, force: true });
  }
  for (const child of children()) {
    expect(child.exitCode !== null || child.signalCode !== null, `pid ${child.pid} exited`).toBe(true);
  }
}

async function backendsOf(proc, count) {
  const res = await fetch(`http://127.0.0.1:${proc.portBase}/api/backends`);
  expect(res.status).toBe(200);
  const list = await res.json();
  expect(list).toHaveLength(count);
  return { chat: list.map((b) => b.chatUrl), messages: list.map((b) => b.messagesUrl) };
}

async function openHarness(context, pages) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${pages.origin}/tests/e2e/pages/harness.html`);
  await page.waitForFunction(() => window.harnessReady === true);
  return { page, errors };
}

/** track() with a seed whose first pick is endpoint `index`, plus arrival/open timestamps. */
async function trackStartingAt(page, urls, options, index) {
  await page.evaluate(
    ([u, o, want]) => {
      const dummies = u.map((_, i) => `${location.origin}/probe-${i}`);
      for (let seed = 0; seed < 10_000; seed++) {
        const probe = new window.sseb.BalancedEventSource(dummies, { ...o, seed });
        const first = probe.stats().activeEndpoint;
        probe.close();
        if (first === want) {
          window.track(u, { ...o, seed });
          window.arrivals = [];
          window.opensAt = [];
          window.source.addEventListener('message', (e) => window.arrivals.push({ id: e.lastEventId, at: Date.now(), endpoint: e.endpoint }));
          window.source.addEventListener('open', () => window.opensAt.push(Date.now()));
          return;
        }
      }
      throw new Error(`no seed starts at endpoint ${want}`);
    },
    [urls, { policy: 'round-robin', ...options }, index],
  );
}

async function post(url, body, key, signal = undefined) {
  const timeout = AbortSignal.timeout(3000);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify(body),
    signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
  });
  return { status: res.status, body: await res.json().catch(() => null), retryAfter: res.headers.get('retry-after') };
}

/**
 * The poster: one message every POST_EVERY_MS, alternating over the backends
 * of both processes; a request that fails (the process died under it) is
 * retried on a live process with the same Idempotency-Key. Posts to A are
 * aborted by `frozenA` (a frozen process never answers, and a poster stuck on
 * it for its 3 s timeout would store nothing during the freeze the test
 * depends on); they are then retried on B, as for a dead process.
 */
function startPoster({ a, b, run, posted, failures, dead, frozenA }) {
  const targets = [
    ['A', a.messages[0]],
    ['B', b.messages[0]],
    ['A', a.messages[1]],
    ['B', b.messages[1]],
  ];
  const state = { stop: false, retried: 0 };
  const postOne = async (n) => {
    const live = targets.filter(([p]) => !dead.has(p));
    const user = `user-${n % USERS}`;
    const text = `message ${n} of run ${run}`;
    const key = `msg-${run}-${n}`;
    let [via, url] = live[n % live.length];
    for (let attempts = 1; ; attempts++) {
      let r;
      try {
        r = await post(url, { user, text }, key, via === 'A' ? frozenA.signal : undefined);
      } catch (err) {
        r = { status: 0, error: String(err && (err.cause?.code || err.message)) };
      }
      if (r.status === 201) {
        posted.push({ n, id: r.body.id, user, text, via, attempts });
        return;
      }
      if (attempts >= 4 || (r.status !== 0 && r.status < 500)) {
        failures.push({ n, via, ...r });
        return;
      }
      state.retried++;
      await sleep(50);
      const others = targets.filter(([p]) => !dead.has(p) && p !== via);
      [via, url] = others.length ? others[attempts % others.length] : [via, url];
    }
  };
  const done = (async () => {
    const start = Date.now();
    for (let n = 0; !state.stop && n < 400; n++) {
      const wait = start + n * POST_EVERY_MS - Date.now();
      if (wait > 0) await sleep(wait);
      await postOne(n);
    }
  })();
  state.stopNow = () => {
    state.stop = true;
    return done;
  };
  return state;
}

/**
 * Two processes on one store (`storeArgs`, e.g. ['--redis', url]); `storeLine`
 * is what their startup output must name as the store; `label` tags the
 * summary line. The store must be empty: the posts take ids 1 .. N.
 */
export async function runTwoProcessResume({ context, env, storeArgs, storeLine, label = 'redis' }) {
  const t0 = Date.now();
  env.pages = await startPageServer({ root: ROOT }); // serves /web and /tests (main.js's page server serves /web only)
  const args = [...storeArgs, '--log-rate', '0', '--allowed-origin', env.pages.origin];
  const [A, B] = await Promise.all([startMainProcess(args, { backends: 2 }), startMainProcess(args, { backends: 2 })]);
  env.procs.push(A, B);
  expect(A.output()).toContain(`store: ${storeLine}`);
  expect(B.output()).toContain(`store: ${storeLine}`);
  const a = await backendsOf(A, 2);
  const b = await backendsOf(B, 2);
  const setupMs = Date.now() - t0;

  // Health: both processes read the same (empty) Redis log.
  for (const url of [a.messages[0], b.messages[0]]) {
    const h = await (await fetch(url.replace('/messages', '/health'))).json();
    expect(h).toMatchObject({ ok: true, channel: 'chat', store: 'redis', lastId: 0 });
  }

  // Client 1 over both processes, starting on A's first backend; client 2 on B only.
  const c1 = await openHarness(context, env.pages);
  const c2 = await openHarness(context, env.pages);
  await trackStartingAt(c1.page, [...a.chat, ...b.chat], FAST, 0);
  await c2.page.evaluate(([u, o]) => window.track(u, o), [b.chat, FAST]);
  await c1.page.waitForFunction(() => window.source.readyState === 1);
  await c2.page.waitForFunction(() => window.source.readyState === 1);
  expect(await c1.page.evaluate(() => window.source.url)).toBe(a.chat[0]);

  // Idempotency holds across processes: the same key on A then on B is one message.
  const run = `${process.pid}-${Date.now()}`;
  const idemBody = { user: 'idem', text: 'posted twice, stored once' };
  const first = await post(a.messages[0], idemBody, `idem-${run}`);
  const again = await post(b.messages[1], idemBody, `idem-${run}`);
  expect(first.status).toBe(201);
  expect(again).toMatchObject({ status: 201, body: { id: first.body.id } });

  const posted = [{ n: -1, id: first.body.id, user: idemBody.user, text: idemBody.text, via: 'A', attempts: 2 }];
  const failures = [];
  const dead = new Set();
  const frozenA = new AbortController();
  const poster = startPoster({ a, b, run, posted, failures, dead, frozenA });
  env.stopPoster = poster.stopNow;

  // Phase 1: both clients stream while both processes take posts.
  await c1.page.waitForFunction(() => window.log.messages.length >= 30, null, { timeout: 20_000 });
  await c2.page.waitForFunction(() => window.log.messages.length >= 30, null, { timeout: 20_000 });

  // Kill the process client 1 is streaming from, mid-stream. It is frozen
  // (SIGSTOP) for FREEZE_MS first while B keeps storing posts, so that the log
  // holds messages A never delivered: the client gets them only if B replays
  // from the resume id (a kill without the freeze is so quick that nothing
  // would be in the gap). Then SIGKILL: no chance to close anything.
  const active = await c1.page.evaluate(() => window.source.url);
  expect(a.chat, 'client 1 streams from process A before the kill').toContain(active);
  const resumeRequests = [];
  c1.page.on('request', (r) => {
    if (b.chat.some((u) => r.url().startsWith(u))) resumeRequests.push(new URL(r.url()).searchParams.get('lastEventId'));
  });
  dead.add('A');
  process.kill(A.pid, 'SIGSTOP');
  frozenA.abort();
  const frozenAt = Date.now();
  const receivedBeforeFreeze = await c1.page.evaluate(() => window.log.messages.length);
  await sleep(FREEZE_MS);
  const storedBeforeKill = Math.max(...posted.map((p) => p.id));
  const killAt = Date.now();
  const killed = await A.kill();
  expect(killed.signal).toBe('SIGKILL');

  // Phase 2: keep posting (to B only) for 2.5 s, then stop.
  await sleep(2500);
  await poster.stopNow();
  expect(failures, 'every post was stored (201), possibly after a retry on the live process').toEqual([]);

  const ids = posted.map((p) => p.id).sort((x, y) => x - y);
  const lastId = ids[ids.length - 1];
  // Fresh store: the posts (and only they) took ids 1 .. N, each once.
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids[0]).toBe(1);
  expect(lastId).toBe(ids.length);
  expect(posted.some((p) => p.via === 'A') && posted.some((p) => p.via === 'B')).toBe(true);

  for (const c of [c1, c2]) {
    await c.page.waitForFunction((last) => window.log.messages.some((m) => Number(m.id) >= last), lastId, { timeout: 20_000 });
    await c.page.waitForTimeout(300); // anything duplicated after the last id would show up here
  }
  const seen = {
    log1: await c1.page.evaluate(() => window.log),
    log2: await c2.page.evaluate(() => window.log),
    arrivals: await c1.page.evaluate(() => window.arrivals),
    opensAt: await c1.page.evaluate(() => window.opensAt),
    sourceUrl: await c1.page.evaluate(() => window.source.url),
  };
  const facts = { a, b, ids, lastId, posted, resumeRequests, receivedBeforeFreeze, storedBeforeKill, killAt, frozenAt };
  const summary = expectResumed(seen, facts);
  expect(c1.errors).toEqual([]);
  expect(c2.errors).toEqual([]);

  // B shuts down cleanly on SIGTERM.
  const stopped = await B.stop();
  expect(stopped).toEqual({ code: 0, signal: null });
  expect(B.output()).toContain('SIGTERM received, shutting down');
  expect(B.output(), 'process B logged no error').not.toMatch(/error|fail|timed out/i);

  console.log(
    `[${label}] setup ${setupMs} ms; posted ${ids.length} (ids 1..${lastId}; via A ${posted.filter((p) => p.via === 'A').length}, ` +
      `via B ${posted.filter((p) => p.via === 'B').length}, request retries ${poster.retried}); ${summary}`,
  );
  return { ids };
}

/** The assertions on what the clients saw; returns the summary of client 1's move. */
function expectResumed({ log1, log2, arrivals, opensAt, sourceUrl }, { a, b, ids, posted, resumeRequests, receivedBeforeFreeze, storedBeforeKill, killAt, frozenAt }) {
  const byId = new Map(posted.map((p) => [p.id, p]));
  for (const [name, log] of [
    ['client 1', log1],
    ['client 2', log2],
  ]) {
    const got = log.messages.map((m) => Number(m.id));
    expectContiguous(got);
    expect(got, `${name}: every posted id exactly once, nothing else`).toEqual(ids);
    for (const m of log.messages) {
      const data = JSON.parse(m.data);
      const p = byId.get(Number(m.id));
      expect({ id: Number(m.id), user: data.user, text: data.text }, `${name}: id ${m.id} carries its post`).toEqual({ id: p.id, user: p.user, text: p.text });
    }
  }

  // Client 1: streamed from A (messages posted through both processes), then moved to B.
  const onA = log1.messages.filter((m) => a.chat.includes(m.endpoint));
  const onB = log1.messages.filter((m) => b.chat.includes(m.endpoint));
  expect(onA.length).toBeGreaterThanOrEqual(receivedBeforeFreeze);
  const lastFromA = Math.max(...onA.map((m) => Number(m.id)));
  // Messages stored while A was frozen reached client 1 through B's replay.
  expect(storedBeforeKill - lastFromA, 'messages stored while A was frozen').toBeGreaterThanOrEqual(3);
  expect(Number(onB[0].id)).toBe(lastFromA + 1);
  // The first connection to B carried the last id delivered by A.
  expect(resumeRequests[0]).toBe(String(lastFromA));
  expect(onB.length).toBeGreaterThan(0);
  expect(onA.some((m) => byId.get(Number(m.id)).via === 'B'), 'A streamed messages posted to B').toBe(true);
  expect(Math.max(...onA.map((m) => Number(m.id)))).toBeLessThan(Math.min(...onB.map((m) => Number(m.id))));
  expect(log1.failovers.length).toBeGreaterThanOrEqual(1);
  expect(log1.failovers[0]).toMatchObject({ from: a.chat[0], reason: 'closed' });
  expect(log1.errors[0]).toMatchObject({ reason: 'closed', endpoint: a.chat[0] });
  for (const e of log1.errors) expect(a.chat, 'only A endpoints failed').toContain(e.endpoint);
  expect(b.chat).toContain(sourceUrl);

  // Client 2: on B from the start, untouched by the kill, saw the posts made through A.
  expect(log2.errors).toEqual([]);
  expect(log2.failovers).toEqual([]);
  expect(log2.opens).toBe(1);
  expect(log2.messages.every((m) => b.chat.includes(m.endpoint))).toBe(true);
  expect(log2.messages.some((m) => byId.get(Number(m.id)).via === 'A'), 'B streamed messages posted to A').toBe(true);

  const firstOnB = arrivals.find((m) => b.chat.includes(m.endpoint));
  const resumeMs = firstOnB.at - killAt;
  const reopenMs = (opensAt.find((t) => t >= killAt) ?? NaN) - killAt;
  expect(resumeMs).toBeLessThan(5000);
  return (
    `client 1: ${log1.messages.length} ids, ${onA.length} from A then ${onB.length} from B ` +
    `(resumed with lastEventId=${resumeRequests[0]}; ${storedBeforeKill - lastFromA} stored while A was frozen ${killAt - frozenAt} ms, replayed by B), ` +
    `${log1.failovers.length} failover(s) [${log1.failovers.map((f) => `${f.reason}`).join(', ')}], ` +
    `errors [${log1.errors.map((e) => e.reason).join(', ')}], reopened ${reopenMs} ms and first message from B ${resumeMs} ms after SIGKILL; ` +
    `client 2 (B only): ${log2.messages.length} ids, 0 failovers`
  );
}

/** Lines per second the logs channel grew by over `ms` (its sequence read before and after). */
async function measureRate(readSeq, ms) {
  const s0 = await readSeq();
  const t0 = Date.now();
  await sleep(ms);
  const s1 = await readSeq();
  return (s1 - s0) / ((Date.now() - t0) / 1000);
}

/** Polls fn() every 100 ms until it returns a truthy value; throws after timeoutMs. */
async function until(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * One process with --log-rate 20, then a second one on the same store: the
 * logs channel grows by about 20 lines/s in both cases (the processes share
 * one generator through the lease {logs}:generator, whose value names the
 * holder's PID). Then the holder is killed (SIGKILL): the other takes over
 * once the lease has lapsed, within a bounded time, and writes alone; stopped
 * with SIGTERM, it gives the lease up. `cli(args)` runs a redis-cli command on
 * the store; `beforeStop({ survivor })` runs while the survivor still writes. Resolves the
 * measured rates and the takeover time.
 */
export async function runGeneratorLease({ env, storeArgs, cli, label = 'redis', beforeStop = async () => {} }) {
  const RATE = 20;
  const TTL_MS = 3000; // generator-lease.js's default
  const readSeq = async () => Number((await cli(['GET', '{logs}:seq'])) || 0);
  const holderPid = async () => {
    const owner = await cli(['GET', '{logs}:generator']);
    return owner ? Number(owner.split(':').at(-2)) : null;
  };
  const args = [...storeArgs, '--log-rate', String(RATE)];

  const A = await startMainProcess(args, { backends: 1 });
  env.procs.push(A);
  expect(A.output()).toContain('log line(s)/s by whichever process holds the lease {logs}:generator');
  await until(async () => (await holderPid()) === A.pid, 5000, 'process A to take the lease');
  await sleep(1000);
  const one = await measureRate(readSeq, 4000);

  const B = await startMainProcess(args, { backends: 1 });
  env.procs.push(B);
  await sleep(1500); // B has tried to claim the lease (at start and every second) meanwhile
  expect(await holderPid(), 'A keeps the lease while it renews it').toBe(A.pid);
  const two = await measureRate(readSeq, 5000);
  expect(await holderPid()).toBe(A.pid);
  expect(B.output()).not.toContain('this process now writes');

  // SIGKILL: A cannot give the lease up; B takes it once it has lapsed.
  const killAt = Date.now();
  expect((await A.kill()).signal).toBe('SIGKILL');
  await until(async () => (await holderPid()) === B.pid, 10_000, 'process B to take over the lease');
  const takeoverMs = Date.now() - killAt;
  const seqAtTakeover = await readSeq();
  await until(async () => (await readSeq()) > seqAtTakeover, 3000, 'process B to write log lines');
  const survivor = await measureRate(readSeq, 3000);
  await until(() => B.output().includes('this process now writes the generated log lines'), 2000, 'B to say it writes');
  await beforeStop({ survivor: B });

  const stopped = await B.stop();
  expect(stopped).toEqual({ code: 0, signal: null });
  expect(await holderPid(), 'a process stopped with SIGTERM gives the lease up').toBe(null);
  expect(B.output(), 'process B logged no error').not.toMatch(/error|fail|timed out/i);
  console.log(
    `[${label} generator] --log-rate ${RATE}: one process ${one.toFixed(1)} lines/s, two processes ${two.toFixed(1)} lines/s, ` +
      `after the holder's SIGKILL the other took the lease in ${takeoverMs} ms and writes ${survivor.toFixed(1)} lines/s`,
  );

  // About RATE in every phase: never doubled by the second process.
  for (const [what, rate] of [
    ['one process', one],
    ['two processes', two],
    ['the survivor', survivor],
  ]) {
    expect(rate, `${what}: lines/s`).toBeGreaterThan(RATE * 0.6);
    expect(rate, `${what}: lines/s, well below ${2 * RATE} (two generators)`).toBeLessThan(RATE * 1.4);
  }
  // The lease lapsed (A renewed it every second, so at least ~2 s were left), then B took it at its next try.
  expect(takeoverMs).toBeGreaterThan(1500);
  expect(takeoverMs).toBeLessThan(TTL_MS + 2500);
  return { one, two, survivor, takeoverMs };
}

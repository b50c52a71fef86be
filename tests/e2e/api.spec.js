// The EventSource-compatible surface: constants, handlers, events, errors.
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, expectContiguous, ROOT } from './fixtures.js';

/** A documented default as a value: 1000, 'x', null, false, "from crypto". */
function parseDocumented(text) {
  const t = text.replace(/\s*\([^)]*\)\s*$/, '').trim(); // `0` (off)
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (/^'.*'$/.test(t)) return t.slice(1, -1);
  if (t === 'null') return null;
  if (t === 'true' || t === 'false') return t === 'true';
  return undefined;
}

/** `@default` of every option in index.d.ts and the README's options table. */
function documentedDefaults() {
  const dts = fs.readFileSync(path.join(ROOT, 'web/index.d.ts'), 'utf8');
  const body = dts.slice(dts.indexOf('interface BalancedEventSourceOptions'));
  const options = body.slice(0, body.indexOf('\n}'));
  const types = {};
  for (const m of options.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+)\?:/g)) {
    const d = /@default\s+([^\n*]+?)\s*(?:\*\/|\n|$)/.exec(m[1]);
    types[m[2]] = d ? parseDocumented(d[1]) : undefined;
  }
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('| option | default | meaning |'));
  const rows = {};
  for (const line of table.split('\n').slice(2)) {
    const m = /^\| `(\w+)` \| ([^|]+) \|/.exec(line);
    if (!m) break;
    rows[m[1]] = parseDocumented(m[2].replace(/`/g, ''));
  }
  return { types, readme: rows };
}

test('constants, readyState, url, withCredentials and defaults match EventSource and the docs', async ({
  env,
  harness,
}) => {
  const { page } = harness;
  const r = await page.evaluate((urls) => {
    const { BalancedEventSource, defaults, policies } = window.sseb;
    const s = new BalancedEventSource(urls, { withCredentials: true });
    const out = {
      statics: [BalancedEventSource.CONNECTING, BalancedEventSource.OPEN, BalancedEventSource.CLOSED],
      instance: [s.CONNECTING, s.OPEN, s.CLOSED],
      native: [EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED],
      isEventTarget: s instanceof EventTarget,
      initialState: s.readyState,
      url: s.url,
      withCredentials: s.withCredentials,
      defaults: { ...defaults },
      policies: [...policies],
    };
    s.close();
    out.closedState = s.readyState;
    return out;
  }, env.urls);
  expect(r.statics).toEqual(r.native);
  expect(r.instance).toEqual(r.native);
  expect(r.isEventTarget).toBe(true);
  expect(r.initialState).toBe(0);
  expect(env.urls).toContain(r.url);
  expect(r.withCredentials).toBe(true);
  expect(r.closedState).toBe(2);
  // Every default, by value, as index.d.ts (`@default`) and the README's
  // options table document it. `defaults` takes the core's own values
  // (core.defaultOptions(), from the C++ option structs) for every option
  // the core applies, so this compares the C++ defaults too.
  const documented = documentedDefaults();
  expect(Object.keys(r.defaults).sort()).toEqual(Object.keys(documented.types).sort());
  expect(Object.keys(r.defaults).sort()).toEqual(Object.keys(documented.readme).sort());
  for (const [key, value] of Object.entries(r.defaults)) {
    if (key === 'seed') continue; // drawn from crypto at construction
    expect(documented.types[key], `index.d.ts @default of ${key}`).toEqual(value);
    expect(documented.readme[key], `README default of ${key}`).toEqual(value);
  }
  expect(r.policies).toEqual(['round-robin', 'random', 'weighted', 'sticky', 'least-loaded']);
});

test('relative URLs resolve against the document like EventSource', async ({ harness }) => {
  const { page } = harness;
  const r = await page.evaluate(() => {
    const s = new window.sseb.BalancedEventSource(['../stream?x=1', '/abs']);
    const urls = s.endpoints.map((e) => e.url);
    s.close();
    const native = new EventSource('../stream?x=1');
    native.close();
    return { urls, native: native.url };
  });
  expect(r.urls[0]).toBe(r.native);
  expect(r.urls[1]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/abs$/);
});

test('bad input throws a clear error naming the problem', async ({ harness }) => {
  const { page } = harness;
  const cases = await page.evaluate(() => {
    const { BalancedEventSource } = window.sseb;
    const attempt = (fn) => {
      try {
        fn();
        return null;
      } catch (e) {
        return { name: e.name, message: e.message };
      }
    };
    const ok = 'http://127.0.0.1:9/x';
    return {
      empty: attempt(() => new BalancedEventSource([])),
      missing: attempt(() => new BalancedEventSource()),
      nonString: attempt(() => new BalancedEventSource([ok, 42])),
      unparsable: attempt(() => new BalancedEventSource(['http://['])),
      nativeUnparsable: attempt(() => new EventSource('http://[')),
      scheme: attempt(() => new BalancedEventSource(['ftp://127.0.0.1/x'])),
      policy: attempt(() => new BalancedEventSource([ok], { policy: 'fastest' })),
      optionType: attempt(() => new BalancedEventSource([ok], { initialBackoffMs: '100' })),
      negative: attempt(() => new BalancedEventSource([ok], { jitter: 2 })),
      unknown: attempt(() => new BalancedEventSource([ok], { retries: 3 })),
      notObject: attempt(() => new BalancedEventSource([ok], 'random')),
      capBelowInitial: attempt(() => new BalancedEventSource([ok], { initialBackoffMs: 5000, maxBackoffMs: 10 })),
      paramEmpty: attempt(() => new BalancedEventSource([ok], { lastEventIdParam: '' })),
      seed: attempt(() => new BalancedEventSource([ok], { seed: -1 })),
    };
  });
  expect(cases.empty).toMatchObject({ name: 'TypeError', message: expect.stringContaining('at least one URL') });
  expect(cases.missing).toMatchObject({ name: 'TypeError', message: expect.stringContaining('urls') });
  expect(cases.nonString).toMatchObject({ name: 'TypeError', message: expect.stringContaining('urls[1]') });
  expect(cases.unparsable.name).toBe(cases.nativeUnparsable.name); // SyntaxError, as EventSource
  expect(cases.unparsable.message).toContain("'http://['");
  expect(cases.scheme).toMatchObject({ name: 'SyntaxError', message: expect.stringContaining('http: or https:') });
  expect(cases.policy).toMatchObject({ name: 'TypeError', message: expect.stringContaining("'round-robin', 'random'") });
  expect(cases.policy.message).toContain('fastest');
  expect(cases.optionType).toMatchObject({ name: 'TypeError', message: expect.stringContaining('initialBackoffMs') });
  expect(cases.negative).toMatchObject({ name: 'TypeError', message: expect.stringContaining('jitter') });
  expect(cases.unknown).toMatchObject({ name: 'TypeError', message: expect.stringContaining("unknown option 'retries'") });
  expect(cases.notObject).toMatchObject({ name: 'TypeError', message: expect.stringContaining('options') });
  expect(cases.capBelowInitial).toMatchObject({ name: 'RangeError', message: expect.stringContaining('maxBackoffMs') });
  expect(cases.paramEmpty).toMatchObject({ name: 'TypeError', message: expect.stringContaining('lastEventIdParam') });
  expect(cases.seed).toMatchObject({ name: 'TypeError', message: expect.stringContaining('seed') });
});

test('handler attributes, MessageEvents and named event types behave like EventSource', async ({ env, harness }) => {
  const { page } = harness;
  await page.evaluate((urls) => {
    const s = new window.sseb.BalancedEventSource(urls);
    window.source = s;
    window.seen = { open: 0, message: [], chat: [], replaced: 0, isMessageEvent: true };
    s.onopen = () => window.seen.open++;
    s.onmessage = () => window.seen.replaced++; // replaced below: must never fire
    s.onmessage = function (e) {
      window.seen.isMessageEvent &&= e instanceof MessageEvent && this === s;
      window.seen.message.push(e.lastEventId);
    };
    // Added after the stream opened: forwarded to the open EventSource.
    setTimeout(() => s.addEventListener('chat', (e) => window.seen.chat.push([e.type, e.data, e.endpoint])), 300);
  }, env.urls);
  await page.waitForFunction(() => window.seen.message.length >= 3);
  await page.waitForTimeout(400);
  const chat = env.log.append('chat', 'hello\nworld');
  await page.waitForFunction(() => window.seen.chat.length === 1);
  const seen = await page.evaluate(() => ({ ...window.seen, handler: typeof window.source.onmessage }));
  expect(seen.open).toBe(1);
  expect(seen.replaced).toBe(0);
  expect(seen.isMessageEvent).toBe(true);
  expect(seen.chat[0][0]).toBe('chat');
  expect(seen.chat[0][1]).toBe('hello\nworld');
  expect(env.urls).toContain(seen.chat[0][2]);
  expect(seen.handler).toBe('function');
  // The chat event has an id of its own; the message ids skip it, nothing else.
  expect(seen.message.map(Number)).not.toContain(chat.id);
});

test('a throwing listener never breaks the balancer or other listeners', async ({ env, page }) => {
  const reported = [];
  page.on('pageerror', (e) => reported.push(e.message));
  await page.goto(env.harnessUrl);
  await page.waitForFunction(() => window.harnessReady === true);
  await page.evaluate(
    ([urls]) => {
      window.track(urls, { initialBackoffMs: 300, minRetryMs: 100 });
      window.source.addEventListener('message', () => {
        throw new Error('listener bug');
      });
      window.source.onerror = () => {
        throw new Error('onerror bug');
      };
    },
    [env.urls],
  );
  await page.waitForFunction(() => window.log.messages.length >= 5);
  const url = await page.evaluate(() => window.source.url);
  await env.cluster.kill(env.urls.indexOf(url));
  await page.waitForFunction((dead) => window.log.messages.filter((m) => m.endpoint !== dead).length >= 5, url);
  expectContiguous(await page.evaluate(() => window.ids()));
  // The page's own exceptions are reported (as for EventSource), not swallowed.
  expect(reported.filter((m) => m.includes('listener bug')).length).toBeGreaterThanOrEqual(5);
  expect(reported.some((m) => m.includes('onerror bug'))).toBe(true);
  expect(reported.every((m) => m.includes('bug'))).toBe(true);
});

test('close() inside a listener, and twice, is safe', async ({ env, harness }) => {
  const { page } = harness;
  await page.evaluate((urls) => {
    window.track(urls, {});
    window.source.addEventListener('message', () => {
      window.source.close();
      window.source.close();
    });
  }, env.urls);
  await page.waitForFunction(() => window.source.readyState === 2);
  await page.waitForTimeout(300);
  const r = await page.evaluate(() => ({ n: window.log.messages.length, stats: window.source.stats() }));
  expect(r.n).toBe(1);
  expect(r.stats.readyState).toBe(2);
  expect(r.stats.endpoints.every((e) => e.state !== 'open' && e.state !== 'connecting')).toBe(true);
});

test('the last event id travels in the query string and the URL keeps its own query', async ({ env, harness }) => {
  const { page } = harness;
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));
  const urls = env.urls.map((u) => `${u}?room=a%20b#frag`);
  await page.evaluate((u) => window.track(u, { initialBackoffMs: 300, minRetryMs: 100 }), urls);
  await page.waitForFunction(() => window.log.messages.length >= 3);
  const url = await page.evaluate(() => window.source.url);
  const lastBefore = await page.evaluate(() => window.ids().at(-1));
  await env.cluster.kill(urls.indexOf(url));
  await page.waitForFunction((n) => window.log.failovers.length >= 1, lastBefore);
  const reconnect = requested.filter((r) => r.includes('lastEventId=')).at(0);
  expect(reconnect).toBeDefined();
  const parsed = new URL(reconnect);
  expect(parsed.searchParams.get('room')).toBe('a b');
  expect(Number(parsed.searchParams.get('lastEventId'))).toBeGreaterThanOrEqual(Number(lastBefore));
});

test('listeners get the browser\'s own MessageEvent, and once/signal/removal/handleEvent/duplicates behave as on EventTarget, across failovers', async ({
  env,
  harness,
}) => {
  const { page } = harness;
  await page.evaluate((urls) => {
    const s = new window.sseb.BalancedEventSource(urls, { initialBackoffMs: 200, maxBackoffMs: 400, minRetryMs: 50 });
    const got = { fn: [], obj: [], once: 0, aborted: 0, twice: 0, removed: 0, thisOk: true, trusted: true, endpoints: new Set() };
    const fn = function (e) {
      got.fn.push(e.lastEventId);
      if (this !== s) got.thisOk = false;
      if (!e.isTrusted) got.trusted = false;
      got.endpoints.add(e.endpoint);
    };
    const obj = { handleEvent(e) { got.obj.push(e.lastEventId); } };
    const twice = () => got.twice++;
    const removed = () => got.removed++;
    const controller = new AbortController();
    s.addEventListener('message', fn);
    s.addEventListener('message', obj);
    s.addEventListener('message', () => got.once++, { once: true });
    s.addEventListener('message', () => got.aborted++, { signal: controller.signal });
    s.addEventListener('message', twice);
    s.addEventListener('message', twice);
    s.addEventListener('message', removed);
    s.removeEventListener('message', removed);
    window.got = got;
    window.abortOne = () => controller.abort();
    window.source = s;
  }, env.urls);
  await page.waitForFunction(() => window.got.fn.length >= 5);
  await page.evaluate(() => window.abortOne());
  const before = await page.evaluate(() => ({ n: window.got.fn.length, aborted: window.got.aborted, active: window.source.stats().activeEndpoint }));
  await env.cluster.kill(before.active);
  await page.waitForFunction((n) => window.got.fn.length >= n + 10, before.n);
  const r = await page.evaluate(() => ({ ...window.got, endpoints: window.got.endpoints.size }));
  expectContiguous(r.fn);
  expect(r.obj).toEqual(r.fn);
  expect(r.once).toBe(1);
  expect(r.aborted).toBe(before.aborted);
  expect(r.twice).toBe(r.fn.length);
  expect(r.removed).toBe(0);
  expect(r.thisOk).toBe(true);
  expect(r.trusted).toBe(true);
  expect(r.endpoints).toBe(2); // the killed one, then another
  await page.evaluate(() => window.source.close());
});

test('during one event, listeners run in order; stopImmediatePropagation, removal and addition act as on EventTarget', async ({
  env,
  page,
}) => {
  const reported = [];
  page.on('pageerror', (e) => reported.push(e.message));
  await page.goto(env.harnessUrl);
  await page.waitForFunction(() => window.harnessReady === true);
  const r = await page.evaluate(async (urls) => {
    const s = new window.sseb.BalancedEventSource(urls);
    const calls = [];
    let n = 0;
    const third = () => calls.push(`third${n}`);
    await new Promise((resolve) => {
      const late = () => {
        calls.push(`late${n}`);
        if (n === 4) resolve();
      };
      s.addEventListener('message', () => {
        n++;
        calls.push(`first${n}`);
        if (n === 1) {
          // Added during the dispatch: from the next event on.
          s.addEventListener('message', late);
          // Removed during the dispatch, before its turn: not called.
          s.removeEventListener('message', third);
        }
        if (n === 2) throw new Error('first listener bug');
      });
      s.addEventListener('message', (event) => {
        calls.push(`second${n}`);
        // Stops the listeners after this one, for this event only.
        if (n === 3) event.stopImmediatePropagation();
      });
      s.addEventListener('message', third);
    });
    s.close();
    return calls;
  }, env.urls);
  expect(r).toEqual([
    'first1', 'second1',
    'first2', 'second2', 'late2', // the first listener threw: the others still ran
    'first3', 'second3', // stopped before `late`
    'first4', 'second4', 'late4',
  ]);
  // The page's exception is reported, as an EventTarget reports it.
  expect(reported).toEqual(['first listener bug']);
});

test('error and failover events are exported classes with read-only fields', async ({ env, harness }) => {
  const { page } = harness;
  const first = await page.evaluate((urls) => {
    window.source = new window.sseb.BalancedEventSource(urls, { initialBackoffMs: 200, minRetryMs: 50 });
    window.seen = [];
    const record = (event) => {
      const Class = event.type === 'error' ? window.sseb.BalancedErrorEvent : window.sseb.FailoverEvent;
      window.seen.push({
        type: event.type,
        isClass: event instanceof Class && event instanceof Event,
        reason: event.reason,
        endpoint: event.endpoint,
        from: event.from,
        to: event.to,
        cause: event.cause,
        assignable: Reflect.set(event, 'reason', 'changed'),
        after: event.reason,
      });
    };
    window.source.addEventListener('error', record);
    window.source.addEventListener('failover', record);
    return new Promise((resolve) => {
      window.source.onopen = () => resolve(window.source.stats().activeEndpoint);
    });
  }, env.urls);
  await env.cluster.kill(first);
  await page.waitForFunction(() => window.seen.some((e) => e.type === 'failover'));
  const seen = await page.evaluate(() => window.seen);
  const error = seen.find((e) => e.type === 'error');
  const failover = seen.find((e) => e.type === 'failover');
  expect(error).toMatchObject({ isClass: true, reason: 'closed', endpoint: env.urls[first], assignable: false, after: 'closed' });
  expect(error.cause).toBeUndefined();
  expect(failover).toMatchObject({ isClass: true, reason: 'closed', from: env.urls[first], assignable: false, after: 'closed' });
  expect(env.urls).toContain(failover.to);
  expect(failover.to).not.toBe(env.urls[first]);
  // Constructible by a page (for tests of its own handlers).
  const made = await page.evaluate(() => {
    const e = new window.sseb.FailoverEvent('failover', { from: null, to: 'https://a.example/', reason: 'network' });
    return { type: e.type, from: e.from, to: e.to, reason: e.reason };
  });
  expect(made).toEqual({ type: 'failover', from: null, to: 'https://a.example/', reason: 'network' });
  await page.evaluate(() => window.source.close());
});

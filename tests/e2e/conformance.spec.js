// EventSource conformance: the same behaviour checks, built from the WHATWG
// HTML "Server-sent events" processing model, run against three subjects:
// the browser's own EventSource, BalancedEventSource with one URL, and
// BalancedEventSource with three URLs. Every check talks to scripted servers
// on 127.0.0.1 that emit exactly the bytes it needs; with three URLs all three
// servers follow one script and share one connection counter, so whichever
// endpoint the balancer picks (first or after a reconnect) behaves the same.
//
// The bodies of the shared checks never look at the subject. What the
// balancer does differently on purpose is asserted at the end, under
// "intended divergences" (README: "Conformance with EventSource").
import { test as base, expect } from '@playwright/test';
import { ROOT, until } from './fixtures.js';
import { startPageServer } from '../../web/server/static-server.js';
import { startScriptedServer, sseHead } from './scripted-server.js';

const SUBJECTS = [
  { name: 'EventSource (native)', kind: 'native', count: 1 },
  { name: 'BalancedEventSource, 1 URL', kind: 'balanced', count: 1 },
  { name: 'BalancedEventSource, 3 URLs', kind: 'balanced', count: 3 },
];

const WAIT = { timeout: 10_000 };

const test = base.extend({
  subject: [SUBJECTS[0], { option: true }],

  pageServer: [
    async ({}, use) => {
      const server = await startPageServer({ root: ROOT });
      await use(server);
      await server.close();
    },
    { scope: 'worker' },
  ],

  /** The subject's servers, its page, and a recorder around its source. */
  conf: async ({ page, pageServer, subject }, use) => {
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    await page.goto(`${pageServer.origin}/tests/e2e/pages/conformance.html`);
    await page.waitForFunction(() => window.conformanceReady === true);
    const servers = [];
    const conf = {
      page,
      kind: subject.kind,

      /**
       * Starts the subject's servers (one or three). `script(n, req, res,
       * origin)` writes the whole response; `n` counts connections across
       * all of them.
       */
      async serve(script) {
        let connections = 0;
        const started = await Promise.all(
          Array.from({ length: subject.count }, () =>
            startScriptedServer({
              origin: pageServer.origin,
              raw: true,
              script: (index, req, res) => script(connections++, req, res, pageServer.origin),
            }),
          ),
        );
        servers.push(...started);
        return {
          urls: started.map((s) => s.url),
          connections: () => connections,
        };
      },

      /** Creates `window.source` and records its events; returns readyState right after `new`. */
      open(urls, options = undefined, types = []) {
        return page.evaluate(([k, u, o, t]) => window.openRecorded(k, u, o, t), [subject.kind, urls, options, types]);
      },

      waitForData(data) {
        return page.waitForFunction((d) => window.rec.events.some((e) => e.data === d), data, WAIT);
      },

      events() {
        return page.evaluate(() => window.rec.events);
      },

      /** [data, lastEventId] of every `message` event. */
      async messages() {
        return (await conf.events()).filter((e) => e.type === 'message').map((e) => [e.data, e.lastEventId]);
      },

      /** The data of every `message` event. */
      async data() {
        return (await conf.messages()).map(([data]) => data);
      },
    };
    await use(conf);
    await page.evaluate(() => window.closeAll()).catch(() => {});
    await Promise.all(servers.map((s) => s.close()));
    expect(pageErrors, 'no uncaught exception in the page').toEqual([]);
  },
});

/**
 * A script from one body per connection: connection n gets bodies[n] (a
 * string, kept open, or { body, end: true } to end the stream after it);
 * any later connection gets an open stream and no bytes.
 */
function streams(...bodies) {
  return (n, req, res, origin) => {
    sseHead(res, origin);
    const entry = bodies[n];
    if (entry === undefined) return;
    const { body, end = false } = typeof entry === 'string' ? { body: entry } : entry;
    res.write(body);
    if (end) res.end();
  };
}

/** Answers every connection with `status` and a text/plain body (none for 204): no stream. */
function refuse(status) {
  return (n, req, res, origin) => {
    res.writeHead(status, { 'Access-Control-Allow-Origin': origin, 'Content-Type': 'text/plain' });
    res.end(status === 204 ? undefined : 'data: not a stream\n\n');
  };
}

/** The checks every subject must pass. Their bodies never look at the subject. */
function sharedChecks() {
  test.describe('field parsing', () => {
    test('comment lines are ignored', async ({ conf }) => {
      const { urls } = await conf.serve(
        streams(': x\n:\n: data: not data\ndata: a\n: inside an event\ndata: b\n\n:last\ndata: END\n\n'),
      );
      await conf.open(urls);
      await conf.waitForData('END');
      expect(await conf.data()).toEqual(['a\nb', 'END']);
    });

    test('a leading UTF-8 BOM is skipped, a later one is part of the field name', async ({ conf }) => {
      const { urls } = await conf.serve(streams('\uFEFFdata: one\n\n\uFEFFdata: two\n\ndata: END\n\n'));
      await conf.open(urls);
      await conf.waitForData('END');
      expect(await conf.data()).toEqual(['one', 'END']);
    });

    test('CR, LF and CRLF line endings, also mixed in one event', async ({ conf }) => {
      const { urls } = await conf.serve(
        streams('data: cr\r\rdata: lf\n\ndata: crlf\r\n\r\ndata: a\rdata: b\ndata: c\r\n\ndata: END\r\n\r\n'),
      );
      await conf.open(urls);
      await conf.waitForData('END');
      expect(await conf.data()).toEqual(['cr', 'lf', 'crlf', 'a\nb\nc', 'END']);
    });

    test('several data lines are joined with LF, only the last LF is removed', async ({ conf }) => {
      const { urls } = await conf.serve(streams('data: a\ndata: b\ndata:\ndata: c\n\ndata: x\ndata:\n\ndata: END\n\n'));
      await conf.open(urls);
      await conf.waitForData('END');
      expect(await conf.data()).toEqual(['a\nb\n\nc', 'x\n', 'END']);
    });

    test('unknown fields are ignored (names are case-sensitive and exact)', async ({ conf }) => {
      const { urls } = await conf.serve(
        streams('foo: bar\ndata: x\nDATA: no\nData: no\n data: no\ndata : no\nevent : no\nretryx: 1\n\ndata: END\n\n'),
      );
      await conf.open(urls);
      await conf.waitForData('END');
      const events = (await conf.events()).filter((e) => e.type !== 'open');
      expect(events.map((e) => [e.type, e.data])).toEqual([
        ['message', 'x'],
        ['message', 'END'],
      ]);
    });

    test('one leading space after the colon is removed, and only one', async ({ conf }) => {
      const { urls } = await conf.serve(
        streams('data:no space\n\ndata: one\n\ndata:  two\n\ndata:\t tab\n\ndata: trailing \n\ndata: END\n\n'),
      );
      await conf.open(urls);
      await conf.waitForData('END');
      expect(await conf.data()).toEqual(['no space', 'one', ' two', '\t tab', 'trailing ', 'END']);
    });

    test('a field without a colon has an empty value (`data` alone adds an empty line)', async ({ conf }) => {
      const { urls } = await conf.serve(streams('data\n\ndata\ndata\n\ndata\ndata: x\n\nevent\ndata: y\n\ndata: END\n\n'));
      await conf.open(urls);
      await conf.waitForData('END');
      const events = (await conf.events()).filter((e) => e.type !== 'open');
      expect(events.map((e) => [e.type, e.data])).toEqual([
        ['message', ''],
        ['message', '\n'],
        ['message', '\nx'],
        ['message', 'y'], // `event` alone: an empty type, so `message`
        ['message', 'END'],
      ]);
    });

    test('a block without data is not dispatched and resets the event type', async ({ conf }) => {
      const { urls } = await conf.serve(streams('\n\n\nevent: foo\n\nevent: message\n\n: c\n\n\ndata: END\n\n'));
      await conf.open(urls, undefined, ['foo']);
      await conf.waitForData('END');
      const events = (await conf.events()).filter((e) => e.type !== 'open');
      expect(events.map((e) => [e.type, e.data])).toEqual([['message', 'END']]);
    });

    test('trailing data without a blank line at the end of the stream is not dispatched', async ({ conf }) => {
      const { urls } = await conf.serve(
        streams({ body: 'retry: 100\ndata: x\n\ndata: trailing', end: true }, 'data: after\n\n'),
      );
      await conf.open(urls);
      await conf.waitForData('after');
      expect(await conf.data()).toEqual(['x', 'after']);
    });
  });

  test('named events reach their listeners and not onmessage; the type resets after each event', async ({
    conf,
  }) => {
    const { urls } = await conf.serve(
      streams('event: foo\ndata: 1\n\ndata: 2\n\nevent: message\ndata: 3\n\nevent: bar\ndata: 4\n\nevent: foo\ndata: END\n\n'),
    );
    await conf.page.evaluate(
      ([kind, u]) => {
        window.openRecorded(kind, u, undefined, ['foo']);
        window.viaHandler = [];
        window.source.onmessage = (e) => window.viaHandler.push(e.data);
      },
      [conf.kind, urls],
    );
    await conf.waitForData('END');
    const events = (await conf.events()).filter((e) => e.type !== 'open');
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['foo', '1'],
      ['message', '2'],
      ['message', '3'],
      ['foo', 'END'],
    ]);
    expect(await conf.page.evaluate(() => window.viaHandler)).toEqual(['2', '3']);
  });

  test.describe('lastEventId', () => {
    test('set by id:, kept by events without one, reset by an empty id, set by a block without data', async ({
      conf,
    }) => {
      const { urls } = await conf.serve(
        streams(
          'id: 1\ndata: a\n\ndata: b\n\nid:\ndata: c\n\ndata: d\n\nid: 2\ndata: e\n\nid\ndata: f\n\n' +
            'id: 3\n\ndata: g\n\nid:  4\ndata: END\n\n',
        ),
      );
      await conf.open(urls);
      await conf.waitForData('END');
      expect(await conf.messages()).toEqual([
        ['a', '1'],
        ['b', '1'],
        ['c', ''],
        ['d', ''],
        ['e', '2'],
        ['f', ''],
        ['g', '3'],
        ['END', ' 4'],
      ]);
    });

    test('an id containing NUL is ignored (lastEventId unchanged, the event still dispatched)', async ({ conf }) => {
      const { urls } = await conf.serve(streams('id: 1\ndata: a\n\nid: x\0y\ndata: b\n\ndata: c\n\nid: 2\ndata: END\n\n'));
      await conf.open(urls);
      await conf.waitForData('END');
      expect(await conf.messages()).toEqual([
        ['a', '1'],
        ['b', '1'],
        ['c', '1'],
        ['END', '2'],
      ]);
    });

    test('persists across a reconnect: an event without id on the new connection carries the last id', async ({
      conf,
    }) => {
      // `retry: 100` so the native reconnect does not take 3 s (the balancer
      // cannot see it and uses its own backoff).
      const { urls } = await conf.serve(
        streams({ body: 'retry: 100\nid: 5\ndata: first\n\n', end: true }, 'data: second\n\n'),
      );
      await conf.open(urls);
      await conf.waitForData('second');
      expect(await conf.messages()).toEqual([
        ['first', '5'],
        ['second', '5'],
      ]);
    });
  });

  test.describe('readyState', () => {
    test('CONNECTING after construction, OPEN in the open handler, then the messages', async ({ conf }) => {
      const { urls } = await conf.serve(streams('data: a\n\ndata: b\n\n'));
      expect(await conf.open(urls)).toBe(0);
      await conf.waitForData('b');
      const events = await conf.events();
      expect(events.map((e) => [e.type, e.readyState])).toEqual([
        ['open', 1],
        ['message', 1],
        ['message', 1],
      ]);
    });

    test('a connection error fires error with readyState CONNECTING, then it reconnects', async ({ conf }) => {
      const { urls } = await conf.serve(streams({ body: 'retry: 100\ndata: a\n\n', end: true }, 'data: b\n\n'));
      await conf.open(urls);
      await conf.waitForData('b');
      const events = await conf.events();
      expect(events.map((e) => [e.type, e.data ?? null, e.readyState])).toEqual([
        ['open', null, 1],
        ['message', 'a', 1],
        ['error', null, 0],
        ['open', null, 1],
        ['message', 'b', 1],
      ]);
      expect(await conf.page.evaluate(() => window.source.readyState)).toBe(1);
    });
  });

  test('close(): CLOSED at once, nothing fires afterwards while the server keeps sending, safe twice', async ({
    conf,
  }) => {
    // The server never stops by itself: a tick every 25 ms until the stream is closed.
    const { urls } = await conf.serve((n, req, res, origin) => {
      sseHead(res, origin);
      res.write('data: first\n\n');
      let tick = 0;
      const timer = setInterval(() => res.write(`data: tick ${++tick}\n\n`), 25);
      res.on('close', () => clearInterval(timer));
    });
    await conf.open(urls);
    await conf.waitForData('first');
    const states = await conf.page.evaluate(() => {
      const s = window.source;
      s.close();
      const afterFirst = s.readyState;
      s.close();
      window.eventsAtClose = window.rec.events.length;
      return [afterFirst, s.readyState];
    });
    expect(states).toEqual([2, 2]);
    await conf.page.waitForTimeout(400);
    const after = await conf.page.evaluate(() => ({
      added: window.rec.events.slice(window.eventsAtClose),
      readyState: window.source.readyState,
    }));
    expect(after).toEqual({ added: [], readyState: 2 });
  });

  test('url is the resolved absolute URL (relative input resolves against the document)', async ({ conf }) => {
    const { urls } = await conf.serve(streams('data: a\n\n'));
    // Scheme-relative, with a dot segment: '//127.0.0.1:P/x/../events'.
    const relative = urls.map((u) => u.replace(/^http:/, '').replace(/\/events$/, '/x/../events'));
    const atStart = await conf.page.evaluate(
      ([kind, r]) => window.openRecorded(kind, r) === 0 && window.source.url,
      [conf.kind, relative],
    );
    expect(urls).toContain(atStart);
    await conf.waitForData('a');
    const events = await conf.events();
    expect(urls).toContain(events.find((e) => e.type === 'message').url);
  });

  test('withCredentials reflects the option (false by default)', async ({ conf }) => {
    const { urls } = await conf.serve(streams('data: a\n\n'));
    const flags = await conf.page.evaluate(
      ([kind, u]) => [
        window.makeSource(kind, u).withCredentials,
        window.makeSource(kind, u, { withCredentials: false }).withCredentials,
        window.makeSource(kind, u, { withCredentials: true }).withCredentials,
      ],
      [conf.kind, urls],
    );
    expect(flags).toEqual([false, false, true]);
  });

  test.describe('listeners and handler attributes', () => {
    test('`this` is the source in listeners and in onopen/onmessage/onerror', async ({ conf }) => {
      const { urls } = await conf.serve(streams({ body: 'retry: 100\ndata: a\n\n', end: true }, 'data: b\n\n'));
      await conf.page.evaluate(
        ([kind, u]) => {
          const s = window.makeSource(kind, u);
          const seen = (window.seen = []);
          const note = (how) =>
            function (event) {
              seen.push(`${how} ${event.type} ${this === s}`);
            };
          for (const type of ['open', 'message', 'error']) s.addEventListener(type, note('listener'));
          s.onopen = note('handler');
          s.onmessage = note('handler');
          s.onerror = note('handler');
        },
        [conf.kind, urls],
      );
      await conf.page.waitForFunction(() => window.seen.length >= 10, undefined, WAIT);
      expect(await conf.page.evaluate(() => window.seen)).toEqual([
        'listener open true',
        'handler open true',
        'listener message true',
        'handler message true',
        'listener error true',
        'handler error true',
        'listener open true',
        'handler open true',
        'listener message true',
        'handler message true',
      ]);
    });

    test('a non-object handler is null, an object is kept; set twice, only the last one fires', async ({ conf }) => {
      const { urls } = await conf.serve(streams('data: a\n\ndata: b\n\n'));
      const attrs = await conf.page.evaluate(
        ([kind, u]) => {
          const s = window.makeSource(kind, u);
          const calls = (window.calls = []);
          const out = { initial: [s.onopen, s.onmessage, s.onerror] };
          s.onmessage = 'not a function';
          out.string = s.onmessage;
          s.onmessage = 42;
          out.number = s.onmessage;
          // [LegacyTreatNonObjectAsNull]: a non-callable object is kept.
          const object = { handleEvent() {} };
          s.onmessage = object;
          out.object = s.onmessage === object;
          const first = () => calls.push('first');
          const second = (e) => calls.push(`second ${e.data}`);
          s.onmessage = first;
          s.onmessage = second;
          out.last = s.onmessage === second;
          s.onopen = () => calls.push('dropped open handler');
          s.onopen = 7;
          out.cleared = s.onopen;
          return out;
        },
        [conf.kind, urls],
      );
      expect(attrs).toEqual({ initial: [null, null, null], string: null, number: null, object: true, last: true, cleared: null });
      await conf.page.waitForFunction(() => window.calls.length >= 2, undefined, WAIT);
      await conf.page.waitForTimeout(50);
      expect(await conf.page.evaluate(() => window.calls)).toEqual(['second a', 'second b']);
    });

    test('addEventListener with the same listener twice fires it once', async ({ conf }) => {
      const { urls } = await conf.serve(streams('data: a\n\ndata: b\n\n'));
      await conf.page.evaluate(
        ([kind, u]) => {
          const s = window.makeSource(kind, u);
          const calls = (window.calls = []);
          const listener = (e) => calls.push(`fn ${e.data}`);
          const object = { handleEvent: (e) => calls.push(`object ${e.data}`) };
          s.addEventListener('message', listener);
          s.addEventListener('message', listener);
          s.addEventListener('message', object);
          s.addEventListener('message', object, { capture: false });
        },
        [conf.kind, urls],
      );
      await conf.page.waitForFunction(() => window.calls.length >= 4, undefined, WAIT);
      await conf.page.waitForTimeout(50);
      expect(await conf.page.evaluate(() => window.calls)).toEqual(['fn a', 'object a', 'fn b', 'object b']);
    });
  });

  test('CONNECTING/OPEN/CLOSED on the class and the instance; an EventTarget', async ({ conf }) => {
    const { urls } = await conf.serve(streams(''));
    const r = await conf.page.evaluate(
      ([kind, u]) => {
        const C = window.sourceClass(kind);
        const s = window.makeSource(kind, u);
        return {
          onClass: [C.CONNECTING, C.OPEN, C.CLOSED],
          onInstance: [s.CONNECTING, s.OPEN, s.CLOSED],
          isEventTarget: s instanceof EventTarget,
          isInstance: s instanceof C,
        };
      },
      [conf.kind, urls],
    );
    expect(r).toEqual({ onClass: [0, 1, 2], onInstance: [0, 1, 2], isEventTarget: true, isInstance: true });
  });

  test('delivered events are MessageEvents with type, data, lastEventId and the endpoint origin', async ({
    conf,
  }) => {
    const { urls } = await conf.serve(streams('id: 9\ndata: hi\n\n'));
    await conf.open(urls);
    await conf.waitForData('hi');
    const message = (await conf.events()).find((e) => e.type === 'message');
    expect(message).toMatchObject({ type: 'message', data: 'hi', lastEventId: '9', isMessageEvent: true });
    expect(urls.map((u) => new URL(u).origin)).toContain(message.origin);
    expect(message.origin).toBe(new URL(message.url).origin); // the endpoint it came through
  });
}

/** What the balancer does differently on purpose; native asserted to do X, the balancer Y. */
function divergences() {
  for (const [status, what] of [
    [204, 'a 204'],
    [500, 'a 500'],
    [200, 'a text/plain'],
  ]) {
    test(`(a) after ${what} response: native goes CLOSED and stops; the balancer stays CONNECTING and retries`, async ({
      conf,
    }) => {
      const { urls, connections } = await conf.serve(refuse(status));
      await conf.open(urls);
      await conf.page.waitForFunction(() => window.rec.events.some((e) => e.type === 'error'), undefined, WAIT);
      if (conf.kind === 'native') {
        await conf.page.waitForTimeout(500);
        const events = await conf.events();
        expect(events.map((e) => [e.type, e.readyState])).toEqual([['error', 2]]);
        expect(await conf.page.evaluate(() => window.source.readyState)).toBe(2);
        expect(connections()).toBe(1);
      } else {
        await until(() => connections() >= 3, { timeout: 5000, message: 'the balancer retrying' });
        const events = await conf.events();
        expect(events.length).toBeGreaterThanOrEqual(1);
        expect(events.every((e) => e.type === 'error' && e.readyState === 0)).toBe(true);
        expect(await conf.page.evaluate(() => window.source.readyState)).toBe(0);
      }
    });
  }

  test('(b) http(s) only: ftp: is a SyntaxError for the balancer; native accepts it, then errors to CLOSED', async ({
    conf,
  }) => {
    const { urls } = await conf.serve(streams(''));
    const input = urls.map((u, i) => (i === urls.length - 1 ? 'ftp://127.0.0.1/x' : u));
    const outcome = await conf.page.evaluate(
      ([kind, u]) => {
        try {
          return { readyState: window.openRecorded(kind, u) };
        } catch (error) {
          return { threw: error.name, isDOMException: error instanceof DOMException };
        }
      },
      [conf.kind, input],
    );
    if (conf.kind === 'native') {
      // Chromium constructs it (the URL parses) and fails the connection.
      expect(outcome).toEqual({ readyState: 0 });
      await conf.page.waitForFunction(() => window.rec.events.some((e) => e.type === 'error'), undefined, WAIT);
      expect((await conf.events()).map((e) => [e.type, e.readyState])).toEqual([['error', 2]]);
    } else {
      expect(outcome).toEqual({ threw: 'SyntaxError', isDOMException: true });
    }
  });

  test('(c) string or URL input only: a number or an object is a TypeError for the balancer; native stringifies', async ({
    conf,
  }) => {
    const { urls } = await conf.serve(streams(''));
    const r = await conf.page.evaluate(
      ([kind, u]) => {
        const out = {};
        const inputs = { number: 42, object: { toString: () => u[0] } };
        for (const [name, value] of Object.entries(inputs)) {
          try {
            const s = window.makeSource(kind, u.map((url, i) => (i === 0 ? value : url)));
            out[name] = { url: s.url };
          } catch (error) {
            out[name] = { threw: error.constructor.name };
          }
        }
        return out;
      },
      [conf.kind, urls],
    );
    if (conf.kind === 'native') {
      expect(r).toEqual({ number: { url: new URL('42', conf.page.url()).href }, object: { url: urls[0] } });
    } else {
      expect(r).toEqual({ number: { threw: 'TypeError' }, object: { threw: 'TypeError' } });
    }
  });

  test('(d) messages are the browser\'s own trusted events; the balancer\'s open and error are its own (untrusted)', async ({
    conf,
  }) => {
    const { urls } = await conf.serve(streams('data: a\n\n'));
    await conf.open(urls);
    await conf.waitForData('a');
    const trusted = (await conf.events()).map((e) => [e.type, e.isTrusted]);
    const native = conf.kind === 'native';
    expect(trusted).toEqual([
      ['open', native],
      ['message', true],
    ]);
  });

  test('(f) a message\'s target is the EventSource it came through (the balancer\'s own events target the balancer); `this` is always the source', async ({
    conf,
  }) => {
    const { urls } = await conf.serve(streams('data: a\n\n'));
    await conf.open(urls);
    await conf.waitForData('a');
    const events = (await conf.events()).map((e) => [e.type, e.targetIsSource, e.currentTargetIsEventSource, e.thisIsSource]);
    if (conf.kind === 'native') {
      expect(events).toEqual([
        ['open', true, true, true],
        ['message', true, true, true],
      ]);
    } else {
      expect(events).toEqual([
        ['open', true, false, true],
        ['message', false, true, true],
      ]);
    }
  });

  test('(e) retry: native waits the server-given delay; the balancer cannot see it and uses its own backoff', async ({
    conf,
  }) => {
    const { urls } = await conf.serve(streams({ body: 'retry: 1500\ndata: a\n\n', end: true }, 'data: b\n\n'));
    await conf.open(urls);
    await conf.waitForData('b');
    const events = await conf.events();
    expect(events.map((e) => e.type)).toEqual(['open', 'message', 'error', 'open', 'message']);
    const gap = events[3].t - events[2].t;
    if (conf.kind === 'native') {
      // 1.5 s as told, not the default 3 s.
      expect(gap).toBeGreaterThanOrEqual(1400);
      expect(gap).toBeLessThan(2900);
    } else {
      // Its own backoff (options: initialBackoffMs 100, maxBackoffMs 500).
      expect(gap).toBeLessThan(1000);
    }
  });
}

for (const subject of SUBJECTS) {
  test.describe(subject.name, () => {
    test.use({ subject });
    sharedChecks();
  });
}

test.describe('intended divergences', () => {
  for (const subject of SUBJECTS) {
    test.describe(subject.name, () => {
      test.use({ subject });
      divergences();
    });
  }
});

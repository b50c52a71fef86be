// One adapter for every subject of the conformance suite, so that each check's
// body is the same whether it drives the browser's EventSource or a
// BalancedEventSource with one or several URLs.
import { BalancedEventSource } from '/web/dist/sse-balancer.js';

// Fast retries for tests; the balancer's own option names.
const QUICK = { initialBackoffMs: 100, maxBackoffMs: 500, minRetryMs: 50 };

const KINDS = { native: EventSource, balanced: BalancedEventSource };
const sources = [];

window.KINDS = KINDS;

/**
 * Creates a source: `native` gets the first URL (EventSource takes one),
 * `balanced` gets the URL itself when there is one, the list otherwise.
 * `options` may only hold what both accept (withCredentials).
 */
window.makeSource = (kind, urls, options = undefined) => {
  let source;
  if (kind === 'native') source = new EventSource(urls[0], options);
  else source = new BalancedEventSource(urls.length === 1 ? urls[0] : urls, { ...QUICK, ...options });
  sources.push(source);
  return source;
};

/** The constructor of a kind, for checks of the class itself. */
window.sourceClass = (kind) => KINDS[kind];

/**
 * Creates `window.source` and records every open, message, error and named
 * event (`types`) it dispatches, in order, as `window.rec.events`. Returns
 * the readyState read right after construction.
 */
window.openRecorded = (kind, urls, options, types = []) => {
  const source = window.makeSource(kind, urls, options);
  const initialState = source.readyState;
  const rec = { events: [] };
  for (const type of new Set(['open', 'message', 'error', ...types])) {
    source.addEventListener(type, function (event) {
      rec.events.push({
        type: event.type,
        data: event.data,
        lastEventId: event.lastEventId,
        origin: event.origin,
        readyState: source.readyState,
        url: source.url,
        isTrusted: event.isTrusted,
        isMessageEvent: event instanceof MessageEvent,
        thisIsSource: this === source,
        targetIsSource: event.target === source,
        currentTargetIsEventSource: event.currentTarget instanceof EventSource,
        t: performance.now(),
      });
    });
  }
  window.source = source;
  window.rec = rec;
  return initialState;
};

/** Closes every source the page made (test teardown). */
window.closeAll = () => {
  for (const source of sources) source.close();
};

window.conformanceReady = true;

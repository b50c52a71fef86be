// Compile-time checks of web/index.d.ts (run by `tsc -p tests/types`).
// A drift between the declared types and EventSource, or between the
// declared options and the documented list, fails the build.
import {
  BalancedErrorEvent,
  BalancedEventSource,
  FailoverEvent,
  defaults,
  policies,
  ready,
  type BalancedEventSourceOptions,
  type BalancedMessageEvent,
  type BalancerStats,
  type ErrorReason,
  type FailureReason,
} from 'sse-balancer';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2
  ? true
  : false;
function assertType<T extends true>(): T | void {}

// The option names, exactly (tests/e2e/api.spec.js checks the same list at
// runtime against `defaults`).
assertType<
  Equal<
    keyof BalancedEventSourceOptions,
    | 'policy'
    | 'seed'
    | 'withCredentials'
    | 'lastEventIdParam'
    | 'lastEventId'
    | 'initialBackoffMs'
    | 'backoffMultiplier'
    | 'maxBackoffMs'
    | 'jitter'
    | 'minRetryMs'
    | 'resetBackoffAfterMs'
    | 'maxOutageRetryMs'
    | 'dedupWindow'
    | 'heartbeatTimeoutMs'
    | 'heartbeatEvent'
    | 'connectTimeoutMs'
    | 'ejectAfterFailures'
    | 'ejectionMs'
    | 'maxEjectionMs'
    | 'maxEjectedPercent'
    | 'maxConnectsPerMinute'
    | 'urlProvider'
    | 'EventSource'
    | 'share'
    | 'weights'
    | 'stickyKey'
  >
>();

// Everything a page uses of EventSource exists with the same type, so a
// BalancedEventSource can stand in where an EventSource-shaped object is used.
type EventSourceSurface = Pick<
  EventSource,
  'readyState' | 'url' | 'withCredentials' | 'close' | 'CONNECTING' | 'OPEN' | 'CLOSED' | 'dispatchEvent'
>;
const source = new BalancedEventSource(['/a', 'https://b.example/events'], { policy: 'random', seed: 7 });
source satisfies EventSourceSurface;
assertType<Equal<typeof BalancedEventSource.CONNECTING, typeof EventSource.CONNECTING>>();
assertType<Equal<typeof BalancedEventSource.OPEN, typeof EventSource.OPEN>>();
assertType<Equal<typeof BalancedEventSource.CLOSED, typeof EventSource.CLOSED>>();

// A function written for EventSource's message handler accepts our events.
const handleNative = (event: MessageEvent) => event.data as unknown;
source.onmessage = handleNative;
source.onmessage = (event) => {
  event satisfies MessageEvent;
  const endpoint: string = event.endpoint;
  const id: string = event.lastEventId;
  return [endpoint, id];
};
source.addEventListener('failover', (event) => {
  const reason: FailureReason = event.reason;
  const from: string | null = event.from;
  return [reason, from, event.to];
});
source.addEventListener('error', (event) => event.reason);
source.addEventListener('chat', (event) => {
  event satisfies BalancedMessageEvent;
  return event.data;
});
source.onfailover = (event: FailoverEvent) => event.to;
// Tabs sharing one stream: the role and the tab count are in stats().
const shared = new BalancedEventSource(['https://a.example/events'], { share: 'room-1' });
const role: 'solo' | 'leader' | 'follower' = shared.stats().role;
const tabCount: number = shared.stats().tabs;
void role;
void tabCount;
// @ts-expect-error the key is a string or a boolean
new BalancedEventSource(['https://a.example/events'], { share: 1 });
// The balancer's own events are classes a page can test for and construct.
source.addEventListener('error', (event) => {
  if (event instanceof BalancedErrorEvent) {
    const reason: ErrorReason = event.reason;
    // @ts-expect-error 'load' is not a stream's failure
    const failure: FailureReason = event.reason;
    // @ts-expect-error null when the core could not be loaded
    const failed: string = event.endpoint;
    void reason;
    void failure;
    void failed;
  }
});
const constructed: FailoverEvent = new FailoverEvent('failover', { from: null, to: 'https://a.example/', reason: 'network' });
void constructed;
// @ts-expect-error the fields are read-only
constructed.to = 'elsewhere';

const stats: BalancerStats = source.stats();
const firstState: 'idle' | 'connecting' | 'open' | 'cooling-down' | 'ejected' = stats.endpoints[0].state;
void firstState;
const p: Promise<void> = ready;
void p;
const policy: 'round-robin' | 'random' | 'weighted' | 'sticky' | 'least-loaded' = policies[0];
void policy;
const initial: number = defaults.initialBackoffMs;
void initial;
new BalancedEventSource('/events');
new BalancedEventSource(new URL('https://a.example/'), { lastEventIdParam: null });

// Mistakes the types must reject.
// @ts-expect-error unknown policy name
new BalancedEventSource(['/a'], { policy: 'fastest' });
// @ts-expect-error unknown option
new BalancedEventSource(['/a'], { retries: 3 });
// @ts-expect-error urls must be strings or URLs
new BalancedEventSource([1, 2]);
// @ts-expect-error readyState is read-only
source.readyState = 1;

// urlProvider may be sync or async and sees the endpoint and resume id.
new BalancedEventSource(['/a'], {
  urlProvider: async (url, { endpoint, lastEventId }) => `${url}&token=${endpoint.length}${lastEventId}`,
  heartbeatTimeoutMs: 30_000,
});
new BalancedEventSource(['/a'], { urlProvider: (url) => new URL(url) });
// @ts-expect-error the provider must return a URL
new BalancedEventSource(['/a'], { urlProvider: () => 42 });
source.addEventListener('error', (event) => event.cause);

// fetch beside the stream.
async function post(): Promise<number> {
  const response = await source.fetch('/chat/messages', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: 'ann', text: 'hi' }),
    idempotent: true,
  });
  const endpoint: string = response.endpoint;
  void endpoint;
  return response.status;
}
void post;
// @ts-expect-error idempotent is a boolean
source.fetch('/x', { idempotent: 'yes' });

// A new endpoint list while the stream runs.
source.setEndpoints(['/a', new URL('http://127.0.0.1:1/b'), { url: '/c', weight: 2 }]);
// @ts-expect-error a weight is a number
source.setEndpoints([{ url: '/c', weight: 'heavy' }]);

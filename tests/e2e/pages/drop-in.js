// Installs BalancedEventSource as window.EventSource, the way a page adopts a
// drop-in, then runs app code that knows nothing but `new EventSource(url)`.
import { BalancedEventSource } from '/web/dist/sse-balancer.js';

const params = new URLSearchParams(location.search);
const backends = JSON.parse(params.get('backends'));

window.EventSource = class extends BalancedEventSource {
  constructor(url, init) {
    // The app's one URL becomes the whole pool; its own URL goes first.
    super([url, ...backends.filter((b) => b !== String(url))], {
      ...init,
      initialBackoffMs: 200,
      maxBackoffMs: 400,
      minRetryMs: 50,
    });
  }
};

// "App" code, unchanged from what it would be with the native EventSource.
const received = [];
const source = new EventSource(backends[0]);
source.onmessage = (event) => received.push({ id: event.lastEventId, data: event.data });
window.app = { source, received };
window.dropInReady = true;

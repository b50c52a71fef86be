// Loads the library and offers tests a recorder around a BalancedEventSource.
import * as sseb from '/web/dist/sse-balancer.js';

window.sseb = sseb;

/** Creates a source and records everything it dispatches. */
window.track = (urls, options, types = []) => {
  const source = new sseb.BalancedEventSource(urls, options);
  const log = { messages: [], named: [], opens: 0, errors: [], failovers: [], states: [] };
  source.addEventListener('open', () => log.opens++);
  source.addEventListener('message', (e) => {
    log.messages.push({ id: e.lastEventId, data: e.data, endpoint: e.endpoint, origin: e.origin });
  });
  for (const type of types) {
    source.addEventListener(type, (e) => log.named.push({ type: e.type, id: e.lastEventId, data: e.data }));
  }
  source.addEventListener('error', (e) => {
    log.errors.push({ reason: e.reason, endpoint: e.endpoint, readyState: source.readyState, at: performance.now() });
  });
  source.addEventListener('failover', (e) => log.failovers.push({ from: e.from, to: e.to, reason: e.reason }));
  window.source = source;
  window.log = log;
  return true;
};

window.ids = () => window.log.messages.map((m) => m.id);
// The module does not wait for the Wasm core; tests here expect a balancer
// made now to connect before its constructor returns, as it does once loaded.
await sseb.ready;
window.harnessReady = true;

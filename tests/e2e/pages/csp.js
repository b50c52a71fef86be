// Runs under `script-src 'self' 'wasm-unsafe-eval'` (set by the test's page
// server): no eval, no inline script. Streams from the URLs in ?urls=.
window.violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.violations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
try {
  // eslint-disable-next-line no-new-func
  new Function('return 1')();
  window.evalAllowed = true;
} catch {
  window.evalAllowed = false;
}
const { BalancedEventSource } = await import('/web/dist/sse-balancer.js');
const urls = JSON.parse(new URLSearchParams(location.search).get('urls'));
window.received = [];
const source = new BalancedEventSource(urls, { policy: 'random' });
source.onmessage = (e) => {
  window.received.push(e.lastEventId);
  document.getElementById('status').textContent = `received ${window.received.length}`;
};

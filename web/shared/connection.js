// The connection status shown on both pages: the header pill ("Live via #1"),
// and the reconnect banner shown while the stream is not OPEN, with the reason
// of the last error and when the next attempt is due.

import { setHidden, setText, setVariant, fmtMs } from './dom.js';

/** Sets a data-* value (or, with `plain`, a property) only when it changes. */
function setData(node, key, value, plain = false) {
  if (plain) {
    if (node[key] !== value) node[key] = value;
  } else if (node.dataset[key] !== value) {
    node.dataset[key] = value;
  }
}

const OPEN = 1;
const CLOSED = 2;

/** Words for the error reasons of the library. */
export const REASON_TEXT = Object.freeze({
  network: 'backend unreachable',
  http: 'backend refused the stream',
  closed: 'stream ended',
  stall: 'stream stalled',
  provider: 'could not build the URL',
});

/**
 * @param {import('../dist/sse-balancer.js').BalancedEventSource} source
 * @param {{
 *   directory: import('./backends.js').BackendDirectory,
 *   indicator: HTMLElement,      // header pill: gets data-state and data-index
 *   indicatorText: HTMLElement,
 *   banner: HTMLElement,         // hidden while OPEN
 *   bannerText: HTMLElement,
 *   graceMs?: number,            // a failover that completes within this shows no banner
 * }} options
 */
export function watchConnection(source, { directory, indicator, indicatorText, banner, bannerText, graceMs = 400 }) {
  let lastError = null; // { reason, endpoint, at }
  let everOpen = false;
  let notOpenSince = performance.now();
  let graceTimer = 0;

  const update = () => {
    let stats;
    try {
      stats = source.stats();
    } catch {
      return;
    }
    const ready = stats.readyState;
    const active = Number.isInteger(stats.activeEndpoint) ? stats.endpoints[stats.activeEndpoint] : null;

    if (ready === OPEN && active) {
      notOpenSince = null;
      const i = directory.indexOf(active.url);
      setData(indicator, 'state', 'open');
      setData(indicator, 'index', String(i));
      setVariant(indicator, 'conn', 'open');
      setText(indicatorText, `Live · ${directory.long(active.url)}`);
      setData(indicator, 'title', `Streaming from ${active.url}`, true);
      setHidden(banner, true);
      return;
    }

    if (notOpenSince === null) notOpenSince = performance.now();
    if ('index' in indicator.dataset) delete indicator.dataset.index;
    const state = ready === CLOSED ? 'closed' : everOpen || lastError ? 'reconnecting' : 'connecting';
    setData(indicator, 'state', state);
    setVariant(indicator, 'conn', state);
    setText(indicatorText, state === 'closed' ? 'Disconnected' : state === 'reconnecting' ? 'Reconnecting…' : 'Connecting…');
    setData(indicator, 'title', '', true);

    let text;
    if (ready === CLOSED) {
      text = 'Disconnected. Reload the page to connect again.';
    } else {
      const head = everOpen || lastError ? 'Connection lost, reconnecting…' : 'Connecting…';
      const parts = [];
      if (lastError) {
        parts.push(`last error: ${lastError.reason} (${REASON_TEXT[lastError.reason] || 'failed'}) on ${directory.short(lastError.endpoint)}`);
      }
      if (stats.offline) {
        parts.push('your browser is offline');
      } else {
        const connecting = stats.endpoints.find((e) => e.state === 'connecting');
        if (connecting) {
          parts.push(`trying ${directory.short(connecting.url)}`);
        } else {
          const waits = stats.endpoints.map((e) => e.retryInMs).filter((ms) => ms > 0);
          if (waits.length > 0) parts.push(`next attempt in ${fmtMs(Math.min(...waits))}`);
        }
      }
      text = parts.length ? `${head} ${parts.join(' · ')}` : head;
    }
    setText(bannerText, text);
    setData(banner, 'reason', lastError ? lastError.reason : '');
    // A failover that reconnects at once does not flash the banner.
    const waited = performance.now() - notOpenSince;
    if (ready === CLOSED || waited >= graceMs) {
      setHidden(banner, false);
    } else if (!graceTimer) {
      graceTimer = setTimeout(() => {
        graceTimer = 0;
        update();
      }, graceMs - waited + 10);
    }
  };

  source.addEventListener('open', () => {
    everOpen = true;
    update();
  });
  source.addEventListener('error', (event) => {
    lastError = { reason: event.reason, endpoint: event.endpoint, at: Date.now() };
    update();
  });
  const timer = setInterval(update, 250);
  update();
  return {
    update,
    get lastError() {
      return lastError;
    },
    stop() {
      clearInterval(timer);
      clearTimeout(graceTimer);
    },
  };
}

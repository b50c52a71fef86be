// The connection status shown on both pages: the header pill ("Live via #1"),
// and the reconnect banner shown while the stream is not OPEN, with the reason
// of the last error and when the next attempt is due.

import { $, setHidden, setText, setVariant, fmtMs } from './dom.js';

/** source.stats(), or null if the source cannot give them. */
export function statsOf(source) {
  try {
    return source.stats();
  } catch {
    return null;
  }
}

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

/** The header pill while streaming, with the banner hidden. */
function showOpen({ directory, indicator, indicatorText, banner }, active) {
  setData(indicator, 'state', 'open');
  setData(indicator, 'index', String(directory.indexOf(active.url)));
  setVariant(indicator, 'conn', 'open');
  setText(indicatorText, `Live · ${directory.long(active.url)}`);
  setData(indicator, 'title', `Streaming from ${active.url}`, true);
  setHidden(banner, true);
}

/** The banner's words while not streaming: what failed last, and what happens next. */
function bannerMessage(stats, { everOpen, lastError, directory }) {
  if (stats.readyState === CLOSED) return 'Disconnected. Reload the page to connect again.';
  const head = everOpen || lastError ? 'Connection lost, reconnecting…' : 'Connecting…';
  const parts = [];
  if (lastError) {
    parts.push(`last error: ${lastError.reason} (${REASON_TEXT[lastError.reason] || 'failed'}) on ${directory.short(lastError.endpoint)}`);
  }
  const connecting = stats.endpoints.find((e) => e.state === 'connecting');
  const waits = stats.endpoints.map((e) => e.retryInMs).filter((ms) => ms > 0);
  if (stats.offline) parts.push('your browser is offline');
  else if (connecting) parts.push(`trying ${directory.short(connecting.url)}`);
  else if (waits.length > 0) parts.push(`next attempt in ${fmtMs(Math.min(...waits))}`);
  return parts.length ? `${head} ${parts.join(' · ')}` : head;
}

/**
 * The nodes default to the pages' own: the header's #conn and #conn-text
 * (appbar.js), and the #reconnect banner with its #reconnect-text.
 * @param {import('../dist/sse-balancer.js').BalancedEventSource} source
 * @param {{
 *   directory: import('./backends.js').BackendDirectory,
 *   indicator?: HTMLElement,      // header pill: gets data-state and data-index
 *   indicatorText?: HTMLElement,
 *   banner?: HTMLElement,         // hidden while OPEN
 *   bannerText?: HTMLElement,
 *   graceMs?: number,            // a failover that completes within this shows no banner
 * }} given
 */
export function watchConnection(source, given) {
  const options = {
    indicator: $('conn'),
    indicatorText: $('conn-text'),
    banner: $('reconnect'),
    bannerText: $('reconnect-text'),
    ...given,
  };
  const { indicator, indicatorText, banner, bannerText, graceMs = 400 } = options;
  const seen = { everOpen: false, lastError: null, directory: options.directory }; // lastError: { reason, endpoint, at }
  let notOpenSince = performance.now();
  let graceTimer = 0;

  const update = () => {
    const stats = statsOf(source);
    if (stats === null) return;
    const ready = stats.readyState;
    const active = Number.isInteger(stats.activeEndpoint) ? stats.endpoints[stats.activeEndpoint] : null;
    if (ready === OPEN && active) {
      notOpenSince = null;
      showOpen(options, active);
      return;
    }
    if (notOpenSince === null) notOpenSince = performance.now();
    if ('index' in indicator.dataset) delete indicator.dataset.index;
    const state = ready === CLOSED ? 'closed' : seen.everOpen || seen.lastError ? 'reconnecting' : 'connecting';
    setData(indicator, 'state', state);
    setVariant(indicator, 'conn', state);
    setText(indicatorText, state === 'closed' ? 'Disconnected' : state === 'reconnecting' ? 'Reconnecting…' : 'Connecting…');
    setData(indicator, 'title', '', true);
    setText(bannerText, bannerMessage(stats, seen));
    setData(banner, 'reason', seen.lastError ? seen.lastError.reason : '');
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
    seen.everOpen = true;
    update();
  });
  source.addEventListener('error', (event) => {
    seen.lastError = { reason: event.reason, endpoint: event.endpoint, at: Date.now() };
    update();
  });
  const timer = setInterval(update, 250);
  update();
  return {
    update,
    get lastError() {
      return seen.lastError;
    },
    stop() {
      clearInterval(timer);
      clearTimeout(graceTimer);
    },
  };
}

// sse-balancer demo page.
//
// Fetches the backend list from the demo server's control API, streams from
// all of them through one BalancedEventSource and shows what happens when
// backends are killed, revived or put into a fault mode.
//
// Everything that came over the network is written with textContent only;
// nothing is ever parsed as HTML.

import { api } from '../shared/backends.js';

const STATS_EVERY_MS = 500;
const SERVER_EVERY_MS = 1000;
const MAX_EVENT_ROWS = 150;
const MAX_LOG_ROWS = 200;
const FAULT_MODES = ['ok', 'status-500', 'status-204', 'status-404', 'bad-content-type', 'stall', 'slow-accept', 'drop-after', 'reset-after'];
const READY_STATES = ['connecting', 'open', 'closed'];

const $ = (id) => document.getElementById(id);

/** createElement with a class, text and children; never touches innerHTML. */
function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const child of children) node.append(child);
  return node;
}

function clock(date = new Date()) {
  return date.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(date.getMilliseconds()).padStart(3, '0');
}

function normalize(url) {
  try {
    return new URL(url, location.href).href;
  } catch {
    return String(url);
  }
}

function showError(message) {
  const banner = $('error');
  banner.textContent = message;
  banner.hidden = !message;
}

const state = {
  lib: null,
  source: null,
  backends: [], // from /api/backends
  indexByUrl: new Map(),
  cards: [], // per backend: DOM references
  received: 0,
  failovers: 0,
  statsTimer: 0,
  serverTimer: 0,
};

function backendLabel(url) {
  if (url === null || url === undefined) return '–';
  const i = state.indexByUrl.get(normalize(url));
  return i === undefined ? String(url) : `#${i} (${new URL(state.backends[i].url).port})`;
}

// ---- control API -----------------------------------------------------------

// api() from ../shared/backends.js: mutating calls carry the page server's control token.

// ---- backend panel ---------------------------------------------------------

function counter(name) {
  const value = el('dd', { className: 'mono', text: '0' });
  return { node: [el('dt', { text: name }), value], value };
}

function buildBackendCards() {
  const container = $('backends');
  container.replaceChildren();
  state.cards = state.backends.map((b) => {
    const stateBadge = el('span', { className: 'pill state-idle', text: 'idle' });
    const activeBadge = el('span', { className: 'pill active-badge', text: 'active' });
    activeBadge.hidden = true;
    const serverBadge = el('span', { className: 'pill server-ok', text: 'server: ok' });

    const counters = {};
    const dl = el('dl', { className: 'counters' });
    for (const name of ['connects', 'opens', 'failures', 'messages', 'duplicates', 'streams']) {
      const c = counter(name);
      counters[name] = c.value;
      dl.append(...c.node);
    }
    const lastError = el('span', { className: 'mono', text: '–' });
    const retry = el('span', { className: 'mono', text: '' });

    const kill = el('button', { className: 'danger', text: 'Kill', attrs: { type: 'button' } });
    const revive = el('button', { text: 'Revive', attrs: { type: 'button' } });
    const mode = el('select', { attrs: { 'aria-label': `Fault mode of backend ${b.index}` } });
    for (const m of FAULT_MODES) mode.append(el('option', { text: m, attrs: { value: m } }));
    const note = el('span', { className: 'note' });

    const act = async (button, path, body) => {
      button.disabled = true;
      note.textContent = '';
      try {
        await api(path, { method: 'POST', body });
        await refreshServer();
      } catch (err) {
        note.textContent = err.message;
      } finally {
        button.disabled = false;
      }
    };
    kill.addEventListener('click', () => act(kill, `/api/backends/${b.index}/kill`));
    revive.addEventListener('click', () => act(revive, `/api/backends/${b.index}/revive`));
    mode.addEventListener('change', () => act(mode, `/api/backends/${b.index}/mode`, { mode: mode.value }));

    const card = el('article', { className: 'backend' }, [
      el('header', {}, [
        el('h3', { text: `Backend #${b.index}` }),
        el('span', { className: 'badges' }, [activeBadge, stateBadge, serverBadge]),
      ]),
      el('p', { className: 'url mono', text: b.url }),
      dl,
      el('p', { className: 'detail' }, [el('span', { text: 'last error: ' }), lastError, retry]),
      el('div', { className: 'actions' }, [
        kill,
        revive,
        el('label', { className: 'mode' }, [el('span', { text: 'fault' }), mode]),
        note,
      ]),
    ]);
    container.append(card);
    return { card, stateBadge, activeBadge, serverBadge, counters, lastError, retry, mode, kill, revive };
  });
}

function setPill(node, prefix, value) {
  node.className = `pill ${prefix}-${String(value).replace(/[^a-z0-9-]/gi, '')}`;
}

function renderStats() {
  const source = state.source;
  if (!source) return;
  let stats;
  try {
    stats = source.stats();
  } catch (err) {
    showError(`stats() failed: ${err.message}`);
    return;
  }
  const ready = READY_STATES[stats.readyState] ?? String(stats.readyState);
  const readyNode = $('ready-state');
  readyNode.textContent = ready;
  setPill(readyNode, 'state', ready);
  $('last-id').textContent = stats.lastEventId || '–';

  let activeUrl = null;
  if (Number.isInteger(stats.activeEndpoint) && stats.endpoints[stats.activeEndpoint]) {
    activeUrl = stats.endpoints[stats.activeEndpoint].url;
  } else if (stats.activeEndpoint === undefined && stats.readyState !== 2) {
    activeUrl = source.url; // older builds without activeEndpoint
  }
  $('active').textContent = activeUrl ? backendLabel(activeUrl) : '–';

  for (const ep of stats.endpoints || []) {
    const i = state.indexByUrl.get(normalize(ep.url));
    const card = state.cards[i];
    if (!card) continue;
    card.stateBadge.textContent = ep.state;
    setPill(card.stateBadge, 'state', ep.state);
    for (const name of ['connects', 'opens', 'failures', 'messages', 'duplicates']) {
      card.counters[name].textContent = String(ep[name] ?? 0);
    }
    card.lastError.textContent = ep.lastError || '–';
    card.retry.textContent = ep.retryInMs > 0 ? ` · retry in ${(ep.retryInMs / 1000).toFixed(1)} s` : '';
    const active = activeUrl !== null && normalize(ep.url) === normalize(activeUrl);
    card.activeBadge.hidden = !active;
    card.card.classList.toggle('is-active', active);
  }
}

let refreshing = null;
function refreshServer() {
  // Never more than one request in flight; callers share the pending one.
  if (!refreshing) refreshing = doRefreshServer().finally(() => (refreshing = null));
  return refreshing;
}

async function doRefreshServer() {
  try {
    const list = await api('/api/backends');
    for (const b of list) {
      const card = state.cards[b.index];
      if (!card) continue;
      card.serverBadge.textContent = `server: ${b.mode}`;
      setPill(card.serverBadge, 'server', b.mode);
      card.counters.streams.textContent = String(b.openStreams);
      card.card.classList.toggle('is-down', b.mode === 'down');
      card.kill.disabled = b.mode === 'down';
      card.revive.disabled = b.mode !== 'down';
      if (document.activeElement !== card.mode && b.mode !== 'down') card.mode.value = b.mode;
      card.mode.disabled = b.mode === 'down';
    }
  } catch (err) {
    for (const card of state.cards) {
      card.serverBadge.textContent = 'server: ?';
      setPill(card.serverBadge, 'server', 'unknown');
    }
  }
}

// ---- events and log --------------------------------------------------------

function addEventRow(event) {
  let text = event.data;
  let at = '';
  try {
    const parsed = JSON.parse(event.data);
    if (parsed && typeof parsed.text === 'string') text = parsed.text;
    if (parsed && typeof parsed.at === 'string') at = clock(new Date(parsed.at));
  } catch {
    // not JSON: show the raw data (as text)
  }
  const i = state.indexByUrl.get(normalize(event.endpoint));
  const row = el('tr', { className: i === undefined ? '' : `via-${i % 6}` }, [
    el('td', { className: 'mono', text: event.lastEventId || '–' }),
    el('td', { text }),
    el('td', { className: 'mono', text: at }),
    el('td', { className: 'mono', text: backendLabel(event.endpoint) }),
  ]);
  const body = $('events');
  body.prepend(row);
  while (body.childElementCount > MAX_EVENT_ROWS) body.lastElementChild.remove();
  state.received++;
  $('received').textContent = String(state.received);
}

function logLine(kind, parts) {
  const list = $('log');
  const item = el('li', { className: `log-${kind}` }, [
    el('span', { className: 'time mono', text: clock() }),
    el('span', { className: 'kind', text: kind }),
    el('span', { className: 'what', text: parts }),
  ]);
  list.prepend(item);
  while (list.childElementCount > MAX_LOG_ROWS) list.lastElementChild.remove();
}

// ---- the balanced source ---------------------------------------------------

function start() {
  stop();
  const policy = $('policy').value;
  const urls = state.backends.map((b) => b.url);
  let source;
  try {
    // The demo backends send a named `heartbeat` every 5 s; 12 s of silence is a stall.
    source = new state.lib.BalancedEventSource(urls, { policy, heartbeatTimeoutMs: 12_000 });
  } catch (err) {
    showError(`Could not create BalancedEventSource: ${err.message}`);
    return;
  }
  showError('');
  state.source = source;
  source.onopen = () => logLine('open', `streaming from ${backendLabel(source.url)}`);
  source.onmessage = (event) => addEventRow(event);
  source.onerror = (event) => {
    const where = event.endpoint ? backendLabel(event.endpoint) : backendLabel(source.url);
    logLine('error', `${where} failed${event.reason ? ` (${event.reason})` : ''}`);
  };
  source.addEventListener('failover', (event) => {
    state.failovers++;
    $('failover-count').textContent = String(state.failovers);
    logLine('failover', `${event.from ? backendLabel(event.from) : 'start'} → ${backendLabel(event.to)}${event.reason ? ` (${event.reason})` : ''}`);
  });
  logLine('start', `policy ${policy} over ${urls.length} backends`);
  $('toggle').textContent = 'Stop';
  renderStats();
}

function stop() {
  if (!state.source) return;
  state.source.close();
  renderStats();
  state.source = null;
  logLine('stop', 'source closed');
  $('toggle').textContent = 'Start';
}

async function main() {
  const policy = new URLSearchParams(location.search).get('policy');
  if (policy === 'random' || policy === 'round-robin') $('policy').value = policy;

  try {
    state.backends = await api('/api/backends');
  } catch (err) {
    showError(`Could not load the backend list from /api/backends: ${err.message}`);
    return;
  }
  state.indexByUrl = new Map(state.backends.map((b) => [normalize(b.url), b.index]));
  buildBackendCards();
  await refreshServer();
  state.serverTimer = setInterval(refreshServer, SERVER_EVERY_MS);

  try {
    state.lib = await import('../dist/sse-balancer.js');
  } catch (err) {
    showError(`Could not load the library (../index.js): ${err.message}. Has web/dist been built?`);
    return;
  }
  $('restart').addEventListener('click', start);
  $('toggle').addEventListener('click', () => (state.source ? stop() : start()));
  $('policy').addEventListener('change', start);
  start();
  state.statsTimer = setInterval(renderStats, STATS_EVERY_MS);
  addEventListener('pagehide', () => stop());
  addEventListener('pageshow', (event) => {
    if (event.persisted && !state.source) start(); // restored from the back/forward cache
  });
}

main();

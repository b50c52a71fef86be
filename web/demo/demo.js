// The balancer demo: one BalancedEventSource over every backend's log stream
// (GET /events), the shared header, connection banner and balancer panel of
// the other pages, a fault-mode form fed by the server's list of modes, and
// the received events.
//
// Everything that came over the network is written with textContent only;
// nothing is ever parsed as HTML.

import { $, el, fmtInt, hhmmssms, setText } from '../shared/dom.js';
import { api, loadPageDeps } from '../shared/backends.js';
import { mountAppBar } from '../shared/appbar.js';
import { watchConnection } from '../shared/connection.js';
import { createBalancerPanel } from '../shared/panel.js';

const MAX_EVENT_ROWS = 150;
const READY_STATES = ['connecting', 'open', 'closed'];

const state = {
  lib: null,
  directory: null,
  source: null,
  watchers: [], // the connection watcher and the panel of the current source
  received: 0,
  failovers: 0,
};

/** A log line's parts ({ ts, level, service, msg }), or the raw data as the line. */
function parseLine(data) {
  try {
    const line = JSON.parse(data);
    if (line && typeof line === 'object') {
      const sentAt = typeof line.ts === 'string' ? new Date(line.ts) : null;
      const text = [line.level, line.service, line.msg].filter((part) => typeof part === 'string').join(' · ');
      return { text: text || data, sentAt: sentAt && !Number.isNaN(sentAt.getTime()) ? sentAt : null };
    }
  } catch {
    // not JSON: shown as sent, as text
  }
  return { text: data, sentAt: null };
}

function addEventRow(event) {
  state.received++;
  const { text, sentAt } = parseLine(String(event.data));
  const backend = state.directory.indexOf(event.endpoint);
  const row = el('tr', {}, [
    el('td', { className: 'mono', text: event.lastEventId || '–' }),
    el('td', { text }),
    el('td', { className: 'mono', text: sentAt ? hhmmssms(sentAt) : '–' }),
    el('td', {}, [el('span', { className: backend >= 0 ? `tag tag-c${backend % 6}` : 'tag', text: state.directory.short(event.endpoint) })]),
  ]);
  const body = $('events');
  body.prepend(row);
  while (body.childElementCount > MAX_EVENT_ROWS) body.lastElementChild.remove();
}

function renderReadouts() {
  const source = state.source;
  const stats = source?.stats();
  setText($('ready-state'), stats ? READY_STATES[stats.readyState] : 'stopped');
  setText($('active'), stats && stats.activeEndpoint !== null ? state.directory.long(source.url) : '–');
  setText($('last-id'), stats?.lastEventId || '–');
  setText($('received'), fmtInt(state.received));
  setText($('failover-count'), fmtInt(state.failovers));
}

function start() {
  stop();
  const policy = $('policy').value;
  // The backends send a named `heartbeat` every 5 s; 12 s of silence is a stall.
  const source = new state.lib.BalancedEventSource(state.directory.urls, { policy, heartbeatTimeoutMs: 12_000 });
  state.source = source;
  source.onmessage = addEventRow;
  source.addEventListener('failover', () => state.failovers++);
  state.watchers = [
    watchConnection(source, { directory: state.directory }),
    createBalancerPanel($('panel'), { source, directory: state.directory }),
  ];
  setText($('toggle'), 'Stop');
  renderReadouts();
}

function stop() {
  if (!state.source) return;
  for (const watcher of state.watchers) watcher.stop();
  state.watchers = [];
  state.source.close();
  state.source = null;
  setText($('toggle'), 'Start');
  renderReadouts();
}

/** The fault-mode form: every backend, every mode the server knows. */
async function setupFaultForm() {
  const modes = await api('/api/modes');
  $('fault-mode').replaceChildren(...modes.map((mode) => el('option', { text: mode, attrs: { value: mode } })));
  $('fault-backend').replaceChildren(
    ...state.directory.backends.map((b) => el('option', { text: `#${b.index} · :${state.directory.port(b.index)}`, attrs: { value: b.index } })),
  );
  $('fault-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const index = Number($('fault-backend').value);
    const mode = $('fault-mode').value;
    setText($('fault-note'), '');
    try {
      await api(`/api/backends/${index}/mode`, { method: 'POST', body: { mode } });
      setText($('fault-note'), `backend #${index} is now ${mode}`);
    } catch (err) {
      setText($('fault-note'), `could not set the mode: ${err.message}`);
    }
  });
}

/** The rolling-restart button: a deploy, as the clients see it. */
function setupRollingRestart() {
  const button = $('rolling-restart');
  button.addEventListener('click', async () => {
    button.disabled = true;
    setText($('fault-note'), 'rolling restart: each backend drains, goes down and comes back…');
    try {
      await api('/api/restart', { method: 'POST' });
      setText($('fault-note'), 'rolling restart done');
    } catch (err) {
      setText($('fault-note'), `rolling restart failed: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  });
}

async function main() {
  mountAppBar();
  const policy = new URLSearchParams(location.search).get('policy');
  if (policy === 'random' || policy === 'round-robin') $('policy').value = policy;
  const deps = await loadPageDeps('url');
  if (!deps) return;
  state.lib = deps.lib;
  state.directory = deps.directory;
  await setupFaultForm().catch((err) => setText($('fault-note'), `no fault modes: ${err.message}`));
  setupRollingRestart();
  $('restart').addEventListener('click', start);
  $('toggle').addEventListener('click', () => (state.source ? stop() : start()));
  $('policy').addEventListener('change', start);
  start();
  setInterval(renderReadouts, 500);
  addEventListener('pagehide', () => stop());
  addEventListener('pageshow', (event) => {
    if (event.persisted && !state.source) start(); // restored from the back/forward cache
  });
  document.documentElement.dataset.ready = 'true';
}

main();

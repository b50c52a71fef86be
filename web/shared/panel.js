// The balancer panel of both pages: one card per backend with the balancer's
// view of it (state, counters, last failure, retry countdown, which one is
// streaming) and the server's (up or down, with Kill / Revive buttons calling
// the control API), plus a log of failovers.
//
// Refreshed from source.stats() every 500 ms and from GET /api/backends every
// second. DOM nodes are built once and only their text and classes change.

import { el, setText, setHidden, setVariant, hhmmss, fmtInt, fmtMs } from './dom.js';
import { api, controlBackend } from './backends.js';
import { statsOf } from './connection.js';

const READY = ['connecting', 'open', 'closed'];
const MAX_FAILOVERS = 40;

/** One backend's card; `onAction(index, 'kill' | 'revive', note)` runs a button. */
function buildCard(b, directory, onAction) {
  const stateBadge = el('span', { className: 'pill state-idle', text: 'idle' });
  const activeBadge = el('span', { className: 'pill pill-active', text: 'streaming' });
  activeBadge.hidden = true;
  const extraBadge = el('span', { className: 'pill pill-warn' });
  extraBadge.hidden = true;
  const value = (name, title) => {
    const dd = el('dd', { className: 'mono', text: '0' });
    return { dd, node: el('div', { attrs: { title } }, [el('dt', { text: name }), dd]) };
  };
  const counters = {
    connects: value('connects', 'Connection attempts started'),
    failures: value('failures', 'Attempts or streams that failed'),
    messages: value('messages', 'Events delivered through this backend'),
    duplicates: value('dupes', 'Replayed events dropped as duplicates'),
  };
  const lastError = el('span', { className: 'mono', text: '–' });
  const retry = el('span', { className: 'retry mono' });
  const server = el('span', { className: 'server server-unknown', text: 'server: ?' });
  const kill = el('button', { className: 'btn btn-small btn-danger', text: 'Kill', attrs: { type: 'button', 'data-action': 'kill' } });
  const revive = el('button', { className: 'btn btn-small', text: 'Revive', attrs: { type: 'button', 'data-action': 'revive' } });
  const note = el('p', { className: 'be-note', attrs: { role: 'status' } });
  const node = el('article', { className: `be be-c${b.index % 6}`, data: { index: b.index } }, [
    el('div', { className: 'be-head' }, [
      el('span', { className: 'be-dot', attrs: { 'aria-hidden': 'true' } }),
      el('strong', { text: `Backend #${b.index}` }),
      el('span', { className: 'be-port mono', text: `:${directory.port(b.index)}` }),
      el('span', { className: 'be-badges' }, [activeBadge, extraBadge, stateBadge]),
    ]),
    el('dl', { className: 'be-stats' }, Object.values(counters).map((c) => c.node)),
    el('p', { className: 'be-last' }, [el('span', { className: 'muted', text: 'last error ' }), lastError, retry]),
    el('div', { className: 'be-foot' }, [server, el('span', { className: 'be-actions' }, [kill, revive])]),
    note,
  ]);
  const card = { index: b.index, node, stateBadge, activeBadge, extraBadge, counters, lastError, retry, server, kill, revive, note };
  kill.addEventListener('click', () => onAction(card, 'kill'));
  revive.addEventListener('click', () => onAction(card, 'revive'));
  return card;
}

/** A card from the balancer's stats of its endpoint. */
function showEndpoint(card, ep, isActive) {
  card.node.classList.toggle('is-active', isActive);
  setHidden(card.activeBadge, !(isActive && ep.state === 'open'));
  setText(card.stateBadge, ep.state);
  setVariant(card.stateBadge, 'state', ep.state);
  const extra = ep.probation ? 'probation' : ep.ejections > 0 && ep.state === 'ejected' ? `ejected ×${ep.ejections}` : '';
  setText(card.extraBadge, extra);
  setHidden(card.extraBadge, extra === '' || ep.state === 'ejected');
  for (const key of ['connects', 'failures', 'messages', 'duplicates']) setText(card.counters[key].dd, fmtInt(ep[key]));
  card.counters.failures.dd.classList.toggle('bad', ep.failures > 0);
  setText(card.lastError, ep.lastError ? `${ep.lastError}${ep.lastErrorAgoMs != null ? ` (${fmtMs(ep.lastErrorAgoMs)} ago)` : ''}` : '–');
  const reasons = Object.entries(ep.failuresByReason || {})
    .filter(([, n]) => n > 0)
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  if (card.lastError.title !== reasons) card.lastError.title = reasons;
  setText(card.retry, ep.retryInMs > 0 ? ` · retry in ${fmtMs(ep.retryInMs)}` : '');
}

/** A card from the server's view of its backend (GET /api/backends), or unknown. */
function showServer(card, b) {
  if (!b) {
    setText(card.server, 'server: ?');
    setVariant(card.server, 'server', 'unknown');
    return;
  }
  const down = b.mode === 'down';
  setText(card.server, down ? 'server down' : b.mode === 'ok' ? `server up · ${b.openStreams} open` : `server: ${b.mode}`);
  setVariant(card.server, 'server', down ? 'down' : b.mode === 'ok' ? 'ok' : 'fault');
  card.node.classList.toggle('is-down', down);
  card.kill.disabled = down;
  card.revive.disabled = !down && b.mode === 'ok';
}

/** One line of the failover log. */
function failoverItem(event, directory) {
  const tagClass = (url) => {
    const i = directory.indexOf(url);
    return i < 0 ? 'tag tag-start' : `tag tag-c${i % 6}`;
  };
  return el('li', {}, [
    el('time', { className: 'mono', text: hhmmss(new Date()), attrs: { datetime: new Date().toISOString() } }),
    el('span', { className: 'hop' }, [
      el('span', { className: tagClass(event.from), text: event.from ? directory.short(event.from) : 'start' }),
      el('span', { className: 'arrow', text: '→', attrs: { 'aria-label': 'to' } }),
      el('span', { className: tagClass(event.to), text: directory.short(event.to) }),
    ]),
    el('span', { className: `reason reason-${String(event.reason).replace(/[^a-z]/g, '')}`, text: event.reason || '' }),
  ]);
}

/** The panel's fixed parts: the summary, the cards' list and the failover log. */
function buildPanel(root, directory, cards) {
  const summary = {
    state: el('span', { className: 'pill', text: '…' }),
    policy: el('span', { className: 'mono', text: '–' }),
    lastId: el('span', { className: 'mono', text: '–' }),
    budget: el('span', { className: 'mono', text: '–' }),
    sharing: el('span', { className: 'mono', text: '–' }),
  };
  const failovers = {
    count: el('span', { className: 'count', text: '0' }),
    list: el('ol', { className: 'failover-log', attrs: { 'aria-live': 'polite' } }),
    empty: el('p', { className: 'empty', text: 'No failover yet. Kill the streaming backend to see one.' }),
  };
  const item = (name, node, title) => el('div', title ? { attrs: { title } } : {}, [el('dt', { text: name }), el('dd', {}, [node])]);
  root.replaceChildren(
    el('header', { className: 'card-head' }, [
      el('h2', { text: 'Balancer' }),
      el('span', { className: 'card-sub', text: `${directory.backends.length} backends` }),
    ]),
    el('dl', { className: 'panel-summary' }, [
      item('Stream', summary.state),
      item('Policy', summary.policy),
      item('Last id', summary.lastId),
      item('Connects/min', summary.budget, 'Connection attempts in the last minute / budget'),
      item('This tab', summary.sharing, 'Leader: this tab runs the stream for every tab; follower: it receives from the leader'),
    ]),
    el('div', { className: 'backend-list' }, cards.map((c) => c.node)),
    el('section', { className: 'failovers', attrs: { 'aria-label': 'Failover log' } }, [
      el('h3', {}, ['Failovers ', failovers.count]),
      failovers.empty,
      failovers.list,
    ]),
  );
  return { summary, failovers };
}

/**
 * @param {HTMLElement} root an empty element; the panel is built inside it
 * @param {{
 *   source: import('../dist/sse-balancer.js').BalancedEventSource,
 *   directory: import('./backends.js').BackendDirectory,
 *   intervalMs?: number,
 *   serverIntervalMs?: number,
 * }} options
 */
export function createBalancerPanel(root, { source, directory, intervalMs = 500, serverIntervalMs = 1000 }) {
  let refreshing = null;
  const refreshServer = () => {
    refreshing ??= api('/api/backends')
      .then(
        (list) => list.forEach((b) => cards[b.index] && showServer(cards[b.index], b)),
        () => cards.forEach((card) => showServer(card, null)),
      )
      .finally(() => (refreshing = null));
    return refreshing;
  };
  const act = async (card, action) => {
    card.kill.disabled = true;
    card.revive.disabled = true;
    setText(card.note, '');
    try {
      await controlBackend(card.index, action);
    } catch (err) {
      setText(card.note, `${action} failed: ${err.message}`);
    } finally {
      await refreshServer();
    }
  };
  const cards = directory.backends.map((b) => buildCard(b, directory, act));
  const { summary, failovers } = buildPanel(root, directory, cards);
  const update = () => {
    const stats = statsOf(source);
    if (stats === null) return;
    const ready = READY[stats.readyState] ?? String(stats.readyState);
    setText(summary.state, ready);
    setVariant(summary.state, 'state', ready);
    setText(summary.policy, stats.policy);
    setText(summary.lastId, stats.lastEventId || '–');
    const { used, limit } = stats.connectsLastMinute || { used: 0, limit: 0 };
    setText(summary.budget, limit ? `${used} / ${limit}` : String(used));
    setText(summary.sharing, stats.role === 'solo' ? 'own stream' : `${stats.role} · ${stats.tabs} tab${stats.tabs === 1 ? '' : 's'}`);
    stats.endpoints.forEach((ep, k) => {
      const card = cards[directory.indexOf(ep.url)] ?? cards[k];
      if (card) showEndpoint(card, ep, stats.activeEndpoint === k && stats.readyState !== 2);
    });
  };
  const onFailover = (event) => {
    setText(failovers.count, String(Number(failovers.count.textContent) + 1));
    failovers.empty.hidden = true;
    failovers.list.prepend(failoverItem(event, directory));
    while (failovers.list.childElementCount > MAX_FAILOVERS) failovers.list.lastElementChild.remove();
  };
  source.addEventListener('failover', onFailover);
  source.addEventListener('open', update);
  source.addEventListener('error', update);
  update();
  refreshServer();
  const statsTimer = setInterval(update, intervalMs);
  const serverTimer = setInterval(refreshServer, serverIntervalMs);
  return {
    update,
    refreshServer,
    stop() {
      clearInterval(statsTimer);
      clearInterval(serverTimer);
      source.removeEventListener('failover', onFailover);
      source.removeEventListener('open', update);
      source.removeEventListener('error', update);
    },
  };
}

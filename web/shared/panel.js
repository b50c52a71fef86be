// The balancer panel of both pages: one card per backend with the balancer's
// view of it (state, counters, last failure, retry countdown, which one is
// streaming) and the server's (up or down, with Kill / Revive buttons calling
// the control API), plus a log of failovers.
//
// Refreshed from source.stats() every 500 ms and from GET /api/backends every
// second. DOM nodes are built once and only their text and classes change.

import { el, setText, setHidden, setVariant, hhmmss, fmtInt, fmtMs } from './dom.js';
import { api, controlBackend } from './backends.js';

const READY = ['connecting', 'open', 'closed'];
const MAX_FAILOVERS = 40;

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
  const summary = {
    state: el('span', { className: 'pill', text: '…' }),
    policy: el('span', { className: 'mono', text: '–' }),
    lastId: el('span', { className: 'mono', text: '–' }),
    budget: el('span', { className: 'mono', text: '–' }),
  };
  const failoverCount = el('span', { className: 'count', text: '0' });
  const failoverList = el('ol', { className: 'failover-log', attrs: { 'aria-live': 'polite' } });
  const failoverEmpty = el('p', { className: 'empty', text: 'No failover yet. Kill the streaming backend to see one.' });

  const cards = directory.backends.map((b) => buildCard(b));

  root.replaceChildren(
    el('header', { className: 'card-head' }, [
      el('h2', { text: 'Balancer' }),
      el('span', { className: 'card-sub', text: `${directory.backends.length} backends` }),
    ]),
    el('dl', { className: 'panel-summary' }, [
      el('div', {}, [el('dt', { text: 'Stream' }), el('dd', {}, [summary.state])]),
      el('div', {}, [el('dt', { text: 'Policy' }), el('dd', {}, [summary.policy])]),
      el('div', {}, [el('dt', { text: 'Last id' }), el('dd', {}, [summary.lastId])]),
      el('div', { attrs: { title: 'Connection attempts in the last minute / budget' } }, [el('dt', { text: 'Connects/min' }), el('dd', {}, [summary.budget])]),
    ]),
    el('div', { className: 'backend-list' }, cards.map((c) => c.node)),
    el('section', { className: 'failovers', attrs: { 'aria-label': 'Failover log' } }, [
      el('h3', {}, ['Failovers ', failoverCount]),
      failoverEmpty,
      failoverList,
    ]),
  );

  function buildCard(b) {
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

    const act = async (button, action) => {
      kill.disabled = true;
      revive.disabled = true;
      setText(note, '');
      try {
        await controlBackend(b.index, action);
      } catch (err) {
        setText(note, `${action} failed: ${err.message}`);
      } finally {
        await refreshServer();
      }
    };
    kill.addEventListener('click', () => act(kill, 'kill'));
    revive.addEventListener('click', () => act(revive, 'revive'));
    return { index: b.index, node, stateBadge, activeBadge, extraBadge, counters, lastError, retry, server, kill, revive };
  }

  function update() {
    let stats;
    try {
      stats = source.stats();
    } catch {
      return;
    }
    const ready = READY[stats.readyState] ?? String(stats.readyState);
    setText(summary.state, ready);
    setVariant(summary.state, 'state', ready);
    setText(summary.policy, stats.policy);
    setText(summary.lastId, stats.lastEventId || '–');
    const { used, limit } = stats.connectsLastMinute || { used: 0, limit: 0 };
    setText(summary.budget, limit ? `${used} / ${limit}` : String(used));

    stats.endpoints.forEach((ep, k) => {
      const card = cards[directory.indexOf(ep.url)] ?? cards[k];
      if (!card) return;
      const isActive = stats.activeEndpoint === k && stats.readyState !== 2;
      card.node.classList.toggle('is-active', isActive);
      setHidden(card.activeBadge, !(isActive && ep.state === 'open'));
      setText(card.stateBadge, ep.state);
      setVariant(card.stateBadge, 'state', ep.state);
      const extra = ep.probation ? 'probation' : ep.ejections > 0 && ep.state === 'ejected' ? `ejected ×${ep.ejections}` : '';
      setText(card.extraBadge, extra);
      setHidden(card.extraBadge, extra === '' || ep.state === 'ejected');
      setText(card.counters.connects.dd, fmtInt(ep.connects));
      setText(card.counters.failures.dd, fmtInt(ep.failures));
      setText(card.counters.messages.dd, fmtInt(ep.messages));
      setText(card.counters.duplicates.dd, fmtInt(ep.duplicates));
      card.counters.failures.dd.classList.toggle('bad', ep.failures > 0);
      setText(
        card.lastError,
        ep.lastError ? `${ep.lastError}${ep.lastErrorAgoMs != null ? ` (${fmtMs(ep.lastErrorAgoMs)} ago)` : ''}` : '–',
      );
      const reasons = Object.entries(ep.failuresByReason || {})
        .filter(([, n]) => n > 0)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ');
      if (card.lastError.title !== reasons) card.lastError.title = reasons;
      setText(card.retry, ep.retryInMs > 0 ? ` · retry in ${fmtMs(ep.retryInMs)}` : '');
    });
  }

  let refreshing = null;
  function refreshServer() {
    if (!refreshing) refreshing = doRefreshServer().finally(() => (refreshing = null));
    return refreshing;
  }
  async function doRefreshServer() {
    let list;
    try {
      list = await api('/api/backends');
    } catch {
      for (const card of cards) {
        setText(card.server, 'server: ?');
        setVariant(card.server, 'server', 'unknown');
      }
      return;
    }
    for (const b of list) {
      const card = cards[b.index];
      if (!card) continue;
      const down = b.mode === 'down';
      setText(card.server, down ? 'server down' : b.mode === 'ok' ? `server up · ${b.openStreams} open` : `server: ${b.mode}`);
      setVariant(card.server, 'server', down ? 'down' : b.mode === 'ok' ? 'ok' : 'fault');
      card.node.classList.toggle('is-down', down);
      card.kill.disabled = down;
      card.revive.disabled = !down && b.mode === 'ok';
    }
  }

  function tagClass(url) {
    const i = directory.indexOf(url);
    return i < 0 ? 'tag tag-start' : `tag tag-c${i % 6}`;
  }

  function onFailover(event) {
    const n = Number(failoverCount.textContent) + 1;
    setText(failoverCount, String(n));
    failoverEmpty.hidden = true;
    const from = event.from ? directory.short(event.from) : 'start';
    const to = directory.short(event.to);
    const item = el('li', {}, [
      el('time', { className: 'mono', text: hhmmss(new Date()), attrs: { datetime: new Date().toISOString() } }),
      el('span', { className: 'hop' }, [
        el('span', { className: tagClass(event.from), text: from }),
        el('span', { className: 'arrow', text: '→', attrs: { 'aria-label': 'to' } }),
        el('span', { className: tagClass(event.to), text: to }),
      ]),
      el('span', { className: `reason reason-${String(event.reason).replace(/[^a-z]/g, '')}`, text: event.reason || '' }),
    ]);
    failoverList.prepend(item);
    while (failoverList.childElementCount > MAX_FAILOVERS) failoverList.lastElementChild.remove();
  }

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

// The header every page shares: the brand, the navigation between the pages
// (the current one marked) and the connection pill (#conn, #conn-text) that
// watchConnection() drives. A page has <header class="appbar" id="appbar"
// data-page="chat|logs|demo"></header> and mounts it first.

import { el } from './dom.js';

const PAGES = Object.freeze([
  ['chat', 'Chat'],
  ['logs', 'Live logs'],
  ['demo', 'Demo'],
]);

export function mountAppBar(header = document.getElementById('appbar')) {
  const current = header.dataset.page;
  header.replaceChildren(
    el('a', { className: 'brand', attrs: { href: '../chat/' } }, [
      el('img', { attrs: { src: '../shared/logo.svg', alt: '' } }),
      el('span', { text: 'sse-balancer' }),
    ]),
    el(
      'nav',
      { className: 'nav', attrs: { 'aria-label': 'Pages' } },
      PAGES.map(([page, label]) => el('a', { text: label, attrs: { href: `../${page}/`, 'aria-current': page === current ? 'page' : null } })),
    ),
    el('div', { className: 'spacer' }),
    el('span', { className: 'conn conn-connecting', attrs: { id: 'conn', role: 'status', 'aria-live': 'polite' } }, [
      el('span', { className: 'dot', attrs: { 'aria-hidden': 'true' } }),
      el('span', { text: 'Connecting…', attrs: { id: 'conn-text' } }),
    ]),
  );
}

// The chat page: one BalancedEventSource over every backend's /chat/events,
// posts through source.fetch() to a healthy backend.
//
// Exactly once, in order: the library already drops replayed duplicates;
// this page also keeps the set of ids it has shown and places every message
// by its id, so nothing is shown twice or out of order whatever arrives.
// Received text never becomes HTML: only createElement and textContent.

import { $, el, hhmm, setText, setHidden } from '../shared/dom.js';
import { loadPageDeps } from '../shared/backends.js';
import { mountAppBar } from '../shared/appbar.js';
import { watchConnection } from '../shared/connection.js';
import { createBalancerPanel } from '../shared/panel.js';

const NAME_KEY = 'sse-balancer.chat.name';
const USER_MAX = 32;
const TEXT_MAX = 2000;
// The server's rule for names (chat-api.js): no control characters, line breaks or bidi overrides.
// Message text is checked by the server only; its 422 answer is shown inline.
const USER_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const MAX_RENDERED = 1000; // oldest messages leave the DOM beyond this
const NEAR_BOTTOM_PX = 48;
const GROUP_GAP_MS = 5 * 60 * 1000; // consecutive messages of one user within this share a header
const AVATAR_COLOURS = 8;

/** Validates a display name as the server does; returns { ok, value } or { ok: false, error }. */
export function validateName(raw) {
  const value = String(raw ?? '').trim();
  const length = [...value].length;
  if (length === 0) return { ok: false, error: 'Please enter a name.' };
  if (length > USER_MAX) return { ok: false, error: `At most ${USER_MAX} characters (this one has ${length}).` };
  if (USER_FORBIDDEN.test(value)) return { ok: false, error: 'No line breaks, control or text-direction characters, please.' };
  if (!value.isWellFormed()) return { ok: false, error: 'That name contains broken characters.' };
  return { ok: true, value };
}

function loadName() {
  try {
    const stored = localStorage.getItem(NAME_KEY);
    const v = validateName(stored);
    return v.ok ? v.value : '';
  } catch {
    return ''; // storage disabled
  }
}

function saveName(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // storage disabled: the name lasts for this page only
  }
}

function hashString(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function initials(name) {
  const first = [...name.trim()][0] || '?';
  return first.toUpperCase();
}

function avatarClass(name) {
  return `avatar c${hashString(name) % AVATAR_COLOURS}`;
}

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

const state = {
  name: loadName(),
  source: null,
  directory: null,
  seen: new Set(), // ids rendered (or being rendered)
  ownIds: new Set(), // ids the server gave to our own posts
  queue: [],
  flushScheduled: false,
  stick: true, // follow new messages (user is at the bottom)
  unread: 0,
  duplicatesDropped: 0,
  sending: false,
  draftKey: null, // Idempotency-Key of the current draft: a resend of the same draft is stored once
  retryUntil: 0,
  retryTimer: 0,
};

// ---- name ------------------------------------------------------------------

function renderName() {
  setText($('my-name'), state.name || 'choose a name');
  const avatar = $('my-avatar');
  avatar.className = state.name ? `${avatarClass(state.name)} avatar-sm` : 'avatar avatar-sm';
  setText(avatar, state.name ? initials(state.name) : '?');
}

function openNameDialog(error = '') {
  const dialog = $('name-dialog');
  const input = $('name-input');
  input.value = state.name;
  setText($('name-error'), error);
  input.setAttribute('aria-invalid', error ? 'true' : 'false');
  $('name-title').textContent = state.name ? 'Change your name' : 'Join the chat';
  $('name-save').textContent = state.name ? 'Save' : 'Join';
  if (!dialog.open) dialog.showModal();
  input.focus();
  input.select();
}

function setupNameDialog() {
  const dialog = $('name-dialog');
  const input = $('name-input');
  $('name-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const v = validateName(input.value);
    if (!v.ok) {
      setText($('name-error'), v.error);
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    state.name = v.value;
    saveName(v.value);
    renderName();
    dialog.close();
    $('text').focus();
  });
  input.addEventListener('input', () => {
    setText($('name-error'), '');
    input.setAttribute('aria-invalid', 'false');
  });
  $('name-cancel').addEventListener('click', () => dialog.close());
  $('change-name').addEventListener('click', () => openNameDialog());
}

// ---- messages ----------------------------------------------------------------

/**
 * Own messages are the ones this tab posted: the ids of its 201 answers. A
 * display name proves nothing (anyone, or another tab, may post under it).
 * The event may arrive before the answer; reclassifyOwn() then marks it.
 * Kept in memory only: after a reload earlier posts show as anyone's.
 */
function isOwn(id) {
  return id !== null && state.ownIds.has(id);
}

function parseMessage(event) {
  const id = Number(event.lastEventId);
  let user = '?';
  let text = String(event.data);
  let at = null;
  try {
    const parsed = JSON.parse(event.data);
    if (parsed && typeof parsed === 'object') {
      if (typeof parsed.user === 'string') user = parsed.user;
      if (typeof parsed.text === 'string') text = parsed.text;
      if (typeof parsed.at === 'string') {
        const d = new Date(parsed.at);
        if (!Number.isNaN(d.getTime())) at = d;
      }
    }
  } catch {
    // not JSON: shown as sent, as text
  }
  return {
    id: Number.isSafeInteger(id) && event.lastEventId !== '' ? id : null,
    user,
    text,
    at,
    endpoint: event.endpoint,
  };
}

function buildMessage(m) {
  const own = isOwn(m.id);
  const backend = state.directory.indexOf(m.endpoint);
  const when = m.at || new Date();
  const time = el('time', {
    text: sameDay(when, new Date()) ? hhmm(when) : `${when.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${hhmm(when)}`,
    attrs: { datetime: when.toISOString(), title: when.toLocaleString() },
  });
  const via = el('span', {
    className: backend >= 0 ? `tag via tag-c${backend % 6}` : 'tag via',
    text: backend >= 0 ? `#${backend}` : '?',
    attrs: { title: `Delivered through backend ${state.directory.long(m.endpoint)} (${m.endpoint})` },
  });
  const li = el(
    'li',
    { className: own ? 'msg msg--own' : 'msg msg--other', data: { user: m.user, at: when.getTime() } },
    [
      el('span', { className: avatarClass(m.user), text: initials(m.user), attrs: { 'aria-hidden': 'true' } }),
      el('div', { className: 'msg-body' }, [
        el('div', { className: 'meta' }, [el('span', { className: 'author', text: own ? 'You' : m.user }), time, via]),
        el('div', { className: 'bubble' }, [el('p', { className: 'text', text: m.text })]),
      ]),
    ],
  );
  if (m.id !== null) li.dataset.id = String(m.id);
  return li;
}

/** Marks `li` as a continuation when the message before it has the same author shortly before. */
function updateGrouping(li) {
  if (!li) return;
  const prev = li.previousElementSibling;
  const cont =
    prev !== null &&
    prev.dataset.user === li.dataset.user &&
    prev.classList.contains('msg--own') === li.classList.contains('msg--own') &&
    Math.abs(Number(li.dataset.at) - Number(prev.dataset.at)) < GROUP_GAP_MS;
  li.classList.toggle('msg--cont', cont);
}

function insertMessage(m) {
  const list = $('messages');
  const li = buildMessage(m);
  // Normally the new message is the newest; otherwise walk back to its place.
  let after = list.lastElementChild;
  if (m.id !== null) {
    while (after && after.dataset.id !== undefined && Number(after.dataset.id) > m.id) after = after.previousElementSibling;
  }
  if (after) after.after(li);
  else list.prepend(li);
  updateGrouping(li);
  updateGrouping(li.nextElementSibling);
  return li;
}

function enqueue(event) {
  state.queue.push(event);
  if (!state.flushScheduled) {
    state.flushScheduled = true;
    // One DOM update per frame; the timeout covers background tabs (no frames).
    const run = () => flush();
    requestAnimationFrame(run);
    setTimeout(run, 200);
  }
}

function flush() {
  if (!state.flushScheduled) return;
  state.flushScheduled = false;
  const batch = state.queue;
  state.queue = [];
  if (batch.length === 0) return;
  let added = 0;
  let ownAdded = false;
  for (const event of batch) {
    const m = parseMessage(event);
    if (m.id !== null) {
      if (state.seen.has(m.id)) {
        state.duplicatesDropped++;
        continue;
      }
      state.seen.add(m.id);
    }
    const li = insertMessage(m);
    added++;
    if (li.classList.contains('msg--own')) ownAdded = true;
  }
  const list = $('messages');
  while (list.childElementCount > MAX_RENDERED) list.firstElementChild.remove();
  if (state.seen.size > 4 * MAX_RENDERED) {
    // Forget ids far below what is shown; the library's dedup covers recent replays.
    const oldest = Number(list.firstElementChild?.dataset.id);
    if (Number.isFinite(oldest)) for (const id of state.seen) if (id < oldest - MAX_RENDERED) state.seen.delete(id);
  }
  setHidden($('empty'), list.childElementCount > 0);
  if (added === 0) return;
  if (state.stick || ownAdded) {
    scrollToBottom();
  } else {
    state.unread += added;
    const button = $('new-below');
    setText(button, `${state.unread} new message${state.unread === 1 ? '' : 's'} ↓`);
    setHidden(button, false);
  }
}

function scrollToBottom() {
  const scroller = $('scroller');
  scroller.scrollTop = scroller.scrollHeight;
  state.stick = true;
  state.unread = 0;
  setHidden($('new-below'), true);
}

function setupScrolling() {
  const scroller = $('scroller');
  scroller.addEventListener(
    'scroll',
    () => {
      const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
      state.stick = atBottom;
      if (atBottom) {
        state.unread = 0;
        setHidden($('new-below'), true);
      }
    },
    { passive: true },
  );
  $('new-below').addEventListener('click', scrollToBottom);
  // Keep the newest message in view when the viewport changes size.
  new ResizeObserver(() => {
    if (state.stick) scroller.scrollTop = scroller.scrollHeight;
  }).observe(scroller);
}

/** Once a post's id is known: own messages right, others left. */
function reclassifyOwn() {
  for (const li of $('messages').children) {
    const id = li.dataset.id === undefined ? null : Number(li.dataset.id);
    const own = isOwn(id);
    if (own === li.classList.contains('msg--own')) continue;
    li.classList.toggle('msg--own', own);
    li.classList.toggle('msg--other', !own);
    const author = li.querySelector('.author');
    if (author) author.textContent = own ? 'You' : li.dataset.user;
  }
  for (const li of $('messages').children) updateGrouping(li);
}

// ---- sending -----------------------------------------------------------------

function setSendError(message, kind = 'error') {
  const node = $('send-error');
  setText(node, message);
  node.dataset.kind = kind;
}

function updateComposer() {
  const text = $('text').value;
  const length = [...text.trim()].length;
  const counter = $('char-count');
  setHidden(counter, length < TEXT_MAX - 200);
  setText(counter, `${length} / ${TEXT_MAX}`);
  counter.classList.toggle('over', length > TEXT_MAX);
  const waiting = state.retryUntil > Date.now();
  $('send').disabled = state.sending || waiting || length === 0 || length > TEXT_MAX;
}

function startRetryCountdown(seconds) {
  state.retryUntil = Date.now() + seconds * 1000;
  clearInterval(state.retryTimer);
  const tick = () => {
    const left = Math.ceil((state.retryUntil - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(state.retryTimer);
      state.retryTimer = 0;
      setSendError('');
      updateComposer();
      return;
    }
    setSendError(`You are sending too fast. Try again in ${left} s.`, 'rate');
    updateComposer();
  };
  state.retryTimer = setInterval(tick, 250);
  tick();
}

async function send() {
  if (state.sending) return;
  if (!state.name) {
    openNameDialog();
    return;
  }
  const textarea = $('text');
  const raw = textarea.value;
  const text = raw.replace(/\r\n/g, '\n').trim();
  if (text === '') return;
  if ([...text].length > TEXT_MAX) {
    setSendError(`Messages can be at most ${TEXT_MAX} characters.`);
    return;
  }
  if (state.retryUntil > Date.now()) return;

  state.sending = true;
  state.draftKey ??= crypto.randomUUID();
  setSendError('');
  updateComposer();
  $('composer').classList.add('is-sending');
  let response;
  try {
    response = await state.source.fetch('/chat/messages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': state.draftKey },
      body: JSON.stringify({ user: state.name, text }),
      idempotent: true,
    });
  } catch (err) {
    setSendError(`Not sent: no backend could be reached (${err && err.message ? err.message : err}). Your message is kept; try again.`);
    return;
  } finally {
    state.sending = false;
    $('composer').classList.remove('is-sending');
    updateComposer();
  }

  let payload = null;
  try {
    payload = await response.json();
  } catch {
    // no JSON body
  }
  const error = payload && typeof payload.error === 'string' ? payload.error : response.statusText || `HTTP ${response.status}`;
  if (response.status === 201) {
    state.draftKey = null;
    if (payload && Number.isSafeInteger(payload.id)) {
      state.ownIds.add(payload.id);
      reclassifyOwn();
      if (state.seen.has(payload.id)) scrollToBottom();
    }
    if (textarea.value === raw) textarea.value = '';
    setSendError('');
    updateComposer();
    textarea.focus();
    return;
  }
  if (response.status === 429) {
    const header = Number(response.headers.get('Retry-After'));
    const seconds = Number.isFinite(header) && header > 0 ? header : Number(payload && payload.retryAfter) || 1;
    startRetryCountdown(Math.min(seconds, 3600));
    return;
  }
  if (response.status === 422 && payload && payload.field === 'user') {
    openNameDialog(`The server refused this name: ${error}`);
    setSendError('Not sent: choose another name first.');
    return;
  }
  if (response.status === 422) {
    setSendError(`Not sent: ${error}`);
    return;
  }
  if (response.status === 413) {
    setSendError('Not sent: the message is too long.');
    return;
  }
  setSendError(`Not sent (HTTP ${response.status}): ${error}`);
}

function setupComposer() {
  const textarea = $('text');
  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      send();
    }
  });
  textarea.addEventListener('input', () => {
    state.draftKey = null; // a changed draft is a new message
    if ($('send-error').dataset.kind !== 'rate') setSendError('');
    updateComposer();
  });
  updateComposer();
}

// ---- start -------------------------------------------------------------------

async function main() {
  mountAppBar();
  renderName();
  setupNameDialog();
  setupComposer();
  setupScrolling();
  if (!state.name) openNameDialog();

  const deps = await loadPageDeps('chatUrl');
  if (!deps) return;
  const { lib } = deps;
  state.directory = deps.directory;
  // History first: resume after id 0, so every retained message is replayed
  // once, then live. Backends heartbeat every 5 s; 12 s of silence is a stall.
  const source = new lib.BalancedEventSource(state.directory.urls, { heartbeatTimeoutMs: 12_000, lastEventId: '0', share: true });
  state.source = source;
  source.onmessage = enqueue;
  // The server keeps a bounded history; it says when a resume reaches past it.
  let missed = 0;
  source.addEventListener('gap', (event) => {
    let range;
    try {
      range = JSON.parse(event.data);
    } catch {
      return;
    }
    const count = Number(range?.to) - Number(range?.from) + 1;
    if (!Number.isSafeInteger(count) || count <= 0) return;
    missed += count;
    const notice = $('gap-notice');
    notice.textContent = `${missed.toLocaleString()} earlier message${missed === 1 ? ' is' : 's are'} no longer kept by the server.`;
    notice.hidden = false;
  });

  watchConnection(source, { directory: state.directory });
  createBalancerPanel($('panel'), { source, directory: state.directory });

  // For tests and the console: read-only views of what the page shows.
  window.chatApp = Object.freeze({
    source,
    name: () => state.name,
    ids: () => [...$('messages').children].map((li) => Number(li.dataset.id)),
    duplicatesDropped: () => state.duplicatesDropped,
  });
  document.documentElement.dataset.ready = 'true';
}

main();

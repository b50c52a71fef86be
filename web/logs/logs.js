// The live-log page: one BalancedEventSource over every backend's
// /logs/events, a filterable, pausable, virtualised table.
//
// DOM strategy: virtualised. Every line is kept in a JS array (capped at
// 50,000; the oldest are dropped and counted). The table body is a fixed
// row-height viewport holding a spacer as tall as all matching lines and a
// small pool of row elements (the visible rows plus an overscan) that is
// moved and refilled as the user scrolls, so the DOM stays at a few dozen rows
// however many lines are stored. Rendering happens at most once per frame.
//
// Pause: new lines go to a pending buffer and the table is not touched; on
// resume they are appended in order. Filters apply to the stored lines.
// Received text never becomes HTML: only createElement and textContent.

import { $, el, hhmmssms, fmtInt, setText, setHidden, debounce } from '../shared/dom.js';
import { loadPageDeps } from '../shared/backends.js';
import { mountAppBar } from '../shared/appbar.js';
import { watchConnection } from '../shared/connection.js';
import { createBalancerPanel } from '../shared/panel.js';

const CAP = 50_000; // stored lines (also the cap of the pause buffer)
const ROW_H = 24; // px, must match .log-row height in logs.css
const OVERSCAN = 6; // rows rendered above and below the visible ones
const RATE_WINDOW_MS = 5000;
const LEVELS = ['info', 'warn', 'error'];

/** A window over an array that drops from the front in amortised O(1). */
class Deque {
  constructor() {
    this.items = [];
    this.head = 0;
  }
  get length() {
    return this.items.length - this.head;
  }
  get(i) {
    return this.items[this.head + i];
  }
  first() {
    return this.items[this.head];
  }
  last() {
    return this.items[this.items.length - 1];
  }
  push(x) {
    this.items.push(x);
  }
  shift() {
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  clear() {
    this.items = [];
    this.head = 0;
  }
  *[Symbol.iterator]() {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i];
  }
}

const state = {
  directory: null,
  source: null,
  seq: 0, // internal order of stored lines (ids may restart with the server's log)
  lines: new Deque(), // stored lines, oldest first
  view: new Deque(), // the stored lines that match the filter, oldest first
  pending: new Deque(), // lines received while paused
  seen: new Set(), // numeric ids stored or pending (defensive duplicate drop)
  counts: { info: 0, warn: 0, error: 0 },
  received: 0,
  dropped: 0,
  duplicates: 0,
  arrivals: new Deque(), // performance.now() of recent lines, for the rate
  startedAt: performance.now(),
  levels: new Set(LEVELS),
  needle: '', // lower-cased text filter
  filterVersion: 0,
  paused: false,
  follow: true, // keep the newest line in view
  newBelow: 0, // matching lines added while not following
  renderScheduled: false,
  pool: [], // row elements
  spacerHeight: -1,
  offset: -1,
  shiftRows: 0, // matching lines dropped from the top since the last render
  dragging: false, // a pointer is down in the viewport (e.g. on its scrollbar)
};

// ---- lines -------------------------------------------------------------------

function levelOf(value) {
  const l = String(value || '').toLowerCase();
  return LEVELS.includes(l) ? l : 'info';
}

function parseLine(event) {
  const idText = event.lastEventId;
  const id = idText !== '' && /^\d+$/.test(idText) ? Number(idText) : null;
  let ts = '';
  let level = 'info';
  let levelText = 'info';
  let service = '';
  let msg = String(event.data);
  try {
    const p = JSON.parse(event.data);
    if (p && typeof p === 'object') {
      ts = typeof p.ts === 'string' ? p.ts : '';
      levelText = typeof p.level === 'string' ? p.level : 'info';
      level = levelOf(levelText);
      service = typeof p.service === 'string' ? p.service : '';
      msg = typeof p.msg === 'string' ? p.msg : String(event.data);
    }
  } catch {
    // not JSON: the raw data is the message
  }
  return { seq: 0, id, idText, ts, level, levelText, service, msg, backend: state.directory.indexOf(event.endpoint), endpoint: event.endpoint, hay: null };
}

function matches(line) {
  if (!state.levels.has(line.level)) return false;
  if (state.needle === '') return true;
  line.hay ??= `${line.service}\n${line.msg}`.toLowerCase();
  return line.hay.includes(state.needle);
}

/** Adds a line to the stored lines (and the filtered view), dropping the oldest beyond CAP. */
function store(line) {
  line.seq = ++state.seq;
  state.lines.push(line);
  state.counts[line.level]++;
  if (matches(line)) {
    state.view.push(line);
    if (!state.follow) state.newBelow++;
  }
  while (state.lines.length > CAP) {
    const old = state.lines.shift();
    state.counts[old.level]--;
    if (old.id !== null) state.seen.delete(old.id);
    state.dropped++;
    if (state.view.length > 0 && state.view.first() === old) {
      state.view.shift();
      state.shiftRows++; // render() keeps the rows the user is reading in place
    }
  }
}

function onMessage(event) {
  const line = parseLine(event);
  if (line.id !== null) {
    if (state.seen.has(line.id)) {
      state.duplicates++;
      return;
    }
    state.seen.add(line.id);
  }
  state.received++;
  state.arrivals.push(performance.now());
  if (state.paused) {
    state.pending.push(line);
    if (state.pending.length > CAP) {
      const old = state.pending.shift();
      if (old.id !== null) state.seen.delete(old.id);
      state.dropped++;
    }
    return;
  }
  store(line);
  scheduleRender();
}

function rebuildView() {
  state.view.clear();
  for (const line of state.lines) if (matches(line)) state.view.push(line);
  state.filterVersion++;
  state.newBelow = 0;
}

// ---- rendering -----------------------------------------------------------------

function scheduleRender() {
  if (state.renderScheduled) return;
  state.renderScheduled = true;
  const run = () => render();
  requestAnimationFrame(run);
  setTimeout(run, 250); // no frames in a background tab
}

function makeRow() {
  const cells = {
    time: el('span', { className: 'c-time', attrs: { role: 'cell' } }),
    level: el('span', { className: 'c-level', attrs: { role: 'cell' } }, [el('span', { className: 'lvl' })]),
    service: el('span', { className: 'c-service', attrs: { role: 'cell' } }),
    msg: el('span', { className: 'c-msg', attrs: { role: 'cell' } }),
    via: el('span', { className: 'c-via', attrs: { role: 'cell' } }, [el('span', { className: 'tag' })]),
  };
  const node = el('div', { className: 'log-row', attrs: { role: 'row' } }, Object.values(cells));
  return { node, cells, line: null, version: -1 };
}

function formatTs(ts) {
  if (!ts) return '';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : hhmmssms(d);
}

/** The message as text nodes, with each match of the filter in a <mark>. */
function fillMessage(cell, msg, needle) {
  if (needle === '') {
    cell.textContent = msg;
    return;
  }
  const lower = msg.toLowerCase();
  const parts = [];
  let at = 0;
  for (let i = lower.indexOf(needle); i !== -1 && needle.length > 0; i = lower.indexOf(needle, at)) {
    if (i > at) parts.push(msg.slice(at, i));
    parts.push(el('mark', { text: msg.slice(i, i + needle.length) }));
    at = i + needle.length;
  }
  if (at < msg.length) parts.push(msg.slice(at));
  cell.replaceChildren(...parts);
}

function fillRow(row, line) {
  row.line = line;
  row.version = state.filterVersion;
  const { cells, node } = row;
  node.className = `log-row lvl-${line.level}`;
  if (line.id !== null) node.dataset.id = line.idText;
  else delete node.dataset.id;
  node.dataset.level = line.level;
  cells.time.textContent = formatTs(line.ts);
  cells.time.title = line.ts;
  const lvl = cells.level.firstChild;
  lvl.textContent = line.levelText;
  lvl.className = `lvl lvl-${line.level}`;
  fillMessage(cells.service, line.service, state.needle);
  fillMessage(cells.msg, line.msg, state.needle);
  cells.msg.title = line.msg;
  const tag = cells.via.firstChild;
  tag.textContent = line.backend >= 0 ? `#${line.backend}` : '?';
  tag.className = line.backend >= 0 ? `tag tag-c${line.backend % 6}` : 'tag';
  tag.title = line.endpoint || '';
}

function render() {
  if (!state.renderScheduled) return;
  state.renderScheduled = false;
  const viewport = $('viewport');
  const total = state.view.length;

  const height = total * ROW_H;
  if (height !== state.spacerHeight) {
    state.spacerHeight = height;
    $('spacer').style.height = `${height}px`; // CSSOM, allowed by style-src 'self'
  }
  if (state.follow) {
    // While paused the view stays where it is (resuming jumps to the newest).
    const bottom = Math.max(0, height - viewport.clientHeight);
    if (!state.paused && !state.dragging && viewport.scrollTop !== bottom) viewport.scrollTop = bottom;
  } else if (state.shiftRows > 0) {
    viewport.scrollTop -= state.shiftRows * ROW_H;
  }
  state.shiftRows = 0;

  const visible = Math.ceil(viewport.clientHeight / ROW_H) + 1;
  const top = Math.floor(viewport.scrollTop / ROW_H);
  const first = Math.max(0, Math.min(top - OVERSCAN, total - visible - OVERSCAN));
  const count = Math.max(0, Math.min(total - first, visible + 2 * OVERSCAN));

  const rows = $('rows');
  const offset = first * ROW_H;
  if (offset !== state.offset) {
    state.offset = offset;
    rows.style.transform = `translateY(${offset}px)`;
  }
  while (state.pool.length < count) state.pool.push(makeRow());
  for (let k = 0; k < count; k++) {
    const row = state.pool[k];
    const line = state.view.get(first + k);
    if (row.line !== line || row.version !== state.filterVersion) fillRow(row, line);
    if (row.node.parentNode !== rows) rows.append(row.node);
  }
  for (let k = count; k < state.pool.length; k++) {
    const row = state.pool[k];
    if (row.node.parentNode) row.node.remove();
    row.line = null;
  }

  setHidden($('no-rows'), total > 0);
  if (total === 0) {
    setText($('no-rows'), state.lines.length === 0 ? (state.paused ? 'Paused. New lines are buffered.' : 'Waiting for log lines…') : 'No stored line matches the filter.');
  }
  updateJump();
}

function updateJump() {
  const jump = $('jump');
  setHidden(jump, state.follow || state.paused);
  if (!state.follow) setText(jump, state.newBelow > 0 ? `${fmtInt(state.newBelow)} new ↓ Jump to latest` : 'Jump to latest ↓');
}

function atBottom(viewport) {
  return viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - ROW_H / 2;
}

function setupViewport() {
  const viewport = $('viewport');
  viewport.addEventListener(
    'scroll',
    () => {
      const bottom = atBottom(viewport);
      if (bottom !== state.follow) {
        state.follow = bottom;
        if (bottom) state.newBelow = 0;
      }
      // Render now: the rows must not lag a frame behind the scroll position.
      state.renderScheduled = true;
      render();
    },
    { passive: true },
  );
  // Scrolling up stops following at once, before the scroll event arrives.
  viewport.addEventListener(
    'wheel',
    (event) => {
      if (event.deltaY < 0 && state.follow && viewport.scrollTop > 0) {
        state.follow = false;
        updateJump();
      }
    },
    { passive: true },
  );
  viewport.addEventListener('pointerdown', () => (state.dragging = true));
  const release = () => {
    if (!state.dragging) return;
    state.dragging = false;
    scheduleRender();
  };
  addEventListener('pointerup', release);
  addEventListener('pointercancel', release);
  viewport.addEventListener('keydown', (event) => {
    if (['ArrowUp', 'PageUp', 'Home'].includes(event.key) && state.follow) {
      state.follow = false;
      updateJump();
    }
  });
  $('jump').addEventListener('click', () => {
    state.follow = true;
    state.newBelow = 0;
    scheduleRender();
    viewport.focus({ preventScroll: true });
  });
  new ResizeObserver(() => scheduleRender()).observe(viewport);
}

// ---- controls -------------------------------------------------------------------

function setPaused(paused) {
  if (paused === state.paused) return;
  state.paused = paused;
  const button = $('pause');
  button.setAttribute('aria-pressed', String(paused));
  button.classList.toggle('is-paused', paused);
  setText($('pause-label'), paused ? 'Resume' : 'Pause');
  setHidden($('paused-bar'), !paused);
  updateJump();
  if (!paused) {
    const buffered = state.pending;
    state.pending = new Deque();
    for (const line of buffered) store(line);
    scheduleRender();
  }
  updateReadouts();
}

function setupControls() {
  for (const level of LEVELS) {
    const box = $(`lvl-${level}`);
    box.addEventListener('change', () => {
      if (box.checked) state.levels.add(level);
      else state.levels.delete(level);
      rebuildView();
      scheduleRender();
      updateReadouts();
    });
  }
  const filter = $('filter');
  const applyText = () => {
    const needle = filter.value.trim().toLowerCase();
    if (needle === state.needle) return;
    state.needle = needle;
    rebuildView();
    scheduleRender();
    updateReadouts();
  };
  filter.addEventListener('input', debounce(applyText, 120));
  filter.addEventListener('search', applyText); // the clear (x) button
  filter.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') applyText();
    if (event.key === 'Escape') {
      filter.value = '';
      applyText();
    }
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === '/' && document.activeElement !== filter && !(event.target instanceof HTMLInputElement)) {
      event.preventDefault();
      filter.focus();
    }
  });
  $('pause').addEventListener('click', () => setPaused(!state.paused));
  $('paused-bar').addEventListener('click', () => setPaused(false));
  $('clear').addEventListener('click', () => {
    state.lines.clear();
    state.view.clear();
    state.pending.clear();
    state.seen.clear();
    state.counts = { info: 0, warn: 0, error: 0 };
    state.filterVersion++;
    state.follow = true;
    state.newBelow = 0;
    scheduleRender();
    updateReadouts();
  });
}

function updateReadouts() {
  const now = performance.now();
  while (state.arrivals.length > 0 && state.arrivals.first() < now - RATE_WINDOW_MS) state.arrivals.shift();
  const span = Math.min(RATE_WINDOW_MS, now - state.startedAt) / 1000;
  const rate = span > 0.5 ? state.arrivals.length / span : 0;
  setText($('rate'), rate >= 10 ? fmtInt(Math.round(rate)) : rate.toFixed(1));
  setText($('count-received'), fmtInt(state.received));
  setText($('count-stored'), fmtInt(state.lines.length));
  setText($('count-dropped'), fmtInt(state.dropped));
  setText($('count-shown'), fmtInt(state.view.length));
  for (const level of LEVELS) setText($(`n-${level}`), fmtInt(state.counts[level]));
  if (state.paused) {
    const n = state.pending.length;
    setText($('buffered'), fmtInt(n));
    setText($('buffered-unit'), `new line${n === 1 ? '' : 's'} buffered`);
  }
}

// ---- start ---------------------------------------------------------------------

async function main() {
  mountAppBar();
  setText($('count-cap'), `/ ${fmtInt(CAP)}`);
  setupViewport();
  setupControls();
  scheduleRender();
  setInterval(updateReadouts, 500);

  const deps = await loadPageDeps('logsUrl');
  if (!deps) return;
  const { lib } = deps;
  state.directory = deps.directory;
  // Live from now on (no history). Backends heartbeat every 5 s; 12 s of silence is a stall.
  const source = new lib.BalancedEventSource(state.directory.urls, { heartbeatTimeoutMs: 12_000, share: true });
  state.source = source;
  source.onmessage = onMessage;

  watchConnection(source, { directory: state.directory });
  createBalancerPanel($('panel'), { source, directory: state.directory });

  // For tests and the console: read-only views of the page's state.
  window.logView = Object.freeze({
    source,
    cap: CAP,
    rowHeight: ROW_H,
    /** Ids of the stored lines, oldest first. */
    ids: () => Array.from(state.lines, (l) => l.id),
    /** Ids of the lines buffered while paused. */
    pendingIds: () => Array.from(state.pending, (l) => l.id),
    /** Ids of the lines that match the filter, oldest first. */
    viewIds: () => Array.from(state.view, (l) => l.id),
    stats: () => ({
      received: state.received,
      stored: state.lines.length,
      shown: state.view.length,
      pending: state.pending.length,
      dropped: state.dropped,
      duplicates: state.duplicates,
      paused: state.paused,
      follow: state.follow,
      domRows: $('rows').childElementCount,
    }),
  });
  document.documentElement.dataset.ready = 'true';
}

main();

// Small DOM and formatting helpers shared by the chat and log pages.
//
// Nothing here ever parses HTML: every node is made with createElement and
// every piece of text is set with textContent, so text that came over the
// network can never become markup.

/** document.getElementById, throwing when the page lacks the element. */
export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

/**
 * createElement with a class, text, attributes, data-* values and children.
 * @param {string} tag
 * @param {{ className?: string, text?: unknown, attrs?: Record<string, unknown>, data?: Record<string, unknown> }} [props]
 * @param {(Node | string)[]} [children] strings become text nodes
 */
export function el(tag, { className, text, attrs, data } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
  if (data) for (const [k, v] of Object.entries(data)) node.dataset[k] = String(v);
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const pad2 = (n) => String(n).padStart(2, '0');

/** 14:03 (local time). */
export function hhmm(date) {
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}`;
}

/** 14:03:07 (local time). */
export function hhmmss(date) {
  return `${hhmm(date)}:${pad2(date.getSeconds())}`;
}

/** 14:03:07.042 (local time). */
export function hhmmssms(date) {
  return `${hhmmss(date)}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

const numberFormat = new Intl.NumberFormat('en-US');
/** 12,345 */
export function fmtInt(n) {
  return numberFormat.format(n);
}

/** "1.2 s", "350 ms" */
export function fmtMs(ms) {
  if (ms >= 10_000) return `${Math.round(ms / 1000)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

/** Calls fn at most once per `ms`, with the latest arguments, trailing. */
export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Sets a node's text only when it differs (no needless DOM mutations). */
export function setText(node, text) {
  const value = String(text);
  if (node.textContent !== value) node.textContent = value;
}

/** Toggles `hidden` only when it differs. */
export function setHidden(node, hidden) {
  if (node.hidden !== hidden) node.hidden = hidden;
}

/**
 * Replaces the `prefix-*` class of a node with `prefix-value` (value reduced
 * to [a-z0-9-], so a server-sent string can never inject an odd class name).
 */
export function setVariant(node, prefix, value) {
  const clean = String(value).toLowerCase().replace(/[^a-z0-9-]/g, '');
  const wanted = `${prefix}-${clean}`;
  if (node.classList.contains(wanted)) return;
  for (const c of [...node.classList]) if (c.startsWith(`${prefix}-`)) node.classList.remove(c);
  node.classList.add(wanted);
}

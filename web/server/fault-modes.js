// The fault modes a backend can be put in (setMode), their options, and the
// answers of the modes that never stream.

/** Fault modes accepted by setMode(). */
export const MODES = Object.freeze([
  'ok',
  'status-500',
  'status-204',
  'status-404',
  'bad-content-type',
  'stall',
  'down',
  'slow-accept',
  'drop-after',
  'reset-after',
]);

const STATUS_MODES = { 'status-500': 500, 'status-204': 204, 'status-404': 404 };

/** Options each mode accepts in setMode(i, mode, options); other modes take none. */
const MODE_OPTIONS = Object.freeze({
  'slow-accept': ['delayMs'],
  'drop-after': ['count'],
  'reset-after': ['count'],
});

/** Default number of events a 'drop-after' / 'reset-after' stream carries. */
const DEFAULT_END_AFTER_COUNT = 1;

/** Longest delay setTimeout() honours (larger values fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How long a 'bad-content-type' response stays open before it is ended. */
const BAD_CONTENT_TYPE_OPEN_MS = 300;

export function assertMode(mode) {
  if (!MODES.includes(mode)) {
    throw new TypeError(`unknown backend mode ${JSON.stringify(mode)}; expected one of ${MODES.join(', ')}`);
  }
}

export function isPlainObject(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A finite number of milliseconds in [min, 2^31-1]; `what` names it in errors. */
export function checkMs(value, what, min = 0) {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number of milliseconds, got ${typeof value}`);
  if (!Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new RangeError(`${what} must be a finite number of milliseconds in [${min}, ${MAX_TIMER_MS}], got ${value}`);
  }
  return value;
}

/** The option keys given to `mode`; a TypeError for options it does not take. */
function givenOptions(mode, options) {
  if (options !== undefined && options !== null && !isPlainObject(options)) {
    throw new TypeError(`options of mode ${JSON.stringify(mode)} must be a plain object, got ${Array.isArray(options) ? 'an array' : typeof options}`);
  }
  const given = options ? Object.keys(options).filter((k) => options[k] !== undefined) : [];
  const allowed = MODE_OPTIONS[mode] || [];
  for (const key of given) {
    if (!allowed.includes(key)) {
      throw new TypeError(
        allowed.length === 0
          ? `mode ${JSON.stringify(mode)} takes no options, got ${JSON.stringify(key)}`
          : `unknown option ${JSON.stringify(key)} for mode ${JSON.stringify(mode)}; expected ${allowed.join(', ')}`,
      );
    }
  }
  return given;
}

/**
 * Validate the options of setMode(i, mode, options) and return the settings the
 * backend stores with the mode ({} for modes without options).
 */
export function modeSettings(mode, options, slowAcceptMs) {
  const given = givenOptions(mode, options);
  if (mode === 'slow-accept') {
    const delayMs = given.includes('delayMs') ? checkMs(options.delayMs, 'delayMs') : slowAcceptMs;
    return { delayMs };
  }
  if (mode === 'drop-after' || mode === 'reset-after') {
    let count = DEFAULT_END_AFTER_COUNT;
    if (given.includes('count')) {
      count = options.count;
      if (typeof count !== 'number') throw new TypeError(`count must be a number of events, got ${typeof count}`);
      if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
    }
    return { count };
  }
  return {};
}

/**
 * Answers a stream request in a mode that never streams (a status code, or a
 * response of the wrong type); false for the other modes. `timers` holds the
 * backend's timers, cleared when it goes down.
 */
export function answerFault(res, mode, timers) {
  if (STATUS_MODES[mode]) {
    res.status(STATUS_MODES[mode]);
    if (mode === 'status-204') res.end();
    else res.type('text/plain').send(`${STATUS_MODES[mode]} (fault mode ${mode})\n`);
    return true;
  }
  if (mode !== 'bad-content-type') return false;
  // setHeader (not res.set) so Express does not append a charset.
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Cache-Control', 'no-cache');
  res.flushHeaders();
  res.write('this is not an event stream\n');
  const t = setTimeout(() => {
    timers.delete(t);
    res.end('bye\n');
  }, BAD_CONTENT_TYPE_OPEN_MS);
  timers.add(t);
  res.on('close', () => {
    clearTimeout(t);
    timers.delete(t);
  });
  return true;
}

/** Abort a response's connection with a TCP reset (RST) rather than a FIN. */
export function resetConnection(req, res) {
  const socket = res.socket || req.socket;
  if (!socket || socket.destroyed) {
    res.destroy();
    return;
  }
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

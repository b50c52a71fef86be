// Writes realistic application log lines to a store channel (default `logs`)
// at a configurable rate, as `message` events whose data is JSON:
//
//   { "ts": "2026-11-26T22:54:50.123Z", "level": "info" | "warn" | "error",
//     "service": "orders", "msg": "GET /api/orders/48213 200 23ms" }
//
// Levels come out about 85 % info, 12 % warn, 3 % error. Lines are written in
// ticks (at most 20 per second, each carrying the lines due by then); a tick
// is skipped while the previous one's appends are still pending (e.g. Redis is
// slow or down), so nothing piles up. stop() clears the one timer.
// With `active` (a function), a tick writes only while it returns true and
// owes nothing for the time it returned false: main.js passes the log's lease
// (generator-lease.js), so that of the processes sharing one Redis only one
// writes at a time.

export const MAX_LOG_RATE = 1000;
const MIN_TICK_MS = 50;

/** Seedable PRNG (mulberry32) so tests can ask for a reproducible sequence. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SERVICES = ['api-gateway', 'auth', 'orders', 'payments', 'inventory', 'search', 'notifications', 'billing', 'users', 'web'];
const ROUTES = {
  'api-gateway': ['GET /api/v1/status', 'GET /api/v1/config', 'POST /api/v1/events'],
  auth: ['POST /auth/login', 'POST /auth/token/refresh', 'POST /auth/logout', 'GET /auth/.well-known/jwks.json'],
  orders: ['GET /api/orders/{id}', 'GET /api/orders?page={n}', 'POST /api/orders', 'PATCH /api/orders/{id}'],
  payments: ['POST /api/payments', 'GET /api/payments/{id}', 'POST /api/payments/{id}/refund'],
  inventory: ['GET /api/stock/{sku}', 'PUT /api/stock/{sku}', 'GET /api/warehouses'],
  search: ['GET /api/search?q={q}', 'GET /api/suggest?q={q}'],
  notifications: ['POST /api/notify/email', 'POST /api/notify/push', 'GET /api/notify/preferences'],
  billing: ['GET /api/invoices/{id}', 'GET /api/invoices?customer={id}', 'POST /api/invoices/{id}/pay'],
  users: ['GET /api/users/{id}', 'PATCH /api/users/{id}', 'GET /api/users/{id}/avatar'],
  web: ['GET /', 'GET /static/app.{hash}.js', 'GET /static/app.{hash}.css', 'GET /checkout'],
};
const TABLES = ['orders', 'order_items', 'customers', 'payments', 'stock_levels', 'sessions', 'invoices', 'users'];
const SERVICE_TABLES = {
  'api-gateway': ['sessions'],
  auth: ['sessions', 'users'],
  orders: ['orders', 'order_items', 'customers'],
  payments: ['payments', 'orders'],
  inventory: ['stock_levels'],
  search: ['stock_levels', 'orders'],
  notifications: ['users', 'customers'],
  billing: ['invoices', 'payments', 'customers'],
  users: ['users', 'sessions'],
  web: ['sessions'],
};
const QUERIES = [
  (r, t) => `SELECT * FROM ${t} WHERE id = $1`,
  (r, t) => `SELECT id, status FROM ${t} WHERE customer_id = $1 ORDER BY created_at DESC LIMIT ${pick(r, [10, 20, 50])}`,
  (r, t) => `UPDATE ${t} SET updated_at = now() WHERE id = $1`,
  (r, t) => `INSERT INTO ${t} VALUES ($1, $2, $3)`,
  (r, t) => `DELETE FROM ${t} WHERE expires_at < now()`,
];
const WORDS = ['red shoes', 'usb-c cable', 'coffee', 'garden chair', 'headphones', 'desk lamp', 'winter jacket', 'tent'];
const JOBS = ['send-email', 'rebuild-search-index', 'expire-sessions', 'nightly-invoices', 'sync-stock', 'resize-avatars'];

function pick(r, list) {
  return list[Math.floor(r() * list.length)];
}
function int(r, lo, hi) {
  return lo + Math.floor(r() * (hi - lo + 1));
}
function ip(r) {
  // Documentation ranges (RFC 5737): realistic-looking, never real clients.
  return `${pick(r, ['192.0.2', '198.51.100', '203.0.113'])}.${int(r, 1, 254)}`;
}
function hex(r, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
  return s;
}
function route(r, service) {
  return pick(r, ROUTES[service])
    .replace('{id}', () => String(int(r, 1000, 99999)))
    .replace('{n}', () => String(int(r, 1, 40)))
    .replace('{sku}', () => `SKU-${int(r, 10000, 99999)}`)
    .replace('{q}', () => encodeURIComponent(pick(r, WORDS)).replace(/%20/g, '+'))
    .replace('{hash}', () => hex(r, 8));
}

// Each maker returns a message for its level; weights are relative.
const INFO = [
  [40, (r, s) => `${route(r, s)} ${pick(r, [200, 200, 200, 200, 201, 204, 304])} ${int(r, 2, 180)}ms`],
  [12, (r, s) => `db query ${(r() * 12 + 0.3).toFixed(1)}ms rows=${int(r, 0, 50)}: ${pick(r, QUERIES)(r, pick(r, SERVICE_TABLES[s]))}`],
  [10, (r) => `cache hit key=${pick(r, ['user', 'session', 'product', 'cart', 'price'])}:${int(r, 1, 99999)} (${int(r, 1, 900)}µs)`],
  [5, (r) => `cache miss key=${pick(r, ['product', 'price', 'search'])}:${int(r, 1, 99999)}, loaded in ${int(r, 3, 60)}ms`],
  [6, (r) => `user ${int(r, 1000, 99999)} logged in from ${ip(r)} (${pick(r, ['password', 'sso', 'passkey'])})`],
  [4, (r) => `token refreshed for session ${hex(r, 12)}`],
  [5, (r) => `job ${pick(r, JOBS)} completed in ${int(r, 40, 4000)}ms`],
  [3, (r) => `GC young generation pause ${(r() * 8 + 0.5).toFixed(1)}ms, heap ${int(r, 180, 900)}MB`],
  [3, (r) => `connection pool: ${int(r, 2, 30)}/${50} in use`],
  [2, (r) => `published ${pick(r, ['order.created', 'payment.captured', 'stock.updated', 'user.updated'])} to ${pick(r, ['kafka', 'nats'])} in ${int(r, 1, 15)}ms`],
];
const WARN = [
  [30, (r, s) => `${route(r, s)} ${pick(r, [400, 401, 403, 404, 404, 409, 422, 429])} ${int(r, 2, 300)}ms`],
  [15, (r, s) => `slow request ${route(r, s)} took ${int(r, 1200, 4800)}ms`],
  [15, (r, s) => `slow query ${int(r, 500, 3000)}ms: ${pick(r, QUERIES)(r, pick(r, SERVICE_TABLES[s]))}`],
  [10, (r) => `failed login for user ${pick(r, ['admin', 'root', 'test', `u${int(r, 1000, 9999)}`])} from ${ip(r)} (${int(r, 2, 9)} attempts)`],
  [10, (r) => `GC old generation pause ${int(r, 120, 600)}ms, heap ${int(r, 1400, 3800)}MB of 4096MB`],
  [10, (r) => `retrying call to ${pick(r, ['payment-provider', 'smtp-relay', 'geo-ip', 'tax-service'])} (attempt ${int(r, 2, 3)}/3) after ${pick(r, ['timeout', 'HTTP 503', 'ECONNRESET'])}`],
  [10, (r) => `connection pool: ${int(r, 45, 50)}/50 in use, ${int(r, 1, 20)} waiting`],
  [5, (r) => `certificate for ${pick(r, ['api.example.com', 'auth.example.com'])} expires in ${int(r, 3, 14)} days`],
];
const ERROR = [
  [35, (r, s) => `${route(r, s)} ${pick(r, [500, 502, 503, 504])} ${int(r, 30, 30000)}ms: ${pick(r, ['upstream timeout', 'connection reset by peer', 'internal error', 'no healthy upstream'])}`],
  [20, (r) => `db error: ${pick(r, ['connection refused', 'deadlock detected', 'too many connections', 'canceling statement due to statement timeout'])} (${pick(r, TABLES)})`],
  [15, (r) => `payment ${hex(r, 10)} failed: provider answered ${pick(r, ['card_declined', 'processing_error', 'HTTP 500'])}`],
  [15, (r) => `unhandled ${pick(r, ['TypeError', 'RangeError', 'NullPointerException'])}: ${pick(r, ["Cannot read properties of undefined (reading 'id')", 'Invalid array length', 'value is null'])}`],
  [10, (r) => `job ${pick(r, JOBS)} failed after ${int(r, 2, 5)} attempts; moved to dead-letter queue`],
  [5, (r) => `out of memory: worker ${int(r, 1, 16)} restarted (rss ${int(r, 3800, 4200)}MB)`],
];

function weighted(r, table) {
  const total = table.reduce((n, [w]) => n + w, 0);
  let x = r() * total;
  for (const [w, make] of table) {
    if ((x -= w) < 0) return make;
  }
  return table[table.length - 1][1];
}

/**
 * One log line (an object, not yet serialised).
 * @param {() => number} random
 * @param {number} [now]
 */
export function makeLogLine(random = Math.random, now = Date.now()) {
  const x = random();
  const level = x < 0.85 ? 'info' : x < 0.97 ? 'warn' : 'error';
  const service = pick(random, SERVICES);
  const make = weighted(random, level === 'info' ? INFO : level === 'warn' ? WARN : ERROR);
  return { ts: new Date(now).toISOString(), level, service, msg: make(random, service) };
}

function checkRate(rate) {
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > MAX_LOG_RATE) {
    throw new RangeError(`log rate must be a number of lines per second in [0, ${MAX_LOG_RATE}], got ${rate}`);
  }
  return rate;
}

/** The default onError: console.error, at most once per 5 s. */
function throttledReport(channel) {
  let lastErrorAt = 0;
  return (err) => {
    if (Date.now() - lastErrorAt < 5000) return;
    lastErrorAt = Date.now();
    console.error(`log-generator: could not write to ${channel}: ${err && err.message ? err.message : err}`);
  };
}

/**
 * @param {{
 *   store: { append: (channel: string, type: string, data: string) => Promise<unknown> },
 *   channel?: string,
 *   rate?: number,          // lines per second, 0 = off (default 20)
 *   random?: () => number,  // default Math.random; mulberry32(seed) for a fixed sequence
 *   now?: () => number,
 *   onError?: (err: Error) => void,
 *   active?: () => boolean, // write only while true (default: always)
 * }} options
 */
export function startLogGenerator({ store, channel = 'logs', rate = 20, random = Math.random, now = Date.now, onError, active = () => true } = {}) {
  if (!store || typeof store.append !== 'function') throw new TypeError('startLogGenerator: a store is required');
  if (typeof active !== 'function') throw new TypeError('startLogGenerator: active must be a function');
  checkRate(rate);
  let timer = null;
  let stopped = false;
  let busy = false;
  let due = 0; // fractional lines owed
  let last = 0;
  let written = 0;
  let skipped = 0;
  const report = onError || throttledReport(channel);

  const schedule = () => {
    if (timer) clearInterval(timer);
    timer = null;
    if (stopped || rate === 0) return;
    last = now();
    due = 0;
    timer = setInterval(tick, Math.max(MIN_TICK_MS, Math.floor(1000 / rate)));
    timer.unref?.();
  };

  async function tick() {
    const t = now();
    due = Math.min(due + ((t - last) / 1000) * rate, Math.max(1, rate)); // never more than 1 s of backlog
    last = t;
    if (!active()) {
      due = 0; // another process writes the log meanwhile: nothing is owed
      return;
    }
    if (busy) {
      skipped++;
      return;
    }
    const n = Math.floor(due);
    if (n === 0) return;
    due -= n;
    busy = true;
    try {
      for (let i = 0; i < n && !stopped && active(); i++) {
        await store.append(channel, 'message', JSON.stringify(makeLogLine(random, now())));
        written++;
      }
    } catch (err) {
      if (!stopped) report(err);
    } finally {
      busy = false;
    }
  }

  schedule();
  return {
    get rate() {
      return rate;
    },
    /** Change the rate (0 pauses). */
    setRate(next) {
      rate = checkRate(next);
      schedule();
    },
    get written() {
      return written;
    },
    get skippedTicks() {
      return skipped;
    },
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

// The reference server's input handling, from plain Node requests (no
// browser): every bad request gets a clear 4xx with a message and stores
// nothing; good ones are stored exactly once; rate limit, idempotency and CORS
// preflight behave as documented in web/server/README.md.
import { test, expect } from '@playwright/test';
import { startServer } from '../../web/server/main.js';

const EVIL = 'http://evil.example';
let server;

test.beforeEach(async () => {
  server = await startServer({ portBase: 0, logRate: 0, backends: 2 });
});
test.afterEach(async () => {
  await server.stop();
});

const messagesUrl = (i = 0) => server.backends[i].messagesUrl;
const chatUrl = (i = 0) => server.backends[i].chatUrl;

/** POST a raw body; returns { status, headers, json, text }. */
async function postRaw(body, { headers = {}, contentType = 'application/json', backend = 0 } = {}) {
  const h = { ...headers };
  if (contentType !== null) h['Content-Type'] = contentType;
  const res = await fetch(messagesUrl(backend), { method: 'POST', headers: h, body, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, json, text };
}

const postJson = (value, options) => postRaw(JSON.stringify(value), options);

/** GET the chat stream; for an error answer returns its text, for a stream reads until `until` appears. */
async function getStream({ query = '', headers = {}, until = null, backend = 0 } = {}) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 5000);
  try {
    const res = await fetch(chatUrl(backend) + query, { headers, signal: ac.signal });
    const type = res.headers.get('content-type') || '';
    if (!type.startsWith('text/event-stream')) return { status: res.status, type, text: await res.text() };
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      text += decoder.decode(chunk, { stream: true });
      if (until === null || text.includes(until)) break;
    }
    ac.abort();
    return { status: res.status, type, text };
  } finally {
    clearTimeout(timer);
  }
}

/** Nothing at all was stored on the chat channel. */
async function expectNothingStored() {
  expect(await server.store.lastId('chat')).toBe(0);
  expect(await server.store.since('chat', 0)).toEqual([]);
}

/** A JSON error answer: the status, an `error` message, no caching; `field` when given. */
function expectJsonError(r, status, field) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  expect(typeof r.json?.error).toBe('string');
  expect(r.json.error.length).toBeGreaterThan(5);
  if (field !== undefined) expect(r.json.field).toBe(field);
}

test('bad posts get a clear 4xx and store nothing', async () => {
  const before = await server.store.lastId('chat');
  expect(before).toBe(0);

  // 413: over 4096 bytes, as valid JSON, as garbage, and chunked without a Content-Length.
  let r = await postJson({ user: 'ann', text: 'x'.repeat(4100) });
  expectJsonError(r, 413);
  expect(r.json.error).toContain('4096');
  r = await postRaw('{'.repeat(5000));
  expectJsonError(r, 413);
  const chunks = [new TextEncoder().encode('{"user":"ann","text":"'), new TextEncoder().encode('y'.repeat(5000)), new TextEncoder().encode('"}')];
  const chunked = await fetch(messagesUrl(), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: new ReadableStream({
      pull(c) {
        if (chunks.length) c.enqueue(chunks.shift());
        else c.close();
      },
    }),
    duplex: 'half',
    signal: AbortSignal.timeout(5000),
  });
  expect(chunked.status).toBe(413);
  expect((await chunked.json()).error).toContain('4096');

  // 400: not JSON.
  for (const body of ['{"user": "ann", "text": ', 'not json', "{'user': 'ann'}", '{"user":"ann","text":"hi"}}', '\u00ff']) {
    r = await postRaw(body);
    expectJsonError(r, 400);
    expect(r.json.error).toMatch(/not valid JSON/);
  }
  // An empty body is not JSON either.
  r = await postRaw('');
  expectJsonError(r, 400);
  expect(r.json.error).toMatch(/empty/);

  // 422: missing / wrong / unknown fields, named.
  const cases = [
    [{ text: 'hi' }, 'user', /"user" is required/],
    [{ user: 'ann' }, 'text', /"text" is required/],
    [{ user: 42, text: 'hi' }, 'user', /must be a string, got number/],
    [{ user: null, text: 'hi' }, 'user', /must be a string, got null/],
    [{ user: 'ann', text: ['hi'] }, 'text', /must be a string, got an array/],
    [{ user: 'ann', text: { t: 1 } }, 'text', /must be a string, got object/],
    [{ user: 'ann', text: 'hi', admin: true }, 'admin', /unknown field "admin"/],
    [{ user: '   ', text: 'hi' }, 'user', /must not be empty/],
    [{ user: 'ann', text: '' }, 'text', /must not be empty/],
    [{ user: 'a'.repeat(33), text: 'hi' }, 'user', /at most 32/],
    [{ user: 'ann', text: 't'.repeat(2001) }, 'text', /at most 2000/],
    [{ user: 'an\nn', text: 'hi' }, 'user', /must not contain/],
    [{ user: 'ann\u202e', text: 'hi' }, 'user', /must not contain/],
    [{ user: 'ann', text: 'bell\u0007' }, 'text', /must not contain/],
    [{ user: 'ann', text: 'lone \ud800' }, 'text', /lone surrogate/],
    [[{ user: 'ann', text: 'hi' }], 'body', /JSON object/],
    ['just a string', 'body', /JSON object/],
    [null, 'body', /JSON object/],
  ];
  for (const [body, field, message] of cases) {
    r = await postJson(body);
    expectJsonError(r, 422, field);
    expect(r.json.error).toMatch(message);
  }

  // 415: not application/json (a valid JSON body does not make it so).
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', null]) {
    r = await postRaw(JSON.stringify({ user: 'ann', text: 'hi' }), { contentType: type });
    expectJsonError(r, 415);
    expect(r.json.error).toMatch(/Content-Type must be application\/json/);
  }

  // 400: malformed Idempotency-Key.
  for (const key of ['has space', 'k'.repeat(201)]) {
    r = await postJson({ user: 'ann', text: 'hi' }, { headers: { 'Idempotency-Key': key } });
    expectJsonError(r, 400, 'Idempotency-Key');
  }

  // 403: an Origin the backends do not allow (an allowed page origin passes further down).
  r = await postJson({ user: 'ann', text: 'hi' }, { headers: { Origin: EVIL } });
  expectJsonError(r, 403);
  expect(r.json.error).toContain(EVIL);
  expect(r.headers.get('access-control-allow-origin')).toBeNull();

  await expectNothingStored();
  // ...and the stream has nothing to replay either.
  const s = await getStream({ query: '?lastEventId=0', until: ': ok' });
  expect(s.status).toBe(200);
  expect(s.text).not.toMatch(/^id: /m);
});

test('non-numeric resume ids on the SSE endpoint -> 400 with a clear message', async () => {
  const bad = ['abc', '-1', '1e3', '9'.repeat(30), '1.5', '0x10', '+1', '١٢'];
  for (const value of bad) {
    const q = await getStream({ query: `?lastEventId=${encodeURIComponent(value)}` });
    expect(q.status, `?lastEventId=${value}`).toBe(400);
    expect(q.type).toMatch(/^text\/plain/);
    expect(q.text).toContain('lastEventId query parameter must be a non-negative integer event id');
    expect(q.text).toContain(JSON.stringify(value.slice(0, 40)));

    if (/^[\x20-\x7e]*$/.test(value)) {
      // (fetch cannot send a header value outside Latin-1)
      const h = await getStream({ headers: { 'Last-Event-ID': value } });
      expect(h.status, `Last-Event-ID: ${value}`).toBe(400);
      expect(h.type).toMatch(/^text\/plain/);
      expect(h.text).toContain('Last-Event-ID header must be a non-negative integer event id');
      expect(h.text).toContain(JSON.stringify(value.slice(0, 40)));
    }
  }
  // A repeated parameter is not an id either.
  const rep = await getStream({ query: '?lastEventId=1&lastEventId=2' });
  expect(rep.status).toBe(400);
  expect(rep.text).toContain('a repeated parameter');
  // Digits past MAX_SAFE_INTEGER.
  const big = await getStream({ query: '?lastEventId=9007199254740993' });
  expect(big.status).toBe(400);

  // The valid forms still stream.
  for (const ok of [{ query: '?lastEventId=0' }, { headers: { 'Last-Event-ID': '5' } }, { query: '' }]) {
    const s = await getStream({ ...ok, until: ': ok' });
    expect(s.status).toBe(200);
    expect(s.type).toMatch(/^text\/event-stream/);
  }
  await expectNothingStored();
});

test('disallowed Origin -> 403 on the SSE endpoint, the POST and its preflight; allowed origins pass', async () => {
  const s = await getStream({ headers: { Origin: EVIL } });
  expect(s.status).toBe(403);
  expect(s.text).toContain(`origin ${EVIL} is not allowed`);

  const pre = await fetch(messagesUrl(), {
    method: 'OPTIONS',
    headers: { Origin: EVIL, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });
  expect(pre.status).toBe(403);
  expect(pre.headers.get('access-control-allow-origin')).toBeNull();

  const p = await postJson({ user: 'ann', text: 'hi' }, { headers: { Origin: EVIL } });
  expectJsonError(p, 403);
  await expectNothingStored();

  // The page server's origin (and its localhost twin) is allowed.
  for (const origin of [server.pageOrigin, server.pageOrigin.replace('127.0.0.1', 'localhost')]) {
    const ok = await getStream({ headers: { Origin: origin }, until: ': ok' });
    expect(ok.status).toBe(200);
  }
});

test('a valid post -> 201, stored once, streamed with its id', async () => {
  const r = await postJson({ user: '  ann  ', text: 'hello\r\nworld  ' }, { headers: { Origin: server.pageOrigin } });
  expect(r.status, r.text).toBe(201);
  expect(r.json).toEqual({ id: 1 });
  expect(r.headers.get('access-control-allow-origin')).toBe(server.pageOrigin);
  expect(r.headers.get('access-control-expose-headers')).toMatch(/Retry-After/i);
  expect(await server.store.lastId('chat')).toBe(1);
  const entries = await server.store.since('chat', 0);
  expect(entries).toHaveLength(1);
  expect(entries[0]).toMatchObject({ id: 1, type: 'message' });
  const data = JSON.parse(entries[0].data);
  expect(data).toMatchObject({ user: 'ann', text: 'hello\nworld' });
  expect(Object.keys(data).sort()).toEqual(['at', 'text', 'user']);
  expect(Number.isNaN(Date.parse(data.at))).toBe(false);

  // Streamed on every backend (one store), once.
  for (const backend of [0, 1]) {
    const s = await getStream({ query: '?lastEventId=0', until: 'id: 1\n', backend });
    expect(s.status).toBe(200);
    expect(s.text.match(/^id: /gm)).toHaveLength(1);
  }
  const s = await getStream({ query: '?lastEventId=0', until: 'world' });
  expect(s.text).toContain('id: 1\ndata: {"user":"ann","text":"hello\\nworld","at":');
  // Resuming at the last id replays nothing.
  const none = await getStream({ headers: { 'Last-Event-ID': '1' }, until: ': ok' });
  expect(none.text).not.toMatch(/^id: /m);
});

test('rate limit: 429 with Retry-After, and the refused posts are not stored', async () => {
  // Per IP + user: burst 10, then 5/s; posting as fast as we can, the 11th or
  // so is refused (a slow machine earns a token every 200 ms).
  const results = [];
  const t0 = Date.now();
  for (let i = 0; i < 40 && !results.some((r) => r.status === 429); i++) results.push(await postJson({ user: 'chatty', text: `m${i}` }));
  const elapsedS = (Date.now() - t0) / 1000;
  const created = results.filter((r) => r.status === 201);
  const limited = results.filter((r) => r.status === 429);
  expect(limited.length).toBe(1);
  expect(created.length).toBeGreaterThanOrEqual(10);
  expect(created.length).toBeLessThanOrEqual(10 + Math.ceil(elapsedS * 5) + 1);
  const r429 = limited[0];
  expectJsonError(r429, 429);
  const retryAfter = Number(r429.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
  expect(r429.json.retryAfter).toBe(retryAfter);
  expect(r429.json.error).toMatch(/too many/);
  // Another user is not limited by chatty's bucket.
  expect((await postJson({ user: 'quiet', text: 'hi' })).status).toBe(201);
  expect(await server.store.lastId('chat')).toBe(created.length + 1);
  expect(await server.store.since('chat', 0)).toHaveLength(created.length + 1);

  // Per IP, any user: burst 40 (about 11 used above), then 20/s. Many users, quickly.
  const burst = [];
  for (let i = 0; i < 150 && !burst.some((x) => x.status === 429); i++) burst.push(await postJson({ user: `u${i}`, text: 'x' }));
  const firstLimited = burst.findIndex((x) => x.status === 429);
  expect(firstLimited, 'the per-IP limit is reached').toBeGreaterThan(20);
  expectJsonError(burst[firstLimited], 429);
  expect(Number(burst[firstLimited].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  const stored = created.length + 1 + burst.filter((x) => x.status === 201).length;
  expect(await server.store.since('chat', 0)).toHaveLength(stored);
});

test('Idempotency-Key: a repeat returns the same id and stores once, on any backend', async () => {
  const body = { user: 'ann', text: 'once' };
  const first = await postJson(body, { headers: { 'Idempotency-Key': 'key-1' } });
  expect(first.status).toBe(201);
  const again = await postJson(body, { headers: { 'Idempotency-Key': 'key-1' } });
  const elsewhere = await postJson(body, { headers: { 'Idempotency-Key': 'key-1' }, backend: 1 });
  expect(again.status).toBe(201);
  expect(elsewhere.status).toBe(201);
  expect(again.json).toEqual(first.json);
  expect(elsewhere.json).toEqual(first.json);
  expect(await server.store.since('chat', 0)).toHaveLength(1);
  // A different key, or none, is a new message.
  const other = await postJson(body, { headers: { 'Idempotency-Key': 'key-2' } });
  const none = await postJson(body);
  expect(other.json.id).toBe(first.json.id + 1);
  expect(none.json.id).toBe(first.json.id + 2);
  expect(await server.store.since('chat', 0)).toHaveLength(3);
});

test('CORS preflight for POST allows Content-Type and Idempotency-Key for an allowed origin', async () => {
  const res = await fetch(messagesUrl(), {
    method: 'OPTIONS',
    headers: {
      Origin: server.pageOrigin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type, idempotency-key',
    },
  });
  expect(res.status).toBe(204);
  expect(res.headers.get('access-control-allow-origin')).toBe(server.pageOrigin);
  expect(res.headers.get('access-control-allow-methods')).toMatch(/\bPOST\b/);
  const allowed = (res.headers.get('access-control-allow-headers') || '').toLowerCase().split(/\s*,\s*/);
  expect(allowed).toEqual(expect.arrayContaining(['content-type', 'idempotency-key']));
  expect(res.headers.get('vary')).toMatch(/Origin/i);
  await expectNothingStored();
});

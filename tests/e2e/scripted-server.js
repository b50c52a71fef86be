// A tiny SSE server whose every connection follows a script the test writes,
// for streams the reference backends would never send (restarted ids, huge
// or odd ids). Node's http only; 127.0.0.1; CORS for one origin.
import http from 'node:http';

/**
 * `script(connectionIndex, req, res)` writes frames to `res` (headers are
 * already sent). Returns { url, requests: [{ url }], close() }.
 *
 * With `raw: true` nothing is written before the script runs: it chooses the
 * status, the headers (`sseHead(res, origin)` for a normal stream) and every
 * byte of the body, e.g. a leading BOM. Raw servers answer CORS preflights
 * themselves (those are not counted as connections).
 */
export async function startScriptedServer({ origin, script, raw = false }) {
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    if (raw && req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Headers': 'Last-Event-ID, Cache-Control',
      });
      res.end();
      return;
    }
    const index = requests.length;
    requests.push({ url: req.url, lastEventId: req.headers['last-event-id'] ?? null });
    if (raw) {
      script(index, req, res);
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      'Access-Control-Allow-Origin': origin,
    });
    res.write(': scripted\n\n');
    script(index, req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/events`,
    requests,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

/** Starts a 200 text/event-stream response that `origin` may read, credentials included. */
export function sseHead(res, origin) {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Credentials': 'true',
  });
  res.flushHeaders();
}

/** One SSE frame. */
export function frame({ id, type, data }) {
  let out = '';
  if (id !== undefined) out += `id: ${id}\n`;
  if (type) out += `event: ${type}\n`;
  for (const line of String(data).split('\n')) out += `data: ${line}\n`;
  return `${out}\n`;
}

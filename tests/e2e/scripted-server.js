// A tiny SSE server whose every connection follows a script the test writes,
// for streams the reference backends would never send (restarted ids, huge
// or odd ids). Node's http only; 127.0.0.1; CORS for one origin.
import http from 'node:http';

/**
 * `script(connectionIndex, req, res)` writes frames to `res` (headers are
 * already sent). Returns { url, requests: [{ url }], close() }.
 */
export async function startScriptedServer({ origin, script }) {
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const index = requests.length;
    requests.push({ url: req.url, lastEventId: req.headers['last-event-id'] ?? null });
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

/** One SSE frame. */
export function frame({ id, type, data }) {
  let out = '';
  if (id !== undefined) out += `id: ${id}\n`;
  if (type) out += `event: ${type}\n`;
  for (const line of String(data).split('\n')) out += `data: ${line}\n`;
  return `${out}\n`;
}

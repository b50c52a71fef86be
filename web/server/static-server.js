// Static file server for the demo page and the e2e test pages.
//
// Serves files below the repository root under their repo-relative paths
// (/web/index.js, /web/dist/..., /web/demo/..., /tests/e2e/pages/...). Only
// the top-level directories listed in `prefixes` are exposed, so the rest of
// the checkout (node_modules, build trees, dotfiles) is not.

import http from 'node:http';
import path from 'node:path';
import express from 'express';
import { listen } from './listen.js';

const DEFAULT_PREFIXES = ['web', 'tests'];


/**
 * @param {{
 *   host?: string,
 *   port?: number,
 *   root: string,
 *   csp?: string,
 *   extraRoutes?: (app: import('express').Express) => void,
 *   prefixes?: string[],
 * }} options
 */
export async function startPageServer(options = {}) {
  const { host = '127.0.0.1', port = 0, root, csp, extraRoutes, prefixes = DEFAULT_PREFIXES } = options;
  if (typeof root !== 'string' || root === '') throw new TypeError('startPageServer: `root` (the repository root) is required');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`startPageServer: invalid port ${port}`);
  const absRoot = path.resolve(root);

  const app = express();
  app.disable('x-powered-by');

  // Security headers first, so they are on every response, errors included.
  app.use((req, res, next) => {
    if (csp) res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });

  if (typeof extraRoutes === 'function') extraRoutes(app);

  // Browsers ask for it on every page; answer quietly instead of a 404 that
  // shows up as a console error in the tests.
  app.get('/favicon.ico', (req, res) => res.status(204).end());

  const staticOptions = {
    dotfiles: 'ignore',
    index: ['index.html'],
    redirect: true, // /web/demo -> /web/demo/
    fallthrough: true,
    setHeaders(res, filePath) {
      // Always revalidate: the dist files change on every rebuild.
      res.setHeader('Cache-Control', 'no-cache');
      if (filePath.endsWith('.wasm')) res.setHeader('Content-Type', 'application/wasm');
      else if (filePath.endsWith('.js') || filePath.endsWith('.mjs')) res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    },
  };
  for (const prefix of prefixes) {
    const clean = String(prefix).replace(/^\/+|\/+$/g, '');
    if (!clean || clean.split('/').some((seg) => seg === '..' || seg === '.' || seg.startsWith('.'))) {
      throw new RangeError(`startPageServer: invalid prefix ${JSON.stringify(prefix)}`);
    }
    app.use(`/${clean}`, express.static(path.join(absRoot, clean), staticOptions));
  }

  app.use((req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    const status = err.status || err.statusCode || 500;
    if (res.headersSent) return res.destroy();
    res.status(status).type('text/plain').send(status >= 500 ? 'internal error\n' : `${err.message}\n`);
  });

  const server = http.createServer(app);
  server.keepAliveTimeout = 1000;
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const actualPort = await listen(server, port, host);
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing = null;
  function close() {
    if (!closing) {
      closing = new Promise((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    }
    return closing;
  }

  return { port: actualPort, origin: `http://${urlHost}:${actualPort}`, app, server, close };
}

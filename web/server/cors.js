// The CORS policy of the backends: only configured origins may read.

/**
 * `cors(req, res, { json })` applies the policy for `allowedOrigins` ('*'
 * allows any); it returns false after answering 403 to a foreign origin.
 */
export function createCors(allowedOrigins) {
  const anyOrigin = allowedOrigins.includes('*');
  const origins = new Set(allowedOrigins);
  return function cors(req, res, { json = false } = {}) {
    res.vary('Origin');
    const origin = req.get('Origin');
    if (origin === undefined) return true; // same-origin or non-browser client
    if (!anyOrigin && !origins.has(origin)) {
      if (json) res.status(403).set('Cache-Control', 'no-store').json({ error: `origin ${origin} is not allowed` });
      else res.status(403).type('text/plain').send(`Forbidden: origin ${origin} is not allowed\n`);
      return false;
    }
    res.set('Access-Control-Allow-Origin', origin);
    res.set('Access-Control-Allow-Credentials', 'true');
    return true;
  };
}

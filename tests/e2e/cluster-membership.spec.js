// The reference cluster's membership at runtime (no browser): a backend
// added while the cluster closes, a flapping backend removed, and the
// endpoint lists a shared-store deployment must not announce.
import { test, expect } from '@playwright/test';
import { startCluster } from '../../web/server/backend-cluster.js';

/** Resolves true when something answers HTTP at `origin`, false when the connection is refused. */
async function answers(origin) {
  try {
    await fetch(`${origin}/health`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

test('addBackend racing close(): it rejects and leaves nothing listening', async () => {
  const cluster = await startCluster({ count: 1 });
  const adding = cluster.addBackend();
  // close() while the new backend is starting to listen (a few microtasks in).
  for (let i = 0; i < 5; i++) await null;
  const closing = cluster.close();
  await expect(adding).rejects.toThrow(/cluster is closed/);
  await closing;
  expect(cluster.backends).toHaveLength(1);
});

test('a flapping backend that is removed stays down', async () => {
  const cluster = await startCluster({ count: 2 });
  try {
    const origin = cluster.backends[1].origin;
    cluster.flap(1, { periodMs: 50 });
    await cluster.removeBackend(1, 0);
    await new Promise((r) => setTimeout(r, 400)); // eight flap periods
    expect(cluster.mode(1)).toBe('down');
    expect(await answers(origin)).toBe(false);
    expect(cluster.backends[1].removed).toBe(true);
  } finally {
    await cluster.close();
  }
});

test('announceEndpoints: false sends no endpoint list after a change; the default does', async () => {
  const read = async (cluster) => {
    cluster.backends.length === 2 && (await cluster.addBackend());
    const response = await fetch(`${cluster.backends[0].channels.logs}`, { signal: AbortSignal.timeout(5000) });
    const reader = response.body.getReader();
    let text = '';
    // The head of the stream: ': ok' and whatever control events follow it.
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline && !text.includes('sse-balancer.endpoints')) {
      const { value, done } = await Promise.race([reader.read(), new Promise((r) => setTimeout(() => r({ done: false }), 300))]);
      if (done) break;
      if (value) text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    return text;
  };
  const shared = await startCluster({ count: 2, announceEndpoints: false });
  const own = await startCluster({ count: 2 });
  try {
    expect(await read(shared)).not.toContain('sse-balancer.endpoints');
    expect(await read(own)).toContain('event: sse-balancer.endpoints');
    await expect(startCluster({ announceEndpoints: 'yes' })).rejects.toThrow(/announceEndpoints must be a boolean/);
  } finally {
    await shared.close();
    await own.close();
  }
});

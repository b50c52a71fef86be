// The package imported where pages are rendered on the server (Next.js,
// Nuxt, SvelteKit, Astro import a page's modules in Node): importing must
// neither throw nor leave a rejection unhandled; constructing without an
// EventSource says what is missing; with an implementation passed in, the
// Wasm core (read from the package's own file) balances real streams.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test, expect, startEnv, expectContiguous, ROOT } from './fixtures.js';

const INDEX = pathToFileURL(path.join(ROOT, 'web/dist/sse-balancer.js')).href;

/** Runs an ES module script in a fresh Node; returns { code, lines }. */
function runNode(source, { onLine } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const lines = [];
    let stderr = '';
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let i;
      while ((i = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        const parsed = JSON.parse(line);
        lines.push(parsed);
        onLine?.(parsed);
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines, stderr });
    });
  });
}

const PRELUDE = `
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
process.on('unhandledRejection', (e) => say({ unhandled: String(e) }));
process.on('uncaughtException', (e) => say({ uncaught: String(e) }));
`;

test('import in Node: no throw, no unhandled rejection; no EventSource -> a TypeError naming it', async () => {
  const { code, lines, stderr } = await runNode(`${PRELUDE}
const m = await import(${JSON.stringify(INDEX)});
say({ exports: Object.keys(m).sort(), policies: [...m.policies], hasEventSource: typeof globalThis.EventSource });
await m.ready;
try {
  new m.BalancedEventSource('http://127.0.0.1:9/events');
  say({ constructed: true });
} catch (e) {
  say({ error: e.name, message: e.message });
}
try {
  new m.BalancedEventSource('http://127.0.0.1:9/events', { EventSource: 'nope' });
} catch (e) {
  say({ badOption: e.name, message: e.message });
}
await new Promise((r) => setTimeout(r, 200));
say({ done: true });
`);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(lines.filter((l) => l.unhandled || l.uncaught)).toEqual([]);
  expect(lines[0].exports).toEqual(['BalancedErrorEvent', 'BalancedEventSource', 'FailoverEvent', 'defaults', 'diagnostics', 'policies', 'ready']);
  expect(lines[0].policies).toEqual(['round-robin', 'random', 'weighted', 'sticky', 'least-loaded']);
  const noEventSource = lines.find((l) => l.error);
  expect(noEventSource.error).toBe('TypeError');
  expect(noEventSource.message).toMatch(/no EventSource.*EventSource option/);
  expect(lines.find((l) => l.badOption).message).toMatch(/option EventSource must be an EventSource constructor/);
  expect(lines.at(-1)).toEqual({ done: true });
});

test('in Node with an EventSource implementation passed in, it streams from real backends and fails over', async () => {
  const env = await startEnv({ count: 3, intervalMs: 20 });
  try {
    let killed = false;
    const { code, lines, stderr } = await runNode(
      `${PRELUDE}
const { BalancedEventSource } = await import(${JSON.stringify(INDEX)});
const { EventSource } = await import('eventsource');
const source = new BalancedEventSource(${JSON.stringify(env.urls)}, { EventSource, seed: 7 });
const ids = [];
const errors = [];
source.onmessage = (e) => {
  ids.push(e.lastEventId);
  if (ids.length === 20) say({ streaming: source.stats().activeEndpoint });
  if (ids.length === 60) {
    say({ ids, errors, url: source.url, readyState: source.readyState });
    source.close();
  }
};
source.onerror = (e) => errors.push(e.reason);
`,
      {
        onLine: (line) => {
          if (line.streaming !== undefined && !killed) {
            killed = true;
            env.cluster.kill(line.streaming);
          }
        },
      },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(lines.filter((l) => l.unhandled || l.uncaught)).toEqual([]);
    const result = lines.find((l) => l.ids);
    expect(killed).toBe(true);
    expectContiguous(result.ids);
    expect(result.errors).toContain('closed');
    expect(result.readyState).toBe(1);
    expect(env.urls).toContain(result.url);
  } finally {
    await env.stop();
  }
});

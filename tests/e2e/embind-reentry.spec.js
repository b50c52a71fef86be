// The built core and its Embind glue, called re-entrantly as a page can:
// while the core handles a message with a string id, it promotes a standby
// connection and notifies a failover; a failover listener sets a new
// endpoint list, i.e. calls `text` (a std::string argument) again inside
// the outer `text` call. Emscripten 3.1.6's no-eval invoker shared its
// argument arrays between calls, so the outer call freed the inner call's
// string a second time and the heap broke (a trap within a few rounds);
// bindings/embind_invoker.js keeps each call's arguments to itself.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test, expect, ROOT } from './fixtures.js';

async function loadCore() {
  const dist = path.join(ROOT, 'web/dist');
  const { default: createCore } = await import(pathToFileURL(path.join(dist, 'sse-balancer-core.js')).href);
  const bytes = fs.readFileSync(path.join(dist, 'sse-balancer-core.wasm'));
  const core = await createCore({
    instantiateWasm(imports, receive) {
      WebAssembly.instantiate(bytes, imports).then(({ instance, module }) => receive(instance, module));
      return {};
    },
  });
  const tables = core.textOf(0, -2);
  const codes = (name) => {
    const line = tables.split('\n').find((l) => l.startsWith(`${name}=`));
    return Object.fromEntries(line.slice(name.length + 1).split(',').map((n, i) => [n, i]));
  };
  return { core, OP: codes('ops'), TEXT: codes('textOps'), HOST: codes('hostOps') };
}

/** One balancer: stream, drain, standby opened, its first message (string id) promotes it. */
function promoteWhileListing({ core, OP, TEXT, HOST }, round, onFailover) {
  const opened = [];
  const timers = [];
  let failovers = 0;
  const h = core.create((op, a) => {
    if (op === HOST.openSource) opened.push(a);
    else if (op === HOST.startTimer) timers.push(a);
    else if (op === HOST.isAlive) return 1;
    else if (op === HOST.notifyFailover) {
      failovers++;
      onFailover(h);
    }
    return 0;
  });
  for (const url of ['http://a.test/e', 'http://b.test/e']) core.text(h, TEXT.addUrl, 0, url);
  core.text(h, TEXT.policy, 0, 'round-robin');
  core.call(h, OP.setSeed, round, 0);
  core.call(h, OP.start, 0, 0);
  core.call(h, OP.open, opened[0], 0);
  core.text(h, TEXT.message, opened[0], 'id-first');
  core.call(h, OP.drain, opened[0], 5000);
  for (let i = 0; i < 5 && opened.length < 2; i++) for (const t of timers.splice(0)) core.call(h, OP.timer, t, 0);
  expect(opened.length, 'the drain opened a standby connection').toBe(2);
  core.call(h, OP.open, opened[1], 0);
  core.text(h, TEXT.message, opened[1], `id-${'y'.repeat(400)}-${round}`);
  expect(failovers, 'the standby took over inside the message call').toBe(1);
  core.call(h, OP.close, 0, 0);
  core.call(h, OP.delete, 0, 0);
}

test('a listener that calls the core inside a core call corrupts nothing: 200 rounds, the heap back where it was', async () => {
  const env = await loadCore();
  const { core, OP, TEXT } = env;
  const inUse = () => core.call(0, OP.heapInUse, 0, 0);
  const before = inUse();
  for (let round = 0; round < 200; round++) {
    promoteWhileListing(env, round, (h) => {
      for (const url of ['http://a.test/e', 'http://b.test/e']) core.text(h, TEXT.nextUrl, 0, `${url}?${'x'.repeat(300)}`);
    });
  }
  expect(inUse()).toBe(before);
  // A wrong argument count is still refused by name.
  expect(() => core.call(0, OP.heapInUse, 0)).toThrow(/function call called with 3 arguments, expected 4/);
});

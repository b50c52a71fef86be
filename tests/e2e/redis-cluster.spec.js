// The Redis mode on a real Redis Cluster: three masters (no replicas), each
// `redis-server --cluster-enabled yes` in its own temporary directory on free
// 127.0.0.1 ports, joined with `redis-cli --cluster create`, stopped by PID.
// main.js processes point at it with --redis-cluster; the scenarios are the
// ones redis.spec.js runs on one redis-server (redis-scenarios.js). Every key
// of a channel is hash-tagged with the channel, so it lives on the master
// that owns the channel's slot; the two channels are in different slots, so
// each is followed by its own blocking XREAD (one over both is CROSSSLOT).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { ROOT, freePort, freePortRun, redisCli, startRedis, startRedisCluster, waitExit } from './redis-helper.js';
import { cleanupEnv, newEnv, runGeneratorLease, runTwoProcessResume } from './redis-scenarios.js';

let env = null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test.afterEach(async () => {
  // Stop by PID (SIGTERM, then SIGKILL if it hangs): servers first, the cluster's nodes last.
  await cleanupEnv(env);
  env = null;
});

/** redis-cli on one node; `follow` (-c) follows MOVED to the owner of the key's slot. */
const cliOn = (node, args, { follow = false } = {}) => redisCli([...(follow ? ['-c'] : []), '-h', '127.0.0.1', '-p', String(node.port), ...args], 5000);

/** slot -> port of the master owning it, from CLUSTER NODES (as node 0 sees it). */
async function slotOwners(cluster) {
  const owners = new Map();
  for (const line of (await cliOn(cluster.nodes[0], ['CLUSTER', 'NODES'])).split('\n')) {
    const f = line.trim().split(' ');
    if (!f[2] || !f[2].split(',').includes('master')) continue;
    const port = Number(f[1].split('@')[0].split(':').at(-1));
    for (const range of f.slice(8)) {
      if (range.startsWith('[')) continue; // a slot being migrated
      const [from, to = from] = range.split('-').map(Number);
      for (let s = from; s <= to; s++) owners.set(s, port);
    }
  }
  expect(owners.size, 'every slot has an owner').toBe(16384);
  return owners;
}

/**
 * Every key of the channel's slot is one of the channel's hash-tagged keys
 * and lives on the master that owns the slot: that master has it, every other
 * master answers MOVED to it. `expected` must all be there. Returns the slot.
 */
async function expectChannelKeysOnOwner(cluster, channel, expected) {
  const slot = Number(await cliOn(cluster.nodes[0], ['CLUSTER', 'KEYSLOT', `{${channel}}`]));
  for (const key of expected) expect(Number(await cliOn(cluster.nodes[0], ['CLUSTER', 'KEYSLOT', key])), `slot of ${key}`).toBe(slot);
  const ownerPort = (await slotOwners(cluster)).get(slot);
  const owner = cluster.nodes.find((n) => n.port === ownerPort);
  expect(owner, `the owner of slot ${slot} is one of the three masters`).toBeTruthy();
  const keys = (await cliOn(owner, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '1000'])).split('\n').filter(Boolean);
  for (const key of expected) expect(keys, `${key} on the master owning slot ${slot}`).toContain(key);
  for (const key of keys) expect(key.startsWith(`{${channel}}:`), `${key} is a key of ${channel}`).toBe(true);
  for (const node of cluster.nodes) {
    const answer = await cliOn(node, ['EXISTS', expected[0]]);
    if (node === owner) expect(answer).toBe('1');
    else expect(answer).toBe(`MOVED ${slot} 127.0.0.1:${owner.port}`);
  }
  return { slot, keys, ownerPort };
}

test('redis cluster: two processes, one log; SIGKILL of the streaming process loses and repeats nothing', async ({ context }) => {
  test.setTimeout(120_000);
  env = newEnv();
  const cluster = await startRedisCluster({ masters: 3 });
  env.servers.push(cluster);
  expect(cluster.nodes).toHaveLength(3);
  await runTwoProcessResume({
    context,
    env,
    storeArgs: ['--redis-cluster', cluster.arg],
    storeLine: `redis cluster ${cluster.arg}`,
    label: 'redis cluster',
  });
  const chat = await expectChannelKeysOnOwner(cluster, 'chat', ['{chat}:seq', '{chat}:stream', '{chat}:epoch']);
  expect(chat.keys.some((k) => k.startsWith('{chat}:idem:')), 'idempotency keys share the slot').toBe(true);
  expect(Number(await cliOn(cluster.nodes[0], ['GET', '{chat}:seq'], { follow: true }))).toBeGreaterThan(30);
  // The logs channel is in another slot: one XREAD over both channels is refused on a cluster.
  const logsSlot = Number(await cliOn(cluster.nodes[0], ['CLUSTER', 'KEYSLOT', '{logs}:stream']));
  expect(logsSlot).not.toBe(chat.slot);
  const owner = cluster.nodes.find((n) => n.port === chat.ownerPort);
  expect(await cliOn(owner, ['XREAD', 'STREAMS', '{chat}:stream', '{logs}:stream', '0', '0'])).toMatch(/^CROSSSLOT/);
  console.log(`[redis cluster] {chat} keys in slot ${chat.slot} on 127.0.0.1:${chat.ownerPort}: ${chat.keys.length} keys; {logs} in slot ${logsSlot}`);

  // --redis (one Redis) pointed at a node of the cluster is refused at start, naming the fix.
  const single = await runMain(['--redis', cluster.urls[0], '--port-base', String(await freePortRun(4))]);
  expect(single.code).toBe(1);
  expect(single.output).toContain(`Redis at 127.0.0.1:${cluster.nodes[0].port} is a node of a Redis Cluster`);
  expect(single.output).toContain('--redis-cluster');
});

test('redis cluster: two processes with --log-rate 20 write about 20 lines/s together; the other takes over when the writer is killed', async () => {
  test.setTimeout(90_000);
  env = newEnv();
  const cluster = await startRedisCluster({ masters: 3 });
  env.servers.push(cluster);
  const cli = (args) => cliOn(cluster.nodes[2], args, { follow: true });
  let logs = null;
  let live = null;
  await runGeneratorLease({
    env,
    storeArgs: ['--redis-cluster', cluster.arg],
    cli,
    label: 'redis cluster',
    beforeStop: async ({ survivor }) => {
      logs = await expectChannelKeysOnOwner(cluster, 'logs', ['{logs}:seq', '{logs}:stream', '{logs}:epoch', '{logs}:generator']);
      live = await expectBothChannelsLive(survivor, cli);
    },
  });
  console.log(
    `[redis cluster] {logs} keys in slot ${logs.slot} on 127.0.0.1:${logs.ownerPort}: ${logs.keys.join(', ')}; ` +
      `one process streamed ${live.logs} live logs lines and chat id ${live.chatId} at once`,
  );
});

/** The SSE events of `url` received within `ms` (then the request is aborted): [{ id, event, data }]. */
async function readSse(url, ms) {
  const events = [];
  let text = '';
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(ms) });
    expect(res.status, `GET ${url}`).toBe(200);
    const decoder = new TextDecoder();
    for await (const chunk of res.body) text += decoder.decode(chunk, { stream: true });
  } catch (err) {
    if (err.name !== 'TimeoutError' && err.name !== 'AbortError') throw err;
  }
  for (const frame of text.split('\n\n')) {
    const field = (name) => frame.split('\n').filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2));
    if (field('id').length) events.push({ id: Number(field('id')[0]), event: field('event')[0] || 'message', data: field('data').join('\n') });
  }
  return events;
}

/**
 * One process streams both channels live at once, each channel followed by its
 * own blocking reader (their slots differ): the generated logs lines and a chat
 * post both arrive.
 */
async function expectBothChannelsLive(proc, cli) {
  const [backend] = await (await fetch(`http://127.0.0.1:${proc.portBase}/api/backends`)).json();
  const logsFrom = Number(await cli(['GET', '{logs}:seq']));
  const chatFrom = Number((await cli(['GET', '{chat}:seq'])) || 0);
  const logs = readSse(`${backend.logsUrl}?lastEventId=${logsFrom}`, 2500);
  const chat = readSse(`${backend.chatUrl}?lastEventId=${chatFrom}`, 2500);
  await sleep(500);
  const res = await fetch(backend.messagesUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: 'cluster', text: 'both channels at once' }),
  });
  expect(res.status).toBe(201);
  const { id } = await res.json();
  const [logEvents, chatEvents] = await Promise.all([logs, chat]);
  const logIds = logEvents.filter((e) => e.event === 'message').map((e) => e.id);
  expect(logIds.length, 'live logs lines in 2.5 s').toBeGreaterThanOrEqual(20);
  expect(logIds[0]).toBe(logsFrom + 1);
  expect(chatEvents.filter((e) => e.event === 'message').map((e) => [e.id, JSON.parse(e.data).text])).toEqual([[id, 'both channels at once']]);
  return { logs: logIds.length, chatId: id };
}

/** Runs main.js with `args`; resolves { code, output } once it exits (bounded). */
async function runMain(args, timeoutMs = 15_000) {
  const child = spawn(process.execPath, [path.join(ROOT, 'web/server/main.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  try {
    const { code } = await waitExit(child, timeoutMs);
    return { code, output };
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }
}

test('--redis-cluster: a bad value exits 2 naming what is wrong; an unreachable cluster or a plain Redis exits 1', async () => {
  test.setTimeout(60_000);
  env = newEnv();
  const bad = [
    [['--redis-cluster', ','], /--redis-cluster needs node URLs separated by commas/],
    [['--redis-cluster', 'redis://127.0.0.1:7000,,redis://127.0.0.1:7001'], /--redis-cluster node 2 of 3 is empty/],
    [['--redis-cluster', 'redis://127.0.0.1:7000,http://127.0.0.1:7001'], /--redis-cluster node 2 of 2 must start with redis:\/\/ or rediss:\/\//],
    [['--redis-cluster', 'redis://127.0.0.1:7000/2'], /--redis-cluster node 1 of 1: a Redis Cluster has only database 0/],
    [['--redis-cluster', 'redis://127.0.0.1:7000', '--redis', 'redis://127.0.0.1:6379'], /give either --redis .* or --redis-cluster .*, not both/],
  ];
  for (const [args, message] of bad) {
    const r = await runMain(args);
    expect(r.code, args.join(' ')).toBe(2);
    expect(r.output).toMatch(message);
    expect(r.output).toContain('--redis-cluster URLS');
  }
  const port = await freePort();
  const refused = await runMain(['--redis-cluster', `redis://127.0.0.1:${port}`, '--port-base', String(await freePortRun(4))]);
  expect(refused.code).toBe(1);
  expect(refused.output).toContain(`sse-balancer: cannot connect to the Redis Cluster at 127.0.0.1:${port}`);
  expect(refused.output).toContain('ECONNREFUSED');

  const plain = await startRedis();
  env.servers.push(plain);
  const notCluster = await runMain(['--redis-cluster', plain.url, '--port-base', String(await freePortRun(4))]);
  expect(notCluster.code).toBe(1);
  expect(notCluster.output).toContain(`sse-balancer: cannot connect to the Redis Cluster at 127.0.0.1:${plain.port}`);
  expect(notCluster.output).toContain('cluster support disabled');
});

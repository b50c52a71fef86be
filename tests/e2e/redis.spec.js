// Two `node web/server/main.js --redis …` processes share one log through a
// private redis-server. A browser client balanced over the backends of both
// processes survives a SIGKILL of the process it streams from: it resumes on
// the other process with every posted message exactly once, in id order. A
// second client on the other process from the start sees the same log. And
// the processes share one log generator: two of them with --log-rate 20 write
// about 20 lines/s together, and the survivor takes over when the writer dies.
// The scenarios are in redis-scenarios.js (redis-cluster.spec.js runs them on
// a Redis Cluster).
import { test } from '@playwright/test';
import { redisCli, startRedis } from './redis-helper.js';
import { cleanupEnv, newEnv, runGeneratorLease, runTwoProcessResume } from './redis-scenarios.js';

let env = null;

test.afterEach(async () => {
  // Stop by PID (SIGTERM, then SIGKILL if it hangs): servers first, Redis last.
  await cleanupEnv(env);
  env = null;
});

test('redis: two processes, one log; SIGKILL of the streaming process loses and repeats nothing', async ({ context }) => {
  test.setTimeout(120_000);
  env = newEnv();
  const redis = await startRedis();
  env.servers.push(redis);
  await runTwoProcessResume({ context, env, storeArgs: ['--redis', redis.url], storeLine: `redis ${redis.url}`, label: 'redis' });
});

test('redis: two processes with --log-rate 20 write about 20 lines/s together; the other takes over when the writer is killed', async () => {
  test.setTimeout(90_000);
  env = newEnv();
  const redis = await startRedis();
  env.servers.push(redis);
  const cli = (args) => redisCli(['-h', '127.0.0.1', '-p', String(redis.port), ...args], 5000);
  await runGeneratorLease({ env, storeArgs: ['--redis', redis.url], cli, label: 'redis' });
});

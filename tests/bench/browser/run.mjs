#!/usr/bin/env node
// The browser half of `npm run bench`: runs the sections below in Debian's
// Chromium against local servers on 127.0.0.1 and writes
// docs/bench/browser.json. Prints figures; never asserts on time.
//
//   node tests/bench/browser/run.mjs            every section
//   BENCH_ONLY=dispatch,size node ...           some sections (the others
//                                               are kept from the existing
//                                               browser.json)
//   BENCH_TRIALS=3 node ...                     fewer trials (default 7)
//
// Other knobs: see config() in lib.mjs and tests/bench/browser/README.md.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT, config, launchChromium, log, machine, round } from './lib.mjs';
import { runFailover } from './failover.mjs';
import { runDispatch } from './dispatch.mjs';
import { runSize, runStartup } from './startup.mjs';
import { runMemory } from './memory.mjs';
import { runOutage } from './outage.mjs';
import { runShare } from './share.mjs';
import { runDrain } from './drain.mjs';
import { runPolicies } from './policies.mjs';

const SECTIONS = ['failover', 'outage', 'dispatch', 'size', 'startup', 'memory', 'share', 'drain', 'policies'];
const OUT = path.join(ROOT, 'docs/bench/browser.json');

function chromiumVersion() {
  try {
    return execFileSync(process.env.CHROMIUM_PATH || '/usr/bin/chromium', ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    })
      .trim()
      .split('\n')[0];
  } catch {
    return null;
  }
}

async function main() {
  const cfg = config();
  for (const s of cfg.only) {
    if (!SECTIONS.includes(s)) throw new Error(`BENCH_ONLY: unknown section ${s} (known: ${SECTIONS.join(', ')})`);
  }
  const sections = cfg.only.length ? cfg.only : SECTIONS;
  let previous = {};
  if (cfg.only.length && fs.existsSync(OUT)) {
    try {
      previous = JSON.parse(fs.readFileSync(OUT, 'utf8'));
    } catch {
      previous = {};
    }
  }
  const started = Date.now();
  const out = {
    schema: 1,
    generatedAt: new Date().toISOString(),
    machine: { ...machine(), chromium: chromiumVersion() },
    config: { ...cfg, only: undefined },
    clients: {
      'sse-balancer': 'BalancedEventSource(urls, { heartbeatTimeoutMs }) from web/index.js',
      'hand-written':
        'tests/bench/browser/pages/handwritten-failover.js: a list of EventSources; on error close and open the next URL at once, carrying ?lastEventId= of the last event (the better tutorial variant); no backoff, no watchdog, no dedup',
      'reconnecting-eventsource':
        'reconnecting-eventsource 1.6.5 (ESM build), pointed at one backend as users use it: it can only reconnect to that URL',
      plain: 'a plain EventSource on one URL (reference)',
    },
    sectionsRun: sections,
  };
  for (const s of SECTIONS) if (!sections.includes(s) && previous[s]) out[s] = previous[s];

  log(`browser benchmarks: ${sections.join(', ')}; trials ${cfg.trials}; load ${out.machine.loadavg.join(' ')}`);
  const browser = await launchChromium();
  const timings = {};
  try {
    for (const section of sections) {
      const t0 = Date.now();
      const loadBefore = machine().loadavg;
      if (section === 'failover') out.failover = await runFailover({ browser, cfg });
      else if (section === 'dispatch') out.dispatch = await runDispatch({ browser, cfg });
      else if (section === 'size') out.size = await runSize();
      else if (section === 'startup') out.startup = await runStartup({ browser, cfg });
      else if (section === 'memory') out.memory = await runMemory({ browser, cfg });
      else if (section === 'outage') out.outage = await runOutage({ browser, cfg });
      else if (section === 'share') out.share = await runShare({ browser, cfg });
      else if (section === 'drain') out.drain = await runDrain({ browser, cfg });
      else if (section === 'policies') out.policies = await runPolicies({ browser, cfg });
      out[section].loadavg = { before: loadBefore, after: machine().loadavg };
      timings[section] = round((Date.now() - t0) / 1000, 1);
      log(`${section}: ${timings[section]} s`);
    }
  } finally {
    await browser.close();
  }
  out.seconds = { ...(previous.seconds ?? {}), ...timings, total: round((Date.now() - started) / 1000, 1) };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(out, null, 2)}\n`);
  log(`wrote ${path.relative(ROOT, OUT)} in ${out.seconds.total} s`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

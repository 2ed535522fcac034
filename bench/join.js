#!/usr/bin/env node
// How long the last of three mediasoup-client joiners waits from its
// call:join to its first decoded remote video frame, step by step, over
// --runs calls (each a new call of three real Chromium pages on loopback,
// the pages of tests/integration/lib/sfu-page.js). Prints, per step, the
// median time at which the last joiner reached it (ms after call:join),
// and writes the runs with --out.
//
//   node bench/join.js [--build DIR] [--runs 10] [--out FILE.json]
//                      [--server-log FILE --log-level debug]
//
// Runs itself inside a network namespace with only loopback (unshare -n),
// as the browser tests do, so no media leaves the machine.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { opt, inOwnNetns } = require('./lib/cli');
const build = path.resolve(opt('--build', path.join(root, 'build')));
const RUNS = Number(opt('--runs', '10'));
const outPath = opt('--out', null);
// the server's log, at --log-level (debug: each transport's ICE and DTLS)
const serverLog = opt('--server-log', null);
const logLevel = opt('--log-level', 'warn');

inOwnNetns('ip link set lo up', 'MEESHY_JOIN_NETNS');
process.env.MEESHY_BIN = process.env.MEESHY_BIN || path.join(build, 'apps/meeshy-call/meeshy-call');
const { start } = require(path.join(root, 'tests/integration/lib/server'));
const { launch, until } = require(path.join(root, 'tests/integration/lib/browser'));
const { openPage, enter } = require(path.join(root, 'tests/integration/lib/sfu-page'));

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

async function oneCall(browser, url, run) {
  const pages = [];
  let callId = null;
  try {
    for (const name of ['ana', 'ben', 'cleo']) {
      const page = await openPage(browser, url, `${name}-${run}`);
      pages.push(page);
      callId = await page.evaluate(enter, { token: `${name}-${run}`, callId, conversationId: `join-${run}`, send: true, audio: true });
    }
    const last = pages[2];
    await until(() => last.evaluate(() => 'first-frame' in window.steps), 'the last joiner decodes a frame', 20000);
    return await last.evaluate(() => window.steps);
  } finally {
    for (const p of pages) await p.context().close();
  }
}

async function main() {
  const srv = await start({ args: ['--dev-auth', '--log-level', logLevel] });
  const browser = await launch();
  const runs = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const steps = await oneCall(browser, srv.url, run);
      runs.push(steps);
      console.log(`run ${run + 1}: first frame ${steps['first-frame'].toFixed(0)} ms after call:join`);
    }
  } finally {
    await browser.close();
    await srv.stop();
    if (serverLog) fs.writeFileSync(serverLog, srv.log());
  }
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  const rows = names.map((n) => ({ step: n, ms: median(runs.filter((r) => n in r).map((r) => r[n])), seen: runs.filter((r) => n in r).length }))
    .sort((a, b) => a.ms - b.ms);
  console.log('\nlast of three joiners, median over runs (ms after its call:join):');
  for (const r of rows) console.log(`  ${r.step.padEnd(24)} ${r.ms.toFixed(1).padStart(7)}${r.seen < runs.length ? `  (in ${r.seen} of ${runs.length} runs)` : ''}`);
  const ff = runs.map((r) => r['first-frame']);
  console.log(`first frame: p50 ${median(ff).toFixed(0)} ms, min ${Math.min(...ff).toFixed(0)}, max ${Math.max(...ff).toFixed(0)} over ${runs.length} runs`);
  if (outPath) fs.writeFileSync(outPath, JSON.stringify({ runs, median_steps: rows, first_frame_p50_ms: median(ff) }, null, 2));
}

main().catch((e) => { console.error(e); process.exit(1); });

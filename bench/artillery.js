#!/usr/bin/env node
// The seed's Artillery scenario at its spike (bench/artillery-seed.yml: 100
// arrivals a second for 60 s, each user connected 62 s, every emit waiting
// for its ack) against ours (role all, SQLite, --dev-auth since the
// scenario's tokens are random strings) and against the Node socket.io
// twin, one after the other. Each server pinned to core 0, Artillery to
// core 1. Prints users created / completed / failed, errors, the ack round
// trip (socketio.response_time) p50 / p95 / p99, and the server's CPU and
// peak RSS.
//
//   node bench/artillery.js [--target meeshy|node|both] [--build DIR]
//                           [--out FILE.json]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { opt } = require('./lib/cli');
const { startTwin } = require('./lib/twin');

const root = path.resolve(__dirname, '..');
const build = path.resolve(opt('--build', path.join(root, 'build')));
process.env.MEESHY_BIN = process.env.MEESHY_BIN || path.join(build, 'apps/meeshy-call/meeshy-call');
const { start } = require('../tests/integration/lib/server');
const { runArtillery } = require('../tests/integration/lib/artillery');

const TARGETS = opt('--target', 'both') === 'both' ? ['meeshy', 'node'] : [opt('--target')];
const outPath = opt('--out', null);

const cpuSeconds = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

async function meeshyTarget() {
  // 6,000 users from one address: the per-address limits are for the
  // internet, not for this load
  const srv = await start({
    args: ['--dev-auth', '--max-sessions-per-ip', '0', '--max-connections-per-ip', '0', '--events-per-sec-per-ip', '0', '--log-level', 'warn'],
    wrap: ['taskset', '-c', '0'],
  });
  return { name: 'meeshy', url: srv.url, pid: srv.proc.pid, stop: () => srv.stop() };
}

async function runTarget(name) {
  const t = name === 'meeshy' ? await meeshyTarget() : await startTwin();
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meeshy-artillery-')), 'report.json');
  try {
    let peakRss = 0;
    const watch = setInterval(() => { peakRss = Math.max(peakRss, rssKb(t.pid)); }, 500);
    const c0 = cpuSeconds(t.pid);
    const t0 = Date.now();
    await runArtillery(t.url, path.join(__dirname, 'artillery-seed.yml'), report, { wrap: ['taskset', '-c', '1'] });
    clearInterval(watch);
    const cpu = cpuSeconds(t.pid) - c0;
    const wall = (Date.now() - t0) / 1000;
    const agg = JSON.parse(fs.readFileSync(report, 'utf8')).aggregate;
    const c = agg.counters;
    const rt = agg.summaries['socketio.response_time'] || {};
    const r = {
      target: name, created: c['vusers.created'], completed: c['vusers.completed'] || 0, failed: c['vusers.failed'] || 0,
      emits: c['socketio.emit'] || 0,
      errors: Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('errors.'))),
      response_ms: { p50: rt.median, p95: rt.p95, p99: rt.p99, max: rt.max },
      server_cpu_s: cpu, wall_s: wall, peak_rss_kb: peakRss,
    };
    console.log(`${name}: ${r.created} users, ${r.completed} completed, ${r.failed} failed, errors ${JSON.stringify(r.errors)};` +
      ` ack round trip p50 ${r.response_ms.p50} ms p95 ${r.response_ms.p95} ms p99 ${r.response_ms.p99} ms max ${r.response_ms.max} ms;` +
      ` server CPU ${cpu.toFixed(1)} s over ${wall.toFixed(0)} s, peak RSS ${(peakRss / 1024).toFixed(0)} MB`);
    return r;
  } finally {
    await t.stop().catch(() => {});
    fs.rmSync(path.dirname(report), { recursive: true, force: true });
  }
}

async function main() {
  const out = {};
  for (const name of TARGETS) {
    if (name !== 'meeshy' && name !== 'node') throw new Error(`--target: '${name}' is not meeshy, node or both`);
    out[name] = await runTarget(name);
  }
  if (outPath) fs.writeFileSync(outPath, JSON.stringify(out, null, 2));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });

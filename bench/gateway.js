#!/usr/bin/env node
// meeshy-load --gateway: the signaling gateway under many sockets, ours
// (build/apps/meeshy-call, role all, SQLite) side by side with a Node
// socket.io 4.8 server giving the same events (bench/socketio-twin.js),
// the same socket.io-client 4.8 load against each in the same run. Each
// server is pinned to core 0, this driver and its sockets to core 1.
//
// For each target:
//  1. connect + join: --sockets websocket clients in calls of 4 (one
//     initiates, three join), --concurrency calls at a time: the wall
//     time, and each call:join's round trip (p50 / p95);
//  2. RSS per connection: the server's RSS with them all, less before any;
//     then --joins calls of two one after another: call:join's round trip
//     with the others connected and quiet;
//  3. ours: sockets past --max-connections (the sockets + 2) until one is
//     refused, which must be a 503 naming the limit, /health still 200;
//     then the socket.io-client sockets close;
//  4. paced broadcasts: --rate call:media-state events a second from the
//     sockets in turn (one outstanding per socket), each told to the three
//     others of its call, for --paced-s (by default long enough for every
//     socket to send once): fan-out delay from the emit to each receipt
//     (p50 / p95), how many arrived, how many sockets heard one;
//  5. saturation: one socket a call emits again as soon as it is
//     answered, for --phase-s: events delivered per server CPU-second.
// Steps 4 and 5 are driven by bench/gateway-load (C: --sockets of its own,
// the same calls of 4) unless --driver js, which drives them with the
// socket.io-client sockets of step 1 instead (on this machine that load's
// core is the limit long before either server's).
//
//   node bench/gateway.js [--target meeshy|node|both] [--sockets 1000]
//                         [--concurrency 25] [--rate 1000] [--phase-s 5]
//                         [--joins 100] [--runs 1] [--driver c|js]
//                         [--build DIR] [--out FILE.json]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { io } = require('socket.io-client');
const { opt } = require('./lib/cli');
const { startTwin } = require('./lib/twin');

const root = path.resolve(__dirname, '..');
const build = path.resolve(opt('--build', path.join(root, 'build')));
process.env.MEESHY_BIN = process.env.MEESHY_BIN || path.join(build, 'apps/meeshy-call/meeshy-call');
const { start } = require('../tests/integration/lib/server');

const SOCKETS = Number(opt('--sockets', '1000'));
const GROUP = 4;
const CONCURRENCY = Number(opt('--concurrency', '25'));
const RATE = Number(opt('--rate', '1000'));
const PHASE_S = Number(opt('--phase-s', '5'));
const RUNS = Number(opt('--runs', '1'));
const JOINS = Number(opt('--joins', '100'));
// long enough by default for every socket to send once, so every one hears
const PACED_S = Number(opt('--paced-s', String(Math.max(PHASE_S, Math.ceil(SOCKETS / RATE) + 3))));
const TARGETS = opt('--target', 'both') === 'both' ? ['meeshy', 'node'] : [opt('--target')];
const outPath = opt('--out', null);
// who drives steps 3 and 4: c (bench/gateway-load) or js (socket.io-client)
const DRIVER = opt('--driver', 'c');
if (DRIVER !== 'c' && DRIVER !== 'js') throw new Error(`--driver: '${DRIVER}' is not c or js`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (v, p) => {
  if (!v.length) return NaN;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
// utime and stime, in ticks of 10 ms: { user, sys, all } in seconds
const cpuTimes = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const user = Number(f[11]) / 100;
  const sys = Number(f[12]) / 100;
  return { user, sys, all: user + sys };
};
const cpuSeconds = (pid) => cpuTimes(pid).all;
const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// Connections ours allows: the sockets and the quiet joins' pairs, and the
// one past them must be told 503 (checked at the end of its run).
const MAX_CONNECTIONS = SOCKETS + 2;

async function meeshyTarget() {
  const srv = await start({
    args: ['--dev-auth', '--max-connections', String(MAX_CONNECTIONS), '--events-per-sec', '0',
      '--events-per-sec-per-ip', '0', '--max-sessions-per-ip', '0', '--max-connections-per-ip', '0', '--log-level', 'warn'],
    wrap: ['taskset', '-c', '0'],
  });
  return {
    name: 'meeshy', url: srv.url, pid: srv.proc.pid, stop: () => srv.stop(),
    // Past --max-connections: sockets are opened until one is refused; the
    // refusal must be Engine.IO's 503 naming the limit, the server healthy.
    async full() {
      const extra = [];
      let refused = null;
      for (let i = 0; i < 10 && !refused; i++) {
        try { extra.push(await connect(srv.url, `gw-extra-${i}`, 'gw-extra')); } catch (e) { refused = e; }
      }
      const more = await fetch(`${srv.url}/socket.io/?EIO=4&transport=polling`);
      const body = await more.json().catch(() => null);
      const health = (await fetch(`${srv.url}/health`)).status;
      const live = extra.length;
      for (const x of extra) x.close();
      return { accepted_past_sockets: live, refused: !!refused, status: more.status, body, health };
    },
  };
}

function connect(url, user, conversation) {
  const s = io(url, { auth: { token: user, conversations: [conversation] }, transports: ['websocket'],
    reconnection: false, forceNew: true, timeout: 60000 });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => { s.close(); reject(new Error(`${user}: ${e.message}`)); });
  });
}

async function ask(s, event, data) {
  const r = await s.timeout(60000).emitWithAck(event, data);
  if (!r || !r.ok) throw new Error(`${event}: ${JSON.stringify(r && r.error)}`);
  return r;
}

// Step 1: the calls, --concurrency at a time.
async function connectAll(t) {
  const calls = [];
  const joinMs = [];
  const ncalls = Math.ceil(SOCKETS / GROUP);
  const t0 = nowMs();
  for (let c0 = 0; c0 < ncalls; c0 += CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ncalls - c0) }, async (_, k) => {
      const c = c0 + k;
      const conv = `gw-conv-${c}`;
      const n = Math.min(GROUP, SOCKETS - c * GROUP);
      const socks = await Promise.all(Array.from({ length: n }, (_, i) => connect(t.url, `gw-${c * GROUP + i}`, conv)));
      const { callId } = await ask(socks[0], 'call:initiate', { conversationId: conv, type: 'video' });
      await Promise.all(socks.slice(1).map(async (s) => {
        const j0 = nowMs();
        await ask(s, 'call:join', { callId });
        joinMs.push(nowMs() - j0);
      }));
      calls[c] = { callId, socks };
    }));
    process.stdout.write(`\r  ${Math.min(SOCKETS, (c0 + CONCURRENCY) * GROUP)} sockets connected and in calls`);
  }
  const wallS = (nowMs() - t0) / 1000;
  process.stdout.write('\n');
  return { calls, joinMs, wallS };
}

// call:join's round trip with the sockets all connected and quiet: --joins
// calls of two, one after another (a fresh caller and joiner each).
async function quietJoins(t) {
  const ms = [];
  for (let i = 0; i < JOINS; i++) {
    const conv = `gw-quiet-${i}`;
    const [a, b] = await Promise.all([connect(t.url, `gwq-a-${i}`, conv), connect(t.url, `gwq-b-${i}`, conv)]);
    const { callId } = await ask(a, 'call:initiate', { conversationId: conv, type: 'video' });
    const j0 = nowMs();
    await ask(b, 'call:join', { callId });
    ms.push(nowMs() - j0);
    a.close();
    b.close();
    await sleep(20); // the server lets their connections go
  }
  return ms;
}

// Every socket counts what it is told; fan-out delays are measured from the
// sender's emit (one outstanding per sender, so the stamp is its own).
function listen(calls, sentAt, sink) {
  for (const { socks } of calls) {
    for (const s of socks) {
      s.on('call:media-state', (d) => {
        sink.delivered++;
        if (sink.heard) sink.heard.add(s);
        const i = Number(String(d.userId).slice(3));
        if (sink.delays && sentAt[i]) sink.delays.push(nowMs() - sentAt[i]);
      });
    }
  }
}

// Step 3: --rate events a second from the sockets in turn.
async function paced(t, calls, sentAt, sink) {
  const all = calls.flatMap(({ callId, socks }, c) => socks.map((s, i) => ({ s, callId, idx: c * GROUP + i, busy: false })));
  const perTick = RATE / 100;
  let next = 0;
  let credit = 0;
  let sent = 0;
  let skipped = 0;
  sink.delivered = 0;
  sink.delays = [];
  sink.heard = new Set();
  const end = nowMs() + PACED_S * 1000;
  while (nowMs() < end) {
    credit += perTick;
    for (; credit >= 1; credit--) {
      const p = all[next++ % all.length];
      if (p.busy || p.s.disconnected) { skipped++; continue; }
      p.busy = true;
      sentAt[p.idx] = nowMs();
      sent++;
      p.s.timeout(30000).emitWithAck('call:media-state', { callId: p.callId, audio: sent % 2 === 0, video: true })
        .then(() => { p.busy = false; }, () => { p.busy = false; });
    }
    await sleep(10);
  }
  await sleep(500); // the last ones' deliveries
  const expected = all.filter((p) => p.idx >= 0).length ? sent * (GROUP - 1) : 0;
  const heard = sink.heard.size;
  sink.heard = null;
  const r = { sent, skipped, heard, delivered: sink.delivered, expected, fanout_ms: { p50: pct(sink.delays, 0.5), p95: pct(sink.delays, 0.95), p99: pct(sink.delays, 0.99) } };
  sink.delays = null;
  return r;
}

// Step 4: one emitter a call, again as soon as answered.
async function saturate(t, calls, sink) {
  let stop = false;
  let sent = 0;
  sink.delivered = 0;
  const c0 = cpuTimes(t.pid);
  const l0 = cpuSeconds(process.pid);
  const t0 = nowMs();
  const loops = calls.map(async ({ callId, socks }) => {
    while (!stop) {
      sent++;
      try { await socks[0].timeout(30000).emitWithAck('call:media-state', { callId, audio: sent % 2 === 0, video: true }); } catch { return; }
    }
  });
  await sleep(PHASE_S * 1000);
  const delivered = sink.delivered;
  const c1 = cpuTimes(t.pid);
  const cpu = c1.all - c0.all;
  const wall = (nowMs() - t0) / 1000;
  const load = (cpuSeconds(process.pid) - l0) / wall;
  stop = true;
  await Promise.all(loops);
  return { sent, delivered, server_cpu: cpu / wall, server_sys_share: (c1.sys - c0.sys) / cpu, delivered_per_s: delivered / wall, delivered_per_cpu_s: delivered / cpu, load_cpu: load };
}

// Steps 3 and 4 by bench/gateway-load (C, its own sockets, the same
// calls of 4): socket.io-client costs more to receive an event than either
// server does to send it, so with it the load, not the server, is the limit.
function cLoad(t) {
  const port = new URL(t.url).port;
  const bin = path.join(build, 'bench/gateway-load');
  const out = execFileSync('taskset', ['-c', '1', bin, '--port', port, '--sockets', String(SOCKETS),
    '--rate', String(RATE), '--paced-s', String(PACED_S), '--phase-s', String(PHASE_S),
    '--pid', String(t.pid), '--prefix', 'gwl'], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  return JSON.parse(out.toString());
}

async function runTarget(make) {
  const t = await make();
  try {
    await sleep(300);
    const rss0 = rssKb(t.pid);
    const { calls, joinMs, wallS } = await connectAll(t);
    await sleep(1000);
    const rss1 = rssKb(t.pid);
    const quiet = await quietJoins(t);
    let p;
    let s;
    if (DRIVER === 'js') {
      const sentAt = new Array(SOCKETS).fill(0);
      const sink = { delivered: 0, delays: null };
      listen(calls, sentAt, sink);
      p = await paced(t, calls, sentAt, sink);
      s = await saturate(t, calls, sink);
    }
    const full = t.full ? await t.full() : null;
    for (const { socks } of calls) for (const so of socks) so.close();
    if (DRIVER === 'c') {
      await sleep(1500); // the server lets the socket.io-client ones go
      ({ paced: p, saturation: s } = cLoad(t));
    }
    const r = {
      target: t.name, sockets: SOCKETS, driver: DRIVER, connect_join_s: wallS,
      join_ms: { n: joinMs.length, p50: pct(joinMs, 0.5), p95: pct(joinMs, 0.95), max: Math.max(...joinMs) },
      quiet_join_ms: { n: quiet.length, p50: pct(quiet, 0.5), p95: pct(quiet, 0.95), max: Math.max(...quiet) },
      rss_per_connection_kb: (rss1 - rss0) / SOCKETS, rss_kb: rss1, paced: p, saturation: s,
    };
    console.log(`${t.name}: ${SOCKETS} sockets connected and joined in ${wallS.toFixed(1)} s; call:join p50 ${r.join_ms.p50.toFixed(2)} ms p95 ${r.join_ms.p95.toFixed(2)} ms; RSS ${(r.rss_per_connection_kb).toFixed(1)} kB per connection`);
    console.log(`${t.name}: call:join with ${SOCKETS} connected and quiet, ${JOINS} one after another: p50 ${r.quiet_join_ms.p50.toFixed(2)} ms p95 ${r.quiet_join_ms.p95.toFixed(2)} ms`);
    console.log(`${t.name}: ${RATE} events/s paced for ${PACED_S} s (${DRIVER} load): ${p.delivered} of ${p.expected} delivered, ${p.heard} of ${SOCKETS} sockets heard one, fan-out p50 ${p.fanout_ms.p50.toFixed(2)} ms p95 ${p.fanout_ms.p95.toFixed(2)} ms p99 ${p.fanout_ms.p99.toFixed(2)} ms (${p.skipped} skipped: their sender still waited)`);
    console.log(`${t.name}: saturation (${DRIVER} load): ${Math.round(s.delivered_per_s)} events delivered/s, server CPU ${(100 * s.server_cpu).toFixed(0)} % (${(100 * s.server_sys_share).toFixed(0)} % of it in the kernel), ${Math.round(s.delivered_per_cpu_s)} per server CPU-second, load CPU ${(100 * s.load_cpu).toFixed(0)} %`);
    if (full) {
      r.full = full;
      console.log(`${t.name}: past --max-connections ${MAX_CONNECTIONS}: ${full.accepted_past_sockets} more accepted, then ${full.refused ? 'refused' : 'NOT refused'}; a new handshake got ${full.status} ${JSON.stringify(full.body)}; /health ${full.health}`);
    }
    return r;
  } finally {
    await t.stop().catch(() => {});
  }
}

async function main() {
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const out = {};
  for (let run = 0; run < RUNS; run++) {
    for (const name of TARGETS) {
      if (name !== 'meeshy' && name !== 'node') throw new Error(`--target: '${name}' is not meeshy, node or both`);
      (out[name] = out[name] || []).push(await runTarget(name === 'meeshy' ? meeshyTarget : startTwin));
    }
  }
  if (out.meeshy && out.node) {
    const med = (v) => pct(v, 0.5);
    const m = (k, f) => med(out[k].map(f));
    const ratio = (a, b) => (b ? (a / b).toFixed(2) : 'n/a');
    const dm = m('meeshy', (r) => r.saturation.delivered_per_cpu_s);
    const dn = m('node', (r) => r.saturation.delivered_per_cpu_s);
    const qm = m('meeshy', (r) => r.quiet_join_ms.p95);
    const qn = m('node', (r) => r.quiet_join_ms.p95);
    console.log(`medians of ${RUNS}: call:join p95 with all connected: meeshy ${qm.toFixed(2)} ms, node ${qn.toFixed(2)} ms`);
    const wm = m('meeshy', (r) => r.connect_join_s);
    const wn = m('node', (r) => r.connect_join_s);
    console.log(`medians of ${RUNS}: delivered per server CPU-second meeshy ${Math.round(dm)}, node ${Math.round(dn)} (${ratio(dm, dn)}x); connect + join wall time ${wm.toFixed(1)} s against ${wn.toFixed(1)} s (${ratio(wm, wn)}x)`);
  }
  if (outPath) fs.writeFileSync(outPath, JSON.stringify(out, null, 2));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });

#!/usr/bin/env node
// meeshy-load: how many subscribers of 1.5 Mbit/s HD streams our SFU feeds
// on one core before a subscriber sees loss over 0.5 % or a forwarding
// delay p99 over 5 ms.
//
// The server (build/apps/meeshy-call, role all, SQLite) runs pinned to
// core 0, its DTLS thread too; everything else (this driver, its
// socket.io-client sockets, and bench/media-probe doing the transports'
// ICE, DTLS and SRTP) runs on core 1. Each of --calls calls has one
// publisher (Opus every 20 ms, one VP8 stream of 1500 kbit/s at 30 fps);
// subscribers join as mediasoup-client does (join, capabilities, a receive
// transport, consume, connect, resume) and are added round-robin over the
// calls in steps. At each step, over --step-s seconds: what the subscribers
// lost (RTP sequence numbers), the forwarding delay of every --sample-th
// packet (decrypted for its send stamp), the server's CPU and datagrams
// sent (forwarded packets per CPU-second), its RSS, and the load side's
// CPU (a load-bound step is said so, not counted against the server).
//
//   node bench/load.js [--build DIR] [--calls 10] [--steps 100,250,...]
//                      [--step-s 8] [--sample 16] [--out FILE.json]
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const build = path.resolve(opt('--build', path.join(root, 'build')));
const CALLS = Number(opt('--calls', '10'));
const STEPS = opt('--steps', '100,250,500,1000,1500,2000,2500,3000,3500').split(',').map(Number);
const STEP_S = Number(opt('--step-s', '8'));
const SAMPLE = Number(opt('--sample', '16'));
const outPath = opt('--out', null);
const LOSS_MAX = 0.5; // %
const P99_MAX_MS = 5;
const KBPS = 1500;
const FPS = 30;
process.env.MEESHY_BIN = process.env.MEESHY_BIN || path.join(build, 'apps/meeshy-call/meeshy-call');
const { start } = require(path.join(root, 'tests/integration/lib/server'));
const { io } = require(path.join(root, 'node_modules/socket.io-client'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pin = (pid, core) => execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });

// --- a probe process: many transports, JSON lines both ways ---
function probe(extra) {
  const proc = spawn('taskset', ['-c', '1', path.join(build, 'bench/media-probe'), ...extra],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  const events = [];
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    const ev = JSON.parse(line);
    if (ev.event === 'error') console.error(`media-probe: ${ev.what}: ${ev.detail}`);
    if (ev.event !== 'connected') events.push(ev);
    for (const w of waiting.splice(0)) if (!w(ev)) waiting.push(w);
  });
  return {
    proc,
    cmd: (o) => proc.stdin.write(`${JSON.stringify(o)}\n`),
    wait: (event, pred = () => true, ms = 30000) => new Promise((resolve, reject) => {
      const i = events.findIndex((e) => e.event === event && pred(e));
      if (i >= 0) return resolve(events.splice(i, 1)[0]);
      const t = setTimeout(() => reject(new Error(`media-probe: no ${event} within ${ms} ms`)), ms);
      waiting.push((e) => {
        if (e.event !== event || !pred(e)) return false;
        clearTimeout(t);
        resolve(e);
        return true;
      });
    }),
    quit: () => new Promise((r) => { proc.once('exit', r); proc.stdin.end(); }),
  };
}

async function connectSocket(url, user, conversationId) {
  const socket = io(url, { auth: { token: user, conversations: [conversationId] }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise((res, rej) => { socket.once('connect', res); socket.once('connect_error', rej); });
  const req = async (event, data) => {
    const r = await socket.timeout(30000).emitWithAck(event, data);
    if (!r.ok) throw new Error(`${user}: ${event}: ${r.error.code}: ${r.error.message}`);
    return r;
  };
  return { socket, req };
}

const dtlsOf = (fp) => ({ role: 'client', fingerprints: [{ algorithm: 'sha-256', value: fp }] });
const probeTransport = (p, id, t) => {
  const c = t.iceCandidates[0];
  p.cmd({ cmd: 'transport', id, ufrag: t.iceParameters.usernameFragment, pwd: t.iceParameters.password, ip: c.ip, port: c.port, fingerprint: t.dtlsParameters.fingerprints[0].value });
};

// One call's publisher: the send transport, an audio and a video producer.
async function publisher(url, c, pub, fp) {
  const conv = `load-${c}`;
  const { socket, req } = await connectSocket(url, `pub-${c}`, conv);
  const call = await req('call:initiate', { conversationId: conv, type: 'video' });
  await req('media:get-capabilities', { callId: call.callId });
  const send = await req('media:create-transport', { callId: call.callId, direction: 'send' });
  await req('media:connect-transport', { transportId: send.id, dtlsParameters: dtlsOf(fp) });
  probeTransport(pub, `pub-${c}`, send);
  await pub.wait('connected', (e) => e.id === `pub-${c}`);
  const ssrc = 0x20000000 + c * 8;
  await req('media:produce', { transportId: send.id, kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc }] } });
  await req('media:produce', { transportId: send.id, kind: 'video', rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }], encodings: [{ ssrc: ssrc + 1 }] } });
  pub.cmd({ cmd: 'send', id: `pub-${c}`, sender: c, audio: ssrc, video: [ssrc + 1], kbps: [KBPS], fps: FPS, audio_bytes: 80 });
  return { socket, callId: call.callId, conv };
}

// One subscriber, as mediasoup-client makes it.
async function subscriber(url, k, call, sub, fp) {
  const { socket, req } = await connectSocket(url, `sub-${k}`, call.conv);
  await req('call:join', { callId: call.callId });
  const caps = await req('media:get-capabilities', { callId: call.callId });
  const recv = await req('media:create-transport', { callId: call.callId, direction: 'recv' });
  const consumers = [];
  for (const p of caps.producers) {
    consumers.push(await req('media:consume', { transportId: recv.id, producerId: p.producerId, rtpCapabilities: caps.rtpCapabilities }));
  }
  await req('media:connect-transport', { transportId: recv.id, dtlsParameters: dtlsOf(fp) });
  const id = `sub-${k}`;
  probeTransport(sub, id, recv);
  await sub.wait('connected', (e) => e.id === id, 60000);
  for (const c of consumers) await req('media:resume-consumer', { consumerId: c.id });
  return socket;
}

// CPU seconds of a process (all its threads), from /proc.
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in ticks
}
const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function measure(url, srv, sub, subscribers) {
  sub.cmd({ cmd: 'report', reset: true });
  const r0 = await sub.wait('report');
  const t0 = Date.now();
  const c0 = cpuSeconds(srv.proc.pid);
  const l0 = cpuSeconds(sub.proc.pid);
  const f0 = await metric(url, 'meeshy_media_datagrams_sent_total');
  await sleep(STEP_S * 1000);
  const f1 = await metric(url, 'meeshy_media_datagrams_sent_total');
  const c1 = cpuSeconds(srv.proc.pid);
  const l1 = cpuSeconds(sub.proc.pid);
  const wall = (Date.now() - t0) / 1000;
  sub.cmd({ cmd: 'report' });
  const r1 = await sub.wait('report');
  const expected = r1.expected - r0.expected;
  const lost = Math.max(0, expected - (r1.received - r0.received));
  const v = r1.video_oneway_us;
  return {
    subscribers,
    loss_pct: expected ? (100 * lost) / expected : 0,
    video_ms: { n: v.n, p50: v.p50 / 1000, p99: v.p99 / 1000 },
    server_cpu: (c1 - c0) / wall,
    load_cpu: (l1 - l0) / wall,
    forwarded_per_s: (f1 - f0) / wall,
    forwarded_per_cpu_s: (f1 - f0) / Math.max(1e-9, c1 - c0),
    server_rss_kb: rssKb(srv.proc.pid),
  };
}

async function main() {
  pin(process.pid, 1);
  const srv = await start({ args: ['--dev-auth', '--sfu-from', '1', '--max-participants', '1000', '--max-connections', '20000',
    '--events-per-sec', '0', '--events-per-sec-per-ip', '0', '--max-sessions-per-ip', '0', '--log-level', 'warn'] });
  pin(srv.proc.pid, 0);
  const url = srv.url;
  const pub = probe(['--transports', String(CALLS), '--consent-ms', '2000']);
  const sub = probe(['--transports', String(Math.max(...STEPS) + 16), '--consent-ms', '5000', '--sample', String(SAMPLE)]);
  const pubFp = (await pub.wait('ready')).fingerprint;
  const subFp = (await sub.wait('ready')).fingerprint;
  const sockets = [];
  const results = [];
  let verdict = `all ${STEPS.length} steps held`;
  try {
    const calls = [];
    for (let c = 0; c < CALLS; c++) calls.push(await publisher(url, c, pub, pubFp));
    sockets.push(...calls.map((c) => c.socket));
    const idle = await measure(url, srv, sub, 0);
    console.log(`publishers: ${CALLS} x ${KBPS} kbit/s; server idle CPU ${(idle.server_cpu * 100).toFixed(1)} %, RSS ${idle.server_rss_kb} kB`);
    results.push(idle);
    let k = 0;
    for (const target of STEPS) {
      const t0 = Date.now();
      while (k < target) {
        const batch = [];
        for (let i = 0; i < 20 && k < target; i++, k++) batch.push(subscriber(url, k, calls[k % CALLS], sub, subFp));
        sockets.push(...await Promise.all(batch));
        process.stdout.write(`\r  ${k} subscribers joined`);
      }
      process.stdout.write(` (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
      await sleep(2000);
      const m = await measure(url, srv, sub, target);
      results.push(m);
      console.log(`${String(target).padStart(5)} subscribers: loss ${m.loss_pct.toFixed(3)} %, video delay p50 ${m.video_ms.p50.toFixed(3)} ms p99 ${m.video_ms.p99.toFixed(3)} ms, server CPU ${(m.server_cpu * 100).toFixed(0)} %, ${Math.round(m.forwarded_per_s)} datagrams/s, ${Math.round(m.forwarded_per_cpu_s)} per CPU-s, RSS ${m.server_rss_kb} kB, load CPU ${(m.load_cpu * 100).toFixed(0)} %`);
      if (m.load_cpu > 0.9) { verdict = `load-bound at ${target}: the load side used ${(m.load_cpu * 100).toFixed(0)} % of its core`; break; }
      if (m.loss_pct > LOSS_MAX || m.video_ms.p99 > P99_MAX_MS) { verdict = `limit passed at ${target}`; break; }
    }
  } finally {
    for (const s of sockets) s.close();
    await pub.quit();
    await sub.quit();
    await srv.stop();
  }
  const held = results.filter((r) => r.subscribers > 0 && r.loss_pct <= LOSS_MAX && r.video_ms.p99 <= P99_MAX_MS && r.load_cpu <= 0.9);
  const max = held.length ? held[held.length - 1].subscribers : 0;
  // memory per subscription: RSS against subscribers, least squares
  const pts = results.filter((r) => r.subscribers > 0);
  let perSubKb = NaN;
  if (pts.length >= 2) {
    const n = pts.length, sx = pts.reduce((a, r) => a + r.subscribers, 0), sy = pts.reduce((a, r) => a + r.server_rss_kb, 0);
    const sxx = pts.reduce((a, r) => a + r.subscribers ** 2, 0), sxy = pts.reduce((a, r) => a + r.subscribers * r.server_rss_kb, 0);
    perSubKb = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  }
  const summary = { target: 'meeshy', calls: CALLS, kbps: KBPS, max_subscribers: max, verdict, rss_per_subscription_kb: perSubKb, steps: results };
  console.log(`meeshy-load: ${max} subscribers held (${verdict}); RSS ${perSubKb.toFixed(1)} kB per subscription`);
  if (outPath) fs.writeFileSync(outPath, JSON.stringify(summary, null, 2));
}

main().catch((e) => { console.error(e); process.exit(1); });

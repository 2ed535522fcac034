#!/usr/bin/env node
// meeshy-load: how many subscribers of 1.5 Mbit/s HD streams an SFU feeds
// on one core before a subscriber sees loss over 0.5 % or a forwarding
// delay p99 over 5 ms: our server, and Janus 1.1.2's VideoRoom (the
// Debian package) under the same load in the same run.
//
// The SFU runs pinned to core 0, all its threads; everything else (this
// driver, its signaling, and bench/media-probe doing the transports' ICE,
// DTLS and SRTP) runs on core 1. Ours is build/apps/meeshy-call (role all,
// SQLite), driven as mediasoup-client drives it over socket.io; Janus runs
// from a copy of /etc/janus with only the VideoRoom plugin and the
// WebSocket transport on 127.0.0.1:8188, driven over its JSON API with SDP
// offer and answer and full ICE (the probe answers Janus's checks). Each of --calls calls has one
// publisher (Opus every 20 ms, one VP8 stream of 1500 kbit/s at 30 fps);
// subscribers join as mediasoup-client does (join, capabilities, a receive
// transport, consume, connect, resume) and are added round-robin over the
// calls in steps. At each step, over --step-s seconds: what the subscribers
// lost (the larger of the gaps in their RTP sequence numbers and what they
// got short of what the publishers sent them: a stalled stream has no
// gaps), the forwarding delay of every --sample-th
// packet (decrypted for its send stamp), the server's CPU and datagrams
// sent (forwarded packets per CPU-second), its RSS, and the load side's
// CPU (a load-bound step is said so, not counted against the server).
//
// Forwarded packets per CPU-second: what the subscribers received over the
// SFU process's CPU time, the same count for both.
//
// The third target, relay, is bench/raw-relay under the same load: the
// same ICE-lite, DTLS-SRTP and batched sends, with no SFU in between
// (unprotect once, a protected copy per subscriber): what forwarding costs
// by itself, the line ours is measured against.
//
// Janus comes from `scripts/deps.sh bench`.
//
//   node bench/load.js [--target meeshy|janus|relay|both|all|A,B] [--build DIR]
//                      [--calls 10] [--steps 100,250,...] [--step-s 8]
//                      [--sample 16] [--media-workers 1] [--storm 200]
//                      [--out FILE.json]
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { opt, realtimeAllowed, inOwnNetns } = require('./lib/cli');
const build = path.resolve(opt('--build', path.join(root, 'build')));
const CALLS = Number(opt('--calls', '10'));
const STEPS = opt('--steps', '100,250,500,1000,1500,2000,2500,3000,3500').split(',').map(Number);
const STEP_S = Number(opt('--step-s', '8'));
const SAMPLE = Number(opt('--sample', '16'));
const outPath = opt('--out', null);
// our SFU's media worker threads (all pinned to the SFU's core)
const MEDIA_WORKERS = opt('--media-workers', '1');
// after the last step: this many more subscribers join all at once (a join
// storm) while the others are fed
const STORM = Number(opt('--storm', '0'));
const TARGETS = { both: ['meeshy', 'janus'], all: ['meeshy', 'janus', 'relay'] }[opt('--target', 'both')] || opt('--target').split(',');
const LOSS_MAX = 0.5; // %
const P99_MAX_MS = 5;
const KBPS = 1500;
const FPS = 30;
process.env.MEESHY_BIN = process.env.MEESHY_BIN || path.join(build, 'apps/meeshy-call/meeshy-call');
const { start } = require(path.join(root, 'tests/integration/lib/server'));
const { io } = require(path.join(root, 'node_modules/socket.io-client'));
const WebSocket = require(path.join(root, 'node_modules/ws'));
const { spawnProbe } = require('./lib/probe');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pin = (pid, core) => execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
// SCHED_FIFO (as root), as sim/crosscheck.js does: the SFU above the
// receiving probe above the sending one, so a delay measured is the SFU's,
// not the load side waiting for its shared core behind this driver.
const realtime = realtimeAllowed();
// (a storm's joiners below the fed subscribers: their handshakes must not
// delay the receipt whose delay is measured)
const PRIO = { sfu: '20', recv: '15', send: '10', storm: '5' };
const fifo = (pid, prio) => { if (realtime) execFileSync('chrt', ['-a', '-f', '-p', prio, String(pid)], { stdio: 'ignore' }); };

// --- a probe process: many transports, on core 1 ---
function probe(extra, prio) {
  // (a peer that closes DTLS is the SFU stopping at the end of a run)
  // started under its policy. Its handshakes run inline, as a browser's
  // network thread reads the DTLS Finished before the SRTP behind it
  const p = spawnProbe(['taskset', '-c', '1', ...(realtime ? ['chrt', '-f', prio] : []),
    path.join(build, 'bench/media-probe'), ...extra], { quietErrors: /closed DTLS/ });
  return p;
}

// While set, every request's emit -> ack time (ms) goes here.
let ackLog = null;

async function connectSocket(url, user, conversationId) {
  const socket = io(url, { auth: { token: user, conversations: [conversationId] }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise((res, rej) => { socket.once('connect', res); socket.once('connect_error', rej); });
  const req = async (event, data) => {
    const t0 = process.hrtime.bigint();
    const r = await socket.timeout(30000).emitWithAck(event, data);
    if (ackLog) ackLog.push(Number(process.hrtime.bigint() - t0) / 1e6);
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

// --- our SFU, as mediasoup-client drives it ---

async function meeshyTarget() {
  const srv = await start({ args: ['--dev-auth', '--sfu-from', '1', '--max-participants', '1000', '--max-connections', '20000',
    '--events-per-sec', '0', '--events-per-sec-per-ip', '0', '--max-sessions-per-ip', '0', '--max-connections-per-ip', '0', '--log-level', 'warn',
    '--media-workers', MEDIA_WORKERS],
    // from its start, so that its threads inherit core 0 and SCHED_FIFO and
    // its handshake threads can leave it for below the media (port_work.c)
    wrap: ['taskset', '-c', '0', ...(realtime ? ['chrt', '-f', PRIO.sfu] : [])] });
  const url = srv.url;
  const sockets = [];
  return {
    name: 'meeshy',
    pid: srv.proc.pid,
    // One call's publisher: the send transport, an audio and a video producer.
    async publisher(c, pub, fp) {
      const conv = `load-${c}`;
      const { socket, req } = await connectSocket(url, `pub-${c}`, conv);
      sockets.push(socket);
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
      return { callId: call.callId, conv };
    },
    // One subscriber, as mediasoup-client makes it.
    async subscriber(k, call, sub, fp) {
      const { socket, req } = await connectSocket(url, `sub-${k}`, call.conv);
      sockets.push(socket);
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
    },
    // the server's own view: each copy of an RTP packet, from the
    // packet's arrival at its socket to the copy's send (/metrics)
    async forwardDelay() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const buckets = [...text.matchAll(/^meeshy_media_forward_delay_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)]
        .map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), n: Number(m[2]) }));
      return buckets;
    },
    async stop() {
      for (const s of sockets) s.close();
      await srv.stop();
    },
  };
}

// --- the raw relay: the same transports with no SFU in them ---

// bench/raw-relay: unprotect, a protected copy per subscriber of the call,
// batched sends; no rewrite, no layers, no NACK history, no RTCP. What
// forwarding costs by itself on this machine, under the same load.
async function relayTarget() {
  const relay = spawnProbe(['taskset', '-c', '0', ...(realtime ? ['chrt', '-f', PRIO.sfu] : []),
    path.join(build, 'bench/raw-relay'), '--transports', String(Math.max(...STEPS) + CALLS + STORM + 16)]);
  await relay.wait('ready');
  const open = async (p, id, call, publisher, fp) => {
    relay.cmd({ cmd: 'transport', id, call, publisher, fingerprint: fp });
    const t = await relay.wait('transport', (e) => e.id === id);
    p.cmd({ cmd: 'transport', id, ufrag: t.ufrag, pwd: t.pwd, ip: t.ip, port: t.port, fingerprint: t.fingerprint });
    await p.wait('connected', (e) => e.id === id, 60000);
  };
  return {
    name: 'relay',
    pid: relay.proc.pid,
    async publisher(c, pub, fp) {
      await open(pub, `pub-${c}`, c, true, fp);
      const ssrc = 0x20000000 + c * 8;
      pub.cmd({ cmd: 'send', id: `pub-${c}`, sender: c, audio: ssrc, video: [ssrc + 1], kbps: [KBPS], fps: FPS, audio_bytes: 80 });
      return { call: c };
    },
    async subscriber(k, call, sub, fp) {
      await open(sub, `sub-${k}`, call.call, false, fp);
    },
    async stop() { await relay.quit(); },
  };
}

// --- Janus VideoRoom, over its WebSocket JSON API ---

// A copy of Debian's configuration: VideoRoom and WebSockets only, on
// 127.0.0.1.
function janusConfig() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meeshy-janus-'));
  for (const f of fs.readdirSync('/etc/janus')) fs.copyFileSync(path.join('/etc/janus', f), path.join(dir, f));
  const edit = (f, pairs) => {
    let t = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const [re, to] of pairs) {
      if (!re.test(t)) throw new Error(`janus config ${f}: ${re} not found`);
      t = t.replace(re, to);
    }
    fs.writeFileSync(path.join(dir, f), t);
  };
  const plugins = fs.readdirSync('/usr/lib/x86_64-linux-gnu/janus/plugins').filter((f) => f.endsWith('.so') && f !== 'libjanus_videoroom.so');
  const transports = fs.readdirSync('/usr/lib/x86_64-linux-gnu/janus/transports').filter((f) => f.endsWith('.so') && f !== 'libjanus_websockets.so');
  edit('janus.jcfg', [
    [/#disable = "libjanus_voicemail.so,libjanus_recordplay.so"/, `disable = "${plugins.join(',')}"`],
    [/#disable = "libjanus_rabbitmq.so"/, `disable = "${transports.join(',')}"`],
  ]);
  if (process.env.LOAD_DEBUG) edit('janus.jcfg', [[/nice_debug = false/, 'nice_debug = true']]);
  edit('janus.transport.websockets.jcfg', [[/#ws_ip = "[^"]*"/, 'ws_ip = "127.0.0.1"']]);
  return dir;
}

function janusClient(ws) {
  let n = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const m = JSON.parse(data);
    if (m.janus === 'ack' || !m.transaction) return;
    const p = pending.get(m.transaction);
    if (!p) return;
    pending.delete(m.transaction);
    if (m.janus === 'error' || m.plugindata?.data?.error) p.rej(new Error(`janus: ${JSON.stringify(m.error || m.plugindata.data)}`));
    else p.res(m);
  });
  return (msg) => new Promise((res, rej) => {
    const transaction = `t${++n}`;
    pending.set(transaction, { res, rej });
    ws.send(JSON.stringify({ ...msg, transaction }));
  });
}

// What the driver needs of an SDP: ICE, DTLS, the first candidate, the
// payload types, and each m-line (for an answer).
function parseSdp(sdp) {
  const lines = sdp.split(/\r?\n/);
  const get = (re) => { for (const l of lines) { const m = re.exec(l); if (m) return m[1]; } return null; };
  const cand = lines.map((l) => /^a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host/i.exec(l)).find((m) => m && !m[1].includes(':'));
  const media = [];
  for (const l of lines) {
    const m = /^m=(\w+) \d+ (\S+) (.*)$/.exec(l);
    if (m) media.push({ kind: m[1], proto: m[2], pts: m[3].split(' '), attrs: [] });
    else if (media.length && l.startsWith('a=')) media[media.length - 1].attrs.push(l);
  }
  const ptOf = (kind) => { const m = media.find((x) => x.kind === kind); return m ? Number(m.pts[0]) : undefined; };
  return {
    ufrag: get(/^a=ice-ufrag:(\S+)/), pwd: get(/^a=ice-pwd:(\S+)/),
    fingerprint: get(/^a=fingerprint:sha-256 (\S+)/i), setup: get(/^a=setup:(\S+)/),
    ip: cand ? cand[1] : null, port: cand ? Number(cand[2]) : null,
    ptAudio: ptOf('audio'), ptVideo: ptOf('video'), media,
  };
}

function ourSdpHead(mids) {
  return ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', `a=group:BUNDLE ${mids.join(' ')}`, 'a=msid-semantic: WMS'];
}
function ourTransportLines(local, fp, setup) {
  return [`c=IN IP4 ${local.ip}`, `a=ice-ufrag:${local.ufrag}`, `a=ice-pwd:${local.pwd}`,
    `a=fingerprint:sha-256 ${fp}`, `a=setup:${setup}`, 'a=rtcp-mux',
    `a=candidate:1 1 udp 2130706431 ${local.ip} ${local.port} typ host`, 'a=end-of-candidates'];
}

async function janusTarget() {
  if (!fs.existsSync('/usr/bin/janus')) throw new Error('janus is not installed: scripts/deps.sh bench (Debian package janus), or --target meeshy');
  const dir = janusConfig();
  const proc = spawn('janus', ['-F', dir, '-E', 'v0', '-d', process.env.LOAD_DEBUG ? '5' : '2'],
    { stdio: ['ignore', process.env.LOAD_DEBUG ? 'inherit' : 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  let ws;
  for (let i = 0; ; i++) {
    try {
      ws = await new Promise((res, rej) => {
        const w = new WebSocket('ws://127.0.0.1:8188/', 'janus-protocol');
        w.once('open', () => res(w));
        w.once('error', rej);
      });
      break;
    } catch (e) {
      if (i > 100 || proc.exitCode !== null) throw new Error(`janus did not start: ${e.message}\n${log}`);
      await sleep(100);
    }
  }
  pin(proc.pid, 0);
  fifo(proc.pid, PRIO.sfu);
  const call = janusClient(ws);
  const session = (await call({ janus: 'create' })).data.id;
  const keepalive = setInterval(() => ws.send(JSON.stringify({ janus: 'keepalive', session_id: session, transaction: 'k' })), 20000);
  const attach = async () => (await call({ janus: 'attach', plugin: 'janus.plugin.videoroom', session_id: session })).data.id;
  const message = (handle, body, jsep) => call({ janus: 'message', session_id: session, handle_id: handle, body, ...(jsep ? { jsep } : {}) });
  const admin = await attach();
  return {
    name: 'janus',
    pid: proc.pid,
    async publisher(c, pub, fp) {
      const room = 7000 + c;
      await message(admin, { request: 'create', room, publishers: 1, bitrate: 0, audiocodec: 'opus', videocodec: 'vp8', permanent: false });
      const h = await attach();
      const joined = await message(h, { request: 'join', ptype: 'publisher', room, display: `pub-${c}` });
      const id = `pub-${c}`;
      pub.cmd({ cmd: 'prepare', id, ip: JANUS_PEER_IP });
      const local = await pub.wait('local', (e) => e.id === id);
      const ssrc = 0x20000000 + c * 8;
      const sdp = [...ourSdpHead(['0', '1']),
        'm=audio 9 UDP/TLS/RTP/SAVPF 100', ...ourTransportLines(local, fp, 'actpass'), 'a=mid:0', 'a=sendonly',
        'a=rtpmap:100 opus/48000/2', `a=ssrc:${ssrc} cname:load`,
        'm=video 9 UDP/TLS/RTP/SAVPF 101', ...ourTransportLines(local, fp, 'actpass'), 'a=mid:1', 'a=sendonly',
        'a=rtpmap:101 VP8/90000', 'a=rtcp-fb:101 nack', 'a=rtcp-fb:101 nack pli', 'a=rtcp-fb:101 ccm fir', `a=ssrc:${ssrc + 1} cname:load`, ''].join('\r\n');
      const r = await message(h, { request: 'publish', audio: true, video: true }, { type: 'offer', sdp });
      const ans = parseSdp(r.jsep.sdp);
      if (process.env.LOAD_DEBUG) console.error(sdp, r.jsep.sdp, ans);
      pub.cmd({ cmd: 'transport', id, ufrag: ans.ufrag, pwd: ans.pwd, ip: ans.ip, port: ans.port, fingerprint: ans.fingerprint, dtls: ans.setup === 'active' ? 'server' : 'client' });
      await pub.wait('connected', (e) => e.id === id);
      pub.cmd({ cmd: 'send', id, sender: c, audio: ssrc, video: [ssrc + 1], kbps: [KBPS], fps: FPS, audio_bytes: 80 });
      return { room, feed: joined.plugindata.data.id };
    },
    async subscriber(k, pubc, sub, fp) {
      const h = await attach();
      const r = await message(h, { request: 'join', ptype: 'subscriber', room: pubc.room, streams: [{ feed: pubc.feed }] });
      const offer = parseSdp(r.jsep.sdp);
      const id = `sub-${k}`;
      sub.cmd({ cmd: 'prepare', id, ip: JANUS_PEER_IP });
      const local = await sub.wait('local', (e) => e.id === id);
      const mids = offer.media.map((m) => (m.attrs.find((a) => a.startsWith('a=mid:')) || 'a=mid:0').slice(6));
      const lines = ourSdpHead(mids);
      offer.media.forEach((m, i) => {
        if (m.kind !== 'audio' && m.kind !== 'video') { lines.push(`m=${m.kind} 0 ${m.proto} ${m.pts.join(' ')}`, `a=mid:${mids[i]}`); return; }
        const pt = m.pts[0];
        lines.push(`m=${m.kind} 9 UDP/TLS/RTP/SAVPF ${pt}`, ...ourTransportLines(local, fp, 'active'), `a=mid:${mids[i]}`, 'a=recvonly',
          ...m.attrs.filter((a) => a.startsWith(`a=rtpmap:${pt} `) || a.startsWith(`a=rtcp-fb:${pt} `)));
      });
      lines.push('');
      sub.cmd({ cmd: 'transport', id, ufrag: offer.ufrag, pwd: offer.pwd, ip: offer.ip, port: offer.port, fingerprint: offer.fingerprint, dtls: 'client', ice: 'controlled', pt_audio: offer.ptAudio, pt_video: offer.ptVideo });
      if (process.env.LOAD_DEBUG) console.error(r.jsep.sdp, lines.join('\n'));
      await message(h, { request: 'start' }, { type: 'answer', sdp: lines.join('\r\n') });
      await sub.wait('connected', (e) => e.id === id, 60000);
    },
    async stop() {
      clearInterval(keepalive);
      ws.close();
      proc.kill('SIGTERM');
      await new Promise((r) => { if (proc.exitCode !== null) r(); else proc.once('exit', r); });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// CPU seconds of a process (all its threads), from /proc.
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in ticks
}
const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

// A quantile from the difference of two cumulative histograms: the bound
// of the first bucket that reaches it (an upper bound, in ms).
function histQuantile(h0, h1, q) {
  if (!h0 || !h1 || !h1.length) return null;
  const total = h1[h1.length - 1].n - h0[h0.length - 1].n;
  if (!total) return null;
  const hit = h1.find((b, i) => b.n - h0[i].n >= q * total);
  return hit.le * 1000;
}

// What the publishers sent, all of them (cumulative).
async function sentSoFar(pub) {
  pub.cmd({ cmd: 'report' });
  return (await pub.wait('report')).rtp_out;
}

async function measure(target, sub, subscribers, pub) {
  const s0 = await sentSoFar(pub);
  sub.cmd({ cmd: 'report', reset: true });
  const r0 = await sub.wait('report');
  const d0 = target.forwardDelay ? await target.forwardDelay() : null;
  const t0 = Date.now();
  const c0 = cpuSeconds(target.pid);
  const l0 = cpuSeconds(sub.proc.pid);
  await sleep(STEP_S * 1000);
  const c1 = cpuSeconds(target.pid);
  const l1 = cpuSeconds(sub.proc.pid);
  const wall = (Date.now() - t0) / 1000;
  // in the same order as at the start (publishers, then subscribers), so
  // both windows are the same length
  const s1 = await sentSoFar(pub);
  sub.cmd({ cmd: 'report' });
  const r1 = await sub.wait('report');
  const d1 = target.forwardDelay ? await target.forwardDelay() : null;
  const expected = r1.expected - r0.expected;
  const received = r1.received - r0.received;
  // Sequence gaps miss a stream that stalled (or never started): what
  // every subscriber was due (each publisher's packets to its call's
  // subscribers, round robin over the calls) catches it.
  const due = ((s1 - s0) * subscribers) / CALLS;
  const v = r1.video_oneway_us;
  return {
    subscribers,
    loss_pct: Math.max(expected ? (100 * Math.max(0, expected - received)) / expected : 0,
      due ? (100 * Math.max(0, due - received)) / due : 0),
    gap_loss_pct: expected ? (100 * Math.max(0, expected - received)) / expected : 0,
    shortfall_pct: due ? (100 * Math.max(0, due - received)) / due : 0,
    video_ms: { n: v.n, p50: v.p50 / 1000, p99: v.p99 / 1000 },
    // ours only: socket in -> copy out, bucket bounds (ms)
    server_delay_ms: d1 ? { p50_le: histQuantile(d0, d1, 0.5), p99_le: histQuantile(d0, d1, 0.99) } : null,
    server_cpu: (c1 - c0) / wall,
    load_cpu: (l1 - l0) / wall,
    forwarded_per_s: received / wall,
    forwarded_per_cpu_s: received / Math.max(1e-9, c1 - c0),
    server_rss_kb: rssKb(target.pid),
  };
}

const pct = (v, q) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : NaN;
};

// A join storm: `n` more subscribers join at once (their own probe) while
// the `fed` ones are fed; what the fed ones see meanwhile (loss, delay,
// the server's socket in -> copy out) and how fast the gateway answers the
// storm's requests.
async function storm(target, calls, sub, pub, fed, n) {
  const sp = probe(['--transports', String(n + 16), '--consent-ms', '5000', '--sample', String(SAMPLE)], PRIO.storm);
  const fp = (await sp.wait('ready')).fingerprint;
  const d0 = target.forwardDelay ? await target.forwardDelay() : null;
  const s0 = await sentSoFar(pub);
  sub.cmd({ cmd: 'report', reset: true });
  const r0 = await sub.wait('report');
  const acks = [];
  ackLog = acks;
  const t0 = Date.now();
  try {
    await Promise.all(Array.from({ length: n }, (_, i) => target.subscriber(fed + i, calls[(fed + i) % CALLS], sp, fp)));
  } finally {
    ackLog = null;
  }
  const took = (Date.now() - t0) / 1000;
  const s1 = await sentSoFar(pub);
  sub.cmd({ cmd: 'report' });
  const r1 = await sub.wait('report');
  const d1 = target.forwardDelay ? await target.forwardDelay() : null;
  await sp.quit();
  const due = ((s1 - s0) * fed) / CALLS;
  const received = r1.received - r0.received;
  const r = {
    joiners: n, fed, took_s: took,
    ack_ms: { n: acks.length, p50: pct(acks, 0.5), p95: pct(acks, 0.95), max: Math.max(...acks) },
    fed_loss_pct: due ? (100 * Math.max(0, due - received)) / due : 0,
    fed_video_ms: { p50: r1.video_oneway_us.p50 / 1000, p99: r1.video_oneway_us.p99 / 1000 },
    server_delay_ms: d1 ? { p50_le: histQuantile(d0, d1, 0.5), p99_le: histQuantile(d0, d1, 0.99) } : null,
  };
  console.log(`${target.name} storm: ${n} joined in ${took.toFixed(1)} s while ${fed} were fed; acks p50 ${r.ack_ms.p50.toFixed(1)} ms p95 ${r.ack_ms.p95.toFixed(1)} ms max ${r.ack_ms.max.toFixed(0)} ms; the fed: loss ${r.fed_loss_pct.toFixed(3)} %, delay p50 ${r.fed_video_ms.p50.toFixed(2)} ms p99 ${r.fed_video_ms.p99.toFixed(2)} ms${r.server_delay_ms ? `, in->out p99 <= ${r.server_delay_ms.p99_le} ms` : ''}`);
  return r;
}

function rssSlope(results) {
  const pts = results.filter((r) => r.subscribers > 0);
  if (pts.length < 2) return NaN;
  const n = pts.length, sx = pts.reduce((a, r) => a + r.subscribers, 0), sy = pts.reduce((a, r) => a + r.server_rss_kb, 0);
  const sxx = pts.reduce((a, r) => a + r.subscribers ** 2, 0), sxy = pts.reduce((a, r) => a + r.subscribers * r.server_rss_kb, 0);
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

async function runTarget(make) {
  const pub = probe(['--transports', String(CALLS), '--consent-ms', '2000', '--stamp-on-send'], PRIO.send);
  const sub = probe(['--transports', String(Math.max(...STEPS) + 16), '--consent-ms', '5000', '--sample', String(SAMPLE)], PRIO.recv);
  const pubFp = (await pub.wait('ready')).fingerprint;
  const subFp = (await sub.wait('ready')).fingerprint;
  const target = await make();
  const bareRssKb = rssKb(target.pid); // before any participant
  const results = [];
  let verdict = `all ${STEPS.length} steps held`;
  let stormResult = null;
  try {
    const calls = [];
    for (let c = 0; c < CALLS; c++) calls.push(await target.publisher(c, pub, pubFp));
    const idle = await measure(target, sub, 0, pub);
    idle.rss_per_publisher_kb = (idle.server_rss_kb - bareRssKb) / CALLS;
    console.log(`${target.name}: ${CALLS} publishers x ${KBPS} kbit/s; idle CPU ${(idle.server_cpu * 100).toFixed(1)} %, RSS ${bareRssKb} kB before them, ${idle.server_rss_kb} kB after (${idle.rss_per_publisher_kb.toFixed(0)} kB per publisher)`);
    results.push(idle);
    let k = 0;
    for (const target_n of STEPS) {
      const t0 = Date.now();
      while (k < target_n) {
        const batch = [];
        for (let i = 0; i < 20 && k < target_n; i++, k++) batch.push(target.subscriber(k, calls[k % CALLS], sub, subFp));
        await Promise.all(batch);
        process.stdout.write(`\r  ${k} subscribers joined`);
      }
      process.stdout.write(` (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
      await sleep(2000);
      const m = await measure(target, sub, target_n, pub);
      results.push(m);
      console.log(`${target.name} ${String(target_n).padStart(5)} subscribers: loss ${m.loss_pct.toFixed(3)} % (gaps ${m.gap_loss_pct.toFixed(3)}, short of due ${m.shortfall_pct.toFixed(3)}), video delay p50 ${m.video_ms.p50.toFixed(3)} ms p99 ${m.video_ms.p99.toFixed(3)} ms, ${m.server_delay_ms ? `in->out p50 <= ${m.server_delay_ms.p50_le} ms p99 <= ${m.server_delay_ms.p99_le} ms, ` : ''}CPU ${(m.server_cpu * 100).toFixed(0)} %, ${Math.round(m.forwarded_per_s)} packets/s received, ${Math.round(m.forwarded_per_cpu_s)} per CPU-s, RSS ${m.server_rss_kb} kB, load CPU ${(m.load_cpu * 100).toFixed(0)} %`);
      // the delay limit is noted and the ramp goes on, to find where the
      // loss starts too (a delay tail on this shared machine is partly the
      // rig's)
      if (m.load_cpu > 0.9) { verdict = `load-bound at ${target_n}: the load side used ${(m.load_cpu * 100).toFixed(0)} % of its core`; break; }
      if (m.loss_pct > LOSS_MAX) { verdict = `loss over ${LOSS_MAX} % at ${target_n}`; break; }
    }
    if (STORM) stormResult = await storm(target, calls, sub, pub, k, STORM);
  } finally {
    await target.stop();
    await pub.quit();
    await sub.quit();
  }
  // held: every step up to it within both limits; and within the loss
  // limit alone
  const heldUpTo = (ok) => {
    let n = 0;
    for (const r of results.filter((x) => x.subscribers > 0)) { if (!ok(r)) break; n = r.subscribers; }
    return n;
  };
  const max = heldUpTo((r) => r.loss_pct <= LOSS_MAX && r.video_ms.p99 <= P99_MAX_MS && r.load_cpu <= 0.9);
  const maxLoss = heldUpTo((r) => r.loss_pct <= LOSS_MAX && r.load_cpu <= 0.9);
  const summary = { target: target.name, calls: CALLS, kbps: KBPS, max_subscribers: max, max_subscribers_loss_only: maxLoss, verdict, rss_per_publisher_kb: results[0].rss_per_publisher_kb, rss_per_subscription_kb: rssSlope(results), steps: results, storm: stormResult };
  console.log(`${target.name}: ${max} subscribers held within loss ${LOSS_MAX} % and p99 ${P99_MAX_MS} ms, ${maxLoss} within the loss limit alone (${verdict}); RSS ${summary.rss_per_subscription_kb.toFixed(1)} kB per subscription`);
  return summary;
}

// Janus never gathers a loopback candidate (it skips loopback
// interfaces): the run goes into a network namespace of its own, with
// loopback and a veth pair, 10.99.0.1 (v0, Janus's only candidate) and
// 10.99.0.2 (v1, the probes' side towards Janus: Janus's ICE sockets send
// out of v0, which reaches v1 only). The namespace has no way out.
// Both ends are this namespace's own addresses, so each must accept
// packets from a local source (accept_local) and answer ARP for them.
const NETNS_SETUP = ['ip link set lo up', 'ip link add v0 type veth peer name v1',
  'ip addr add 10.99.0.1/24 dev v0', 'ip addr add 10.99.0.2/24 dev v1', 'ip link set v0 up', 'ip link set v1 up',
  'sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.v0.rp_filter=0 net.ipv4.conf.v1.rp_filter=0',
  'sysctl -qw net.ipv4.conf.v0.accept_local=1 net.ipv4.conf.v1.accept_local=1'].join(' && ');
const JANUS_PEER_IP = '10.99.0.2';

async function main() {
  if (TARGETS.includes('janus')) inOwnNetns(NETNS_SETUP, 'MEESHY_LOAD_NETNS');
  pin(process.pid, 1);
  const out = {};
  for (const t of TARGETS) {
    if (t === 'meeshy') out.meeshy = await runTarget(meeshyTarget);
    else if (t === 'janus') out.janus = await runTarget(janusTarget);
    else if (t === 'relay') out.relay = await runTarget(relayTarget);
    else throw new Error(`--target: '${t}' is not meeshy, janus, relay, both or all`);
  }
  if (out.meeshy && out.janus) {
    const ratio = (a, b) => (b ? (a / b).toFixed(2) : 'n/a');
    console.log(`subscribers held (loss and delay): meeshy ${out.meeshy.max_subscribers}, janus ${out.janus.max_subscribers} (${ratio(out.meeshy.max_subscribers, out.janus.max_subscribers)}x); loss alone: ${out.meeshy.max_subscribers_loss_only}, ${out.janus.max_subscribers_loss_only} (${ratio(out.meeshy.max_subscribers_loss_only, out.janus.max_subscribers_loss_only)}x)`);
    const at = (o, n) => o.steps.find((r) => r.subscribers === n);
    const both = out.meeshy.steps.filter((r) => r.subscribers > 0 && at(out.janus, r.subscribers)).map((r) => r.subscribers);
    if (both.length) {
      const n = both[both.length - 1];
      console.log(`forwarded packets per CPU-second at ${n} subscribers: meeshy ${Math.round(at(out.meeshy, n).forwarded_per_cpu_s)}, janus ${Math.round(at(out.janus, n).forwarded_per_cpu_s)} (${ratio(at(out.meeshy, n).forwarded_per_cpu_s, at(out.janus, n).forwarded_per_cpu_s)}x)`);
    }
  }
  if (outPath) fs.writeFileSync(outPath, JSON.stringify(out, null, 2));
}

main().catch((e) => { console.error(e); process.exit(1); });

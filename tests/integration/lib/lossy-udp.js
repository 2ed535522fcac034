// A lossy path for media: a UDP relay between the browsers and the SFU that
// drops a share of the RTP packets both ways (never STUN, DTLS or RTCP), as
// a congested link would, and can cap each browser's downlink: a token
// bucket (RTP beyond the rate is dropped, as a full queue would), or with
// `downQueueMs` a queue that drains at the rate and drops only past that
// much delay (a deep buffer: the delay grows first). The SFU announces the relay's port
// (--announced-port), so browsers send to it without knowing. The drops
// come from a seeded generator: a run can be repeated.
'use strict';
const dgram = require('node:dgram');

// mulberry32: small, seeded, good enough to pick packets
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// RTP, not RTCP (RFC 7983 first byte, RFC 5761 packet types 192-223)
const isRtp = (b) => b.length >= 12 && b[0] >= 128 && b[0] <= 191 && !(b[1] >= 192 && b[1] <= 223);

async function bind(sock) {
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', resolve);
  });
  return sock.address().port;
}

// A UDP port free now (for the SFU to listen on).
async function freeUdpPort() {
  const s = dgram.createSocket('udp4');
  const port = await bind(s);
  s.close();
  return port;
}

// Relays 127.0.0.1:<port> <-> 127.0.0.1:<target>, one upstream socket per
// client address, dropping `loss` (0..1) of the RTP packets, and RTP to a
// client beyond `downKbps` (0: no cap), or queued up to `downQueueMs`.
async function lossyRelay({ target, loss = 0, downKbps = 0, downQueueMs = 0, seed = 7 }) {
  const rand = prng(seed);
  const stats = { rtp: 0, dropped: 0, other: 0, capped: 0 };
  // a bucket per client, holding 100 ms worth of bytes
  const bucket = () => ({ tokens: downKbps * 12.5, at: Date.now() });
  const fits = (b, len) => {
    if (!downKbps) return true;
    const now = Date.now();
    b.tokens = Math.min(downKbps * 12.5, b.tokens + (now - b.at) * downKbps / 8);
    b.at = now;
    if (b.tokens < len) { stats.capped++; return false; }
    b.tokens -= len;
    return true;
  };
  const front = dgram.createSocket('udp4');
  const port = await bind(front);
  const peers = new Map();
  let closed = false;
  const pass = (buf) => {
    if (!isRtp(buf)) { stats.other++; return true; }
    stats.rtp++;
    if (rand() < loss) { stats.dropped++; return false; }
    return true;
  };
  front.on('message', async (buf, from) => {
    const key = `${from.address}:${from.port}`;
    let up = peers.get(key);
    if (!up) {
      up = dgram.createSocket('udp4');
      peers.set(key, up);
      const down = bucket();
      let freeAt = 0; // the queue's: when it has sent what it holds
      const queued = (b) => {
        const now = Date.now();
        freeAt = Math.max(now, freeAt) + b.length * 8 / downKbps;
        if (freeAt - now > downQueueMs) {
          freeAt -= b.length * 8 / downKbps;
          stats.capped++;
          return;
        }
        stats.queuedMax = Math.max(stats.queuedMax || 0, freeAt - now);
        // what is still queued when the relay closes is lost with it
        setTimeout(() => { if (!closed) front.send(b, from.port, from.address); }, freeAt - now);
      };
      up.on('message', (b) => {
        if (!pass(b)) return;
        if (isRtp(b) && downKbps && downQueueMs) queued(b);
        else if (!isRtp(b) || fits(down, b.length)) front.send(b, from.port, from.address);
      });
      up.bind(0, '127.0.0.1');
    }
    if (pass(buf)) up.send(buf, target, '127.0.0.1');
  });
  return {
    port, stats,
    close: () => { closed = true; for (const s of peers.values()) s.close(); front.close(); },
  };
}

module.exports = { lossyRelay, freeUdpPort };

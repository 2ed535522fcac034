// Writes tests/fuzz/corpus/bus/ from real traffic: a real cluster (redis-
// server, a media node, gateways gw-fuzz and gw-b over one store) carries
// a call held by gw-fuzz (alice's, there) whose other members are clients
// of gw-b (they join, signal, ask the SFU, change their flags, leave), and
// a PSUBSCRIBE on meeshy:* records what the processes publish. What
// gw-fuzz hears (its own channel, the rooms' channels, in order) is the
// seed, one "<channel> <message>" a line, the call's id as "$C"
// (fuzz_bus.c). Run from the repository root after a build:
//   node tests/fuzz/capture-bus-seeds.js
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { io } = require('socket.io-client');
const { start, tmpdir } = require('../integration/lib/server');
const { startRedis } = require('../integration/lib/redis');

const out = path.join(__dirname, 'corpus', 'bus');

// PSUBSCRIBE over RESP: [channel, message] of every pmessage, in order.
function record(port) {
  const got = [];
  const sock = net.connect(port, '127.0.0.1');
  sock.write('*2\r\n$10\r\nPSUBSCRIBE\r\n$8\r\nmeeshy:*\r\n');
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) { // *4 $8 pmessage $pattern $channel $message
      const parts = [];
      let at = 0;
      const line = () => { const e = buf.indexOf('\r\n', at); if (e < 0) return null; const l = buf.subarray(at, e).toString(); at = e + 2; return l; };
      const head = line();
      if (head === null) return;
      const n = Number(head.slice(1));
      let whole = true;
      for (let i = 0; i < n && whole; i++) {
        const l = line();
        if (l === null) { whole = false; break; }
        if (l[0] === ':') { parts.push(l); continue; }
        const len = Number(l.slice(1));
        if (buf.length < at + len + 2) { whole = false; break; }
        parts.push(buf.subarray(at, at + len).toString());
        at += len + 2;
      }
      if (!whole) return;
      buf = buf.subarray(at);
      if (parts[0] === 'pmessage') got.push([parts[2], parts[3]]);
    }
  });
  return { got, close: () => sock.destroy() };
}

const connect = (url, token) => new Promise((resolve, reject) => {
  const s = io(url, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false });
  s.once('connect', () => resolve(s));
  s.once('connect_error', reject);
});
const ask = (s, ev, data) => s.timeout(5000).emitWithAck(ev, data);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const redis = await startRedis();
  const procs = [];
  try {
    procs.push(await start({ args: ['--role', 'media', '--redis', redis.url, '--node-id', 'media-1', '--drain-timeout', '0'] }));
    const dir = tmpdir('meeshy-bus-seeds-');
    const gw = (id) => start({ args: ['--role', 'gateway', '--redis', redis.url, '--node-id', id, '--dev-auth'], dir });
    const a = await gw('gw-fuzz');
    const b = await gw('gw-b');
    procs.push(a, b);
    await sleep(1500); // the gateways read the node table
    const rec = record(redis.port);
    await sleep(200);
    const alice = await connect(a.url, 'alice');
    const [bob, carol] = await Promise.all(['bob', 'carol'].map((u) => connect(b.url, u)));
    const call = await ask(alice, 'call:initiate', { conversationId: 'conv-bus', type: 'video' });
    const callId = call.callId;
    await ask(bob, 'call:join', { callId });
    await ask(bob, 'call:signal', { callId, to: 'alice', type: 'offer', sdp: 'v=0 offer' });
    await ask(carol, 'call:join', { callId });
    await ask(carol, 'media:get-capabilities', { callId });
    await ask(carol, 'media:create-transport', { callId, direction: 'recv' });
    await ask(bob, 'call:media-state', { callId, audio: false, video: true });
    await ask(carol, 'call:leave', { callId });
    bob.disconnect();
    await sleep(500);
    [alice, carol].forEach((s) => s.close());
    await sleep(300);
    rec.close();
    const heard = rec.got.filter(([ch]) => ch === 'meeshy:node:gw-fuzz' || ch.startsWith('meeshy:room:'));
    const lines = heard.map(([ch, m]) => `${ch} ${m}`.split(callId).join('$C'));
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'two-gateways-call'), lines.join('\n') + '\n');
    console.log(`corpus/bus/two-gateways-call: ${lines.length} messages (of ${rec.got.length} published)`);
  } finally {
    for (const p of procs) await p.stop().catch(() => {});
    await redis.stop();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });

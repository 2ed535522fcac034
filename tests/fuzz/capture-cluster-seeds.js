// Writes tests/fuzz/corpus/cluster/ from real traffic: a real cluster
// (redis-server, a media node, gateways gw-fuzz and gw-b over one store)
// carries a call held by gw-fuzz (alice's, there) whose other members are
// clients of gw-b (they join, signal, ask the SFU, change their flags,
// leave). A PSUBSCRIBE on meeshy:* records what the processes publish,
// and a relay announced as the media node's API address records its
// answers. The seed (fuzz_cluster.c): the node's load as Redis held it
// ("L"), its answers in order ("A"), then what gw-fuzz heard over Redis
// (its own channel, the rooms' channels, in order), one "<channel>
// <message>" a line; the call's id is "$C". Run from the repository root
// after a build:
//   node tests/fuzz/capture-cluster-seeds.js
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { io } = require('socket.io-client');
const { start, tmpdir } = require('../integration/lib/server');
const { startRedis } = require('../integration/lib/redis');

const out = path.join(__dirname, 'corpus', 'cluster');

// A relay in front of the node's API: the JSON body of every answer, in
// order (each answer read by its Content-Length).
function answers() {
  const rec = { bodies: [], target: 0 };
  rec.server = net.createServer((c) => {
    const up = net.connect(rec.target, '127.0.0.1');
    let buf = Buffer.alloc(0);
    c.on('data', (d) => up.write(d));
    up.on('data', (d) => {
      c.write(d);
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const m = buf.subarray(0, head).toString().match(/content-length: *(\d+)/i);
        const end = head + 4 + (m ? Number(m[1]) : 0);
        if (buf.length < end) return;
        rec.bodies.push(buf.subarray(head + 4, end).toString());
        buf = buf.subarray(end);
      }
    });
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
    c.on('close', () => up.destroy());
  });
  return rec;
}

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
    const node = answers();
    await new Promise((r) => node.server.listen(0, '127.0.0.1', r));
    const media = await start({ args: ['--role', 'media', '--redis', redis.url, '--node-id', 'media-1', '--drain-timeout', '0',
      '--api-url', `http://127.0.0.1:${node.server.address().port}`] });
    node.target = Number(new URL(media.url).port);
    procs.push(media);
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
    const load = redis.cli('GET', 'media:media-1:load');
    await ask(bob, 'call:media-state', { callId, audio: false, video: true });
    await ask(carol, 'call:leave', { callId });
    bob.disconnect();
    await sleep(500);
    [alice, carol].forEach((s) => s.close());
    await sleep(300);
    rec.close();
    const heard = rec.got.filter(([ch]) => ch === 'meeshy:node:gw-fuzz' || ch.startsWith('meeshy:room:'));
    const lines = [`L ${load}`, ...node.bodies.map((b) => `A ${b}`),
      ...heard.map(([ch, m]) => `${ch} ${m}`)].map((l) => l.split(callId).join('$C'));
    node.server.close();
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'two-gateways-call'), lines.join('\n') + '\n');
    console.log(`corpus/cluster/two-gateways-call: ${node.bodies.length} node answers, ${heard.length} messages (of ${rec.got.length} published)`);
  } finally {
    for (const p of procs) await p.stop().catch(() => {});
    await redis.stop();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });

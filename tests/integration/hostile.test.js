// What a hostile client tries before and after it has a token: frames that
// lie about their length, records of calls it has no part in, tokens that
// should not pass. Each attack must fail, and the server must stay healthy.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { start } = require('./lib/server');
const { connect, ack, sleep } = require('./lib/clients');

// A raw websocket upgrade on the Engine.IO path; resolves with the socket
// once the 101 has arrived (and with any bytes sent after the request in
// the same write, when `pipelined` is given).
function rawUpgrade(url, pipelined) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    let head = '';
    sock.on('error', reject);
    sock.on('connect', () => {
      const req = 'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n' +
        `Host: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
      sock.write(pipelined ? Buffer.concat([Buffer.from(req), pipelined]) : req);
    });
    const onData = (d) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      sock.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${head}`));
      resolve(sock);
    };
    sock.on('data', onData);
  });
}

// Resolves true when the server closes the socket within ms.
function closedWithin(sock, ms) {
  if (sock.destroyed || sock.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    sock.on('close', () => { clearTimeout(t); resolve(true); });
    sock.on('end', () => { clearTimeout(t); resolve(true); });
    sock.on('error', () => {});
  });
}

async function droppedTooLarge(url) {
  const m = await (await fetch(`${url}/metrics`)).text();
  return Number(m.match(/meeshy_socketio_dropped_total\{reason="too_large"\} (\d+)/)[1]);
}

// FIN text frame, masked, a 64-bit length of 2^64 - 4, no mask key yet
const HUGE = Buffer.from('81ff' + 'ff'.repeat(7) + 'fc', 'hex');
const HUGE_MASKED = Buffer.concat([HUGE, Buffer.from('01020304', 'hex')]);

test('websocket frames announcing a huge length: closed and counted, whatever way they come, server healthy', async (t) => {
  const srv = await start({ args: ['--dev-auth', '--max-payload', '10000'] });
  t.after(() => srv.stop());
  const ways = {
    'length without mask key, whole': async () => {
      const s = await rawUpgrade(srv.url);
      s.write(HUGE);
      return s;
    },
    'with mask key, whole': async () => {
      const s = await rawUpgrade(srv.url);
      s.write(HUGE_MASKED);
      return s;
    },
    'one byte at a time': async () => {
      const s = await rawUpgrade(srv.url);
      for (const b of HUGE_MASKED) {
        if (s.destroyed) break;
        s.write(Buffer.from([b]));
        await sleep(15);
      }
      return s;
    },
    'pipelined after a valid frame': async () => {
      const s = await rawUpgrade(srv.url);
      // a masked "2" (ping) frame, then the lie in the same write
      const ping = Buffer.from([0x81, 0x81, 1, 2, 3, 4, '2'.charCodeAt(0) ^ 1]);
      s.write(Buffer.concat([ping, HUGE_MASKED]));
      return s;
    },
    'in the upgrade request\'s own segment': async () => rawUpgrade(srv.url, HUGE_MASKED),
    '16-bit length over --max-payload': async () => {
      const s = await rawUpgrade(srv.url);
      s.write(Buffer.from('81fe' + 'ffff' + '01020304', 'hex'));
      return s;
    },
  };
  for (const [name, attack] of Object.entries(ways)) {
    const before = await droppedTooLarge(srv.url);
    const s = await attack();
    const closed = await closedWithin(s, 3000);
    const after = await droppedTooLarge(srv.url);
    s.destroy();
    if (name.includes('upgrade request')) {
      // bytes sent before the 101 are not websocket frames: never decoded
      assert.equal(srv.exited(), false, name);
    } else {
      assert.equal(closed, true, `${name}: the connection stays open`);
      assert.equal(after, before + 1, `${name}: not counted`);
    }
    const h = await fetch(`${srv.url}/health`);
    assert.equal(h.status, 200, `${name}: /health`);
  }
  // a real client still gets its answers
  const c = await connect(srv.url, 'after', { transports: ['websocket'] });
  const r = await ack(c, 'call:initiate', { conversationId: 'c-after', type: 'audio' });
  c.close();
  assert.equal(r.ok, true);
});

// Writes tests/fuzz/corpus/ws/ from real traffic: socket.io-client (the
// repository's node_modules) talks to tests/conformance/conformance-server
// through a TCP relay that records what the client sends; what follows
// its upgrade request is a seed (the harness's first byte, the piece size,
// put in front). Run from the repository root after a build:
//   node tests/fuzz/capture-ws-seeds.js [path/to/conformance-server]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { io } = require('socket.io-client');

const bin = process.argv[2] || 'build/tests/conformance/conformance-server';
const out = path.join(__dirname, 'corpus', 'ws');

async function main() {
  const server = spawn(bin, ['--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => {
    server.stdout.on('data', (d) => {
      const m = String(d).match(/listening on [\d.]+:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
  });
  const sent = [];
  const relay = net.createServer((c) => {
    const chunks = [];
    sent.push(chunks);
    const s = net.connect(port, '127.0.0.1');
    c.on('data', (d) => { chunks.push(d); s.write(d); });
    s.on('data', (d) => c.write(d));
    c.on('close', () => s.destroy());
    s.on('close', () => c.destroy());
  });
  await new Promise((r) => relay.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${relay.address().port}`;
  for (const nsp of ['/', '/custom']) {
    const sock = io(url + nsp, { transports: ['websocket'], auth: { token: 'seed' } });
    await new Promise((r) => sock.once('auth', r));
    sock.emit('message', 1, '2', { 3: [true] });
    await new Promise((r) => sock.once('message-back', r));
    await sock.emitWithAck('message-with-ack', 'x'.repeat(200), { big: 'y'.repeat(1500) });
    sock.emit('message', Buffer.from([1, 2, 3]), { nested: Buffer.alloc(300, 7) });
    await new Promise((r) => sock.once('message-back', r));
    await sock.emitWithAck('message-with-ack', Buffer.from('bytes'));
    sock.disconnect();
  }
  await new Promise((r) => setTimeout(r, 200));
  fs.mkdirSync(out, { recursive: true });
  sent.forEach((chunks, i) => {
    const all = Buffer.concat(chunks);
    const head = all.indexOf('\r\n\r\n');
    if (head < 0) return;
    fs.writeFileSync(path.join(out, `socket.io-client-${i}`),
      Buffer.concat([Buffer.from([63]), all.subarray(head + 4)]));
    console.log(`corpus/ws/socket.io-client-${i}: ${all.length - head - 4} bytes`);
  });
  relay.close();
  server.kill('SIGTERM');
}
main().catch((e) => { console.error(e); process.exit(1); });

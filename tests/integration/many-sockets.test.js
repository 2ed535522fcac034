// One gateway process with 3,000 websocket clients at once (the benchmark
// goes to 15,000): every one can emit and receive, and the one past
// --max-connections is told 503, not left with a broken socket.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');
const { start } = require('./lib/server');

const N = 3000;

function open(url, token) {
  const s = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 20000 });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => { s.close(); reject(e); });
  });
}

test(`${N} concurrent websocket clients on one gateway, and a 503 past --max-connections`, { timeout: 240000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth', '--max-connections', String(N), '--max-sessions-per-ip', '0', '--max-connections-per-ip', '0',
    '--events-per-sec-per-ip', '0'] });
  t.after(() => srv.stop());
  const socks = [];
  t.after(() => socks.forEach((s) => s.close()));
  for (let i = 0; i < N; i += 100) {
    socks.push(...await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, k) => open(srv.url, `many-${i + k}`))));
  }
  assert.equal(socks.length, N);
  const h = await (await fetch(`${srv.url}/health`)).json();
  assert.equal(h.connections, N);
  // every one emits and gets its answer
  const acks = await Promise.all(socks.map((s) => s.timeout(30000).emitWithAck('no-such-event', {})));
  assert.equal(acks.filter((a) => a.error && a.error.code === 'NOT_FOUND').length, N);
  // one more: refused with a 503 that says why, the server healthy
  await assert.rejects(open(srv.url, 'one-too-many'));
  const more = await fetch(`${srv.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(more.status, 503);
  assert.deepEqual(await more.json(), { code: 3, message: 'the server is full' });
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  assert.match(m, /meeshy_socketio_connections 3000\n/);
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
});

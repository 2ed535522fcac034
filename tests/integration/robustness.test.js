// What happens when things go wrong: a client that stops answering pings,
// and a store that cannot take writes for a while.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const WebSocket = require('ws');
const { start } = require('./lib/server');
const { connect, ack, waitFor, sleep } = require('./lib/clients');

test('heartbeat: a silent client is closed, a live one stays', async (t) => {
  const srv = await start({ args: ['--dev-auth', '--ping-interval', '300', '--ping-timeout', '300'] });
  t.after(() => srv.stop());
  const live = await connect(srv.url, 'alive', { transports: ['websocket'] });
  const poller = await connect(srv.url, 'poller', { transports: ['polling'] });
  t.after(() => { live.close(); poller.close(); });
  // a raw websocket that never answers the server's pings
  const mute = new WebSocket(`${srv.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const pings = [];
  mute.on('message', (m) => pings.push(m.toString()));
  const t0 = Date.now();
  const closedAt = await new Promise((res) => mute.on('close', () => res(Date.now())));
  assert.ok(pings.includes('2'), 'the server pinged');
  const lived = closedAt - t0;
  assert.ok(lived >= 550, `closed after ${lived} ms: before interval + timeout`);
  await sleep(1500); // five ping cycles
  assert.equal(live.connected, true);
  assert.equal(poller.connected, true);
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  assert.match(m, /meeshy_socketio_connections 2\n/);
});

test('a locked store: events still answered, writes queued, nothing lost, health says so', async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const a = await connect(srv.url, 'alice', { transports: ['websocket'] });
  const b = await connect(srv.url, 'bob', { transports: ['websocket'] });
  t.after(() => { a.close(); b.close(); });

  // another process takes the database's write lock and holds it
  const locker = spawn('sqlite3', [path.join(srv.dir, 'calls.db')], { stdio: ['pipe', 'pipe', 'inherit'] });
  locker.stdin.write('BEGIN EXCLUSIVE;\nSELECT \'locked\';\n');
  await new Promise((res) => locker.stdout.once('data', res));

  const init = await ack(a, 'call:initiate', { conversationId: 'conv-lock', type: 'audio' });
  assert.equal(init.ok, true); // the call goes on without the store
  assert.equal((await ack(b, 'call:join', { callId: init.callId })).ok, true);
  await waitFor(a, 'call:participant-joined');
  assert.equal((await ack(b, 'call:transcription', { callId: init.callId, text: 'still here', language: 'en', isFinal: true })).ok, true);
  const h = await fetch(`${srv.url}/health`);
  assert.equal(h.status, 503);
  const hb = await h.json();
  assert.equal(hb.checks.database, false);
  assert.ok(hb.queuedWrites >= 4, JSON.stringify(hb));

  locker.stdin.end('COMMIT;\n.quit\n');
  await new Promise((res) => locker.on('exit', res));
  // the retry timer lands the queue within about a second
  let body;
  for (let i = 0; i < 40; i++) {
    const r = await fetch(`${srv.url}/health`);
    body = await r.json();
    if (r.status === 200) break;
    await sleep(100);
  }
  assert.equal(body.status, 'healthy');
  assert.equal(body.queuedWrites, 0);
  const hdr = { authorization: 'Bearer alice' };
  const call = await (await fetch(`${srv.url}/api/calls/${init.callId}`, { headers: hdr })).json();
  assert.equal(call.call.status, 'active'); // the last of its queued writes, in order
  assert.deepEqual(call.participants.map((p) => p.userId).sort(), ['alice', 'bob']);
  const tr = await (await fetch(`${srv.url}/api/calls/${init.callId}/transcriptions`, { headers: hdr })).json();
  assert.deepEqual(tr.transcriptions.map((x) => x.text), ['still here']);
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  assert.match(m, /meeshy_db_queued_writes 0\n/);
});

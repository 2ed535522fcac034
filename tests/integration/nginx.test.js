// Through nginx with deploy/nginx's proxy rules: socket.io-client connects
// by long-polling and upgrades to websocket across the proxy, calls work,
// REST and /health pass, /metrics is not served to the outside.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');
const { start } = require('./lib/server');
const { startNginx } = require('./lib/nginx');

test('socket.io-client through nginx: polling, upgrade, a call', { timeout: 60000 }, async (t) => {
  const gw = await start({ args: ['--dev-auth'] });
  t.after(() => gw.stop());
  const nginx = await startNginx([gw.url.replace('http://', '')]);
  t.after(() => nginx.stop());

  const health = await fetch(nginx.url + '/health');
  assert.equal(health.status, 200);
  assert.equal((await fetch(nginx.url + '/metrics')).status, 404, '/metrics stays inside');

  const a = io(nginx.url, { auth: { token: 'ana' } }); // polling first, then upgrade
  const b = io(nginx.url, { auth: { token: 'ben' }, transports: ['websocket'] });
  t.after(() => { a.close(); b.close(); });
  await Promise.all([a, b].map((s) => new Promise((r) => s.once('connect', r))));
  const upgraded = await new Promise((resolve) => {
    if (a.io.engine.transport.name === 'websocket') return resolve(true);
    a.io.engine.once('upgrade', () => resolve(true));
    setTimeout(() => resolve(false), 5000);
  });
  assert.ok(upgraded, 'the polling session upgrades to websocket through nginx');
  const call = await a.emitWithAck('call:initiate', { conversationId: 'via-nginx', type: 'audio' });
  assert.equal(call.ok, true);
  const joined = new Promise((r) => a.once('call:participant-joined', r));
  assert.equal((await b.emitWithAck('call:join', { callId: call.callId })).ok, true);
  assert.equal((await joined).participant.userId, 'ben');
  const rec = await (await fetch(`${nginx.url}/api/calls/${call.callId}`, { headers: { authorization: 'Bearer ana' } })).json();
  assert.equal(rec.call.status, 'active');
  assert.doesNotMatch(nginx.log(), /\[error\]/, 'nginx logged no error');
});

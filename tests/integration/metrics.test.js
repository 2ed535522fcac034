// /metrics as Prometheus reads it: after a call and some refused events,
// `promtool check metrics` finds nothing wrong with the exposition (names,
// types, help, histogram buckets, label syntax).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { io } = require('socket.io-client');
const { start } = require('./lib/server');

test('promtool check metrics passes on /metrics', { timeout: 60000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const a = io(srv.url, { auth: { token: 'ann' }, transports: ['websocket'] });
  const b = io(srv.url, { auth: { token: 'bo' }, transports: ['websocket'] });
  t.after(() => { a.close(); b.close(); });
  const call = await a.emitWithAck('call:initiate', { conversationId: 'metrics', type: 'video' });
  assert.equal(call.ok, true);
  assert.equal((await b.emitWithAck('call:join', { callId: call.callId })).ok, true);
  assert.equal((await b.emitWithAck('call:join', { callId: 'nope' })).ok, false);
  assert.equal((await a.emitWithAck('call:end', { callId: call.callId })).ok, true);
  const text = await (await fetch(srv.url + '/metrics')).text();
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
  assert.match(text, /^meeshy_calls_total\{type="video",conversation_type="[a-z]+"\} 1$/m);
  assert.match(text, /^meeshy_call_duration_seconds_count 1$/m);
});

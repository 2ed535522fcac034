// /metrics as Prometheus reads it: after a call and some refused events,
// `promtool check metrics` finds nothing wrong with the exposition (names,
// types, help, histogram buckets, label syntax), on role all and, when
// redis-server is here, on a gateway and a media node of a cluster.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { io } = require('socket.io-client');
const { start } = require('./lib/server');
const { startRedis } = require('./lib/redis');
const { cleanup } = require('./lib/cleanup');
const { until } = require('./lib/browser');

function promtool(text, who) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics on ${who}:\n${r.stdout}${r.stderr}`);
}

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
  promtool(text, 'role all');
  assert.match(text, /^meeshy_calls_total\{type="video",conversation_type="[a-z]+"\} 1$/m);
  assert.match(text, /^meeshy_call_duration_seconds_count 1$/m);
});

const haveRedis = spawnSync('redis-server', ['--version']).status === 0;

test('promtool check metrics passes on a gateway and on a media node', { timeout: 60000, skip: !haveRedis && 'no redis-server' }, async (t) => {
  const atEnd = cleanup(t);
  const redis = await startRedis();
  atEnd(() => redis.stop());
  const media = await start({ args: ['--role', 'media', '--redis', redis.url, '--node-id', 'media-m', '--drain-timeout', '0'] });
  atEnd(() => media.stop());
  const gw = await start({ args: ['--role', 'gateway', '--redis', redis.url, '--node-id', 'gw-m', '--dev-auth'] });
  atEnd(() => gw.stop());
  await until(async () => (await (await fetch(gw.url + '/health')).json()).mediaNodes >= 1, 'the gateway sees the media node', 10000);
  const socks = ['ann', 'bo', 'cy'].map((u) => io(gw.url, { auth: { token: u }, transports: ['websocket'] }));
  atEnd(() => socks.forEach((s) => s.close()));
  const [a, b, c] = socks;
  const call = await a.emitWithAck('call:initiate', { conversationId: 'metrics-cluster', type: 'video' });
  assert.equal(call.ok, true);
  assert.equal((await b.emitWithAck('call:join', { callId: call.callId })).ok, true);
  assert.equal((await c.emitWithAck('call:join', { callId: call.callId })).ok, true); // SFU: on the node
  assert.equal((await c.emitWithAck('media:create-transport', { callId: call.callId, direction: 'recv' })).ok, true);
  await until(async () => /^meeshy_media_calls(\{[^}]*\})? 1$/m.test(await (await fetch(media.url + '/metrics')).text()),
    'the media node counts the call', 5000);
  const nodeText = await (await fetch(media.url + '/metrics')).text();
  promtool(nodeText, 'role media');
  assert.match(nodeText, /^meeshy_active_participants(\{[^}]*\})? 1$/m);
  const gwText = await (await fetch(gw.url + '/metrics')).text();
  promtool(gwText, 'role gateway');
  assert.match(gwText, /^meeshy_active_participants 3$/m);
});

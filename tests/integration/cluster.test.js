// Role gateway with media nodes, all real processes on 127.0.0.1: a
// redis-server, one gateway (--role gateway) and two media nodes (--role
// media). Calls that reach the SFU are placed on the least-loaded node,
// and the media:* requests of socket.io-client participants are answered
// by that node through the gateway.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');
const { start } = require('./lib/server');
const { nodeCalls } = require('./lib/internal');
const { startRedis } = require('./lib/redis');
const { until } = require('./lib/browser');
const { cleanup } = require('./lib/cleanup');

async function json(url) {
  return (await fetch(url)).json();
}

function connect(url, token) {
  const s = io(url, { auth: { token }, transports: ['websocket'], forceNew: true });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

// One call of three: the third join moves it to the SFU, then each asks
// for the router's capabilities (its peer is made on the media node).
async function sfuCall(url, name, sockets) {
  const [a, b, c] = await Promise.all([0, 1, 2].map((i) => connect(url, `${name}-${i}`)));
  sockets.push(a, b, c);
  const init = await a.emitWithAck('call:initiate', { conversationId: `conv-${name}`, type: 'video' });
  assert.equal(init.ok, true, JSON.stringify(init));
  const switched = new Promise((r) => a.once('call:mode-switch', r));
  assert.equal((await b.emitWithAck('call:join', { callId: init.callId })).ok, true);
  assert.equal((await c.emitWithAck('call:join', { callId: init.callId })).ok, true);
  assert.equal((await switched).mode, 'sfu');
  for (const s of [a, b, c]) {
    const caps = await s.emitWithAck('media:get-capabilities', { callId: init.callId });
    assert.equal(caps.ok, true, JSON.stringify(caps));
    assert.ok(caps.rtpCapabilities.codecs.length >= 3);
  }
  return init.callId;
}

test('gateway + two media nodes: placement by load, media requests on the node', { timeout: 120000 }, async (t) => {
  const atEnd = cleanup(t);
  const redis = await startRedis();
  atEnd(() => redis.stop());
  const sockets = [];
  atEnd(() => sockets.forEach((s) => s.close()));
  const mediaA = await start({ args: ['--role', 'media', '--redis', redis.url, '--node-id', 'media-a', '--drain-timeout', '0'] });
  atEnd(() => mediaA.stop());
  const gw = await start({ args: ['--role', 'gateway', '--redis', redis.url, '--node-id', 'gw-1', '--dev-auth'] });
  atEnd(() => gw.stop());
  await until(async () => (await json(gw.url + '/health')).mediaNodes >= 1, 'the gateway sees media-a', 10000);

  // four calls while media-a is the only node: it carries 12 participants
  const early = [];
  for (let i = 0; i < 4; i++) early.push(await sfuCall(gw.url, `early${i}`, sockets));
  const a0 = await nodeCalls(mediaA.url);
  assert.deepEqual(a0.map((c) => c.callId).sort(), [...early].sort());

  // a second node joins; 20 more calls go by the least-loaded rule
  const mediaB = await start({ args: ['--role', 'media', '--redis', redis.url, '--node-id', 'media-b', '--drain-timeout', '0'] });
  atEnd(() => mediaB.stop());
  await until(async () => (await json(gw.url + '/health')).mediaNodes >= 2, 'the gateway sees media-b', 10000);
  const later = [];
  for (let i = 0; i < 20; i++) later.push(await sfuCall(gw.url, `later${i}`, sockets));
  const onA = await nodeCalls(mediaA.url);
  const onB = await nodeCalls(mediaB.url);
  const newOnA = onA.filter((c) => later.includes(c.callId)).length;
  const newOnB = onB.filter((c) => later.includes(c.callId)).length;
  console.log(`placement: media-a ${onA.length} calls (${newOnA} new), media-b ${onB.length} calls (${newOnB} new)`);
  assert.equal(newOnA + newOnB, 20, 'every call is on one node');
  // least loaded: media-b catches up with media-a's 4 calls, then they
  // alternate; the two end within a call or two of each other
  assert.ok(newOnB >= 11, `media-b, empty at first, takes most new calls (${newOnB})`);
  assert.ok(Math.abs(onA.length - onB.length) <= 2, `balanced: ${onA.length} vs ${onB.length}`);
  for (const c of [...onA, ...onB]) assert.equal(c.participants, 3);

  // the record names the node; a media request for a transport works
  const rec = await json(`${gw.url}/api/calls/${later[0]}`).catch(() => null);
  const s = sockets[sockets.length - 1];
  const tr = await s.emitWithAck('media:create-transport', { callId: later[19], direction: 'send' });
  assert.equal(tr.ok, true, JSON.stringify(tr));
  assert.equal(tr.iceParameters.iceLite, true);
  const bad = await s.emitWithAck('media:create-transport', { callId: later[19], direction: 'sideways' });
  assert.equal(bad.ok, false);
  assert.equal(bad.error.code, 'VALIDATION_ERROR');
  assert.match(bad.error.message, /sideways/);
  void rec;

  // a call that ends is closed on its node
  const ender = sockets[0];
  assert.equal((await ender.emitWithAck('call:end', { callId: early[0] })).ok, true);
  await until(async () => !(await nodeCalls(mediaA.url)).some((c) => c.callId === early[0]),
    'the ended call is closed on media-a', 5000);
});

test('the media node\'s internal API takes only signed, fresh, unaltered, unreplayed requests', { timeout: 60000 }, async (t) => {
  const { internal, credential } = require('./lib/internal');
  const atEnd = cleanup(t);
  const redis = await startRedis();
  atEnd(() => redis.stop());
  // neither role starts without the secret
  for (const role of ['media', 'gateway']) {
    await assert.rejects(start({ args: ['--role', role, '--redis', redis.url, '--dev-auth'], env: { MEESHY_INTERNAL_SECRET: '' } }),
      /exited with 2:[^]*MEESHY_INTERNAL_SECRET/);
  }
  const media = await start({ args: ['--role', 'media', '--redis', redis.url, '--node-id', 'media-s', '--drain-timeout', '0'] });
  atEnd(() => media.stop());
  const gw = await start({ args: ['--role', 'gateway', '--redis', redis.url, '--node-id', 'gw-s', '--dev-auth'] });
  atEnd(() => gw.stop());
  await until(async () => (await json(gw.url + '/health')).mediaNodes >= 1, 'the gateway sees media-s', 10000);
  // a real call through the gateway (its requests are signed) is on the node
  const sockets = [];
  atEnd(() => sockets.forEach((s) => s.close()));
  const callId = await sfuCall(gw.url, 'signed', sockets);
  const plain = async (method, path, body) => {
    const r = await fetch(media.url + path, { method, body: body && JSON.stringify(body), headers: body ? { 'content-type': 'application/json' } : {} });
    return r.status;
  };
  // what an outsider tries: list, take a transport, close the call
  assert.equal(await plain('GET', '/internal/calls'), 401);
  assert.equal(await plain('POST', '/internal/media', { callId, userId: 'signed-0', event: 'media:create-transport', data: { callId, direction: 'recv' } }), 401);
  assert.equal(await plain('POST', '/internal/close', { callId }), 401);
  const wrong = await internal(media.url, 'GET', '/internal/calls', undefined, { secret: 'not-the-cluster-secret-000' });
  assert.equal(wrong.status, 401);
  const stale = await internal(media.url, 'GET', '/internal/calls', undefined, { t: Date.now() - 120000 });
  assert.equal(stale.status, 401);
  assert.match(stale.body.error.message, /window/);
  // a captured request sent again, and one whose body was changed
  const body = JSON.stringify({ callId });
  const cred = credential('POST', '/internal/close', JSON.stringify({ callId: 'another' }));
  const altered = await fetch(media.url + '/internal/close', { method: 'POST', body, headers: { 'x-meeshy-auth': cred, 'content-type': 'application/json' } });
  assert.equal(altered.status, 401);
  const once = credential('GET', '/internal/calls');
  const first = await fetch(media.url + '/internal/calls', { headers: { 'x-meeshy-auth': once } });
  assert.equal(first.status, 200);
  assert.deepEqual((await first.json()).calls, [{ callId, participants: 3 }]);
  const replay = await fetch(media.url + '/internal/calls', { headers: { 'x-meeshy-auth': once } });
  assert.equal(replay.status, 401);
  assert.match((await replay.json()).error.message, /replay/);
  // the call is untouched, and every refusal was counted
  assert.deepEqual(await nodeCalls(media.url), [{ callId, participants: 3 }]);
  const m = await (await fetch(media.url + '/metrics')).text();
  assert.match(m, /meeshy_internal_api_refused_total 7\n/);
});

// Two gateways share calls (all real processes on 127.0.0.1: redis-server,
// two gateways on one SQLite store, a media node). Clients on gateway B
// take part in a call held by gateway A: their events reach A, A's acks,
// emits and room broadcasts reach them. Then A is killed: a client
// reconnects to B, joins again, and B takes the call over from the store
// and the media node, with the participants still on B carrying on.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');
const { start, tmpdir } = require('./lib/server');
const { nodeCalls } = require('./lib/internal');
const { startRedis } = require('./lib/redis');
const { until } = require('./lib/browser');
const { cleanup } = require('./lib/cleanup');

function connect(url, token, conversations) {
  const s = io(url, { auth: { token, conversations }, transports: ['websocket'], forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

// an event with its ack, or a failure naming it after 5 s
async function ask(sock, event, data) {
  try {
    return await sock.timeout(5000).emitWithAck(event, data);
  } catch (e) {
    throw new Error(`${event}: no answer within 5 s`);
  }
}

function next(sock, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    sock.once(event, (d) => { clearTimeout(timer); resolve(d); });
  });
}

test('a call held by one gateway, with clients on another; takeover when it dies', { timeout: 120000 }, async (t) => {
  const atEnd = cleanup(t);
  const redis = await startRedis();
  atEnd(() => redis.stop());
  const media = await start({ args: ['--role', 'media', '--redis', redis.url, '--node-id', 'media-1', '--drain-timeout', '0'] });
  atEnd(() => media.stop());
  const dir = tmpdir('meeshy-gws-'); // one store for both gateways
  const gwArgs = (id) => ['--role', 'gateway', '--redis', redis.url, '--node-id', id, '--dev-auth'];
  const gwA = await start({ args: gwArgs('gw-a'), dir });
  atEnd(() => gwA.stop()); // killed by the test; stopped here if it failed first
  const gwB = await start({ args: gwArgs('gw-b'), dir });
  atEnd(() => gwB.stop());
  t.after(() => { if (t.passed === false) console.log(`gw-a:\n${gwA.log()}\ngw-b:\n${gwB.log()}`); });
  for (const g of [gwA, gwB]) { // each reads the node table on its own
    await until(async () => (await (await fetch(g.url + '/health')).json()).mediaNodes >= 1, 'the gateways see the media node', 10000);
  }
  const socks = [];
  atEnd(() => socks.forEach((s) => s.close()));

  const alice = await connect(gwA.url, 'alice');
  const bob = await connect(gwB.url, 'bob');
  const carol = await connect(gwB.url, 'carol');
  // erin (on B) is in the conversation; alice's phone (on B) is alice
  const erin = await connect(gwB.url, 'erin', ['two-gateways']);
  const alicePhone = await connect(gwB.url, 'alice', ['two-gateways']);
  socks.push(alice, bob, carol, erin, alicePhone);
  let phoneRang = false;
  alicePhone.on('call:incoming', () => { phoneRang = true; });

  // the conversation rings on every gateway, but not the caller's devices
  const ringing = next(erin, 'call:incoming');
  const call = await ask(alice, 'call:initiate', { conversationId: 'two-gateways', type: 'video' });
  assert.equal(call.ok, true);
  const ring = await ringing;
  assert.equal(ring.callId, call.callId);
  assert.equal(ring.initiator.userId, 'alice');
  // bob, on B, joins A's call: A answers through B
  const joinedAtAlice = next(alice, 'call:participant-joined');
  const bj = await ask(bob, 'call:join', { callId: call.callId });
  assert.equal(bj.ok, true, JSON.stringify(bj));
  assert.deepEqual(bj.participants.map((p) => p.userId).sort(), ['alice', 'bob']);
  assert.equal((await joinedAtAlice).participant.userId, 'bob');
  // P2P signaling both ways across the gateways
  const atBob = next(bob, 'call:signal');
  assert.equal((await ask(alice, 'call:signal', { callId: call.callId, to: 'bob', type: 'offer', sdp: 'v=0 offer' })).ok, true);
  assert.equal((await atBob).sdp, 'v=0 offer');
  const atAlice = next(alice, 'call:signal');
  assert.equal((await ask(bob, 'call:signal', { callId: call.callId, to: 'alice', type: 'answer', sdp: 'v=0 answer' })).ok, true);
  assert.equal((await atAlice).from, 'bob');
  // the third (on B) moves the call to the SFU: everyone hears it
  const switches = [alice, bob].map((s) => next(s, 'call:mode-switch'));
  const joinedAtBob = next(bob, 'call:participant-joined');
  assert.equal((await ask(carol, 'call:join', { callId: call.callId })).ok, true);
  for (const sw of await Promise.all(switches)) assert.equal(sw.mode, 'sfu');
  assert.equal((await joinedAtBob).participant.userId, 'carol');
  // media requests from B's clients reach the media node through A
  const caps = await ask(carol, 'media:get-capabilities', { callId: call.callId });
  assert.equal(caps.ok, true, JSON.stringify(caps));
  const tr = await ask(carol, 'media:create-transport', { callId: call.callId, direction: 'recv' });
  assert.equal(tr.ok, true);
  const onNode = await nodeCalls(media.url);
  assert.deepEqual(onNode, [{ callId: call.callId, participants: 1 }]);
  // a bad request is refused by the node, the reason reaches carol
  const bad = await ask(carol, 'media:create-transport', { callId: call.callId, direction: 'up' });
  assert.equal(bad.error.code, 'VALIDATION_ERROR');
  assert.equal(phoneRang, false, "the caller's own phone does not ring");
  // A dies. Once its heartbeat has lapsed, alice comes back through B
  const tKill = Date.now();
  await gwA.kill9();
  await new Promise((r) => setTimeout(r, 3500));
  const alice2 = await connect(gwB.url, 'alice');
  socks.push(alice2);
  const back = await ask(alice2, 'call:join', { callId: call.callId });
  assert.equal(back.ok, true, JSON.stringify(back));
  assert.equal(back.mode, 'sfu');
  assert.deepEqual(back.participants.map((p) => p.userId).sort(), ['alice', 'bob', 'carol']);
  console.log(`takeover: gw-b holds the call ${Date.now() - tKill} ms after gw-a was killed (3.5 s of it waiting for its heartbeat to lapse)`);
  // carol, who never left B, carries on with B as the call's gateway
  const state = next(carol, 'call:media-state');
  assert.equal((await ask(alice2, 'call:media-state', { callId: call.callId, audio: false, video: true })).ok, true);
  assert.deepEqual(await state, { callId: call.callId, userId: 'alice', audio: false, video: true });
  const again = await ask(carol, 'media:create-transport', { callId: call.callId, direction: 'send' });
  assert.equal(again.ok, true, 'the media node still has the call');
  assert.deepEqual(await nodeCalls(media.url), [{ callId: call.callId, participants: 1 }]);
  // bob leaves: alice and carol hear it, and two left go back to P2P
  const left = [alice2, carol].map((x) => next(x, 'call:participant-left'));
  const p2p = [alice2, carol].map((x) => next(x, 'call:mode-switch'));
  assert.equal((await ask(bob, 'call:leave', { callId: call.callId })).ok, true);
  for (const l of await Promise.all(left)) assert.equal(l.userId, 'bob');
  for (const m of await Promise.all(p2p)) assert.equal(m.mode, 'p2p');
  await until(async () => (await nodeCalls(media.url)).length === 0,
    'the call is closed on the media node', 5000);
  // no acked record lost across the SIGKILL: A's acks (alice's initiate,
  // bob's and carol's joins, given through A) and B's after the takeover
  // (alice's join again, her flags, bob's leave) are in the shared store
  const stored = async () => (await fetch(`${gwB.url}/api/calls/${call.callId}`, { headers: { authorization: 'Bearer carol' } })).json();
  await until(async () => (await stored()).participants.some((p) => p.userId === 'alice' && p.audioEnabled === false),
    "alice's flags acked by B are stored", 2000);
  const rec = await stored();
  const last = (u) => rec.participants.filter((p) => p.userId === u).pop();
  assert.equal(rec.call.initiatorId, 'alice');
  assert.equal(last('alice').status, 'joined');
  assert.equal(last('bob').status, 'left');
  assert.equal(last('carol').status, 'joined');
  assert.equal(rec.call.mode, 'p2p');
});

test('clients of a gateway that dies leave the calls held elsewhere', { timeout: 60000 }, async (t) => {
  const atEnd = cleanup(t);
  const redis = await startRedis();
  atEnd(() => redis.stop());
  const dir = tmpdir('meeshy-gws-');
  const gwArgs = (id) => ['--role', 'gateway', '--redis', redis.url, '--node-id', id, '--dev-auth'];
  const gwA = await start({ args: gwArgs('gw-a'), dir });
  atEnd(() => gwA.stop());
  const gwB = await start({ args: gwArgs('gw-b'), dir });
  atEnd(() => gwB.stop()); // killed by the test; stopped here if it failed first
  t.after(() => { if (t.passed === false) console.log(`gw-a:\n${gwA.log()}`); });
  for (const g of [gwA, gwB]) { // ready (Redis connected), as a load balancer would wait
    await until(async () => (await fetch(g.url + '/health')).status === 200, 'the gateways are ready', 10000);
  }
  const alice = await connect(gwA.url, 'alice');
  const bob = await connect(gwB.url, 'bob');
  atEnd(() => [alice, bob].forEach((s) => s.close()));
  const call = await ask(alice, 'call:initiate', { conversationId: 'reaper', type: 'audio' });
  assert.equal(call.ok, true, JSON.stringify(call));
  const j = await ask(bob, 'call:join', { callId: call.callId });
  assert.equal(j.ok, true, JSON.stringify(j));
  // B dies with bob's socket; nobody tells A but B's silence
  const left = next(alice, 'call:participant-left', 15000);
  const tKill = Date.now();
  await gwB.kill9();
  const l = await left;
  assert.equal(l.userId, 'bob');
  assert.equal(l.reason, 'disconnected');
  console.log(`reaper: bob left alice's call ${Date.now() - tKill} ms after his gateway was killed`);
  const rec = await (await fetch(`${gwA.url}/api/calls/${call.callId}`, { headers: { authorization: 'Bearer alice' } })).json();
  assert.equal(rec.participants.find((p) => p.userId === 'bob').status, 'left');
});

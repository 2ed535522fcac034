// Signaling end to end with the real socket.io-client: two users on
// websocket, two on polling-then-upgrade, one on polling only, and one who
// belongs to nothing. Every broadcast must arrive where it should and
// nowhere else, and the records must be in the store afterwards.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const WebSocket = require('ws');
const { start } = require('./lib/server');
const { connect, ack, waitFor, sleep, names } = require('./lib/clients');
const { jwt } = require('./lib/jwt');

const CALL_EVENTS = /^call:/;

async function rest(url, path, token, init = {}) {
  const r = await fetch(url + path, {
    ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  return { status: r.status, body: await r.json() };
}

test('two calls, five users, three transports: events reach exactly their audience', async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const U = srv.url;
  const alice = await connect(U, 'alice', { transports: ['websocket'], conversations: ['conv-1'] });
  const bob = await connect(U, 'bob', { transports: ['websocket'], conversations: ['conv-2'] });
  const carol = await connect(U, 'carol', { conversations: ['conv-1'] });
  const dave = await connect(U, 'dave', { conversations: ['conv-2'] });
  const erin = await connect(U, 'erin', { transports: ['polling'], conversations: ['conv-1'] });
  const outsider = await connect(U, 'oscar', { transports: ['websocket'], conversations: ['conv-9'] });
  const all = [alice, bob, carol, dave, erin, outsider];
  t.after(() => all.forEach((s) => s.close()));

  // polling-then-upgrade clients end on websocket; erin stays on polling
  for (const s of [carol, dave]) {
    for (let i = 0; i < 50 && s.io.engine.transport.name !== 'websocket'; i++) await sleep(20);
    assert.equal(s.io.engine.transport.name, 'websocket');
  }
  assert.equal(erin.io.engine.transport.name, 'polling');

  // call X in conv-1
  const x = await ack(alice, 'call:initiate', { conversationId: 'conv-1', type: 'video' });
  assert.equal(x.ok, true, JSON.stringify(x));
  assert.equal(x.mode, 'p2p');
  assert.deepEqual(x.participants.map((p) => p.userId), ['alice']);
  assert.ok(Array.isArray(x.iceServers));
  const X = x.callId;
  const inc = await waitFor(carol, 'call:incoming');
  assert.equal(inc.callId, X);
  assert.equal(inc.initiator.userId, 'alice');
  await waitFor(erin, 'call:incoming', (d) => d.callId === X);

  const cj = await ack(carol, 'call:join', { callId: X });
  assert.equal(cj.ok, true);
  assert.deepEqual(cj.participants.map((p) => p.userId).sort(), ['alice', 'carol']);
  assert.equal((await waitFor(alice, 'call:participant-joined')).participant.userId, 'carol');
  const ej = await ack(erin, 'call:join', { callId: X });
  assert.equal(ej.ok, true);
  assert.equal(ej.participants.length, 3);
  await waitFor(alice, 'call:participant-joined', (d) => d.participant.userId === 'erin');
  await waitFor(carol, 'call:participant-joined', (d) => d.participant.userId === 'erin');

  // call Y in conv-2
  const y = await ack(dave, 'call:initiate', { conversationId: 'conv-2', type: 'audio', conversationType: 'direct' });
  assert.equal(y.ok, true);
  const Y = y.callId;
  await waitFor(bob, 'call:incoming', (d) => d.callId === Y);
  assert.equal((await ack(bob, 'call:join', { callId: Y })).ok, true);
  await waitFor(dave, 'call:participant-joined', (d) => d.participant.userId === 'bob');

  // P2P relay: offer, answer, candidates (one to the polling client)
  assert.equal((await ack(alice, 'call:signal', { callId: X, to: 'carol', type: 'offer', sdp: 'v=0 offer-a-c' })).ok, true);
  const off = await waitFor(carol, 'call:signal');
  assert.deepEqual([off.from, off.type, off.sdp], ['alice', 'offer', 'v=0 offer-a-c']);
  assert.equal((await ack(carol, 'call:signal', { callId: X, to: 'alice', type: 'answer', sdp: 'v=0 answer-c-a' })).ok, true);
  assert.equal((await waitFor(alice, 'call:signal')).sdp, 'v=0 answer-c-a');
  const cand = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  assert.equal((await ack(alice, 'call:signal', { callId: X, to: 'erin', type: 'ice-candidate', candidate: cand })).ok, true);
  assert.deepEqual((await waitFor(erin, 'call:signal')).candidate, cand);
  assert.equal((await ack(bob, 'call:signal', { callId: Y, to: 'dave', type: 'offer', sdp: 'v=0 b-d' })).ok, true);
  await waitFor(dave, 'call:signal', (d) => d.sdp === 'v=0 b-d');

  // refused: wrong call, unknown target, bad values named
  let r = await ack(bob, 'call:signal', { callId: X, to: 'alice', type: 'offer', sdp: 'x' });
  assert.equal(r.error.code, 'FORBIDDEN');
  r = await ack(alice, 'call:signal', { callId: X, to: 'zed', type: 'offer', sdp: 'x' });
  assert.equal(r.error.code, 'NOT_FOUND');
  r = await ack(alice, 'call:initiate', { conversationId: 'conv-1', type: 'hologram' });
  assert.equal(r.error.code, 'VALIDATION_ERROR');
  assert.match(r.error.message, /type: "hologram" is not one of audio, video/);
  r = await ack(alice, 'call:initiate', { conversationId: 'conv-2', type: 'audio' });
  assert.equal(r.error.code, 'FORBIDDEN'); // alice is not in conv-2
  r = await ack(carol, 'call:initiate', { conversationId: 'conv-1', type: 'audio' });
  assert.equal(r.error.code, 'CONFLICT'); // conv-1 already has call X
  r = await ack(carol, 'call:join', { callId: 'no-such-call' });
  assert.equal(r.error.code, 'NOT_FOUND');

  // media state and transcription go to the rest of the call only
  assert.equal((await ack(carol, 'call:media-state', { callId: X, video: false })).ok, true);
  for (const s of [alice, erin]) {
    const m = await waitFor(s, 'call:media-state');
    assert.deepEqual([m.userId, m.audio, m.video], ['carol', true, false]);
  }
  const tr = await ack(erin, 'call:transcription', { callId: X, text: 'bonjour à tous', language: 'fr', isFinal: true });
  assert.equal(tr.ok, true);
  for (const s of [alice, carol]) {
    const m = await waitFor(s, 'call:transcription');
    assert.deepEqual([m.userId, m.text, m.language, m.isFinal], ['erin', 'bonjour à tous', 'fr', true]);
  }

  // leaving: the others hear it; the last one out ends the call
  assert.equal((await ack(carol, 'call:leave', { callId: X })).ok, true);
  for (const s of [alice, erin]) await waitFor(s, 'call:participant-left', (d) => d.userId === 'carol');
  assert.equal((await ack(alice, 'call:leave', { callId: X })).ok, true);
  await waitFor(erin, 'call:participant-left', (d) => d.userId === 'alice');
  assert.equal((await ack(erin, 'call:leave', { callId: X })).ok, true);
  assert.equal((await ack(dave, 'call:end', { callId: Y })).ok, true);
  const ended = await waitFor(bob, 'call:ended');
  assert.deepEqual([ended.callId, ended.endedBy], [Y, 'dave']);
  await sleep(200);

  // nowhere else: who got which call events
  const callEvents = (s) => names(s).filter((n) => CALL_EVENTS.test(n));
  assert.deepEqual(callEvents(outsider), []);
  for (const s of [bob, dave]) {
    assert.ok(!s.received.some((r) => r.data && r.data.callId === X), 'call X leaked into conv-2');
  }
  for (const s of [alice, carol, erin]) {
    assert.ok(!s.received.some((r) => r.data && r.data.callId === Y), 'call Y leaked into conv-1');
  }
  assert.deepEqual(callEvents(alice).filter((n) => n === 'call:incoming'), []); // not to the caller
  assert.equal(callEvents(carol).filter((n) => n === 'call:signal').length, 1);
  assert.equal(callEvents(erin).filter((n) => n === 'call:signal').length, 1);
  assert.ok(!callEvents(carol).includes('call:media-state')); // not echoed back
  assert.ok(!callEvents(erin).includes('call:transcription'));

  // the records
  const cx = await rest(U, `/api/calls/${X}`, 'alice');
  assert.equal(cx.status, 200);
  assert.equal(cx.body.call.status, 'ended');
  assert.equal(cx.body.call.endReason, 'all-left');
  assert.ok(cx.body.call.startedAt && cx.body.call.endedAt);
  assert.deepEqual(cx.body.participants.map((p) => [p.userId, p.status]).sort(),
    [['alice', 'left'], ['carol', 'left'], ['erin', 'left']]);
  assert.equal(cx.body.participants.find((p) => p.userId === 'carol').videoEnabled, false);
  const cy = await rest(U, `/api/calls/${Y}`, 'bob');
  assert.equal(cy.body.call.endReason, 'ended-by-participant');
  assert.equal(cy.body.call.type, 'audio');
  const tx = await rest(U, `/api/calls/${X}/transcriptions`, 'alice');
  assert.deepEqual(tx.body.transcriptions.map((t) => t.text), ['bonjour à tous']);
  const hist = await rest(U, '/api/conversations/conv-1/calls?status=ended', 'alice');
  assert.deepEqual(hist.body.calls.map((c) => c.id), [X]);
  const active = await rest(U, '/api/conversations/conv-1/calls?status=active', 'alice');
  assert.deepEqual(active.body.calls, []);
  const bad = await rest(U, '/api/conversations/conv-1/calls?status=zombie', 'alice');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /'zombie'/);
  const q = await rest(U, `/api/calls/${X}/quality-metrics`, 'alice', {
    method: 'POST',
    body: JSON.stringify({ packetsLost: 3, packetsReceived: 997, packetLossRate: 0.003, jitter: 0.004, bytesReceived: 123456, framesDecoded: 300, frameWidth: 1280, frameHeight: 720 }),
  });
  assert.equal(q.status, 201);
  const qbad = await rest(U, `/api/calls/${X}/quality-metrics`, 'alice', { method: 'POST', body: '{"jitter":"high"}' });
  assert.equal(qbad.status, 400);
  assert.match(qbad.body.error.message, /jitter/);

  // metrics count what happened
  const metrics = await (await fetch(`${U}/metrics`)).text();
  assert.match(metrics, /meeshy_calls_total\{type="video",conversation_type="group"\} 1\n/);
  assert.match(metrics, /meeshy_calls_total\{type="audio",conversation_type="direct"\} 1\n/);
  assert.match(metrics, /meeshy_call_duration_seconds_count 2\n/);
  assert.match(metrics, /meeshy_socketio_connections 6\n/);
  assert.match(metrics, /meeshy_active_participants 0\n/);
});

// Without Redis no copy of a live call's state is cached: GET reads the
// live call itself, so a media flag just changed shows at once, and an
// outsider is still refused.
test('GET /api/calls/:id of a live call answers its state as it is now', async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const U = srv.url;
  const a = await connect(U, 'alice', { transports: ['websocket'], conversations: ['conv-live'] });
  const b = await connect(U, 'bob', { transports: ['websocket'], conversations: ['conv-live'] });
  t.after(() => { a.close(); b.close(); });
  const { callId } = await ack(a, 'call:initiate', { conversationId: 'conv-live', type: 'video' });
  assert.equal((await ack(b, 'call:join', { callId })).ok, true);
  assert.equal((await ack(b, 'call:media-state', { callId, audio: false, video: true })).ok, true);
  const r = await rest(U, `/api/calls/${callId}`, 'alice');
  assert.equal(r.status, 200);
  assert.equal(r.body.call.status, 'active');
  assert.deepEqual(r.body.participants.map((p) => [p.userId, p.status, p.audioEnabled]).sort(),
    [['alice', 'joined', true], ['bob', 'joined', false]]);
  assert.equal((await rest(U, `/api/calls/${callId}`, 'mallory')).status, 403);
});

test('a frame that breaks the protocol closes its session only; binary events are dropped and counted', async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const wsUrl = `${srv.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
  const open = async () => {
    const w = new WebSocket(wsUrl);
    await new Promise((res, rej) => { w.once('message', res); w.once('error', rej); });
    w.send('40{"token":"mallory"}');
    return w;
  };
  // not Engine.IO, not Socket.IO, an event for a namespace not joined,
  // bytes that no packet announced: each ends its own session (the
  // protocol's rule, as the reference server does)
  const junk = ['', '9', '42', '42{"not":"an array"}', '42[1,2]', '42["x"', '4\u0000\u0001',
    '42/admin,["x"]', Buffer.from([1, 2, 3])];
  await Promise.all(junk.map(async (j) => {
    const w = await open();
    const closed = new Promise((res) => w.once('close', res));
    w.send(j);
    await closed;
  }));
  // a well-formed binary event is not the gateway's: dropped, counted, and
  // the session goes on
  const ws = await open();
  ws.send('451-["bin",{"_placeholder":true,"num":0}]');
  ws.send(Buffer.from([1, 2, 3]));
  const msgs = [];
  ws.on('message', (m) => msgs.push(m.toString()));
  ws.send('421["call:join",{"callId":"nope"}]'); // still answered
  for (let i = 0; i < 50 && !msgs.some((m) => m.startsWith('431')); i++) await sleep(20);
  assert.ok(msgs.some((m) => m.startsWith('431[{"ok":false') && m.includes('NOT_FOUND')), msgs.join('|'));
  // a frame over the payload limit closes that session only
  const closed = new Promise((res) => ws.once('close', res));
  ws.send('42["x","' + 'a'.repeat(110000) + '"]');
  await closed;
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  const dropped = (reason) => Number(metrics.match(new RegExp(`meeshy_socketio_dropped_total\\{reason="${reason}"\\} (\\d+)`))[1]);
  assert.equal(dropped('malformed'), junk.length, metrics);
  assert.match(metrics, new RegExp(`meeshy_socketio_closed_total\\{reason="protocol"\\} ${junk.length - 2}\n`));
  assert.equal(dropped('binary'), 1);
  assert.equal(dropped('too_large'), 1);
  // a frame header announcing 2^64-3 bytes (libre 1.1.0's own parser would
  // write past its buffer): the connection is closed, the server lives on
  await new Promise((resolve, reject) => {
    const u = new URL(srv.url);
    const sock = net.connect(Number(u.port), u.hostname, () => sock.write(
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n' +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    sock.once('data', () => sock.write(Buffer.from([0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 1, 2, 3, 4, 9, 9, 9, 9])));
    sock.on('close', resolve);
    sock.on('error', reject);
  });
  const h = await fetch(`${srv.url}/health`);
  assert.equal(h.status, 200);
  const m2 = await (await fetch(`${srv.url}/metrics`)).text();
  assert.match(m2, /meeshy_socketio_dropped_total\{reason="too_large"\} 2\n/);
  // Engine.IO errors name the problem
  const e = await fetch(`${srv.url}/socket.io/?EIO=3&transport=polling`);
  assert.equal(e.status, 400);
  assert.deepEqual(await e.json(), { code: 5, message: 'Unsupported protocol version' });
  const u = await fetch(`${srv.url}/socket.io/?EIO=4&transport=polling&sid=nosuch`);
  assert.deepEqual(await u.json(), { code: 1, message: 'Session ID unknown' });
});

test('JWT: CONNECT auth, the authenticate event, refusals, REST bearer', async (t) => {
  const secret = 'test-secret-0123456789abcdef';
  const srv = await start({ env: { MEESHY_JWT_SECRET: secret } });
  t.after(() => srv.stop());
  const now = Math.floor(Date.now() / 1000);
  const good = jwt({ sub: 'u-1', name: 'Ada', exp: now + 600, conversations: ['c-1'] }, secret);
  const s = await connect(srv.url, good, { transports: ['websocket'] });
  t.after(() => s.close());
  const r = await ack(s, 'call:initiate', { conversationId: 'c-1', type: 'audio' });
  assert.equal(r.ok, true);
  assert.equal((await ack(s, 'call:initiate', { conversationId: 'c-2', type: 'audio' })).error.code, 'FORBIDDEN');

  await assert.rejects(connect(srv.url, jwt({ sub: 'u-2', exp: now - 3600 }, secret)), /expired/);
  await assert.rejects(connect(srv.url, jwt({ sub: 'u-2', exp: now + 600 }, 'another-secret-abcdefghijkl')), /signature/);
  await assert.rejects(connect(srv.url, 'guest-without-jwt'), /UNAUTHENTICATED/);
  // the refusal's fault, as data too: {code, message}
  await assert.rejects(connect(srv.url, jwt({ sub: 'u-2', exp: now - 3600 }, secret)),
    (e) => e.data && e.data.code === 'UNAUTHENTICATED' && /expired/.test(e.data.message));

  // no auth at connect: only "authenticate" is allowed until it succeeds
  const { io } = require('socket.io-client');
  const late = io(srv.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  t.after(() => late.close());
  await new Promise((res) => late.once('connect', res));
  assert.equal((await late.timeout(5000).emitWithAck('call:join', { callId: r.callId })).error.code, 'UNAUTHENTICATED');
  const authed = new Promise((res) => late.once('authenticated', res));
  const a = await late.timeout(5000).emitWithAck('authenticate', { token: jwt({ sub: 'u-3', exp: now + 600, conversations: ['c-1'] }, secret) });
  assert.deepEqual(a, { ok: true, userId: 'u-3' });
  assert.equal((await authed).userId, 'u-3');
  const j = await late.timeout(5000).emitWithAck('call:join', { callId: r.callId });
  assert.deepEqual(j.participants.map((p) => p.userId).sort(), ['u-1', 'u-3']);
  assert.equal((await late.timeout(5000).emitWithAck('authenticate', { token: 'nope' })).error.code, 'UNAUTHENTICATED');

  assert.equal((await fetch(`${srv.url}/api/calls/${r.callId}`)).status, 401);
  // REST says why a token is refused, in the same shape as an ack
  const stale = await fetch(`${srv.url}/api/calls/${r.callId}`,
    { headers: { authorization: `Bearer ${jwt({ sub: 'u-1', exp: now - 3600 }, secret)}` } });
  assert.equal(stale.status, 401);
  const staleBody = await stale.json();
  assert.equal(staleBody.ok, false);
  assert.equal(staleBody.error.code, 'UNAUTHENTICATED');
  assert.match(staleBody.error.message, /expired/);
  assert.equal((await rest(srv.url, `/api/calls/${r.callId}`, good)).body.call.status, 'active');
});

test('--sfu-from 1: a call is on the SFU from its start and stays there', async (t) => {
  const srv = await start({ args: ['--dev-auth', '--sfu-from', '1'] });
  t.after(() => srv.stop());
  const ann = await connect(srv.url, 'ann', { transports: ['websocket'], conversations: ['sfu-1'] });
  const bea = await connect(srv.url, 'bea', { transports: ['websocket'], conversations: ['sfu-1'] });
  const cid = await connect(srv.url, 'cid', { transports: ['websocket'], conversations: ['sfu-1'] });
  t.after(() => [ann, bea, cid].forEach((s) => s.close()));
  // before any call: the routers' capabilities alone (a client loads its
  // device ahead of a join), no producers, no call made
  const early = await ack(ann, 'media:get-capabilities', {});
  assert.equal(early.ok, true);
  assert.ok(early.rtpCapabilities.codecs.some((c) => c.mimeType === 'video/VP8'), 'VP8 among the codecs');
  assert.equal(early.producers, undefined);
  assert.equal((await ack(ann, 'media:create-transport', { direction: 'recv' })).error.code, 'NOT_FOUND',
    'other media requests still need a call');
  const init = await ack(ann, 'call:initiate', { conversationId: 'sfu-1', type: 'video' });
  assert.equal(init.ok, true);
  assert.equal(init.mode, 'sfu', 'the initiator is told to use the SFU');
  const caps = await ack(ann, 'media:get-capabilities', { callId: init.callId });
  assert.equal(caps.ok, true, 'the SFU is there for the initiator alone');
  for (const s of [bea, cid]) {
    const j = await ack(s, 'call:join', { callId: init.callId });
    assert.equal(j.mode, 'sfu');
  }
  await ack(cid, 'call:leave', { callId: init.callId });
  await ack(bea, 'call:leave', { callId: init.callId });
  await sleep(200);
  // never a switch: not at the start, and not back to P2P with two or one
  for (const s of [ann, bea, cid]) assert.ok(!names(s).includes('call:mode-switch'), `${names(s)}`);
  const call = await rest(srv.url, `/api/calls/${init.callId}`, 'ann');
  assert.equal(call.body.call.mode, 'sfu');
});

test('--dev-auth: a guest finds the call in progress in a conversation (the demo page joins so)', async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const ann = await connect(srv.url, 'ann', { transports: ['websocket'], conversations: ['demo-conv'] });
  t.after(() => ann.close());
  const init = await ack(ann, 'call:initiate', { conversationId: 'demo-conv', type: 'audio' });
  const found = await rest(srv.url, '/api/conversations/demo-conv/calls?status=initiated', 'bob');
  assert.equal(found.status, 200);
  assert.deepEqual(found.body.calls.map((c) => c.id), [init.callId]);
  // the call's own records stay its participants'
  assert.equal((await rest(srv.url, `/api/calls/${init.callId}`, 'bob')).status, 403);
});

// The Engine.IO protocol's own rules for a polling session's end (its
// test-suite checks the same): a payload that is not Engine.IO ends the
// session with a 400; a client's close packet ends the held GET with a noop.
async function pollingSession(url) {
  const r = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
  return JSON.parse((await r.text()).slice(1)).sid;
}

test('Engine.IO polling: an invalid packet closes the session (400); a close packet answers the held GET with a noop', async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const sid = await pollingSession(srv.url);
  const path = `${srv.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  const bad = await fetch(path, { method: 'POST', body: 'abc' });
  assert.equal(bad.status, 400);
  assert.equal((await fetch(path)).status, 400, 'the session is gone');

  const sid2 = await pollingSession(srv.url);
  const path2 = `${srv.url}/socket.io/?EIO=4&transport=polling&sid=${sid2}`;
  const held = fetch(path2);
  await sleep(50);
  const close = await fetch(path2, { method: 'POST', body: '1' });
  assert.equal(close.status, 200);
  const pulled = await held;
  assert.equal(pulled.status, 200);
  assert.equal(await pulled.text(), '6');
  assert.equal((await fetch(path2)).status, 400, 'the session is gone');
});

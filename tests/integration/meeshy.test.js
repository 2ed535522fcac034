// Meeshy's web client, as its code (frontend/services/meeshy-socketio.
// service.ts in jcnm/meeshy) connects: socket.io-client with
// auth {authToken, tokenType: 'jwt'}, the listeners set before connect(),
// and nothing done until "authenticated" {success: true} arrives (it
// disconnects itself after 5 s without). Its tokens are what Meeshy's
// gateway signs: HS256 {userId, username, role} with iat and exp, no sub.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');
const { start } = require('./lib/server');
const { jwt } = require('./lib/jwt');

const SECRET = 'meeshy-shared-secret-0123456789abcdef';
const now = () => Math.floor(Date.now() / 1000);
const meeshyToken = (userId, username, exp = now() + 86400) =>
  jwt({ userId, username, role: 'USER', iat: now(), exp }, SECRET);

// Connects as Meeshy's client does; resolves with what it saw, in order,
// within 5 s of connecting (its own deadline).
function meeshyConnect(url, auth) {
  const socket = io(url, {
    auth, transports: ['websocket', 'polling'], path: '/socket.io/',
    reconnection: false, forceNew: true, autoConnect: false, timeout: 10000,
  });
  const seen = [];
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "authenticated" within 5 s: saw ${seen.join(', ')}`)), 5000);
    socket.on('connect', () => seen.push('connect'));
    socket.on('connect_error', (e) => { clearTimeout(timer); reject(e); });
    socket.on('authenticated', (r) => {
      seen.push('authenticated');
      clearTimeout(timer);
      resolve({ socket, response: r, seen });
    });
  });
  socket.connect();
  return done;
}

test("Meeshy's client signs in with its own token and hears authenticated", async (t) => {
  const srv = await start({ env: { MEESHY_JWT_SECRET: SECRET } });
  t.after(() => srv.stop());
  const userId = '64b7f0c2a1b2c3d4e5f60718';

  const ok = await meeshyConnect(srv.url, { authToken: meeshyToken(userId, 'ada'), tokenType: 'jwt' });
  t.after(() => ok.socket.close());
  assert.deepEqual(ok.seen, ['connect', 'authenticated'], 'authenticated comes after the CONNECT answer');
  assert.equal(ok.response.success, true);
  assert.deepEqual(ok.response.user, { id: userId, language: 'en', isAnonymous: false });
  // signed in: a call event is taken (its payload judged, not its caller)
  const r = await ok.socket.timeout(5000).emitWithAck('call:join', { callId: 'no-such-call' });
  assert.equal(r.error.code, 'NOT_FOUND', JSON.stringify(r));

  // a refused token does not refuse the connection: Meeshy's client is
  // told why, as Meeshy's gateway does, and may not call
  const stale = await meeshyConnect(srv.url, {
    authToken: meeshyToken(userId, 'ada', now() - 3600), tokenType: 'jwt',
  });
  t.after(() => stale.socket.close());
  assert.equal(stale.response.success, false);
  assert.match(stale.response.error, /expired/);
  assert.equal(stale.socket.connected, true);
  const refused = await stale.socket.timeout(5000).emitWithAck('call:join', { callId: 'x' });
  assert.equal(refused.error.code, 'UNAUTHENTICATED');

  const forged = await meeshyConnect(srv.url, {
    authToken: jwt({ userId, username: 'ada', role: 'USER', exp: now() + 600 }, 'not-the-secret-0123456789'),
    tokenType: 'jwt',
  });
  t.after(() => forged.socket.close());
  assert.equal(forged.response.success, false);
  assert.match(forged.response.error, /signature/);

  // Meeshy's anonymous participants (a session token) are told plainly
  const anon = await meeshyConnect(srv.url, { sessionToken: 'anon-session-1', sessionType: 'anonymous' });
  t.after(() => anon.socket.close());
  assert.equal(anon.response.success, false);
  assert.match(anon.response.error, /auth\.sessionToken/);

  // the seed's client (auth.token) hears the same greeting, and a bad
  // token still refuses its connection (connect_error, as before)
  const seed = await meeshyConnect(srv.url, { token: jwt({ sub: 'u-seed', name: 'Sam', exp: now() + 600 }, SECRET) });
  t.after(() => seed.socket.close());
  assert.equal(seed.response.success, true);
  assert.equal(seed.response.userId, 'u-seed');
  assert.equal(seed.response.user.id, 'u-seed');
  await assert.rejects(meeshyConnect(srv.url, { token: 'not-a-jwt' }), /UNAUTHENTICATED/);
});

// Pushed events only, as Meeshy's client works: no acks anywhere below.
function collect(socket) {
  const got = [];
  socket.onAny((name, data) => got.push({ name, data }));
  return got;
}

function next(socket, name, pred = () => true, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.off(name, on); reject(new Error(`no ${name} within ${ms} ms`)); }, ms);
    const on = (d) => { if (pred(d)) { clearTimeout(timer); socket.off(name, on); resolve(d); } };
    socket.on(name, on);
  });
}

const ids = { ada: '64b7f0c2a1b2c3d4e5f60001', bob: '64b7f0c2a1b2c3d4e5f60002', cy: '64b7f0c2a1b2c3d4e5f60003' };
const CONV = '64b7f0c2a1b2c3d4e5f6c0a1';

test("a whole call in Meeshy's dialect: ring, join, signals, toggles, leave, cancel, already active", async (t) => {
  const srv = await start({ env: { MEESHY_JWT_SECRET: SECRET } });
  t.after(() => srv.stop());
  const users = {};
  for (const name of Object.keys(ids)) {
    const c = await meeshyConnect(srv.url, { authToken: meeshyToken(ids[name], name), tokenType: 'jwt' });
    t.after(() => c.socket.close());
    assert.equal(c.response.success, true);
    users[name] = c.socket;
    users[name].got = collect(c.socket);
  }
  const { ada, bob, cy } = users;

  // who is in the conversation: Meeshy's tokens list no conversations, so
  // its memberships are kept here (ConversationMember), by its admins
  const admin = jwt({ userId: '64b7f0c2a1b2c3d4e5f6ad00', username: 'root', role: 'ADMIN', exp: now() + 600 }, SECRET);
  const member = (user, method = 'PUT', token = admin, body) => fetch(`${srv.url}/api/conversations/${CONV}/members/${user}`,
    { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
  let r = await member(ids.ada, 'PUT', meeshyToken(ids.ada, 'ada'));
  assert.equal(r.status, 403, 'a USER may not keep memberships');
  assert.match((await r.json()).error.message, /role is 'USER'/);
  r = await member(ids.ada, 'PUT', admin, JSON.stringify({ role: 'owner' }));
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /owner/);
  for (const name of Object.keys(ids)) {
    r = await member(ids[name]);
    assert.equal(r.status, 200);
    const m = (await r.json()).member;
    assert.deepEqual([m.conversationId, m.userId, m.role, m.isActive], [CONV, ids[name], 'member', true]);
  }
  // a user outside the conversation neither joins its room nor rings
  const dan = await meeshyConnect(srv.url, { authToken: meeshyToken('64b7f0c2a1b2c3d4e5f60004', 'dan'), tokenType: 'jwt' });
  t.after(() => dan.socket.close());
  dan.socket.got = collect(dan.socket);
  const refusedRoom = next(dan.socket, 'call:error');
  dan.socket.emit('conversation:join', { conversationId: CONV });
  assert.equal((await refusedRoom).code, 'PERMISSION_DENIED');

  // the conversation's room, on request
  for (const s of [ada, bob, cy]) {
    const joined = next(s, 'conversation:joined');
    s.emit('conversation:join', { conversationId: CONV });
    assert.equal((await joined).conversationId, CONV);
  }

  // ada calls: she and the others hear call:initiated
  const heard = [ada, bob, cy].map((s) => next(s, 'call:initiated'));
  ada.emit('call:initiate', { conversationId: CONV, type: 'video', settings: { audioEnabled: true, videoEnabled: true } });
  const [mine, bobs] = await Promise.all(heard);
  const callId = mine.callId;
  assert.equal(bobs.callId, callId);
  assert.equal(bobs.conversationId, CONV);
  assert.equal(bobs.initiator.userId, ids.ada);
  assert.equal(bobs.initiator.username, 'ada');
  assert.equal(bobs.mode, 'p2p');
  assert.equal(bobs.participants.length, 1);
  assert.equal(bobs.participants[0].userId, ids.ada);
  assert.equal(bobs.participants[0].role, 'initiator');
  assert.ok(bobs.participants[0].id && bobs.participants[0].callSessionId === callId);
  // ids as Meeshy's database holds them: ObjectIds
  assert.match(callId, /^[0-9a-f]{24}$/);
  assert.match(bobs.participants[0].id, /^[0-9a-f]{24}$/);

  // bob answers: ada hears call:participant-joined with participant.id
  const pj = next(ada, 'call:participant-joined');
  bob.emit('call:join', { callId, settings: { audioEnabled: true, videoEnabled: true } });
  const joined = await pj;
  assert.equal(joined.callId, callId);
  assert.equal(joined.participant.userId, ids.bob);
  assert.equal(joined.participant.role, 'participant');
  assert.ok(joined.participant.id);
  assert.ok(!Number.isNaN(Date.parse(joined.participant.joinedAt)), joined.participant.joinedAt);
  const bobPid = joined.participant.id;

  // offer, answer and ICE, nested, relayed in the same shape
  const offer = next(bob, 'call:signal');
  ada.emit('call:signal', { callId, signal: { type: 'offer', from: ids.ada, to: ids.bob, sdp: 'v=0 offer' } });
  assert.deepEqual((await offer).signal, { type: 'offer', to: ids.bob, sdp: 'v=0 offer', from: ids.ada });
  const answer = next(ada, 'call:signal');
  bob.emit('call:signal', { callId, signal: { type: 'answer', from: ids.bob, to: ids.ada, sdp: 'v=0 answer' } });
  assert.equal((await answer).signal.sdp, 'v=0 answer');
  const ice = next(bob, 'call:signal');
  ada.emit('call:signal', { callId, signal: { type: 'ice-candidate', from: ids.ada, to: ids.bob,
    candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMLineIndex: 0, sdpMid: '0' } });
  const got = (await ice).signal;
  assert.deepEqual([got.candidate, got.sdpMLineIndex, got.sdpMid, got.from],
    ['candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', 0, '0', ids.ada]);
  // a signal claiming another sender is refused, as call:error
  const mismatch = next(ada, 'call:error');
  ada.emit('call:signal', { callId, signal: { type: 'offer', from: ids.cy, to: ids.bob, sdp: 'v=0' } });
  assert.match((await mismatch).message, /signal\.from/);

  // toggles: the whole call hears call:media-toggled
  const toggled = [ada, bob].map((s) => next(s, 'call:media-toggled'));
  bob.emit('call:toggle-audio', { callId, enabled: false });
  for (const m of await Promise.all(toggled))
    assert.deepEqual([m.callId, m.participantId, m.mediaType, m.enabled], [callId, bobPid, 'audio', false]);

  // a second call in the conversation: CALL_ALREADY_ACTIVE, as Meeshy's
  // client reads it (from the message)
  const busy = next(cy, 'call:error');
  cy.emit('call:initiate', { conversationId: CONV, type: 'audio' });
  const err = await busy;
  assert.equal(err.code, 'CALL_ALREADY_ACTIVE');
  assert.match(err.message, /A call is already active/);

  // bob leaves: ada hears participantId; then ada: the call ends, and cy,
  // who never answered, stops ringing
  const left = next(ada, 'call:participant-left');
  bob.emit('call:leave', { callId });
  const l = await left;
  assert.deepEqual([l.callId, l.participantId, l.userId], [callId, bobPid, ids.bob]);
  const cyEnded = next(cy, 'call:ended', (d) => d.callId === callId);
  ada.emit('call:leave', { callId });
  const ended = await cyEnded;
  assert.equal(typeof ended.duration, 'number');

  // a caller's cancel stops the callee's ring
  const ringing = next(bob, 'call:initiated');
  cy.emit('call:initiate', { conversationId: CONV, type: 'audio' });
  const second = (await ringing).callId;
  const stop = next(bob, 'call:ended', (d) => d.callId === second);
  cy.emit('call:leave', { callId: second });
  assert.equal((await stop).endedBy, '');

  // CALL_ALREADY_ACTIVE -> call:force-leave -> a new call
  const third = next(ada, 'call:initiated');
  ada.emit('call:initiate', { conversationId: CONV, type: 'video' });
  const thirdId = (await third).callId;
  const again = next(ada, 'call:error');
  ada.emit('call:initiate', { conversationId: CONV, type: 'video' });
  assert.equal((await again).code, 'CALL_ALREADY_ACTIVE');
  const fresh = next(ada, 'call:initiated', (d) => d.callId !== thirdId);
  ada.emit('call:force-leave', { conversationId: CONV });
  await new Promise((r) => setTimeout(r, 200));
  ada.emit('call:initiate', { conversationId: CONV, type: 'video' });
  assert.notEqual((await fresh).callId, thirdId);

  // a member removed may no longer join: cy's membership ends
  r = await member(ids.cy, 'DELETE');
  const gone = (await r.json()).member;
  assert.deepEqual([gone.isActive, typeof gone.leftAt], [false, 'string']);
  const outside = next(cy, 'call:error');
  cy.emit('call:join', { callId: (await fresh).callId });
  assert.equal((await outside).code, 'PERMISSION_DENIED');
  // dan heard nothing of any call
  assert.deepEqual(dan.socket.got.filter((g) => /^call:(initiated|incoming|ended)$/.test(g.name)), []);

  // nothing was answered with an exception-only error: every refusal a
  // Meeshy client got came as call:error too
  for (const s of [ada, bob, cy, dan.socket]) {
    const exceptions = s.got.filter((g) => g.name === 'exception').length;
    const callErrors = s.got.filter((g) => g.name === 'call:error').length;
    assert.equal(callErrors, exceptions);
  }
});

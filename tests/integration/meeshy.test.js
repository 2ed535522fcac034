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

// Front mode (--upstream): Meeshy's client keeps one Socket.IO connection
// for chat and calls. A Node socket.io server stands in for Meeshy's chat
// gateway: a relayed message:send reaches it with the client's auth and
// its ack comes back; what it emits (message:new) reaches the client;
// meanwhile the call events are served by meeshy-call itself.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { Server } = require('socket.io');
const { io } = require('socket.io-client');
const { start } = require('./lib/server');
const { jwt } = require('./lib/jwt');

const SECRET = 'meeshy-shared-secret-0123456789abcdef';
const now = () => Math.floor(Date.now() / 1000);

function chatGateway() {
  const seen = { auth: [], messages: [] };
  const server = http.createServer();
  const ioServer = new Server(server);
  ioServer.on('connection', (s) => {
    seen.auth.push(s.handshake.auth);
    s.on('message:send', (data, ack) => {
      seen.messages.push(data);
      ack({ success: true, data: { id: `m${seen.messages.length}`, content: data.content } });
      s.emit('message:new', { id: `m${seen.messages.length}`, conversationId: data.conversationId, content: data.content });
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`, seen,
    close: () => { ioServer.close(); server.close(); },
  })));
}

test('front mode: chat goes to the upstream and back, calls stay here', async (t) => {
  const chat = await chatGateway();
  t.after(() => chat.close());
  const srv = await start({ args: ['--upstream', chat.url], env: { MEESHY_JWT_SECRET: SECRET } });
  t.after(() => srv.stop());
  const token = jwt({ userId: '64b7f0c2a1b2c3d4e5f62001', username: 'ada', role: 'USER', iat: now(), exp: now() + 600 }, SECRET);
  const s = io(srv.url, { auth: { authToken: token, tokenType: 'jwt' }, transports: ['websocket'], reconnection: false, forceNew: true });
  t.after(() => s.close());
  const authed = new Promise((r) => s.once('authenticated', r));
  await new Promise((r) => s.once('connect', r));
  assert.equal((await authed).success, true);

  // chat: relayed with its ack, sent before the upstream link is even up
  const fresh = new Promise((r) => s.once('message:new', r));
  const ack = await s.timeout(5000).emitWithAck('message:send', { conversationId: 'c-9', content: 'bonjour' });
  assert.deepEqual(ack, { success: true, data: { id: 'm1', content: 'bonjour' } });
  assert.equal((await fresh).content, 'bonjour');
  assert.equal(chat.seen.auth.length, 1);
  assert.equal(chat.seen.auth[0].authToken, token, 'the upstream saw the client\'s own auth');

  // a call event is ours: answered here, the upstream never sees it
  const initiated = new Promise((r) => s.once('call:initiated', r));
  s.emit('call:initiate', { conversationId: '64b7f0c2a1b2c3d4e5f6c0a9', type: 'audio' });
  const err = await Promise.race([initiated.then(() => null), new Promise((r) => s.once('call:error', r))]);
  // not a member (Meeshy's tokens need ConversationMember): refused here
  assert.equal(err && err.code, 'PERMISSION_DENIED');
  assert.deepEqual(chat.seen.messages.map((m) => m.content), ['bonjour']);

  // a refused token stays refused in front mode (the upstream link being
  // up must not sign it in)
  const stale = io(srv.url, { auth: { authToken: jwt({ userId: '64b7f0c2a1b2c3d4e5f62009', username: 'eve', role: 'USER', exp: now() - 3600 }, SECRET), tokenType: 'jwt' },
    transports: ['websocket'], reconnection: false, forceNew: true });
  t.after(() => stale.close());
  const refused = await new Promise((r) => stale.once('authenticated', r));
  assert.equal(refused.success, false);
  assert.match(refused.error, /expired/);
  const no = await stale.timeout(5000).emitWithAck('call:join', { callId: 'x' });
  assert.equal(no.error.code, 'UNAUTHENTICATED');

  // a second message, on the open link
  const second = await s.timeout(5000).emitWithAck('message:send', { conversationId: 'c-9', content: 'encore' });
  assert.equal(second.data.id, 'm2');
});

test('without --upstream, an event that is not a call\'s is refused by name', async (t) => {
  const srv = await start({ env: { MEESHY_JWT_SECRET: SECRET } });
  t.after(() => srv.stop());
  const token = jwt({ userId: '64b7f0c2a1b2c3d4e5f62002', username: 'bo', role: 'USER', exp: now() + 600 }, SECRET);
  const s = io(srv.url, { auth: { authToken: token, tokenType: 'jwt' }, transports: ['websocket'], reconnection: false, forceNew: true });
  t.after(() => s.close());
  await new Promise((r) => s.once('authenticated', r));
  const r = await s.timeout(5000).emitWithAck('message:send', { content: 'x' });
  assert.equal(r.error.code, 'NOT_FOUND');
  assert.match(r.error.message, /'message:send' is not an event this server handles/);
});

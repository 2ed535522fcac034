#!/usr/bin/env node
// The Node socket.io 4.8 server bench/gateway.js measures ours against:
// the same events, as little more as they need. call:initiate makes a call
// and puts the caller in its room; call:join puts a joiner in it and tells
// the others; call:media-state is told to the rest of the room;
// authenticate is answered ok and call:leave takes the socket out of the
// call's room (for the seed's Artillery scenario, bench/artillery.js). Every
// event is acknowledged with { ok: true, ... } as ours does. No storage,
// no authentication: whatever ours does beyond this is its own cost.
//
//   node bench/socketio-twin.js [--port 0]   prints "listening <port>"
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');
const { Server } = require('socket.io');
const { opt } = require('./lib/cli');

const server = http.createServer();
const io = new Server(server, { transports: ['websocket', 'polling'], maxHttpBufferSize: 1e6 });
const calls = new Map(); // callId -> conversationId

io.on('connection', (socket) => {
  const user = String((socket.handshake.auth && socket.handshake.auth.token) || socket.id);
  socket.on('call:initiate', (d, ack) => {
    if (typeof ack !== 'function') return;
    if (!d || typeof d.conversationId !== 'string') return ack({ ok: false, error: { code: 'VALIDATION_ERROR', message: 'conversationId' } });
    const callId = crypto.randomUUID();
    calls.set(callId, d.conversationId);
    socket.join(`call:${callId}`);
    ack({ ok: true, callId, mode: 'p2p' });
  });
  socket.on('call:join', (d, ack) => {
    if (typeof ack !== 'function') return;
    if (!d || !calls.has(d.callId)) return ack({ ok: false, error: { code: 'NOT_FOUND', message: 'callId' } });
    socket.join(`call:${d.callId}`);
    socket.to(`call:${d.callId}`).emit('call:participant-joined', { callId: d.callId, userId: user });
    ack({ ok: true, callId: d.callId });
  });
  socket.on('authenticate', (d, ack) => {
    if (typeof ack !== 'function') return;
    if (!d || typeof d.token !== 'string') return ack({ ok: false, error: { code: 'VALIDATION_ERROR', message: 'token' } });
    ack({ ok: true, userId: d.token });
  });
  socket.on('call:leave', (d, ack) => {
    if (typeof ack !== 'function') return;
    if (!d || !calls.has(d.callId) || !socket.rooms.has(`call:${d.callId}`)) return ack({ ok: false, error: { code: 'NOT_FOUND', message: 'callId' } });
    socket.leave(`call:${d.callId}`);
    ack({ ok: true });
  });
  socket.on('call:media-state', (d, ack) => {
    if (!d || !calls.has(d.callId) || !socket.rooms.has(`call:${d.callId}`)) {
      if (typeof ack === 'function') ack({ ok: false, error: { code: 'NOT_FOUND', message: 'callId' } });
      return;
    }
    if (typeof ack === 'function') ack({ ok: true });
    socket.to(`call:${d.callId}`).emit('call:media-state', { callId: d.callId, userId: user, audio: !!d.audio, video: !!d.video });
  });
});

server.listen(Number(opt('--port', '0')), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));

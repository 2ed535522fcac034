// Meeshy's dialect in real Chromium: pages that do what Meeshy's web
// client does (jcnm/meeshy: meeshy-socketio.service.ts connects with
// auth {authToken, tokenType: 'jwt'} and waits for "authenticated";
// ConversationLayout emits call:initiate; CallManager answers with
// call:join; VideoCallInterface has the initiator offer to each participant
// it hears of; use-webrtc-p2p sends and answers nested call:signal), no
// acks. Two pages decode each other's video peer to peer; a third moves the
// call to the SFU (call:mode-changed), which they join with the bundled
// mediasoup-client (sfu.html), and all three decode the others' video.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');
const { jwt } = require('./lib/jwt');

const SECRET = 'meeshy-shared-secret-0123456789abcdef';
const CONV = '64b7f0c2a1b2c3d4e5f6c0a2';
const now = () => Math.floor(Date.now() / 1000);

// In the page: Meeshy's client, as far as a call goes.
async function meeshyClient({ token, me }) {
  const state = { me, callId: null, initiator: null, peers: new Map(), offered: new Set(), mode: 'p2p', sfu: null, events: [] };
  window.meeshy = state;
  state.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 180 } });
  const socket = io({ auth: { authToken: token, tokenType: 'jwt' }, transports: ['websocket', 'polling'], autoConnect: false });
  state.socket = socket;
  socket.onAny((name) => state.events.push(name));
  const signed = new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error('no authenticated in 5 s')), 5000);
    socket.on('authenticated', (r) => (r.success ? resolve(r) : reject(new Error(r.error))));
  });
  socket.connect();
  await signed;

  const send = (signal) => socket.emit('call:signal', { callId: state.callId, signal: { ...signal, from: me } });
  const peer = (other) => {
    let pc = state.peers.get(other);
    if (pc) return pc;
    pc = new RTCPeerConnection({ iceServers: [] });
    state.peers.set(other, pc);
    state.stream.getTracks().forEach((t) => pc.addTrack(t, state.stream));
    pc.onicecandidate = (e) => {
      if (!e.candidate) return;
      const c = e.candidate.toJSON();
      send({ type: 'ice-candidate', to: other, candidate: c.candidate, sdpMLineIndex: c.sdpMLineIndex, sdpMid: c.sdpMid });
    };
    return pc;
  };
  // VideoCallInterface: the initiator offers to each participant
  const offerTo = async (other) => {
    if (state.offered.has(other) || state.mode !== 'p2p') return;
    state.offered.add(other);
    const pc = peer(other);
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: 'offer', to: other, sdp: pc.localDescription.sdp });
  };
  socket.on('call:initiated', (e) => {
    if (e.initiator.userId === me) { state.callId = e.callId; state.initiator = me; }
    else state.ringing = e.callId;
  });
  socket.on('call:participant-joined', (e) => {
    if (e.callId === state.callId && state.initiator === me) offerTo(e.participant.userId);
  });
  socket.on('call:signal', async ({ signal }) => {
    if (state.mode !== 'p2p' || signal.to !== me) return;
    const pc = peer(signal.from);
    if (signal.type === 'offer') {
      await pc.setRemoteDescription({ type: 'offer', sdp: signal.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: 'answer', to: signal.from, sdp: pc.localDescription.sdp });
    } else if (signal.type === 'answer') {
      await pc.setRemoteDescription({ type: 'answer', sdp: signal.sdp });
    } else {
      await pc.addIceCandidate({ candidate: signal.candidate, sdpMLineIndex: signal.sdpMLineIndex, sdpMid: signal.sdpMid }).catch(() => {});
    }
  });
  socket.on('call:mode-changed', async (e) => {
    if (e.callId !== state.callId || e.newMode !== 'sfu' || state.sfu) return;
    state.mode = 'sfu';
    for (const pc of state.peers.values()) pc.close();
    state.peers.clear();
    state.sfu = await MeeshySfu.join(socket, state.callId, { stream: state.stream });
  });
  const joined = new Promise((r) => socket.once('conversation:joined', r));
  socket.emit('conversation:join', { conversationId: window.CONV });
  await joined;
  return true;
}

async function videoFrames(page) {
  return page.evaluate(async () => {
    const s = window.meeshy;
    const out = {};
    const add = async (who, x) => (await x.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') out[who] = (out[who] || 0) + (r.framesDecoded || 0);
    });
    for (const [u, pc] of s.peers) await add(u, pc);
    if (s.sfu) for (const c of s.sfu.consumers.values()) if (c.kind === 'video') await add(c.appData.userId, c);
    return out;
  });
}

test("Meeshy's dialect in Chromium: P2P between two pages, the third moves the call to the SFU", { timeout: 200000 }, async (t) => {
  const srv = await start({ env: { MEESHY_JWT_SECRET: SECRET } });
  t.after(() => srv.stop());
  const ids = { ana: '64b7f0c2a1b2c3d4e5f61001', ben: '64b7f0c2a1b2c3d4e5f61002', cleo: '64b7f0c2a1b2c3d4e5f61003' };
  const admin = jwt({ userId: '64b7f0c2a1b2c3d4e5f6ad01', username: 'root', role: 'ADMIN', exp: now() + 600 }, SECRET);
  for (const id of Object.values(ids)) {
    const r = await fetch(`${srv.url}/api/conversations/${CONV}/members/${id}`,
      { method: 'PUT', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(r.status, 200);
  }
  const browser = await launch();
  t.after(() => browser.close());
  const pages = {};
  for (const [name, id] of Object.entries(ids)) {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (e) => console.log(`${name} page error: ${e.message}`));
    await page.goto(`${srv.url}/sfu.html`);
    await page.evaluate((c) => { window.CONV = c; }, CONV);
    const token = jwt({ userId: id, username: name, role: 'USER', iat: now(), exp: now() + 3600 }, SECRET);
    await page.evaluate(meeshyClient, { token, me: id });
    pages[name] = page;
  }
  const { ana, ben, cleo } = pages;

  // ana calls (ConversationLayout), ben is rung and answers (CallManager)
  await ana.evaluate(() => window.meeshy.socket.emit('call:initiate',
    { conversationId: window.CONV, type: 'video', settings: { audioEnabled: true, videoEnabled: true } }));
  const callId = await until(() => ana.evaluate(() => window.meeshy.callId), 'ana hears call:initiated');
  await until(() => ben.evaluate((id) => window.meeshy.ringing === id, callId), 'ben rings');
  await ben.evaluate((id) => { window.meeshy.callId = id; window.meeshy.socket.emit('call:join', { callId: id }); }, callId);
  await until(async () => (await videoFrames(ana))[ids.ben] > 0 && (await videoFrames(ben))[ids.ana] > 0,
    'ana and ben decode each other peer to peer', 30000);
  assert.equal(await ana.evaluate(() => window.meeshy.mode), 'p2p');

  // cleo answers too: the third moves the call to the SFU
  await cleo.evaluate((id) => { window.meeshy.callId = id; window.meeshy.socket.emit('call:join', { callId: id }); }, callId);
  await until(async () => {
    const f = await Promise.all([ana, ben, cleo].map(videoFrames));
    return f[0][ids.ben] > 0 && f[0][ids.cleo] > 0 && f[1][ids.ana] > 0 && f[1][ids.cleo] > 0 &&
      f[2][ids.ana] > 0 && f[2][ids.ben] > 0 && (await ana.evaluate(() => !!window.meeshy.sfu));
  }, 'all three decode the others through the SFU', 60000);
  for (const p of [ana, ben, cleo]) {
    const ev = await p.evaluate(() => window.meeshy.events);
    assert.ok(ev.includes('call:mode-changed'), 'told in Meeshy\'s shape');
    assert.ok(!ev.includes('exception') && !ev.includes('call:error'), ev.join(','));
  }
});

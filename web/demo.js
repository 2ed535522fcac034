// Demo page: a call over meeshy-call. Two people talk peer to peer (the
// server relays offers, answers and ICE candidates with call:signal); from
// the third one on, the server moves the call to its SFU (call:mode-switch)
// and everyone sends and receives through mediasoup-client (MeeshySfu).
'use strict';
const $ = (id) => document.getElementById(id);
const state = {
  socket: null, callId: null, me: null, mode: null, ice: [],
  peers: new Map(),    // P2P: userId -> RTCPeerConnection
  others: new Set(),   // userIds of the other participants
  remote: new Map(),   // userId -> MediaStream shown on the page
  stream: null, sfu: null,
};

function log(text) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('log').prepend(li);
}

function enable(connected, inCall) {
  $('start').disabled = !connected || inCall;
  $('join').disabled = !connected || inCall;
  $('leave').disabled = !inCall;
  $('mute').disabled = !inCall;
  $('camera').disabled = !inCall;
}

async function media(type) {
  if (state.stream) return state.stream;
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: type === 'video' });
    $('local').srcObject = state.stream;
  } catch (e) {
    log(`no camera or microphone (${e.name}): joining to listen only`);
    state.stream = new MediaStream();
  }
  return state.stream;
}

// Remote media, whichever way it came.
function showTrack(userId, track) {
  let s = state.remote.get(userId);
  if (!s) {
    s = new MediaStream();
    state.remote.set(userId, s);
    const fig = document.createElement('figure');
    fig.id = `f-${userId}`;
    const v = document.createElement('video');
    v.autoplay = true;
    v.playsInline = true;
    v.srcObject = s;
    const cap = document.createElement('figcaption');
    cap.textContent = userId;
    fig.append(v, cap);
    $('videos').append(fig);
  }
  s.getTracks().filter((t) => t.kind === track.kind).forEach((t) => s.removeTrack(t));
  s.addTrack(track);
}

// On the SFU, which simulcast layer of someone's video this page gets.
function layerPicker(userId, producerId) {
  const fig = document.getElementById(`f-${userId}`);
  if (!fig || fig.querySelector('select')) return;
  const sel = document.createElement('select');
  sel.title = 'simulcast layer';
  [['2', 'high'], ['1', 'medium'], ['0', 'low']].forEach(([v, label]) => sel.add(new Option(label, v)));
  sel.onchange = () => state.sfu.setLayer(producerId, Number(sel.value))
    .then(() => log(`${userId}: asked for the ${sel.selectedOptions[0].text} layer`))
    .catch((e) => log(e.message));
  fig.append(sel);
}

function hideUser(userId) {
  state.remote.delete(userId);
  const f = document.getElementById(`f-${userId}`);
  if (f) f.remove();
}

// P2P
function peer(userId) {
  let pc = state.peers.get(userId);
  if (pc) return pc;
  // ?relay in the URL: media only through TURN (to check a TURN set-up)
  const relayOnly = new URLSearchParams(location.search).has('relay');
  pc = new RTCPeerConnection({ iceServers: state.ice, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
  state.peers.set(userId, pc);
  state.stream.getTracks().forEach((t) => pc.addTrack(t, state.stream));
  pc.onicecandidate = (e) => state.socket.emit('call:signal',
    { callId: state.callId, to: userId, type: 'ice-candidate', candidate: e.candidate && e.candidate.toJSON() });
  pc.ontrack = (e) => showTrack(userId, e.track);
  pc.onconnectionstatechange = () => log(`${userId}: ${pc.connectionState}`);
  return pc;
}

function dropPeer(userId) {
  const pc = state.peers.get(userId);
  if (pc) pc.close();
  state.peers.delete(userId);
}

async function callPeer(userId) {
  const pc = peer(userId);
  await pc.setLocalDescription(await pc.createOffer());
  state.socket.emit('call:signal', { callId: state.callId, to: userId, type: 'offer', sdp: pc.localDescription.sdp });
}

// SFU
async function startSfu() {
  for (const id of [...state.peers.keys()]) dropPeer(id);
  for (const id of [...state.remote.keys()]) hideUser(id);
  const t0 = performance.now();
  state.sfu = await MeeshySfu.join(state.socket, state.callId, {
    stream: state.stream,
    simulcast: true,
    onTrack: ({ userId, track, consumer }) => {
      showTrack(userId, track);
      if (track.kind === 'video') layerPicker(userId, consumer.producerId);
    },
    onTrackEnded: ({ userId }) => hideUser(userId),
  });
  log(`on the SFU (${Math.round(performance.now() - t0)} ms to set up)`);
}

function stopSfu() {
  if (!state.sfu) return;
  state.sfu.close();
  state.sfu = null;
  for (const id of [...state.remote.keys()]) hideUser(id);
}

async function useMode(mode) {
  if (mode === state.mode) return;
  state.mode = mode;
  log(`mode: ${mode}`);
  if (mode === 'sfu') {
    await startSfu();
  } else {
    stopSfu();
    // back to P2P: of each pair, the smaller user id calls the other
    for (const id of state.others) if (state.me < id) await callPeer(id);
  }
}

async function entered(ack) {
  if (!ack.ok) { log(`refused: ${ack.error.code} ${ack.error.message}`); return; }
  state.callId = ack.callId;
  state.ice = ack.iceServers || [];
  state.others = new Set(ack.participants.map((p) => p.userId).filter((u) => u !== state.me));
  enable(true, true);
  log(`in call ${ack.callId} (${ack.mode}) with ${ack.participants.map((p) => p.userId).join(', ')}`);
  state.mode = ack.mode;
  if (ack.mode === 'sfu') await startSfu();
  else for (const id of state.others) await callPeer(id); // the newcomer calls
}

function left() {
  for (const id of [...state.peers.keys()]) dropPeer(id);
  stopSfu();
  for (const id of [...state.remote.keys()]) hideUser(id);
  state.callId = null;
  state.mode = null;
  state.others.clear();
  enable(true, false);
}

// Frames decoded per remote user (for the stats line and the tests).
window.meeshyStats = async () => {
  const out = {};
  const add = async (userId, pcOrConsumer) => {
    let report;
    try {
      report = await pcOrConsumer.getStats();
    } catch (e) {
      return; // closed while we asked: the mode is changing
    }
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        out[userId] = { frames: (out[userId]?.frames || 0) + (r.framesDecoded || 0), width: r.frameWidth || 0 };
      }
    });
  };
  for (const [u, pc] of state.peers) await add(u, pc);
  if (state.sfu) for (const c of state.sfu.consumers.values()) if (c.kind === 'video') await add(c.appData.userId, c);
  return { mode: state.mode, users: out };
};

setInterval(async () => {
  if (!state.callId) return;
  const s = await window.meeshyStats();
  for (const [u, v] of Object.entries(s.users)) {
    const cap = document.querySelector(`#f-${CSS.escape(u)} figcaption`);
    if (cap) cap.textContent = `${u} · ${s.mode} · ${v.width}px · ${v.frames} frames`;
  }
}, 1000);

$('token').value = `guest-${Math.random().toString(36).slice(2, 7)}`;

$('connect').onclick = () => {
  if (state.socket) state.socket.close();
  const token = $('token').value.trim();
  const socket = io({ auth: { token, conversations: [$('conversation').value.trim()] } });
  state.socket = socket;
  state.me = token;
  const showTransport = () => { $('status').textContent = `connected (${socket.io.engine.transport.name})`; };
  socket.on('connect', () => {
    showTransport();
    socket.io.engine.once('upgrade', showTransport);
    enable(true, false);
    // the SFU's device, ready before a call needs it (a failure here
    // leaves it to the join, which says why)
    MeeshySfu.prepare(socket).catch(() => {});
  });
  socket.on('connect_error', (e) => log(`cannot connect: ${e.message}`));
  socket.on('disconnect', (r) => { $('status').textContent = `disconnected: ${r}`; left(); enable(false, false); });
  socket.onAny((event, data) => log(`${event} ${JSON.stringify(data).slice(0, 160)}`));
  socket.on('authenticated', (d) => { state.me = d.userId; });
  socket.on('call:incoming', (d) => { $('join').dataset.callId = d.callId; });
  socket.on('call:participant-joined', (d) => { if (d.callId === state.callId) state.others.add(d.participant.userId); });
  socket.on('call:participant-left', (d) => {
    if (d.callId !== state.callId) return;
    state.others.delete(d.userId);
    dropPeer(d.userId);
    hideUser(d.userId);
  });
  socket.on('call:mode-switch', (d) => { if (d.callId === state.callId) useMode(d.mode); });
  // the call's media node is going away: join the SFU again on the new one
  socket.on('call:media-moved', async (d) => {
    if (d.callId !== state.callId || !state.sfu) return;
    log(`media moved from ${d.from} to ${d.to}`);
    stopSfu();
    await startSfu();
  });
  socket.on('call:ended', left);
  socket.on('call:signal', async (d) => {
    if (state.mode !== 'p2p') return;
    const pc = peer(d.from);
    if (d.type === 'offer') {
      await pc.setRemoteDescription({ type: 'offer', sdp: d.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      socket.emit('call:signal', { callId: state.callId, to: d.from, type: 'answer', sdp: pc.localDescription.sdp });
    } else if (d.type === 'answer') {
      await pc.setRemoteDescription({ type: 'answer', sdp: d.sdp });
    } else if (d.candidate) {
      await pc.addIceCandidate(d.candidate).catch(() => {});
    }
  });
};

$('start').onclick = async () => {
  await media($('type').value);
  entered(await state.socket.emitWithAck('call:initiate',
    { conversationId: $('conversation').value.trim(), type: $('type').value }));
};

$('join').onclick = async () => {
  const conv = $('conversation').value.trim();
  let callId = $('join').dataset.callId;
  if (!callId) {
    const auth = { headers: { authorization: `Bearer ${$('token').value.trim()}` } };
    const calls = [];
    for (const status of ['active', 'initiated']) {
      const r = await fetch(`/api/conversations/${encodeURIComponent(conv)}/calls?status=${status}`, auth).then((x) => x.json());
      calls.push(...(r.calls || []));
    }
    if (!calls.length) { log('no call in progress in this conversation: start one'); return; }
    callId = calls[0].id;
  }
  await media($('type').value);
  entered(await state.socket.emitWithAck('call:join', { callId }));
};

$('leave').onclick = async () => {
  await state.socket.emitWithAck('call:leave', { callId: state.callId });
  left();
};

$('mute').onclick = () => {
  const on = !state.stream.getAudioTracks().every((t) => t.enabled);
  state.stream.getAudioTracks().forEach((t) => { t.enabled = on; });
  $('mute').textContent = on ? 'Mute' : 'Unmute';
  state.socket.emit('call:media-state', { callId: state.callId, audio: on });
};

$('camera').onclick = () => {
  const on = !state.stream.getVideoTracks().every((t) => t.enabled);
  state.stream.getVideoTracks().forEach((t) => { t.enabled = on; });
  $('camera').textContent = on ? 'Camera off' : 'Camera on';
  state.socket.emit('call:media-state', { callId: state.callId, video: on });
};

// Demo page: a call over meeshy-call's Socket.IO signaling. Two or more
// people connect peer to peer (mesh): the server relays offers, answers and
// ICE candidates with call:signal and hands out the ICE servers.
'use strict';
const $ = (id) => document.getElementById(id);
const state = { socket: null, callId: null, me: null, ice: [], peers: new Map(), stream: null };

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

function peer(userId) {
  let pc = state.peers.get(userId);
  if (pc) return pc;
  pc = new RTCPeerConnection({ iceServers: state.ice });
  state.peers.set(userId, pc);
  state.stream.getTracks().forEach((t) => pc.addTrack(t, state.stream));
  pc.onicecandidate = (e) => state.socket.emit('call:signal',
    { callId: state.callId, to: userId, type: 'ice-candidate', candidate: e.candidate && e.candidate.toJSON() });
  pc.ontrack = (e) => {
    let v = document.getElementById(`v-${userId}`);
    if (!v) {
      const fig = document.createElement('figure');
      v = document.createElement('video');
      v.id = `v-${userId}`;
      v.autoplay = true;
      v.playsInline = true;
      const cap = document.createElement('figcaption');
      cap.textContent = userId;
      fig.append(v, cap);
      $('videos').append(fig);
    }
    v.srcObject = e.streams[0];
  };
  pc.onconnectionstatechange = () => log(`${userId}: ${pc.connectionState}`);
  return pc;
}

function dropPeer(userId) {
  const pc = state.peers.get(userId);
  if (pc) pc.close();
  state.peers.delete(userId);
  const v = document.getElementById(`v-${userId}`);
  if (v) v.parentElement.remove();
}

async function entered(ack) {
  if (!ack.ok) { log(`refused: ${ack.error.code} ${ack.error.message}`); return; }
  state.callId = ack.callId;
  state.ice = ack.iceServers || [];
  enable(true, true);
  log(`in call ${ack.callId} (${ack.mode}) with ${ack.participants.map((p) => p.userId).join(', ')}`);
  // The newcomer calls everyone already there.
  for (const p of ack.participants) {
    if (p.userId === state.me) continue;
    const pc = peer(p.userId);
    await pc.setLocalDescription(await pc.createOffer());
    state.socket.emit('call:signal', { callId: state.callId, to: p.userId, type: 'offer', sdp: pc.localDescription.sdp });
  }
}

function left() {
  for (const id of [...state.peers.keys()]) dropPeer(id);
  state.callId = null;
  enable(true, false);
}

$('token').value = `guest-${Math.random().toString(36).slice(2, 7)}`;

$('connect').onclick = () => {
  if (state.socket) state.socket.close();
  const token = $('token').value.trim();
  const socket = io({ auth: { token, conversations: [$('conversation').value.trim()] } });
  state.socket = socket;
  const showTransport = () => { $('status').textContent = `connected (${socket.io.engine.transport.name})`; };
  socket.on('connect', () => {
    showTransport();
    socket.io.engine.once('upgrade', showTransport);
    enable(true, false);
  });
  socket.on('connect_error', (e) => log(`cannot connect: ${e.message}`));
  socket.on('disconnect', (r) => { $('status').textContent = `disconnected: ${r}`; left(); enable(false, false); });
  socket.onAny((event, data) => log(`${event} ${JSON.stringify(data).slice(0, 160)}`));
  socket.on('authenticated', (d) => { state.me = d.userId; });
  state.me = token;
  socket.on('call:incoming', (d) => { $('join').dataset.callId = d.callId; });
  socket.on('call:participant-left', (d) => dropPeer(d.userId));
  socket.on('call:ended', left);
  socket.on('call:signal', async (d) => {
    const pc = peer(d.from);
    if (d.type === 'offer') {
      await pc.setRemoteDescription({ type: 'offer', sdp: d.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      socket.emit('call:signal', { callId: state.callId, to: d.from, type: 'answer', sdp: pc.localDescription.sdp });
    } else if (d.type === 'answer') {
      await pc.setRemoteDescription({ type: 'answer', sdp: d.sdp });
    } else if (d.candidate) {
      await pc.addIceCandidate(d.candidate);
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
    const r = await fetch(`/api/conversations/${encodeURIComponent(conv)}/calls?status=active`,
      { headers: { authorization: `Bearer ${$('token').value.trim()}` } }).then((x) => x.json());
    const calls = (r.calls || []).concat([]);
    if (!calls.length) {
      const init = await fetch(`/api/conversations/${encodeURIComponent(conv)}/calls?status=initiated`,
        { headers: { authorization: `Bearer ${$('token').value.trim()}` } }).then((x) => x.json());
      calls.push(...(init.calls || []));
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

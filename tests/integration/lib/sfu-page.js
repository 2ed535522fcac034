// Pages that join a call's SFU with the bundled mediasoup-client
// (MeeshySfu, served at /sfu.html). `enter` and `firstVideo` run inside the
// page: page.evaluate(enter, {...}).
'use strict';

async function openPage(browser, url, name) {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.log(`${name} page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`${name} console: ${m.text()}`); });
  await page.goto(url + '/sfu.html');
  return page;
}

// In the page: connect, start or join the call, join its SFU, show what
// arrives. Returns the call id.
async function enter({ token, callId, conversationId, send, audio, simulcast, videoCodec, width = 640, height = 360 }) {
  const socket = io({ auth: { token }, transports: ['websocket'] });
  await new Promise((r) => socket.on('connect', r));
  // as an app does when it connects: the device is ready before a join
  await MeeshySfu.prepare(socket);
  window.speakers = [];
  socket.on('media:active-speaker', (d) => window.speakers.push(d.userId));
  const stream = send ? await navigator.mediaDevices.getUserMedia({ audio: !!audio, video: { width, height } }) : null;
  // the join starts here: call:join (or initiate), then the SFU's
  window.t0 = performance.now();
  // each step's first time (ms from t0), and the first video frame shown
  window.steps = {};
  const step = (name) => { if (!(name in window.steps)) window.steps[name] = performance.now() - window.t0; };
  let id = callId;
  if (!id) id = (await socket.emitWithAck('call:initiate', { conversationId, type: 'video' })).callId;
  else await socket.emitWithAck('call:join', { callId: id });
  step('call-joined');
  // the first video frame painted (requestVideoFrameCallback: no polling,
  // which would slow the page it measures)
  const watchFirstFrame = (el) => el.requestVideoFrameCallback(() => step('first-frame'));
  const opts = {
    stream, simulcast, videoCodec, onStep: step,
    onTrack: ({ track, kind }) => {
      const el = document.createElement(kind);
      el.autoplay = true; el.muted = true; el.playsInline = true;
      el.srcObject = new MediaStream([track]);
      document.body.append(el);
      if (kind === 'video') watchFirstFrame(el);
    },
  };
  window.sfu = await MeeshySfu.join(socket, id, opts);
  // the gateway went away and socket.io-client reconnected (through nginx,
  // to another gateway): join the call again; until the new gateway holds
  // the call (its old one's heartbeat lapses) the join may go unanswered
  window.rejoins = [];
  socket.io.on('reconnect', async () => {
    const at = performance.now();
    for (let tries = 1; tries <= 20; tries++) {
      try {
        const r = await socket.timeout(1500).emitWithAck('call:join', { callId: id });
        if (r.ok) { window.rejoins.push({ tries, ms: performance.now() - at, mode: r.mode }); return; }
      } catch (e) { /* no answer yet */ }
      await new Promise((res) => setTimeout(res, 500));
    }
    window.rejoins.push({ failed: true });
  });
  // the call's media node drains: join again on the node it moved to
  window.moves = [];
  socket.on('call:media-moved', async (d) => {
    if (d.callId !== id) return;
    const at = performance.now();
    window.sfu.close();
    window.sfu = await MeeshySfu.join(socket, id, opts);
    window.moves.push({ from: d.from, to: d.to, at, joinedMs: performance.now() - at });
  });
  return id;
}

// In the page: the first video consumer's decoding so far.
async function firstVideo() {
  for (const c of window.sfu.consumers.values()) {
    if (c.kind !== 'video') continue;
    const stats = await c.getStats();
    let r = null;
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const codec = stats.get(s.codecId);
      r = { frames: s.framesDecoded || 0, width: s.frameWidth || 0, producerId: c.producerId, codec: codec ? codec.mimeType : '' };
    });
    if (r) return r;
  }
  return { frames: 0, width: 0, codec: '' };
}

// In the page: what the video producer sends, per simulcast encoding
// (lowest first), and the send transport's bandwidth estimate.
async function sentLayers() {
  const p = window.sfu.producers.find((x) => x.kind === 'video');
  const stats = await p.getStats();
  const layers = [];
  let bwe = 0;
  stats.forEach((s) => {
    if (s.type === 'outbound-rtp') {
      layers.push({ rid: s.rid || '', width: s.frameWidth || 0, frames: s.framesEncoded || 0, bytes: s.bytesSent || 0, limit: s.qualityLimitationReason || '' });
    }
    if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) bwe = s.availableOutgoingBitrate;
  });
  layers.sort((a, b) => a.rid.localeCompare(b.rid));
  return { layers, bwe };
}

module.exports = { openPage, enter, firstVideo, sentLayers };

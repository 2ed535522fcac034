// The SFU with plain RTCPeerConnection pages (the media:offer path): one
// page sends its camera to the SFU, another receives it through the SFU and
// decodes it. Every packet crosses meeshy-call: ICE-lite, DTLS-SRTP, SSRC
// and payload-type rewriting, and PLI relay for the first keyframe.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');

// Runs in the page: connect, then offer with the given transceivers.
async function pageOffer({ token, callId, conversationId, send }) {
  const socket = io({ auth: { token }, transports: ['websocket'] });
  await new Promise((r) => socket.on('connect', r));
  window.socket = socket;
  let id = callId;
  if (!id) {
    const r = await socket.emitWithAck('call:initiate', { conversationId, type: 'video' });
    id = r.callId;
  } else {
    await socket.emitWithAck('call:join', { callId: id });
  }
  const pc = new RTCPeerConnection();
  window.pc = pc;
  if (send) {
    const s = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 } });
    pc.addTransceiver(s.getVideoTracks()[0], { direction: 'sendonly', streams: [s] });
  } else {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.ontrack = (e) => {
      const v = document.createElement('video');
      v.autoplay = true; v.muted = true; v.playsInline = true;
      v.srcObject = new MediaStream([e.track]);
      document.body.append(v);
    };
  }
  await pc.setLocalDescription(await pc.createOffer());
  window.t0 = performance.now();
  const ans = await socket.emitWithAck('media:offer', { callId: id, sdp: pc.localDescription.sdp });
  if (!ans.ok) throw new Error(JSON.stringify(ans.error));
  await pc.setRemoteDescription({ type: 'answer', sdp: ans.sdp });
  return { callId: id, answer: ans.sdp };
}

async function inbound(page) {
  return page.evaluate(async () => {
    let r = null;
    (await window.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') r = { frames: s.framesDecoded || 0, width: s.frameWidth || 0, at: performance.now() - window.t0 };
    });
    return r;
  });
}

test('SFU, plain SDP: a page receives and decodes another page\'s camera', { timeout: 120000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const open = async () => {
    const p = await (await browser.newContext()).newPage();
    p.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await p.goto(srv.url + '/');
    return p;
  };
  const sender = await open();
  const receiver = await open();

  const a = await sender.evaluate(pageOffer, { token: 'ana', conversationId: 'sfu-plain', send: true });
  assert.match(a.answer, /a=ice-lite/);
  assert.match(a.answer, /a=recvonly/);
  await until(() => sender.evaluate(() => window.pc.connectionState === 'connected'), 'sender connects');
  const b = await receiver.evaluate(pageOffer, { token: 'ben', callId: a.callId, send: false });
  assert.match(b.answer, /a=sendonly/);
  assert.match(b.answer, /a=ssrc:\d+ msid:/);

  const first = await until(async () => { const s = await inbound(receiver); return s && s.frames > 0 ? s : null; },
    'receiver decodes a frame');
  await new Promise((r) => setTimeout(r, 3000));
  const later = await inbound(receiver);
  console.log(`SFU plain-SDP: offer -> first frame decoded in ${Math.round(first.at)} ms;` +
    ` frames ${first.frames} -> ${later.frames} in 3 s, ${later.width} px wide`);
  assert.ok(later.frames > first.frames + 10, 'frames keep coming');
  assert.ok(later.width >= 320, `decoded ${later.width} px wide`);

  const m = await (await fetch(`${srv.url}/metrics`)).text();
  const fwd = Number(m.match(/meeshy_media_packets_forwarded_total (\d+)/)[1]);
  const pli = Number(m.match(/meeshy_media_pli_total (\d+)/)[1]);
  assert.ok(fwd > 50, `forwarded ${fwd} packets`);
  assert.ok(pli >= 1, 'asked the sender for a keyframe');
});

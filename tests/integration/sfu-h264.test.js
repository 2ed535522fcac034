// H264 through the SFU: a page sends its camera as H264 (constrained
// baseline) with mediasoup-client, another decodes it.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');

async function enter({ token, callId, send }) {
  const socket = io({ auth: { token }, transports: ['websocket'] });
  await new Promise((r) => socket.on('connect', r));
  let id = callId;
  if (!id) id = (await socket.emitWithAck('call:initiate', { conversationId: 'h264', type: 'video' })).callId;
  else await socket.emitWithAck('call:join', { callId: id });
  const stream = send ? await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 } }) : null;
  window.sfu = await MeeshySfu.join(socket, id, {
    stream, videoCodec: 'video/H264',
    onTrack: ({ track }) => {
      const v = document.createElement('video');
      v.autoplay = true; v.muted = true; v.playsInline = true;
      v.srcObject = new MediaStream([track]);
      document.body.append(v);
    },
  });
  return id;
}

async function video(page) {
  return page.evaluate(async () => {
    const out = { frames: 0, width: 0, codec: '' };
    for (const c of window.sfu.consumers.values()) {
      const stats = await c.getStats();
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp') {
          out.frames = s.framesDecoded || 0;
          out.width = s.frameWidth || 0;
          const codec = stats.get(s.codecId);
          out.codec = codec ? codec.mimeType : '';
        }
      });
    }
    return out;
  });
}

test('H264: a page decodes another page\'s H264 camera through the SFU', { timeout: 120000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const open = async () => {
    const p = await (await browser.newContext()).newPage();
    p.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await p.goto(srv.url + '/sfu.html');
    return p;
  };
  const sender = await open();
  const receiver = await open();
  const callId = await sender.evaluate(enter, { token: 'hana', send: true });
  await receiver.evaluate(enter, { token: 'hugo', callId, send: false });
  const first = await until(async () => { const v = await video(receiver); return v.frames > 0 ? v : null; },
    'the receiver decodes H264');
  await new Promise((r) => setTimeout(r, 2000));
  const later = await video(receiver);
  console.log(`H264: ${later.codec}, ${later.width} px, frames ${first.frames} -> ${later.frames} in 2 s`);
  assert.match(later.codec, /h264/i);
  assert.ok(later.frames > first.frames);
  assert.ok(later.width >= 320);
});

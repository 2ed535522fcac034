// Simulcast through the SFU: one page sends three encodings (1/4, 1/2 and
// full resolution, by RID); one receiver asks for the lowest layer, another
// keeps the top one, and each decodes what it asked for; switching the
// first back up raises its frame width.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');

async function enter({ token, callId, send }) {
  const socket = io({ auth: { token }, transports: ['websocket'] });
  await new Promise((r) => socket.on('connect', r));
  let id = callId;
  if (!id) id = (await socket.emitWithAck('call:initiate', { conversationId: 'simulcast', type: 'video' })).callId;
  else await socket.emitWithAck('call:join', { callId: id });
  const stream = send ? await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } }) : null;
  window.sfu = await MeeshySfu.join(socket, id, {
    stream, simulcast: true,
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
    for (const c of window.sfu.consumers.values()) {
      let r = null;
      (await c.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp') r = { frames: s.framesDecoded || 0, width: s.frameWidth || 0, producerId: c.producerId };
      });
      if (r) return r;
    }
    return { frames: 0, width: 0 };
  });
}

test('simulcast: each receiver decodes the layer it asked for', { timeout: 180000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const open = async (name) => {
    const p = await (await browser.newContext()).newPage();
    p.on('pageerror', (e) => console.log(`${name} page error: ${e.message}`));
    await p.goto(srv.url + '/sfu.html');
    return p;
  };
  const sender = await open('sender');
  const low = await open('low');
  const high = await open('high');
  const callId = await sender.evaluate(enter, { token: 'sam', send: true });
  await low.evaluate(enter, { token: 'lou', callId, send: false });
  await high.evaluate(enter, { token: 'hal', callId, send: false });
  await until(async () => (await video(high)).frames > 0, 'high decodes', 30000);
  const pid = (await video(low)).producerId;
  await low.evaluate((id) => window.sfu.setLayer(id, 0), pid);

  // let the bandwidth estimate and the layers settle, then compare
  const settled = await until(async () => {
    const l = await video(low), h = await video(high);
    return l.width > 0 && h.width > 0 && l.width < h.width ? { l, h } : null;
  }, 'the low receiver decodes a smaller picture than the high one', 60000);
  console.log(`simulcast: low layer ${settled.l.width} px, top layer ${settled.h.width} px`);

  await low.evaluate((id) => window.sfu.setLayer(id, 2), pid);
  const up = await until(async () => {
    const l = await video(low), h = await video(high);
    return l.width >= h.width && l.width > settled.l.width ? { l, h } : null;
  }, 'switching back up raises the width', 30000);
  console.log(`simulcast: after switching up ${up.l.width} px (top ${up.h.width} px)`);
  const before = (await video(low)).frames;
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok((await video(low)).frames > before, 'frames keep coming after the switch');
});

// H264 through the SFU: a page sends its camera as H264 (constrained
// baseline) with mediasoup-client, another decodes it.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');
const { openPage, enter, firstVideo } = require('./lib/sfu-page');

test('H264: a page decodes another page\'s H264 camera through the SFU', { timeout: 120000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const sender = await openPage(browser, srv.url, 'sender');
  const receiver = await openPage(browser, srv.url, 'receiver');
  const callId = await sender.evaluate(enter, { token: 'hana', conversationId: 'h264', send: true, videoCodec: 'video/H264' });
  await receiver.evaluate(enter, { token: 'hugo', callId });
  const first = await until(async () => { const v = await receiver.evaluate(firstVideo); return v.frames > 0 ? v : null; },
    'the receiver decodes H264');
  await new Promise((r) => setTimeout(r, 2000));
  const later = await receiver.evaluate(firstVideo);
  console.log(`H264: ${later.codec}, ${later.width} px, frames ${first.frames} -> ${later.frames} in 2 s`);
  assert.match(later.codec, /h264/i);
  assert.ok(later.frames > first.frames);
  assert.ok(later.width >= 320);
});

// Simulcast through the SFU: one page sends three encodings (1/4, 1/2 and
// full resolution, by RID); one receiver asks for the lowest layer, another
// keeps the top one, and each decodes what it asked for; switching the
// first back up raises its frame width (first to the middle layer, which
// nobody got and the server did not decrypt until then). The server's transport-wide
// feedback lets the sender's bandwidth estimate grow until it sends all
// three encodings, the top one at full resolution.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');
const { openPage, enter, firstVideo, sentLayers } = require('./lib/sfu-page');

const video = (page) => page.evaluate(firstVideo);

test('simulcast: each receiver decodes the layer it asked for', { timeout: 180000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const sender = await openPage(browser, srv.url, 'sender');
  const low = await openPage(browser, srv.url, 'low');
  const high = await openPage(browser, srv.url, 'high');
  const callId = await sender.evaluate(enter, { token: 'sam', conversationId: 'simulcast', send: true, simulcast: true, width: 1280, height: 720 });
  await low.evaluate(enter, { token: 'lou', callId });
  await high.evaluate(enter, { token: 'hal', callId });
  await until(async () => (await video(high)).frames > 0, 'high decodes', 30000);
  const t0 = Date.now();
  let last = null;
  const all = await until(async () => {
    const now = await sender.evaluate(sentLayers);
    const before = last;
    last = now;
    if (!before || now.layers.length !== 3) return null;
    const growing = now.layers.every((l, i) => l.bytes > before.layers[i].bytes && l.frames > before.layers[i].frames);
    return growing && now.layers[2].width === 1280 ? now : null;
  }, 'the sender sends all three encodings, the top at 1280 px', 45000)
    .catch((e) => { console.log(`last seen: ${JSON.stringify(last)}`); throw e; });
  console.log(`simulcast: all three encodings sent after ${Date.now() - t0} ms: ${all.layers.map((l) => `${l.rid} ${l.width} px`).join(', ')}; estimate ${Math.round(all.bwe / 1000)} kbit/s`);
  const pid = (await video(low)).producerId;
  await low.evaluate((id) => window.sfu.setLayer(id, 0), pid);

  // let the bandwidth estimate and the layers settle, then compare: the
  // low receiver on the lowest layer (a quarter of the top's width; it may
  // have been on the middle one before), so the middle one goes to nobody
  const settled = await until(async () => {
    const l = await video(low), h = await video(high);
    return l.width > 0 && h.width > 0 && l.width < h.width / 2 ? { l, h } : null;
  }, 'the low receiver decodes the lowest layer, under half the high one\'s width', 60000);
  console.log(`simulcast: low layer ${settled.l.width} px, top layer ${settled.h.width} px`);
  // the middle layer goes to nobody: taken on its headers, not decrypted
  const headerOnly = async () => Number((/^meeshy_media_rtp_header_only_total (\d+)$/m
    .exec(await (await fetch(srv.url + '/metrics')).text()) || [])[1]);
  const skipped = await until(async () => (await headerOnly()) || null,
    'packets of the layer nobody gets taken on their headers (meeshy_media_rtp_header_only_total > 0)', 10000);

  // wanted again, it is decrypted and decoded: a width between the two
  await low.evaluate((id) => window.sfu.setLayer(id, 1), pid);
  const mid = await until(async () => {
    const l = await video(low), h = await video(high);
    return l.width > settled.l.width && l.width < h.width ? { l, h } : null;
  }, 'switching to the layer that went undecrypted gives the middle width', 30000);
  console.log(`simulcast: middle layer ${mid.l.width} px after ${skipped} packets taken on their headers`);

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

// Three Chromium pages in one SFU call through the unmodified
// mediasoup-client (bundled by the build): each sends its fake camera and
// microphone, and each must decode video from both others and receive audio
// from both others, with the counts still rising after 10 s.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');
const { openPage, enter } = require('./lib/sfu-page');

// Per consumer: frames decoded (video) or packets received (audio).
async function counts(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const c of window.sfu.consumers.values()) {
      let n = 0, width = 0;
      (await c.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        n = c.kind === 'video' ? (s.framesDecoded || 0) : (s.packetsReceived || 0);
        width = s.frameWidth || 0;
      });
      out.push({ user: c.appData.userId, kind: c.kind, n, width });
    }
    return { out, firstFrameAt: window.steps['first-frame'] };
  });
}

test('SFU with mediasoup-client: three pages hear and see each other', { timeout: 180000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const names = ['ana', 'ben', 'cleo'];
  const pages = [];
  let callId = null;
  for (const name of names) {
    const page = await openPage(browser, srv.url, name);
    callId = await page.evaluate(enter, { token: name, callId, conversationId: 'sfu-msc', send: true, audio: true });
    pages.push(page);
  }
  const full = (c) => c.out.length === 4 && c.out.every((o) => o.n > 0);
  for (const [i, page] of pages.entries()) {
    await until(async () => full(await counts(page)), `${names[i]} receives from both others`, 30000);
  }
  const before = await Promise.all(pages.map(counts));
  await new Promise((r) => setTimeout(r, 10000));
  const after = await Promise.all(pages.map(counts));
  for (const [i, name] of names.entries()) {
    const others = names.filter((n) => n !== name).sort();
    for (const kind of ['video', 'audio']) {
      const got = after[i].out.filter((o) => o.kind === kind);
      assert.deepEqual(got.map((o) => o.user).sort(), others, `${name} ${kind} from`);
      for (const o of got) {
        const was = before[i].out.find((b) => b.user === o.user && b.kind === kind).n;
        assert.ok(o.n > was, `${name}: ${kind} from ${o.user} still rising (${was} -> ${o.n})`);
        if (kind === 'video') assert.ok(o.width >= 320, `${name}: video from ${o.user} ${o.width} px`);
      }
    }
    console.log(`${name}: first remote frame decoded ${Math.round(after[i].firstFrameAt)} ms after its call:join;` +
      ` ${after[i].out.map((o) => `${o.kind} ${o.user} ${before[i].out.find((b) => b.user === o.user && b.kind === o.kind).n}->${o.n}`).join(', ')}`);
  }
  // the fake microphones beep: someone is the active speaker, and each
  // page hears who
  for (const [i, name] of names.entries()) {
    const heard = await pages[i].evaluate(() => window.speakers);
    assert.ok(heard.length > 0 && heard.every((u) => names.includes(u)),
      `${name} was told of active speakers: ${heard.join(',')}`);
    console.log(`${name}: active speaker events ${heard.slice(0, 8).join(', ')}${heard.length > 8 ? '...' : ''}`);
  }
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  console.log(m.split('\n').filter((l) => l.startsWith('meeshy_media')).join('\n'));
  // each packet in goes to two receivers: the copies of a receive batch
  // leave together, two or more datagrams a send call
  const num = (name) => Number(m.match(new RegExp(`^${name} (\\d+)$`, 'm'))[1]);
  const perCall = num('meeshy_media_datagrams_sent_total') / num('meeshy_media_send_calls_total');
  console.log(`egress: ${perCall.toFixed(2)} datagrams a send call`);
  assert.ok(perCall >= 1.8, `${perCall.toFixed(2)} datagrams a send call: egress is not batched`);
});

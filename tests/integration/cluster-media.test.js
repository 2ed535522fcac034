// Real media through the cluster: a redis-server, a gateway (--role
// gateway) and a media node (--role media) on 127.0.0.1, and three
// Chromium pages with mediasoup-client connected to the gateway. Their
// media flows through the media node the gateway placed the call on; the
// active speaker, found on the media node, reaches the pages over the
// Redis bus and the gateway.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { nodeCalls } = require('./lib/internal');
const { startRedis } = require('./lib/redis');
const { launch, until } = require('./lib/browser');
const { cleanup } = require('./lib/cleanup');
const { openPage, enter } = require('./lib/sfu-page');

async function counts(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const c of window.sfu.consumers.values()) {
      let n = 0;
      (await c.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp') n = c.kind === 'video' ? (s.framesDecoded || 0) : (s.packetsReceived || 0);
      });
      out.push({ user: c.appData.userId, kind: c.kind, n });
    }
    return out;
  });
}

test('three pages through a gateway and a media node', { timeout: 180000 }, async (t) => {
  const atEnd = cleanup(t);
  const redis = await startRedis();
  atEnd(() => redis.stop());
  const media = await start({ args: ['--role', 'media', '--redis', redis.url, '--node-id', 'media-1', '--drain-timeout', '0'] });
  atEnd(() => media.stop());
  const gw = await start({ args: ['--role', 'gateway', '--redis', redis.url, '--node-id', 'gw-1', '--dev-auth'] });
  atEnd(() => gw.stop());
  await until(async () => (await (await fetch(gw.url + '/health')).json()).mediaNodes >= 1, 'the gateway sees the node', 10000);
  const browser = await launch();
  atEnd(() => browser.close());

  const names = ['ana', 'ben', 'cleo'];
  const pages = [];
  let callId = null;
  for (const name of names) {
    const page = await openPage(browser, gw.url, name);
    callId = await page.evaluate(enter, { token: name, callId, conversationId: 'cluster', send: true, audio: true });
    pages.push(page);
  }
  const full = (c) => c.length === 4 && c.every((o) => o.n > 0);
  for (const [i, page] of pages.entries()) {
    await until(async () => full(await counts(page)), `${names[i]} receives from both others via the media node`, 30000);
  }
  const before = await Promise.all(pages.map(counts));
  await new Promise((r) => setTimeout(r, 5000));
  const after = await Promise.all(pages.map(counts));
  for (const [i] of names.entries()) {
    for (const o of after[i]) {
      const was = before[i].find((b) => b.user === o.user && b.kind === o.kind).n;
      assert.ok(o.n > was, `${names[i]}: ${o.kind} from ${o.user} still rising (${was} -> ${o.n})`);
    }
  }
  const calls = await nodeCalls(media.url);
  assert.deepEqual(calls, [{ callId, participants: 3 }], 'the call is on the media node');
  const metrics = await (await fetch(media.url + '/metrics')).text();
  const forwarded = Number(metrics.match(/^meeshy_media_packets_forwarded_total (\d+)/m)[1]);
  assert.ok(forwarded > 1000, `the media node forwarded ${forwarded} packets`);
  // the fake microphone beeps: someone is the active speaker
  const speakers = await until(async () => {
    const s = await pages[0].evaluate(() => window.speakers);
    return s.length ? s : null;
  }, 'an active speaker reaches the pages over the bus', 15000);
  console.log(`cluster media: ${forwarded} packets forwarded by media-1; active speakers seen: ${[...new Set(speakers)].join(', ')}`);
});

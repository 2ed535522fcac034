// A media node drains: three Chromium pages (mediasoup-client) are in a
// call on one of two media nodes behind a gateway; that node gets SIGTERM.
// It hands its call back to the gateway, which places it on the other node
// and tells the pages (call:media-moved); they join again there and keep
// decoding each other. The drained node then exits cleanly.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { nodeCalls } = require('./lib/internal');
const { startRedis } = require('./lib/redis');
const { launch, until } = require('./lib/browser');
const { cleanup } = require('./lib/cleanup');
const { openPage, enter } = require('./lib/sfu-page');

// Frames decoded per video consumer of the page's current session.
async function video(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const c of window.sfu.consumers.values()) {
      if (c.kind !== 'video' || c.closed) continue; // the old session, mid-move
      let n = 0;
      try {
        (await c.getStats()).forEach((s) => { if (s.type === 'inbound-rtp') n = s.framesDecoded || 0; });
      } catch (e) { continue; }
      out.push(n);
    }
    return { frames: out, moves: window.moves };
  });
}

const json = async (url) => (await fetch(url)).json();

test('SIGTERM on a media node moves its call to the other node', { timeout: 180000 }, async (t) => {
  const atEnd = cleanup(t);
  const redis = await startRedis();
  atEnd(() => redis.stop());
  const nodes = {};
  for (const id of ['media-1', 'media-2']) {
    nodes[id] = await start({ args: ['--role', 'media', '--redis', redis.url, '--node-id', id, '--drain-timeout', '5000'] });
    atEnd(() => nodes[id].stop());
  }
  const gw = await start({ args: ['--role', 'gateway', '--redis', redis.url, '--node-id', 'gw-1', '--dev-auth'] });
  atEnd(() => gw.stop());
  await until(async () => (await json(gw.url + '/health')).mediaNodes >= 2, 'the gateway sees both nodes', 10000);
  const browser = await launch();
  atEnd(() => browser.close());

  const pages = [];
  let callId = null;
  for (const name of ['ana', 'ben', 'cleo']) {
    const page = await openPage(browser, gw.url, name);
    callId = await page.evaluate(enter, { token: name, callId, conversationId: 'drain', send: true });
    pages.push(page);
  }
  const decodingBoth = async (p) => { const v = await video(p); return v.frames.length === 2 && v.frames.every((n) => n > 0); };
  for (const p of pages) await until(() => decodingBoth(p), 'every page decodes both others', 30000);

  let host = null;
  for (const [id, n] of Object.entries(nodes)) {
    if ((await nodeCalls(n.url)).some((c) => c.callId === callId)) host = id;
  }
  assert.ok(host, 'the call is on one of the nodes');
  const other = host === 'media-1' ? 'media-2' : 'media-1';

  const t0 = Date.now();
  const exited = nodes[host].term();
  for (const p of pages) {
    await until(async () => {
      const v = await video(p);
      return v.moves.length === 1 && v.frames.length === 2 && v.frames.every((n) => n > 0);
    }, 'the page decodes both others again on the other node', 20000);
  }
  const movedMs = Date.now() - t0;
  const code = await exited;
  const drainMs = Date.now() - t0;
  const moves = await Promise.all(pages.map((p) => p.evaluate(() => window.moves[0])));
  console.log(`drain: ${host} -> ${other}; all three decoding again ${movedMs} ms after SIGTERM` +
    ` (rejoin ${moves.map((m) => Math.round(m.joinedMs)).join('/')} ms); ${host} exited ${code} after ${drainMs} ms`);
  assert.equal(code, 0, 'the drained node exits cleanly');
  for (const m of moves) assert.deepEqual([m.from, m.to], [host, other]);
  assert.deepEqual(await nodeCalls(nodes[other].url), [{ callId, participants: 3 }]);
  const before = await Promise.all(pages.map(video));
  await new Promise((r) => setTimeout(r, 2000));
  const after = await Promise.all(pages.map(video));
  for (const [i] of pages.entries()) {
    after[i].frames.forEach((n, k) => assert.ok(n > before[i].frames[k], 'frames keep rising on the new node'));
  }
});

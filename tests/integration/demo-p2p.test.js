// The demo page in real Chromium: two people open it, one starts a call,
// the other joins, and each decodes the other's (fake) camera peer to peer.
// Run inside a network namespace with only loopback (see CMakeLists.txt):
// Chromium's only ICE candidates are then 127.0.0.1.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');
const { openDemo } = require('./lib/demo-page');

async function framesDecoded(page) {
  return page.evaluate(async () => {
    let n = 0;
    for (const pc of state.peers.values()) {
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.framesDecoded || 0;
      });
    }
    return n;
  });
}

test('demo page: a P2P video call between two Chromium pages', { timeout: 120000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth', '--web-root', path.resolve(path.dirname(process.env.MEESHY_BIN || ''), '../../web')] });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());

  const pages = [];
  for (const name of ['ana', 'ben']) pages.push(await openDemo(browser, srv.url, { name, conversation: 'demo-p2p' }));
  const [ana, ben] = pages;
  await ana.click('#start');
  await until(() => ana.evaluate(() => state.callId), 'ana in a call');
  const t0 = Date.now();
  await ben.click('#join');
  await until(async () => (await framesDecoded(ben)) > 0 && (await framesDecoded(ana)) > 0,
    'both decode video');
  const joinMs = Date.now() - t0;
  const first = [await framesDecoded(ana), await framesDecoded(ben)];
  await new Promise((r) => setTimeout(r, 3000));
  const later = [await framesDecoded(ana), await framesDecoded(ben)];
  console.log(`demo P2P: join click -> both decoding in ${joinMs} ms; frames ${first} -> ${later} after 3 s`);
  assert.ok(later[0] > first[0] && later[1] > first[1], 'frames keep coming');
  // the media went peer to peer over loopback, not through any relay
  const pair = await ben.evaluate(async () => {
    const pc = [...state.peers.values()][0];
    let p = null;
    (await pc.getStats()).forEach((r) => { if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') p = r; });
    return p && { local: p.localCandidateId, remote: p.remoteCandidateId };
  });
  assert.ok(pair, 'a nominated candidate pair');
  await ben.click('#leave');
  await until(() => ana.evaluate(() => state.peers.size === 0), 'ana sees ben leave');
});

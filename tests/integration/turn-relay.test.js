// A P2P call forced through coturn: the demo page with ?relay (ICE policy
// "relay") in two Chromium pages, with the TURN credentials of the join
// ack. Both decode video, and the candidate pair in use is a relay one.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');
const { openDemo } = require('./lib/demo-page');
const { startCoturn } = require('./lib/coturn');

const SECRET = 'turn-secret-for-the-relay-test';

async function media(page) {
  return page.evaluate(async () => {
    let frames = 0, type = null;
    for (const pc of state.peers.values()) {
      const stats = await pc.getStats();
      stats.forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
        // the pair the transport uses (the controlled side sees a pair
        // "nominated" only some time after media flows on it)
        const pair = r.type === 'transport' && stats.get(r.selectedCandidatePairId);
        const l = pair && stats.get(pair.localCandidateId);
        if (l) type = l.candidateType;
      });
    }
    return { frames, type };
  });
}

test('P2P through coturn only (iceTransportPolicy relay)', { timeout: 120000 }, async (t) => {
  const turn = await startCoturn({ secret: SECRET });
  t.after(() => turn.stop());
  const srv = await start({
    args: ['--dev-auth', '--web-root', path.resolve(path.dirname(process.env.MEESHY_BIN || ''), '../../web'), '--turn-servers', JSON.stringify([turn.uri])],
    env: { MEESHY_TURN_SECRET: SECRET },
  });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const pages = [];
  for (const name of ['ana', 'ben']) pages.push(await openDemo(browser, srv.url, { name, conversation: 'relay', query: '?relay' }));
  const [ana, ben] = pages;
  await ana.click('#start');
  await until(() => ana.evaluate(() => state.callId), 'ana in a call');
  const t0 = Date.now();
  await ben.click('#join');
  const got = await until(async () => {
    const a = await media(ana), b = await media(ben);
    return a.frames > 0 && b.frames > 0 && a.type && b.type ? { a, b } : null;
  }, 'both decode video through TURN', 30000).catch((e) => { console.log(turn.log().slice(-2000)); throw e; });
  console.log(`relay: both decoding after ${Date.now() - t0} ms; candidate types ${got.a.type}, ${got.b.type}`);
  assert.equal(got.a.type, 'relay');
  assert.equal(got.b.type, 'relay');
  const before = (await media(ben)).frames;
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok((await media(ben)).frames > before, 'frames keep coming');
});

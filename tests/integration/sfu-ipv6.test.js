// Media over IPv6: the SFU listens on an IPv6 address only, and two pages
// (mediasoup-client) send and receive through it. Runs in a network
// namespace that has loopback and a veth pair holding fd00:6d65::1 (Chromium
// gathers no candidates on ::1, so IPv6 needs a non-loopback interface);
// nothing leaves the namespace.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');
const { openPage, enter, firstVideo } = require('./lib/sfu-page');

const ADDR = process.env.MEESHY_TEST_IPV6 || 'fd00:6d65::1';

// In the page: the addresses of the pair of candidates carrying a video
// consumer's stream.
async function pair() {
  for (const c of window.sfu.consumers.values()) {
    if (c.kind !== 'video') continue;
    const stats = await c.getStats();
    let out = null;
    stats.forEach((s) => {
      if (s.type !== 'candidate-pair' || !s.nominated || s.state !== 'succeeded') return;
      const l = stats.get(s.localCandidateId), r = stats.get(s.remoteCandidateId);
      out = { local: l && l.address, remote: r && r.address, remotePort: r && r.port };
    });
    if (out) return out;
  }
  return null;
}

test('SFU over IPv6: media flows through an IPv6-only media port', { timeout: 120000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth'], rtcListen: `[${ADDR}]:0` });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const sender = await openPage(browser, srv.url, 'sender');
  const rx = await openPage(browser, srv.url, 'rx');
  const callId = await sender.evaluate(enter, { token: 'six', conversationId: 'ipv6', send: true });
  await rx.evaluate(enter, { token: 'rx6', callId });
  const v = await until(async () => {
    const x = await rx.evaluate(firstVideo);
    return x.frames > 10 ? x : null;
  }, 'the receiver decodes video over IPv6', 30000);
  // the stats can show the pair a moment after the first frames (CI saw
  // none once right after 11 frames): ask until they do
  const p = await until(() => rx.evaluate(pair), 'a nominated, succeeded candidate pair', 10000);
  console.log(`ipv6: ${v.frames} frames at ${v.width} px; candidate pair ${JSON.stringify(p)}`);
  assert.equal(p.remote, ADDR, 'the SFU candidate is its IPv6 address');
  assert.ok(p.local.includes(':'), `the browser side is IPv6 too (${p.local})`);
});

// Media over a lossy path: a relay drops 5 % of the RTP packets both ways
// between the browsers and the SFU. What the senders lose on the way in,
// the SFU asks them for (NACK) and forwards their retransmissions (RTX);
// what the receiver loses on the way out, it asks the SFU for, which
// answers from its buffer on the receiver's RTX stream. One sender uses
// simulcast (RTX found by repaired-rid), one a single encoding (RTX by
// SSRC). The receiver must keep decoding both.
// Then a receiver behind a 600 kbit/s downlink: the loss it reports takes
// its consumer down the simulcast layers until what it gets fits, and it
// keeps decoding. And one behind 600 kbit/s with a deep buffer: there the
// delay grows before anything is lost, and its bandwidth estimate (REMB)
// takes the consumer down.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');
const { openPage, enter, firstVideo, sentLayers } = require('./lib/sfu-page');
const { lossyRelay, freeUdpPort } = require('./lib/lossy-udp');

async function metric(url, name) {
  const text = await (await fetch(url + '/metrics')).text();
  const m = text.match(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm'));
  assert.ok(m, `/metrics has ${name}`);
  return Number(m[1]);
}

// In the page: per video consumer, what its inbound stream went through.
async function inbound() {
  const out = [];
  for (const c of window.sfu.consumers.values()) {
    if (c.kind !== 'video') continue;
    (await c.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      out.push({ user: c.appData.userId, frames: s.framesDecoded || 0, lost: s.packetsLost || 0, nacks: s.nackCount || 0, rtx: s.retransmittedPacketsReceived, received: s.packetsReceived || 0 });
    });
  }
  return out.sort((a, b) => a.user.localeCompare(b.user));
}

test('SFU over a lossy path: NACK and RTX both ways keep video flowing', { timeout: 180000 }, async (t) => {
  const rtcPort = await freeUdpPort();
  const relay = await lossyRelay({ target: rtcPort, loss: 0.05 });
  t.after(() => relay.close());
  const srv = await start({ args: ['--dev-auth', '--announced-port', String(relay.port)], rtcListen: `127.0.0.1:${rtcPort}` });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());

  const sim = await openPage(browser, srv.url, 'sim');
  const one = await openPage(browser, srv.url, 'one');
  const rx = await openPage(browser, srv.url, 'rx');
  const callId = await sim.evaluate(enter, { token: 'sim', conversationId: 'lossy', send: true, simulcast: true });
  await one.evaluate(enter, { token: 'one', callId, send: true });
  await rx.evaluate(enter, { token: 'rx', callId });
  await until(async () => {
    const s = await rx.evaluate(inbound);
    return s.length === 2 && s.every((x) => x.frames > 0);
  }, 'the receiver decodes both senders through the lossy path', 30000);

  const before = await rx.evaluate(inbound);
  await new Promise((r) => setTimeout(r, 10000));
  const after = await rx.evaluate(inbound);
  const m = {};
  for (const name of ['rtx_received', 'nack', 'nack_sent', 'twcc_feedback']) {
    m[name] = await metric(srv.url, `meeshy_media_${name}_total`);
  }
  console.log(`lossy path: relay dropped ${relay.stats.dropped} of ${relay.stats.rtp} RTP packets;` +
    ` SFU: ${m.nack_sent} NACKs to senders, ${m.rtx_received} retransmissions received,` +
    ` ${m.nack} packets resent to the receiver; receiver: ${JSON.stringify(after)}`);

  assert.ok(relay.stats.dropped > 50, 'the relay dropped packets');
  assert.ok(m.nack_sent > 0, 'the SFU asked the senders for what it lost');
  assert.ok(m.rtx_received > 0, 'the senders repaired it on RTX');
  assert.ok(m.nack > 0, 'the SFU answered the receiver\'s NACKs');
  for (const [i, s] of after.entries()) {
    assert.ok(s.frames > before[i].frames + 100, `${s.user}: frames keep coming (${before[i].frames} -> ${s.frames})`);
    assert.ok(s.nacks > 0, `${s.user}: the receiver asked for what it lost`);
    if (s.rtx !== undefined) assert.ok(s.rtx > 0, `${s.user}: retransmissions arrived on RTX`);
  }
});

// A simulcast sender on a clean uplink and a receiver whose downlink goes
// through a relay with `down` (lossyRelay's downKbps, downQueueMs); waits
// until all three layers are sent.
async function slowReceiver(t, down, conversationId) {
  const rtcPort = await freeUdpPort();
  const relay = await lossyRelay({ target: rtcPort, ...down });
  t.after(() => relay.close());
  const srv = await start({ args: ['--dev-auth', '--announced-port', String(relay.port)], rtcListen: `127.0.0.1:${rtcPort}` });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const sender = await openPage(browser, srv.url, 'sender');
  const rx = await openPage(browser, srv.url, 'rx');
  const callId = await sender.evaluate(enter, { token: 'snd', conversationId, send: true, simulcast: true, width: 1280, height: 720 });
  await rx.evaluate(enter, { token: 'rx', callId });
  await until(async () => (await sender.evaluate(sentLayers)).layers.filter((l) => l.width > 0).length === 3,
    'the sender (unconstrained uplink) sends all three layers', 45000);
  return { relay, srv, rx };
}

test('a receiver behind a slow downlink gets a lower layer and keeps decoding', { timeout: 180000 }, async (t) => {
  const { relay, srv, rx } = await slowReceiver(t, { downKbps: 600 }, 'slow-link');
  const fitted = await until(async () => {
    const v = await rx.evaluate(firstVideo);
    const down = await metric(srv.url, 'meeshy_media_layer_changes_total{direction="down"}') +
      await metric(srv.url, 'meeshy_media_bandwidth_layer_changes_total{direction="down"}');
    return down > 0 && v.width > 0 && v.width < 1280 ? { v, down } : null;
  }, 'the slow receiver is moved to a lower layer', 60000);
  const before = (await rx.evaluate(firstVideo)).frames;
  await new Promise((r) => setTimeout(r, 5000));
  const after = await rx.evaluate(firstVideo);
  const remb = await metric(srv.url, 'meeshy_media_remb_received_total');
  const bwDown = await metric(srv.url, 'meeshy_media_bandwidth_layer_changes_total{direction="down"}');
  const lossDown = await metric(srv.url, 'meeshy_media_layer_changes_total{direction="down"}');
  console.log(`slow downlink: ${lossDown} layer changes down by loss, ${bwDown} by the receiver's estimate ` +
    `(${remb} REMBs), decoding ${after.width} px, ` +
    `${((after.frames - before) / 5).toFixed(1)} frames/s; relay dropped ${relay.stats.capped} packets over 600 kbit/s`);
  // the receiver estimates its bandwidth from abs-send-time and says so
  assert.ok(remb > 0, `REMBs received (${remb})`);
  assert.ok(after.width < 1280, `still on a lower layer (${after.width} px)`);
  assert.ok(after.frames - before >= 50, `frames keep coming at 10/s or more (${before} -> ${after.frames})`);
});

test('a receiver behind a slow link with a deep buffer: its bandwidth estimate takes the layer down', { timeout: 180000 }, async (t) => {
  // 600 kbit/s that queues up to a second before it drops: the delay grows
  // long before anything is lost, and the receiver's estimate (REMB, from
  // the abs-send-time its packets carry) falls with it
  const { relay, srv, rx } = await slowReceiver(t, { downKbps: 600, downQueueMs: 1000 }, 'deep-buffer');
  const bwDown = await until(async () => {
    const n = await metric(srv.url, 'meeshy_media_bandwidth_layer_changes_total{direction="down"}');
    return n > 0 ? n : null;
  }, "the receiver's falling estimate takes its consumer down", 60000);
  await until(async () => (await rx.evaluate(firstVideo)).width < 1280, 'the receiver decodes a lower layer', 30000);
  const before = (await rx.evaluate(firstVideo)).frames;
  await new Promise((r) => setTimeout(r, 5000));
  const after = await rx.evaluate(firstVideo);
  const remb = await metric(srv.url, 'meeshy_media_remb_received_total');
  const lossDown = await metric(srv.url, 'meeshy_media_layer_changes_total{direction="down"}');
  console.log(`deep buffer: ${bwDown}+ layer changes down by the estimate (${remb} REMBs), ${lossDown} by loss; ` +
    `queue up to ${Math.round(relay.stats.queuedMax)} ms, ${relay.stats.capped} dropped; decoding ${after.width} px, ` +
    `${((after.frames - before) / 5).toFixed(1)} frames/s`);
  assert.ok(after.width < 1280, `on a lower layer (${after.width} px)`);
  assert.ok(after.frames - before >= 50, `frames keep coming at 10/s or more (${before} -> ${after.frames})`);
});

// Role all with two media workers: calls spread over both (each call's
// media on the worker with fewer calls), every participant gets every
// other's video through its call's worker, /metrics tells each worker's
// share, and a call that ends frees its place for the next one.
//
// The participants are real clients: socket.io-client doing the
// mediasoup-client request flow, bench/media-probe doing ICE, DTLS and SRTP
// with Opus and three VP8 simulcast layers (bench/lib/participant.js).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { start, BIN } = require('./lib/server');
const { cleanup } = require('./lib/cleanup');
const { spawnProbe } = require('../../bench/lib/probe');
const { join } = require('../../bench/lib/participant');

const PROBE = process.env.MEESHY_PROBE || path.resolve(path.dirname(BIN), '../../bench/media-probe');
const MEDIA = { video_kbps: [100, 200, 400], video_fps: 10, audio_bytes: 60, consume_layer: 0 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function scrape(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (name, worker) => {
    const m = text.match(new RegExp(`^${name}\\{worker="${worker}"\\} (\\d+)$`, 'm'));
    assert.ok(m, `${name}{worker="${worker}"} is in /metrics`);
    return Number(m[1]);
  };
  return { text, get };
}

// A call of three: each joins, then each receives the two others' video.
async function call(url, c, stops) {
  const callIdRef = {};
  const parts = [];
  for (let k = 0; k < 3; k++) {
    const me = await join({
      url, k: c * 10 + k, callIdRef, conversationId: `workers-${c}`, media: MEDIA,
      probe: () => { const p = spawnProbe([PROBE]); stops(p.quit); return p; },
    });
    stops(async () => { me.socket.close(); });
    parts.push(me);
  }
  return { id: callIdRef.id, parts };
}

async function everyoneSeesTheOthers(cl) {
  for (const p of cl.parts) {
    let got = [];
    for (let i = 0; i < 50 && got.length < 2; i++) {
      p.probes.recv.cmd({ cmd: 'report' });
      const r = await p.probes.recv.wait('report');
      got = Object.keys(r.first_video_us).filter((k) => Number(k) !== p.k);
      if (got.length < 2) await sleep(200);
    }
    assert.equal(got.length, 2, `${p.user} in call ${cl.id} received video from ${got.length} of 2 others`);
  }
}

test('two media workers share the calls and each forwards its own', { timeout: 180000 }, async (t) => {
  const stops = cleanup(t);
  const srv = await start({ args: ['--dev-auth', '--sfu-from', '1', '--media-workers', '2', '--dtls-threads', '1'] });
  stops(() => srv.stop());
  assert.match(srv.log(), /media: 2 worker threads, UDP ports \d+ \d+/);

  const calls = [];
  for (let c = 0; c < 4; c++) calls.push(await call(srv.url, c, stops));
  for (const cl of calls) await everyoneSeesTheOthers(cl);

  // media flows on both: counted past 100 packets each (the last calls
  // joined a moment ago; a loaded machine takes longer to get there)
  let m;
  for (let i = 0; i < 50; i++) {
    m = await scrape(srv.url);
    const counts = [0, 1].flatMap((w) => ['received', 'forwarded'].map((d) => m.get(`meeshy_media_worker_packets_${d}_total`, w)));
    if (Math.min(...counts) > 100 && Number(m.text.match(/^meeshy_media_forward_delay_seconds_count (\d+)$/m)[1]) > 100) break;
    await sleep(200);
  }
  assert.match(m.text, /^meeshy_media_workers 2$/m);
  assert.deepEqual([m.get('meeshy_media_worker_calls', 0), m.get('meeshy_media_worker_calls', 1)], [2, 2],
    'four calls: two on each worker');
  assert.deepEqual([m.get('meeshy_media_worker_peers', 0), m.get('meeshy_media_worker_peers', 1)], [6, 6]);
  for (const w of [0, 1]) {
    assert.ok(m.get('meeshy_media_worker_packets_received_total', w) > 100, `worker ${w} received media`);
    assert.ok(m.get('meeshy_media_worker_packets_forwarded_total', w) > 100, `worker ${w} forwarded media`);
  }
  // every forwarded packet's time from the socket in to its last copy out
  const delayed = Number(m.text.match(/^meeshy_media_forward_delay_seconds_count (\d+)$/m)[1]);
  assert.ok(delayed > 100, `forwarding delays measured: ${delayed}`);
  const total = Number(m.text.match(/^meeshy_media_packets_forwarded_total (\d+)$/m)[1]);
  assert.ok(total >= m.get('meeshy_media_worker_packets_forwarded_total', 0) + m.get('meeshy_media_worker_packets_forwarded_total', 1),
    'the total counts every worker');

  // the first call ends: its worker has one call left, and takes the next
  for (const p of calls[0].parts) {
    const r = await p.socket.timeout(5000).emitWithAck('call:leave', { callId: calls[0].id });
    assert.equal(r.ok, true);
  }
  m = await scrape(srv.url);
  const counts = [m.get('meeshy_media_worker_calls', 0), m.get('meeshy_media_worker_calls', 1)];
  assert.deepEqual([...counts].sort(), [1, 2], 'the ended call left its worker');
  const freed = counts.indexOf(1);
  const fifth = await call(srv.url, 4, stops);
  await everyoneSeesTheOthers(fifth);
  m = await scrape(srv.url);
  assert.equal(m.get('meeshy_media_worker_calls', freed), 2, 'the next call went to the worker with fewer calls');
  assert.equal(m.get('meeshy_media_worker_calls', 1 - freed), 2);
});

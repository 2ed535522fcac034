// A soak: SOAK_SOCKETS websocket clients (3,000 in CI) in calls of four,
// for SOAK_SECONDS (60 in CI): every second each call's members toggle
// their media flags (acked, heard by the other three), and every 10 s one
// member of each call leaves and joins again. At the end: no event was
// refused or unanswered, the server's resident memory after warm-up grew
// by less than 15 %, and every call's records are in the store as the
// clients were acked (who is in, who left, the last flags).
// `SOAK_SOCKETS=15000 SOAK_SECONDS=600 node --test tests/integration/soak.test.js`
// is the long one (docs/reliability.md).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');
const { start } = require('./lib/server');

const SOCKETS = Number(process.env.SOAK_SOCKETS || 3000);
const SECONDS = Number(process.env.SOAK_SECONDS || 60);
const CALLS = Math.floor(SOCKETS / 4);

function open(url, token) {
  const s = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 30000 });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => { s.close(); reject(e); });
  });
}

const rss = async (url) => Number((await (await fetch(`${url}/metrics`)).text())
  .match(/^process_resident_memory_bytes (\d+)/m)[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test(`soak: ${SOCKETS} sockets in calls of four for ${SECONDS} s`, { timeout: (SECONDS + 240) * 1000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth', '--max-connections', String(SOCKETS + 10), '--max-sessions-per-ip', '0', '--max-connections-per-ip', '0',
    '--events-per-sec-per-ip', '0'] });
  t.after(() => srv.stop());
  const calls = [];
  t.after(() => calls.forEach((c) => c.members.forEach((s) => s.close())));
  let errors = 0, answered = 0, heard = 0;
  for (let i = 0; i < CALLS; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, CALLS - i) }, async (_, k) => {
      const n = i + k;
      const members = await Promise.all([0, 1, 2, 3].map((m) => open(srv.url, `soak-${n}-${m}`)));
      members.forEach((s) => s.on('call:media-state', () => { heard++; }));
      const init = await members[0].timeout(30000).emitWithAck('call:initiate', { conversationId: `soak-${n}`, type: 'audio' });
      if (!init.ok) errors++;
      for (const s of members.slice(1)) {
        const j = await s.timeout(30000).emitWithAck('call:join', { callId: init.callId });
        if (!j.ok) errors++;
      }
      return { callId: init.callId, members, audio: [true, true, true, true], in: [true, true, true, true] };
    }));
    calls.push(...batch);
  }
  assert.equal(errors, 0, 'every connect, initiate and join answered ok');
  console.log(`soak: ${calls.length * 4} sockets in ${calls.length} calls`);

  let warm = 0, last = 0;
  const t0 = Date.now();
  for (let sec = 0; Date.now() - t0 < SECONDS * 1000; sec++) {
    const tick = Date.now();
    await Promise.all(calls.map(async (c, i) => {
      const m = (sec + i) % 4;
      if (sec % 10 === 9 && m === 3) { // one leaves and comes back
        const l = await c.members[m].timeout(30000).emitWithAck('call:leave', { callId: c.callId }).catch(() => null);
        const j = await c.members[m].timeout(30000).emitWithAck('call:join', { callId: c.callId }).catch(() => null);
        if (!(l && l.ok && j && j.ok)) errors++;
        return;
      }
      c.audio[m] = !c.audio[m];
      const r = await c.members[m].timeout(30000).emitWithAck('call:media-state', { callId: c.callId, audio: c.audio[m] })
        .catch(() => null);
      if (r && r.ok) answered++; else errors++;
    }));
    if (sec === 10) warm = await rss(srv.url);
    await sleep(Math.max(0, 1000 - (Date.now() - tick)));
  }
  last = await rss(srv.url);
  await sleep(500);
  const growth = (last - warm) / warm;
  console.log(`soak: ${answered} media-state events acked, ${heard} heard, ${errors} errors; ` +
    `RSS ${(warm / 1048576).toFixed(1)} MB after warm-up, ${(last / 1048576).toFixed(1)} MB at the end (${(growth * 100).toFixed(1)} %)`);
  assert.equal(errors, 0, 'no event refused or unanswered');
  assert.ok(heard >= answered * 3 * 0.99, `each toggle heard by the three others (${heard} of ${answered * 3})`);
  assert.ok(growth < 0.15, `RSS grew ${(growth * 100).toFixed(1)} % after warm-up`);

  // every call's records as acked: four joined, the flags last set
  let checked = 0;
  for (const c of calls) {
    const r = await (await fetch(`${srv.url}/api/calls/${c.callId}`, { headers: { authorization: `Bearer ${c.members[0].auth.token}` } })).json();
    const byUser = new Map(r.participants.map((p) => [p.userId, p]));
    c.members.forEach((s, m) => {
      const p = byUser.get(s.auth.token);
      assert.ok(p && p.status === 'joined', `${s.auth.token} joined in the store`);
      assert.equal(p.audioEnabled, c.audio[m], `${s.auth.token}'s last flag in the store`);
    });
    checked++;
  }
  assert.equal(checked, calls.length);
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
});

// Writes tests/fuzz/corpus/http/ from real traffic: socket.io-client over
// long-polling (a call: initiate, media state, leave), socket.io-client's
// upgrade, and fetch() on /health, /metrics, the REST API and the static
// files, talk to a real meeshy-call (role all, SQLite in memory, the
// secrets fuzz_http's gateway has) through a TCP relay that records what
// the clients send. Each of those is a seed, its connections in the
// harness's form (fuzz_http.c): Engine.IO session ids become "$S" (the
// harness puts back the id its gateway handed out) and the piece size is
// 17 bytes, so a request after a handshake is handed over after its
// answer.
// Run from the repository root after a build:
//   node tests/fuzz/capture-http-seeds.js [path/to/meeshy-call]
'use strict';
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { io } = require('socket.io-client');

const bin = process.argv[2] || 'build/apps/meeshy-call/meeshy-call';
const out = path.join(__dirname, 'corpus', 'http');
const SECRET = 'fuzz-secret-0123456789abcdefghijklmn'; // fuzz_http.c's

function jwt(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  const sig = crypto.createHmac('sha256', SECRET).update(body).digest('base64url');
  return `${body}.${sig}`;
}

async function serve() {
  const server = spawn(bin, ['--listen', '127.0.0.1:0', '--rtc-listen', '127.0.0.1:0',
    '--db', 'sqlite::memory:', '--dev-auth', '--turn-servers', '["turn:127.0.0.1:3478"]',
    '--max-connections-per-ip', '0', '--events-per-sec', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MEESHY_JWT_SECRET: SECRET, MEESHY_TURN_SECRET: SECRET },
  });
  const port = await new Promise((resolve) => {
    server.stdout.on('data', (d) => {
      const m = String(d).match(/serving http:\/\/[\d.]+:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
  });
  return { server, port };
}

// Records what clients send, in order, into the current phase: a list of
// [connection number, bytes].
function recorder(port) {
  const rec = { phase: [], conns: 0 };
  rec.relay = net.createServer((c) => {
    const id = rec.conns++;
    const s = net.connect(port, '127.0.0.1');
    c.on('data', (d) => { rec.phase.push([id, d]); s.write(d); });
    s.on('data', (d) => c.write(d));
    c.on('close', () => s.destroy());
    s.on('close', () => c.destroy());
  });
  return rec;
}

// A phase's bytes as one seed: the piece-size byte, then each chunk on
// its connection (the phase's first four, in order; a NUL and a digit
// switch), session ids as "$S" and the call's id as "$C" (its
// Content-Length stays: the harness's ids are as long).
function seed(phase, callId) {
  const order = [];
  let cur = 0;
  const parts = [Buffer.from([1])];
  for (const [id, d] of phase) {
    if (!order.includes(id)) order.push(id);
    const c = order.indexOf(id) % 4;
    if (c !== cur) parts.push(Buffer.from([0, 48 + c]));
    cur = c;
    let text = d.toString('latin1').replace(/sid=[A-Za-z0-9_-]{20}/g, 'sid=$S');
    if (callId) text = text.split(callId).join('$C');
    parts.push(Buffer.from(text, 'latin1'));
  }
  return Buffer.concat(parts);
}

// A call over long-polling: what the gateway's events look like in POSTs;
// during(callId) runs while it is live.
async function pollingCall(url, token, during) {
  const a = io(url, { transports: ['polling'], upgrade: false, auth: { token } });
  await new Promise((r) => a.once('connect', r));
  const init = await a.timeout(5000).emitWithAck('call:initiate',
    { conversationId: 'conv-seed', type: 'video', settings: { audioEnabled: true } });
  const callId = init && (init.callId || (init.data && init.data.callId));
  a.emit('call:media-state', { callId, audioEnabled: false, videoEnabled: true });
  await during(callId);
  await a.timeout(5000).emitWithAck('call:leave', { callId }).catch(() => {});
  a.disconnect();
  await new Promise((r) => setTimeout(r, 200));
  return callId;
}

async function rest(rec, url, token, callId) {
  const auth = { authorization: `Bearer ${token}` };
  const asks = [
    ['/health'], ['/metrics'], ['/api/region', { headers: { 'cf-ipcountry': 'FR' } }],
    ['/api/turn-credentials', { headers: auth }],
    [`/api/calls/${callId}`, { headers: auth }],
    [`/api/calls/${callId}/transcriptions`, { headers: auth }],
    [`/api/calls/${callId}/quality-metrics`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ participantId: 'p1', packetsLost: 1, packetsReceived: 99, jitter: 0.01 }) }],
    ['/api/conversations/conv-seed/members/ben', { method: 'PUT', headers: auth }],
    ['/api/conversations/conv-seed/calls?status=ended&limit=5', { headers: auth }],
    ['/', {}], ['/sfu.html', {}], ['/nothing-here', {}],
  ];
  const phases = [];
  for (const [p, init] of asks) {
    rec.phase = [];
    const r = await fetch(url + p, { ...init, headers: { connection: 'close', ...(init || {}).headers } });
    await r.arrayBuffer();
    phases.push(rec.phase);
  }
  return phases;
}

async function main() {
  const { server, port } = await serve();
  const rec = recorder(port);
  await new Promise((r) => rec.relay.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${rec.relay.address().port}`;
  const exp = Math.floor(Date.now() / 1000) + 10 * 365 * 86400;
  const ana = jwt({ userId: 'ana', username: 'ana', role: 'ADMIN', exp });
  const seeds = {};
  rec.phase = [];
  let live = null;
  const callId = await pollingCall(url, ana, async (id) => {
    live = rec.phase;
    (await rest(rec, url, ana, id)).forEach((p) => live.push(...p));
    rec.phase = live;
  });
  seeds['polling-call'] = rec.phase;
  rec.phase = [];
  const up = io(url, { auth: { token: ana } }); // polling, then the upgrade
  await new Promise((r) => up.once('connect', r));
  await new Promise((r) => setTimeout(r, 300));
  up.disconnect();
  await new Promise((r) => setTimeout(r, 200));
  seeds.upgrade = rec.phase;
  (await rest(rec, url, ana, callId)).forEach((p, i) => { seeds[`request-${String(i).padStart(2, '0')}`] = p; });
  fs.mkdirSync(out, { recursive: true });
  for (const [name, phase] of Object.entries(seeds)) {
    const bytes = seed(phase, callId);
    fs.writeFileSync(path.join(out, name), bytes);
    console.log(`corpus/http/${name}: ${bytes.length} bytes`);
  }
  rec.relay.close();
  server.kill('SIGTERM');
}
main().catch((e) => { console.error(e); process.exit(1); });

// What a hostile client tries with numbers: many sessions on one
// connection or one address, floods of events over many sockets, bodies
// and frames half-sent on hundreds of connections, sessions that never
// poll, a store that cannot write. Every bound must hold and the server
// must stay healthy. (Under a sanitizer the RSS figures are printed, not
// judged: ASan keeps freed memory in quarantine; the byte gauges are.)
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { start } = require('./lib/server');
const { connect, ack, sleep } = require('./lib/clients');

const SANITIZED = !!process.env.MEESHY_SANITIZE;

// Asserts RSS growth within bound (kB), unless under a sanitizer.
function rssWithin(grownKb, boundKb, what) {
  if (SANITIZED) return;
  assert.ok(grownKb < boundKb, `RSS grew ${grownKb} kB ${what}`);
}

// The server's resident memory, from /proc.
function rssKb(pid) {
  const m = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]);
}

async function metric(url, name) {
  const m = await (await fetch(`${url}/metrics`)).text();
  const line = m.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.split(' ')[1]) : NaN;
}

// Writes raw bytes on a new TCP connection to the server; resolves with the
// socket and everything it answers (until closed or ms passed).
function rawExchange(url, bytes, ms) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), hostname);
    let got = '';
    let done = false;
    const finish = () => { if (!done) { done = true; resolve({ sock, got }); } };
    sock.on('data', (d) => { got += d.toString('latin1'); });
    sock.on('close', finish);
    sock.on('error', finish);
    sock.on('connect', () => sock.write(bytes));
    setTimeout(finish, ms);
  });
}

test('10,000 handshakes pipelined on one connection: 8 sessions, the rest 503; new clients unaffected', async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const one = 'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n';
  const { sock, got } = await rawExchange(srv.url, one.repeat(10000), 4000);
  sock.destroy();
  const ok = (got.match(/HTTP\/1\.1 200/g) || []).length;
  const full = (got.match(/HTTP\/1\.1 503/g) || []).length;
  console.log(`pipelined handshakes: ${ok} sessions, ${full} refused (503)`);
  assert.equal(ok, 8);
  assert.equal(ok + full, 10000, 'every request answered');
  assert.match(got, /too many sessions opened on this connection/);
  assert.equal(await metric(srv.url, 'meeshy_socketio_refused_total{reason="per_connection"}'), 9992);
  // a new client connects at once
  const c = await connect(srv.url, 'fresh', { transports: ['polling'] });
  assert.equal((await ack(c, 'call:initiate', { conversationId: 'c-fresh', type: 'audio' })).ok, true);
  c.close();
});

test('sessions per address: beyond --max-sessions-per-ip a handshake is refused, a closed session frees its place', async (t) => {
  const srv = await start({ args: ['--dev-auth', '--max-sessions-per-ip', '5'] });
  t.after(() => srv.stop());
  const socks = [];
  t.after(() => socks.forEach((s) => s.close()));
  for (let i = 0; i < 5; i++) socks.push(await connect(srv.url, `ip-${i}`, { transports: ['websocket'] }));
  await assert.rejects(connect(srv.url, 'ip-6', { transports: ['polling'] }));
  assert.equal(await metric(srv.url, 'meeshy_socketio_refused_total{reason="per_address"}'), 1);
  socks.shift().close();
  await sleep(200);
  socks.push(await connect(srv.url, 'ip-7', { transports: ['websocket'] }));
});

test('connections per address: beyond --max-connections-per-ip a connection is answered 503 naming it; a closed one frees its place', async (t) => {
  const srv = await start({ args: ['--dev-auth', '--max-connections-per-ip', '4'] });
  t.after(() => srv.stop());
  const u = new URL(srv.url);
  const open = () => new Promise((resolve, reject) => {
    const c = net.connect(Number(u.port), u.hostname, () => resolve(c));
    c.on('error', reject);
  });
  const conns = [];
  t.after(() => conns.forEach((c) => c.destroy()));
  for (let i = 0; i < 4; i++) conns.push(await open()); // idle, holding their place
  const extra = await open();
  const answer = new Promise((res) => { let got = ''; extra.on('data', (d) => { got += d; }); extra.on('close', () => res(got)); });
  extra.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(await answer, /^HTTP\/1\.1 503 Too Many Connections From This Address/);
  // one idle connection lets go: its place serves a request again
  conns.shift().destroy();
  await sleep(200);
  assert.equal(await metric(srv.url, 'meeshy_http_shed_total{reason="per_address"}'), 1);
});

// Fires n events on each socket at once; resolves with how many were
// answered RATE_LIMITED and one such answer.
async function flood(sockets, n) {
  const acks = await Promise.all(sockets.flatMap((s) =>
    Array.from({ length: n }, () => s.timeout(10000).emitWithAck('no-such-event', {}))));
  const limited = acks.filter((a) => a.error && a.error.code === 'RATE_LIMITED');
  return { limited: limited.length, answered: acks.length, sample: limited[0] && limited[0].error.message };
}

test('rate limits hold across sockets: per user and per address, not only per socket', async (t) => {
  // per socket 20/s (burst 40), per user 80/s (burst 160), per address 60/s (burst 120)
  const srv = await start({ args: ['--dev-auth', '--events-per-sec', '20', '--events-per-sec-per-ip', '60'] });
  t.after(() => srv.stop());
  const users = [];
  t.after(() => users.forEach((s) => s.close()));
  for (let i = 0; i < 8; i++) users.push(await connect(srv.url, `user-${i}`, { transports: ['websocket'] }));
  const t0 = Date.now();
  const byIp = await flood(users, 40); // each within its socket's burst
  const secs = (Date.now() - t0) / 1000;
  const passed = byIp.answered - byIp.limited;
  console.log(`8 users x 40 events from one address: ${passed} passed in ${secs.toFixed(2)} s, ${byIp.limited} limited (${byIp.sample})`);
  assert.ok(passed <= 120 + 60 * secs + 5, `${passed} passed: more than the address's burst and rate`);
  assert.match(byIp.sample, /your address/);
  await sleep(2500); // the buckets fill again

  const srv2 = await start({ args: ['--dev-auth', '--events-per-sec', '20', '--events-per-sec-per-ip', '0'] });
  t.after(() => srv2.stop());
  const same = [];
  t.after(() => same.forEach((s) => s.close()));
  for (let i = 0; i < 6; i++) same.push(await connect(srv2.url, 'one-user', { transports: ['websocket'] }));
  const t1 = Date.now();
  const byUser = await flood(same, 40);
  const secs1 = (Date.now() - t1) / 1000;
  const passed1 = byUser.answered - byUser.limited;
  console.log(`one user on 6 sockets x 40 events: ${passed1} passed in ${secs1.toFixed(2)} s, ${byUser.limited} limited (${byUser.sample})`);
  assert.ok(passed1 <= 160 + 80 * secs1 + 5, `${passed1} passed: more than the user's burst and rate`);
  assert.match(byUser.sample, /your user/);
});

test('half-sent request bodies on hundreds of connections: held within --max-buffered, cut off after --request-timeout', async (t) => {
  const srv = await start({ args: ['--dev-auth', '--max-buffered', '4194304', '--request-timeout', '2000'] });
  t.after(() => srv.stop());
  const rss0 = rssKb(srv.proc.pid);
  const head = 'POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\n' +
    'Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n';
  const half = Buffer.concat([Buffer.from(head), Buffer.alloc(60000, 0x61)]);
  const conns = await Promise.all(Array.from({ length: 600 }, () => rawExchange(srv.url, half, 800)));
  const rss1 = rssKb(srv.proc.pid);
  const held = await metric(srv.url, 'meeshy_http_buffered_bytes');
  console.log(`600 x 60 kB half-sent: RSS +${((rss1 - rss0) / 1024).toFixed(1)} MB, buffered ${(held / 1048576).toFixed(2)} MB`);
  assert.ok(held <= 4194304, `${held} bytes held`);
  rssWithin(rss1 - rss0, 24 * 1024, 'for 36 MB half-sent');
  assert.ok(await metric(srv.url, 'meeshy_http_shed_total{reason="budget"}') > 0);
  // a too large body is refused before it is read
  const big = await rawExchange(srv.url, 'POST /socket.io/ HTTP/1.1\r\nHost: x\r\nContent-Length: 510000\r\n\r\n', 1000);
  assert.match(big.got, /^HTTP\/1\.1 413/);
  // after the timeout, what stalled is cut off and the server is whole
  await sleep(2500);
  conns.forEach((c) => c.sock.destroy());
  assert.ok(await metric(srv.url, 'meeshy_http_shed_total{reason="timeout"}') > 0);
  assert.equal(await metric(srv.url, 'meeshy_http_buffered_bytes'), 0);
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
  const c = await connect(srv.url, 'after-stall', { transports: ['polling'] });
  assert.equal((await ack(c, 'call:initiate', { conversationId: 'c-stall', type: 'audio' })).ok, true);
  c.close();
});

// One request on a connection of its own; resolves with status and body.
function request(url, method, path, body) {
  const http = require('node:http');
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, agent: false,
      headers: body ? { 'content-type': 'text/plain;charset=UTF-8', 'content-length': Buffer.byteLength(body) } : {} },
    (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('polling sessions never polled, each sent a thousand events: their answers stay within --max-buffered', async (t) => {
  const srv = await start({ args: ['--dev-auth', '--max-buffered', '1048576', '--events-per-sec', '0',
    '--events-per-sec-per-ip', '0', '--max-sessions-per-ip', '0', '--max-connections-per-ip', '0'] });
  t.after(() => srv.stop());
  const rss0 = rssKb(srv.proc.pid);
  const events = Array.from({ length: 1000 }, () => '42["no-such-event",{}]').join('\x1e');
  for (let i = 0; i < 200; i += 20) {
    await Promise.all(Array.from({ length: 20 }, async () => {
      const hs = await request(srv.url, 'GET', '/socket.io/?EIO=4&transport=polling');
      const sid = JSON.parse(hs.body.slice(1)).sid;
      const path = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
      await request(srv.url, 'POST', path, '40');
      // a session closed by the budget answers 400 to what follows
      await request(srv.url, 'POST', path, events);
    }));
  }
  await sleep(300);
  const rss1 = rssKb(srv.proc.pid);
  const held = await metric(srv.url, 'meeshy_socketio_unread_bytes');
  const closed = await metric(srv.url, 'meeshy_socketio_closed_total{reason="budget"}');
  console.log(`200 unpolled sessions x 1000 answers: RSS +${((rss1 - rss0) / 1024).toFixed(1)} MB, held ${(held / 1048576).toFixed(2)} MB, ${closed} sessions closed by the budget`);
  assert.ok(held <= 1048576, `${held} bytes held`);
  assert.ok(closed > 0, 'no session was closed, yet 22 MB of answers were due');
  // no session could not take its own answers: each is counted once, by its cause
  assert.equal(await metric(srv.url, 'meeshy_socketio_closed_total{reason="send_overflow"}'), 0);
  rssWithin(rss1 - rss0, 24 * 1024, 'for 22 MB of answers due');
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
});

test('a locked store: the write queue stops at its bound with a clear answer, and lands in slices that leave /health answering', { timeout: 120000 }, async (t) => {
  const path = require('node:path');
  const { spawn } = require('node:child_process');
  const srv = await start({ args: ['--dev-auth', '--events-per-sec', '0', '--events-per-sec-per-ip', '0'] });
  t.after(() => srv.stop());
  const socks = [];
  t.after(() => socks.forEach((s) => s.close()));
  for (let i = 0; i < 4; i++) socks.push(await connect(srv.url, `w${i}`, { transports: ['websocket'] }));
  const init = await ack(socks[0], 'call:initiate', { conversationId: 'c-lock', type: 'audio' });
  for (const s of socks.slice(1)) assert.equal((await ack(s, 'call:join', { callId: init.callId })).ok, true);
  const locker = spawn('sqlite3', [path.join(srv.dir, 'calls.db')], { stdio: ['pipe', 'pipe', 'inherit'] });
  locker.stdin.write('BEGIN EXCLUSIVE;\nSELECT \'locked\';\n');
  await new Promise((res) => locker.stdout.once('data', res));
  const rss0 = rssKb(srv.proc.pid);
  let ok = 0, full = 0, sample = '';
  const text = 'x'.repeat(400);
  for (let round = 0; round < 26; round++) {
    const acks = await Promise.all(socks.flatMap((s) => Array.from({ length: 250 }, () =>
      s.timeout(20000).emitWithAck('call:transcription', { callId: init.callId, text, language: 'en', isFinal: true }))));
    for (const a of acks) {
      if (a.ok) ok++;
      else if (a.error.code === 'RATE_LIMITED') { full++; sample = a.error.message; }
    }
  }
  const h = await (await fetch(`${srv.url}/health`)).json();
  const rss1 = rssKb(srv.proc.pid);
  console.log(`locked store: ${ok} transcriptions taken, ${full} refused (${sample}); ${h.queuedWrites} queued, RSS +${((rss1 - rss0) / 1024).toFixed(1)} MB`);
  assert.ok(full > 0, 'the queue never said it was full');
  assert.ok(h.queuedWrites <= 20000, `${h.queuedWrites} writes queued`);
  assert.match(sample, /store is not keeping up/);
  rssWithin(rss1 - rss0, 48 * 1024, 'for a full write queue');
  assert.equal(await metric(srv.url, 'meeshy_db_refused_writes_total'), full);
  // unlocked: the queue lands slice by slice, /health answers in between
  locker.stdin.end('COMMIT;\n.quit\n');
  await new Promise((res) => locker.on('exit', res));
  const seen = [];
  let worst = 0;
  for (let i = 0; i < 400; i++) {
    const t0 = Date.now();
    const r = await (await fetch(`${srv.url}/health`)).json();
    worst = Math.max(worst, Date.now() - t0);
    seen.push(r.queuedWrites);
    if (r.queuedWrites === 0) break;
    await sleep(10);
  }
  console.log(`landing: /health saw ${seen.length} states (${seen.slice(0, 6).join(', ')}...), slowest answer ${worst} ms`);
  assert.equal(seen[seen.length - 1], 0, 'the queue did not land');
  assert.ok(seen.some((q) => q > 0 && q < h.queuedWrites), '/health saw no state between full and empty');
  const count = require('node:child_process').execFileSync('sqlite3', [path.join(srv.dir, 'calls.db'),
    `SELECT COUNT(*) FROM CallTranscription WHERE callSessionId = '${init.callId}'`]).toString().trim();
  assert.equal(Number(count), ok, 'every transcription acked ok was stored');
});

// What a hostile client tries before and after it has a token: frames that
// lie about their length, records of calls it has no part in, tokens that
// should not pass. Each attack must fail, and the server must stay healthy.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { start } = require('./lib/server');
const { connect, ack, waitFor, sleep, names } = require('./lib/clients');
const { jwt } = require('./lib/jwt');

// A raw websocket upgrade on the Engine.IO path; resolves with the socket
// once the 101 has arrived (and with any bytes sent after the request in
// the same write, when `pipelined` is given).
function rawUpgrade(url, pipelined) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    let head = '';
    sock.on('error', reject);
    sock.on('connect', () => {
      const req = 'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n' +
        `Host: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
      sock.write(pipelined ? Buffer.concat([Buffer.from(req), pipelined]) : req);
    });
    const onData = (d) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      sock.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${head}`));
      resolve(sock);
    };
    sock.on('data', onData);
  });
}

// Resolves true when the server closes the socket within ms.
function closedWithin(sock, ms) {
  if (sock.destroyed || sock.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    sock.on('close', () => { clearTimeout(t); resolve(true); });
    sock.on('end', () => { clearTimeout(t); resolve(true); });
    sock.on('error', () => {});
  });
}

async function droppedTooLarge(url) {
  const m = await (await fetch(`${url}/metrics`)).text();
  return Number(m.match(/meeshy_socketio_dropped_total\{reason="too_large"\} (\d+)/)[1]);
}

// FIN text frame, masked, a 64-bit length of 2^64 - 4, no mask key yet
const HUGE = Buffer.from('81ff' + 'ff'.repeat(7) + 'fc', 'hex');
const HUGE_MASKED = Buffer.concat([HUGE, Buffer.from('01020304', 'hex')]);

test('websocket frames announcing a huge length: closed and counted, whatever way they come, server healthy', async (t) => {
  const srv = await start({ args: ['--dev-auth', '--max-payload', '10000'] });
  t.after(() => srv.stop());
  const ways = {
    'length without mask key, whole': async () => {
      const s = await rawUpgrade(srv.url);
      s.write(HUGE);
      return s;
    },
    'with mask key, whole': async () => {
      const s = await rawUpgrade(srv.url);
      s.write(HUGE_MASKED);
      return s;
    },
    'one byte at a time': async () => {
      const s = await rawUpgrade(srv.url);
      for (const b of HUGE_MASKED) {
        if (s.destroyed) break;
        s.write(Buffer.from([b]));
        await sleep(15);
      }
      return s;
    },
    'pipelined after a valid frame': async () => {
      const s = await rawUpgrade(srv.url);
      // a masked "2" (ping) frame, then the lie in the same write
      const ping = Buffer.from([0x81, 0x81, 1, 2, 3, 4, '2'.charCodeAt(0) ^ 1]);
      s.write(Buffer.concat([ping, HUGE_MASKED]));
      return s;
    },
    'in the upgrade request\'s own segment': async () => rawUpgrade(srv.url, HUGE_MASKED),
    '16-bit length over --max-payload': async () => {
      const s = await rawUpgrade(srv.url);
      s.write(Buffer.from('81fe' + 'ffff' + '01020304', 'hex'));
      return s;
    },
  };
  for (const [name, attack] of Object.entries(ways)) {
    const before = await droppedTooLarge(srv.url);
    const s = await attack();
    const closed = await closedWithin(s, 3000);
    const after = await droppedTooLarge(srv.url);
    s.destroy();
    assert.equal(closed, true, `${name}: the connection stays open`);
    assert.equal(after, before + 1, `${name}: not counted`);
    const h = await fetch(`${srv.url}/health`);
    assert.equal(h.status, 200, `${name}: /health`);
  }
  // a real client still gets its answers
  const c = await connect(srv.url, 'after', { transports: ['websocket'] });
  const r = await ack(c, 'call:initiate', { conversationId: 'c-after', type: 'audio' });
  c.close();
  assert.equal(r.ok, true);
});

const SECRET = 'hostile-test-secret-0123456789';

async function rest(url, path, token, init = {}) {
  const r = await fetch(`${url}${path}`, {
    ...init, headers: { ...(init.headers || {}), authorization: `Bearer ${token}` },
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

test('REST with real tokens: a call\'s records are its participants\' and its conversation\'s members\', no one else\'s', async (t) => {
  const srv = await start({ env: { MEESHY_JWT_SECRET: SECRET } });
  t.after(() => srv.stop());
  const exp = Math.floor(Date.now() / 1000) + 600;
  const tok = (sub, conversations) => jwt({ sub, exp, ...(conversations ? { conversations } : {}) }, SECRET);
  const alice = tok('alice', ['conv-a']);
  const bob = tok('bob', ['conv-a']);
  const carol = tok('carol', ['conv-a']); // a member who never joined
  const eve = tok('eve', ['conv-e']);
  const mallory = tok('mallory'); // lists no conversation
  const a = await connect(srv.url, alice, { transports: ['websocket'] });
  const b = await connect(srv.url, bob, { transports: ['websocket'] });
  t.after(() => { a.close(); b.close(); });
  const init = await ack(a, 'call:initiate', { conversationId: 'conv-a', type: 'audio' });
  assert.equal(init.ok, true);
  const joined = await ack(b, 'call:join', { callId: init.callId });
  assert.equal(joined.ok, true);
  assert.equal((await ack(b, 'call:transcription', { callId: init.callId, text: 'secret words', language: 'en', isFinal: true })).ok, true);
  const bobPart = joined.participants.find((p) => p.userId === 'bob');
  const alicePart = joined.participants.find((p) => p.userId === 'alice');
  assert.ok(bobPart && alicePart, JSON.stringify(joined.participants));
  const call = `/api/calls/${init.callId}`;
  const quality = (token, participantId) => rest(srv.url, `${call}/quality-metrics`, token, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ participantId, packetsLost: 1, packetsReceived: 99, jitter: 0.01 }),
  });

  for (const [who, token] of [['eve', eve], ['mallory', mallory]]) {
    assert.equal((await rest(srv.url, call, token)).status, 403, `${who}: the call`);
    assert.equal((await rest(srv.url, `${call}/transcriptions`, token)).status, 403, `${who}: its transcriptions`);
    assert.equal((await rest(srv.url, '/api/conversations/conv-a/calls', token)).status, 403, `${who}: the history`);
    const q = await quality(token, bobPart.participantId);
    assert.equal(q.status, 403, `${who}: quality into a foreign call`);
    assert.equal(q.body.error.code, 'FORBIDDEN');
  }
  // another participant's id, by someone in the call, is refused too
  assert.equal((await quality(alice, bobPart.participantId)).status, 403);
  assert.equal((await quality(alice, 'bob')).status, 403);

  // their own: the participants, and a member of the conversation
  for (const token of [alice, bob, carol]) {
    const c = await rest(srv.url, call, token);
    assert.equal(c.status, 200);
    const tr = await rest(srv.url, `${call}/transcriptions`, token);
    assert.deepEqual(tr.body.transcriptions.map((x) => x.text), ['secret words']);
    const h = await rest(srv.url, '/api/conversations/conv-a/calls', token);
    assert.equal(h.status, 200);
    assert.ok(h.body.calls.some((x) => x.id === init.callId));
  }
  assert.equal((await quality(bob, bobPart.participantId)).status, 201);
  assert.equal((await quality(alice, 'alice')).status, 201);
  assert.equal((await quality(alice)).status, 201);
  assert.equal((await quality(carol)).status, 403, 'a member who took no part has no quality to report');
  assert.equal((await rest(srv.url, '/api/calls/no-such-call', alice)).status, 404);
  // a participant whose token lists nothing still sees the call it is in
  const m = await connect(srv.url, mallory, { transports: ['websocket'] });
  t.after(() => m.close());
  assert.equal((await ack(m, 'call:join', { callId: init.callId })).ok, true);
  assert.equal((await rest(srv.url, call, mallory)).status, 200);
  assert.equal((await rest(srv.url, '/api/conversations/conv-a/calls', mallory)).status, 200);
});

test('tokens: no exp, exp as a string, nbf ahead are refused; a socket never changes user; invites ring members only', async (t) => {
  const srv = await start({ env: { MEESHY_JWT_SECRET: SECRET } });
  t.after(() => srv.stop());
  const now = Math.floor(Date.now() / 1000);
  const bad = {
    'no exp': jwt({ sub: 'x' }, SECRET),
    'exp as a string': jwt({ sub: 'x', exp: String(now + 600) }, SECRET),
    'nbf an hour ahead': jwt({ sub: 'x', exp: now + 7200, nbf: now + 3600 }, SECRET),
    'huge exp': jwt({ sub: 'x', exp: 1e300 }, SECRET),
  };
  for (const [name, token] of Object.entries(bad)) {
    await assert.rejects(connect(srv.url, token, { transports: ['websocket'] }), /UNAUTHENTICATED/, name);
    assert.equal((await rest(srv.url, '/api/turn-credentials', token)).status, 401, name);
  }
  const { io } = require('socket.io-client');
  const late = io(srv.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  t.after(() => late.close());
  await new Promise((res) => late.once('connect', res));
  for (const [name, token] of Object.entries(bad)) {
    const r = await late.timeout(5000).emitWithAck('authenticate', { token });
    assert.equal(r.error.code, 'UNAUTHENTICATED', name);
  }

  const tok = (sub, conversations) => jwt({ sub, exp: now + 600, conversations }, SECRET);
  const alice = await connect(srv.url, tok('alice', ['conv-a']), { transports: ['websocket'] });
  const bob = await connect(srv.url, tok('bob', ['conv-a']), { transports: ['websocket'] });
  const eve = await connect(srv.url, tok('eve', ['conv-e']), { transports: ['websocket'] });
  t.after(() => [alice, bob, eve].forEach((s) => s.close()));
  // eve's socket tries to become alice's
  const sw = await ack(eve, 'authenticate', { token: tok('alice', ['conv-a']) });
  assert.equal(sw.ok, false);
  assert.equal(sw.error.code, 'FORBIDDEN');
  assert.match(sw.error.message, /signed in as 'eve'/);
  // the same user again (a refreshed token) is fine
  assert.equal((await ack(eve, 'authenticate', { token: tok('eve', ['conv-e']) })).ok, true);
  // an invite list naming a non-member rings the members only
  const init = await ack(alice, 'call:initiate', { conversationId: 'conv-a', type: 'audio', participants: ['bob', 'eve'] });
  assert.equal(init.ok, true);
  await waitFor(bob, 'call:incoming');
  assert.equal((await ack(eve, 'call:join', { callId: init.callId })).error.code, 'FORBIDDEN');
  await sleep(300);
  assert.ok(!names(eve).includes('call:incoming'), 'eve was rung');
  assert.ok(!names(eve).includes('call:participant-joined'));
});

test('a websocket client that stops reading: its session is closed and counted, its sender is told, nothing is lost silently', async (t) => {
  const srv = await start({ args: ['--dev-auth', '--events-per-sec', '0'] });
  t.after(() => srv.stop());
  const alice = await connect(srv.url, 'alice', { transports: ['websocket'] });
  const bob = await connect(srv.url, 'bob', { transports: ['websocket'] });
  t.after(() => { alice.close(); bob.close(); });
  const init = await ack(alice, 'call:initiate', { conversationId: 'c-slow', type: 'video' });
  assert.equal((await ack(bob, 'call:join', { callId: init.callId })).ok, true);
  // bob's client stops reading its TCP socket
  bob.io.engine.transport.ws._socket.pause();
  const sdp = 'v=0\r\n' + 'a=x-pad:'.padEnd(60000, 'x') + '\r\n';
  const acks = [];
  for (let i = 0; i < 200; i++) {
    acks.push(await ack(alice, 'call:signal', { callId: init.callId, to: 'bob', type: 'offer', sdp }));
  }
  const ok = acks.filter((a) => a.ok).length;
  const refused = acks.filter((a) => !a.ok);
  console.log(`signals acked ok: ${ok}, refused: ${refused.length} (${refused[0] && refused[0].error.message})`);
  assert.ok(refused.length > 0, 'every signal was acked ok although bob reads nothing');
  assert.match(refused[0].error.message, /bob/);
  // bob is gone from the call, and the server says why
  await waitFor(alice, 'call:participant-left', (d) => d.userId === 'bob');
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  assert.match(m, /meeshy_socketio_closed_total\{reason="send_overflow"\} 1\n/);
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
  // what bob was sent before the close is all there when it reads again
  const got = [];
  bob.on('call:signal', (d) => got.push(d));
  const closed = new Promise((res) => bob.once('disconnect', res));
  bob.io.engine.transport.ws._socket.resume();
  await closed;
  assert.equal(got.length, ok, `bob read ${got.length} of the ${ok} signals acked ok`);
});

test('one user opening socket after socket: past --max-sockets-per-user refused by name, room again once one closes', async (t) => {
  const srv = await start({ args: ['--dev-auth', '--max-sockets-per-user', '3'] });
  t.after(() => srv.stop());
  const open = [];
  t.after(() => open.forEach((s) => s.close()));
  for (let i = 0; i < 3; i++) open.push(await connect(srv.url, 'zed', { transports: ['websocket'] }));
  await assert.rejects(connect(srv.url, 'zed', { transports: ['websocket'] }),
    (e) => /RATE_LIMITED/.test(e.message) && /--max-sockets-per-user/.test(e.message) && e.data.code === 'RATE_LIMITED');
  // another user is not held back by zed's sockets
  open.push(await connect(srv.url, 'amy', { transports: ['websocket'] }));
  // a socket connected without a token meets the same limit when it signs in
  const { io } = require('socket.io-client');
  const late = io(srv.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  open.push(late);
  await new Promise((res) => late.once('connect', res));
  const r = await late.timeout(5000).emitWithAck('authenticate', { token: 'zed' });
  assert.equal(r.error.code, 'RATE_LIMITED');
  // one closes: room for one more
  open.shift().close();
  await sleep(300);
  open.push(await connect(srv.url, 'zed', { transports: ['websocket'] }));
  const metrics = await (await fetch(`${srv.url}/metrics`)).text();
  assert.match(metrics, /meeshy_socketio_refused_total\{reason="per_user"\} 2/);
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
});

test('a call is full at --max-participants: the next join is refused by name, the call goes on', async (t) => {
  const srv = await start({ args: ['--dev-auth', '--max-participants', '2'] });
  t.after(() => srv.stop());
  const [a, b, c] = await Promise.all(['ann', 'bea', 'cid'].map((u) => connect(srv.url, u, { transports: ['websocket'] })));
  t.after(() => [a, b, c].forEach((s) => s.close()));
  const call = await ack(a, 'call:initiate', { conversationId: 'full-1', type: 'audio' });
  assert.equal((await ack(b, 'call:join', { callId: call.callId })).ok, true);
  const r = await ack(c, 'call:join', { callId: call.callId });
  assert.equal(r.error.code, 'CONFLICT');
  assert.match(r.error.message, /is full \(2 participants\)/);
  // the two inside still talk
  assert.equal((await ack(a, 'call:media-state', { callId: call.callId, audio: false })).ok, true);
  assert.equal((await waitFor(b, 'call:media-state')).audio, false);
});

// A keep-alive HTTP connection read answer by answer (Content-Length).
function httpConn(url) {
  const { hostname, port } = new URL(url);
  const sock = net.connect(Number(port), hostname);
  let buf = Buffer.alloc(0);
  const waiting = [];
  const pump = () => {
    while (waiting.length) {
      const head = buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const m = buf.subarray(0, head).toString().match(/content-length: (\d+)/i);
      const end = head + 4 + (m ? Number(m[1]) : 0);
      if (buf.length < end) return;
      const text = buf.subarray(0, end).toString();
      buf = buf.subarray(end);
      waiting.shift()(text);
    }
  };
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); pump(); });
  sock.on('error', () => {});
  return {
    sock,
    write: (s) => sock.write(s),
    // the next answer on this connection, or null after ms
    answer: (ms = 5000) => new Promise((resolve) => {
      const w = (a) => { clearTimeout(t); resolve(a); };
      const t = setTimeout(() => { waiting.splice(waiting.indexOf(w), 1); resolve(null); }, ms);
      waiting.push(w);
      pump();
    }),
  };
}

test('a poll pipelined behind a held one, its answer written by another request\'s event: taken on the next turn, the server stays healthy', async (t) => {
  // The answer to the held GET is written while the call:initiate on the
  // other connection is still being handled (its ack). The GET behind it
  // used to be handled right there, inside that write: it found the first
  // still held, closed the session as an overlap, the call ended and was
  // freed under the code announcing it (use after free, fuzz_http).
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const q = '/socket.io/?EIO=4&transport=polling';
  const get = (sid) => `GET ${q}&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const post = (sid, body) => `POST ${q}&sid=${sid} HTTP/1.1\r\nHost: x\r\n` +
    `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const a = httpConn(srv.url);
  const b = httpConn(srv.url);
  t.after(() => { a.sock.destroy(); b.sock.destroy(); });
  a.write(`GET ${q} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const sid = (await a.answer()).match(/"sid":"([^"]+)"/)[1];
  b.write(post(sid, '40{"token":"ana"}'));
  assert.match(await b.answer(), /^HTTP\/1.1 200/);
  a.write(get(sid));
  assert.match(await a.answer(), /42\["authenticated"/);
  a.write(get(sid) + get(sid)); // the first is held, the second waits
  assert.equal(await a.answer(300), null, 'the first GET is held');
  b.write(post(sid, '420["call:initiate",{"conversationId":"conv-pipe","type":"video"}]'));
  assert.match(await b.answer(), /^HTTP\/1.1 200/);
  const first = await a.answer();
  assert.match(first, /430\[\{"ok":true/, first);
  const callId = first.match(/"callId":"([^"]+)"/)[1];
  // the second GET is held now, and answered with what comes next
  b.write(post(sid, `421["call:leave",{"callId":"${callId}"}]`));
  assert.match(await b.answer(), /^HTTP\/1.1 200/);
  let second = await a.answer();
  while (second && !/431\[/.test(second)) second = (a.write(get(sid)), await a.answer());
  assert.match(second || 'no answer', /431\[\{"ok":true/);
  const health = await fetch(`${srv.url}/health`);
  assert.equal(health.status, 200);
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  assert.doesNotMatch(m, /meeshy_socketio_closed_total\{reason="protocol"\} [1-9]/);
});

test('a head trickled in small pieces is parsed once, when it has all arrived; a line that never ends is refused at 8 kB unparsed; the server stays healthy', async (t) => {
  // libre's parser takes a time quadratic in a line not yet ended, and it
  // ran on every piece that arrived: one client trickling 8 kB in 20-byte
  // pieces cost the loop 1.8 s of CPU.
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const parsed = async () => Number((await (await fetch(`${srv.url}/metrics`)).text())
    .match(/meeshy_http_heads_parsed_total (\d+)/)[1]);
  const trickle = async (c, text) => {
    c.sock.setNoDelay(true);
    for (let i = 0; i < text.length; i += 20) {
      c.write(text.slice(i, i + 20));
      await sleep(2);
    }
  };
  const before = await parsed();
  const a = httpConn(srv.url);
  const b = httpConn(srv.url);
  t.after(() => { a.sock.destroy(); b.sock.destroy(); });
  // blank lines before the request line are dropped (RFC 9112, 2.2)
  await trickle(a, '\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ' + 'a'.repeat(4000) + '\r\n\r\n');
  assert.match(await a.answer() || 'no answer', /^HTTP\/1.1 200/);
  await trickle(b, 'GET /' + 'a'.repeat(8200));
  assert.match(await b.answer() || 'no answer', /^HTTP\/1.1 431/);
  // one parse for the trickled head, none for the endless line, one for
  // this /metrics request
  assert.equal(await parsed() - before, 2);
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
});

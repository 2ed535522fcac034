// What the Engine.IO and Socket.IO protocols' own test suites check, in our
// words, against tests/conformance/conformance-server (our meeshy_sio with
// the suites' settings: ping 300 ms, timeout 200 ms, max payload 1e6,
// connect timeout 1 s). scripts/protocol-suites.sh runs the suites
// themselves; this keeps every behaviour they check in CI without them.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const WebSocket = require('ws');

const BIN = process.env.CONFORMANCE_BIN ||
  path.resolve(__dirname, '../../build/tests/conformance/conformance-server');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let server; let base;
test.before(async () => {
  server = spawn(BIN, ['--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  base = await new Promise((resolve, reject) => {
    let out = '';
    server.on('exit', (code) => reject(new Error(`conformance-server exited with ${code}`)));
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) resolve(`http://${m[1]}`);
    });
  });
  server.removeAllListeners('exit');
});
// A clean exit: under AddressSanitizer a leak makes it non-zero.
test.after(() => new Promise((resolve, reject) => {
  server.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  server.kill('SIGTERM');
}));

const url = (p, q) => `${base}/${p}/?EIO=4&${q}`;
const get = (p, q) => fetch(url(p, q));
const post = (p, q, body) => fetch(url(p, q), { method: 'POST', body });
async function pollSession(p) {
  const text = await (await get(p, 'transport=polling')).text();
  return JSON.parse(text.slice(1)).sid;
}

// A websocket whose messages queue up, so none is missed between awaits.
function socket(p, q = 'transport=websocket') {
  const ws = new WebSocket(url(p, q).replace('http', 'ws'));
  const queue = []; const waiting = [];
  ws.on('error', () => {});
  ws.on('message', (data) => { // ws 7: text as a string, bytes as a Buffer
    const m = typeof data === 'string' ? data : Buffer.from(data);
    if (waiting.length) waiting.shift()(m); else queue.push(m);
  });
  const closed = new Promise((r) => ws.on('close', r));
  const next = () => (queue.length ? Promise.resolve(queue.shift())
    : new Promise((r) => waiting.push(r)));
  // the next message that is not a ping (answered with a pong)
  const nextNotPing = async () => {
    for (;;) {
      const m = await next();
      if (m !== '2') return m;
      ws.send('3');
    }
  };
  const opened = new Promise((r) => ws.once('open', r));
  return { ws, next, nextNotPing, closed, opened, send: (m) => ws.send(m) };
}
async function sioSocket(connect = '40') {
  const s = socket('socket.io');
  assert.match(await s.next(), /^0\{/);
  s.send(connect);
  return s;
}
const handshakeKeys = ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades'];

test('Engine.IO handshake: polling and websocket, with the settings; bad queries and methods refused', async () => {
  const r = await get('engine.io', 'transport=polling');
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.equal(text[0], '0');
  const open = JSON.parse(text.slice(1));
  assert.deepEqual(Object.keys(open).sort(), handshakeKeys);
  assert.deepEqual([open.upgrades, open.pingInterval, open.pingTimeout, open.maxPayload],
    [['websocket'], 300, 200, 1000000]);
  for (const q of ['transport=polling', 'EIO=abc&transport=polling']) {
    assert.equal((await fetch(`${base}/engine.io/?${q}`)).status, 400, q);
  }
  for (const q of ['', 'transport=abc']) assert.equal((await get('engine.io', q)).status, 400, q);
  for (const method of ['POST', 'PUT']) {
    assert.equal((await fetch(url('engine.io', 'transport=polling'), { method })).status, 400, method);
  }
  const s = socket('engine.io');
  const wsOpen = JSON.parse((await s.next()).slice(1));
  assert.deepEqual(wsOpen.upgrades, []);
  assert.deepEqual(Object.keys(wsOpen).sort(), handshakeKeys);
  s.ws.close();
  for (const q of ['transport=websocket&EIO=abc', 'transport=abc']) {
    const bad = new WebSocket(`${base.replace('http', 'ws')}/engine.io/?${q}`);
    bad.on('error', () => {});
    await new Promise((r) => bad.on('close', r));
  }
});

test('Engine.IO messages by polling: text and binary echoed in one payload; a bad packet or a second GET ends the session', async () => {
  for (const body of ['4hello', '4test1\x1e4test2\x1e4test3', '4hello\x1ebAQIDBA==']) {
    const sid = await pollSession('engine.io');
    const r = await post('engine.io', `transport=polling&sid=${sid}`, body);
    assert.deepEqual([r.status, await r.text()], [200, 'ok']);
    assert.equal(await (await get('engine.io', `transport=polling&sid=${sid}`)).text(), body);
  }
  const sid = await pollSession('engine.io');
  assert.equal((await post('engine.io', `transport=polling&sid=${sid}`, 'abc')).status, 400);
  assert.equal((await get('engine.io', `transport=polling&sid=${sid}`)).status, 400);
  // two GETs at once: the first is told "close", the second refused
  const sid2 = await pollSession('engine.io');
  const [first, second] = await Promise.all([
    get('engine.io', `transport=polling&sid=${sid2}`),
    sleep(5).then(() => get('engine.io', `transport=polling&sid=${sid2}&t=2`))]);
  assert.deepEqual([first.status, await first.text(), second.status], [200, '1', 400]);
  assert.equal((await get('engine.io', `transport=polling&sid=${sid2}`)).status, 400);
});

test('Engine.IO messages by websocket: text and binary frames echoed; a bad packet closes', async () => {
  const s = socket('engine.io');
  await s.next();
  s.send('4hello');
  assert.equal(await s.nextNotPing(), '4hello');
  s.send(Uint8Array.from([1, 2, 3, 4]));
  assert.deepEqual(await s.nextNotPing(), Buffer.from([1, 2, 3, 4]));
  s.send('abc');
  await s.closed;
});

test('Engine.IO heartbeat: pings every 300 ms; no pong within 200 ms ends the session', async () => {
  const sid = await pollSession('engine.io');
  for (let i = 0; i < 3; i++) {
    assert.equal(await (await get('engine.io', `transport=polling&sid=${sid}`)).text(), '2');
    assert.equal((await post('engine.io', `transport=polling&sid=${sid}`, '3')).status, 200);
  }
  const quiet = await pollSession('engine.io');
  await sleep(300 + 200 + 50);
  assert.equal((await get('engine.io', `transport=polling&sid=${quiet}`)).status, 400);
  const s = socket('engine.io');
  await s.next();
  for (let i = 0; i < 3; i++) {
    assert.equal(await s.next(), '2');
    s.send('3');
  }
  s.ws.close();
  const mute = socket('engine.io');
  const t0 = Date.now();
  await mute.closed;
  assert.ok(Date.now() - t0 < 1500, `closed after ${Date.now() - t0} ms`);
});

test('Engine.IO close: by polling the held GET is answered noop; by websocket the socket closes', async () => {
  const sid = await pollSession('engine.io');
  const [held] = await Promise.all([
    get('engine.io', `transport=polling&sid=${sid}`),
    sleep(5).then(() => post('engine.io', `transport=polling&sid=${sid}`, '1'))]);
  assert.deepEqual([held.status, await held.text()], [200, '6']);
  assert.equal((await get('engine.io', `transport=polling&sid=${sid}`)).status, 400);
  const s = socket('engine.io');
  await s.next();
  s.send('1');
  await s.closed;
});

test('Engine.IO upgrade: probe, noop to the poll, then the websocket alone; a second websocket is closed', async () => {
  const sid = await pollSession('engine.io');
  const s = socket('engine.io', `transport=websocket&sid=${sid}`);
  await s.opened;
  s.send('2probe');
  assert.equal(await s.next(), '3probe');
  assert.equal(await (await get('engine.io', `transport=polling&sid=${sid}`)).text(), '6');
  s.send('5');
  s.send('4hello');
  assert.equal(await s.nextNotPing(), '4hello');
  assert.equal((await get('engine.io', `transport=polling&sid=${sid}`)).status, 400);
  const again = socket('engine.io', `transport=websocket&sid=${sid}`);
  await again.closed;
  s.send('4still');
  assert.equal(await s.nextNotPing(), '4still');
  s.ws.close();
});

test('Socket.IO connect: main and custom namespaces, with and without auth; unknown namespace refused', async () => {
  for (const [connect, prefix, auth] of [['40', '40', {}], ['40{"token":"123"}', '40', { token: '123' }],
    ['40/custom,', '40/custom,', {}], ['40/custom,{"token":"abc"}', '40/custom,', { token: 'abc' }]]) {
    const s = await sioSocket(connect);
    const ok = await s.next();
    assert.ok(ok.startsWith(prefix), ok);
    assert.deepEqual(Object.keys(JSON.parse(ok.slice(prefix.length))), ['sid']);
    const nsp = prefix === '40' ? '' : '/custom,';
    assert.equal(await s.nextNotPing(), `42${nsp}["auth",${JSON.stringify(auth)}]`);
    s.ws.close();
  }
  const s = await sioSocket('40/random');
  assert.equal(await s.next(), '44/random,{"message":"Invalid namespace"}');
  s.ws.close();
});

test('Socket.IO closes a session that breaks the protocol or joins no namespace within the connect timeout', async () => {
  for (const bad of ['4abc', '42{}', '42abc["message-with-ack",1]']) {
    const s = await sioSocket('40');
    await s.next();
    await s.nextNotPing();
    s.send(bad);
    await s.closed;
  }
  const before = await sioSocket('4abc'); // an invalid handshake
  await before.closed;
  // pongs keep it alive, but it never connects: closed at about 1 s
  const idle = socket('socket.io');
  await idle.next();
  const t0 = Date.now();
  idle.nextNotPing();
  await idle.closed;
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 2000, `closed after ${took} ms`);
});

test('Socket.IO disconnect: from the main namespace the session stays; from a custom one the main still answers', async () => {
  const s = await sioSocket('40');
  await s.next();
  await s.nextNotPing();
  s.send('41');
  assert.equal(await s.next(), '2'); // the next thing heard is a ping
  s.ws.close();
  const c = await sioSocket('40');
  await c.next();
  await c.nextNotPing();
  c.send('40/custom');
  assert.ok((await c.nextNotPing()).startsWith('40/custom,'));
  await c.nextNotPing();
  c.send('41/custom');
  c.send('42/custom,["message","after leaving"]');
  await c.closed; // a packet for a namespace left breaks the protocol
  const d = await sioSocket('40');
  await d.next();
  await d.nextNotPing();
  d.send('40/custom');
  await d.nextNotPing();
  await d.nextNotPing();
  d.send('41/custom');
  d.send('42["message","to the main namespace"]');
  assert.equal(await d.nextNotPing(), '42["message-back","to the main namespace"]');
  d.ws.close();
});

test('Socket.IO messages: plain and with binary attachments, as events and as acks', async () => {
  const s = await sioSocket('40');
  await s.next();
  await s.nextNotPing();
  s.send('42["message",1,"2",{"3":[true]}]');
  assert.equal(await s.nextNotPing(), '42["message-back",1,"2",{"3":[true]}]');
  s.send('42456["message-with-ack",1,"2",{"3":[false]}]');
  assert.equal(await s.nextNotPing(), '43456[1,"2",{"3":[false]}]');
  const ph = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}';
  s.send(`452-["message",${ph}]`);
  s.send(Uint8Array.from([1, 2, 3]));
  s.send(Uint8Array.from([4, 5, 6]));
  assert.equal(await s.nextNotPing(), `452-["message-back",${ph}]`);
  assert.deepEqual(await s.nextNotPing(), Buffer.from([1, 2, 3]));
  assert.deepEqual(await s.nextNotPing(), Buffer.from([4, 5, 6]));
  s.send(`452-789["message-with-ack",${ph}]`);
  s.send(Uint8Array.from([1, 2, 3]));
  s.send(Uint8Array.from([4, 5, 6]));
  assert.equal(await s.nextNotPing(), `462-789[${ph}]`);
  assert.deepEqual(await s.nextNotPing(), Buffer.from([1, 2, 3]));
  assert.deepEqual(await s.nextNotPing(), Buffer.from([4, 5, 6]));
  // text where an attachment was awaited, a placeholder naming none
  s.send(`451-["message",${ph}]`);
  s.send('42["message"]');
  await s.closed;
  const t = await sioSocket('40');
  await t.next();
  await t.nextNotPing();
  t.send('451-["message",{"_placeholder":true,"num":3}]');
  t.send(Uint8Array.from([9]));
  await t.closed;
});

test('Socket.IO over polling: binary attachments go out as base64 packets', async () => {
  const sid = await pollSession('socket.io');
  const q = `transport=polling&sid=${sid}`;
  // what the polls bring until `want` shows, pings answered on the way
  const pollUntil = async (want) => {
    let got = '';
    while (!got.includes(want)) {
      const text = await (await get('socket.io', q)).text();
      if (text.split('\x1e').includes('2')) await post('socket.io', q, '3');
      got += text;
    }
    return got;
  };
  await post('socket.io', q, '40');
  await pollUntil('42["auth"');
  await post('socket.io', q, '451-["message",{"_placeholder":true,"num":0}]\x1ebAQID');
  assert.ok((await pollUntil('bAQID')).includes(
    '451-["message-back",{"_placeholder":true,"num":0}]\x1ebAQID'));
});

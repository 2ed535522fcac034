// The whole scale-out picture, real processes on 127.0.0.1: redis-server,
// coturn, two media nodes, two gateways on one store, and nginx in front
// (two listeners: one prefers gateway A, one gateway B, each falling back
// on the other). Three Chromium pages with mediasoup-client: ana and ben
// through the first nginx (gateway A), cleo through the second (gateway B).
//  1. media flows between all three, through the media node A placed the
//     call on;
//  2. that node gets SIGTERM: the call moves to the other node and every
//     page decodes both others again;
//  3. gateway A is killed: ana and ben reconnect through nginx (to B), join
//     again, B takes the call over, and the media never stopped.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const { start, tmpdir } = require('./lib/server');
const { nodeCalls } = require('./lib/internal');
const { startRedis } = require('./lib/redis');
const { startCoturn } = require('./lib/coturn');
const { startNginx } = require('./lib/nginx');
const { launch, until } = require('./lib/browser');
const { openPage, enter } = require('./lib/sfu-page');
const { cleanup } = require('./lib/cleanup');

const SECRET = 'turn-secret-of-the-full-cluster-test';

// Frames decoded per video consumer of the page's current session.
async function video(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const c of window.sfu.consumers.values()) {
      if (c.kind !== 'video' || c.closed) continue;
      let n = 0;
      try {
        (await c.getStats()).forEach((s) => { if (s.type === 'inbound-rtp') n = s.framesDecoded || 0; });
      } catch (e) { continue; }
      out.push(n);
    }
    return { frames: out, moves: window.moves, rejoins: window.rejoins };
  });
}
const json = async (url, opts) => (await fetch(url, opts)).json();
const decodingBoth = (v) => v.frames.length === 2 && v.frames.every((n) => n > 0);

test('nginx, two gateways, two media nodes, coturn: drain and gateway loss', { timeout: 240000 }, async (t) => {
  const atEnd = cleanup(t);
  const redis = await startRedis();
  atEnd(() => redis.stop());
  const turn = await startCoturn({ secret: SECRET });
  atEnd(() => turn.stop());
  const nodes = {};
  for (const id of ['media-1', 'media-2']) {
    nodes[id] = await start({ args: ['--role', 'media', '--redis', redis.url, '--node-id', id, '--drain-timeout', '5000'] });
    atEnd(() => nodes[id].stop());
  }
  const dir = tmpdir('meeshy-full-');
  const gw = {};
  for (const id of ['gw-a', 'gw-b']) {
    gw[id] = await start({
      args: ['--role', 'gateway', '--redis', redis.url, '--node-id', id, '--dev-auth', '--turn-servers', JSON.stringify([turn.uri])],
      env: { MEESHY_TURN_SECRET: SECRET }, dir,
    });
    atEnd(() => gw[id].stop()); // gw-a is killed by the test; stopped here if it failed first
  }
  const hostOf = (g) => g.url.replace('http://', '');
  const nginxA = await startNginx([hostOf(gw['gw-a'])], { backup: [hostOf(gw['gw-b'])] });
  atEnd(() => nginxA.stop());
  const nginxB = await startNginx([hostOf(gw['gw-b'])], { backup: [hostOf(gw['gw-a'])] });
  atEnd(() => nginxB.stop());
  for (const g of Object.values(gw)) {
    await until(async () => (await json(g.url + '/health')).mediaNodes >= 2, 'the gateways see both nodes', 10000);
  }

  // TURN credentials through nginx are what coturn takes
  const cred = await json(nginxA.url + '/api/turn-credentials', { headers: { authorization: 'Bearer ana' } });
  const uclient = await new Promise((resolve) => execFile('turnutils_uclient',
    ['-y', '-n', '3', '-u', cred.username, '-w', cred.password, '-p', String(turn.port), '127.0.0.1'],
    { timeout: 30000 }, (err) => resolve(err ? err.code || 1 : 0)));
  assert.equal(uclient, 0, 'coturn accepts the credentials handed out through nginx');

  const browser = await launch();
  atEnd(() => browser.close());
  const pages = {};
  let callId = null;
  for (const [name, via] of [['ana', nginxA], ['ben', nginxA], ['cleo', nginxB]]) {
    pages[name] = await openPage(browser, via.url, name);
    callId = await pages[name].evaluate(enter, { token: name, callId, conversationId: 'full', send: true, audio: true });
  }
  const all = Object.values(pages);
  for (const p of all) await until(async () => decodingBoth(await video(p)), 'every page decodes both others', 30000);
  const owner = (await json(gw['gw-a'].url + '/health')).activeCalls;
  assert.equal(owner, 1, 'gateway A holds the call (ana started it)');

  // 2. the call's media node drains
  let host = null;
  for (const [id, n] of Object.entries(nodes)) {
    if ((await nodeCalls(n.url)).some((c) => c.callId === callId)) host = id;
  }
  assert.ok(host, 'the call is on a media node');
  const t0 = Date.now();
  const exited = nodes[host].term();
  for (const p of all) {
    await until(async () => { const v = await video(p); return v.moves.length === 1 && decodingBoth(v); },
      'the page decodes both others on the other node', 20000);
  }
  const drainMs = Date.now() - t0;
  assert.equal(await exited, 0, 'the drained node exits cleanly');

  // 3. gateway A dies; its pages come back through nginx to B
  const before = await Promise.all(all.map(video));
  const t1 = Date.now();
  await gw['gw-a'].kill9();
  for (const name of ['ana', 'ben']) {
    await until(async () => (await video(pages[name])).rejoins.length === 1, `${name} joins again through nginx`, 30000);
  }
  const rejoinMs = Date.now() - t1;
  const rejoins = await Promise.all(['ana', 'ben'].map(async (n) => (await video(pages[n])).rejoins[0]));
  for (const r of rejoins) assert.ok(!r.failed && r.mode === 'sfu', JSON.stringify(r));
  assert.equal((await json(gw['gw-b'].url + '/health')).activeCalls, 1, 'gateway B holds the call now');
  await new Promise((r) => setTimeout(r, 2000));
  const after = await Promise.all(all.map(video));
  all.forEach((p, i) => after[i].frames.forEach((n, k) => assert.ok(n > before[i].frames[k], 'frames kept rising through the gateway loss')));
  console.log(`full cluster: drain ${host} -> all decoding again in ${drainMs} ms; gw-a killed -> ana and ben` +
    ` joined again through nginx in ${rejoinMs} ms (${rejoins.map((r) => r.tries).join('/')} tries); media never stopped`);
});

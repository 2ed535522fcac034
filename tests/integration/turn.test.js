// TURN with a real coturn (use-auth-secret): the credentials meeshy-call
// hands out at /api/turn-credentials and in the join ack are accepted by
// coturn (turnutils_uclient allocates and relays with them), and altered
// ones are refused. /api/region picks TURN servers by the client's country.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const { io } = require('socket.io-client');
const { start } = require('./lib/server');
const { startCoturn } = require('./lib/coturn');

const SECRET = 'turn-secret-for-the-tests-only';

function uclient(port, username, password) {
  return new Promise((resolve) => {
    execFile('turnutils_uclient', ['-y', '-n', '5', '-m', '1', '-u', username, '-w', password, '-p', String(port), '127.0.0.1'],
      { timeout: 30000 }, (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, out: stdout + stderr }));
  });
}

test('coturn accepts the credentials meeshy-call hands out', { timeout: 90000 }, async (t) => {
  const turn = await startCoturn({ secret: SECRET });
  t.after(() => turn.stop());
  const servers = JSON.stringify({ default: [turn.uri], EU: [turn.uri, 'turn:eu.example.net:3478'] });
  const srv = await start({ args: ['--dev-auth', '--turn-servers', servers, '--turn-ttl', '600'], env: { MEESHY_TURN_SECRET: SECRET } });
  t.after(() => srv.stop());

  const unauth = await fetch(srv.url + '/api/turn-credentials');
  assert.equal(unauth.status, 401, 'credentials need a token');
  const res = await fetch(srv.url + '/api/turn-credentials', { headers: { authorization: 'Bearer alice' } });
  assert.equal(res.status, 200);
  const cred = await res.json();
  const [expiry, user] = cred.username.split(':');
  assert.equal(user, 'alice');
  assert.equal(cred.ttl, 600);
  assert.ok(Math.abs(Number(expiry) - (Date.now() / 1000 + 600)) < 30, `expiry ${expiry} is ttl from now`);
  assert.deepEqual(cred.uris, [turn.uri]);

  const ok = await uclient(turn.port, cred.username, cred.password);
  assert.equal(ok.code, 0, `turnutils_uclient with our credentials:\n${ok.out.slice(-800)}`);
  assert.match(ok.out, /Total lost packets 0/);
  // coturn checks the HMAC: another user name with the same password fails
  const bad = await uclient(turn.port, `${expiry}:mallory`, cred.password);
  assert.notEqual(bad.code, 0, 'a credential for someone else is refused');
  assert.match(bad.out, /Cannot complete Allocation/);
  console.log(`coturn: allocation with ${cred.username} relayed 5 messages, 0 lost; a forged user was refused`);

  // the join ack carries the same kind of credentials
  const sock = io(srv.url, { auth: { token: 'bob' }, transports: ['websocket'] });
  t.after(() => sock.close());
  const ack = await sock.emitWithAck('call:initiate', { conversationId: 'turn', type: 'video' });
  assert.equal(ack.ok, true);
  const entry = ack.iceServers.find((s) => s.username);
  assert.ok(entry && entry.username.endsWith(':bob'), `a TURN entry for bob: ${JSON.stringify(ack.iceServers)}`);
  assert.equal((await uclient(turn.port, entry.username, entry.credential)).code, 0, 'the join ack credentials work');

  // region: by the CDN's country header; Europe has its own list
  const eu = await (await fetch(srv.url + '/api/region', { headers: { 'CF-IPCountry': 'FR' } })).json();
  assert.deepEqual(eu, { country: 'FR', continent: 'EU', turnServers: [turn.uri, 'turn:eu.example.net:3478'] });
  const none = await (await fetch(srv.url + '/api/region')).json();
  assert.deepEqual(none, { country: null, continent: 'default', turnServers: [turn.uri] });
});

test('TURN settings are checked at start', async () => {
  const { spawnSync } = require('node:child_process');
  const { BIN } = require('./lib/server');
  const r = spawnSync(BIN, ['--dev-auth', '--turn-servers', '["http://x"]'], { encoding: 'utf8', env: { ...process.env, MEESHY_TURN_SECRET: SECRET } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--turn-servers: '\["http:\/\/x"\]' is not a JSON array of turn:/);
  const r2 = spawnSync(BIN, ['--dev-auth', '--turn-servers', '["turn:a:3478"]'], { encoding: 'utf8', env: { ...process.env, MEESHY_TURN_SECRET: '' } });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /no TURN secret/);
});

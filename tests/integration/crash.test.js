// kill -9 during a call, then restart on the same database: every record
// the server acknowledged is still there, and the call the crash cut off is
// closed as "server-restart" instead of staying "active" forever.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { connect, ack, waitFor } = require('./lib/clients');

test('kill -9 mid-call loses no committed record', async (t) => {
  const first = await start({ args: ['--dev-auth'] });
  const a = await connect(first.url, 'alice', { transports: ['websocket'] });
  const b = await connect(first.url, 'bob', { conversations: ['conv-k'] });
  const init = await ack(a, 'call:initiate', { conversationId: 'conv-k', type: 'video' });
  assert.equal(init.ok, true);
  const id = init.callId;
  assert.equal((await ack(b, 'call:join', { callId: id })).ok, true);
  await waitFor(a, 'call:participant-joined');
  assert.equal((await ack(b, 'call:media-state', { callId: id, audio: false })).ok, true);
  const texts = [];
  for (let i = 0; i < 20; i++) {
    const text = `line ${i} of the meeting`;
    const r = await ack(i % 2 ? a : b, 'call:transcription', { callId: id, text, language: 'en', isFinal: true });
    assert.equal(r.ok, true);
    texts.push(text);
  }
  // acked means committed (the writes land before the ack leaves; the
  // media flags, which may wait 100 ms, landed with the transcriptions'):
  // crash now, with the call in full swing
  await first.kill9();
  a.close();
  b.close();

  const second = await start({ args: ['--dev-auth'], dir: first.dir });
  t.after(() => second.stop());
  const h = { authorization: 'Bearer alice' };
  const call = await (await fetch(`${second.url}/api/calls/${id}`, { headers: h })).json();
  assert.equal(call.call.id, id);
  assert.equal(call.call.conversationId, 'conv-k');
  assert.ok(call.call.startedAt, 'the call had started');
  assert.equal(call.call.status, 'ended');
  assert.equal(call.call.endReason, 'server-restart');
  assert.deepEqual(call.participants.map((p) => [p.userId, p.status]).sort(),
    [['alice', 'left'], ['bob', 'left']]);
  assert.equal(call.participants.find((p) => p.userId === 'bob').audioEnabled, false);
  const tr = await (await fetch(`${second.url}/api/calls/${id}/transcriptions`, { headers: h })).json();
  assert.deepEqual(tr.transcriptions.map((x) => x.text), texts);
  // and the restarted server takes new calls
  const c = await connect(second.url, 'carol', { transports: ['websocket'] });
  t.after(() => c.close());
  assert.equal((await ack(c, 'call:initiate', { conversationId: 'conv-k', type: 'audio' })).ok, true);
});

// kill -9 while the database is locked by another process: what the server
// acknowledged during the outage was only queued, and is in its journal
// (archive/queued-writes-<node>.journal, synced before each ack). The next
// start on the same folder lands it all, in order, before anything else.
test('kill -9 while the store cannot take writes loses no acked record: the journal lands them at the next start', { timeout: 60000 }, async (t) => {
  const path = require('node:path');
  const { spawn } = require('node:child_process');
  const first = await start({ args: ['--dev-auth'] });
  t.after(() => first.kill9());
  const a = await connect(first.url, 'alice', { transports: ['websocket'] });
  const b = await connect(first.url, 'bob', { transports: ['websocket'] });
  t.after(() => { a.close(); b.close(); });
  const locker = spawn('sqlite3', [path.join(first.dir, 'calls.db')], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => { if (locker.exitCode === null) locker.kill('SIGKILL'); });
  locker.stdin.write('BEGIN EXCLUSIVE;\nSELECT \'locked\';\n');
  await new Promise((res) => locker.stdout.once('data', res));

  const init = await ack(a, 'call:initiate', { conversationId: 'conv-j', type: 'video' });
  assert.equal(init.ok, true);
  const id = init.callId;
  assert.equal((await ack(b, 'call:join', { callId: id })).ok, true);
  await waitFor(a, 'call:participant-joined');
  const texts = [];
  for (let i = 0; i < 10; i++) {
    const text = `said during the outage ${i}`;
    assert.equal((await ack(i % 2 ? a : b, 'call:transcription', { callId: id, text, language: 'en', isFinal: true })).ok, true);
    texts.push(text);
  }
  assert.equal((await ack(b, 'call:leave', { callId: id })).ok, true);
  const h = await (await fetch(`${first.url}/health`)).json();
  assert.equal(h.checks.database, false);
  const m = await (await fetch(`${first.url}/metrics`)).text();
  const journaled = Number(m.match(/meeshy_db_journaled_writes_total (\d+)/)[1]);
  assert.ok(journaled >= 13, `journaled ${journaled}`);
  await first.kill9();
  a.close();
  b.close();
  locker.stdin.end('COMMIT;\n.quit\n');
  await new Promise((res) => locker.on('exit', res));

  const second = await start({ args: ['--dev-auth'], dir: first.dir });
  t.after(() => second.stop());
  assert.match(second.log(), /queued writes of a previous run found in .*queued-writes-meeshy-1\.journal/);
  const hdr = { authorization: 'Bearer alice' };
  const call = await (await fetch(`${second.url}/api/calls/${id}`, { headers: hdr })).json();
  assert.equal(call.call.id, id, JSON.stringify(call));
  assert.equal(call.call.endReason, 'server-restart'); // then closed by recovery
  assert.deepEqual(call.participants.map((p) => [p.userId, p.status]).sort(),
    [['alice', 'left'], ['bob', 'left']]);
  const tr = await (await fetch(`${second.url}/api/calls/${id}/transcriptions`, { headers: hdr })).json();
  assert.deepEqual(tr.transcriptions.map((x) => x.text), texts);
  const m2 = await (await fetch(`${second.url}/metrics`)).text();
  assert.match(m2, /meeshy_db_journal_replayed_writes [1-9]/);
  assert.match(m2, /meeshy_db_queued_writes 0\n/);
});

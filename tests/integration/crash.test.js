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

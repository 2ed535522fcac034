// The seed's load test, run by the real Artillery against meeshy-call:
// 480 virtual users in 10 s over websocket; none may fail.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { start } = require('./lib/server');
const { runArtillery } = require('./lib/artillery');

test('Artillery: the seed scenario with 0 errors', { timeout: 180000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const report = path.join(srv.dir, 'report.json');
  const out = await runArtillery(srv.url, path.join(__dirname, 'load-test.yml'), report);
  const agg = JSON.parse(fs.readFileSync(report, 'utf8')).aggregate;
  const c = agg.counters;
  const errors = Object.entries(c).filter(([k]) => k.startsWith('errors.'));
  console.log(`artillery: created ${c['vusers.created']}, completed ${c['vusers.completed']},` +
    ` failed ${c['vusers.failed'] || 0}, emits ${c['socketio.emit'] || 0},` +
    ` errors ${JSON.stringify(Object.fromEntries(errors))}`);
  assert.deepEqual(errors, [], out);
  assert.equal(c['vusers.failed'] || 0, 0);
  assert.equal(c['vusers.created'], 480);
  assert.equal(c['vusers.completed'], 480);
  assert.equal(c['socketio.emit'], 480 * 3);
  // the server saw them: every one authenticated through the event
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  const ok = Number(m.match(/meeshy_socketio_events_total\{outcome="ok"\} (\d+)/)[1]);
  const refused = Number(m.match(/meeshy_socketio_events_total\{outcome="error"\} (\d+)/)[1]);
  assert.equal(ok, 480); // authenticate
  assert.equal(refused, 960); // join and leave of calls that do not exist
});

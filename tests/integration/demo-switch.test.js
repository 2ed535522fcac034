// The demo page, three people: two talk peer to peer, the third joins and
// the server moves the call to its SFU; all three end up decoding each
// other's video through the SFU. When the third leaves, the two left go
// back to P2P. The switch time is printed.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { start } = require('./lib/server');
const { launch, until } = require('./lib/browser');
const { openDemo } = require('./lib/demo-page');

const stats = (page) => page.evaluate(() => window.meeshyStats());

// every other user's video is decoding on this page, in this mode
async function seesAll(page, others, mode) {
  const s = await stats(page);
  return s.mode === mode && others.every((u) => s.users[u] && s.users[u].frames > 0) ? s : null;
}

test('demo page: P2P for two, the SFU from the third, P2P again', { timeout: 180000 }, async (t) => {
  const srv = await start({ args: ['--dev-auth'] });
  t.after(() => srv.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const names = ['ana', 'ben', 'cleo'];
  const pages = {};
  for (const name of names) pages[name] = await openDemo(browser, srv.url, { name, conversation: 'demo-switch' });
  await pages.ana.click('#start');
  await until(() => pages.ana.evaluate(() => state.callId), 'ana in a call');
  await pages.ben.click('#join');
  await until(() => seesAll(pages.ana, ['ben'], 'p2p'), 'ana sees ben (P2P)');
  await until(() => seesAll(pages.ben, ['ana'], 'p2p'), 'ben sees ana (P2P)');

  const t0 = Date.now();
  await pages.cleo.click('#join');
  try {
    for (const name of names) {
      const others = names.filter((n) => n !== name);
      await until(() => seesAll(pages[name], others, 'sfu'), `${name} sees both others on the SFU`, 30000);
    }
  } catch (e) {
    // what each page had, for whoever reads the failure
    for (const name of names) {
      console.log(`${name}: ${JSON.stringify(await stats(pages[name]))}`);
      console.log(await pages[name].evaluate(() => [...document.querySelectorAll('#log li')]
        .slice(0, 20).map((l) => l.textContent.slice(0, 200)).join('\n')));
    }
    const m = await (await fetch(`${srv.url}/metrics`)).text();
    console.log(m.split('\n').filter((l) => l.startsWith('meeshy_media')).join('\n'));
    throw e;
  }
  const switchMs = Date.now() - t0;
  const before = await Promise.all(names.map((n) => stats(pages[n])));
  await new Promise((r) => setTimeout(r, 3000));
  for (const [i, name] of names.entries()) {
    const after = await stats(pages[name]);
    for (const u of names.filter((n) => n !== name)) {
      assert.ok(after.users[u].frames > before[i].users[u].frames, `${name}: video from ${u} keeps coming`);
    }
  }
  // on the SFU each remote video has its simulcast layer picker
  assert.equal(await pages.ana.locator('figure select').count(), 2);
  console.log(`P2P -> SFU: third join click -> all three decoding every other on the SFU in ${switchMs} ms`);

  const t1 = Date.now();
  await pages.cleo.click('#leave');
  await until(() => seesAll(pages.ana, ['ben'], 'p2p'), 'ana sees ben again (P2P)', 30000);
  await until(() => seesAll(pages.ben, ['ana'], 'p2p'), 'ben sees ana again (P2P)', 30000);
  console.log(`SFU -> P2P: leave click -> both decoding peer to peer in ${Date.now() - t1} ms`);
  const call = await (await fetch(`${srv.url}/api/conversations/demo-switch/calls?status=active`,
    { headers: { authorization: 'Bearer ana' } })).json();
  assert.equal(call.calls[0].mode, 'p2p');
});

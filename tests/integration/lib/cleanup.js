// What a test started, stopped when it ends: last started, first stopped
// (a gateway before the media nodes it uses, those before Redis), every
// one of them even when an earlier stop fails; the first failure then
// fails the test (a non-zero exit under AddressSanitizer is a leak).
'use strict';

function cleanup(t) {
  const stops = [];
  t.after(async () => {
    let first = null;
    for (const stop of stops.reverse()) {
      try { await stop(); } catch (e) { if (!first) first = e; }
    }
    if (first) throw first;
  });
  return (stop) => { stops.push(stop); };
}

module.exports = { cleanup };

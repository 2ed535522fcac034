// Work on items in batches: the items named in one tick go together, and
// those named while a batch is in flight wait for it, then go together in
// the next. batches(run) returns add(item), whose promise settles once the
// batch holding the item (and every one before it) is done; run(list)
// handles one batch.
//
// web/src/sfu-client.js consumes a joiner's producers this way (one
// renegotiation of the receive transport a batch), and so does
// bench/lib/participant.js, which joins as it does.
export function batches(run) {
  const pending = [];
  let draining = null;
  async function drain() {
    while (pending.length) await run(pending.splice(0));
    draining = null;
  }
  return (item) => {
    pending.push(item);
    // after this tick: the items named together go together
    if (!draining) draining = Promise.resolve().then(drain);
    return draining;
  };
}

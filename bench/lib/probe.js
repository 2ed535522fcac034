// A bench/media-probe process driven over JSON lines (see bench/media_probe.c),
// for sim/crosscheck.js and bench/load.js: cmd() writes a command; wait()
// resolves with the first event of that kind (and predicate) not taken yet,
// whether it came before the call or after. Each event is taken once.
'use strict';
const { spawn } = require('node:child_process');
const readline = require('node:readline');

// argv: the command line (a wrapper such as chrt or taskset, then the
// probe and its options). quietErrors: error details not worth printing.
function spawnProbe(argv, { quietErrors = null } = {}) {
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  const events = [];
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    const ev = JSON.parse(line);
    if (ev.event === 'error' && !(quietErrors && quietErrors.test(ev.detail))) console.error(`media-probe: ${ev.what}: ${ev.detail}`);
    const i = waiting.findIndex((w) => w(ev));
    if (i >= 0) waiting.splice(i, 1);
    else events.push(ev);
  });
  return {
    proc,
    cmd: (o) => proc.stdin.write(`${JSON.stringify(o)}\n`),
    wait: (event, pred = () => true, ms = 30000) => new Promise((resolve, reject) => {
      const i = events.findIndex((e) => e.event === event && pred(e));
      if (i >= 0) return resolve(events.splice(i, 1)[0]);
      const t = setTimeout(() => reject(new Error(`media-probe: no ${event} within ${ms} ms`)), ms);
      waiting.push((e) => {
        if (e.event !== event || !pred(e)) return false;
        clearTimeout(t);
        resolve(e);
        return true;
      });
    }),
    quit: () => new Promise((r) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return r();
      proc.once('exit', r);
      proc.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    }),
  };
}

module.exports = { spawnProbe };

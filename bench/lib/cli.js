// What the bench scripts (bench/load.js, bench/join.js, sim/crosscheck.js)
// share about how they run: their command line ("--name value" options and
// flags), whether they may start processes under a real-time policy, and
// running themselves again inside a network namespace of their own
// (unshare -n), so no media leaves the machine.
'use strict';
const { spawnSync, execFileSync } = require('node:child_process');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const flag = (name) => args.includes(name);

// Whether chrt may give a process SCHED_FIFO here (root, or the right to).
const realtimeAllowed = () => {
  try { execFileSync('chrt', ['-f', '10', 'true'], { stdio: 'ignore' }); return true; } catch { return false; }
};

// Runs this script again in a new network namespace after `setup` (shell
// commands: at least `ip link set lo up`), and exits with its status. In
// the namespace itself (marked by the env variable `mark`) it returns.
function inOwnNetns(setup, mark) {
  if (process.env[mark]) return;
  const r = spawnSync('unshare', ['-n', 'sh', '-c', `${setup} && exec "$0" "$@"`, process.execPath, process.argv[1], ...args],
    { stdio: 'inherit', env: { ...process.env, [mark]: '1' } });
  process.exit(r.status === null ? 1 : r.status);
}

module.exports = { args, opt, flag, realtimeAllowed, inOwnNetns };

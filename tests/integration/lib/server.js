// Starts a real meeshy-call on 127.0.0.1 (port chosen by the kernel) and
// hands back its URL; stop() sends SIGTERM, kill9() simulates a crash.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// What signs the media nodes' internal API in a test cluster (every process
// a test starts gets it, unless the test says otherwise).
const CLUSTER_SECRET = 'test-cluster-secret-0123456789';

const BIN = process.env.MEESHY_BIN ||
  path.resolve(__dirname, '../../../build/apps/meeshy-call/meeshy-call');

// A test's directories (store, archive, configs, logs) go when its process
// exits cleanly; a failing one keeps them, named on stderr, to be read.
const made = [];
process.on('exit', (code) => {
  if (code !== 0) {
    if (made.length) process.stderr.write(`kept for a look: ${made.join(' ')}\n`);
    return;
  }
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

function tmpdir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

// `wrap`: a command that execs the server (taskset, chrt), so it starts
// with their settings and its threads inherit them.
function start({ args = [], env = {}, dir, rtcListen = '127.0.0.1:0', wrap = [] } = {}) {
  dir = dir || tmpdir('meeshy-it-');
  const [cmd, ...pre] = [...wrap, BIN];
  const proc = spawn(cmd, [...pre, '--listen', '127.0.0.1:0', '--rtc-listen', rtcListen, '--db', path.join(dir, 'calls.db'),
    '--archive-dir', path.join(dir, 'archive'), ...args], {
    env: { ...process.env, MEESHY_INTERNAL_SECRET: CLUSTER_SECRET, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let crashed = false; // kill9() was called: no exit status to check
  proc.stderr.on('data', (d) => { log += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`meeshy-call did not start:\n${log}`)), 10000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`meeshy-call exited with ${code}:\n${log}`));
    });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/serving (http:\/\/[^/]+)\//);
      if (!m) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      resolve({
        url: m[1], proc, dir, log: () => log,
        // A clean shutdown exits 0; under AddressSanitizer a leak or a
        // memory error makes it non-zero, and the test fails.
        stop: () => new Promise((res, rej) => {
          if (proc.exitCode === 0 || crashed) return res(); // stopped by the test itself
          if (proc.exitCode !== null) return rej(new Error(`meeshy-call had already exited with ${proc.exitCode}:\n${log}`));
          proc.once('exit', (code, sig) => (code === 0 ? res()
            : rej(new Error(`meeshy-call exited with ${code ?? sig} on SIGTERM:\n${log}`))));
          proc.kill('SIGTERM');
        }),
        kill9: () => new Promise((res) => {
          crashed = true;
          if (proc.exitCode !== null || proc.signalCode !== null) return res();
          proc.once('exit', res);
          proc.kill('SIGKILL');
        }),
        // SIGTERM, resolving with the exit code (a media node drains first)
        term: () => new Promise((res) => { proc.once('exit', (code) => res(code)); proc.kill('SIGTERM'); }),
        exited: () => proc.exitCode !== null || proc.signalCode !== null,
      });
    });
  });
}

module.exports = { start, tmpdir, BIN, CLUSTER_SECRET };

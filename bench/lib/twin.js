// Starts bench/socketio-twin.js (the Node socket.io server ours is measured
// against) pinned to core 0, as bench/gateway.js and bench/artillery.js do.
'use strict';
const path = require('node:path');
const { spawn } = require('node:child_process');

async function startTwin() {
  const proc = spawn('taskset', ['-c', '0', process.execPath, path.join(__dirname, '..', 'socketio-twin.js')],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`socketio-twin exited with ${code}`)));
  });
  return {
    name: 'node', url: `http://127.0.0.1:${port}`, pid: proc.pid,
    stop: () => new Promise((r) => { proc.removeAllListeners('exit'); proc.once('exit', r); proc.kill('SIGTERM'); }),
  };
}

module.exports = { startTwin };

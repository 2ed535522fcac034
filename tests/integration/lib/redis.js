// Starts a real redis-server on a free port of 127.0.0.1, without
// persistence (a test's data dies with it). kill() stops it hard, as a
// crash would; start() again brings it back on the same port.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const net = require('node:net');

function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function startRedis() {
  const port = await freeTcpPort();
  let proc = null;
  const up = () => new Promise((resolve, reject) => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 10000);
    proc.stdout.on('data', (d) => {
      log += d;
      if (log.includes('Ready to accept connections')) { clearTimeout(timer); resolve(); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited with ${code}:\n${log}`)); });
  });
  await up();
  return {
    port, url: `redis://127.0.0.1:${port}`,
    // a command through redis-cli, its raw answer (lines) as a string
    cli: (...args) => execFileSync('redis-cli', ['-p', String(port), '--raw', ...args], { encoding: 'utf8' }).trim(),
    kill: () => new Promise((res) => { proc.removeAllListeners('exit'); proc.once('exit', res); proc.kill('SIGKILL'); }),
    start: up,
    stop: () => new Promise((res) => {
      if (proc.exitCode !== null || proc.signalCode) return res();
      proc.removeAllListeners('exit');
      proc.once('exit', res);
      proc.kill('SIGTERM');
    }),
  };
}

module.exports = { startRedis, freeTcpPort };

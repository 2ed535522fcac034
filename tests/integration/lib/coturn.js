// Starts a real coturn (turnserver) on 127.0.0.1 with the TURN REST API
// secret (use-auth-secret), as deploy/coturn/turnserver.conf configures it
// in production, plus what loopback tests need (allow-loopback-peers, no
// TLS). The secret goes in a config file, never on the command line.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { tmpdir } = require('./server');
const { freeUdpPort } = require('./lossy-udp');

async function startCoturn({ secret, realm = 'meeshy.test' }) {
  const dir = tmpdir('meeshy-turn-');
  const port = await freeUdpPort();
  const relayMin = 49152 + Math.floor(Math.random() * 10000);
  const conf = path.join(dir, 'turnserver.conf');
  fs.writeFileSync(conf, [
    'listening-ip=127.0.0.1', `listening-port=${port}`, 'relay-ip=127.0.0.1',
    `min-port=${relayMin}`, `max-port=${relayMin + 200}`,
    'use-auth-secret', `static-auth-secret=${secret}`, `realm=${realm}`,
    'no-tls', 'no-dtls', 'no-cli', 'allow-loopback-peers', 'fingerprint',
    'log-file=stdout', 'simple-log', `pidfile=${path.join(dir, 'turn.pid')}`,
    `userdb=${path.join(dir, 'turndb')}`, 'no-stun-backward-compatibility', '',
  ].join('\n'), { mode: 0o600 });
  const proc = spawn('turnserver', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`coturn did not start:\n${log}`)), 10000);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`coturn exited with ${code}:\n${log}`)); });
    const check = setInterval(() => {
      if (!log.includes('Total General servers')) return;
      clearInterval(check);
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      resolve();
    }, 50);
  });
  return {
    port, uri: `turn:127.0.0.1:${port}?transport=udp`, log: () => log,
    stop: () => new Promise((res) => {
      if (proc.exitCode !== null) return res();
      proc.once('exit', res);
      proc.kill('SIGTERM');
    }),
  };
}

module.exports = { startCoturn };

// Runs the real Artillery (node_modules) on a scenario against a URL, its
// telemetry off; resolves with its output once it exits 0, its JSON report
// written to `report`. `wrap` prefixes the command (e.g. taskset).
'use strict';
const path = require('node:path');
const { spawn } = require('node:child_process');

const bin = path.resolve(__dirname, '../../../node_modules/.bin/artillery');

function runArtillery(url, scenario, report, { wrap = [] } = {}) {
  const cmd = [...wrap, bin, 'run', '--quiet', '--target', url, '--output', report, scenario];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd[0], cmd.slice(1), {
      env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    p.stdout.on('data', (d) => { text += d; });
    p.stderr.on('data', (d) => { text += d; });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`artillery exited ${code}\n${text}`))));
  });
}

module.exports = { runArtillery };

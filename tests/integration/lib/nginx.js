// Starts a real nginx on a free port of 127.0.0.1 in front of the given
// gateways, with the proxy rules of deploy/nginx/meeshy-locations.conf
// (the file production includes) and the sticky upstream of nginx.conf.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { tmpdir } = require('./server');
const { freeTcpPort } = require('./redis');

const NGINX = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const LOCATIONS = path.resolve(__dirname, '../../../deploy/nginx/meeshy-locations.conf');

// backup: gateways nginx turns to only when the others fail (nginx allows
// that without ip_hash only: the sticky rule is then "the first that
// answers"), so a test can put clients on a gateway of its choosing.
async function startNginx(gateways, { backup = [] } = {}) {
  const dir = tmpdir('meeshy-nginx-');
  const port = await freeTcpPort();
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_processes 1;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream gateway {
${backup.length ? '' : '    ip_hash;'}
${gateways.map((g) => `    server ${g} max_fails=1 fail_timeout=2s;`).join('\n')}
${backup.map((g) => `    server ${g} backup;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    include ${LOCATIONS};
  }
}
`);
  const check = spawnSync(NGINX, ['-t', '-p', dir, '-c', conf], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t:\n${check.stderr}`);
  const proc = spawn(NGINX, ['-p', dir, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { await fetch(url + '/health'); break; } catch (e) { await new Promise((r) => setTimeout(r, 50)); }
  }
  return {
    url, port,
    log: () => fs.readFileSync(path.join(dir, 'error.log'), 'utf8'),
    stop: () => new Promise((res) => {
      if (proc.exitCode !== null) return res();
      proc.once('exit', res);
      proc.kill('SIGQUIT'); // graceful
    }),
  };
}

module.exports = { startNginx };

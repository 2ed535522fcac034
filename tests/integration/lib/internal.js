// The media nodes' internal API as a gateway calls it: every request signed
// with the cluster's secret (X-Meeshy-Auth, see signaling/internal_auth.h).
'use strict';
const crypto = require('node:crypto');
const { CLUSTER_SECRET } = require('./server');

// The header value for one request; t (ms) and nonce may be forced.
function credential(method, path, body = '', { secret = CLUSTER_SECRET, t = Date.now(), nonce } = {}) {
  const n = nonce || crypto.randomBytes(16).toString('hex');
  const s = crypto.createHmac('sha256', secret).update(`${t}\n${n}\n${method} ${path}\n${body}`).digest('hex');
  return `t=${t},n=${n},s=${s}`;
}

async function internal(nodeUrl, method, path, body, opts) {
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers = { 'x-meeshy-auth': credential(method, path, text, opts) };
  if (text) headers['content-type'] = 'application/json';
  const r = await fetch(nodeUrl + path, { method, headers, body: text || undefined });
  return { status: r.status, body: await r.json().catch(() => null) };
}

// The calls on a media node: [{callId, participants}]
async function nodeCalls(nodeUrl) {
  const r = await internal(nodeUrl, 'GET', '/internal/calls');
  if (r.status !== 200) throw new Error(`/internal/calls: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.calls;
}

module.exports = { credential, internal, nodeCalls };

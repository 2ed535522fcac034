// Real HS256 tokens, signed as the server verifies them.
'use strict';
const crypto = require('node:crypto');

function jwt(claims, secret, header = { alg: 'HS256', typ: 'JWT' }) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64(header)}.${b64(claims)}`;
  return `${head}.${crypto.createHmac('sha256', secret).update(head).digest('base64url')}`;
}

module.exports = { jwt };

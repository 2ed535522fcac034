// A translator service on 127.0.0.1 speaking meeshy-call's translator
// protocol (POST {text, from, to} -> {translation}), standing in for the
// real one (a model server, not something a test can run): it "translates"
// by tagging the text with the target language, and counts the requests
// it gets, so a test can tell a cached translation from a fresh one.
'use strict';
const http = require('node:http');

function startTranslator() {
  const requests = [];
  // delayMs: set it to make the service slow; hugeBytes: to make it answer
  // a translation that long, streamed (a service gone wrong, or hostile)
  const self = { delayMs: 0, hugeBytes: 0, hugeSent: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      let q;
      try { q = JSON.parse(body); } catch { q = null; }
      if (req.method !== 'POST' || !q || typeof q.text !== 'string' || !q.from || !q.to) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'want POST {text, from, to}' }));
        return;
      }
      requests.push(q);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        if (self.hugeBytes) return streamHuge(res);
        res.end(JSON.stringify({ translation: `[${q.to}] ${q.text}` }));
      }, self.delayMs);
    });
  });
  // {"translation":"aaaa..."} of hugeBytes, as fast as the reader takes it
  function streamHuge(res) {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let left = self.hugeBytes;
    res.on('error', () => {});
    res.write('{"translation":"');
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        left -= chunk.length;
        self.hugeSent += chunk.length;
        if (!res.write(chunk)) return res.once('drain', pump);
      }
      return res.end('"}');
    };
    pump();
  }
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      Object.assign(self, {
        url: `http://127.0.0.1:${server.address().port}/translate`,
        requests,
        stop: () => new Promise((res) => { server.closeAllConnections(); server.close(() => res()); }),
      });
      resolve(self);
    });
  });
}

module.exports = { startTranslator };

// Real socket.io-client sockets that record every event they receive, so a
// test can say what arrived where and, as important, what did not.
'use strict';
const { io } = require('socket.io-client');

async function connect(url, token, { transports, conversations, upgrade } = {}) {
  const auth = { token };
  if (conversations) auth.conversations = conversations;
  const opts = { auth, reconnection: false, forceNew: true, timeout: 5000 };
  if (transports) opts.transports = transports;
  if (upgrade === false) opts.upgrade = false;
  const s = io(url, opts);
  s.received = [];
  s.onAny((event, data) => s.received.push({ event, data }));
  await new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', reject);
  });
  return s;
}

function ack(s, event, data) {
  return s.timeout(5000).emitWithAck(event, data);
}

function waitFor(s, event, pred = () => true, ms = 5000) {
  const hit = s.received.find((r) => r.event === event && pred(r.data));
  if (hit) return Promise.resolve(hit.data);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      s.offAny(h);
      reject(new Error(`${event} did not arrive within ${ms} ms`));
    }, ms);
    const h = (ev, data) => {
      if (ev === event && pred(data)) {
        clearTimeout(t);
        s.offAny(h);
        resolve(data);
      }
    };
    s.onAny(h);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function names(s) {
  return s.received.map((r) => r.event);
}

module.exports = { connect, ack, waitFor, sleep, names };

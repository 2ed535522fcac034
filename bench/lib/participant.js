// One SFU participant as web/src/sfu-client.js joins (its request flow
// over a real socket.io-client: requests that do not wait on each other
// go together), its two transports run by two bench/media-probe processes
// (ICE, DTLS, SRTP, Opus and three VP8 simulcast layers): for
// sim/crosscheck.js and the media worker test.
//
//   join({ url, k, callIdRef, conversationId, probe, media, onAnswer })
//
// probe(kind) spawns a probe for 'send' or 'recv' (bench/lib/probe.js);
// media: { video_kbps, video_fps, audio_bytes, consume_layer }; onAnswer
// (event, us, inJoin) hears each request's emit -> ack time, and whether
// it was one of the join's own. Resolves once every producer known so far
// is consumed, with the participant: { k, user, socket, probes, rounds
// (requests so far), joinRounds (the join's own), gapsUs (the join's time
// between its last answer and its next request, none awaited: the
// client's own work), marks (µs, CLOCK_MONOTONIC), joinStartUs, callId }.
'use strict';
const path = require('node:path');
const { io } = require(path.resolve(__dirname, '../../node_modules/socket.io-client'));

const nowUs = () => Number(process.hrtime.bigint() / 1000n); // CLOCK_MONOTONIC, as the probe

async function join({ url, k, callIdRef, conversationId, probe, media, onAnswer = () => {} }) {
  const user = `xc-${k}`;
  const socket = io(url, { auth: { token: user, conversations: [conversationId] }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise((res, rej) => { socket.once('connect', res); socket.once('connect_error', rej); });
  // what sends and what receives, apart: a receiver never waits behind a
  // sender's frame burst
  const probes = { send: probe('send'), recv: probe('recv') };
  const fingerprint = {
    send: (await probes.send.wait('ready')).fingerprint,
    recv: (await probes.recv.wait('ready')).fingerprint,
  };
  const me = { k, user, socket, probes, rounds: 0, marks: {}, gapsUs: [] };
  let inFlight = 0;
  let answeredUs = 0; // the join's last answer, while none is awaited
  const req = async (event, data) => {
    const t0 = nowUs();
    if (answeredUs && !inFlight && me.joinRounds === undefined) me.gapsUs.push(t0 - answeredUs);
    inFlight++;
    const r = await socket.timeout(10000).emitWithAck(event, data);
    const t1 = nowUs();
    if (--inFlight === 0) answeredUs = t1;
    onAnswer(event, t1 - t0, me.joinRounds === undefined);
    me.rounds++;
    if (!r.ok) throw new Error(`${user}: ${event}: ${r.error.code}: ${r.error.message}`);
    return r;
  };
  const early = [];
  let consume = (p) => early.push(p);
  socket.on('media:new-producer', (d) => consume(d));

  me.joinStartUs = nowUs();
  const joined = callIdRef.id
    ? await req('call:join', { callId: callIdRef.id })
    : await req('call:initiate', { conversationId, type: 'video' });
  callIdRef.id = joined.callId;
  if (joined.mode !== 'sfu') throw new Error(`${user}: the call is in ${joined.mode} mode (want --sfu-from 1)`);
  const callId = joined.callId;
  me.callId = callId;
  const caps = await req('media:get-capabilities', { callId });
  const [send, recv] = await Promise.all(['send', 'recv'].map((direction) => req('media:create-transport', { callId, direction })));
  // id: 'send' or 'recv', the transport and the probe that runs it
  const connect = async (t, id) => {
    const dtls = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: fingerprint[id] }] };
    await req('media:connect-transport', { transportId: t.id, dtlsParameters: dtls });
    const c = t.iceCandidates[0];
    me.marks[`${id}-given`] = nowUs();
    probes[id].cmd({ cmd: 'transport', id, ufrag: t.iceParameters.usernameFragment, pwd: t.iceParameters.password, ip: c.ip, port: c.port, fingerprint: t.dtlsParameters.fingerprints[0].value });
    probes[id].wait('connected', (e) => e.id === id).then((e) => { me.marks[`${id}-secured`] = e.us; }, () => {});
  };

  // Receiving, as web/src/sfu-client.js: the producers known together are
  // consumed together (every media:consume at once, video first), the
  // receive transport connects on the first, then every resume at once
  let recvConnected = false;
  const asked = new Set();
  const consumeBatch = async (list) => {
    const fresh = list.filter((p) => !asked.has(p.producerId) && p.userId !== user);
    fresh.forEach((p) => asked.add(p.producerId));
    fresh.sort((a, b) => (b.kind === 'video') - (a.kind === 'video'));
    const answers = await Promise.all(fresh.map((p) => req('media:consume', { transportId: recv.id, producerId: p.producerId, rtpCapabilities: caps.rtpCapabilities })));
    if (answers.length && !recvConnected) {
      recvConnected = true;
      await connect(recv, 'recv');
    }
    await Promise.all(answers.map(async (r) => {
      await req('media:resume-consumer', { consumerId: r.id });
      if (r.kind !== 'video') return;
      if (!me.marks['video-resumed']) me.marks['video-resumed'] = nowUs();
      await req('media:set-preferred-layers', { consumerId: r.id, spatialLayer: media.consume_layer });
    }));
  };
  // producers announced meanwhile wait for the batch in flight, then go
  // together in the next
  const { batches } = await import(path.resolve(__dirname, '../../web/src/batches.mjs'));
  consume = batches(consumeBatch);
  let receiving = Promise.resolve();
  for (const p of [...caps.producers, ...early]) receiving = consume(p);

  // Sending, beside it: the send transport connects before its first
  // produce, as mediasoup-client does; video first
  await connect(send, 'send');
  const ssrc = 0x10000000 + k * 8;
  await req('media:produce', { transportId: send.id, kind: 'video', rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }], encodings: [1, 2, 3].map((i) => ({ ssrc: ssrc + i })) } });
  await req('media:produce', { transportId: send.id, kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc }] } });
  probes.send.cmd({ cmd: 'send', id: 'send', sender: k, audio: ssrc, video: [ssrc + 1, ssrc + 2, ssrc + 3], kbps: media.video_kbps, fps: media.video_fps, audio_bytes: media.audio_bytes });
  await receiving;
  me.joinRounds = me.rounds;
  // later producers (the next joiners') are consumed as they come
  return me;
}

module.exports = { join, nowUs };

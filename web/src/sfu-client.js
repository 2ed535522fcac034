// The browser side of the SFU with mediasoup-client: joins a call's media
// through meeshy-call's media:* events, sends the given tracks and receives
// everyone else's. Bundled by esbuild into sfu-client.js (global MeeshySfu).
import { Device } from 'mediasoup-client';
import { batches } from './batches.mjs';

function requester(socket) {
  return async (event, data) => {
    const r = await socket.timeout(10000).emitWithAck(event, data);
    if (!r.ok) throw new Error(`${event}: ${r.error.code}: ${r.error.message}`);
    return r;
  };
}

// The seed's three simulcast encodings: 1/4, 1/2 and full resolution.
export const SIMULCAST = [
  { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 500000 },
  { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 1000000 },
  { rid: 'r2', maxBitrate: 2500000 },
];

// Device.load() costs a browser 100-200 ms (it builds a peer connection to
// learn what it can send and receive), and every router of this server
// takes the same capabilities: a page loads its device once, ahead of a
// join with prepare(socket) when it can (when it connects), else in the
// first join, and keeps it.
let loaded = null; // { caps: JSON text, device: Promise<Device> }

function deviceFor(rtpCapabilities) {
  const caps = JSON.stringify(rtpCapabilities);
  if (!loaded || loaded.caps !== caps) {
    const device = new Device();
    const ready = device.load({ routerRtpCapabilities: rtpCapabilities }).then(() => device);
    loaded = { caps, device: ready };
    ready.catch(() => { if (loaded && loaded.device === ready) loaded = null; });
  }
  return loaded.device;
}

export async function prepare(socket) {
  const r = await requester(socket)('media:get-capabilities', {});
  return deviceFor(r.rtpCapabilities);
}

// onStep(name), if given, hears each step of the join as it completes (for
// bench/join.js's breakdown).
export async function join(socket, callId, { stream, onTrack, onTrackEnded, simulcast, videoCodec, onStep = () => {} } = {}) {
  const req = requester(socket);
  // producers announced while we set up are kept, not missed
  const early = [];
  let consume = (p) => early.push(p);
  const onNewProducer = (d) => { if (d.callId === callId) consume(d); };
  socket.on('media:new-producer', onNewProducer);
  const caps = await req('media:get-capabilities', { callId });
  onStep('capabilities');
  const device = await deviceFor(caps.rtpCapabilities);
  onStep('device-loaded');

  async function transport(direction) {
    const p = await req('media:create-transport', { callId, direction });
    const opts = { id: p.id, iceParameters: p.iceParameters, iceCandidates: p.iceCandidates, dtlsParameters: p.dtlsParameters };
    const t = direction === 'send' ? device.createSendTransport(opts) : device.createRecvTransport(opts);
    t.on('connectionstatechange', (state) => onStep(`${direction}-${state}`));
    t.on('connect', ({ dtlsParameters }, ok, fail) => {
      onStep(`${direction}-connect`);
      req('media:connect-transport', { transportId: t.id, dtlsParameters }).then(() => ok(), fail);
    });
    if (direction === 'send') {
      t.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
        req('media:produce', { transportId: t.id, kind, rtpParameters, appData })
          .then((r) => ok({ id: r.id }), fail);
      });
    }
    return t;
  }

  const [send, recv] = await Promise.all([transport('send'), transport('recv')]);
  onStep('transports');
  const consumers = new Map(); // producerId -> consumer
  const asked = new Set();

  // Producers are consumed in batches: every media:consume of a batch asked
  // at once, then every recv.consume() in the same tick, which
  // mediasoup-client answers with one renegotiation of the receive
  // transport, then every resume at once. Video first: it is what a joiner
  // waits for.
  async function consumeBatch(list) {
    const fresh = list.filter((p) => !asked.has(p.producerId));
    fresh.forEach((p) => asked.add(p.producerId));
    fresh.sort((a, b) => (b.kind === 'video') - (a.kind === 'video'));
    // one that fails (its producer closed meanwhile) leaves the others be
    const settled = async (promises) => (await Promise.allSettled(promises)).map((s) => {
      if (s.status === 'rejected') console.error(s.reason);
      return s.status === 'fulfilled' ? s.value : null;
    });
    const answers = await settled(fresh.map((p) => req('media:consume', { transportId: recv.id, producerId: p.producerId, rtpCapabilities: device.rtpCapabilities })));
    answers.forEach((r) => r && onStep(`consume-answered-${r.kind}`));
    const made = await settled(answers.map((r) => r && recv.consume({ id: r.id, producerId: r.producerId, kind: r.kind, rtpParameters: r.rtpParameters })));
    made.forEach((c) => c && onStep(`consumed-${c.kind}`));
    await settled(made.map(async (consumer, i) => {
      if (!consumer) return;
      consumer.appData.userId = fresh[i].userId;
      consumers.set(consumer.producerId, consumer);
      await req('media:resume-consumer', { consumerId: consumer.id });
      onStep(`resumed-${consumer.kind}`);
      if (onTrack) onTrack({ userId: fresh[i].userId, kind: consumer.kind, track: consumer.track, consumer });
    }));
  }
  // producers announced meanwhile wait for the batch in flight, then go
  // together in the next
  consume = batches(consumeBatch);
  // what the joiner receives starts before, and goes on beside, what it
  // sends: the two transports connect at the same time
  let receiving = Promise.resolve();
  for (const p of [...caps.producers, ...early]) receiving = consume(p);

  const onProducerClosed = (d) => {
    const c = consumers.get(d.producerId);
    if (!c) return;
    consumers.delete(d.producerId);
    c.close();
    if (onTrackEnded) onTrackEnded({ userId: d.userId, consumer: c });
  };
  socket.on('media:producer-closed', onProducerClosed);

  const producers = [];
  // video first, as for receiving
  const tracks = stream ? [...stream.getVideoTracks(), ...stream.getAudioTracks()] : [];
  for (const track of tracks) {
    // the page keeps its tracks: they go on to P2P if the call goes back
    const opts = { track, stopTracks: false };
    if (simulcast && track.kind === 'video') {
      opts.encodings = SIMULCAST;
      opts.codecOptions = { videoGoogleStartBitrate: 1000 };
    }
    if (videoCodec && track.kind === 'video') {
      // e.g. 'video/H264': the router forwards VP8 (its default) or H264
      opts.codec = device.rtpCapabilities.codecs.find((c) => c.mimeType.toLowerCase() === videoCodec.toLowerCase());
      if (!opts.codec) throw new Error(`${videoCodec} is not supported here`);
    }
    producers.push(await send.produce(opts));
    onStep(`produced-${track.kind}`);
  }
  await receiving;
  const close = () => {
    socket.off('media:new-producer', onNewProducer);
    socket.off('media:producer-closed', onProducerClosed);
    send.close();
    recv.close();
  };
  // which simulcast layer (0 lowest) this page receives of a producer
  const setLayer = (producerId, spatialLayer) => {
    const c = consumers.get(producerId);
    if (!c) throw new Error(`no consumer of ${producerId}`);
    return req('media:set-preferred-layers', { consumerId: c.id, spatialLayer });
  };
  return { device, send, recv, producers, consumers, close, setLayer };
}

// The browser side of the SFU with mediasoup-client: joins a call's media
// through meeshy-call's media:* events, sends the given tracks and receives
// everyone else's. Bundled by esbuild into sfu-client.js (global MeeshySfu).
import { Device } from 'mediasoup-client';

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

export async function join(socket, callId, { stream, onTrack, onTrackEnded, simulcast, videoCodec } = {}) {
  const req = requester(socket);
  // producers announced while we set up are kept, not missed
  const early = [];
  let consume = (p) => early.push(p);
  const onNewProducer = (d) => { if (d.callId === callId) consume(d); };
  socket.on('media:new-producer', onNewProducer);
  const caps = await req('media:get-capabilities', { callId });
  const device = new Device();
  await device.load({ routerRtpCapabilities: caps.rtpCapabilities });

  async function transport(direction) {
    const p = await req('media:create-transport', { callId, direction });
    const opts = { id: p.id, iceParameters: p.iceParameters, iceCandidates: p.iceCandidates, dtlsParameters: p.dtlsParameters };
    const t = direction === 'send' ? device.createSendTransport(opts) : device.createRecvTransport(opts);
    t.on('connect', ({ dtlsParameters }, ok, fail) => {
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

  const send = await transport('send');
  const recv = await transport('recv');
  const consumers = new Map(); // producerId -> consumer
  const asked = new Set();

  // one consume at a time: each renegotiates the receive transport
  let queue = Promise.resolve();
  consume = (p) => {
    queue = queue.then(() => consumeNow(p)).catch((e) => console.error(e));
    return queue;
  };

  async function consumeNow({ producerId, userId, kind }) {
    if (asked.has(producerId)) return;
    asked.add(producerId);
    const r = await req('media:consume', { transportId: recv.id, producerId, rtpCapabilities: device.rtpCapabilities });
    const consumer = await recv.consume({ id: r.id, producerId: r.producerId, kind: r.kind, rtpParameters: r.rtpParameters });
    consumer.appData.userId = userId;
    consumers.set(producerId, consumer);
    await req('media:resume-consumer', { consumerId: consumer.id });
    if (onTrack) onTrack({ userId, kind, track: consumer.track, consumer });
  }

  const onProducerClosed = (d) => {
    const c = consumers.get(d.producerId);
    if (!c) return;
    consumers.delete(d.producerId);
    c.close();
    if (onTrackEnded) onTrackEnded({ userId: d.userId, consumer: c });
  };
  socket.on('media:producer-closed', onProducerClosed);

  const producers = [];
  for (const track of stream ? stream.getTracks() : []) {
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
  }
  for (const p of [...caps.producers, ...early]) consume(p);
  await queue;
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

#!/usr/bin/env node
// The same small SFU call run twice: for real on loopback (meeshy-call, a
// socket.io-client per participant doing what mediasoup-client does, and
// bench/media-probe doing what the browser's transports do: ICE, DTLS,
// SRTP, Opus and three VP8 simulcast layers) and in meeshy-sim on the
// scenario sim/scenarios/crosscheck.json. Compares join time (join emitted
// until the first video packet from another participant) and forwarding
// latency (a packet's one-way delay through the SFU), and prints both.
//
//   node sim/crosscheck.js [--build DIR] [--out FILE.json] [--no-realtime]
//                          [--check]
//
// It prints the comparison and exits 0: agreement is a measurement, not a
// pass/fail (timings on a shared 2-core machine). --check (ctest
// sim_crosscheck) fails it when the run itself is broken: a participant
// that did not get every other's video, packets the probes could not
// read, keyframe requests never answered, either side without samples.
//
// Each participant's two transports are two probes, and they run
// SCHED_FIFO (chrt, as root) unless --no-realtime: the server above the
// receiving probes above the sending ones. On a 2-core machine that also
// runs every client, a receiver otherwise waits for a core while a
// sender's frame burst holds one, which the sim (every client on its own
// machine) does not have: video forwarding p50 measured 0.52 ms with one
// probe a participant and no priorities, 0.34 ms with priorities, 0.28 ms
// with the receiving side apart.
//
// What the real run measures that the sim takes as input is written out
// too (the gateway's answer time, the handshake time), so a difference can
// be traced to the piece that makes it.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { opt, flag } = require(path.join(root, 'bench/lib/cli'));
const build = path.resolve(opt('--build', path.join(root, 'build')));
const outPath = opt('--out', null);
const checking = flag('--check');
const realtime = !flag('--no-realtime') && (() => {
  try { execFileSync('chrt', ['-f', '10', 'true'], { stdio: 'ignore' }); return true; } catch { return false; }
})();
process.env.MEESHY_BIN = process.env.MEESHY_BIN || path.join(build, 'apps/meeshy-call/meeshy-call');
const { start } = require(path.join(root, 'tests/integration/lib/server'));
const { spawnProbe } = require(path.join(root, 'bench/lib/probe'));
const { join, nowUs } = require(path.join(root, 'bench/lib/participant'));

const scenarioPath = path.join(__dirname, 'scenarios/crosscheck.json');
const sc = JSON.parse(fs.readFileSync(scenarioPath, 'utf8'));
const N = sc.calls.participants;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// SCHED_FIFO priorities: the server's forwarding, then what receives it
const PRIO = { server: '20', recv: '15', send: '10' };

// --- a probe: one transport's media, JSON lines both ways ---
function probe(prio) {
  const bin = path.join(build, 'bench/media-probe');
  return spawnProbe(realtime ? ['chrt', '-f', prio, bin] : [bin]);
}

// --- one participant: the join as web/src/sfu-client.js makes it ---
const answerUs = []; // each request's emit -> ack, for the sim's gateway
const answerByEvent = {};
const handshakeUs = []; // ICE + DTLS: transport given to the probe -> SRTP up

async function participant(url, k, callIdRef, conversationId) {
  const me = await join({
    url, k, callIdRef, conversationId, media: sc.media,
    probe: (kind) => probe(kind === 'send' ? PRIO.send : PRIO.recv),
    onAnswer: (event, us) => {
      answerUs.push(us);
      (answerByEvent[event] = answerByEvent[event] || []).push(us / 1000);
    },
  });
  return me;
}

// Percentiles of several runs pooled from the quantiles each reports:
// every value of a part stands for an equal share of its n samples.
function pool(parts, scale = 1) {
  const all = [];
  for (const { values, n } of parts) for (const v of values) all.push([v * scale, n / values.length]);
  all.sort((x, y) => x[0] - y[0]);
  const total = all.reduce((t, [, w]) => t + w, 0);
  const pct = (q) => {
    let acc = 0;
    for (const [v, w] of all) { acc += w; if (acc >= q / 100 * total - 1e-9) return v; }
    return NaN;
  };
  return { samples: Math.round(total), p50: pct(50), p95: pct(95), p99: pct(99) };
}

// The probes' figures of `key` (101 quantiles each, in µs), in ms.
const pooled = (reports, key) => pool(reports.map((r) => ({ values: r[key].q || [], n: r[key].n })), 1 / 1000);

function pcts(v) {
  const s = [...v].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p / 100 * s.length) - 1))];
  return { samples: s.length, p50: at(50), p95: at(95), p99: at(99) };
}

// One call of N, each joining join_spacing_s after the one before, for
// call_s seconds; then each probe's report.
async function oneCall(url, c) {
  const parts = [];
  try {
    const callIdRef = {};
    for (let k = 0; k < N; k++) {
      parts.push(await participant(url, k, callIdRef, `crosscheck-${c}`));
      await sleep(sc.calls.join_spacing_s * 1000);
    }
    await sleep(sc.crosscheck.call_s * 1000 - N * sc.calls.join_spacing_s * 1000);
    const reports = []; // what each received
    const sent = []; // what each sent, and the keyframes asked of it
    for (const p of parts) {
      p.probes.recv.cmd({ cmd: 'report' });
      reports.push(await p.probes.recv.wait('report'));
      p.probes.send.cmd({ cmd: 'report' });
      sent.push(await p.probes.send.wait('report'));
    }
    for (const p of parts) {
      for (const id of ['send', 'recv']) {
        if (p.marks[`${id}-secured`]) handshakeUs.push(p.marks[`${id}-secured`] - p.marks[`${id}-given`]);
      }
    }
    const join = [];
    const steps = [];
    for (const [i, p] of parts.entries()) {
      const got = Object.keys(reports[i].first_video_us).filter((k) => Number(k) !== p.k);
      if (got.length !== N - 1) throw new Error(`call ${c}: ${p.user} received video from ${got.length} of ${N - 1} others`);
      // the first one in has no one to see yet (as in the sim)
      if (i > 0) {
        const first = Math.min(...got.map((k) => reports[i].first_video_us[k]));
        join.push((first - p.joinStartUs) / 1000);
        // where a join's time goes, from its start (ms)
        const at = (m) => (p.marks[m] ? +((p.marks[m] - p.joinStartUs) / 1000).toFixed(1) : null);
        steps.push({ recv_given: at('recv-given'), recv_secured: at('recv-secured'), video_resumed: at('video-resumed'), first_video: +((first - p.joinStartUs) / 1000).toFixed(1) });
      }
    }
    const probes = parts.map((p, i) => ({ user: p.user, rtp_in: reports[i].rtp_in, bad: reports[i].bad + sent[i].bad, rtp_out: sent[i].rtp_out, key_requests: sent[i].key_requests }));
    return { join, steps, reports, probes, rounds: parts.map((p) => p.rounds) };
  } finally {
    for (const p of parts) {
      p.socket.close();
      await p.probes.send.quit();
      await p.probes.recv.quit();
    }
  }
}

async function realRun() {
  const srv = await start({ args: ['--dev-auth', '--sfu-from', '1'] });
  if (realtime) execFileSync('chrt', ['-a', '-f', '-p', PRIO.server, String(srv.proc.pid)]);
  try {
    const join = [];
    const steps = [];
    const reports = [];
    const probes = [];
    let rounds;
    for (let c = 0; c < sc.crosscheck.calls; c++) {
      const r = await oneCall(srv.url, c);
      join.push(...r.join);
      steps.push(...r.steps);
      probes.push(...r.probes);
      reports.push(...r.reports);
      rounds = r.rounds;
    }
    return {
      join_ms: pcts(join),
      join_steps_ms: steps,
      forwarding_ms: { audio: pooled(reports, 'audio_oneway_us'), video: pooled(reports, 'video_oneway_us'), video_first: pooled(reports, 'video_first_oneway_us') },
      inputs: {
        gateway_answer_ms: { ...pcts(answerUs.map((u) => u / 1000)), mean: answerUs.reduce((a, b) => a + b, 0) / answerUs.length / 1000 },
        handshake_ms: pcts(handshakeUs.map((u) => u / 1000)),
        signaling_rounds: rounds,
        answer_by_event_ms: Object.fromEntries(Object.entries(answerByEvent).map(([e, v]) => [e, { ...pcts(v), mean: v.reduce((a, b) => a + b, 0) / v.length }])),
      },
      loopback_rtt_ms: pooled(reports, 'stun_rtt_us'),
      probes,
    };
  } finally {
    await srv.stop();
  }
}

// The scenario as the real run found this machine: a hop on loopback (half
// a STUN round trip to the server, less the harness's 0.01 ms from access
// router to core) is the clients' link delay; the gateway's service is
// exponential with the median of the answers, less their two hops, as its
// median (role all: requests also wait behind DTLS and media on the one
// loop, which the sim adds itself, so the mean of the answers would count
// that wait twice); the media node's and the clients' CPU costs are the
// calibration's (bench/media-cost).
const ACCESS_TO_CORE_MS = 0.01;
function simScenario(real) {
  const s = JSON.parse(JSON.stringify(sc));
  const hop = real.loopback_rtt_ms.p50 / 2;
  s.regions[0].delay_ms = Math.max(0.001, hop - ACCESS_TO_CORE_MS);
  s.gateway.service_ms = Math.max(0.01, (real.inputs.gateway_answer_ms.p50 - 2 * hop) / Math.LN2);
  s.duration_s = sc.crosscheck.call_s;
  delete s.crosscheck;
  return s;
}

// The sim runs' figures (their 5 % steps, cdf_5, in ms).
const pooledCdf = (parts) => pool(parts.map((p) => ({ values: p.cdf_5 || [], n: p.samples })));

// As the real calls, one after the other: one sim run per call, each with
// its own seed.
function simRun(real) {
  const s = simScenario(real);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meeshy-xc-'));
  fs.copyFileSync(path.join(__dirname, 'scenarios', s.media_node.calibration), path.join(dir, s.media_node.calibration));
  const runs = [];
  for (let c = 0; c < sc.crosscheck.calls; c++) {
    const file = path.join(dir, `call-${c}.json`);
    fs.writeFileSync(file, JSON.stringify({ ...s, seed: s.seed + c }, null, 2));
    runs.push(JSON.parse(execFileSync(path.join(build, 'sim/meeshy-sim'), [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })));
  }
  fs.rmSync(dir, { recursive: true });
  return {
    join_ms: pooledCdf(runs.map((o) => o.ms.join)),
    forwarding_ms: { audio: pooledCdf(runs.map((o) => o.sfu_oneway_ms.audio)), video: pooledCdf(runs.map((o) => o.sfu_oneway_ms.video)) },
    scenario: s,
    model: runs[0].media_node_cpu_model,
  };
}

function row(what, real, sim) {
  const diff = (sim - real) / real;
  return { what, real, sim, diff, within_20: Math.abs(diff) <= 0.2 };
}

// The run is sound (--check): each line says what it checked.
function check(real, sim) {
  const results = [];
  const ok = (what, cond, detail) => {
    results.push(cond);
    console.log(`${cond ? 'ok ' : 'BAD'} ${what}: ${detail}`);
  };
  const joins = sc.crosscheck.calls * (N - 1);
  ok('every joiner saw video', real.join_ms.samples === joins, `${real.join_ms.samples} of ${joins} joins measured`);
  ok('probes read every packet', real.probes.every((p) => p.bad === 0), real.probes.map((p) => p.bad).join(' '));
  ok('senders were asked for keyframes', real.probes.every((p) => p.key_requests > 0), real.probes.map((p) => p.key_requests).join(' '));
  ok('media forwarded both kinds', real.forwarding_ms.audio.samples > 0 && real.forwarding_ms.video.samples > 0,
    `${real.forwarding_ms.audio.samples} audio, ${real.forwarding_ms.video.samples} video samples`);
  ok('the sim measured the same', sim.join_ms.samples > 0 && sim.forwarding_ms.video.samples > 0,
    `${sim.join_ms.samples} joins, ${sim.forwarding_ms.video.samples} video samples`);
  const bad = results.filter((r) => !r).length;
  console.log(`${results.length - bad} passed, ${bad} failed`);
  return bad === 0;
}

(async () => {
  const real = await realRun();
  const sim = simRun(real);
  const rows = [
    row('join p50 (ms)', real.join_ms.p50, sim.join_ms.p50),
    row('join p95 (ms)', real.join_ms.p95, sim.join_ms.p95),
    row('forwarding, audio p50 (ms)', real.forwarding_ms.audio.p50, sim.forwarding_ms.audio.p50),
    row('forwarding, video p50 (ms)', real.forwarding_ms.video.p50, sim.forwarding_ms.video.p50),
    row('forwarding, video p95 (ms)', real.forwarding_ms.video.p95, sim.forwarding_ms.video.p95),
  ];
  console.log(`cross-check: ${sc.crosscheck.calls} SFU calls of ${N}, ${sc.crosscheck.call_s} s each, real on loopback${realtime ? ' (SCHED_FIFO: server, receiving, sending probes)' : ''} vs meeshy-sim (${path.basename(scenarioPath)})`);
  for (const r of rows) {
    console.log(`${r.within_20 ? 'within 20 %' : 'APART      '}  ${r.what.padEnd(28)} real ${r.real.toFixed(3).padStart(9)}  sim ${r.sim.toFixed(3).padStart(9)}  (${(r.diff * 100).toFixed(0)} %)`);
  }
  console.log(`real inputs: gateway answer p50 ${real.inputs.gateway_answer_ms.p50.toFixed(2)} ms, ICE+DTLS p50 ${real.inputs.handshake_ms.p50.toFixed(2)} ms, request round trips per join ${real.inputs.signaling_rounds.join(', ')}`);
  const model = sim.model;
  console.log(`sim inputs: link ${sim.scenario.regions[0].delay_ms.toFixed(3)} ms a hop, gateway service ${sim.scenario.gateway.service_ms.toFixed(2)} ms (mean, exponential); media node ${model.rx_us.toFixed(1)} us a 1200-byte packet in + ${model.tx_us.toFixed(1)} us a copy out (${model.rx_small_us.toFixed(1)} + ${model.tx_small_us.toFixed(1)} at 100 bytes), DTLS ${model.dtls_server_ms.toFixed(1)} ms server + ${model.dtls_client_ms.toFixed(1)} ms client`);
  const result = { participants: N, realtime, rows, real, sim: { join_ms: sim.join_ms, forwarding_ms: sim.forwarding_ms, scenario: sim.scenario, cpu_model: sim.model } };
  if (outPath) fs.writeFileSync(outPath, `${JSON.stringify(result, null, 2)}\n`);
  if (checking) process.exit(check(real, sim) ? 0 : 1);
  process.exit(0);
})().catch((e) => { console.error(`crosscheck: ${e.stack || e}`); process.exit(1); });

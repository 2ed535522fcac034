#!/usr/bin/env node
// The same small SFU call run twice: for real on loopback (meeshy-call, a
// socket.io-client per participant making the requests
// web/src/sfu-client.js makes, and bench/media-probe doing what the
// browser's transports do: ICE, DTLS, SRTP, Opus and three VP8 simulcast
// layers) and in meeshy-sim on the scenario sim/scenarios/crosscheck.json.
// Compares join time (join emitted until the first video packet from
// another participant) and forwarding latency (a packet's one-way delay
// through the SFU), and prints both.
//
//   node sim/crosscheck.js [--build DIR] [--out FILE.json] [--no-realtime]
//                          [--stored-costs] [--check]
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
// too (the loopback hop, a sleeping process's wake, a client's send of a
// packet, the gateway's answer time; and the handshake time and the
// server's own share of forwarding, from its /metrics, beside the sim's),
// so a difference can be traced to the piece that makes it. A delay ends
// at the kernel's stamp on the receiving socket (bench/media-probe), as in
// the sim: a receiving probe's own wait for a core is the rig's.
//
// The sim's CPU costs (a packet in, a copy out, a DTLS handshake) are
// measured in the same invocation, before the real run (bench/media-cost,
// pinned to one core, median of 3), not read from the stored
// sim/scenarios/calibration.json: this VM's speed moves from day to day
// (the same build priced a handshake at 2.9 ms on 2026-12-05 and 4.5 ms on
// 2026-12-07, a packet in at 0.98 and 1.64 us), and the real run pays
// today's. --stored-costs gives the sim the stored file instead.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { opt, flag, realtimeAllowed } = require(path.join(root, 'bench/lib/cli'));
const build = path.resolve(opt('--build', path.join(root, 'build')));
const outPath = opt('--out', null);
const checking = flag('--check');
const storedCosts = flag('--stored-costs');
const realtime = !flag('--no-realtime') && realtimeAllowed();
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
const joinAnswerUs = []; // the joins' own requests' (the sim's request_answer_ms)
const handshakeUs = []; // ICE + DTLS: transport given to the probe -> SRTP up
const gapUs = []; // a join's answer -> its next request

async function participant(url, k, callIdRef, conversationId) {
  const me = await join({
    url, k, callIdRef, conversationId, media: sc.media,
    probe: (kind) => probe(kind === 'send' ? PRIO.send : PRIO.recv),
    onAnswer: (event, us, inJoin) => {
      answerUs.push(us);
      if (inJoin) joinAnswerUs.push(us);
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

// pcts(v) and the mean (0 for none)
const pctsMean = (v) => ({ ...pcts(v), mean: v.reduce((a, b) => a + b, 0) / Math.max(1, v.length) });

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
      gapUs.push(...p.gapsUs);
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
    return { join, steps, reports, sent, probes, rounds: parts.map((p) => p.joinRounds) };
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
    const sent = [];
    const probes = [];
    let rounds;
    for (let c = 0; c < sc.crosscheck.calls; c++) {
      const r = await oneCall(srv.url, c);
      join.push(...r.join);
      steps.push(...r.steps);
      probes.push(...r.probes);
      reports.push(...r.reports);
      sent.push(...r.sent);
      rounds = r.rounds;
    }
    return {
      join_ms: pcts(join),
      join_steps_ms: steps,
      forwarding_ms: { audio: pooled(reports, 'audio_oneway_us'), video: pooled(reports, 'video_oneway_us'), video_first: pooled(reports, 'video_first_oneway_us') },
      inputs: {
        gateway_answer_ms: pctsMean(answerUs.map((u) => u / 1000)),
        handshake_ms: pcts(handshakeUs.map((u) => u / 1000)),
        join_answer_ms: pctsMean(joinAnswerUs.map((u) => u / 1000)),
        request_gap_ms: pctsMean(gapUs.map((u) => u / 1000)),
        signaling_rounds: rounds,
        answer_by_event_ms: Object.fromEntries(Object.entries(answerByEvent).map(([e, v]) => [e, pctsMean(v)])),
      },
      loopback_rtt_ms: pooled(reports, 'stun_rtt_us'),
      wake_ms: pooled(reports, 'wake_us'),
      send_us: pooled(sent, 'send_ns'),
      server_forward_ms: serverForward(await (await fetch(`${srv.url}/metrics`)).text()),
      probes,
    };
  } finally {
    await srv.stop();
  }
}

// The server's own share of forwarding (its histogram of a copy's time
// from the packet's arrival at its socket to the copy's send call), in ms:
// the count and the median, read linearly within its bucket.
function serverForward(metrics) {
  const name = 'meeshy_media_forward_delay_seconds';
  const buckets = [];
  for (const m of metrics.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm'))) {
    buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000, Number(m[2])]);
  }
  const n = buckets.length ? buckets[buckets.length - 1][1] : 0;
  let below = 0;
  let from = 0;
  for (const [le, count] of buckets) {
    if (count >= n / 2 && n > 0) {
      const p50 = le === Infinity ? from : from + (le - from) * (n / 2 - below) / Math.max(1, count - below);
      return { samples: n, p50 };
    }
    below = count;
    from = le;
  }
  return { samples: n, p50: NaN };
}

// The scenario as the real run found this machine (`costs`: the
// calibration the sim is given):
// - a process asleep when a packet reaches its socket reads it this much
//   later (the receiving probes' wait from the kernel's stamp: on this VM,
//   a halted vCPU waking), which the media node pays as its wake_us;
// - a hop on loopback is half a STUN round trip to the server (whose
//   answer paid that wake), less the harness's 0.01 ms from access router
//   to core: the clients' link delay;
// - a client's protect and send of a packet is what the sending probes
//   took a packet of a frame; on loopback a send that wakes its sleeping
//   receiver pays for that, which bench/media-cost's sends (to a socket
//   nobody waits on) do not, so the node's copies pay the same surcharge
//   over the calibration's protect and single send;
// - the client's own time between an answer and its next request is the
//   mean of the join's (the sum is what a join waits);
// - the gateway's service is exponential with the median of the answers,
//   less their two hops, as its median (role all: requests also wait
//   behind DTLS and media on the one loop, which the sim adds itself, so
//   the mean of the answers would count that wait twice).
const ACCESS_TO_CORE_MS = 0.01;
function simScenario(real, costs) {
  const s = JSON.parse(JSON.stringify(sc));
  const wake = real.wake_ms.p50;
  const hop = (real.loopback_rtt_ms.p50 - wake) / 2;
  s.media_node.wake_us = wake * 1000;
  s.regions[0].delay_ms = Math.max(0.001, hop - ACCESS_TO_CORE_MS);
  s.clients.tx_us = real.send_us.p50;
  s.clients.request_gap_ms = real.inputs.request_gap_ms.mean;
  const wakeSend = Math.max(0, real.send_us.p50 - costs.tx_us - costs.io_tx_single_us);
  s.media_node.tx_us = costs.tx_us + costs.io_tx_us + wakeSend;
  s.media_node.tx_small_us = costs.small.tx_us + costs.small.io_tx_us + wakeSend;
  s.gateway.service_ms = Math.max(0.01, (real.inputs.gateway_answer_ms.p50 - 2 * hop) / Math.LN2);
  s.duration_s = sc.crosscheck.call_s;
  delete s.crosscheck;
  return s;
}

// Each number the median of the runs' same field (the runs share a shape).
function medianOf(runs) {
  const first = runs[0];
  if (typeof first === 'number') {
    const v = [...runs].sort((a, b) => a - b);
    return v[(v.length - 1) >> 1];
  }
  if (first === null || typeof first !== 'object') return first;
  return Object.fromEntries(Object.keys(first).map((k) => [k, medianOf(runs.map((r) => r[k]))]));
}

// This machine's costs now (or the stored ones), also written as the
// sim's calibration file in `dir`.
const COST_RUNS = 3;
function machineCosts(dir) {
  let costs;
  if (storedCosts) {
    costs = JSON.parse(fs.readFileSync(path.join(__dirname, 'scenarios', sc.media_node.calibration), 'utf8'));
  } else {
    const runs = [];
    for (let i = 0; i < COST_RUNS; i++) {
      const file = path.join(dir, `media-cost-${i}.json`);
      execFileSync('taskset', ['-c', '0', path.join(build, 'bench/media-cost'), '--out', file], { stdio: 'ignore' });
      runs.push(JSON.parse(fs.readFileSync(file, 'utf8')));
    }
    costs = medianOf(runs);
    costs.what = `${costs.what}; median of ${COST_RUNS} runs by sim/crosscheck.js`;
  }
  fs.writeFileSync(path.join(dir, sc.media_node.calibration), `${JSON.stringify(costs, null, 2)}\n`);
  return costs;
}

// The sim runs' figures (their 5 % steps, cdf_5, in ms).
const pooledCdf = (parts) => pool(parts.map((p) => ({ values: p.cdf_5 || [], n: p.samples })));

// As the real calls, one after the other: one sim run per call, each with
// its own seed.
function simRun(real, costs, dir) {
  const s = simScenario(real, costs);
  const runs = [];
  for (let c = 0; c < sc.crosscheck.calls; c++) {
    const file = path.join(dir, `call-${c}.json`);
    fs.writeFileSync(file, JSON.stringify({ ...s, seed: s.seed + c }, null, 2));
    runs.push(JSON.parse(execFileSync(path.join(build, 'sim/meeshy-sim'), [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })));
  }
  return {
    join_ms: pooledCdf(runs.map((o) => o.ms.join)),
    forwarding_ms: { audio: pooledCdf(runs.map((o) => o.sfu_oneway_ms.audio)), video: pooledCdf(runs.map((o) => o.sfu_oneway_ms.video)) },
    server_forward_ms: pooledCdf(runs.map((o) => o.sfu_forward_ms)),
    join_answer_ms: pooledCdf(runs.map((o) => o.request_answer_ms)),
    join_secured_ms: pooledCdf(runs.map((o) => o.join_secured_ms)),
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
  ok('the probes measured their inputs', real.wake_ms.samples > 0 && real.send_us.samples > 0 && real.server_forward_ms.samples > 0,
    `${real.wake_ms.samples} wakes, ${real.send_us.samples} frames sent, ${real.server_forward_ms.samples} copies timed by the server`);
  ok('the sim measured the same', sim.join_ms.samples > 0 && sim.forwarding_ms.video.samples > 0,
    `${sim.join_ms.samples} joins, ${sim.forwarding_ms.video.samples} video samples`);
  const bad = results.filter((r) => !r).length;
  console.log(`${results.length - bad} passed, ${bad} failed`);
  return bad === 0;
}

// The table, then what each side measured and was given.
function printComparison(rows, real, sim) {
  console.log(`cross-check: ${sc.crosscheck.calls} SFU calls of ${N}, ${sc.crosscheck.call_s} s each, real on loopback${realtime ? ' (SCHED_FIFO: server, receiving, sending probes)' : ''} vs meeshy-sim (${path.basename(scenarioPath)})`);
  for (const r of rows) {
    console.log(`${r.within_20 ? 'within 20 %' : 'APART      '}  ${r.what.padEnd(28)} real ${r.real.toFixed(3).padStart(9)}  sim ${r.sim.toFixed(3).padStart(9)}  (${(r.diff * 100).toFixed(0)} %)`);
  }
  console.log(`real inputs: gateway answer p50 ${real.inputs.gateway_answer_ms.p50.toFixed(2)} ms, the client's gap before its next request p50 ${real.inputs.request_gap_ms.p50.toFixed(2)} ms (mean ${real.inputs.request_gap_ms.mean.toFixed(2)}), ICE+DTLS p50 ${real.inputs.handshake_ms.p50.toFixed(2)} ms, requests per join ${real.inputs.signaling_rounds.join(', ')}`);
  console.log(`the server's own share (arrival at its socket to the copy's send): real p50 ${real.server_forward_ms.p50.toFixed(3)} ms over ${real.server_forward_ms.samples} copies (its histogram, read within a bucket), sim ${sim.server_forward_ms.p50.toFixed(3)} ms`);
  const p50p95 = (x) => `p50 ${x.p50.toFixed(2)}, p95 ${x.p95.toFixed(2)} ms`;
  console.log(`a join's requests, sent to answered: real ${p50p95(real.inputs.join_answer_ms)} (${real.inputs.join_answer_ms.samples}), sim ${p50p95(sim.join_answer_ms)} (${sim.join_answer_ms.samples})`);
  const securedReal = pcts(real.join_steps_ms.map((x) => x.recv_secured).filter((x) => x !== null));
  console.log(`a join's start to its receiving transport secured: real ${p50p95(securedReal)}, sim ${p50p95(sim.join_secured_ms)}`);
  const model = sim.model;
  console.log(`sim inputs: link ${sim.scenario.regions[0].delay_ms.toFixed(3)} ms a hop, a sleeping core's wake ${sim.scenario.media_node.wake_us.toFixed(0)} us, a client's send ${sim.scenario.clients.tx_us.toFixed(1)} us a packet, gateway service ${sim.scenario.gateway.service_ms.toFixed(2)} ms (mean, exponential); ${storedCosts ? 'stored costs' : `costs measured now (media-cost, median of ${COST_RUNS})`}: media node ${model.rx_us.toFixed(1)} us a 1200-byte packet in + ${model.tx_us.toFixed(1)} us a copy out (${model.rx_small_us.toFixed(1)} + ${model.tx_small_us.toFixed(1)} at 100 bytes), DTLS ${model.dtls_server_ms.toFixed(1)} ms server + ${model.dtls_client_ms.toFixed(1)} ms client`);
}

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meeshy-xc-'));
  let real;
  let sim;
  try {
    const costs = machineCosts(dir);
    real = await realRun();
    sim = simRun(real, costs, dir);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
  const rows = [
    row('join p50 (ms)', real.join_ms.p50, sim.join_ms.p50),
    row('join p95 (ms)', real.join_ms.p95, sim.join_ms.p95),
    row('forwarding, audio p50 (ms)', real.forwarding_ms.audio.p50, sim.forwarding_ms.audio.p50),
    row('forwarding, video p50 (ms)', real.forwarding_ms.video.p50, sim.forwarding_ms.video.p50),
    row('forwarding, video p95 (ms)', real.forwarding_ms.video.p95, sim.forwarding_ms.video.p95),
  ];
  printComparison(rows, real, sim);
  const result = { participants: N, realtime, costs: storedCosts ? 'stored' : 'measured', rows, real, sim: { join_ms: sim.join_ms, forwarding_ms: sim.forwarding_ms, server_forward_ms: sim.server_forward_ms, join_answer_ms: sim.join_answer_ms, join_secured_ms: sim.join_secured_ms, scenario: sim.scenario, cpu_model: sim.model } };
  if (outPath) fs.writeFileSync(outPath, `${JSON.stringify(result, null, 2)}\n`);
  if (checking) process.exit(check(real, sim) ? 0 : 1);
  process.exit(0);
})().catch((e) => { console.error(`crosscheck: ${e.stack || e}`); process.exit(1); });

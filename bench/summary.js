#!/usr/bin/env node
// Summarises one bench/run.sh directory: summary.md (the headline figures
// with their ratios) and forwarded.svg (forwarded packets per CPU-second
// against subscribers: our SFU and Janus as meeshy-load measured them, and
// the raw relay as bench/media-cost prices it: unprotect once, protect and
// send a copy per subscriber, no routing).
//
//   node bench/summary.js DIR
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench/summary.js DIR (a bench/run.sh result)');
  process.exit(2);
}
const read = (f) => {
  const p = path.join(dir, f);
  return fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, 'utf8')) : null;
};
const median = (v) => {
  const s = v.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
const lines = [];
const out = (s = '') => lines.push(s);

// bench/media-cost, median of its runs
const costs = fs.readdirSync(dir).filter((f) => /^media-cost-\d+\.json$/.test(f)).map(read);
const med = (get) => median(costs.map(get));
const copy1200 = med((c) => c.tx_us + c.io_tx_us);
const copy100 = med((c) => c.small.tx_us + c.small.io_tx_us);
const raw1200 = med((c) => c.raw_relay_tx_us + c.io_tx_us);
const raw100 = med((c) => c.small.raw_relay_tx_us + c.small.io_tx_us);
const rawRx = med((c) => c.raw_relay_rx_us + c.io_rx_us);
out(`# Benchmarks of ${path.basename(dir)}`);
out();
out(`Machine: ${fs.existsSync(path.join(dir, 'machine.txt')) ? fs.readFileSync(path.join(dir, 'machine.txt'), 'utf8').trim() : 'unknown'}`);
out();
out(`## CPU per copy out, socket I/O included (bench/media-cost, median of ${costs.length})`);
out();
out('| | ours | raw relay | ours against the raw relay (its cost / ours) |');
out('|---|---|---|---|');
out(`| 1200 B | ${fmt(copy1200, 2)} us | ${fmt(raw1200, 2)} us | ${fmt(100 * raw1200 / copy1200)} % |`);
out(`| 100 B | ${fmt(copy100, 2)} us | ${fmt(raw100, 2)} us | ${fmt(100 * raw100 / copy100)} % |`);
out();

// meeshy-load: ours, Janus, and the raw relay when it ran
const load = read('load.json');
const series = [];
if (load) {
  out('## Subscribers of 1.5 Mbit/s streams, SFU on one core (bench/load.js)');
  out();
  const m = load.meeshy;
  const j = load.janus;
  const ratio = (a, b) => (a && b ? `${fmt(a / b, 1)}x` : '');
  if (m && j) {
    out('| | ours | Janus | ratio |');
    out('|---|---|---|---|');
    out(`| held, loss <= 0.5 % and p99 <= 5 ms | ${m.max_subscribers} | ${j.max_subscribers} | ${ratio(m.max_subscribers, j.max_subscribers)} |`);
    out(`| held, loss <= 0.5 % | ${m.max_subscribers_loss_only} | ${j.max_subscribers_loss_only} | ${ratio(m.max_subscribers_loss_only, j.max_subscribers_loss_only)} |`);
    const both = m.steps.filter((r) => r.subscribers > 0 && j.steps.some((x) => x.subscribers === r.subscribers));
    const at = both.length ? both[both.length - 1].subscribers : 0;
    if (at) {
      const a = m.steps.find((r) => r.subscribers === at).forwarded_per_cpu_s;
      const b = j.steps.find((r) => r.subscribers === at).forwarded_per_cpu_s;
      out(`| forwarded packets per CPU-second at ${at} subscribers | ${fmt(a)} | ${fmt(b)} | ${ratio(a, b)} |`);
    }
    out(`| RSS per subscription | ${fmt(m.rss_per_subscription_kb, 1)} kB | ${fmt(j.rss_per_subscription_kb, 1)} kB | |`);
    out(`| RSS per publishing participant (10 publishers) | ${fmt(m.rss_per_publisher_kb, 0)} kB | ${fmt(j.rss_per_publisher_kb, 0)} kB | |`);
  }
  const rl = load.relay;
  if (m && rl) {
    // ours against the raw relay (bench/raw-relay) at each step both ran
    out();
    out('| subscribers | ours, forwarded packets per CPU-second | raw relay | ours against the relay |');
    out('|---|---|---|---|');
    for (const r of m.steps.filter((x) => x.subscribers > 0)) {
      const x = rl.steps.find((y) => y.subscribers === r.subscribers);
      if (x) out(`| ${r.subscribers} | ${fmt(r.forwarded_per_cpu_s)} | ${fmt(x.forwarded_per_cpu_s)} | ${fmt((100 * r.forwarded_per_cpu_s) / x.forwarded_per_cpu_s)} % |`);
    }
    out(`| held, loss <= 0.5 % | ${m.max_subscribers_loss_only} | ${rl.max_subscribers_loss_only} | |`);
  }
  out();
  out('| subscribers | ours: loss, delay p50 / p99, socket in -> copy out p50 / p99 (<=), CPU | Janus: loss, delay p50 / p99, CPU |');
  out('|---|---|---|');
  const subs = [...new Set([...(m ? m.steps : []), ...(j ? j.steps : [])].map((r) => r.subscribers).filter((n) => n > 0))].sort((a, b) => a - b);
  // a bucket bound; past the last one JSON has null (Infinity)
  const le = (x) => (x === null || x === Infinity ? '> 25' : x);
  const cell = (r, own) => (r ? `${fmt(r.loss_pct, 2)} %, ${fmt(r.video_ms.p50, 2)} / ${fmt(r.video_ms.p99, 1)} ms, ${own && r.server_delay_ms ? `${le(r.server_delay_ms.p50_le)} / ${le(r.server_delay_ms.p99_le)} ms, ` : ''}${fmt(100 * r.server_cpu)} %` : '');
  for (const n of subs) {
    out(`| ${n} | ${cell(m && m.steps.find((r) => r.subscribers === n), true)} | ${cell(j && j.steps.find((r) => r.subscribers === n), false)} |`);
  }
  out();
  if (m) series.push({ name: 'ours (meeshy-load)', color: '#1f77b4', pts: m.steps.filter((r) => r.subscribers > 0).map((r) => [r.subscribers, r.forwarded_per_cpu_s]) });
  if (j) series.push({ name: 'Janus VideoRoom (meeshy-load)', color: '#d62728', pts: j.steps.filter((r) => r.subscribers > 0).map((r) => [r.subscribers, r.forwarded_per_cpu_s]) });
  if (rl) series.push({ name: 'raw relay (meeshy-load)', color: '#2ca02c', pts: rl.steps.filter((r) => r.subscribers > 0).map((r) => [r.subscribers, r.forwarded_per_cpu_s]) });
  if (m && Number.isFinite(raw1200)) {
    // As bench/media-cost prices a copy: its protect and send, plus 1/K
    // of its packet's receive (K subscribers a call). The raw relay and
    // ours on the same footing; the measured lines also pay for audio,
    // RTCP, consent checks, the gateway and the kernel's delivery into
    // hundreds of receiving sockets.
    const calls = load.meeshy.calls;
    const ourRx = med((c) => c.rx_us + c.io_rx_us);
    const priced = (tx, rx) => m.steps.filter((r) => r.subscribers > 0).map((r) => [r.subscribers, 1e6 / (tx + rx / (r.subscribers / calls))]);
    series.push({ name: 'raw relay, priced by media-cost (no routing)', color: '#2ca02c', dash: true, pts: priced(raw1200, rawRx) });
    series.push({ name: 'ours, priced by media-cost', color: '#1f77b4', dash: true, pts: priced(copy1200, ourRx) });
  }
}

// media workers: 1 vs 2, median of runs
const workers = { 1: [], 2: [] };
for (const f of fs.readdirSync(dir)) {
  const mm = f.match(/^workers-(\d)-\d+\.json$/);
  if (mm) workers[mm[1]].push(read(f).meeshy);
}
if (workers[1].length && workers[2].length) {
  out(`## Media workers, all on one core (median of ${Math.min(workers[1].length, workers[2].length)})`);
  out();
  out('| subscribers | 1 worker | 2 workers | ratio |');
  out('|---|---|---|---|');
  const subs = workers[1][0].steps.map((r) => r.subscribers).filter((n) => n > 0);
  for (const n of subs) {
    const v = (w) => median(workers[w].map((x) => (x.steps.find((r) => r.subscribers === n) || {}).forwarded_per_cpu_s));
    out(`| ${n} | ${fmt(v(1))} | ${fmt(v(2))} | ${fmt(v(2) / v(1), 2)} |`);
  }
  out();
}

// Chromium join
const join = read('join.json');
if (join) {
  out(`## Chromium join, last of three (bench/join.js, ${join.runs.length} calls): first frame p50 ${fmt(join.first_frame_p50_ms)} ms`);
  out();
  out('| step | ms after call:join (median) |');
  out('|---|---|');
  for (const r of join.median_steps) out(`| ${r.step} | ${fmt(r.ms)} |`);
  out();
}

// the plot
if (series.length) {
  const W = 720, H = 420, L = 80, R = 20, T = 30, B = 60;
  const xs = series.flatMap((s) => s.pts.map((p) => p[0]));
  const ys = series.flatMap((s) => s.pts.map((p) => p[1]));
  const xstep = 100 * Math.ceil(Math.max(...xs) / 100 / 8);
  const xmax = xstep * Math.ceil(Math.max(...xs) / xstep);
  const ystep = 50000 * Math.ceil((Math.max(...ys) * 1.3) / 50000 / 6);
  const ymax = ystep * Math.ceil((Math.max(...ys) * 1.3) / ystep);
  const X = (x) => L + (x / xmax) * (W - L - R);
  const Y = (y) => H - B - (y / ymax) * (H - T - B);
  const svg = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">Forwarded packets per CPU-second, SFU on one core</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 25}" text-anchor="middle">subscribers (10 calls)</text>`];
  for (let y = 0; y <= ymax; y += ystep) {
    svg.push(`<text x="${L - 6}" y="${Y(y) + 4}" text-anchor="end">${fmt(y / 1000)}k</text>`);
    svg.push(`<line x1="${L}" y1="${Y(y)}" x2="${W - R}" y2="${Y(y)}" stroke="#ddd"/>`);
  }
  for (let x = 0; x <= xmax; x += xstep) svg.push(`<text x="${X(x)}" y="${H - B + 16}" text-anchor="middle">${fmt(x)}</text>`);
  series.forEach((s, k) => {
    const d = s.pts.map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
    svg.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ' stroke-dasharray="6,4"' : ''}/>`);
    for (const p of s.pts) svg.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    svg.push(`<text x="${L + 10}" y="${T + 14 + 16 * k}" fill="${s.color}">${s.dash ? '- - ' : '— '}${s.name}</text>`);
  });
  svg.push('</svg>');
  fs.writeFileSync(path.join(dir, 'forwarded.svg'), `${svg.join('\n')}\n`);
  out('![forwarded packets per CPU-second](forwarded.svg)');
  out();
}
fs.writeFileSync(path.join(dir, 'summary.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));

#!/usr/bin/env python3
"""From instructions to time per named core: what a copy out, a packet in
and a DTLS handshake of our media path cost on a Pi 4, a Pi 5 or a
Graviton2, from bench/arm-cost.sh's instruction counts (docs/arm-cost.json)
and published per-core figures (bench/edge-cores.json).

    python3 bench/arm_model.py [--measure]

The model. A copy of B bytes is AES-128-CTR over its payload (B - 12) and
HMAC-SHA1 over the packet and its ROC (SHA-1 blocks: the inner hash's,
padding included, and the outer one), both in OpenSSL, plus everything
else (libsrtp's bookkeeping, the router). Each primitive's bytes cost the
cycles per byte published for the core on the code path OpenSSL picks
there; the rest is the counted instructions minus the primitives' (their
instructions per byte counted by bench/crypto-count), at the rate the
core runs integer code: its software SHA-1's, published cycles per byte
against our count of that code's instructions per byte. A DTLS handshake
(mbedTLS's bignum code) is all "rest". Socket I/O is the kernel's:
qemu-user counts none of it, so it is scaled from this machine's measured
figure by the two cores' integer rates (the same kernel instructions).

The check (--measure, on this machine, pinned, median of 3): the same
model fed with this machine's `openssl speed` of the two primitives,
under the capability vector qemu's "max" CPU shows OpenSSL (so native
code takes the path qemu counted), against bench/media-cost's measured
costs under that vector. Its figures go to docs/arm-model-x86.json; the
tables to docs/PERFORMANCE.md (between the arm-model markers) and the
capacity table to docs/edge.md; each box's predicted costs to
sim/scenarios/edge/<box>.json (calibration.json's form, for the
simulator's edge scenario) and docs/edge-capacity.json."""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COUNTS = os.path.join(ROOT, "docs", "arm-cost.json")
CORES = os.path.join(HERE, "edge-cores.json")
MEASURED = os.path.join(ROOT, "docs", "arm-model-x86.json")
PERF = os.path.join(ROOT, "docs", "PERFORMANCE.md")
EDGE = os.path.join(ROOT, "sim", "scenarios", "edge")  # the boxes' calibrations
BEGIN, END = "<!-- arm-model:begin -->", "<!-- arm-model:end -->"
EDGE_MD = os.path.join(ROOT, "docs", "edge.md")
EDGE_BEGIN, EDGE_END = "<!-- edge-capacity:begin -->", "<!-- edge-capacity:end -->"
HEADROOM = 1.3  # the plan's 30 %: a core is held to 1/1.3 of its time

# a call of four at the seed's rates: each participant publishes the three
# simulcast layers (0.5 + 1 + 2.5 Mbit/s) and Opus every 20 ms, and
# receives 1.5 Mbit/s of video in all (the seed's "1.5 Mbps (HD)" a
# participant: its three peers' low layers) and their audio. The two upper
# layers go to nobody: the router takes them on their headers, undecrypted
# (router_rtp_peek)
VIDEO_IN_PPS = 4.0e6 / 8 / 1200
LOW_IN_PPS = 0.5e6 / 8 / 1200
HD_OUT_PPS = 1.5e6 / 8 / 1200
AUDIO_PPS = 50
PEERS = 3


def aes_bytes(b):
    return b - 12


def sha_bytes(b):
    """HMAC-SHA1 of the packet and its 4-byte ROC: the inner hash's blocks
    (padding and length included) and the outer hash's one"""
    return 64 * (math.ceil((b + 4 + 9) / 64) + 1)


class Core:
    """seconds per byte of each primitive and the integer rate (instr/s)"""

    def __init__(self, aes_s, sha_s, int_rate):
        self.aes_s, self.sha_s, self.int_rate = aes_s, sha_s, int_rate

    def us(self, path, b, instr):
        """a packet's time: its primitives' bytes, then the rest"""
        rest = instr - aes_bytes(b) * path["aes_128_ctr_per_byte"] - \
            sha_bytes(b) * path["sha1_per_byte"]
        if rest < 0:  # the counts disagree: a path or a size mixed up
            sys.exit(f"arm-model: {instr} instructions for {b} B are fewer than its AES and SHA-1 bytes'")
        return 1e6 * (aes_bytes(b) * self.aes_s + sha_bytes(b) * self.sha_s + rest / self.int_rate)


def sh(cmd, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run(cmd, env=e, check=True, capture_output=True, text=True).stdout


def qemu_vector():
    """the capability vector OpenSSL sees under qemu-x86_64 -cpu max"""
    out = sh(["qemu-x86_64", "-cpu", "max", "/usr/bin/openssl", "version", "-c"])
    m = re.search(r"OPENSSL_ia32cap=(\S+)", out)
    if not m:
        sys.exit(f"arm-model: no capability vector in '{out.strip()}'")
    return m.group(1)


def speed(alg, env, tries=5):
    """bytes per second of one primitive, 16 KB blocks, one core: the
    best of a few one-second runs, as bench/media-cost keeps its fastest
    pass (on a shared machine the others measure the neighbours)"""
    best = 0
    for _ in range(tries):
        out = sh(["taskset", "-c", "1", "openssl", "speed", "-elapsed", "-evp", alg,
                  "-bytes", "16384", "-seconds", "1"], env)
        last = out.strip().splitlines()[-1].split()
        best = max(best, float(last[-1].rstrip("k")) * 1000)
    return best


def measure(runs=3):
    env = {"OPENSSL_ia32cap": qemu_vector()}
    media = os.path.join(ROOT, "build", "bench", "media-cost")
    tmp = os.path.join(ROOT, "build", "arm-model-media-cost.json")
    got = {"aes": [], "sha": [], "media": []}
    for i in range(runs):
        print(f"arm-model: measuring this machine, run {i + 1} of {runs}", file=sys.stderr)
        got["aes"].append(speed("aes-128-ctr", env))
        got["sha"].append(speed("sha1", env))
        sh(["taskset", "-c", "1", media, "--out", tmp], env)
        got["media"].append(json.load(open(tmp)))
    med = statistics.median
    pick = lambda f: med([f(m) for m in got["media"]])
    return {
        "what": "this machine under the capability vector of qemu-x86_64 -cpu max (bench/arm_model.py --measure), median of %d runs pinned to core 1" % runs,
        "cpu": sh(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).strip(),
        "openssl_ia32cap": env["OPENSSL_ia32cap"],
        "aes_128_ctr_bytes_per_s": med(got["aes"]), "sha1_bytes_per_s": med(got["sha"]),
        "1200": {k: pick(lambda m: m[k]) for k in ("rx_us", "tx_us", "rx_peek_us", "io_rx_us", "io_tx_us")},
        "100": {k: pick(lambda m: m["small"][k]) for k in ("rx_us", "tx_us", "rx_peek_us", "io_rx_us", "io_tx_us")},
        "dtls_both_ends_ms": pick(lambda m: m["dtls_server_ms"] + m["dtls_client_ms"]),
    }


def x86_core(paths, x86):
    sha = x86["sha1_bytes_per_s"]
    return Core(1 / x86["aes_128_ctr_bytes_per_s"], 1 / sha,
                paths["x86_64"]["sha1_per_byte"] * sha)


def named_core(paths, c):
    hz = c["ghz"] * 1e9
    return Core(c["aes_ctr_cpb"] / hz, c["sha1_cpb"] / hz,
                paths[c["int_path"]]["sha1_per_byte"] * hz / c["int_sha1_cpb"])


def costs(core, path, io, io_scale):
    """a packet in, a copy out (1200 and 100 B, socket I/O included) and
    the server's half of a handshake, in us; and the same as the
    simulator's media-node calibration (sim/scenarios/calibration.json's
    keys)"""
    r, cal = {}, {}
    for b in (1200, 100):
        n = path[str(b)]
        c = {"bytes": b, "rx_us": core.us(path, b, n["per_packet_in"]),
             "tx_us": core.us(path, b, n["per_copy_out"]),
             "io_rx_us": io[str(b)]["io_rx_us"] * io_scale,
             "io_tx_us": io[str(b)]["io_tx_us"] * io_scale}
        c["rx_peek_us"] = 1e6 * n["per_packet_peeked"] / core.int_rate
        r[b] = {"in": c["rx_us"] + c["io_rx_us"], "out": c["tx_us"] + c["io_tx_us"],
                "peek": c["rx_peek_us"] + c["io_rx_us"]}
        cal[b] = {k: round(v, 3) for k, v in c.items()}
    r["dtls_ms"] = path["dtls_handshake_both_ends"] / core.int_rate * 1e3 / 2
    calibration = dict(cal[1200], small=cal[100], dtls_server_ms=round(r["dtls_ms"], 3),
                       dtls_client_ms=round(r["dtls_ms"], 3))
    return r, calibration


def participant_us(r, peek=True):
    """CPU seconds (in us) a second of one participant in a call of four
    (peek=False: every layer decrypted, as before the router peeked)"""
    top = (VIDEO_IN_PPS - LOW_IN_PPS) * (r[1200]["peek"] if peek else r[1200]["in"])
    return (LOW_IN_PPS * r[1200]["in"] + top + AUDIO_PPS * r[100]["in"] +
            HD_OUT_PPS * r[1200]["out"] + PEERS * AUDIO_PPS * r[100]["out"])


def check_rows(paths, x86):
    core, p = x86_core(paths, x86), paths["x86_64"]
    rows, worst = [], 0
    for b in ("1200", "100"):
        for what, key, meas in (("a copy out", "per_copy_out", "tx_us"),
                                ("a packet in", "per_packet_in", "rx_us")):
            pred, got = core.us(p, int(b), p[b][key]), x86[b][meas]
            err = pred / got - 1
            worst = max(worst, abs(err))
            rows.append(f"| {b} B: {what} (us) | {p[b][key]:,} | {pred:.2f} | {got:.2f} | {err * 100:+.0f} % |")
    if "rx_peek_us" in x86["1200"]:  # measured since the router peeks
        pred, got = p["1200"]["per_packet_peeked"] / core.int_rate * 1e6, x86["1200"]["rx_peek_us"]
        err = pred / got - 1
        worst = max(worst, abs(err))
        rows.append(f"| 1200 B: a packet peeked at (us) | {p['1200']['per_packet_peeked']:,} | {pred:.3f} | "
                    f"{got:.3f} | {err * 100:+.0f} % |")
    pred = p["dtls_handshake_both_ends"] / core.int_rate * 1e3
    got = x86["dtls_both_ends_ms"]
    err = pred / got - 1
    worst = max(worst, abs(err))
    rows.append(f"| DTLS handshake, both ends (ms) | {p['dtls_handshake_both_ends'] / 1e6:.1f} M | {pred:.2f} | {got:.2f} | {err * 100:+.0f} % |")
    return rows, worst, core


PATH_NAMES = {
    "x86_64": 'x86-64 (qemu "max": AES-NI, AVX2; no SHA extensions)',
    "aarch64-ce": "aarch64, ARMv8 crypto extensions (Pi 5, Neoverse-N1)",
    "aarch64-neon": "aarch64, NEON only (Pi 4)",
    "armhf-ce": "armhf, crypto extensions (Pi 5 on a 32-bit OS)",
    "armhf-neon": "armhf, NEON only (Pi 4 on a 32-bit OS)",
}


def counts_md(paths):
    """docs/arm-cost.json as a table"""
    md = ["Instructions (bench/arm-cost.sh, docs/arm-cost.json):", "",
          "| path | 1200 B: a packet in | 1200 B: a copy out | a packet peeked at | 100 B: a packet in "
          "| 100 B: a copy out | DTLS handshake, both ends | AES-128-CTR per byte | SHA-1 per byte |",
          "|---|---|---|---|---|---|---|---|---|"]
    for name, p in paths.items():
        md.append(f"| {PATH_NAMES.get(name, name)} | {p['1200']['per_packet_in']:,} | {p['1200']['per_copy_out']:,} | "
                  f"{p['1200']['per_packet_peeked']:,} | "
                  f"{p['100']['per_packet_in']:,} | {p['100']['per_copy_out']:,} | "
                  f"{p['dtls_handshake_both_ends'] / 1e6:.1f} M | {p['aes_128_ctr_per_byte']:.2f} | "
                  f"{p['sha1_per_byte']:.2f} |")
    return md + [""]


def write(paths, cores, x86):
    rows, worst, xcore = check_rows(paths, x86)
    md = [BEGIN, "", *counts_md(paths),
          f"The model checked on this machine ({x86['cpu']}): `openssl speed` of",
          f"AES-128-CTR ({x86['aes_128_ctr_bytes_per_s'] / 1e6:,.0f} MB/s) and SHA-1 "
          f"({x86['sha1_bytes_per_s'] / 1e6:,.0f} MB/s) under qemu's capability vector, so the",
          "native code is the path qemu counted (no SHA extensions), against bench/media-cost's",
          "figures under the same vector; median of 3 runs pinned to one core:", "",
          "| | instructions | model | measured | error |", "|---|---|---|---|---|", *rows, "",
          f"Largest error: {worst * 100:.0f} % (the goal: within 30 %).", "",
          "Each named core (bench/edge-cores.json gives every figure's source). Socket I/O included,",
          f"scaled from this machine's measured {x86['1200']['io_tx_us']:.2f} us a copy and "
          f"{x86['1200']['io_rx_us']:.2f} us a packet in",
          "by the two cores' integer rates (the same kernel instructions).", "",
          "| core (OpenSSL path) | 1200 B copy out | 1200 B packet in | a packet peeked at | 100 B copy out | DTLS, server side | copies of 1200 B a second per core |",
          "|---|---|---|---|---|---|---|"]
    cap = ["", "Calls of four at the seed's rates: each participant publishes the three simulcast",
           "layers (4 Mbit/s) and Opus, and receives 1.5 Mbit/s of video (the seed's HD participant:",
           "its three peers' low layers) and their audio; the two upper layers go to nobody, and the",
           "router takes them on their headers without decrypting them (before it did, every layer was",
           "decrypted: the last column). A core held to "
           f"1/{HEADROOM} of its time (the plan's",
           "30 % headroom). The media runs on `--media-workers` loops (default: cores − 1, the last",
           "core left to signaling, DTLS handshakes and the store):", "",
           "| box | CPU a second per participant | HD participants, one media worker | HD participants, cores − 1 workers (the default) | the same, every layer decrypted |",
           "|---|---|---|---|---|"]
    out = {"x86_check": {"largest_error": worst}, "cores": {}}
    for c in cores["cores"]:
        core = named_core(paths, c)
        r, cal = costs(core, paths[c["path"]], x86, xcore.int_rate / core.int_rate)
        cal = dict(what=f"{c['name']}: predicted by bench/arm_model.py (do not edit: run it again)", **cal)
        json.dump(cal, open(os.path.join(EDGE, c["key"] + ".json"), "w"), indent=1)
        per = participant_us(r)
        one = 1e6 / HEADROOM / per
        many = one * (c["cores"] - 1)
        before = 1e6 / HEADROOM / participant_us(r, peek=False) * (c["cores"] - 1)
        md.append(f"| {c['name']} ({c['path']}) | {r[1200]['out']:.1f} us | {r[1200]['in']:.1f} us | "
                  f"{r[1200]['peek']:.2f} us | {r[100]['out']:.1f} us | {r['dtls_ms']:.1f} ms | "
                  f"{1e6 / r[1200]['out']:,.0f} |")
        cap.append(f"| {c['name']} | {per / 1e3:.1f} ms | {one:.0f} | {many:.0f} | {before:.0f} |")
        out["cores"][c["key"]] = {"us": {str(k): v for k, v in r.items()}, "participant_us_per_s": per,
                                  "participants_one_core": one, "participants_media_workers": many,
                                  "participants_media_workers_every_layer_decrypted": before}
    md += cap + ["", END]
    fill(PERF, BEGIN, END, md)
    fill(EDGE_MD, EDGE_BEGIN, EDGE_END, [EDGE_BEGIN, *cap, "", EDGE_END])
    print("\n".join(md))
    return out


def fill(path, begin, end, lines):
    """replaces the block from `begin` to `end` in the file"""
    text = open(path).read()
    if begin not in text or end not in text:
        sys.exit(f"arm-model: {path} has no '{begin}' ... '{end}' block")
    text = text[:text.index(begin)] + "\n".join(lines) + text[text.index(end) + len(end):]
    open(path, "w").write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--measure", action="store_true",
                    help="measure this machine first (about a minute)")
    a = ap.parse_args()
    paths = json.load(open(COUNTS))["paths"]
    for name, p in paths.items():
        if "sha1_per_byte" not in p:
            sys.exit(f"arm-model: {COUNTS} has no per-byte counts for {name}: run bench/arm-cost.sh")
    if a.measure:
        json.dump(measure(), open(MEASURED, "w"), indent=1)
    if not os.path.exists(MEASURED):
        sys.exit(f"arm-model: {MEASURED} is missing: run with --measure")
    out = write(paths, json.load(open(CORES)), json.load(open(MEASURED)))
    json.dump(out, open(os.path.join(ROOT, "docs", "edge-capacity.json"), "w"), indent=1)


if __name__ == "__main__":
    main()

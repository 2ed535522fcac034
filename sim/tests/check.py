#!/usr/bin/env python3
"""The harness checks itself (ctest sim_small): on the small scenario the
round trips it measures are the ones its links imply, and the same calls on
an overloaded media node breach the SLA. Usage: check.py MEESHY_SIM SCENARIOS"""
import json
import math
import os
import subprocess
import sys
import tempfile

sim, scenarios = sys.argv[1], sys.argv[2]
failed = []


def run(name):
    path = name if os.path.isabs(name) else f"{scenarios}/{name}"
    out = subprocess.run([sim, path], capture_output=True, text=True, timeout=240)
    if out.returncode != 0:
        sys.exit(f"meeshy-sim {name} exited {out.returncode}:\n{out.stderr}")
    with open(path) as f:
        return json.loads(out.stdout), json.load(f)


def near(what, got, want, tol):
    ok = abs(got - want) <= tol * want
    print(f"{'ok ' if ok else 'BAD'} {what}: {got:.2f} ms, expected {want:.2f} ms ±{tol:.0%}")
    if not ok:
        failed.append(what)


def check(what, cond, detail):
    print(f"{'ok ' if cond else 'BAD'} {what}: {detail}")
    if not cond:
        failed.append(what)


rep, sc = run("small.json")
d = sc["regions"][0]["delay_ms"]
dc = 0.25  # data-centre links of the harness (gateway, media nodes)
ms = rep["ms"]
# a peer-to-peer round trip crosses four access links
near("P2P RTT p50", ms["p2p_rtt"]["p50"], 4 * d, 0.10)
# through the SFU: four access links and four data-centre links
near("SFU RTT p50", ms["sfu_rtt"]["p50"], 4 * d + 4 * dc, 0.10)
# a signaling event, delivered and handled: one access link, the access
# router's uplink, one data-centre link, plus the gateway's service time
near("event p50", ms["event"]["p50"], d + dc + sc["gateway"]["service_ms"] * math.log(2), 0.25)
check("join samples", ms["join"]["samples"] >= 10, f"{ms['join']['samples']} joins measured")
check("mode switches", ms["mode_switch"]["samples"] >= 3, f"{ms['mode_switch']['samples']} switches to the SFU")
check("SLA met when not overloaded", rep["sla_pass"] is True, json.dumps({k: v.get("pass") for k, v in ms.items()}))
node = rep["media_nodes"][0]
check("no drops", node["dropped"] == 0, f"{node['dropped']} dropped, cpu {node['cpu']:.3f}")
# the CPU model is what the calibration says: per packet in and per copy
# out, the router's work plus the socket I/O, linear in the packet's size
# between the two calibrated sizes; each DTLS flight its server share
model = rep["media_node_cpu_model"]
with open(f"{scenarios}/calibration.json") as f:
    cal = json.load(f)
big, small = cal, cal["small"]
want = {"rx_us": big["rx_us"] + big["io_rx_us"], "tx_us": big["tx_us"] + big["io_tx_us"],
        "rx_small_us": small["rx_us"] + small["io_rx_us"], "tx_small_us": small["tx_us"] + small["io_tx_us"],
        "bytes": big["bytes"], "small_bytes": small["bytes"],
        "dtls_server_ms": cal["dtls_server_ms"], "dtls_client_ms": cal["dtls_client_ms"]}
check("calibration used", all(abs(model[k] - v) < 1e-9 for k, v in want.items()), json.dumps(model))
check("DTLS handshakes on the node's CPU", node["dtls_flights"] > 0, f"{node['dtls_flights']} flights")


def line(k):
    """cost(len) = a + b * len through the two calibrated sizes"""
    b = (model[k + "_us"] - model[k + "_small_us"]) / (model["bytes"] - model["small_bytes"])
    return model[k + "_small_us"] - b * model["small_bytes"], b


(ra, rb), (ta, tb) = line("rx"), line("tx")
busy = (node["packets_in"] * ra + node["bytes_in"] * rb + node["packets_out"] * ta + node["bytes_out"] * tb) / 1e6 \
    + node["dtls_flights"] * model["dtls_server_ms"] / 1e3
near("media node busy time", node["cpu"] * rep["duration_s"] * 1000, busy * 1000, 0.02)
# the node's own forwarding delay: unloaded, a video packet's is its CPU
# time alone (a packet in and a copy to each of the others), no queue
fwd = rep["sfu_forward_ms"]
one_copy = (model["rx_us"] + model["tx_us"]) / 1e3
check("forwarding delay is the CPU time when unloaded", one_copy <= fwd["p50"] <= 4 * one_copy,
      f"p50 {fwd['p50'] * 1e3:.2f} us, a packet in and one copy out {one_copy * 1e3:.2f} us")



def run_changed(change):
    """small.json run with change(scenario) applied; (report, stderr, exit)"""
    changed = json.loads(json.dumps(sc))
    changed["media_node"]["calibration"] = os.path.abspath(f"{scenarios}/calibration.json")
    change(changed)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(changed, f)
    out = subprocess.run([sim, f.name], capture_output=True, text=True, timeout=240)
    os.unlink(f.name)
    return (json.loads(out.stdout) if out.returncode == 0 else None), out.stderr, out.returncode


# a sleeping core (wake_us): unloaded, nearly every batch starts on an idle
# core, so its first packet waits the whole wake and those that come
# meanwhile (a frame's others) the rest of it
WAKE_US = 200
woke, _, _ = run_changed(lambda s: s["media_node"].update(wake_us=WAKE_US))
wfwd = woke["sfu_forward_ms"]
check("an idle core's wake is in the forwarding delay",
      WAKE_US / 2e3 <= wfwd["p50"] <= WAKE_US / 1e3 + 4 * one_copy and wfwd["p99"] >= WAKE_US / 1e3,
      f"p50 {wfwd['p50'] * 1e3:.1f} us, p99 {wfwd['p99'] * 1e3:.1f} us with wake_us {WAKE_US}, "
      f"p50 {fwd['p50'] * 1e3:.1f} us without")
_, why, code = run_changed(lambda s: s["media_node"].update(wake_us=-3))
check("a negative wake is refused, named", code == 2 and "wake_us -3" in why, why.strip())
# the client's own time between an answer and its next request: the
# join's signaling rounds after the first wait it (a p50 of ten joins:
# most of it)
GAP_MS = 20
gapped, _, _ = run_changed(lambda s: s.setdefault("clients", {}).update(request_gap_ms=GAP_MS))
added = gapped["ms"]["join"]["p50"] - ms["join"]["p50"]
rounds = sc["gateway"]["signaling_rounds"]
check("a client's gap between requests lengthens its join", added >= (rounds - 1) * GAP_MS * 0.75,
      f"join p50 {ms['join']['p50']:.1f} -> {gapped['ms']['join']['p50']:.1f} ms ({rounds} rounds, {GAP_MS} ms gaps)")
_, why, code = run_changed(lambda s: s.setdefault("clients", {}).update(request_gap_ms=-1))
check("a negative request gap is refused, named", code == 2 and "request_gap_ms -1" in why, why.strip())

# DTLS handshakes on a core of their own (handshake_core, the edge
# appliance's --dtls-threads): the media node's busy time is its packets'
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump(dict(sc, media_node=dict(sc["media_node"], handshake_core=True,
                                       calibration=os.path.abspath(f"{scenarios}/calibration.json"))), f)
hs, _ = run(f.name)
os.unlink(f.name)
hnode = hs["media_nodes"][0]
media_only = (hnode["packets_in"] * ra + hnode["bytes_in"] * rb + hnode["packets_out"] * ta +
              hnode["bytes_out"] * tb) / 1e6
check("handshakes off the media node", hnode["dtls_flights"] > 0, f"{hnode['dtls_flights']} flights")
near("media node busy time, handshakes elsewhere", hnode["cpu"] * hs["duration_s"] * 1000, media_only * 1000, 0.02)

# a calibration that knows the router's header-only path (rx_peek_us): the
# packets of layers nobody gets (consume_layer 1: layers 0 and 2) cost that
# and their socket read alone, and what is forwarded does not change
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump(dict(cal, rx_peek_us=0.05), f)
peek_cal = f.name
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump(dict(sc, media_node=dict(sc["media_node"], calibration=peek_cal)), f)
pk, _ = run(f.name)
os.unlink(f.name)
os.unlink(peek_cal)
pnode = pk["media_nodes"][0]
peek_us = 0.05 + cal["io_rx_us"]
check("layers nobody gets taken on their headers", pnode["packets_peeked"] > 0.3 * pnode["packets_in"],
      f"{pnode['packets_peeked']} of {pnode['packets_in']} packets in")
whole_in, whole_bytes = pnode["packets_in"] - pnode["packets_peeked"], pnode["bytes_in"] - pnode["bytes_peeked"]
busy = (whole_in * ra + whole_bytes * rb + pnode["packets_peeked"] * peek_us + pnode["packets_out"] * ta +
        pnode["bytes_out"] * tb) / 1e6 + pnode["dtls_flights"] * model["dtls_server_ms"] / 1e3
near("media node busy time, peeked packets at rx_peek_us", pnode["cpu"] * pk["duration_s"] * 1000, busy * 1000, 0.02)
check("the same copies forwarded", abs(pnode["packets_out"] - node["packets_out"]) <= 0.02 * node["packets_out"],
      f"{pnode['packets_out']} copies out, {node['packets_out']} when every packet is decrypted")

over, _ = run("small-overload.json")
onode = over["media_nodes"][0]
check("overloaded node saturates", onode["cpu"] > 0.75, f"cpu {onode['cpu']:.2f}")
check("overloaded node drops", onode["dropped"] > 0, f"{onode['dropped']} of {onode['packets_in']} dropped")
check("overload queues: forwarding p99 beyond 10 ms", over["sfu_forward_ms"]["p99"] > 10,
      f"p99 {over['sfu_forward_ms']['p99']:.1f} ms")
check("overload breaches the SFU RTT SLA", over["ms"]["sfu_rtt"]["pass"] is False,
      f"SFU RTT p95 {over['ms']['sfu_rtt'].get('p95')} ms")
check("P2P calls unaffected", over["ms"]["p2p_rtt"]["pass"] is True,
      f"P2P RTT p95 {over['ms']['p2p_rtt'].get('p95')} ms")
# the gateway's call rules, played: participants leave one a second, so a
# call of the SFU goes back to P2P when two remain and ends with the last
lv, lsc = run("small-leave.json")
check("back to P2P at two", lv["calls_back_to_p2p"] >= 3, f"{lv['calls_back_to_p2p']} calls moved back")
check("ended by the last leave", lv["calls_ended"] >= 3, f"{lv['calls_ended']} calls ended")
near("P2P RTT p50 with leaves", lv["ms"]["p2p_rtt"]["p50"], 4 * lsc["regions"][0]["delay_ms"], 0.10)

if failed:
    sys.exit(f"sim checks failed: {', '.join(failed)}")
print("sim checks: all passed")

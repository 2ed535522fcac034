#!/usr/bin/env python3
"""The harness checks itself (ctest sim_small): on the small scenario the
round trips it measures are the ones its links imply, and the same calls on
an overloaded media node breach the SLA. Usage: check.py MEESHY_SIM SCENARIOS"""
import json
import math
import subprocess
import sys

sim, scenarios = sys.argv[1], sys.argv[2]
failed = []


def run(name):
    out = subprocess.run([sim, f"{scenarios}/{name}"], capture_output=True,
                         text=True, timeout=240)
    if out.returncode != 0:
        sys.exit(f"meeshy-sim {name} exited {out.returncode}:\n{out.stderr}")
    with open(f"{scenarios}/{name}") as f:
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
# the CPU model is what the calibration says: rx per packet in, tx per copy out
model = rep["media_node_cpu_model"]
with open(f"{scenarios}/calibration.json") as f:
    cal = json.load(f)
check("calibration used", model == {"rx_us": cal["rx_us"], "tx_us": cal["tx_us"]}, json.dumps(model))
busy = (node["packets_in"] * model["rx_us"] + node["packets_out"] * model["tx_us"]) / 1e6
near("media node busy time", node["cpu"] * rep["duration_s"] * 1000, busy * 1000, 0.02)

over, _ = run("small-overload.json")
onode = over["media_nodes"][0]
check("overloaded node saturates", onode["cpu"] > 0.75, f"cpu {onode['cpu']:.2f}")
check("overloaded node drops", onode["dropped"] > 0, f"{onode['dropped']} of {onode['packets_in']} dropped")
check("overload breaches the SFU RTT SLA", over["ms"]["sfu_rtt"]["pass"] is False,
      f"SFU RTT p95 {over['ms']['sfu_rtt'].get('p95')} ms")
check("P2P calls unaffected", over["ms"]["p2p_rtt"]["pass"] is True,
      f"P2P RTT p95 {over['ms']['p2p_rtt'].get('p95')} ms")
if failed:
    sys.exit(f"sim checks failed: {', '.join(failed)}")
print("sim checks: all passed")

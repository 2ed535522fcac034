#!/usr/bin/env python3
"""Plans and regions (ctest sim_plan): on two metros 100 ms apart the P2P
round trip of peers in each is that plus their access links; and --search
on a small load returns a plan that a direct run confirms passes while the
same with one media node fewer fails. Usage: plan_check.py MEESHY_SIM SCENARIOS"""
import json
import os
import subprocess
import sys
import tempfile

sim, scenarios = sys.argv[1], os.path.join(sys.argv[2], "test")
failed = []


def meeshy_sim(*args):
    out = subprocess.run([sim, *args], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"meeshy-sim {' '.join(args)} exited {out.returncode}:\n{out.stderr}")
    return json.loads(out.stdout)


def check(what, cond, detail):
    print(f"{'ok ' if cond else 'BAD'} {what}: {detail}")
    if not cond:
        failed.append(what)


def path(name):
    return os.path.join(scenarios, name)


# 1. cross-region: 2 x 100 ms / 2 between the metros, 4 x 10 ms of access
with open(path("world-two.json")) as f:
    world = json.load(f)
inter = world["rtt_ms"][0][2]
access = world["access"]["line"]["rtt_ms"] / 2
rep = meeshy_sim(path("plan-two.json"), path("load-across.json"))
across = rep["across_regions"]["p2p_rtt"]
want = inter + 4 * access
got = across["p50"] or 0
check("cross-region P2P RTT p50", abs(got - want) <= 0.1 * want and across["samples"] > 100,
      f"{got:.1f} ms over {across['samples']} samples, expected {want:.1f} ms ±10%")
check("no P2P pair within a region", rep["by_region"]["ra"]["p2p_rtt"]["samples"] == 0,
      f"{rep['by_region']['ra']['p2p_rtt']['samples']} samples")

# 2. --search, then direct runs of what it found and of one node fewer
found = meeshy_sim(path("plan-slow.json"), path("load-groups.json"), "--search")
check("search found a plan", found["found"] is True, json.dumps(found["smallest"]["datacentres"]))
nodes = found["plan"]["datacentres"][0]["media_nodes"]
check("the found plan needs more than one node", nodes > 1, f"{nodes} media nodes")


def direct(media_nodes):
    plan = dict(found["plan"])
    plan["datacentres"] = [dict(plan["datacentres"][0], media_nodes=media_nodes)]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(plan, f)
    try:
        return meeshy_sim(f.name, path("load-groups.json"))
    finally:
        os.unlink(f.name)


ok = direct(nodes)
check(f"a direct run of {nodes} nodes passes", ok["plan_pass"] is True,
      f"sla {ok['sla_pass']}, busiest node {ok['headroom']['busiest_media_cpu_share']:.2f} of its cores")
less = direct(nodes - 1)
check(f"a direct run of {nodes - 1} fails", less["plan_pass"] is False,
      f"sla {less['sla_pass']}, busiest node {less['headroom']['busiest_media_cpu_share']:.2f} of its cores")

if failed:
    sys.exit(f"{len(failed)} check(s) failed: {', '.join(failed)}")
print("all plan checks passed")

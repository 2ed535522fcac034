#!/usr/bin/env python3
"""Plans and regions (ctest sim_plan): on two metros 100 ms apart the P2P
round trip of peers in each is that plus their access links; the SFU row a
plan is held to (sfu_rtt_near) counts exactly the pairs whose own path,
plus what direct pairs measured over theirs (or the load's
own_path_allowance_ms), is within P2P's SLA, and
counts against the plan the detour of such a pair through a far node; the load's same_metro_share is honoured; a relayed
P2P pair goes through its continent's TURN site, else the plan's first
(/api/region's rule), and pays that detour, and is held to the P2P SLA,
like an SFU pair, by its own path plus what direct pairs measured over
theirs; a load cut to one region (only_region) plays the whole load's
calls there, its row the whole run's; control messages lost on a lossy
access link are sent again and
every participant joins; --search
on a small load returns a plan that a direct run confirms passes while the
same with one media node fewer fails; and a search stopped mid-run (SIGTERM)
stops its runs and leaves no file, one killed outright (SIGKILL) leaves no
run behind. Usage: plan_check.py MEESHY_SIM SCENARIOS"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

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


def with_temp(obj, fn):
    """fn(a temporary JSON file of obj), the file gone after"""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(obj, f)
    try:
        return fn(f.name)
    finally:
        os.unlink(f.name)


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

# 2. one region over metros A and B 100 ms apart, a node at each, calls of
# four on the SFU, placed at the metro of most of their participants
def split(same_metro_share):
    with open(path("load-split.json")) as f:
        load = json.load(f)
    load["calls"]["same_metro_share"] = same_metro_share
    return with_temp(load, lambda name: meeshy_sim(path("plan-split.json"), name))


local = split(1)["ms"]
check("every participant in its call's metro: every pair within P2P's reach",
      local["sfu_rtt_near"]["share_of_pairs"] == 1 and local["sfu_rtt_near"]["pass"],
      f"share {local['sfu_rtt_near']['share_of_pairs']:.2f}, p95 {local['sfu_rtt_near']['p95']:.0f} ms")
spread = split(0)["ms"]
share = spread["sfu_rtt_near"]["share_of_pairs"]
# a pair in one metro, 40 ms apart, sent through the other metro's node:
# 40 + 2 x 100 ms, counted against the plan
detour = 4 * access + 2 * inter
check("participants spread over both metros: about half the pairs within reach",
      0.3 < share < 0.7, f"share {share:.2f}")
check("a near pair through the far node counts against the plan",
      spread["sfu_rtt_near"]["p95"] >= 0.9 * detour and not spread["sfu_rtt_near"]["pass"],
      f"p95 {spread['sfu_rtt_near']['p95']:.0f} ms, a detour is {detour:.0f} ms")

# 2a. a load that gives own_path_allowance_ms (one cut to a region, held
# to the whole load's) decides the pairs within reach with it: given 0, a
# pair's nominal own path decides (as many pairs as measured, or more);
# given more than the SLA, none is within reach; a negative one is
# refused, naming it
with open(path("load-split.json")) as f:
    load = json.load(f)
load["calls"]["same_metro_share"] = 0


def near_given(allowance):
    load["own_path_allowance_ms"] = allowance
    return with_temp(load, lambda name: meeshy_sim(path("plan-split.json"), name))["ms"]["sfu_rtt_near"]


none, nominal = near_given(1000), near_given(0)
check("a load's own-path allowance decides the pairs within reach",
      none["own_path_allowance_ms"] == 1000 and none["share_of_pairs"] == 0
      and nominal["own_path_allowance_ms"] == 0 and share <= nominal["share_of_pairs"] < 1,
      f"share given 1000 ms: {none['share_of_pairs']:.2f}, given 0: {nominal['share_of_pairs']:.2f}, "
      f"measured: {share:.2f}")
load["own_path_allowance_ms"] = -5
bad = with_temp(load, lambda name: subprocess.run([sim, path("plan-split.json"), name],
                                                  capture_output=True, text=True, timeout=60))
check("a negative own-path allowance is refused, named",
      bad.returncode == 2 and "own_path_allowance_ms -5" in bad.stderr, bad.stderr.strip())

# 2b. each region held on its own: calls of four in ra (metro A) and a few
# in rb (metro B), a node at A only, no call drawn for sampling; rb's calls
# are played packet by packet all the same (a region's own samples), its
# SFU pairs pay the detour through A and fail, ra passes, and so the plan
# fails, whatever the pooled rows say
with open(path("load-groups.json")) as f:
    groups = json.load(f)
groups.update(duration_s=5, participants_by_region={"ra": 0.9, "rb": 0.1})
groups["calls"]["count"] = 30
groups["media"]["sample_share"] = 0
regions = with_temp(groups, lambda name: meeshy_sim(path("plan-two.json"), name))
ra, rb = (regions["by_region"][r] for r in ("ra", "rb"))
check("a region's calls sampled though none was drawn",
      rb["sfu_rtt_near"]["samples"] > 0 and regions["sampled_calls"] < groups["calls"]["count"],
      f"rb: {rb['sfu_rtt_near']['samples']} SFU samples; {regions['sampled_calls']} of "
      f"{groups['calls']['count']} calls sampled")
check("a plan is held to each region: rb through A fails, ra passes, the plan fails",
      rb["plan_pass"] is False and ra["plan_pass"] is True and regions["plan_pass"] is False
      and (rb["sfu_rtt_near"]["p95"] or 0) >= 0.9 * detour,
      f"rb p95 {rb['sfu_rtt_near']['p95'] or 0:.0f} ms (a detour is {detour:.0f} ms), "
      f"ra p95 {ra['sfu_rtt_near']['p95'] or 0:.0f} ms; pooled sfu_rtt_near "
      f"{'pass' if regions['ms']['sfu_rtt_near']['pass'] else 'fail'}")

# 2c. the same load cut to rb (only_region, the whole run's allowance):
# the whole load's calls with a participant in rb, drawn as it draws them,
# so rb's row is the whole run's; only rb is reported; a region the world
# does not have is refused, named
cut = dict(groups, only_region="rb",
           own_path_allowance_ms=regions["ms"]["sfu_rtt_near"]["own_path_allowance_ms"])
alone = with_temp(cut, lambda name: meeshy_sim(path("plan-two.json"), name))
rb_alone = alone["by_region"].get("rb", {}).get("sfu_rtt_near", {})
check("a load cut to a region plays the whole load's calls there: its row is the whole run's",
      list(alone["by_region"]) == ["rb"] and alone["calls"] < regions["calls"]
      and rb_alone.get("samples") and abs(rb_alone["samples"] - rb["sfu_rtt_near"]["samples"])
      <= 0.05 * rb["sfu_rtt_near"]["samples"]
      and abs((rb_alone["p95"] or 0) - rb["sfu_rtt_near"]["p95"]) <= 0.05 * rb["sfu_rtt_near"]["p95"],
      f"{alone['calls']} of {regions['calls']} calls; rb: {rb_alone.get('samples')} samples, p95 "
      f"{rb_alone.get('p95') or 0:.0f} ms (whole run: {rb['sfu_rtt_near']['samples']}, "
      f"{rb['sfu_rtt_near']['p95']:.0f} ms); regions reported {list(alone['by_region'])}")
cut["only_region"] = "rc"
bad = with_temp(cut, lambda name: subprocess.run([sim, path("plan-two.json"), name],
                                                 capture_output=True, text=True, timeout=60))
check("a cut to a region the world lacks is refused, named",
      bad.returncode == 2 and '"rc"' in bad.stderr, bad.stderr.strip())

# 3. TURN: every participant relayed, two-person calls within region rb
# (metro B); a TURN site at A only (the default for a continent without
# one), then at B too (rb's own)
def turn_plan(turn_at_b):
    """plan-turn.json, its paths made absolute, TURN at B or not"""
    with open(path("plan-turn.json")) as f:
        plan = json.load(f)
    plan["world"] = os.path.abspath(path(plan["world"]))
    plan["media_node"]["calibration"] = os.path.abspath(path(plan["media_node"]["calibration"]))
    plan["datacentres"][1]["turn"] = turn_at_b
    return plan


def relayed(turn_at_b):
    return with_temp(turn_plan(turn_at_b), lambda name: meeshy_sim(name, path("load-relayed.json")))


for turn_at_b, want in ((0, 4 * access + 2 * inter), (1, 4 * access)):
    rep = relayed(turn_at_b)
    r = rep["ms"]["p2p_relayed_near"]
    used = [d["name"] for d in rep["datacentres"] if d["relayed_packets"]]
    check(f"relayed P2P, TURN at {'A and B' if turn_at_b else 'A only'}: through {want:.0f} ms",
          r["samples"] > 100 and abs(r["p50"] - want) <= 0.1 * want and rep["ms"]["p2p_rtt"]["samples"] == 0,
          f"p50 {r['p50']:.1f} ms over {r['samples']} samples via {used}, expected {want:.0f} ms ±10%")

# 3b. half the participants relayed, TURN at B, half the calls groups on
# B's node: a relayed pair, or a pair through the SFU, is held to the plan's
# SLA when its own path plus what direct pairs of the same run measured
# over theirs (p95) is within P2P's. Every pair here has the same own path,
# so that allowance is the direct pairs' p95 less it; a P2P SLA just under
# own path + allowance holds no relayed or SFU pair, one just over holds
# them all (the SLA only judges: the runs are the same)
def mixed(p2p_sla):
    plan = turn_plan(1)
    with open(path("load-relayed.json")) as f:
        load = json.load(f)
    load["calls"]["count"] = 16
    load["calls"]["two_person_share"] = 0.5
    load["media"]["turn_share"] = 0.5
    load["sla_p95_ms"] = {"p2p_rtt": p2p_sla}
    return with_temp(plan, lambda p: with_temp(load, lambda l: meeshy_sim(p, l)))


own = 4 * access
base = mixed(100)["ms"]
allowance = base["p2p_relayed_near"]["own_path_allowance_ms"]
check("the relayed pairs' allowance is the direct pairs' p95 over their own path",
      base["p2p_rtt"]["samples"] > 100 and base["p2p_relayed_near"]["samples"] > 100 and allowance > 0 and
      abs(allowance - (base["p2p_rtt"]["p95"] - own)) < 0.01,
      f"allowance {allowance:.2f} ms, direct p95 {base['p2p_rtt']['p95']:.2f} ms over an own path of {own:.0f} ms")
under, over = (mixed(sla)["ms"] for sla in (own + allowance / 2, own + allowance + 0.01))
shares = {row: (under[row]["share_of_pairs"], over[row]["share_of_pairs"])
          for row in ("p2p_relayed_near", "sfu_rtt_near")}
check("an SLA under own path + allowance holds no relayed or SFU pair, just over it holds them all",
      base["sfu_rtt_near"]["samples"] > 100 and all(s == (0, 1) for s in shares.values()),
      f"shares under and over: {shares}, {base['sfu_rtt_near']['samples']} SFU samples")

# 3c. an access network losing 20 % each way: signaling requests, ICE
# checks and DTLS flights lost on it go again until answered (as TCP and
# their own timers do), so every participant joins; a join still waiting
# at the end would count against the join SLA (joins_unfinished)
def lossy_world(wname):
    with open(path("plan-two.json")) as f:
        plan = json.load(f)
    plan["world"] = wname
    plan["media_node"]["calibration"] = os.path.abspath(path(plan["media_node"]["calibration"]))
    return with_temp(plan, lambda p: meeshy_sim(p, path("load-groups.json")))


with open(path("world-two.json")) as f:
    lossy = json.load(f)
for r in lossy["regions"]:
    r["loss"] = 0.2
lost = with_temp(lossy, lossy_world)
joins = lost["ms"]["join"]["samples"]
check("control messages lost on the access link are sent again: every participant joins",
      lost["control_resent"] > 0 and lost["joins_unfinished"] == 0 and joins == 6 * 3,
      f"{lost['control_resent']} resent, {lost['joins_unfinished']} joins unfinished, "
      f"{joins} joins measured of 18 (the first of each call has nobody to see)")

# 4. --search, then direct runs of what it found and of one node fewer
found = meeshy_sim(path("plan-slow.json"), path("load-groups.json"), "--search")
check("search found a plan", found["found"] is True, json.dumps(found["smallest"]["datacentres"]))
nodes = found["plan"]["datacentres"][0]["media_nodes"]
check("the found plan needs more than one node", nodes > 1, f"{nodes} media nodes")


def direct(media_nodes, *flags):
    """the found plan with this many media nodes, run (with flags)"""
    plan = dict(found["plan"])
    plan["datacentres"] = [dict(plan["datacentres"][0], media_nodes=media_nodes)]
    return with_temp(plan, lambda name: meeshy_sim(name, path("load-groups.json"), *flags))


ok = direct(nodes)
check(f"a direct run of {nodes} nodes passes", ok["plan_pass"] is True,
      f"sla {ok['sla_pass']}, busiest node {ok['headroom']['busiest_media_cpu_share']:.2f} of its cores")
less = direct(nodes - 1)
check(f"a direct run of {nodes - 1} fails", less["plan_pass"] is False,
      f"sla {less['sla_pass']}, busiest node {less['headroom']['busiest_media_cpu_share']:.2f} of its cores")

# --descend: a search taken up again from a passing plan (one node more than
# found) runs that plan, then the descent alone, and ends where it did
again = direct(nodes + 1, "--descend")
check(f"--descend from {nodes + 1} nodes ends at {nodes}",
      again["found"] is True and again["plan"]["datacentres"][0]["media_nodes"] == nodes,
      f"{again['plan']['datacentres'][0]['media_nodes']} nodes in {again['runs']} runs")


# 5. a search stopped while its runs go on
def runs_of(tmp):
    """pids of processes whose command line names a file under tmp"""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if tmp.encode() in f.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def stop_search(sig):
    """a --search sent sig once its first runs have started: (its exit
    code, the files left in its TMPDIR, its runs still there 5 s after)"""
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.Popen([sim, path("plan-slow.json"), path("load-groups.json"), "--search"],
                             env=dict(os.environ, TMPDIR=tmp),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not runs_of(tmp) and time.time() < deadline:
            time.sleep(0.05)
        started = len(runs_of(tmp))
        time.sleep(0.5)
        p.send_signal(sig)
        code = p.wait(timeout=30)
        deadline = time.time() + 5
        while runs_of(tmp) and time.time() < deadline:
            time.sleep(0.1)
        return started, code, sorted(os.listdir(tmp)), runs_of(tmp)


started, code, left, alive = stop_search(signal.SIGTERM)
check("a search stopped by SIGTERM stops its runs and removes their files",
      started > 0 and code == -signal.SIGTERM and not left and not alive,
      f"{started} runs started; exit {code}, files left {left}, runs still there {alive}")
started, code, left, alive = stop_search(signal.SIGKILL)
check("a search killed by SIGKILL leaves no run behind",
      started > 0 and code == -signal.SIGKILL and not alive,
      f"{started} runs started; exit {code}, runs still there {alive}")

if failed:
    sys.exit(f"{len(failed)} check(s) failed: {', '.join(failed)}")
print("all plan checks passed")

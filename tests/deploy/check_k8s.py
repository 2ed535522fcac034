#!/usr/bin/env python3
"""Checks deploy/k8s: every file parses, and the pieces that the servers
rely on are there (the seed's HPA on the media StatefulSet, media pods on
the host network announcing the host's address, their internal API on the
pod's address and signed with a Secret, a drain window longer than
the drain timeout, probes on /health)."""
import glob
import os
import sys

import yaml


def fail(msg):
    print(f"check_k8s: {msg}")
    sys.exit(1)


docs = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml"))):
    with open(path) as f:
        for d in yaml.safe_load_all(f):
            if d:
                docs[(d["kind"], d["metadata"]["name"])] = d
print("check_k8s:", ", ".join(f"{k}/{n}" for k, n in docs))

hpa = docs.get(("HorizontalPodAutoscaler", "media-server-hpa")) or fail("no media HPA")
target = hpa["spec"]["scaleTargetRef"]
media = docs.get((target["kind"], target["name"])) or fail(f"the HPA targets {target}, which is not here")
if (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) != (2, 20):
    fail("the seed's HPA scales media between 2 and 20")
pod = media["spec"]["template"]["spec"]
if not pod.get("hostNetwork"):
    fail("media pods need the host network (UDP from browsers)")
c = pod["containers"][0]
env = {e["name"]: e for e in c["env"]}
if env.get("MEESHY_ANNOUNCED_IP", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "status.hostIP":
    fail("media pods must announce their host's address")
listen = env.get("MEESHY_LISTEN", {}).get("value", "")
if not listen.startswith("$(POD_IP):"):
    fail(f"the media node's internal API listens on {listen!r}: bind the pod's address, not every one")
e = env.get("MEESHY_INTERNAL_SECRET", {})
if "secretKeyRef" not in e.get("valueFrom", {}):
    fail("media pods take MEESHY_INTERNAL_SECRET from a Secret")
args = c["args"]
drain_ms = int(args[args.index("--drain-timeout") + 1])
if pod["terminationGracePeriodSeconds"] * 1000 <= drain_ms:
    fail("the grace period must outlast --drain-timeout")
gw = docs.get(("Deployment", "meeshy-gateway")) or fail("no gateway Deployment")
gc = gw["spec"]["template"]["spec"]["containers"][0]
if gc["readinessProbe"]["httpGet"]["path"] != "/health":
    fail("gateways are ready by /health")
for name in ("MEESHY_JWT_SECRET", "MEESHY_TURN_SECRET", "MEESHY_INTERNAL_SECRET"):
    e = next((e for e in gc["env"] if e["name"] == name), None)
    if not e or "secretKeyRef" not in e.get("valueFrom", {}):
        fail(f"{name} comes from a Secret, never a literal")
print("check_k8s: ok")

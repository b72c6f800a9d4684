#!/usr/bin/env python3
"""Watch a cluster's JobManager pods until a stop file appears and record, at every look, the HA
cluster ids (generations) of the JobManagers whose container runs. Two ids at one look means two
generations' JobManagers ran at once: each would lead its own lock and run the job.

Usage: jm_generations.py KUBECONFIG NAMESPACE INSTANCE STOP_FILE OUT_JSON [MAX_SECONDS]
Writes {"looks", "cluster_ids_seen", "overlaps": [{"at", "pods"}]} to OUT_JSON.
"""

import json
import os
import sys
import time

from kubernetes import client, config

KEY = "high-availability.cluster-id"


def cluster_id(core, namespace, pod, cache):
    """The HA cluster id in the configuration the pod's JobManager container reads (FLINK_PROPERTIES)."""
    for container in pod.spec.containers:
        if container.name != "jobmanager":
            continue
        for env in container.env or []:
            ref = env.value_from.config_map_key_ref if env.value_from else None
            if env.name == "FLINK_PROPERTIES" and ref:
                if ref.name not in cache:
                    data = core.read_namespaced_config_map(ref.name, namespace).data or {}
                    lines = (data.get(ref.key) or "").splitlines()
                    cache[ref.name] = next((line.split(":", 1)[1].strip() for line in lines
                                            if line.startswith(KEY + ":")), "?")
                return cache[ref.name]
    return "?"


def running(pod):
    """Whether the JobManager container runs (a terminating pod's JVM runs until it is gone)."""
    return any(s.name == "jobmanager" and s.state and s.state.running
               for s in (pod.status.container_statuses or []))


def main():
    kubeconfig, namespace, instance, stop_file, out = sys.argv[1:6]
    max_seconds = float(sys.argv[6]) if len(sys.argv) > 6 else 1200
    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    selector = "app.kubernetes.io/instance=%s,app.kubernetes.io/component=jobmanager" % instance
    cache, seen, overlaps, looks = {}, set(), [], 0
    start = time.time()
    while not os.path.exists(stop_file) and time.time() - start < max_seconds:
        try:
            pods = core.list_namespaced_pod(namespace, label_selector=selector, _request_timeout=5).items
            ids = {p.metadata.name: cluster_id(core, namespace, p, cache) for p in pods if running(p)}
        except Exception as exc:  # a look that failed says nothing; the next one will
            print("look failed: %s" % exc, file=sys.stderr)
            time.sleep(0.5)
            continue
        looks += 1
        seen.update(ids.values())
        if len(set(ids.values())) > 1:
            overlaps.append({"at": round(time.time() - start, 1), "pods": ids})
        time.sleep(0.3)
    with open(out, "w") as handle:
        json.dump({"looks": looks, "cluster_ids_seen": sorted(seen), "overlaps": overlaps}, handle, indent=1)


if __name__ == "__main__":
    main()

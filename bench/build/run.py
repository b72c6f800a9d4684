#!/usr/bin/env python3
"""Benchmark build.yml: cold build, warm rebuild after a one-line Java change, no-change rerun;
and, side by side in the same run, cold and no-change builds of an image with a real job's
artifacts (issue 14: a shaded job jar over 5 MiB in usrlib, a format jar by Maven coordinates in
lib/, the S3 filesystem plugin), each cold build with an empty artifact cache (Maven Central).

Not a timed test: it measures and writes JSON (bench/build/results/<UTC time>.json, plus
latest.json). Everything runs on temporary copies: the HA plugin sources are copied from the
committed ha-plugin/ (git archive HEAD) into a temp dir, the ha_plugin and flink_image state
dirs are temp dirs, and each cold build pushes to its own throwaway repository in the local
registry, built without the engine's layer cache. Only the Maven repository (~/.m2) is warm.

Usage: .venv/bin/python bench/build/run.py [--cold N] [--warm N] [--nochange N] [--artifacts-cold N]
       [--artifacts-nochange N] [--job-jar PATH]
Needs the proving ground (make testbed) and, for the artifacts profile, the shaded job jar the
Molecule s3 scenario builds ($FLINKFLEET_CACHE/molecule-s3/job/; --job-jar for another).
Targets: no-change rerun changed=0 in <= 15 s, warm rebuild <= 3 min.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")
JAVA_FILE = "flink-2.3/src/main/java/io/flinkfleet/ha/flink23/PvcHaServices.java"
TARGETS = {"nochange_max_s": 15, "warm_max_s": 180}
CACHE = os.environ.get("FLINKFLEET_CACHE", os.path.expanduser("~/.cache/flinkfleet"))
# What molecule/s3/inventory/group_vars/all.yml puts into its image.
ARTIFACTS = {"flink_image_lib_jars": ["org.apache.flink:flink-sql-avro:2.3.0"],
             "flink_image_plugins": ["org.apache.flink:flink-s3-fs-hadoop:2.3.0"]}
JOB_JAR = os.path.join(CACHE, "molecule-s3", "job", "flinkfleet-ha-test-job-shaded.jar")


def run_build(work, repository, extra=()):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", PATH=os.path.join(REPO, ".venv", "bin") + os.pathsep + os.environ["PATH"])
    cmd = [PLAYBOOK, os.path.join(REPO, "build.yml"),
           "-e", "ha_plugin_project_dir=%s" % os.path.join(work, "ha-plugin"),
           "-e", "ha_plugin_state_dir=%s" % os.path.join(work, "state", "ha-plugin"),
           "-e", "flink_image_state_dir=%s" % os.path.join(work, "state", "flink-image"),
           "-e", "flink_image_repository=%s" % repository] + list(extra)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    recap = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    if proc.returncode != 0 or not recap:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        raise SystemExit("build.yml failed (rc=%s)" % proc.returncode)
    return {"seconds": round(seconds, 2), "changed": int(recap.group(2))}


def delete_repositories(prefix):
    """Delete the manifests of the throwaway bench repositories (blobs wait for the registry's GC)."""
    import base64
    import urllib.error
    import urllib.request

    cache = os.environ.get("FLINKFLEET_CACHE", os.path.expanduser("~/.cache/flinkfleet"))
    password = os.environ.get("FLINKFLEET_REGISTRY_PASSWORD")
    if not password:
        with open(os.path.join(cache, "registry", "password")) as handle:
            password = handle.read().strip()
    user = os.environ.get("FLINKFLEET_REGISTRY_USERNAME", "flinkfleet")
    auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    accept = "application/vnd.docker.distribution.manifest.v2+json"

    def call(method, path):
        request = urllib.request.Request("http://127.0.0.1:5000" + path, method=method,
                                         headers={"Authorization": auth, "Accept": accept})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.headers, response.read()

    deleted = 0
    _, body = call("GET", "/v2/_catalog?n=1000")
    for repo in json.loads(body)["repositories"]:
        if not repo.startswith(prefix):
            continue
        _, body = call("GET", "/v2/%s/tags/list" % repo)
        digests = set()
        for tag in json.loads(body).get("tags") or []:
            headers, _ = call("HEAD", "/v2/%s/manifests/%s" % (repo, tag))
            digests.add(headers["Docker-Content-Digest"])
        for digest in digests:
            try:
                call("DELETE", "/v2/%s/manifests/%s" % (repo, digest))
                deleted += 1
            except urllib.error.HTTPError:
                pass
    return deleted


def summary(runs):
    values = [r["seconds"] for r in runs]
    if not values:
        return {}
    return {"n": len(values), "median_s": round(statistics.median(values), 2), "min_s": min(values),
            "max_s": max(values), "changed": [r["changed"] for r in runs]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=2)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--nochange", type=int, default=5)
    parser.add_argument("--artifacts-cold", type=int, default=2)
    parser.add_argument("--artifacts-nochange", type=int, default=5)
    parser.add_argument("--job-jar", default=JOB_JAR)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--keep", action="store_true", help="keep the bench repositories in the registry")
    args = parser.parse_args()

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    results = {"started": stamp, "host_cpus": os.cpu_count(), "load_before": os.getloadavg(),
               "targets": TARGETS, "cold": [], "warm": [], "nochange": [], "artifacts_cold": [],
               "artifacts_nochange": []}
    if args.artifacts_cold or args.artifacts_nochange:
        if not os.path.isfile(args.job_jar):
            raise SystemExit("%s is missing: run the Molecule s3 scenario's create once "
                             "(make molecule MOLECULE_SCENARIOS=s3), or pass --job-jar" % args.job_jar)
        results["artifacts"] = dict(ARTIFACTS, job_jar=args.job_jar, job_jar_bytes=os.path.getsize(args.job_jar))
    with tempfile.TemporaryDirectory(prefix="flinkfleet-bench-build-") as work:
        def fresh_sources():
            shutil.rmtree(os.path.join(work, "ha-plugin"), ignore_errors=True)
            archive = subprocess.run(["git", "-C", REPO, "archive", "--format=tar", "HEAD", "ha-plugin"],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", work], input=archive, check=True)

        # Cold: empty ha_plugin/flink_image state, a registry repository never pushed to, no layer cache.
        for i in range(args.cold):
            fresh_sources()
            shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
            repository = "flinkfleet/bench-cold-%s-%d" % (stamp.lower(), i)
            run = run_build(work, repository, ["-e", "flink_image_build_nocache=true"])
            print("cold %d: %.1f s changed=%d" % (i, run["seconds"], run["changed"]), flush=True)
            results["cold"].append(run)

        # Warm: one changed line in a Java file of the temp copy, then a rebuild and push.
        repository = "flinkfleet/bench-warm-%s" % stamp.lower()
        if not results["cold"]:
            fresh_sources()
        run_build(work, repository)  # settle this repository first (not measured)
        java = os.path.join(work, "ha-plugin", JAVA_FILE)
        for i in range(args.warm):
            with open(java) as handle:
                lines = handle.read().split("\n")
            # A new line near the top shifts every line number: the bytecode (and the jar) change.
            lines.insert(1, "// bench edit %d %s" % (i, time.time()))
            with open(java, "w") as handle:
                handle.write("\n".join(lines))
            run = run_build(work, repository)
            print("warm %d: %.1f s changed=%d" % (i, run["seconds"], run["changed"]), flush=True)
            results["warm"].append(run)

        # No change: the same inputs again.
        for i in range(args.nochange):
            run = run_build(work, repository)
            print("nochange %d: %.1f s changed=%d" % (i, run["seconds"], run["changed"]), flush=True)
            results["nochange"].append(run)

        # The image with a real job's artifacts: cold (empty state, empty artifact cache, no layer
        # cache, a new repository), then no-change reruns of the last one.
        artifacts = ["-e", json.dumps(dict(ARTIFACTS, flink_image_job_jars=[{"path": args.job_jar}]))]
        repository = None
        for i in range(args.artifacts_cold):
            if not os.path.isdir(os.path.join(work, "ha-plugin")):
                fresh_sources()
            shutil.rmtree(os.path.join(work, "state"), ignore_errors=True)
            shutil.rmtree(os.path.join(work, "artifacts"), ignore_errors=True)
            repository = "flinkfleet/bench-artifacts-%s-%d" % (stamp.lower(), i)
            run = run_build(work, repository, artifacts + [
                "-e", "flink_image_build_nocache=true",
                "-e", "flink_image_artifact_cache_dir=%s" % os.path.join(work, "artifacts")])
            print("artifacts cold %d: %.1f s changed=%d" % (i, run["seconds"], run["changed"]), flush=True)
            results["artifacts_cold"].append(run)
        if args.artifacts_nochange:
            repository = repository or "flinkfleet/bench-artifacts-%s" % stamp.lower()
            extra = artifacts + ["-e", "flink_image_artifact_cache_dir=%s" % os.path.join(work, "artifacts")]
            if not args.artifacts_cold:
                run_build(work, repository, extra)  # settle first (not measured)
            for i in range(args.artifacts_nochange):
                run = run_build(work, repository, extra)
                print("artifacts nochange %d: %.1f s changed=%d" % (i, run["seconds"], run["changed"]), flush=True)
                results["artifacts_nochange"].append(run)

    if not args.keep:
        results["deleted_manifests"] = delete_repositories("flinkfleet/bench-")
    results["summary"] = {k: summary(results[k])
                          for k in ("cold", "warm", "nochange", "artifacts_cold", "artifacts_nochange")}
    nochange = results["summary"]["nochange"]
    warm = results["summary"]["warm"]
    results["verdict"] = {
        "nochange_changed_0": all(c == 0 for c in nochange.get("changed", [1])),
        "nochange_within_target": bool(nochange) and nochange["max_s"] <= TARGETS["nochange_max_s"],
        "warm_within_target": bool(warm) and warm["max_s"] <= TARGETS["warm_max_s"],
    }
    artifacts_nochange = results["summary"]["artifacts_nochange"]
    if artifacts_nochange:
        results["verdict"]["artifacts_nochange_changed_0"] = all(c == 0 for c in artifacts_nochange["changed"])
        results["verdict"]["artifacts_nochange_within_target"] = \
            artifacts_nochange["max_s"] <= TARGETS["nochange_max_s"]
    results["load_after"] = os.getloadavg()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "%s.json" % stamp)
    for target in (path, os.path.join(args.out, "latest.json")):
        with open(target, "w") as handle:
            json.dump(results, handle, indent=1)
    print(json.dumps({"summary": results["summary"], "verdict": results["verdict"], "file": path}, indent=1))


if __name__ == "__main__":
    main()

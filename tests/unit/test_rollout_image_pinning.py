"""rollout.yml resolves the image once, before its first wave, and every wave deploys that
digest: a build that rewrites the build record between waves changes nothing for later waves.

Runs ansible-playbook without a cluster: rollout.yml's own first play (read from
playbooks/rollout.yml), then a play of one-host waves that gives the role's image step
(tasks/image.yml) the same variables rollout.yml's wave play gives the role, and after the
first wave rewrites the build record as build.yml would."""

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
REPO = "127.0.0.1:5000/flinkfleet/flink"
HOSTS = ["c1", "c2", "c3"]


def rollout_plays():
    with open(os.path.join(ROOT, "playbooks", "rollout.yml")) as handle:
        plays = yaml.safe_load(handle)
    pin_play = plays[0]
    # The copy runs from a temporary directory: its task files are rollout.yml's own.
    for task in pin_play["tasks"]:
        if "ansible.builtin.import_tasks" in task:
            task["ansible.builtin.import_tasks"] = os.path.join(ROOT, "playbooks", task["ansible.builtin.import_tasks"])
    wave_play = plays[1]
    role_task = next(t for t in wave_play["tasks"] if "ansible.builtin.include_role" in t)
    return pin_play, role_task["vars"]


def run_rollout(work, record, host_records=None):
    """host_records: {host: build record} for clusters that keep their own (another Flink version)."""
    pin_play, role_vars = rollout_plays()
    out = work / "deployed"
    out.mkdir()
    waves = {
        "name": "Waves.",
        "hosts": "flink_clusters",
        "gather_facts": False,
        "serial": 1,
        "tasks": [
            {"name": "Pin this cluster's image as the role does.",
             "ansible.builtin.include_role": {"name": "flink_cluster", "tasks_from": "image.yml", "public": True},
             "vars": role_vars},
            {"name": "Note what this cluster gets.",
             "ansible.builtin.copy": {"dest": str(out) + "/{{ inventory_hostname }}", "mode": "0644",
                                      "content": "{{ __flink_cluster_image }}"},
             "vars": role_vars},
            {"name": "Rebuild after the first wave (a new digest in the build record).",
             "ansible.builtin.copy": {"dest": str(record), "mode": "0644",
                                      "content": json.dumps({"image": REPO, "refs": [REPO + ":sha256-new"],
                                                             "digest": D2})},
             "when": "inventory_hostname == 'c1'"},
        ],
    }
    playbook = work / "rollout.yml"
    playbook.write_text(yaml.safe_dump([pin_play, waves], sort_keys=False))
    inventory = work / "hosts.yml"
    hosts = {h: ({"flink_cluster_build_record": str(host_records[h])} if h in (host_records or {}) else {})
             for h in HOSTS}
    inventory.write_text(yaml.safe_dump({"flink_clusters": {"hosts": hosts, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "flink_cluster_build_record": str(record)}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                           str(playbook)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    deployed = {h: (out / h).read_text() for h in HOSTS if (out / h).exists()}
    return proc, deployed


def test_every_wave_gets_the_digest_resolved_before_the_first(tmp_path):
    record = tmp_path / "last-build.json"
    record.write_text(json.dumps({"image": REPO, "refs": [REPO + ":sha256-old", REPO + ":2.3.0-abc"], "digest": D1}))
    proc, deployed = run_rollout(tmp_path, record)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert json.loads(record.read_text())["digest"] == D2, "the rebuild did not happen"
    assert deployed == {h: REPO + "@" + D1 for h in HOSTS}
    said = " ".join(proc.stdout.split())
    assert "%s@%s (tag %s:sha256-old), from build record" % (REPO, D1, REPO) in said, said[-2000:]


@pytest.mark.parametrize("record_text", [None, "{}"], ids=["no-record", "record-without-image"])
def test_no_image_and_no_build_record_stops_the_run_before_any_wave(tmp_path, record_text):
    record = tmp_path / "last-build.json"
    if record_text is not None:
        record.write_text(record_text)
    proc, deployed = run_rollout(tmp_path, record)
    assert proc.returncode != 0
    assert deployed == {}
    expected = "no build record at %s" % record if record_text is None else "names no image"
    assert expected in proc.stdout, proc.stdout[-3000:]
    assert ":latest" not in proc.stdout


def test_each_cluster_without_an_image_gets_its_own_build_records_image(tmp_path):
    """Clusters of two Flink versions keep two build records: each gets its own record's digest.
    Fails when the run resolves one record for every cluster (pins keyed by '' alone)."""
    record = tmp_path / "last-build.json"
    record.write_text(json.dumps({"image": REPO, "refs": [REPO + ":sha256-old"], "digest": D1}))
    other = tmp_path / "flink-1.20-build.json"
    other_digest = "sha256:" + "3" * 64
    other.write_text(json.dumps({"image": REPO, "refs": [REPO + ":1.20.5-abc"], "digest": other_digest}))
    proc, deployed = run_rollout(tmp_path, record, host_records={"c3": other})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert deployed == {"c1": REPO + "@" + D1, "c2": REPO + "@" + D1, "c3": REPO + "@" + other_digest}
    said = " ".join(proc.stdout.split())
    assert "the image of build record %s: %s@%s" % (other, REPO, other_digest) in said, said[-2000:]

"""Unit tests for module_utils/_flink_rollout_lock.py and library/flink_rollout_lock.py: the
rollout lock's decisions over a fake Lease store, including two runs racing for it."""

import copy
import datetime

import pytest

import flink_rollout_lock
from ansible.module_utils._flink_rollout_lock import (
    LeaseConflict,
    RolloutLockedError,
    acquire,
    decide,
    lease_body,
    lease_holder,
    parse_time,
    release,
)

NOW = datetime.datetime(2026, 11, 27, 15, 0, 0, tzinfo=datetime.timezone.utc)
ME = "alice@ci-7, rollout started 2026-11-27T15:00:00Z"
OTHER = "bob@laptop, rollout started 2026-11-27T14:50:00Z"


def held(holder, minutes_ago, seconds=3600, version="7"):
    lease = lease_body("seq-rollout", "flink", holder, NOW - datetime.timedelta(minutes=minutes_ago), seconds)
    lease["metadata"]["resourceVersion"] = version
    return lease


class FakeStore:
    """Leases in a dict; replace and delete honour the resourceVersion like the API server."""

    def __init__(self, lease=None, race=None):
        self.leases = {("seq-rollout", "flink"): copy.deepcopy(lease)} if lease else {}
        self.race = race  # a lease another run writes just before our write
        self.writes = []
        self.namespaces = set()

    def get(self, name, namespace):
        return copy.deepcopy(self.leases.get((name, namespace)))

    def _raced(self, key):
        if self.race is not None:
            self.leases[key], self.race = self.race, None
            return True
        return False

    def create(self, body):
        key = (body["metadata"]["name"], body["metadata"]["namespace"])
        if self._raced(key) or key in self.leases:
            raise LeaseConflict("AlreadyExists")
        self.writes.append(("create", body["spec"]["holderIdentity"]))
        self.leases[key] = dict(body, metadata=dict(body["metadata"], resourceVersion="1"))

    def replace(self, body):
        key = (body["metadata"]["name"], body["metadata"]["namespace"])
        if self._raced(key) or self.leases[key]["metadata"]["resourceVersion"] != body["metadata"]["resourceVersion"]:
            raise LeaseConflict("Conflict")
        self.writes.append(("replace", body["spec"]["holderIdentity"]))
        self.leases[key] = dict(body, metadata=dict(body["metadata"], resourceVersion="8"))

    def delete(self, name, namespace, resource_version=None):
        if self.leases[(name, namespace)]["metadata"]["resourceVersion"] != resource_version:
            raise LeaseConflict("Conflict")
        self.writes.append(("delete", self.leases.pop((name, namespace))["spec"]["holderIdentity"]))

    def ensure_namespace(self, namespace):
        created = namespace not in self.namespaces
        self.namespaces.add(namespace)
        return created


@pytest.mark.parametrize("lease, break_lock, expected", [
    (None, False, ("create", "")),
    (held(ME, 5), False, ("keep", ME)),
    (held(OTHER, 5), False, ("refuse", OTHER)),
    (held(OTHER, 5), True, ("take", OTHER)),
    (held(OTHER, 61), False, ("take", OTHER)),          # expired an hour after it was taken
    (held(OTHER, 59), False, ("refuse", OTHER)),
    (held("", 5), False, ("take", "")),                 # released
    (held(OTHER, 0, seconds=0), False, ("take", OTHER)),
])
def test_decide(lease, break_lock, expected):
    assert decide(lease, ME, NOW, break_lock) == expected


def test_lease_times_round_trip_with_microseconds():
    lease = held(OTHER, 5)
    holder, expires, live = lease_holder(lease, NOW)
    assert (holder, live) == (OTHER, True)
    assert expires == NOW + datetime.timedelta(minutes=55)
    assert parse_time("2026-11-27T15:00:00.123Z") == NOW.replace(microsecond=123000)
    assert parse_time("") is None


@pytest.mark.parametrize("lease, writes, action", [
    (None, [("create", ME)], "create"),
    (held(OTHER, 90), [("replace", ME)], "take"),
    (held(ME, 1), [], "keep"),
])
def test_acquire_writes_only_what_it_must(lease, writes, action):
    store = FakeStore(lease)
    result = acquire(store, "seq-rollout", "flink", ME, NOW, 3600)
    assert result["action"] == action and store.writes == writes
    assert store.get("seq-rollout", "flink")["spec"]["holderIdentity"] == ME


def test_a_held_lock_is_refused_naming_the_holder_and_the_expiry():
    store = FakeStore(held(OTHER, 10))
    with pytest.raises(RolloutLockedError) as err:
        acquire(store, "seq-rollout", "flink", ME, NOW, 3600)
    assert "Another rollout holds Flink cluster flink/seq: lease seq-rollout is held by '%s' until " \
           "2026-11-27T15:50:00.000000Z" % OTHER in err.value.msg
    assert "flink_cluster_lock_break=true" in err.value.msg
    assert store.writes == [], "a refused run writes nothing"


@pytest.mark.parametrize("lease", [None, held(OTHER, 90)])
def test_of_two_racing_runs_the_loser_is_refused(lease):
    store = FakeStore(lease, race=held(OTHER, 0, version="9"))
    with pytest.raises(RolloutLockedError, match="held by '%s'" % OTHER):
        acquire(store, "seq-rollout", "flink", ME, NOW, 3600)
    assert store.get("seq-rollout", "flink")["spec"]["holderIdentity"] == OTHER


def test_check_mode_reads_but_never_writes():
    store = FakeStore()
    assert acquire(store, "seq-rollout", "flink", ME, NOW, 3600, check_mode=True)["changed"] is True
    assert store.writes == []
    with pytest.raises(RolloutLockedError):
        acquire(FakeStore(held(OTHER, 1)), "seq-rollout", "flink", ME, NOW, 3600, check_mode=True)


@pytest.mark.parametrize("lease, changed, writes", [
    (held(ME, 3), True, [("delete", ME)]),
    (held(OTHER, 3), False, []),   # taken over meanwhile (break_lock): not ours to delete
    (None, False, []),
])
def test_release_deletes_only_our_lease(lease, changed, writes):
    store = FakeStore(lease)
    assert release(store, "seq-rollout", "flink", ME)["changed"] is changed
    assert store.writes == writes


def test_module_run_creates_the_namespace_and_takes_the_lease():
    store = FakeStore()
    params = {"kubeconfig": None, "context": None, "namespace": "flink", "name": "seq", "state": "acquired",
              "holder": ME, "seconds": 600, "break_lock": False}
    result = flink_rollout_lock.run(params, False, store=store, now=NOW)
    assert result["changed"] and result["lease"] == "seq-rollout" and store.namespaces == {"flink"}
    assert store.get("seq-rollout", "flink")["spec"]["leaseDurationSeconds"] == 600
    again = flink_rollout_lock.run(params, False, store=store, now=NOW)
    assert again["changed"] is False and again["action"] == "keep"
    released = flink_rollout_lock.run(dict(params, state="released"), False, store=store, now=NOW)
    assert released["action"] == "release" and store.get("seq-rollout", "flink") is None

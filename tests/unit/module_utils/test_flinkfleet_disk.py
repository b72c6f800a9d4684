import os
from types import SimpleNamespace

import pytest
from ansible.module_utils._flinkfleet_disk import GIB, disk_room_problem, existing_ancestor, free_bytes


@pytest.mark.parametrize("free_gib, need_gib, says", [
    (10.0, 3, None),
    (3.0, 3, None),
    (2.9, 3, "The node needs 3.0 GiB free on the filesystem of {root}; it has 2.9 GiB. Free some space there, "
              "point FLINKFLEET_CACHE at a larger disk, or lower k8s_testbed_min_free_gib."),
    (0.0, 0.5, "it has 0.0 GiB"),
    (0.0, 0, None),  # 0 turns it off
])
def test_disk_room_problem_names_the_path_and_the_numbers(tmp_path, free_gib, need_gib, says):
    problem = disk_room_problem(str(tmp_path / "cache" / "k8s"), free_gib * GIB, need_gib, "The node",
                                "k8s_testbed_min_free_gib")
    if says is None:
        assert problem is None
    else:
        assert says.format(root=tmp_path) in problem


def test_free_bytes_of_a_cache_not_made_yet_is_measured_where_it_will_be_made(tmp_path):
    seen = []

    def statvfs(path):
        seen.append(path)
        return SimpleNamespace(f_bavail=1000, f_frsize=4096)
    assert free_bytes(str(tmp_path / "cache" / "k8s"), statvfs) == 4096000
    assert seen == [str(tmp_path)]


def test_existing_ancestor_walks_up_to_what_exists(tmp_path):
    assert existing_ancestor(str(tmp_path / "a" / "b")) == str(tmp_path)
    assert existing_ancestor(str(tmp_path)) == str(tmp_path)
    assert existing_ancestor("/") == "/"


def test_free_space_of_this_machine_is_read(tmp_path):
    # The real statvfs: a demand no disk meets fails, naming this directory.
    problem = disk_room_problem(str(tmp_path), free_bytes(str(tmp_path)), 10 ** 9, "x", "v")
    assert problem and str(tmp_path) in problem and os.path.isdir(tmp_path)

import json
import os

import pytest
from ansible.module_utils._flink_fleet_report import fleet_report_bytes, write_fleet_report

RESULTS = [{"cluster": "b", "result": "upgraded", "seconds": 3.5}, {"cluster": "a", "result": "unchanged", "seconds": 0.2}]


def test_the_report_is_the_results_in_order_with_sorted_keys():
    text = fleet_report_bytes(RESULTS).decode()
    assert json.loads(text) == RESULTS
    assert text.index('"cluster": "b"') < text.index('"cluster": "a"')
    assert text.index('"cluster"') < text.index('"result"') < text.index('"seconds"')
    assert text.endswith("]\n")


def test_the_report_and_its_directory_are_made(tmp_path):
    path = tmp_path / "rollout" / "last-rollout.json"
    assert write_fleet_report(str(path), RESULTS) == 2
    assert json.loads(path.read_text()) == RESULTS
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "rollout" / "last-rollout.json"
    assert write_fleet_report(str(path), RESULTS, check_mode=True) == 2
    assert not path.parent.exists()


@pytest.mark.parametrize("bad", [[{"cluster": "c", "seconds": object()}]])
def test_a_report_that_cannot_be_written_leaves_the_last_wave_s_report(tmp_path, bad):
    path = tmp_path / "last-rollout.json"
    write_fleet_report(str(path), RESULTS)
    with pytest.raises(TypeError):
        write_fleet_report(str(path), bad)
    assert json.loads(path.read_text()) == RESULTS
    assert os.listdir(tmp_path) == ["last-rollout.json"]

"""Unit tests for tests/tools/tiers.py: the result of each tier and the closing table."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import tiers  # noqa: E402


class Clock:
    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


@pytest.mark.parametrize("code, result", [(0, "passed"), (1, "FAILED"), (2, "FAILED"), (-9, "FAILED")])
def test_run_tier_reports_the_exit_code(code, result):
    calls = []
    row = tiers.run_tier("unit", make=("make",), clock=Clock(7.0), runner=lambda argv: calls.append(argv) or code)
    assert calls == [["make", "unit"]]
    assert row == {"tier": "unit", "result": result, "exit_code": code, "seconds": 7.0}


@pytest.mark.parametrize("rows, last_lines", [
    ([{"tier": "lint", "result": "passed", "seconds": 12.4}, {"tier": "molecule", "result": "passed", "seconds": 900}],
     ["total     passed       912"]),
    ([{"tier": "lint", "result": "passed", "seconds": 12}, {"tier": "ha-it", "result": "FAILED", "seconds": 88}],
     ["total  FAILED       100", "failed: ha-it (each tier's own output above says why)"]),
])
def test_table_ends_with_the_total_and_names_failures(rows, last_lines):
    text = tiers.table(rows).splitlines()
    assert text[0].split() == ["tier", "result", "seconds"]
    assert [line.split()[:2] for line in text[1:1 + len(rows)]] == [[r["tier"], r["result"]] for r in rows]
    assert text[-len(last_lines):] == last_lines


def test_main_runs_every_tier_and_fails_when_one_failed(tmp_path, monkeypatch, capsys):
    codes = {"lint": 1, "unit": 0}
    seen = []
    monkeypatch.setenv("FLINKFLEET_CACHE", str(tmp_path))
    monkeypatch.setattr(tiers, "run_tier", lambda tier, brought_up: seen.append(tier) or
                        {"tier": tier, "result": "passed" if codes[tier] == 0 else "FAILED",
                         "exit_code": codes[tier], "seconds": 1.0})
    assert tiers.main(["tiers.py", "lint", "unit"]) == 1
    assert seen == ["lint", "unit"], "a failed tier does not stop the later ones"
    assert "failed: lint" in capsys.readouterr().out
    assert (tmp_path / "logs" / "test-tiers.json").read_text().count('"tier"') == 2


@pytest.mark.parametrize("codes, expected", [
    # After a passed molecule tier the later tiers skip bringing up the proving ground ...
    ({"lint": 1, "molecule": 0, "integration": 0, "ha-it": 0},
     [["lint"], ["molecule"], ["integration", "BRINGUP=0"], ["ha-it", "BRINGUP=0"]]),
    # ... after a failed one they bring it up themselves; no molecule tier: always themselves.
    ({"molecule": 2, "integration": 0, "ha-it": 0}, [["molecule"], ["integration"], ["ha-it"]]),
    ({"unit": 0, "ha-it": 0}, [["unit"], ["ha-it"]]),
])
def test_tiers_after_a_passed_molecule_tier_skip_the_bring_up(tmp_path, monkeypatch, codes, expected):
    calls = []
    monkeypatch.setenv("FLINKFLEET_CACHE", str(tmp_path))
    monkeypatch.setattr(tiers.subprocess, "call", lambda argv: calls.append(argv[2:]) or codes[argv[2]])
    tiers.main(["tiers.py"] + list(codes))
    assert calls == expected

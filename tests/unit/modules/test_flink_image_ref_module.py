"""flink_image_ref's entry point: one resolution per distinct image, the run's pins first (its
documentation is checked against its argument spec with the other rollout modules)."""

import json

import pytest

import flink_image_ref
from ansible.module_utils._flinkfleet_errors import FlinkfleetError

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64
REPO = "reg.example/team/flink"


def params(**kw):
    out = {k: v.get("default") for k, v in flink_image_ref.argspec().items()}
    out.update(kw)
    return out


def lookup_from(held, asked):
    def lookup(name, tag):
        asked.append((name, tag))
        return held.get((name, tag))
    return lookup


@pytest.mark.parametrize("kw, held, ref, tag, asked", [
    pytest.param(dict(images=[REPO + ":v2"]), {(REPO, "v2"): D2}, REPO + "@" + D2, REPO + ":v2", [(REPO, "v2")],
                 id="tag"),
    pytest.param(dict(images=[REPO + ":v2"], pins={REPO + ":v2": {"ref": REPO + "@" + D1, "tag": REPO + ":v2",
                                                                   "digest": D1, "source": "registry"}}),
                 {(REPO, "v2"): D2}, REPO + "@" + D1, REPO + ":v2", [], id="the-runs-pin-wins-without-a-lookup"),
    pytest.param(dict(images=[REPO + "@" + D1]), {}, REPO + "@" + D1, "", [], id="digest"),
    pytest.param(dict(images=[REPO + ":v2"], pin=False), {}, REPO + ":v2", REPO + ":v2", [], id="unpinned"),
])
def test_run(kw, held, ref, tag, asked):
    seen = []
    out = flink_image_ref.run(params(**kw), lookup=lookup_from(held, seen))
    assert (out["ref"], out["tag"], out["changed"]) == (ref, tag, False)
    assert seen == asked


def test_empty_request_is_the_build_record(tmp_path):
    record = tmp_path / "last-build.json"
    record.write_text(json.dumps({"image": REPO, "refs": [REPO + ":sha256-1"], "digest": D1}))
    out = flink_image_ref.run(params(build_record=str(record)), lookup=lookup_from({}, []))
    assert out["images"][""]["ref"] == REPO + "@" + D1 and out["tag"] == REPO + ":sha256-1"


def test_no_record_and_no_image_fails_naming_both(tmp_path):
    with pytest.raises(FlinkfleetError, match="flink_cluster_image is not set and there is no build record at .*none"):
        flink_image_ref.run(params(build_record=str(tmp_path / "none.json")), lookup=lookup_from({}, []))


def test_the_password_is_not_logged():
    assert flink_image_ref.argspec()["registry_password"]["no_log"] is True


def test_requests_pin_each_clusters_own_build_record(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"image": REPO, "refs": [REPO + ":sha256-1"], "digest": D1}))
    b.write_text(json.dumps({"image": REPO, "refs": [REPO + ":1.20.5-x"], "digest": D2}))
    out = flink_image_ref.run(params(requests=[{"image": "", "build_record": str(a)},
                                               {"image": "", "build_record": str(b)}]), lookup=lookup_from({}, []))
    assert out["images"]["build-record:%s" % a]["ref"] == REPO + "@" + D1
    assert out["images"]["build-record:%s" % b]["ref"] == REPO + "@" + D2
    assert out["ref"] == REPO + "@" + D1

"""The reading model: rules, edits, undo, JSON round trip."""

import json

import pytest

from mibgkit.detect.model import Hotspot, Location
from mibgkit.errors import ReadingFormatError
from mibgkit.scoring import Reading, curie_grade, siopen_grade
from mibgkit.segments import SIOPEN_KEYS


@pytest.mark.parametrize(
    ("n", "frac", "grade"),
    [(0, 0, 0), (1, 0, 1), (3, 0, 3), (4, 0, 4), (9, 0, 4), (0, 0.2, 4), (1, 0.5, 5), (0, 0.95, 5), (0, 0.96, 6)],
)
def test_siopen_grade(n, frac, grade):
    assert siopen_grade(n, frac) == grade


def test_curie_grade():
    assert [curie_grade(0), curie_grade(1), curie_grade(2), curie_grade(0, 0.6)] == [0, 1, 2, 3]


def _loc(r=10.0, c=20.0):
    return Location("ANT", "1.2.3", 1, r, c)


def _reading():
    hs = [
        Hotspot("h1", "skull", locations=[_loc()]),
        Hotspot("h2", "skull", locations=[_loc(30, 40)]),
        Hotspot("h3", None, category="liver", locations=[_loc(300, 100)]),
        Hotspot("h4", "spine", pattern="diffuse", diffuse_fraction=0.6, locations=[_loc(200, 128)]),
        Hotspot("h5", None, category="primary_tumour", locations=[_loc(250, 110)]),
    ]
    return Reading(study={"study_instance_uid": "1.2"}, hotspots=hs)


def test_scores_from_findings_and_edits():
    r = _reading()
    assert r.segments["skull"].siopen == 2
    assert r.segments["spine"].siopen == 5
    assert r.siopen_total == 7
    assert r.curie_segments["head"] == 2
    assert r.curie_segments["soft_tissue"] == 0  # a proposed soft-tissue finding is not scored
    r.confirm("h5")
    assert r.curie_segments["soft_tissue"] == 1  # the reader's call is
    r.reject("h1")
    assert r.siopen_total == 6
    r.set_grade("pelvis", 3)
    assert r.segments["pelvis"].source == "reader" and r.siopen_total == 9
    r.add_hotspot("pelvis", [_loc(500, 100)])
    assert r.segments["pelvis"].siopen == 3  # the reader's grade wins
    assert r.segments["pelvis"].auto_siopen == 1
    assert r.undo() and r.undo()
    assert "pelvis" not in r.overrides and r.siopen_total == 6
    assert [a["action"] for a in r.audit][-1] == "undo"


def test_round_trip_keeps_unknown_keys(tmp_path):
    r = _reading()
    r.set_grade("thoracic_cage", 1)
    d = r.to_json()
    d["site_specific"] = {"x": 1}
    d["hotspots"][0]["note"] = "checked on SPECT"
    p = tmp_path / "reading.json"
    p.write_text(json.dumps(d))
    r2 = Reading.load(p)
    assert r2.siopen_total == r.siopen_total
    assert set(r2.to_json()["segments"]) == set(SIOPEN_KEYS)
    assert r2.to_json()["site_specific"] == {"x": 1}
    assert r2.hotspot("h1").extra["note"] == "checked on SPECT"
    assert r2.overrides == {"thoracic_cage": 1}


def test_bad_reading_file(tmp_path):
    p = tmp_path / "r.json"
    p.write_text('{"schema": "other"}')
    with pytest.raises(ReadingFormatError, match="r.json"):
        Reading.load(p)

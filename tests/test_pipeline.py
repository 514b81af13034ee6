"""The score pipeline end to end on the bundled sample study (load -> map -> detect -> score)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

from mibgkit.scoring import Reading
from mibgkit.segments import SIOPEN_KEYS


@pytest.fixture(scope="module")
def oligo(sample_dicom: Path) -> Path:
    return sample_dicom / "oligo"


@pytest.fixture(scope="module")
def scored(oligo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("score")
    proc = subprocess.run([sys.executable, "-m", "mibgkit", "score", str(oligo), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    return out, proc


def test_cli_writes_reading_and_report(scored):
    out, proc = scored
    assert proc.returncode == 0, proc.stderr
    assert "SIOPEN" in proc.stdout
    d = json.loads((out / "reading.json").read_text())
    assert d["schema"] == "mibgkit.reading/1"
    assert sorted(d["segments"]) == sorted(SIOPEN_KEYS)
    assert d["siopen_total"] == sum(s["siopen"] for s in d["segments"].values())
    assert {"study", "views", "hotspots", "curie", "provenance", "software", "reader"} <= set(d)
    png = (out / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    r = Reading.load(out / "reading.json")
    assert r.siopen_total == d["siopen_total"]


def test_reading_is_deidentified_and_in_stored_coordinates(scored, oligo):
    out, _ = scored
    d = json.loads((out / "reading.json").read_text())
    dcm = next(oligo.glob("*.dcm"))
    ds = pydicom.dcmread(dcm, stop_before_pixels=True)
    assert d["study"]["patient_id"] and d["study"]["patient_id"] != str(ds.PatientID)
    assert str(ds.PatientID) not in (out / "reading.json").read_text()
    views = {v["view"]: v for v in d["views"]}
    assert set(views) == {"ANT", "POST"}
    for h in d["hotspots"]:
        for loc in h["locations"]:
            v = views[loc["view"]]
            assert loc["sop_instance_uid"] == v["sop_instance_uid"] == ds.SOPInstanceUID
            assert 0 <= loc["row"] < v["rows"] and 0 <= loc["col"] < v["cols"]


def test_stored_positions_match_the_truth(scored, oligo):
    """A detected lesion sits where truth.json says, in stored pixels, on both frames."""
    out, _ = scored
    d = json.loads((out / "reading.json").read_text())
    truth = json.loads((oligo / "truth.json").read_text())
    locs = [loc for h in d["hotspots"] for loc in h["locations"]]
    found = 0
    for les in truth["lesions"]:
        for view, (r, c) in les["stored_positions"].items():
            if any(loc["view"] == view and np.hypot(loc["row"] - r, loc["col"] - c) < 6 for loc in locs):
                found += 1
    assert found >= 1
    # ANT and POST locations of one finding are the same body point: POST is stored mirrored
    views = {v["view"]: v for v in d["views"]}
    assert views["POST"]["mirrored"] and not views["ANT"]["mirrored"]
    for h in d["hotspots"]:
        by = {loc["view"]: loc for loc in h["locations"]}
        if {"ANT", "POST"} <= set(by):
            a, p = by["ANT"], by["POST"]
            assert abs(a["row"] - p["row"]) <= 12
            assert abs(a["col"] - (views["POST"]["cols"] - 1 - p["col"])) <= 12


def test_python_api_matches_cli(scored, oligo):
    import mibgkit

    out, _ = scored
    r = mibgkit.score(oligo)
    d = json.loads((out / "reading.json").read_text())
    assert r.siopen_total == d["siopen_total"]
    assert [h.segment for h in r.hotspots] == [h["segment"] for h in d["hotspots"]]


def test_score_study_with_given_maps(oligo):
    from mibgkit.anatomy import map_segments
    from mibgkit.pipeline import load_one, run_study

    study = load_one(oligo)
    maps = map_segments(study)
    res = run_study(study, maps, timepoint="diagnosis")
    assert res.reading.study["timepoint"] == "diagnosis"
    assert res.reading.provenance["maps_source"] == "given"
    assert res.reading.provenance["parameters"]["z_min"] > 0


def test_cli_failure_is_one_line(tmp_path):
    bad = tmp_path / "not_dicom.dcm"
    bad.write_text("hello")
    proc = subprocess.run([sys.executable, "-m", "mibgkit", "score", str(bad), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln]
    assert len(lines) == 1 and "error" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "o" / "reading.json").exists()


def test_a_collection_instead_of_a_study_says_what_to_pass(oligo: Path) -> None:
    """`mibgkit.load` returns a collection; handing it to the pipeline names the fix."""
    import mibgkit
    from mibgkit.pipeline import run_study

    studies = mibgkit.load(oligo)
    assert len(studies) == 1
    for fn in (run_study, mibgkit.map_segments):
        with pytest.raises(TypeError, match=r"StudyCollection of 1 study .*mibgkit.load\(path\)\[0\]"):
            fn(studies)
    with pytest.raises(TypeError, match="got str"):
        run_study(str(oligo))  # type: ignore[arg-type]
    assert run_study(studies[0]).reading.siopen_total >= 0

"""Simulated readers reading ground-truth lesions."""

from __future__ import annotations

import numpy as np
import pytest

from mibgkit.cohort import ReaderModel, detection_probability, read_lesions

LESIONS = [
    {"id": "L1", "segment": "skull", "kind": "focal", "contrast": 6.0, "radius_mm": 6.0,
     "stored_positions": {"ANT": (120.0, 130.0), "POST": (121.0, 126.0)}},
    {"id": "L2", "segment": "skull", "kind": "focal", "contrast": 5.0, "radius_mm": 5.0},
    {"id": "L3", "segment": "spine", "kind": "diffuse", "contrast": 2.0, "radius_mm": 20.0, "diffuse_fraction": 0.6},
    {"id": "L4", "segment": "pelvis", "kind": "focal", "contrast": 0.4, "radius_mm": 4.0},  # faint
]
STUDY = {"patient_id": "P1", "timepoint": "post_hdc", "study_instance_uid": "1.2.3"}
VIEWS = [{"view": "ANT", "sop_instance_uid": "1.2.3.4", "frame": 1}, {"view": "POST", "sop_instance_uid": "1.2.3.4",
                                                                       "frame": 2}]


def test_truth_is_read_exactly():
    r = read_lesions(LESIONS, STUDY, views=VIEWS)
    assert r.reader == "truth"
    assert {k: s.siopen for k, s in r.segments.items() if s.siopen} == {"skull": 2, "spine": 5, "pelvis": 1}
    h = r.hotspots[0]
    assert h.extra["truth_id"] == "L1" and h.status == "confirmed"
    assert [(loc.view, loc.sop_instance_uid, loc.frame, loc.row) for loc in h.locations] == [
        ("ANT", "1.2.3.4", 1, 120.0), ("POST", "1.2.3.4", 2, 121.0)]


def test_detection_probability():
    m = ReaderModel("A", cnr50=5.0, c50=1.0, width=0.3)
    assert detection_probability(1.0, 6.0, m) == pytest.approx(0.5)
    assert detection_probability(0.0, 6.0, m, cnr=5.0) == pytest.approx(0.5)  # CNR decides when given
    assert detection_probability(0.3, 6.0, m) < 0.05 < 0.95 < detection_probability(5.0, 6.0, m)
    assert detection_probability(1.0, 6.0, m, cnr=2.0) < detection_probability(1.0, 6.0, m, cnr=8.0)
    assert detection_probability(0.5, 6.0, m, diffuse=True) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        ReaderModel("bad", width=0)


def test_reader_misses_faint_foci_at_the_modelled_rate():
    model = ReaderModel("B", c50=1.0, width=0.35, false_foci=0.0, diffuse_sd=0.0)
    rng = np.random.default_rng(5)
    faint = [{"id": "F", "segment": "pelvis", "kind": "focal", "contrast": 0.9, "radius_mm": 6.0}]
    hits = sum(read_lesions(faint, STUDY, model, rng).segments["pelvis"].siopen for _ in range(2000))
    p = detection_probability(0.9, 6.0, model)
    assert abs(hits / 2000 - p) < 4 * np.sqrt(p * (1 - p) / 2000)
    keen = ReaderModel("K", c50=0.2, width=0.35, false_foci=0.0)
    assert detection_probability(5.0, 5.0, keen) > 0.9998
    assert read_lesions(LESIONS[:2], STUDY, keen, rng).segments["skull"].siopen == 2


def test_hidden_lesions_false_foci_and_diffuse_noise():
    model = ReaderModel("A", c50=1.0, width=0.3, false_foci=0.5, diffuse_sd=0.3, hidden_factor=0.0)
    rng = np.random.default_rng(1)
    hidden = [{**LESIONS[0], "visible": False}]
    readings = [read_lesions(hidden + [LESIONS[2]], STUDY, model, rng) for _ in range(400)]
    assert all(not any(h.extra.get("truth_id") == "L1" for h in r.hotspots) for r in readings)
    n_false = [sum(h.extra.get("simulated") == "false_positive" for h in r.hotspots) for r in readings]
    assert 0.4 < np.mean(n_false) < 0.6
    fracs = [float(h.diffuse_fraction or 0) for r in readings for h in r.hotspots if h.pattern == "diffuse"]
    assert len(fracs) > 350 and 0.02 <= min(fracs) and max(fracs) <= 1.0 and np.std(fracs) > 0.05
    grades = {r.segments["spine"].siopen for r in readings}
    assert {4, 5} <= grades  # extent estimates cross the 50 % cut-off
    with pytest.raises(ValueError, match="rng"):
        read_lesions(LESIONS, STUDY, model)

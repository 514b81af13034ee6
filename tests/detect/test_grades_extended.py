"""Session-5 grades round: limb-end uptake (``end_hi``) and the diffuse decision in studies above 3."""

from __future__ import annotations

from typing import Any

import numpy as np

from mibgkit.detect.detector import detect_study
from mibgkit.detect.diffuse_model import (
    CONTRALATERAL,
    VIEW_FEATURES,
    candidate_confidence,
    decide_bands,
    diffuse_calls,
    focal_counts,
    load_model,
    segment_features,
    view_features,
)
from mibgkit.detect.params import DEFAULT_PARAMS
from mibgkit.scoring.rules import siopen_grade
from mibgkit.segments import SIOPEN_KEYS

_E = VIEW_FEATURES.index("end_hi")
_LIMBS = [k for k in SIOPEN_KEYS if k in CONTRALATERAL]


def _with_end(value: float) -> np.ndarray:
    v = np.zeros(len(VIEW_FEATURES))
    v[_E] = value
    return v


def _end_hi(det: Any) -> dict[str, float]:
    per_view = [view_features(va, DEFAULT_PARAMS) for _, _, va in det.views.values()]
    return {k: float(np.mean([f[k][_E] for f in per_view if k in f])) for k in SIOPEN_KEYS
            if any(k in f for f in per_view)}


def test_limb_end_uptake_marks_diffusely_involved_limbs_not_clean_ones(
        diffuse_sim: Any, limited_sim: Any, maps_of: Any) -> None:
    # diffuse phantom 605: seven limb segments with diffuse marrow involvement (grade 5-6)
    e = _end_hi(detect_study(diffuse_sim.study, maps_of(diffuse_sim)))
    involved = [k for k in _LIMBS if diffuse_sim.truth.siopen[k] >= 4]
    assert len(involved) >= 6
    for k in involved:
        assert e[k] > np.log(4.0), (k, e[k])  # the brighter end is > 4x the soft tissue
    for k in ("skull", "thoracic_cage", "spine", "pelvis"):
        assert e[k] == 0.0  # limbs only
    # limited phantom 601: no limb lesion; every limb end is near the soft-tissue level
    e = _end_hi(detect_study(limited_sim.study, maps_of(limited_sim)))
    clean = [k for k in _LIMBS if k in e and limited_sim.truth.siopen[k] == 0]
    assert len(clean) >= 6
    for k in clean:
        assert e[k] < np.log(2.0), (k, e[k])
    # the model input is the positive part, on limbs only
    f = segment_features([{k: _with_end(-0.5) for k in SIOPEN_KEYS}], {})
    assert all(f[k]["end_hi_limb"] == 0.0 for k in SIOPEN_KEYS)
    f = segment_features([{k: _with_end(1.5) for k in SIOPEN_KEYS}], {})
    assert all(f[k]["end_hi_limb"] == (1.5 if k in CONTRALATERAL else 0.0) for k in SIOPEN_KEYS)


def test_decide_bands_raises_grades_only_in_studies_above_the_threshold() -> None:
    # segment A: diffuse band 2 for sure; B: p(no diffuse) 0.6, most probable diffuse band 1
    pr = np.array([[0.0, 0.1, 0.8, 0.1], [0.6, 0.3, 0.05, 0.05], [0.9, 0.1, 0.0, 0.0]])
    assert decide_bands(pr, [0, 0, 0], 0.0) == [2, 0, 0]  # rule off: most probable band
    assert decide_bands(pr, [0, 0, 0], 0.7) == [2, 1, 0]  # total 5 > 3: B raised, C (p0 0.9) not
    assert decide_bands(pr, [0, 0, 0], 0.5) == [2, 0, 0]
    # a study at or below 3 keeps the most probable bands (the <= 3 call is never moved)
    low = np.array([[0.6, 0.3, 0.05, 0.05], [0.55, 0.4, 0.05, 0.0], [1.0, 0.0, 0.0, 0.0]])
    assert decide_bands(low, [1, 1, 1], 0.7) == [0, 0, 0]
    assert decide_bands(low, [2, 2, 0], 0.7) == [1, 1, 0]  # focal total 4 > 3
    assert decide_bands(low, [2, 2, 0], 0.7, threshold=4) == [0, 0, 0]


def test_extended_decision_on_phantoms(diffuse_sim: Any, limited_sim: Any, maps_of: Any) -> None:
    model = load_model(DEFAULT_PARAMS.diffuse_model_file)
    for sim in (diffuse_sim, limited_sim):
        det = detect_study(sim.study, maps_of(sim))
        views = {name: va for name, (_, _, va) in det.views.items()}
        focal = [h for h in det.hotspots if h.pattern == "focal"]
        for h in det.hotspots:
            if h.pattern == "diffuse":  # the reader sees which rule made the call
                assert h.extra["decision"].startswith(("most probable band", "study above"))
        n_foci, conf = focal_counts(focal), candidate_confidence(det.candidates)
        grades = {}
        for p0 in (0.0, DEFAULT_PARAMS.diffuse_extended_p0):
            calls = diffuse_calls(views, n_foci, DEFAULT_PARAMS.with_(diffuse_extended_p0=p0), model, conf)
            grades[p0] = {k: siopen_grade(n_foci[k], calls[k].fraction if k in calls else 0.0) for k in SIOPEN_KEYS}
        g0, g1 = grades[0.0], grades[DEFAULT_PARAMS.diffuse_extended_p0]
        truth = sim.truth.siopen
        assert all(g1[k] >= g0[k] for k in SIOPEN_KEYS)  # grades never go down
        if sum(g0.values()) <= 3:
            assert g1 == g0
        else:
            # the raised grades bring the total closer to the truth, not past it
            t = sum(truth.values())
            assert abs(sum(g1.values()) - t) <= abs(sum(g0.values()) - t)
    # the limited phantom stays at or below 3 and is not touched by the rule
    assert sum(limited_sim.truth.siopen.values()) <= 3

"""Session-6 grades round: the fourth candidate's confidence (``c4``) as evidence for more than three foci."""

from __future__ import annotations

from typing import Any

import numpy as np

from mibgkit.detect.detector import detect_study
from mibgkit.detect.diffuse_model import (
    candidate_confidence,
    focal_counts,
    fourth_confidence,
    load_model,
    segment_features,
    view_features,
)
from mibgkit.detect.params import DEFAULT_PARAMS
from mibgkit.segments import SIOPEN_KEYS


def test_fourth_confidence() -> None:
    assert fourth_confidence([0.9, 0.2, 0.95, 0.99, 0.3]) == 0.3
    assert fourth_confidence([1.0, 1.0, 1.0]) == 0.0
    assert fourth_confidence([]) == 0.0
    assert fourth_confidence(np.array([0.6, 0.7, 0.8, 0.9, 0.95])) == 0.7


def test_c4_is_the_fourth_candidate_of_each_segment_on_a_phantom(limited_sim: Any, maps_of: Any) -> None:
    det = detect_study(limited_sim.study, maps_of(limited_sim))
    conf = candidate_confidence(det.candidates)
    n_foci = focal_counts([h for h in det.hotspots if h.pattern == "focal"])
    per_view = [view_features(va, DEFAULT_PARAMS) for _, _, va in det.views.values()]
    feats = segment_features(per_view, n_foci, conf, DEFAULT_PARAMS.min_confidence)
    assert len(feats) == len(SIOPEN_KEYS)
    for k, f in feats.items():
        c = sorted(conf.get(k, ()), reverse=True)
        assert f["c4"] == (c[3] if len(c) > 3 else 0.0)
        assert 0.0 <= f["c4"] <= f["sconf"] / 4 + 1e-12  # the fourth largest is at most the mean of the top four
    # some segment of this study has at least four candidates (faint ones included), so c4 is not all zeros
    assert any(f["c4"] > 0 for f in feats.values())
    # without candidate confidences each proposed spot is one sure candidate
    feats = segment_features(per_view, {"spine": 4, "pelvis": 3})
    assert feats["spine"]["c4"] == 1.0 and feats["pelvis"]["c4"] == 0.0 and feats["skull"]["c4"] == 0.0


def test_a_fourth_candidate_is_more_diffuse_evidence_than_the_same_summed_confidence_on_three(
        limited_sim: Any, maps_of: Any) -> None:
    """Three proposals with the same summed confidence, below and above the operating point,
    differ only in ``c4``: a fourth candidate of 0.4 (instead of 0.1) must be more evidence
    for grade 4 in the shipped model (grade 3 needs exactly three foci)."""
    model = load_model(DEFAULT_PARAMS.diffuse_model_file)
    assert "c4" in model.features
    assert model.coef[model.features.index("c4")] > 0
    det = detect_study(limited_sim.study, maps_of(limited_sim))
    per_view = [view_features(va, DEFAULT_PARAMS) for _, _, va in det.views.values()]
    n_foci = {"spine": 3}
    # same proposals (3), same summed confidence (3.0), same sum below the operating point (0.4)
    three = segment_features(per_view, n_foci, {"spine": [1.0, 1.0, 0.6, 0.1, 0.1, 0.1, 0.1]},
                             DEFAULT_PARAMS.min_confidence)
    four = segment_features(per_view, n_foci, {"spine": [1.0, 0.8, 0.8, 0.4]}, DEFAULT_PARAMS.min_confidence)
    for name in model.features:
        if name != "c4":
            assert np.isclose(three["spine"][name], four["spine"][name]), name
    assert four["spine"]["c4"] > three["spine"]["c4"]
    p3 = model.probabilities(model.matrix(three, ["spine"]))[0]
    p4 = model.probabilities(model.matrix(four, ["spine"]))[0]
    assert p4[0] < p3[0]  # p(no diffuse) lower with a fourth candidate

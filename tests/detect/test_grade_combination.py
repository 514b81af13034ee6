"""How focal candidates and diffuse evidence combine into the grade proposal (grades round)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from mibgkit.detect.detector import detect_study
from mibgkit.detect.diffuse_model import (
    SCONF_CAP,
    candidate_confidence,
    diffuse_calls,
    focal_counts,
    load_model,
    segment_features,
)
from mibgkit.detect.params import DEFAULT_PARAMS
from mibgkit.segments import SIOPEN_KEYS

_KEY = "left_lower_limb_proximal"


def _per_view(fls: float, fs3: float, study: float) -> dict[str, np.ndarray]:
    per_view = {k: np.array([study, 0.0, study, 0.0, 0.0]) for k in SIOPEN_KEYS}
    per_view[_KEY] = np.array([fls, 0.0, fs3, 0.0, 0.0])
    return per_view


def test_summed_candidate_confidence_is_the_expected_focus_count() -> None:
    pv = _per_view(0.1, 0.1, 0.0)
    # without candidates each proposed spot counts as one sure candidate
    f = segment_features([pv], {_KEY: 2})[_KEY]
    assert f["sconf"] == pytest.approx(2.0)
    # with candidates: their summed confidence, proposed or not, capped
    f = segment_features([pv], {_KEY: 1}, {_KEY: [0.9, 0.4, 0.3, 0.3]})[_KEY]
    assert f["sconf"] == pytest.approx(1.9)
    f = segment_features([pv], {_KEY: 4}, {_KEY: [0.9] * 20})[_KEY]
    assert f["sconf"] == pytest.approx(SCONF_CAP)
    # candidates of other segments do not count here
    f = segment_features([pv], {}, {"skull": [0.9, 0.9]})[_KEY]
    assert f["sconf"] == 0.0


def test_study_context_of_foci_is_zero_without_evidence_in_the_segment() -> None:
    pv = _per_view(0.0, 0.0, 0.0)
    n_foci = dict.fromkeys(SIOPEN_KEYS, 4)
    n_foci[_KEY] = 0
    f = segment_features([pv], n_foci)[_KEY]
    assert f["study_foci"] == pytest.approx(4.0)
    assert f["ctx_foci"] == 0.0 and f["ctx_sconf"] == 0.0
    n_foci[_KEY] = 2
    f = segment_features([pv], n_foci)[_KEY]
    assert f["ctx_foci"] == pytest.approx(8.0)


def test_more_candidate_evidence_never_lowers_the_band() -> None:
    m = load_model(DEFAULT_PARAMS.diffuse_model_file)
    assert "sconf" in m.features
    pv = _per_view(0.15, 0.2, 0.1)
    mean_band, p_any = [], []
    for s in np.linspace(0.0, SCONF_CAP, 13):
        f = segment_features([pv], {_KEY: 0}, {_KEY: [s]})
        pr = m.probabilities(m.matrix(f, [_KEY]))[0]
        mean_band.append(float(pr @ np.arange(4)))
        p_any.append(1.0 - pr[0])
    assert np.all(np.diff(mean_band) >= -1e-12)
    assert np.all(np.diff(p_any) >= -1e-12)
    assert p_any[-1] > p_any[0]


def test_faint_candidates_raise_a_segment_only_with_evidence(diffuse_sim: Any, maps_of: Any) -> None:
    """On the diffuse phantom, the candidates' summed confidence is what the detector passes:
    dropping it (every candidate ignored) can only lower the diffuse bands."""
    det = detect_study(diffuse_sim.study, maps_of(diffuse_sim))
    views = {n: va for n, (_, _, va) in det.views.items()}
    n_foci = focal_counts(det.hotspots)
    conf = candidate_confidence(det.candidates)
    with_c = diffuse_calls(views, n_foci, DEFAULT_PARAMS, candidate_confidence=conf)
    without = diffuse_calls(views, {}, DEFAULT_PARAMS, candidate_confidence={})
    assert set(with_c) == set(without)
    # diffuse or not is the monotone ordinal model's call: dropping candidates never adds one
    assert all(with_c[k].band > 0 for k in with_c if without[k].band > 0)
    # the ordinal bands themselves are monotone (the extent stage, session 7, re-chooses grade 4-6
    # among diffuse segments and is not monotone in the candidates)
    ordinal = replace(load_model(DEFAULT_PARAMS.diffuse_model_file), extent=None)
    o_with = diffuse_calls(views, n_foci, DEFAULT_PARAMS, ordinal, conf)
    o_without = diffuse_calls(views, {}, DEFAULT_PARAMS, ordinal, {})
    assert all(o_with[k].band >= o_without[k].band for k in o_with)
    # the detector's diffuse findings are exactly the calls with the candidates' confidences
    called = {h.segment for h in det.hotspots if h.pattern == "diffuse"}
    assert called == {k for k, c in with_c.items() if c.band > 0}
    truth = diffuse_sim.truth.siopen
    assert sum(with_c[k].band > 0 for k in SIOPEN_KEYS if truth[k] >= 4) >= sum(
        without[k].band > 0 for k in SIOPEN_KEYS if truth[k] >= 4)

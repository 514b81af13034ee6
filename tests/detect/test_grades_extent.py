"""Session-7 grades round: the extent stage of the diffuse model (grade 4 / 5 / 6 among diffuse segments)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from mibgkit.detect.detector import detect_study
from mibgkit.detect.diffuse_model import (
    CONTRALATERAL,
    VIEW_FEATURES,
    DiffuseModel,
    candidate_confidence,
    decide_bands,
    diffuse_calls,
    focal_counts,
    load_model,
    segment_features,
    view_features,
)
from mibgkit.detect.params import DEFAULT_PARAMS
from mibgkit.segments import SIOPEN_KEYS


def test_shipped_model_has_an_extent_stage_on_computed_features(limited_sim: Any, maps_of: Any) -> None:
    m = load_model(DEFAULT_PARAMS.diffuse_model_file)
    assert m.extent is not None
    names = m.extent["features"]
    assert {"fs15", "r10"} <= set(names) and {"fs15", "r10"} <= set(VIEW_FEATURES)
    for group in ("limb", "other"):
        g = m.extent[group]
        assert np.asarray(g["coef"]).shape == (3, len(names)) and len(g["intercept"]) == 3
        assert min(g["n"]) >= 15  # each of grades 4 / 5 / 6 seen on tuning seeds
    # the JSON round trip keeps the stage
    assert DiffuseModel.from_json(m.to_json()).extent == m.extent
    det = detect_study(limited_sim.study, maps_of(limited_sim))
    feats = segment_features([view_features(va, DEFAULT_PARAMS) for _, _, va in det.views.values()],
                             focal_counts(det.hotspots))
    assert len(feats) >= 10
    for f in feats.values():
        assert 0.0 <= f["fs15"] <= 1.0 and f["r10"] >= 0.0
    # band 0 is never touched; without a stage the bands come back unchanged
    keys = list(feats)
    bands = [0] * len(keys)
    assert m.extent_bands(feats, keys, bands) == bands
    diffuse = [1, 2, 3] * (len(keys) // 3) + [1] * (len(keys) % 3)
    assert replace(m, extent=None).extent_bands(feats, keys, diffuse) == diffuse
    assert set(m.extent_bands(feats, keys, diffuse)) <= {1, 2, 3}


def test_extent_stage_separates_whole_from_partial_involvement(diffuse_sim: Any, maps_of: Any) -> None:
    # diffuse phantom 605: nine segments of grade 5 or 6 (one limb and the spine involved end to end)
    det = detect_study(diffuse_sim.study, maps_of(diffuse_sim))
    views = {n: va for n, (_, _, va) in det.views.items()}
    m = load_model(DEFAULT_PARAMS.diffuse_model_file)
    n_foci = focal_counts(det.hotspots)
    conf = candidate_confidence(det.candidates)
    calls = diffuse_calls(views, n_foci, DEFAULT_PARAMS, m, conf)
    plain = diffuse_calls(views, n_foci, DEFAULT_PARAMS, replace(m, extent=None), conf)
    truth = diffuse_sim.truth.siopen
    heavy = [k for k in calls if truth[k] in (5, 6)]
    assert len(heavy) >= 8 and any(truth[k] == 6 for k in heavy)
    right = sum(calls[k].band + 3 == truth[k] for k in heavy)
    right_plain = sum(plain[k].band + 3 == truth[k] for k in heavy)
    assert right >= 6 and right > right_plain, (right, right_plain)
    # the stage only re-chooses among the diffuse bands: the segments without diffuse call keep band 0
    assert [k for k in calls if calls[k].band == 0] == [k for k in plain if plain[k].band == 0]
    # r10 (the least involved tenth of the segment) is highest on the limb involved end to end
    per_view = [view_features(va, DEFAULT_PARAMS) for va in views.values()]
    r10 = {k: float(np.mean([f[k][VIEW_FEATURES.index("r10")] for f in per_view if k in f]))
           for k in heavy if k in CONTRALATERAL}
    whole = [k for k in r10 if truth[k] == 6]
    assert whole and min(r10[k] for k in whole) > max(r10[k] for k in r10 if truth[k] == 5)


def test_decide_bands_then_extent_keeps_band_zero_segments() -> None:
    m = load_model(DEFAULT_PARAMS.diffuse_model_file)
    feats = {k: dict.fromkeys(m.extent["features"] if m.extent else (), 0.5) for k in SIOPEN_KEYS[:3]}
    pr = np.array([[0.9, 0.05, 0.03, 0.02], [0.1, 0.1, 0.2, 0.6], [0.2, 0.6, 0.1, 0.1]])
    bands = m.extent_bands(feats, list(feats), decide_bands(pr, [0, 0, 0]))
    assert bands[0] == 0 and bands[1] in (1, 2, 3) and bands[2] in (1, 2, 3)

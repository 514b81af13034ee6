"""The vectorized candidate measures equal their one-candidate-at-a-time definitions.

Detection measures every candidate of a view in one pass (:func:`measure_many`,
:func:`local_measures_batch`, :func:`context_features`) and builds its masks with shifted
boolean operations; each is checked here against the straightforward implementation on a
phantom study (seed 601, limited disease, ANT + POST).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from scipy import ndimage as ndi

from mibgkit.detect.context import context_features, context_features_reference
from mibgkit.detect.detector import detect_study
from mibgkit.detect.focal import (
    Candidate,
    ViewAnalysis,
    _close_cross,
    _dilate_cross,
    analyse_view,
    find_candidates,
    measure,
    measure_many,
)
from mibgkit.detect.fuse import _remeasure
from mibgkit.detect.local import local_measures, local_measures_batch
from mibgkit.detect.params import DEFAULT_PARAMS


@pytest.fixture(scope="module")
def analysed(limited_sim: Any, maps_of: Any) -> list[ViewAnalysis]:
    maps = maps_of(limited_sim)
    return [analyse_view(pv.image, maps[pv.view].labels, pv.pixel_spacing_mm, pv.view, DEFAULT_PARAMS)
            for pv in limited_sim.study.views if pv.view in maps]


def _points(va: ViewAnalysis, seed: int) -> list[tuple[int, int, int | None]]:
    """The view's candidates (own scale), random pixels (best scale, some off the image:
    clipped), and the four corners (windows cut by the border)."""
    pts: list[tuple[int, int, int | None]] = [(int(c.row), int(c.col), c.scale)
                                               for c in find_candidates(va, DEFAULT_PARAMS)]
    nr, nc = va.image.shape
    rng = np.random.default_rng(seed)
    pts += [(int(r), int(c), None) for r, c in zip(rng.integers(-3, nr + 3, 80), rng.integers(-3, nc + 3, 80))]
    pts += [(0, 0, 0), (0, nc - 1, 1), (nr - 1, 0, 2), (nr - 1, nc - 1, len(va.sigmas_mm) - 1)]
    return pts


def _assert_same(a: Candidate, b: Candidate) -> None:
    for f in dataclasses.fields(Candidate):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "region_mask":
            assert x is not None and y is not None
            assert x.shape == y.shape and np.array_equal(x, y), (a.row, a.col, a.scale)
        elif f.name == "loc":
            assert x.keys() == y.keys()
            for k in x:
                assert x[k] == pytest.approx(y[k], rel=1e-9, abs=1e-9), (a.row, a.col, a.scale, k)
        else:
            assert x == y, (a.row, a.col, a.scale, f.name, x, y)


def test_measure_many_equals_measure_point_by_point(analysed: list[ViewAnalysis]) -> None:
    n = 0
    for i, va in enumerate(analysed):
        pts = _points(va, i)
        many = measure_many(va, pts, DEFAULT_PARAMS)
        assert len(many) == len(pts)
        for (r, c, k), cand in zip(pts, many):
            _assert_same(cand, measure(va, r, c, DEFAULT_PARAMS, scale=k))
            n += 1
    # real candidates on both views, with foci, organ edges and bone among them
    assert n > 200
    assert any(c.label > 0 for c in many) and any(c.organ_overlap > 0 for c in many)


def test_local_measures_batch_equals_local_measures(analysed: list[ViewAnalysis]) -> None:
    va = analysed[0]
    pts = [(r, c, k) for r, c, k in _points(va, 7) if k is not None]
    nr, nc = va.image.shape
    pts += [(5, 5, 3), (nr // 2, 2, 0)]  # ring leaves the image: snr = fit = 0
    rows, cols, scales = (np.array(v) for v in zip(*pts))
    got = local_measures_batch(va, rows, cols, scales, DEFAULT_PARAMS.annulus_mm)
    nonzero = 0
    for (r, c, k), g in zip(pts, got):
        r_blob = float(np.sqrt(2.0) * va.sigmas_mm[k])
        ref = local_measures(va, r, c, k, r_blob + DEFAULT_PARAMS.annulus_mm[0], r_blob + DEFAULT_PARAMS.annulus_mm[1])
        assert g.keys() == ref.keys()
        for key in ref:
            assert g[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-9), (r, c, k, key)
        nonzero += ref["snr"] != 0.0
    assert got[-1]["snr"] == 0.0 and got[-2]["snr"] == 0.0
    assert nonzero > 50


def test_context_features_equal_the_per_candidate_reference(limited_sim: Any, maps_of: Any) -> None:
    det = detect_study(limited_sim.study, maps_of(limited_sim))
    views = {k: v[2] for k, v in det.views.items()}
    fast = context_features(det.candidates, views, det.frames, DEFAULT_PARAMS)
    ref = context_features_reference(det.candidates, views, det.frames, DEFAULT_PARAMS)
    assert fast.shape == ref.shape and fast.shape[0] > 50
    np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=1e-12)
    # every column carries information on this study (not all zeros / caps)
    assert all(np.unique(ref[:, j]).size > 1 for j in range(ref.shape[1]))


def test_unmatched_candidates_are_remeasured_as_one_at_a_time(limited_sim: Any, maps_of: Any) -> None:
    det = detect_study(limited_sim.study, maps_of(limited_sim))
    ant, post = det.views["ANT"][2], det.views["POST"][2]
    dr, dc = det.shift
    n = 0
    for f in det.candidates:
        if f.ant is not None and f.post is None and f.post_at is not None:
            _assert_same(f.post_at, _remeasure(post, f.ant, dr, dc, DEFAULT_PARAMS))
            n += 1
        elif f.post is not None and f.ant is None and f.ant_at is not None:
            _assert_same(f.ant_at, _remeasure(ant, f.post, -dr, -dc, DEFAULT_PARAMS))
            n += 1
    assert n > 20


def test_shifted_boolean_morphology_equals_ndimage(analysed: list[ViewAnalysis]) -> None:
    va = analysed[0]
    rng = np.random.default_rng(3)
    masks = [va.labels > 0, va.body, va.organ > 0, rng.random((41, 29)) < 0.4, np.ones((6, 5), bool)]
    for m in masks:
        for it in (1, 2, 3):
            assert np.array_equal(_dilate_cross(m, it), ndi.binary_dilation(m, iterations=it))
            assert np.array_equal(_close_cross(m, it), ndi.binary_closing(m, iterations=it, border_value=0))

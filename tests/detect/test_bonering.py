"""Bone-restricted context features (``bn_*``, :mod:`mibgkit.detect.bonering`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mibgkit.detect import DEFAULT_PARAMS, detect_study
from mibgkit.detect.bonering import BONE_FEATURES, ring_levels
from mibgkit.detect.context import CONTEXT_FEATURES
from mibgkit.detect.focal import analyse_view
from mibgkit.detect.params import FEATURES

SP = (2.4, 2.4)


def _spine_with_focus(seed: int = 5) -> tuple[Any, tuple[int, int], tuple[int, int]]:
    """Poisson image: soft tissue 10 counts, a 12-pixel-wide vertical 'spine' at 40 (label 3),
    a 5 mm focus of +60 counts on it; returns the analysed view, the focus and a plain spine point."""
    rr, cc = np.mgrid[0:240, 0:100]
    lam = np.full(rr.shape, 10.0)
    labels = np.zeros(rr.shape, dtype=np.uint8)
    spine = (cc >= 44) & (cc < 56) & (rr >= 20) & (rr < 220)
    lam[spine] = 40.0
    labels[spine] = 3
    focus, plain = (80, 50), (170, 50)
    lam += 60.0 * np.exp(-0.5 * (np.hypot((rr - focus[0]) * SP[0], (cc - focus[1]) * SP[1]) / 5.0) ** 2)
    img = np.random.default_rng(seed).poisson(lam).astype(np.float32)
    va = analyse_view(img, labels, SP, "POST", DEFAULT_PARAMS, body=np.ones(img.shape, dtype=bool))
    return va, focus, plain


def _brute_levels(va: Any, row: int, col: int, scale: int, label: int) -> tuple[float, float]:
    """Bone and soft ring medians by an explicit loop over the window (independent of the code)."""
    p = DEFAULT_PARAMS
    r_in = 2.0 * va.sigmas_mm[scale] + p.bone_ring_gap_mm
    r_out = r_in + p.bone_ring_width_mm
    bone, soft = [], []
    for r in range(va.image.shape[0]):
        for c in range(va.image.shape[1]):
            d = np.hypot((r - row) * va.spacing[0], (c - col) * va.spacing[1])
            if r_in <= d <= r_out:
                if va.labels[r, c] == label:
                    bone.append(va.smooth[scale][r, c])
                elif va.labels[r, c] == 0 and va.body[r, c]:
                    soft.append(va.smooth[scale][r, c])
    return float(np.median(bone)), float(np.median(soft))


def test_ring_levels_compare_a_focus_with_its_own_bone() -> None:
    va, focus, plain = _spine_with_focus()
    lv = ring_levels(va, np.array([float(focus[0])]), np.array([float(focus[1])]), 1, np.array([3]),
                     DEFAULT_PARAMS)[0]
    # the bone ring holds the spine above and below the focus, the soft ring the tissue beside it
    assert lv[1] == pytest.approx(40.0, rel=0.15)
    assert lv[2] == pytest.approx(10.0, abs=4.0)  # the smoothing spreads the spine a little into it
    assert lv[0] > lv[1] + 15.0
    both = ring_levels(va, np.array([focus[0], plain[0]], dtype=float), np.array([focus[1], plain[1]], dtype=float),
                       1, np.array([3, 3]), DEFAULT_PARAMS)
    for (r, c), got in zip((focus, plain), both):
        ref_bone, ref_soft = _brute_levels(va, r, c, 1, 3)
        assert got[1] == pytest.approx(ref_bone, rel=1e-5)
        assert got[2] == pytest.approx(ref_soft, rel=1e-5)
    # a plain spine point does not stand out from its bone; the whole-ring mix would call it an excess
    assert abs(both[1][0] - both[1][1]) < 0.15 * both[1][1]
    # another segment's label finds no bone in the ring
    assert np.isnan(ring_levels(va, np.array([80.0]), np.array([50.0]), 1, np.array([4]), DEFAULT_PARAMS)[0, 1])


@pytest.fixture(scope="module")
def detection(limited_sim: Any, maps_of: Any) -> Any:
    return detect_study(limited_sim.study, maps_of(limited_sim), DEFAULT_PARAMS)


def test_bone_block_is_last_and_filled(detection: Any) -> None:
    assert FEATURES[-len(BONE_FEATURES):] == BONE_FEATURES
    i0 = FEATURES.index(CONTEXT_FEATURES[0])
    assert FEATURES[i0:i0 + len(CONTEXT_FEATURES)] == CONTEXT_FEATURES  # the ctx_ block stays contiguous
    x = detection.features[:, -len(BONE_FEATURES):]
    assert np.isfinite(x).all()
    bone = np.array([bool(f.label) for f in detection.candidates])
    assert bone.sum() >= 10 and (~bone).sum() >= 1
    assert (x[~bone] == 0).all()  # candidates without a bone label are never bone proposals
    assert (x[bone, 0] != 0).mean() > 0.8  # most bone candidates have a bone ring
    assert ((x[:, 2] >= 0) & (x[:, 2] <= 1)).all()
    assert ((x[:, 4] >= -1) & (x[:, 4] <= 1)).all()


def test_phantom_lesions_stand_out_from_their_own_bone(limited_sim: Any, detection: Any) -> None:
    """On the phantom, every candidate on a true focal lesion exceeds the median of its own
    segment's ring (the ring leaves the focus out and finds the bone around it), and some bone
    candidates on no lesion do not (normal bone rows, organ edges)."""
    sim = limited_sim
    i = FEATURES.index("bn_bone_snr")
    on, off = [], []
    for f, x in zip(detection.candidates, detection.features):
        if not f.label:
            continue
        b = f.best
        sp = detection.views[b.view][2].spacing
        hit = False
        for les in sim.truth.lesions:
            pos = les.positions.get(b.view)
            if les.kind == "focal" and les.visible and pos is not None:
                d = np.hypot((pos[0] - b.row) * sp[0], (pos[1] - b.col) * sp[1])
                hit = hit or d <= 12.0 + les.radius_mm
        (on if hit else off).append(x[i])
    assert len(on) >= 3 and len(off) >= 3
    assert min(on) > 0.0
    assert min(off) < 0.0

"""Own-scale evidence of a focus (mibgkit.detect.local) and bone inside the body outline."""

from __future__ import annotations

import numpy as np

from mibgkit.detect.focal import analyse_view, find_candidates, measure
from mibgkit.detect.fuse import FusedCandidate, feature_vector
from mibgkit.detect.local import LOCAL_FEATURES, local_measures
from mibgkit.detect.params import DEFAULT_PARAMS, FEATURES

SPACING = (2.4, 2.4)


def _slope_with_focus(seed: int = 5) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """An organ's slope (10 -> 90 counts across 120 mm) with a 4 mm-sigma focus on it,
    and a plain stretch of the same slope 190 mm away."""
    rr, cc = np.mgrid[0:200, 0:120]
    lam = 10.0 + np.clip((cc - 10) * 2.4 / 120.0, 0.0, 1.0) * 80.0
    focus = (60, 35)
    lam = lam + 45.0 * np.exp(-0.5 * (np.hypot((rr - focus[0]) * 2.4, (cc - focus[1]) * 2.4) / 4.0) ** 2)
    return np.random.default_rng(seed).poisson(lam).astype(np.float32), focus, (140, 35)


def test_focus_on_an_organ_slope_fits_a_blob_and_the_slope_does_not() -> None:
    img, focus, plain = _slope_with_focus()
    va = analyse_view(img, np.zeros(img.shape, np.uint8), SPACING, "ANT", DEFAULT_PARAMS,
                      body=np.ones(img.shape, bool))
    k = 1  # 4.5 mm, the focus's own scale
    r_blob = np.sqrt(2.0) * DEFAULT_PARAMS.sigmas_mm[k]
    r_in, r_out = r_blob + DEFAULT_PARAMS.annulus_mm[0], r_blob + DEFAULT_PARAMS.annulus_mm[1]
    on = local_measures(va, *focus, k, r_in, r_out)
    off = local_measures(va, *plain, k, r_in, r_out)
    # the plane takes the slope: the focus is a significant, well-fitting blob ...
    assert on["snr"] > 8.0 and on["fit"] > 0.7
    # ... the bare slope is neither (a ring percentile would leave half the slope as "excess")
    assert abs(off["snr"]) < 3.5 and off["fit"] < 0.5
    assert on["round"] > 0.5
    assert on["kbest"] in (0.0, 1.0, 2.0)


def test_loc_features_are_appended_and_filled() -> None:
    i = FEATURES.index(LOCAL_FEATURES[0])  # one contiguous block after the spot features
    assert FEATURES[i:i + len(LOCAL_FEATURES)] == LOCAL_FEATURES and i > FEATURES.index("coarse_ratio")
    img, focus, _ = _slope_with_focus()
    va = analyse_view(img, np.ones(img.shape, np.uint8), SPACING, "ANT", DEFAULT_PARAMS,
                      body=np.ones(img.shape, bool))
    c = measure(va, *focus, DEFAULT_PARAMS)
    assert {"snr", "fit", "round", "kbest"} <= set(c.loc)
    x = feature_vector(FusedCandidate(c, None, c, None), va.reference_level)
    vals = dict(zip(FEATURES, x))
    assert vals["loc_snr_best"] > np.log(8.0) and vals["loc_fit_best"] > 0.7
    assert vals["loc_snr_other"] == np.log(0.5) and vals["loc_dscale"] == 0.0


def _trunk_and_hand(seed: int = 7) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """A trunk and, 50 mm beside it, a hand too small for the counts' outline (under 2 % of
    the trunk's area, like a hand held apart on a whole-body scan) whose bone holds a focus."""
    rr, cc = np.mgrid[0:300, 0:160]
    lam = np.full(rr.shape, 0.05)
    lam[20:290, 10:100] = 60.0
    hand = (rr >= 212) & (rr < 228) & (cc >= 120) & (cc < 130)
    lam[hand] = 8.0
    focus = (220, 125)
    lam += 25.0 * np.exp(-0.5 * (np.hypot((rr - focus[0]) * 2.4, (cc - focus[1]) * 2.4) / 3.5) ** 2)
    labels = np.zeros(rr.shape, np.uint8)
    labels[hand] = 8  # left_upper_limb_distal
    labels[60:240, 50:60] = 3
    return np.random.default_rng(seed).poisson(lam).astype(np.float32), labels, focus


def test_a_focus_on_mapped_bone_outside_the_count_outline_is_a_candidate() -> None:
    img, labels, focus = _trunk_and_hand()

    def found(params: object) -> bool:
        va = analyse_view(img, labels, SPACING, "ANT", params)  # type: ignore[arg-type]
        cands = find_candidates(va, params)  # type: ignore[arg-type]
        return any(np.hypot(c.row - focus[0], c.col - focus[1]) <= 3 for c in cands)

    va_old = analyse_view(img, labels, SPACING, "ANT", DEFAULT_PARAMS.with_(bone_in_body=False))
    assert not va_old.body[focus]  # the counts' outline drops the faint hand ...
    assert not found(DEFAULT_PARAMS.with_(bone_in_body=False))
    assert found(DEFAULT_PARAMS)  # ... the segment map's bone keeps it

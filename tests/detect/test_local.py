"""Local significance (opening background) and nearest-bone assignment."""

from __future__ import annotations

import numpy as np

from mibgkit.detect.focal import _nearest_label, local_significance


def _organ_with_focus(seed: int = 3) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Poisson image: soft tissue 5 counts, a 40 mm 'liver' disc at 60, a 6 mm focus on it."""
    rr, cc = np.mgrid[0:200, 0:120]
    lam = np.full(rr.shape, 5.0)
    organ = np.hypot((rr - 100) * 2.4, (cc - 60) * 2.4) < 40.0
    lam[organ] = 60.0
    focus = (100, 72)  # 29 mm from the centre: well inside, near the organ's edge
    lam += 60.0 * np.exp(-0.5 * (np.hypot((rr - focus[0]) * 2.4, (cc - focus[1]) * 2.4) / 4.0) ** 2)
    img = np.random.default_rng(seed).poisson(lam).astype(np.float32)
    return img, focus, (100, 50)


def test_focus_on_organ_is_a_local_excess_and_the_organ_is_not() -> None:
    img, focus, plain = _organ_with_focus()
    sig = local_significance(img, (2.4, 2.4), 15.0, 3.0)
    r, c = focus
    assert sig[r - 1:r + 2, c - 1:c + 2].max() > 8.0
    # organ interior and soft tissue: no significant excess beyond the noise floor
    assert np.median(sig[plain[0] - 5:plain[0] + 5, plain[1] - 3:plain[1] + 3]) < 3.0
    assert np.median(sig[10:40, 10:40]) < 3.0


def test_nearest_label_snaps_within_distance_only() -> None:
    labels = np.zeros((50, 50), dtype=np.uint8)
    labels[20:30, 30:32] = 3
    assert _nearest_label(labels, 25, 28, (2.0, 2.0), 6.0) == 3   # 4 mm away
    assert _nearest_label(labels, 25, 20, (2.0, 2.0), 6.0) == 0   # 20 mm away
    assert _nearest_label(labels, 25, 30, (2.0, 2.0), 6.0) == 3   # on the bone

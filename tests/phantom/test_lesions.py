"""Disease patterns: limited-focal stays limited, foci stay discrete."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from mibgkit.phantom import make_patient
from mibgkit.phantom.lesions import (
    LIMITED_MAX_FOCI,
    MIN_SEPARATION_DIAMETERS,
    MIN_SEPARATION_MM,
    sample_lesions,
    well_separated,
)


@pytest.fixture(scope="module")
def child():
    return make_patient(age_years=5.0, sex="M", seed=1, pattern="none")


def _closest_pair_ratio(lesions) -> float:
    """Smallest projected distance between two foci / the required separation (>= 1 is fine)."""
    focal = [les for les in lesions if les.kind == "focal"]
    ratios = [
        np.hypot(a.centre_mm[0] - b.centre_mm[0], a.centre_mm[2] - b.centre_mm[2])
        / max(MIN_SEPARATION_MM, MIN_SEPARATION_DIAMETERS * (a.radius_mm + b.radius_mm))
        for i, a in enumerate(focal) for b in focal[i + 1:]
    ]
    return min(ratios, default=np.inf)


def test_limited_pattern_is_one_to_three_foci_in_a_few_distinct_segments(child):
    n_segments = []
    for seed in range(60):
        lesions = sample_lesions(child.anatomy, "limited", np.random.default_rng(seed))
        per_segment = Counter(les.segment for les in lesions)
        assert lesions and all(les.kind == "focal" for les in lesions)
        assert max(per_segment.values()) <= LIMITED_MAX_FOCI, (seed, per_segment)
        assert 1 <= len(per_segment) <= 3
        assert _closest_pair_ratio(lesions) >= 1.0, seed
        n_segments.append(len(per_segment))
    assert np.median(n_segments) == 2  # Bleeker 2015: median two segments
    assert {1, 2, 3} <= set(n_segments)


def test_foci_are_discrete_in_extensive_disease_too(child):
    for seed in range(3):
        lesions = sample_lesions(child.anatomy, "extensive", np.random.default_rng(seed))
        assert sum(les.kind == "focal" for les in lesions) >= 10
        assert _closest_pair_ratio(lesions) >= 1.0


def test_well_separated_measures_in_projection(child):
    les = sample_lesions(child.anatomy, "limited", np.random.default_rng(0))[0]
    same_ray = les.centre_mm + np.array([0.0, 40.0, 0.0])  # other depth, same planar position
    assert not well_separated(same_ray, les.radius_mm, [les])
    far = les.centre_mm + np.array([0.0, 0.0, 2 * MIN_SEPARATION_DIAMETERS * 2 * 10.0 + MIN_SEPARATION_MM])
    assert well_separated(far, les.radius_mm, [les])

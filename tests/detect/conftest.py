"""Phantom studies shared by the detection tests (seeds 600-699: neither tuning nor benchmark)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mibgkit.anatomy.model import SegmentMap


def truth_maps(sim: Any) -> dict[str, SegmentMap]:
    """SegmentMaps from the phantom's truth label maps, keyed by view name."""
    return {
        pv.view: SegmentMap(np.asarray(sim.truth.labels[pv.view], dtype=np.uint8), pv.view, pv.pixel_spacing_mm)
        for pv in sim.study.views
        if pv.view in sim.truth.labels
    }


@pytest.fixture(scope="session")
def maps_of() -> Any:
    """The function that builds truth SegmentMaps of a simulation."""
    return truth_maps


@pytest.fixture(scope="session")
def limited_sim() -> Any:
    """A 7-year-old with limited focal disease (ANT + POST)."""
    from mibgkit.phantom import make_patient, simulate

    return simulate(make_patient(age_years=7.0, sex="M", seed=601, pattern="limited", arms="sides"), seed=601)


@pytest.fixture(scope="session")
def diffuse_sim() -> Any:
    """A 6-year-old with diffuse (SIOPEN 4-6) involvement of many segments."""
    from mibgkit.phantom import make_patient, simulate

    return simulate(make_patient(age_years=6.0, sex="F", seed=605, pattern="diffuse", arms="sides"), seed=605)

"""Shared simulated studies (module-scoped: a simulation takes about a second)."""

from __future__ import annotations

import pytest

from mibgkit.phantom import make_patient, simulate


@pytest.fixture(scope="session")
def limited_sim():
    """A 5-year-old boy with limited-focal disease, ME collimator."""
    return simulate(make_patient(age_years=5.0, sex="M", seed=11, pattern="limited"), seed=3)


@pytest.fixture(scope="session")
def clean_sim():
    """A 7-year-old girl without skeletal disease nor primary."""
    return simulate(make_patient(age_years=7.0, sex="F", seed=12, pattern="none"), seed=4)


@pytest.fixture(scope="session")
def extensive_sim():
    """A 3-year-old with extensive disease (foci and diffuse), LEHR collimator."""
    return simulate(make_patient(age_years=3.0, sex="F", seed=13, pattern="extensive"), seed=5, collimator="LEHR")

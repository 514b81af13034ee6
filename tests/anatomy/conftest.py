"""Fixtures of the segment-mapper tests: one phantom study and the real NM1 scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from mibgkit.io.model import PlanarView, StoredFrame, Study, StudyInfo


@pytest.fixture(scope="session")
def phantom_sim():
    """A 6-year-old with limited disease, arms at the sides (phantom seed 2024)."""
    from mibgkit.phantom.patient import make_patient
    from mibgkit.phantom.simulation import simulate

    patient = make_patient(6.0, sex="M", seed=2024, pattern="limited", arms="sides")
    return simulate(patient, seed=2024)


@pytest.fixture(scope="session")
def nm1_view(nm1_rle: Path) -> PlanarView:
    """NM1 (adult anterior bone scan) read with pydicom, as the loader would normalize it."""
    ds = pydicom.dcmread(nm1_rle)
    img = ds.pixel_array.astype(np.float32)
    sp = tuple(float(x) for x in ds.PixelSpacing)
    src = StoredFrame(str(nm1_rle), str(ds.SOPInstanceUID), 1, (int(ds.Rows), int(ds.Columns)))
    return PlanarView(img, "ANT", "assumed", "whole_body", sp, src)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def nm1_study(nm1_view: PlanarView) -> Study:
    """A study holding only NM1."""
    return Study(StudyInfo("nm1"), views=[nm1_view])

"""Fixtures for the plugin tests.

``small_study`` / ``small_reading`` come from arrays (``synthetic_study.py``) and
exercise geometry and editing without the DICOM pipeline; tests that need the pipeline
use the bundled ``sample_dicom`` studies and the real files in ``tests/data/nm_dicom``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mibgkit.anatomy.model import StudySegmentMaps
from mibgkit.io.model import Study
from mibgkit.scoring.reading import Reading
from synthetic_study import REPO, make_reading, make_study


@pytest.fixture
def small_study() -> tuple[Study, StudySegmentMaps]:
    """(study, maps) built from arrays."""
    return make_study()


@pytest.fixture
def small_reading(small_study: tuple[Study, StudySegmentMaps]) -> Reading:
    """A fresh reading of ``small_study`` with four proposals."""
    return make_reading(small_study[0])


@pytest.fixture
def spect_study() -> tuple[Study, StudySegmentMaps]:
    """(study, maps) with a SPECT volume and its label volume."""
    return make_study(spect=True)


@pytest.fixture
def spect_reading(spect_study: tuple[Study, StudySegmentMaps]) -> Reading:
    """Reading of ``spect_study``: h2 (spine) is also located on the SPECT."""
    return make_reading(spect_study[0])


@pytest.fixture(scope="session")
def sample_dicom() -> Path:
    """The repository's bundled synthetic studies (``make sample-data``)."""
    return REPO / "sample_dicom"


@pytest.fixture(scope="session")
def nm1_rle() -> Path:
    """A real GE whole-body anterior bone scan (tests/data/nm_dicom, RLE)."""
    return REPO / "tests" / "data" / "nm_dicom" / "nema_wg04_nm1" / "NM1_RLE"

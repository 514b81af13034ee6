"""Shared fixtures: paths to the real NM DICOM files kept in the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NM_DICOM = REPO / "tests" / "data" / "nm_dicom"
SAMPLE_DICOM = REPO / "sample_dicom"


@pytest.fixture(scope="session")
def nm_dicom() -> Path:
    """Folder of real gamma-camera DICOM files (see tests/data/nm_dicom/SOURCES.md)."""
    return NM_DICOM


@pytest.fixture(scope="session")
def nm1_rle() -> Path:
    """NM1: GE whole-body anterior bone scan, 1024x256, RLE."""
    return NM_DICOM / "nema_wg04_nm1" / "NM1_RLE"


@pytest.fixture(scope="session")
def sample_dicom() -> Path:
    """The bundled synthetic studies (regenerate with ``make sample-data``)."""
    return SAMPLE_DICOM

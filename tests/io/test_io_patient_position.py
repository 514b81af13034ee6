"""Feet-first whole-body scans: Patient Position / Patient Gantry Relationship Code Sequence.

Each test copies a phantom whole-body pair from sample_dicom/clean, removes its Patient
Orientation (so only the patient's position says anything) and stores the pixels as a
camera would for a feet-first patient: turned by 180 degrees (feet at row 0, left and
right swapped). Loading must give back the head-first study pixel for pixel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian

from mibgkit.io import Study, load

FEET_FIRST = ("102541007", "SCT", "feet-first")
HEAD_FIRST = ("102540008", "SCT", "headfirst")


def _code(code: tuple[str, str, str]) -> DicomSequence:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code
    return DicomSequence([item])


def _copy(
    src: Path,
    out: Path,
    *,
    position: str | None = None,
    gantry: tuple[str, str, str] | None = None,
    rotate: bool = True,
    keep_orientation: bool = False,
) -> Path:
    """The phantom pair of ``src`` re-stored in ``out``: uncompressed, optionally turned by 180 degrees."""
    out.mkdir(parents=True)
    for path in sorted(src.glob("*.dcm")):
        ds = pydicom.dcmread(path)
        pixels = ds.pixel_array
        if rotate:
            pixels = pixels[::-1, ::-1]
        ds.PixelData = np.ascontiguousarray(pixels).tobytes()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        if not keep_orientation:
            del ds.PatientOrientation
        if position is not None:
            ds.PatientPosition = position
        if gantry is not None:
            ds.PatientGantryRelationshipCodeSequence = _code(gantry)
        ds.save_as(out / path.name, enforce_file_format=True)
    return out


@pytest.fixture(scope="module")
def head_first(sample_dicom: Path) -> Study:
    (study,) = load(sample_dicom / "clean")
    assert [v.view for v in study.views] == ["ANT", "POST"]
    assert all(v.orientation_source == "PatientOrientation" for v in study.views)
    return study


@pytest.mark.parametrize(
    ("position", "gantry", "source"),
    [
        ("FFS", None, "PatientPosition"),
        (None, FEET_FIRST, "PatientGantryRelationshipCodeSequence"),
        ("FFS", FEET_FIRST, "PatientGantryRelationshipCodeSequence"),
    ],
)
def test_feet_first_is_turned_back(
    tmp_path: Path,
    sample_dicom: Path,
    head_first: Study,
    position: str | None,
    gantry: tuple[str, str, str] | None,
    source: str,
) -> None:
    (study,) = load(_copy(sample_dicom / "clean", tmp_path / "ff", position=position, gantry=gantry))
    for before, after in zip(head_first.views, study.views):
        assert after.view == before.view
        assert after.orientation_source == source
        np.testing.assert_array_equal(after.image, before.image)  # head at row 0, right on the left
        assert after.source.flipped_rows
        # turned by 180 degrees: ANT is mirrored by the turn, POST's own mirror is undone by it
        assert after.source.mirrored == (after.view == "ANT")
        stored = pydicom.dcmread(after.source.path).pixel_array
        np.testing.assert_array_equal(after.source.to_stored_array(after.image), stored.astype(np.float32))
        r, c = np.unravel_index(int(np.argmax(after.image)), after.image.shape)
        sr, sc = after.source.to_stored(float(r), float(c))
        assert stored[int(sr), int(sc)] == after.image[r, c]
        assert sr == stored.shape[0] - 1 - r  # head (top rows) stored at the bottom


def test_head_first_changes_nothing(tmp_path: Path, sample_dicom: Path, head_first: Study) -> None:
    folder = _copy(sample_dicom / "clean", tmp_path / "hf", position="HFS", gantry=HEAD_FIRST, rotate=False)
    (study,) = load(folder)
    for before, after in zip(head_first.views, study.views):
        np.testing.assert_array_equal(after.image, before.image)
        assert not after.source.flipped_rows and after.orientation_source == "assumed"


def test_contradictory_position_is_not_used(tmp_path: Path, sample_dicom: Path) -> None:
    folder = _copy(sample_dicom / "clean", tmp_path / "x", position="HFS", gantry=FEET_FIRST, rotate=False)
    (study,) = load(folder)
    assert all(not v.source.flipped_rows and v.orientation_source == "assumed" for v in study.views)


def test_patient_orientation_wins_over_position(tmp_path: Path, sample_dicom: Path, head_first: Study) -> None:
    """A camera that already turned the frame says so in Patient Orientation; FFS then changes nothing."""
    folder = _copy(sample_dicom / "clean", tmp_path / "po", position="FFS", rotate=False, keep_orientation=True)
    (study,) = load(folder)
    for before, after in zip(head_first.views, study.views):
        np.testing.assert_array_equal(after.image, before.image)
        assert after.orientation_source == "PatientOrientation" and not after.source.flipped_rows


def test_qc_static_with_feet_first_code_is_left_as_stored(nm_dicom: Path) -> None:
    """Mediso QC frames (bar phantom, no patient) carry a feet-first code: only whole-body passes use it."""
    path = nm_dicom / "nmqc" / "FourBar.dcm"
    code = pydicom.dcmread(path, stop_before_pixels=True).PatientGantryRelationshipCodeSequence[0]
    assert code.CodeValue == "F-10480"  # feet-first (SNOMED-RT)
    (view,) = load(path)[0].views
    assert view.kind == "static" and view.orientation_source == "assumed"
    assert not view.source.flipped_rows

"""Bad input gives a typed error naming the file, or in a folder walk a SkippedFile with the reason.

Every bad file is made in tmp_path from a real one.
"""

from __future__ import annotations

import hashlib
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_build import MR_STORAGE, base_dataset, copy_with_new_uids, write
from pydicom.uid import generate_uid

from mibgkit.errors import (
    DicomReadError,
    GeometryError,
    MibgkitError,
    MissingTagError,
    MixedSeriesError,
    NotDicomError,
    PixelDataError,
    WrongModalityError,
)
from mibgkit.io import load


def _raises(path: Path, error: type[MibgkitError], match: str) -> MibgkitError:
    with pytest.raises(error, match=match) as info:
        load(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    return info.value


def test_not_dicom(tmp_path: Path, nm_dicom: Path) -> None:
    text = tmp_path / "notes.txt"
    shutil.copy(nm_dicom / "SOURCES.md", text)
    _raises(text, NotDicomError, "not DICOM")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    _raises(empty, NotDicomError, "empty")


def test_other_modality(tmp_path: Path) -> None:
    ds = base_dataset(np.zeros((1, 8, 8)), sop_class=MR_STORAGE, modality="MR")
    mr = write(ds, tmp_path / "mr.dcm")
    _raises(mr, WrongModalityError, "MR object")


def test_secondary_capture_not_nm(tmp_path: Path, nm1_rle: Path) -> None:
    sc = copy_with_new_uids(nm1_rle, tmp_path / "ot", Modality="OT")
    _raises(sc, WrongModalityError, "Secondary Capture with modality OT")


def test_truncated_native_pixel_data(tmp_path: Path, nm_dicom: Path) -> None:
    data = (nm_dicom / "nmqc" / "UNIFORMIDAD_1.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) - 5000])
    _raises(cut, PixelDataError, "truncated")


def test_truncated_compressed_pixel_data(tmp_path: Path, nm_dicom: Path) -> None:
    data = (nm_dicom / "nema_wg04_nm1" / "NM1_JLSL").read_bytes()
    cut = tmp_path / "cut_jls"
    cut.write_bytes(data[: len(data) // 2])
    _raises(cut, DicomReadError, "truncated")


def test_truncated_header(tmp_path: Path, nm_dicom: Path) -> None:
    data = (nm_dicom / "linaqa" / "MCR.dcm").read_bytes()
    cut = tmp_path / "cut_header.dcm"
    cut.write_bytes(data[:700])
    with pytest.raises(DicomReadError) as info:
        load(cut)
    assert info.value.path == str(cut)


def test_missing_pixel_spacing(tmp_path: Path, nm_dicom: Path) -> None:
    ds = pydicom.dcmread(nm_dicom / "nmqc" / "Spatial_Resol_X.dcm")
    del ds.PixelSpacing
    bad = tmp_path / "nospacing.dcm"
    ds.save_as(bad)
    _raises(bad, MissingTagError, "Pixel Spacing is missing")


def test_inconsistent_frame_counts(tmp_path: Path, nm_dicom: Path) -> None:
    ds = pydicom.dcmread(nm_dicom / "linaqa" / "MCR.dcm")
    ds.TimeSliceVector = list(range(1, 30))  # 29 values for 30 frames
    bad = tmp_path / "frames.dcm"
    ds.save_as(bad)
    _raises(bad, PixelDataError, "inconsistent frame counts.*TimeSliceVector has 29")


def test_frames_larger_than_pixel_data(tmp_path: Path, nm_dicom: Path) -> None:
    ds = pydicom.dcmread(nm_dicom / "linaqa" / "MCR.dcm")
    ds.NumberOfFrames = 31
    for kw in ("EnergyWindowVector", "DetectorVector", "PhaseVector"):
        setattr(ds, kw, [1] * 31)
    ds.TimeSliceVector = list(range(1, 32))
    bad = tmp_path / "frames31.dcm"
    ds.save_as(bad)
    _raises(bad, PixelDataError, "truncated")


@pytest.mark.parametrize("source", ["nmqc/Lin_X", "nema_wg04_nm1/NM1_J2KR", "nema_wg04_nm1/NM1_RLE"])
def test_absurd_dimensions_do_not_allocate(tmp_path: Path, nm_dicom: Path, source: str) -> None:
    ds = pydicom.dcmread(nm_dicom / source)
    ds.Rows = ds.Columns = 60000
    bad = tmp_path / "huge.dcm"
    ds.save_as(bad)
    tracemalloc.start()
    try:
        with pytest.raises(PixelDataError, match="60000") as info:
            load(bad)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.path == str(bad)
    assert peak < 50 * 2**20  # nothing near 60000 x 60000 x 2 bytes was allocated


def test_compressed_size_disagrees_with_header(tmp_path: Path, nm_dicom: Path) -> None:
    ds = pydicom.dcmread(nm_dicom / "nema_wg04_nm1" / "NM1_J2KR")
    ds.Rows, ds.Columns = 512, 512  # same byte count as 1024 x 256
    bad = tmp_path / "j2k_size.dcm"
    ds.save_as(bad)
    _raises(bad, PixelDataError, "compressed frame is 1024 x 256 but the header says 512 x 512")


def test_volume_without_spacing(tmp_path: Path, nm_dicom: Path) -> None:
    ds = pydicom.dcmread(nm_dicom / "nmqc" / "Jaszack.dcm")
    del ds.SpacingBetweenSlices
    del ds.SliceThickness
    bad = tmp_path / "jas.dcm"
    ds.save_as(bad)
    _raises(bad, MissingTagError, "Spacing Between Slices")


def test_volume_bad_orientation(tmp_path: Path, nm_dicom: Path) -> None:
    ds = pydicom.dcmread(nm_dicom / "nmqc" / "Jaszack.dcm")
    ds.DetectorInformationSequence[0].ImageOrientationPatient = [1, 0, 0, 1, 0, 0]
    bad = tmp_path / "jas_iop.dcm"
    ds.save_as(bad)
    _raises(bad, GeometryError, "orthonormal")


def test_folder_walk_skips_with_reasons(tmp_path: Path, nm_dicom: Path) -> None:
    """A folder with good and bad files: good ones load, bad ones are SkippedFile rows; nothing is
    written next to the input."""
    folder = tmp_path / "archive"
    shutil.copytree(nm_dicom / "linaqa", folder / "linaqa")
    (folder / "junk.bin").write_bytes(b"\x00" * 300)
    write(base_dataset(np.zeros((1, 8, 8)), sop_class=MR_STORAGE, modality="MR"), folder / "sub" / "mr")
    data = (nm_dicom / "nmqc" / "UNIFORMIDAD_1.dcm").read_bytes()
    (folder / "sub" / "cut").write_bytes(data[:-4000])
    # mixed series: a file claiming Background's series but another study
    bg = pydicom.dcmread(nm_dicom / "linaqa" / "Background", stop_before_pixels=True)
    copy_with_new_uids(
        nm_dicom / "linaqa" / "PetriDish",
        folder / "sub" / "stray",
        SeriesInstanceUID=bg.SeriesInstanceUID,
        StudyInstanceUID=generate_uid(),
    )
    shutil.copy(nm_dicom / "linaqa" / "PetriDish", folder / "sub" / "dup_of_petri")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}

    studies = load(folder)

    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}
    assert after == before
    reasons = {Path(s.path).name: s.reason for s in studies.skipped}
    assert reasons["junk.bin"].startswith("NotDicomError")
    assert reasons["LICENCE.txt"].startswith("NotDicomError")
    assert reasons["mr"].startswith("WrongModalityError")
    assert reasons["cut"].startswith("PixelDataError") and "truncated" in reasons["cut"]
    assert reasons["stray"].startswith("MixedSeriesError") and "study UID" in reasons["stray"]
    dup = {"PetriDish", "dup_of_petri"} & set(reasons)
    assert len(dup) == 1 and reasons[dup.pop()].startswith("MixedSeriesError: same SOP Instance UID")
    loaded = sorted(Path(v.source.path).name for s in studies for v in s.views)
    assert loaded.count("Background") == 2 and len(loaded) == 3
    assert sum(len(s.dynamics) for s in studies) == 2


def test_strict_walk_raises(tmp_path: Path, nm_dicom: Path) -> None:
    shutil.copy(nm_dicom / "linaqa" / "PetriDish", tmp_path / "a")
    (tmp_path / "b").write_bytes(b"hello")
    with pytest.raises(NotDicomError):
        load(tmp_path, strict=True)
    assert len(load(tmp_path)) == 1


def test_mixed_series_in_a_list_strict(tmp_path: Path, nm_dicom: Path) -> None:
    bg = pydicom.dcmread(nm_dicom / "linaqa" / "Background", stop_before_pixels=True)
    stray = copy_with_new_uids(
        nm_dicom / "linaqa" / "PetriDish",
        tmp_path / "stray",
        SeriesInstanceUID=bg.SeriesInstanceUID,
        StudyInstanceUID=generate_uid(),
    )
    with pytest.raises(MixedSeriesError, match="mixes files"):
        load([nm_dicom / "linaqa" / "Background", stray], strict=True)


def test_missing_path_is_reported(tmp_path: Path) -> None:
    studies = load([tmp_path / "nope"])
    assert len(studies) == 0
    assert studies.skipped[0].reason.startswith("NotFound")


def test_undecodable_element_is_a_read_error_naming_the_file(tmp_path: Path, nm_dicom: Path) -> None:
    """An element with a VR no DICOM dictionary knows (a corrupt byte pair where the VR
    stands, explicit VR) is a DicomReadError naming the file and the element, not
    pydicom's NotImplementedError from deep inside a load."""
    data = bytearray((nm_dicom / "linaqa" / "Background").read_bytes())
    at = data.index(b"\x08\x00\x70\x00LO")  # (0008,0070) Manufacturer, explicit VR LO
    data[at + 4 : at + 6] = b"\x4c\xef"
    bad = tmp_path / "bad_vr.dcm"
    bad.write_bytes(bytes(data))
    err = _raises(bad, DicomReadError, "Manufacturer cannot be decoded")
    assert "Value Representation" in str(err)

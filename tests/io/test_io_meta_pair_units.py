"""Metadata (age, de-identified key), geometric mean with an estimated shift, count units."""

from __future__ import annotations

import datetime as dt
import math
import stat
from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_build import POST_CODE, SC_STORAGE, code_item, copy_with_new_uids, detector_item, nm_planar, write
from pydicom.sequence import Sequence as DicomSequence
from scipy import ndimage

from mibgkit.errors import GeometryError, MissingTagError
from mibgkit.io import geometric_mean, load, to_units
from mibgkit.io.deid import key_path, patient_key
from mibgkit.io.meta import dicom_datetime, parse_age, study_info


@pytest.mark.parametrize(
    ("text", "years"),
    [("005Y", 5.0), ("018M", 1.5), ("026W", 26 * 7 / 365.25), ("003D", 3 / 365.25), ("", None), ("5", None)],
)
def test_parse_age(text: str, years: float | None) -> None:
    assert parse_age(text) == (pytest.approx(years) if years is not None else None)


def test_age_from_birth_date_when_age_missing() -> None:
    ds = pydicom.Dataset()
    ds.PatientBirthDate = "20190601"
    ds.StudyDate = "20240601"
    ds.StudyTime = "101500.25"
    ds.StudyInstanceUID = "1.2.3"
    ds.PatientID = "NB-17"
    info = study_info(ds)
    assert info.patient_age_years == pytest.approx(5.0, abs=0.01)
    assert info.study_datetime == dt.datetime(2024, 6, 1, 10, 15, 0, 250000)
    assert info.phi == {"PatientID": "NB-17", "PatientBirthDate": "20190601"}


def test_patient_age_when_birth_date_is_removed() -> None:
    ds = pydicom.Dataset()
    ds.PatientAge = "018M"
    ds.PatientBirthDate = ""
    ds.StudyDate = "20240601"
    assert study_info(ds).patient_age_years == pytest.approx(1.5)


def test_placeholder_dates_are_not_dates() -> None:
    assert dicom_datetime("00010101", "000000") is None
    assert dicom_datetime("00000000") is None
    assert dicom_datetime("20240601120000.5+0100") == dt.datetime(2024, 6, 1, 12, 0, 0, 500000)


def test_patient_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    k1 = patient_key("NB-0001")
    assert k1.startswith("P-") and len(k1) == 14 and k1 == patient_key("NB-0001")
    assert patient_key("NB-0002") != k1
    assert patient_key("") == ""
    monkeypatch.setenv("MIBGKIT_KEY", "another key")
    assert patient_key("NB-0001") != k1


def test_patient_key_file_created_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MIBGKIT_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert not key_path().exists()
    k1 = patient_key("NB-0001")
    path = key_path()
    assert path == tmp_path / "cfg" / "mibgkit" / "key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64
    assert patient_key("NB-0001") == k1


def test_phi_only_in_phi(tmp_path: Path) -> None:
    ds = nm_planar(np.ones((1, 8, 8)))
    study = load(write(ds, tmp_path / "x"))[0]
    assert study.info.phi["PatientID"] == "NB-0001"
    assert study.info.phi["PatientName"] == "Test^Child"
    text = repr(study.info) + repr(study.meta())
    assert "NB-0001" not in text and "Test^Child" not in text


def _pair_files(tmp_path: Path, nm1: Path, shift: tuple[float, float]) -> Path:
    """NM1 as ANT, and a POST made from NM1 shifted by ``shift`` (normalized frame) and stored mirrored."""
    folder = tmp_path / "pair"
    ant = copy_with_new_uids(nm1, folder / "ant")
    ds = pydicom.dcmread(ant)
    ds.ViewCodeSequence = DicomSequence([code_item(("399321004", "SCT", "Anterior projection"))])
    ds.save_as(ant)
    img = ds.pixel_array.astype(float)
    moved = ndimage.shift(img, shift, order=1, mode="constant")
    post = pydicom.dcmread(ant)
    post.decompress()
    post.SOPInstanceUID = pydicom.uid.generate_uid()
    post.file_meta.MediaStorageSOPInstanceUID = post.SOPInstanceUID
    post.ViewCodeSequence = DicomSequence([code_item(POST_CODE)])
    post.PixelData = np.round(moved[:, ::-1]).astype(np.int16).tobytes()
    post.save_as(folder / "post")
    return folder


def test_geometric_mean_estimates_shift(tmp_path: Path, nm1_rle: Path) -> None:
    (study,) = load(_pair_files(tmp_path, nm1_rle, (6.0, -3.0)))
    ant, post = study.pair() or (None, None)
    assert ant is not None and post is not None and post.source.mirrored
    gm = study.geometric_mean()
    assert gm.shift_rc == pytest.approx((-6.0, 3.0), abs=0.5)
    assert gm.shift_mm == pytest.approx((-6 * 2.26, 3 * 2.26), abs=1.2)
    assert gm.image.shape == (1024, 256) and gm.image.dtype == np.float32
    # aligned: the geometric mean of an image with itself is the image
    inner = (slice(20, -20), slice(20, -20))
    assert np.abs(gm.image[inner] - ant.image[inner]).mean() < 0.1 * ant.image[inner].mean()
    assert np.corrcoef(gm.image.ravel(), ant.image.ravel())[0, 1] > 0.97


def test_geometric_mean_needs_a_pair(nm1_rle: Path) -> None:
    (study,) = load(nm1_rle, assume_view="ANT")
    with pytest.raises(GeometryError):
        geometric_mean(study.views[0], study.views[0])
    with pytest.raises(GeometryError, match="no ANT/POST pair"):
        study.geometric_mean()


def test_units_whole_body(tmp_path: Path) -> None:
    img = np.full((1, 64, 32), 100, dtype=np.uint16)
    ds = nm_planar(img, detector_items=[detector_item(("399321004", "SCT", "Anterior projection"))])
    study = load(write(ds, tmp_path / "wb"))[0]
    view = study.view("ANT")
    # 400 mm detector field of view along the scan at 2 mm/s: 200 s per body point
    np.testing.assert_allclose(to_units(view, study.info, "counts_per_s"), 0.5)
    hours = 24.0  # injected 2024-05-31 10:00, acquired 2024-06-01 10:00
    activity_then = 96.2 * math.exp(-math.log(2) * hours / 13.22)
    np.testing.assert_allclose(to_units(view, study.info, "counts_per_mbq"), 100 / activity_then, rtol=1e-5)
    np.testing.assert_allclose(
        to_units(view, study.info, "counts_per_s_per_mbq"), 0.5 / activity_then, rtol=1e-5
    )
    np.testing.assert_array_equal(to_units(view, study.info, "counts"), view.image)
    with pytest.raises(ValueError):
        to_units(view, study.info, "bananas")  # type: ignore[arg-type]


def test_units_dynamic_and_missing(nm_dicom: Path, nm1_rle: Path) -> None:
    (study,) = load(nm_dicom / "linaqa" / "MCR.dcm")
    dyn = study.dynamics[0]
    np.testing.assert_array_equal(to_units(dyn, study.info, "counts_per_s"), dyn.frames)  # 1 s frames
    with pytest.raises(MissingTagError, match="injected activity"):
        to_units(dyn, study.info, "counts_per_mbq")
    (nm1,) = load(nm1_rle)
    # NM1 has a scan velocity (1.67 mm/s) but no detector field of view: the image width is used
    t = nm1.views[0].acquisition_time_s
    assert t == pytest.approx(256 * 2.26 / 1.671598)


def test_secondary_capture_units_missing_time(tmp_path: Path) -> None:
    from io_build import base_dataset

    ds = base_dataset(np.ones((8, 8)), sop_class=SC_STORAGE)
    study = load(write(ds, tmp_path / "sc"))[0]
    with pytest.raises(MissingTagError, match="counts per second"):
        to_units(study.views[0], study.info, "counts_per_s")

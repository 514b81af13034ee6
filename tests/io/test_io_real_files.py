"""Every real gamma-camera file in tests/data/nm_dicom (and pydicom's NM1 copies) loads correctly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import mibgkit
from mibgkit.io import load
from mibgkit.io.headers import read_header

NM1_FILES = ["NM1_RLE", "NM1_JPLL", "NM1_JLSL", "NM1_J2KR", "NM1_J2KI"]


def _only(path: Path, **kw: object) -> mibgkit.io.Study:
    studies = load(path, **kw)  # type: ignore[arg-type]
    assert len(studies) == 1 and not studies.skipped
    return studies[0]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_mibgkit_load_is_io_load() -> None:
    assert mibgkit.load is load


@pytest.mark.parametrize("name", NM1_FILES)
def test_nm1_is_whole_body_1024x256(nm_dicom: Path, name: str) -> None:
    study = _only(nm_dicom / "nema_wg04_nm1" / name)
    (view,) = study.views
    assert view.shape == (1024, 256)
    assert view.kind == "whole_body"
    assert view.pixel_spacing_mm == (2.26, 2.26)
    assert view.image.dtype == np.float32
    # nothing in NM1's header names the view: UNKNOWN, not guessed
    assert view.view == "UNKNOWN" and view.view_source == "none"
    assert view.source.frame == 1 and view.source.stored_shape == (1024, 256)
    assert view.source.sop_instance_uid == str(
        pydicom.dcmread(view.source.path, stop_before_pixels=True).SOPInstanceUID
    )
    assert not view.source.mirrored and not view.source.flipped_rows


def test_nm1_head_at_row_0(nm1_rle: Path, tmp_path: Path) -> None:
    """Rows run head->feet: the body starts near row 0, the shoulders are wider than the head,
    the two legs are apart near the bottom. A PNG is written for a look by eye."""
    from skimage.io import imsave

    img = _only(nm1_rle).views[0].image
    smooth = np.convolve(img.sum(axis=1), np.ones(9) / 9, mode="same")
    body_rows = np.flatnonzero(smooth > 0.1 * smooth.max())
    top, bottom = body_rows[0], body_rows[-1]
    assert top < 100 and bottom > 750
    width = (img > 0.15 * np.percentile(img, 99)).sum(axis=1)
    head, shoulders = width[top + 30], width[top + 150]
    assert shoulders > 1.5 * head
    png = tmp_path / "nm1.png"
    imsave(png, (255 * np.clip(img / np.percentile(img, 99.5), 0, 1)).astype(np.uint8), check_contrast=False)
    assert png.stat().st_size > 1000


def test_nm1_with_assumed_view(nm1_rle: Path) -> None:
    (view,) = _only(nm1_rle, assume_view="ANT").views
    assert (view.view, view.view_source) == ("ANT", "assumed")
    assert not view.source.mirrored
    (post,) = _only(nm1_rle, assume_view="POST").views
    assert post.view == "POST" and post.source.mirrored
    np.testing.assert_array_equal(post.image, view.image[:, ::-1])


def test_nm1_transfer_syntaxes_decode_alike(nm_dicom: Path) -> None:
    folder = nm_dicom / "nema_wg04_nm1"
    ref = _only(folder / "NM1_RLE").views[0].image
    for name in ["NM1_JPLL", "NM1_JLSL", "NM1_J2KR"]:
        np.testing.assert_array_equal(_only(folder / name).views[0].image, ref, err_msg=name)
    lossy = _only(folder / "NM1_J2KI").views[0].image
    assert lossy.min() == -30  # negative values of the lossy codec are kept
    # about 160:1 lossy: close, not equal
    assert np.abs(lossy - ref).mean() < 5.0
    assert np.corrcoef(lossy.ravel(), ref.ravel())[0, 1] > 0.93
    assert lossy.sum() / ref.sum() == pytest.approx(1.0, abs=0.03)
    assert not np.array_equal(lossy, ref)


def test_transfer_syntaxes_are_the_named_ones(nm_dicom: Path) -> None:
    names = {
        p.name: str(read_header(p).file_meta.TransferSyntaxUID)
        for p in (nm_dicom / "nema_wg04_nm1").iterdir()
    }
    assert names == {
        "NM1_RLE": "1.2.840.10008.1.2.5",
        "NM1_JPLL": "1.2.840.10008.1.2.4.70",
        "NM1_JLSL": "1.2.840.10008.1.2.4.80",
        "NM1_J2KR": "1.2.840.10008.1.2.4.90",
        "NM1_J2KI": "1.2.840.10008.1.2.4.91",
    }


def test_pydicom_nm1_copies(nm1_rle: Path) -> None:
    """pydicom ships NM1 as JPEG2000.dcm (lossy J2K) and JPGExtended.dcm (12-bit extended);
    JPEG-LL.dcm is not bundled with the installed pydicom (download-only)."""
    ref = _only(nm1_rle).views[0].image
    assert get_testdata_file("JPEG-LL.dcm", download=False) is None
    for name, mae, corr in [("JPEG2000.dcm", 5.0, 0.93), ("JPGExtended.dcm", 3.0, 0.98)]:
        path = get_testdata_file(name, download=False)
        assert path is not None, name
        (view,) = _only(Path(path)).views
        assert view.shape == (1024, 256) and view.kind == "whole_body"
        assert np.abs(view.image - ref).mean() < mae, name
        assert np.corrcoef(view.image.ravel(), ref.ravel())[0, 1] > corr, name
        assert view.image.sum() / ref.sum() == pytest.approx(1.0, abs=0.06), name
    assert (
        str(read_header(get_testdata_file("JPGExtended.dcm")).file_meta.TransferSyntaxUID)
        == "1.2.840.10008.1.2.4.51"
    )


def test_jaszack_volume_geometry(nm_dicom: Path) -> None:
    study = _only(nm_dicom / "nmqc" / "Jaszack.dcm")
    assert not study.views
    (vol,) = study.volumes
    assert vol.array.shape == (45, 128, 128)
    assert vol.spacing_mm == pytest.approx((4.13, 4.13, 4.13), abs=1e-3)
    # geometry only inside the Detector Information Sequence
    assert vol.geometry_source == "DetectorInformationSequence"
    assert vol.origin_lps == pytest.approx((0.0, -264.319977, -165.199986))
    # Spacing Between Slices is -4.13: slices run against the normal (0, 0, 1), i.e. toward the feet
    np.testing.assert_allclose(vol.direction, np.diag([1.0, 1.0, -1.0]), atol=1e-9)
    np.testing.assert_allclose(
        vol.index_to_lps((44, 0, 0)), [0.0, -264.319977, -165.199986 - 44 * 4.12999964], atol=1e-4
    )
    assert [s.frame for s in vol.sources] == list(range(1, 46))
    img = vol.to_sitk()
    assert img.GetSize() == (128, 128, 45)
    assert img.GetDirection()[8] == -1.0
    raw = pydicom.dcmread(nm_dicom / "nmqc" / "Jaszack.dcm").pixel_array
    np.testing.assert_array_equal(vol.array, raw.astype(np.float32))


def test_background_two_labelled_detectors(nm_dicom: Path) -> None:
    study = _only(nm_dicom / "linaqa" / "Background")
    assert [v.label for v in study.views] == ["FONDO D1", "FONDO D2"]
    assert [v.detector for v in study.views] == [1, 2]
    assert [v.source.frame for v in study.views] == [1, 2]
    # free text says background, not a projection: the view is not guessed
    assert {v.view for v in study.views} == {"UNKNOWN"}
    assert all(v.orientation_source == "DetectorInformationSequence" for v in study.views)
    assert study.info.energy_windows[0].name == "131 Iodine"
    assert study.info.collimator == "@30429647"
    assert study.views[0].frame_duration_s == pytest.approx(299.994)


def test_petridish_single_detector_text(nm_dicom: Path) -> None:
    (view,) = _only(nm_dicom / "linaqa" / "PetriDish").views
    assert view.label == "D2 0 CM" and view.view == "UNKNOWN"
    assert view.shape == (128, 128)
    assert view.image.max() == 1112


def test_mcr_dynamic_30_frames(nm_dicom: Path) -> None:
    study = _only(nm_dicom / "linaqa" / "MCR.dcm")
    assert not study.views
    (dyn,) = study.dynamics
    assert dyn.frames.shape == (30, 128, 128)
    assert dyn.kind == "dynamic"
    assert dyn.frame_durations_s == [1.0] * 30
    assert [s.frame for s in dyn.sources] == list(range(1, 31))
    assert dyn.pixel_spacing_mm == (4.2578, 4.2578)
    raw = pydicom.dcmread(nm_dicom / "linaqa" / "MCR.dcm").pixel_array
    np.testing.assert_array_equal(dyn.frames, raw.astype(np.float32))  # no orientation given: as stored


def test_max_count_rate_dynamic(nm_dicom: Path) -> None:
    (dyn,) = _only(nm_dicom / "linaqa" / "MaxCountRate.dcm").dynamics
    assert dyn.frames.shape == (24, 64, 64)


def test_lin_x_without_orientation(nm_dicom: Path) -> None:
    (view,) = _only(nm_dicom / "nmqc" / "Lin_X").views
    assert view.view == "UNKNOWN" and view.orientation_source == "assumed"
    assert view.shape == (1024, 1024)
    assert view.pixel_spacing_mm == pytest.approx((0.59, 0.59))


def test_fourbar_posterior_from_image_id(nm_dicom: Path) -> None:
    (view,) = _only(nm_dicom / "nmqc" / "FourBar.dcm").views
    assert (view.view, view.view_source) == ("POST", "text:ImageID")
    assert view.source.mirrored  # posterior, no lateral direction in the header: mirrored
    raw = pydicom.dcmread(nm_dicom / "nmqc" / "FourBar.dcm").pixel_array
    np.testing.assert_array_equal(view.image, raw[:, ::-1].astype(np.float32))
    assert view.source.to_stored(10, 20) == (10.0, 511 - 20.0)


@pytest.mark.parametrize("name", ["QuadrantBar.dcm", "Spatial_Resol_X.dcm", "UNIFORMIDAD_1.dcm"])
def test_other_static_qc(nm_dicom: Path, name: str) -> None:
    (view,) = _only(nm_dicom / "nmqc" / name).views
    raw = pydicom.dcmread(nm_dicom / "nmqc" / name).pixel_array
    assert view.shape == raw.shape and view.kind == "static"
    np.testing.assert_array_equal(view.image, raw.astype(np.float32))


def test_whole_folder_and_nothing_written(nm_dicom: Path) -> None:
    before = _digest(nm_dicom)
    studies = load(nm_dicom)
    assert _digest(nm_dicom) == before
    n_views = sum(len(s.views) for s in studies)
    assert n_views == 5 + 2 + 1 + 5  # NM1 x5, Background x2, PetriDish, nmqc statics x5
    assert sum(len(s.volumes) for s in studies) == 1
    assert sum(len(s.dynamics) for s in studies) == 2
    skipped = {Path(s.path).name: s.reason for s in studies.skipped}
    assert set(skipped) == {"SOURCES.md", "LICENCE.txt", "LICENSE"}
    assert all(r.startswith("NotDicomError") for r in skipped.values())
    # phantom QC data: PatientID present, so the de-identified key is set and the ID kept only in phi
    jas = next(s for s in studies if s.volumes)
    assert jas.info.patient_key.startswith("P-") and len(jas.info.patient_key) == 14
    assert jas.info.phi["PatientID"] == "123456"
    assert "123456" not in str(jas.meta())


def test_jaszack_geometry_agrees_with_simpleitk_gdcm(nm_dicom: Path) -> None:
    """An independent reader (SimpleITK/GDCM) places the volume the same way."""
    import SimpleITK as sitk

    path = nm_dicom / "nmqc" / "Jaszack.dcm"
    ours = _only(path).volumes[0].to_sitk()
    ref = sitk.ReadImage(str(path))
    assert ours.GetSize() == ref.GetSize()
    np.testing.assert_allclose(ours.GetOrigin(), ref.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(ours.GetSpacing(), ref.GetSpacing(), atol=1e-4)
    np.testing.assert_allclose(ours.GetDirection(), ref.GetDirection(), atol=1e-6)
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(ours), sitk.GetArrayFromImage(ref).astype(np.float32)
    )

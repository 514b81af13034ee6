"""Standard NM layouts written with pydicom (what the phantom writer and vendors produce):
multi-frame with Detector Information Sequence, single-frame pairs, secondary capture,
view only in text, orientation handling, projections, per-slice volumes, DICOMDIR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_build import (
    ANT_CODE,
    POST_CODE,
    SC_STORAGE,
    base_dataset,
    body_phantom,
    code_item,
    detector_item,
    nm_planar,
    write,
)
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid

from mibgkit.io import load

ANT_IOP = (1, 0, 0, 0, 0, -1)  # rows toward patient left, columns toward feet
POST_IOP = (-1, 0, 0, 0, 0, -1)  # seen from behind


@pytest.fixture(scope="module")
def body() -> np.ndarray:
    return body_phantom()


def _hot_col(img: np.ndarray) -> int:
    return int(np.unravel_index(np.argmax(img), img.shape)[1])


def test_multiframe_with_detector_view_codes(tmp_path: Path, body: np.ndarray) -> None:
    stored = np.stack([body, body[:, ::-1]])  # detector 2 sees the patient from behind
    ds = nm_planar(
        stored,
        detectors=[1, 2],
        detector_items=[detector_item(ANT_CODE, ANT_IOP), detector_item(POST_CODE, POST_IOP)],
    )
    study = load(write(ds, tmp_path / "wb.dcm"))[0]
    ant, post = study.view("ANT"), study.view("POST")
    assert ant.view_source == post.view_source == "DetectorInformationSequence"
    assert (ant.source.frame, post.source.frame) == (1, 2)
    assert not ant.source.mirrored and post.source.mirrored
    np.testing.assert_array_equal(ant.image, body.astype(np.float32))
    np.testing.assert_array_equal(post.image, body.astype(np.float32))
    assert _hot_col(ant.image) < body.shape[1] / 2  # patient right on the image left
    assert study.pair() == (ant, post)
    # stored coordinates of the hot spot in POST's own frame are mirrored back
    r, c = np.unravel_index(np.argmax(post.image), post.image.shape)
    assert post.source.to_stored(r, c) == (float(r), float(body.shape[1] - 1 - c))
    info = study.info
    assert info.injected_activity_mbq == pytest.approx(96.2)
    # birth date 2019-03-15 to study 2024-06-01 is finer than PatientAge '005Y'
    assert info.patient_age_years == pytest.approx(5.21, abs=0.01) and info.patient_sex == "F"
    assert info.radiopharmaceutical == "Iobenguane I-123"
    assert info.collimator == "MELP"
    assert ant.scan_velocity_mm_s == 2.0 and ant.scan_fov_mm == 400.0
    assert ant.acquisition_time_s == pytest.approx(200.0)


def test_two_single_frame_objects(tmp_path: Path, body: np.ndarray) -> None:
    study_uid, series_uid = generate_uid(), generate_uid()
    for name, img, code in [("a", body, ANT_CODE), ("p", body[:, ::-1], POST_CODE)]:
        ds = nm_planar(img, detector_items=[detector_item(code)], study_uid=study_uid, series_uid=series_uid)
        write(ds, tmp_path / name)
    (study,) = load(tmp_path)
    assert [v.view for v in study.views] == ["ANT", "POST"]
    # no orientation given: the posterior view is mirrored by convention
    assert study.view("POST").orientation_source == "assumed" and study.view("POST").source.mirrored
    np.testing.assert_array_equal(study.view("POST").image, study.view("ANT").image)


def test_secondary_capture_nm(tmp_path: Path, body: np.ndarray) -> None:
    ds = base_dataset(body, sop_class=SC_STORAGE)
    ds.ImageType = ["DERIVED", "SECONDARY", "WHOLE BODY", "EMISSION"]
    ds.ViewCodeSequence = DicomSequence([code_item(POST_CODE)])
    ds.PatientOrientation = ["R", "F"]
    (view,) = load(write(ds, tmp_path / "sc.dcm"))[0].views
    assert (view.view, view.view_source, view.kind) == ("POST", "ViewCodeSequence", "whole_body")
    assert view.orientation_source == "PatientOrientation" and view.source.mirrored


def test_view_only_in_text(tmp_path: Path, body: np.ndarray) -> None:
    study_uid = generate_uid()
    for name, img, text in [("1", body, "WB_ANT"), ("2", body[:, ::-1], "WB_POST")]:
        ds = nm_planar(img, study_uid=study_uid)
        ds.ImageID = text
        ds.SeriesDescription = "Whole body ANT/POST"  # names both: not evidence
        write(ds, tmp_path / name)
    (study,) = load(tmp_path)
    assert [(v.view, v.view_source, v.label) for v in study.views] == [
        ("ANT", "text:ImageID", "WB_ANT"),
        ("POST", "text:ImageID", "WB_POST"),
    ]
    np.testing.assert_array_equal(study.view("POST").image, study.view("ANT").image)


def test_text_cannot_name_two_heads(tmp_path: Path, body: np.ndarray) -> None:
    ds = nm_planar(
        np.stack([body, body]), detectors=[1, 2], detector_items=[detector_item(), detector_item()]
    )
    ds.SeriesDescription = "ANTERIOR"
    study = load(write(ds, tmp_path / "x"))[0]
    assert [v.view for v in study.views] == ["UNKNOWN", "UNKNOWN"]


def test_head_at_bottom_is_flipped(tmp_path: Path, body: np.ndarray) -> None:
    ds = base_dataset(body[::-1], sop_class=SC_STORAGE)
    ds.ImageType = ["DERIVED", "SECONDARY", "WHOLE BODY"]
    ds.PatientOrientation = ["L", "H"]
    (view,) = load(write(ds, tmp_path / "flip"))[0].views
    assert view.source.flipped_rows and not view.source.mirrored
    np.testing.assert_array_equal(view.image, body.astype(np.float32))
    assert view.source.to_stored(0, 5) == (body.shape[0] - 1.0, 5.0)
    np.testing.assert_array_equal(view.source.to_stored_array(view.image), body[::-1].astype(np.float32))


def test_posterior_already_in_anterior_display(tmp_path: Path, body: np.ndarray) -> None:
    """A POST frame whose orientation says its rows already run toward the patient's left is not mirrored."""
    ds = nm_planar(
        np.stack([body, body]),
        detectors=[1, 2],
        # not an exact copy of the ANT head's value (that would say nothing per head)
        detector_items=[
            detector_item(ANT_CODE, ANT_IOP),
            detector_item(POST_CODE, (0.999, 0.0447, 0, 0, 0, -1)),
        ],
    )
    study = load(write(ds, tmp_path / "x"))[0]
    assert not study.view("POST").source.mirrored
    np.testing.assert_array_equal(study.view("POST").image, body.astype(np.float32))


def test_copied_orientation_is_not_trusted(tmp_path: Path, body: np.ndarray) -> None:
    """Both heads carry the same orientation (as Siemens' Background does): mirroring follows the view."""
    ds = nm_planar(
        np.stack([body, body[:, ::-1]]),
        detectors=[1, 2],
        detector_items=[detector_item(ANT_CODE, ANT_IOP), detector_item(POST_CODE, ANT_IOP)],
    )
    study = load(write(ds, tmp_path / "x"))[0]
    assert study.view("POST").source.mirrored
    np.testing.assert_array_equal(study.view("POST").image, body.astype(np.float32))


def test_view_from_orientation_only(tmp_path: Path, body: np.ndarray) -> None:
    ds = nm_planar(
        np.stack([body, body[:, ::-1]]),
        detectors=[1, 2],
        detector_items=[detector_item(None, ANT_IOP), detector_item(None, POST_IOP)],
    )
    study = load(write(ds, tmp_path / "x"))[0]
    assert [(v.view, v.view_source) for v in study.views] == [
        ("ANT", "DetectorInformationSequence"),
        ("POST", "DetectorInformationSequence"),
    ]


def test_static_two_energy_windows(tmp_path: Path, body: np.ndarray) -> None:
    ds = nm_planar(np.stack([body, body // 4]), image_type="STATIC", detectors=[1, 1])
    ds.EnergyWindowVector = [1, 2]
    ds.NumberOfEnergyWindows = 2
    views = load(write(ds, tmp_path / "x"))[0].views
    assert [(v.energy_window, v.kind) for v in views] == [(1, "static"), (2, "static")]
    assert views[0].image.sum() > 3 * views[1].image.sum()


def test_tomo_projections(tmp_path: Path) -> None:
    n = 8
    frames = np.arange(n * 4 * 4, dtype=np.uint16).reshape(n, 4, 4)
    ds = nm_planar(frames, image_type="TOMO", detectors=[1] * 4 + [2] * 4)
    ds.FrameIncrementPointer = [0x00540010, 0x00540020, 0x00540050, 0x00540090]
    ds.RotationVector = [1] * n
    ds.AngularViewVector = [1, 2, 3, 4] * 2
    rot = pydicom.Dataset()
    rot.StartAngle = "0"
    rot.AngularStep = "45"
    rot.RotationDirection = "CW"
    ds.RotationInformationSequence = DicomSequence([rot])
    ds.NumberOfRotations = 1
    d1, d2 = detector_item(), detector_item()
    d1.StartAngle, d2.StartAngle = "0", "180"
    ds.DetectorInformationSequence = DicomSequence([d1, d2])
    (proj,) = load(write(ds, tmp_path / "tomo"))[0].projections
    assert proj.frames.shape == (n, 4, 4)
    np.testing.assert_array_equal(proj.frames, frames.astype(np.float32))
    np.testing.assert_allclose(proj.angles_deg, [0, 45, 90, 135, 180, 225, 270, 315])
    np.testing.assert_array_equal(proj.index["DetectorVector"], [1, 1, 1, 1, 2, 2, 2, 2])


def test_per_slice_volume(tmp_path: Path) -> None:
    """PET/CT-like: one image per file, files in scrambled order, positions decide the order."""
    series, study = generate_uid(), generate_uid()
    z = [-100.0, -96.0, -92.0, -88.0, -84.0]
    for i in [3, 0, 4, 1, 2]:
        img = np.full((6, 5), i, dtype=np.uint16)
        ds = base_dataset(
            img, sop_class="1.2.840.10008.5.1.4.1.1.128", modality="PT", study_uid=study, series_uid=series
        )
        ds.ImagePositionPatient = [-10.0, -20.0, z[i]]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.RescaleSlope = "0.5"
        ds.RescaleIntercept = "1"
        write(ds, tmp_path / f"slice{i}")
    (vol,) = load(tmp_path)[0].volumes
    assert vol.array.shape == (5, 6, 5)
    np.testing.assert_allclose(vol.array[:, 0, 0], [1.0, 1.5, 2.0, 2.5, 3.0])
    assert vol.origin_lps == (-10.0, -20.0, -100.0)
    assert vol.spacing_mm == (4.0, 2.4, 2.4)
    np.testing.assert_allclose(vol.direction, np.eye(3))


def test_per_slice_uneven_spacing_is_skipped(tmp_path: Path) -> None:
    series = generate_uid()
    for i, zi in enumerate([0.0, 4.0, 11.0]):
        ds = base_dataset(
            np.zeros((4, 4)), sop_class="1.2.840.10008.5.1.4.1.1.128", modality="PT", series_uid=series
        )
        ds.StudyInstanceUID = "1.2.3"
        ds.ImagePositionPatient = [0.0, 0.0, zi]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        write(ds, tmp_path / f"s{i}")
    studies = load(tmp_path)
    assert len(studies) == 0
    assert len(studies.skipped) == 3
    assert all("GeometryError: uneven slice spacing" in s.reason for s in studies.skipped)


def test_dicomdir(tmp_path: Path, body: np.ndarray) -> None:
    from pydicom.fileset import FileSet

    fs = FileSet()
    fs.add(nm_planar(body, detector_items=[detector_item(ANT_CODE)]))
    fs.write(tmp_path / "media")
    studies = load(tmp_path / "media" / "DICOMDIR")
    assert [v.view for v in studies[0].views] == ["ANT"]
    walked = load(tmp_path / "media")
    assert [v.view for v in walked[0].views] == ["ANT"]
    assert [Path(s.path).name for s in walked.skipped] == ["DICOMDIR"]


def test_gated_frames_in_time_order(tmp_path: Path) -> None:
    frames = np.stack([np.full((4, 4), v, dtype=np.uint16) for v in (3, 1, 4, 2)])
    ds = nm_planar(frames, image_type="GATED")
    ds.FrameIncrementPointer = [0x00540010, 0x00540020, 0x00540060, 0x00540070]
    ds.RRIntervalVector = [1, 1, 1, 1]
    ds.TimeSlotVector = [3, 1, 4, 2]
    ds.FrameTime = "100"
    del ds.ActualFrameDuration
    (gated,) = load(write(ds, tmp_path / "gated"))[0].dynamics
    assert gated.kind == "gated"
    np.testing.assert_array_equal(gated.frames[:, 0, 0], [1, 2, 3, 4])
    assert [s.frame for s in gated.sources] == [2, 4, 1, 3]
    assert gated.frame_durations_s == [0.1] * 4


def test_per_frame_rescale(tmp_path: Path) -> None:
    frames = np.full((3, 4, 4), 10, dtype=np.uint16)
    ds = nm_planar(frames, image_type="DYNAMIC")
    ds.FrameIncrementPointer = [0x00540010, 0x00540020, 0x00540100]
    ds.TimeSliceVector = [1, 2, 3]
    items = []
    for slope in ("1", "2", "0.5"):
        pvt = pydicom.Dataset()
        pvt.RescaleSlope, pvt.RescaleIntercept, pvt.RescaleType = slope, "-1", "US"
        item = pydicom.Dataset()
        item.PixelValueTransformationSequence = DicomSequence([pvt])
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(items)
    (dyn,) = load(write(ds, tmp_path / "dyn"))[0].dynamics
    np.testing.assert_allclose(dyn.frames[:, 0, 0], [9.0, 19.0, 4.0])

"""Segment maps as DICOM SEG where highdicom can, NIfTI with a typed reason where not."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from export_data import BACKGROUND, JASZACK, NM1, dciodvfy_errors, uid_of

from mibgkit.anatomy.model import SegmentMap, VolumeSegmentMap
from mibgkit.export import (
    SegNotPossible,
    SegReason,
    export_view_labels,
    export_volume_labels,
    labels_to_seg,
)
from mibgkit.io.model import PlanarView, StoredFrame, Volume
from mibgkit.segments import SIOPEN_KEYS


def _labels(shape: tuple[int, int]) -> np.ndarray:
    """A label map with several segments, asymmetric so a flip would show."""
    lab = np.zeros(shape, np.uint8)
    lab[5:40, 10:60] = 1
    lab[50:200, 100:120] = 3
    lab[60:90, 20:30] = 5
    lab[shape[0] - 20 :, 0:15] = 12
    return lab


def _view(path: Path, frame: int, shape: tuple[int, int], mirrored: bool, view: str) -> PlanarView:
    source = StoredFrame(str(path), uid_of(path), frame, shape, mirrored=mirrored)
    return PlanarView(np.zeros(shape, np.float32), view, "test", "whole_body", (2.26, 2.26), source)  # type: ignore[arg-type]


def test_single_frame_view_gives_a_valid_seg(tmp_path: Path) -> None:
    view = _view(NM1, 1, (1024, 256), mirrored=False, view="ANT")
    labels = _labels((1024, 256))
    out = export_view_labels(SegmentMap(labels, "ANT", (2.26, 2.26)), view, tmp_path)
    assert out.format == "dicom-seg" and out.reason is None
    assert out.path == tmp_path / "segments_ANT.dcm"
    assert dciodvfy_errors(out.path) == []

    seg = hd.seg.segread(out.path)
    assert [seg.get_segment_description(i).SegmentLabel for i in range(1, 13)] == list(SIOPEN_KEYS)
    back = seg.get_pixels_by_source_instance([uid_of(NM1)], combine_segments=True, skip_overlap_checks=True)
    np.testing.assert_array_equal(back[0], labels)
    ds = pydicom.dcmread(out.path)
    assert ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == uid_of(NM1)
    assert "FrameOfReferenceUID" not in ds  # planar: aligned by pixels, not by patient coordinates


def test_mirrored_view_labels_are_put_back_on_the_stored_grid(tmp_path: Path) -> None:
    view = _view(NM1, 1, (1024, 256), mirrored=True, view="POST")
    labels = _labels((1024, 256))
    out = export_view_labels(SegmentMap(labels, "POST", (2.26, 2.26)), view, tmp_path)
    seg = hd.seg.segread(out.path)
    back = seg.get_pixels_by_source_instance([uid_of(NM1)], combine_segments=True, skip_overlap_checks=True)
    np.testing.assert_array_equal(back[0], labels[:, ::-1])


def test_nm_multiframe_view_falls_back_to_nifti_with_reason(tmp_path: Path) -> None:
    view = _view(BACKGROUND, 2, (128, 128), mirrored=True, view="POST")
    labels = _labels((128, 128))
    with pytest.raises(SegNotPossible) as info:
        labels_to_seg(labels, [BACKGROUND])
    assert info.value.reason is SegReason.CLASSIC_MULTIFRAME
    assert str(BACKGROUND) in str(info.value)

    out = export_view_labels(SegmentMap(labels, "POST", (2.26, 2.26)), view, tmp_path)
    assert (out.format, out.reason) == ("nifti", "classic-multiframe")
    assert out.path == tmp_path / "segments_POST.nii.gz"
    assert "functional groups" in (out.detail or "")
    img = sitk.ReadImage(str(out.path))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), labels[:, ::-1])
    assert img.GetSpacing() == pytest.approx((2.26, 2.26))
    assert not list(tmp_path.glob(".*"))  # no temporary left behind


def test_spect_nm_volume_falls_back_to_nifti_with_geometry(tmp_path: Path) -> None:
    uid = uid_of(JASZACK)
    shape = (45, 128, 128)
    sources = [StoredFrame(str(JASZACK), uid, i + 1, (128, 128)) for i in range(shape[0])]
    direction = np.eye(3)
    vol = Volume(np.zeros(shape, np.float32), (4.4, 4.4, 4.4), (-280.0, -280.0, 10.0), direction, "NM", sources)
    labels = np.zeros(shape, np.uint8)
    labels[10:20, 30:60, 40:50] = 3
    out = export_volume_labels(VolumeSegmentMap(labels, vol.spacing_mm, "atlas"), vol, tmp_path)
    assert (out.format, out.reason) == ("nifti", "classic-multiframe")
    img = sitk.ReadImage(str(out.path))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), labels)
    assert img.GetOrigin() == pytest.approx((-280.0, -280.0, 10.0))
    assert img.GetSpacing() == pytest.approx((4.4, 4.4, 4.4))


def test_out_of_range_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="label values"):
        labels_to_seg(np.full((1024, 256), 13, np.uint8), [NM1])

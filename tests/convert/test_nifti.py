"""The converter's own .nii.gz writer: valid NIfTI-1 with the geometry SimpleITK would
write, read back identically by SimpleITK and nibabel, deterministic bytes."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from convert_data import JASZACK, NM1

import mibgkit
from mibgkit.convert._files import TMP_SUFFIX, relative
from mibgkit.convert.engine import _batches
from mibgkit.convert.nifti import nifti_gz_bytes, quaternion
from mibgkit.convert.scan import Fingerprint, StudyJob
from mibgkit.export._atomic import TMP_SUFFIX as EXPORT_TMP_SUFFIX


def _rot(axis: int, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    m = np.eye(3)
    i, j = [k for k in range(3) if k != axis]
    m[i, i], m[j, j], m[i, j], m[j, i] = c, c, -s, s
    return m


DIRECTIONS = {
    "identity": np.eye(3),
    "slices_reversed": np.diag([1.0, 1.0, -1.0]),
    "oblique": _rot(0, 0.3) @ _rot(1, -1.1) @ _rot(2, 2.5),
    "oblique_left_handed": _rot(0, 0.3) @ _rot(2, 2.9) @ np.diag([1.0, -1.0, 1.0]),
    "permuted": np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    "rotated_180": np.diag([-1.0, -1.0, 1.0]),
}


def _both(tmp_path: Path, array: np.ndarray, spacing: tuple[float, ...], origin: tuple[float, ...] | None,
          direction: np.ndarray | None) -> tuple[Path, Path]:
    ours = tmp_path / "ours.nii.gz"
    ours.write_bytes(nifti_gz_bytes(array, spacing, origin, direction))
    img = sitk.GetImageFromArray(array)
    img.SetSpacing(spacing)
    if origin is not None:
        img.SetOrigin(origin)
    if direction is not None:
        img.SetDirection(tuple(np.asarray(direction, dtype=float).ravel()))
    ref = tmp_path / "sitk.nii.gz"
    sitk.WriteImage(img, str(ref), useCompression=True)
    return ours, ref


def _assert_same_image(ours: Path, ref: Path, array: np.ndarray) -> None:
    a, b = sitk.ReadImage(str(ours)), sitk.ReadImage(str(ref))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(a), array)
    assert a.GetSize() == b.GetSize()
    assert a.GetSpacing() == pytest.approx(b.GetSpacing(), abs=1e-5)
    assert a.GetOrigin() == pytest.approx(b.GetOrigin(), abs=1e-4)
    assert a.GetDirection() == pytest.approx(b.GetDirection(), abs=1e-5)
    na, nb = nib.load(str(ours)), nib.load(str(ref))
    np.testing.assert_allclose(na.affine, nb.affine, atol=1e-4)
    np.testing.assert_allclose(na.header.get_qform(), nb.header.get_qform(), atol=1e-4)
    np.testing.assert_array_equal(np.asarray(na.dataobj), np.asarray(nb.dataobj))
    assert int(na.header["qform_code"]) == 1 and int(na.header["sform_code"]) == 1


@pytest.mark.parametrize("name", sorted(DIRECTIONS))
def test_volume_geometry_matches_simpleitk(tmp_path: Path, name: str) -> None:
    rng = np.random.default_rng(7)
    array = rng.normal(size=(5, 6, 7)).astype(np.float32)
    ours, ref = _both(tmp_path, array, (1.5, 2.0, 3.25), (10.0, -20.5, 30.25), DIRECTIONS[name])
    _assert_same_image(ours, ref, array)


def test_planar_image_is_2d_with_spacing(tmp_path: Path) -> None:
    array = np.arange(64 * 32, dtype=np.float32).reshape(64, 32) - 100.5  # negative values kept
    ours, ref = _both(tmp_path, array, (2.33, 2.4), None, None)
    _assert_same_image(ours, ref, array)
    img = nib.load(str(ours))
    assert img.shape == (32, 64) and img.header.get_zooms() == pytest.approx((2.33, 2.4))
    raw = gzip.decompress(ours.read_bytes())
    assert struct.unpack("<i", raw[:4])[0] == 348 and raw[344:348] == b"n+1\x00"
    assert struct.unpack("<f", raw[108:112])[0] == 352.0 and len(raw) == 352 + array.nbytes


def test_real_planar_and_spect_match_simpleitk(tmp_path: Path) -> None:
    study = mibgkit.load([str(NM1)])[0]
    view = study.views[0]
    spacing = (float(view.pixel_spacing_mm[1]), float(view.pixel_spacing_mm[0]))
    ours, ref = _both(tmp_path, view.image.astype(np.float32), spacing, None, None)
    _assert_same_image(ours, ref, view.image)

    vol = mibgkit.load(str(JASZACK))[0].volumes[0]
    ours = tmp_path / "vol.nii.gz"
    ours.write_bytes(nifti_gz_bytes(vol.array, vol.spacing_mm[::-1], vol.origin_lps, np.asarray(vol.direction)))
    ref = tmp_path / "vol_sitk.nii.gz"
    sitk.WriteImage(vol.to_sitk(), str(ref), useCompression=True)
    _assert_same_image(ours, ref, vol.array)


def test_bytes_are_deterministic_and_gzip_has_no_time() -> None:
    array = np.zeros((128, 64), dtype=np.float32)
    array[40:60, 20:30] = 7.0
    first = nifti_gz_bytes(array, (1.0, 1.0))
    assert first == nifti_gz_bytes(array.copy(), (1.0, 1.0))
    assert first[:3] == b"\x1f\x8b\x08" and first[4:8] == b"\x00\x00\x00\x00"  # gzip, mtime 0
    assert len(first) < array.nbytes // 20  # compressed


def test_big_endian_and_integer_arrays_are_written_little_endian(tmp_path: Path) -> None:
    array = np.arange(24, dtype=">i2").reshape(2, 3, 4)
    path = tmp_path / "be.nii.gz"
    path.write_bytes(nifti_gz_bytes(array, (1.0, 1.0, 1.0)))
    back = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    np.testing.assert_array_equal(back, array.astype(np.int16))
    with pytest.raises(KeyError):
        nifti_gz_bytes(np.zeros((2, 2), dtype=np.complex64), (1.0, 1.0))


def test_quaternion_of_a_reflection_sets_qfac() -> None:
    assert quaternion(np.diag([-4.4, -4.4, -4.4])) == pytest.approx((0.0, 0.0, 1.0, -1.0))
    assert quaternion(np.eye(3)) == pytest.approx((0.0, 0.0, 0.0, 1.0))


def test_helpers_agree_with_the_rest_of_the_package(tmp_path: Path) -> None:
    assert TMP_SUFFIX == EXPORT_TMP_SUFFIX  # left-overs of either writer are recognised
    root = str(tmp_path.resolve())
    assert relative(f"{root}/a/b.dcm", root) == "a/b.dcm"
    assert relative("/elsewhere/x.dcm", root) == "/elsewhere/x.dcm"
    jobs = [StudyJob(f"S-{i:03d}", (Fingerprint("f", 1, 1),), {}) for i in range(37)]
    for workers in (1, 2, 8):
        batches = _batches(jobs, workers)
        assert [j for b in batches for j in b] == jobs  # every job once, in order
        assert max(len(b) for b in batches) <= 16
    assert len(_batches(jobs, 2)) >= 8  # several tasks per worker: a short tail
    sizes = [len(b) for b in _batches([jobs[0]] * 200, 2)]
    assert sizes[0] == 16 and sizes[-4:] == [1, 1, 1, 1]  # large tasks first, single studies last
    assert sizes == sorted(sizes, reverse=True)

"""The ``mibgkit segments`` command (run for real) and SPECT/CT label volumes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from mibgkit.anatomy import map_segments
from mibgkit.anatomy.spect import map_volume, to_body_axes
from mibgkit.io.model import Volume
from mibgkit.segments import label_of


def test_cli_writes_nifti_on_the_stored_grid(nm1_rle: Path, tmp_path: Path, nm1_study):
    out = tmp_path / "seg"
    proc = subprocess.run(
        [sys.executable, "-m", "mibgkit", "segments", str(nm1_rle), "--out", str(out), "--assume-view", "ANT", "--age", "40"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "segments_ANT.nii.gz" in proc.stdout
    img = sitk.ReadImage(str(out / "segments_ANT.nii.gz"))
    arr = sitk.GetArrayFromImage(img)
    assert arr.shape == (1024, 256)  # (rows, cols) as stored
    assert img.GetSpacing() == pytest.approx((2.26, 2.26), abs=1e-5)
    assert set(np.unique(arr)) <= set(range(13)) and arr.max() == 12
    # NM1 is stored head-first, unmirrored: the stored map equals the in-memory map
    expected = map_segments(nm1_study, age_years=40.0).views[0].labels
    assert (arr == expected).mean() > 0.99
    assert (out / "segments_ANT.png").stat().st_size > 10_000
    summary = json.loads((out / "segments.json").read_text())
    assert summary["views"][0]["missing"] == [] and summary["views"][0]["bone_area_mm2"]["skull"] > 0


def test_cli_reports_an_unmappable_file(tmp_path: Path):
    bad = tmp_path / "not_dicom.dcm"
    bad.write_bytes(b"hello")
    proc = subprocess.run(
        [sys.executable, "-m", "mibgkit", "segments", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert "not_dicom.dcm" in proc.stderr
    assert "Traceback" not in proc.stderr


def _ct_from_phantom(sim) -> Volume:
    """A CT-like volume (HU) of the phantom anatomy: slices head->feet, rows anterior->posterior."""
    a = sim.patient.anatomy
    hu = np.array([-1000.0, 40.0, -800.0, 700.0], np.float32)[a.tissue]  # (rows=z, depth=y, cols=x)
    g = a.grid
    # array (slices=z head->feet, rows=y anterior->posterior, cols=x right->left) in LPS
    direction = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]])
    return Volume(hu, (g.pixel_mm, g.depth_mm, g.pixel_mm), (0.0, 0.0, 0.0), direction, "CT", [])


def test_body_axes_of_an_axial_volume(phantom_sim):
    vol = _ct_from_phantom(phantom_sim)
    order, flip = to_body_axes(vol)
    assert order == (0, 1, 2) and flip == (False, False, False)
    vol.direction = np.array([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    order, flip = to_body_axes(vol)
    assert flip == (True, False, True)


def test_ct_label_volume(phantom_sim):
    vol = _ct_from_phantom(phantom_sim)
    vmap = map_volume(vol, age_years=6.0)
    assert vmap.method == "ct" and vmap.labels.shape == vol.array.shape
    bone = vol.array > 200
    assert np.all(vmap.labels[~bone] == 0)
    labelled = (vmap.labels > 0).sum() / bone.sum()
    assert labelled > 0.95
    # compare with the phantom's own bone parts, projected per voxel
    a = phantom_sim.patient.anatomy
    lut = np.zeros(256, np.uint8)
    for part in a.skeleton.parts:
        lut[part.id] = label_of(part.segment)
    truth = lut[a.part]
    sel = bone & (truth > 0)
    agree = (vmap.labels[sel] == truth[sel]).mean()
    assert agree > 0.75, agree
    # the vertebrae behind the sternum are spine, the sternum thoracic cage
    spine = truth == label_of("spine")
    assert (vmap.labels[spine & bone] == label_of("spine")).mean() > 0.6


def test_emission_only_volume_uses_the_atlas(phantom_sim):
    ct = _ct_from_phantom(phantom_sim)
    act = phantom_sim.patient.anatomy.activity.astype(np.float32)
    vol = Volume(act, ct.spacing_mm, ct.origin_lps, ct.direction, "NM", [])
    vmap = map_volume(vol, age_years=6.0)
    assert vmap.method == "atlas" and vmap.labels.shape == act.shape
    z_of = {k: np.nonzero(vmap.labels == label_of(k))[0].mean() for k in ("skull", "thoracic_cage", "pelvis")}
    assert z_of["skull"] < z_of["thoracic_cage"] < z_of["pelvis"]
    # labels stay (almost all) inside the body: the emission outline is blurred by smoothing
    labelled = vmap.labels > 0
    assert (labelled & (ct.array > -500)).sum() > 0.9 * labelled.sum()


def test_study_with_ct_and_spect_maps_both(phantom_sim):
    from mibgkit.io.model import Study, StudyInfo

    ct = _ct_from_phantom(phantom_sim)
    spect = Volume(phantom_sim.patient.anatomy.activity.astype(np.float32), ct.spacing_mm, ct.origin_lps,
                   ct.direction, "NM", [])
    maps = map_segments(Study(StudyInfo("spect", patient_age_years=6.0), volumes=[spect, ct]))
    assert maps.volumes[0].method == "ct" and maps.volumes[1].method == "ct"
    np.testing.assert_array_equal(maps.volumes[0].labels, maps.volumes[1].labels)


def test_cli_on_phantom_dicom_with_mirrored_posterior(phantom_sim, tmp_path: Path):
    """write_dicom -> mibgkit segments -> NIfTI on the stored grid (POST stored unmirrored)."""
    from mibgkit.phantom import write_dicom

    write_dicom(phantom_sim, tmp_path / "dcm", layout="nm_multiframe")
    proc = subprocess.run(
        [sys.executable, "-m", "mibgkit", "segments", str(tmp_path / "dcm"), "--out", str(tmp_path / "seg"), "--no-png"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for view in ("ANT", "POST"):
        stored = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "seg" / f"segments_{view}.nii.gz")))
        src = phantom_sim.study.view(view).source
        truth = src.to_stored_array(phantom_sim.truth.labels[view])
        assert stored.shape == src.stored_shape
        for key in ("spine", "pelvis"):
            a, b = stored == label_of(key), truth == label_of(key)
            assert 2 * (a & b).sum() / (a.sum() + b.sum()) > 0.7, (view, key)
    # the stored POST is mirrored back: patient right is on the high columns of the stored posterior image
    post = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "seg" / "segments_POST.nii.gz")))
    assert np.nonzero(post == label_of("right_lower_limb_proximal"))[1].mean() > 128

"""Longitudinal series (disease course, growth, repositioning) and the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from mibgkit.phantom import VISIBLE_CNR, simulate
from mibgkit.phantom.anatomy_model import proportions
from mibgkit.phantom.longitudinal import TIMEPOINTS, make_longitudinal


@pytest.fixture(scope="module")
def series():
    return make_longitudinal(age_years=4.0, sex="M", seed=5, pattern="extensive")


def _part_of(anat, les):
    """The part under a focus: nearest voxel among parts of its bone and level."""
    best = None
    for part in anat.skeleton.parts:
        if part.bone != les.bone or (les.level and part.level != les.level):
            continue
        d = np.linalg.norm(anat.voxel_centre_mm(anat.part_voxels(part.id)) - les.centre_mm, axis=1).min()
        if best is None or d < best[0]:
            best = (d, part)
    return best


def _axial(anat, part, les):
    a, b = part.axis
    z, y, x = anat.placement.to_body(*les.centre_mm)
    return float((np.array([z, y, x]) - a) @ (b - a) / ((b - a) @ (b - a)))


def test_lesions_shrink_persist_and_recur_at_earlier_sites(series):
    assert [p.timepoint for p in series] == [t for t, _ in TIMEPOINTS]
    n = [len(p.lesions) for p in series]
    assert n[0] > n[1] >= n[2] >= n[3] and n[2] >= 1
    first = {les.id: les for les in series[0].lesions}
    for p in series[1:4]:
        for les in p.lesions:
            if les.id in first and les.kind == "focal" and first[les.id].kind == "focal":
                assert les.contrast < first[les.id].contrast
    relapse = series[-1]
    assert any(les.id in first for les in relapse.lesions)


def test_child_grows_and_is_repositioned(series):
    base = series[0]
    for p, (_, days) in zip(series, TIMEPOINTS):
        age = base.age_years + days / 365.25
        assert p.age_years == pytest.approx(age)
        assert p.anatomy.prop.stature == pytest.approx(proportions(age, "M").stature)
        assert p.patient_id == base.patient_id and p.arms == base.arms
        assert p.anatomy.grid.pixel_mm == base.anatomy.grid.pixel_mm  # same camera
    statures = [p.anatomy.prop.stature for p in series]
    assert all(b > a for a, b in zip(statures, statures[1:]))
    assert 1.07 < statures[-1] / statures[0] < 1.15  # 4 y -> 5.7 y: 103 -> ~114 cm (DOMAIN.md)
    places = {(round(p.anatomy.placement.tilt_deg, 3), round(p.anatomy.placement.r0, 1)) for p in series}
    assert len(places) == len(series)
    assert all(abs(p.anatomy.placement.tilt_deg) <= 1.5 for p in series)


def test_lesions_keep_ids_and_bone_relative_positions(series):
    base = series[0]
    first = {les.id: les for les in base.lesions if les.kind == "focal"}
    checked_axial = 0
    for p in series[1:]:
        for les in p.lesions:
            if les.kind != "focal" or les.id not in first or first[les.id].site == "residual":
                continue
            old = first[les.id]
            assert (les.bone, les.level, les.segment) == (old.bone, old.level, old.segment)
            d, part = _part_of(p.anatomy, les)
            assert d <= 0.75 * p.anatomy.grid.spacing.max() + 1e-6, (p.timepoint, les.id, d)
            assert p.anatomy.projects_onto(les.centre_mm, les.segment)
            _, old_part = _part_of(base.anatomy, old)
            if part.axis is not None:
                assert abs(_axial(p.anatomy, part, les) - _axial(base.anatomy, old_part, old)) < 0.06
                checked_axial += 1
    assert checked_axial >= 3
    # the lesions moved with the body: same bone point, different camera position
    moved = [np.linalg.norm(les.centre_mm - first[les.id].centre_mm) for les in series[-1].lesions
             if les.id in first and les.kind == "focal"]
    assert moved and np.median(moved) > 5.0


def test_residual_foci_are_fainter_and_some_near_the_visibility_limit(series):
    cnr = {}
    for k, p in enumerate(series[:4]):
        sim = simulate(p, seed=k)
        cnr[p.timepoint] = [max(t.cnr.values()) for t in sim.truth.lesions if t.kind == "focal"]
        if p.timepoint != "diagnosis":
            assert sim.truth.siopen_visible_total <= sim.truth.siopen_total
    after = [c for tp in ("post_induction", "post_hdc", "end_of_treatment") for c in cnr[tp]]
    assert np.median(after) < 0.5 * np.median(cnr["diagnosis"])
    near = [c for c in after if 0.5 * VISIBLE_CNR <= c <= 2.0 * VISIBLE_CNR]
    assert len(near) >= 0.2 * len(after)
    assert any(c >= VISIBLE_CNR for c in after)  # residual disease is mostly still scorable


def test_cli_writes_a_study(tmp_path):
    out = tmp_path / "one"
    r = subprocess.run([sys.executable, "-m", "mibgkit", "phantom", str(out), "--age", "3", "--pattern",
                        "limited", "--seed", "2", "--layout", "nm_single"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "SIOPEN" in r.stdout
    truth = json.loads((out / "truth.json").read_text())
    assert truth["patient"]["age_years"] == 3.0 and truth["layout"] == "nm_single"
    assert sorted(p.name for p in out.glob("*.dcm")) == ["NM_WB_ANT.dcm", "NM_WB_POST.dcm"]


def test_cli_rejects_bad_pattern(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mibgkit", "phantom", str(tmp_path), "--pattern", "bogus"],
                       capture_output=True, text=True)
    assert r.returncode != 0


def test_cli_writes_spot_views_and_rejects_unknown_regions(tmp_path):
    out = tmp_path / "spots"
    r = subprocess.run([sys.executable, "-m", "mibgkit", "phantom", str(out), "--seed", "4", "--spots", "pelvis"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    truth = json.loads((out / "truth.json").read_text())
    assert list(truth["spots"]) == ["pelvis"] and (out / "NM_SPOT_PELVIS.dcm").exists()
    r = subprocess.run([sys.executable, "-m", "mibgkit", "phantom", str(tmp_path / "x"), "--spots", "elbow"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "elbow" in r.stderr and "Traceback" not in r.stderr

"""Age scaling of the body model and the labelled skeleton."""

from __future__ import annotations

import numpy as np

from mibgkit.phantom import make_patient
from mibgkit.phantom.anatomy_model import proportions
from mibgkit.segments import SIOPEN_KEYS, bone_to_siopen


def test_stature_increases_and_head_fraction_decreases_with_age():
    ages = [1, 2, 3, 5, 7, 10, 13, 15, 18]
    props = [proportions(a, "M") for a in ages]
    stature = [p.stature for p in props]
    head = [p.head_fraction for p in props]
    assert all(b > a for a, b in zip(stature, stature[1:]))
    assert all(b < a for a, b in zip(head, head[1:]))
    assert 740 < stature[0] < 780 and 1700 < stature[-1] < 1800
    # DOMAIN.md table at 5 y: 110 cm, head 0.175, sitting 0.55
    p5 = proportions(5, "F")
    assert abs(p5.stature - 1090) < 15 and abs(p5.head_fraction - 0.175) < 1e-6
    assert abs(p5.sitting_fraction - 0.55) < 1e-6


def test_voxel_body_length_follows_age():
    lengths = []
    for age in (1.0, 6.0, 14.0):
        p = make_patient(age_years=age, sex="M", seed=1, pattern="none", arms="sides", tilt_deg=0.0)
        a = p.anatomy
        rows = np.nonzero((a.tissue > 0).any(axis=(1, 2)))[0]
        lengths.append((rows[-1] - rows[0] + 1) * a.grid.pixel_mm)
        assert abs(lengths[-1] - a.prop.stature) < 0.06 * a.prop.stature
    assert lengths[0] < lengths[1] < lengths[2]


def test_every_bone_of_the_data_file_is_modelled_and_labelled():
    p = make_patient(age_years=6.0, sex="F", seed=2, pattern="none")
    parts = p.anatomy.skeleton.parts
    assert {bp.bone for bp in parts} == set(bone_to_siopen())
    lab = p.anatomy.segment_label_map("ANT")
    assert set(np.unique(lab)) == set(range(len(SIOPEN_KEYS) + 1))
    levels = {bp.level for bp in parts if bp.bone in ("thoracic_spine", "lumbar_spine")}
    assert {"T12", "L1"} <= levels


def test_arm_poses_move_the_hands():
    rows = {}
    for arms in ("sides", "raised", "on_abdomen"):
        p = make_patient(age_years=4.0, sex="M", seed=3, pattern="none", arms=arms, tilt_deg=0.0)
        hand = next(bp for bp in p.anatomy.skeleton.parts if bp.bone == "right_hand")
        vox = p.anatomy.voxel_centre_mm(p.anatomy.part_voxels(hand.id))
        rows[arms] = vox[:, 0].mean()
        if arms == "on_abdomen":
            mid_col = 128 * p.anatomy.grid.pixel_mm + 0.0
            assert abs(vox[:, 2].mean() - mid_col) < 0.2 * p.anatomy.prop.biiliac + 40
    assert rows["raised"] < rows["on_abdomen"] and rows["raised"] < rows["sides"]

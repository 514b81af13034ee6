"""The atlas table and the piecewise-affine warp."""

from __future__ import annotations

import numpy as np
from skimage.transform import PiecewiseAffineTransform

from mibgkit.anatomy.atlas import atlas_regions, limb_bones, limb_regions, proportions
from mibgkit.anatomy.warp import PiecewiseAffine
from mibgkit.segments import bone_to_siopen


def test_every_atlas_bone_is_in_the_segment_table():
    table = bone_to_siopen()
    names = {b.name for b in limb_bones()}
    for regs in atlas_regions().values():
        names |= {bone for r in regs for bone in r.bones}
    for items in limb_regions().values():
        names |= {bone.replace("{side}", s) for it in items for r in it.regions for bone in r.bones for s in ("right", "left")}
    assert names, "atlas is empty"
    assert names <= set(table), sorted(names - set(table))
    # every SIOPEN segment is drawn by some atlas bone
    assert {table[n] for n in names} == set(table.values())


def test_regions_exist_for_both_views_and_all_trunk_segments():
    table = bone_to_siopen()
    for view in ("ANT", "POST"):
        segs = {table[r.bones[0]] for r in atlas_regions()[view]}
        assert {"skull", "thoracic_cage", "spine", "pelvis"} <= segs


def test_proportions_follow_the_domain_table():
    p1, p10, adult = proportions(1.0), proportions(10.0), proportions(30.0)
    assert p1.head == 0.21 and p10.head == 0.15 and adult.head == 0.13
    assert p1.femur == 0.19 and adult.tibia == 0.21
    # the head shrinks and the legs grow with age
    assert p1.hip > p10.hip > adult.hip
    assert proportions(None) == p10
    assert proportions(5.0).stature_cm == 110.0


def test_piecewise_affine_matches_skimage():
    rng = np.random.default_rng(0)
    src = np.array([[x, y] for x in (0.0, 1.0, 2.0, 3.0) for y in (0.0, 1.0, 2.0)])
    dst = src * [2.0, 3.0] + rng.normal(0, 0.1, src.shape)
    ours = PiecewiseAffine(src, dst)
    ref = PiecewiseAffineTransform.from_estimate(src, dst)
    pts = rng.uniform(0.05, 1.95, (200, 2)) * [1.5, 1.0]
    np.testing.assert_allclose(ours(pts), ref(pts), atol=1e-9)
    np.testing.assert_allclose(ours(src), dst, atol=1e-9)

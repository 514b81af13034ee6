"""Counts, biodistribution and camera physics."""

from __future__ import annotations

import numpy as np

from mibgkit.phantom.camera import fwhm_mm


def _roi(img, centre, half=4):
    r, c = (int(round(v)) for v in centre)
    return float(img[r - half : r + half + 1, c - half : c + half + 1].mean())


def test_counts_in_range(limited_sim, clean_sim, extensive_sim):
    for sim in (limited_sim, clean_sim, extensive_sim):
        ant = sim.study.view("ANT").image
        post = sim.study.view("POST").image
        assert 0.4e6 <= ant.sum() <= 1.55e6
        assert 0.25e6 <= post.sum() <= 2.0e6
        assert ant.dtype == np.float32 and ant.shape == (1024, 256)
        assert np.all(ant == np.round(ant)) and ant.min() >= 0


def test_no_bone_uptake_in_a_clean_scan(clean_sim):
    sim = clean_sim
    a = sim.patient.anatomy
    exp = sim.expected["ANT"]
    # femoral shaft versus the soft tissue of the thigh next to it
    femur = next(bp for bp in a.skeleton.parts if bp.bone == "left_femur")
    hip, knee = femur.axis
    mid = a.placement.to_scanner(0.5 * (hip + knee))
    r, c = mid[0] / a.grid.pixel_mm, mid[2] / a.grid.pixel_mm
    bone = _roi(exp, (r, c), 2)
    soft = 0.5 * (_roi(exp, (r, c - 9), 2) + _roi(exp, (r, c + 9), 2))
    assert bone < 1.1 * soft
    # and the expected image is flat along the spine below the kidneys (no vertebral pattern)
    assert sim.truth.siopen_total == 0 and not sim.truth.lesions


def test_normal_organs_rank_like_a_24h_scan(clean_sim):
    sim = clean_sim
    exp = sim.expected["ANT"] + sim.expected["POST"]
    o = sim.truth.organs
    liver = _roi(exp, o["liver"]["ANT"])
    bladder = _roi(exp, o["bladder"]["ANT"], 2)
    lung = _roi(exp, o["lung_left"]["ANT"])
    thigh = _roi(exp, (o["bladder"]["ANT"][0] + 60, o["bladder"]["ANT"][1] - 25))
    assert bladder > liver > lung > thigh
    assert 0.1 < lung / liver < 0.6


def test_lehr_has_better_resolution_but_a_halo(limited_sim, extensive_sim):
    assert 7.0 <= fwhm_mm(100.0, "LEHR") <= 8.5 and 9.0 <= fwhm_mm(100.0, "ME") <= 10.5
    assert fwhm_mm(50.0, "ME") < fwhm_mm(150.0, "ME")
    from mibgkit.phantom.camera import halo_kernel

    assert halo_kernel(2.3, "LEHR").sum() > 2 * halo_kernel(2.3, "ME").sum() - 0.22


def test_posterior_is_stored_mirrored(limited_sim):
    post = limited_sim.study.view("POST")
    assert post.source.mirrored and not limited_sim.study.view("ANT").source.mirrored
    assert np.array_equal(limited_sim.stored["POST"][:, ::-1].astype(np.float32), post.image)

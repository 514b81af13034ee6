"""Arm joints of the segment mapper against the phantom's own joints, in all four arm poses."""

from __future__ import annotations

import numpy as np
import pytest

from mibgkit.anatomy.planar import fit_image, map_pair, pair_shift, shift_array
from mibgkit.phantom.patient import make_patient
from mibgkit.phantom.simulation import simulate
from mibgkit.segments import label_of

# (arm pose, age, seed): seeds outside the tuning (0-499) and benchmark (1000-1119) sets
CASES = [("sides", 8.0, 3101), ("abducted", 12.0, 3102), ("on_abdomen", 5.0, 3103), ("raised", 15.0, 3104)]


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def case(request):
    pose, age, seed = request.param
    patient = make_patient(age, sex="F", seed=seed, pattern="none", arms=pose)
    sim = simulate(patient, seed=seed)
    a = patient.anatomy
    pix = a.grid.pixel_mm
    truth = {}
    for side, arm in a.skeleton.arms.items():
        sc = a.placement.to_scanner(np.array([arm.shoulder, arm.elbow, arm.wrist, arm.hand_tip]))
        truth[side] = sc[:, [0, 2]] / pix  # (row, col) on the ANT image
    return pose, sim, truth, a.prop.stature / pix


def _fit(sim):
    ant, post = sim.study.view("ANT"), sim.study.view("POST")
    a = np.clip(ant.image.astype(np.float64), 0, None)
    p = np.clip(post.image.astype(np.float64), 0, None)
    gm = np.sqrt(a * shift_array(p, pair_shift(a, p)))
    return fit_image(gm, ant.pixel_spacing_mm, sim.patient.age_years)


def test_arm_joints_lie_near_the_phantom_joints(case):
    pose, sim, truth, stature = case
    fit = _fit(sim)
    for side in ("right", "left"):
        limb = fit.arms[side]
        assert limb.pose == {"raised": "raised", "on_abdomen": "on_abdomen"}.get(pose, "hanging")
        err = np.hypot(*(np.asarray(limb.joints) - truth[side]).T) / stature
        # shoulder and elbow within 2 % of stature, wrist and fingertips within 3 %
        # (abducted forearms may leave the field: their wrist is extrapolated)
        assert err[0] < 0.02 and err[1] < 0.02, (side, err)
        assert err[2] < 0.03 and err[3] < 0.03, (side, err)


def test_arm_segments_overlap_the_phantom_bones(case):
    pose, sim, _, _ = case
    maps = map_pair(sim.study.view("ANT"), sim.study.view("POST"), sim.patient.age_years)
    for m, view in zip(maps, ("ANT", "POST")):
        truth = sim.truth.labels[view]
        for key in ("right_upper_limb_proximal", "left_upper_limb_proximal"):
            a, b = m.labels == label_of(key), truth == label_of(key)
            assert 2.0 * (a & b).sum() / (a.sum() + b.sum()) > 0.6, (view, key)
        for key in ("right_upper_limb_distal", "left_upper_limb_distal"):
            a, b = m.labels == label_of(key), truth == label_of(key)
            if b.sum() < 150:  # forearm and hand (nearly) all outside the field
                continue
            assert 2.0 * (a & b).sum() / (a.sum() + b.sum()) > 0.4, (view, key)


def test_shoulder_joints_hang_from_the_registered_shoulder_line(case):
    """Shoulder joints one drop below the profile-registered shoulder line, in every pose.

    The width rise of the outline, from which the arms used to hang, moves with abducted
    and raised arms (0.5-1.3 % of stature on the tuning seeds); the registered line does
    not (:func:`mibgkit.anatomy.landmarks.refit_arms`).
    """
    pose, sim, truth, stature = case
    fit = _fit(sim)
    assert "trunk_hip" in fit.rows
    rows = [fit.arms[side].joints[0][0] for side in ("right", "left")]
    assert np.allclose(rows, fit.rows["trunk_shoulder"] + 0.0101 * fit.stature_px)
    for side in ("right", "left"):
        row_err = abs(fit.arms[side].joints[0][0] - truth[side][0, 0]) / stature
        err = np.hypot(*(np.asarray(fit.arms[side].joints) - truth[side]).T) / stature
        assert row_err < 0.005, (pose, side, row_err)
        # shoulder and elbow within 1 % of stature (was 2 % before the registered line)
        assert err[0] < 0.01 and err[1] < 0.01, (pose, side, err)
    named = {lm.name: (lm.row, lm.col) for lm in fit.landmarks}
    assert named["right_shoulder"] == fit.arms["right"].joints[0]

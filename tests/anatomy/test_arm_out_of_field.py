"""An abducted arm that leaves the field above its elbow (session-6 forearm round).

Fresh phantoms of tall adolescents with abducted arms (seeds outside the tuning 0-499 and
benchmark 1000-1119 sets): the right arm band is cut by the field edge along the humerus.
Before this round such an arm was hung at the side at 8 degrees, its elbow and forearm
inside the field (elbow 7.0 / 7.4 % of stature from the phantom's); now it points at
where the outline leaves the field edge and the elbow lies past the edge.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from mibgkit.anatomy import landmarks
from mibgkit.anatomy.planar import fit_image, pair_shift, shift_array
from mibgkit.phantom.patient import make_patient
from mibgkit.phantom.simulation import simulate

# (age, seed)
CASES = [(16.5, 3312), (17.8, 3313)]


@functools.cache
def _case(age: float, seed: int):
    patient = make_patient(age, sex="M", seed=seed, pattern="none", arms="abducted")
    sim = simulate(patient, seed=seed)
    a = patient.anatomy
    pix = a.grid.pixel_mm
    truth = {side: a.placement.to_scanner(np.array([arm.shoulder, arm.elbow, arm.wrist, arm.hand_tip]))[:, [0, 2]] / pix
             for side, arm in a.skeleton.arms.items()}
    ant, post = sim.study.view("ANT"), sim.study.view("POST")
    A = np.clip(ant.image.astype(np.float64), 0, None)
    P = np.clip(post.image.astype(np.float64), 0, None)
    gm = np.sqrt(A * shift_array(P, pair_shift(A, P)))
    return gm, ant.pixel_spacing_mm, age, truth, a.prop.stature / pix


def _elbow_error(fit, truth, stature, side: str) -> float:
    return float(np.hypot(*(np.asarray(fit.arms[side].joints[1]) - truth[side][1])) / stature * 100)


@pytest.mark.parametrize("params", CASES, ids=[f"abducted-{c[1]}" for c in CASES])
def test_arm_leaving_the_field_points_out_of_it(params):
    gm, spacing, age, truth, stature = _case(*params)
    fit = fit_image(gm, spacing, age, halo=True)
    right = fit.arms["right"]
    assert right.confidence < 0.5  # the band is cut by the field edge (the case under test)
    assert right.joints[1][1] < 0  # elbow past the field edge, as the phantom's
    assert _elbow_error(fit, truth, stature, "right") < 3.0
    # the other arm, in the field, is untouched by the switch
    saved = landmarks._CLIPPED_EXIT
    try:
        landmarks._CLIPPED_EXIT = False
        old = fit_image(gm, spacing, age, halo=True)
    finally:
        landmarks._CLIPPED_EXIT = saved
    assert np.allclose(old.arms["left"].joints, fit.arms["left"].joints)
    assert _elbow_error(old, truth, stature, "right") > 5.0  # the arm hung at the side before

"""An abducted arm that leaves the field above its elbow (session-6 forearm round).

Fresh phantoms of tall adolescents with abducted arms (seeds outside the tuning 0-499 and
benchmark 1000-1119 sets): the right arm band is cut by the field edge along the humerus.
Before this round such an arm was hung at the side at 8 degrees, its elbow and forearm
inside the field (elbow 7.0 / 7.4 % of stature from the phantom's); now it points at
where the outline leaves the field edge and the elbow lies past the edge.
"""

from __future__ import annotations

import numpy as np
import pytest

from mibgkit.anatomy import landmarks
from mibgkit.anatomy.planar import fit_image
from tests.anatomy.arm_phantoms import arm_phantom

# (age, seed)
CASES = [(16.5, 3312), (17.8, 3313)]


def _case(age: float, seed: int):
    c = arm_phantom("abducted", age, seed)
    return c["gm"], c["spacing"], age, c["truth"], c["stature"]


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

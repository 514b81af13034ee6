"""Elbow and wrist of hanging arms moved across the forearm onto the arm band (session 6).

Fresh phantoms (seeds outside the tuning 0-499 and benchmark 1000-1119 sets), arms at the
sides and abducted: :func:`mibgkit.anatomy.landmarks._refine_across` moves the joints only
across the fitted forearm, by at most ``_ACROSS_CAP`` of stature, and brings them nearer
the phantom's joints across the arm than the band-edge fit alone.
"""

from __future__ import annotations

import numpy as np

from mibgkit.anatomy import landmarks
from tests.anatomy.arm_phantoms import fit_cases

# (arm pose, age, seed)
CASES = [("sides", 8.0, 3411), ("sides", 15.0, 3412), ("abducted", 6.0, 3413), ("abducted", 12.0, 3414)]


def _fits(refine: bool) -> list[tuple]:
    # the refinement alone (the forearm line follows it, session 8)
    return fit_cases(CASES, _ACROSS_REFINE=refine, _FOREARM_LINE=False)


def test_across_refinement_moves_across_only_and_nearer_the_phantom_joints():
    before, after = _fits(False), _fits(True)
    err_before, err_after, moved = [], [], 0
    for (f0, truth, stature), (f1, _, _) in zip(before, after):
        for side in ("right", "left"):
            j0, j1 = np.asarray(f0.arms[side].joints), np.asarray(f1.arms[side].joints)
            assert np.allclose(j0[0], j1[0])  # shoulder untouched
            fu = j0[2] - j0[1]
            fu /= np.linalg.norm(fu)
            tw = truth[side]
            tu = (tw[2] - tw[1]) / np.linalg.norm(tw[2] - tw[1])
            tn = np.array([-tu[1], tu[0]])
            for k in (1, 2):  # elbow, wrist
                d = j1[k] - j0[k]
                assert abs(float(d @ fu)) < 1e-6, d  # across the forearm only
                assert float(np.hypot(*d)) <= landmarks._ACROSS_CAP * f0.stature_px + 1e-6
                moved += float(np.hypot(*d)) > 0.1
                err_before.append(abs(float((j0[k] - tw[k]) @ tn)) / stature * 100)
                err_after.append(abs(float((j1[k] - tw[k]) @ tn)) / stature * 100)
    assert moved >= 3, moved
    assert np.mean(err_after) < np.mean(err_before), (err_before, err_after)

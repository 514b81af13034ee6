"""Forearm axis of hanging arms fitted through the arm band's count centres (session 8).

Fresh phantoms (seeds outside the tuning 0-499 and benchmark 1000-1119 sets), arms at the
sides and abducted: :func:`mibgkit.anatomy.landmarks._forearm_line` moves the elbow across
the forearm by at most ``_ACROSS_CAP`` of stature, keeps the forearm's length, turns it at
most ``_LINE_TURN`` degrees, and brings the elbow and the wrist nearer the phantom's joints
than the fit without it (it fires where at least ``_LINE_MIN`` profiles end inside the field on
both sides: here one abducted arm, wrist 0.65 -> 0.19 % of stature; the others are unchanged).
"""

from __future__ import annotations

import numpy as np

from mibgkit.anatomy import landmarks
from tests.anatomy.arm_phantoms import fit_cases

# (arm pose, age, seed)
CASES = [("sides", 9.0, 3811), ("sides", 14.0, 3812), ("abducted", 7.0, 3813), ("abducted", 13.0, 3814)]


def _fits(line: bool) -> list[tuple]:
    return fit_cases(CASES, _FOREARM_LINE=line)


def test_forearm_line_moves_the_elbow_across_and_nearer_the_phantom_joints():
    before, after = _fits(False), _fits(True)
    err_before, err_after, moved = [], [], 0
    for (f0, truth, stature), (f1, _, _) in zip(before, after):
        for side in ("right", "left"):
            j0, j1 = np.asarray(f0.arms[side].joints), np.asarray(f1.arms[side].joints)
            assert np.allclose(j0[0], j1[0])  # shoulder untouched
            u0 = j0[2] - j0[1]
            u1 = j1[2] - j1[1]
            assert np.isclose(np.linalg.norm(u0), np.linalg.norm(u1))  # forearm length kept
            cosang = float(u0 @ u1) / (np.linalg.norm(u0) * np.linalg.norm(u1))
            assert np.degrees(np.arccos(min(1.0, cosang))) <= landmarks._LINE_TURN + 1e-6
            d = j1[1] - j0[1]
            assert abs(float(d @ u0)) / np.linalg.norm(u0) < 1e-6  # elbow moved across only
            assert float(np.hypot(*d)) <= landmarks._ACROSS_CAP * f0.stature_px + 1e-6
            moved += float(np.hypot(*(j1[2] - j0[2]))) > 0.1  # the line fired
            for k in (1, 2):  # elbow, wrist
                err_before.append(float(np.hypot(*(j0[k] - truth[side][k]))) / stature * 100)
                err_after.append(float(np.hypot(*(j1[k] - truth[side][k]))) / stature * 100)
    assert moved >= 1, moved
    assert np.mean(err_after) < np.mean(err_before), (err_before, err_after)

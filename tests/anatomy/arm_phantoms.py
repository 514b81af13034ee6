"""A phantom with its true arm joints and the ANT/POST geometric mean the mapper fits.

Shared by the arm tests (forearm joints, hand thumb, arms leaving the field).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from mibgkit.anatomy.planar import pair_shift, shift_array
from mibgkit.phantom.patient import make_patient
from mibgkit.phantom.simulation import simulate


@functools.cache
def arm_phantom(pose: str, age: float, seed: int, sex: str = "M") -> dict[str, Any]:
    """Simulate a disease-free phantom and return what the arm tests need.

    Returns
    -------
    dict
        ``sim`` (the simulation), ``gm`` (geometric mean of ANT and the shifted POST),
        ``spacing`` (ANT pixel spacing, mm), ``truth`` ({side: (4, 2) array of shoulder,
        elbow, wrist, fingertip (row, col) in pixels}), ``stature`` (stature in pixels).
    """
    patient = make_patient(age, sex=sex, seed=seed, pattern="none", arms=pose)
    sim = simulate(patient, seed=seed)
    a = patient.anatomy
    pix = a.grid.pixel_mm
    truth = {side: a.placement.to_scanner(np.array([arm.shoulder, arm.elbow, arm.wrist, arm.hand_tip]))[:, [0, 2]] / pix
             for side, arm in a.skeleton.arms.items()}
    ant, post = sim.study.view("ANT"), sim.study.view("POST")
    A = np.clip(ant.image.astype(np.float64), 0, None)
    P = np.clip(post.image.astype(np.float64), 0, None)
    gm = np.sqrt(A * shift_array(P, pair_shift(A, P)))
    return {"sim": sim, "gm": gm, "spacing": ant.pixel_spacing_mm, "truth": truth, "stature": a.prop.stature / pix}


def fit_cases(cases: list[tuple[str, float, int]], **switches: bool) -> list[tuple[Any, dict, float]]:
    """Fit the arm phantoms of ``cases`` ((pose, age, seed)) with module switches of
    :mod:`mibgkit.anatomy.landmarks` set (e.g. ``_FOREARM_LINE=False``), restored after.

    Returns (body fit, true joints, stature in pixels) per case.
    """
    from mibgkit.anatomy import landmarks
    from mibgkit.anatomy.planar import fit_image

    saved = {k: getattr(landmarks, k) for k in switches}
    out = []
    try:
        for k, v in switches.items():
            setattr(landmarks, k, v)
        for pose, age, seed in cases:
            c = arm_phantom(pose, age, seed)
            out.append((fit_image(c["gm"], c["spacing"], age, halo=True), c["truth"], c["stature"]))
    finally:
        for k, v in saved.items():
            setattr(landmarks, k, v)
    return out

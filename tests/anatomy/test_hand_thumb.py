"""The hand of the arm atlas: palm and fingers plus the thumb (session-6 forearm round).

Fresh phantoms (seeds outside the tuning 0-499 and benchmark 1000-1119 sets). The maps
are rendered on the phantom's own arm joints, so what is measured is the hand's shape,
not the joint fit: the phantom's thumb leaves the carpus on the medial side of a hand
lying palm down at the side (lateral once the arm is raised over the head), and the mapped
hand must cover it on both arms.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from mibgkit.anatomy.atlas import limb_bones
from mibgkit.anatomy.planar import fit_image, render_labels
from mibgkit.segments import label_of
from tests.anatomy.arm_phantoms import arm_phantom

# (arm pose, age, seed)
CASES = [("sides", 8.0, 3301), ("raised", 12.0, 3303)]


@functools.cache
def _case(pose: str, age: float, seed: int):
    c = arm_phantom(pose, age, seed, sex="F")
    truth = c["truth"]
    fit = fit_image(c["gm"], c["spacing"], age, halo=True)
    for side in ("right", "left"):
        fit.arms[side].joints = [tuple(map(float, j)) for j in truth[side]]
    return fit, c["sim"].truth.labels["ANT"], truth, c["stature"]


def _thumb_zone(shape, joints, stature_px: float, sign: float) -> np.ndarray:
    """Pixels 0.15-0.35 hand lengths past the wrist and 2.5-4.5 % of stature to the thumb's side.

    The thumb's side turns with the hand: medial (towards the midline) for a hand pointing
    feet-wards, lateral for a raised one (the limb frame of :func:`limb_frame_to_image`,
    whose ``w`` is positive to the patient's left for a feet-ward limb: the thumb is at
    ``w`` < 0 on the left arm, > 0 on the right).
    """
    w, tip = np.asarray(joints[2]), np.asarray(joints[3])
    u = (tip - w) / np.linalg.norm(tip - w)
    medial = -sign * np.array([-u[1], u[0]])
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    d = np.stack([rr - w[0], cc - w[1]], axis=-1)
    t = (d @ u) / np.linalg.norm(tip - w)
    m = (d @ medial) / stature_px
    return (t > 0.15) & (t < 0.35) & (m > 0.025) & (m < 0.045)


def test_the_hand_has_a_thumb_capsule_on_the_body_side():
    hands = [b for b in limb_bones() if b.name.endswith("_hand")]
    assert len(hands) == 2
    for b in hands:
        sign = -1.0 if b.side == "right" else 1.0  # the table is written for the left arm
        out = b.capsules[np.argmax(np.abs(b.capsules[:, 3]))]
        assert out[3] * sign < -0.04  # towards the body: w < 0 on the left arm
        assert 0.3 < out[2] < 0.5


@pytest.mark.parametrize("params", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_mapped_hand_covers_the_phantom_thumb(params):
    fit, truth_labels, joints, stature = _case(*params)
    labels = render_labels(fit, "ANT").labels
    for side, sign in (("right", -1.0), ("left", 1.0)):
        key = label_of(f"{side}_upper_limb_distal")
        zone = _thumb_zone(labels.shape, joints[side], stature, sign)
        thumb = zone & (truth_labels == key)
        assert thumb.sum() >= 3, (side, int(thumb.sum()))  # the phantom's thumb is there
        covered = float((labels[thumb] == key).mean())
        assert covered > 0.6, (side, covered)
        # and the distal segment as a whole fits the truth on the phantom's joints
        a, b = labels == key, truth_labels == key
        dice = 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())
        assert dice > 0.7, (side, dice)

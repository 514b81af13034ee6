"""Low-energy (LEHR) collimator images: the penetration halo must not be read as the body.

``sample_dicom/extensive`` (a 3-year-old, arms at the sides, LEHR, secondary-capture
DICOM) scored SIOPEN 11 against a truth of 35 because both arms were mapped abducted,
outside the body: the outline threshold enclosed the 123I septal-penetration halo and
the crotch gap was read between a hand and the thigh.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi

from mibgkit.anatomy import map_segments
from mibgkit.anatomy.landmarks import body_outline
from mibgkit.anatomy.planar import pair_shift, shift_array
from mibgkit.io import load
from mibgkit.segments import SIOPEN_KEYS, label_of

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom" / "extensive"
UPPER = ("right_upper_limb_proximal", "right_upper_limb_distal", "left_upper_limb_proximal", "left_upper_limb_distal")


@pytest.fixture(scope="module")
def extensive():
    study = load(SAMPLE)[0]
    maps = map_segments(study)
    truth = np.load(SAMPLE / "labels.npz")
    return study, maps, truth


def test_extensive_upper_limbs_lie_on_the_arms(extensive):
    """Mapped upper-limb segments lie within 2 cm of the phantom's bones, i.e. inside the body.

    Before the fix 0-13 % of the right arm's and 11 % of the left forearm's pixels did.
    """
    _, maps, truth = extensive
    for sm in maps.views.values():
        tru = truth[f"labels_{sm.view}"]
        dist_mm = ndi.distance_transform_edt(tru == 0, sampling=sm.pixel_spacing_mm)
        shares = []
        for key in UPPER:
            seg = sm.labels == label_of(key)
            assert seg.sum() > 20, (sm.view, key)
            shares.append(float(np.mean(dist_mm[seg] <= 20.0)))
        assert min(shares) >= 0.9, (sm.view, shares)


def test_extensive_segments_overlap_the_truth(extensive):
    """Dice against the sample's truth maps (before the fix: upper limbs 0.03, all 0.13 on average)."""
    _, maps, truth = extensive
    for sm in maps.views.values():
        tru = truth[f"labels_{sm.view}"]
        dice = {}
        for key in SIOPEN_KEYS:
            a, b = sm.labels == label_of(key), tru == label_of(key)
            dice[key] = 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())
        assert float(np.mean([dice[k] for k in UPPER])) >= 0.45, (sm.view, dice)
        assert float(np.mean(list(dice.values()))) >= 0.65, (sm.view, dice)


def test_extensive_midline_on_the_body(extensive):
    """The spine is mapped over the truth's spine (the crotch gap was once read beside a hand)."""
    _, maps, truth = extensive
    for sm in maps.views.values():
        tru = truth[f"labels_{sm.view}"] == label_of("spine")
        got = sm.labels == label_of("spine")
        assert abs(float(np.nonzero(got)[1].mean()) - float(np.nonzero(tru)[1].mean())) < 5.0


def test_halo_found_with_lehr_only():
    """The halo correction switches on for a LEHR pair, stays off for ME, and narrows the LEHR outline."""
    from mibgkit.phantom.patient import make_patient
    from mibgkit.phantom.simulation import simulate

    patient = make_patient(7.0, sex="M", seed=3105, pattern="none", arms="sides")
    area = {}
    for coll in ("ME", "LEHR"):
        study = simulate(patient, seed=3105, collimator=coll).study
        ant, post = study.view("ANT"), study.view("POST")
        a = np.clip(ant.image.astype(np.float64), 0, None)
        p = np.clip(post.image.astype(np.float64), 0, None)
        gm = np.sqrt(a * shift_array(p, pair_shift(a, p)))
        for halo in (False, True):
            ol = body_outline(gm, ant.pixel_spacing_mm, halo=halo)
            assert ol.halo == (halo and coll == "LEHR"), (coll, halo)
            area[coll, halo] = int(ol.mask.sum())
    assert area["ME", True] == area["ME", False]
    # the LEHR outline loses much of its halo (head, neck, legs: 52.8k px with ME, 73.1k
    # with LEHR, 65.9k with the correction; beside the hot trunk the halo stays, see halo.py)
    assert area["LEHR", True] < 0.95 * area["LEHR", False], area
    assert area["LEHR", True] > area["ME", True], area


def test_lehr_arms_at_the_sides_hang_at_the_sides():
    """On a LEHR pair the arm axis is the arm's crest of the counts, not the halo's edge.

    Read from the halo's edge, both arms of this child came out abducted (elbows 5-7 %
    of stature lateral of the phantom's).
    """
    from mibgkit.anatomy.planar import fit_image
    from mibgkit.phantom.patient import make_patient
    from mibgkit.phantom.simulation import simulate

    patient = make_patient(7.0, sex="M", seed=3105, pattern="none", arms="sides")
    sim = simulate(patient, seed=3105, collimator="LEHR")
    ant, post = sim.study.view("ANT"), sim.study.view("POST")
    a = np.clip(ant.image.astype(np.float64), 0, None)
    p = np.clip(post.image.astype(np.float64), 0, None)
    gm = np.sqrt(a * shift_array(p, pair_shift(a, p)))
    fit = fit_image(gm, ant.pixel_spacing_mm, 7.0, halo=True)
    anat = patient.anatomy
    stature = anat.prop.stature / anat.grid.pixel_mm
    for side, arm in anat.skeleton.arms.items():
        sc = anat.placement.to_scanner(np.array([arm.shoulder, arm.elbow, arm.wrist]))
        truth = sc[:, [0, 2]] / anat.grid.pixel_mm
        got = np.asarray(fit.arms[side].joints[:3])
        err = np.hypot(*(got - truth).T) / stature * 100.0
        assert err[1] < 2.0 and err[2] < 3.0, (side, err)

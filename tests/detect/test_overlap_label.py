"""A focus where two segments overlap gets the segment of :data:`OVERLAP_PRECEDENCE`.

The phantom's truth label maps show the bone on top on each view, so at the shoulder the
ANT map says humerus and the POST map says thoracic cage at the same body point. The
detected candidates of a real phantom study are moved onto such overlap pixels (with the
labels the maps give there) and fused again.
"""

from dataclasses import replace

import numpy as np

from mibgkit.detect import detect_study
from mibgkit.detect.fuse import OVERLAP_PRECEDENCE, FusedCandidate
from mibgkit.segments import SIOPEN_KEYS, label_of


def _overlap_pixel(sim, ant_key: str, post_key: str) -> tuple[int, int] | None:
    """A pixel where the ANT truth map shows ``ant_key`` and the POST map ``post_key``."""
    a = np.asarray(sim.truth.labels["ANT"])
    p = np.asarray(sim.truth.labels["POST"])
    both = (a == label_of(ant_key)) & (p == label_of(post_key))
    if not both.any():
        return None
    rr, cc = np.nonzero(both)
    i = len(rr) // 2
    return int(rr[i]), int(cc[i])


def _fused_at(sim, det, rc: tuple[int, int], better: str) -> FusedCandidate:
    """A detected, seen-on-both-views focus moved to ``rc`` with the truth labels there;
    ``better`` is the view with the larger z."""
    f = next(f for f in det.candidates if f.ant is not None and f.post is not None)
    labs = {v: int(np.asarray(sim.truth.labels[v])[rc]) for v in ("ANT", "POST")}
    zs = {v: (9.0 if v == better else 4.0) for v in ("ANT", "POST")}
    ant = replace(f.ant, view="ANT", row=float(rc[0]), col=float(rc[1]), label=labs["ANT"], z=zs["ANT"])
    post = replace(f.post, view="POST", row=float(rc[0]), col=float(rc[1]), label=labs["POST"], z=zs["POST"])
    return FusedCandidate(ant=ant, post=post, ant_at=ant, post_at=post, confidence=f.confidence)


def test_shoulder_focus_goes_to_the_humerus_on_either_better_view(limited_sim, maps_of):
    sim = limited_sim
    det = detect_study(sim.study, maps_of(sim))
    found = 0
    for side in ("left", "right"):
        rc = _overlap_pixel(sim, f"{side}_upper_limb_proximal", "thoracic_cage")
        if rc is None:
            continue
        found += 1
        for better in ("ANT", "POST"):
            f = _fused_at(sim, det, rc, better)
            assert f.best.view == better
            assert SIOPEN_KEYS[f.label - 1] == f"{side}_upper_limb_proximal"
    assert found >= 1  # the phantom's maps do overlap at the shoulder


def test_knee_focus_goes_to_the_femur(limited_sim, maps_of):
    sim = limited_sim
    det = detect_study(sim.study, maps_of(sim))
    found = 0
    for side in ("left", "right"):
        rc = _overlap_pixel(sim, f"{side}_lower_limb_distal", f"{side}_lower_limb_proximal")
        if rc is None:
            continue
        found += 1
        f = _fused_at(sim, det, rc, "ANT")
        assert SIOPEN_KEYS[f.label - 1] == f"{side}_lower_limb_proximal"
    assert found >= 1


def test_pairs_not_listed_keep_the_better_view(limited_sim, maps_of):
    sim = limited_sim
    assert ("thoracic_cage", "spine") not in OVERLAP_PRECEDENCE
    det = detect_study(sim.study, maps_of(sim))
    rc = _overlap_pixel(sim, "thoracic_cage", "spine")
    assert rc is not None  # ribs/sternum over the spine on ANT
    for better, key in (("ANT", "thoracic_cage"), ("POST", "spine")):
        f = _fused_at(sim, det, rc, better)
        assert SIOPEN_KEYS[f.label - 1] == key
    # agreeing labels and a view without bone are unaffected
    f = _fused_at(sim, det, rc, "POST")
    g = FusedCandidate(ant=replace(f.ant, label=0), post=f.post, ant_at=None, post_at=f.post, confidence=0.9)
    assert SIOPEN_KEYS[g.label - 1] == "spine"

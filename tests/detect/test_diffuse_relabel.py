"""A focus over an overlap lying on a diffusely involved segment goes to that segment.

The shoulder focus of a real phantom study is moved onto a pixel where the ANT truth map
says humerus and the POST map thoracic cage (``OVERLAP_PRECEDENCE`` picks the humerus);
when the thoracic cage is called diffusely involved, :func:`diffuse_relabel` gives the
focus the cage's label, and nothing else moves.
"""

from dataclasses import replace

import numpy as np

from mibgkit.detect import detect_study
from mibgkit.detect.fuse import FusedCandidate, diffuse_relabel, view_labels
from mibgkit.detect.params import DEFAULT_PARAMS
from mibgkit.segments import SIOPEN_KEYS, label_of


def _shoulder_focus(sim, det) -> tuple[FusedCandidate, str]:
    a = np.asarray(sim.truth.labels["ANT"])
    p = np.asarray(sim.truth.labels["POST"])
    for side in ("left", "right"):
        both = (a == label_of(f"{side}_upper_limb_proximal")) & (p == label_of("thoracic_cage"))
        if both.any():
            rr, cc = np.nonzero(both)
            rc = int(rr[len(rr) // 2]), int(cc[len(cc) // 2])
            break
    else:
        raise AssertionError("the phantom's maps overlap at the shoulder")
    f = next(f for f in det.candidates if f.ant is not None and f.post is not None)
    ant = replace(f.ant, row=float(rc[0]), col=float(rc[1]), label=int(a[rc]), z=4.0)
    post = replace(f.post, row=float(rc[0]), col=float(rc[1]), label=int(p[rc]), z=9.0)
    return FusedCandidate(ant=ant, post=post, ant_at=ant, post_at=post, confidence=0.8), side


def test_shoulder_focus_on_diffuse_cage_goes_to_the_cage(limited_sim, maps_of):
    det = detect_study(limited_sim.study, maps_of(limited_sim))
    f, side = _shoulder_focus(limited_sim, det)
    humerus = f"{side}_upper_limb_proximal"
    assert SIOPEN_KEYS[f.label - 1] == humerus  # the precedence, better view POST
    assert sorted(SIOPEN_KEYS[x - 1] for x in view_labels(f)) == sorted([humerus, "thoracic_cage"])
    # no diffuse call, or the picked segment itself diffuse, or both: unchanged
    for diffuse in (set(), {humerus}, {humerus, "thoracic_cage"}, {"spine"}):
        assert diffuse_relabel([f], diffuse) == []
        assert SIOPEN_KEYS[f.label - 1] == humerus
    assert diffuse_relabel([f], {"thoracic_cage", "pelvis"}) == [f]
    assert SIOPEN_KEYS[f.label - 1] == "thoracic_cage"
    # a focus with one bone label is never moved
    g = FusedCandidate(ant=replace(f.ant, label=f.post.label), post=f.post, ant_at=None, post_at=f.post)
    h = FusedCandidate(ant=f.ant, post=None, ant_at=f.ant, post_at=replace(f.post, label=0))
    assert diffuse_relabel([g, h], {"pelvis", "spine"}) == []


def test_detection_labels_match_the_proposals(diffuse_sim, maps_of):
    """End to end on a diffuse study: proposed foci carry their candidate's final label, and a
    relabelled candidate lies over its new segment on one view and sits in a diffuse segment."""
    det = detect_study(diffuse_sim.study, maps_of(diffuse_sim))
    diffuse = {h.segment for h in det.hotspots if h.pattern == "diffuse"}
    assert diffuse
    proposed = sorted(SIOPEN_KEYS[f.label - 1] for f in det.candidates
                      if f.label and f.confidence >= DEFAULT_PARAMS.min_confidence)
    focal = sorted(h.segment for h in det.hotspots if h.pattern == "focal" and h.category == "bone")
    assert proposed == focal
    for f in det.candidates:
        if f.label_override:
            assert f.label_override in view_labels(f)
            assert SIOPEN_KEYS[f.label - 1] in diffuse
    off = detect_study(diffuse_sim.study, maps_of(diffuse_sim), DEFAULT_PARAMS.with_(diffuse_relabel=False))
    assert not any(f.label_override for f in off.candidates)
    assert len(off.candidates) == len(det.candidates)
    np.testing.assert_allclose([f.confidence for f in off.candidates], [f.confidence for f in det.candidates])

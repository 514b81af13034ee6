"""FROC accounting of a candidate on diffusely involved bone seen over an overlap.

Each view's truth label map shows the bone on top on that side, so a body point where the
ANT map shows one segment and the POST map another lies on both. A candidate there, filed
under the segment that is not diffusely involved, is on the involved bone of the other:
with ``cand_view_segments`` it is neither hit nor false positive (session 7); with the
fused label alone it was a false positive.
"""

import numpy as np

from mibgkit.detect.evaluate import TruthSpot, match_study
from mibgkit.segments import SIOPEN_KEYS


def _overlap_point(sim, diffuse: set[str]) -> tuple[tuple[int, int], str, str]:
    """A pixel where one view's truth map shows a diffuse segment and the other a segment
    without diffuse involvement, far from every lesion position."""
    a = np.asarray(sim.truth.labels["ANT"])
    p = np.asarray(sim.truth.labels["POST"])
    les = np.array([q for t in sim.truth.lesions for q in t.positions.values()])
    for la, lp in ((a, p), (p, a)):
        dif = np.isin(la, [SIOPEN_KEYS.index(k) + 1 for k in diffuse])
        other = (lp > 0) & ~np.isin(lp, [SIOPEN_KEYS.index(k) + 1 for k in diffuse])
        rr, cc = np.nonzero(dif & other)
        if rr.size == 0:
            continue
        far = np.min(np.hypot(rr[:, None] - les[None, :, 0], cc[:, None] - les[None, :, 1]), axis=1) > 20
        if far.any():
            i = int(np.flatnonzero(far)[0])
            rc = int(rr[i]), int(cc[i])
            return rc, SIOPEN_KEYS[int(la[rc]) - 1], SIOPEN_KEYS[int(lp[rc]) - 1]
    raise AssertionError("a diffuse study's truth maps overlap a diffuse segment somewhere")


def test_candidate_over_a_diffuse_overlap_is_not_a_false_positive(diffuse_sim):
    sim = diffuse_sim
    diffuse = {t.segment for t in sim.truth.lesions if t.kind == "diffuse"}
    assert diffuse
    rc, on_diffuse, filed = _overlap_point(sim, diffuse)
    assert on_diffuse in diffuse and filed not in diffuse
    truth = [TruthSpot({v: (float(q[0]), float(q[1])) for v, q in t.positions.items()}, t.radius_mm / 2.0,
                       t.kind == "focal" and bool(t.visible), t.segment, t.kind) for t in sim.truth.lesions]
    pos = [{"ANT": (float(rc[0]), float(rc[1])), "POST": (float(rc[0]), float(rc[1]))}]
    label_only = match_study(pos, [0.9], truth, 5.0, diffuse, [filed])
    assert label_only.fp_conf.tolist() == [0.9]
    by_view = match_study(pos, [0.9], truth, 5.0, diffuse, [filed], [[filed, on_diffuse]])
    assert by_view.fp_conf.size == 0
    assert np.array_equal(by_view.hit_conf, label_only.hit_conf)
    # a candidate whose views show no diffuse segment stays a false positive
    other = match_study(pos, [0.9], truth, 5.0, diffuse, [filed], [[filed]])
    assert other.fp_conf.tolist() == [0.9]

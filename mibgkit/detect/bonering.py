"""Bone-restricted context of a fused candidate: contrast along its own bone and depth.

The ring background of :func:`~mibgkit.detect.focal.measure` and the plane of
:mod:`mibgkit.detect.local` mix every body pixel around a candidate. On a bone that is
brighter than the soft tissue beside it (spine, ilium, ribs over the lung) that background
sits between the two levels: a normal vertebra or a rib crossing looks like a faint focus,
and a faint metastasis hardly rises above the mix. Restricted to the mapped bone of the
candidate's own segment, the ring holds the bone above and below the focus (the rest of
the vertebral column, the rest of the ilium), the comparison a reader makes. Bowel
projected onto a bone is compared with that bone too, and in depth: a lesion in the bone
is attenuated like the bone around it, so its ANT/POST excess ratio matches the bone's,
while bowel (anterior) and the primary tumour are at another depth.

Features (names prefixed ``bn_``, appended at the end of
:data:`~mibgkit.detect.params.FEATURES`; 0 for candidates without a bone label, which are
never bone proposals):

* ``bn_bone_snr``: signed log(1 + |s|) of s, the own-scale smoothed counts at the peak minus
  the median over the ring's pixels of the candidate's segment, in Poisson SDs of that
  smoothed median, better view;
* ``bn_bone_soft``: log of that bone median over the median of the ring's non-bone body
  pixels (how far the bone itself stands out: a bright bone row vs a bone under an organ);
* ``bn_bone_frac``: fraction of the ring's body pixels on the candidate's segment;
* ``bn_depth_diff``: log ANT/POST of the excess over the bone median minus log ANT/POST of
  the bone median's excess over the soft tissue (0 with one view or no usable ring);
* ``bn_coarse_round``: smaller / larger Hessian eigenvalue of the coarsest-scale counts at
  the candidate (bowel loops and the edges of organs are ridges at that scale, 1 round).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from mibgkit.detect.focal import Candidate, ViewAnalysis
from mibgkit.detect.fuse import FusedCandidate
from mibgkit.detect.params import DetectParams

__all__ = ["BONE_FEATURES", "bone_features", "ring_levels"]

#: Names of the bone-context features, in column order (appended to ``FEATURES``).
BONE_FEATURES: tuple[str, ...] = ("bn_bone_snr", "bn_bone_soft", "bn_bone_frac", "bn_depth_diff",
                                  "bn_coarse_round")

#: Cap of the bone-restricted significance before its signed log (noise SDs).
_SNR_CAP = 1000.0


@lru_cache(maxsize=64)
def _ring(r_in: float, r_out: float, sr: float, sc: float) -> tuple[int, int, np.ndarray, np.ndarray]:
    """Half sizes of the window and the row/col offsets of the ring ``r_in``-``r_out`` (mm)."""
    hr, hc = int(np.ceil(r_out / sr)), int(np.ceil(r_out / sc))
    dr, dc = np.mgrid[-hr:hr + 1, -hc:hc + 1]
    d = np.hypot(dr * sr, dc * sc)
    sel = (d >= r_in) & (d <= r_out)
    return hr, hc, dr[sel], dc[sel]


def ring_levels(va: ViewAnalysis, rows: np.ndarray, cols: np.ndarray, scale: int, labels: np.ndarray,
                params: DetectParams) -> np.ndarray:
    """Peak, bone-ring median and soft-tissue-ring median of points at one scale.

    The ring runs from ``2 sigma + bone_ring_gap_mm`` to ``bone_ring_width_mm`` beyond;
    its *bone* pixels are those of the point's segment (``labels``), its *soft* pixels the
    body pixels with no bone label.

    Parameters
    ----------
    va : ViewAnalysis
    rows, cols : ndarray of float
        The points (pixels of the view).
    scale : int
        DoG scale index (the smoothed counts of that scale are used).
    labels : ndarray of int
        SIOPEN label of each point's segment.
    params : DetectParams

    Returns
    -------
    ndarray of shape (n, 5)
        Columns: peak, bone median, soft median, bone pixels, body pixels of the ring. The
        levels are NaN where the ring leaves the image or has fewer than
        ``bone_ring_min_px`` pixels of that kind.
    """
    n = len(rows)
    out = np.full((n, 5), np.nan)
    if n == 0:
        return out
    sm = va.smooth[scale]
    nr, nc = sm.shape
    r = np.rint(np.asarray(rows, dtype=np.float64)).astype(np.int64)
    c = np.rint(np.asarray(cols, dtype=np.float64)).astype(np.int64)
    r_in = 2.0 * float(va.sigmas_mm[scale]) + params.bone_ring_gap_mm
    hr, hc, dr, dc = _ring(round(r_in, 3), round(r_in + params.bone_ring_width_mm, 3),
                           float(va.spacing[0]), float(va.spacing[1]))
    inside = (r - hr >= 0) & (r + hr < nr) & (c - hc >= 0) & (c + hc < nc)
    ri, ci = np.clip(r, 0, nr - 1), np.clip(c, 0, nc - 1)
    out[:, 0] = sm[ri, ci]
    flat = (ri[:, None] + dr[None, :]).clip(0, nr - 1) * nc + (ci[:, None] + dc[None, :]).clip(0, nc - 1)
    vals = sm.ravel().take(flat)
    lab = va.labels.ravel().take(flat)
    body = va.body.ravel().take(flat)
    on_bone = lab == np.asarray(labels)[:, None]
    soft = body & (lab == 0)
    k = params.bone_ring_min_px
    for col, m in ((1, on_bone), (2, soft)):
        cnt = m.sum(axis=1)
        ok = inside & (cnt >= k)
        if ok.any():
            v = np.sort(np.where(m[ok], vals[ok], np.inf), axis=1)  # the kind's pixels first
            cn = cnt[ok]
            rr = np.arange(v.shape[0])
            out[ok, col] = 0.5 * (v[rr, (cn - 1) // 2] + v[rr, cn // 2])
    out[:, 3] = on_bone.sum(axis=1)
    out[:, 4] = body.sum(axis=1)
    out[~inside, 1:3] = np.nan
    return out


def _coarse_round(va: ViewAnalysis, row: float, col: float) -> float:
    """Smaller / larger Hessian eigenvalue (signed) of the coarsest-scale counts."""
    sm = va.smooth[-1]
    nr, nc = sm.shape
    r, c = int(round(row)), int(round(col))
    h = max(1, int(round(va.sigmas_mm[-1] / max(va.spacing))))
    if r - h < 0 or r + h >= nr or c - h < 0 or c + h >= nc:
        return 0.0
    m = float(sm[r, c])
    dyy = float(sm[r + h, c]) + float(sm[r - h, c]) - 2.0 * m
    dxx = float(sm[r, c + h]) + float(sm[r, c - h]) - 2.0 * m
    dxy = 0.25 * (float(sm[r + h, c + h]) + float(sm[r - h, c - h]) - float(sm[r + h, c - h])
                  - float(sm[r - h, c + h]))
    tr, det = dxx + dyy, dxx * dyy - dxy * dxy
    disc = float(np.sqrt(max(0.25 * tr * tr - det, 0.0)))
    l1, l2 = 0.5 * tr - disc, 0.5 * tr + disc
    big, small = (l1, l2) if abs(l1) >= abs(l2) else (l2, l1)
    if big == 0.0:
        return 0.0
    return min(max(small / big, -1.0), 1.0) if big < 0 else -1.0


def bone_features(
    fused: Sequence[FusedCandidate],
    views: Mapping[str, ViewAnalysis],
    params: DetectParams,
) -> np.ndarray:
    """Bone-context features of every fused candidate, in the order of :data:`BONE_FEATURES`.

    Parameters
    ----------
    fused : sequence of FusedCandidate
        The study's fused candidates.
    views : mapping
        View name -> ViewAnalysis.
    params : DetectParams
        ``bone_ring_gap_mm``, ``bone_ring_width_mm``, ``bone_ring_min_px``.

    Returns
    -------
    ndarray of shape (n_candidates, len(BONE_FEATURES))
    """
    out = np.zeros((len(fused), len(BONE_FEATURES)))
    idx = [i for i, f in enumerate(fused) if f.label]
    if not idx:
        return out
    bests = [fused[i].best for i in idx]
    labels = np.array([fused[i].label for i in idx])
    scales = np.array([b.scale for b in bests])
    # levels at the same body point on each view, at the better view's scale
    lv: dict[str, np.ndarray] = {}
    for name, va in views.items():
        pts: list[Candidate | None] = [
            (fused[i].ant_at if name == "ANT" else fused[i].post_at if name == "POST" else b)
            for i, b in zip(idx, bests)]
        have = np.array([p is not None and p.view == name for p in pts])
        rows = np.array([p.row if p is not None else 0.0 for p in pts])
        cols = np.array([p.col if p is not None else 0.0 for p in pts])
        got = np.full((len(idx), 5), np.nan)
        for k in np.unique(scales):
            sel = have & (scales == k)
            if sel.any():
                got[sel] = ring_levels(va, rows[sel], cols[sel], int(k), labels[sel], params)
        lv[name] = got
    for j, (i, b) in enumerate(zip(idx, bests)):
        va = views[b.view]
        out[i, 4] = _coarse_round(va, b.row, b.col)
        peak, bone, soft, n_bone, n_body = lv[b.view][j]
        if not np.isfinite(bone):
            continue
        s = float(va.sigmas_mm[b.scale])
        n_eff = 4.0 * np.pi * (s / va.spacing[0]) * (s / va.spacing[1])  # pixels a Gaussian of sigma s averages
        snr = (peak - bone) / np.sqrt(max(bone, 1.0) / n_eff)
        out[i, 0] = float(np.sign(snr) * np.log1p(min(abs(snr), _SNR_CAP)))
        if np.isfinite(soft):
            out[i, 1] = min(max(float(np.log(max(bone, 1e-3) / max(soft, 1e-3))), -3.0), 3.0)
        out[i, 2] = n_bone / max(n_body, 1.0)
        if "ANT" in lv and "POST" in lv:
            a, p = lv["ANT"][j], lv["POST"][j]
            if np.all(np.isfinite(a[:3])) and np.all(np.isfinite(p[:3])):
                focus = np.log((max(a[0] - a[1], 0.0) + 1.0) / (max(p[0] - p[1], 0.0) + 1.0))
                bone_ap = np.log((max(a[1] - a[2], 0.0) + 1.0) / (max(p[1] - p[2], 0.0) + 1.0))
                out[i, 3] = min(max(float(focus - bone_ap), -4.0), 4.0)
    return out

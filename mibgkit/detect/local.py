"""Evidence for a focus at its own scale: planar-background matched filter, blob fit, shape.

The DoG response and the ring-percentile background of :func:`~mibgkit.detect.focal.measure`
are biased where a faint focus lies on a structure larger than itself: on the slope of an
organ (bowel, liver, bladder) or a bone edge the ring's lower percentile sits on the low side
of the slope, so organ edges look like foci and foci on organs look like organ edges. Here
the background under a candidate is a plane fitted to the ring around it (robust: ring
pixels far above a first fit, a neighbouring hot spot, are dropped), i.e. the organ's smooth
component is subtracted, and the excess is tested with a Gaussian template of the
candidate's own scale:

* ``snr``: matched-filter significance of the template amplitude over the plane, in
  Poisson SDs of the plane's counts;
* ``fit``: correlation of the template with the background-subtracted counts inside the
  template's support (a round blob scores high, a loop of bowel or an edge low);
* ``round``: ratio of the smaller to the larger Hessian eigenvalue of the candidate's
  own-scale smoothed counts (1 round, 0 a ridge, < 0 a saddle);
* ``kbest``: the DoG scale index that responds best at the point (the same point on the
  other view tells which view sees the focus sharper: the depth of the source).

:func:`local_measures` runs on every candidate and every remeasured point on the other
view (``Candidate.loc``); :func:`fused_local_features` turns the two views' measures into
the ``loc_*`` features appended to :data:`~mibgkit.detect.params.FEATURES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mibgkit.detect.focal import Candidate, ViewAnalysis

__all__ = ["LOCAL_FEATURES", "local_measures", "local_measures_batch", "fused_local_features"]

#: The ``loc_*`` features, in the order they are appended to ``FEATURES``.
LOCAL_FEATURES: tuple[str, ...] = (
    "loc_snr_best",   # log matched-filter SNR over a fitted plane, better view
    "loc_snr_other",  # same at the same body point on the other view
    "loc_fit_best",   # correlation of the own-scale Gaussian with the excess, better view
    "loc_fit_other",  # same, other view
    "loc_round",      # Hessian eigenvalue ratio at the own scale, better view
    "loc_dscale",     # best DoG scale index on ANT minus on POST at the same body point
)

def local_measures(
    va: ViewAnalysis, row: int, col: int, scale: int, r_in: float, r_out: float
) -> dict[str, float]:
    """Own-scale measures of a point (see the module docstring).

    A plane (1, row, col) is fitted by least squares to the body pixels of the ring
    ``r_in``-``r_out`` around the point, then refitted without those more than three
    Poisson SDs above it; within two sigmas of
    the point, ``snr`` is the Gaussian template's matched-filter response to the counts
    above that plane over its Poisson noise, ``fit`` the correlation of the template with
    them. The geometry depends only on the scale and the pixel spacing and is cached.

    Parameters
    ----------
    va : ViewAnalysis
    row, col : int
        The point, in pixels of the view.
    scale : int
        DoG scale index of the candidate (its sigma is the template's).
    r_in, r_out : float
        Inner and outer radius (mm) of the background ring.

    Returns
    -------
    dict
        ``snr``, ``fit``, ``round``, ``kbest`` (``snr`` and ``fit`` are 0 where the ring
        leaves the image or holds too few body pixels).
    """
    z = va.z[:, row, col]
    out = {"snr": 0.0, "fit": 0.0, "round": _roundness(va, row, col, scale), "kbest": float(z.argmax())}
    g = _geometry(float(va.sigmas_mm[scale]), float(r_in), float(r_out), float(va.spacing[0]), float(va.spacing[1]))
    nr, nc = va.image.shape
    if row - g.hr < 0 or row + g.hr >= nr or col - g.hc < 0 or col + g.hc >= nc:
        return out
    win = (slice(row - g.hr, row + g.hr + 1), slice(col - g.hc, col + g.hc + 1))
    flat = va.image[win].ravel()
    ring = flat.take(g.ring).astype(np.float64)
    ok = va.body[win].ravel().take(g.ring)
    n_ok = int(ok.sum())
    if n_ok < _MIN_RING:
        return out
    # plane through every body pixel of the ring, then again without the pixels more than
    # _RING_CLIP Poisson SDs above it (a neighbouring focus); noise alone is hardly clipped
    a = g.ring_design[ok]
    vals = ring[ok]
    coef = _solve3(a.T @ a, a.T @ vals)
    if coef is None:
        return out
    fitted = a @ coef
    keep = vals - fitted <= _RING_CLIP * np.sqrt(np.maximum(fitted, 1.0))
    a = a[keep]
    if a.shape[0] >= _MIN_RING:
        coef2 = _solve3(a.T @ a, a.T @ vals[keep])
        coef = coef if coef2 is None else coef2
    plane = g.inner_design @ coef
    x = flat.take(g.inner).astype(np.float64) - plane
    num = float(g.t @ x)
    out["snr"] = num / float(np.sqrt(max(float(g.t2 @ np.maximum(plane, 1.0)), 1e-9)))
    xc = x - x.mean()
    den = g.tc_norm * float(np.sqrt(xc @ xc))
    out["fit"] = float(g.tc @ xc) / den if den > 0 else 0.0
    return out


def local_measures_batch(
    va: ViewAnalysis, rows: np.ndarray, cols: np.ndarray, scales: np.ndarray,
    annulus_mm: tuple[float, float],
) -> list[dict[str, float]]:
    """:func:`local_measures` of many points at once (same values, to rounding).

    The points are grouped by scale; each group's windows are gathered with one fancy
    index, the two plane fits are weighted normal equations (ring pixels outside the
    body, resp. clipped, weigh 0) solved by Cramer's rule for all points together.

    Parameters
    ----------
    va : ViewAnalysis
    rows, cols, scales : ndarray of int
        The points (pixels of the view, inside the image) and their DoG scale indices.
    annulus_mm : tuple of float
        Inner and outer radius (mm) of the background ring, added to the blob radius
        ``sqrt(2) * sigma`` of each point's scale (as in :func:`~mibgkit.detect.focal.measure`).

    Returns
    -------
    list of dict
        One :func:`local_measures` result per point, in order.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    scales = np.asarray(scales, dtype=np.int64)
    n = rows.size
    snr = np.zeros(n)
    fit = np.zeros(n)
    rnd = np.zeros(n)
    kbest = va.z[:, rows, cols].argmax(axis=0).astype(np.float64) if n else np.zeros(0)
    nr, nc = va.image.shape
    flat_img = va.image.ravel()
    flat_body = va.body.ravel()
    for k in np.unique(scales).tolist():
        sel = np.flatnonzero(scales == k)
        r, c = rows[sel], cols[sel]
        rnd[sel] = _roundness_batch(va, r, c, int(k))
        s_mm = float(va.sigmas_mm[k])
        r_blob = float(np.sqrt(2.0) * s_mm)
        g = _geometry(s_mm, float(r_blob + annulus_mm[0]), float(r_blob + annulus_mm[1]),
                      float(va.spacing[0]), float(va.spacing[1]))
        inside = (r - g.hr >= 0) & (r + g.hr < nr) & (c - g.hc >= 0) & (c + g.hc < nc)
        sel, r, c = sel[inside], r[inside], c[inside]
        if sel.size == 0:
            continue
        w = 2 * g.hc + 1
        # flat index of each window pixel: top-left corner + (i // w) rows + (i % w) cols
        base = (r - g.hr) * nc + (c - g.hc)
        ring_off = (g.ring // w) * nc + (g.ring % w)
        inner_off = (g.inner // w) * nc + (g.inner % w)
        ring_idx = base[:, None] + ring_off[None, :]
        vals = flat_img[ring_idx].astype(np.float64)
        ok = flat_body[ring_idx]
        wt = ok.astype(np.float64)
        enough = ok.sum(axis=1) >= _MIN_RING
        a = g.ring_design
        aa = g.ring_outer
        coef, solved = _solve3_batch((wt @ aa).reshape(-1, 3, 3), (wt * vals) @ a)
        good = enough & solved
        fitted = coef @ a.T
        keep = ok & (vals - fitted <= _RING_CLIP * np.sqrt(np.maximum(fitted, 1.0)))
        wt2 = keep.astype(np.float64)
        coef2, solved2 = _solve3_batch((wt2 @ aa).reshape(-1, 3, 3), (wt2 * vals) @ a)
        use2 = (keep.sum(axis=1) >= _MIN_RING) & solved2
        coef = np.where(use2[:, None], coef2, coef)
        plane = coef @ g.inner_design.T
        x = flat_img[base[:, None] + inner_off[None, :]].astype(np.float64) - plane
        num = x @ g.t
        noise = np.sqrt(np.maximum(np.maximum(plane, 1.0) @ g.t2, 1e-9))
        xc = x - x.mean(axis=1, keepdims=True)
        den = g.tc_norm * np.sqrt(np.einsum("nk,nk->n", xc, xc))
        f = np.divide(xc @ g.tc, den, out=np.zeros(den.shape), where=den > 0)
        snr[sel] = np.where(good, num / noise, 0.0)
        fit[sel] = np.where(good, f, 0.0)
    return [{"snr": float(snr[i]), "fit": float(fit[i]), "round": float(rnd[i]), "kbest": float(kbest[i])}
            for i in range(n)]


def _solve3_batch(m: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_solve3` of a stack of systems: solutions (n, 3) and which were solvable."""
    a0, a1, a2 = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    b0, b1, b2 = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    c0, c1, c2 = m[:, 2, 0], m[:, 2, 1], m[:, 2, 2]
    k0, k1, k2 = b[:, 0], b[:, 1], b[:, 2]
    det = a0 * (b1 * c2 - b2 * c1) - a1 * (b0 * c2 - b2 * c0) + a2 * (b0 * c1 - b1 * c0)
    ok = np.abs(det) >= 1e-9
    d = np.where(ok, det, 1.0)
    x0 = k0 * (b1 * c2 - b2 * c1) - a1 * (k1 * c2 - b2 * k2) + a2 * (k1 * c1 - b1 * k2)
    x1 = a0 * (k1 * c2 - b2 * k2) - k0 * (b0 * c2 - b2 * c0) + a2 * (b0 * k2 - k1 * c0)
    x2 = a0 * (b1 * k2 - k1 * c1) - a1 * (b0 * k2 - k1 * c0) + k0 * (b0 * c1 - b1 * c0)
    x = np.stack([x0 / d, x1 / d, x2 / d], axis=1)
    return np.where(ok[:, None], x, 0.0), ok


def _solve3(m: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Solution of the 3 x 3 system ``m x = b`` (Cramer's rule; None when |det| < 1e-9)."""
    (a0, a1, a2), (b0, b1, b2), (c0, c1, c2) = m.tolist()
    k0, k1, k2 = b.tolist()
    det = a0 * (b1 * c2 - b2 * c1) - a1 * (b0 * c2 - b2 * c0) + a2 * (b0 * c1 - b1 * c0)
    if abs(det) < 1e-9:
        return None
    x0 = k0 * (b1 * c2 - b2 * c1) - a1 * (k1 * c2 - b2 * k2) + a2 * (k1 * c1 - b1 * k2)
    x1 = a0 * (k1 * c2 - b2 * k2) - k0 * (b0 * c2 - b2 * c0) + a2 * (b0 * k2 - k1 * c0)
    x2 = a0 * (b1 * k2 - k1 * c1) - a1 * (b0 * k2 - k1 * c0) + k0 * (b0 * c1 - b1 * c0)
    return np.array([x0 / det, x1 / det, x2 / det])


#: Ring pixels more than this many Poisson SDs above the first plane are left out of the second
#: (a neighbouring focus).
_RING_CLIP = 3.0
#: Fewest ring pixels for a plane fit.
_MIN_RING = 12
#: The template's support, in own-scale sigmas.
_SUPPORT = 2.0


@dataclass(frozen=True)
class _Geometry:
    """Cached pixel geometry of one scale: window half sizes, ring and inner disc (flat
    indices into the window and their (1, row, col) designs), the template, and the ring
    design's outer products (one row of 9 per ring pixel, for the batched normal equations)."""

    hr: int
    hc: int
    ring: np.ndarray
    ring_design: np.ndarray
    inner: np.ndarray
    inner_design: np.ndarray
    t: np.ndarray
    t2: np.ndarray
    tc: np.ndarray
    tc_norm: float
    ring_outer: np.ndarray = field(default_factory=lambda: np.zeros((0, 9)))


@lru_cache(maxsize=64)
def _geometry(s_mm: float, r_in: float, r_out: float, sr: float, sc: float) -> _Geometry:
    """Geometry of the ring ``r_in``-``r_out`` and the template of sigma ``s_mm`` (mm)."""
    hr, hc = int(np.ceil(r_out / sr)), int(np.ceil(r_out / sc))
    dr, dc = np.mgrid[-hr:hr + 1, -hc:hc + 1]
    d = np.hypot(dr * sr, dc * sc).ravel()
    design = np.column_stack([np.ones(d.size), dr.ravel() * sr, dc.ravel() * sc])
    ring = np.flatnonzero((d >= r_in) & (d <= r_out))
    inner = np.flatnonzero(d <= _SUPPORT * s_mm)
    t = np.exp(-0.5 * (d[inner] / s_mm) ** 2)
    tc = t - t.mean()
    rd = design[ring]
    return _Geometry(hr, hc, ring, rd, inner, design[inner], t, t * t, tc, float(np.sqrt(tc @ tc)),
                     (rd[:, :, None] * rd[:, None, :]).reshape(-1, 9))


def _roundness(va: ViewAnalysis, row: int, col: int, scale: int) -> float:
    """Smaller / larger Hessian eigenvalue (by magnitude, signed) of the own-scale counts."""
    sm = va.smooth[scale]
    nr, nc = sm.shape
    h = max(1, int(round(va.sigmas_mm[scale] / max(va.spacing))))
    if row - h < 0 or row + h >= nr or col - h < 0 or col + h >= nc:
        return 0.0
    c = float(sm[row, col])
    dyy = float(sm[row + h, col]) + float(sm[row - h, col]) - 2.0 * c
    dxx = float(sm[row, col + h]) + float(sm[row, col - h]) - 2.0 * c
    dxy = 0.25 * (float(sm[row + h, col + h]) + float(sm[row - h, col - h])
                  - float(sm[row + h, col - h]) - float(sm[row - h, col + h]))
    tr, det = dxx + dyy, dxx * dyy - dxy * dxy
    disc = float(np.sqrt(max(0.25 * tr * tr - det, 0.0)))
    l1, l2 = 0.5 * tr - disc, 0.5 * tr + disc  # l1 <= l2; a peak has both < 0
    big, small = (l1, l2) if abs(l1) >= abs(l2) else (l2, l1)
    if big >= 0:  # not a maximum along its main axis
        return -1.0
    return float(np.clip(small / big, -1.0, 1.0))


def _roundness_batch(va: ViewAnalysis, rows: np.ndarray, cols: np.ndarray, scale: int) -> np.ndarray:
    """:func:`_roundness` of many points of one scale."""
    sm = va.smooth[scale]
    nr, nc = sm.shape
    h = max(1, int(round(va.sigmas_mm[scale] / max(va.spacing))))
    out = np.zeros(rows.size)
    inside = (rows - h >= 0) & (rows + h < nr) & (cols - h >= 0) & (cols + h < nc)
    r, c = rows[inside], cols[inside]
    if r.size == 0:
        return out

    def at(dr: int, dc: int) -> np.ndarray:
        return sm[r + dr, c + dc].astype(np.float64)

    ctr = at(0, 0)
    dyy = at(h, 0) + at(-h, 0) - 2.0 * ctr
    dxx = at(0, h) + at(0, -h) - 2.0 * ctr
    dxy = 0.25 * (at(h, h) + at(-h, -h) - at(h, -h) - at(-h, h))
    tr, det = dxx + dyy, dxx * dyy - dxy * dxy
    disc = np.sqrt(np.maximum(0.25 * tr * tr - det, 0.0))
    l1, l2 = 0.5 * tr - disc, 0.5 * tr + disc
    first = np.abs(l1) >= np.abs(l2)
    big, small = np.where(first, l1, l2), np.where(first, l2, l1)
    ratio = np.clip(small / np.where(big < 0, big, -1.0), -1.0, 1.0)
    out[inside] = np.where(big >= 0, -1.0, ratio)
    return out


def fused_local_features(best: Candidate, other: Candidate | None, ant: Candidate | None,
                         post: Candidate | None) -> dict[str, float]:
    """The ``loc_*`` features of a fused candidate from its views' measures.

    Parameters
    ----------
    best, other : Candidate
        The better view's candidate and the measurement at the same body point on the
        other view (None when the study has one view).
    ant, post : Candidate
        The measurements on ANT and POST (None when missing).

    Returns
    -------
    dict
        Feature name -> value (0 where a view is missing).
    """
    bl = best.loc
    ol = other.loc if other is not None else {}
    out = {
        "loc_snr_best": float(np.log(max(bl.get("snr", 0.0), 0.5))),
        "loc_snr_other": float(np.log(max(ol.get("snr", 0.0), 0.5))),
        "loc_fit_best": bl.get("fit", 0.0),
        "loc_fit_other": ol.get("fit", 0.0),
        "loc_round": bl.get("round", 0.0),
        "loc_dscale": 0.0,
    }
    if ant is not None and post is not None and "kbest" in ant.loc and "kbest" in post.loc:
        out["loc_dscale"] = ant.loc["kbest"] - post.loc["kbest"]
    return out

"""Focal hot spots on one planar view: multi-scale difference of Gaussians.

The counts are Anscombe-transformed (Poisson noise becomes roughly unit-variance
Gaussian), so a DoG response divided by the DoG's own noise gain is a significance in
standard deviations whatever the count level. Each local maximum over space and scale
is a candidate, measured in counts: peak over a robust local background, the
half-maximum region's area, how much of it lies on bone and how much in organ-like
uptake.

A second test, :func:`local_significance`, measures each point against a local
background that excludes the candidate (grey opening at about three lesion diameters,
smoothed), in units of Poisson noise: organs and bone larger than the opening are
background, so a focus on top of the liver or next to the bladder is still a local
excess, and the organ itself is not. Its maxima that no DoG peak covers are candidates
too, and ANT + POST local significances are summed at the fused position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import ndimage as ndi

from mibgkit.detect.local import local_measures, local_measures_batch
from mibgkit.detect.params import DetectParams

__all__ = ["anscombe", "local_significance", "ViewAnalysis", "Candidate", "analyse_view", "find_candidates", "measure",
           "measure_many"]


def anscombe(counts: np.ndarray) -> np.ndarray:
    """Anscombe transform ``2 sqrt(x + 3/8)``: Poisson counts -> unit variance.

    Parameters
    ----------
    counts : ndarray
        Counts of any numeric dtype; negative values (lossy codecs) are treated as 0.

    Returns
    -------
    ndarray of float32, same shape.
    """
    x = np.clip(np.asarray(counts, dtype=np.float32), 0.0, None)
    return 2.0 * np.sqrt(x + 0.375)


def local_significance(
    image: np.ndarray,
    spacing: tuple[float, float],
    size_mm: float,
    sigma_mm: float,
    smoothed: np.ndarray | None = None,
) -> np.ndarray:
    """Excess over a local background that excludes small foci, in Poisson noise SDs.

    The Anscombe-transformed counts are smoothed (Gaussian, ``sigma_mm``); the local
    background is their grey opening with a ``size_mm`` square (which removes every
    focus smaller than that but follows organs, bone and body edges larger than it),
    smoothed again. The difference divided by the noise SD of the smoothed image is the
    significance: a focus on top of the liver or the bladder is a local excess above
    the organ's own level, while the organ itself scores about zero.

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
        Counts.
    spacing : tuple of float
        (row, col) pixel spacing, mm.
    size_mm : float
        Width of the opening's structuring element (about three lesion diameters).
    sigma_mm : float
        Matched-filter smoothing, mm.
    smoothed : ndarray, optional
        The Anscombe-transformed counts already smoothed at ``sigma_mm`` (reused when given).

    Returns
    -------
    ndarray of float32, same shape.
    """
    s = (sigma_mm / spacing[0], sigma_mm / spacing[1])
    a = ndi.gaussian_filter(anscombe(image), s, truncate=3.0) if smoothed is None else smoothed
    k = (max(3, int(size_mm / spacing[0]) | 1), max(3, int(size_mm / spacing[1]) | 1))
    bg = ndi.grey_opening(a, size=k)
    bg = ndi.gaussian_filter(bg, (k[0] / 4.0, k[1] / 4.0), truncate=3.0)
    sd = 1.0 / np.sqrt(4.0 * np.pi * s[0] * s[1])
    return ((a - bg) / sd).astype(np.float32)


@lru_cache(maxsize=64)
def _dog_noise_gain(s_row: float, s_col: float, ratio: float) -> float:
    """Standard deviation of a DoG filter's output on unit-variance white noise."""
    half = int(np.ceil(4 * ratio * max(s_row, s_col))) + 1
    delta = np.zeros((2 * half + 1, 2 * half + 1), dtype=np.float64)
    delta[half, half] = 1.0
    k = ndi.gaussian_filter(delta, (s_row, s_col)) - ndi.gaussian_filter(delta, (s_row * ratio, s_col * ratio))
    return float(np.sqrt(np.sum(k * k)))


@dataclass
class ViewAnalysis:
    """Derived images of one view, kept for matching, diffuse grading and the report.

    Parameters
    ----------
    view : str
        View name.
    image : ndarray of shape (rows, cols)
        Counts (normalized frame).
    spacing : tuple of float
        (row, col) pixel spacing in mm.
    labels : ndarray of shape (rows, cols), uint8
        SIOPEN label map (0 = not bone).
    body : ndarray of shape (rows, cols), bool
        Body outline.
    z : ndarray of shape (scales, rows, cols)
        Noise-normalized DoG response per scale.
    smooth : ndarray of shape (scales, rows, cols)
        Counts smoothed at each scale.
    organ : ndarray of shape (rows, cols), int32
        Organ-like uptake regions (connected components, 0 = none).
    reference_level : float
        Reference organ level (about the liver), in smoothed counts.
    sigmas_mm : tuple of float
        The DoG scales (mm) of ``z``.
    local_sig : ndarray of shape (rows, cols), optional
        Local significance (:func:`local_significance`): excess over a morphological
        local background that excludes small foci, in units of Poisson noise.
    """

    view: str
    image: np.ndarray
    spacing: tuple[float, float]
    labels: np.ndarray
    body: np.ndarray
    z: np.ndarray
    smooth: np.ndarray
    organ: np.ndarray
    reference_level: float
    sigmas_mm: tuple[float, ...] = ()
    local_sig: np.ndarray | None = field(default=None, repr=False)

    @property
    def zmax(self) -> np.ndarray:
        """Best significance over scales, (rows, cols)."""
        return self.z.max(axis=0)


@dataclass
class Candidate:
    """One focal candidate on one view, in that view's normalized frame."""

    view: str
    row: float
    col: float
    scale: int
    sigma_mm: float
    z: float
    peak: float
    background: float
    peak_ratio: float
    area_mm2: float
    bone_fraction: float
    organ_overlap: float
    label: int
    local_sig: float = 0.0
    bone_dist_mm: float = 0.0
    z_fine: float = 0.0
    z_coarse: float = 0.0
    neighbours: int = 0
    nested: bool = False
    loc: dict[str, float] = field(default_factory=dict)
    region: tuple[slice, slice] = field(repr=False, default=(slice(0, 0), slice(0, 0)))
    region_mask: np.ndarray | None = field(repr=False, default=None)

    @property
    def excess(self) -> float:
        """Peak minus background, counts."""
        return max(self.peak - self.background, 0.0)


def _body_mask(smooth: np.ndarray) -> np.ndarray:
    """Body outline: lower of two Otsu thresholds of the log smoothed counts.

    Three classes (air, limbs and soft tissue, trunk organs): the lower threshold
    separates air from the body even when bright organs dominate the histogram.
    """
    from skimage.filters import threshold_multiotsu

    pos = smooth[smooth > 0]
    if pos.size < 16:
        return np.zeros(smooth.shape, dtype=bool)
    off = 1e-2 * _percentile(pos, 99.0)
    logs = np.log(pos + off)
    level = float(np.exp(threshold_multiotsu(logs, classes=3)[0])) - off
    mask = smooth > level
    mask = _close_cross(mask, 3)
    mask = _fill_holes(mask)
    lab, n = ndi.label(mask)
    if n > 1:
        sizes = ndi.sum(mask, lab, index=np.arange(1, n + 1))
        keep = np.flatnonzero(sizes >= 0.02 * sizes.max()) + 1
        mask = np.isin(lab, keep)
    return mask


def _dilate_cross(mask: np.ndarray, iterations: int) -> np.ndarray:
    """``ndi.binary_dilation(mask, iterations=iterations)`` (4-connected cross, nothing
    beyond the border) by shifted ORs: the same mask, without the per-call set-up."""
    out = np.asarray(mask, dtype=bool).copy()
    for _ in range(iterations):
        prev = out.copy()
        out[1:] |= prev[:-1]
        out[:-1] |= prev[1:]
        out[:, 1:] |= prev[:, :-1]
        out[:, :-1] |= prev[:, 1:]
    return out


def _close_cross(mask: np.ndarray, iterations: int) -> np.ndarray:
    """``ndi.binary_closing(mask, iterations=iterations, border_value=0)`` with the
    4-connected cross, by shifted ORs and ANDs (the same mask, several times faster)."""
    out = _dilate_cross(mask, iterations)
    for _ in range(iterations):
        prev = out.copy()
        out[1:] &= prev[:-1]
        out[:-1] &= prev[1:]
        out[:, 1:] &= prev[:, :-1]
        out[:, :-1] &= prev[:, 1:]
        out[0] = out[-1] = False  # beyond the border is background
        out[:, 0] = out[:, -1] = False
    return out


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``ndi.binary_fill_holes`` by labelling the background (same result, faster)."""
    bg, _ = ndi.label(~mask)
    edge = np.unique(np.concatenate([bg[0], bg[-1], bg[:, 0], bg[:, -1]]))
    return ~np.isin(bg, edge[edge > 0])


def _organ_regions(
    image: np.ndarray, body: np.ndarray, spacing: tuple[float, float], p: DetectParams
) -> tuple[np.ndarray, float]:
    """Organ-like uptake: large connected regions above a fraction of the reference level."""
    sig = (p.organ_sigma_mm / spacing[0], p.organ_sigma_mm / spacing[1])
    big = smooth(image, sig)
    inside = big[body] if body.any() else big.ravel()
    ref = float(np.percentile(inside, 99.0)) if inside.size else 1.0
    ref = max(ref, 1e-6)
    mask = (big > p.organ_level * ref) & body
    lab, n = ndi.label(mask)
    if n:
        px = spacing[0] * spacing[1]
        sizes = ndi.sum(mask, lab, index=np.arange(1, n + 1)) * px
        small = np.flatnonzero(sizes < p.organ_min_area_mm2) + 1
        lab[np.isin(lab, small)] = 0
        lab, _ = ndi.label(lab > 0)
    return lab.astype(np.int32), ref


def analyse_view(
    image: np.ndarray,
    labels: np.ndarray,
    spacing: tuple[float, float],
    view: str,
    params: DetectParams,
    body: np.ndarray | None = None,
) -> ViewAnalysis:
    """Compute the scale-space response and organ regions of one view.

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
        Counts in the normalized frame.
    labels : ndarray of shape (rows, cols)
        SIOPEN label map of the view.
    spacing : tuple of float
        (row, col) pixel spacing, mm.
    view : str
        View name.
    params : DetectParams
    body : ndarray of bool, optional
        Body outline; estimated from the counts when not given.

    Returns
    -------
    ViewAnalysis
    """
    img = np.asarray(image, dtype=np.float32)
    a = anscombe(img)
    blurred = _gaussian_cascade(a, spacing, params.sigmas_mm, params.dog_ratio)
    # the stacks are filled in place (float32 throughout, as the blurs are)
    zst = np.empty((len(params.sigmas_mm),) + a.shape, dtype=np.float32)
    sst = np.empty_like(zst)
    for k, s_mm in enumerate(params.sigmas_mm):
        s = (s_mm / spacing[0], s_mm / spacing[1])
        g1, g2 = blurred[s_mm], blurred[s_mm * params.dog_ratio]
        np.subtract(g1, g2, out=zst[k])
        zst[k] *= np.float32(1.0 / _dog_noise_gain(round(s[0], 3), round(s[1], 3), params.dog_ratio))
        # counts at this scale: inverse Anscombe of the smoothed transform (its bias, about
        # a quarter count, is negligible next to the smoothed counts)
        np.multiply(g1, np.float32(0.25), out=sst[k])
        sst[k] *= g1
        sst[k] -= np.float32(0.375)
        np.maximum(sst[k], np.float32(0.0), out=sst[k])
    if body is None:
        body = _body_mask(sst[-1])
    if params.bone_in_body:
        # what the segment map calls bone is inside the body, even where the counts'
        # outline lost it (a hand or forearm held apart from the trunk)
        body = body | (np.asarray(labels) > 0)
    organ, ref = _organ_regions(img, body, spacing, params)
    fine = blurred.get(params.tophat_sigma_mm)
    return ViewAnalysis(
        view=view, image=img, spacing=spacing, labels=np.asarray(labels), body=body,
        z=zst, smooth=sst,
        organ=organ, reference_level=ref, sigmas_mm=tuple(params.sigmas_mm),
        local_sig=local_significance(img, spacing, params.tophat_mm, params.tophat_sigma_mm, smoothed=fine),
    )


def _gaussian_cascade(
    a: np.ndarray, spacing: tuple[float, float], sigmas_mm: tuple[float, ...], ratio: float
) -> dict[float, np.ndarray]:
    """Gaussian blurs of ``a`` at every DoG sigma and ``ratio`` times it, by cascading.

    Each blur is computed from the previous (smaller) one with the incremental sigma
    ``sqrt(s_k^2 - s_(k-1)^2)``: short kernels, one filter per sigma.

    Returns
    -------
    dict
        Sigma (mm) -> blurred float32 image.
    """
    wanted = sorted({float(s) for s in sigmas_mm} | {float(s) * ratio for s in sigmas_mm})
    out: dict[float, np.ndarray] = {}
    cur = a
    prev = 0.0
    for s_mm in wanted:
        inc = np.sqrt(max(s_mm * s_mm - prev * prev, 0.0))
        if inc > 1e-6:
            cur = ndi.gaussian_filter(cur, (inc / spacing[0], inc / spacing[1]), truncate=3.0)
        out[s_mm] = cur
        prev = s_mm
    for s_mm in sigmas_mm:  # exact keys as the caller spells them
        out.setdefault(s_mm, out[float(s_mm)])
        out.setdefault(s_mm * ratio, out[float(s_mm) * ratio])
    return out


def find_candidates(va: ViewAnalysis, params: DetectParams, max_candidates: int = 200) -> list[Candidate]:
    """Local maxima of the scale-space significance above ``params.z_min``.

    With ``params.per_scale_peaks`` (default) the maxima are searched on every DoG scale
    separately and merged greedily, strongest first, keeping peaks at least
    ``min_separation_mm`` apart: a small lesion on the shoulder of a larger, brighter
    structure (bladder, joint, a neighbouring large lesion) is a maximum at its own
    fine scale even where the coarse scale's response, and hence the maximum over
    scales, still rises towards the bright neighbour. Without it, the maxima of the
    best response over scales are used.

    Returns
    -------
    list of Candidate, strongest first.
    """
    sep_mm = params.min_separation_mm
    sep = (sep_mm / va.spacing[0], sep_mm / va.spacing[1])
    size = (max(3, int(round(sep[0])) | 1), max(3, int(round(sep[1])) | 1))
    if params.per_scale_peaks:
        found: list[tuple[float, int, int, int]] = []
        for k in range(va.z.shape[0]):
            rr, cc = _window_maxima(va.z[k], va.body, params.z_min, size)
            found.extend(zip(va.z[k][rr, cc].tolist(), rr.tolist(), cc.tolist(), [k] * rr.size))
        found.sort(key=lambda t: -t[0])
        kept: list[tuple[float, int, int, int]] = []
        # kept peaks' rows, cols, scales (preallocated; the first len(kept) are used)
        kr_all = np.zeros(len(found), dtype=int)
        kc_all = np.zeros(len(found), dtype=int)
        kk_all = np.zeros(len(found), dtype=int)
        nested: list[bool] = []
        for z, r, c, k in found:
            inside = False
            m = len(kept)
            if m:
                kr, kc, kk = kr_all[:m], kc_all[:m], kk_all[:m]
                d = np.hypot((kr - r) * va.spacing[0], (kc - c) * va.spacing[1])
                near = d < sep_mm
                if params.scale_aware_nms and near.any():
                    inside = True
                    near &= ~_unexplained(va, r, c, k, kr, kc, kk, d, params.nested_min_mm, params.nested_margin)
                if near.any():
                    continue
            kr_all[m], kc_all[m], kk_all[m] = r, c, k
            kept.append((z, r, c, k))
            nested.append(inside)
            if len(kept) >= max_candidates:
                break
        kr, kc = kr_all[:len(kept)], kc_all[:len(kept)]
        out = measure_many(va, [(r, c, k) for _, r, c, k in kept], params)
        for cand, inside in zip(out, nested):
            cand.nested = inside
        if kept:
            # other peaks nearby: bowel and noisy organ edges are patchy, a bone lesion is alone
            d = np.hypot((kr[:, None] - kr[None, :]) * va.spacing[0], (kc[:, None] - kc[None, :]) * va.spacing[1])
            nb = (d <= params.neighbour_mm).sum(axis=1) - 1
            for cand, n in zip(out, nb):
                cand.neighbours = int(n)
        peaks = np.zeros(va.image.shape, dtype=bool)
        if kept:
            peaks[[t[1] for t in kept], [t[2] for t in kept]] = True
    else:
        zmax = va.zmax
        peaks = (ndi.maximum_filter(zmax, size=size) == zmax) & (zmax > params.z_min) & va.body
        rr, cc = np.nonzero(peaks)
        order = np.argsort(-zmax[rr, cc])[:max_candidates]
        out = measure_many(va, [(int(rr[i]), int(cc[i]), None) for i in order], params)
    if va.local_sig is not None and params.local_sig_min > 0:
        # small local excesses the DoG missed (next to a bright organ's edge, say)
        ls = va.local_sig
        near = ndi.maximum_filter(peaks, size=size)
        extra = (ndi.maximum_filter(ls, size=size) == ls) & (ls > params.local_sig_min) & va.body & ~near
        er, ec = np.nonzero(extra)
        eo = np.argsort(-ls[er, ec])[: max(0, max_candidates - len(out))]
        out += measure_many(va, [(int(er[i]), int(ec[i]), None) for i in eo], params)
    return out


def _window_maxima(
    z: np.ndarray, body: np.ndarray, z_min: float, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of ``body`` above ``z_min`` that are the maximum of their ``size`` window.

    Same as ``(ndi.maximum_filter(z, size) == z) & (z > z_min) & body``, with the filter
    run only on the bounding box of the pixels above threshold (plus half a window of
    real neighbours): most of the frame is air or below threshold.
    """
    above = (z > z_min) & body
    rows = np.flatnonzero(above.any(axis=1))
    if rows.size == 0:
        return rows, rows
    cols = np.flatnonzero(above.any(axis=0))
    hr, hc = size[0] // 2 + 1, size[1] // 2 + 1
    r0, r1 = max(0, int(rows[0]) - hr), min(z.shape[0], int(rows[-1]) + hr + 1)
    c0, c1 = max(0, int(cols[0]) - hc), min(z.shape[1], int(cols[-1]) + hc + 1)
    sub = z[r0:r1, c0:c1]
    rr, cc = np.nonzero((ndi.maximum_filter(sub, size=size) == sub) & above[r0:r1, c0:c1])
    return rr + r0, cc + c0


def _unexplained(
    va: ViewAnalysis, r: int, c: int, k: int, kr: np.ndarray, kc: np.ndarray, kk: np.ndarray,
    d: np.ndarray, nested_min_mm: float, margin: float,
) -> np.ndarray:
    """Which kept peaks do NOT explain a finer-scale peak at (r, c) of scale ``k``.

    A blob's DoG response at any finer scale is largest at the blob's own centre. A
    finer-scale maximum at least ``nested_min_mm`` from a coarser kept peak on
    organ-like uptake, whose finer-scale response exceeds the response at that peak's
    centre by ``margin`` noise SDs, is therefore not the coarse blob seen at a finer
    scale but a structure of its own (a rib focus on the heart, an iliac focus on the
    bowel). Peaks of the same or a finer scale, and coarse peaks off organs, always
    suppress.

    Returns
    -------
    ndarray of bool, one per kept peak.
    """
    coarser = (kk > k) & (va.organ[kr, kc] > 0)
    return coarser & (d >= nested_min_mm) & (va.z[k, r, c] > va.z[k, kr, kc] + margin)


def _percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile`` (linear method) of a small 1-D array, via a partial sort."""
    pos = q / 100.0 * (values.size - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, values.size - 1)
    part = np.partition(values, (lo, hi))
    return float(part[lo] + (part[hi] - part[lo]) * (pos - lo))


def measure_many(
    va: ViewAnalysis, points: list[tuple[int, int, int | None]], params: DetectParams
) -> list[Candidate]:
    """:func:`measure` of many points at once: the same candidates, vectorized.

    The points of one scale share the window geometry, so their windows are gathered
    with one fancy index (pixels outside the image flagged invalid) and every step of
    :func:`measure` runs on the stack: ring percentile (a sort with the unused pixels
    last), half-maximum region (one :func:`scipy.ndimage.label` of the stack, connected
    within each window only), bone and organ fractions, bone distance; the own-scale
    measures come from :func:`~mibgkit.detect.local.local_measures_batch`.

    Parameters
    ----------
    va : ViewAnalysis
    points : list of (row, col, scale)
        Pixels in the normalized frame and their scale index (None: best-responding).
    params : DetectParams

    Returns
    -------
    list of Candidate, in the order of ``points`` (equal to ``measure`` of each point,
    to floating-point rounding in ``loc``).
    """
    n = len(points)
    if n == 0:
        return []
    nr, nc = va.image.shape
    rows = np.clip(np.array([int(p[0]) for p in points], dtype=np.int64), 0, nr - 1)
    cols = np.clip(np.array([int(p[1]) for p in points], dtype=np.int64), 0, nc - 1)
    given = [p[2] for p in points]
    scales = np.array([int(k) if k is not None else -1 for k in given], dtype=np.int64)
    free = scales < 0
    if free.any():
        scales[free] = np.argmax(va.z[:, rows[free], cols[free]], axis=0)
    out: list[Candidate | None] = [None] * n
    for k in np.unique(scales).tolist():
        idx = np.flatnonzero(scales == k)
        for i, cand in zip(idx.tolist(), _measure_scale(va, rows[idx], cols[idx], int(k), params)):
            out[i] = cand
    cands = [c for c in out if c is not None]
    locs = local_measures_batch(va, rows, cols, scales, params.annulus_mm)
    for cand, loc in zip(cands, locs):
        cand.loc = loc
    return cands


#: 3-D structure connecting pixels within one 2-D window of a stack only.
_CROSS_STACK = np.stack([np.zeros((3, 3), bool), ndi.generate_binary_structure(2, 1), np.zeros((3, 3), bool)])


def _measure_scale(va: ViewAnalysis, rows: np.ndarray, cols: np.ndarray, scale: int,
                   params: DetectParams) -> list[Candidate]:
    """:func:`measure` of points (inside the image) of one scale, vectorized (see :func:`measure_many`)."""
    nr, nc = va.image.shape
    s_mm = va.sigmas_mm[scale]
    sm = va.smooth[scale]
    r_blob = float(np.sqrt(2.0) * s_mm)
    r_in, r_out = r_blob + params.annulus_mm[0], r_blob + params.annulus_mm[1]
    dist, hr, hc = _distance_grid(r_out, va.spacing[0], va.spacing[1])
    n = rows.size
    rr = rows[:, None] + np.arange(-hr, hr + 1)[None, :]
    cc = cols[:, None] + np.arange(-hc, hc + 1)[None, :]
    valid = ((rr >= 0) & (rr < nr))[:, :, None] & ((cc >= 0) & (cc < nc))[:, None, :]
    # flat pixel index of every window pixel (clipped to the image; ``valid`` says which are real)
    fi = np.clip(rr, 0, nr - 1)[:, :, None] * nc + np.clip(cc, 0, nc - 1)[:, None, :]
    win = sm.ravel().take(fi)
    body_w = va.body.ravel().take(fi) & valid
    labels_w = np.where(valid, va.labels.ravel().take(fi), 0)
    organ_w = va.organ.ravel().take(fi) != 0
    outer = dist >= r_in
    ring = (outer & (dist <= r_out)) & body_w
    use = np.where((ring.sum(axis=(1, 2)) < 8)[:, None, None], outer & valid, ring)
    # ring percentile (float32, as _percentile): the used values sorted first; only the
    # pixels of the outer part of the window can be used
    count = use.sum(axis=(1, 2))
    ofs = np.flatnonzero(outer)
    srt = np.sort(np.where(use.reshape(n, -1)[:, ofs], win.reshape(n, -1)[:, ofs], np.float32(np.inf)), axis=1)
    pos = params.background_percentile / 100.0 * (count - 1)
    lo = np.floor(np.maximum(pos, 0.0)).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(count - 1, 0))
    v_lo = np.take_along_axis(srt, lo[:, None], axis=1)[:, 0]
    v_hi = np.take_along_axis(srt, hi[:, None], axis=1)[:, 0]
    frac = (pos - lo).astype(np.float32)
    with np.errstate(invalid="ignore"):  # inf - inf where no pixel is used (bg 0 there)
        bg32 = np.where(count > 0, v_lo + (v_hi - v_lo) * frac, np.float32(0.0))
    bg = bg32.astype(np.float64)
    peak = sm[rows, cols].astype(np.float64)
    half = bg + 0.5 * np.maximum(peak - bg, 0.0)
    # a float32 window compared with a Python float compares in float32
    inner = (win >= half.astype(np.float32)[:, None, None]) & ~outer & valid
    lab, _ = ndi.label(inner, structure=_CROSS_STACK)
    centre = lab[:, hr, hc]
    region = np.where((centre > 0)[:, None, None], lab == centre[:, None, None], (dist <= r_blob) & valid)
    n_region = region.sum(axis=(1, 2))
    bone = region & (labels_w > 0)
    n_bone = bone.sum(axis=(1, 2))
    n_organ = (region & organ_w).sum(axis=(1, 2))
    bone_win = labels_w > 0
    bone_dist = np.where(bone_win.any(axis=(1, 2)), np.where(bone_win, dist, np.inf).min(axis=(1, 2)), float(r_out))
    centre_label = va.labels[rows, cols].astype(np.int64)
    px = va.spacing[0] * va.spacing[1]
    ref_floor = max(1e-3 * va.reference_level, 1e-6)
    if va.local_sig is not None:
        dr = rows[:, None] + np.array([-1, 0, 1])[None, :]
        dc = cols[:, None] + np.array([-1, 0, 1])[None, :]
        ok3 = ((dr >= 0) & (dr < nr))[:, :, None] & ((dc >= 0) & (dc < nc))[:, None, :]
        v3 = va.local_sig[np.clip(dr, 0, nr - 1)[:, :, None], np.clip(dc, 0, nc - 1)[:, None, :]]
        lsig = np.where(ok3, v3, -np.inf).max(axis=(1, 2))
    else:
        lsig = np.zeros(n)
    z = va.z[scale, rows, cols]
    z_fine = va.z[0, rows, cols]
    z_coarse = va.z[-1, rows, cols]
    out = []
    for i in range(n):
        row, col = int(rows[i]), int(cols[i])
        nreg, nb = int(n_region[i]), int(n_bone[i])
        lab_c = int(centre_label[i])
        if lab_c == 0 and nb:
            lab_c = int(np.bincount(labels_w[i][bone[i]]).argmax())
        if lab_c == 0 and params.bone_snap_mm > 0:
            lab_c = _nearest_label(va.labels, row, col, va.spacing, params.bone_snap_mm)
        r0, r1 = max(0, row - hr), min(nr, row + hr + 1)
        c0, c1 = max(0, col - hc), min(nc, col + hc + 1)
        b = float(bg[i])
        pk = float(peak[i])
        out.append(Candidate(
            view=va.view, row=float(row), col=float(col), scale=scale, sigma_mm=float(s_mm),
            z=float(z[i]), peak=pk, background=b, peak_ratio=pk / max(b, ref_floor),
            area_mm2=float(nreg * px), bone_fraction=nb / nreg if nreg else 0.0,
            organ_overlap=int(n_organ[i]) / nreg if nreg else 0.0, label=lab_c, local_sig=float(lsig[i]),
            bone_dist_mm=float(bone_dist[i]), z_fine=float(z_fine[i]), z_coarse=float(z_coarse[i]),
            region=(slice(r0, r1), slice(c0, c1)),
            region_mask=region[i, r0 - row + hr:r1 - row + hr, c0 - col + hc:c1 - col + hc],
        ))
    return out


def measure(va: ViewAnalysis, row: int, col: int, params: DetectParams, scale: int | None = None) -> Candidate:
    """Measure a blob at (row, col): peak, background, half-maximum region.

    Parameters
    ----------
    va : ViewAnalysis
    row, col : int
        Pixel in the normalized frame.
    params : DetectParams
    scale : int, optional
        Scale index; the best-responding scale at that pixel by default.

    Returns
    -------
    Candidate
    """
    return _measure(va, row, col, params, scale, local=True)


def _measure(va: ViewAnalysis, row: int, col: int, params: DetectParams, scale: int | None,
             local: bool) -> Candidate:
    """:func:`measure`; ``Candidate.loc`` left empty unless ``local``."""
    nr, nc = va.image.shape
    row = min(max(int(row), 0), nr - 1)
    col = min(max(int(col), 0), nc - 1)
    if scale is None:
        scale = int(np.argmax(va.z[:, row, col]))
    s_mm = va.sigmas_mm[scale]
    sm = va.smooth[scale]
    r_blob = float(np.sqrt(2.0) * s_mm)
    r_in, r_out = r_blob + params.annulus_mm[0], r_blob + params.annulus_mm[1]
    dist_full, hr, hc = _distance_grid(r_out, va.spacing[0], va.spacing[1])
    r0, r1 = max(0, row - hr), min(nr, row + hr + 1)
    c0, c1 = max(0, col - hc), min(nc, col + hc + 1)
    win = sm[r0:r1, c0:c1]
    dist = dist_full[r0 - row + hr:r1 - row + hr, c0 - col + hc:c1 - col + hc]
    outer = dist >= r_in
    ring = outer & (dist <= r_out) & va.body[r0:r1, c0:c1]
    vals = win[ring]
    if vals.size < 8:
        vals = win[outer]
    bg = _percentile(vals, params.background_percentile) if vals.size else 0.0
    peak = float(sm[row, col])
    half = bg + 0.5 * max(peak - bg, 0.0)
    inner = (win >= half) & ~outer
    lab, _ = ndi.label(inner, structure=_CROSS)
    centre_lab = lab[row - r0, col - c0]
    region = lab == centre_lab if centre_lab else (dist <= r_blob)
    n_region = int(np.count_nonzero(region))
    px = va.spacing[0] * va.spacing[1]
    labs_win = va.labels[r0:r1, c0:c1]
    labs = labs_win[region]
    bone = labs > 0
    n_bone = int(np.count_nonzero(bone))
    centre_label = int(va.labels[row, col])
    if centre_label == 0 and n_bone:
        centre_label = int(np.bincount(labs[bone]).argmax())
    if centre_label == 0 and params.bone_snap_mm > 0:
        centre_label = _nearest_label(va.labels, row, col, va.spacing, params.bone_snap_mm)
    organ_ov = float(np.count_nonzero(va.organ[r0:r1, c0:c1][region])) / n_region if n_region else 0.0
    bone_win = labs_win > 0
    bone_dist = float(dist[bone_win].min()) if bone_win.any() else float(r_out)
    lsig = 0.0
    if va.local_sig is not None:
        lsig = float(va.local_sig[max(0, row - 1):row + 2, max(0, col - 1):col + 2].max())
    return Candidate(
        view=va.view, row=float(row), col=float(col), scale=scale, sigma_mm=float(s_mm),
        z=float(va.z[scale, row, col]), peak=peak, background=bg,
        peak_ratio=peak / max(bg, 1e-3 * va.reference_level, 1e-6),
        area_mm2=float(n_region * px), bone_fraction=n_bone / n_region if n_region else 0.0,
        organ_overlap=organ_ov, label=centre_label, local_sig=lsig, bone_dist_mm=bone_dist,
        z_fine=float(va.z[0, row, col]), z_coarse=float(va.z[-1, row, col]),
        region=(slice(r0, r1), slice(c0, c1)), region_mask=region,
        loc=local_measures(va, row, col, scale, r_in, r_out) if local else {},
    )


_CROSS = ndi.generate_binary_structure(2, 1)


@lru_cache(maxsize=64)
def _distance_grid(r_out: float, sr: float, sc: float) -> tuple[np.ndarray, int, int]:
    """Distances (mm) from the centre of a (2 hr + 1, 2 hc + 1) window covering ``r_out``."""
    hr, hc = int(np.ceil(r_out / sr)), int(np.ceil(r_out / sc))
    dr = np.arange(-hr, hr + 1)[:, None] * sr
    dc = np.arange(-hc, hc + 1)[None, :] * sc
    return np.hypot(dr, dc), hr, hc


def _nearest_label(labels: np.ndarray, row: int, col: int, spacing: tuple[float, float], max_mm: float) -> int:
    """Label of the nearest bone pixel within ``max_mm`` of (row, col); 0 when none."""
    hr, hc = int(max_mm / spacing[0]), int(max_mm / spacing[1])
    r0, c0 = max(0, row - hr), max(0, col - hc)
    win = labels[r0:row + hr + 1, c0:col + hc + 1]
    rr, cc = np.nonzero(win)
    if rr.size == 0:
        return 0
    d = np.hypot((rr + r0 - row) * spacing[0], (cc + c0 - col) * spacing[1])
    i = int(np.argmin(d))
    return int(win[rr[i], cc[i]]) if d[i] <= max_mm else 0


def smooth(image: np.ndarray, sigma: tuple[float, float], truncate: float = 3.0) -> np.ndarray:
    """Gaussian smoothing (pixels) that is fast for large sigmas.

    Sigmas above 4 pixels are applied on a block-averaged copy (factor up to 4) and
    interpolated back: the result is smooth at that scale anyway.

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
    sigma : tuple of float
        (row, col) sigma in pixels.

    Returns
    -------
    ndarray of float32, same shape.
    """
    x = np.asarray(image, dtype=np.float32)
    f = int(min(4, max(1, np.floor(min(sigma) / 2.0))))
    if f == 1:
        return ndi.gaussian_filter(x, sigma, truncate=truncate)
    nr, nc = x.shape
    pr, pc = (-nr) % f, (-nc) % f
    xp = np.pad(x, ((0, pr), (0, pc)), mode="edge")
    small = xp.reshape(xp.shape[0] // f, f, xp.shape[1] // f, f).mean(axis=(1, 3))
    s2 = np.sqrt(np.maximum(np.asarray(sigma) ** 2 - (f * f - 1) / 12.0, 0.25)) / f
    small = ndi.gaussian_filter(small, tuple(s2), truncate=truncate)
    i0, i1, w = _interp_index(nr, f)
    rows = small[i0] * (1 - w)[:, None] + small[i1] * w[:, None]
    j0, j1, v = _interp_index(nc, f)
    return (rows[:, j0] * (1 - v) + rows[:, j1] * v).astype(np.float32)


@lru_cache(maxsize=32)
def _interp_index(n: int, f: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear interpolation from block centres ((f - 1) / 2 + f i) back to n pixels."""
    m = -(-n // f)
    pos = np.clip((np.arange(n) - (f - 1) / 2.0) / f, 0, m - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, m - 1)
    return i0, i1, (pos - i0).astype(np.float32)

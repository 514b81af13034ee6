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

from mibgkit.detect.params import DetectParams

__all__ = ["anscombe", "local_significance", "ViewAnalysis", "Candidate", "analyse_view", "find_candidates", "measure"]


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
    image: np.ndarray, spacing: tuple[float, float], size_mm: float, sigma_mm: float
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

    Returns
    -------
    ndarray of float32, same shape.
    """
    s = (sigma_mm / spacing[0], sigma_mm / spacing[1])
    a = ndi.gaussian_filter(anscombe(image), s, truncate=3.0)
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
    logs = np.log(pos + 1e-2 * float(np.percentile(pos, 99)))
    level = float(np.exp(threshold_multiotsu(logs, classes=3)[0])) - 1e-2 * float(np.percentile(pos, 99))
    mask = smooth > level
    mask = ndi.binary_closing(mask, iterations=3, border_value=0)
    mask = ndi.binary_fill_holes(mask)
    lab, n = ndi.label(mask)
    if n > 1:
        sizes = ndi.sum(mask, lab, index=np.arange(1, n + 1))
        keep = np.flatnonzero(sizes >= 0.02 * sizes.max()) + 1
        mask = np.isin(lab, keep)
    return mask


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
    zs, sms = [], []
    for s_mm in params.sigmas_mm:
        s = (s_mm / spacing[0], s_mm / spacing[1])
        g1 = ndi.gaussian_filter(a, s, truncate=3.0)
        g2 = smooth(a, (s[0] * params.dog_ratio, s[1] * params.dog_ratio))
        zs.append((g1 - g2) / _dog_noise_gain(round(s[0], 3), round(s[1], 3), params.dog_ratio))
        sms.append(ndi.gaussian_filter(img, s, truncate=3.0))
    if body is None:
        body = _body_mask(sms[-1])
    organ, ref = _organ_regions(img, body, spacing, params)
    return ViewAnalysis(
        view=view, image=img, spacing=spacing, labels=np.asarray(labels), body=body,
        z=np.stack(zs).astype(np.float32), smooth=np.stack(sms).astype(np.float32),
        organ=organ, reference_level=ref, sigmas_mm=tuple(params.sigmas_mm),
        local_sig=local_significance(img, spacing, params.tophat_mm, params.tophat_sigma_mm),
    )


def find_candidates(va: ViewAnalysis, params: DetectParams, max_candidates: int = 200) -> list[Candidate]:
    """Local maxima of the scale-space significance above ``params.z_min``.

    Returns
    -------
    list of Candidate, strongest first.
    """
    zmax = va.zmax
    sep = (params.min_separation_mm / va.spacing[0], params.min_separation_mm / va.spacing[1])
    size = (max(3, int(round(sep[0])) | 1), max(3, int(round(sep[1])) | 1))
    peaks = (ndi.maximum_filter(zmax, size=size) == zmax) & (zmax > params.z_min) & va.body
    rr, cc = np.nonzero(peaks)
    order = np.argsort(-zmax[rr, cc])[:max_candidates]
    out = [measure(va, int(rr[i]), int(cc[i]), params) for i in order]
    if va.local_sig is not None and params.local_sig_min > 0:
        # small local excesses the DoG missed (next to a bright organ's edge, say)
        ls = va.local_sig
        near = ndi.maximum_filter(peaks, size=size)
        extra = (ndi.maximum_filter(ls, size=size) == ls) & (ls > params.local_sig_min) & va.body & ~near
        er, ec = np.nonzero(extra)
        eo = np.argsort(-ls[er, ec])[: max(0, max_candidates - len(out))]
        out += [measure(va, int(er[i]), int(ec[i]), params) for i in eo]
    return out


def _percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile`` (linear method) of a small 1-D array, via a partial sort."""
    pos = q / 100.0 * (values.size - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, values.size - 1)
    part = np.partition(values, (lo, hi))
    return float(part[lo] + (part[hi] - part[lo]) * (pos - lo))


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
    nr, nc = va.image.shape
    row = int(np.clip(row, 0, nr - 1))
    col = int(np.clip(col, 0, nc - 1))
    if scale is None:
        scale = int(np.argmax(va.z[:, row, col]))
    s_mm = va.sigmas_mm[scale]
    sm = va.smooth[scale]
    r_blob = np.sqrt(2.0) * s_mm
    r_in, r_out = r_blob + params.annulus_mm[0], r_blob + params.annulus_mm[1]
    hr, hc = int(np.ceil(r_out / va.spacing[0])), int(np.ceil(r_out / va.spacing[1]))
    r0, r1 = max(0, row - hr), min(nr, row + hr + 1)
    c0, c1 = max(0, col - hc), min(nc, col + hc + 1)
    win = sm[r0:r1, c0:c1]
    dr = (np.arange(r0, r1) - row)[:, None] * va.spacing[0]
    dc = (np.arange(c0, c1) - col)[None, :] * va.spacing[1]
    dist = np.hypot(dr, dc)
    ring = (dist >= r_in) & (dist <= r_out) & va.body[r0:r1, c0:c1]
    vals = win[ring] if ring.sum() >= 8 else win[dist >= r_in]
    bg = _percentile(vals, params.background_percentile) if vals.size else 0.0
    peak = float(sm[row, col])
    half = bg + 0.5 * max(peak - bg, 0.0)
    inner = (win >= half) & (dist <= r_in)
    lab, _ = ndi.label(inner)
    centre_lab = lab[row - r0, col - c0]
    region = lab == centre_lab if centre_lab else (dist <= r_blob)
    px = va.spacing[0] * va.spacing[1]
    labs = va.labels[r0:r1, c0:c1][region]
    bone = labs > 0
    centre_label = int(va.labels[row, col])
    if centre_label == 0 and bone.any():
        centre_label = int(np.bincount(labs[bone]).argmax())
    if centre_label == 0 and params.bone_snap_mm > 0:
        centre_label = _nearest_label(va.labels, row, col, va.spacing, params.bone_snap_mm)
    organ_ov = float(np.mean(va.organ[r0:r1, c0:c1][region] > 0)) if region.any() else 0.0
    lsig = 0.0
    if va.local_sig is not None:
        lsig = float(va.local_sig[max(0, row - 1):row + 2, max(0, col - 1):col + 2].max())
    return Candidate(
        view=va.view, row=float(row), col=float(col), scale=scale, sigma_mm=float(s_mm),
        z=float(va.z[scale, row, col]), peak=peak, background=bg,
        peak_ratio=peak / max(bg, 1e-3 * va.reference_level, 1e-6),
        area_mm2=float(region.sum() * px), bone_fraction=float(bone.mean()) if region.any() else 0.0,
        organ_overlap=organ_ov, label=centre_label, local_sig=lsig,
        region=(slice(r0, r1), slice(c0, c1)), region_mask=region,
    )


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

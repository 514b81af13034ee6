"""Septal-penetration and scatter halo around the body on a planar view.

With a low-energy (LEHR) collimator a quarter or more of the detected 123I counts are
high-energy photons that cross the septa (and scatter): they form a broad halo that
falls off slowly over several centimetres around the body. An outline threshold set
just above the air then encloses the halo, not the body: a small child's arms at the
sides are read as abducted 30 degrees, the vertex and the soles move out. Medium-energy
collimators show almost none (halo/blur ratio 0.005-0.011 in the air next to the body
against 0.09-0.22 with LEHR, ANT/POST geometric means of phantom seeds 0-11).

The halo is modelled as ``q`` times the counts blurred with a broad Gaussian
(:data:`HALO_SIGMA_MM`); ``q`` is read in the air just outside the outline, where the
counts are halo only, and the outline threshold is raised to :data:`HALO_MARGIN` times
that halo model, pixel by pixel.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage as ndi

__all__ = ["HALO_SIGMA_MM", "HALO_MARGIN", "halo_ratio", "halo_floor"]

#: Width (sigma) of the Gaussian blur that models the halo's shape, mm.
HALO_SIGMA_MM = 40.0
#: Air ring outside the outline where the halo ratio is read, mm from the outline.
HALO_RING_MM = (10.0, 40.0)
#: Air farther than this from the outline gives the air's own level, mm.
HALO_FAR_MM = 150.0
#: The outline threshold is raised to this multiple of the modelled halo.
HALO_MARGIN = 2.0
#: Halo ratios below this are not corrected. On ANT/POST geometric means of phantom seeds
#: 0-11: medium-energy 0.005-0.011, LEHR 0.09-0.22 (threshold near their geometric middle).
HALO_MIN_RATIO = 0.03
#: Re-readings of the ratio closer to the body.
HALO_ITER = 2
#: Block size of the coarse images the ratio is read on.
HALO_COARSE = 4


def halo_ratio(smoothed: np.ndarray, broad: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float]) -> float:
    """Median ratio of the smoothed counts to the broad blur in the air ring outside ``mask``.

    Parameters
    ----------
    smoothed, broad : ndarray of shape (rows, cols)
        Counts smoothed for the outline, and blurred with :data:`HALO_SIGMA_MM`.
    mask : ndarray of shape (rows, cols), bool
        The current body outline.
    spacing_mm : tuple of float
        (row, col) pixel spacing.

    Returns
    -------
    float
        0 when no air ring is in the image.
    """
    dist = ndi.distance_transform_edt(~mask, sampling=spacing_mm)
    ring = ~mask & (dist > HALO_RING_MM[0]) & (dist < HALO_RING_MM[1])
    far = dist > HALO_FAR_MM
    if int(ring.sum()) < 50:
        return 0.0
    # the air's own level (noise, room background), read far from the body, is not halo
    air_s = float(np.median(smoothed[far])) if int(far.sum()) >= 50 else 0.0
    air_b = float(np.median(broad[far])) if int(far.sum()) >= 50 else 0.0
    b = float(np.median(broad[ring])) - air_b
    return max(float(np.median(smoothed[ring])) - air_s, 0.0) / b if b > 0 else 0.0


def _coarse(a: np.ndarray, f: int) -> np.ndarray:
    """Block means over ``f`` x ``f`` pixels (the halo is smooth; this keeps the test cheap)."""
    r, c = (a.shape[0] // f) * f, (a.shape[1] // f) * f
    return a[:r, :c].reshape(r // f, f, c // f, f).mean(axis=(1, 3))


def halo_floor(
    image: np.ndarray, smoothed: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float],
    clean: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray | None:
    """Per-pixel threshold floor of the body outline that excludes the halo, or None.

    The halo ratio is read outside the outline, the outline re-thresholded with the
    floor, and the ratio read again closer to the body (:data:`HALO_ITER` times): the
    first outline encloses much of the halo, so the first ratio is read too far out.
    The ratio is read on :data:`HALO_COARSE` x coarser images.

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
        Counts (clipped at 0).
    smoothed : ndarray of shape (rows, cols)
        Counts smoothed for the outline.
    mask : ndarray of shape (rows, cols), bool
        The outline found with the air threshold.
    spacing_mm : tuple of float
        (row, col) pixel spacing.
    clean : callable, optional
        Applied to each re-thresholded mask (e.g. keep the large components).

    Returns
    -------
    ndarray or None
        :data:`HALO_MARGIN` x ratio x broad blur on the full grid; None when the halo
        is negligible (ratio below :data:`HALO_MIN_RATIO`).
    """
    f = HALO_COARSE
    if min(image.shape) < 8 * f:
        return None
    sp = (spacing_mm[0] * f, spacing_mm[1] * f)
    img_c, s_c = _coarse(image, f), _coarse(smoothed, f)
    m_full = clean(mask) if clean is not None else mask
    m_c = _coarse(m_full.astype(np.float64), f) > 0.5
    broad_c = ndi.gaussian_filter(img_c, (HALO_SIGMA_MM / sp[0], HALO_SIGMA_MM / sp[1]))
    q = halo_ratio(s_c, broad_c, m_c, sp)
    if q < HALO_MIN_RATIO:
        return None
    mask_c = _coarse(mask.astype(np.float64), f) > 0.5
    for _ in range(HALO_ITER):
        nxt = mask_c & (s_c > HALO_MARGIN * q * broad_c)
        cur = clean(nxt) if clean is not None else nxt
        q = max(q, halo_ratio(s_c, broad_c, cur, sp))
    broad = ndi.gaussian_filter(image, (HALO_SIGMA_MM / spacing_mm[0], HALO_SIGMA_MM / spacing_mm[1]))
    return HALO_MARGIN * q * broad

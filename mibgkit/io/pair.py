"""Anterior/posterior pair -> geometric-mean image, with the POST-to-ANT shift estimated.

The two passes of a dual-head whole-body scan are never perfectly superimposed (table
sag, head offset, patient motion), so the shift is measured, not assumed: the body
outlines of both views (smoothed counts above a small fraction of the body level) are
cross-correlated (``skimage.registration.phase_cross_correlation`` without
normalization, i.e. plain cross-correlation, sub-pixel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mibgkit.errors import GeometryError
from mibgkit.io.model import PlanarView

__all__ = ["GeometricMean", "body_outline", "estimate_shift", "geometric_mean"]


@dataclass
class GeometricMean:
    """Result of :func:`geometric_mean`.

    Parameters
    ----------
    image : ndarray of shape (rows, cols), float32
        sqrt(ANT x shifted POST), in the normalized frame of the ANT view; negative
        values (lossy codecs) count as 0.
    shift_rc : tuple of float
        (row, col) shift in pixels applied to POST to align it with ANT.
    shift_mm : tuple of float
        The same in mm.
    error : float
        Normalized residual of the outline match (0 = perfect, 1 = no overlap).
    ant, post : PlanarView
        The views used.
    """

    image: np.ndarray
    shift_rc: tuple[float, float]
    shift_mm: tuple[float, float]
    error: float
    ant: PlanarView
    post: PlanarView


def body_outline(image: np.ndarray, fraction: float = 0.05, sigma_px: float = 2.0) -> np.ndarray:
    """Body mask (float 0/1) of a planar image: smoothed counts above ``fraction`` of the body level.

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
    fraction : float
        Threshold as a fraction of the 99th percentile of the smoothed image.
    sigma_px : float
        Gaussian smoothing in pixels (count noise would otherwise fragment the outline).
    """
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(np.clip(np.asarray(image, dtype=np.float32), 0, None), sigma_px)
    level = float(np.percentile(smooth, 99))
    if level <= 0:
        return np.zeros(smooth.shape, dtype=np.float32)
    mask = ndimage.binary_fill_holes(smooth > fraction * level)
    return np.asarray(mask, dtype=np.float32)


def estimate_shift(
    ant: np.ndarray, post: np.ndarray, upsample: int = 10
) -> tuple[tuple[float, float], float]:
    """(row, col) shift that aligns ``post`` with ``ant``, from their body outlines.

    Parameters
    ----------
    ant, post : ndarray of shape (rows, cols)
        Both in the normalized (anterior display) frame.
    upsample : int
        Sub-pixel precision 1/upsample.

    Returns
    -------
    shift : tuple of float
        Apply with ``scipy.ndimage.shift(post, shift)``.
    error : float
        Residual of the outline match.
    """
    from skimage.registration import phase_cross_correlation

    a, p = body_outline(ant), body_outline(post)
    if not a.any() or not p.any():
        raise GeometryError("no body outline found in one of the views; cannot estimate the shift")
    shift, error, _ = phase_cross_correlation(a, p, upsample_factor=upsample, normalization=None)
    return (float(shift[0]), float(shift[1])), float(error)


def geometric_mean(ant: PlanarView, post: PlanarView, upsample: int = 10) -> GeometricMean:
    """Geometric mean of an ANT and a (mirrored) POST view after estimating their shift.

    Parameters
    ----------
    ant, post : PlanarView
        Views ``ANT`` and ``POST`` of one study, same shape and pixel spacing.
    upsample : int
        Sub-pixel precision of the shift.

    Returns
    -------
    GeometricMean

    Raises
    ------
    GeometryError
        Views are not ANT/POST, differ in shape or spacing, or show no body.
    """
    if ant.view != "ANT" or post.view != "POST":
        raise GeometryError(f"need an ANT and a POST view, got {ant.view} and {post.view}", ant.source.path)
    if ant.shape != post.shape:
        raise GeometryError(f"ANT is {ant.shape} but POST is {post.shape}", post.source.path)
    if not np.allclose(ant.pixel_spacing_mm, post.pixel_spacing_mm, rtol=1e-3):
        raise GeometryError(
            f"ANT spacing {ant.pixel_spacing_mm} differs from POST {post.pixel_spacing_mm}", post.source.path
        )
    from scipy import ndimage

    shift, error = estimate_shift(ant.image, post.image, upsample)
    moved = ndimage.shift(np.asarray(post.image, dtype=np.float32), shift, order=1, mode="constant", cval=0.0)
    image = np.sqrt(np.clip(ant.image, 0, None) * np.clip(moved, 0, None)).astype(np.float32)
    mm = (shift[0] * ant.pixel_spacing_mm[0], shift[1] * ant.pixel_spacing_mm[1])
    return GeometricMean(image, shift, mm, error, ant, post)

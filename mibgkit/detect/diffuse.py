"""Diffuse involvement: the fraction of each segment's bone with abnormal uptake.

Normal bone takes up no mIBG, so bone should look like the soft tissue around it. The
soft-tissue background under the bone is the intercept of a local regression of the
counts on the blurred bone template, and a bone pixel is abnormal when its smoothed
counts exceed that background both significantly (Poisson noise) and substantially
(relative excess). Organ-like uptake regions are left out of numerator and denominator:
what the liver covers cannot be graded on a planar view. A segment is called diffuse
when abnormal bone beyond the focal spots' own regions is a sizeable, extended part of
it; SIOPEN grades 4-6 then follow from the fraction.

This is the ``DetectParams.diffuse_method = "fraction"`` rule. The default method,
``"model"`` (:mod:`mibgkit.detect.diffuse_model`), grades each segment from segment-level
evidence with an ordinal model fitted with the project's segment mapper, which is
robust to masks that include soft tissue and organ uptake.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from mibgkit.detect.focal import ViewAnalysis, smooth
from mibgkit.detect.params import DetectParams
from mibgkit.segments import SIOPEN_KEYS

__all__ = ["SegmentInvolvement", "abnormal_bone", "segment_involvement"]


@dataclass
class SegmentInvolvement:
    """Abnormal fraction of one segment on one view.

    Parameters
    ----------
    segment : str
    view : str
    fraction : float
        Abnormal share of the segment's gradable bone area.
    unexplained : float
        Share not covered by focal spots' regions.
    extent_mm : float
        Longest axis of the largest abnormal component, mm.
    centroid : tuple of float
        (row, col) of the abnormal bone, normalized frame.
    gradable_mm2 : float
        Bone area not hidden by organ uptake.
    """

    segment: str
    view: str
    fraction: float
    unexplained: float
    extent_mm: float
    centroid: tuple[float, float]
    gradable_mm2: float
    mask: np.ndarray | None = field(default=None, repr=False)


def _local_background(image: np.ndarray, bone_template: np.ndarray, body: np.ndarray,
                      sigma: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Soft-tissue level under the bone: intercept of a local regression of the counts
    on the (blurred) bone template, with Gaussian window weights restricted to the body.

    Returns
    -------
    background, template_variance : ndarray of shape (rows, cols)
    """
    w = body.astype(np.float32)
    def g(x: np.ndarray) -> np.ndarray:
        return smooth(x, sigma)

    n = np.maximum(g(w), 1e-3)
    m_i = g(image * w) / n
    m_t = g(bone_template * w) / n
    var_t = np.maximum(g(bone_template * bone_template * w) / n - m_t * m_t, 0.0)
    cov = g(image * bone_template * w) / n - m_i * m_t
    slope = np.where(var_t > 1e-3, cov / np.maximum(var_t, 1e-3), 0.0)
    return np.maximum(m_i - slope * m_t, 0.0), var_t


def abnormal_bone(va: ViewAnalysis, params: DetectParams) -> tuple[np.ndarray, np.ndarray]:
    """Boolean map of bone pixels with uptake above the soft-tissue background.

    The background under the bone is the intercept of a local regression of the counts
    on the blurred bone template (so the bone's own uptake does not raise it); where
    the window holds too little non-bone (the middle of a large bone) a wider window is
    used.

    Parameters
    ----------
    va : ViewAnalysis
    params : DetectParams

    Returns
    -------
    abnormal : ndarray of shape (rows, cols), bool
    excess : ndarray of shape (rows, cols)
        Smoothed counts minus background.
    """
    sr, sc = va.spacing
    bone = va.labels > 0
    img = va.image.astype(np.float32)
    psf = (3.5 / sr, 3.5 / sc)
    tmpl = ndi.gaussian_filter(bone.astype(np.float32), psf, truncate=3.0)
    sb = (params.diffuse_bg_sigma_mm / sr, params.diffuse_bg_sigma_mm / sc)
    bg, var_t = _local_background(img, tmpl, va.body, sb)
    bg2, var_t2 = _local_background(img, tmpl, va.body, (2.5 * sb[0], 2.5 * sb[1]))
    weak = var_t < 0.02
    bg = np.where(weak, bg2, bg)
    s = (params.diffuse_sigma_mm / sr, params.diffuse_sigma_mm / sc)
    sm = ndi.gaussian_filter(img, s, truncate=3.0)
    gain2 = 1.0 / (4.0 * np.pi * s[0] * s[1])  # variance gain of the smoothing kernel
    sd = np.sqrt(np.maximum(bg, 0.5) * gain2)
    known = ~(weak & (var_t2 < 0.02))
    excess = sm - bg
    abn = bone & known & (excess > params.diffuse_z * sd) & (sm > (1.0 + params.diffuse_excess) * bg)
    return abn, excess


def _organ_cover(va: ViewAnalysis) -> np.ndarray:
    """Organ-like regions that hide bone: not those that are mostly bone themselves
    (a diffusely involved bone is as bright as an organ)."""
    n = int(va.organ.max())
    if n == 0:
        return np.zeros(va.organ.shape, dtype=bool)
    bone_frac = ndi.mean(va.labels > 0, va.organ, index=np.arange(1, n + 1))
    keep = np.flatnonzero(np.asarray(bone_frac) < 0.6) + 1
    return np.isin(va.organ, keep)


def segment_involvement(
    va: ViewAnalysis,
    params: DetectParams,
    focal_mask: np.ndarray | None = None,
) -> dict[str, SegmentInvolvement]:
    """Per-segment abnormal fraction on one view.

    Parameters
    ----------
    va : ViewAnalysis
    params : DetectParams
    focal_mask : ndarray of bool, optional
        Pixels explained by focal bone spots.

    Returns
    -------
    dict
        Segment key -> SegmentInvolvement, for segments present in the label map.
    """
    abn, excess = abnormal_bone(va, params)
    hidden = _organ_cover(va)
    px = va.spacing[0] * va.spacing[1]
    out: dict[str, SegmentInvolvement] = {}
    objs = ndi.find_objects(va.labels.astype(np.int32), max_label=len(SIOPEN_KEYS))
    for i, key in enumerate(SIOPEN_KEYS):
        sl = objs[i]
        if sl is None:
            continue
        seg = va.labels[sl] == i + 1
        grad = seg & ~hidden[sl]
        n = int(grad.sum())
        if n < 10:
            continue
        a = abn[sl] & grad
        if a.any():
            # half-maximum of the segment's own uptake: blur must not widen the involvement
            ex = excess[sl]
            a &= ex >= params.diffuse_half * float(np.percentile(ex[a], 75))
        frac = float(a.sum()) / n
        rest = a if focal_mask is None else a & ~focal_mask[sl]
        extent = 0.0
        centroid = (float("nan"), float("nan"))
        if a.any():
            lab, k = ndi.label(a)
            sizes = np.bincount(lab.ravel())[1:]
            big = lab == int(np.argmax(sizes)) + 1
            rr, cc = np.nonzero(big)
            extent = float(np.hypot((np.ptp(rr) + 1) * va.spacing[0], (np.ptp(cc) + 1) * va.spacing[1]))
            ar, ac = np.nonzero(a)
            centroid = (float(ar.mean() + sl[0].start), float(ac.mean() + sl[1].start))
        out[key] = SegmentInvolvement(
            segment=key, view=va.view, fraction=frac, unexplained=float(rest.sum()) / n,
            extent_mm=extent, centroid=centroid, gradable_mm2=n * px,
        )
    return out

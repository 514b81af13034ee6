"""Planar segment maps: fit the landmarks, warp the atlas, paint bones nearest-camera last."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.draw import polygon as draw_polygon

from mibgkit.anatomy.atlas import LimbBone, LimbRegion, atlas_regions, limb_bones, limb_regions, proportions
from mibgkit.anatomy.curie import curie_label_of_bone
from mibgkit.anatomy.gaps import bridge_spine_gaps
from mibgkit.anatomy.landmarks import BodyFit, body_outline, fit_body, refit_arms
from mibgkit.anatomy.levels import refine_trunk
from mibgkit.anatomy.model import Landmark, SegmentMap
from mibgkit.anatomy.vertex import refit_vertex
from mibgkit.anatomy.warp import BodyFrame, capsule_polygon, limb_frame_to_image
from mibgkit.errors import MappingError
from mibgkit.io.model import PlanarView
from mibgkit.segments import SIOPEN_KEYS, bone_to_siopen, label_of

__all__ = ["map_view", "map_pair", "render_labels", "fit_image", "pair_shift", "Painted"]

#: Skeletal stature / outline stature (``BodyFit.stature_px``) for the arm capsules
#: (:data:`mibgkit.anatomy.landmarks._ARM_LENGTH`).
_SKELETAL_STATURE = 0.95

#: Forearm and hand capsule radii (atlas ``limb_bones``) are widened by this factor: the
#: remaining joint error (wrist 0.4-0.5 % of stature) makes a slightly wider capsule
#: score higher (median forearm+hand Dice on seeds 0-49: x1.0 0.705, x1.1 0.712, x1.25
#: 0.714; the same on fresh seeds 100-159: 0.706, 0.714, 0.715).
_DISTAL_ARM_WIDTH = 1.15

#: A segment is reported missing when less than this share of its atlas area is in the image.
VISIBLE_FRACTION = 0.9


@dataclass
class Painted:
    """Rendered maps of one view.

    Parameters
    ----------
    labels : ndarray of shape (rows, cols), uint8
        SIOPEN labels.
    curie : ndarray of shape (rows, cols), uint8
        Curie skeletal segment index + 1 (0 = none), see :mod:`mibgkit.anatomy.curie`.
    inside_fraction : dict of str to float
        Share of each segment's warped atlas area that falls inside the image.
    """

    labels: np.ndarray
    curie: np.ndarray
    inside_fraction: dict[str, float]


def fit_image(
    image: np.ndarray, spacing_mm: tuple[float, float], age_years: float | None, *, where: str = "image",
    halo: bool = False,
    refine: bool = True,
) -> BodyFit:
    """Landmarks of one image, or :class:`MappingError` when no body is found.

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
        Counts in the normalized frame.
    spacing_mm : tuple of float
        (row, col) spacing.
    age_years : float or None
        Patient age (proportions); None uses :data:`mibgkit.anatomy.atlas.DEFAULT_AGE`.
    where : str
        File/view named in the error message.
    halo : bool
        Look for a penetration halo (LEHR) and keep it out of the outline
        (:func:`mibgkit.anatomy.landmarks.body_outline`); validated on ANT/POST
        geometric means only.
    refine : bool
        Place the trunk atlas on its own body axis and levels (chin, shoulder line,
        hip joints; :func:`mibgkit.anatomy.levels.refine_trunk`), check the vertex
        against them (:func:`mibgkit.anatomy.vertex.refit_vertex`); off only to
        learn the profile template.

    Returns
    -------
    BodyFit
    """
    props = proportions(age_years)
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 16:
        raise MappingError(f"not a planar image (shape {img.shape})", where)
    if not np.isfinite(img).any() or float(np.nanmax(img)) <= 0:
        raise MappingError("image is empty (no counts): no body found", where)
    outline = body_outline(img, spacing_mm, halo=halo)
    frac = float(outline.mask.mean())
    if frac < 0.01:
        raise MappingError("no body found (no soft-tissue outline above the background)", where)
    if frac > 0.97:
        raise MappingError("no body outline: counts fill the whole field of view (not a patient image?)", where)
    fit = fit_body(img, spacing_mm, props, outline)
    if fit is None:
        raise MappingError("no body found", where)
    if refine:
        refine_trunk(img, fit)
        refit_arms(fit)
        # a vertex lifted by the scatter between raised hands: fit again from the one the
        # registered trunk levels imply (mibgkit.anatomy.vertex; the arms are kept)
        fit = refit_vertex(img, fit, outline)
    anchors = [lm for lm in fit.landmarks if lm.name in ("head_top", "neck", "shoulder", "crotch", "sole")]
    if not any(lm.confidence > 0.5 for lm in anchors):
        raise MappingError(
            "cannot map: no anatomical landmark (head top, neck, shoulders, crotch, feet) in the field of view", where
        )
    return fit


def _fill(
    labels: np.ndarray, curie: np.ndarray, poly: np.ndarray, value: int, curie_value: int, count: list[int]
) -> None:
    """Rasterize a (row, col) polygon into both label maps (clipped), counting pixels in/out."""
    rr, cc = draw_polygon(poly[:, 0], poly[:, 1])
    ok = (rr >= 0) & (rr < labels.shape[0]) & (cc >= 0) & (cc < labels.shape[1])
    count[0] += int(ok.sum())
    count[1] += int(rr.size)
    rr, cc = rr[ok], cc[ok]
    labels[rr, cc] = value
    curie[rr, cc] = curie_value


def _fill_evenodd(
    labels: np.ndarray, curie: np.ndarray, polys: list[np.ndarray], value: int, curie_value: int, count: list[int]
) -> None:
    """Rasterize the contours of one region with the even-odd rule (holes stay unpainted).

    The contours of a binary region (outer boundaries and the boundaries of its holes,
    e.g. the gaps between ribs or between vertebrae) never cross, so a pixel is inside
    the region when an odd number of them enclose it. Pixels outside the image are
    counted (for the visible fraction) but not painted.
    """
    rr_all, cc_all = [], []
    for poly in polys:
        rr, cc = draw_polygon(poly[:, 0], poly[:, 1])
        rr_all.append(rr)
        cc_all.append(cc)
    if not rr_all:
        return
    rr = np.concatenate(rr_all)
    cc = np.concatenate(cc_all)
    if rr.size == 0:
        return
    r0, c0 = int(rr.min()), int(cc.min())
    box = np.zeros((int(rr.max()) - r0 + 1, int(cc.max()) - c0 + 1), np.uint8)
    np.add.at(box, (rr - r0, cc - c0), 1)
    br, bc = np.nonzero(box & 1)
    br += r0
    bc += c0
    ok = (br >= 0) & (br < labels.shape[0]) & (bc >= 0) & (bc < labels.shape[1])
    count[0] += int(ok.sum())
    count[1] += int(br.size)
    labels[br[ok], bc[ok]] = value
    curie[br[ok], bc[ok]] = curie_value


def _densify(poly: np.ndarray, step: float = 0.1) -> np.ndarray:
    """Extra vertices along polygon edges so the piecewise warp bends them smoothly."""
    a = np.asarray(poly, dtype=float)
    d = np.roll(a, -1, axis=0) - a
    n = np.maximum(1, np.ceil(np.abs(d).max(axis=1) / step).astype(int))
    edge = np.repeat(np.arange(a.shape[0]), n)
    first = np.cumsum(n) - n
    t = (np.arange(edge.size) - first[edge]) / n[edge]
    return a[edge] + t[:, None] * d[edge]


def _fill_capsules(
    labels: np.ndarray, curie: np.ndarray, bone: LimbBone, joints: list[tuple[float, float]], H: float, key: str,
    counts: dict[str, list[int]],
) -> None:
    """Rasterize the capsules of one limb bone placed on its limb's joints."""
    # capsule radii are fractions of the skeletal stature, shorter than the outline's
    Hs = H * _SKELETAL_STATURE if bone.limb == "arm" else H
    wide = _DISTAL_ARM_WIDTH if bone.limb == "arm" and bone.seg > 0 else 1.0
    for t0, w0, t1, w1, r0, r1 in bone.capsules:
        ends = limb_frame_to_image(np.array([[t0, w0], [t1, w1]]), joints, bone.seg, Hs)
        poly = capsule_polygon(ends[0], ends[1], max(wide * r0 * Hs, 1.0), max(wide * r1 * Hs, 1.0))
        _fill(labels, curie, poly, label_of(key), curie_label_of_bone(bone.name), counts[key])


def _fill_learned(
    labels: np.ndarray, curie: np.ndarray, item: LimbRegion, side: str, joints: list[tuple[float, float]], H: float,
    counts: dict[str, list[int]],
) -> None:
    """Rasterize the learned limb-frame polygons of one limb segment of one side."""
    table = bone_to_siopen()
    sign = -1.0 if side == "right" else 1.0
    for region in item.regions:
        bone_name = region.bones[0].replace("{side}", side)
        key = table[bone_name]
        for poly in region.polygons:
            img_poly = limb_frame_to_image(poly * np.array([1.0, sign]), joints, item.seg, H)
            _fill(labels, curie, img_poly, label_of(key), curie_label_of_bone(bone_name), counts[key])


def render_labels(fit: BodyFit, view: str) -> Painted:
    """Paint the warped atlas; where bones overlap the one nearer the camera wins.

    Parameters
    ----------
    fit : BodyFit
    view : str
        ``"POST"`` uses the posterior atlas and paint order; anything else anterior.

    Returns
    -------
    Painted
    """
    table = bone_to_siopen()
    shape = fit.shape
    labels = np.zeros(shape, np.uint8)
    curie = np.zeros(shape, np.uint8)
    counts: dict[str, list[int]] = {k: [0, 0] for k in SIOPEN_KEYS}
    post = view == "POST"
    H = fit.stature_px
    # limbs first: the capsule atlas where no learned limb-frame region exists (forearms
    # and hands, whose pose varies too much to learn), then the learned regions
    learned = limb_regions().get("POST" if post else "ANT", ())
    capsule_bones = []
    for bone in sorted(limb_bones(), key=lambda b: b.depth, reverse=not post):
        limb = (fit.arms if bone.limb == "arm" else fit.legs).get(bone.side)
        if limb is None or any(it.limb == bone.limb and it.seg == bone.seg for it in learned):
            continue
        capsule_bones.append((bone, limb))
    # forearms and hands on the abdomen lie in front of the trunk: on ANT they are
    # painted over it (after the trunk regions), on POST the trunk covers them
    front = [(b, lf) for b, lf in capsule_bones if not post and b.limb == "arm" and lf.pose == "on_abdomen"]
    for bone, limb in capsule_bones:
        if (bone, limb) not in front:
            _fill_capsules(labels, curie, bone, limb.joints, H, table[bone.name], counts)
    deferred = []
    # the humerus (head at the glenoid, lateral to the scapula and the clavicle's end) is
    # painted over the trunk regions, whose shoulder corners are smooth averages
    upper = []
    for item in sorted(learned, key=lambda it: (it.limb, it.seg)):
        for side in ("right", "left"):
            limb = (fit.arms if item.limb == "arm" else fit.legs).get(side)
            if limb is None:
                continue
            if not post and item.limb == "arm" and item.seg > 0 and limb.pose == "on_abdomen":
                deferred.append((item, side, limb))
                continue
            if item.limb == "arm" and item.seg == 0:
                upper.append((item, side, limb))
                continue
            _fill_learned(labels, curie, item, side, limb.joints, H, counts)
    # head, spine, thoracic cage, pelvis: regions of the body frame (already per view)
    frame = BodyFrame(fit)
    regions = atlas_regions().get("POST" if post else "ANT", ())
    polys = [(region, _densify(poly) if region.lateral == "body" else frame.from_stature_lateral(_densify(poly)))
             for region in regions for poly in region.polygons]
    if polys:
        # one warp call for all vertices (the triangle search dominates the cost)
        warped = frame.to_image(np.concatenate([p for _, p in polys]))
        splits = np.cumsum([p.shape[0] for _, p in polys])[:-1]
        by_region: dict[int, list[np.ndarray]] = {}
        for (region, _), img_poly in zip(polys, np.split(warped, splits)):
            by_region.setdefault(id(region), []).append(img_poly)
        for region in regions:
            if id(region) in by_region:
                key = table[region.bones[0]]
                _fill_evenodd(labels, curie, by_region[id(region)], label_of(key),
                              curie_label_of_bone(region.bones[0]), counts[key])
    for item, side, limb in upper:
        _fill_learned(labels, curie, item, side, limb.joints, H, counts)
    for bone, limb in front:
        _fill_capsules(labels, curie, bone, limb.joints, H, table[bone.name], counts)
    for item, side, limb in deferred:
        _fill_learned(labels, curie, item, side, limb.joints, H, counts)
    frac = {k: (v[0] / v[1] if v[1] else 0.0) for k, v in counts.items()}
    return Painted(labels, curie, frac)


def pair_shift(ant: np.ndarray, post: np.ndarray, max_shift: int = 12) -> tuple[int, int]:
    """Integer (row, col) shift that best aligns the mirrored POST to ANT.

    The two detector passes see the body at slightly different offsets; the shift that
    maximizes the cross-correlation of the smoothed, clipped images within
    ``max_shift`` pixels is returned, to be applied with :func:`shift_array`.
    """
    a = ndi.gaussian_filter(np.asarray(ant, dtype=np.float64), 2)
    p = ndi.gaussian_filter(np.asarray(post, dtype=np.float64), 2)
    a = np.minimum(a, np.percentile(a, 98))
    p = np.minimum(p, np.percentile(p, 98))
    a -= a.mean()
    p -= p.mean()
    cc = np.fft.irfft2(np.fft.rfft2(a) * np.conj(np.fft.rfft2(p)), s=a.shape)
    rr = np.arange(-max_shift, max_shift + 1)
    sub = cc[np.ix_(rr % a.shape[0], rr % a.shape[1])]
    i, j = np.unravel_index(int(np.argmax(sub)), sub.shape)
    return int(rr[i]), int(rr[j])


def shift_array(img: np.ndarray, shift: tuple[int, int], fill: float = 0) -> np.ndarray:
    """Shift an array by integer (rows, cols), filling the uncovered border."""
    out = np.full_like(img, fill)
    dr, dc = shift
    src = img[max(0, -dr) : img.shape[0] - max(0, dr), max(0, -dc) : img.shape[1] - max(0, dc)]
    out[max(0, dr) : max(0, dr) + src.shape[0], max(0, dc) : max(0, dc) + src.shape[1]] = src
    return out


def _segment_map(fit: BodyFit, view: str, spacing: tuple[float, float], shift: tuple[int, int] = (0, 0)) -> SegmentMap:
    painted = render_labels(fit, view)
    labels, curie = painted.labels, painted.curie
    mask = fit.outline.mask if fit.outline is not None else None
    landmarks = list(fit.landmarks)
    if shift != (0, 0):
        labels = shift_array(labels, shift)
        curie = shift_array(curie, shift)
        mask = shift_array(mask, shift) if mask is not None else None
        landmarks = [Landmark(lm.name, lm.row + shift[0], lm.col + shift[1], lm.confidence) for lm in landmarks]
    missing = tuple(k for k in SIOPEN_KEYS if painted.inside_fraction[k] < VISIBLE_FRACTION)
    core = [lm.confidence for lm in landmarks if lm.name in ("head_top", "neck", "shoulder", "crotch", "sole")]
    confidence = float(np.mean(core)) if core else 0.0
    # point lookups read across the short gaps of the spinal column (mibgkit.anatomy.gaps)
    lookup = bridge_spine_gaps(labels, spacing[0])
    return SegmentMap(
        labels=labels, view=view, pixel_spacing_mm=spacing, landmarks=landmarks,
        missing=missing, confidence=confidence, body_mask=mask, curie_labels=curie,
        lookup_labels=lookup if lookup is not labels else None,
    )


def _where(view: PlanarView) -> str:
    return f"{view.source.path} [{view.view} frame {view.source.frame}]"


def map_view(view: PlanarView, age_years: float | None = None) -> SegmentMap:
    """SIOPEN segment map of one planar view on its own.

    Parameters
    ----------
    view : PlanarView
    age_years : float, optional

    Returns
    -------
    SegmentMap

    Raises
    ------
    MappingError
        When no body (or no landmark) is found.
    """
    fit = fit_image(view.image, view.pixel_spacing_mm, age_years, where=_where(view))
    return _segment_map(fit, view.view, view.pixel_spacing_mm)


def map_pair(ant: PlanarView, post: PlanarView, age_years: float | None = None) -> tuple[SegmentMap, SegmentMap]:
    """One anatomy for an ANT/POST pair: fit on the geometric mean, paint per view.

    POST is already mirrored into the anterior frame by the loader; the residual
    shift between the passes is estimated and applied to the POST map.

    Returns
    -------
    tuple of SegmentMap
        (ANT map, POST map).
    """
    if ant.image.shape != post.image.shape or ant.pixel_spacing_mm != post.pixel_spacing_mm:
        return map_view(ant, age_years), map_view(post, age_years)
    a = np.clip(np.nan_to_num(ant.image.astype(np.float64)), 0, None)
    p = np.clip(np.nan_to_num(post.image.astype(np.float64)), 0, None)
    shift = pair_shift(a, p)
    gm = np.sqrt(a * shift_array(p, shift))
    where = f"{_where(ant)} + {_where(post)} (geometric mean)"
    fit = fit_image(gm, ant.pixel_spacing_mm, age_years, where=where, halo=True)
    back = (-shift[0], -shift[1])
    return _segment_map(fit, "ANT", ant.pixel_spacing_mm), _segment_map(fit, "POST", post.pixel_spacing_mm, back)

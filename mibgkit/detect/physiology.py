"""Physiological uptake and soft tissue told apart from bone, and named.

mIBG is taken up by salivary glands, nasopharynx, (unblocked) thyroid, heart, liver,
spleen, bowel, kidneys, bladder and sometimes brown fat; the primary tumour is soft
tissue that overlaps spine and ribs in projection. A finding not explained as bone is
named by where it lies relative to the skeleton the segment map found (skull, thoracic
cage, spine, pelvis), so it can be kept in the reading as a labelled non-skeletal
proposal instead of being dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mibgkit.segments import label_of

__all__ = ["BodyFrame", "body_frame", "organ_at", "ORGANS"]

#: Names used as ``Hotspot.category`` for non-skeletal findings.
ORGANS: tuple[str, ...] = (
    "salivary_gland", "nasopharynx", "lacrimal_gland", "thyroid", "brown_fat", "heart", "lung",
    "liver", "spleen", "kidney", "bowel", "bladder", "primary_tumour", "soft_tissue",
)


@dataclass(frozen=True)
class BodyFrame:
    """Skeletal reference rows/cols of one view (normalized frame, pixels).

    ``mid_col`` is the spine's column; ``half_width`` half the thoracic cage width.
    Rows: ``skull`` top/bottom, ``chest`` (thoracic cage) top/bottom, ``pelvis`` top/bottom.
    """

    skull_top: float
    skull_bottom: float
    chest_top: float
    chest_bottom: float
    pelvis_top: float
    pelvis_bottom: float
    mid_col: float
    half_width: float
    spine_half_width: float


def _extent(labels: np.ndarray, key: str) -> tuple[float, float, float, float] | None:
    rr, cc = np.nonzero(labels == label_of(key))
    if rr.size < 5:
        return None
    return (float(np.percentile(rr, 1)), float(np.percentile(rr, 99)),
            float(np.percentile(cc, 2)), float(np.percentile(cc, 98)))


def body_frame(labels: np.ndarray) -> BodyFrame | None:
    """Reference rows/cols from a SIOPEN label map; None when the trunk is not mapped."""
    skull = _extent(labels, "skull")
    chest = _extent(labels, "thoracic_cage")
    spine = _extent(labels, "spine")
    pelvis = _extent(labels, "pelvis")
    if chest is None or spine is None:
        return None
    rr, cc = np.nonzero(labels == label_of("spine"))
    mid = float(np.median(cc))
    spine_hw = max(2.0, float(np.percentile(np.abs(cc - mid), 90)))
    height = chest[1] - chest[0]
    if skull is None:
        skull = (chest[0] - 0.9 * height, chest[0] - 0.25 * height, mid - 0.4 * height, mid + 0.4 * height)
    if pelvis is None:
        pelvis = (spine[1] - 0.35 * height, spine[1] + 0.1 * height, chest[2], chest[3])
    return BodyFrame(
        skull_top=skull[0], skull_bottom=skull[1], chest_top=chest[0], chest_bottom=chest[1],
        pelvis_top=pelvis[0], pelvis_bottom=pelvis[1], mid_col=mid,
        half_width=max(4.0, 0.5 * (chest[3] - chest[2])), spine_half_width=spine_hw,
    )


def organ_at(
    frame: BodyFrame | None,
    row: float,
    col: float,
    area_mm2: float = 0.0,
    ap_log_ratio: float = 0.0,
    primary_min_area_mm2: float = 700.0,
) -> str:
    """Name the organ (or soft tissue) most likely to explain uptake at (row, col).

    Parameters
    ----------
    frame : BodyFrame or None
        Skeletal reference of the view; without it everything is ``soft_tissue``.
    row, col : float
        Position in the normalized (anterior display) frame: columns run from the
        patient's right to left.
    area_mm2 : float
        Area of the uptake region; a large paravertebral region is a primary tumour.
    ap_log_ratio : float
        log(ANT / POST excess counts); kidneys are posterior (< 0).
    primary_min_area_mm2 : float
        Smallest area called a primary tumour.

    Returns
    -------
    str
        One of :data:`ORGANS`.
    """
    if frame is None:
        return "soft_tissue"
    f = frame
    # signed lateral offset: > 0 towards the patient's left (heart, spleen side)
    lat = (col - f.mid_col) / f.half_width
    alat = abs(lat)
    if row < f.skull_top - 5:
        return "soft_tissue"
    skull_h = max(f.skull_bottom - f.skull_top, 1.0)
    if row <= f.skull_bottom:
        t = (row - f.skull_top) / skull_h
        if t < 0.45:
            return "soft_tissue"
        if t < 0.62:
            return "lacrimal_gland" if alat > 0.08 else "nasopharynx"
        if alat < 0.12:
            return "nasopharynx" if t < 0.8 else "salivary_gland"
        return "salivary_gland"
    chest_h = max(f.chest_bottom - f.chest_top, 1.0)
    if row < f.chest_top + 0.08 * chest_h:
        if alat < 0.25:
            return "thyroid"
        return "brown_fat" if alat < 1.3 else "soft_tissue"
    if alat > 1.35:
        return "soft_tissue"  # arms, hands on the side
    tc = (row - f.chest_top) / chest_h
    if tc < 0.55:
        if -0.15 < lat < 0.85 and tc > 0.25:
            return "heart"
        if alat > 0.55 and tc < 0.3:
            return "brown_fat"
        return "lung"
    near_spine = abs(col - f.mid_col) <= 3.0 * f.spine_half_width
    if row < f.pelvis_top:
        if near_spine and area_mm2 >= primary_min_area_mm2:
            return "primary_tumour"
        upper = row < f.chest_bottom + 0.15 * chest_h
        if upper and lat <= -0.1:
            return "liver"
        if upper and lat >= 0.35:
            return "spleen"
        if near_spine and ap_log_ratio < -0.2:
            return "kidney"
        if tc < 0.85 and lat < 0.2:
            return "liver"
        return "bowel"
    pel_h = max(f.pelvis_bottom - f.pelvis_top, 1.0)
    tp = (row - f.pelvis_top) / pel_h
    if tp > 0.45 and alat < 0.35:
        return "bladder"
    if row <= f.pelvis_bottom + 0.3 * pel_h:
        return "bowel" if tp < 0.6 else "bladder" if alat < 0.35 else "soft_tissue"
    return "soft_tissue"

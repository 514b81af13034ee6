"""Curie segments derived from the SIOPEN map (spine split at L1).

Curie (Ady 1995; Messina 2006) groups the SIOPEN bones into 9 skeletal segments, left
and right together, with the spine split into cervical+thoracic and lumbar+sacral. The
planar mapper paints, next to the SIOPEN labels, a Curie label map whose values are
``CURIE_KEYS.index(key) + 1`` (0 = not bone); the grouping comes from
``data/segments.json``.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from mibgkit.anatomy.model import SegmentMap
from mibgkit.segments import CURIE_KEYS, bone_to_curie

__all__ = ["curie_label_of_bone", "curie_key_of_label", "curie_segment_at", "curie_masks"]


@cache
def curie_label_of_bone(bone: str) -> int:
    """Curie label value (index in ``CURIE_KEYS`` + 1) of a bone name; 0 if it has none."""
    key = bone_to_curie().get(bone)
    return CURIE_KEYS.index(key) + 1 if key is not None else 0


def curie_key_of_label(label: int) -> str | None:
    """Curie key of a Curie label value, or None for 0."""
    return CURIE_KEYS[int(label) - 1] if 1 <= int(label) <= len(CURIE_KEYS) else None


def curie_segment_at(segmap: SegmentMap, row: float, col: float) -> str | None:
    """Curie segment key at a normalized (row, col) of a segment map.

    Parameters
    ----------
    segmap : SegmentMap
        A planar map made by :func:`mibgkit.anatomy.map_segments`.
    row, col : float
        Normalized position.

    Returns
    -------
    str or None
        None outside bone.
    """
    if segmap.curie_labels is None:
        raise ValueError("this segment map carries no Curie labels")
    r, c = int(round(row)), int(round(col))
    lab = segmap.curie_labels
    if not (0 <= r < lab.shape[0] and 0 <= c < lab.shape[1]):
        return None
    return curie_key_of_label(int(lab[r, c]))


def curie_masks(segmap: SegmentMap) -> dict[str, np.ndarray]:
    """Boolean mask of every Curie skeletal segment (soft tissue excluded)."""
    if segmap.curie_labels is None:
        raise ValueError("this segment map carries no Curie labels")
    return {k: segmap.curie_labels == i + 1 for i, k in enumerate(CURIE_KEYS) if k != "soft_tissue"}

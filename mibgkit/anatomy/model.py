"""Segment maps: the SIOPEN label map of each planar view (and SPECT volume)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mibgkit.segments import SIOPEN_KEYS, label_of

__all__ = ["Landmark", "SegmentMap", "VolumeSegmentMap", "StudySegmentMaps"]


@dataclass(frozen=True)
class Landmark:
    """An anatomical landmark found on a view, in normalized (row, col) coordinates."""

    name: str
    row: float
    col: float
    confidence: float


@dataclass
class SegmentMap:
    """SIOPEN label map of one planar view, in that view's normalized frame.

    Parameters
    ----------
    labels : ndarray of shape (rows, cols), uint8
        0 = outside / not bone, 1-12 = SIOPEN labels (``mibgkit.segments``).
    view : str
        The view name (``ANT``, ``POST``, ``UNKNOWN``) of the mapped image.
    pixel_spacing_mm : tuple of float
        (row, col) spacing of the view.
    landmarks : list of Landmark
    missing : tuple of str
        Segment keys not (or not wholly) inside the field of view.
    confidence : float
        Overall confidence of the fit, 0-1.
    body_mask : ndarray of shape (rows, cols), bool, optional
        The body outline the map was fitted to.
    curie_labels : ndarray of shape (rows, cols), uint8, optional
        Curie skeletal segments (``CURIE_KEYS.index(key) + 1``, 0 = not bone), derived
        from the same atlas with the spine split at L1 (:mod:`mibgkit.anatomy.curie`).
    """

    labels: np.ndarray
    view: str
    pixel_spacing_mm: tuple[float, float]
    landmarks: list[Landmark] = field(default_factory=list)
    missing: tuple[str, ...] = ()
    confidence: float = 1.0
    body_mask: np.ndarray | None = None
    curie_labels: np.ndarray | None = None

    def mask(self, key: str) -> np.ndarray:
        """Boolean mask of one segment."""
        return self.labels == label_of(key)

    def area_mm2(self) -> dict[str, float]:
        """Projected bone area of every segment, in mm^2 (all 12 keys)."""
        counts = np.bincount(self.labels.ravel(), minlength=len(SIOPEN_KEYS) + 1)
        px = float(self.pixel_spacing_mm[0] * self.pixel_spacing_mm[1])
        return {k: float(counts[i + 1]) * px for i, k in enumerate(SIOPEN_KEYS)}

    def segment_at(self, row: float, col: float) -> str | None:
        """Segment key at a normalized position, or None outside bone."""
        r, c = int(round(row)), int(round(col))
        if not (0 <= r < self.labels.shape[0] and 0 <= c < self.labels.shape[1]):
            return None
        lab = int(self.labels[r, c])
        return SIOPEN_KEYS[lab - 1] if lab else None

    def bone_area_mm2(self, key: str) -> float:
        """Projected bone area of one segment, in mm^2."""
        return float(self.mask(key).sum()) * float(self.pixel_spacing_mm[0] * self.pixel_spacing_mm[1])

    def curie_segment_at(self, row: float, col: float) -> str | None:
        """Curie segment key at a normalized position, or None outside bone."""
        from mibgkit.anatomy.curie import curie_segment_at

        return curie_segment_at(self, row, col)


@dataclass
class VolumeSegmentMap:
    """SIOPEN label volume (slices, rows, cols) on the grid of a ``Volume``."""

    labels: np.ndarray
    spacing_mm: tuple[float, float, float]
    method: str  # "ct" or "atlas"
    confidence: float = 1.0


@dataclass
class StudySegmentMaps:
    """Segment maps for every view and volume of one study.

    ``views`` is keyed by the index of the view in ``Study.views``; ``volumes`` by the
    index in ``Study.volumes``.
    """

    views: dict[int, SegmentMap] = field(default_factory=dict)
    volumes: dict[int, VolumeSegmentMap] = field(default_factory=dict)

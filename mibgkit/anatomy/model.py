"""Segment maps: the SIOPEN label map of each planar view (and SPECT volume)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mibgkit.segments import SIOPEN_KEYS, label_of

__all__ = ["Landmark", "SegmentMap", "VolumeSegmentMap", "StudySegmentMaps", "Unmapped", "UNMAPPED_REASONS"]


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
    method : str
        How the map was made: ``"atlas"`` (the atlas fitted to this view's landmarks,
        alone or as an ANT/POST pair) or ``"registered"`` (a spot view located on the
        study's whole-body view, whose map was carried over, :mod:`mibgkit.anatomy.spot`).
    lookup_labels : ndarray of shape (rows, cols), uint8, optional
        The label map the point lookups (:meth:`segment_at`, :meth:`nearest_segment`, the
        segment of a detected focus) read, when it differs from
        ``labels``: the atlas mapper bridges the short gaps of the spinal column
        (rib crossings, intervertebral spaces: their 1-3 px bands are placed to within the
        trunk registration's error, :mod:`mibgkit.anatomy.gaps`). None: ``labels``.
    """

    labels: np.ndarray
    view: str
    pixel_spacing_mm: tuple[float, float]
    landmarks: list[Landmark] = field(default_factory=list)
    missing: tuple[str, ...] = ()
    confidence: float = 1.0
    body_mask: np.ndarray | None = None
    curie_labels: np.ndarray | None = None
    method: str = "atlas"
    lookup_labels: np.ndarray | None = None

    def mask(self, key: str) -> np.ndarray:
        """Boolean mask of one segment."""
        return self.labels == label_of(key)

    def area_mm2(self) -> dict[str, float]:
        """Projected bone area of every segment, in mm^2 (all 12 keys)."""
        counts = np.bincount(self.labels.ravel(), minlength=len(SIOPEN_KEYS) + 1)
        px = float(self.pixel_spacing_mm[0] * self.pixel_spacing_mm[1])
        return {k: float(counts[i + 1]) * px for i, k in enumerate(SIOPEN_KEYS)}

    def segment_at(self, row: float, col: float) -> str | None:
        """Segment key at a normalized position, or None outside bone.

        Reads ``lookup_labels`` when set, like every point lookup (a point in a short gap of
        the mapped spinal column is spine); the label map itself keeps its gaps.
        """
        lab_map = self._lookup()
        r, c = int(round(row)), int(round(col))
        if not (0 <= r < lab_map.shape[0] and 0 <= c < lab_map.shape[1]):
            return None
        lab = int(lab_map[r, c])
        return SIOPEN_KEYS[lab - 1] if lab else None

    def nearest_segment(self, row: float, col: float, max_mm: float = 8.0) -> str | None:
        """Segment whose mapped bone is nearest to a position, within a tolerance.

        A lesion centre often sits just outside the mapped footprint of its bone (the
        atlas is smooth, the bone edge is not, and a lesion can bulge out of the
        cortex); detection should assign hot spots with this lookup rather than with
        :meth:`segment_at`. It reads ``lookup_labels`` when set (a point in a short gap
        of the mapped spinal column is spine), else ``labels``; inside bone of ``labels``
        it returns the same as :meth:`segment_at` except in such a gap.

        Parameters
        ----------
        row, col : float
            Normalized position (may lie outside the image).
        max_mm : float
            Largest distance (mm, Euclidean with the view's pixel spacing) from the
            position to the nearest labelled pixel; farther away gives None.

        Returns
        -------
        str or None
            Segment key, or None when no bone lies within ``max_mm``.
        """
        nearest = self._nearest()
        dist, idx = nearest
        lab = self._lookup()
        r, c = int(round(row)), int(round(col))
        rows, cols = lab.shape
        if 0 <= r < rows and 0 <= c < cols:
            if lab[r, c]:
                return SIOPEN_KEYS[int(lab[r, c]) - 1]
            if not np.isfinite(dist[r, c]) or dist[r, c] > max_mm:
                return None
            rr, cc = idx[0][r, c], idx[1][r, c]
            return SIOPEN_KEYS[int(lab[rr, cc]) - 1]
        # outside the image: nearest labelled pixel on the clipped position, plus the overshoot
        rc, ccl = min(max(r, 0), rows - 1), min(max(c, 0), cols - 1)
        over = float(np.hypot((r - rc) * self.pixel_spacing_mm[0], (c - ccl) * self.pixel_spacing_mm[1]))
        if not np.isfinite(dist[rc, ccl]) or dist[rc, ccl] + over > max_mm:
            return None
        rr, cc = idx[0][rc, ccl], idx[1][rc, ccl]
        return SIOPEN_KEYS[int(lab[rr, cc]) - 1]

    def _lookup(self) -> np.ndarray:
        """The label map of the point lookups (``lookup_labels`` if it fits, else ``labels``)."""
        lk = self.lookup_labels
        return lk if lk is not None and lk.shape == self.labels.shape else self.labels

    def _nearest(self) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Distance (mm) to the nearest labelled pixel and its index, cached per label array."""
        lab = self._lookup()
        key = (id(lab), lab.shape, int(lab.sum(dtype=np.int64)))
        cached = self.__dict__.get("_nearest_cache")
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        from scipy import ndimage as ndi

        bg = lab == 0
        if bg.all():
            dist = np.full(lab.shape, np.inf)
            idx = (np.zeros(lab.shape, np.intp), np.zeros(lab.shape, np.intp))
        else:
            dist, ind = ndi.distance_transform_edt(bg, sampling=self.pixel_spacing_mm, return_indices=True)
            idx = (ind[0], ind[1])
        self.__dict__["_nearest_cache"] = (key, dist, idx)
        return dist, idx

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


#: Why a view or volume was not mapped (``Unmapped.reason``).
UNMAPPED_REASONS = (
    "not_planar",  # not a 2-D image of usable size
    "empty",  # no counts
    "no_body",  # no soft-tissue outline above the background
    "fills_field",  # counts fill the whole field: not a patient image
    "no_landmark",  # a body, but no head top / neck / shoulders / crotch / feet to place the atlas on
    "no_match",  # a spot view not found on the study's whole-body view
    "other",  # any other MappingError (message in Unmapped.message)
)


@dataclass(frozen=True)
class Unmapped:
    """A view or volume the mapper could not map, and why.

    Parameters
    ----------
    reason : str
        One of :data:`UNMAPPED_REASONS`.
    message : str
        The full explanation (the :class:`~mibgkit.errors.MappingError` text).
    where : str
        File and frame (or volume) concerned.
    """

    reason: str
    message: str
    where: str = ""


@dataclass
class StudySegmentMaps:
    """Segment maps for every view and volume of one study.

    ``views`` is keyed by the index of the view in ``Study.views``; ``volumes`` by the
    index in ``Study.volumes``. Views and volumes the mapper could not map are not in
    ``views`` / ``volumes`` but in ``unmapped`` / ``unmapped_volumes`` (same keys), with
    the reason; the rest of the study is mapped.
    """

    views: dict[int, SegmentMap] = field(default_factory=dict)
    volumes: dict[int, VolumeSegmentMap] = field(default_factory=dict)
    unmapped: dict[int, Unmapped] = field(default_factory=dict)
    unmapped_volumes: dict[int, Unmapped] = field(default_factory=dict)

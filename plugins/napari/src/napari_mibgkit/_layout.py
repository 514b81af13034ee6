"""Where each view of a study sits in the napari world (millimetres).

Planar views are shown side by side in their normalized frame (ANT, then POST, then any
other planar view), each scaled by its pixel spacing; a SPECT volume is placed to the
right of the last planar view, and a CT in the same frame of reference on top of it. The reader, the widget and the writers all use the same
:class:`StudyLayout`, so a world position always maps back to one view and one
normalized pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mibgkit.detect.model import Location
from mibgkit.io.model import PlanarView, Study

__all__ = ["GAP_MM", "EMISSION", "Placement", "StudyLayout", "display_contrast"]

GAP_MM = 40.0
EMISSION = ("NM", "PT", "SPECT")  # volume modalities that carry hot spots


@dataclass(frozen=True)
class Placement:
    """Scale and translation of one displayed image, (row, col) or (slice, row, col).

    Parameters
    ----------
    scale : tuple of float
        Millimetres per pixel along each axis.
    translate : tuple of float
        World position (mm) of pixel 0 along each axis.
    """

    scale: tuple[float, ...]
    translate: tuple[float, ...]


def _display_order(study: Study) -> list[PlanarView]:
    pair = study.pair()
    first: list[PlanarView] = list(pair) if pair else []
    rest = [v for v in study.views if all(v is not f for f in first)]
    rest.sort(key=lambda v: (v.kind != "whole_body", v.view))
    return first + rest


class StudyLayout:
    """Placement of every planar view and volume of a study in the world.

    Parameters
    ----------
    study : Study
        The loaded study.
    gap_mm : float
        Empty space between neighbouring views.
    """

    def __init__(self, study: Study, gap_mm: float = GAP_MM) -> None:
        self.study = study
        self.planar: list[PlanarView] = _display_order(study)
        self.placements: list[Placement] = []
        x = 0.0
        for view in self.planar:
            sr, sc = (float(s) for s in view.pixel_spacing_mm)
            self.placements.append(Placement((sr, sc), (0.0, x)))
            x += view.shape[1] * sc + gap_mm
        self.volume_placements: list[Placement] = []
        self.volume_flips: list[tuple[int, ...]] = []  # array axes flipped for display
        for k, vol in enumerate(study.volumes):
            ss, sr, sc = (float(v) for v in vol.spacing_mm)
            overlay = self._overlay(k)
            if overlay is None:
                self.volume_placements.append(Placement((ss, sr, sc), (0.0, 0.0, x)))
                self.volume_flips.append(())
                x += vol.array.shape[2] * sc + gap_mm
            else:
                translate, flips = overlay
                self.volume_placements.append(Placement((ss, sr, sc), translate))
                self.volume_flips.append(flips)

    def _overlay(self, k: int) -> tuple[tuple[float, float, float], tuple[int, ...]] | None:
        """Placement of a non-emission volume (CT) on an earlier emission volume of the
        same frame of reference: its translation and the array axes to flip, or None.

        Only axis-aligned differences (an axis running the other way) are handled; the
        emission volume is never flipped, so hot-spot voxel indices stay as stored.
        """
        vol = self.study.volumes[k]
        if vol.modality in EMISSION or not vol.frame_of_reference_uid:
            return None
        for j in range(k):
            base = self.study.volumes[j]
            if base.modality not in EMISSION or base.frame_of_reference_uid != vol.frame_of_reference_uid:
                continue
            d_base, d_vol = np.asarray(base.direction, float), np.asarray(vol.direction, float)
            same = [bool(np.allclose(d_vol[:, a], d_base[:, a], atol=1e-3)) for a in range(3)]
            opposite = [bool(np.allclose(d_vol[:, a], -d_base[:, a], atol=1e-3)) for a in range(3)]
            if not all(sm or op for sm, op in zip(same, opposite)):
                continue
            origin = np.asarray(vol.origin_lps, float)
            spacing_cra = np.asarray(vol.spacing_mm, float)[::-1]  # (col, row, slice)
            extent = np.asarray(vol.array.shape, float)[::-1] - 1
            flips = []
            for a in range(3):  # direction columns: 0 col, 1 row, 2 slice
                if opposite[a]:
                    origin = origin + d_vol[:, a] * extent[a] * spacing_cra[a]
                    flips.append(2 - a)
            shift = d_base.T @ (origin - np.asarray(base.origin_lps, float))  # (col, row, slice) mm
            t = self.volume_placements[j].translate
            return (t[0] + float(shift[2]), t[1] + float(shift[1]), t[2] + float(shift[0])), tuple(sorted(flips))
        return None

    # ------------------------------------------------------------ planar views
    def index_of(self, view: PlanarView) -> int:
        """Display index of a planar view of this study."""
        for i, v in enumerate(self.planar):
            if v is view:
                return i
        raise KeyError(f"view {view.view} is not part of this study")

    def to_world(self, index: int, row: float, col: float) -> tuple[float, float]:
        """Normalized (row, col) of planar view ``index`` -> world (y, x) in mm."""
        p = self.placements[index]
        return (row * p.scale[0] + p.translate[0], col * p.scale[1] + p.translate[1])

    def from_world(self, y: float, x: float) -> tuple[int, float, float] | None:
        """World (y, x) in mm -> (view index, normalized row, col), or None off every view."""
        for i, (view, p) in enumerate(zip(self.planar, self.placements)):
            row = (y - p.translate[0]) / p.scale[0]
            col = (x - p.translate[1]) / p.scale[1]
            rows, cols = view.shape
            if -0.5 <= row < rows - 0.5 and -0.5 <= col < cols - 0.5:
                return i, row, col
        return None

    def find_view(self, loc: Location) -> int | None:
        """Display index of the planar view a stored location refers to, or None.

        The SOP Instance UID and frame identify the view; the view name is used only
        when the location carries no UID.
        """
        for i, v in enumerate(self.planar):
            if loc.sop_instance_uid and v.source.sop_instance_uid == loc.sop_instance_uid:
                if int(v.source.frame) == int(loc.frame):
                    return i
        if not loc.sop_instance_uid:
            for i, v in enumerate(self.planar):
                if v.view == loc.view:
                    return i
        return None

    def location_to_world(self, loc: Location) -> tuple[int, float, float] | None:
        """A stored planar location -> (view index, world y, world x), or None."""
        i = self.find_view(loc)
        if i is None:
            return None
        row, col = self.planar[i].source.from_stored(loc.row, loc.col)
        y, x = self.to_world(i, row, col)
        return i, y, x

    def location_at(self, index: int, row: float, col: float) -> Location:
        """Stored location of normalized (row, col) on planar view ``index``."""
        view = self.planar[index]
        srow, scol = view.source.to_stored(row, col)
        return Location(view.view, view.source.sop_instance_uid, int(view.source.frame), srow, scol)

    # ----------------------------------------------------------------- volumes
    def volume_index_to_world(self, vol_index: int, index: tuple[float, float, float]) -> tuple[float, float, float]:
        """A (slice, row, col) voxel index of volume ``vol_index`` -> world (z, y, x) in mm."""
        p = self.volume_placements[vol_index]
        s, r, c = (float(v) for v in index)
        return (s * p.scale[0] + p.translate[0], r * p.scale[1] + p.translate[1], c * p.scale[2] + p.translate[2])

    def volume_location(self, loc: Location) -> tuple[int, tuple[float, float, float]] | None:
        """A stored SPECT location -> (volume index, (slice, row, col) voxel index), or None."""
        if loc.slice is None:
            return None
        for i, vol in enumerate(self.study.volumes):
            for src in vol.sources:
                if src.sop_instance_uid == loc.sop_instance_uid and int(src.frame) == int(loc.frame):
                    row, col = src.from_stored(loc.row, loc.col)
                    return i, (float(loc.slice), row, col)
        emission = [i for i, v in enumerate(self.study.volumes) if v.modality in EMISSION]
        if len(emission) == 1:
            return emission[0], (float(loc.slice), float(loc.row), float(loc.col))
        return None

    def volume_of_series(self, series_instance_uid: str | None) -> int | None:
        """Index of the volume with this Series Instance UID (or the only emission volume)."""
        for i, vol in enumerate(self.study.volumes):
            if series_instance_uid and vol.series_instance_uid == series_instance_uid:
                return i
        emission = [i for i, v in enumerate(self.study.volumes) if v.modality in EMISSION]
        return emission[0] if len(emission) == 1 else None


def display_contrast(image: np.ndarray, percentile: float = 99.0) -> tuple[float, float]:
    """Contrast limits for a counts image.

    The bladder and other physiological sites are far hotter than bone lesions, so the
    upper limit is a high percentile of the counted pixels rather than the maximum.

    Parameters
    ----------
    image : ndarray
        Counts, any numeric dtype.
    percentile : float
        Percentile of the positive pixels used as the upper limit.

    Returns
    -------
    tuple of float
        (low, high) with high > low.
    """
    data = np.asarray(image, dtype=np.float64)
    positive = data[data > 0]
    if positive.size == 0:
        return 0.0, 1.0
    high = float(np.percentile(positive, percentile))
    return 0.0, high if high > 0 else float(positive.max())


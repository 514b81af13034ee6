"""A reading session: a :class:`~mibgkit.scoring.Reading` seen through a study layout.

Plain Python (no Qt, no napari): it turns the reading's hot spots into point tables for
display, keeps the current proposal, walks the proposals most confident first, and
translates world positions into stored locations for the reading's own edit methods.
All scoring (grades, totals, undo, audit) is the reading's; nothing here computes a
score. The session only groups edits so that one reader action ("reject the rest") is
undone as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from mibgkit.anatomy.model import SegmentMap, StudySegmentMaps
from mibgkit.detect.model import Hotspot, Location
from mibgkit.io.model import Study
from mibgkit.scoring.reading import SOFT_TISSUE_CATEGORIES, Reading

from napari_mibgkit._layout import StudyLayout

__all__ = [
    "STATE_COLOURS", "FEATURE_COLUMNS", "display_state", "changes_score", "ReadingSession", "PointTable",
]

# Fixed colour per display state (micro-sam pattern: categorical status, fixed cycle).
STATE_COLOURS: dict[str, tuple[float, float, float, float]] = {
    "proposed": (1.0, 0.85, 0.0, 1.0),  # yellow
    "confirmed": (0.0, 0.8, 0.25, 1.0),  # green
    "rejected": (0.85, 0.15, 0.15, 1.0),  # red
    "added": (0.0, 0.9, 1.0, 1.0),  # cyan: found by the reader
}

FEATURE_COLUMNS = (
    "id", "segment", "pattern", "confidence", "status", "source", "state", "category",
    "view", "sop_instance_uid", "frame", "stored_row", "stored_col",
)


def display_state(h: Hotspot) -> str:
    """Colour key of a hot spot: its status, or ``"added"`` for a reader's own finding."""
    if h.status == "rejected":
        return "rejected"
    if h.source == "reader":
        return "added"
    return h.status


def changes_score(h: Hotspot) -> bool:
    """True for a finding the reading scores (skeletal, or soft tissue for Curie).

    Physiological uptake the detector already explained (liver, bladder, ...) is shown
    but is not put to the reader one by one.
    """
    return h.category == "bone" or h.category in SOFT_TISSUE_CATEGORIES


@dataclass
class PointTable:
    """Points to draw: world coordinates, one feature row per point, and colours.

    Parameters
    ----------
    data : ndarray of shape (n, 2) or (n, 3)
        World positions in mm.
    features : DataFrame
        One row per point with :data:`FEATURE_COLUMNS`.
    colours : ndarray of shape (n, 4)
        RGBA face colour per point.
    symbols : ndarray of shape (n,)
        ``"disc"`` for scored findings, ``"ring"`` for explained physiological uptake.
    """

    data: np.ndarray
    features: pd.DataFrame
    colours: np.ndarray
    symbols: np.ndarray


def _row(h: Hotspot, loc: Location) -> dict[str, object]:
    return {
        "id": h.id, "segment": h.segment or "", "pattern": h.pattern,
        "confidence": float(h.confidence), "status": h.status, "source": h.source,
        "state": display_state(h), "category": h.category, "view": loc.view,
        "sop_instance_uid": loc.sop_instance_uid, "frame": int(loc.frame),
        "stored_row": float(loc.row), "stored_col": float(loc.col),
    }


def _table(
    hotspots: list[Hotspot], rows: list[dict[str, object]], coords: Sequence[tuple[float, ...]], ndim: int
) -> PointTable:
    features = pd.DataFrame(rows, columns=list(FEATURE_COLUMNS))
    colours = np.array([STATE_COLOURS[str(s)] for s in features["state"]], dtype=float).reshape(-1, 4)
    data = np.array(coords, dtype=float).reshape(-1, ndim)
    symbols = np.array(["disc" if changes_score(h) else "ring" for h in hotspots], dtype=object)
    return PointTable(data, features, colours, symbols)


class ReadingSession:
    """The reading being edited, with the study it belongs to.

    Parameters
    ----------
    study : Study
        The study on screen.
    reading : Reading
        The reading edited; every change goes through its methods.
    maps : StudySegmentMaps, optional
        Segment maps of the study (keyed by index in ``study.views``); needed to assign
        a segment to a reader's finding.
    layout : StudyLayout, optional
        Placement of the views; built from ``study`` when not given.
    """

    def __init__(
        self,
        study: Study,
        reading: Reading,
        maps: StudySegmentMaps | None = None,
        layout: StudyLayout | None = None,
    ) -> None:
        self.study = study
        self.reading = reading
        self.maps = maps or StudySegmentMaps()
        self.layout = layout or StudyLayout(study)
        self.current: str | None = None
        self._undo_groups: list[int] = []  # reading edits per reader action, for undo

    # ---------------------------------------------------------------- lookups
    def segment_map(self, index: int) -> SegmentMap | None:
        """Segment map of planar view ``index`` (display order), or None."""
        view = self.layout.planar[index]
        for i, v in enumerate(self.study.views):
            if v is view:
                return self.maps.views.get(i)
        return None

    def planar_positions(self, h: Hotspot) -> list[tuple[Location, int, float, float]]:
        """(location, view index, world y, world x) of each planar location shown."""
        out = []
        for loc in h.locations:
            if loc.slice is not None:
                continue
            found = self.layout.location_to_world(loc)
            if found is not None:
                out.append((loc, *found))
        return out

    def planar_points(self) -> PointTable:
        """One point per planar location of every hot spot, in world mm."""
        shown, rows, coords = [], [], []
        for h in self.reading.hotspots:
            for loc, _i, y, x in self.planar_positions(h):
                shown.append(h)
                rows.append(_row(h, loc))
                coords.append((y, x))
        return _table(shown, rows, coords, 2)

    def spect_positions(self, h: Hotspot) -> list[tuple[int, tuple[float, float, float], Location]]:
        """Where a finding is seen on SPECT: (volume index, world (z, y, x), location).

        A SPECT-only finding has a location with a slice; a planar finding the detector
        linked to a SPECT spot carries it in ``extra["spect"]`` (voxel index, series).
        """
        out = []
        for loc in h.locations:
            found = self.layout.volume_location(loc)
            if found is not None:
                vi, index = found
                out.append((vi, self.layout.volume_index_to_world(vi, index), loc))
        for info in h.extra.get("spect", []) if not out else []:
            linked = self.layout.volume_of_series(info.get("series_instance_uid"))
            index = info.get("index")
            if linked is None or not index or len(index) != 3:
                continue
            vol = self.study.volumes[linked]
            uid = vol.sources[0].sop_instance_uid if vol.sources else ""
            loc = Location("SPECT", uid, 1, float(index[1]), float(index[2]), slice=float(index[0]))
            out.append((linked, self.layout.volume_index_to_world(linked, tuple(index)), loc))
        return out

    def spect_points(self, vol_index: int = 0) -> PointTable:
        """One point per SPECT finding on volume ``vol_index``, in world mm (id = the
        finding's id, so a planar finding and its SPECT spot share it)."""
        shown, rows, coords = [], [], []
        for h in self.reading.hotspots:
            for vi, zyx, loc in self.spect_positions(h):
                if vi == vol_index:
                    shown.append(h)
                    rows.append(_row(h, loc))
                    coords.append(zyx)
        return _table(shown, rows, coords, 3)

    def spect_match(self, hotspot_id: str) -> tuple[int, tuple[float, float, float]] | None:
        """The SPECT finding of a hot spot: (volume index, world (z, y, x)), or None."""
        found = self.spect_positions(self.reading.hotspot(hotspot_id))
        return (found[0][0], found[0][1]) if found else None

    def focus(self, hotspot_id: str) -> tuple[float, float] | None:
        """World (y, x) to centre on for a hot spot: its first planar location."""
        pos = self.planar_positions(self.reading.hotspot(hotspot_id))
        return (pos[0][2], pos[0][3]) if pos else None

    # ------------------------------------------------------------- navigation
    def order(self) -> list[str]:
        """Hot-spot ids, most confident first; ties head to feet; unplaced ones last."""

        def key(h: Hotspot) -> tuple[float, float, float]:
            pos = self.planar_positions(h)
            y, x = (pos[0][2], pos[0][3]) if pos else (np.inf, np.inf)
            return (-round(float(h.confidence), 3), y, x)

        return [h.id for h in sorted(self.reading.hotspots, key=key)]

    def _waiting(self) -> set[str]:
        return {h.id for h in self.reading.hotspots if h.status == "proposed" and changes_score(h)}

    def proposals(self) -> list[str]:
        """Ids of the scored proposals still waiting for a decision, in reading order."""
        waiting = self._waiting()
        return [i for i in self.order() if i in waiting]

    def step(self, direction: int = 1) -> str | None:
        """Make the next (``+1``) or previous (``-1``) scored proposal current and return it.

        Returns None (current unchanged) when no proposal is left.
        """
        order = self.order()
        waiting = self._waiting()
        start = order.index(self.current) if self.current in order else (-1 if direction > 0 else 0)
        n = len(order)
        for k in range(1, n + 1):
            cand = order[(start + direction * k) % n]
            if cand in waiting:
                self.current = cand
                return cand
        return None

    # ------------------------------------------------------------------ edits
    def _target(self, hotspot_id: str | None) -> str:
        hid = hotspot_id or self.current
        if hid is None:
            raise LookupError("no hot spot selected")
        return hid

    def accept(self, hotspot_id: str | None = None) -> str | None:
        """Confirm a hot spot (the current one by default), then go to the next proposal."""
        hid = self._target(hotspot_id)
        self.reading.confirm(hid)
        self._undo_groups.append(1)
        self.current = hid
        return self.step(+1)

    def reject(self, hotspot_id: str | None = None) -> str | None:
        """Reject a hot spot (the current one by default), then go to the next proposal."""
        hid = self._target(hotspot_id)
        self.reading.reject(hid)
        self._undo_groups.append(1)
        self.current = hid
        return self.step(+1)

    def reject_remaining(self) -> int:
        """Reject every scored proposal still waiting (one action, undone as one).

        Returns
        -------
        int
            How many proposals were rejected.
        """
        waiting = self.proposals()
        for hid in waiting:
            self.reading.reject(hid)
        if waiting:
            self._undo_groups.append(len(waiting))
        return len(waiting)

    def delete(self, hotspot_id: str | None = None) -> None:
        """Delete a reader's finding; an automatic proposal is rejected instead (Reading rule)."""
        hid = self._target(hotspot_id)
        self.reading.remove_hotspot(hid)
        self._undo_groups.append(1)
        if self.current == hid and all(h.id != hid for h in self.reading.hotspots):
            self.current = None

    def _locations_for(self, index: int, row: float, col: float) -> list[Location]:
        """Locations of a point on view ``index`` and on its paired view (same normalized
        row/col: ANT and POST share the anterior display frame)."""
        locs = [self.layout.location_at(index, row, col)]
        pair = self.study.pair()
        view = self.layout.planar[index]
        if pair is not None and any(view is v for v in pair):
            other = pair[1] if view is pair[0] else pair[0]
            oi = self.layout.index_of(other)
            rows, cols = other.shape
            if 0 <= row <= rows - 1 and 0 <= col <= cols - 1:
                locs.append(self.layout.location_at(oi, row, col))
        return locs

    def segment_at(self, index: int, row: float, col: float) -> str | None:
        """SIOPEN segment under normalized (row, col) of view ``index``, from its map."""
        smap = self.segment_map(index)
        return smap.segment_at(row, col) if smap is not None else None

    def add_at(self, y: float, x: float) -> Hotspot | None:
        """Add the reader's focal finding at world (y, x); None when off every view.

        The segment comes from the segment map of the view clicked; the finding is
        placed on the paired view at the same normalized position.
        """
        found = self.layout.from_world(y, x)
        if found is None:
            return None
        index, row, col = found
        segment = self.segment_at(index, row, col)
        h = self.reading.add_hotspot(segment, self._locations_for(index, row, col))
        self._undo_groups.append(1)
        self.current = h.id
        return h

    def move_to(self, hotspot_id: str, y: float, x: float) -> bool:
        """Move a hot spot's location on the view under world (y, x); False if off-view.

        Only the location on that view changes (ANT and POST positions are independent
        once set); the segment is re-read from the view's map.
        """
        found = self.layout.from_world(y, x)
        if found is None:
            return False
        index, row, col = found
        new = self.layout.location_at(index, row, col)
        h = self.reading.hotspot(hotspot_id)
        locs = [new if self.layout.find_view(loc) == index else loc for loc in h.locations]
        if all(self.layout.find_view(loc) != index for loc in h.locations):
            locs.append(new)
        self.reading.move_hotspot(hotspot_id, locs, self.segment_at(index, row, col))
        self._undo_groups.append(1)
        return True

    def set_grade(self, segment: str, grade: int | None) -> None:
        """Set (or with None, clear) the reader's grade of one segment."""
        self.reading.set_grade(segment, grade)
        self._undo_groups.append(1)

    def undo(self) -> bool:
        """Undo the last reader action (one or several reading edits)."""
        n = self._undo_groups.pop() if self._undo_groups else 1
        done = False
        for _ in range(n):
            done = self.reading.undo() or done
        if self.current is not None and all(h.id != self.current for h in self.reading.hotspots):
            self.current = None
        return done

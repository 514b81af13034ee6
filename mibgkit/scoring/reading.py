"""The reading: findings + per-segment SIOPEN/Curie scores, as ``mibgkit.reading/1``.

Every scoring path (CLI, Python API, napari plugin) produces and edits a ``Reading``.
Edits (confirm, reject, add, move, set a grade) recompute the scores at once, are
recorded in an audit trail, and can be undone. Unknown keys in a loaded file are kept
on round trip.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mibgkit.detect.model import Hotspot, Location
from mibgkit.errors import ReadingFormatError
from mibgkit.scoring.rules import RULES, Rules, curie_grade, good_prognosis, siopen_grade
from mibgkit.segments import CURIE_KEYS, SIOPEN_KEYS

__all__ = ["SCHEMA", "SegmentScore", "Reading", "SIOPEN_TO_CURIE"]

SCHEMA = "mibgkit.reading/1"
SOFT_TISSUE_CATEGORIES = frozenset({"primary_tumour", "soft_tissue"})

# Curie segment of a finding when the finding does not name one. The spine is split at
# L1 in Curie; without a level, a spinal finding is counted in the thoracic part.
SIOPEN_TO_CURIE: dict[str, str] = {
    "skull": "head",
    "thoracic_cage": "ribs_sternum",
    "spine": "cervical_thoracic_spine",
    "pelvis": "pelvis",
    "right_upper_limb_proximal": "upper_arms",
    "left_upper_limb_proximal": "upper_arms",
    "right_upper_limb_distal": "forearms_hands",
    "left_upper_limb_distal": "forearms_hands",
    "right_lower_limb_proximal": "thighs",
    "left_lower_limb_proximal": "thighs",
    "right_lower_limb_distal": "legs_feet",
    "left_lower_limb_distal": "legs_feet",
}


@dataclass
class SegmentScore:
    """Score of one SIOPEN segment.

    ``siopen`` is the grade in force: the reader's when ``source == "reader"``, else the
    automatic one (``auto_siopen``) computed from the findings.
    """

    siopen: int = 0
    n_foci: int = 0
    diffuse_fraction: float = 0.0
    source: str = "auto"
    auto_siopen: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "siopen": int(self.siopen),
            "n_foci": int(self.n_foci),
            "diffuse_fraction": round(float(self.diffuse_fraction), 4),
            "source": self.source,
            "auto_siopen": int(self.auto_siopen),
        }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Reading:
    """One reading of one study by one reader (or by mibgkit alone).

    Parameters
    ----------
    study : dict
        ``study_instance_uid``, ``patient_id`` (the de-identified key), ``age_years``,
        ``acquisition_datetime``, ``timepoint``.
    views : list of dict
        The views read: ``view``, ``sop_instance_uid``, ``frame``, ``mirrored``,
        ``rows``, ``cols``, ``pixel_spacing_mm``.
    hotspots : list of Hotspot
    reader : str, optional
        Reader name; None for an automatic reading.
    """

    study: dict[str, Any] = field(default_factory=dict)
    views: list[dict[str, Any]] = field(default_factory=list)
    hotspots: list[Hotspot] = field(default_factory=list)
    reader: str | None = None
    provenance: dict[str, Any] = field(default_factory=lambda: {"parameters": {}})
    overrides: dict[str, int] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    rules: Rules = field(default=RULES, repr=False)
    segments: dict[str, SegmentScore] = field(init=False, repr=False)
    curie_segments: dict[str, int] = field(init=False, repr=False)
    _undo: list[dict[str, Any]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        for key in self.overrides:
            if key not in SIOPEN_KEYS:
                raise ReadingFormatError(f"override for unknown segment {key!r}")
        self.recompute()

    # ----------------------------------------------------------------- scores
    def recompute(self) -> None:
        """Recompute per-segment SIOPEN and Curie grades from the findings."""
        n_foci = dict.fromkeys(SIOPEN_KEYS, 0)
        diffuse = dict.fromkeys(SIOPEN_KEYS, 0.0)
        curie_sites = dict.fromkeys(CURIE_KEYS, 0)
        curie_diffuse = dict.fromkeys(CURIE_KEYS, 0.0)
        for h in self.hotspots:
            if h.status == "rejected":
                continue
            if h.counts_for_score:
                assert h.segment is not None
                if h.segment not in n_foci:
                    raise ReadingFormatError(f"hot spot {h.id} names unknown segment {h.segment!r}")
                ckey = h.curie_segment or SIOPEN_TO_CURIE[h.segment]
                if h.pattern == "diffuse":
                    frac = float(h.diffuse_fraction if h.diffuse_fraction is not None else 0.25)
                    diffuse[h.segment] = min(1.0, diffuse[h.segment] + frac)
                    curie_diffuse[ckey] = min(1.0, curie_diffuse[ckey] + frac)
                else:
                    n_foci[h.segment] += 1
                curie_sites[ckey] += 1
            elif h.category in SOFT_TISSUE_CATEGORIES and (h.status == "confirmed" or h.source == "reader"):
                # Only a reader's soft-tissue finding is scored: the detector's non-skeletal
                # categories explain uptake (confidence = 1 - p_bone), they are not lesion calls.
                curie_sites["soft_tissue"] += 1
        self.segments = {}
        for key in SIOPEN_KEYS:
            auto = siopen_grade(n_foci[key], diffuse[key], self.rules)
            if key in self.overrides:
                grade, src = int(self.overrides[key]), "reader"
            else:
                grade, src = auto, "auto"
            self.segments[key] = SegmentScore(grade, n_foci[key], diffuse[key], src, auto)
        self.curie_segments = {
            k: curie_grade(curie_sites[k], curie_diffuse[k], self.rules) for k in CURIE_KEYS
        }

    @property
    def siopen_total(self) -> int:
        """SIOPEN total, 0-72."""
        return sum(s.siopen for s in self.segments.values())

    @property
    def curie_total(self) -> int:
        """Curie total, 0-30 (9 skeletal segments + soft tissue)."""
        return sum(self.curie_segments.values())

    @property
    def good_prognosis(self) -> bool:
        """SIOPEN total at or below the prognostic threshold (<= 3)."""
        return good_prognosis(self.siopen_total, self.rules)

    # ------------------------------------------------------------------ edits
    def _record(self, action: str, **details: Any) -> None:
        self.audit.append({"time": _now(), "reader": self.reader, "action": action, **details})

    def _checkpoint(self) -> None:
        self._undo.append(self._state())

    def _state(self) -> dict[str, Any]:
        return {
            "hotspots": [h.to_json() for h in self.hotspots],
            "overrides": dict(self.overrides),
            "audit_len": len(self.audit),
        }

    def hotspot(self, hotspot_id: str) -> Hotspot:
        """The hot spot with this id."""
        for h in self.hotspots:
            if h.id == hotspot_id:
                return h
        raise KeyError(f"no hot spot {hotspot_id!r} in this reading")

    def set_status(self, hotspot_id: str, status: str) -> None:
        """Confirm, reject or re-propose a hot spot."""
        if status not in ("proposed", "confirmed", "rejected"):
            raise ValueError(f"status must be proposed, confirmed or rejected, not {status!r}")
        h = self.hotspot(hotspot_id)
        self._checkpoint()
        old = h.status
        h.status = status  # type: ignore[assignment]
        self._record("set_status", hotspot=hotspot_id, old=old, new=status)
        self.recompute()

    def confirm(self, hotspot_id: str) -> None:
        """Mark a hot spot confirmed."""
        self.set_status(hotspot_id, "confirmed")

    def reject(self, hotspot_id: str) -> None:
        """Mark a hot spot rejected (kept in the file, not scored)."""
        self.set_status(hotspot_id, "rejected")

    def new_id(self) -> str:
        """A hot spot id not used yet in this reading."""
        used = {h.id for h in self.hotspots}
        i = len(self.hotspots) + 1
        while f"h{i}" in used:
            i += 1
        return f"h{i}"

    def add_hotspot(
        self,
        segment: str | None,
        locations: list[Location],
        pattern: str = "focal",
        category: str = "bone",
        diffuse_fraction: float | None = None,
        curie_segment: str | None = None,
    ) -> Hotspot:
        """Add a reader's finding (status confirmed, source reader) and rescore."""
        if segment is not None and segment not in SIOPEN_KEYS:
            raise ValueError(f"unknown SIOPEN segment {segment!r}")
        self._checkpoint()
        h = Hotspot(
            id=self.new_id(), segment=segment, pattern=pattern,  # type: ignore[arg-type]
            status="confirmed", source="reader", confidence=1.0, locations=list(locations),
            category=category, diffuse_fraction=diffuse_fraction, curie_segment=curie_segment,
        )
        self.hotspots.append(h)
        self._record("add", hotspot=h.id, segment=segment)
        self.recompute()
        return h

    def remove_hotspot(self, hotspot_id: str) -> None:
        """Delete a reader-added hot spot; automatic proposals are rejected instead."""
        h = self.hotspot(hotspot_id)
        if h.source == "auto":
            self.reject(hotspot_id)
            return
        self._checkpoint()
        self.hotspots.remove(h)
        self._record("delete", hotspot=hotspot_id)
        self.recompute()

    def move_hotspot(self, hotspot_id: str, locations: list[Location], segment: str | None) -> None:
        """Move a hot spot (new locations, and the segment at the new place)."""
        h = self.hotspot(hotspot_id)
        self._checkpoint()
        old = h.segment
        h.locations = list(locations)
        h.segment = segment
        if segment is not None:
            h.curie_segment = None
        self._record("move", hotspot=hotspot_id, old_segment=old, new_segment=segment)
        self.recompute()

    def set_grade(self, segment: str, grade: int | None) -> None:
        """Set (or with None, clear) the reader's SIOPEN grade of one segment."""
        if segment not in SIOPEN_KEYS:
            raise ValueError(f"unknown SIOPEN segment {segment!r}")
        if grade is not None and not 0 <= int(grade) <= 6:
            raise ValueError(f"SIOPEN grade must be 0-6, not {grade}")
        self._checkpoint()
        old = self.overrides.get(segment)
        if grade is None:
            self.overrides.pop(segment, None)
        else:
            self.overrides[segment] = int(grade)
        self._record("set_grade", segment=segment, old=old, new=grade)
        self.recompute()

    def undo(self) -> bool:
        """Undo the last edit; returns False when there is nothing to undo."""
        if not self._undo:
            return False
        state = self._undo.pop()
        self.hotspots = [Hotspot.from_json(h) for h in state["hotspots"]]
        self.overrides = dict(state["overrides"])
        del self.audit[state["audit_len"]:]
        self._record("undo")
        self.recompute()
        return True

    # ------------------------------------------------------------- file form
    def to_json(self) -> dict[str, Any]:
        """The ``mibgkit.reading/1`` dictionary."""
        from mibgkit import __version__

        d: dict[str, Any] = copy.deepcopy(self.extra)
        d.update(
            {
                "schema": SCHEMA,
                "software": {"name": "mibgkit", "version": __version__},
                "study": dict(self.study),
                "views": [dict(v) for v in self.views],
                "segments": {k: s.to_json() for k, s in self.segments.items()},
                "siopen_total": self.siopen_total,
                "curie": {"segments": dict(self.curie_segments), "total": self.curie_total},
                "hotspots": [h.to_json() for h in self.hotspots],
                "reader": self.reader,
                "provenance": copy.deepcopy(self.provenance),
                "audit": copy.deepcopy(self.audit),
            }
        )
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], source: str | None = None) -> "Reading":
        """Build a reading from its dictionary; checks schema and segment keys."""
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            got = d.get("schema") if isinstance(d, dict) else type(d).__name__
            raise ReadingFormatError(f"not a {SCHEMA} reading (schema: {got!r})", source)
        segs = d.get("segments", {})
        missing = [k for k in SIOPEN_KEYS if k not in segs]
        if missing:
            raise ReadingFormatError(f"segments missing: {', '.join(missing)}", source)
        overrides = {
            k: int(v["siopen"]) for k, v in segs.items() if isinstance(v, dict) and v.get("source") == "reader"
        }
        known = {
            "schema", "software", "study", "views", "segments", "siopen_total", "curie",
            "hotspots", "reader", "provenance", "audit",
        }
        try:
            return cls(
                study=dict(d.get("study") or {}),
                views=list(d.get("views") or []),
                hotspots=[Hotspot.from_json(h) for h in d.get("hotspots", [])],
                reader=d.get("reader"),
                provenance=dict(d.get("provenance") or {"parameters": {}}),
                overrides=overrides,
                audit=list(d.get("audit") or []),
                extra={k: v for k, v in d.items() if k not in known},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ReadingFormatError(f"malformed reading: {exc}", source) from exc

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the reading as JSON, atomically (no half-written file on a crash)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_json(), f, indent=2, default=str)
                f.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Reading":
        """Read a ``reading.json`` file."""
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ReadingFormatError(f"cannot read reading: {exc}", path) from exc
        return cls.from_json(d, source=str(path))

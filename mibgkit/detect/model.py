"""Hot spots: proposed findings with their locations in stored pixel coordinates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Location", "Hotspot", "HotspotStatus", "HotspotPattern", "HotspotSource"]

HotspotStatus = Literal["proposed", "confirmed", "rejected"]
HotspotPattern = Literal["focal", "diffuse"]
HotspotSource = Literal["auto", "reader"]


@dataclass
class Location:
    """Where a hot spot is seen on one view, in **stored** pixel coordinates (0-based).

    Parameters
    ----------
    view : str
        View name (``ANT``/``POST``/``UNKNOWN``) or ``SPECT``.
    sop_instance_uid : str
        SOP Instance UID of the object holding the frame.
    frame : int
        1-based frame number.
    row, col : float
        Stored pixel position. For SPECT, ``slice`` is also set (0-based).
    """

    view: str
    sop_instance_uid: str
    frame: int
    row: float
    col: float
    slice: float | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form used in ``mibgkit.reading/1``."""
        d: dict[str, Any] = {
            "view": self.view,
            "sop_instance_uid": self.sop_instance_uid,
            "frame": int(self.frame),
            "row": round(float(self.row), 2),
            "col": round(float(self.col), 2),
        }
        if self.slice is not None:
            d["slice"] = round(float(self.slice), 2)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Location":
        """Inverse of :meth:`to_json`."""
        return cls(
            view=str(d["view"]),
            sop_instance_uid=str(d.get("sop_instance_uid", "")),
            frame=int(d.get("frame", 1)),
            row=float(d["row"]),
            col=float(d["col"]),
            slice=None if d.get("slice") is None else float(d["slice"]),
        )


@dataclass
class Hotspot:
    """One proposed or confirmed finding.

    ``segment`` is a SIOPEN key for a skeletal finding, or None for a non-skeletal one;
    ``category`` is ``"bone"`` or what the finding was explained by (``"liver"``,
    ``"bladder"``, ``"salivary_gland"``, ``"primary_tumour"``, ...). Only confirmed or
    proposed findings with ``category == "bone"`` count towards the SIOPEN score.
    ``curie_segment`` is the Curie segment key (the Curie spine is split at L1, so it
    cannot always be derived from the SIOPEN key alone); ``diffuse_fraction`` is the
    fraction of the segment's bone area a diffuse finding covers.
    """

    id: str
    segment: str | None
    pattern: HotspotPattern = "focal"
    status: HotspotStatus = "proposed"
    source: HotspotSource = "auto"
    confidence: float = 1.0
    locations: list[Location] = field(default_factory=list)
    peak_ratio: float | None = None
    area_mm2: float | None = None
    category: str = "bone"
    diffuse_fraction: float | None = None
    curie_segment: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def counts_for_score(self) -> bool:
        """True if this finding is a skeletal one that is not rejected."""
        return self.category == "bone" and self.segment is not None and self.status != "rejected"

    def to_json(self) -> dict[str, Any]:
        """JSON form used in ``mibgkit.reading/1`` (unknown keys in ``extra`` kept)."""
        d: dict[str, Any] = dict(self.extra)
        d.update(
            {
                "id": self.id,
                "segment": self.segment,
                "pattern": self.pattern,
                "status": self.status,
                "source": self.source,
                "confidence": round(float(self.confidence), 4),
                "locations": [loc.to_json() for loc in self.locations],
                "peak_ratio": None if self.peak_ratio is None else round(float(self.peak_ratio), 3),
                "area_mm2": None if self.area_mm2 is None else round(float(self.area_mm2), 1),
                "category": self.category,
            }
        )
        if self.diffuse_fraction is not None:
            d["diffuse_fraction"] = round(float(self.diffuse_fraction), 4)
        if self.curie_segment is not None:
            d["curie_segment"] = self.curie_segment
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Hotspot":
        """Inverse of :meth:`to_json`."""
        known = {
            "id", "segment", "pattern", "status", "source", "confidence", "locations",
            "peak_ratio", "area_mm2", "category", "diffuse_fraction", "curie_segment",
        }
        return cls(
            id=str(d["id"]),
            segment=d.get("segment"),
            pattern=d.get("pattern", "focal"),
            status=d.get("status", "proposed"),
            source=d.get("source", "auto"),
            confidence=float(d.get("confidence", 1.0)),
            locations=[Location.from_json(x) for x in d.get("locations", [])],
            peak_ratio=d.get("peak_ratio"),
            area_mm2=d.get("area_mm2"),
            category=d.get("category", "bone"),
            diffuse_fraction=d.get("diffuse_fraction"),
            curie_segment=d.get("curie_segment"),
            extra={k: v for k, v in d.items() if k not in known},
        )

"""Readings as analysis tables: hot spots and segment scores, as CSV or Parquet.

One row per hot spot location (a hot spot seen on ANT and POST gives two rows sharing
``hotspot_id``; one without location gives one row with empty position) and one row
per SIOPEN segment of each reading. Study columns come first so tables of many
readings can be concatenated and grouped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mibgkit.export._atomic import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from mibgkit.detect.model import Location
    from mibgkit.scoring.reading import Reading

__all__ = ["hotspot_rows", "segment_rows", "hotspots_table", "segments_table", "write_tables"]

FORMATS = ("csv", "parquet")


def _study_columns(reading: Reading) -> dict[str, Any]:
    s = reading.study
    return {
        "study_instance_uid": s.get("study_instance_uid"),
        "patient_id": s.get("patient_id"),
        "timepoint": s.get("timepoint"),
        "reader": reading.reader,
    }


def hotspot_rows(reading: Reading) -> list[dict[str, Any]]:
    """Rows of the hot spot table for one reading (rejected ones included, with status).

    Parameters
    ----------
    reading : Reading

    Returns
    -------
    list of dict
    """
    rows = []
    for h in reading.hotspots:
        base = {
            **_study_columns(reading),
            "hotspot_id": h.id,
            "segment": h.segment,
            "category": h.category,
            "pattern": h.pattern,
            "status": h.status,
            "source": h.source,
            "counts_for_score": h.counts_for_score,
            "confidence": float(h.confidence),
            "peak_ratio": h.peak_ratio,
            "area_mm2": h.area_mm2,
            "diffuse_fraction": h.diffuse_fraction,
        }
        locations: list[Location | None] = [*h.locations] or [None]
        for loc in locations:
            rows.append(
                {
                    **base,
                    "view": None if loc is None else loc.view,
                    "sop_instance_uid": None if loc is None else loc.sop_instance_uid,
                    "frame": None if loc is None else int(loc.frame),
                    "row": None if loc is None else float(loc.row),
                    "col": None if loc is None else float(loc.col),
                    "slice": None if loc is None else loc.slice,
                }
            )
    return rows


def segment_rows(reading: Reading) -> list[dict[str, Any]]:
    """Rows of the segment table for one reading: all 12 SIOPEN segments, in label order.

    Parameters
    ----------
    reading : Reading

    Returns
    -------
    list of dict
    """
    from mibgkit.scoring.reading import SIOPEN_TO_CURIE

    return [
        {
            **_study_columns(reading),
            "segment": key,
            "label": label,
            "siopen": int(seg.siopen),
            "auto_siopen": int(seg.auto_siopen),
            "grade_source": seg.source,
            "n_foci": int(seg.n_foci),
            "diffuse_fraction": float(seg.diffuse_fraction),
            "curie_segment": SIOPEN_TO_CURIE[key],
            "siopen_total": reading.siopen_total,
            "curie_total": reading.curie_total,
        }
        for label, (key, seg) in enumerate(reading.segments.items(), start=1)
    ]


_HOTSPOT_COLUMNS = [
    "study_instance_uid", "patient_id", "timepoint", "reader", "hotspot_id", "segment", "category",
    "pattern", "status", "source", "counts_for_score", "confidence", "peak_ratio", "area_mm2",
    "diffuse_fraction", "view", "sop_instance_uid", "frame", "row", "col", "slice",
]


def hotspots_table(readings: Iterable[Reading]) -> pd.DataFrame:
    """Hot spot table of many readings (columns fixed even when there are no rows)."""
    import pandas as pd

    rows = [r for reading in readings for r in hotspot_rows(reading)]
    df = pd.DataFrame(rows, columns=_HOTSPOT_COLUMNS)
    return df.astype({"frame": "Int64"})


def segments_table(readings: Iterable[Reading]) -> pd.DataFrame:
    """Segment score table of many readings."""
    import pandas as pd

    return pd.DataFrame([r for reading in readings for r in segment_rows(reading)])


def write_tables(
    readings: Iterable[Reading], out_dir: str | os.PathLike[str], fmt: str = "csv"
) -> dict[str, Path]:
    """Write ``hotspots.<fmt>`` and ``segments.<fmt>`` for the readings, atomically.

    Parameters
    ----------
    readings : iterable of Reading
    out_dir : str or path-like
    fmt : {"csv", "parquet"}
        Parquet needs ``pyarrow`` (extra ``mibgkit[parquet]``).

    Returns
    -------
    dict of str to pathlib.Path
        ``{"hotspots": path, "segments": path}``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"table format must be one of {FORMATS}, not {fmt!r}")
    readings = list(readings)
    tables = {"hotspots": hotspots_table(readings), "segments": segments_table(readings)}
    written: dict[str, Path] = {}
    for name, df in tables.items():
        path = Path(out_dir) / f"{name}.{fmt}"
        with atomic_path(path) as tmp:
            if fmt == "csv":
                df.to_csv(tmp, index=False)
            else:
                df.to_parquet(tmp, index=False)
        written[name] = path
    return written

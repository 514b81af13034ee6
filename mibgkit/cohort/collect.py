"""Collect readings into a cohort and lay them out as tidy tables.

A :class:`Cohort` holds one :class:`~mibgkit.scoring.Reading` per patient x time point x
reader, loaded from ``reading.json`` files or built in memory. Its two tables are the
starting point of every analysis in :mod:`mibgkit.cohort`:

- :meth:`Cohort.segments` -- one row per patient x time point x reader x SIOPEN segment;
- :meth:`Cohort.studies` -- one row per patient x time point x reader (totals).

Time points come from ``reading.study["timepoint"]`` or from a mapping CSV
(:func:`read_timepoint_map`), which wins when it names the study.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mibgkit.errors import MibgkitError, ReadingFormatError
from mibgkit.scoring.reading import SCHEMA, Reading
from mibgkit.segments import SIOPEN_KEYS, SIOPEN_LABELS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "TIMEPOINTS",
    "AUTO_READER",
    "normalize_timepoint",
    "timepoint_order",
    "find_reading_files",
    "read_timepoint_map",
    "TimepointMap",
    "CohortReading",
    "SkippedReading",
    "Cohort",
]

#: Canonical time points of high-risk neuroblastoma treatment, in order.
TIMEPOINTS: tuple[str, ...] = ("diagnosis", "post_induction", "post_hdc", "end_of_treatment", "relapse")

#: Reader name used in tables for a reading with ``reader: null`` (mibgkit alone).
AUTO_READER = "auto"

_ALIASES = {
    "dx": "diagnosis",
    "baseline": "diagnosis",
    "initial": "diagnosis",
    "end_of_induction": "post_induction",
    "eoi": "post_induction",
    "induction": "post_induction",
    "post_consolidation": "post_hdc",
    "post_hdct": "post_hdc",
    "post_asct": "post_hdc",
    "hdc": "post_hdc",
    "eot": "end_of_treatment",
    "end_of_therapy": "end_of_treatment",
    "progression": "relapse",
    "recurrence": "relapse",
    "pd": "relapse",
}


def normalize_timepoint(label: object) -> str | None:
    """Canonical spelling of a time point label.

    Lower case, spaces and hyphens to underscores, common synonyms mapped to the
    canonical names in :data:`TIMEPOINTS` (``"post-consolidation"`` -> ``"post_hdc"``,
    ``"EOT"`` -> ``"end_of_treatment"``, ...). Labels outside that list are kept
    (normalized) so a study protocol can add its own.

    Parameters
    ----------
    label : object
        Label as written by a reading or a mapping file; None or blank gives None.

    Returns
    -------
    str or None
    """
    if label is None:
        return None
    text = str(label).strip().lower().replace("-", "_").replace(" ", "_")
    if not text or text in ("nan", "none"):
        return None
    return _ALIASES.get(text, text)


def timepoint_order(label: str, extra: Sequence[str] = ()) -> int:
    """Sort key of a time point: position in :data:`TIMEPOINTS`, then in ``extra``.

    Parameters
    ----------
    label : str
        Canonical label (see :func:`normalize_timepoint`).
    extra : sequence of str
        Non-canonical labels in the order wanted after the canonical ones.

    Returns
    -------
    int
        0-4 for the canonical time points, 5.. for ``extra``, 99 otherwise.
    """
    if label in TIMEPOINTS:
        return TIMEPOINTS.index(label)
    if label in extra:
        return len(TIMEPOINTS) + list(extra).index(label)
    return 99


def _is_reading_json(path: Path) -> bool:
    if path.name == "reading.json":
        return True
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if SCHEMA.encode() not in head:
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("schema") == SCHEMA
    except (OSError, ValueError, AttributeError):
        return False


def find_reading_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Reading files named on the command line, folders searched recursively.

    Inside a folder, ``reading.json`` files are taken, and any other ``*.json`` file
    whose ``schema`` is ``mibgkit.reading/1``. A file named explicitly is always
    returned (loading it tells whether it is a reading).

    Parameters
    ----------
    paths : iterable of path-like
        Files and folders.

    Returns
    -------
    list of Path
        Sorted within each folder, without duplicates, in the order given.

    Raises
    ------
    MibgkitError
        If a path does not exist.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise MibgkitError("no such file or folder", path)
        found = [path] if path.is_file() else sorted(q for q in path.rglob("*.json") if _is_reading_json(q))
        for q in found:
            key = q.resolve()
            if key not in seen:
                seen.add(key)
                out.append(q)
    return out


# ---------------------------------------------------------------- time point map
@dataclass
class TimepointMap:
    """Time point (and optional outcome group) of studies, from a mapping CSV.

    A row names a study by ``study_instance_uid``, by ``file`` (path of the reading file,
    relative to the CSV's folder or absolute; a relative path also matches any reading
    whose path ends with it), or by ``patient_id`` + ``study_date`` (``YYYY-MM-DD``).
    The ``timepoint`` column gives its time point; an optional ``group`` column gives
    the patient's outcome group (rows with a ``patient_id`` and a ``group`` only are
    allowed).
    """

    by_uid: dict[str, str] = field(default_factory=dict)
    by_file: dict[str, str] = field(default_factory=dict)
    by_patient_date: dict[tuple[str, str], str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    base_dir: str | None = None

    def lookup(self, study: Mapping[str, Any], path: str | None = None) -> str | None:
        """Time point of one reading, or None when the map does not name it."""
        uid = str(study.get("study_instance_uid") or "")
        if uid and uid in self.by_uid:
            return self.by_uid[uid]
        if path is not None and self.by_file:
            resolved = Path(path).resolve()
            parts = Path(path).parts
            for key, tp in self.by_file.items():
                kpath = Path(key)
                candidate = kpath if kpath.is_absolute() or self.base_dir is None else Path(self.base_dir) / kpath
                if candidate.resolve() == resolved:
                    return tp
                kparts = kpath.parts
                if not kpath.is_absolute() and len(kparts) <= len(parts) and parts[-len(kparts):] == kparts:
                    return tp
        pid = study.get("patient_id")
        date = _study_date(study)
        if pid is not None and date is not None:
            return self.by_patient_date.get((str(pid), date.isoformat()))
        return None


def read_timepoint_map(path: str | os.PathLike[str]) -> TimepointMap:
    """Read a time point mapping CSV (see :class:`TimepointMap` for the columns).

    Parameters
    ----------
    path : path-like
        CSV file with a header row.

    Returns
    -------
    TimepointMap

    Raises
    ------
    MibgkitError
        If the file cannot be read, has no ``timepoint`` column, or a row names no study.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MibgkitError(f"cannot read time point map: {exc}", path) from exc
    tmap = TimepointMap(source=str(path), base_dir=str(path.parent))
    if rows and "timepoint" not in rows[0] and "group" not in rows[0]:
        raise MibgkitError("time point map needs a 'timepoint' (or 'group') column", path)
    for i, row in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        tp = normalize_timepoint(row.get("timepoint"))
        pid = row.get("patient_id", "")
        if row.get("group") and pid:
            tmap.groups[pid] = row["group"]
        if tp is None:
            continue
        if row.get("study_instance_uid"):
            tmap.by_uid[row["study_instance_uid"]] = tp
        elif row.get("file"):
            tmap.by_file[row["file"]] = tp
        elif pid and row.get("study_date"):
            tmap.by_patient_date[(pid, row["study_date"][:10])] = tp
        else:
            raise MibgkitError(
                f"line {i}: name the study by study_instance_uid, file, or patient_id + study_date", path
            )
    return tmap


# ------------------------------------------------------------------ the cohort
def _study_date(study: Mapping[str, Any]) -> _dt.date | None:
    for key in ("acquisition_datetime", "study_datetime", "study_date"):
        value = study.get(key)
        if not value:
            continue
        text = str(value).strip()
        for fmt in ("%Y-%m-%d", "%Y%m%d"):
            try:
                return _dt.datetime.strptime(text[: 10 if "-" in text[:10] else 8], fmt).date()
            except ValueError:
                continue
    return None


@dataclass
class CohortReading:
    """One reading placed in the cohort.

    Parameters
    ----------
    reading : Reading
    patient_id : str
    timepoint : str
        Canonical time point label, ``"unknown"`` when nothing says.
    reader : str
        Reader name, :data:`AUTO_READER` for a reading without one.
    study_date : datetime.date or None
    source : str or None
        File the reading was loaded from.
    timepoint_source : str
        ``"reading"``, ``"map"`` or ``"none"``.
    """

    reading: Reading
    patient_id: str
    timepoint: str
    reader: str
    study_date: _dt.date | None = None
    source: str | None = None
    timepoint_source: str = "reading"

    @property
    def key(self) -> tuple[str, str, str]:
        """(patient_id, timepoint, reader)."""
        return (self.patient_id, self.timepoint, self.reader)


@dataclass(frozen=True)
class SkippedReading:
    """A reading file (or object) left out of the cohort, and why."""

    path: str
    reason: str


class Cohort:
    """Readings of many patients, time points and readers.

    Parameters
    ----------
    readings : iterable of Reading or (Reading, source) pairs
        Readings; ``study["patient_id"]`` is required, ``study["timepoint"]`` and
        ``study["acquisition_datetime"]`` are used when present.
    timepoints : TimepointMap, mapping, or path-like, optional
        Time points that override the readings' own. A mapping goes from
        ``study_instance_uid`` to time point; a path is read with
        :func:`read_timepoint_map`.
    groups : mapping of str to str, optional
        Patient id -> outcome group (added as a ``group`` column to both tables).
        Groups in a mapping CSV are used when this is not given.

    Notes
    -----
    A reading without a patient id, or a second reading of the same patient, time
    point and reader, is not added; it is listed in :attr:`skipped` with the reason.
    """

    def __init__(
        self,
        readings: Iterable[Reading | tuple[Reading, str | None]] = (),
        timepoints: TimepointMap | Mapping[str, str] | str | os.PathLike[str] | None = None,
        groups: Mapping[str, str] | None = None,
    ) -> None:
        if timepoints is None:
            self.timepoint_map = TimepointMap()
        elif isinstance(timepoints, TimepointMap):
            self.timepoint_map = timepoints
        elif isinstance(timepoints, (str, os.PathLike)):
            self.timepoint_map = read_timepoint_map(timepoints)
        else:
            self.timepoint_map = TimepointMap(
                by_uid={str(k): normalize_timepoint(v) or "unknown" for k, v in timepoints.items()}
            )
        self.groups: dict[str, str] = dict(groups) if groups is not None else dict(self.timepoint_map.groups)
        self.entries: list[CohortReading] = []
        self.skipped: list[SkippedReading] = []
        self._keys: dict[tuple[str, str, str], CohortReading] = {}
        for item in readings:
            reading, source = item if isinstance(item, tuple) else (item, None)
            self.add(reading, source)

    # ------------------------------------------------------------ building
    @classmethod
    def from_paths(
        cls,
        paths: Iterable[str | os.PathLike[str]],
        timepoints: TimepointMap | Mapping[str, str] | str | os.PathLike[str] | None = None,
        groups: Mapping[str, str] | None = None,
    ) -> Cohort:
        """Load every reading under ``paths`` (see :func:`find_reading_files`).

        Files that are not valid readings are listed in :attr:`skipped`; loading goes on.
        """
        cohort = cls([], timepoints=timepoints, groups=groups)
        for path in find_reading_files(paths):
            try:
                reading = Reading.load(path)
            except ReadingFormatError as exc:
                cohort.skipped.append(SkippedReading(str(path), exc.problem))
                continue
            cohort.add(reading, str(path))
        return cohort

    def add(self, reading: Reading, source: str | None = None) -> CohortReading | None:
        """Place one reading in the cohort; returns None (and records why) if it cannot be."""
        label = source or str(reading.study.get("study_instance_uid") or "<reading>")
        pid = reading.study.get("patient_id")
        if pid is None or str(pid).strip() == "":
            self.skipped.append(SkippedReading(label, "no patient_id in the reading's study"))
            return None
        tp_map = self.timepoint_map.lookup(reading.study, source)
        tp_own = normalize_timepoint(reading.study.get("timepoint"))
        if tp_map is not None:
            tp, tp_source = tp_map, "map"
        elif tp_own is not None:
            tp, tp_source = tp_own, "reading"
        else:
            tp, tp_source = "unknown", "none"
        entry = CohortReading(
            reading=reading,
            patient_id=str(pid),
            timepoint=tp,
            reader=str(reading.reader) if reading.reader else AUTO_READER,
            study_date=_study_date(reading.study),
            source=source,
            timepoint_source=tp_source,
        )
        if entry.key in self._keys:
            first = self._keys[entry.key].source or "an earlier reading"
            self.skipped.append(
                SkippedReading(label, f"second reading of patient {pid}, {tp}, reader {entry.reader} (kept {first})")
            )
            return None
        self._keys[entry.key] = entry
        self.entries.append(entry)
        return entry

    # ------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.entries)

    @property
    def readers(self) -> list[str]:
        """Reader names, in order of first appearance."""
        return list(dict.fromkeys(e.reader for e in self.entries))

    @property
    def patients(self) -> list[str]:
        """Patient ids, in order of first appearance."""
        return list(dict.fromkeys(e.patient_id for e in self.entries))

    @property
    def timepoints(self) -> list[str]:
        """Time points present, in treatment order."""
        extra = self._extra_timepoints()
        return sorted({e.timepoint for e in self.entries}, key=lambda t: timepoint_order(t, extra))

    def _extra_timepoints(self) -> list[str]:
        return sorted({e.timepoint for e in self.entries if e.timepoint not in TIMEPOINTS})

    def get(self, patient_id: str, timepoint: str, reader: str) -> Reading | None:
        """The reading of one patient, time point and reader, or None."""
        entry = self._keys.get((patient_id, timepoint, reader))
        return None if entry is None else entry.reading

    def subset(self, readers: Sequence[str] | None = None, patients: Sequence[str] | None = None) -> Cohort:
        """A cohort with only these readers and/or patients (same reading objects)."""
        out = Cohort([], timepoints=self.timepoint_map, groups=self.groups)
        for e in self.entries:
            if (readers is None or e.reader in readers) and (patients is None or e.patient_id in patients):
                out.entries.append(e)
                out._keys[e.key] = e
        return out

    # ------------------------------------------------------------ tables
    def _base_row(self, e: CohortReading, order: int) -> dict[str, Any]:
        return {
            "patient_id": e.patient_id,
            "timepoint": e.timepoint,
            "timepoint_order": order,
            "study_date": e.study_date,
            "reader": e.reader,
            "group": self.groups.get(e.patient_id),
            "study_instance_uid": e.reading.study.get("study_instance_uid"),
        }

    def _sorted_entries(self) -> list[tuple[int, CohortReading]]:
        extra = self._extra_timepoints()
        rows = [(timepoint_order(e.timepoint, extra), e) for e in self.entries]
        return sorted(rows, key=lambda oe: (oe[1].patient_id, oe[0], oe[1].reader))

    def segments(self) -> pd.DataFrame:
        """Tidy table: one row per patient x time point x reader x SIOPEN segment.

        Returns
        -------
        pandas.DataFrame
            Columns ``patient_id, timepoint, timepoint_order, study_date, reader, group,
            study_instance_uid, segment, label, siopen, n_foci, diffuse_fraction,
            positive, grade_source, file``; rows sorted by patient, time point, reader,
            label.
        """
        import pandas as pd

        rows = []
        for order, e in self._sorted_entries():
            base = self._base_row(e, order)
            for key in SIOPEN_KEYS:
                s = e.reading.segments[key]
                rows.append(
                    {
                        **base,
                        "segment": key,
                        "label": SIOPEN_LABELS[key],
                        "siopen": int(s.siopen),
                        "n_foci": int(s.n_foci),
                        "diffuse_fraction": float(s.diffuse_fraction),
                        "positive": s.siopen > 0,
                        "grade_source": s.source,
                        "file": e.source,
                    }
                )
        columns = [
            "patient_id", "timepoint", "timepoint_order", "study_date", "reader", "group",
            "study_instance_uid", "segment", "label", "siopen", "n_foci", "diffuse_fraction",
            "positive", "grade_source", "file",
        ]
        df = pd.DataFrame(rows, columns=columns)
        df["study_date"] = pd.to_datetime(df["study_date"])
        return df

    def studies(self) -> pd.DataFrame:
        """One row per patient x time point x reader, with totals.

        Returns
        -------
        pandas.DataFrame
            Columns ``patient_id, timepoint, timepoint_order, study_date, reader, group,
            study_instance_uid, age_years, siopen_total, curie_total, n_positive_segments,
            n_foci, any_diffuse, good_prognosis, timepoint_source, file``.
        """
        import pandas as pd

        rows = []
        for order, e in self._sorted_entries():
            r = e.reading
            rows.append(
                {
                    **self._base_row(e, order),
                    "age_years": r.study.get("age_years"),
                    "siopen_total": int(r.siopen_total),
                    "curie_total": int(r.curie_total),
                    "n_positive_segments": sum(1 for s in r.segments.values() if s.siopen > 0),
                    "n_foci": sum(int(s.n_foci) for s in r.segments.values()),
                    "any_diffuse": any(s.diffuse_fraction > 0 for s in r.segments.values()),
                    "good_prognosis": bool(r.good_prognosis),
                    "timepoint_source": e.timepoint_source,
                    "file": e.source,
                }
            )
        columns = [
            "patient_id", "timepoint", "timepoint_order", "study_date", "reader", "group",
            "study_instance_uid", "age_years", "siopen_total", "curie_total", "n_positive_segments",
            "n_foci", "any_diffuse", "good_prognosis", "timepoint_source", "file",
        ]
        df = pd.DataFrame(rows, columns=columns)
        df["study_date"] = pd.to_datetime(df["study_date"])
        return df

    def skipped_table(self) -> pd.DataFrame:
        """The readings left out, with the reason (columns ``path, reason``)."""
        import pandas as pd

        return pd.DataFrame([{"path": s.path, "reason": s.reason} for s in self.skipped], columns=["path", "reason"])

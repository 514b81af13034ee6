"""Trust-but-verify inventory of a DICOM archive: one row per file, errors are rows.

Each file's header is read once and, unless ``verify=False``, the file is fully loaded
from that same header (pixels decoded, views identified), so the table says both what a
file claims and whether mibgkit can use it. Series-level problems (one series spread over two studies,
duplicate SOP Instance UIDs) are marked on the rows concerned.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from mibgkit.errors import MibgkitError
from mibgkit.io._values import strings
from mibgkit.io.deid import patient_key
from mibgkit.io.discover import PathInput, discover
from mibgkit.io.headers import Header, file_size, read_and_classify
from mibgkit.io.loader import skip_reason, studies_from_headers
from mibgkit.io.model import Study

__all__ = ["COLUMNS", "inventory_rows"]

COLUMNS = [
    "path",
    "status",
    "reason",
    "size_bytes",
    "transfer_syntax",
    "sop_class",
    "modality",
    "kind",
    "image_type",
    "study_instance_uid",
    "series_instance_uid",
    "sop_instance_uid",
    "patient_key",
    "series_description",
    "rows",
    "cols",
    "frames",
    "pixel_spacing_mm",
    "views",
    "dynamics",
    "volumes",
    "projections",
]


def _header_row(h: Header) -> dict[str, Any]:
    ds = h.values
    spacing = ds.get("PixelSpacing")
    return {
        "transfer_syntax": h.transfer_syntax,
        "sop_class": h.sop_class_uid,
        "modality": h.modality,
        "kind": h.kind,
        "image_type": "\\".join(strings(ds.get("ImageType"))),
        "study_instance_uid": h.study_uid,
        "series_instance_uid": h.series_uid,
        "sop_instance_uid": h.sop_instance_uid,
        "patient_key": patient_key(str(ds.get("PatientID", "") or "")),
        "series_description": str(ds.get("SeriesDescription", "") or ""),
        "rows": ds.get("Rows", ""),
        "cols": ds.get("Columns", ""),
        "frames": h.n_frames,
        "pixel_spacing_mm": "x".join(f"{float(v):g}" for v in spacing) if spacing else "",
    }


def _content_row(study: Study) -> dict[str, Any]:
    return {
        "views": ";".join(
            f"{v.view}[{v.view_source}]"
            + (f"({v.label})" if v.label else "")
            + f" {v.kind} {v.shape[0]}x{v.shape[1]}"
            for v in study.views
        ),
        "dynamics": ";".join(
            f"{d.view} {d.kind} {'x'.join(map(str, d.frames.shape))}" for d in study.dynamics
        ),
        "volumes": ";".join(f"{v.modality} {'x'.join(map(str, v.array.shape))}" for v in study.volumes),
        "projections": ";".join("x".join(map(str, p.frames.shape)) for p in study.projections),
    }


def _mark_series_problems(rows: list[dict[str, Any]]) -> None:
    by_series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    first_uid: dict[str, str] = {}
    for row in rows:
        uid = row.get("sop_instance_uid")
        if uid:
            if uid in first_uid and row["status"] == "ok":
                row["status"], row["reason"] = (
                    "skipped",
                    f"MixedSeriesError: same SOP Instance UID as {first_uid[uid]}",
                )
            first_uid.setdefault(uid, row["path"])
        if row.get("series_instance_uid"):
            by_series[row["series_instance_uid"]].append(row)
    for series, members in by_series.items():
        studies = Counter(m["study_instance_uid"] for m in members)
        if len(studies) < 2:
            continue
        majority = studies.most_common(1)[0][0]
        for m in members:
            if m["study_instance_uid"] != majority and m["status"] == "ok":
                m["status"] = "skipped"
                m["reason"] = (
                    f"MixedSeriesError: series {series} mixes studies (this file: {m['study_instance_uid']})"
                )


def inventory_rows(
    paths: PathInput,
    *,
    verify: bool = True,
    progress: Callable[[Iterable[str]], Iterable[str]] | None = None,
) -> list[dict[str, Any]]:
    """One row per file under ``paths``.

    Parameters
    ----------
    paths : str, PathLike, or iterable of them
        Archive root(s).
    verify : bool
        Load each file completely (decode pixels); False reads headers only.
    progress : callable, optional
        Wraps the file iterable (e.g. ``tqdm``).

    Returns
    -------
    list of dict
        Keys :data:`COLUMNS`; ``status`` is ``"ok"`` or ``"skipped"`` with ``reason``.
    """
    files, skipped = discover(paths)
    rows: list[dict[str, Any]] = [
        {"path": s.path, "status": "skipped", "reason": s.reason, "size_bytes": file_size(s.path)}
        for s in skipped
    ]
    for path in progress(files) if progress else files:
        row: dict[str, Any] = {"path": path, "status": "ok", "reason": "", "size_bytes": file_size(path)}
        rows.append(row)
        try:
            header = read_and_classify(path)
        except MibgkitError as exc:
            row.update(status="skipped", reason=skip_reason(exc))
            continue
        row.update(_header_row(header))
        if header.kind == "dicomdir":
            row.update(status="skipped", reason="DICOMDIR index: its images are listed as files")
            continue
        if not verify:
            continue
        try:
            studies = studies_from_headers([header], strict=True)
        except Exception as exc:  # a row, never a crash
            row.update(status="skipped", reason=skip_reason(exc))
            continue
        if studies:
            row.update(_content_row(studies[0]))
    _mark_series_problems(rows)
    return rows

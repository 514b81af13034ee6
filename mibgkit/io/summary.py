"""A JSON-friendly description of loaded studies, without identifying data (for ``mibgkit info``)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from mibgkit.io.model import DynamicSeries, PlanarView, Projections, Study, StudyCollection, Volume

__all__ = ["describe", "describe_study"]


def _iso(value: _dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _view(v: PlanarView) -> dict[str, Any]:
    return {
        "view": v.view,
        "view_source": v.view_source,
        "label": v.label,
        "kind": v.kind,
        "shape": list(v.shape),
        "pixel_spacing_mm": [_round(s) for s in v.pixel_spacing_mm],
        "detector": v.detector,
        "energy_window": v.energy_window,
        "orientation_source": v.orientation_source,
        "file": v.source.path,
        "sop_instance_uid": v.source.sop_instance_uid,
        "frame": v.source.frame,
        "mirrored": v.source.mirrored,
        "flipped_rows": v.source.flipped_rows,
        "series_description": v.series_description,
        "frame_duration_s": _round(v.frame_duration_s),
        "scan_velocity_mm_s": _round(v.scan_velocity_mm_s),
        "total_counts": _round(float(np.sum(v.image, dtype=np.float64)), 1),
    }


def _dynamic(d: DynamicSeries) -> dict[str, Any]:
    return {
        "view": d.view,
        "view_source": d.view_source,
        "label": d.label,
        "kind": d.kind,
        "shape": list(d.frames.shape),
        "pixel_spacing_mm": [_round(s) for s in d.pixel_spacing_mm],
        "detector": d.detector,
        "energy_window": d.energy_window,
        "frame_durations_s": sorted({_round(t) for t in d.frame_durations_s if t is not None}),
        "file": d.sources[0].path,
    }


def _volume(v: Volume) -> dict[str, Any]:
    return {
        "modality": v.modality,
        "shape": list(v.array.shape),
        "spacing_mm": [_round(s) for s in v.spacing_mm],
        "origin_lps": [_round(s) for s in v.origin_lps],
        "direction": [[_round(x, 6) for x in row] for row in np.asarray(v.direction).tolist()],
        "geometry_source": v.geometry_source,
        "series_description": v.series_description,
        "files": sorted({s.path for s in v.sources}),
    }


def _projections(p: Projections) -> dict[str, Any]:
    return {
        "shape": list(p.frames.shape),
        "pixel_spacing_mm": [_round(s) for s in p.pixel_spacing_mm],
        "vectors": sorted(p.index),
        "angles_deg": None if p.angles_deg is None else [_round(a, 3) for a in p.angles_deg[:2]] + ["..."],
        "file": p.source_path,
    }


def describe_study(study: Study) -> dict[str, Any]:
    """Study summary: metadata without PHI, and every view / dynamic / volume / projection set."""
    i = study.info
    series: dict[str, str] = {}
    for v in study.views:
        series.setdefault(v.series_instance_uid, v.series_description)
    for vol in study.volumes:
        series.setdefault(vol.series_instance_uid, vol.series_description)
    for d in study.dynamics:
        series.setdefault(d.series_instance_uid, d.series_description)
    for p in study.projections:
        series.setdefault(p.series_instance_uid, "")
    return {
        "study_instance_uid": i.study_instance_uid,
        "patient_key": i.patient_key,
        "age_years": _round(i.patient_age_years, 2),
        "sex": i.patient_sex,
        "weight_kg": i.patient_weight_kg,
        "study_datetime": _iso(i.study_datetime),
        "acquisition_datetime": _iso(i.acquisition_datetime),
        "radiopharmaceutical": i.radiopharmaceutical,
        "injected_activity_mbq": i.injected_activity_mbq,
        "injection_datetime": _iso(i.injection_datetime),
        "manufacturer": i.manufacturer,
        "model": i.model,
        "collimator": i.collimator,
        "energy_windows": [[w.name, w.lower_kev, w.upper_kev] for w in i.energy_windows],
        "image_type": list(i.image_type),
        "study_description": i.study_description,
        "series": [{"series_instance_uid": k, "description": v} for k, v in series.items()],
        "views": [_view(v) for v in study.views],
        "dynamics": [_dynamic(d) for d in study.dynamics],
        "volumes": [_volume(v) for v in study.volumes],
        "projections": [_projections(p) for p in study.projections],
    }


def describe(studies: StudyCollection) -> dict[str, Any]:
    """Everything ``mibgkit info --json`` prints."""
    return {
        "studies": [describe_study(s) for s in studies],
        "skipped": [{"path": s.path, "reason": s.reason} for s in studies.skipped],
    }

"""Score one study: load -> map segments -> detect -> score -> Reading.

``mibgkit.score(path)`` and ``mibgkit.score_study(study)`` are the Python face of
``mibgkit score``; :func:`run_study` also returns the detection and the maps the
report figure needs.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass
from typing import Any

from mibgkit.anatomy.model import StudySegmentMaps
from mibgkit.detect.detector import Detection, MapsLike, detect_study
from mibgkit.detect.params import DEFAULT_PARAMS, DetectParams
from mibgkit.errors import DicomReadError, MixedSeriesError
from mibgkit.io.model import Study, ViewName, require_study
from mibgkit.scoring.reading import Reading

__all__ = ["ScoreResult", "run_study", "score_study", "score", "load_one", "map_study"]


@dataclass
class ScoreResult:
    """What scoring one study produced.

    Parameters
    ----------
    reading : Reading
    detection : Detection
    maps : StudySegmentMaps or mapping
        The segment maps used.
    seconds : dict
        Wall time of each step (``map``, ``detect``, ``score``).
    """

    reading: Reading
    detection: Detection
    maps: MapsLike
    seconds: dict[str, float]


def map_study(study: Study) -> StudySegmentMaps:
    """Segment maps of every view and volume, from the project's segment mapper.

    Views and volumes the mapper cannot place are listed in ``unmapped`` /
    ``unmapped_volumes`` with their reason (:func:`mibgkit.anatomy.map_segments`).

    Raises
    ------
    MappingError
        If nothing in the study can be mapped.
    """
    from mibgkit.anatomy import map_segments

    return map_segments(study)


def _iso(value: _dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _study_dict(study: Study, timepoint: str | None) -> dict[str, Any]:
    i = study.info
    return {
        "study_instance_uid": i.study_instance_uid,
        "patient_id": i.patient_key,  # the keyed hash, never the raw Patient ID
        "age_years": i.patient_age_years,
        "acquisition_datetime": _iso(i.acquisition_datetime or i.study_datetime),
        "timepoint": timepoint,
    }


def _views_list(det: Detection) -> list[dict[str, Any]]:
    out = []
    for name, (_, pv, _) in det.views.items():
        src = pv.source
        out.append({
            "view": name, "sop_instance_uid": src.sop_instance_uid, "frame": int(src.frame),
            "mirrored": bool(src.mirrored), "rows": int(src.stored_shape[0]), "cols": int(src.stored_shape[1]),
            "pixel_spacing_mm": [float(pv.pixel_spacing_mm[0]), float(pv.pixel_spacing_mm[1])],
            "series_instance_uid": pv.series_instance_uid, "kind": pv.kind,
        })
    return out


def _add_spect(study: Study, maps: MapsLike, det: Detection, params: DetectParams) -> int:
    """Find SPECT hot spots, link them to planar findings; returns how many were found."""
    if not study.volumes:
        return 0
    from mibgkit.detect.spect import find_spect_hotspots, link_spect, project_to_planar

    vol_maps = maps.volumes if isinstance(maps, StudySegmentMaps) else {}
    anchor = det.views.get("ANT") or next(iter(det.views.values()))
    n = 0
    for i, vol in enumerate(study.volumes):
        if vol.modality not in ("NM", "PT", "SPECT"):
            continue
        vmap = vol_maps.get(i)
        if vmap is not None and vmap.labels.shape != vol.array.shape:
            vmap = None
        spots = find_spect_hotspots(vol, vmap, params)
        affine = project_to_planar(vol, anchor[1])
        det.hotspots.extend(link_spect(spots, det.hotspots, affine, anchor[1], vol, has_map=vmap is not None))
        n += len(spots)
    for k, h in enumerate(det.hotspots, 1):
        h.id = f"h{k}"
    return n


def run_study(
    study: Study,
    maps: MapsLike | None = None,
    params: DetectParams | None = None,
    timepoint: str | None = None,
) -> ScoreResult:
    """Map (unless ``maps`` is given), detect and score one study.

    Parameters
    ----------
    study : Study
    maps : StudySegmentMaps or mapping, optional
        Segment maps by view index or view name; computed with the project's mapper
        when None.
    params : DetectParams, optional
    timepoint : str, optional
        Written into ``reading.study["timepoint"]``.

    Returns
    -------
    ScoreResult

    Raises
    ------
    TypeError
        When ``study`` is not one Study (e.g. the collection :func:`mibgkit.load` returns).
    """
    study = require_study(study, "run_study")
    p = params or DEFAULT_PARAMS
    t0 = time.perf_counter()
    used_maps: MapsLike = maps if maps is not None else map_study(study)
    t1 = time.perf_counter()
    det = detect_study(study, used_maps, p)
    n_spect = _add_spect(study, used_maps, det, p)
    t2 = time.perf_counter()
    map_info: dict[str, Any] = {}
    by_name = {name: idx for name, (idx, _, _) in det.views.items()}
    views_maps = used_maps.views if isinstance(used_maps, StudySegmentMaps) else {}
    for name, idx in by_name.items():
        sm = views_maps.get(idx)
        if sm is not None:
            map_info[name] = {"confidence": round(float(sm.confidence), 3), "missing": list(sm.missing)}
    unmapped = []
    if isinstance(used_maps, StudySegmentMaps):  # views/volumes the mapper could not map, and why
        for kind, items in (("view", used_maps.unmapped), ("volume", used_maps.unmapped_volumes)):
            unmapped += [{"kind": kind, "index": i, "reason": u.reason, "where": u.where} for i, u in sorted(items.items())]
    reading = Reading(
        study=_study_dict(study, timepoint),
        views=_views_list(det),
        hotspots=det.hotspots,
        provenance={
            "parameters": p.to_json(),
            "detector": "mibgkit.detect (DoG on Anscombe counts, logistic confidence)",
            "segment_maps": map_info,
            **({"segment_maps_unmapped": unmapped} if unmapped else {}),
            "maps_source": "mapper" if maps is None else "given",
            "post_shift_px": [float(det.shift[0]), float(det.shift[1])],
            "n_candidates": len(det.candidates),
            "n_spect_hotspots": n_spect,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        },
    )
    t3 = time.perf_counter()
    secs = {"map": t1 - t0, "detect": t2 - t1, "score": t3 - t2}
    return ScoreResult(reading, det, used_maps, secs)


def score_study(study: Study, maps: MapsLike | None = None, params: DetectParams | None = None) -> Reading:
    """Score one loaded study.

    Parameters
    ----------
    study : Study
    maps : StudySegmentMaps or mapping, optional
        Segment maps; the project's mapper is used when None.
    params : DetectParams, optional

    Returns
    -------
    Reading
        Automatic reading: proposals, per-segment SIOPEN and Curie grades.
    """
    return run_study(study, maps, params).reading


def load_one(path: str | os.PathLike[str], assume_view: ViewName | None = None) -> Study:
    """Load exactly one study from a file or folder.

    Raises
    ------
    DicomReadError
        If nothing loadable is there (the first skipped file's reason is given).
    MixedSeriesError
        If the path holds more than one study.
    """
    from mibgkit.io import load

    studies = load(path, assume_view=assume_view)
    if not studies:
        why = ""
        skipped = getattr(studies, "skipped", [])
        if skipped:
            why = f" (e.g. {skipped[0].path}: {skipped[0].reason})"
        raise DicomReadError(f"no study with planar NM views found{why}", path)
    if len(studies) > 1:
        uids = ", ".join(s.info.study_instance_uid for s in studies[:3])
        raise MixedSeriesError(f"{len(studies)} studies found ({uids}...); score one at a time", path)
    study = studies[0]
    if not study.views:
        raise DicomReadError(f"study {study.info.study_instance_uid} has no planar view", path)
    return study


def score(path: str | os.PathLike[str], assume_view: ViewName | None = None) -> Reading:
    """Load, map, detect and score the one study at ``path``.

    Parameters
    ----------
    path : str or path-like
        DICOM file or folder holding one study.
    assume_view : {"ANT", "POST"}, optional
        View of single views whose view is not stated in the file.

    Returns
    -------
    Reading
    """
    return score_study(load_one(path, assume_view))

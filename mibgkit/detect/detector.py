"""Hot-spot detection of one study: focal + diffuse + physiology + ANT/POST fusion.

:func:`detect` returns the proposals as :class:`~mibgkit.detect.model.Hotspot` objects
(status ``proposed``, locations in stored pixel coordinates); :func:`detect_study`
also returns every candidate with its features, for tuning, benchmarks and the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from mibgkit.anatomy.model import SegmentMap, StudySegmentMaps
from mibgkit.detect.bonering import BONE_FEATURES, bone_features
from mibgkit.detect.context import CONTEXT_FEATURES, context_features
from mibgkit.detect.diffuse import SegmentInvolvement, segment_involvement
from mibgkit.detect.diffuse_model import candidate_confidence, diffuse_hotspots
from mibgkit.detect.focal import Candidate, ViewAnalysis, analyse_view, find_candidates
from mibgkit.detect.fuse import FusedCandidate, confidence, estimate_shift, feature_vector, fuse_views
from mibgkit.detect.model import Hotspot, Location
from mibgkit.detect.params import DEFAULT_PARAMS, FEATURES, DetectParams
from mibgkit.detect.physiology import BodyFrame, body_frame, organ_at
from mibgkit.errors import MappingError
from mibgkit.io.model import PlanarView, Study
from mibgkit.segments import SIOPEN_KEYS

__all__ = ["Detection", "detect", "detect_study", "MapsLike"]

MapsLike = StudySegmentMaps | Mapping[int, SegmentMap] | Mapping[str, SegmentMap]

#: Non-skeletal candidates weaker than this (DoG SDs) are noise, not organ findings.
_ORGAN_Z = 6.0
#: Non-skeletal candidates of one organ closer than this (mm) are one finding.
_ORGAN_MERGE_MM = 90.0


@dataclass
class Detection:
    """Everything detection found in one study.

    Parameters
    ----------
    hotspots : list of Hotspot
        The proposals (bone above the operating point, diffuse segments, organs).
    candidates : list of FusedCandidate
        Every fused candidate with its confidence (for FROC curves and tuning).
    features : ndarray of shape (n_candidates, n_features)
    views : dict
        View name -> (index in ``Study.views``, PlanarView, ViewAnalysis).
    shift : tuple of float
        POST - ANT shift in pixels.
    involvement : dict
        View name -> segment key -> SegmentInvolvement (filled by the ``"fraction"``
        diffuse method only; the ``"model"`` method's verdicts are in the diffuse
        hot spots' ``extra``).
    """

    hotspots: list[Hotspot]
    candidates: list[FusedCandidate]
    features: np.ndarray
    views: dict[str, tuple[int, PlanarView, ViewAnalysis]]
    shift: tuple[float, float]
    involvement: dict[str, dict[str, SegmentInvolvement]] = field(default_factory=dict)
    frames: dict[str, BodyFrame | None] = field(default_factory=dict)


def maps_by_view_index(study: Study, maps: MapsLike | None) -> dict[int, SegmentMap]:
    """Segment maps keyed by the index of their view in ``study.views``.

    ``maps`` is a :class:`StudySegmentMaps`, or a mapping keyed by view index or view
    name (a name goes to the first view of that name not yet mapped); None gives {}.
    """
    if maps is None:
        return {}
    if isinstance(maps, StudySegmentMaps):
        return dict(maps.views)
    out: dict[int, SegmentMap] = {}
    for k, m in maps.items():
        if isinstance(k, int):
            out[k] = m
        else:
            for i, v in enumerate(study.views):
                if v.view == k and i not in out:
                    out[i] = m
                    break
    return out


def _pick_views(study: Study, by_index: dict[int, SegmentMap]) -> dict[str, int]:
    """ANT and POST (whole-body first) with a segment map; or the one mapped view."""
    chosen: dict[str, int] = {}
    order = sorted(range(len(study.views)), key=lambda i: study.views[i].kind != "whole_body")
    for name in ("ANT", "POST"):
        for i in order:
            if study.views[i].view == name and i in by_index:
                chosen[name] = i
                break
    if not chosen:
        for i in order:
            if i in by_index:
                chosen[study.views[i].view] = i
                break
    return chosen


def _location(pv: PlanarView, row: float, col: float) -> Location:
    r, c = pv.source.to_stored(row, col)
    return Location(pv.view, pv.source.sop_instance_uid, pv.source.frame, r, c)


def _curie_segment(segment: str, row: float, labels: np.ndarray, smap: SegmentMap, p: DetectParams) -> str | None:
    if segment != "spine":
        return None
    l1 = next((lm.row for lm in smap.landmarks if lm.name.upper() in ("L1", "T12_L1", "L1_TOP")), None)
    if l1 is None:
        rr = np.nonzero((labels == 3).any(axis=1))[0]
        if rr.size == 0:
            return None
        l1 = rr.min() + p.spine_l1_fraction * (rr.max() - rr.min())
    return "cervical_thoracic_spine" if row < l1 else "lumbar_sacral_spine"


def _full_mask(va: ViewAnalysis, c: Candidate) -> np.ndarray:
    m = np.zeros(va.image.shape, dtype=bool)
    if c.region_mask is not None:
        m[c.region] = c.region_mask
    return m


def detect_study(study: Study, maps: MapsLike, params: DetectParams | None = None) -> Detection:
    """Detect focal, diffuse and non-skeletal uptake in one study.

    Parameters
    ----------
    study : Study
        A loaded study with at least one planar view.
    maps : StudySegmentMaps or mapping
        Segment maps keyed by view index (``StudySegmentMaps.views``) or view name.
    params : DetectParams, optional

    Returns
    -------
    Detection

    Raises
    ------
    MappingError
        If no planar view of the study has a segment map.
    """
    p = params or DEFAULT_PARAMS
    by_index = maps_by_view_index(study, maps)
    chosen = _pick_views(study, by_index)
    if not chosen:
        raise MappingError(f"study {study.info.study_instance_uid}: no planar view with a segment map")
    views: dict[str, tuple[int, PlanarView, ViewAnalysis]] = {}
    for name, i in chosen.items():
        pv, sm = study.views[i], by_index[i]
        if sm.labels.shape != pv.shape:
            raise MappingError(f"segment map of view {name} has shape {sm.labels.shape}, image {pv.shape}",
                               pv.source.path)
        va = analyse_view(pv.image, sm.labels, pv.pixel_spacing_mm, name, p, body=sm.body_mask)
        views[name] = (i, pv, va)
    ant = views["ANT"][2] if "ANT" in views else None
    post = views["POST"][2] if "POST" in views else None
    single = None if (ant is not None or post is not None) else next(iter(views.values()))[2]
    shift = estimate_shift(ant, post, p.max_shift_mm) if ant is not None and post is not None else (0.0, 0.0)
    if single is not None:
        fused = [FusedCandidate(c, None, c, None) for c in find_candidates(single, p)]
    else:
        fused = fuse_views(ant, post, find_candidates(ant, p) if ant else [], find_candidates(post, p) if post else [],
                           shift, p)
    ref = float(np.mean([v[2].reference_level for v in views.values()]))
    frames = {name: body_frame(va.labels) for name, (_, _, va) in views.items()}
    zones = [organ_at(frames.get(f.best.view), f.best.row, f.best.col, f.best.area_mm2, _ap_log_ratio(f))
             for f in fused]
    feats = np.array([feature_vector(f, ref, z, frames.get(f.best.view))
                      for f, z in zip(fused, zones)]).reshape(len(fused), -1)
    i_ctx = FEATURES.index(CONTEXT_FEATURES[0])
    feats[:, i_ctx:i_ctx + len(CONTEXT_FEATURES)] = context_features(fused, {k: v[2] for k, v in views.items()},
                                                                     frames, p)
    i_bn = FEATURES.index(BONE_FEATURES[0])
    feats[:, i_bn:i_bn + len(BONE_FEATURES)] = bone_features(fused, {k: v[2] for k, v in views.items()}, p)
    conf = confidence(feats, p) if len(fused) else np.zeros(0)
    for f, c in zip(fused, conf):
        f.confidence = float(c)
    det = Detection([], fused, feats, views, shift, {}, frames)
    det.hotspots = _hotspots(study, det, by_index, p)
    return det


def _hotspots(study: Study, det: Detection, by_index: dict[int, SegmentMap], p: DetectParams) -> list[Hotspot]:
    out: list[Hotspot] = []
    focal_masks = {name: np.zeros(va.image.shape, dtype=bool) for name, (_, _, va) in det.views.items()}
    organ_groups: dict[str, list[FusedCandidate]] = {}
    per_segment: dict[int, list[FusedCandidate]] = {}
    order = sorted(det.candidates, key=lambda f: -f.confidence)
    for f in order:
        b = f.best
        seg_label = f.label
        if f.confidence >= p.min_confidence and seg_label:
            out.append(_bone_hotspot(f, det, by_index, p, len(out) + 1))
            per_segment.setdefault(seg_label, []).append(f)
        elif b.z >= _ORGAN_Z and f.confidence < p.min_confidence:
            ap = _ap_log_ratio(f)
            name = organ_at(det.frames.get(b.view), b.row, b.col, b.area_mm2, ap)
            organ_groups.setdefault(name, []).append(f)
    if p.diffuse_method == "model":
        out.extend(diffuse_hotspots(det.views, out, p, len(out),
                                    candidate_confidence=candidate_confidence(det.candidates)))
    else:
        # Focal spots explain abnormal bone only in segments with at most 3 of them, where the
        # count decides the grade; with more, the grade is >= 4 anyway and the abnormal extent
        # (diffuse fraction) decides 4/5/6: many foci found on diffuse uptake must not hide it.
        for fs in per_segment.values():
            if len(fs) > 3:
                continue
            for f in fs:
                for c in (f.ant, f.post):
                    if c is not None:
                        focal_masks[c.view] |= _full_mask(det.views[c.view][2], c)
        for name, va_tuple in det.views.items():
            grow = ndi.binary_dilation(focal_masks[name], iterations=2)
            det.involvement[name] = segment_involvement(va_tuple[2], p, grow)
        out.extend(_diffuse_hotspots(det, p, len(out)))
    out.extend(_organ_hotspots(organ_groups, det, p, len(out)))
    for i, h in enumerate(out, 1):
        h.id = f"h{i}"
    return out


def _ap_log_ratio(f: FusedCandidate) -> float:
    if f.ant_at is None or f.post_at is None:
        return 0.0
    return float(np.log((f.ant_at.excess + 1.0) / (f.post_at.excess + 1.0)))


def _gap_segment(segment: str, smap: SegmentMap, row: float, col: float) -> str:
    """A focus's segment, or spine when its centre on the better view lies in a bridged gap
    of the mapped spinal column (``SegmentMap.lookup_labels``: a rib crossing or an
    intervertebral space of a few pixels, placed to within the registration's error)."""
    lk = smap.lookup_labels
    if lk is None or lk.shape != smap.labels.shape:
        return segment
    r, c = int(round(row)), int(round(col))
    if not (0 <= r < lk.shape[0] and 0 <= c < lk.shape[1]) or lk[r, c] == smap.labels[r, c] or not lk[r, c]:
        return segment
    return SIOPEN_KEYS[int(lk[r, c]) - 1]


def _bone_hotspot(f: FusedCandidate, det: Detection, by_index: dict[int, SegmentMap], p: DetectParams,
                  n: int) -> Hotspot:
    b = f.best
    i_view, pv_b, va_b = det.views[b.view]
    segment = _gap_segment(SIOPEN_KEYS[f.label - 1], by_index[i_view], b.row, b.col)
    locs, seen, zs = [], [], {}
    for c, m in ((f.ant, f.ant_at), (f.post, f.post_at)):
        meas = c or m
        if meas is None:
            continue
        _, pv, _ = det.views[meas.view]
        locs.append(_location(pv, meas.row, meas.col))
        zs[meas.view] = round(float(meas.z), 2)
        if c is not None:
            seen.append(c.view)
    extra: dict[str, Any] = {"seen_on": seen, "z": zs, "ap_log_ratio": round(_ap_log_ratio(f), 3)}
    return Hotspot(
        id=f"h{n}", segment=segment, pattern="focal", status="proposed", source="auto",
        confidence=f.confidence, locations=locs, peak_ratio=b.peak_ratio, area_mm2=b.area_mm2,
        category="bone",
        curie_segment=_curie_segment(segment, b.row, va_b.labels, by_index[i_view], p),
        extra=extra,
    )


def _diffuse_hotspots(det: Detection, p: DetectParams, n0: int) -> list[Hotspot]:
    out: list[Hotspot] = []
    for key in SIOPEN_KEYS:
        per_view = [inv[key] for inv in det.involvement.values() if key in inv]
        if not per_view:
            continue
        best = max(per_view, key=lambda s: s.unexplained)
        if best.unexplained < p.diffuse_min_fraction or best.extent_mm < p.diffuse_min_extent_mm:
            continue
        frac = min(1.0, p.diffuse_gain * max(s.fraction for s in per_view))
        locs = []
        for s in per_view:
            if np.isfinite(s.centroid[0]):
                _, pv, _ = det.views[s.view]
                locs.append(_location(pv, *s.centroid))
        conf = float(np.clip(0.5 + 0.5 * (best.unexplained - p.diffuse_min_fraction) / p.diffuse_min_fraction, 0, 1))
        out.append(Hotspot(
            id=f"h{n0 + len(out) + 1}", segment=key, pattern="diffuse", confidence=conf, locations=locs,
            area_mm2=best.fraction * best.gradable_mm2, category="bone", diffuse_fraction=frac,
            extra={"fraction_by_view": {s.view: round(s.fraction, 4) for s in per_view},
                   "extent_mm": round(best.extent_mm, 1)},
        ))
    return out


def _organ_hotspots(groups: dict[str, list[FusedCandidate]], det: Detection, p: DetectParams,
                    n0: int) -> list[Hotspot]:
    out: list[Hotspot] = []
    for name, fs in groups.items():
        clusters: list[list[FusedCandidate]] = []
        for f in sorted(fs, key=lambda f: -f.best.z):
            b = f.best
            sp = det.views[b.view][2].spacing
            for cl in clusters:
                h = cl[0].best
                if np.hypot((h.row - b.row) * sp[0], (h.col - b.col) * sp[1]) <= _ORGAN_MERGE_MM:
                    cl.append(f)
                    break
            else:
                clusters.append([f])
        for cl in clusters:
            f = cl[0]
            b = f.best
            locs = []
            for meas in (f.ant or f.ant_at, f.post or f.post_at):
                if meas is not None:
                    locs.append(_location(det.views[meas.view][1], meas.row, meas.col))
            out.append(Hotspot(
                id=f"h{n0 + len(out) + 1}", segment=None, pattern="focal", confidence=1.0 - f.confidence,
                locations=locs, peak_ratio=b.peak_ratio, area_mm2=b.area_mm2, category=name,
                extra={"n_candidates": len(cl), "p_bone": round(f.confidence, 4)},
            ))
    return out


def detect(study: Study, maps: MapsLike, params: DetectParams | None = None) -> list[Hotspot]:
    """Propose hot spots in one study.

    Parameters
    ----------
    study : Study
    maps : StudySegmentMaps or mapping
        Segment maps keyed by view index or view name.
    params : DetectParams, optional
        Defaults to the tuned :data:`~mibgkit.detect.params.DEFAULT_PARAMS`.

    Returns
    -------
    list of Hotspot
        Focal bone spots above the operating point, one diffuse finding per diffusely
        involved segment, and named non-skeletal findings (``segment=None``); all with
        status ``proposed`` and locations in stored pixel coordinates.
    """
    return detect_study(study, maps, params).hotspots

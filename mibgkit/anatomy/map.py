"""``map_segments``: every view and volume of a study."""

from __future__ import annotations

from mibgkit.anatomy.model import SegmentMap, StudySegmentMaps, Unmapped
from mibgkit.anatomy.planar import map_pair, map_view
from mibgkit.anatomy.spect import (
    MIN_PLANAR_MATCH,
    PlanarPlacement,
    map_volume,
    map_volume_planar,
    place_on_planar,
)
from mibgkit.anatomy.spot import MIN_MATCH, match_spot, transfer_map
from mibgkit.errors import MappingError
from mibgkit.io.model import PlanarView, Study, Volume, require_study

__all__ = ["map_segments", "unmapped_reason"]

#: Phrases of the mapper's MappingError messages -> Unmapped.reason (first match wins).
_REASON_PHRASES = (
    ("not a planar image", "not_planar"),
    ("no counts", "empty"),
    ("fill the whole field", "fills_field"),
    ("no anatomical landmark", "no_landmark"),
    ("no body", "no_body"),
    ("not found on the whole-body", "no_match"),
)


def unmapped_reason(exc: MappingError, where: str = "") -> Unmapped:
    """The typed :class:`Unmapped` record of a mapping failure.

    Parameters
    ----------
    exc : MappingError
    where : str
        File and frame (or volume); defaults to the error's path.

    Returns
    -------
    Unmapped
    """
    text = exc.problem if hasattr(exc, "problem") else str(exc)
    reason = next((code for phrase, code in _REASON_PHRASES if phrase in text), "other")
    return Unmapped(reason, text, where or (exc.path or ""))


def _where(view: PlanarView) -> str:
    return f"{view.source.path} [{view.view} frame {view.source.frame}]"


def _map_spot(view: PlanarView, study: Study, maps: dict[int, SegmentMap]) -> SegmentMap | None:
    """A spot view located on a mapped whole-body view of the study (same side first)."""
    best = None
    for i, wb in enumerate(study.views):
        if i not in maps or wb.kind != "whole_body" or maps[i].method != "atlas":
            continue
        if view.view != "UNKNOWN" and wb.view != view.view:
            continue
        m = match_spot(view, wb)
        if best is None or m.score > best[0].score:
            best = (m, maps[i])
    if best is None:
        return None
    if best[0].score < MIN_MATCH:
        raise MappingError(
            f"spot view not found on the whole-body view (best match {best[0].score:.2f} < {MIN_MATCH})", _where(view)
        )
    return transfer_map(view, best[0], best[1])


#: A view that is not a whole-body scan but shows a body shorter than this share of the
#: age-expected stature between a detected head top and detected soles is a partial
#: view whose "head" and "feet" are the edges of its field, not landmarks.
MIN_STATURE_SHARE = 0.6
#: The field cuts the body at its first (last) scanned rows when they hold at least this
#: share of the median row's counts (air above a head holds ~1 %, a cut neck ~15 %).
CUT_COUNTS = 0.05


def _plausible(sm: SegmentMap, view: PlanarView, age: float | None) -> SegmentMap:
    """``sm`` unchanged, or MappingError when a partial view was fitted as a whole body."""
    import numpy as np

    from mibgkit.anatomy.atlas import proportions

    # a "head top" or "sole" at the edge of the scanned field, where the edge rows already
    # hold body counts (not just a few air counts), is where the field cuts the body
    rowsum = np.asarray(view.image, dtype=np.float64).clip(0, None).sum(axis=1)
    scanned = np.flatnonzero(rowsum > 0)
    first, last = (int(scanned[0]), int(scanned[-1])) if scanned.size else (0, view.image.shape[0] - 1)
    level = float(np.median(rowsum[scanned])) if scanned.size else 0.0

    def cut_at(row: float) -> bool:
        if row <= first + 3:
            edge_rows = rowsum[first : first + 3]
        elif row >= last - 3:
            edge_rows = rowsum[max(last - 2, 0) : last + 1]
        else:
            return False
        return float(edge_rows.mean()) >= CUT_COUNTS * level

    anchors = [lm for lm in sm.landmarks if lm.name in ("head_top", "neck", "shoulder", "crotch", "sole")
               and lm.confidence > 0.5 and not (lm.name in ("head_top", "sole") and cut_at(lm.row))]
    if not anchors:
        raise MappingError("cannot map: no anatomical landmark (head top, neck, shoulders, crotch, feet) in the "
                           "field of view (the body runs off the edges of the field)", _where(view))
    found = {lm.name: lm for lm in sm.landmarks if lm.confidence >= 1.0}
    if "head_top" in found and "sole" in found:
        length_mm = (found["sole"].row - found["head_top"].row) * view.pixel_spacing_mm[0]
        expected = proportions(age).stature_cm * 10.0
        if length_mm < MIN_STATURE_SHARE * expected:
            raise MappingError(
                f"cannot map: no anatomical landmark (the body spans {length_mm:.0f} mm of the {expected:.0f} mm "
                "expected at this age: a partial view whose edges are not head and feet)", _where(view))
    return sm


def _map_volumes(study: Study, age: float | None, out: StudySegmentMaps, errors: list[MappingError]) -> None:
    """Map every volume: placed on the study's whole-body views, else on its own.

    A SPECT(/CT) usually covers part of the body and shows few landmarks of its own
    (a fit on a thorax-abdomen field finds spurious ones). When the study's whole-body
    ANT/POST views are mapped, the emission volume is located on them by its coronal
    projection (:func:`mibgkit.anatomy.spect.place_on_planar`) and labelled from their
    maps; a CT of the same Frame of Reference reuses that placement. Without whole-body
    views, or when the volume matches none, the volume is fitted on its own
    (:func:`mibgkit.anatomy.spect.map_volume`).
    """
    cts = [v for v in study.volumes if v.modality.upper() == "CT"]
    wb = [(i, v) for i, v in enumerate(study.views)
          if v.kind == "whole_body" and v.view in ("ANT", "POST") and i in out.views and out.views[i].method == "atlas"]
    wb_maps: dict[str, SegmentMap] = {str(v.view): out.views[i] for i, v in wb}
    placed: dict[str | None, list[PlanarPlacement]] = {}  # accepted placements by Frame of Reference

    def same_frame(a: Volume, b: Volume) -> bool:
        return a.frame_of_reference_uid == b.frame_of_reference_uid if a.frame_of_reference_uid else (
            a.array.shape == b.array.shape)

    # emission volumes first: a CT is placed through the emission volume of its frame
    order = sorted(range(len(study.volumes)), key=lambda i: study.volumes[i].modality.upper() == "CT")
    for i in order:
        vol = study.volumes[i]
        is_ct = vol.modality.upper() == "CT"
        ct = None if is_ct else next((c for c in cts if same_frame(c, vol)), None)
        try:
            pl: list[PlanarPlacement] | None = None
            no_match: MappingError | None = None
            if wb_maps and is_ct:
                pl = placed.get(vol.frame_of_reference_uid)
            elif wb_maps:
                found = place_on_planar(vol, [v for _, v in wb])
                pl = [p for p in found if p.score >= MIN_PLANAR_MATCH] or None
                if pl is None:
                    best = max((p.score for p in found), default=-1.0)
                    no_match = MappingError(f"volume not found on the whole-body views (best match {best:.2f} < "
                                            f"{MIN_PLANAR_MATCH})", vol.sources[0].path if vol.sources else None)
                else:
                    placed[vol.frame_of_reference_uid] = pl
            if pl is not None:
                out.volumes[i] = map_volume_planar(vol, pl, wb_maps, ct)
                continue
            try:
                out.volumes[i] = map_volume(vol, age, ct)
            except MappingError as exc:
                # a partial field without landmarks: the failed placement is the better reason
                if no_match is not None and "no anatomical landmark" in exc.problem:
                    raise no_match from exc
                raise
        except MappingError as exc:
            errors.append(exc)
            out.unmapped_volumes[i] = unmapped_reason(exc, f"{exc.path or ''} ({vol.modality} volume {i + 1})".strip())


def map_segments(study: Study, age_years: float | None = None) -> StudySegmentMaps:
    """SIOPEN segment maps of every planar view and volume of a study.

    The whole-body ANT/POST pair is fitted once (on the geometric mean) so both views
    share one anatomy; each view is then painted with the bone nearer its camera on
    top. A spot (static) view of a study whose whole-body view is mapped is located on
    that view by registration and its map carried over (:mod:`mibgkit.anatomy.spot`);
    other planar views are mapped on their own. Only what is in the image is mapped
    and ``SegmentMap.missing`` names the rest.

    A view or volume that cannot be mapped (no body, no landmark to place the atlas on,
    a spot view that matches nothing) is left out of ``views`` / ``volumes`` and listed
    in ``unmapped`` / ``unmapped_volumes`` with a typed reason; the rest of the study is
    mapped.

    Parameters
    ----------
    study : Study
    age_years : float, optional
        Overrides the age in the header (``study.info.patient_age_years``); without
        either an adolescent body is assumed.

    Returns
    -------
    StudySegmentMaps
        ``views`` keyed by the index in ``study.views``; ``volumes`` by the index in
        ``study.volumes``.

    Raises
    ------
    MappingError
        When nothing in the study can be mapped (the first view's or volume's reason,
        naming its file).
    TypeError
        When ``study`` is not one Study (e.g. the collection :func:`mibgkit.load` returns).
    """
    study = require_study(study, "map_segments")
    age = age_years if age_years is not None else study.info.patient_age_years
    out = StudySegmentMaps()
    errors: list[MappingError] = []
    pair = study.pair()
    done: set[int] = set()
    if pair is not None and pair[0].kind == pair[1].kind == "whole_body":
        ia = next(i for i, v in enumerate(study.views) if v is pair[0])
        ip = next(i for i, v in enumerate(study.views) if v is pair[1])
        done = {ia, ip}
        try:
            out.views[ia], out.views[ip] = map_pair(pair[0], pair[1], age)
        except MappingError as exc:
            errors.append(exc)
            for i in (ia, ip):
                out.unmapped[i] = unmapped_reason(exc, _where(study.views[i]))
    # whole-body views first: spot views are located on them
    order = sorted((i for i in range(len(study.views)) if i not in done),
                   key=lambda i: study.views[i].kind != "whole_body")
    for i in order:
        view = study.views[i]
        try:
            sm = _map_spot(view, study, out.views) if view.kind != "whole_body" else None
            if sm is None:
                sm = map_view(view, age)
                if view.kind != "whole_body":
                    sm = _plausible(sm, view, age)
            out.views[i] = sm
        except MappingError as exc:
            errors.append(exc)
            out.unmapped[i] = unmapped_reason(exc, _where(view))
    _map_volumes(study, age, out, errors)
    if errors and not out.views and not out.volumes:
        raise errors[0]
    return out

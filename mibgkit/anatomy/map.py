"""``map_segments``: every view and volume of a study."""

from __future__ import annotations

from mibgkit.anatomy.model import StudySegmentMaps
from mibgkit.anatomy.planar import map_pair, map_view
from mibgkit.anatomy.spect import map_volume
from mibgkit.io.model import Study

__all__ = ["map_segments"]


def map_segments(study: Study, age_years: float | None = None) -> StudySegmentMaps:
    """SIOPEN segment maps of every planar view and volume of a study.

    The whole-body ANT/POST pair is fitted once (on the geometric mean) so both views
    share one anatomy; each view is then painted with the bone nearer its camera on
    top. Other planar views (spot views, unknown views) are mapped on their own; only
    what is in the image is mapped and ``SegmentMap.missing`` names the rest.

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
        Naming the file and view, when a view or volume cannot be mapped (no body
        found, no anatomical landmark in the field of view).
    """
    age = age_years if age_years is not None else study.info.patient_age_years
    out = StudySegmentMaps()
    pair = study.pair()
    done: set[int] = set()
    if pair is not None and pair[0].kind == pair[1].kind == "whole_body":
        ia = next(i for i, v in enumerate(study.views) if v is pair[0])
        ip = next(i for i, v in enumerate(study.views) if v is pair[1])
        out.views[ia], out.views[ip] = map_pair(pair[0], pair[1], age)
        done = {ia, ip}
    for i, view in enumerate(study.views):
        if i not in done:
            out.views[i] = map_view(view, age)
    cts = [v for v in study.volumes if v.modality.upper() == "CT"]
    for i, vol in enumerate(study.volumes):
        ct = None
        if vol.modality.upper() != "CT":
            ct = next((c for c in cts if c.array.shape == vol.array.shape
                       and (c.frame_of_reference_uid == vol.frame_of_reference_uid or vol.frame_of_reference_uid is None)),
                      None)
        out.volumes[i] = map_volume(vol, age, ct)
    return out

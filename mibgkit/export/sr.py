"""A reading as a DICOM Comprehensive SR, TID 1500 Measurement Report (via highdicom).

Content of the report:

- one TID 1501 group per SIOPEN segment (tracking identifier ``SIOPEN <key>``) with
  the segment's grade, its finding site (SCT code + laterality) and whether the grade
  was set by the reader;
- one TID 1501 group per Curie segment (``Curie <key>``) and one ``Totals`` group with
  the SIOPEN total (0-72) and the Curie total (0-30);
- one TID 1410 group per location of every hot spot that is not rejected: an Image
  Region SCOORD POINT on the source frame (referenced SOP Instance + frame number),
  the review status (``confirmed`` / ``proposed``), pattern, category, confidence and
  peak ratio. All locations of one hot spot share its Tracking Unique Identifier.

Coordinates: a ``Location`` is a 0-based stored pixel index (row, col), the index
being the pixel centre. DICOM SCOORD graphic data are (column, row) with the top-left
corner of the top-left pixel at 0.0\\0.0 (PS3.3 C.18.6.1.1), so the point written is
``(col + 0.5, row + 0.5)`` and reading subtracts 0.5 again.

The reader is the person observer, mibgkit the device observer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from mibgkit.export import codes as mcodes
from mibgkit.export._atomic import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    import highdicom as hd

    from mibgkit.detect.model import Location
    from mibgkit.io.model import Study
    from mibgkit.scoring.reading import Reading

__all__ = ["SrHotspot", "SrContent", "reading_to_sr", "write_sr", "read_sr", "study_sources"]

PIXEL_CENTRE = 0.5  # SCOORD of the centre of pixel index i is i + 0.5
DEVICE_UID_ENTROPY = ["mibgkit", "device-observer"]
TIME_POINT = Code("C2348792", "UMLS", "Time Point")  # as highdicom.sr.TimePointContext writes it


@dataclass
class SrHotspot:
    """A hot spot as read back from an SR: one per tracking identifier.

    ``locations`` holds ``(sop_instance_uid, frame, row, col)`` in stored pixel
    coordinates, 0-based, like :class:`mibgkit.detect.model.Location`.
    """

    id: str
    tracking_uid: str
    status: str
    segment: str | None
    pattern: str
    category: str
    confidence: float | None
    peak_ratio: float | None
    locations: list[tuple[str, int, float, float]] = field(default_factory=list)


@dataclass
class SrContent:
    """What :func:`read_sr` finds in a mibgkit SR."""

    siopen: dict[str, int]
    siopen_source: dict[str, str]
    siopen_total: int | None
    curie: dict[str, int]
    curie_total: int | None
    hotspots: list[SrHotspot]
    reader: str | None
    device: str | None
    timepoint: str | None
    referenced_sop_instance_uids: list[str]


# ------------------------------------------------------------------------- writing
def study_sources(study: Study) -> list[str]:
    """Paths of every stored object a study's images came from (views, volumes, dynamics).

    Parameters
    ----------
    study : Study

    Returns
    -------
    list of str
        Unique paths, in first-seen order.
    """
    paths: list[str] = [v.source.path for v in study.views]
    for vol in study.volumes:
        paths.extend(s.path for s in vol.sources)
    for dyn in study.dynamics:
        paths.extend(s.path for s in dyn.sources)
    return list(dict.fromkeys(p for p in paths if p))


def _source_datasets(sources: Iterable[str | os.PathLike[str] | Dataset]) -> dict[str, Dataset]:
    by_uid: dict[str, Dataset] = {}
    for src in sources:
        ds = src if isinstance(src, Dataset) else pydicom.dcmread(src, stop_before_pixels=True)
        by_uid.setdefault(str(ds.SOPInstanceUID), ds)
    return by_uid


def _device_observer() -> Any:
    import highdicom as hd

    from mibgkit import __version__

    return hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=DEVICE_UID_ENTROPY),
            name="mibgkit",
            manufacturer_name="mibgkit",
            model_name=f"mibgkit {__version__}",
        ),
    )


def _observation_context(reader: str | None) -> Any:
    import highdicom as hd

    person = None
    if reader:
        person = hd.sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=reader),
        )
    return hd.sr.ObservationContext(
        observer_person_context=person, observer_device_context=_device_observer()
    )


def _algorithm() -> Any:
    import highdicom as hd

    from mibgkit import __version__

    return hd.sr.AlgorithmIdentification(name="mibgkit", version=__version__)


def _score(name: Any, value: int) -> Any:
    import highdicom as hd

    return hd.sr.Measurement(name=name, value=float(value), unit=mcodes.UNIT_SCORE)


def _segment_groups(reading: Reading, timepoint: Any) -> list[Any]:
    import highdicom as hd

    groups = []
    for key, seg in reading.segments.items():
        site, laterality = mcodes.SEGMENT_SITES[key]
        groups.append(
            hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier=f"SIOPEN {key}"),
                time_point_context=timepoint,
                finding_sites=[hd.sr.FindingSite(site, laterality=laterality)],
                algorithm_id=_algorithm() if seg.source == "auto" else None,
                measurements=[_score(mcodes.SIOPEN_SEGMENT_SCORE, seg.siopen)],
            )
        )
    for key, grade in reading.curie_segments.items():
        groups.append(
            hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier=f"Curie {key}"),
                time_point_context=timepoint,
                measurements=[_score(mcodes.CURIE_SEGMENT_SCORE, grade)],
            )
        )
    groups.append(
        hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier="Totals"),
            time_point_context=timepoint,
            measurements=[
                _score(mcodes.SIOPEN_TOTAL_SCORE, reading.siopen_total),
                _score(mcodes.CURIE_TOTAL_SCORE, reading.curie_total),
            ],
        )
    )
    return groups


def _point_region(loc: Location, ds: Dataset, hotspot_id: str) -> Any:
    """SCOORD POINT at the centre of the stored pixel ``(loc.row, loc.col)`` of its frame."""
    import highdicom as hd
    from highdicom._standard_utils import is_multiframe_image

    multiframe = is_multiframe_image(ds)
    if not multiframe and int(loc.frame) != 1:
        raise ValueError(f"hot spot {hotspot_id}: frame {loc.frame} of a single-frame image")
    source = hd.sr.SourceImageForRegion.from_source_image(
        ds, referenced_frame_numbers=[int(loc.frame)] if multiframe else None
    )
    return hd.sr.ImageRegion(
        graphic_type=hd.sr.GraphicTypeValues.POINT,
        graphic_data=np.array([[loc.col + PIXEL_CENTRE, loc.row + PIXEL_CENTRE]]),
        source_image=source,
        pixel_origin_interpretation=hd.sr.PixelOriginInterpretationValues.FRAME if multiframe else None,
    )


def _hotspot_groups(reading: Reading, by_uid: dict[str, Dataset], timepoint: Any) -> list[Any]:
    """One TID 1410 group per location of each reported hot spot (TID 1501 if it has none)."""
    import highdicom as hd

    groups: list[Any] = []
    for h in reading.hotspots:
        if h.status == "rejected":
            continue
        content: dict[str, Any] = {
            "time_point_context": timepoint,
            "finding_type": codes.DCM.Finding,
            "algorithm_id": _algorithm() if h.source == "auto" else None,
            "qualitative_evaluations": [
                hd.sr.QualitativeEvaluation(mcodes.FINDING_STATUS, mcodes.STATUS_CODES[h.status]),
                hd.sr.QualitativeEvaluation(codes.DCM.DistributionDescriptor, mcodes.PATTERN_CODES[h.pattern]),
                hd.sr.QualitativeEvaluation(mcodes.FINDING_CATEGORY, mcodes.category_code(h.category)),
            ],
            "measurements": [hd.sr.Measurement(mcodes.DETECTION_CONFIDENCE, float(h.confidence), mcodes.UNIT_ONE)]
            + ([] if h.peak_ratio is None else [hd.sr.Measurement(mcodes.PEAK_RATIO, float(h.peak_ratio), mcodes.UNIT_ONE)]),
        }
        if h.segment is not None:
            site, laterality = mcodes.SEGMENT_SITES[h.segment]
            content["finding_sites"] = [hd.sr.FindingSite(site, laterality=laterality)]
        tracking = hd.sr.TrackingIdentifier(
            uid=generate_uid(), identifier=f"hotspot {h.id}" + (f" {h.segment}" if h.segment else "")
        )
        if not h.locations:
            groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(tracking_identifier=tracking, **content))
        for loc in h.locations:
            ds = by_uid.get(loc.sop_instance_uid)
            if ds is None:
                raise ValueError(
                    f"hot spot {h.id} is located on SOP Instance {loc.sop_instance_uid}, "
                    "which is not among the source images given"
                )
            groups.append(
                hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                    tracking_identifier=tracking, referenced_region=_point_region(loc, ds, h.id), **content
                )
            )
    return groups


def reading_to_sr(
    reading: Reading,
    sources: Iterable[str | os.PathLike[str] | Dataset],
    *,
    series_number: int = 990,
    instance_number: int = 1,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
) -> hd.sr.ComprehensiveSR:
    """Build the TID 1500 Comprehensive SR of a reading.

    Parameters
    ----------
    reading : Reading
        The reading; rejected hot spots are left out, proposed ones are flagged.
    sources : iterable of path or pydicom.Dataset
        The stored images the reading refers to (e.g. :func:`study_sources`); every hot
        spot location must name one of them. Patient and study attributes of the SR are
        taken from the first one.
    series_number, instance_number : int
    series_instance_uid, sop_instance_uid : str, optional
        New UIDs are generated when omitted.

    Returns
    -------
    highdicom.sr.ComprehensiveSR

    Raises
    ------
    ValueError
        A location names an image that is not among ``sources``, or no source is given.
    """
    import highdicom as hd

    from mibgkit import __version__

    by_uid = _source_datasets(sources)
    if not by_uid:
        raise ValueError("an SR needs at least one source image (patient and study come from it)")
    timepoint = None
    if reading.study.get("timepoint"):
        timepoint = hd.sr.TimePointContext(time_point=str(reading.study["timepoint"]))
    groups = _segment_groups(reading, timepoint) + _hotspot_groups(reading, by_uid, timepoint)
    report = hd.sr.MeasurementReport(
        observation_context=_observation_context(reading.reader),
        procedure_reported=mcodes.PROCEDURE,
        imaging_measurements=groups,
    )
    return hd.sr.ComprehensiveSR(
        evidence=list(by_uid.values()),
        content=report[0],
        series_instance_uid=series_instance_uid or generate_uid(),
        series_number=series_number,
        sop_instance_uid=sop_instance_uid or generate_uid(),
        instance_number=instance_number,
        manufacturer="mibgkit",
        manufacturer_model_name="mibgkit",
        software_versions=__version__,
        series_description="mibgkit SIOPEN reading",
        is_complete=True,
        coding_schemes=[_coding_scheme()],
    )


def _coding_scheme() -> Any:
    from highdicom.coding_schemes import CodingSchemeIdentificationItem

    return CodingSchemeIdentificationItem(
        designator=mcodes.SCHEME,
        name="mibgkit private codes",
        responsible_organization="mibgkit",
    )


def write_sr(
    reading: Reading,
    sources: Iterable[str | os.PathLike[str] | Dataset],
    path: str | os.PathLike[str],
    **kwargs: Any,
) -> Path:
    """Write the SR of a reading to ``path`` atomically; see :func:`reading_to_sr`.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    sr = reading_to_sr(reading, sources, **kwargs)
    with atomic_path(path) as tmp:
        sr.save_as(tmp, enforce_file_format=True)
    return Path(path)


# ------------------------------------------------------------------------- reading
def _num(group: Any, concept: Any) -> int | None:
    found = group.get_measurements(name=concept)
    return None if not found else round(float(found[0].value))


def _qual(group: Any, concept: Any) -> str | None:
    found = group.get_qualitative_evaluations(name=concept)
    return None if not found else str(found[0].value.value)


def read_sr(source: str | os.PathLike[str] | Dataset) -> SrContent:
    """Read back the scores and hot spots of an SR written by :func:`write_sr`.

    Parameters
    ----------
    source : path or pydicom.Dataset

    Returns
    -------
    SrContent
    """
    import highdicom as hd
    from highdicom.sr.utils import find_content_items

    ds = source if isinstance(source, Dataset) else pydicom.dcmread(source)
    sr = hd.sr.ComprehensiveSR.from_dataset(ds)
    content: Any = sr.content  # a MeasurementReport for a TID 1500 document
    siopen: dict[str, int] = {}
    siopen_source: dict[str, str] = {}
    curie: dict[str, int] = {}
    siopen_total = curie_total = None
    timepoint = None
    for g in content.get_image_measurement_groups():
        ident = g.tracking_identifier or ""
        found = find_content_items(g[0], name=TIME_POINT)
        if found:
            timepoint = str(found[0].TextValue)
        if ident.startswith("SIOPEN "):
            key = ident.removeprefix("SIOPEN ")
            siopen[key] = _num(g, mcodes.SIOPEN_SEGMENT_SCORE) or 0
            by_algorithm = find_content_items(g[0], name=codes.DCM.AlgorithmName)
            siopen_source[key] = "auto" if by_algorithm else "reader"
        elif ident.startswith("Curie "):
            curie[ident.removeprefix("Curie ")] = _num(g, mcodes.CURIE_SEGMENT_SCORE) or 0
        elif ident == "Totals":
            siopen_total = _num(g, mcodes.SIOPEN_TOTAL_SCORE)
            curie_total = _num(g, mcodes.CURIE_TOTAL_SCORE)
    hotspots: dict[str, SrHotspot] = {}
    for g in content.get_image_measurement_groups():
        if (g.tracking_identifier or "").startswith("hotspot "):
            _hotspot_of(g, hotspots)  # a hot spot without location
    for g in content.get_planar_roi_measurement_groups():
        h = _hotspot_of(g, hotspots)
        region = g.roi
        ref = region.ContentSequence[0].ReferencedSOPSequence[0]
        frames = getattr(ref, "ReferencedFrameNumber", None)
        frame = 1 if frames is None else int(frames if not isinstance(frames, list | tuple) else frames[0])
        col, row = (float(v) - PIXEL_CENTRE for v in region.value[0])
        h.locations.append((str(ref.ReferencedSOPInstanceUID), frame, row, col))
    reader, device = _observers(ds)
    evidence = [
        str(inst.ReferencedSOPInstanceUID)
        for keyword in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence")
        for study in ds.get(keyword, [])
        for series in study.ReferencedSeriesSequence
        for inst in series.ReferencedSOPSequence
    ]
    return SrContent(
        siopen=siopen,
        siopen_source=siopen_source,
        siopen_total=siopen_total,
        curie=curie,
        curie_total=curie_total,
        hotspots=list(hotspots.values()),
        reader=reader,
        device=device,
        timepoint=timepoint,
        referenced_sop_instance_uids=evidence,
    )


def _hotspot_of(group: Any, found: dict[str, SrHotspot]) -> SrHotspot:
    """The hot spot a measurement group belongs to (created on first sight)."""
    parts = (group.tracking_identifier or "").split(" ")
    hid = parts[1]
    if hid not in found:
        conf = group.get_measurements(name=mcodes.DETECTION_CONFIDENCE)
        ratio = group.get_measurements(name=mcodes.PEAK_RATIO)
        found[hid] = SrHotspot(
            id=hid,
            tracking_uid=str(group.tracking_uid),
            status=_qual(group, mcodes.FINDING_STATUS) or "",
            segment=parts[2] if len(parts) > 2 else None,
            pattern=_pattern(_qual(group, codes.DCM.DistributionDescriptor)),
            category=_qual(group, mcodes.FINDING_CATEGORY) or "",
            confidence=float(conf[0].value) if conf else None,
            peak_ratio=float(ratio[0].value) if ratio else None,
        )
    return found[hid]


def _pattern(code_value: str | None) -> str:
    for name, code in mcodes.PATTERN_CODES.items():
        if code.value == code_value:
            return name
    return "focal"


def _observers(ds: Dataset) -> tuple[str | None, str | None]:
    reader = device = None
    for item in ds.ContentSequence:
        name = item.ConceptNameCodeSequence[0].CodeValue
        if name == codes.DCM.PersonObserverName.value:
            reader = str(item.PersonName)
        elif name == codes.DCM.DeviceObserverName.value:
            device = str(item.TextValue)
    return reader, device


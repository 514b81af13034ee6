"""DICOM SR export: written, validated with dciodvfy, read back with the same content."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from export_data import BACKGROUND, NM1, PETRI, dciodvfy_errors, uid_of

from mibgkit.detect.model import Hotspot, Location
from mibgkit.export import read_sr, reading_to_sr, write_sr
from mibgkit.scoring.reading import Reading
from mibgkit.segments import SIOPEN_KEYS


def _scoords(ds: pydicom.Dataset) -> list[tuple[str, list[float], list[int] | None]]:
    """(referenced SOP, graphic data, frames) of every SCOORD in the content tree."""
    found = []

    def walk(items: pydicom.Sequence) -> None:
        for item in items:
            if item.ValueType == "SCOORD":
                ref = item.ContentSequence[0].ReferencedSOPSequence[0]
                frames = ref.get("ReferencedFrameNumber")
                frames = None if frames is None else [int(f) for f in np.atleast_1d(frames)]
                found.append((str(ref.ReferencedSOPInstanceUID), [float(v) for v in item.GraphicData], frames))
            if "ContentSequence" in item:
                walk(item.ContentSequence)

    walk(ds.ContentSequence)
    return found


def test_round_trip_same_content(tmp_path: Path, siemens_reading: Reading) -> None:
    path = write_sr(siemens_reading, [BACKGROUND, PETRI], tmp_path / "reading_sr.dcm")
    back = read_sr(path)

    assert back.siopen == {k: s.siopen for k, s in siemens_reading.segments.items()}
    assert list(back.siopen) == list(SIOPEN_KEYS)
    assert back.siopen["thoracic_cage"] == 2 and back.siopen_source["thoracic_cage"] == "reader"
    assert back.siopen_source["skull"] == "auto"
    assert back.siopen_total == siemens_reading.siopen_total == 1 + 2 + 1 + 5
    assert back.curie == siemens_reading.curie_segments
    assert back.curie_total == siemens_reading.curie_total
    assert back.reader == "Curie^Marie"
    assert back.device == "mibgkit"
    assert back.timepoint == "diagnosis"
    assert sorted(back.referenced_sop_instance_uids) == sorted([uid_of(BACKGROUND), uid_of(PETRI)])

    by_id = {h.id: h for h in back.hotspots}
    assert set(by_id) == {"h1", "h2", "h4", "h5"}  # rejected h3 is not reported
    assert by_id["h5"].locations == [] and by_id["h5"].category == "soft_tissue"
    assert back.curie["soft_tissue"] == 1
    for h in siemens_reading.hotspots:
        if h.status == "rejected":
            continue
        got = by_id[h.id]
        assert (got.status, got.segment, got.pattern, got.category) == (h.status, h.segment, h.pattern, h.category)
        assert got.locations == [(loc.sop_instance_uid, loc.frame, loc.row, loc.col) for loc in h.locations]
    assert by_id["h1"].confidence == pytest.approx(0.91)
    assert by_id["h1"].peak_ratio == pytest.approx(4.1)
    assert by_id["h2"].status == "proposed"


def test_scoord_is_column_row_with_pixel_centre_at_half(tmp_path: Path, siemens_reading: Reading) -> None:
    path = write_sr(siemens_reading, [BACKGROUND, PETRI], tmp_path / "sr.dcm")
    points = _scoords(pydicom.dcmread(path))
    assert points == [
        (uid_of(BACKGROUND), [41.5, 30.5], [1]),
        (uid_of(BACKGROUND), [86.5, 31.5], [2]),
        (uid_of(PETRI), [63.75, 101.0], [1]),
        (uid_of(BACKGROUND), [70.5, 120.5], [1]),
    ]


def test_written_sr_passes_dciodvfy(tmp_path: Path, siemens_reading: Reading) -> None:
    path = write_sr(siemens_reading, [BACKGROUND, PETRI], tmp_path / "sr.dcm")
    assert dciodvfy_errors(path) == []


def test_highdicom_reads_it_as_tid1500(tmp_path: Path, siemens_reading: Reading) -> None:
    path = write_sr(siemens_reading, [BACKGROUND, PETRI], tmp_path / "sr.dcm")
    sr = hd.sr.srread(path)
    assert isinstance(sr, hd.sr.ComprehensiveSR)
    assert sr.content[0].ContentTemplateSequence[0].TemplateIdentifier == "1500"
    groups = sr.content.get_planar_roi_measurement_groups()
    assert len(groups) == 4  # h1 on two views, h2, h4
    assert len({str(g.tracking_uid) for g in groups if g.tracking_identifier.startswith("hotspot h1")}) == 1
    ds = pydicom.dcmread(path)
    assert ds.PatientID == pydicom.dcmread(BACKGROUND, stop_before_pixels=True).PatientID
    assert ds.CompletionFlag == "COMPLETE" and ds.VerificationFlag == "UNVERIFIED"


def test_single_frame_source_is_referenced_without_frame_number(tmp_path: Path) -> None:
    uid = uid_of(NM1)
    reading = Reading(hotspots=[Hotspot("h1", "spine", status="confirmed",
                                        locations=[Location("ANT", uid, 1, 300.0, 128.0)])])
    path = write_sr(reading, [NM1], tmp_path / "sr.dcm")
    assert _scoords(pydicom.dcmread(path)) == [(uid, [128.5, 300.5], None)]
    assert read_sr(path).hotspots[0].locations == [(uid, 1, 300.0, 128.0)]
    assert read_sr(path).reader is None
    assert dciodvfy_errors(path) == []


def test_location_on_unknown_image_is_refused(siemens_reading: Reading) -> None:
    with pytest.raises(ValueError, match="not among the source images"):
        reading_to_sr(siemens_reading, [PETRI])


def test_sr_without_sources_is_refused(siemens_reading: Reading) -> None:
    with pytest.raises(ValueError, match="at least one source"):
        reading_to_sr(siemens_reading, [])

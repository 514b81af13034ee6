"""Exports from a study loaded with ``mibgkit.load`` (real file), validated with dciodvfy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from export_data import NM1, dciodvfy_errors

import mibgkit
from mibgkit.anatomy.model import SegmentMap
from mibgkit.detect.model import Hotspot, Location
from mibgkit.export import export_view_labels, read_sr, study_sources, write_sr
from mibgkit.scoring.reading import Reading


def test_sr_and_seg_of_a_loaded_study(tmp_path: Path) -> None:
    study = mibgkit.load(str(NM1), assume_view="ANT")[0]
    view = study.view("ANT")
    assert study_sources(study) == [str(NM1)]

    # a finding at normalized (200, 60) is reported at its stored position
    row, col = view.source.to_stored(200.0, 60.0)
    reading = Reading(
        study={"study_instance_uid": study.info.study_instance_uid, "patient_id": study.info.patient_key},
        hotspots=[Hotspot("h1", "spine", status="confirmed",
                          locations=[Location("ANT", view.source.sop_instance_uid, view.source.frame, row, col)])],
    )
    sr_path = write_sr(reading, study_sources(study), tmp_path / "sr.dcm")
    assert dciodvfy_errors(sr_path) == []
    (h,) = read_sr(sr_path).hotspots
    assert h.locations == [(view.source.sop_instance_uid, 1, row, col)]

    labels = np.zeros(view.shape, np.uint8)
    labels[100:300, 110:140] = 3
    out = export_view_labels(SegmentMap(labels, "ANT", view.pixel_spacing_mm), view, tmp_path)
    assert out.format == "dicom-seg"
    assert dciodvfy_errors(out.path) == []

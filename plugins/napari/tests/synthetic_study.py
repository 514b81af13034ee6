"""A small two-view study built from arrays, for tests that need no DICOM pipeline.

``make_study`` returns a real :class:`~mibgkit.io.model.Study` (ANT and a mirrored POST,
a hot bladder) with a hand-drawn SIOPEN label map; ``make_reading`` a reading of four
proposals: three bone lesions and one physiological false positive (bladder counted as
pelvis).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mibgkit.anatomy.model import SegmentMap, StudySegmentMaps, VolumeSegmentMap
from mibgkit.detect.model import Hotspot, Location
from mibgkit.io.model import PlanarView, StoredFrame, Study, StudyInfo, Volume
from mibgkit.scoring.reading import Reading
from mibgkit.segments import label_of

REPO = Path(__file__).resolve().parents[3]
ROWS, COLS, SPACING = 240, 96, (4.0, 4.0)
LESIONS = {"h1": ("skull", 15, 48), "h2": ("spine", 100, 49), "h3": ("right_lower_limb_proximal", 180, 38)}
BLADDER = ("h4", "pelvis", 150, 48)


def _labels() -> np.ndarray:
    lab = np.zeros((ROWS, COLS), np.uint8)
    lab[2:32, 32:64] = label_of("skull")
    lab[36:92, 28:70] = label_of("thoracic_cage")
    lab[32:140, 44:54] = label_of("spine")
    lab[140:165, 30:66] = label_of("pelvis")
    lab[40:90, 12:24] = label_of("right_upper_limb_proximal")
    lab[90:140, 10:22] = label_of("right_upper_limb_distal")
    lab[40:90, 72:84] = label_of("left_upper_limb_proximal")
    lab[90:140, 74:86] = label_of("left_upper_limb_distal")
    lab[165:200, 32:46] = label_of("right_lower_limb_proximal")
    lab[200:238, 32:46] = label_of("right_lower_limb_distal")
    lab[165:200, 50:64] = label_of("left_lower_limb_proximal")
    lab[200:238, 50:64] = label_of("left_lower_limb_distal")
    return lab


def _image(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rr, cc = np.mgrid[:ROWS, :COLS]
    img = 5.0 + 10.0 * (labels > 0)
    for _seg, r, c in LESIONS.values():
        img += 80.0 * np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / 8.0)
    _, _, r, c = BLADDER
    img += 600.0 * np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / 30.0)
    return rng.poisson(img).astype(np.float32)


SPECT_UID = "1.2.826.0.1.99.SPECT"
SPECT_SHAPE, SPECT_SPACING = (40, 32, 32), (4.0, 4.0, 4.0)
SPECT_LESION = (25.0, 16.0, 17.0)  # (slice, row, col) of the spine lesion h2 on SPECT


def _spect() -> tuple[Volume, VolumeSegmentMap]:
    ss, rr, cc = np.mgrid[: SPECT_SHAPE[0], : SPECT_SHAPE[1], : SPECT_SHAPE[2]]
    s0, r0, c0 = SPECT_LESION
    array = (2.0 + 50.0 * np.exp(-((ss - s0) ** 2 + (rr - r0) ** 2 + (cc - c0) ** 2) / 4.0)).astype(np.float32)
    sources = [StoredFrame("/tmp/spect.dcm", SPECT_UID, k + 1, SPECT_SHAPE[1:]) for k in range(SPECT_SHAPE[0])]
    vol = Volume(array, SPECT_SPACING, (0.0, 0.0, 0.0), np.eye(3), "NM", sources)
    labels = np.zeros(SPECT_SHAPE, np.uint8)
    labels[:, 12:20, 13:21] = label_of("spine")
    return vol, VolumeSegmentMap(labels, SPECT_SPACING, "atlas")


def make_study(spect: bool = False) -> tuple[Study, StudySegmentMaps]:
    """A two-view study with its segment maps (normalized ANT == normalized POST);
    with ``spect`` also a small SPECT volume showing the spine lesion."""
    rng = np.random.default_rng(0)
    labels = _labels()
    views = []
    for name, mirrored in (("ANT", False), ("POST", True)):
        src = StoredFrame(f"/tmp/{name}.dcm", f"1.2.826.0.1.99.{name == 'POST'}", 1, (ROWS, COLS), mirrored=mirrored)
        views.append(PlanarView(_image(labels, rng), name, "ViewCodeSequence", "whole_body", SPACING, src))  # type: ignore[arg-type]
    study = Study(StudyInfo("1.2.826.0.1.99", patient_key="k1", patient_age_years=4.0), views=views)
    maps = StudySegmentMaps(views={i: SegmentMap(labels.copy(), v.view, SPACING) for i, v in enumerate(views)})
    if spect:
        vol, vmap = _spect()
        study.volumes.append(vol)
        maps.volumes[0] = vmap
    return study, maps


def make_reading(study: Study) -> Reading:
    """Four proposals located on both views in stored coordinates."""
    ant, post = study.pair() or (study.views[0], study.views[1])
    spots = [(hid, seg, r, c) for hid, (seg, r, c) in LESIONS.items()] + [BLADDER]
    hotspots = []
    for hid, seg, r, c in spots:
        locs = [
            Location(v.view, v.source.sop_instance_uid, 1, *v.source.to_stored(r, c)) for v in (ant, post)
        ]
        if hid == "h2" and study.volumes:
            locs.append(Location("SPECT", SPECT_UID, 26, SPECT_LESION[1], SPECT_LESION[2], slice=SPECT_LESION[0]))
        hotspots.append(Hotspot(hid, seg, confidence=0.5 if hid == "h4" else 0.9, locations=locs))
    return Reading(study={"study_instance_uid": study.info.study_instance_uid}, hotspots=hotspots)



"""Fixtures of the export tests: a hand-built reading on real NM files."""

from __future__ import annotations

import pytest
from export_data import BACKGROUND, PETRI, uid_of

from mibgkit.detect.model import Hotspot, Location
from mibgkit.scoring.reading import Reading


@pytest.fixture()
def siemens_reading() -> Reading:
    """A reading with confirmed, proposed, rejected and reader-graded findings."""
    bg, petri = uid_of(BACKGROUND), uid_of(PETRI)
    reading = Reading(
        study={"study_instance_uid": "x", "patient_id": "k1", "timepoint": "diagnosis"},
        hotspots=[
            Hotspot("h1", "skull", status="confirmed", confidence=0.91, peak_ratio=4.1,
                    locations=[Location("ANT", bg, 1, 30.0, 41.0), Location("POST", bg, 2, 31.0, 86.0)]),
            Hotspot("h2", "pelvis", status="proposed", confidence=0.55,
                    locations=[Location("ANT", petri, 1, 100.5, 63.25)]),
            Hotspot("h3", "spine", status="rejected", locations=[Location("ANT", petri, 1, 5.0, 5.0)]),
            Hotspot("h4", "left_lower_limb_distal", pattern="diffuse", diffuse_fraction=0.6,
                    status="confirmed", locations=[Location("ANT", bg, 1, 120.0, 70.0)]),
            Hotspot("h5", None, status="confirmed", category="soft_tissue"),  # no location
        ],
        reader="Curie^Marie",
    )
    reading.set_grade("thoracic_cage", 2)
    return reading

"""Hand-built readings for the cohort tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mibgkit.detect.model import Hotspot, Location
from mibgkit.scoring import Reading

DATES = {
    "diagnosis": "2024-01-10",
    "post_induction": "2024-05-02",
    "post_hdc": "2024-08-20",
    "end_of_treatment": "2025-02-11",
    "relapse": "2025-09-30",
}


def build_reading(
    patient: str,
    timepoint: str | None,
    findings: dict[str, object],
    reader: str | None = "A",
    uid: str | None = None,
    date: str | None = None,
) -> Reading:
    """A reading with the given findings per segment.

    ``findings[segment]`` is an int (number of discrete foci) or a float in (0, 1]
    (one diffuse finding covering that fraction of the bone).
    """
    hotspots: list[Hotspot] = []
    for seg, what in findings.items():
        if isinstance(what, float):
            hotspots.append(Hotspot(f"h{len(hotspots) + 1}", seg, pattern="diffuse", diffuse_fraction=what,
                                    status="confirmed", locations=[Location("ANT", "1.2", 1, 100.0, 50.0)]))
        else:
            for i in range(int(what)):  # type: ignore[call-overload]
                hotspots.append(Hotspot(f"h{len(hotspots) + 1}", seg, status="confirmed",
                                        locations=[Location("ANT", "1.2", 1, 100.0 + 10 * i, 50.0)]))
    study = {
        "study_instance_uid": uid or f"1.2.826.0.1.{patient}.{timepoint}",
        "patient_id": patient,
        "acquisition_datetime": (date or DATES.get(timepoint or "", "2024-01-01")) + "T10:00:00",
    }
    if timepoint is not None:
        study["timepoint"] = timepoint
    return Reading(study=study, hotspots=hotspots, reader=reader)


@pytest.fixture
def make_reading() -> Callable[..., Reading]:
    """Factory: ``make_reading(patient, timepoint, {segment: foci or diffuse fraction}, reader=...)``."""
    return build_reading

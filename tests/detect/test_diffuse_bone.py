"""Diffuse bone involvement on phantoms: grades 4-6 where the truth is diffuse, none for focal disease."""

from __future__ import annotations

from typing import Any

from mibgkit.detect.detector import detect_study
from mibgkit.detect.model import Hotspot
from mibgkit.scoring.rules import siopen_grade
from mibgkit.segments import SIOPEN_KEYS


def _grades(hotspots: list[Hotspot]) -> tuple[dict[str, int], dict[str, float]]:
    n_foci = dict.fromkeys(SIOPEN_KEYS, 0)
    diffuse = dict.fromkeys(SIOPEN_KEYS, 0.0)
    for h in hotspots:
        if h.category != "bone" or h.segment not in n_foci:
            continue
        if h.pattern == "diffuse":
            diffuse[h.segment] = float(h.diffuse_fraction or 0.0)
        else:
            n_foci[h.segment] += 1
    return {k: siopen_grade(n_foci[k], diffuse[k]) for k in SIOPEN_KEYS}, diffuse


def test_diffuse_segments_are_graded_4_to_6(diffuse_sim: Any, maps_of: Any) -> None:
    grades, diffuse = _grades(detect_study(diffuse_sim.study, maps_of(diffuse_sim)).hotspots)
    truth = diffuse_sim.truth.siopen
    # a long bone with truth fraction 1.0 (grade 6) must come out diffuse
    assert truth["right_lower_limb_proximal"] == 6
    assert grades["right_lower_limb_proximal"] >= 4
    assert diffuse["right_lower_limb_proximal"] >= 0.5
    high = [k for k in SIOPEN_KEYS if truth[k] >= 4]
    assert sum(grades[k] >= 4 for k in high) >= 6
    # every diffuse call is in a segment that truly has grade >= 4
    for k, f in diffuse.items():
        if f > 0:
            assert truth[k] >= 4, k


def test_focal_disease_is_not_called_diffuse(limited_sim: Any, maps_of: Any) -> None:
    grades, diffuse = _grades(detect_study(limited_sim.study, maps_of(limited_sim)).hotspots)
    assert max(limited_sim.truth.siopen.values()) <= 3
    assert all(f == 0.0 for f in diffuse.values())
    assert max(grades.values()) <= 3

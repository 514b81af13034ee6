"""Vertex lifted by the scatter between raised hands (mibgkit.anatomy.vertex), on a phantom."""

from __future__ import annotations

from typing import Any

import numpy as np

import mibgkit.anatomy.planar as planar
from mibgkit.anatomy.planar import map_pair
from mibgkit.phantom.patient import make_patient
from mibgkit.phantom.simulation import simulate
from mibgkit.segments import label_of


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(int(a.sum()) + int(b.sum()), 1)


def _map_without_vertex_check(ant: Any, post: Any, age: float) -> Any:
    """The pair mapped with the vertex check turned off (the outline's head top kept)."""
    orig = planar.refit_vertex
    try:
        planar.refit_vertex = lambda img, fit, outline=None: fit  # type: ignore[assignment]
        return map_pair(ant, post, age)
    finally:
        planar.refit_vertex = orig


def test_raised_arms_vertex_is_corrected_and_the_skull_follows() -> None:
    # tuning seed 162 of bench_segments (7.4 y, arms raised): the outline's top was 21 px
    # above the phantom's vertex
    patient = make_patient(7.4, sex="F", seed=162, pattern="diffuse", arms="raised")
    sim = simulate(patient, seed=162)
    ant, post = sim.study.view("ANT"), sim.study.view("POST")
    after = map_pair(ant, post, 7.4)
    before = _map_without_vertex_check(ant, post, 7.4)
    top_b = next(lm.row for lm in before[0].landmarks if lm.name == "head_top")
    top_a = next(lm.row for lm in after[0].landmarks if lm.name == "head_top")
    assert top_a - top_b > 8.0
    sk = label_of("skull")
    tru = sim.truth.labels["ANT"] == sk
    assert _dice(after[0].labels == sk, tru) > _dice(before[0].labels == sk, tru) + 0.03


def test_arms_at_the_sides_keep_the_outline_vertex() -> None:
    patient = make_patient(9.0, sex="M", seed=3105, pattern="none", arms="sides")
    sim = simulate(patient, seed=3105)
    ant, post = sim.study.view("ANT"), sim.study.view("POST")
    after = map_pair(ant, post, 9.0)
    before = _map_without_vertex_check(ant, post, 9.0)
    assert np.array_equal(after[0].labels, before[0].labels)

"""Context features (mirror partner, shoulder, stronger neighbour, depth on the spine) and what
they buy: paired lacrimal glands on the mapper's skull are organ findings, not skull lesions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mibgkit.detect import DEFAULT_PARAMS, detect_study
from mibgkit.detect.context import CONTEXT_FEATURES, NO_MIRROR
from mibgkit.detect.params import FEATURES
from mibgkit.detect.physiology import ORGANS


@pytest.fixture(scope="module")
def lacrimal_sim() -> Any:
    """Held-out tuning seed 233 drawn as the detection benchmark draws it (2-year-old, limited disease,
    truth SIOPEN 3, skull 0): the previous confidence model proposed both lacrimal glands as skull
    lesions on the mapper's skull (total 4, the wrong side of ``<= 3``)."""
    from mibgkit.phantom import make_patient, simulate

    seed = 233
    rng = np.random.default_rng(seed)
    age = float(rng.uniform(1.0, 14.0))
    arms = "on_abdomen" if age < 2 else str(rng.choice(("sides", "sides", "abducted", "raised")))
    patient = make_patient(age_years=age, sex=str(rng.choice(["F", "M"])), seed=seed, pattern="limited", arms=arms)
    return simulate(patient, seed=seed, collimator="ME", spect=False)


@pytest.fixture(scope="module")
def lacrimal_detection(lacrimal_sim: Any) -> Any:
    from mibgkit.pipeline import map_study

    return detect_study(lacrimal_sim.study, map_study(lacrimal_sim.study), DEFAULT_PARAMS)


def _on_organ(sim: Any, cand: Any, word: str) -> bool:
    masks = sim.truth.organ_masks.get(cand.view, {})
    r, c = int(round(cand.row)), int(round(cand.col))
    return any(word in name and m[r, c] for name, m in masks.items())


def test_context_columns_are_appended_and_finite(lacrimal_detection: Any) -> None:
    i0 = FEATURES.index(CONTEXT_FEATURES[0])  # contiguous: the detector fills the block by index
    assert FEATURES[i0:i0 + len(CONTEXT_FEATURES)] == CONTEXT_FEATURES
    assert all(n.startswith("ctx_") for n in CONTEXT_FEATURES)
    x = lacrimal_detection.features
    assert x.shape == (len(lacrimal_detection.candidates), len(FEATURES))
    ctx = x[:, i0:i0 + len(CONTEXT_FEATURES)]
    assert np.isfinite(ctx).all()
    mirror = ctx[:, 0]
    assert ((mirror == NO_MIRROR) | ((mirror >= 0.0) & (mirror <= 1.5))).all()
    near = ctx[:, 2]
    assert (near > 0).all() and near.max() <= DEFAULT_PARAMS.ctx_near_cap_mm


def test_paired_lacrimal_glands_have_a_mirror_partner(lacrimal_sim: Any, lacrimal_detection: Any) -> None:
    det = lacrimal_detection
    i = FEATURES.index("ctx_mirror")
    glands = [k for k, f in enumerate(det.candidates) if _on_organ(lacrimal_sim, f.best, "lacrimal")]
    assert len(glands) >= 2
    assert all(det.features[k, i] >= 0.5 for k in glands)


def test_paired_lacrimal_glands_are_no_longer_two_skull_lesions(lacrimal_sim: Any, lacrimal_detection: Any) -> None:
    """The previous model proposed both glands as skull lesions (confidence 0.59 and 0.61); with the
    mirror partner at most one stays above the operating point (the right one is at 0.51, still weak:
    docs/benchmarks/detect.md, context round), and the other is kept as a named organ finding."""
    det = lacrimal_detection
    glands = [f for f in det.candidates if _on_organ(lacrimal_sim, f.best, "lacrimal") and f.best.z >= 6.0]
    assert len(glands) >= 2
    assert sum(f.confidence >= DEFAULT_PARAMS.min_confidence for f in glands) <= 1
    assert len([h for h in det.hotspots if h.segment == "skull" and h.pattern == "focal"]) <= 1
    # kept as labelled non-skeletal proposals, not dropped
    organ = [h for h in det.hotspots if h.segment is None]
    assert organ and all(h.category in ORGANS for h in organ)
    assert any(h.category in ("lacrimal_gland", "nasopharynx") for h in organ)

"""DetectParams and the evaluation helpers (FROC, kappa, ICC)."""

import dataclasses

import numpy as np
import pytest

from mibgkit.detect.evaluate import TruthSpot, froc, icc_2_1, match_study, sensitivity_at, weighted_kappa
from mibgkit.detect.params import DEFAULT_PARAMS, FEATURES, DetectParams


def test_params_frozen_and_round_trip():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_PARAMS.z_min = 1.0  # type: ignore[misc]
    d = DEFAULT_PARAMS.to_json()
    assert isinstance(d["sigmas_mm"], list)
    assert DetectParams.from_json(d) == DEFAULT_PARAMS
    assert DEFAULT_PARAMS.with_(z_min=4.0).z_min == 4.0
    assert len(DEFAULT_PARAMS.coef) == len(FEATURES)


def test_params_validation():
    with pytest.raises(ValueError, match="coef"):
        DetectParams(coef=(1.0,))
    with pytest.raises(ValueError, match="min_confidence"):
        DetectParams(min_confidence=1.5)


def test_weighted_kappa_and_icc():
    a = [0, 1, 2, 3, 4, 5, 6, 0, 0]
    assert weighted_kappa(a, a) == pytest.approx(1.0)
    off = [min(6, x + 1) for x in a]
    assert 0.5 < weighted_kappa(a, off) < 1.0
    assert weighted_kappa(a, [6 - x for x in a]) < 0.0
    t = np.array([0, 2, 5, 30, 60, 3, 1], float)
    assert icc_2_1(t, t) == pytest.approx(1.0)
    assert icc_2_1(t, t + 5) < icc_2_1(t, t + 1) < 1.0


def test_match_and_froc():
    truth = [TruthSpot({"ANT": (100.0, 50.0)}, 2.0, True, "spine"),
             TruthSpot({"ANT": (300.0, 50.0)}, 2.0, False, "pelvis")]
    cands = [{"ANT": (101.0, 51.0)}, {"ANT": (300.0, 49.0)}, {"ANT": (600.0, 10.0)}]
    m = match_study(cands, [0.9, 0.8, 0.4], truth, tol_px=5.0)
    assert m.hit_conf.tolist() == [0.9]          # only the countable lesion is scored
    assert m.fp_conf.tolist() == [0.4]           # the invisible lesion's candidate is not an FP
    thr, sens, fp = froc([m, m])
    assert sens.max() == 1.0 and fp.max() == 1.0
    assert sensitivity_at(thr, sens, fp, 0.5)[0] == 1.0   # 0.9 > 0.4: no FP needed
    assert sensitivity_at(thr, sens, fp, 0.0)[0] == 1.0

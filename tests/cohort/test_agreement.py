"""Reader agreement statistics, checked against scikit-learn, pingouin and published values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from sklearn.metrics import cohen_kappa_score

from mibgkit.cohort import (
    Cohort,
    bland_altman,
    icc_a1,
    reader_agreement,
    threshold_agreement,
    weighted_kappa,
)


def _grades(seed: int, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Two readers' SIOPEN grades: mostly 0, a reader B who is off by one now and then."""
    rng = np.random.default_rng(seed)
    a = rng.choice(7, size=n, p=[0.55, 0.12, 0.08, 0.05, 0.1, 0.06, 0.04])
    b = np.clip(a + rng.choice([-1, 0, 0, 0, 1], size=n), 0, 6)
    return a, b


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("weights", ["quadratic", "linear", None])
def test_weighted_kappa_matches_sklearn(seed, weights):
    a, b = _grades(seed)
    ours = weighted_kappa(a, b, weights=weights)
    ref = cohen_kappa_score(a, b, weights=weights, labels=list(range(7)))
    assert ours == pytest.approx(ref, abs=1e-9)


def test_weighted_kappa_distances_are_between_grades_not_ranks():
    a = np.array([0, 0, 1, 4, 4, 0, 1, 4])
    b = np.array([0, 1, 1, 4, 1, 0, 0, 4])
    ours = weighted_kappa(a, b)
    assert ours == pytest.approx(cohen_kappa_score(a, b, weights="quadratic", labels=list(range(7))), abs=1e-12)
    # scikit-learn without labels weights by rank among {0, 1, 4}: a different number
    assert abs(ours - cohen_kappa_score(a, b, weights="quadratic")) > 1e-3
    # categories=None: only the values present, still weighted by value distance
    assert weighted_kappa(a, b, categories=None) == pytest.approx(ours, abs=1e-12)


def test_weighted_kappa_edge_cases():
    assert math.isnan(weighted_kappa([0, 0, 0], [0, 0, 0]))  # no variation: undefined
    assert weighted_kappa([0, 3, 6], [0, 3, 6]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="categories"):
        weighted_kappa([0, 7], [0, 1])
    with pytest.raises(ValueError):
        weighted_kappa([0, 1], [0])


def _pingouin_icc2(x: np.ndarray) -> pd.Series:
    n, k = x.shape
    df = pd.DataFrame([(i, j, x[i, j]) for i in range(n) for j in range(k)], columns=["subject", "rater", "score"])
    old = pg.options.get("round.column.CI95")
    pg.options["round.column.CI95"] = None  # full precision for the comparison
    try:
        res = pg.intraclass_corr(df, targets="subject", raters="rater", ratings="score")
    finally:
        pg.options["round.column.CI95"] = old
    return res.set_index("Type").loc["ICC(A,1)" if "ICC(A,1)" in set(res["Type"]) else "ICC2"]


@pytest.mark.parametrize(("seed", "k", "offset"), [(1, 2, 1.0), (2, 3, 0.0), (3, 2, 0.0), (4, 4, 2.5)])
def test_icc_matches_pingouin(seed, k, offset):
    rng = np.random.default_rng(seed)
    truth = rng.gamma(1.2, 6.0, size=40)  # skewed like SIOPEN totals
    x = np.stack([truth + j * offset / max(k - 1, 1) + rng.normal(0, 1.5, size=40) for j in range(k)], axis=1)
    ours = icc_a1(x)
    ref = _pingouin_icc2(x)
    assert ours.icc == pytest.approx(ref["ICC"], abs=1e-6)
    assert ours.f == pytest.approx(ref["F"], rel=1e-6)
    assert ours.p_value == pytest.approx(ref["pval"], rel=1e-6, abs=1e-300)
    assert ours.df1 == ref["df1"] and ours.df2 == ref["df2"]
    assert ours.ci_low == pytest.approx(ref["CI95"][0], abs=1e-6)
    assert ours.ci_high == pytest.approx(ref["CI95"][1], abs=1e-6)
    assert ours.ci_low < ours.icc < ours.ci_high


def test_icc_shrout_fleiss_table():
    # Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; ICC(2,1) = 0.29
    x = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    res = icc_a1(x)
    assert round(res.icc, 2) == 0.29
    assert res.n == 6 and res.k == 4
    assert res.ms_rows == pytest.approx(11.24, abs=0.01) and res.ms_cols == pytest.approx(32.49, abs=0.01)
    assert res.ms_error == pytest.approx(1.02, abs=0.01)


def test_icc_degenerate_and_invalid():
    assert math.isnan(icc_a1(np.ones((5, 2))).icc)
    perfect = icc_a1(np.array([[1, 1], [2, 2], [5, 5.0]]))
    assert perfect.icc == pytest.approx(1.0) and perfect.ci_low == pytest.approx(1.0)
    with pytest.raises(ValueError):
        icc_a1(np.ones((1, 2)))
    with pytest.raises(ValueError, match="missing"):
        icc_a1(np.array([[1, np.nan], [2, 2]]))


def test_bland_altman_by_hand():
    a = np.array([3.0, 5, 0, 12, 7, 2])
    b = np.array([2.0, 5, 1, 10, 8, 0])
    d = a - b
    ba = bland_altman(a, b)
    sd = np.std(d, ddof=1)
    assert ba.bias == pytest.approx(d.mean()) and ba.sd == pytest.approx(sd)
    assert ba.loa_low == pytest.approx(d.mean() - 1.959964 * sd, abs=1e-5)
    assert ba.loa_high == pytest.approx(d.mean() + 1.959964 * sd, abs=1e-5)
    t = 2.570582  # t(0.975, 5)
    assert ba.bias_ci[0] == pytest.approx(d.mean() - t * sd / math.sqrt(6), abs=1e-5)
    assert ba.loa_high_ci[1] == pytest.approx(ba.loa_high + t * math.sqrt(3 * sd**2 / 6), abs=1e-5)
    assert ba.to_dict()["loa_low_ci_low"] == ba.loa_low_ci[0]
    with pytest.raises(ValueError):
        bland_altman([1.0], [1.0])


def test_threshold_agreement_matches_sklearn():
    a = np.array([0, 2, 3, 4, 10, 1, 5, 3, 0, 7])
    b = np.array([1, 4, 3, 3, 12, 0, 6, 2, 0, 2])
    res = threshold_agreement(a, b, threshold=3)
    assert (res.both_le, res.a_le_b_gt, res.a_gt_b_le, res.both_gt) == (5, 1, 2, 2)
    assert res.percent_agreement == pytest.approx(70.0)
    assert res.kappa == pytest.approx(cohen_kappa_score(a <= 3, b <= 3), abs=1e-12)


def test_reader_agreement_on_a_cohort(make_reading):
    r = make_reading
    readings = []
    a_findings = [{"skull": 1}, {"spine": 2, "pelvis": 1}, {}, {"pelvis": 0.6}, {"skull": 3, "spine": 1}, {"spine": 1}]
    b_findings = [{"skull": 1}, {"spine": 3, "pelvis": 1}, {"skull": 1}, {"pelvis": 0.7}, {"skull": 2}, {"spine": 1}]
    for i, (fa, fb) in enumerate(zip(a_findings, b_findings)):
        readings.append(r(f"P{i}", "diagnosis", fa, reader="A"))
        readings.append(r(f"P{i}", "diagnosis", fb, reader="B"))
    readings.append(r("P99", "diagnosis", {"skull": 2}, reader="A"))  # read by A only: left out
    rep = reader_agreement(Cohort(readings).segments())
    assert rep.readers == ["A", "B"] and rep.total["n_studies"] == 6
    tot_a = np.array([1, 3, 0, 5, 4, 1])
    tot_b = np.array([1, 4, 1, 5, 2, 1])
    assert rep.paired["A"].tolist() == tot_a.tolist() and rep.paired["B"].tolist() == tot_b.tolist()
    assert rep.icc.icc == pytest.approx(icc_a1(np.stack([tot_a, tot_b], 1)).icc)
    assert rep.total["ba_bias"] == pytest.approx((tot_a - tot_b).mean())
    low = (tot_a + tot_b) / 2 <= 3
    assert reader_agreement(Cohort(readings).segments(), low_range=3).total["icc_low_icc"] == pytest.approx(
        icc_a1(np.stack([tot_a[low], tot_b[low]], 1)).icc)
    seg = rep.segments.set_index("segment")
    assert seg.loc["all", "n"] == 72 and seg.loc["skull", "n"] == 6
    assert seg.loc["skull", "positive_a"] == 2 and seg.loc["skull", "positive_b"] == 3
    a_sk = np.array([1, 0, 0, 0, 3, 0])
    b_sk = np.array([1, 0, 1, 0, 2, 0])
    assert seg.loc["skull", "kappa_quadratic"] == pytest.approx(
        cohen_kappa_score(a_sk, b_sk, weights="quadratic", labels=list(range(7))))
    assert math.isnan(seg.loc["right_upper_limb_distal", "kappa_quadratic"])  # never involved: undefined
    assert seg.loc["right_upper_limb_distal", "exact_agreement"] == 100.0
    with pytest.raises(ValueError, match="two readers"):
        reader_agreement(Cohort(readings).subset(readers=["A"]).segments())

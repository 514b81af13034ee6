"""Cohort summaries: counts, median [range], the <= 3 split."""

from __future__ import annotations

import pandas as pd
import pytest

from mibgkit.cohort import (
    Cohort,
    count_table,
    format_count,
    format_median_range,
    median_range,
    persistence,
    persistence_summary,
    relapse_site_summary,
    relapse_sites,
    score_summary,
    threshold_split,
)


def test_formats():
    assert format_median_range([2, 1, 6]) == "2 [1\u20136]"
    assert format_median_range([1, 2, 4, 28]) == "3 [1\u201328]"
    assert format_median_range([1, 2]) == "1.5 [1\u20132]"
    assert format_median_range([float("nan")]) == "NA"
    assert format_count(12, 34) == "12/34 (35%)"
    assert format_count(0, 0) == "0/0"


def _studies():
    return pd.DataFrame({
        "patient_id": [f"P{i}" for i in range(8)] * 2,
        "group": ["responder"] * 4 + ["progressor"] * 4 + ["responder"] * 4 + ["progressor"] * 4,
        "timepoint": ["post_hdc"] * 8 + ["end_of_treatment"] * 8,
        "timepoint_order": [2] * 8 + [3] * 8,
        "siopen_total": [1, 2, 2, 6, 1, 4, 9, 28, 0, 0, 1, 2, 3, 5, 30, 40],
    })


def test_median_range_and_score_summary():
    st = _studies()
    mr = median_range(st, "siopen_total", by="group").set_index("group")
    assert mr.loc["responder", "median"] == 1.5 and mr.loc["responder", "max"] == 6
    summ = score_summary(st, by="group")
    assert summ["timepoint"].tolist() == ["post_hdc", "post_hdc", "end_of_treatment", "end_of_treatment"]
    got = summ.set_index(["timepoint", "group"])["text"]
    assert got[("post_hdc", "responder")] == "2 [1\u20136]"
    assert got[("post_hdc", "progressor")] == "6.5 [1\u201328]"
    assert got[("end_of_treatment", "progressor")] == "17.5 [3\u201340]"
    only = score_summary(st, by=None, timepoints=["end_of_treatment"])
    assert len(only) == 1 and only["n"].iloc[0] == 8


def test_threshold_split():
    st = _studies()
    sp = threshold_split(st, threshold=3, timepoint="post_hdc", by="group").set_index("group")
    assert sp.loc["responder", "n_le"] == 3 and sp.loc["responder", "le"] == "3/4 (75%)"
    assert sp.loc["progressor", "n_gt"] == 3 and sp.loc["progressor", "pct_gt"] == pytest.approx(75.0)
    allrows = threshold_split(st, timepoint=None)
    assert allrows["n"].iloc[0] == 16 and allrows["n_le"].iloc[0] == 9


def test_count_table():
    df = pd.DataFrame({"tp": ["a", "a", "a", "b"], "response": ["CR", "PR", "CR", None]})
    t = count_table(df, "response", by="tp", categories=["CR", "PR", "PD"]).set_index(["tp", "category"])
    assert t.loc[("a", "CR"), "text"] == "2/3 (67%)" and t.loc[("a", "PD"), "n"] == 0
    assert t.loc[("b", "CR"), "total"] == 0


def test_persistence_and_relapse_summaries(make_reading):
    r = make_reading
    cohort = Cohort([
        r("P1", "diagnosis", {"spine": 3}), r("P1", "post_hdc", {"spine": 1}),
        r("P1", "end_of_treatment", {"spine": 1}), r("P1", "relapse", {"spine": 3, "pelvis": 2}),
        r("P2", "diagnosis", {"skull": 2}), r("P2", "post_hdc", {"skull": 2}),
        r("P2", "end_of_treatment", {}),
        r("P3", "diagnosis", {"pelvis": 1}), r("P3", "post_hdc", {}),
        r("P4", "diagnosis", {"pelvis": 1}),
    ], groups={"P1": "progressor", "P2": "responder", "P3": "responder", "P4": "responder"})
    seg = cohort.segments()
    ps = persistence_summary(persistence(seg)).set_index("group")
    assert ps.loc["responder", "n_patients"] == 3 and ps.loc["responder", "n_evaluable"] == 2
    assert ps.loc["responder", "persisting"] == "1/2 (50%)"
    assert ps.loc["responder", "persisting_total"] == "2 [2\u20132]"
    assert ps.loc["responder", "end_of_treatment_total"] == "0 [0\u20130]"
    assert ps.loc["progressor", "oligo"] == "1/1 (100%)"
    rs = relapse_site_summary(relapse_sites(seg)).iloc[0]
    assert rs["n_relapses"] == 1 and rs["all_at_reference"] == "0/1 (0%)"
    assert rs["sites_at_reference"] == "1/2 (50%)" and rs["frac_sites_at_persisting"] == pytest.approx(0.5)

"""Per-patient course: INRC response, persistence, relapse sites, trajectories."""

from __future__ import annotations

import math

import pytest

from mibgkit.cohort import (
    Cohort,
    ResponseCriteria,
    classify_response,
    inrc_response,
    outcome_groups,
    persistence,
    positive_segments,
    relapse_sites,
    segment_prevalence,
    trajectories,
)


@pytest.mark.parametrize(
    ("score", "baseline", "new", "after_cr", "expected"),
    [
        (0, 10, [], False, "CR"),
        (5, 10, [], False, "PR"),  # exactly 0.5
        (6, 10, [], False, "SD"),
        (11, 10, [], False, "SD"),
        (12, 10, [], False, "PD"),  # exactly 1.2
        (2, 10, ["pelvis"], False, "PD"),  # new site beats a good ratio
        (2, 10, [], True, "PD"),  # uptake after CR
        (0, 0, [], False, "NI"),  # baseline 0, still nothing: not involved
        (1, 0, ["skull"], False, "PD"),  # baseline 0, new uptake
    ],
)
def test_classify_response(score, baseline, new, after_cr, expected):
    category, rule = classify_response(score, baseline, new, after_cr)
    assert category == expected
    assert rule


def test_criteria_are_configurable_and_checked():
    loose = ResponseCriteria(pr_max=0.7, pd_min=1.5, new_site_is_pd=False, recurrence_after_cr_is_pd=False)
    assert classify_response(6, 10, criteria=loose)[0] == "PR"
    assert classify_response(14, 10, criteria=loose)[0] == "SD"
    assert classify_response(2, 10, ["pelvis"], True, criteria=loose)[0] == "PR"
    with pytest.raises(ValueError):
        ResponseCriteria(pr_max=1.3)


def _course(make_reading):
    r = make_reading
    return Cohort([
        # P1: 10 -> 4 (PR) -> 0 (CR) -> 2 at an old site (PD: uptake after CR)
        r("P1", "diagnosis", {"skull": 3, "spine": 3, "pelvis": 3, "thoracic_cage": 1}),
        r("P1", "post_induction", {"skull": 2, "spine": 2}),
        r("P1", "post_hdc", {}),
        r("P1", "relapse", {"skull": 2}),
        # P2: no skeletal disease at diagnosis; stays clean, then new uptake
        r("P2", "diagnosis", {}),
        r("P2", "post_induction", {}),
        r("P2", "relapse", {"left_lower_limb_distal": 1}),
        # P3: 4 -> 3 with a new site (PD) ; SD by ratio at post_hdc is still PD (new site persists)
        r("P3", "diagnosis", {"pelvis": 3, "spine": 1}),
        r("P3", "post_induction", {"pelvis": 2, "skull": 1}),
        # P4: no diagnosis reading
        r("P4", "post_induction", {"spine": 1}),
        # P5: 5 -> 5 (SD) -> 4 (SD) -> diffuse spine 6 + 1 = 7/5 = 1.4 (PD)
        r("P5", "diagnosis", {"spine": 3, "pelvis": 2}),
        r("P5", "post_induction", {"spine": 3, "pelvis": 2}),
        r("P5", "post_hdc", {"spine": 2, "pelvis": 2}),
        r("P5", "end_of_treatment", {"spine": 0.97, "pelvis": 1}),
    ])


def test_inrc_response_course(make_reading):
    resp = inrc_response(_course(make_reading).segments())
    got = {(p, t): (c, rel) for p, t, c, rel in
           resp[["patient_id", "timepoint", "response", "relative_score"]].itertuples(index=False)}
    assert got[("P1", "diagnosis")][0] == "baseline"
    assert got[("P1", "post_induction")] == ("PR", pytest.approx(0.4))
    assert got[("P1", "post_hdc")][0] == "CR"
    assert got[("P1", "relapse")][0] == "PD"
    assert got[("P2", "post_induction")][0] == "NI" and math.isnan(got[("P2", "post_induction")][1])
    assert got[("P2", "relapse")][0] == "PD"
    assert got[("P3", "post_induction")][0] == "PD"
    assert got[("P4", "post_induction")][0] == ""
    assert got[("P5", "post_induction")][0] == "SD"
    assert got[("P5", "post_hdc")] == ("SD", pytest.approx(0.8))
    assert got[("P5", "end_of_treatment")] == ("PD", pytest.approx(1.4))
    p1 = resp[(resp.patient_id == "P1") & (resp.timepoint == "relapse")].iloc[0]
    assert "after complete response" in p1.rule and p1.new_sites == ""
    p3 = resp[(resp.patient_id == "P3") & (resp.timepoint == "post_induction")].iloc[0]
    assert p3.new_sites == "skull" and p3.n_new_sites == 1
    p4 = resp[resp.patient_id == "P4"].iloc[0]
    assert p4.rule == "no diagnosis reading" and math.isnan(p4.baseline_total)


def test_inrc_response_other_baseline(make_reading):
    resp = inrc_response(_course(make_reading).segments(), baseline="post_induction")
    p1 = resp[resp.patient_id == "P1"].set_index("timepoint")["response"]
    assert p1["diagnosis"] == "before baseline" and p1["post_induction"] == "baseline" and p1["post_hdc"] == "CR"


def test_persistence_and_oligo(make_reading):
    r = make_reading
    cohort = Cohort([
        r("A1", "diagnosis", {"spine": 3, "pelvis": 2}),
        r("A1", "post_hdc", {"spine": 1, "pelvis": 1}),  # 2 foci -> oligo for N >= 2
        r("A1", "end_of_treatment", {"spine": 1}),
        r("A1", "relapse", {"spine": 3, "skull": 1}),
        r("A2", "diagnosis", {"spine": 0.6}),
        r("A2", "post_hdc", {"spine": 0.3}),  # diffuse: never oligo
        r("A3", "diagnosis", {"skull": 1}),
        r("A3", "post_hdc", {}),  # no persisting uptake
        r("A4", "diagnosis", {"skull": 1}),  # no post-HDC reading: not evaluable
        r("A5", "diagnosis", {"pelvis": 4}),
        r("A5", "post_hdc", {"pelvis": 4}),  # grade 4 from 4 foci
    ])
    seg = cohort.segments()
    p = persistence(seg, oligo_n=3).set_index("patient_id")
    assert bool(p.loc["A1", "persisting"]) and p.loc["A1", "persisting_foci"] == 2
    assert p.loc["A1", "persisting_segments"] == "spine;pelvis" and p.loc["A1", "persisting_total"] == 2
    assert bool(p.loc["A1", "oligo"]) and bool(p.loc["A1", "relapse"])
    assert p.loc["A1", "end_of_treatment_total"] == 1 and bool(p.loc["A1", "end_of_treatment_positive"])
    assert bool(p.loc["A2", "persisting"]) and bool(p.loc["A2", "persisting_diffuse"]) and not bool(p.loc["A2", "oligo"])
    assert not bool(p.loc["A3", "persisting"]) and not bool(p.loc["A3", "oligo"])
    assert not bool(p.loc["A4", "evaluable"]) and p["persisting"].isna()["A4"]
    assert p.loc["A5", "persisting_foci"] == 4 and not bool(p.loc["A5", "oligo"])
    assert bool(persistence(seg, oligo_n=4).set_index("patient_id").loc["A5", "oligo"])
    assert not bool(persistence(seg, oligo_n=1).set_index("patient_id").loc["A1", "oligo"])
    with pytest.raises(ValueError):
        persistence(seg, oligo_n=-1)


def test_relapse_sites(make_reading):
    r = make_reading
    cohort = Cohort([
        r("R1", "diagnosis", {"skull": 1, "spine": 2}),
        r("R1", "post_hdc", {"spine": 1}),
        r("R1", "relapse", {"spine": 2, "pelvis": 1}),  # one old, one new site
        r("R2", "diagnosis", {"pelvis": 2, "spine": 1}),
        r("R2", "relapse", {"pelvis": 3}),  # only old sites
        r("R3", "diagnosis", {"pelvis": 1}),
        r("R3", "relapse", {}),  # soft-tissue relapse: no skeletal uptake
        r("R4", "relapse", {"skull": 1}),  # no diagnosis reading
        r("R5", "diagnosis", {"skull": 1}),  # no relapse
    ])
    t = relapse_sites(cohort.segments()).set_index("patient_id")
    assert list(t.index) == ["R1", "R2", "R3", "R4"]
    assert t.loc["R1", "new_sites"] == "pelvis" and t.loc["R1", "at_reference_sites"] == "spine"
    assert not bool(t.loc["R1", "all_at_reference"]) and bool(t.loc["R1", "any_at_reference"])
    assert t.loc["R1", "at_persisting_sites"] == "spine" and t.loc["R1", "n_at_persisting_sites"] == 1
    assert bool(t.loc["R2", "all_at_reference"]) and t.loc["R2", "n_new_sites"] == 0
    assert math.isnan(t.loc["R2", "n_at_persisting_sites"])
    assert t.loc["R3", "n_relapse_sites"] == 0 and t["all_at_reference"].isna()["R3"]
    assert not bool(t.loc["R4", "reference_available"]) and t["all_at_reference"].isna()["R4"]


def test_trajectories_positive_segments_prevalence_groups(make_reading):
    cohort = _course(make_reading)
    seg = cohort.segments()
    wide = trajectories(seg)
    assert list(wide.columns) == ["diagnosis", "post_induction", "post_hdc", "end_of_treatment", "relapse"]
    assert wide.loc[("A", "P1")].tolist()[:3] == [10, 4, 0]
    assert math.isnan(wide.loc[("A", "P4"), "diagnosis"])
    pos = positive_segments(seg)
    row = pos[(pos.patient_id == "P3") & (pos.timepoint == "post_induction")].iloc[0]
    assert row.positive_segments == "skull;pelvis" and row.n_positive_segments == 2 and bool(row.skull)
    prev = segment_prevalence(seg)
    assert prev.attrs["n"]["diagnosis"] == 4
    assert prev.loc["pelvis", "diagnosis"] == pytest.approx(3 / 4)
    assert prev.loc["spine", "post_hdc"] == pytest.approx(1 / 2)
    groups = outcome_groups(seg)
    assert groups == {"P1": "progressor", "P2": "progressor", "P3": "lasting_responder",
                      "P4": "lasting_responder", "P5": "lasting_responder"}


def test_prevalence_needs_one_reader(make_reading):
    cohort = Cohort([make_reading("P1", "diagnosis", {"skull": 1}, reader=x) for x in ("A", "B")])
    with pytest.raises(ValueError, match="several readers"):
        segment_prevalence(cohort.segments())
    assert segment_prevalence(cohort.segments(), reader="B").loc["skull", "diagnosis"] == 1.0


def test_tables_from_csv_round_trip(tmp_path, make_reading):
    import pandas as pd

    seg = _course(make_reading).segments()
    seg.to_csv(tmp_path / "segments.csv", index=False)
    back = pd.read_csv(tmp_path / "segments.csv")
    a = inrc_response(seg)
    b = inrc_response(back)
    assert a["response"].tolist() == b["response"].tolist()

"""Consensus readings: max, mean-rounded, adjudicated."""

from __future__ import annotations

import pytest

from mibgkit.cohort import Cohort, consensus_cohort, consensus_grade, consensus_reading
from mibgkit.scoring import Reading


def test_consensus_grade():
    assert consensus_grade([1, 3], "max") == 3
    assert consensus_grade([1, 2], "mean") == 2  # 1.5 rounds half up
    assert consensus_grade([0, 1, 1], "mean") == 1
    assert consensus_grade([0, 0, 1], "mean") == 0
    with pytest.raises(ValueError):
        consensus_grade([], "max")


def _pair(make_reading):
    a = make_reading("P1", "post_hdc", {"skull": 1, "spine": 3, "pelvis": 0.3}, reader="A")
    b = make_reading("P1", "post_hdc", {"skull": 1, "spine": 1, "left_lower_limb_distal": 1}, reader="B")
    return a, b


def test_max_rule_copies_the_findings_of_the_higher_reader(make_reading):
    a, b = _pair(make_reading)
    c = consensus_reading([a, b], rule="max")
    g = {k: s.siopen for k, s in c.segments.items() if s.siopen}
    assert g == {"skull": 1, "spine": 3, "pelvis": 4, "left_lower_limb_distal": 1}
    assert c.siopen_total == 9 and c.reader == "consensus"
    assert c.overrides == {}  # every grade follows from the copied findings
    spine = [h for h in c.hotspots if h.segment == "spine"]
    assert len(spine) == 3 and {h.extra["from_reader"] for h in spine} == {"A"}
    assert len({h.id for h in c.hotspots}) == len(c.hotspots)
    info = c.provenance["consensus"]
    assert info["rule"] == "max" and info["segments"]["spine"]["grades"] == {"A": 3, "B": 1}
    # survives a round trip as a reading file
    back = Reading.from_json(c.to_json())
    assert back.siopen_total == 9 and back.provenance["consensus"]["readers"] == ["A", "B"]


def test_mean_rule_sets_a_reader_grade_where_no_reading_has_it(make_reading):
    a, b = _pair(make_reading)
    c = consensus_reading([a, b], rule="mean")
    # spine (3 + 1) / 2 = 2: neither reader's findings give 2 -> override; pelvis (4 + 0) / 2 = 2
    assert c.segments["spine"].siopen == 2 and c.segments["spine"].source == "reader"
    assert c.segments["pelvis"].siopen == 2
    assert c.segments["left_lower_limb_distal"].siopen == 1  # (0 + 1) / 2 = 0.5 -> 1
    assert c.segments["skull"].siopen == 1 and c.segments["skull"].source == "auto"
    assert c.siopen_total == 6


def test_adjudicated_rule(make_reading):
    a, b = _pair(make_reading)
    adj = make_reading("P1", "post_hdc", {"skull": 2, "spine": 2, "left_lower_limb_distal": 1}, reader="C")
    c = consensus_reading([a, b], rule="adjudicated", adjudicator=adj)
    # agreement on skull (1) wins over the adjudicator's 2; disagreements take C's grades
    assert c.segments["skull"].siopen == 1
    assert c.segments["spine"].siopen == 2 and c.segments["pelvis"].siopen == 0
    assert c.segments["left_lower_limb_distal"].siopen == 1
    how = c.provenance["consensus"]["segments"]
    assert how["skull"]["decided_by"] == "agreement" and how["spine"]["decided_by"] == "adjudicator"
    # not adjudicated: fallback rule
    c2 = consensus_reading([a, b], rule="adjudicated", fallback="max")
    assert c2.segments["spine"].siopen == 3 and c2.provenance["consensus"]["segments"]["spine"]["decided_by"] == "max"


def test_consensus_refuses_different_studies_and_bad_rules(make_reading):
    a = make_reading("P1", "diagnosis", {"skull": 1})
    b = make_reading("P2", "diagnosis", {"skull": 1}, reader="B")
    with pytest.raises(ValueError, match="different studies"):
        consensus_reading([a, b])
    with pytest.raises(ValueError, match="rule"):
        consensus_reading([a], rule="median")  # type: ignore[arg-type]


def test_consensus_cohort(make_reading):
    r = make_reading
    cohort = Cohort([
        r("P1", "diagnosis", {"spine": 2}, reader="A"),
        r("P1", "diagnosis", {"spine": 4}, reader="B"),
        r("P1", "diagnosis", {"spine": 3}, reader="C"),
        r("P1", "post_hdc", {"spine": 1}, reader="A"),
        r("P1", "post_hdc", {}, reader="B"),
        r("P2", "diagnosis", {"pelvis": 1}, reader="A"),  # read by A only
    ])
    cons = consensus_cohort(cohort, rule="adjudicated", adjudicator="C")
    assert cons.readers == ["consensus"] and len(cons) == 3
    st = cons.studies().set_index(["patient_id", "timepoint"])["siopen_total"]
    assert st[("P1", "diagnosis")] == 3  # adjudicated
    assert st[("P1", "post_hdc")] == 1  # not adjudicated: max
    assert st[("P2", "diagnosis")] == 1
    p2 = cons.get("P2", "diagnosis", "consensus")
    assert p2 is not None and p2.provenance["consensus"]["note"] == "single reading"
    mean = consensus_cohort(cohort, rule="mean", readers=["A", "B"])
    p1 = mean.get("P1", "diagnosis", "consensus")
    assert p1 is not None and p1.siopen_total == 3

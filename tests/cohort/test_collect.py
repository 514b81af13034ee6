"""Collecting readings into a cohort and its tidy tables."""

from __future__ import annotations

import json

import pytest

from mibgkit.cohort import (
    Cohort,
    find_reading_files,
    normalize_timepoint,
    read_timepoint_map,
    timepoint_order,
)
from mibgkit.errors import MibgkitError
from mibgkit.segments import SIOPEN_KEYS

SEGMENT_COLUMNS = [
    "patient_id", "timepoint", "timepoint_order", "study_date", "reader", "group", "study_instance_uid",
    "segment", "label", "siopen", "n_foci", "diffuse_fraction", "positive", "grade_source", "file",
]


def _small_cohort(make_reading):
    readings = []
    for reader in ("A", "B"):
        readings += [
            make_reading("P1", "diagnosis", {"skull": 2, "spine": 0.6}, reader=reader),
            make_reading("P1", "post_induction", {"skull": 1}, reader=reader),
            make_reading("P1", "post_hdc", {}, reader=reader),
            make_reading("P2", "relapse", {"pelvis": 1}, reader=reader),
            make_reading("P2", "diagnosis", {"pelvis": 3, "right_lower_limb_distal": 1}, reader=reader),
            make_reading("P2", "post_hdc", {"pelvis": 1}, reader=reader),
        ]
    return Cohort(readings, groups={"P2": "progressor"})


def test_segment_table_shape_columns_and_order(make_reading):
    cohort = _small_cohort(make_reading)
    seg = cohort.segments()
    assert list(seg.columns) == SEGMENT_COLUMNS
    assert len(seg) == 2 * 6 * 12  # readers x studies x segments
    assert cohort.readers == ["A", "B"] and cohort.patients == ["P1", "P2"]
    assert cohort.timepoints == ["diagnosis", "post_induction", "post_hdc", "relapse"]
    first = seg[(seg.patient_id == "P2") & (seg.reader == "A")]
    # sorted by treatment order, not by insertion order or name
    assert first.drop_duplicates("timepoint")["timepoint"].tolist() == ["diagnosis", "post_hdc", "relapse"]
    assert first[first.timepoint == "diagnosis"]["segment"].tolist() == list(SIOPEN_KEYS)
    row = seg[(seg.patient_id == "P1") & (seg.timepoint == "diagnosis") & (seg.reader == "A")].set_index("segment")
    assert row.loc["skull", "siopen"] == 2 and row.loc["skull", "n_foci"] == 2
    assert row.loc["spine", "siopen"] == 5 and row.loc["spine", "diffuse_fraction"] == pytest.approx(0.6)
    assert bool(row.loc["spine", "positive"]) and not bool(row.loc["pelvis", "positive"])
    assert str(row.loc["skull", "study_date"].date()) == "2024-01-10"
    assert set(seg[seg.patient_id == "P2"]["group"]) == {"progressor"}
    assert seg[seg.patient_id == "P1"]["group"].isna().all()


def test_study_table_totals(make_reading):
    st = _small_cohort(make_reading).studies()
    assert len(st) == 12
    d = st[(st.patient_id == "P2") & (st.timepoint == "diagnosis") & (st.reader == "B")].iloc[0]
    assert d.siopen_total == 4 and d.n_positive_segments == 2 and d.n_foci == 4
    assert not d.good_prognosis  # 4 > 3
    p1 = st[(st.patient_id == "P1") & (st.timepoint == "diagnosis")].iloc[0]
    assert p1.siopen_total == 7 and bool(p1.any_diffuse) and p1.curie_total > 0


def test_duplicates_and_missing_patient_are_skipped(make_reading):
    r1 = make_reading("P1", "diagnosis", {"skull": 1})
    r2 = make_reading("P1", "diagnosis", {"skull": 2})
    r3 = make_reading("", "diagnosis", {"skull": 1})
    r3.study.pop("patient_id")
    cohort = Cohort([r1, r2, r3])
    assert len(cohort) == 1 and cohort.get("P1", "diagnosis", "A") is r1
    reasons = [s.reason for s in cohort.skipped]
    assert any("second reading" in r for r in reasons) and any("no patient_id" in r for r in reasons)


def test_auto_reader_and_unknown_timepoint(make_reading):
    r = make_reading("P9", None, {"skull": 1}, reader=None)
    cohort = Cohort([r])
    e = cohort.entries[0]
    assert e.reader == "auto" and e.timepoint == "unknown" and e.timepoint_source == "none"
    assert cohort.studies()["timepoint_order"].iloc[0] == 5  # after the five canonical time points


@pytest.mark.parametrize(
    ("label", "canonical"),
    [("Diagnosis", "diagnosis"), ("post-induction", "post_induction"), ("Post consolidation", "post_hdc"),
     ("EOT", "end_of_treatment"), ("progression", "relapse"), ("maintenance_1", "maintenance_1"), ("", None)],
)
def test_normalize_timepoint(label, canonical):
    assert normalize_timepoint(label) == canonical


def test_timepoint_order():
    assert [timepoint_order(t) for t in ("diagnosis", "post_hdc", "relapse")] == [0, 2, 4]
    assert timepoint_order("maintenance", extra=["maintenance"]) == 5
    assert timepoint_order("whatever") == 99


def test_from_paths_searches_folders_and_reports_bad_files(tmp_path, make_reading):
    make_reading("P1", "diagnosis", {"skull": 1}).save(tmp_path / "a" / "P1" / "dx" / "reading.json")
    make_reading("P1", "post_hdc", {}).save(tmp_path / "a" / "P1" / "hdc" / "P1_hdc.json")  # other name, right schema
    (tmp_path / "a" / "notes.json").write_text(json.dumps({"schema": "something/else"}))
    (tmp_path / "a" / "broken").mkdir()
    (tmp_path / "a" / "broken" / "reading.json").write_text("{not json")
    files = find_reading_files([tmp_path / "a"])
    names = sorted(p.name for p in files)
    assert names == ["P1_hdc.json", "reading.json", "reading.json"]
    cohort = Cohort.from_paths([tmp_path / "a"])
    assert len(cohort) == 2
    assert len(cohort.skipped) == 1 and "broken" in cohort.skipped[0].path
    assert "cannot read" in cohort.skipped[0].reason
    assert set(cohort.segments()["file"].map(lambda f: f.endswith(".json"))) == {True}
    with pytest.raises(MibgkitError, match="no such file"):
        find_reading_files([tmp_path / "missing"])


def test_timepoint_map_csv_overrides_and_groups(tmp_path, make_reading):
    r_uid = make_reading("P1", None, {"skull": 2}, uid="9.9.1")
    r_file = make_reading("P1", "diagnosis", {"skull": 1})  # map says otherwise
    r_date = make_reading("P2", None, {"pelvis": 1}, date="2024-03-05")
    r_uid.save(tmp_path / "r" / "one" / "reading.json")
    r_file.save(tmp_path / "r" / "two" / "reading.json")
    r_date.save(tmp_path / "r" / "three" / "reading.json")
    (tmp_path / "map.csv").write_text(
        "study_instance_uid,file,patient_id,study_date,timepoint,group\n"
        "9.9.1,,,,diagnosis,\n"
        ",r/two/reading.json,,,Post-induction,\n"
        ",,P2,2024-03-05,dx,progressor\n"
    )
    tmap = read_timepoint_map(tmp_path / "map.csv")
    assert tmap.groups == {"P2": "progressor"}
    cohort = Cohort.from_paths([tmp_path / "r"], timepoints=tmp_path / "map.csv")
    got = {(e.patient_id, e.timepoint, e.timepoint_source) for e in cohort.entries}
    assert got == {("P1", "diagnosis", "map"), ("P1", "post_induction", "map"), ("P2", "diagnosis", "map")}
    assert cohort.groups == {"P2": "progressor"}


def test_timepoint_map_needs_a_way_to_name_the_study(tmp_path):
    (tmp_path / "bad.csv").write_text("timepoint,comment\ndiagnosis,first\n")
    with pytest.raises(MibgkitError, match="line 2"):
        read_timepoint_map(tmp_path / "bad.csv")
    (tmp_path / "nocol.csv").write_text("a,b\n1,2\n")
    with pytest.raises(MibgkitError, match="timepoint"):
        read_timepoint_map(tmp_path / "nocol.csv")


def test_mapping_by_uid_in_memory(make_reading):
    r = make_reading("P1", None, {"skull": 1}, uid="7.7")
    cohort = Cohort([r], timepoints={"7.7": "end of treatment"})
    assert cohort.entries[0].timepoint == "end_of_treatment"


def test_subset(make_reading):
    cohort = _small_cohort(make_reading)
    sub = cohort.subset(readers=["B"], patients=["P2"])
    assert len(sub) == 3 and sub.readers == ["B"] and sub.patients == ["P2"]

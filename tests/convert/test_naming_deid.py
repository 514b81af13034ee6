"""Output names (template, safe characters, collisions) and de-identification rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pydicom
import pytest
from convert_data import NM1

from mibgkit.convert.deid import DeidPolicy
from mibgkit.convert.naming import DEFAULT_TEMPLATE, check_template, dedupe, render, safe, study_part
from mibgkit.convert.scan import scan_tree


def test_template_fields_are_checked() -> None:
    assert check_template(DEFAULT_TEMPLATE) == ["patient_key", "study_date", "series_number", "view"]
    for bad, msg in [
        ("{patient_name}", "unknown field"),
        ("{view:>5}", "format spec"),
        ("/abs/{view}", "relative"),
        ("../{view}", "relative"),
        ("static", "no field"),
    ]:
        with pytest.raises(ValueError, match=msg):
            check_template(bad)


def test_values_are_made_safe() -> None:
    assert safe("a/b\\c d:*?") == "a-b-c-d"
    assert safe("..") == "none" and safe(None) == "none" and safe("") == "none"
    assert safe("x" * 300) == "x" * 100
    name = render("{patient_key}/{study_date}_{series_number}_{view}",
                  {"patient_key": "../../etc", "study_date": "2024-01-02", "series_number": 3, "view": "ANT"})
    assert name == "etc/2024-01-02_3_ANT"
    assert ".." not in Path(name).parts


def test_dedupe_is_deterministic_and_case_insensitive() -> None:
    assert dedupe(["a", "A", "a", "b", "a_2"]) == ["a", "A_2", "a_3", "b", "a_2_2"]


def test_study_part_ignores_image_fields() -> None:
    t = "{patient_key}/{study_date}_{series_number}_{view}"
    one = study_part(t, {"patient_key": "P-1", "study_date": "20240101"})
    assert one == study_part(t, {"patient_key": "P-1", "study_date": "20240101"})
    assert one != study_part(t, {"patient_key": "P-2", "study_date": "20240101"})


def test_colliding_studies_get_a_study_suffix(tmp_path: Path) -> None:
    # two studies of one patient on one day: same names but for the study suffix
    for i in range(2):
        ds = pydicom.dcmread(NM1)
        ds.StudyInstanceUID = pydicom.uid.generate_uid(entropy_srcs=[f"s{i}"])
        ds.SOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=[f"i{i}"])
        ds.save_as(tmp_path / f"f{i}", enforce_file_format=True)
    scan = scan_tree(tmp_path, DEFAULT_TEMPLATE, DeidPolicy(key=b"k"))
    suffixes = sorted(job.suffix for job in scan.jobs)
    assert suffixes[0] == "" and suffixes[1].startswith("_S-")
    scan2 = scan_tree(tmp_path, "{study_key}/{view}", DeidPolicy(key=b"k"))
    assert [job.suffix for job in scan2.jobs] == ["", ""]  # study_key alone keeps them apart


def test_policy_uids_dates_and_keys() -> None:
    p = DeidPolicy(key=b"k1")
    uid = p.uid("1.2.3.4")
    assert uid.startswith("2.25.") and len(uid) <= 64 and uid == DeidPolicy(key=b"k1").uid("1.2.3.4")
    assert uid != DeidPolicy(key=b"k2").uid("1.2.3.4")
    assert 1 <= p.shift_days("PAT1") <= 3650
    assert len({p.shift_days(f"PAT{i}") for i in range(20)}) > 15  # per patient, not one global shift
    assert DeidPolicy(key=b"k1", keep_dates=True).shift_days("PAT1") == 0
    assert DeidPolicy(enabled=False).uid("1.2.3.4") == "1.2.3.4"
    assert p.date(dt.date(1, 1, 2), "PAT1") is None  # placeholder dates cannot be shifted


def test_header_fields_apply_the_basic_profile() -> None:
    ds = pydicom.dcmread(NM1, stop_before_pixels=True)
    fields, removed = DeidPolicy(key=b"k").header_fields(ds, str(ds.PatientID))
    assert "PatientID" not in fields and "PatientName" not in fields and "InstitutionName" not in fields
    assert fields["StudyInstanceUID"] != ds.StudyInstanceUID and fields["StudyInstanceUID"].startswith("2.25.")
    assert fields["PatientSex"] == "M"  # Retain Patient Characteristics
    assert fields["StudyTime"] == ds.StudyTime  # times kept, dates shifted
    assert removed["InstitutionName"] == "replaced" and removed["StudyDate"] == "date shifted"
    assert all(v.startswith("removed") for k, v in removed.items() if k.startswith("("))

    kept, none_removed = DeidPolicy(enabled=False).header_fields(ds, "")
    assert kept["PatientID"] == ds.PatientID and none_removed == {}

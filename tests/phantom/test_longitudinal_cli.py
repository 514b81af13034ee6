"""Longitudinal series and the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from mibgkit.phantom.longitudinal import TIMEPOINTS, make_longitudinal


def test_lesions_shrink_persist_and_recur_at_earlier_sites():
    series = make_longitudinal(age_years=4.0, sex="M", seed=5, pattern="extensive")
    assert [p.timepoint for p in series] == [t for t, _ in TIMEPOINTS]
    n = [len(p.lesions) for p in series]
    assert n[0] > n[1] >= n[2] >= n[3] and n[2] >= 1
    first = {les.id: les for les in series[0].lesions}
    for p in series[1:4]:
        for les in p.lesions:
            if les.id in first and les.kind == "focal" and first[les.id].kind == "focal":
                assert les.contrast < first[les.id].contrast
    relapse = series[-1]
    assert any(les.id in first for les in relapse.lesions)
    assert relapse.anatomy is series[0].anatomy


def test_cli_writes_a_study(tmp_path):
    out = tmp_path / "one"
    r = subprocess.run([sys.executable, "-m", "mibgkit", "phantom", str(out), "--age", "3", "--pattern",
                        "limited", "--seed", "2", "--layout", "nm_single"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "SIOPEN" in r.stdout
    truth = json.loads((out / "truth.json").read_text())
    assert truth["patient"]["age_years"] == 3.0 and truth["layout"] == "nm_single"
    assert sorted(p.name for p in out.glob("*.dcm")) == ["NM_WB_ANT.dcm", "NM_WB_POST.dcm"]


def test_cli_rejects_bad_pattern(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mibgkit", "phantom", str(tmp_path), "--pattern", "bogus"],
                       capture_output=True, text=True)
    assert r.returncode != 0

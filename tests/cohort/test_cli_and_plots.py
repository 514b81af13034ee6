"""``mibgkit cohort`` run as a command, and the figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from mibgkit.cohort import Cohort, plot_bland_altman, plot_segment_heatmap, plot_trajectories, save_figure

COURSES: dict[str, dict[str, dict[str, Any]]] = {
    # patient: {timepoint: findings}
    "P1": {"diagnosis": {"spine": 3, "pelvis": 2, "skull": 1}, "post_induction": {"spine": 1},
           "post_hdc": {"spine": 1}, "end_of_treatment": {"spine": 1}, "relapse": {"spine": 3, "pelvis": 0.6}},
    "P2": {"diagnosis": {"pelvis": 0.7, "spine": 0.3}, "post_induction": {"pelvis": 2},
           "post_hdc": {}, "end_of_treatment": {}},
    "P3": {"diagnosis": {"skull": 2}, "post_induction": {}, "post_hdc": {}, "end_of_treatment": {}},
    "P4": {"diagnosis": {"left_lower_limb_proximal": 2, "thoracic_cage": 1}, "post_induction": {"thoracic_cage": 1},
           "post_hdc": {"thoracic_cage": 1}, "relapse": {"thoracic_cage": 2, "skull": 1}},
}


def _write_cohort(root: Path, make_reading) -> None:
    for pid, course in COURSES.items():
        for tp, findings in course.items():
            make_reading(pid, tp, findings, reader="A").save(root / pid / tp / "A" / "reading.json")
            # reader B misses the faintest finding: the first focus of the patient's last segment
            fb = dict(findings)
            if fb and tp != "diagnosis":
                last = list(fb)[-1]
                if isinstance(fb[last], int):
                    fb[last] = fb[last] - 1
            make_reading(pid, tp, fb, reader="B").save(root / pid / tp / "B" / "reading.json")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mibgkit", "cohort", *args], capture_output=True, text=True,
                          timeout=300)


def _png_ok(path: Path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = imread(path)
    assert img.shape[0] > 200 and img.shape[1] > 200
    assert float(np.std(img[..., :3])) > 0.01  # not blank


def test_cli_writes_tables_and_figures(tmp_path, make_reading):
    _write_cohort(tmp_path / "readings", make_reading)
    (tmp_path / "readings" / "junk").mkdir()
    (tmp_path / "readings" / "junk" / "reading.json").write_text('{"schema": "mibgkit.reading/1"}')
    out = tmp_path / "out"
    proc = _run(str(tmp_path / "readings"), "--out", str(out), "--oligo-n", "1")
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stdout and "segments missing" in proc.stdout
    assert "34 readings: 4 patients, readers A, B" in proc.stdout
    for name in ("segments.csv", "studies.csv", "response.csv", "persistence.csv", "relapse_sites.csv",
                 "trajectories.csv", "positive_segments.csv", "summary_scores.csv", "summary_threshold.csv",
                 "summary_response.csv", "summary_persistence.csv", "summary_relapse_sites.csv",
                 "agreement_segments.csv", "agreement_total.csv", "skipped.csv"):
        assert (out / name).is_file(), name
    seg = pd.read_csv(out / "segments.csv")
    assert len(seg) == 34 * 12
    pers = pd.read_csv(out / "persistence.csv")
    p1 = pers[(pers.patient_id == "P1") & (pers.reader == "A")].iloc[0]
    assert bool(p1.persisting) and bool(p1.oligo) and p1.group == "relapse"
    p4 = pers[(pers.patient_id == "P4") & (pers.reader == "B")].iloc[0]
    assert not bool(p4.persisting)  # reader B missed the one focus
    resp = pd.read_csv(out / "response.csv")
    r = resp[(resp.patient_id == "P1") & (resp.reader == "A")].set_index("timepoint")["response"]
    assert r["post_induction"] == "PR" and r["relapse"] == "PD"
    rel = pd.read_csv(out / "relapse_sites.csv")
    assert set(rel[rel.reader == "A"]["new_sites"].fillna("")) == {"", "skull"}
    agree = pd.read_csv(out / "agreement_total.csv").iloc[0]
    assert agree.n_studies == 17 and -1 <= agree.icc_icc <= 1 and agree.ba_bias > 0
    for name in ("trajectories_A.png", "trajectories_B.png", "heatmap_A.png", "heatmap_B.png", "bland_altman.png"):
        _png_ok(out / name)


def test_cli_consensus(tmp_path, make_reading):
    _write_cohort(tmp_path / "readings", make_reading)
    out = tmp_path / "out"
    proc = _run(str(tmp_path / "readings"), "--out", str(out), "--consensus", "max", "--no-figures")
    assert proc.returncode == 0, proc.stderr
    st = pd.read_csv(out / "consensus_studies.csv")
    assert set(st.reader) == {"consensus"} and len(st) == 17
    assert len(list((out / "consensus_readings").rglob("reading.json"))) == 17
    pers = pd.read_csv(out / "persistence.csv")
    assert bool(pers.set_index("patient_id").loc["P4", "persisting"])  # max keeps A's focus
    assert not list(out.glob("*.png"))


def test_cli_errors_are_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = _run(str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1 and "no readings found" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = _run(str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1 and "no such file" in proc.stderr


def test_figures(tmp_path, make_reading):
    readings = [make_reading(pid, tp, f, reader="A") for pid, c in COURSES.items() for tp, f in c.items()]
    cohort = Cohort(readings, groups={"P1": "progressor", "P4": "progressor"})
    seg = cohort.segments()
    fig = plot_trajectories(cohort.studies())
    ax = fig.axes[0]
    assert ax.get_yscale() == "symlog"
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "diagnosis"
    legend = ax.get_legend()
    assert legend is not None and len(legend.get_texts()) == 3  # two groups + threshold
    _png_ok(save_figure(fig, tmp_path / "traj.png"))
    heat = plot_segment_heatmap(seg)
    cells = heat.axes[0].images[0].get_array()
    assert cells is not None and cells.shape == (12, 5)
    _png_ok(save_figure(heat, tmp_path / "heat.png"))
    one = plot_segment_heatmap(seg, patient_id="P1")
    grades = one.axes[0].images[0].get_array()
    assert grades is not None and np.nanmax(grades) == 5  # P1 diffuse pelvis at relapse
    with pytest.raises(ValueError):
        plot_segment_heatmap(seg, patient_id="nobody")
    ba = plot_bland_altman([1, 2, 3, 10], [1, 3, 3, 8], labels=("A", "B"))
    assert "A" in ba.axes[0].get_ylabel()
    _png_ok(save_figure(ba, tmp_path / "ba.png"))


def test_pandas_is_not_imported_by_mibgkit_or_the_cohort_parser():
    code = (
        "import argparse, sys, mibgkit, mibgkit.cli.cohort as c;"
        "c.add_parser(argparse.ArgumentParser().add_subparsers());"
        "print(','.join(m for m in ('pandas', 'matplotlib', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == ""

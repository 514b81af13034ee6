"""The worked example examples/persisting_metastases.py runs end to end in quick mode."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]


def test_persisting_metastases_example_quick(tmp_path):
    out = tmp_path / "pm"
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "persisting_metastases.py"), "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stdout
    assert text.startswith("6 synthetic patients")
    m = re.search(r"ICC\(2,1\) ([0-9.]+)", text)
    assert m is not None
    icc = float(m.group(1))
    assert 0.8 < icc <= 1.0
    assert "== consensus ==" in text and "== truth ==" in text
    assert re.search(r"Persisting skeletal uptake after HDC: \d+/6 \(\d+%\)", text)
    for name in ("cohort_trajectories.png", "cohort_heatmap.png", "cohort_bland_altman.png"):
        assert (out / name).stat().st_size > 10_000
    seg = pd.read_csv(out / "consensus_segments.csv")
    assert set(seg["reader"]) == {"consensus"} and len(seg) % 12 == 0
    truth = pd.read_csv(out / "truth_persistence.csv")
    assert len(truth) == 6 and set(truth["group"]) <= {"lasting_responder", "progressor"}
    # the readings went through reading.json files: 4 readings (truth, A, B, C) per study
    n_files = len(list((out / "readings").rglob("reading.json")))
    assert n_files == 4 * len(seg) // 12

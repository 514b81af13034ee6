"""``mibgkit convert`` run as a command: exit status, summary, manifest."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from convert_data import make_tree


def _mibgkit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MIBGKIT_KEY": "cli-test-key"}
    return subprocess.run([sys.executable, "-m", "mibgkit", *args], capture_output=True, text=True, env=env,
                          check=False)


def test_convert_command(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, 2)
    proc = _mibgkit("convert", str(src), str(out), "--format", "nrrd", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "2 studies, 6 images" in proc.stdout and "converted 4" in proc.stdout
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert len(rows) == 4 and {r["status"] for r in rows} == {"converted"}
    assert len(list(out.rglob("*.nrrd"))) == 6

    again = _mibgkit("convert", str(src), str(out), "--format", "nrrd", "--no-progress")
    assert again.returncode == 0 and "unchanged 4" in again.stdout


def test_failed_file_gives_status_1_after_the_whole_batch(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, 1)
    good = next(src.rglob("IM00000")).read_bytes()
    (src / "bad.dcm").write_bytes(good[:2000])
    proc = _mibgkit("convert", str(src), str(out), "--no-progress")
    assert proc.returncode == 1
    assert "failed: bad.dcm" in proc.stderr and "converted 2" in proc.stdout


def test_bad_template_is_one_line_error(tmp_path: Path) -> None:
    proc = _mibgkit("convert", str(tmp_path), str(tmp_path / "o"), "--template", "{nope}")
    assert proc.returncode == 1
    assert "unknown field" in proc.stderr and "Traceback" not in proc.stderr

"""Timings of the phantom: make_patient, simulate (ANT+POST), write_dicom.

Run: ``.venv/bin/python benchmarks/bench_phantom.py``. Prints a markdown table (median of
repeats, wall clock and process CPU time -- the machine is shared, so CPU time is the
one-core cost) and writes it to ``docs/benchmarks/phantom.md``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from mibgkit.phantom import make_patient, simulate, write_dicom

CASES = [(1.5, "diffuse"), (5.0, "limited"), (10.0, "extensive"), (16.0, "limited")]
REPEATS = 3


def _median(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(median wall s, median CPU s, last result)."""
    wall, cpu, out = [], [], None
    for _ in range(REPEATS):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), out


def main() -> str:
    """Run the benchmark, print and write the markdown."""
    rows = []
    for age, pattern in CASES:
        w_pat, c_pat, patient = _median(partial(make_patient, age_years=age, sex="M", seed=1, pattern=pattern))
        w_sim, c_sim, sim = _median(partial(simulate, patient, seed=1))
        with tempfile.TemporaryDirectory() as d:
            w_wr, c_wr, _ = _median(partial(write_dicom, sim, Path(d), layout="nm_multiframe"))
        rows.append((age, pattern, patient.anatomy.grid.shape, c_pat, c_sim, c_wr, c_pat + c_sim, w_pat + w_sim))
    w_sp, c_sp, _ = _median(partial(simulate, make_patient(age_years=8.0, seed=2), seed=2, spect=True))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Phantom benchmark",
        "",
        f"`benchmarks/bench_phantom.py`: median of {REPEATS} runs, one thread, CPU time of the process "
        f"(the machine is shared: load average {load:.1f} on {os.cpu_count()} cores during the run, so wall "
        f"time is also given). {platform.machine()}, Python {platform.python_version()}.",
        "",
        "| age (y) | pattern | voxel grid (rows, depth, cols) | make_patient CPU (s) | simulate ANT+POST CPU (s) "
        "| write_dicom CPU (s) | study total CPU (s) | study total wall (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for age, pattern, shape, a, b, c, tot, wall in rows:
        lines.append(f"| {age:g} | {pattern} | {shape} | {a:.2f} | {b:.2f} | {c:.2f} | {tot:.2f} | {wall:.2f} |")
    lines += [
        "",
        f"SPECT + CT (128^3 at 4.4 mm, 8 y), `simulate(..., spect=True)` only: CPU {c_sp:.2f} s, wall {w_sp:.2f} s.",
        "",
        "Target (issue 3): one whole-body study (ANT+POST) <= 5 s on one core (\"study total\" = make_patient + "
        "simulate).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "phantom.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text


if __name__ == "__main__":
    main()

"""First reader session in a fresh process: compute wait, wall and process CPU.

Runs the *walk* session of :mod:`bench_reader_session` once, alone in this process (so it
pays every first-use cost: imports, napari's first layers, shader compilation), and prints
one JSON line: the benchmark's wall windows (load, analysis) and the process CPU time over
the same two windows (robust to other jobs on a shared machine; llvmpipe's render threads
are in this process, so they count). Compare two trees by alternating fresh processes::

    for i in 1 2 3 4 5 6; do for t in OLD NEW; do
        PYTHONPATH=$t:$t/plugins/napari/src xvfb-run -a .venv/bin/python \\
            $t/benchmarks/bench_reader_cold.py --root $t
    done; done
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import types
from pathlib import Path


def main() -> int:
    """Run one cold session and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.root / "benchmarks"))
    import bench_reader_session as bench

    marks: list[float] = []

    def perf_counter() -> float:  # the benchmark's own timer, with the CPU time at each mark
        marks.append(time.process_time())
        return time.perf_counter()

    bench.time = types.SimpleNamespace(perf_counter=perf_counter)  # type: ignore[assignment]
    folder = args.root / "sample_dicom" / "oligo"
    truth = bench.load_truth(folder)
    with tempfile.TemporaryDirectory() as tmp:
        s = bench.run_session(folder, truth, "walk", Path(tmp) / "walk.json", None)
    cpu_load, cpu_analyse = marks[1] - marks[0], marks[3] - marks[2]
    print(json.dumps({
        "wait": round(s.wait_s, 3), "load": round(s.load_s, 3), "analyse": round(s.analyse_s, 3),
        "cpu_wait": round(cpu_load + cpu_analyse, 3), "cpu_load": round(cpu_load, 3),
        "cpu_analyse": round(cpu_analyse, 3), "actions": len(s.actions),
        "siopen": s.reading["siopen_total"], "pydicom_imported": "pydicom" in sys.modules,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

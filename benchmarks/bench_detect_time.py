"""CPU time of hot-spot detection per study: this code vs an older package, alternating.

Usage::

    .venv/bin/python benchmarks/bench_detect_time.py --before /tmp/old_pkg --n 30
    .venv/bin/python benchmarks/bench_detect_time.py --n 30 --profile     # this code only

``--before`` is a directory holding an older ``mibgkit`` package (e.g. ``git archive <commit>
mibgkit | tar -x -C DIR``). Two worker processes load the same phantom studies (the cache of
``bench_detect.py``, seeds ``--seed0`` ...), one with this repository's package first on the
path and one with the older package; the parent asks them in turn to run
:func:`~mibgkit.detect.detect_study` on one study and report its ``time.process_time``
(alternating which goes first per study, so both see the same machine load). Printed: the
CPU median and maximum per study of each side, their ratio, and how many studies gave
identical proposals (segments, positions, patterns) and confidences (to 1e-9) on both sides
(meaningful when ``--before`` is the same detector before a performance-only change).
``--profile`` adds a cProfile summary (cumulative time) of this code on the first 10 studies.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _worker(seed0: int, n: int) -> int:
    """Serve "index" lines on stdin: detect that study, answer one JSON line."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_detect as b

    import mibgkit
    from mibgkit.detect import detect_study

    cases = []
    for s in range(seed0, seed0 + n):
        sim = b.simulate_case(s)
        cases.append((sim.study, b.truth_maps(sim)))  # not the whole simulation (tens of MB each)
        del sim
    detect_study(cases[0][0], cases[0][1])  # warm caches and lazy imports
    print(json.dumps({"ready": mibgkit.__file__}), flush=True)
    for line in sys.stdin:
        i = int(line)
        study, maps = cases[i]
        c0 = time.process_time()
        det = detect_study(study, maps)
        cpu = time.process_time() - c0
        sig = [[h.segment, h.pattern, h.category, [[loc.view, round(loc.row, 6), round(loc.col, 6)]
                                                   for loc in h.locations]] for h in det.hotspots]
        conf = [f.confidence for f in det.candidates]
        print(json.dumps({"cpu": cpu, "sig": sig, "conf": conf}), flush=True)
    return 0


def _start(pythonpath: str, seed0: int, n: int) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, PYTHONPATH=pythonpath)
    proc = subprocess.Popen([sys.executable, __file__, "--worker", "--seed0", str(seed0), "--n", str(n)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    return proc, str(ready["ready"])


def _ask(proc: subprocess.Popen[str], i: int) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{i}\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"worker {proc.pid} ended (exit code {proc.wait()})")
    return dict(json.loads(line))


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a["sig"] != b["sig"] or len(a["conf"]) != len(b["conf"]):
        return False
    return all(abs(x - y) <= 1e-9 for x, y in zip(a["conf"], b["conf"]))


def _profile(seed0: int, n: int) -> None:
    import cProfile
    import pstats

    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_detect as b

    from mibgkit.detect import detect_study

    cases = [(sim, b.truth_maps(sim)) for sim in (b.simulate_case(s) for s in range(seed0, seed0 + min(n, 10)))]
    detect_study(cases[0][0].study, cases[0][1])
    pr = cProfile.Profile()
    pr.enable()
    for sim, maps in cases:
        detect_study(sim.study, maps)
    pr.disable()
    pstats.Stats(pr).sort_stats("cumulative").print_stats(r"mibgkit", 30)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--before", type=Path, help="directory holding an older mibgkit package")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed0", type=int, default=10000)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return _worker(args.seed0, args.n)
    here = os.pathsep.join([str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    new, new_file = _start(here, args.seed0, args.n)
    procs = {"new": new}
    print(f"new:    {new_file}")
    if args.before is not None:
        old, old_file = _start(str(args.before.resolve()), args.seed0, args.n)
        procs["before"] = old
        print(f"before: {old_file}")
    cpu: dict[str, list[float]] = {k: [] for k in procs}
    same = 0
    for i in range(args.n):
        order = list(procs) if i % 2 == 0 else list(procs)[::-1]
        res = {k: _ask(procs[k], i) for k in order}
        for k in procs:
            cpu[k].append(float(res[k]["cpu"]))
        if "before" in res:
            same += _same(res["new"], res["before"])
    for p in procs.values():
        assert p.stdin is not None
        p.stdin.close()
        p.wait()
    seeds = f"seeds {args.seed0}-{args.seed0 + args.n - 1}"
    for k, v in cpu.items():
        print(f"{k:7s} detect_study CPU per study ({seeds}): median {statistics.median(v):.3f} s, "
              f"max {max(v):.3f} s")
    if "before" in cpu:
        ratio = statistics.median(cpu["new"]) / statistics.median(cpu["before"])
        per = statistics.median(a / b for a, b in zip(cpu["new"], cpu["before"]))
        print(f"ratio new/before: {ratio:.3f} (of medians), {per:.3f} (median per-study ratio)")
        print(f"identical proposals and confidences (1e-9): {same}/{args.n} studies")
    if args.profile:
        _profile(args.seed0, args.n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

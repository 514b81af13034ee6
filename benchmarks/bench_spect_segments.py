"""SPECT(/CT) label volumes of phantom studies against the phantom's truth labels.

Each case is ``simulate(make_patient(...), spect=True)`` with the cohort parameters of
``bench_segments.case_params`` (age 1-18, arm pose, disease pattern); the SPECT field is
the trunk (no whole-body landmark of its own). For every mapped NM volume: Dice per
segment over the truth's bone voxels (truth bone voxels the map leaves unlabelled, e.g.
thin ribs under the CT threshold, count as misses), the split accuracy (share of the
labelled truth bone voxels whose label is right), the method used,
and the extra CPU time of the volumes (``map_segments`` with and without the volumes).

Usage: ``python benchmarks/bench_spect_segments.py [--seeds 0-9]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_segments import case_params

from mibgkit.anatomy.map import map_segments
from mibgkit.phantom import make_patient, simulate
from mibgkit.segments import SIOPEN_KEYS

#: Segments with fewer truth bone voxels than this in the field are not scored.
MIN_VOXELS = 50


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def run(seeds: list[int], with_ct: bool = True) -> None:
    """Print per-case and per-segment figures."""
    per: dict[str, list[float]] = {k: [] for k in SIOPEN_KEYS}
    extra: list[float] = []
    methods: list[str] = []
    acc: list[float] = []
    cov: list[float] = []
    for seed in seeds:
        p = case_params(seed)
        sim = simulate(make_patient(p["age"], sex=p["sex"], seed=seed, pattern=p["pattern"], arms=p["arms"]),
                       seed=seed, spect=True, with_ct=with_ct)
        study = sim.study
        vols = list(study.volumes)
        t0 = time.process_time()
        m = map_segments(study)
        t1 = time.process_time()
        study.volumes.clear()
        map_segments(study)
        t2 = time.process_time()
        study.volumes.extend(vols)
        extra.append((t1 - t0) - (t2 - t1))
        truth = sim.spect.labels
        bone = truth > 0
        nm = next(i for i, v in enumerate(vols) if v.modality.upper() == "NM")
        if nm not in m.volumes:
            methods.append("unmapped:" + m.unmapped_volumes[nm].reason)
            print(f"seed {seed} age {p['age']:.1f} {p['arms']}: unmapped ({m.unmapped_volumes[nm].reason})")
            continue
        vm = m.volumes[nm]
        methods.append(vm.method)
        lab = vm.labels[bone]
        acc.append(float((lab == truth[bone])[lab > 0].mean()) if (lab > 0).any() else 0.0)
        cov.append(float((lab > 0).mean()))
        row = [f"split acc {acc[-1]:.3f} bone labelled {cov[-1]:.2f} |"]
        for k, key in enumerate(SIOPEN_KEYS, 1):
            a = truth == k
            if a.sum() < MIN_VOXELS:
                continue
            b = (vm.labels == k) & bone
            d = float(2 * (a & b).sum() / (a.sum() + b.sum()))
            per[key].append(d)
            row.append(f"{key}={d:.2f}")
        print(f"seed {seed} age {p['age']:.1f} {p['arms']}: {vm.method} conf {vm.confidence:.2f} "
              f"extra CPU {extra[-1]:.2f} s | " + " ".join(row))
    print(f"\nmethods: {', '.join(f'{x} x{methods.count(x)}' for x in sorted(set(methods)))}")
    print(f"split accuracy (truth bone voxels that are labelled: label right): median {np.median(acc):.3f}, "
          f"min {np.min(acc):.3f}; truth bone voxels labelled: median {np.median(cov):.2f}")
    print(f"extra CPU for the volumes: median {np.median(extra):.2f} s, max {np.max(extra):.2f} s\n")
    print("| segment | n | median Dice | 10th pct |")
    print("|---|---|---|---|")
    for key in SIOPEN_KEYS:
        v = per[key]
        if v:
            print(f"| {key} | {len(v)} | {np.median(v):.2f} | {np.percentile(v, 10):.2f} |")


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--no-ct", action="store_true", help="SPECT without CT (planar method)")
    a = ap.parse_args(argv)
    run(_seeds(a.seeds), with_ct=not a.no_ct)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark ``mibgkit.load`` against bare ``pydicom.dcmread`` + ``.pixel_array``.

For every real file in tests/data/nm_dicom, and for a folder of 200 NM files (real files
copied under /tmp with new UIDs), time

* baseline: ``pydicom.dcmread(path).pixel_array`` for each file (a folder walk included), and
* mibgkit: ``mibgkit.load(path)`` (discover, read, classify, check, decode, rescale to
  float32, split frames, identify views, normalize orientation, metadata),

as medians of repeats in the same run, and report the ratio (goal <= 1.3x).

Usage::

    .venv/bin/python benchmarks/bench_load.py [--repeats 7] [--out docs/benchmarks/load.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

import mibgkit
from mibgkit.io.headers import read_header

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "nm_dicom"
FOLDER = Path("/tmp/mibgkit_bench_load/nm200")
N_FOLDER = 200


def real_files() -> list[Path]:
    """DICOM files among the real test data (licence and README files left out)."""
    out = []
    for p in sorted(DATA.rglob("*")):
        if p.is_file() and p.read_bytes()[128:132] == b"DICM":
            out.append(p)
    return out


def make_folder(files: list[Path], n: int = N_FOLDER) -> Path:
    """``n`` NM files in FOLDER: the real files cycled, each copy with new SOP/Series UIDs."""
    if FOLDER.exists():
        shutil.rmtree(FOLDER)
    FOLDER.mkdir(parents=True)
    for i in range(n):
        src = files[i % len(files)]
        ds = pydicom.dcmread(src)
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.SeriesInstanceUID = generate_uid()
        ds.save_as(FOLDER / f"{i:03d}_{src.name}")
    return FOLDER


def paired_medians(
    base: Callable[[], object], ours: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median CPU times of ``base`` and ``ours``, run alternately.

    CPU time of this process (``time.process_time``), not wall time: the benchmark machine is
    shared, and wall time mostly measured other people's jobs. Files are in the page cache
    after the warm-up, so I/O waits are negligible for both.
    """
    tb, to = [], []
    for _ in range(repeats):
        t = time.process_time()
        base()
        tb.append(time.process_time() - t)
        t = time.process_time()
        ours()
        to.append(time.process_time() - t)
    return statistics.median(tb), statistics.median(to)


def bare(paths: list[Path]) -> None:
    for p in paths:
        pydicom.dcmread(p).pixel_array  # noqa: B018


def bare_folder(folder: Path) -> None:
    paths = [Path(d) / f for d, _, fs in os.walk(folder) for f in fs]
    bare(paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks" / "load.md"))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    os.environ.setdefault("MIBGKIT_KEY", "benchmark")

    files = real_files()
    # warm up decoders and imports once
    for p in files:
        bare([p])
        mibgkit.load(p)

    rows = []
    for p in files:
        base, ours = paired_medians(lambda p=p: bare([p]), lambda p=p: mibgkit.load(p), args.repeats)
        ts = str(read_header(p).file_meta.TransferSyntaxUID.name)
        rows.append((str(p.relative_to(DATA)), ts, base, ours))
        print(
            f"{p.name:<22} {ts[:38]:<38} bare {base * 1e3:7.2f} ms  mibgkit {ours * 1e3:7.2f} ms  x{ours / base:.2f}"
        )

    folder = make_folder(files)
    n_rep = max(3, args.repeats // 2)
    base_f, ours_f = paired_medians(lambda: bare_folder(folder), lambda: mibgkit.load(folder), n_rep)
    print(f"folder of {N_FOLDER} files: bare {base_f:.3f} s  mibgkit {ours_f:.3f} s  x{ours_f / base_f:.2f}")

    total_base = sum(r[2] for r in rows)
    total_ours = sum(r[3] for r in rows)
    lines = [
        "# Loading benchmark (`benchmarks/bench_load.py`)",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, pydicom {pydicom.__version__}; "
        f"{os.cpu_count()} cores shared with other jobs. CPU time of the process (`time.process_time`), "
        f"medians of {args.repeats} repeats (folder: {n_rep}), bare and mibgkit run alternately in the same run; "
        "absolute times still vary with the machine's load, the ratios are what to read.",
        "",
        "*bare* = `pydicom.dcmread(path).pixel_array`; *mibgkit* = `mibgkit.load(path)`: discover, read the "
        "header once (pixel data deferred), classify, check pixel length against the header, decode once, "
        "rescale to float32, split frames, identify views, normalize orientation, metadata and patient key. "
        "Goal: ratio <= 1.3.",
        "",
        "| file | transfer syntax | bare (ms) | mibgkit (ms) | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [f"| {n} | {ts} | {b * 1e3:.2f} | {o * 1e3:.2f} | {o / b:.2f} |" for n, ts, b, o in rows]
    lines += [
        f"| **all {len(rows)} files** | | {total_base * 1e3:.1f} | {total_ours * 1e3:.1f} | "
        f"**{total_ours / total_base:.2f}** |",
        f"| **folder of {N_FOLDER} NM files** (real files with new UIDs) | mixed | {base_f * 1e3:.0f} | "
        f"{ours_f * 1e3:.0f} | **{ours_f / base_f:.2f}** |",
        "",
        "## Where the extra time goes",
        "",
        "The bare read parses the header and decodes; it never looks at a value. mibgkit reads each",
        "header once (pixel data deferred, so discovery costs no pixel I/O) and decodes once, so the",
        "decode-bound compressed files come close to the goal. The rest, about 2-4 ms of CPU per",
        "object, is pydicom value access that the bare read skips: the Detector Information,",
        "Energy Window and Radiopharmaceutical sequences are parsed on first access, some 50 values",
        "are converted (view codes, orientation, frame vectors, times, spacing, metadata), plus the",
        "float32 copy the model requires. For the small uncompressed QC files (1-3 ms bare) that",
        "doubles or triples the time; on the mixed 200-file folder it is about 1.5x. The goal of",
        "1.3x is met only by the JPEG 2000 files; not met overall. Already done: one header parse",
        "per file, header fields cached, free-text lookups only when needed, uncompressed pixels",
        "viewed without pydicom's intermediate copy. Next steps if it matters: read the few needed",
        "tags by tag number from the raw elements, and compute StudyInfo lazily per study.",
        "",
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print(f"written {out}")


if __name__ == "__main__":
    main()

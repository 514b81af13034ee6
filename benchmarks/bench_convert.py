"""Benchmark ``mibgkit convert`` against dcm2niix and dicom2nifti on a generated archive.

The archive (default 200 studies) is cloned from phantom studies written by
``mibgkit.phantom.write_dicom``, each clone with its own Study/Series/SOP/Frame of
Reference UIDs and Patient ID, in nested folders with suffix-less file names:

- 1/4 planar pairs as one NM multi-frame object (ANT and POST frames),
- 1/4 planar pairs as two single-frame NM objects,
- 1/4 planar pairs as two Secondary Capture objects,
- 1/4 planar pair (NM multi-frame) + a SPECT reconstruction (NM, 1 object).

Every tool runs as a subprocess on the same tree in the same run (wall clock, start-up
included): ``mibgkit convert`` with 1 and 2 workers, ``dcm2niix -z y`` and
``dicom2nifti``; with ``--before DIR`` also an older mibgkit (a copy of the package
in DIR, put first on ``PYTHONPATH``). Each tool runs ``--reps`` times, round robin, and
the table gives medians of wall clock and of CPU time (user + system of the process
and its children; CPU does not depend on how busy the shared machine is). A study counts as converted correctly by a tool when every stored image
of it (each planar frame, the SPECT volume) is found in the tool's output with the
stored values after rescale (any axis order or flip accepted for the baselines); for
mibgkit the view must also be named right (ANT/POST) and the sidecar's frame mapping
must lead back to the stored frame exactly.

Usage::

    python benchmarks/bench_convert.py [--studies 200] [--work /tmp/mibgkit-bench-convert]
                                       [--reps 3] [--before /tmp/old_pkg] [--reuse-archive]
                                       [--tools dcm2niix,mibgkit1,mibgkit2,dicom2nifti]
                                       [--markdown docs/benchmarks/convert.md]

With ``--markdown``, a page that holds the markers ``<!-- bench_convert:begin -->`` and
``<!-- bench_convert:end -->`` gets only the text between them replaced (the rest of the
page, e.g. the discussion of the figures, stays); any other file is written whole.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.uid import generate_uid

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
KEY = "bench-convert-key"


@dataclass
class Expected:
    """One stored image a study must yield: a planar frame or a SPECT volume."""

    kind: str  # "planar" or "volume"
    series_uid: str
    sop_uid: str
    frame: int | None  # planar frame number; None for a volume
    view: str | None
    reference: np.ndarray  # stored values after rescale: (rows, cols) or (slices, rows, cols)


@dataclass
class StudyCase:
    study_uid: str
    folder: Path
    layout: str
    expected: list[Expected] = field(default_factory=list)


# --------------------------------------------------------------------- the archive
def _templates(work: Path) -> dict[str, tuple[list[Path], dict[tuple[str, int], str]]]:
    """Phantom studies to clone: layout -> (files, {(sop_uid, frame): view})."""
    from mibgkit.phantom import make_patient, simulate, write_dicom

    out: dict[str, tuple[list[Path], dict[tuple[str, int], str]]] = {}
    planar = simulate(make_patient(age_years=5.0, sex="F", seed=1, pattern="limited", arms="sides"),
                      seed=1, collimator="ME", spect=False)
    for layout in ("nm_multiframe", "nm_single", "secondary_capture"):
        files = write_dicom(planar, work / "templates" / layout, layout=layout)
        views = {(v.source.sop_instance_uid, v.source.frame): v.view for v in planar.study.views}
        out[layout] = ([Path(f) for f in files], views)
    spect = simulate(make_patient(age_years=3.0, sex="M", seed=2, pattern="extensive", arms="sides"),
                     seed=2, collimator="ME", spect=True)
    files = write_dicom(spect, work / "templates" / "spect", layout="nm_multiframe")
    views = {(v.source.sop_instance_uid, v.source.frame): v.view for v in spect.study.views}
    nm_files = [Path(f) for f in files if "/CT/" not in str(f)]  # the CT is not part of the benchmark
    out["planar+spect"] = (nm_files, views)
    return out


def _frames(ds: pydicom.Dataset) -> np.ndarray:
    arr = ds.pixel_array.astype(np.float64)
    if int(ds.get("NumberOfFrames", 1) or 1) == 1:
        arr = arr[None]
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    return arr * slope + intercept


def build_archive(work: Path, n_studies: int) -> list[StudyCase]:
    """Clone the phantom templates into ``n_studies`` studies with fresh UIDs."""
    templates = _templates(work)
    layouts = list(templates)
    archive = work / "archive"
    shutil.rmtree(archive, ignore_errors=True)
    cases = []
    loaded = {layout: [pydicom.dcmread(f) for f in files] for layout, (files, _) in templates.items()}
    decoded = {(layout, j): _frames(ds) for layout, dss in loaded.items() for j, ds in enumerate(dss)}
    for i in range(n_studies):
        layout = layouts[i % len(layouts)]
        _, views = templates[layout]
        study_uid = generate_uid()
        folder = archive / f"batch{i % 7}" / f"study{i:04d}"
        folder.mkdir(parents=True)
        case = StudyCase(study_uid, folder, layout)
        series_map: dict[str, str] = {}
        for_uid = generate_uid()
        for j, template in enumerate(loaded[layout]):
            ds = copy.deepcopy(template)
            old_sop = str(ds.SOPInstanceUID)
            ds.StudyInstanceUID = study_uid
            ds.SeriesInstanceUID = series_map.setdefault(str(ds.SeriesInstanceUID), generate_uid())
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            if "FrameOfReferenceUID" in ds:
                ds.FrameOfReferenceUID = for_uid
            ds.PatientID = f"BENCH{i:04d}"
            ds.PatientName = f"Bench^Patient{i:04d}"
            ds.save_as(folder / f"IM{j:04d}", enforce_file_format=True)
            frames = decoded[(layout, j)]
            if "TOMO" in " ".join(ds.ImageType):
                case.expected.append(Expected("volume", str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID),
                                              None, None, frames))
            else:
                for k in range(frames.shape[0]):
                    view = views.get((old_sop, k + 1))
                    case.expected.append(Expected("planar", str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID),
                                                  k + 1, view, frames[k]))
        cases.append(case)
    return cases


# ------------------------------------------------------------------------- checks
def _variants(a: np.ndarray, ndim: int) -> list[np.ndarray]:
    """``a`` under every axis order and flip (2-D or 3-D)."""
    out = []
    for perm in itertools.permutations(range(ndim)):
        b = np.transpose(a, perm)
        for flips in itertools.product([False, True], repeat=ndim):
            c = b
            for ax, f in enumerate(flips):
                if f:
                    c = np.flip(c, axis=ax)
            out.append(c)
    return out


def _close(a: np.ndarray, ref: np.ndarray) -> bool:
    return a.shape == ref.shape and np.allclose(a, ref, rtol=1e-4, atol=1e-3 * max(1.0, float(np.abs(ref).max())))


def contains(arr: np.ndarray, ref: np.ndarray) -> bool:
    """Is ``ref`` (2-D frame or 3-D volume) in ``arr``, in any axis order or flip?"""
    arr = np.squeeze(arr)
    if arr.ndim == ref.ndim:
        return any(_close(v, ref) for v in _variants(arr, arr.ndim) if v.shape == ref.shape)
    if arr.ndim == ref.ndim + 1:
        for axis in range(arr.ndim):
            rest = [n for i, n in enumerate(arr.shape) if i != axis]
            if sorted(rest) != sorted(ref.shape):
                continue
            for k in range(arr.shape[axis]):
                if contains(np.take(arr, k, axis=axis), ref):
                    return True
    return False


def _nifti_arrays(paths: list[Path]) -> list[np.ndarray]:
    import nibabel as nib

    arrays = []
    for p in paths:
        try:
            arrays.append(np.asarray(nib.load(str(p)).get_fdata(), dtype=np.float64))
        except Exception:  # an unreadable output simply does not count
            continue
    return arrays


def check_baseline(cases: list[StudyCase], outputs_of: dict[str, list[Path]]) -> dict[str, bool]:
    """Study UID -> every expected image found in the tool's outputs for that study."""
    ok = {}
    for case in cases:
        arrays = _nifti_arrays(outputs_of.get(case.study_uid, []))
        ok[case.study_uid] = bool(arrays) and all(any(contains(a, e.reference) for a in arrays) for e in case.expected)
    return ok


DTYPES: dict[str, int] = {}  # voxel types of mibgkit's outputs (last checked run)


def check_mibgkit(cases: list[StudyCase], out: Path) -> dict[str, bool]:
    """Study UID -> every expected image written, right view, frame mapping exact; the image
    read by SimpleITK and by nibabel gives the same array, of the type the sidecar names."""
    import nibabel as nib
    import SimpleITK as sitk

    from mibgkit.convert.deid import DeidPolicy
    from mibgkit.io.model import StoredFrame

    policy = DeidPolicy(key=KEY.encode())
    by_sop: dict[tuple[str, int | None], tuple[dict, Path]] = {}
    for side in out.rglob("*.json"):
        if ".mibgkit" in side.parts or side.name == "manifest.json":
            continue
        meta = json.loads(side.read_text())
        fm = meta["frame_mapping"]
        key = (fm["sop_instance_uid"], fm["frame"]) if isinstance(fm, dict) else (fm[0]["sop_instance_uid"], None)
        by_sop[key] = (meta, side.with_name(meta["image"]["file"]))
    ok = {}
    for case in cases:
        good = True
        for e in case.expected:
            found = by_sop.get((policy.uid(e.sop_uid), e.frame))
            if found is None:
                good = False
                break
            meta, image = found
            raw = sitk.GetArrayFromImage(sitk.ReadImage(str(image)))
            DTYPES[str(raw.dtype)] = DTYPES.get(str(raw.dtype), 0) + 1
            arr = raw.astype(np.float64)
            by_nib = np.asarray(nib.load(str(image)).dataobj)
            if str(raw.dtype) != meta["array"]["dtype"] or by_nib.dtype != raw.dtype or \
                    not np.array_equal(by_nib.T, raw):
                good = False
                break
            if e.kind == "planar":
                fm = meta["frame_mapping"]
                sf = StoredFrame("", fm["sop_instance_uid"], fm["frame"], tuple(fm["stored_shape"]), fm["mirrored"],
                                 fm["flipped_rows"], fm["row_offset"], fm["col_offset"])
                stored = sf.to_stored_array(arr)
                good = _close(stored, e.reference) and meta["view"] == e.view
            else:
                good = _close(arr, e.reference) or _close(arr[::-1], e.reference)
            if not good:
                break
        ok[case.study_uid] = good
    return ok


# -------------------------------------------------------------------------- runs
CPU_SECONDS: list[float] = []  # user + system CPU of each run, in order


def _timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, int, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return wall, proc.returncode, (proc.stdout + proc.stderr)[-2000:]


def _last_cpu() -> float:
    return CPU_SECONDS[-1]


def run_mibgkit(archive: Path, out: Path, workers: int, before: Path | None = None) -> float:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "MIBGKIT_KEY": KEY}
    if before is not None:  # an older copy of the package shadows the installed one
        env["PYTHONPATH"] = str(before)
    seconds, rc, log = _timed([sys.executable, "-m", "mibgkit", "convert", str(archive), str(out),
                               "--workers", str(workers), "--no-progress"], env,
                              cwd=out.parent)  # not the repository: `-m` puts the cwd first on sys.path
    if rc not in (0, 1):
        raise RuntimeError(f"mibgkit convert failed ({rc}): {log}")
    return seconds


def run_dcm2niix(archive: Path, out: Path, cases: list[StudyCase]) -> tuple[float, dict[str, list[Path]]]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    seconds, _, _ = _timed([str(BIN / "dcm2niix"), "-z", "y", "-b", "y", "-f", "%j", "-o", str(out), str(archive)])
    study_of_series = {e.series_uid: c.study_uid for c in cases for e in c.expected}
    outputs: dict[str, list[Path]] = {}
    for p in out.glob("*.nii*"):
        series = _series_of(p.name.removesuffix(".gz").removesuffix(".nii"), study_of_series)
        if series is not None:
            outputs.setdefault(study_of_series[series], []).append(p)
    return seconds, outputs


def _series_of(stem: str, series_uids: dict[str, str]) -> str | None:
    """The Series Instance UID a dcm2niix output stem names (maybe with a suffix such as
    ``_e1`` or ``a``); one UID can be a prefix of another, so a match must end there."""
    for uid in series_uids:
        if stem == uid or (stem.startswith(uid) and stem[len(uid)] not in "0123456789."):
            return uid
    return None


_D2N = """
import sys, pathlib, dicom2nifti
root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for study in sorted(p for p in root.glob('*/*') if p.is_dir()):
    dst = out / study.parent.name / study.name
    dst.mkdir(parents=True, exist_ok=True)
    try:
        dicom2nifti.convert_directory(str(study), str(dst), compression=True, reorient=False)
    except Exception as exc:
        print('failed', study, type(exc).__name__, exc)
"""


def run_dicom2nifti(archive: Path, out: Path, cases: list[StudyCase]) -> tuple[float, dict[str, list[Path]]]:
    shutil.rmtree(out, ignore_errors=True)
    seconds, _, _ = _timed([sys.executable, "-c", _D2N, str(archive), str(out)])
    outputs = {}
    for case in cases:
        rel = case.folder.relative_to(archive)
        outputs[case.study_uid] = sorted((out / rel).glob("*.nii*"))
    return seconds, outputs


def _version(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return (proc.stdout + proc.stderr).strip().splitlines()[0] if (proc.stdout + proc.stderr).strip() else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mibgkit-bench-convert"))
    parser.add_argument("--markdown", type=Path, default=None, help="write the results as markdown here")
    parser.add_argument("--reuse-archive", action="store_true", help="reuse the archive of an earlier run")
    parser.add_argument("--reps", type=int, default=3, help="runs per tool (medians are reported)")
    parser.add_argument("--before", type=Path, default=None,
                        help="folder holding an older copy of the mibgkit package, benchmarked as 'before'")
    parser.add_argument("--tools", default=",".join(TOOL_KEYS),
                        help=f"comma-separated subset of {', '.join(TOOL_KEYS)} (dcm2niix is always run: "
                             "it is the reference)")
    args = parser.parse_args(argv)
    chosen = {t.strip() for t in args.tools.split(",") if t.strip()} | {"dcm2niix"}
    unknown = chosen - set(TOOL_KEYS)
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}")
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    cache = work / f"cases-{args.studies}.pkl"
    archive = work / "archive"
    if args.reuse_archive and cache.is_file():
        cases = pickle.loads(cache.read_bytes())
        for case in cases:  # the archive may have been moved since
            case.folder = archive / case.folder.parent.name / case.folder.name
    else:
        cases = build_archive(work, args.studies)
        cache.write_bytes(pickle.dumps(cases))
    n_files = sum(1 for p in archive.rglob("*") if p.is_file())
    print(f"archive: {len(cases)} studies, {n_files} files ({time.perf_counter() - t0:.0f} s to prepare)")

    # name -> run(out) returning wall seconds; check(out) -> per-study correctness
    tools: dict[str, tuple[Callable[[Path], Any], Callable[[Path, Any], dict[str, bool]]]] = {
        "dcm2niix -z y": (lambda out: run_dcm2niix(archive, out, cases),
                          lambda out, res: check_baseline(cases, res[1])),
    }
    for workers in (1, 2):
        if f"mibgkit{workers}" not in chosen:
            continue
        if args.before is not None:
            tools[f"mibgkit convert --workers {workers} (before)"] = (
                lambda out, w=workers: run_mibgkit(archive, out, w, args.before),
                lambda out, res: check_mibgkit(cases, out))
        tools[f"mibgkit convert --workers {workers}"] = (
            lambda out, w=workers: run_mibgkit(archive, out, w),
            lambda out, res: check_mibgkit(cases, out))
    if "dicom2nifti" in chosen:
        tools["dicom2nifti"] = (lambda out: run_dicom2nifti(archive, out, cases),
                                lambda out, res: check_baseline(cases, res[1]))

    walls: dict[str, list[float]] = {name: [] for name in tools}
    cpus: dict[str, list[float]] = {name: [] for name in tools}
    last: dict[str, Any] = {}
    for rep in range(args.reps):
        for i, (name, (run, _)) in enumerate(tools.items()):
            out = work / f"out_{i}"
            res = run(out)
            walls[name].append(res[0] if isinstance(res, tuple) else res)
            cpus[name].append(_last_cpu())
            last[name] = res
            print(f"rep {rep + 1}: {name}: {walls[name][-1]:.1f} s wall, {cpus[name][-1]:.1f} s CPU", flush=True)
    checks = {}
    sizes = {}
    voxel_types: dict[str, int] = {}
    for i, (name, (_, check)) in enumerate(tools.items()):
        DTYPES.clear()
        checks[name] = check(work / f"out_{i}", last[name])
        if name.startswith("mibgkit convert") and not name.endswith("(before)"):
            voxel_types = dict(DTYPES)
        sizes[name] = sum(p.stat().st_size for p in (work / f"out_{i}").rglob("*.nii.gz")) / 2**20

    ref_wall = statistics.median(walls["dcm2niix -z y"])
    ref_cpu = statistics.median(cpus["dcm2niix -z y"])
    load = os.getloadavg()[0]
    layouts = list(dict.fromkeys(c.layout for c in cases))
    lines = [
        "| tool | wall s (median) | studies/s | vs dcm2niix (wall) | CPU s (median) | CPU ms/study | "
        "CPU vs dcm2niix | .nii.gz MiB | studies converted correctly | " + " | ".join(layouts) + " |",
        "|---|---|---|---|---|---|---|---|---|" + "---|" * len(layouts),
    ]
    for name in tools:
        wall, cpu, ok = statistics.median(walls[name]), statistics.median(cpus[name]), checks[name]
        per_layout = [
            f"{sum(ok[c.study_uid] for c in cases if c.layout == lay)}/{sum(c.layout == lay for c in cases)}"
            for lay in layouts
        ]
        lines.append(f"| {name} | {wall:.1f} | {len(cases) / wall:.2f} | {ref_wall / wall:.2f}x | {cpu:.1f} | "
                     f"{1000 * cpu / len(cases):.0f} | {cpu / ref_cpu:.2f}x | {sizes[name]:.1f} | "
                     f"{sum(ok.values())}/{len(cases)} | " + " | ".join(per_layout) + " |")
    header = [
        "# Batch conversion benchmark (`benchmarks/bench_convert.py`)",
        "",
        f"Archive: {len(cases)} studies, {n_files} files, cloned from `mibgkit.phantom.write_dicom` studies "
        f"with new UIDs: {', '.join(f'{sum(c.layout == lay for c in cases)} {lay}' for lay in layouts)}. "
        f"Machine: {os.cpu_count()} cores, shared (load average {load:.1f} at the end of the run). Each tool "
        f"as a subprocess on the same tree, {args.reps} runs each in the same session, round robin; medians. "
        "Wall clock and CPU (user + system, children included) include start-up; gzip-compressed NIfTI "
        "for every tool.",
        "",
        f"Tools: {_version([str(BIN / 'dcm2niix'), '--version'])}; dicom2nifti "
        f"{_pkg_version('dicom2nifti')}; mibgkit {_pkg_version('mibgkit')} (deflate: {_deflate()})"
        + (" ('before' = the package as it was before this optimisation, same session)." if args.before else "."),
        "",
    ]
    raw = ["", "Every run (wall s / CPU s): " + "; ".join(
        f"{name}: " + ", ".join(f"{w:.1f}/{c:.1f}" for w, c in zip(walls[name], cpus[name])) for name in tools) + "."]
    for name in tools:
        if not name.startswith("mibgkit"):
            continue
        paired = [d / m for d, m in zip(walls["dcm2niix -z y"], walls[name])]
        raw += ["", f"Paired per repetition, `{name}` throughput vs dcm2niix (wall): "
                + ", ".join(f"{r:.2f}x" for r in paired) + f" (median {statistics.median(paired):.2f}x)."]
    raw += ["", "Voxel types written by mibgkit: " + ", ".join(f"{k} {v}" for k, v in sorted(voxel_types.items()))
            + "."]
    footer = [
        "",
        "Correct = every stored image of the study (each planar frame; the SPECT volume) is in the "
        "tool's output with the stored values after rescale (baselines: any axis order or flip); "
        "for mibgkit also the right view name and a sidecar frame mapping that leads back to the "
        "stored frame exactly (checked on the last run's output).",
    ]
    text = "\n".join(header + lines + raw + footer) + "\n"
    print(text)
    if args.markdown:
        write_markdown(args.markdown, text)
    return 0


TOOL_KEYS = ("dcm2niix", "mibgkit1", "mibgkit2", "dicom2nifti")
BEGIN, END = "<!-- bench_convert:begin -->", "<!-- bench_convert:end -->"


def write_markdown(path: Path, text: str) -> None:
    """Write ``text`` between the markers of an existing page, else as the whole file."""
    old = path.read_text() if path.is_file() else ""
    if BEGIN in old and END in old and old.index(BEGIN) < old.index(END):
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        body = text.split("\n", 2)[2] if text.startswith("# ") else text  # the page keeps its own title
        text = f"{head}{BEGIN}\n{body}{END}{tail}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _deflate() -> str:
    proc = subprocess.run([sys.executable, "-c", "import mibgkit.convert.nifti as n; print(n.DEFLATE)"],
                          capture_output=True, text=True, check=False, cwd="/")
    name = proc.stdout.strip() or "?"
    return f"{name} {_pkg_version('isal')}" if name == "isal" else name


def _pkg_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())

"""``mibgkit convert IN OUT``: batch conversion of a DICOM tree (see :mod:`mibgkit.convert`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

HELP_TEMPLATE = (
    "output name template, relative to OUT, without extension (default: %(default)s). "
    "Study fields: {patient_key} {study_key} {study_date} {modality}; image fields: "
    "{series_number} {view} {kind} {frame} {detector} {energy_window}. Values are reduced to "
    "[A-Za-z0-9._-]; repeats get _2, _3, ..."
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``convert``."""
    from mibgkit.convert.naming import DEFAULT_TEMPLATE

    p = subparsers.add_parser(
        "convert",
        help="convert a DICOM tree to NIfTI/NRRD/TIFF with JSON sidecars",
        description="Walk IN (any file names, DICOMDIR), convert every study's planar views and SPECT "
        "volumes to OUT with a same-name JSON sidecar, de-identified by default. Resumable (a rerun skips "
        "finished studies), atomic writes, and OUT/manifest.csv + manifest.json list every input file "
        "with its outcome. Exit status 0 when no DICOM file failed, 1 otherwise.",
    )
    p.add_argument("input", metavar="IN", help="input folder, file or DICOMDIR (only read)")
    p.add_argument("output", metavar="OUT", help="output folder")
    p.add_argument("--format", dest="fmt", choices=["nifti", "nrrd", "tiff"], default="nifti",
                   help="image format (default: nifti, .nii.gz)")
    p.add_argument("--template", default=DEFAULT_TEMPLATE, help=HELP_TEMPLATE)
    p.add_argument("--keep-phi", action="store_true",
                   help="do not de-identify (default: DICOM PS3.15 basic profile in sidecars and names)")
    p.add_argument("--keep-dates", action="store_true",
                   help="with de-identification, keep true dates instead of shifting them per patient")
    p.add_argument("--assume-view", choices=["ANT", "POST"],
                   help="treat a study's single unidentified planar view as this view")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default: 1)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask distributed cluster, e.g. tcp://host:8786 (overrides --workers)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    """Run the conversion and print a summary; returns the exit status."""
    from mibgkit.convert import convert_tree

    if args.workers < 1:
        raise ValueError("--workers must be at least 1")
    report = convert_tree(
        args.input,
        args.output,
        template=args.template,
        fmt=args.fmt,
        deidentify=not args.keep_phi,
        keep_dates=args.keep_dates,
        assume_view=args.assume_view,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    counts = ", ".join(f"{s} {report.count(s)}" for s in ("converted", "unchanged", "failed", "skipped"))
    print(f"{report.n_studies} studies, {len(report.outputs)} images in {report.seconds:.1f} s; files: {counts}")
    for o in report.outcomes:
        if o.status == "failed":
            print(f"failed: {o.input}: {o.reason}", file=sys.stderr)
    print(f"manifest: {report.manifest_csv}")
    return 1 if report.count("failed") else 0

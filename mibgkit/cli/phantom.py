"""``mibgkit phantom OUT``: synthetic 24-h 123I-mIBG studies with ground truth."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``phantom`` subcommand."""
    p = subparsers.add_parser(
        "phantom",
        help="write synthetic mIBG studies (DICOM + truth.json + labels.npz)",
        description="Simulate paediatric 24-h 123I-mIBG whole-body studies (ANT+POST, optional SPECT/CT) "
        "with ground truth: SIOPEN/Curie grades, lesion positions, segment label maps.",
    )
    p.add_argument("out", help="output folder")
    p.add_argument("--age", type=float, default=5.0, help="age in years, 1-18 (default 5)")
    p.add_argument("--sex", choices=["M", "F"], default="F")
    p.add_argument("--pattern", choices=["none", "limited", "extensive", "diffuse"], default="limited")
    p.add_argument("--arms", choices=["sides", "abducted", "raised", "on_abdomen"], default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--collimator", choices=["ME", "LEHR"], default="ME")
    p.add_argument("--layout", choices=["nm_multiframe", "nm_single", "secondary_capture", "text_only"],
                   default="nm_multiframe")
    p.add_argument("--cohort", type=int, default=0, metavar="N",
                   help="N children of random age/sex/pattern into OUT/case_000, ...")
    p.add_argument("--longitudinal", action="store_true",
                   help="the same child at diagnosis, post-induction, post-HDC, end of treatment, relapse")
    p.add_argument("--spect", action="store_true", help="also a SPECT (NM RECON TOMO) and CT series")
    p.add_argument("--spots", default="", metavar="REGIONS",
                   help="comma-separated static spot views (256x256, own zoom and time): "
                   "head, thorax, abdomen, pelvis, knees")
    p.add_argument("--preview", action="store_true", help="also write preview.png (ANT, POST, segment maps)")
    p.add_argument("--samples", action="store_true", help="regenerate the bundled sample_dicom/ set into OUT")
    return p


def run(args: argparse.Namespace) -> int:
    """Write the requested studies; prints one line per study."""
    from pathlib import Path

    from mibgkit.phantom.cohort import write_cohort, write_longitudinal, write_one, write_samples

    out = Path(args.out)
    if args.samples:
        for line in write_samples(out, figures=(out / "previews") if args.preview else None):
            print(line)
        return 0
    if args.cohort:
        for line in write_cohort(out, args.cohort, seed=args.seed, layout=args.layout,
                                 collimator=args.collimator, spect=args.spect, preview=args.preview):
            print(line)
        return 0
    if args.longitudinal:
        for line in write_longitudinal(out, age=args.age, sex=args.sex, seed=args.seed, pattern=args.pattern,
                                       layout=args.layout, collimator=args.collimator, preview=args.preview):
            print(line)
        return 0
    spots = tuple(s.strip() for s in args.spots.split(",") if s.strip())
    bad = sorted(set(spots) - {"head", "thorax", "abdomen", "pelvis", "knees"})
    if bad:
        from mibgkit.errors import MibgkitError

        raise MibgkitError(f"--spots: unknown region(s) {', '.join(bad)} (head, thorax, abdomen, pelvis, knees)")
    print(write_one(out, age=args.age, sex=args.sex, seed=args.seed, pattern=args.pattern, arms=args.arms,
                    layout=args.layout, collimator=args.collimator, spect=args.spect, preview=args.preview,
                    spots=spots))
    return 0

"""``mibgkit score PATH --out DIR [--assume-view ANT]``: load, map, detect, score one study."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``score`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "score",
        help="score one study: reading.json (mibgkit.reading/1) and report.png",
        description="Load one study, map the SIOPEN segments, propose hot spots and score them. "
        "Writes DIR/reading.json and DIR/report.png.",
    )
    p.add_argument("path", help="DICOM file or folder holding one study")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--assume-view", choices=["ANT", "POST"], default=None,
                   help="view of a single image whose view the file does not state")
    p.add_argument("--timepoint", default=None, help="time point written into the reading (e.g. diagnosis)")
    p.add_argument("--no-report", action="store_true", help="write reading.json only")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``mibgkit score``; returns the exit status."""
    from pathlib import Path

    from mibgkit.pipeline import load_one, run_study

    out = Path(args.out)
    study = load_one(args.path, args.assume_view)
    res = run_study(study, timepoint=args.timepoint)
    reading_path = res.reading.save(out / "reading.json")
    msg = [f"{reading_path}"]
    if not args.no_report:
        from mibgkit.report import render_report

        msg.append(str(render_report(res.reading, study, res.maps, out / "report.png")))
    r = res.reading
    n_bone = sum(1 for h in r.hotspots if h.counts_for_score)
    print(f"SIOPEN {r.siopen_total}  Curie {r.curie_total}  bone findings {n_bone}  "
          f"other {len(r.hotspots) - n_bone}  -> {', '.join(msg)}")
    return 0

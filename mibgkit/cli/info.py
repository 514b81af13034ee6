"""``mibgkit info PATH [--json]``: what is in a file or folder, and why anything was skipped."""

from __future__ import annotations

import argparse
import warnings
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``info`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "info",
        help="studies, series, views (and how each was identified), volumes, skipped files",
        description="Load PATH (file, folder or DICOMDIR) and describe it without identifying data: "
        "studies, series, planar views with how each view was identified, dynamics, volumes, "
        "projections, metadata, and every skipped file with its reason.",
    )
    p.add_argument("path", nargs="+", help="DICOM file(s), folder(s) or DICOMDIR")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "-v", "--verbose", action="store_true",
        help="list every non-DICOM file (by default more than a few are counted by suffix)",
    )
    p.add_argument(
        "--assume-view", choices=["ANT", "POST"], default=None, help="view of a single unknown view"
    )
    return p


_LIST_NOT_DICOM = 3  # more non-DICOM files than this are summarised by suffix


def _skipped_lines(skipped: list[dict[str, Any]], verbose: bool) -> list[str]:
    """Skipped files with reasons; sidecars (truth.json, README, ...) counted, not listed."""
    from collections import Counter
    from pathlib import PurePath

    not_dicom = [k for k in skipped if k["reason"].startswith("NotDicomError")]
    if verbose or len(not_dicom) <= _LIST_NOT_DICOM:
        return [f"  {k['path']}: {k['reason']}" for k in skipped]
    lines = [f"  {k['path']}: {k['reason']}" for k in skipped if k not in not_dicom]
    suffixes = Counter(PurePath(k["path"]).suffix or "(no suffix)" for k in not_dicom)
    counts = ", ".join(f"{n} {sfx}" for sfx, n in suffixes.most_common())
    lines.append(f"  {len(not_dicom)} non-DICOM files ({counts}), e.g. {not_dicom[0]['path']}; -v lists them")
    return lines


def _text(summary: dict[str, Any], verbose: bool = False) -> str:
    lines: list[str] = []
    studies, skipped = summary["studies"], summary["skipped"]
    lines.append(f"{len(studies)} stud{'y' if len(studies) == 1 else 'ies'}, {len(skipped)} skipped file(s)")
    for s in studies:
        age = f"{s['age_years']:.1f} y" if s["age_years"] is not None else "age ?"
        lines.append("")
        lines.append(
            f"study {s['study_instance_uid']}  patient {s['patient_key'] or '?'}  {age}  sex {s['sex'] or '?'}"
        )
        lines.append(
            f"  {s['manufacturer'] or '?'} {s['model'] or ''}  acquired {s['acquisition_datetime'] or '?'}  "
            f"{s['radiopharmaceutical'] or 'radiopharmaceutical ?'}"
            + (f" {s['injected_activity_mbq']:g} MBq" if s["injected_activity_mbq"] else "")
        )
        for se in s["series"]:
            lines.append(f"  series {se['series_instance_uid']}  {se['description']!r}")
        for v in s["views"]:
            label = f" {v['label']!r}" if v["label"] else ""
            flags = ",".join(f for f in ("mirrored", "flipped_rows") if v[f]) or "as stored"
            lines.append(
                f"    view {v['view']:<7} from {v['view_source']}{label}: {v['kind']} "
                f"{v['shape'][0]}x{v['shape'][1]} @ {v['pixel_spacing_mm'][0]:g}x{v['pixel_spacing_mm'][1]:g} mm, "
                f"detector {v['detector']}, {flags} (orientation: {v['orientation_source']}); "
                f"{v['file']} frame {v['frame']}"
            )
        for d in s["dynamics"]:
            lines.append(
                f"    {d['kind']} {d['view']} from {d['view_source']}: {'x'.join(map(str, d['shape']))} "
                f"frames of {d['frame_durations_s']} s; {d['file']}"
            )
        for vol in s["volumes"]:
            lines.append(
                f"    volume {vol['modality']} {'x'.join(map(str, vol['shape']))} spacing {vol['spacing_mm']} mm "
                f"origin {vol['origin_lps']} direction {vol['direction']} ({vol['geometry_source']})"
            )
        for p in s["projections"]:
            lines.append(
                f"    projections {'x'.join(map(str, p['shape']))} vectors {p['vectors']}; {p['file']}"
            )
    if skipped:
        lines.append("")
        lines.append("skipped:")
        lines += _skipped_lines(skipped, verbose)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the description; exit 1 when nothing could be loaded."""
    import json
    from pathlib import Path

    from mibgkit.errors import MibgkitError

    # vendor files often carry over-long or odd values; the loader tolerates them, so pydicom's
    # warnings would only be noise on the terminal
    warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom\..*")
    from mibgkit.io import load
    from mibgkit.io.summary import describe

    for p in args.path:
        if not Path(p).exists():
            raise MibgkitError("no such file or folder", p)
    studies = load(args.path, assume_view=args.assume_view, strict=False)
    summary = describe(studies)
    print(json.dumps(summary, indent=2) if args.json else _text(summary, args.verbose))
    return 0 if studies else 1

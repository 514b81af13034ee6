"""``mibgkit segments PATH --out DIR``: the SIOPEN segment map of every view.

Writes, per planar view, ``DIR/segments_<VIEW>.nii.gz`` on the stored pixel grid of the
view's source frame (array (rows, cols) as stored, values = SIOPEN labels 0-12) and an
overlay ``DIR/segments_<VIEW>.png``; per SPECT/CT volume ``DIR/segments_<MODALITY>_<i>.nii.gz``
on the volume's grid; and ``DIR/segments.json`` (landmarks in stored coordinates,
missing segments, bone areas).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``segments`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "segments",
        help="SIOPEN segment map of each view (NIfTI on the stored grid + overlay PNG)",
        description="Load PATH, place the 12 SIOPEN skeletal segments on every planar view (and SPECT/CT "
        "volume) and write DIR/segments_<VIEW>.nii.gz on the stored pixel grid of each view's source frame, "
        "an overlay PNG per view and DIR/segments.json.",
    )
    p.add_argument("path", nargs="+", help="DICOM file(s), folder(s) or DICOMDIR")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--assume-view", choices=["ANT", "POST"], default=None, help="view of a single unknown view")
    p.add_argument("--age", type=float, default=None, help="age in years (overrides the header)")
    p.add_argument("--no-png", action="store_true", help="skip the overlay figures")
    return p


def run(args: argparse.Namespace) -> int:
    """Map every study found under ``args.path`` and write the maps."""
    import json

    import numpy as np
    import SimpleITK as sitk

    from mibgkit.anatomy import map_segments
    from mibgkit.anatomy.figures import overlay_png
    from mibgkit.errors import MappingError
    from mibgkit.io import load

    paths = args.path if len(args.path) > 1 else args.path[0]
    studies = load(paths, assume_view=args.assume_view)
    if not studies:
        why = "; ".join(f"{s.path}: {s.reason}" for s in studies.skipped[:3])
        raise MappingError(f"no study to map{(' (' + why + ')') if why else ''}", args.path[0])
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for si, study in enumerate(studies):
        sdir = out if len(studies) == 1 else out / f"study_{si + 1}"
        sdir.mkdir(parents=True, exist_ok=True)
        maps = map_segments(study, age_years=args.age)
        summary: dict[str, Any] = {"study_instance_uid": study.info.study_instance_uid, "views": [], "volumes": []}
        used: dict[str, int] = {}
        for vi, segmap in sorted(maps.views.items()):
            view = study.views[vi]
            used[view.view] = used.get(view.view, 0) + 1
            stem = f"segments_{view.view}" + (f"_{used[view.view]}" if used[view.view] > 1 else "")
            stored = view.source.to_stored_array(segmap.labels.astype(np.uint8), fill=0)
            img = sitk.GetImageFromArray(stored)
            img.SetSpacing((float(view.pixel_spacing_mm[1]), float(view.pixel_spacing_mm[0])))
            sitk.WriteImage(img, str(sdir / f"{stem}.nii.gz"), useCompression=True)
            if not args.no_png:
                overlay_png(view.image, segmap, sdir / f"{stem}.png", title=f"{Path(view.source.path).name} {view.view}")
            summary["views"].append({
                "file": f"{stem}.nii.gz", "view": view.view, "source": view.source.path,
                "sop_instance_uid": view.source.sop_instance_uid, "frame": view.source.frame,
                "stored_shape": list(view.source.stored_shape), "confidence": round(segmap.confidence, 3),
                "method": segmap.method,
                "missing": list(segmap.missing),
                "bone_area_mm2": {k: round(v, 1) for k, v in segmap.area_mm2().items()},
                "landmarks": [{"name": lm.name, "stored_row_col": [round(x, 1) for x in view.source.to_stored(lm.row, lm.col)],
                               "confidence": round(lm.confidence, 2)} for lm in segmap.landmarks],
            })
            print(f"{view.view:<7} {stem}.nii.gz  confidence {segmap.confidence:.2f}"
                  + (f"  missing: {', '.join(segmap.missing)}" if segmap.missing else ""))
        # views and volumes the mapper could not map: reported, the rest of the study is written
        summary["unmapped"] = []
        for kind, items, objs in (("view", maps.unmapped, study.views), ("volume", maps.unmapped_volumes, study.volumes)):
            for vi, um in sorted(items.items()):
                label = objs[vi].view if kind == "view" else objs[vi].modality  # type: ignore[attr-defined]
                summary["unmapped"].append({"kind": kind, "index": vi, "name": label, "reason": um.reason,
                                            "message": um.message, "where": um.where})
                print(f"{label:<7} not mapped ({um.reason}): {um.message}  [{um.where}]")
        for vi, vmap in sorted(maps.volumes.items()):
            vol = study.volumes[vi]
            ref = vol.to_sitk()
            img = sitk.GetImageFromArray(vmap.labels.astype(np.uint8))
            img.CopyInformation(ref)
            stem = f"segments_{vol.modality.upper()}_{vi + 1}"
            sitk.WriteImage(img, str(sdir / f"{stem}.nii.gz"), useCompression=True)
            summary["volumes"].append({"file": f"{stem}.nii.gz", "modality": vol.modality, "method": vmap.method,
                                       "confidence": round(vmap.confidence, 3)})
            print(f"{vol.modality:<7} {stem}.nii.gz  ({vmap.method})")
        (sdir / "segments.json").write_text(json.dumps(summary, indent=1))
    return 0

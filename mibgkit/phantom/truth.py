"""Ground truth of a simulated study, computed from what was placed.

Grades follow :mod:`mibgkit.scoring.rules` exactly: per SIOPEN segment the number of
discrete foci and the diffuse fraction of that segment's bone volume; per Curie segment
the number of sites and the diffuse fraction of the Curie segment's bone volume (the
Curie spine is split at L1 by bone name). The soft-tissue Curie segment counts the primary
tumour.

A lesion is *visible* in a view when its expected contrast-to-noise ratio reaches
:data:`VISIBLE_CNR`: net lesion counts inside a disc of radius 1.585 sigma (the optimal
aperture for a Gaussian spot) divided by the square root of the other expected counts in
that disc (Rose criterion with k = 4, on the noise-free image that the Poisson draw is
made from). Diffuse involvement uses the whole projected footprint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mibgkit.scoring.rules import curie_grade, siopen_grade
from mibgkit.segments import CURIE_KEYS, SIOPEN_KEYS, curie_segments

__all__ = ["TruthLesion", "Truth", "VISIBLE_CNR", "grade_lesions", "TRUTH_SCHEMA"]

VISIBLE_CNR = 4.0
TRUTH_SCHEMA = "mibgkit.phantom-truth/1"


@dataclass
class TruthLesion:
    """One placed lesion as the ground truth reports it.

    Parameters
    ----------
    id : str
    segment : str
        SIOPEN segment key.
    bone : str
        Bone name (``data/segments.json``).
    kind : {"focal", "diffuse"}
    centre_mm : tuple of float
        Camera frame (row mm, depth mm, col mm): row mm / pixel size = normalized row.
        For a diffuse lesion, a point of the lesion (the involved voxel nearest the
        centroid that projects onto its segment, ``phantom.lesions.diffuse_centre``).
    radius_mm, contrast, diffuse_fraction : float
        Focus radius, concentration relative to liver, involved fraction of the segment.
    positions : dict
        View -> (row, col) in that view's normalized frame.
    visible : bool
        Expected CNR >= :data:`VISIBLE_CNR` in at least one view.
    curie_segment, level, site : str
    cnr : dict
        View -> expected contrast-to-noise ratio.
    stored_positions : dict
        View -> (row, col) in stored pixel coordinates of that view's frame.
    centre_lps : tuple of float
        Patient LPS (mm) in the SPECT/CT frame of reference.
    """

    id: str
    segment: str
    bone: str
    kind: str
    centre_mm: tuple[float, float, float]
    radius_mm: float
    contrast: float
    diffuse_fraction: float
    positions: dict[str, tuple[float, float]]
    visible: bool
    curie_segment: str = ""
    level: str = ""
    site: str = ""
    cnr: dict[str, float] = field(default_factory=dict)
    stored_positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    centre_lps: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def to_json(self) -> dict[str, Any]:
        """JSON form (rounded)."""
        def rc(p: tuple[float, float]) -> list[float]:
            return [round(float(p[0]), 2), round(float(p[1]), 2)]

        return {
            "id": self.id,
            "segment": self.segment,
            "curie_segment": self.curie_segment,
            "bone": self.bone,
            "level": self.level,
            "site": self.site,
            "kind": self.kind,
            "centre_mm": [round(float(v), 2) for v in self.centre_mm],
            "centre_lps": [round(float(v), 2) for v in self.centre_lps],
            "radius_mm": round(float(self.radius_mm), 2),
            "contrast": round(float(self.contrast), 3),
            "diffuse_fraction": round(float(self.diffuse_fraction), 4),
            "positions": {v: rc(p) for v, p in self.positions.items()},
            "stored_positions": {v: rc(p) for v, p in self.stored_positions.items()},
            "cnr": {v: round(float(c), 2) for v, c in self.cnr.items()},
            "visible": bool(self.visible),
        }


@dataclass
class Truth:
    """Everything known about a simulated study.

    Parameters
    ----------
    labels : dict
        View -> uint8 (rows, cols) SIOPEN label map in that view's normalized frame (the
        bone nearer the camera wins where bones overlap).
    lesions : list of TruthLesion
    organs : dict
        Organ name -> {view: (row, col)} centroid of its projection.
    organ_masks : dict
        View -> {organ name: bool (rows, cols) mask}.
    siopen, curie : dict
        Segment key -> grade (all keys always).
    siopen_total, curie_total : int
    patient, acquisition : dict
        Who and how (JSON-friendly).
    views : dict
        View -> stored-frame mapping (sop_instance_uid, frame, mirrored, shift).
    segment_stats : dict
        SIOPEN key -> {"n_foci": int, "diffuse_fraction": float}.
    spots : dict
        Spot region -> {"sop_instance_uid", "series_instance_uid", "zoom", "pixel_mm",
        "frame_duration_s", "centre_mm", "origin_mm", "views", "lesions"}. Spot pixel
        (i, j) is centred at camera-frame ``origin_mm + (i, j) * pixel_mm`` (whole-body pixel
        (r, c) at ``(r, c) * wb pixel``, before the POST shift); ``views[VIEW]`` gives the
        frame number, mirroring and counts; ``lesions[id]`` the ``positions`` and
        ``stored_positions`` per view of each lesion inside the field of view (spots have no
        ANT/POST shift).
    spot_labels : dict
        ``"<region>:<VIEW>"`` -> uint8 (256, 256) SIOPEN label map of that spot frame
        (normalized), 0 outside the detector's field of view.
    siopen_visible, curie_visible : dict
        Grades counting only the lesions flagged ``visible`` (what a reader can score on
        this image; the primary still counts for Curie soft tissue).
    """

    labels: dict[str, np.ndarray]
    lesions: list[TruthLesion]
    organs: dict[str, dict[str, tuple[float, float]]]
    organ_masks: dict[str, dict[str, np.ndarray]]
    siopen: dict[str, int]
    siopen_total: int
    curie: dict[str, int]
    curie_total: int
    patient: dict[str, Any] = field(default_factory=dict)
    acquisition: dict[str, Any] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    segment_stats: dict[str, dict[str, float]] = field(default_factory=dict)
    spots: dict[str, dict[str, Any]] = field(default_factory=dict)
    spot_labels: dict[str, np.ndarray] = field(default_factory=dict)
    siopen_visible: dict[str, int] = field(default_factory=dict)
    curie_visible: dict[str, int] = field(default_factory=dict)

    @property
    def siopen_visible_total(self) -> int:
        """SIOPEN total over the visible lesions only."""
        return int(sum(self.siopen_visible.values()))

    @property
    def curie_visible_total(self) -> int:
        """Curie total over the visible lesions only (plus the primary)."""
        return int(sum(self.curie_visible.values()))

    def to_json(self) -> dict[str, Any]:
        """The ``truth.json`` content (label maps and masks go to ``labels.npz``)."""
        return {
            "schema": TRUTH_SCHEMA,
            "patient": self.patient,
            "acquisition": self.acquisition,
            "views": self.views,
            "siopen": dict(self.siopen),
            "siopen_total": int(self.siopen_total),
            "curie": dict(self.curie),
            "curie_total": int(self.curie_total),
            "segments": self.segment_stats,
            "spots": self.spots,
            "visible_cnr_threshold": VISIBLE_CNR,
            "siopen_visible": dict(self.siopen_visible),
            "siopen_visible_total": self.siopen_visible_total,
            "curie_visible": dict(self.curie_visible),
            "curie_visible_total": self.curie_visible_total,
            "lesions": [les.to_json() for les in self.lesions],
            "organs": {k: {v: [round(float(p[0]), 2), round(float(p[1]), 2)] for v, p in d.items()}
                       for k, d in self.organs.items()},
        }

    def dumps(self) -> str:
        """``to_json`` as indented text."""
        return json.dumps(self.to_json(), indent=1)

    def npz_arrays(self) -> dict[str, np.ndarray]:
        """Arrays for ``labels.npz``: ``labels_<VIEW>``, ``organ_<VIEW>_<name>`` and
        ``spot_labels_<region>_<VIEW>``."""
        out = {f"labels_{v}": m for v, m in self.labels.items()}
        out.update({"spot_labels_" + k.replace(":", "_"): m for k, m in self.spot_labels.items()})
        for v, masks in self.organ_masks.items():
            for name, m in masks.items():
                out[f"organ_{v}_{name}"] = np.packbits(m, axis=None)
        out["organ_mask_shape"] = np.array(next(iter(self.labels.values())).shape)
        return out


def grade_lesions(
    lesions: list[Any],
    bone_voxels: dict[str, int],
    n_soft_tissue_sites: int = 0,
) -> tuple[dict[str, int], dict[str, int], dict[str, dict[str, float]]]:
    """SIOPEN and Curie grades from placed lesions.

    Parameters
    ----------
    lesions : list
        Objects with ``kind``, ``bone``, ``segment``, ``curie_segment`` and for diffuse
        lesions ``voxels`` (involved bone voxels) and ``diffuse_fraction``.
    bone_voxels : dict
        Bone name -> voxel count (to turn involved voxels into Curie fractions).
    n_soft_tissue_sites : int
        Soft-tissue sites (primary, nodes) for the Curie soft-tissue segment.

    Returns
    -------
    siopen : dict
        Key -> grade, all 12 keys.
    curie : dict
        Key -> grade, all 10 keys.
    stats : dict
        SIOPEN key -> {"n_foci", "diffuse_fraction"}.
    """
    stats: dict[str, dict[str, float]] = {k: {"n_foci": 0, "diffuse_fraction": 0.0} for k in SIOPEN_KEYS}
    for les in lesions:
        s = stats[les.segment]
        if les.kind == "focal":
            s["n_foci"] += 1
        else:
            s["diffuse_fraction"] = min(1.0, s["diffuse_fraction"] + float(les.diffuse_fraction))
    siopen = {k: siopen_grade(int(v["n_foci"]), float(v["diffuse_fraction"])) for k, v in stats.items()}
    curie: dict[str, int] = {}
    for seg in curie_segments():
        if seg.key == "soft_tissue":
            curie[seg.key] = curie_grade(n_soft_tissue_sites)
            continue
        total = sum(bone_voxels.get(b, 0) for b in seg.bones)
        n_sites = sum(1 for les in lesions if les.kind == "focal" and les.curie_segment == seg.key)
        inv = sum(_involved(les, seg.bones) for les in lesions if les.kind == "diffuse")
        frac = inv / total if total else 0.0
        curie[seg.key] = curie_grade(n_sites, frac)
    assert set(curie) == set(CURIE_KEYS)
    return siopen, curie, stats


def _involved(les: Any, bones: tuple[str, ...]) -> int:
    """Involved voxels of a diffuse lesion that belong to ``bones``."""
    return int(sum(n for b, n in les.voxel_bones.items() if b in bones))


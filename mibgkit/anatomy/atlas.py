"""The age-proportioned 2-D skeletal atlas (``mibgkit/data/atlas_planar.json``).

The table has three parts:

``proportions``
    Fractions of stature by age (DOMAIN.md table: stature, sitting height, head,
    femur, tibia, humerus, radius; plus estimates for neck length and outline widths).
``regions``
    Head, spine, thoracic cage and pelvis as polygons in the normalized body frame
    ``(s, u)`` of :mod:`mibgkit.anatomy.warp`, one set per view (``ANT``, ``POST``)
    because overlapping bones show the one nearer the camera. A region's polygons are
    the contours of its mask - outer boundaries and holes (the gaps between ribs and
    between vertebrae) alike - and are painted with the even-odd rule. Each region names its
    bones (``data/segments.json`` names); its label comes from the bone -> segment
    table, so moving e.g. the sacrum to the pelvis there changes the maps.
``limb_regions``
    The same limb segments learned as polygons in the limb frames, per view (used
    instead of ``limb_bones`` when present).
``limb_bones``
    Humerus, radius, ulna, hand, femur, patella, tibia, fibula, foot as tapered
    capsules ``[t0, w0, t1, w1, r0, r1]`` in limb frames (``t`` along the limb segment
    between two detected joints, ``w`` and radii in fractions of stature), written for
    the patient's left and mirrored for the right. ``depth`` orders overlaps
    (0 = anterior). The hand (wrist ``t`` = 0 to fingertips ``t`` = 1) is the palm and
    fingers plus the thumb: from the carpus (0.1 hand lengths past the wrist, 0.14 hand
    lengths to the side, 0.0147 of stature) 0.45 hand lengths long at 50 degrees from the
    hand axis (end at ``t`` 0.39, 0.051 of stature out), on the medial side (``w`` < 0 on
    the left, towards the body): hands lying palm down, as in the phantom (tuning seeds
    0-199, forearm+hand Dice with the phantom's joints 0.773 -> 0.791, with the fitted
    joints 0.734-0.735 -> 0.738-0.740; on the lateral side 0.754 / 0.716).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "Proportions",
    "Region",
    "LimbBone",
    "proportions",
    "atlas_data",
    "atlas_regions",
    "limb_bones",
    "limb_regions",
    "LimbRegion",
    "DEFAULT_AGE",
    "ATLAS_FILE",
]

#: Age used when the header has none.
DEFAULT_AGE = 10.0
ATLAS_FILE = "data/atlas_planar.json"


@lru_cache(maxsize=1)
def atlas_data() -> dict[str, Any]:
    """The raw atlas table (parsed JSON)."""
    text = resources.files("mibgkit").joinpath(ATLAS_FILE).read_text()
    return dict(json.loads(text))


@dataclass(frozen=True)
class Proportions:
    """Body proportions at one age, as fractions of stature from the vertex.

    Parameters
    ----------
    age_years, stature_cm : float
    sitting, head, femur, tibia, humerus, radius, neck : float
        Sitting height, vertex-chin height, bone lengths, chin-to-shoulder-line height.
    shoulder_width, hip_width, head_width : float
        Full widths of the body outline at the shoulders, hips and head (priors only).
    """

    age_years: float
    stature_cm: float
    sitting: float
    head: float
    femur: float
    tibia: float
    humerus: float
    radius: float
    neck: float
    shoulder_width: float
    hip_width: float
    head_width: float

    @property
    def shoulder(self) -> float:
        """Shoulder line (acromion level)."""
        return self.head + self.neck

    @property
    def ankle(self) -> float:
        """Ankle joint (4 % of stature above the sole)."""
        return 0.96

    @property
    def knee(self) -> float:
        """Knee joint line: one tibia above the ankle."""
        return self.ankle - self.tibia

    @property
    def hip(self) -> float:
        """Hip joint centre: one femur above the knee."""
        return self.knee - self.femur

    @property
    def crotch(self) -> float:
        """Crotch: 12 % of the shoulder-hip distance below the hip joints."""
        return self.hip + 0.12 * (self.hip - self.shoulder)


def proportions(age_years: float | None) -> Proportions:
    """Body proportions interpolated from the atlas table.

    Parameters
    ----------
    age_years : float or None
        Age; ``None`` (or not finite) uses :data:`DEFAULT_AGE`. Clipped to 1 y - adult.

    Returns
    -------
    Proportions
    """
    tab = atlas_data()["proportions"]
    age = DEFAULT_AGE if age_years is None or not np.isfinite(age_years) else float(age_years)
    ages = np.asarray(tab["age_years"], dtype=float)
    age = float(np.clip(age, ages[0], ages[-1]))
    vals = {k: float(np.interp(age, ages, np.asarray(v, dtype=float))) for k, v in tab.items() if k != "age_years"}
    return Proportions(age_years=age, **vals)


@dataclass(frozen=True)
class Region:
    """Polygons of one bone group in the body frame, for one view.

    Parameters
    ----------
    bones : tuple of str
        Bone names (all in one SIOPEN segment); the first decides the label.
    polygons : tuple of ndarray of shape (n, 2)
        ``(s, u)`` vertices.
    lateral : {"body", "stature"}
        Unit of ``u``: the body frame's local half-width, or (the vertebral column)
        :data:`mibgkit.anatomy.warp.STATURE_LATERAL` times the measured length
        (:meth:`mibgkit.anatomy.warp.BodyFrame.from_stature_lateral`).
    """

    bones: tuple[str, ...]
    polygons: tuple[np.ndarray, ...]
    lateral: str = "body"


@dataclass(frozen=True)
class LimbBone:
    """One limb bone of one side.

    Parameters
    ----------
    name : str
        Bone name with the side (``"left_femur"``).
    limb : {"arm", "leg"}
    seg : int
        Limb segment (0 upper arm / thigh, 1 forearm / leg, 2 hand / foot).
    depth : float
        0 = anterior, 1 = posterior.
    capsules : ndarray of shape (k, 6)
        ``[t0, w0, t1, w1, r0, r1]`` with ``w`` already signed for this side.
    """

    name: str
    side: str
    limb: str
    seg: int
    depth: float
    capsules: np.ndarray


@lru_cache(maxsize=1)
def atlas_regions() -> dict[str, tuple[Region, ...]]:
    """Body-frame regions per view (``"ANT"``, ``"POST"``)."""
    out: dict[str, tuple[Region, ...]] = {}
    for view, regs in atlas_data().get("regions", {}).items():
        out[view] = tuple(
            Region(tuple(r["bones"]), tuple(np.asarray(p, dtype=float) for p in r["polygons"]),
                   str(r.get("lateral", "body")))
            for r in regs
        )
    return out


@dataclass(frozen=True)
class LimbRegion:
    """Polygons of one limb segment frame, for one view (left-side convention).

    Parameters
    ----------
    limb : {"arm", "leg"}
    seg : int
        Frame between joints ``seg`` and ``seg + 1`` (0 upper arm / thigh, 1 forearm /
        leg, 2 hand / foot).
    regions : tuple of Region
        Bone names contain ``{side}``; points are ``(t, w)`` with ``w`` positive
        lateral for the left side.
    """

    limb: str
    seg: int
    regions: tuple[Region, ...]


@lru_cache(maxsize=1)
def limb_regions() -> dict[str, tuple[LimbRegion, ...]]:
    """Learned limb-frame regions per view; empty when the atlas has none."""
    out: dict[str, tuple[LimbRegion, ...]] = {}
    for view, items in atlas_data().get("limb_regions", {}).items():
        out[view] = tuple(
            LimbRegion(it["limb"], int(it["seg"]), tuple(
                Region(tuple(r["bones"]), tuple(np.asarray(p, dtype=float) for p in r["polygons"]))
                for r in it["regions"]))
            for it in items
        )
    return out


@lru_cache(maxsize=1)
def limb_bones() -> tuple[LimbBone, ...]:
    """All limb bones, both sides (the table is written for the left side)."""
    bones: list[LimbBone] = []
    for b in atlas_data()["limb_bones"]:
        caps = np.asarray(b["capsules"], dtype=float).reshape(-1, 6)
        for side, sign in (("right", -1.0), ("left", 1.0)):
            c = caps.copy()
            c[:, 1] *= sign
            c[:, 3] *= sign
            bones.append(LimbBone(f"{side}_{b['bone']}", side, b["limb"], int(b["seg"]), float(b["depth"]), c))
    return tuple(bones)

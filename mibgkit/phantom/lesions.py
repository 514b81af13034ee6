"""Disease: focal skeletal lesions, diffuse marrow involvement and the primary tumour.

Focal lesions favour metaphyses and red marrow (proximal humerus, distal and proximal
femur, proximal tibia, spine, pelvis, ribs, skull vault/base, orbits; DOMAIN.md). Two
regimes (Bleeker 2015): *limited-focal* (median two segments) and *extensive-diffuse*
(median eleven). A diffuse lesion involves a contiguous chosen fraction of a segment's bone
voxels; fractions are drawn away from the SIOPEN 50 % / 95 % cut-offs so the grade is not
ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from mibgkit.phantom.biodistribution import Organ
from mibgkit.phantom.body import Ellipsoid, Landmarks, Shape
from mibgkit.segments import bone_to_curie, bone_to_siopen, siopen_segments

if TYPE_CHECKING:  # pragma: no cover
    from mibgkit.phantom.patient import Anatomy

__all__ = [
    "Lesion",
    "PATTERNS",
    "SITES",
    "sample_lesions",
    "primary_tumour",
    "diffuse_voxels",
    "diffuse_centre",
    "well_separated",
    "MIN_SEPARATION_DIAMETERS",
    "MIN_SEPARATION_MM",
    "LIMITED_MAX_FOCI",
]

PATTERNS = ("none", "limited", "extensive", "diffuse")
#: Two foci are at least this many (mean) lesion diameters apart in projection ...
MIN_SEPARATION_DIAMETERS = 2.0
#: ... and never closer than this (mm, about two system FWHM), so each stays a discrete focus.
MIN_SEPARATION_MM = 22.0
#: Limited-focal disease: at most this many discrete foci per SIOPEN segment (grades 1-3).
LIMITED_MAX_FOCI = 3

#: (site name, bone names, axial range along the long bone or None, weight)
SITES: list[tuple[str, tuple[str, ...], tuple[float, float] | None, float]] = [
    ("proximal_humerus", ("humerus",), (0.0, 0.25), 9.0),
    ("distal_humerus", ("humerus",), (0.8, 1.0), 1.5),
    ("proximal_femur", ("femur",), (0.0, 0.25), 8.0),
    ("distal_femur", ("femur",), (0.72, 1.0), 11.0),
    ("proximal_tibia", ("tibia",), (0.0, 0.28), 9.0),
    ("distal_tibia", ("tibia", "fibula"), (0.8, 1.0), 1.5),
    ("forearm", ("radius", "ulna"), (0.75, 1.0), 1.5),
    ("foot", ("foot",), None, 0.8),
    ("hand", ("hand",), None, 0.5),
    ("spine", ("thoracic_spine", "lumbar_spine", "cervical_spine"), None, 13.0),
    ("sacrum", ("sacrum",), None, 3.0),
    ("pelvis", ("ilium", "ischium", "pubis"), None, 12.0),
    ("ribs", ("ribs",), None, 5.0),
    ("scapula", ("scapulae",), None, 2.0),
    ("clavicle", ("clavicles", "sternum"), None, 1.0),
    ("skull_vault", ("skull_vault",), None, 6.0),
    ("skull_base", ("skull_base",), None, 3.0),
    ("orbits", ("orbits",), None, 4.0),
    ("face", ("facial_bones", "mandible"), None, 1.0),
]
_LIMB_BONES = {"humerus", "radius", "ulna", "hand", "femur", "patella", "tibia", "fibula", "foot"}


@dataclass
class Lesion:
    """One placed skeletal lesion.

    Parameters
    ----------
    id : str
    kind : {"focal", "diffuse"}
    bone, segment, curie_segment : str
        Bone name and the SIOPEN / Curie segment keys it belongs to.
    level : str
        Vertebra / rib level of the bone part, if any.
    centre_mm : ndarray of 3
        Camera-frame (row mm, depth mm, col mm) of the focus (for diffuse: a point of the
        lesion, :func:`diffuse_centre`).
    radius_mm : float
        Sphere radius of a focus (equivalent radius for diffuse).
    contrast : float
        Activity concentration relative to the liver's.
    diffuse_fraction : float
        Fraction of the segment's bone volume involved (0 for a focus).
    site : str
        Site the lesion was drawn for (``"distal_femur"``, ...).
    voxels : ndarray, optional
        Flat grid indices of the involved bone (diffuse only).
    voxel_bones : dict
        Bone name -> number of involved voxels (diffuse only; for Curie fractions).
    """

    id: str
    kind: str
    bone: str
    segment: str
    curie_segment: str
    level: str
    centre_mm: np.ndarray
    radius_mm: float
    contrast: float
    diffuse_fraction: float = 0.0
    site: str = ""
    voxels: np.ndarray | None = field(default=None, repr=False)
    voxel_bones: dict[str, int] = field(default_factory=dict)

    def scaled(self, contrast_factor: float, radius_factor: float = 1.0) -> "Lesion":
        """A copy with the contrast (and focus radius) scaled, e.g. after therapy."""
        return replace(self, contrast=self.contrast * contrast_factor,
                       radius_mm=max(self.radius_mm * radius_factor, 2.5))


def well_separated(centre_mm: np.ndarray, radius_mm: float, others: list[Lesion]) -> bool:
    """True if a focus is far enough from every other *focal* lesion to stay discrete.

    The distance is measured in projection (camera rows and columns, depth ignored), since
    two foci at different depths merge on a planar view. Diffuse lesions are exempt: a
    focus inside diffuse marrow involvement is deliberate.

    Parameters
    ----------
    centre_mm : ndarray of shape (3,)
        Camera-frame (row mm, depth mm, col mm) of the new focus.
    radius_mm : float
        Its radius.
    others : list of Lesion
        Lesions already placed.

    Returns
    -------
    bool
    """
    c = np.asarray(centre_mm, dtype=float)
    for o in others:
        if o.kind != "focal":
            continue
        d = float(np.hypot(c[0] - o.centre_mm[0], c[2] - o.centre_mm[2]))
        if d < max(MIN_SEPARATION_MM, MIN_SEPARATION_DIAMETERS * (radius_mm + o.radius_mm)):
            return False
    return True


def _site_segment(site: int, side: str | None) -> str:
    """The SIOPEN segment of a site's bones on one side (every site lies in one segment)."""
    table = bone_to_siopen()
    bone = SITES[site][1][0]
    return table.get(f"{side}_{bone}", table.get(bone, ""))


def _bones_named(anat: "Anatomy", stems: tuple[str, ...], side: str | None) -> list[int]:
    ids = []
    for p in anat.skeleton.parts:
        stem = p.bone.replace("right_", "").replace("left_", "")
        if (p.bone in stems or stem in stems) and (side is None or p.side in (side, "mid")):
            ids.append(p.id)
    return ids


def _axial_t(anat: "Anatomy", pid: int, vox: np.ndarray) -> np.ndarray:
    """Position of voxels along a long bone's proximal -> distal axis (0..1)."""
    part = anat.skeleton.part(pid)
    if part.axis is None:
        return np.full(len(vox), 0.5)
    pts = anat.voxel_body_coords(vox)
    a, b = part.axis
    ab = b - a
    return np.asarray(((pts - a) @ ab) / max(float(ab @ ab), 1e-9))


def _site_voxels(anat: "Anatomy", site: int, side: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(flat voxel indices, part id per voxel) of a site's region."""
    _, bones, trange, _ = SITES[site]
    vs, ps = [], []
    for pid in _bones_named(anat, bones, side):
        v = anat.part_voxels(pid)
        if trange is not None:
            t = _axial_t(anat, pid, v)
            v = v[(t >= trange[0]) & (t <= trange[1])]
        vs.append(v)
        ps.append(np.full(len(v), pid, dtype=np.int32))
    if not vs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
    return np.concatenate(vs), np.concatenate(ps)


def diffuse_voxels(
    anat: "Anatomy", segment: str, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """A contiguous ``fraction`` of a segment's bone voxels (flat grid indices).

    Limbs start at a metaphysis (either end of the main long bone); axial bones take a
    window along a random in-plane direction.
    """
    bones = next(s.bones for s in siopen_segments() if s.key == segment)
    ids = [p.id for p in anat.skeleton.parts if p.bone in bones]
    vox = np.concatenate([anat.part_voxels(i) for i in ids])
    if fraction >= 0.999:
        return vox
    stems = {b.replace("right_", "").replace("left_", "") for b in bones}
    if stems & _LIMB_BONES:
        main = next(p for p in anat.skeleton.parts if p.bone in bones and p.axis is not None)
        assert main.axis is not None
        a, b = main.axis
        coord = anat.voxel_body_coords(vox) @ (b - a)
        if rng.random() < 0.5:
            coord = -coord
        q0 = 0.0
    else:
        ang = rng.uniform(0, 2 * np.pi)
        d = np.array([np.cos(ang), 0.0, np.sin(ang)])
        coord = anat.voxel_body_coords(vox) @ d
        q0 = float(rng.uniform(0, 1 - fraction))
    order = np.argsort(coord, kind="stable")
    n = len(vox)
    lo, hi = int(round(q0 * n)), int(round((q0 + fraction) * n))
    return vox[order[lo:hi]]


def diffuse_centre(anat: "Anatomy", vox: np.ndarray, segment: str) -> np.ndarray:
    """The point that stands for a diffuse lesion's centre: an involved voxel near its centroid.

    The centroid of the involved voxels is no point of the lesion when the involved bone is
    curved or spread (both sides of the pelvic ring, ribs, the skull vault, a long bone
    plus its hand/foot): it lies in the pelvic inlet, the chest or off the bone, and no
    planar map can place it in its segment. The centre is the involved voxel nearest
    (3-D) the centroid among those that project onto their own segment in ANT or POST,
    the condition every focus satisfies (``Anatomy.projects_onto``); if no involved voxel
    does, the nearest involved voxel. Deterministic: no random draw.

    Parameters
    ----------
    anat : Anatomy
    vox : ndarray of int
        Flat grid indices of the involved voxels (non-empty).
    segment : str
        The lesion's SIOPEN segment key.

    Returns
    -------
    ndarray of shape (3,)
        Camera-frame (row mm, depth mm, col mm) of the chosen voxel's centre.
    """
    pts = anat.voxel_centre_mm(np.asarray(vox))
    d = np.linalg.norm(pts - pts.mean(axis=0), axis=1)
    on_top = anat.project_onto_many(pts, segment)
    if on_top.any():
        d = np.where(on_top, d, np.inf)
    return np.asarray(pts[int(np.argmin(d))], dtype=float)


def _draw_fraction(rng: np.random.Generator, band: int) -> float:
    """Diffuse fraction in one SIOPEN band, away from the 50 % and 95 % cut-offs."""
    return float({4: rng.uniform(0.15, 0.42), 5: rng.uniform(0.58, 0.88)}.get(band, 1.0))


def sample_lesions(
    anat: "Anatomy",
    pattern: str,
    rng: np.random.Generator,
    contrast_range: tuple[float, float] = (1.0, 12.0),
    radius_range_mm: tuple[float, float] = (4.0, 10.0),
) -> list[Lesion]:
    """Draw the skeletal lesions of one child for a disease pattern.

    Parameters
    ----------
    anat : Anatomy
    pattern : {"none", "limited", "extensive", "diffuse"}
    rng : numpy Generator
    contrast_range : tuple of float
        Focus concentration relative to liver (log-uniform).
    radius_range_mm : tuple of float
        Focus radius (log-uniform; scaled down a little for small children).

    Returns
    -------
    list of Lesion
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}, not {pattern!r}")
    if pattern == "none":
        return []
    weights = np.array([s[3] for s in SITES])
    weights = weights / weights.sum()
    size_scale = 0.75 + 0.25 * min(anat.prop.stature / 1700.0, 1.0)
    lesions: list[Lesion] = []

    def add_focus(site: int, side: str | None, tries: int = 30, max_per_segment: int | None = None) -> bool:
        vox, pids = _site_voxels(anat, site, side)
        if len(vox) == 0:
            return False
        for _ in range(tries):
            k = int(rng.integers(len(vox)))
            centre = anat.voxel_centre_mm(np.array([vox[k]]))[0] + rng.uniform(-0.4, 0.4, 3) * anat.grid.spacing
            part = anat.skeleton.part(int(pids[k]))
            if max_per_segment is not None and sum(
                    o.kind == "focal" and o.segment == part.segment for o in lesions) >= max_per_segment:
                return False
            if not anat.projects_onto(centre, part.segment):
                continue
            r = float(np.exp(rng.uniform(*np.log(radius_range_mm)))) * size_scale
            if not well_separated(centre, r, lesions):
                continue
            lesions.append(Lesion(
                id=f"L{len(lesions) + 1}", kind="focal", bone=part.bone, segment=part.segment,
                curie_segment=bone_to_curie()[part.bone], level=part.level, centre_mm=centre, radius_mm=r,
                contrast=float(np.exp(rng.uniform(*np.log(contrast_range)))), site=SITES[site][0]))
            return True
        return False

    def add_diffuse(segment: str, band: int) -> None:
        f = _draw_fraction(rng, band)
        vox = diffuse_voxels(anat, segment, f, rng)
        if len(vox) == 0:
            return
        pids = anat.part.ravel()[vox]
        bone = anat.skeleton.part(int(np.bincount(pids).argmax())).bone
        per_bone: dict[str, int] = {}
        for pid, n in zip(*np.unique(pids, return_counts=True)):
            b = anat.skeleton.part(int(pid)).bone
            per_bone[b] = per_bone.get(b, 0) + int(n)
        centre = diffuse_centre(anat, vox, segment)
        vol = len(vox) * float(np.prod(anat.grid.spacing))
        lesions.append(Lesion(
            id=f"L{len(lesions) + 1}", kind="diffuse", bone=bone, segment=segment,
            curie_segment=bone_to_curie()[bone], level="", centre_mm=centre,
            radius_mm=float((3 * vol / (4 * np.pi)) ** (1 / 3)),
            contrast=float(rng.uniform(1.2, 3.5)), diffuse_fraction=f, site="diffuse", voxels=vox,
            voxel_bones=per_bone))

    if pattern == "limited":
        # Bleeker 2015: median two segments, 1-3 discrete foci in each, distinct segments
        n_seg = int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))
        segs: set[str] = set()
        for _ in range(200):
            if len(segs) >= n_seg:
                break
            site = int(rng.choice(len(SITES), p=weights))
            side = str(rng.choice(["right", "left"]))
            n_foci = int(rng.choice([1, 2, 3], p=[0.65, 0.25, 0.1]))
            if _site_segment(site, side) in segs:
                continue  # a segment drawn twice would pile up foci (grade 4): draw another
            before = len(lesions)
            for _ in range(n_foci):
                add_focus(site, side, max_per_segment=LIMITED_MAX_FOCI)
            segs |= {les.segment for les in lesions[before:]}
        return _renumber(lesions)
    # extensive / diffuse: most segments, many foci, some (or mostly) diffuse
    keys = [s.key for s in siopen_segments()]
    n_seg = int(np.clip(rng.normal(10.5, 1.5), 7, 12))
    chosen = list(rng.choice(keys, size=n_seg, replace=False))
    for key in chosen:
        if pattern == "diffuse" or rng.random() < 0.3:
            band = int(rng.choice([4, 5, 6], p=[0.3, 0.4, 0.3] if pattern == "diffuse" else [0.7, 0.25, 0.05]))
            add_diffuse(str(key), band)
            if rng.random() < 0.3:
                _focus_in_segment(add_focus, str(key), rng)
        else:
            n_foci = int(rng.choice([1, 2, 3, 4, 5, 6], p=[0.2, 0.2, 0.2, 0.15, 0.15, 0.1]))
            for _ in range(n_foci):
                _focus_in_segment(add_focus, str(key), rng)
    return _renumber(lesions)


def _focus_in_segment(add_focus: object, key: str, rng: np.random.Generator) -> None:
    """Add one focus on a site of the given segment."""
    cands = []
    for i, (_, bones, _, w) in enumerate(SITES):
        for side in ("right", "left"):
            segs = {bone_to_siopen().get(f"{side}_{b}", bone_to_siopen().get(b)) for b in bones}
            if key in segs:
                cands.append((i, side if any(f"{side}_{b}" in bone_to_siopen() for b in bones) else None, w))
    if not cands:
        return
    wts = np.array([c[2] for c in cands], dtype=float)
    site, side_name, _ = cands[int(rng.choice(len(cands), p=wts / wts.sum()))]
    add_focus(site, side_name)  # type: ignore[operator]


def _renumber(lesions: list[Lesion]) -> list[Lesion]:
    for i, les in enumerate(lesions):
        les.id = f"L{i + 1}"
    return lesions


def primary_tumour(lm: Landmarks, rng: np.random.Generator, size: float = 1.0) -> Organ:
    """A heterogeneous soft-tissue primary (adrenal, paravertebral or pelvic).

    Parameters
    ----------
    lm : Landmarks
    rng : numpy Generator
    size : float
        Scale of the radius (1 at diagnosis; < 1 after therapy).
    """
    P, W = lm.trunk_len, lm.chest_half_width
    where = str(rng.choice(["adrenal", "thoracic", "abdominal", "pelvic"], p=[0.6, 0.15, 0.15, 0.1]))
    side = float(rng.choice([-1.0, 1.0]))
    f = {"adrenal": 0.5, "thoracic": 0.28, "abdominal": 0.66, "pelvic": 0.93}[where]
    z = lm.level(f)
    hw, hd, cy = lm.trunk_section(z)
    x = side * (0.3 if where == "adrenal" else 0.15) * W
    y = cy + (0.3 if where in ("adrenal", "thoracic") else 0.0) * hd
    r = float(rng.uniform(0.08, 0.16)) * P * size
    c = np.array([z, y, x])
    ax = np.array([r * rng.uniform(0.9, 1.3), min(r, 0.6 * hd), min(r * rng.uniform(0.8, 1.1), 0.7 * hw)])
    core: Shape = Ellipsoid(c + rng.normal(0, 0.15 * r, 3), 0.45 * ax)
    return Organ("primary_tumour", "primary", [Ellipsoid(c, ax)], float(rng.uniform(0.6, 2.5)),
                 texture=0.45, blobs=[(Ellipsoid(c, ax), 1.0), (core, 0.25)])


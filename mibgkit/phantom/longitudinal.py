"""The same child through treatment: diagnosis, post-induction, post-HDC, end of treatment,
relapse.

Response follows what clinical series report (DOMAIN.md; Rossillon, Pediatr Blood Cancer
2024): foci become fewer and *fainter* with induction; diffuse marrow disease regresses to a
few faint residual foci; a few foci persist after high-dose chemotherapy (persisting
oligo-skeletal disease, median SIOPEN 2 in lasting responders); relapse recurs mostly at
previously involved sites, with some new ones. Persisting lesions keep their ``id``; new
lesions at relapse are ``R1``, ``R2``, ...

The child grows between scans (age advances with the days elapsed; stature and
proportions follow the DOMAIN.md table) and lies a little differently on the table each
time (new in-plane tilt and offset). Disease is evolved on the diagnosis anatomy and then
carried to each scan's anatomy bone-relatively (:func:`remap_lesions`): a focus keeps its
bone, its level and its relative position within that bone.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from mibgkit.phantom.biodistribution import Organ
from mibgkit.phantom.body import Ellipsoid, Landmarks, Shape
from mibgkit.phantom.lesions import Lesion, diffuse_centre, sample_lesions, well_separated
from mibgkit.phantom.patient import Anatomy, Patient, _make_patient, make_patient
from mibgkit.segments import bone_to_curie, siopen_segments

__all__ = ["TIMEPOINTS", "CONTRAST_STEPS", "make_longitudinal", "evolve", "remap_lesions"]

#: (name, days from diagnosis)
TIMEPOINTS: tuple[tuple[str, int], ...] = (
    ("diagnosis", 0),
    ("post_induction", 150),
    ("post_hdc", 240),
    ("end_of_treatment", 400),
    ("relapse", 620),
)

#: Per step: probability that a focus persists, the range of its contrast factor (drawn
#: log-uniformly, relative to the previous scan) and its radius factor. Induction removes
#: most of the uptake (residual foci at 15-60 % of their diagnostic contrast), later steps
#: fade them further, so many residual foci sit near the visibility limit.
CONTRAST_STEPS: dict[str, tuple[float, tuple[float, float], float]] = {
    "post_induction": (0.55, (0.15, 0.6), 0.85),
    "post_hdc": (0.6, (0.55, 0.95), 0.9),
    "end_of_treatment": (0.55, (0.65, 1.0), 1.0),
}
_STEP = CONTRAST_STEPS  # former private name
#: Residual focus left by diffuse marrow disease after induction: contrast relative to the
#: diffuse lesion's, and radius (mm).
_RESIDUAL_OF_DIFFUSE = ((0.25, 0.7), (4.0, 7.0))


def _log_uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(np.log(lo_hi[0]), np.log(lo_hi[1]))))


def _residual_of_diffuse(p: Patient, les: Lesion, rng: np.random.Generator, placed: list[Lesion]) -> Lesion | None:
    """A faint residual focus somewhere in a regressing diffuse lesion (or None)."""
    a = p.anatomy
    assert les.voxels is not None
    v = les.voxels[int(rng.integers(len(les.voxels)))]
    centre = a.voxel_centre_mm(np.array([v]))[0]
    part = a.skeleton.part(int(a.part.ravel()[v]))  # the bone under that voxel, not the lesion's main bone
    radius = float(rng.uniform(*_RESIDUAL_OF_DIFFUSE[1]))
    if not a.projects_onto(centre, part.segment) or not well_separated(centre, radius, placed):
        return None
    return replace(les, kind="focal", bone=part.bone, segment=part.segment,
                   curie_segment=bone_to_curie()[part.bone], level=part.level, centre_mm=centre,
                   radius_mm=radius, contrast=les.contrast * float(rng.uniform(*_RESIDUAL_OF_DIFFUSE[0])),
                   diffuse_fraction=0.0, voxels=None, voxel_bones={}, site="residual")


def evolve(
    p: Patient, previous: list[Lesion], step: str, rng: np.random.Generator, diagnosis: list[Lesion]
) -> list[Lesion]:
    """Lesions at the next time point from those at the previous one.

    Parameters
    ----------
    p : Patient
        The child (its anatomy is used to place residual foci and relapse sites).
    previous : list of Lesion
        Lesions at the previous time point.
    step : str
        Name of the new time point.
    rng : numpy Generator
    diagnosis : list of Lesion
        Lesions at diagnosis (relapse recurs at these sites).

    Returns
    -------
    list of Lesion
        On ``p.anatomy``.
    """
    if step == "relapse":
        out: list[Lesion] = []
        focal = [les for les in diagnosis if les.kind == "focal"]
        if focal:
            keep = rng.random(len(focal)) < 0.75
            if not keep.any():
                keep[int(rng.integers(len(focal)))] = True
            out += [les.scaled(float(rng.uniform(0.6, 1.1))) for les, k in zip(focal, keep) if k]
        out += [les.scaled(0.7) for les in diagnosis if les.kind == "diffuse" and rng.random() < 0.5]
        new = [les for les in sample_lesions(p.anatomy, "limited", rng)
               if les.kind != "focal" or well_separated(les.centre_mm, les.radius_mm, out)]
        for i, les in enumerate(new[: int(rng.integers(1, 3))], start=1):
            out.append(replace(les, id=f"R{i}"))
        return out
    persist, c_range, r_f = CONTRAST_STEPS[step]
    out = []
    for les in previous:
        if les.kind == "diffuse":
            # diffuse marrow disease regresses to a faint residual focus in that segment (or clears)
            if step == "post_induction" and rng.random() < 0.6 and les.voxels is not None and len(les.voxels):
                res = _residual_of_diffuse(p, les, rng, [*previous, *out])
                if res is not None:
                    out.append(res)
            continue
        if rng.random() < persist:
            out.append(les.scaled(_log_uniform(rng, c_range), r_f))
    if step == "post_hdc" and not out and previous:
        # keep one faint residual focus: the decisive 0-6 range (Rossillon 2024)
        out.append(previous[int(rng.integers(len(previous)))].scaled(0.6, 0.9))
    return out


# -- carrying lesions to a grown, repositioned child -------------------------------------------
def _part_boxes(a: Anatomy, pid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(voxel flat indices, body coords lo, body coords span) of one bone part."""
    vox = a.part_voxels(pid)
    pts = a.voxel_body_coords(vox)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return vox, lo, np.maximum(hi - lo, 1e-6)


def _normalized(a: Anatomy, pid: int, body: np.ndarray) -> np.ndarray:
    _, lo, span = _part_boxes(a, pid)
    return (body - lo) / span


def _same_part(src: Anatomy, dst: Anatomy, pid: int) -> int:
    """The part of ``dst`` that is ``src``'s part ``pid`` (same bone and level)."""
    sp = src.skeleton.part(pid)
    if pid <= len(dst.skeleton.parts):
        dp = dst.skeleton.part(pid)
        if (dp.bone, dp.level, dp.side) == (sp.bone, sp.level, sp.side):
            return pid
    return next(p.id for p in dst.skeleton.parts if (p.bone, p.level, p.side) == (sp.bone, sp.level, sp.side))


def _focal_part(a: Anatomy, les: Lesion) -> int:
    """Part id of the bone a focus sits on (nearest voxel among parts of its bone and level)."""
    cands = [p.id for p in a.skeleton.parts if p.bone == les.bone and (not les.level or p.level == les.level)]
    cands = cands or [p.id for p in a.skeleton.parts if p.bone == les.bone]
    best, best_d = cands[0], np.inf
    for pid in cands:
        d = float(np.min(np.linalg.norm(a.voxel_centre_mm(a.part_voxels(pid)) - les.centre_mm, axis=1)))
        if d < best_d:
            best, best_d = pid, d
    return best


def _remap_focal(les: Lesion, src: Anatomy, dst: Anatomy) -> Lesion:
    pid = _focal_part(src, les)
    dpid = _same_part(src, dst, pid)
    z, y, x = src.placement.to_body(*np.asarray(les.centre_mm, dtype=float))
    u = _normalized(src, pid, np.array([z, y, x]))
    vox, lo, span = _part_boxes(dst, dpid)
    centre = dst.placement.to_scanner(lo + u * span)
    # stay on the bone: snap to the nearest voxel of the part if the box mapping left it
    pts = dst.voxel_centre_mm(vox)
    d = np.linalg.norm(pts - centre, axis=1)
    seg = dst.skeleton.part(dpid).segment
    if float(d.min()) > 0.75 * float(dst.grid.spacing.max()) or not dst.projects_onto(centre, seg):
        for k in np.argsort(d)[:200]:
            if dst.projects_onto(pts[k], seg):
                centre = pts[k]
                break
    return replace(les, centre_mm=np.asarray(centre, dtype=float))


def _remap_diffuse(les: Lesion, src: Anatomy, dst: Anatomy) -> Lesion:
    assert les.voxels is not None
    src_parts = src.part.ravel()[les.voxels]
    new_vox: list[np.ndarray] = []
    for pid in np.unique(src_parts):
        pid = int(pid)
        s_vox, s_lo, s_span = _part_boxes(src, pid)
        involved = np.isin(s_vox, les.voxels[src_parts == pid])
        tree = cKDTree((src.voxel_body_coords(s_vox) - s_lo) / s_span)
        dpid = _same_part(src, dst, pid)
        d_vox, d_lo, d_span = _part_boxes(dst, dpid)
        _, nearest = tree.query((dst.voxel_body_coords(d_vox) - d_lo) / d_span)
        new_vox.append(d_vox[involved[nearest]])
    vox = np.concatenate(new_vox) if new_vox else np.zeros(0, dtype=np.int64)
    bones = next(s.bones for s in siopen_segments() if s.key == les.segment)
    total = sum(len(dst.part_voxels(p.id)) for p in dst.skeleton.parts if p.bone in bones)
    per_bone: dict[str, int] = {}
    for pid, n in zip(*np.unique(dst.part.ravel()[vox], return_counts=True)):
        b = dst.skeleton.part(int(pid)).bone
        per_bone[b] = per_bone.get(b, 0) + int(n)
    vol = len(vox) * float(np.prod(dst.grid.spacing))
    frac = min(len(vox) / total, 1.0) if total else 0.0
    if les.diffuse_fraction >= 0.999:
        frac = 1.0
    return replace(les, voxels=vox, voxel_bones=per_bone, diffuse_fraction=frac,
                   centre_mm=diffuse_centre(dst, vox, les.segment) if len(vox) else les.centre_mm,
                   radius_mm=float((3 * vol / (4 * np.pi)) ** (1 / 3)))


def remap_lesions(lesions: list[Lesion], src: Anatomy, dst: Anatomy) -> list[Lesion]:
    """Carry lesions from one anatomy of a child to another (growth, repositioning).

    A focus keeps its bone part (bone and level) and its position relative to that part's
    bounding box in body coordinates; it is snapped back onto the bone if needed. A
    diffuse lesion keeps the same relative region of each involved part; its
    ``diffuse_fraction`` is recomputed on the new skeleton. Ids, kinds and contrasts are
    kept.

    Parameters
    ----------
    lesions : list of Lesion
        Lesions placed on ``src``.
    src, dst : Anatomy
        Same child (same skeleton parts and arm pose), e.g. at two ages.

    Returns
    -------
    list of Lesion
        On ``dst``.
    """
    if src is dst:
        return list(lesions)
    return [(_remap_focal if les.kind == "focal" else _remap_diffuse)(les, src, dst) for les in lesions]


def _map_point(p: np.ndarray, src: Landmarks, dst: Landmarks) -> np.ndarray:
    """Trunk-relative scaling of a body point (levels from the shoulder, breadth and depth)."""
    z = dst.z_shoulder + (p[0] - src.z_shoulder) * dst.trunk_len / src.trunk_len
    return np.array([z, p[1] * dst.trunk_depth / src.trunk_depth, p[2] * dst.chest_half_width / src.chest_half_width])


def _grow_organ(o: Organ, src: Landmarks, dst: Landmarks) -> Organ:
    """A soft-tissue mass (the primary) carried to the grown trunk."""
    s = dst.trunk_len / src.trunk_len

    def grow(shape: Shape) -> Shape:
        if isinstance(shape, Ellipsoid):
            return replace(shape, centre=_map_point(np.asarray(shape.centre, dtype=float), src, dst),
                           axes=np.asarray(shape.axes, dtype=float) * s)
        return shape

    return replace(o, shapes=[grow(sh) for sh in o.shapes], blobs=[(grow(sh), w) for sh, w in o.blobs])


def make_longitudinal(
    age_years: float = 4.0,
    sex: str = "M",
    seed: int = 0,
    pattern: str = "limited",
    timepoints: tuple[tuple[str, int], ...] = TIMEPOINTS,
    grow: bool = True,
    **kwargs: Any,
) -> list[Patient]:
    """One child at several time points: disease evolves, the child grows and is repositioned.

    Parameters
    ----------
    age_years, sex, seed, pattern
        As :func:`mibgkit.phantom.make_patient` (the age and pattern at diagnosis).
    timepoints : tuple of (name, days)
        Default :data:`TIMEPOINTS`; names other than the defaults keep the previous state.
    grow : bool
        Age each scan by its days from diagnosis (stature from the DOMAIN.md table) and
        draw a new table position (tilt within +-1.5 degrees, offset 0-40 mm along the table,
        +-12 mm across). ``False``: every scan shares the diagnosis anatomy.
    **kwargs
        Passed to :func:`make_patient`.

    Returns
    -------
    list of Patient
        One per time point, ``timepoint``, ``days_from_diagnosis`` and ``age_years`` set.
    """
    base = make_patient(age_years=age_years, sex=sex, seed=seed, pattern=pattern, **kwargs)
    rng = np.random.default_rng([int(seed), 23])
    place_rng = np.random.default_rng([int(seed), 29])
    out = [base]
    lesions = base.lesions
    primary = base.primary
    for name, days in timepoints[1:]:
        lesions = evolve(base, lesions, name, rng, base.lesions) if name in (*CONTRAST_STEPS, "relapse") else lesions
        if primary is not None and name != "relapse":
            primary = replace(primary, concentration=primary.concentration * 0.45)
            if name in ("post_hdc", "end_of_treatment"):
                primary = None
        scale = {"bladder": float(rng.uniform(0.4, 1.6)), "bowel": float(rng.uniform(0.5, 1.6))}
        tilt, offs = float(place_rng.uniform(-1.5, 1.5)), (float(place_rng.uniform(0, 40)),
                                                           float(place_rng.uniform(-12, 12)))
        if not grow:
            out.append(base.at(name, lesions, primary, days, scale))
            continue
        age = base.age_years + days / 365.25
        kw = dict(kwargs)
        if kw.get("weight_kg"):
            from mibgkit.phantom.anatomy_model import expected_weight_kg

            kw["weight_kg"] = float(kw["weight_kg"]) * expected_weight_kg(age, sex) / expected_weight_kg(
                base.age_years, sex)
        later = _make_patient(
            age, sex, seed, pattern, kw.get("arms", base.arms), kw.get("weight_kg"), kw.get("tilt_deg"),
            kw.get("offset_mm"), kw.get("pixel_mm"), kw.get("depth_mm", base.anatomy.grid.depth_mm), False,
            kw.get("thyroid"), kw.get("brown_fat"), kw.get("adrenals"), [], (1.0, 12.0), reposition=(tilt, offs))
        prim = _grow_organ(primary, base.anatomy.lm, later.anatomy.lm) if primary is not None else None
        out.append(replace(later, lesions=remap_lesions(lesions, base.anatomy, later.anatomy), primary=prim,
                           pattern=base.pattern, timepoint=name, days_from_diagnosis=days,
                           organ_scale=dict(scale)))
    return out


def contrast_by_timepoint(
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4, 5),
    patterns: tuple[str, ...] = ("limited", "extensive"),
    age_years: float = 5.0,
) -> dict[str, dict[str, list[float]]]:
    """Focal-lesion contrast and expected CNR per time point over several simulated series.

    Used to document the disease course (``docs/phantom.md``).

    Parameters
    ----------
    seeds : tuple of int
        One series per seed and pattern.
    patterns : tuple of str
        Disease patterns at diagnosis.
    age_years : float
        Age at diagnosis.

    Returns
    -------
    dict
        Time point -> {"contrast": [...], "cnr": [...]} over all focal lesions (CNR = best
        view).
    """
    from mibgkit.phantom.simulation import simulate

    out: dict[str, dict[str, list[float]]] = {t: {"contrast": [], "cnr": []} for t, _ in TIMEPOINTS}
    for pattern in patterns:
        for seed in seeds:
            for k, p in enumerate(make_longitudinal(age_years, "F" if seed % 2 else "M", seed, pattern)):
                sim = simulate(p, seed=seed * 10 + k)
                for t in sim.truth.lesions:
                    if t.kind == "focal":
                        out[p.timepoint]["contrast"].append(t.contrast)
                        out[p.timepoint]["cnr"].append(max(t.cnr.values()))
    return out

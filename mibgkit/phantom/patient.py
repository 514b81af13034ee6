"""Assemble one synthetic child: voxel anatomy, normal biodistribution and disease.

:func:`make_patient` is the entry point; :class:`Anatomy` holds the voxel volumes that
:func:`mibgkit.phantom.simulate` projects, and :class:`Patient` adds the disease state
(a longitudinal series shares one ``Anatomy`` across time points).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from mibgkit.phantom.anatomy_model import Proportions, proportions
from mibgkit.phantom.biodistribution import PLANAR_RANGES, Organ, calibrate, normal_organs, smooth_noise
from mibgkit.phantom.body import (
    TISSUE_BONE,
    TISSUE_SOFT,
    Grid,
    Landmarks,
    Placement,
    Shape,
    landmarks,
    soft_tissue_shapes,
)
from mibgkit.phantom.lesions import PATTERNS, Lesion, primary_tumour, sample_lesions
from mibgkit.phantom.skeleton import ARM_POSES, Skeleton, build_skeleton
from mibgkit.segments import label_of

__all__ = ["Anatomy", "Patient", "make_patient", "WB_ROWS", "WB_COLS"]

WB_ROWS, WB_COLS = 1024, 256
_TEXTURE_FACTOR = (4, 2, 4)  # texture field is coarser than the grid (rows, depth, cols)

_FIRST_NAMES = ["Alex", "Sam", "Noa", "Lou", "Eli", "Kim", "Robin", "Charlie", "Jules", "Mika", "Ari", "Sasha"]
_LAST_NAMES = ["Phantom", "Synth", "Voxel", "Testcase", "Simulo", "Modelo", "Fantome", "Dummy"]


@dataclass
class Anatomy:
    """Voxel model of one child on the camera grid.

    Parameters
    ----------
    prop, lm : Proportions, Landmarks
    placement : Placement
    grid : Grid
    skeleton : Skeleton
    organs : list of Organ
        Normal organs with calibrated concentrations (liver = 1).
    tissue : ndarray (rows, depth, cols) uint8
        0 air, 1 soft tissue, 2 lung, 3 bone.
    part : ndarray (rows, depth, cols) uint8
        Bone part id (``skeleton.part(id)``), 0 elsewhere.
    organ_id : ndarray (rows, depth, cols) uint8
        1-based index into ``organs``; 0 elsewhere.
    activity : ndarray (rows, depth, cols) float32
        Normal activity concentration (liver = 1), no disease.
    background : float
        Soft-tissue (and bone) concentration.
    """

    prop: Proportions
    lm: Landmarks
    placement: Placement
    grid: Grid
    skeleton: Skeleton
    organs: list[Organ]
    tissue: np.ndarray
    part: np.ndarray
    organ_id: np.ndarray
    activity: np.ndarray
    background: float
    texture: np.ndarray = field(repr=False)  # coarse smooth field, see texture_at
    organ_slices: dict[str, tuple[slice, slice, slice]] = field(default_factory=dict, repr=False)
    _part_index: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _first_hit: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    # -- voxel helpers ---------------------------------------------------------------
    def texture_at(self, sl: tuple[slice, slice, slice]) -> np.ndarray:
        """Smooth random texture (mean 1) on the voxels of ``sl``, from the coarse field."""
        idx = [np.arange(s.start, s.stop) // f for s, f in zip(sl, _TEXTURE_FACTOR)]
        return self.texture[np.ix_(*idx)]

    def texture_flat(self, flat: np.ndarray) -> np.ndarray:
        """Texture at flat voxel indices."""
        r, d, c = np.unravel_index(np.asarray(flat), self.grid.shape)
        fr, fd, fc = _TEXTURE_FACTOR
        return self.texture[r // fr, d // fd, c // fc]

    def organ_projection(self, name: str) -> np.ndarray:
        """Bool (grid rows, cols): where the organ is met along depth."""
        out = np.zeros((self.grid.shape[0], self.grid.shape[2]), dtype=bool)
        i = next((k for k, o in enumerate(self.organs, start=1) if o.name == name), None)
        sl = self.organ_slices.get(name)
        if i is None or sl is None:
            return out
        out[sl[0], sl[2]] = (self.organ_id[sl] == i).any(axis=1)
        return out

    def part_voxels(self, pid: int) -> np.ndarray:
        """Flat grid indices of one bone part."""
        if not self._part_index:
            flat = self.part.ravel()
            nz = np.flatnonzero(flat)
            ids = flat[nz]
            order = np.argsort(ids, kind="stable")
            counts = np.bincount(ids, minlength=len(self.skeleton.parts) + 1)
            splits = np.split(nz[order], np.cumsum(counts)[:-1])
            self._part_index.update({i: s for i, s in enumerate(splits) if i > 0})
        return self._part_index.get(pid, np.zeros(0, dtype=np.int64))

    def voxel_centre_mm(self, flat: np.ndarray) -> np.ndarray:
        """Camera-frame (row mm, depth mm, col mm) of flat voxel indices, shape (n, 3)."""
        idx = np.stack(np.unravel_index(np.asarray(flat), self.grid.shape), axis=-1).astype(float)
        return self.grid.scanner_of(idx)

    def voxel_body_coords(self, flat: np.ndarray) -> np.ndarray:
        """Body (z, y, x) of flat voxel indices, shape (n, 3)."""
        sc = self.voxel_centre_mm(flat)
        z, y, x = self.placement.to_body(sc[:, 0], sc[:, 1], sc[:, 2])
        return np.stack([z, y, x], axis=-1)

    def first_hit(self, view: str) -> np.ndarray:
        """Part id of the first bone met from the camera side, (rows, cols) on the grid rows."""
        if view not in self._first_hit:
            bone = self.part > 0
            if view == "ANT":
                j = bone.argmax(axis=1)
            else:
                j = bone.shape[1] - 1 - bone[:, ::-1, :].argmax(axis=1)
            hit = np.take_along_axis(self.part, j[:, None, :], axis=1)[:, 0, :]
            self._first_hit[view] = np.where(bone.any(axis=1), hit, 0).astype(np.uint8)
        return self._first_hit[view]

    def segment_label_map(self, view: str) -> np.ndarray:
        """SIOPEN labels of the first-hit bone (grid rows x cols), uint8."""
        lut = np.zeros(256, dtype=np.uint8)
        for p in self.skeleton.parts:
            lut[p.id] = label_of(p.segment)
        return lut[self.first_hit(view)]

    def projects_onto(self, centre_mm: np.ndarray, segment: str) -> bool:
        """True if the point projects onto its own segment in at least one view."""
        return bool(self.project_onto_many(np.asarray(centre_mm, dtype=float), segment)[0])

    def project_onto_many(self, points_mm: np.ndarray, segment: str) -> np.ndarray:
        """:meth:`projects_onto` for many points at once.

        Parameters
        ----------
        points_mm : ndarray of shape (n, 3)
            Camera-frame (row mm, depth mm, col mm).
        segment : str
            SIOPEN segment key.

        Returns
        -------
        ndarray of bool, shape (n,)
            True where the point projects onto ``segment`` in ANT or POST.
        """
        pts = np.asarray(points_mm, dtype=float).reshape(-1, 3)
        r = np.round(pts[:, 0] / self.grid.pixel_mm).astype(int) - self.grid.row0
        c = np.round(pts[:, 2] / self.grid.pixel_mm).astype(int)
        ok = (r >= 0) & (r < self.grid.shape[0]) & (c >= 0) & (c < self.grid.shape[2])
        out = np.zeros(len(pts), dtype=bool)
        lab = label_of(segment)
        for v in ("ANT", "POST"):
            out[ok] |= self.segment_label_map(v)[r[ok], c[ok]] == lab
        return out


@dataclass
class Patient:
    """A synthetic child at one time point.

    Parameters
    ----------
    anatomy : Anatomy
    lesions : list of Lesion
        Skeletal disease.
    primary : Organ or None
        Soft-tissue primary tumour (not scored in SIOPEN; Curie soft tissue).
    age_years, sex, weight_kg, arms, pattern, seed
        How the child was made.
    patient_id, patient_name : str
        Fake, de-identified identity (stable for a seed).
    timepoint : str
        ``"diagnosis"``, ``"post_induction"``, ... (longitudinal series).
    days_from_diagnosis : int
    organ_scale : dict
        Organ name -> activity factor for this scan (bladder filling, bowel transit vary
        from day to day).
    """

    anatomy: Anatomy
    lesions: list[Lesion]
    primary: Organ | None
    age_years: float
    sex: str
    weight_kg: float
    arms: str
    pattern: str
    seed: int
    patient_id: str
    patient_name: str
    timepoint: str = "diagnosis"
    days_from_diagnosis: int = 0
    organ_scale: dict[str, float] = field(default_factory=dict)

    def at(
        self, timepoint: str, lesions: list[Lesion], primary: Organ | None, days: int,
        organ_scale: dict[str, float] | None = None,
    ) -> "Patient":
        """The same child at another time point (same anatomy, new disease state)."""
        return replace(self, lesions=lesions, primary=primary, timepoint=timepoint, days_from_diagnosis=days,
                       organ_scale=dict(organ_scale or {}))

    def activity(self) -> np.ndarray:
        """Activity concentration volume (liver = 1) with the primary and diffuse disease.

        Focal lesions are not voxelized here: the camera adds them analytically (sub-voxel
        positions); :mod:`mibgkit.phantom.spect` paints them on its own grid.
        """
        a = self.anatomy
        act = a.activity.copy()
        for name, f in self.organ_scale.items():
            i = next((k for k, o in enumerate(a.organs, start=1) if o.name == name), None)
            if i is not None and f != 1.0:
                m = a.organ_id == i
                act[m] *= np.float32(f)
        if self.primary is not None:
            _paint_organ_activity(a, act, self.primary, a.background)
        flat = act.reshape(-1)
        for les in self.lesions:
            if les.kind == "diffuse" and les.voxels is not None:
                flat[les.voxels] = a.background + les.contrast * a.texture_flat(les.voxels)
        return act


def _rasterize_into(
    a_grid: Grid, placement: Placement, shapes: list[Shape]
) -> list[tuple[tuple[slice, slice, slice], np.ndarray]]:
    out = []
    for s in shapes:
        r = s.rasterize(a_grid, placement)
        if r is not None:
            out.append(r)
    return out


def _organ_weights(a: Anatomy, organ: Organ, sl: tuple[slice, slice, slice], mask: np.ndarray) -> np.ndarray:
    """Relative activity weights of an organ's voxels within ``sl`` (mean 1 over ``mask``)."""
    w = np.ones(mask.shape, dtype=np.float32)
    if organ.blobs:
        w[:] = 0.2
        for shape, weight in organ.blobs:
            r = shape.rasterize(a.grid, a.placement)
            if r is None:
                continue
            bsl, bm = r
            inter = tuple(slice(max(p.start, q.start), min(p.stop, q.stop)) for p, q in zip(sl, bsl))
            if any(s.stop <= s.start for s in inter):
                continue
            loc_w = tuple(slice(i.start - p.start, i.stop - p.start) for i, p in zip(inter, sl))
            loc_b = tuple(slice(i.start - q.start, i.stop - q.start) for i, q in zip(inter, bsl))
            w[loc_w][bm[loc_b]] = weight
    if organ.texture > 0:
        w *= a.texture_at(sl) ** (organ.texture / 0.25)
    mean = float(w[mask].mean()) if mask.any() else 1.0
    return w / max(mean, 1e-6)


def _paint_organ_activity(a: Anatomy, act: np.ndarray, organ: Organ, background: float) -> None:
    """Overwrite ``act`` with an organ's concentration (inside the body, not in bone)."""
    conc = organ.concentration
    for sl, m in _rasterize_into(a.grid, a.placement, organ.shapes):
        m = m & (a.tissue[sl] > 0) & (a.tissue[sl] != TISSUE_BONE)
        w = _organ_weights(a, organ, sl, m)
        sub = act[sl]
        sub[m] = conc * w[m]


def _build_anatomy(
    prop: Proportions, arms: str, rng: np.random.Generator, pixel_mm: float, depth_mm: float,
    tilt_deg: float, offset_mm: tuple[float, float], organ_options: dict[str, bool | None],
) -> Anatomy:
    lm = landmarks(prop)
    skel = build_skeleton(lm, arms)
    soft = soft_tissue_shapes(lm, skel.arm_soft)
    organs = normal_organs(lm, rng, **organ_options)
    # body extent -> grid and placement
    ext = [s.extent() for s in soft]
    lo = np.min([e[0] for e in ext], axis=0)
    hi = np.max([e[1] for e in ext], axis=0)
    probe = Placement(0.0, 0.0, 0.0, tilt_deg)
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])
    sc = probe.to_scanner(corners)
    top_margin = 35.0 + offset_mm[0]
    r0 = top_margin - sc[:, 0].min()
    c0 = WB_COLS / 2 * pixel_mm + offset_mm[1]
    d0 = -sc[:, 1].min() + 2 * depth_mm
    placement = Placement(r0, d0, c0, tilt_deg)
    sc = placement.to_scanner(corners)
    row_lo = max(int(np.floor(sc[:, 0].min() / pixel_mm)) - 2, 0)
    row_hi = min(int(np.ceil(sc[:, 0].max() / pixel_mm)) + 3, WB_ROWS)
    n_depth = int(np.ceil((sc[:, 1].max() + 2 * depth_mm) / depth_mm))
    grid = Grid((row_hi - row_lo, n_depth, WB_COLS), pixel_mm, depth_mm, row_lo)

    tissue = np.zeros(grid.shape, dtype=np.uint8)
    for sl, m in _rasterize_into(grid, placement, soft):
        tissue[sl][m] = TISSUE_SOFT
    organ_id = np.zeros(grid.shape, dtype=np.uint8)
    organ_sl: dict[str, list[tuple[tuple[slice, slice, slice], np.ndarray]]] = {}
    for i, o in enumerate(organs, start=1):
        parts = _rasterize_into(grid, placement, o.shapes)
        organ_sl[o.name] = parts
        for sl, m in parts:
            m = m & (tissue[sl] > 0)
            organ_id[sl][m] = i
            if o.tissue != TISSUE_SOFT:
                tissue[sl][m] = o.tissue
    part = np.zeros(grid.shape, dtype=np.uint8)
    for p in skel.parts:
        for sl, m in _rasterize_into(grid, placement, p.shapes):
            part[sl][m] = p.id
    bone = part > 0
    tissue[bone] = TISSUE_BONE
    organ_id[bone] = 0

    # calibrate concentrations on the organs as painted (union bbox of each organ's shapes)
    thick: dict[str, float] = {}
    for i, o in enumerate(organs, start=1):
        if organ_sl[o.name]:
            usl = _union(organ_sl[o.name])
            proj = (organ_id[usl] == i).sum(axis=1)
            n = int((proj > 0).sum())
            if n:
                thick[o.name] = float(proj.sum()) / n * depth_mm
    bg = calibrate(organs, thick, lm.trunk_depth, float(rng.uniform(*PLANAR_RANGES["background"])))
    coarse = tuple(-(-n // f) for n, f in zip(grid.shape, _TEXTURE_FACTOR))
    texture = smooth_noise(coarse, 0.7, 0.25, rng)
    activity = np.where(tissue > 0, np.float32(bg), np.float32(0.0)).astype(np.float32)
    anat = Anatomy(prop, lm, placement, grid, skel, organs, tissue, part, organ_id, activity, bg, texture,
                   {name: _union(parts) for name, parts in organ_sl.items() if parts})
    for i, o in enumerate(organs, start=1):
        for sl, m in organ_sl[o.name]:
            m = m & (organ_id[sl] == i)
            if m.any():
                w = _organ_weights(anat, o, sl, m)
                sub = activity[sl]
                sub[m] = o.concentration * w[m]
    return anat


def _union(parts: list[tuple[tuple[slice, slice, slice], np.ndarray]]) -> tuple[slice, slice, slice]:
    """Bounding slices of several rasterized shapes."""
    return tuple(  # type: ignore[return-value]
        slice(min(p[0][k].start for p in parts), max(p[0][k].stop for p in parts)) for k in range(3)
    )


def make_patient(
    age_years: float = 5.0,
    sex: str = "F",
    seed: int = 0,
    pattern: str = "limited",
    arms: str | None = None,
    weight_kg: float | None = None,
    tilt_deg: float | None = None,
    offset_mm: tuple[float, float] | None = None,
    pixel_mm: float | None = None,
    depth_mm: float = 4.0,
    primary: bool | None = None,
    thyroid: bool | None = None,
    brown_fat: bool | None = None,
    adrenals: bool | None = None,
    lesions: list[Lesion] | None = None,
    contrast_range: tuple[float, float] = (1.0, 12.0),
) -> Patient:
    """Make one synthetic child with normal 24-h mIBG biodistribution and disease.

    Parameters
    ----------
    age_years : float
        1-18 years; sets stature and proportions (DOMAIN.md table, interpolated).
    sex : {"M", "F"}
    seed : int
        Everything random about the child (proportions jitter, organs, lesions).
    pattern : {"none", "limited", "extensive", "diffuse"}
        Skeletal disease regime.
    arms : {"sides", "abducted", "raised", "on_abdomen"}, optional
        Default: ``"on_abdomen"`` under 2 years, else ``"sides"``.
    weight_kg : float, optional
        Default: median for age with a +-15 % draw.
    tilt_deg, offset_mm : optional
        In-plane tilt and (row, col) offset on the table; drawn small when omitted.
    pixel_mm : float, optional
        Planar pixel size (2.2-2.4 mm); drawn when omitted.
    depth_mm : float
        Depth voxel size.
    primary : bool, optional
        Soft-tissue primary tumour; default yes unless ``pattern == "none"``.
    thyroid, brown_fat, adrenals : bool, optional
        Force optional physiological uptakes (default: drawn at their frequencies).
    lesions : list of Lesion, optional
        Use these instead of drawing (e.g. to replay a longitudinal series).
    contrast_range : tuple of float
        Focal lesion concentration relative to liver (log-uniform). Soft tissue is at
        0.02-0.08 of the liver's planar density, so a focus at 1x the liver's concentration
        is still conspicuous over a limb; ``(0.05, 0.3)`` gives faint, partly invisible foci.

    Returns
    -------
    Patient
    """
    return _make_patient(age_years, sex, seed, pattern, arms, weight_kg, tilt_deg, offset_mm, pixel_mm, depth_mm,
                         primary, thyroid, brown_fat, adrenals, lesions, contrast_range)


def _make_patient(
    age_years: float,
    sex: str,
    seed: int,
    pattern: str,
    arms: str | None,
    weight_kg: float | None,
    tilt_deg: float | None,
    offset_mm: tuple[float, float] | None,
    pixel_mm: float | None,
    depth_mm: float,
    primary: bool | None,
    thyroid: bool | None,
    brown_fat: bool | None,
    adrenals: bool | None,
    lesions: list[Lesion] | None,
    contrast_range: tuple[float, float],
    reposition: tuple[float, tuple[float, float]] | None = None,
) -> Patient:
    """:func:`make_patient`; ``reposition`` = (tilt, (row, col) offset) replaces the drawn
    placement *after* the draws, so the child's organs stay those of ``seed`` (follow-up
    scans of one child lie a little differently on the table)."""
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}, not {pattern!r}")
    rng = np.random.default_rng([int(seed), 7])
    age = float(np.clip(age_years, 1.0, 18.0))
    sex = "F" if str(sex).upper().startswith("F") else "M"
    if arms is None:
        arms = "on_abdomen" if age < 2 else "sides"
    if arms not in ARM_POSES:
        raise ValueError(f"arms must be one of {ARM_POSES}, not {arms!r}")
    from mibgkit.phantom.anatomy_model import expected_weight_kg

    weight = float(weight_kg) if weight_kg else round(expected_weight_kg(age, sex) * float(rng.uniform(0.85, 1.15)), 1)
    tilt = float(tilt_deg) if tilt_deg is not None else float(rng.uniform(-1.5, 1.5))
    offs = offset_mm if offset_mm is not None else (float(rng.uniform(0, 40)), float(rng.uniform(-12, 12)))
    pix = float(pixel_mm) if pixel_mm else float(rng.choice([2.21, 2.26, 2.33, 2.40]))
    if reposition is not None:
        tilt, offs = float(reposition[0]), (float(reposition[1][0]), float(reposition[1][1]))
    prop = proportions(age, sex, weight)
    anat = _build_anatomy(prop, arms, rng, pix, depth_mm, tilt, offs,
                          {"thyroid": thyroid, "brown_fat": brown_fat, "adrenals": adrenals})
    les = lesions if lesions is not None else sample_lesions(anat, pattern, rng, contrast_range=contrast_range)
    has_primary = primary if primary is not None else pattern != "none"
    prim = None
    if has_primary:
        prim = primary_tumour(anat.lm, rng)
        _calibrate_primary(anat, prim)
    h = hashlib.sha1(f"mibgkit-phantom-{seed}".encode()).hexdigest()
    name = f"{_LAST_NAMES[int(h[:4], 16) % len(_LAST_NAMES)]}^{_FIRST_NAMES[int(h[4:8], 16) % len(_FIRST_NAMES)]}"
    return Patient(anat, les, prim, age, sex, weight, arms, pattern, int(seed), f"PH{h[:8].upper()}", name)


def _calibrate_primary(anat: Anatomy, organ: Organ) -> None:
    """Concentration of a soft-tissue mass from its planar target (liver = 1)."""
    parts = _rasterize_into(anat.grid, anat.placement, organ.shapes)
    if not parts:
        organ.concentration = 0.0
        return
    sl, m = parts[0]
    proj = m.sum(axis=1)
    t = float(proj.sum()) / max(int((proj > 0).sum()), 1) * anat.grid.depth_mm
    liver = next(o for o in anat.organs if o.name == "liver")
    lm_ = anat.organ_id == anat.organs.index(liver) + 1
    lp = lm_.sum(axis=1)
    t_liver = float(lp.sum()) / max(int((lp > 0).sum()), 1) * anat.grid.depth_mm
    organ.concentration = organ.planar_ratio * t_liver / max(t, 1.0) + anat.background


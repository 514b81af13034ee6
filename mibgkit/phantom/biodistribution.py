"""Normal 24-h 123I-mIBG biodistribution: organ solids and their activity concentrations.

Targets are *planar count densities relative to the liver* (``shared/DOMAIN.md``): bladder
1.5-5, salivary glands 0.8-1.5, myocardium 0.5-1.0, bowel 0.2-1.0 (patchy), spleen 0.2-0.5,
lungs 0.15-0.3, kidneys 0.1-0.3, nasopharynx / lacrimal glands faint, thyroid 0 unless the
blockade failed, brown fat in about 12 % of children, faint adrenals in a minority, soft
tissue 0.02-0.08. Normal bone and marrow take up nothing: bone voxels get the soft-tissue
background. Because a planar density is concentration x thickness, each organ's voxel
concentration is its target ratio scaled by (liver thickness / organ thickness), measured
on the voxel model itself (:func:`calibrate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from mibgkit.phantom.body import Capsule, Ellipsoid, Landmarks, Shape, rotation

__all__ = ["Organ", "normal_organs", "smooth_noise", "calibrate", "PLANAR_RANGES"]

#: Planar density relative to liver (DOMAIN.md); sampled uniformly per child.
PLANAR_RANGES: dict[str, tuple[float, float]] = {
    "bladder": (1.5, 5.0),
    "liver": (1.0, 1.0),
    "parotid": (0.8, 1.5),
    "submandibular": (0.8, 1.3),
    "heart": (0.5, 1.0),
    "bowel": (0.2, 1.0),
    "lungs": (0.15, 0.3),
    "spleen": (0.2, 0.5),
    "kidneys": (0.1, 0.3),
    "nasopharynx": (0.25, 0.5),
    "lacrimal": (0.15, 0.35),
    "thyroid": (0.5, 1.2),
    "brown_fat": (0.3, 0.8),
    "adrenals": (0.12, 0.3),
    "background": (0.02, 0.08),
}


@dataclass
class Organ:
    """One source organ.

    Parameters
    ----------
    name : str
        Truth name (``"liver"``, ``"parotid_right"``, ...).
    group : str
        Key into :data:`PLANAR_RANGES` (``"parotid"``, ``"kidneys"``, ...).
    shapes : list of Shape
    planar_ratio : float
        Target planar density relative to liver.
    tissue : int
        Tissue class painted (soft tissue, or lung).
    texture : float
        Relative std of a smooth multiplicative texture (0 = uniform).
    blobs : list of (Shape, float)
        Extra sub-regions with their own relative weight (patchy bowel).
    """

    name: str
    group: str
    shapes: list[Shape]
    planar_ratio: float
    tissue: int = 1
    texture: float = 0.0
    blobs: list[tuple[Shape, float]] = field(default_factory=list)
    concentration: float = 0.0


def smooth_noise(shape: tuple[int, ...], sigma: float, std: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random field with mean 1 and roughly ``std`` relative spread (float32, >= 0.05)."""
    if std <= 0 or min(shape) == 0:
        return np.ones(shape, dtype=np.float32)
    f = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma, mode="wrap")
    s = float(f.std()) or 1.0
    return np.maximum(1.0 + std * f / s, 0.05).astype(np.float32)


def _u(lo_hi: tuple[float, float], rng: np.random.Generator) -> float:
    return float(rng.uniform(*lo_hi))


def normal_organs(
    lm: Landmarks,
    rng: np.random.Generator,
    thyroid: bool | None = None,
    brown_fat: bool | None = None,
    adrenals: bool | None = None,
) -> list[Organ]:
    """The organs of a normal 24-h mIBG study for this body plan.

    Parameters
    ----------
    lm : Landmarks
    rng : numpy Generator
        Draws the per-child planar ratios, bladder filling, bowel pattern and options.
    thyroid, brown_fat, adrenals : bool, optional
        Force the option; by default drawn (thyroid visible 5 %, brown fat 12 %,
        adrenals 25 %).

    Returns
    -------
    list of Organ
        In painting order (later organs overwrite earlier ones).
    """
    p = lm.prop
    H, hh, L, B = p.stature, p.head_height, p.head_length, p.head_breadth
    D, W, P = lm.trunk_depth, lm.chest_half_width, lm.trunk_len
    hc = lm.head_centre
    R = PLANAR_RANGES
    organs: list[Organ] = []

    # lungs (tissue 2 = lung attenuation); the heart and liver overwrite their parts
    for side, name in ((-1.0, "lung_right"), (1.0, "lung_left")):
        _, hd, cy = lm.trunk_section(lm.level(0.25))
        c = np.array([lm.level(0.24), cy + 0.05 * D, side * 0.47 * W])
        ax = np.array([0.25 * P, 0.78 * hd, 0.4 * W])
        organs.append(Organ(name, "lungs", [Ellipsoid(c, ax, keep=[(np.array([0.0, 0.0, -side]), 0.72 * ax[2])])],
                            _u(R["lungs"], rng), tissue=2, texture=0.1))
    # liver: right lobe + left lobe crossing the midline; dome under the right lung
    _, hd, cy = lm.trunk_section(lm.level(0.5))
    liver_shapes: list[Shape] = [
        Ellipsoid(np.array([lm.level(0.5), cy, -0.38 * W]), np.array([0.15 * P, 0.82 * hd, 0.55 * W]), rotation("y", 12)),
        Ellipsoid(np.array([lm.level(0.46), cy - 0.25 * hd, 0.12 * W]), np.array([0.08 * P, 0.45 * hd, 0.38 * W]),
                  rotation("y", 20)),
    ]
    organs.append(Organ("liver", "liver", liver_shapes, 1.0, texture=0.08))
    organs.append(Organ("spleen", "spleen",
                        [Ellipsoid(np.array([lm.level(0.47), cy + 0.45 * hd, 0.72 * W]),
                                   np.array([0.085 * P, 0.34 * hd, 0.17 * W]), rotation("y", -25))],
                        _u(R["spleen"], rng)))
    # heart: left-ventricular wall (hot) around a faint blood pool
    hcen = np.array([lm.level(0.33), lm.trunk_section(lm.level(0.33))[2] - 0.1 * D, 0.16 * W])
    hrot = rotation("y", -40) @ rotation("x", 25)
    lv_ax = np.array([0.11 * P, 0.075 * P, 0.075 * P])
    organs.append(Organ("blood_pool", "background",
                        [Ellipsoid(hcen - np.array([0.02 * P, 0.0, 0.06 * W]), np.array([0.12 * P, 0.11 * P, 0.14 * P]), hrot)],
                        0.0))
    organs.append(Organ("heart", "heart", [Ellipsoid(hcen, lv_ax, hrot, shell=max(0.3 * lv_ax[1], 4.0))],
                        _u(R["heart"], rng), texture=0.08))
    # kidneys (right lower), faint adrenals above them
    for side, name in ((-1.0, "kidney_right"), (1.0, "kidney_left")):
        z = lm.level(0.6 + (0.03 if side < 0 else 0.0))
        _, hdk, cyk = lm.trunk_section(z)
        c = np.array([z, cyk + 0.45 * hdk, side * 0.33 * W])
        organs.append(Organ(name, "kidneys",
                            [Ellipsoid(c, np.array([0.09 * P, 0.2 * hdk, 0.11 * W]), rotation("y", side * 15),
                                       shell=0.05 * P)],
                            _u(R["kidneys"], rng), texture=0.1))
    if adrenals if adrenals is not None else rng.random() < 0.25:
        r = _u(R["adrenals"], rng)
        for side, name in ((-1.0, "adrenal_right"), (1.0, "adrenal_left")):
            z = lm.level(0.49 + (0.03 if side < 0 else 0.0))
            _, hdk, cyk = lm.trunk_section(z)
            organs.append(Organ(name, "adrenals",
                                [Ellipsoid(np.array([z, cyk + 0.35 * hdk, side * 0.25 * W]),
                                           np.array([0.035 * P, 0.12 * hdk, 0.05 * W]))], r))
    # bowel: patchy colon frame plus faint small bowel
    organs.append(_bowel(lm, rng))
    # bladder: variable filling
    fill = float(rng.uniform(0.6, 1.4))
    _, hdb, cyb = lm.trunk_section(lm.z_hip)
    organs.append(Organ("bladder", "bladder",
                        [Ellipsoid(np.array([lm.z_hip - 0.03 * P * fill, cyb - 0.25 * hdb, 0.0]),
                                   np.array([0.075 * P * fill, 0.35 * hdb * fill ** 0.5, 0.3 * lm.hip_half_width * fill]))],
                        _u(R["bladder"], rng)))
    # head and neck glands
    for side, sname in ((-1.0, "right"), (1.0, "left")):
        organs.append(Organ(f"parotid_{sname}", "parotid",
                            [Ellipsoid(hc + np.array([0.2 * hh, 0.02 * L, side * 0.42 * B]),
                                       np.array([0.12 * hh, 0.12 * L, 0.08 * B]))],
                            _u(R["parotid"], rng)))
        organs.append(Organ(f"submandibular_{sname}", "submandibular",
                            [Ellipsoid(hc + np.array([0.42 * hh, -0.14 * L, side * 0.27 * B]),
                                       np.array([0.055 * hh, 0.07 * L, 0.075 * B]))],
                            _u(R["submandibular"], rng)))
        organs.append(Organ(f"lacrimal_{sname}", "lacrimal",
                            [Ellipsoid(hc + np.array([-0.07 * hh, -0.36 * L, side * 0.3 * B]),
                                       np.array([0.03 * hh, 0.04 * L, 0.05 * B]))],
                            _u(R["lacrimal"], rng)))
    organs.append(Organ("nasopharynx", "nasopharynx",
                        [Ellipsoid(hc + np.array([0.17 * hh, -0.12 * L, 0.0]), np.array([0.07 * hh, 0.1 * L, 0.12 * B]))],
                        _u(R["nasopharynx"], rng)))
    neck_len = lm.z_shoulder - lm.z_chin
    if thyroid if thyroid is not None else rng.random() < 0.05:
        r = _u(R["thyroid"], rng)
        zt = lm.z_chin + 0.6 * neck_len
        yt = lm.head_centre[1] - 0.05 * L
        organs.append(Organ("thyroid", "thyroid",
                            [Ellipsoid(np.array([zt, yt, s * 0.35 * lm.neck_half_width]),
                                       np.array([0.3 * neck_len + 3, 0.2 * lm.neck_half_width, 0.22 * lm.neck_half_width]))
                             for s in (-1.0, 1.0)], r))
    if brown_fat if brown_fat is not None else rng.random() < 0.12:
        r = _u(R["brown_fat"], rng)
        shapes: list[Shape] = []
        for s in (-1.0, 1.0):
            shapes.append(Capsule(np.array([lm.z_chin + 0.4 * neck_len, lm.table_y - 0.3 * D, s * 0.7 * lm.neck_half_width]),
                                  np.array([lm.z_shoulder + 0.02 * P, lm.table_y - 0.35 * D, s * 0.55 * W]),
                                  0.012 * H, 0.016 * H))
            # paravertebral: in the posterior muscle layer, behind the ribs (not carved by bone)
            shapes.append(Capsule(np.array([lm.level(0.08), lm.table_y - 0.06 * D, s * 0.1 * W]),
                                  np.array([lm.level(0.42), lm.table_y - 0.06 * D, s * 0.1 * W]),
                                  0.006 * H, 0.005 * H))
        organs.append(Organ("brown_fat", "brown_fat", shapes, r, texture=0.3))
    return organs


def _bowel(lm: Landmarks, rng: np.random.Generator) -> Organ:
    """Colon frame as a chain of blobs with random weights (patchy), small bowel faint."""
    P, W = lm.trunk_len, lm.chest_half_width
    hw_h = lm.hip_half_width

    def pt(f: float, xr: float, yf: float) -> np.ndarray:
        z = lm.level(f)
        hw, hd, cy = lm.trunk_section(z)
        return np.array([z, cy + yf * hd, xr * hw])

    path = [pt(0.92, -0.55, -0.1), pt(0.78, -0.62, 0.0), pt(0.64, -0.6, -0.1), pt(0.62, -0.2, -0.6),
            pt(0.63, 0.25, -0.6), pt(0.58, 0.65, 0.0), pt(0.75, 0.65, 0.1), pt(0.9, 0.55, 0.0),
            pt(0.98, 0.2, -0.2), pt(1.05, 0.0, 0.35)]
    r = 0.07 * min(W, hw_h) + 0.012 * P
    blobs: list[tuple[Shape, float]] = []
    shapes: list[Shape] = []
    for i in range(len(path) - 1):
        seg = Capsule(path[i], path[i + 1], r, r)
        shapes.append(seg)
        for _ in range(2):
            t = rng.uniform(0, 1)
            c = path[i] + t * (path[i + 1] - path[i]) + rng.normal(0, 0.2 * r, 3)
            w = float(rng.lognormal(0.0, 0.8)) if rng.random() < 0.55 else 0.15
            blobs.append((Ellipsoid(c, np.abs(rng.normal(1.1 * r, 0.25 * r, 3)) + 2.0), w))
    # small bowel: central abdomen, faint
    sb_c = pt(0.8, 0.0, -0.2)
    shapes.append(Ellipsoid(sb_c, np.array([0.12 * P, 0.5 * lm.trunk_section(sb_c[0])[1], 0.45 * hw_h])))
    blobs.insert(0, (shapes[-1], 0.12))
    return Organ("bowel", "bowel", shapes, float(rng.uniform(*PLANAR_RANGES["bowel"])), texture=0.25, blobs=blobs)


def calibrate(
    organs: list[Organ],
    thickness_mm: dict[str, float],
    body_thickness_mm: float,
    background_ratio: float,
) -> float:
    """Set each organ's voxel concentration from its planar target; return the background.

    A planar density is concentration x thickness, so an organ of mean projected
    thickness ``t`` over a body of thickness ``T`` gets ``c`` with
    ``c t + bg (T - t) = ratio * (t_liver + bg (T - t_liver))`` (liver concentration 1).

    Parameters
    ----------
    organs : list of Organ
    thickness_mm : dict
        Organ name -> mean projected thickness of the organ as painted (mm).
    body_thickness_mm : float
        Typical trunk thickness (for the background level).
    background_ratio : float
        Target planar soft-tissue density relative to liver.

    Returns
    -------
    float
        Soft-tissue background concentration (liver concentration = 1).
    """
    t_liver = thickness_mm.get("liver", body_thickness_mm / 2)
    bg = background_ratio * t_liver / body_thickness_mm
    for o in organs:
        t = thickness_mm.get(o.name, 0.0)
        if o.name == "liver":
            o.concentration = 1.0
        elif o.name == "blood_pool":
            o.concentration = 2.5 * bg
        elif t <= 0:
            o.concentration = 0.0
        else:
            target = o.planar_ratio * (t_liver + bg * max(body_thickness_mm - t_liver, 0.0))
            o.concentration = max(target - bg * max(body_thickness_mm - t, 0.0), 0.0) / t
    return bg

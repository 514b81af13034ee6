"""Voxel grid, patient placement and the solid shapes everything is drawn with.

Body coordinates (mm) follow the array order ``(z, y, x)``: ``z`` from the vertex towards
the feet, ``y`` from the mid-coronal plane of the trunk towards the back (positive =
posterior), ``x`` from the midline towards the patient's LEFT. The grid is the camera's
frame: rows are the whole-body image rows (head -> feet), columns the image columns of the
anterior display (patient right -> left) and the middle axis is depth (anterior ->
posterior). In-plane voxels are exactly the planar pixels, so a projection along depth is
already a normalized planar image; depth voxels are coarser (4 mm by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mibgkit.phantom.anatomy_model import Proportions

__all__ = [
    "Grid",
    "Placement",
    "Shape",
    "Ellipsoid",
    "Capsule",
    "EllipticStack",
    "rotation",
    "TISSUE_AIR",
    "TISSUE_SOFT",
    "TISSUE_LUNG",
    "TISSUE_BONE",
    "MU_PER_MM",
    "Landmarks",
    "landmarks",
    "soft_tissue_shapes",
]

TISSUE_AIR, TISSUE_SOFT, TISSUE_LUNG, TISSUE_BONE = 0, 1, 2, 3
#: Linear attenuation at 159 keV per tissue class (1/mm): soft tissue 0.15 /cm (DOMAIN.md),
#: lung about a third of that, bone (marrow + cortex) about 0.21 /cm.
MU_PER_MM = np.array([0.0, 0.015, 0.0045, 0.021], dtype=np.float32)


def rotation(axis: str, degrees: float) -> np.ndarray:
    """3x3 rotation matrix about one body axis (``"z"``, ``"y"`` or ``"x"``), in (z, y, x) order."""
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    i = {"z": 0, "y": 1, "x": 2}[axis]
    j, k = [n for n in range(3) if n != i]
    m = np.eye(3)
    m[j, j], m[j, k], m[k, j], m[k, k] = c, -s, s, c
    return m


@dataclass(frozen=True)
class Placement:
    """Where the body lies in the camera frame.

    Scanner position (mm) = ``(r0 + cos t * z - sin t * x, d0 + y, c0 + sin t * z + cos t * x)``
    with ``t`` the in-plane tilt.

    Parameters
    ----------
    r0, d0, c0 : float
        Scanner position (row mm, depth mm, col mm) of the body origin (vertex, mid-coronal
        plane, midline).
    tilt_deg : float
        Rotation of the body in the coronal plane (positive turns the feet towards the
        patient's left).
    """

    r0: float
    d0: float
    c0: float
    tilt_deg: float = 0.0

    def to_scanner(self, p: np.ndarray) -> np.ndarray:
        """Body (z, y, x) points, shape (..., 3) -> scanner (row, depth, col) mm."""
        p = np.asarray(p, dtype=float)
        t = np.deg2rad(self.tilt_deg)
        z, y, x = p[..., 0], p[..., 1], p[..., 2]
        return np.stack(
            [self.r0 + np.cos(t) * z - np.sin(t) * x, self.d0 + y, self.c0 + np.sin(t) * z + np.cos(t) * x],
            axis=-1,
        )

    def to_body(
        self, r: np.ndarray, d: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scanner (row, depth, col) mm (broadcastable arrays) -> body (z, y, x)."""
        t = np.deg2rad(self.tilt_deg)
        dr, dc = r - self.r0, c - self.c0
        return np.cos(t) * dr + np.sin(t) * dc, d - self.d0, -np.sin(t) * dr + np.cos(t) * dc


@dataclass(frozen=True)
class Grid:
    """The voxel grid: image rows ``row0 .. row0 + shape[0]``, all image columns.

    Parameters
    ----------
    shape : tuple of int
        (rows, depth, cols).
    pixel_mm : float
        Row and column spacing (the planar pixel size).
    depth_mm : float
        Depth spacing.
    row0 : int
        Whole-body image row of grid row 0.
    """

    shape: tuple[int, int, int]
    pixel_mm: float
    depth_mm: float
    row0: int

    @property
    def spacing(self) -> np.ndarray:
        """(row, depth, col) spacing in mm."""
        return np.array([self.pixel_mm, self.depth_mm, self.pixel_mm])

    def index_of(self, scanner_mm: np.ndarray) -> np.ndarray:
        """Scanner mm (..., 3) -> fractional grid index (..., 3) (row index is grid-relative)."""
        idx = np.asarray(scanner_mm, dtype=float) / self.spacing
        idx[..., 0] -= self.row0
        return idx

    def scanner_of(self, index: np.ndarray) -> np.ndarray:
        """Grid index (..., 3) -> scanner mm."""
        idx = np.array(index, dtype=float)
        idx[..., 0] += self.row0
        return idx * self.spacing

    def bbox(self, lo_mm: np.ndarray, hi_mm: np.ndarray) -> tuple[slice, slice, slice] | None:
        """Grid slices covering the scanner box [lo, hi] (None if outside)."""
        lo = np.floor(self.index_of(lo_mm)).astype(int)
        hi = np.ceil(self.index_of(hi_mm)).astype(int) + 1
        lo = np.maximum(lo, 0)
        hi = np.minimum(hi, np.array(self.shape))
        if np.any(hi <= lo):
            return None
        return (slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2]))

    def body_coords(
        self, sl: tuple[slice, slice, slice], placement: Placement
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Body (z, y, x) coordinates of the voxels in ``sl`` as broadcastable arrays."""
        r = (np.arange(sl[0].start, sl[0].stop) + self.row0)[:, None, None] * self.pixel_mm
        d = np.arange(sl[1].start, sl[1].stop)[None, :, None] * self.depth_mm
        c = np.arange(sl[2].start, sl[2].stop)[None, None, :] * self.pixel_mm
        return placement.to_body(r, d, c)


class Shape:
    """A solid in body coordinates that can rasterize itself on a grid."""

    def extent(self) -> tuple[np.ndarray, np.ndarray]:
        """Body-coordinate bounding box (lo, hi), each (z, y, x)."""
        raise NotImplementedError

    def inside(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Boolean: which body points are inside."""
        raise NotImplementedError

    def rasterize(
        self, grid: Grid, placement: Placement
    ) -> tuple[tuple[slice, slice, slice], np.ndarray] | None:
        """(grid slices, boolean mask within them), or None when off the grid."""
        lo, hi = self.extent()
        corners = np.array(
            [[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])]
        )
        sc = placement.to_scanner(corners)
        sl = grid.bbox(sc.min(axis=0), sc.max(axis=0))
        if sl is None:
            return None
        z, y, x = grid.body_coords(sl, placement)
        mask = self.inside(z, y, x)
        full = tuple(s.stop - s.start for s in sl)
        mask = np.broadcast_to(mask, full)
        if not mask.any():
            return None
        return sl, mask


@dataclass
class Ellipsoid(Shape):
    """Solid ellipsoid, optionally hollow (``shell`` = wall thickness in mm) and cut by planes.

    Parameters
    ----------
    centre : array of 3
        Body (z, y, x) centre, mm.
    axes : array of 3
        Semi-axes along the ellipsoid's own axes, mm.
    rot : ndarray of shape (3, 3), optional
        Columns are the ellipsoid's axes in body coordinates.
    shell : float, optional
        Wall thickness; 0 = solid.
    keep : list of (normal, offset)
        Keep only points with ``dot(p - centre, normal) <= offset``.
    """

    centre: np.ndarray
    axes: np.ndarray
    rot: np.ndarray = field(default_factory=lambda: np.eye(3))
    shell: float = 0.0
    keep: list[tuple[np.ndarray, float]] = field(default_factory=list)

    def extent(self) -> tuple[np.ndarray, np.ndarray]:
        half = np.sqrt(((np.asarray(self.rot) * np.asarray(self.axes)[None, :]) ** 2).sum(axis=1))
        c = np.asarray(self.centre, dtype=float)
        return c - half, c + half

    def inside(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        c = np.asarray(self.centre, dtype=float)
        d = (z - c[0], y - c[1], x - c[2])
        r = np.asarray(self.rot, dtype=float)
        a = np.asarray(self.axes, dtype=float)
        q = sum(((d[0] * r[0, j] + d[1] * r[1, j] + d[2] * r[2, j]) / a[j]) ** 2 for j in range(3))
        mask = q <= 1.0
        if self.shell > 0:
            ai = np.maximum(a - self.shell, 0.5)
            qi = sum(((d[0] * r[0, j] + d[1] * r[1, j] + d[2] * r[2, j]) / ai[j]) ** 2 for j in range(3))
            mask &= qi > 1.0
        for normal, offset in self.keep:
            n = np.asarray(normal, dtype=float)
            mask &= d[0] * n[0] + d[1] * n[1] + d[2] * n[2] <= offset
        return np.asarray(mask)


@dataclass
class Capsule(Shape):
    """A tapered capsule: segment ``a -> b`` with radius ``ra`` at ``a`` and ``rb`` at ``b``."""

    a: np.ndarray
    b: np.ndarray
    ra: float
    rb: float

    def extent(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = np.asarray(self.a, dtype=float), np.asarray(self.b, dtype=float)
        r = max(self.ra, self.rb)
        return np.minimum(a, b) - r, np.maximum(a, b) + r

    def inside(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        a, b = np.asarray(self.a, dtype=float), np.asarray(self.b, dtype=float)
        ab = b - a
        L2 = max(float(ab @ ab), 1e-9)
        pz, py, px = z - a[0], y - a[1], x - a[2]
        t = np.clip((pz * ab[0] + py * ab[1] + px * ab[2]) / L2, 0.0, 1.0)
        d2 = (pz - t * ab[0]) ** 2 + (py - t * ab[1]) ** 2 + (px - t * ab[2]) ** 2
        rad = self.ra + t * (self.rb - self.ra)
        return np.asarray(d2 <= rad**2)


@dataclass
class EllipticStack(Shape):
    """A trunk-like solid: elliptic cross-sections interpolated along ``z``.

    Parameters
    ----------
    z : array
        Increasing body ``z`` of the control sections.
    half_width, half_depth, centre_y, centre_x : array
        Section semi-axes and centre at each control ``z``.
    """

    z: np.ndarray
    half_width: np.ndarray
    half_depth: np.ndarray
    centre_y: np.ndarray
    centre_x: np.ndarray

    def extent(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.array(
            [self.z[0], np.min(self.centre_y - self.half_depth), np.min(self.centre_x - self.half_width)]
        )
        hi = np.array(
            [self.z[-1], np.max(self.centre_y + self.half_depth), np.max(self.centre_x + self.half_width)]
        )
        return lo, hi

    def inside(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        zz = np.clip(z, self.z[0], self.z[-1])
        hw = np.interp(zz, self.z, self.half_width)
        hd = np.interp(zz, self.z, self.half_depth)
        cy = np.interp(zz, self.z, self.centre_y)
        cx = np.interp(zz, self.z, self.centre_x)
        inside = ((x - cx) / hw) ** 2 + ((y - cy) / hd) ** 2 <= 1.0
        return np.asarray(inside & (z >= self.z[0]) & (z <= self.z[-1]))


@dataclass(frozen=True)
class Landmarks:
    """Body-plan levels and positions (mm, body coordinates) shared by skeleton and organs.

    ``z_*`` are levels from the vertex; ``trunk_depth`` is the chest depth; ``table_y`` is
    the posterior skin (the table top) of the trunk.
    """

    prop: Proportions
    z_chin: float
    z_shoulder: float
    z_hip: float
    z_crotch: float
    z_knee: float
    z_ankle: float
    z_sole: float
    trunk_len: float  # shoulder -> hip joint
    trunk_depth: float
    chest_half_width: float
    hip_half_width: float
    table_y: float
    head_centre: np.ndarray
    neck_half_width: float
    shoulder_joint: np.ndarray  # x is a magnitude: multiply by side (-1 right, +1 left)
    hip_joint: np.ndarray  # x is a magnitude, as above
    arm_radius: float
    thigh_radius: float
    belly: float  # extra anterior abdominal depth (infants' round belly)

    def level(self, frac: float) -> float:
        """Body ``z`` at a fraction of the shoulder -> hip-joint distance."""
        return self.z_shoulder + frac * self.trunk_len

    def trunk_section(self, z: float) -> tuple[float, float, float]:
        """(half_width, half_depth, centre_y) of the trunk's soft-tissue section at ``z``."""
        st = _trunk_stack(self)
        zz = float(np.clip(z, st.z[0], st.z[-1]))
        return (
            float(np.interp(zz, st.z, st.half_width)),
            float(np.interp(zz, st.z, st.half_depth)),
            float(np.interp(zz, st.z, st.centre_y)),
        )


def landmarks(prop: Proportions) -> Landmarks:
    """The body plan of a child with these proportions."""
    H = prop.stature
    age_t = float(np.clip((prop.age_years - 1.0) / 17.0, 0.0, 1.0))
    z_chin = prop.head_height
    neck = (0.03 + 0.022 * age_t) * H
    z_sh = z_chin + neck
    ankle_h = 0.04 * H
    z_sole = H
    z_ankle = H - ankle_h
    z_knee = z_ankle - prop.tibia
    z_hip = z_knee - prop.femur
    P = z_hip - z_sh
    D = prop.chest_depth
    W = prop.chest_breadth / 2
    hip_hw = prop.biiliac / 2 + (0.018 * H) * prop.girth
    table_y = D / 2
    head_c = np.array([0.5 * prop.head_height, table_y - prop.head_length / 2 - 0.004 * H, 0.0])
    sj = np.array([z_sh + 0.035 * P, 0.1 * D, 0.43 * prop.biacromial])
    hj = np.array([z_hip, 0.08 * D, 0.33 * prop.biiliac])
    belly = (0.10 * (1 - age_t) + 0.02) * D * prop.girth
    return Landmarks(
        prop=prop,
        z_chin=z_chin,
        z_shoulder=z_sh,
        z_hip=z_hip,
        z_crotch=z_hip + 0.12 * P,
        z_knee=z_knee,
        z_ankle=z_ankle,
        z_sole=z_sole,
        trunk_len=P,
        trunk_depth=D,
        chest_half_width=W,
        hip_half_width=hip_hw,
        table_y=table_y,
        head_centre=head_c,
        neck_half_width=0.32 * prop.head_breadth * prop.girth,
        shoulder_joint=sj,
        hip_joint=hj,
        arm_radius=0.024 * H * prop.girth,
        thigh_radius=0.05 * H * prop.girth * (1.0 - 0.1 * age_t),
        belly=belly,
    )


def _trunk_stack(lm: Landmarks) -> EllipticStack:
    p, P, D, W = lm.prop, lm.trunk_len, lm.trunk_depth, lm.chest_half_width
    sh_hw = p.biacromial / 2 + 0.012 * p.stature * p.girth
    z = np.array(
        [lm.z_shoulder - 0.05 * P, lm.z_shoulder + 0.04 * P, lm.level(0.3), lm.level(0.62), lm.level(0.85),
         lm.z_hip, lm.z_crotch]
    )
    hw = np.array([0.72 * sh_hw, sh_hw, W, 0.9 * W + 0.3 * lm.belly, lm.hip_half_width * 0.97,
                   lm.hip_half_width, 0.92 * lm.hip_half_width])
    hd = np.array([0.32 * D, 0.42 * D, 0.5 * D, 0.5 * D + 0.5 * lm.belly, 0.47 * D + 0.3 * lm.belly,
                   0.46 * D, 0.42 * D])
    cy = lm.table_y - hd
    return EllipticStack(z=z, half_width=hw, half_depth=hd, centre_y=cy, centre_x=np.zeros_like(z))


def soft_tissue_shapes(lm: Landmarks, arms: dict[str, list[Capsule]]) -> list[Shape]:
    """Head, neck, trunk, legs and feet (arms come from the skeleton's arm pose).

    Parameters
    ----------
    lm : Landmarks
    arms : dict
        ``{"right": [...], "left": [...]}`` soft-tissue capsules of the posed arms.
    """
    p = lm.prop
    H = p.stature
    hc = lm.head_centre
    shapes: list[Shape] = [
        Ellipsoid(hc, np.array([0.5 * p.head_height, p.head_length / 2, p.head_breadth / 2])),
        Capsule(
            np.array([lm.z_chin - 0.25 * p.head_height, hc[1] + 0.05 * p.head_length, 0.0]),
            np.array([lm.z_shoulder, lm.table_y - 0.3 * lm.trunk_depth, 0.0]),
            lm.neck_half_width,
            lm.neck_half_width * 1.1,
        ),
        _trunk_stack(lm),
    ]
    for side in (-1.0, 1.0):
        hip = lm.hip_joint * np.array([1, 1, side])
        r_th = lm.thigh_radius
        knee = np.array([lm.z_knee, lm.table_y - 0.035 * H, side * 0.28 * p.biiliac])
        ankle = np.array([lm.z_ankle, lm.table_y - 0.022 * H, side * 0.26 * p.biiliac])
        thigh_top = np.array([hip[0] - 0.01 * H, lm.table_y - r_th, side * (lm.hip_half_width - r_th * 0.95)])
        shapes.append(Capsule(thigh_top, knee, r_th, 0.034 * H * p.girth))
        calf = knee + 0.3 * (ankle - knee)
        shapes.append(Capsule(knee, calf, 0.034 * H * p.girth, 0.036 * H * p.girth))
        shapes.append(Capsule(calf, ankle, 0.036 * H * p.girth, 0.02 * H))
        heel, toe = _foot_axis(lm, side)
        shapes.append(Capsule(heel, toe, 0.024 * H, 0.02 * H))
    for side_shapes in arms.values():
        shapes.extend(side_shapes)
    return shapes


def _foot_axis(lm: Landmarks, side: float) -> tuple[np.ndarray, np.ndarray]:
    """Heel and toe points of a supine foot (toes up, slightly plantar-flexed and turned out)."""
    p, H = lm.prop, lm.prop.stature
    heel = np.array([lm.z_ankle + 0.3 * (lm.z_sole - lm.z_ankle), lm.table_y - 0.022 * H, side * 0.26 * p.biiliac])
    toe = heel + np.array([0.05 * H, -0.13 * H, side * 0.03 * H])
    return heel, toe

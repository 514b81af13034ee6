"""The labelled skeleton: every bone a set of solids, named as in ``data/segments.json``.

Each :class:`BonePart` carries the bone name (looked up in ``mibgkit.segments`` for its
SIOPEN and Curie segments), the side, a level (vertebra ``"T7"``, rib ``"R5"``, ...) so the
Curie spine split at L1 stays possible, and for long bones the proximal -> distal axis used
to place metaphyseal lesions and partial diffuse involvement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mibgkit.phantom.body import Capsule, Ellipsoid, Landmarks, Shape, _foot_axis, rotation
from mibgkit.segments import bone_to_siopen

__all__ = ["BonePart", "ArmPose", "Skeleton", "build_skeleton", "ARM_POSES", "VERTEBRAE"]

ARM_POSES = ("sides", "abducted", "raised", "on_abdomen")
VERTEBRAE = (
    [f"C{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)]
)


@dataclass
class BonePart:
    """One labelled piece of bone.

    Parameters
    ----------
    id : int
        Value in the part volume (1-255).
    bone : str
        Bone name from ``data/segments.json`` (e.g. ``"right_humerus"``, ``"thoracic_spine"``).
    side : str
        ``"right"``, ``"left"`` or ``"mid"``.
    level : str
        Finer label: vertebra (``"T7"``), rib (``"R5"``), ``""`` otherwise.
    axis : tuple of ndarray, optional
        Proximal and distal body points of a long bone.
    shapes : list of Shape
    """

    id: int
    bone: str
    side: str
    level: str = ""
    axis: tuple[np.ndarray, np.ndarray] | None = None
    shapes: list[Shape] = field(default_factory=list)

    @property
    def segment(self) -> str:
        """SIOPEN segment key of this bone."""
        return bone_to_siopen()[self.bone]


@dataclass
class ArmPose:
    """Joint positions of one arm (body coordinates, mm)."""

    shoulder: np.ndarray
    elbow: np.ndarray
    wrist: np.ndarray
    hand_tip: np.ndarray


@dataclass
class Skeleton:
    """All bone parts plus the posed arms' soft-tissue shapes."""

    parts: list[BonePart]
    arms: dict[str, ArmPose]
    arm_soft: dict[str, list[Capsule]]

    def part(self, pid: int) -> BonePart:
        """The part with this id."""
        return self.parts[pid - 1]

    def parts_of(self, bones: set[str] | list[str] | tuple[str, ...]) -> list[BonePart]:
        """Parts belonging to any of these bone names."""
        s = set(bones)
        return [p for p in self.parts if p.bone in s]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _arm_pose(lm: Landmarks, side: float, mode: str) -> ArmPose:
    """Shoulder, elbow, wrist and fingertip of one arm (side -1 right, +1 left)."""
    p, H = lm.prop, lm.prop.stature
    r = lm.arm_radius
    S = lm.shoulder_joint * np.array([1.0, 1.0, side])
    hand_len = 0.105 * H
    if mode == "raised":
        E = S + p.humerus * np.array([-np.cos(np.deg2rad(18)), 0.0, side * np.sin(np.deg2rad(18))])
        E[1] = lm.table_y - r
        Wr = E + p.radius * np.array([-np.cos(np.deg2rad(12)), 0.0, -side * np.sin(np.deg2rad(12))])
        Wr[1] = lm.table_y - 0.8 * r
        tip = Wr + hand_len * _unit(Wr - E)
        return ArmPose(S, E, Wr, tip)
    abd = {"sides": 7.0, "abducted": 28.0, "on_abdomen": 5.0}.get(mode, 7.0)
    a = np.deg2rad(abd)
    E = S + p.humerus * np.array([np.cos(a), 0.0, side * np.sin(a)])
    hw, _, _ = lm.trunk_section(float(E[0]))
    E[2] = side * max(abs(E[2]), hw + r + 3.0)
    E[1] = lm.table_y - r
    if mode == "on_abdomen":
        z_w = E[0] + 0.3 * p.radius
        hw_w, hd_w, cy_w = lm.trunk_section(z_w)
        target = np.array([z_w, cy_w - hd_w - 0.6 * r, side * 0.35 * hw_w])
        Wr = E + p.radius * _unit(target - E)
        d = _unit(Wr - E)
        tip = Wr + hand_len * _unit(d + np.array([0.4, 0.0, 0.0]))
        hw_t, hd_t, cy_t = lm.trunk_section(float(tip[0]))
        tip[1] = min(tip[1], cy_t - hd_t - 0.4 * r)
        return ArmPose(S, E, Wr, tip)
    b = a + np.deg2rad(4.0 if mode == "sides" else 6.0)
    Wr = E + p.radius * np.array([np.cos(b), 0.0, side * np.sin(b)])
    hw_w, _, _ = lm.trunk_section(float(Wr[0]))
    Wr[2] = side * max(abs(Wr[2]), hw_w + 0.8 * r + 3.0)
    Wr[1] = lm.table_y - 0.8 * r
    tip = Wr + hand_len * _unit(Wr - E)
    tip[1] = lm.table_y - 0.5 * r
    return ArmPose(S, E, Wr, tip)


class _Builder:
    def __init__(self) -> None:
        self.parts: list[BonePart] = []

    def add(
        self,
        bone: str,
        shapes: list[Shape],
        side: str = "mid",
        level: str = "",
        axis: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.parts.append(BonePart(len(self.parts) + 1, bone, side, level, axis, shapes))


def build_skeleton(lm: Landmarks, arms: str = "sides") -> Skeleton:
    """Build the labelled skeleton of a child.

    Parameters
    ----------
    lm : Landmarks
        Body plan (``mibgkit.phantom.body.landmarks``).
    arms : {"sides", "abducted", "raised", "on_abdomen"}

    Returns
    -------
    Skeleton
    """
    if arms not in ARM_POSES:
        raise ValueError(f"arms must be one of {ARM_POSES}, not {arms!r}")
    p = lm.prop
    H = p.stature
    mm = max  # readability: minimum sizes keep thin bones visible on a ~2.3 mm grid
    b = _Builder()
    _skull(b, lm)
    _spine(b, lm)
    _thorax(b, lm)
    _pelvis(b, lm)
    poses: dict[str, ArmPose] = {}
    soft: dict[str, list[Capsule]] = {}
    for side_name, side in (("right", -1.0), ("left", 1.0)):
        pose = _arm_pose(lm, side, arms)
        poses[side_name] = pose
        _arm_bones(b, lm, pose, side_name, side)
        _leg_bones(b, lm, side_name, side)
        r = lm.arm_radius
        hand_mid = pose.wrist + 0.45 * (pose.hand_tip - pose.wrist)
        soft[side_name] = [
            Capsule(pose.shoulder + np.array([0.0, 0.0, -side * 0.3 * r]), pose.elbow, 1.05 * r, 0.8 * r),
            Capsule(pose.elbow, pose.wrist, 0.8 * r, 0.55 * r),
            Capsule(pose.wrist, hand_mid, 0.6 * r, mm(0.45 * r, 0.012 * H)),
            Capsule(hand_mid, pose.hand_tip, mm(0.45 * r, 0.012 * H), 0.3 * r),
        ]
    return Skeleton(b.parts, poses, soft)


def _skull(b: _Builder, lm: Landmarks) -> None:
    p = lm.prop
    hh, L, B = p.head_height, p.head_length, p.head_breadth
    hc = lm.head_centre
    scalp = 0.025 * B
    thick = max(0.035 * B, 4.0)
    vault_axes = np.array([0.5 * hh - scalp, L / 2 - scalp, B / 2 - scalp])
    # vault: shell above a plane sloping from the orbital roofs (front) to the occiput (back)
    n = _unit(np.array([1.0, -0.35, 0.0]))
    b.add("skull_vault", [Ellipsoid(hc, vault_axes, shell=thick, keep=[(n, -0.02 * hh)])])
    b.add(
        "skull_base",
        [
            Ellipsoid(hc + np.array([0.1 * hh, 0.06 * L, 0.0]), np.array([0.05 * hh, 0.33 * L, 0.4 * B]),
                      rotation("x", -8)),
            Ellipsoid(hc + np.array([0.02 * hh, 0.33 * L, 0.0]), np.array([0.12 * hh, 0.1 * L, 0.22 * B]),
                      shell=thick),
        ],
    )
    orbit_r = 0.11 * B
    for side in (-1.0, 1.0):
        c = hc + np.array([-0.02 * hh, -0.36 * L, side * 0.2 * B])
        b.add("orbits", [Ellipsoid(c, np.array([orbit_r, 0.9 * orbit_r, orbit_r]), shell=max(3.0, 0.02 * B))],
              side="right" if side < 0 else "left")
    b.add(
        "facial_bones",
        [
            Ellipsoid(hc + np.array([0.17 * hh, -0.36 * L, 0.0]), np.array([0.12 * hh, 0.07 * L, 0.28 * B]),
                      shell=max(4.0, 0.03 * B)),
            Ellipsoid(hc + np.array([0.06 * hh, -0.2 * L, 0.0]), np.array([0.04 * hh, 0.2 * L, 0.45 * B]),
                      keep=[(np.array([0.0, 1.0, 0.0]), 0.05 * L)]),
        ],
    )
    r = max(0.035 * B, 3.0)
    pts = [np.array([hc[0] + 0.14 * hh, hc[1] + 0.02 * L, -0.4 * B]),
           np.array([hc[0] + 0.37 * hh, hc[1] - 0.02 * L, -0.33 * B]),
           np.array([hc[0] + 0.45 * hh, hc[1] - 0.25 * L, -0.22 * B]),
           np.array([hc[0] + 0.47 * hh, hc[1] - 0.41 * L, 0.0])]
    chain: list[Shape] = []
    for side in (-1.0, 1.0):
        q = [pt * np.array([1.0, 1.0, -side]) for pt in pts]
        chain += [Capsule(q[i], q[i + 1], r, r) for i in range(3)]
    b.add("mandible", chain)


def _spine_y(lm: Landmarks, z: float) -> float:
    """Body ``y`` of the vertebral body centre at level ``z``."""
    D, hc = lm.trunk_depth, lm.head_centre
    z_c1 = hc[0] + 0.12 * lm.prop.head_height
    y_c1 = hc[1] + 0.12 * lm.prop.head_length
    y_t1 = lm.table_y - 0.33 * D
    if z <= lm.z_shoulder:
        f = (z - z_c1) / max(lm.z_shoulder - z_c1, 1.0)
        return float(y_c1 + f * (y_t1 - y_c1))
    # gentle kyphosis / lordosis: deepest at mid-lumbar
    f = (z - lm.z_shoulder) / lm.trunk_len
    return float(lm.table_y - (0.3 + 0.08 * np.sin(np.pi * np.clip((f - 0.45) / 0.4, 0, 1))) * D
                 + 0.04 * D * np.sin(np.pi * np.clip(f / 0.45, 0, 1)))


def _spine(b: _Builder, lm: Landmarks) -> None:
    p, H = lm.prop, lm.prop.stature
    z_c1 = lm.head_centre[0] + 0.12 * p.head_height
    bounds = {
        "cervical_spine": (z_c1, lm.z_shoulder - 0.01 * lm.trunk_len, 7, "C", 0.0075),
        "thoracic_spine": (lm.z_shoulder - 0.01 * lm.trunk_len, lm.level(0.50), 12, "T", 0.0095),
        "lumbar_spine": (lm.level(0.50), lm.level(0.79), 5, "L", 0.0125),
    }
    for bone, (z0, z1, n, letter, wfrac) in bounds.items():
        h = (z1 - z0) / n
        for i in range(n):
            zc = z0 + (i + 0.5) * h
            yc = _spine_y(lm, zc)
            w = wfrac * H * (1.0 + 0.15 * i / max(n - 1, 1))
            body = Ellipsoid(np.array([zc, yc, 0.0]), np.array([0.4 * h, 0.75 * w, w]))
            arch = Capsule(np.array([zc, yc + 0.8 * w, 0.0]), np.array([zc + 0.25 * h, yc + 2.4 * w, 0.0]),
                           max(0.3 * w, 2.5), max(0.25 * w, 2.5))
            lam = Ellipsoid(np.array([zc, yc + 1.3 * w, 0.0]), np.array([0.35 * h, 0.35 * w, 1.3 * w]))
            b.add(bone, [body, arch, lam], level=f"{letter}{i + 1}")
    z_s0, z_s1 = lm.level(0.79), lm.level(1.0)
    ys0, ys1 = _spine_y(lm, z_s0), lm.table_y - 0.17 * lm.trunk_depth
    sac_w = 0.16 * p.biiliac
    sac = Ellipsoid(np.array([(z_s0 + z_s1) / 2, (ys0 + ys1) / 2, 0.0]),
                    np.array([(z_s1 - z_s0) / 2, max(0.008 * H, 4.0), sac_w]), rotation("x", -25))
    sac.keep = [(_unit(np.array([0.35, 0.0, 1.0])), 0.55 * sac_w), (_unit(np.array([0.35, 0.0, -1.0])), 0.55 * sac_w)]
    b.add("sacrum", [sac], level="S")
    b.add("coccyx", [Capsule(np.array([z_s1, ys1 + 3.0, 0.0]), np.array([z_s1 + 0.05 * lm.trunk_len, ys1 - 2.0, 0.0]),
                             max(0.004 * H, 2.5), max(0.0025 * H, 2.0))], level="Co")


def _thorax(b: _Builder, lm: Landmarks) -> None:
    p, H, D, W = lm.prop, lm.prop.stature, lm.trunk_depth, lm.chest_half_width
    t0, t1 = lm.z_shoulder - 0.01 * lm.trunk_len, lm.level(0.50)
    h = (t1 - t0) / 12
    r_rib = max(0.003 * H, 2.6)
    for k in range(1, 13):
        z_att = t0 + (k - 0.5) * h
        y_sp = _spine_y(lm, z_att)
        shape_f = 0.55 + 0.4 * np.sin(0.5 * np.pi * min(k / 6.5, 1.0)) - 0.02 * max(k - 9, 0)
        ax = shape_f * W * 0.9
        _, hd, cy = lm.trunk_section(z_att + 2 * h)
        ay = 0.85 * hd
        phi_end = {11: 95.0, 12: 80.0}.get(k, 160.0 if k <= 7 else 150.0 - 8 * (k - 8))
        drop = (1.0 + 0.25 * min(k, 8)) * h
        phis = np.deg2rad(np.linspace(18.0, phi_end, 9))
        for side, name in ((-1.0, "right"), (1.0, "left")):
            pts = [np.array([z_att + drop * (1 - np.cos(ph)) / 2 * (1 if k > 1 else 0.6),
                             min(cy + ay * np.cos(ph), y_sp + 0.02 * D + 0.02 * D * (k < 3)),
                             side * ax * np.sin(ph)]) for ph in phis]
            start = np.array([z_att, y_sp + 0.02 * D, side * 0.6 * 0.0095 * H])
            chain = [Capsule(start, pts[0], r_rib, r_rib)]
            chain += [Capsule(pts[i], pts[i + 1], r_rib, r_rib) for i in range(len(pts) - 1)]
            b.add("ribs", list(chain), side=name, level=f"R{k}")
    # sternum: manubrium + body just under the anterior skin
    z0, z1 = lm.z_shoulder + 0.02 * lm.trunk_len, lm.level(0.36)
    zc = (z0 + z1) / 2
    _, hd, cy = lm.trunk_section(zc)
    b.add("sternum", [Ellipsoid(np.array([zc, cy - hd + 0.06 * D, 0.0]),
                                np.array([(z1 - z0) / 2, max(0.02 * D, 3.0), max(0.012 * H, 4.0)]))])
    # clavicles: sternal end -> acromion, bowed forward
    r_cl = max(0.0045 * H, 3.0)
    _, hd0, cy0 = lm.trunk_section(lm.z_shoulder)
    for side, name in ((-1.0, "right"), (1.0, "left")):
        s0 = np.array([lm.z_shoulder + 0.01 * lm.trunk_len, cy0 - hd0 + 0.1 * D, side * 0.025 * H])
        s1 = np.array([lm.z_shoulder - 0.005 * lm.trunk_len, cy0 - hd0 + 0.06 * D, side * 0.25 * p.biacromial])
        s2 = np.array([lm.z_shoulder - 0.02 * lm.trunk_len, lm.shoulder_joint[1] - 0.05 * D, side * 0.47 * p.biacromial])
        b.add("clavicles", [Capsule(s0, s1, r_cl, r_cl), Capsule(s1, s2, r_cl, r_cl * 0.9)], side=name)
        # scapula: thin plate over the upper posterior ribs, plus spine/acromion to the shoulder
        sc = np.array([lm.level(0.17), lm.table_y - 0.13 * D, side * 0.29 * p.biacromial])
        rot = rotation("x", side * 0.0) @ rotation("z", -side * 35.0)
        plate = Ellipsoid(sc, np.array([0.045 * H * (0.5 + 0.5 * p.biacromial / 380), max(0.005 * H, 3.0),
                                        0.028 * H]), rot)
        acro = Capsule(sc + np.array([-0.025 * H, 0.0, side * 0.005 * H]),
                       lm.shoulder_joint * np.array([1.0, 1.0, side]) + np.array([-0.006 * H, 0.01 * H, side * 0.004 * H]),
                       max(0.004 * H, 3.0), max(0.006 * H, 3.0))
        b.add("scapulae", [plate, acro], side=name)


def _pelvis(b: _Builder, lm: Landmarks) -> None:
    p, H, D, P = lm.prop, lm.prop.stature, lm.trunk_depth, lm.trunk_len
    thick = max(0.006 * H, 3.0)
    for side, name in ((-1.0, "right"), (1.0, "left")):
        hj = lm.hip_joint * np.array([1.0, 1.0, side])
        wing_c = np.array([lm.level(0.86), lm.table_y - 0.3 * D, side * 0.3 * p.biiliac])
        rot = rotation("z", side * 40.0)
        wing = Ellipsoid(wing_c, np.array([0.12 * P, thick, 0.25 * p.biiliac]), rot)
        body = Capsule(wing_c + np.array([0.05 * P, 0.0, side * 0.02 * p.biiliac]), hj + np.array([-0.01 * H, 0.0, 0.0]),
                       max(0.01 * H, 4.0), max(0.013 * H, 4.0))
        cup = Ellipsoid(hj, np.full(3, 0.019 * H), shell=max(0.006 * H, 3.0),
                        keep=[(np.array([0.0, 0.0, side]), 0.004 * H)])
        b.add("ilium", [wing, body, cup], side=name)
        tub = np.array([lm.z_hip + 0.1 * P, lm.table_y - 0.2 * D, side * 0.2 * p.biiliac])
        sym = np.array([lm.z_hip + 0.03 * P, lm.table_y - 0.85 * D, side * 0.012 * H])
        mid_inf = (tub + sym) / 2 + np.array([0.02 * P, 0.0, 0.0])
        r = max(0.0065 * H, 3.0)
        b.add("ischium", [Capsule(hj + np.array([0.01 * H, 0.01 * H, -side * 0.005 * H]), tub, 1.2 * r, 1.3 * r),
                          Capsule(tub, mid_inf, r, r)], side=name)
        sup = hj + np.array([0.0, -0.02 * H, -side * 0.01 * H])
        b.add("pubis", [Capsule(sup, sym, r, r), Capsule(sym, mid_inf, r, r),
                        Ellipsoid(sym, np.array([0.015 * H, 0.006 * H, 0.006 * H]))], side=name)


def _arm_bones(b: _Builder, lm: Landmarks, pose: ArmPose, name: str, side: float) -> None:
    H = lm.prop.stature
    S, E, Wr, tip = pose.shoulder, pose.elbow, pose.wrist, pose.hand_tip
    d = _unit(E - S)
    b.add(f"{name}_humerus",
          [Ellipsoid(S, np.full(3, 0.012 * H)),
           Capsule(S + 0.08 * (E - S), E - 0.06 * (E - S), max(0.0075 * H, 3.2), max(0.0065 * H, 3.0)),
           Ellipsoid(E - 0.03 * (E - S), np.array([0.009 * H, 0.008 * H, 0.016 * H]),
                     _frame(d))],
          side=name, axis=(S.copy(), E.copy()))
    f = _unit(Wr - E)
    lat = _unit(np.cross(f, np.array([0.0, 1.0, 0.0]))) * (1 if side > 0 else -1)
    off = 0.006 * H * lat
    r = max(0.0042 * H, 2.6)
    b.add(f"{name}_radius", [Capsule(E + off + 0.04 * (Wr - E), Wr + 1.3 * off, r * 0.9, r * 1.3)],
          side=name, axis=(E.copy(), Wr.copy()))
    b.add(f"{name}_ulna", [Capsule(E - off, Wr - 0.6 * off, r * 1.2, r * 0.8)], side=name, axis=(E.copy(), Wr.copy()))
    hd = _unit(tip - Wr)
    hl = float(np.linalg.norm(tip - Wr))
    carp = Wr + 0.1 * hl * hd
    shapes: list[Shape] = [Ellipsoid(carp, np.array([0.06 * hl, max(0.04 * hl, 3.0), 0.16 * hl]), _frame(hd))]
    side_v = _unit(np.cross(hd, np.array([0.0, 1.0, 0.0])))
    rf = max(0.018 * hl, 2.4)
    for j, s in enumerate((-0.11, -0.04, 0.03, 0.1)):
        base = carp + 0.08 * hl * hd + s * hl * side_v
        length = (0.85 + 0.1 * (j in (1, 2))) * hl
        shapes.append(Capsule(base, carp + length * hd + 1.3 * s * hl * side_v, rf * 1.3, rf))
    thumb_dir = _unit(hd + 1.2 * side_v * (1 if side > 0 else -1) * -1.0)
    tb = carp + 0.14 * hl * side_v * (-1 if side > 0 else 1)
    shapes.append(Capsule(tb, tb + 0.45 * hl * thumb_dir, rf * 1.3, rf))
    b.add(f"{name}_hand", shapes, side=name, axis=(Wr.copy(), tip.copy()))


def _frame(d: np.ndarray) -> np.ndarray:
    """Rotation whose first column is ``d`` (a long axis), for ellipsoids along a bone."""
    d = _unit(d)
    ref = np.array([0.0, 1.0, 0.0]) if abs(d[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = _unit(np.cross(d, ref))
    v = np.cross(d, u)
    return np.stack([d, v, u], axis=1)


def _leg_bones(b: _Builder, lm: Landmarks, name: str, side: float) -> None:
    p, H = lm.prop, lm.prop.stature
    hj = lm.hip_joint * np.array([1.0, 1.0, side])
    knee = np.array([lm.z_knee, lm.table_y - 0.035 * H, side * 0.28 * p.biiliac])
    ankle = np.array([lm.z_ankle, lm.table_y - 0.022 * H, side * 0.26 * p.biiliac])
    troch = hj + np.array([0.02 * H, 0.0, side * 0.028 * H])
    shaft_r = max(0.0085 * H, 3.5)
    b.add(f"{name}_femur",
          [Ellipsoid(hj, np.full(3, 0.0125 * H)),
           Capsule(hj, troch, 0.008 * H, 0.009 * H),
           Ellipsoid(troch + np.array([-0.004 * H, 0.0, 0.002 * H * side]), np.array([0.012 * H, 0.01 * H, 0.009 * H])),
           Capsule(troch, knee - np.array([0.02 * H, 0.0, 0.0]), shaft_r * 1.05, shaft_r * 1.1),
           Ellipsoid(knee - np.array([0.012 * H, 0.0, 0.0]), np.array([0.016 * H, 0.022 * H, 0.024 * H]))],
          side=name, axis=(hj.copy(), knee.copy()))
    b.add(f"{name}_patella",
          [Ellipsoid(knee + np.array([-0.008 * H, -0.026 * H, 0.0]), np.array([0.011 * H, 0.005 * H, 0.01 * H]))],
          side=name)
    tib_top = knee + np.array([0.013 * H, 0.0, -side * 0.002 * H])
    b.add(f"{name}_tibia",
          [Ellipsoid(tib_top, np.array([0.011 * H, 0.019 * H, 0.022 * H])),
           Capsule(tib_top, ankle, max(0.0075 * H, 3.2), max(0.0065 * H, 3.0)),
           Ellipsoid(ankle - np.array([0.004 * H, 0.0, side * 0.002 * H]), np.array([0.007 * H, 0.011 * H, 0.012 * H]))],
          side=name, axis=(knee.copy(), ankle.copy()))
    fib_off = np.array([0.0, 0.008 * H, side * 0.016 * H])
    b.add(f"{name}_fibula",
          [Capsule(tib_top + fib_off + np.array([0.012 * H, 0.0, 0.0]), ankle + fib_off * 1.1,
                   max(0.0035 * H, 2.5), max(0.004 * H, 2.5))],
          side=name, axis=(knee.copy(), ankle.copy()))
    heel, toe = _foot_axis(lm, side)
    heel_b = heel + np.array([0.0, -0.004 * H, 0.0])
    mid = heel_b + 0.45 * (toe - heel_b)
    fr = max(0.011 * H, 3.5)
    foot: list[Shape] = [Capsule(ankle, heel_b, 0.01 * H, fr), Capsule(heel_b, mid, fr, fr)]
    side_v = np.array([0.0, 0.0, 1.0])
    for s in (-0.025, -0.008, 0.008, 0.025):
        foot.append(Capsule(mid + s * H * side_v, toe - np.array([0.0, -0.01 * H, 0.0]) + 1.2 * s * H * side_v,
                            max(0.004 * H, 2.4), max(0.0032 * H, 2.2)))
    b.add(f"{name}_foot", foot, side=name, axis=(ankle.copy(), toe.copy()))

"""Warp the atlas onto the landmarks of one image.

Head, neck, trunk and pelvis live in one normalized *body frame* ``(s, u)``:

- ``s`` runs through the vertical landmarks: 0 at the vertex, 1 at the chin, 2 at the
  shoulder line (acromion level; ``BodyFit.rows["trunk_shoulder"]`` when present), 3 at
  the hip-joint level (``BodyFit.rows["trunk_hip"]`` when present), 4 at the knees; it is
  linear in image rows between two landmarks. The trunk levels come from the body-axis
  profile registration of :mod:`mibgkit.anatomy.levels`.
- ``u`` is the lateral position in local half-widths: the head outline's above the
  chin; at the shoulders (``s`` = 2) and from the hips (``s`` = 3) down the
  age-proportioned shoulder and hip half-widths of the measured stature (the skeleton
  does not follow the soft tissue's girth); negative towards the patient's right, measured from the head axis (so a
  tilted head is followed) blending into the trunk midline down the neck.

The map from ``(s, u)`` to image ``(row, col)`` is a piecewise-affine transform on a
grid of control points placed on the landmarks (Delaunay triangles, one affine map per
triangle - the model of :class:`skimage.transform.PiecewiseAffineTransform`, computed
in closed form with barycentric coordinates so it costs milliseconds).

Limbs are placed along the detected limb axes instead (an articulated model), because
arms and legs rotate about their joints rather than stretch with the trunk.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay

from mibgkit.anatomy.landmarks import BodyFit

__all__ = ["PiecewiseAffine", "BodyFrame", "limb_frame_to_image", "capsule_polygon", "S_KNOTS", "STATURE_LATERAL"]

#: Landmarks that define the body-frame ``s`` levels.
S_KNOTS = ("head_top", "chin", "shoulder", "hip", "knee")
_S_GRID = (-0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.25, 2.5, 2.75, 3.0, 3.5, 4.0, 5.0)
_U_GRID = (-6.0, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 6.0)
#: Lateral unit of the atlas regions stored in the *stature* lateral frame (the vertebral
#: column: ``Region.lateral == "stature"``), as a fraction of the measured length. The
#: vertebrae's width is a fixed share of stature at every age, while the body frame's
#: lateral unit (the age-proportioned shoulder half-width, 0.135 of stature at 1 y, 0.115
#: from 10 y) follows the shoulder girdle; 0.115 makes both units equal from 10 y on.
STATURE_LATERAL = 0.115


class PiecewiseAffine:
    """Piecewise-affine map between two point sets (Delaunay triangles of ``src``).

    Parameters
    ----------
    src, dst : ndarray of shape (n, 2)
        Matching control points. Points outside the convex hull of ``src`` use the
        affine map of the nearest triangle (by centroid).
    """

    def __init__(self, src: np.ndarray, dst: np.ndarray) -> None:
        self.src = np.asarray(src, dtype=float)
        self.dst = np.asarray(dst, dtype=float)
        self.tri = Delaunay(self.src)
        self._centroids = self.src[self.tri.simplices].mean(axis=1)

    def __call__(self, pts: np.ndarray) -> np.ndarray:
        """Map points of shape (m, 2); returns shape (m, 2)."""
        pts = np.asarray(pts, dtype=float).reshape(-1, 2)
        simplex = np.asarray(self.tri.find_simplex(pts))
        out_hull = simplex < 0
        if out_hull.any():
            from scipy.spatial import cKDTree

            simplex[out_hull] = cKDTree(self._centroids).query(pts[out_hull])[1]
        T = self.tri.transform[simplex]  # (m, 3, 2): affine to barycentric
        b2 = np.einsum("mij,mj->mi", T[:, :2, :], pts - T[:, 2, :])
        bary = np.concatenate([b2, 1.0 - b2.sum(axis=1, keepdims=True)], axis=1)
        verts = self.dst[self.tri.simplices[simplex]]  # (m, 3, 2)
        return np.einsum("mi,mij->mj", bary, verts)


class BodyFrame:
    """The body frame ``(s, u)`` of one fitted image and its warps both ways.

    Parameters
    ----------
    fit : BodyFit
        Landmarks of the image.
    """

    def __init__(self, fit: BodyFit) -> None:
        self.fit = fit
        # the trunk is registered on its own shoulder and hip levels (``trunk_shoulder``,
        # ``trunk_hip``: :mod:`mibgkit.anatomy.levels`) when the fit has them
        knots = np.array([fit.rows.get(f"trunk_{k}", fit.rows[k]) if k in ("chin", "shoulder", "hip") else fit.rows[k]
                          for k in S_KNOTS], dtype=float)
        # keep the knots strictly increasing even when a landmark was extrapolated badly
        for i in range(1, knots.size):
            knots[i] = max(knots[i], knots[i - 1] + 1.0)
        self.knots = knots
        src, dst = [], []
        for s in _S_GRID:
            r = self.row_of(s)
            c0, hw = self._centre(r, s), self._half_width(s)
            for u in _U_GRID:
                src.append((s, u))
                dst.append((r, c0 + u * hw))
        self._s = np.asarray(_S_GRID)
        self._u = np.asarray(_U_GRID)
        self._dst = np.asarray(dst, dtype=float).reshape(self._s.size, self._u.size, 2)
        self._src = np.asarray(src, dtype=float)
        self._inverse: PiecewiseAffine | None = None

    def row_of(self, s: float) -> float:
        """Image row of a body-frame level ``s`` (linear between and beyond the knots)."""
        k = self.knots
        if s <= 0:
            return float(k[0] + s * (k[1] - k[0]))
        if s >= len(k) - 1:
            return float(k[-1] + (s - (len(k) - 1)) * (k[-1] - k[-2]))
        i = int(np.floor(s))
        return float(k[i] + (s - i) * (k[i + 1] - k[i]))

    def _centre(self, row: float, s: float) -> float:
        a, b = self.fit.head_axis
        head = a + b * row
        tm = self.fit.trunk_midline
        trunk = tm[0] + tm[1] * row if tm is not None else self.fit.mid_col(row)
        w = float(np.clip(s - 1.0, 0.0, 1.0))  # blend from head axis to midline down the neck
        return (1 - w) * head + w * trunk

    def _half_width(self, s: float) -> float:
        # the head follows the outline (the scalp hugs the skull); from the shoulders down
        # the skeleton's width is the age proportion of the measured stature: the shoulder
        # girdle and the pelvis do not follow the soft tissue's girth, and abducted or
        # raised arms widen the outline at the shoulders (hips, seeds 0-49: pelvis Dice
        # +0.013; shoulders, atlas on seeds 0-49, fresh tuning seeds 50-89: thoracic cage
        # +0.007, lesion centres unchanged - the humeri are painted over the trunk)
        fit = self.fit
        head = fit.half_width["head"]
        sh = 0.5 * fit.props.shoulder_width * fit.stature_px
        hip = 0.5 * fit.props.hip_width * fit.stature_px
        return float(np.interp(s, [0.0, 1.0, 2.0, 3.0], [head, head, sh, hip]))

    def from_stature_lateral(self, su: np.ndarray) -> np.ndarray:
        """Points ``(s, u')`` of the stature lateral frame -> body frame ``(s, u)``.

        ``u'`` is the distance from the trunk axis in units of :data:`STATURE_LATERAL`
        times the measured length; ``u = u' * STATURE_LATERAL * length / half_width(s)``.
        """
        su = np.array(su, dtype=float).reshape(-1, 2)
        hw = np.interp(su[:, 0], [0.0, 1.0, 2.0, 3.0], [self._half_width(k) for k in (0.0, 1.0, 2.0, 3.0)])
        su[:, 1] *= STATURE_LATERAL * self.fit.stature_px / hw
        return su

    def to_image(self, su: np.ndarray) -> np.ndarray:
        """Body-frame points (m, 2) -> image (row, col).

        The control points form a rectilinear grid in ``(s, u)``, so the triangle of a
        point is found by two binary searches (each grid cell split along its
        anti-diagonal) instead of a Delaunay walk; points beyond the grid use the
        affine map of the outermost triangle.
        """
        su = np.asarray(su, dtype=float).reshape(-1, 2)
        S, U, P = self._s, self._u, self._dst
        i = np.clip(np.searchsorted(S, su[:, 0]) - 1, 0, S.size - 2)
        j = np.clip(np.searchsorted(U, su[:, 1]) - 1, 0, U.size - 2)
        a = (su[:, 0] - S[i]) / (S[i + 1] - S[i])
        b = (su[:, 1] - U[j]) / (U[j + 1] - U[j])
        p00, p10, p01, p11 = P[i, j], P[i + 1, j], P[i, j + 1], P[i + 1, j + 1]
        lower = (a + b <= 1.0)[:, None]
        low = p00 + a[:, None] * (p10 - p00) + b[:, None] * (p01 - p00)
        up = p11 + (1.0 - a)[:, None] * (p01 - p11) + (1.0 - b)[:, None] * (p10 - p11)
        return np.where(lower, low, up)

    def to_body(self, rc: np.ndarray) -> np.ndarray:
        """Image points (m, 2) -> body frame (s, u) (Delaunay piecewise-affine inverse)."""
        if self._inverse is None:
            self._inverse = PiecewiseAffine(self._dst.reshape(-1, 2), self._src)
        return self._inverse(rc)


def limb_frame_to_image(points: np.ndarray, joints: list[tuple[float, float]], seg: int, stature_px: float) -> np.ndarray:
    """Limb-frame ``(t, w)`` points -> image (row, col).

    Parameters
    ----------
    points : ndarray of shape (m, 2)
        ``t`` along the limb segment from joint ``seg`` (0) to joint ``seg + 1`` (1);
        ``w`` across it in fractions of stature, positive to the patient's left when
        the limb points feet-wards (the frame turns with the limb).
    joints : list of (row, col)
    seg : int
        Index of the proximal joint of the segment.
    stature_px : float
    """
    a = np.asarray(joints[seg], dtype=float)
    b = np.asarray(joints[seg + 1], dtype=float)
    axis = b - a
    n = float(np.linalg.norm(axis))
    if n < 1e-6:
        axis, n = np.array([1.0, 0.0]), 1.0
    unit = axis / n
    normal = np.array([-unit[1], unit[0]])
    t, w = points[:, 0], points[:, 1]
    return a[None, :] + t[:, None] * axis[None, :] + (w * stature_px)[:, None] * normal[None, :]


def capsule_polygon(a: np.ndarray, b: np.ndarray, ra: float, rb: float, n_arc: int = 8) -> np.ndarray:
    """Polygon (row, col) of a tapered 2-D capsule from ``a`` (radius ``ra``) to ``b`` (``rb``)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    d = b - a
    ln = float(np.linalg.norm(d))
    if ln < 1e-9:
        d, ln = np.array([1.0, 0.0]), 1.0
    ang0 = np.arctan2(d[0], d[1])
    arc = np.linspace(-np.pi / 2, np.pi / 2, n_arc)
    cap_b = b + rb * np.stack([np.sin(ang0 + arc), np.cos(ang0 + arc)], axis=1)
    cap_a = a + ra * np.stack([np.sin(ang0 + np.pi + arc), np.cos(ang0 + np.pi + arc)], axis=1)
    return np.concatenate([cap_b, cap_a], axis=0)

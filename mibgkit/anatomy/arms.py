"""Arm axis on images with a penetration halo: the arm as a crest of the counts.

On a medium-energy image the arm axis is read from the outer edge of the arm band
(:func:`mibgkit.anatomy.landmarks._edge_axis`: where the counts fall to a share of the
band's level, then a fixed inset). With a low-energy collimator the 123I penetration
halo spreads several centimetres beyond the arm, even after
:mod:`mibgkit.anatomy.halo` has raised the outline threshold beside the hot trunk, and
that edge is read in the halo: arms at the sides came out abducted by 20-30 degrees.
Where a count dip separates the arm from the trunk, the arm is a crest of the counts
across the row whatever the halo: its top is the arm's axis (no inset needed).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CREST_DIP", "CREST_HALF_WINDOW", "CREST_LATERAL", "CREST_MIN_SHARE", "CREST_SPAN", "crest_col"]

#: Medial of the crest the counts must dip to this share of it (the gap to the trunk or
#: the air beyond an abducted arm) before rising again.
CREST_DIP = 0.85
#: The crest is the largest value within this distance either side (share of stature:
#: about an arm's radius), so noise in the halo is not taken for the arm.
CREST_HALF_WINDOW = 0.015
#: The arm's axis lies lateral of this share of the age-proportioned half shoulder width
#: from the midline (the shoulder joint is at 0.755 of it, the arm hangs outward from
#: there); crests nearer the midline are the trunk's (organ borders).
CREST_LATERAL = 0.7
#: A crest below this share of the highest counts of the searched row is halo (the
#: spokes of a hexagonal-hole collimator's penetration star), not an arm.
CREST_MIN_SHARE = 0.15
#: How far medially of the outline edge the crest is looked for (share of stature).
CREST_SPAN = 0.12


def outer_edge(mask: np.ndarray, row: int, sign: float, mid: float, field: tuple[int, int]) -> int | None:
    """Outermost body column of ``row`` on the ``sign`` side of ``mid``, or None.

    None when the row is outside the image, holds no body on that side, or the edge lies
    within 2 px of the field edge (the arm is cut by the field of view there).
    """
    if not 0 <= row < mask.shape[0]:
        return None
    run = np.flatnonzero(mask[row])
    run = run[(run - mid) * sign > 0]
    if run.size == 0:
        return None
    edge = int(run.max() if sign > 0 else run.min())
    if edge <= field[0] + 2 or edge >= field[1] - 2:
        return None
    return edge


def crest_col(
    smoothed: np.ndarray, mask: np.ndarray, r: float, sign: float, mid: float, stature_px: float,
    field: tuple[int, int], min_off: float = 0.0,
) -> float | None:
    """Column of the arm's crest on row ``r`` on one side of the midline, or None.

    Parameters
    ----------
    smoothed : ndarray of shape (rows, cols)
        Smoothed counts of the outline (``BodyOutline.smoothed``).
    mask : ndarray of shape (rows, cols), bool
        Body outline.
    r : float
        Row.
    sign : float
        -1 for the patient's right (low columns), +1 for the left.
    mid : float
        Trunk midline column at ``r``.
    stature_px : float
        Stature in pixels.
    field : tuple of int
        First and last column of the scanned field.
    min_off : float
        Least distance of the crest from ``mid`` (px).

    Returns
    -------
    float or None
        The outermost crest (largest within :data:`CREST_HALF_WINDOW` either side, then
        a dip to :data:`CREST_DIP` of it medially), refined to sub-pixel by a parabola;
        None when the row holds none (arm lying against the trunk), is outside the
        image, or the arm is cut by the field edge.
    """
    ri = int(round(r))
    ncol = mask.shape[1]
    edge = outer_edge(mask, ri, sign, mid, field)
    if edge is None:
        return None
    cols = edge - sign * np.arange(int(CREST_SPAN * stature_px) + 1)
    cols = cols[(cols >= 0) & (cols < ncol) & ((cols - mid) * sign >= min_off)].astype(int)
    p = smoothed[ri, cols]
    w = max(2, int(round(CREST_HALF_WINDOW * stature_px)))
    if p.size < 2 * w + 3:
        return None
    floor = CREST_MIN_SHARE * float(p.max())
    for i in range(1, p.size - 1):
        lo, hi = max(i - w, 0), min(i + w + 1, p.size)
        if p[i] < p[lo:hi].max() or p[i] <= floor:
            continue
        after = p[i + 1 :]
        above = np.flatnonzero(after > p[i])
        stop = int(above[0]) if above.size else after.size
        if stop == 0 or float(after[:stop].min()) > CREST_DIP * p[i]:
            continue
        den = p[i - 1] - 2.0 * p[i] + p[i + 1]
        off = float(np.clip(0.5 * (p[i - 1] - p[i + 1]) / den, -0.5, 0.5)) if den < 0 else 0.0
        return float(cols[i] - sign * off)
    return None

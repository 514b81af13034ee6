"""The vertex (head top) checked against the registered trunk levels.

The landmark fit takes the vertex from the top of the body outline, which is set just
above the air (:func:`mibgkit.anatomy.landmarks.body_outline`). With the arms raised the
scatter between the hands fills the air above the head and lifts that outline: on the
tuning phantoms (seeds 0-199) the outline's top lies 3.2 px above the phantom's vertex
(median, sd 3.1 px), but 13-22 px above it in 6 of the 49 raised-arm cases. The vertex
sets the measured stature, hence the proportion priors of every level, the skull region
and the arm lengths; the trunk registration (:mod:`mibgkit.anatomy.levels`) searches only
+-12 px around its prior.

The registered shoulder line and hip joints do not depend on the outline's top once
found, and with the age proportions they imply a vertex: the trunk's length
(hip - shoulder) is ``(f_hip - f_shoulder)`` of the stature, so the vertex lies
``f_shoulder / (f_hip - f_shoulder)`` trunk lengths above the shoulder line
(:func:`levels_vertex`). On the tuning seeds 0-199 the outline's top sits
:data:`VERTEX_OFFSET` of stature below that point (median; robust sd ~0.3 % of stature).
When it lies more than :data:`VERTEX_GATE` of stature above it *and* the rows between
the two hold almost no counts on the head's axis (:data:`SCATTER_SHARE` of the head's own
level: air and scatter, not a scalp), the outline's top is taken for scatter and the
implied vertex is used (:func:`corrected_head_top`); :func:`mibgkit.anatomy.planar.fit_image`
then fits the landmarks again from it.

Real patients' proportions vary more than the phantom's (an exact function of age), so
the gate is wide (3 robust sd) and the correction needs the empty rows as well: a head
that is really there shows its scalp's counts between the two rows.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from mibgkit.anatomy.landmarks import BodyFit, BodyOutline, _calibration, fit_body
from mibgkit.anatomy.levels import SEARCH_PX, refine_trunk

__all__ = ["VERTEX_OFFSET", "VERTEX_GATE", "SCATTER_SHARE", "levels_vertex", "corrected_head_top", "refit_vertex"]

#: The trunk levels are registered again when the corrected vertex moves their shoulder
#: prior by at least this share of the registration's search range
#: (:data:`mibgkit.anatomy.levels.SEARCH_PX`); otherwise the first registration is kept.
#: On the tuning seeds 0-199 re-registering after smaller moves (6-10 px) cost as much
#: cage/spine Dice in some cases as it gained in others.
REREGISTER_SHARE = 0.75
#: Registered trunk placement kept from the first fit when the landmarks are fitted again.
_TRUNK_ROWS = ("trunk_shoulder", "trunk_hip", "trunk_chin")

#: Outline top minus the vertex implied by the registered levels, share of stature
#: (median over the tuning seeds 0-199: +0.175 %, mad 0.197 %).
VERTEX_OFFSET = 0.00175
#: The outline's top is suspect when it lies more than this share of stature above the
#: expected row (implied vertex + :data:`VERTEX_OFFSET`): ~3 robust sd of the tuning seeds.
VERTEX_GATE = 0.009
#: ... and when the median counts on the head's axis between the two rows are below this
#: share of the head's level (median of the rows from the expected vertex to the chin).
SCATTER_SHARE = 0.05


def levels_vertex(fit: BodyFit) -> float | None:
    """Vertex row implied by the registered shoulder line and hip joints, or None.

    Parameters
    ----------
    fit : BodyFit
        A fit after :func:`mibgkit.anatomy.levels.refine_trunk` (``rows['trunk_hip']``).

    Returns
    -------
    float or None
        None when the levels were not registered (partial views).
    """
    if "trunk_hip" not in fit.rows or "trunk_shoulder" not in fit.rows:
        return None
    cal = _calibration()
    fs = fit.props.shoulder + cal.get("shoulder", 0.0)
    fh = fit.props.hip + cal.get("hip", 0.0)
    sh, hp = fit.rows["trunk_shoulder"], fit.rows["trunk_hip"]
    if fh - fs <= 0 or hp <= sh:
        return None
    return float(sh - fs * (hp - sh) / (fh - fs))


def _axis_counts(img: np.ndarray, fit: BodyFit, r0: int, r1: int) -> np.ndarray:
    """Mean smoothed counts per row in a band of half the head's half-width on the head axis."""
    sm = ndi.gaussian_filter(np.asarray(img, dtype=np.float64), 1.5)
    a, b = fit.head_axis
    hw = 0.5 * fit.half_width["head"]
    out = np.zeros(max(r1 - r0, 0))
    for i, r in enumerate(range(r0, r1)):
        c = a + b * r
        lo, hi = max(int(round(c - hw)), 0), min(int(round(c + hw)) + 1, img.shape[1])
        out[i] = float(sm[r, lo:hi].mean()) if hi > lo and 0 <= r < img.shape[0] else 0.0
    return out


def corrected_head_top(img: np.ndarray, fit: BodyFit) -> float | None:
    """A vertex row to replace the outline's top, or None when the outline's top stands.

    Parameters
    ----------
    img : ndarray of shape (rows, cols)
        The image the fit was made on.
    fit : BodyFit
        A registered fit (:func:`levels_vertex`).

    Returns
    -------
    float or None
    """
    if fit.cut.get("top") or fit.cut.get("bottom") or "head_top" not in fit.rows:
        return None
    v = levels_vertex(fit)
    if v is None:
        return None
    H = fit.stature_px
    expected = v + VERTEX_OFFSET * H
    top = fit.rows["head_top"]
    if top >= expected - VERTEX_GATE * H:
        return None
    chin = fit.rows.get("trunk_chin", fit.rows["chin"])
    r_top, r_exp, r_chin = int(round(top)), int(round(expected)), int(round(chin))
    if not 0 <= r_top < r_exp < r_chin <= img.shape[0]:
        return None
    prof = _axis_counts(img, fit, r_top, r_chin)
    head = float(np.median(prof[r_exp - r_top:]))
    gap = float(np.median(prof[: r_exp - r_top]))
    if head <= 0 or gap >= SCATTER_SHARE * head:
        return None
    return float(expected)


def refit_vertex(img: np.ndarray, fit: BodyFit, outline: BodyOutline | None = None) -> BodyFit:
    """The landmark fit again from a corrected vertex, or ``fit`` unchanged.

    The trunk's registered levels and body axis (from which the vertex was implied) are
    kept as they are; the vertex, the measured stature and what hangs on them (head,
    neck, the legs' levels) follow the new vertex. The arms of ``fit`` are kept.

    Parameters
    ----------
    img : ndarray of shape (rows, cols)
    fit : BodyFit
        A fit after :func:`mibgkit.anatomy.levels.refine_trunk`.
    outline : BodyOutline, optional
        The outline ``fit`` was made on (default ``fit.outline``).

    Returns
    -------
    BodyFit
    """
    top = corrected_head_top(img, fit)
    if top is None:
        return fit
    refit = fit_body(img, fit.spacing_mm, fit.props, outline if outline is not None else fit.outline, head_top=top)
    if refit is None:
        return fit
    # keep the arms of the first fit (fitted from its registered shoulder line: the arm
    # fit's thresholds scale with the stature, and a faint raised arm was lost on a
    # tuning seed when the stature shrank) and its neck-crotch midline (a lower vertex moves the neck search
    # window, which can then catch a raised arm's edge and tilt the line)
    refit.midline = fit.midline
    refit.arms = fit.arms
    arm = {lm.name: lm for lm in fit.landmarks if lm.name.split("_")[0] in ("right", "left")}
    refit.landmarks = [arm.get(lm.name, lm) for lm in refit.landmarks]
    # the registration searches +-SEARCH_PX around its prior (shoulder line at the
    # proportion of the measured stature): when the new vertex moves that prior by most of
    # the search range, the first registration was bounded by it and is done again
    fs = fit.props.shoulder + _calibration().get("shoulder", 0.0)
    if (1.0 - fs) * (top - fit.rows["head_top"]) >= REREGISTER_SHARE * SEARCH_PX:
        refine_trunk(img, refit)
        if refit.trunk_midline is None:
            refit.trunk_midline = fit.trunk_midline
        return refit
    refit.trunk_midline = fit.trunk_midline
    for k in _TRUNK_ROWS:
        if k in fit.rows:
            refit.rows[k] = fit.rows[k]
    return refit

"""Trunk levels (shoulder line, hip joints) by registering a 1-D body-axis profile.

The trunk atlas (ribs, vertebrae, pelvis) is placed between the shoulder line and the
hip-joint level; ribs are 3-4 px wide, so a 1-2 px error of either level costs most
of the Dice. The age proportions of the measured body length place the levels with an
error of ~2.4 px (shoulder) and ~1.5 px (hips) on the tuning phantoms: the vertex and
the soles are blurred outline ends, and the feet add a variable length below the soles.

What mIBG shows along the body axis pins the trunk down better: the salivary glands and
the neck above the shoulders, the heart (left) over the liver (right) below them, the
kidneys, the bladder just above the hip joints, the outline narrowing at the neck and
widening over the shoulders and hips. Per row, five features are read in a band around
the midline (:func:`axis_profile`): log counts of the band, of its left and right halves,
their left-right asymmetry, and the width of the central run of the body outline / stature.
A template of these features, sampled on ``t`` (0 at the shoulder line, 1 at the hip
joints), is learned from the phantom truth of the tuning seeds 0-49 and 100-199, as a mean and a
spread per age (``trunk_levels`` in ``mibgkit/data/atlas_planar.json``, written by
``benchmarks/bench_segments.py --build-levels``). On an image, the shoulder and hip rows
are the pair whose resampled profile best matches the age's template (robust squared
residuals in units of the template spread), with a Gaussian prior around the age
proportions of the measured length (:func:`register_levels`). A linear calibration learned
on the same tuning seeds then removes the part of the registration's error that its cues
predict - age, the crotch, and the proportion priors, whose errors are partly independent of
the profile's (:func:`calibrate_levels`). The chin knot of the trunk
(cervical spine, mandible) is then one age-proportioned neck length above the shoulder
line, and the trunk's body axis runs through the head centre and the gap between the
legs (:func:`trunk_midline`).

On the tuning seeds 0-49 (leave-one-out over the template) the spread of the levels
around the phantom's drops from 2.4 to 1.0-1.1 px (shoulder) and from 1.5 to 1.0-1.1 px
(hips); on the fresh tuning seeds 50-99 the calibration takes the median |error| from
0.49 to 0.29 px (shoulder line) and from 0.78 to 0.35 px (hips). The template is the phantom's: real organ positions vary more between patients
(the prior keeps the result within :data:`SEARCH_PX` of the proportions); on the real
NM1 bone scan, which shows no heart or liver, the levels stay within a few px of the
prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from mibgkit.anatomy.landmarks import BodyFit

__all__ = ["PROFILE_T", "axis_profile", "normalize_profile", "TrunkTemplate", "trunk_template", "register_levels",
           "CALIBRATION_FEATURES", "calibration_features", "calibrate_levels", "refine_trunk", "trunk_midline"]

#: Template abscissa: t from the shoulder line (0) to the hip joints (1), covering the head
#: and the upper thighs.
PROFILE_T = np.linspace(-0.6, 1.4, 201)
#: Half-width of the band read around the midline, as a share of the age-proportioned
#: shoulder width (inside the arms of a child with the arms at the sides).
BAND = 0.35
#: Vertical smoothing of the counts before the profile is read (px).
SMOOTH_PX = 1.5
#: Residuals are clipped at this many template spreads (lesions, bowel, a full bladder).
CLIP = 3.0
#: Search range around the prior (px) and the coarse / fine steps.
SEARCH_PX = 12.0
#: Weight of the prior (per squared prior sd) against the mean clipped squared residual;
#: chosen by leave-one-out on the tuning seeds 0-49 (0.5x-1.5x gave the same spread).
PRIOR_WEIGHT = 0.01


def axis_profile(image: np.ndarray, fit: BodyFit) -> np.ndarray:
    """Per-row features along the body axis, shape (5, rows).

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
        Counts of the fitted image (normalized frame).
    fit : BodyFit
        Its landmarks (midline, stature, outline).

    Returns
    -------
    ndarray
        log band counts, log left half, log right half, left-right asymmetry, central
        run width / stature.
    """
    img = np.clip(np.nan_to_num(np.asarray(image, dtype=np.float64)), 0, None)
    nrow, ncol = img.shape
    H = fit.stature_px
    s = ndi.gaussian_filter1d(img, SMOOTH_PX, axis=0)
    rows = np.arange(nrow)
    mid = fit.midline[0] + fit.midline[1] * rows
    hb = BAND * fit.props.shoulder_width * H
    d = np.arange(ncol)[None, :] - mid[:, None]
    left = (s * ((d > 0) & (d <= hb))).sum(axis=1)  # patient left: higher columns
    right = (s * ((d < 0) & (d >= -hb))).sum(axis=1)
    tot = left + right
    eps = 1e-3 * float(tot.max()) + 1e-9
    width = np.zeros(nrow)
    if fit.outline is not None:
        core = fit.outline.core
        lab, _ = ndi.label(core, structure=np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]]))
        size = np.bincount(lab.ravel())
        size[0] = 0
        mc = np.clip(np.round(mid).astype(int), 0, ncol - 1)
        width = size[lab[rows, mc]] / H
    return np.stack([np.log(tot + eps), np.log(left + eps), np.log(right + eps), (left - right) / (tot + eps), width])


def normalize_profile(p: np.ndarray) -> np.ndarray:
    """Remove the count level: log features minus their median over the trunk (0 <= t <= 1).

    ``p`` has shape (5, ..., len(PROFILE_T)); returns a new array.
    """
    p = np.array(p, dtype=float)
    trunk = (PROFILE_T >= 0) & (PROFILE_T <= 1)
    for k in (0, 1, 2):
        p[k] = p[k] - np.median(p[k][..., trunk], axis=-1, keepdims=True)
    return p


def sample_profile(feat: np.ndarray, shoulder: np.ndarray, hip: np.ndarray) -> np.ndarray:
    """Features resampled on ``PROFILE_T`` between shoulder and hip rows (broadcast), normalized."""
    sh = np.asarray(shoulder, dtype=float)[..., None]
    rows = sh + PROFILE_T * (np.asarray(hip, dtype=float)[..., None] - sh)
    r = np.arange(feat.shape[1], dtype=float)
    return normalize_profile(np.stack([np.interp(rows, r, f) for f in feat]))


@dataclass(frozen=True)
class TrunkTemplate:
    """The learned profile of one age, and where the proportion priors sit.

    Parameters
    ----------
    mean, spread : ndarray of shape (5, len(PROFILE_T))
    prior_offset : tuple of float
        (shoulder, hip) prior row minus true row, in fractions of the measured length.
    prior_sd : tuple of float
        Spread of the prior rows around the true ones, fractions of the measured length.
    """

    mean: np.ndarray
    spread: np.ndarray
    prior_offset: tuple[float, float]
    prior_sd: tuple[float, float]


#: Cues of the level calibration (:func:`calibrate_levels`), in the order of the learned
#: coefficients: a constant, log age (years), the crotch below the registered hips, and
#: the proportion priors of the shoulder line and the hips minus the registered levels,
#: all in units of the registered trunk length (hips - shoulder line).
CALIBRATION_FEATURES = ("one", "log_age", "crotch", "shoulder_prior", "hip_prior")
#: Largest calibration step (fraction of the registered trunk length, ~2-3 px): the
#: learned correction is linear and the cues of a misdetected vertex or crotch are not.
CALIBRATION_MAX = 0.015


def calibration_features(age_years: float, shoulder: float, hip: float, crotch: float, shoulder_prior: float,
                         hip_prior: float) -> np.ndarray:
    """The :data:`CALIBRATION_FEATURES` of one registration (rows in px).

    Parameters
    ----------
    age_years : float
        Age of the proportions.
    shoulder, hip : float
        Registered levels (:func:`register_levels`).
    crotch : float
        Row of the crotch found on the outline.
    shoulder_prior, hip_prior : float
        The proportion priors given to :func:`register_levels`.

    Returns
    -------
    ndarray of shape (5,)
    """
    L = max(hip - shoulder, 1.0)
    return np.array([1.0, np.log(max(age_years, 0.5)), (crotch - hip) / L, (shoulder_prior - shoulder) / L,
                     (hip_prior - hip) / L])


def calibrate_levels(x: np.ndarray, shoulder: float, hip: float) -> tuple[float, float]:
    """Registered levels corrected by the learned linear calibration.

    The registration of the profile and the proportion priors err partly independently
    (their errors are ~1 px and ~1.5 px at the hips), and the shoulder line registered on
    young children's profiles lies lower than on adolescents'. A linear regression of the
    registration's error (in units of the trunk length) on :func:`calibration_features`,
    learned on the phantom truth of the tuning seeds (``trunk_levels['calibration']`` in
    the atlas, written by ``bench_segments.py --build-levels``), removes what the cues
    predict. Without learned coefficients the levels are returned unchanged.

    Parameters
    ----------
    x : ndarray of shape (5,)
        :func:`calibration_features`.
    shoulder, hip : float
        Registered levels (px).

    Returns
    -------
    tuple of float
        (shoulder row, hip row).
    """
    from mibgkit.anatomy.atlas import atlas_data

    cal = (atlas_data().get("trunk_levels") or {}).get("calibration")
    if not cal or list(cal.get("features", [])) != list(CALIBRATION_FEATURES):
        return shoulder, hip
    L = hip - shoulder
    ds = float(np.clip(np.dot(cal["shoulder"], x), -CALIBRATION_MAX, CALIBRATION_MAX)) * L
    dh = float(np.clip(np.dot(cal["hip"], x), -CALIBRATION_MAX, CALIBRATION_MAX)) * L
    return shoulder - ds, hip - dh


def trunk_template(age_years: float) -> TrunkTemplate | None:
    """The template at an age (linear between the tabulated ages); None without one."""
    from mibgkit.anatomy.atlas import atlas_data

    tab = atlas_data().get("trunk_levels")
    if not tab:
        return None
    ages = np.asarray(tab["ages"], dtype=float)
    a = float(np.clip(age_years, ages[0], ages[-1]))
    i = int(np.clip(np.searchsorted(ages, a) - 1, 0, ages.size - 2))
    w = (a - ages[i]) / (ages[i + 1] - ages[i])
    mean = np.asarray(tab["mean"], dtype=float)
    spread = np.asarray(tab["spread"], dtype=float)
    return TrunkTemplate(
        (1 - w) * mean[i] + w * mean[i + 1], (1 - w) * spread[i] + w * spread[i + 1],
        (float(tab["prior_offset"][0]), float(tab["prior_offset"][1])),
        (float(tab["prior_sd"][0]), float(tab["prior_sd"][1])),
    )


def _cost(feat: np.ndarray, tmpl: TrunkTemplate, sh: np.ndarray, hp: np.ndarray, s0: float, h0: float,
          sd: tuple[float, float]) -> np.ndarray:
    prof = sample_profile(feat, sh, hp)
    res = (prof - tmpl.mean[:, None, :]) / tmpl.spread[:, None, :]
    fit_term = np.minimum(res ** 2, CLIP ** 2).mean(axis=(0, 2))
    return np.asarray(fit_term + PRIOR_WEIGHT * (((sh - s0) / sd[0]) ** 2 + ((hp - h0) / sd[1]) ** 2))


def register_levels(
    feat: np.ndarray, tmpl: TrunkTemplate, shoulder_prior: float, hip_prior: float, length_px: float
) -> tuple[float, float]:
    """Shoulder and hip rows that best match the template near the priors.

    Parameters
    ----------
    feat : ndarray of shape (5, rows)
        :func:`axis_profile` of the image.
    tmpl : TrunkTemplate
    shoulder_prior, hip_prior : float
        Rows from the age proportions of the measured length (``prior_offset`` is
        removed here).
    length_px : float
        Measured body length (``BodyFit.stature_px``).

    Returns
    -------
    tuple of float
        (shoulder row, hip row): estimates of the skeleton's levels.
    """
    s0 = shoulder_prior - tmpl.prior_offset[0] * length_px
    h0 = hip_prior - tmpl.prior_offset[1] * length_px
    sd = (max(tmpl.prior_sd[0] * length_px, 0.5), max(tmpl.prior_sd[1] * length_px, 0.5))
    # coarse grid (1 px), then 0.25 px around the best
    d = np.arange(-SEARCH_PX, SEARCH_PX + 0.01, 1.0)
    sh, hp = np.meshgrid(s0 + d, h0 + d, indexing="ij")
    c = _cost(feat, tmpl, sh.ravel(), hp.ravel(), s0, h0, sd)
    k = int(np.argmin(c))
    bs, bh = float(sh.ravel()[k]), float(hp.ravel()[k])
    d = np.arange(-1.0, 1.01, 0.25)
    sh, hp = np.meshgrid(bs + d, bh + d, indexing="ij")
    c = _cost(feat, tmpl, sh.ravel(), hp.ravel(), s0, h0, sd)
    k = int(np.argmin(c))
    return float(sh.ravel()[k]), float(hp.ravel()[k])


#: Place the chin knot of the trunk (cervical spine, mandible) one age-proportioned neck
#: length above the registered shoulder line instead of from the vertex: a proportion
#: prior errs in proportion to the distance from its anchor (seeds 0-49: chin error
#: sd 0.9 px against 2.3 px).
CHIN_FROM_TRUNK = True

#: Largest distance (fraction of the measured length) between the head-to-crotch line and
#: the neck-to-crotch midline at the shoulder line for the former to be used: a head
#: turned or tilted on the neck (real patients) moves the head centre off the body axis.
HEAD_AXIS_AGREE = 0.015


#: Apply the learned level calibration (:func:`calibrate_levels`); off only to learn it.
CALIBRATE = True


def trunk_midline(fit: BodyFit) -> tuple[float, float] | None:
    """Body axis through the head centre and the gap between the legs (col = a + b * row).

    The head is the widest symmetric part of the outline above the shoulders, so the
    centre of its run at mid-head height (``BodyFit.head_axis``) is found to a fraction
    of a pixel; the neck (the landmark fit's upper midline point) is narrow and its run
    is disturbed by the salivary glands and the shoulders. On the tuning seeds 0-49 the
    line's error at the shoulder line is 0.65 px (sd) against 1.8 px for the neck-crotch
    midline (0.5 px at the hips for both). None without a detected head top and crotch,
    or when the line departs from the neck-crotch midline by more than
    :data:`HEAD_AXIS_AGREE` of the length at the shoulders.
    """
    conf = {lm.name: lm.confidence for lm in fit.landmarks}
    if conf.get("head_top", 0.0) <= 0 or conf.get("crotch", 0.0) <= 0:
        return None
    rh = 0.5 * (fit.rows["head_top"] + fit.rows["chin"])
    ch = fit.head_axis[0] + fit.head_axis[1] * rh
    rc = fit.rows["crotch"]
    cc = fit.mid_col(rc)
    if rc - rh < 1.0:
        return None
    b = (cc - ch) / (rc - rh)
    line = (ch - b * rh, b)
    rs = fit.rows.get("trunk_shoulder", fit.rows["shoulder"])
    if abs(line[0] + line[1] * rs - fit.mid_col(rs)) > HEAD_AXIS_AGREE * fit.stature_px:
        return None
    return line


def refine_trunk(image: np.ndarray, fit: BodyFit) -> BodyFit:
    """Trunk placement: the body axis (:func:`trunk_midline`) and the levels.

    Sets ``fit.trunk_midline`` and ``fit.rows['trunk_shoulder']`` / ``['trunk_hip']``
    (the latter from the profile registration, only with the whole body in view - the
    priors need the vertex and the soles - and a template in the atlas). What is not
    found is left unset: the body frame then uses the landmark fit's midline and rows.
    """
    fit.trunk_midline = trunk_midline(fit)
    if fit.cut.get("top") or fit.cut.get("bottom") or "trunk_shoulder" not in fit.rows:
        return fit
    tmpl = trunk_template(fit.props.age_years)
    if tmpl is None:
        return fit
    feat = axis_profile(image, fit)
    sh, hp = register_levels(feat, tmpl, fit.rows["trunk_shoulder"], fit.rows["hip"], fit.stature_px)
    if CALIBRATE and hp > sh + 1.0 and "crotch" in fit.rows:
        x = calibration_features(fit.props.age_years, sh, hp, fit.rows["crotch"], fit.rows["trunk_shoulder"],
                                 fit.rows["hip"])
        sh, hp = calibrate_levels(x, sh, hp)
    if hp > sh + 1.0:
        fit.rows["trunk_shoulder"] = sh
        fit.rows["trunk_hip"] = hp
        if CHIN_FROM_TRUNK:
            # the neck's length as the age share of the stature implied by the trunk
            stature = (hp - sh) / max(fit.props.hip - fit.props.shoulder, 1e-3)
            fit.rows["trunk_chin"] = sh - fit.props.neck * stature
    return fit

"""Landmarks on a planar view: body outline, width profile, limbs and organs.

mIBG shows no normal bone, so the skeleton is placed from what is visible: the body
outline (soft-tissue background and scatter), the gaps that separate arms and legs
from the trunk, and the physiological organs. Everything here works in the
normalized frame (rows head->feet, columns patient right->left).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from mibgkit.anatomy.arms import CREST_LATERAL, crest_col, outer_edge
from mibgkit.anatomy.atlas import Proportions
from mibgkit.anatomy.halo import halo_floor
from mibgkit.anatomy.model import Landmark

__all__ = ["BodyOutline", "LimbFit", "BodyFit", "body_outline", "fit_body", "refit_arms"]

Point = tuple[float, float]


@dataclass
class BodyOutline:
    """The body as seen on one image.

    Parameters
    ----------
    mask : ndarray of shape (rows, cols), bool
        Largest connected body component, holes filled.
    core : ndarray of shape (rows, cols), bool
        ``mask`` minus the count valleys that separate limbs from the trunk.
    smoothed : ndarray of shape (rows, cols), float
        Counts smoothed with a Gaussian of about 6 mm.
    threshold : float
        Count threshold of ``mask`` on ``smoothed``.
    field_cols : tuple of int, optional
        First and last column of the scanned field (systems may store zeros outside
        it); the smoothed outline can spill a few pixels beyond.
    halo : bool
        A penetration halo (LEHR collimator) was found and kept out of ``mask``
        (:mod:`mibgkit.anatomy.halo`).
    """

    mask: np.ndarray
    core: np.ndarray
    smoothed: np.ndarray
    threshold: float
    field_cols: tuple[int, int] | None = None
    halo: bool = False


@dataclass
class LimbFit:
    """Joint positions of one limb, proximal to distal, in (row, col).

    ``joints`` holds (proximal joint, middle joint, distal joint, tip): shoulder, elbow,
    wrist, fingertips for an arm; hip, knee, ankle, toes/sole for a leg. ``pose`` says
    how an arm was found: ``"raised"``, ``"hanging"`` (at the sides or abducted, axis
    from the outline), ``"on_abdomen"`` (forearm over the lower trunk, in front of it)
    or ``""`` (legs).
    """

    side: str
    joints: list[Point]
    confidence: float
    pose: str = ""


@dataclass
class BodyFit:
    """Everything the atlas warp needs from one image (or the ANT/POST pair).

    Vertical landmarks (``rows``) are always all present: those not found on the image
    are extrapolated from the found ones with the age proportions, and their
    confidence is 0.
    """

    shape: tuple[int, int]
    spacing_mm: tuple[float, float]
    props: Proportions
    rows: dict[str, float]
    stature_px: float
    midline: tuple[float, float]  # col = a + b * row over head and trunk
    half_width: dict[str, float]  # head, shoulder, hip (px)
    head_axis: tuple[float, float]  # col = a + b * row over the head
    arms: dict[str, LimbFit]
    legs: dict[str, LimbFit]
    landmarks: list[Landmark] = field(default_factory=list)
    outline: BodyOutline | None = None
    cut: dict[str, bool] = field(default_factory=dict)
    #: Body-axis line (col = a + b * row) for the trunk atlas, when found
    #: (:func:`mibgkit.anatomy.levels.refine_trunk`); else :attr:`midline` is used.
    trunk_midline: tuple[float, float] | None = None
    #: What the arm fit reads besides the rows (core mask, central run per row, leg
    #: mask), kept so :func:`refit_arms` can place the arms again on the registered
    #: shoulder line.
    arm_inputs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def mid_col(self, row: float) -> float:
        """Trunk midline column at a row."""
        a, b = self.midline
        return a + b * row


# --------------------------------------------------------------------------- outline


def body_outline(
    image: np.ndarray, spacing_mm: tuple[float, float], *, sigma_mm: float = 6.0, halo: bool = False
) -> BodyOutline:
    """Threshold smoothed counts to find the body and the gaps around the limbs.

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
        Counts (any numeric dtype).
    spacing_mm : tuple of float
        (row, col) pixel spacing.
    sigma_mm : float
        Gaussian smoothing before thresholding.
    halo : bool
        Look for a septal-penetration halo (LEHR collimator) and raise the threshold
        above it (:func:`mibgkit.anatomy.halo.halo_floor`). Its ratio test is set for
        the geometric mean of an ANT/POST pair (sparse air counts are suppressed there;
        a single view's air reads 10x higher, medium-energy images included).

    Returns
    -------
    BodyOutline
        Empty masks when no body-like component exists.
    """
    img = np.nan_to_num(np.asarray(image, dtype=np.float64))
    img = np.clip(img, 0.0, None)
    sig = (sigma_mm / spacing_mm[0], sigma_mm / spacing_mm[1])
    s = ndi.gaussian_filter(img, sig)
    vals = s[s > 1e-4 * max(float(s.max()), 1e-12)]
    if vals.size < 50 or float(s.max()) <= 0:
        empty = np.zeros(img.shape, bool)
        return BodyOutline(empty, empty, s, float("inf"))
    # one photon spread by the smoothing kernel, in smoothed counts per pixel
    photon = 1.0 / (2.0 * np.pi * sig[0] * sig[1])
    # air statistics from the scanned field only: some systems store zeros outside it
    nz = img != 0
    rows_in = np.flatnonzero(nz.mean(axis=1) > 0.02)
    cols_in = np.flatnonzero(nz.mean(axis=0) > 0.02)
    if rows_in.size > 10 and cols_in.size > 10:
        field = s[rows_in[0] : rows_in[-1] + 1, cols_in[0] : cols_in[-1] + 1]
    else:
        field = s
    # scanned columns: those with any count (low-count images have sparse air counts)
    any_cols = np.flatnonzero(nz.any(axis=0))
    fcols = (int(any_cols[0]), int(any_cols[-1])) if any_cols.size else (0, img.shape[1] - 1)
    thr = _outline_threshold(field, photon)
    mask = s > thr
    floor = halo_floor(img, s, mask, spacing_mm, _largest) if halo else None
    if floor is not None:  # a penetration halo (LEHR): the outline follows the body, not the halo
        mask = s > np.maximum(thr, floor)
    lab, n = ndi.label(mask)
    if n == 0:
        return BodyOutline(mask, mask, s, thr, fcols, floor is not None)
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    keep = sizes >= 0.05 * sizes.max()
    mask = keep[lab]
    mask = ndi.binary_fill_holes(mask)
    level = float(np.median(s[mask])) if mask.any() else 0.0
    core = mask & ~_valleys(img, spacing_mm, level)
    return BodyOutline(mask, core, s, thr, fcols, floor is not None)


def _largest(mask: np.ndarray) -> np.ndarray:
    """The components of ``mask`` at least 5 % the size of the largest."""
    lab, n = ndi.label(mask)
    if n == 0:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return (sizes >= 0.05 * sizes.max())[lab]


def _outline_threshold(s: np.ndarray, photon: float) -> float:
    """Count threshold between air (noise, scatter) and the soft-tissue background.

    The soft tissue of a 24-h mIBG scan has few counts - arms and legs can be 1/40 of
    the trunk - so the threshold is set from the air, not from the body: the air level
    and its noise from the lowest 30 % of the scanned field (air always covers that much
    of a whole-body field), threshold 6 noise widths (and at least three photons' worth of
    smoothed counts) above it, and at least 2 % of the way to the median body level.
    """
    flat = s.ravel()
    cut = float(np.percentile(flat, 30.0))
    low = flat[flat <= cut]
    air = float(np.median(low))
    sig = 1.4826 * float(np.median(np.abs(low - air)))
    thr0 = air + max(6.0 * sig, 3.0 * photon)
    above = flat[flat > thr0]
    body = float(np.median(above)) if above.size else thr0
    return max(thr0, air + 0.02 * (body - air))


def _valleys(img: np.ndarray, spacing_mm: tuple[float, float], level: float) -> np.ndarray:
    """Column-wise count valleys (gap between arm and trunk, between the legs).

    A black top-hat along rows with a ~5 cm line: a pixel is a valley when its counts
    fall well below the nearer of the two peaks beside it. Scale free, so thin arms
    with few counts are kept while the gap next to them is found; only pixels below
    half the median body ``level`` count, so soft tissue between two hot organs of the
    trunk is not a gap.
    """
    s = ndi.gaussian_filter(img, (8.0 / spacing_mm[0], 3.0 / spacing_mm[1]))
    width = max(3, int(round(50.0 / spacing_mm[1])) | 1)
    closed = ndi.grey_closing(s, size=(1, width))
    return ((closed - s) > 0.45 * closed) & (s < 0.5 * level)


def _runs(row: np.ndarray) -> np.ndarray:
    """Start/end (exclusive) of True runs in a 1-D boolean array, shape (n, 2)."""
    d = np.diff(np.concatenate(([0], row.astype(np.int8), [0])))
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)], axis=1)


# --------------------------------------------------------------------------- fit


def fit_body(
    image: np.ndarray,
    spacing_mm: tuple[float, float],
    props: Proportions,
    outline: BodyOutline | None = None,
    head_top: float | None = None,
) -> BodyFit | None:
    """Find landmarks on one image (or the geometric mean of an ANT/POST pair).

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
        Counts in the normalized frame.
    spacing_mm : tuple of float
        (row, col) spacing.
    props : Proportions
        Age proportions (:func:`mibgkit.anatomy.atlas.proportions`).
    outline : BodyOutline, optional
        A precomputed outline of ``image``.
    head_top : float, optional
        The vertex row to use instead of the outline's (whole-body views only; see
        :mod:`mibgkit.anatomy.vertex`, which corrects a vertex lifted by the scatter
        between raised hands).

    Returns
    -------
    BodyFit or None
        None when no body is found.
    """
    ol = outline if outline is not None else body_outline(image, spacing_mm)
    mask, core = ol.mask, ol.core
    nrow, ncol = mask.shape
    body_rows = np.flatnonzero(mask.any(axis=1))
    if body_rows.size < 5:
        return None
    r_top, r_bot = int(body_rows[0]), int(body_rows[-1])
    cut = {
        "top": r_top <= 1 and int(mask[r_top].sum()) * spacing_mm[1] > 25.0,
        "bottom": r_bot >= nrow - 2 and int(mask[r_bot].sum()) * spacing_mm[1] > 25.0,
    }
    stature_age = props.stature_cm * 10.0 / spacing_mm[0]
    if not cut["top"] and not cut["bottom"]:
        stature = float(r_bot - r_top + 1)
    else:
        stature = stature_age
    widths = mask.sum(axis=1).astype(float)
    cols = np.arange(ncol, dtype=float)
    cen = np.where(widths > 0, (mask * cols).sum(axis=1) / np.maximum(widths, 1), np.nan)
    lo, hi = r_top + int(0.15 * (r_bot - r_top)), r_top + int(0.6 * (r_bot - r_top)) + 1
    mid0 = float(np.nanmedian(cen[lo:hi])) if np.isfinite(cen[lo:hi]).any() else ncol / 2.0

    # central run (head, neck, trunk) per row: the run of the core mask over the midline
    tol = max(2.0, 0.012 * stature)
    cw = np.zeros(nrow)
    cc = np.full(nrow, np.nan)
    cs = np.full((nrow, 2), -1, dtype=int)
    for r in range(r_top, r_bot + 1):
        runs = _runs(core[r]) if core[r].any() else _runs(mask[r])
        if runs.size == 0:
            continue
        dist = np.maximum(np.maximum(runs[:, 0] - mid0, mid0 - (runs[:, 1] - 1)), 0)
        k = int(np.argmin(dist))
        if dist[k] > tol:
            continue
        cs[r] = runs[k]
        cw[r] = runs[k, 1] - runs[k, 0]
        cc[r] = 0.5 * (runs[k, 0] + runs[k, 1] - 1)
    # the head is the top of the central run (raised hands are lateral runs above it)
    has = ndi.binary_closing(cw > 0, structure=np.ones(max(3, int(0.01 * stature))))
    blocks = _runs(has)
    if blocks.size:
        k = int(np.argmax(blocks[:, 1] - blocks[:, 0]))
        # a block just above the longest one with a head-wide run over the midline is the
        # head: the count valley between an infant's salivary glands can split the core
        # at the mouth (raised hands are narrower and lateral)
        while k > 0 and blocks[k, 0] - blocks[k - 1, 1] <= _HEAD_GAP * stature and float(
                np.median(cw[blocks[k - 1, 0]:blocks[k - 1, 1]])) >= _HEAD_RUN * props.head_width * stature:
            k -= 1
        head_row = int(blocks[k, 0])
        if head_row > r_top + 0.02 * stature:
            r_top = head_row
            cut["top"] = False
            if not cut["bottom"]:
                stature = float(r_bot - r_top + 1)
    if head_top is not None and not cut["top"] and not cut["bottom"]:
        r_top = int(round(head_top))
        stature = float(r_bot - r_top + 1)
    rows: dict[str, float] = {}
    conf: dict[str, float] = {}
    H = stature

    def expected(name: str) -> float:
        frac = {"head_top": 0.0, "chin": props.head, "shoulder": props.shoulder, "crotch": props.crotch,
                "hip": props.hip, "knee": props.knee, "ankle": props.ankle, "sole": 1.0}[name]
        return _extrap(rows, conf, frac, props, H, r_top if not cut["top"] else None, r_bot if not cut["bottom"] else None)[0]

    if not cut["top"]:
        rows["head_top"], conf["head_top"] = float(r_top), 1.0
    if not cut["bottom"]:
        rows["sole"], conf["sole"] = float(r_bot), 1.0

    # neck: narrowest central run below the head
    cwin_lo = int(round(r_top + 0.55 * props.head * H)) if not cut["top"] else 0
    cwin_hi = int(round(r_top + (props.shoulder + 0.02) * H)) if not cut["top"] else 0
    neck_row = None
    if not cut["top"] and cwin_hi > cwin_lo + 2:
        seg = ndi.uniform_filter1d(cw[cwin_lo:cwin_hi], 3)
        seg = np.where(seg > 0, seg, np.inf)
        if np.isfinite(seg).any():
            neck_row = cwin_lo + int(np.argmin(seg))
            neck_w = float(seg.min())
            head_w = float(np.max(cw[r_top:neck_row + 1])) if neck_row > r_top else 0.0
            if head_w > 1.25 * neck_w:
                rows["neck"], conf["neck"] = float(neck_row), 1.0
                rows["chin"], conf["chin"] = float(neck_row - 0.4 * props.neck * H), 0.8
                # shoulders: where the width has climbed most of the way to the trunk width
                s_hi = min(r_bot, neck_row + int(0.16 * H))
                wseg = ndi.uniform_filter1d(cw[neck_row:s_hi], 3)
                if wseg.size > 3:
                    wmax = float(np.percentile(wseg, 90))
                    target = neck_w + 0.8 * (wmax - neck_w)
                    above = np.flatnonzero(wseg >= target)
                    if above.size:
                        rows["shoulder"] = float(neck_row + above[0])
                        conf["shoulder"] = 0.9
    # crotch: the midline falls into the valley between the legs down to the feet
    c_lo = int(round(rows.get("shoulder", expected("shoulder")) + 0.18 * H))
    gap = np.zeros(nrow, bool)
    for r in range(max(c_lo, r_top), r_bot + 1):
        m = int(round(cc[r])) if np.isfinite(cc[r]) and cw[r] > 0 else int(round(mid0))
        if not mask[r].any():
            continue
        left_any = mask[r, : int(mid0)].any()
        right_any = mask[r, int(mid0) + 1 :].any()
        inside = 0 <= m < ncol and core[r, int(round(mid0))]
        gap[r] = (not inside) and left_any and right_any
    gap = ndi.binary_closing(gap, structure=np.ones(max(3, int(0.03 * H))))
    gap_runs = _runs(gap)
    if gap_runs.size:
        length = gap_runs[:, 1] - gap_runs[:, 0]
        k = int(np.argmax(length))
        if length[k] > 0.12 * H:
            rows["crotch"], conf["crotch"] = float(gap_runs[k, 0]), 0.9

    # With the whole body in view the age proportions place the levels more reliably
    # than any single width feature (they vary little once stature is measured); a
    # detected level that agrees with its prior is blended in, one that does not is
    # dropped. Partial views keep what was detected and extrapolate the rest.
    cal = _calibration()
    prior_f = {"chin": props.head, "shoulder": props.shoulder, "crotch": props.crotch, "hip": props.hip,
               "knee": props.knee, "ankle": props.ankle}
    whole = not cut["top"] and not cut["bottom"]
    for name, f in prior_f.items():
        f = f + cal.get(name, 0.0)
        if whole:
            prior = rows["head_top"] + f * H
            det = rows.get(name)
            if det is not None and abs(det - prior) < 0.025 * H:
                rows[name] = 0.7 * prior + 0.3 * det
                conf[name] = max(conf.get(name, 0.0), 0.9)
            else:
                rows[name] = prior
                conf[name] = 0.7 if det is None else 0.4
    for name in ("head_top", "chin", "shoulder", "crotch", "sole"):
        if name not in rows:
            rows[name], conf[name] = expected(name), 0.0
    # The trunk atlas (ribs, vertebrae) starts from the shoulder prior alone: on the
    # tuning seeds 0-49 the detected width rise scatters ~8 px around the true shoulder
    # line against ~2 px for the prior, so blending it in (as for the arm joints) blurs
    # the rib levels; mibgkit.anatomy.levels then registers it (and the hip level) on the
    # body-axis profile. Partial views use the shoulder level as found.
    rows["trunk_shoulder"] = rows["head_top"] + (props.shoulder + cal.get("shoulder", 0.0)) * H if whole \
        else rows["shoulder"]
    if not whole:
        seg_len = (rows["sole"] - rows["crotch"]) / (1.0 - props.crotch)
        for name in ("hip", "knee", "ankle"):
            rows[name] = rows["crotch"] + (prior_f[name] + cal.get(name, 0.0) - props.crotch) * seg_len
            conf[name] = 0.3
    rows.setdefault("neck", rows["chin"] + 0.4 * props.neck * H)
    conf.setdefault("neck", 0.0)

    # midline: through the neck and the crotch, the two places arms cannot disturb
    hr = np.arange(int(rows["head_top"]), int(rows["chin"]))
    hr = hr[(hr >= 0) & (hr < nrow)]
    tr = np.arange(int(rows["shoulder"]), int(rows["crotch"]))
    tr = tr[(tr >= 0) & (tr < nrow)]
    trunk_mid = float(np.nanmedian(cc[tr])) if tr.size and np.isfinite(cc[tr]).any() else mid0
    nr = np.arange(int(rows["chin"]), int(rows["shoulder"]))
    nr = nr[(nr >= 0) & (nr < nrow)]
    neck_c = float(np.nanmedian(cc[nr])) if conf.get("neck", 0) > 0 and nr.size and np.isfinite(cc[nr]).any() else None
    crotch_c = _gap_centre(core, mask, rows["crotch"], 0.03 * H, trunk_mid, _CROTCH_OFF * H) \
        if conf.get("crotch", 0) > 0 else None
    if neck_c is not None and crotch_c is not None:
        r_n = 0.5 * (rows["chin"] + rows["shoulder"])
        b = (crotch_c - neck_c) / max(rows["crotch"] - r_n, 1.0)
        midline = (neck_c - b * r_n, b) if abs(b) < 0.12 else (trunk_mid, 0.0)
    elif crotch_c is not None or neck_c is not None:
        midline = (crotch_c if crotch_c is not None else neck_c, 0.0)  # type: ignore[assignment]
    else:
        midline = (trunk_mid, 0.0)
    head_axis = _robust_line(hr, cc[hr] if hr.size else np.array([]), default=(midline[0] + midline[1] * rows["chin"], 0.0))

    half = {
        "head": _half_width(cw, rows["head_top"] + 0.3 * (rows["chin"] - rows["head_top"]), rows["chin"], props.head_width * H / 2, 0.9),
        # abducted or raised arms widen the central run at the shoulders: cap near the prior
        "shoulder": min(_half_width(cw, rows["shoulder"], rows["shoulder"] + 0.05 * H, props.shoulder_width * H / 2, 0.8),
                        _SHOULDER_CAP * props.shoulder_width * H / 2),
        "hip": _half_width(cw, rows["crotch"] - 0.06 * H, rows["crotch"] - 0.01 * H, props.hip_width * H / 2, 0.8),
    }
    fit = BodyFit(
        shape=(nrow, ncol), spacing_mm=spacing_mm, props=props, rows=rows, stature_px=H,
        midline=midline, half_width=half, head_axis=head_axis, arms={}, legs={}, outline=ol, cut=cut,
    )
    fit.legs, leg_mask = _fit_legs(fit, core)
    fit.arms = _fit_arms(fit, core, cs, leg_mask)
    fit.arm_inputs = (core, cs, leg_mask)
    fit.landmarks = _landmark_list(fit, conf)
    return fit


def refit_arms(fit: BodyFit) -> BodyFit:
    """Arm joints again, from the shoulder line registered on the body-axis profile.

    The landmark fit hangs the arms from the shoulder level blended with the outline's
    width rise, which abducted and raised arms move (sd 0.44 % of stature against the
    phantom's shoulder joints on the tuning seeds 0-49, pose-dependent bias 0.5-1.3 %);
    once :func:`mibgkit.anatomy.levels.refine_trunk` has registered the shoulder line
    (``rows['trunk_hip']`` present), the shoulder joints sit :data:`_SHOULDER_DROP_TRUNK`
    below ``rows['trunk_shoulder']`` (sd 0.17 %, all poses alike). The arm landmarks of
    ``fit.landmarks`` are replaced; nothing else changes.
    """
    if fit.arm_inputs is None or "trunk_hip" not in fit.rows or "trunk_shoulder" not in fit.rows:
        return fit
    core, cs, leg_mask = fit.arm_inputs
    fit.arms = _fit_arms(fit, core, cs, leg_mask, fit.rows["trunk_shoulder"] + _SHOULDER_DROP_TRUNK * fit.stature_px)
    new = {f"{side}_{jn}": Landmark(f"{side}_{jn}", p[0], p[1], limb.confidence)
           for side, limb in fit.arms.items() for jn, p in zip(("shoulder", "elbow", "wrist", "hand"), limb.joints)}
    fit.landmarks = [new.get(lm.name, lm) for lm in fit.landmarks]
    return fit


#: Largest distance (share of stature) of the crotch gap from the trunk's centre column
#: (a gap farther out is the one between a hanging hand and the thigh).
_CROTCH_OFF = 0.05
#: Largest gap (share of stature) between the head and the central run below it, and the
#: least median width of a head block (share of the age-proportioned head width).
_HEAD_GAP = 0.06
_HEAD_RUN = 0.6


def _calibration() -> dict[str, float]:
    """Offsets (fractions of stature) between the proportion levels and the image levels."""
    from mibgkit.anatomy.atlas import atlas_data

    return {k: float(v) for k, v in atlas_data().get("level_offsets", {}).items() if not k.startswith("_")}


def _extrap(
    rows: dict[str, float], conf: dict[str, float], frac: float, props: Proportions, H: float,
    top: int | None, bot: int | None,
) -> tuple[float, float]:
    """Row of a stature fraction from the landmarks found so far (or the body ends)."""
    known = {"head_top": 0.0, "chin": props.head, "shoulder": props.shoulder, "crotch": props.crotch, "sole": 1.0}
    pts = [(known[k], v) for k, v in rows.items() if k in known and conf.get(k, 0) > 0]
    if top is not None:
        pts.append((0.0, float(top)))
    if bot is not None:
        pts.append((1.0, float(bot)))
    if not pts:
        return frac * H, 0.0
    pts.sort()
    f = np.array([p[0] for p in pts])
    r = np.array([p[1] for p in pts])
    if f.size == 1 or f.max() - f.min() < 1e-6:
        return float(r[0] + (frac - f[0]) * H), 0.0
    if frac <= f[0]:
        return float(r[0] + (frac - f[0]) * H), 0.0
    if frac >= f[-1]:
        return float(r[-1] + (frac - f[-1]) * H), 0.0
    return float(np.interp(frac, f, r)), 0.0


def _gap_centre(
    core: np.ndarray, mask: np.ndarray, row: float, depth: float, guess: float, max_off: float | None = None
) -> float | None:
    """Column of the gap between the legs just below the crotch.

    Gaps farther than ``max_off`` from ``guess`` (the trunk's centre) are not the
    crotch: the gap between a hand hanging at the side and the thigh is found on rows
    just below the crotch level when the legs are not yet apart (small children).
    """
    cols: list[float] = []
    for r in range(int(round(row)) + 1, min(int(round(row + depth)) + 2, core.shape[0])):
        runs = _runs(core[r])
        if runs.shape[0] < 2:
            continue
        ends, starts = runs[:-1, 1], runs[1:, 0]
        gaps = 0.5 * (ends + starts - 1)
        k = int(np.argmin(np.abs(gaps - guess)))
        if max_off is not None and abs(gaps[k] - guess) > max_off:
            continue
        cols.append(float(gaps[k]))
    return float(np.median(cols)) if cols else None


def _robust_line(rows: np.ndarray, cols: np.ndarray, default: tuple[float, float]) -> tuple[float, float]:
    """col = a + b * row fitted with two passes of outlier rejection."""
    ok = np.isfinite(cols)
    r, c = rows[ok].astype(float), cols[ok].astype(float)
    if r.size < 5:
        return default
    for _ in range(2):
        b, a = np.polyfit(r, c, 1)
        res = c - (a + b * r)
        tol = max(2.0, 2.5 * float(np.median(np.abs(res))))
        keep = np.abs(res) <= tol
        if keep.sum() < 5:
            break
        r, c = r[keep], c[keep]
    b, a = np.polyfit(r, c, 1)
    if abs(b) > 0.3:
        return default
    return float(a), float(b)


def _half_width(cw: np.ndarray, r0: float, r1: float, prior: float, q: float) -> float:
    """Robust half width of the central run between two rows, bounded by the prior."""
    lo, hi = int(round(min(r0, r1))), int(round(max(r0, r1))) + 1
    lo, hi = max(lo, 0), min(hi, cw.size)
    seg = cw[lo:hi]
    seg = seg[seg > 0]
    if seg.size == 0:
        return prior
    val = 0.5 * float(np.quantile(seg, q))
    return float(np.clip(val, 0.6 * prior, 1.6 * prior))


# --------------------------------------------------------------------------- limbs


def _fit_legs(fit: BodyFit, core: np.ndarray) -> tuple[dict[str, LimbFit], np.ndarray]:
    """Leg axes from the runs either side of the midline below the crotch (and their pixels)."""
    nrow, ncol = core.shape
    H = fit.stature_px
    rows = fit.rows
    mid = fit.mid_col(rows["crotch"])
    r0 = int(round(rows["crotch"] + 0.02 * H))
    r1 = int(round(min(rows["ankle"], nrow - 1)))
    cen: dict[str, list[tuple[int, float]]] = {"right": [], "left": []}
    leg_mask = np.zeros(core.shape, bool)
    for r in range(max(int(rows["crotch"]), 0), nrow):
        runs = _runs(core[r])
        if runs.size == 0:
            continue
        centres = 0.5 * (runs[:, 0] + runs[:, 1] - 1)
        wid = runs[:, 1] - runs[:, 0]
        okw = wid >= 2
        right = np.flatnonzero((centres < mid) & okw)
        left = np.flatnonzero((centres > mid) & okw)
        for side, cand, pick in (("right", right, np.argmax), ("left", left, np.argmin)):
            if cand.size:
                k = cand[pick(centres[cand])]
                leg_mask[r, runs[k, 0] : runs[k, 1]] = True
                if r0 <= r <= r1:
                    cen[side].append((r, float(centres[k])))
    legs: dict[str, LimbFit] = {}
    hip_u = 0.52 * fit.half_width["hip"]
    for side, sign in (("right", -1.0), ("left", 1.0)):
        pts = np.array(cen[side], dtype=float).reshape(-1, 2)
        hip = (rows["hip"], fit.mid_col(rows["hip"]) + sign * hip_u)
        default_knee = hip[1] + sign * 0.005 * H
        thigh = pts[(pts[:, 0] <= rows["knee"])] if pts.size else pts
        shank = pts[(pts[:, 0] >= rows["knee"])] if pts.size else pts
        a_t = _robust_line(thigh[:, 0], thigh[:, 1], default=(default_knee, 0.0)) if thigh.size else (default_knee, 0.0)
        a_s = _robust_line(shank[:, 0], shank[:, 1], default=a_t) if shank.size else a_t
        knee_c = 0.5 * ((a_t[0] + a_t[1] * rows["knee"]) + (a_s[0] + a_s[1] * rows["knee"]))
        ankle_c = a_s[0] + a_s[1] * rows["ankle"]
        conf = min(1.0, pts.shape[0] / max(1.0, 0.5 * (rows["ankle"] - rows["crotch"])))
        legs[side] = LimbFit(side, [hip, (rows["knee"], knee_c), (rows["ankle"], ankle_c), (rows["sole"], ankle_c)], conf)
    return legs, leg_mask


def _fit_arms(
    fit: BodyFit, core: np.ndarray, central: np.ndarray, leg_mask: np.ndarray, shoulder_row: float | None = None,
) -> dict[str, LimbFit]:
    """Arm joints of both sides (shoulder joints on ``shoulder_row`` when given).

    The shoulder joint sits at an age-proportioned distance from the midline (the
    outline width at the shoulders is inflated by abducted or raised arms). A raised
    arm is the arm component reaching above the shoulder; otherwise the arm axis is
    read off the outline: the outer edge of the arm band, one arm radius inside, row
    by row along the humerus and then the forearm (:func:`_hanging_arm`).
    """
    nrow, ncol = core.shape
    H = fit.stature_px
    rows = fit.rows
    props = fit.props
    arm_px = core & ~leg_mask
    for r in range(nrow):
        if central[r, 0] >= 0 and r < rows["crotch"]:
            arm_px[r, central[r, 0] : central[r, 1]] = False
    cols = np.arange(ncol)[None, :]
    mids = np.array([fit.mid_col(r) for r in range(nrow)])[:, None]
    arm_px &= np.abs(cols - mids) > 0.45 * fit.half_width["hip"]
    lab, n = ndi.label(arm_px)
    arms: dict[str, LimbFit] = {}
    hum, rad, hand = (_ARM_LENGTH * f * H for f in (props.humerus, props.radius, _HAND))
    reach = 1.15 * (hum + rad + hand)
    mask = fit.outline.mask if fit.outline is not None else core
    for side, sign in (("right", -1.0), ("left", 1.0)):
        sh_r = shoulder_row if shoulder_row is not None else rows["shoulder"] + _SHOULDER_DROP * H
        sh_c = fit.mid_col(sh_r) + sign * _SHOULDER_LATERAL * 0.5 * props.shoulder_width * H
        shoulder = (sh_r, sh_c)
        pix = _arm_component(lab, n, shoulder, sign, fit, reach)
        raised = False
        tip = shoulder
        if pix.shape[0] >= 0.0015 * H * H:
            d = np.hypot(pix[:, 0] - sh_r, pix[:, 1] - sh_c)
            far = pix[d >= np.quantile(d, 0.995)]
            tip = (float(far[:, 0].mean()), float(far[:, 1].mean()))
            raised = tip[0] < sh_r - 0.5 * hum
        if not raised:
            arms[side] = _hanging_arm(fit, mask, shoulder, sign)
            continue
        counts = fit.outline.smoothed if (_RAISED_COUNTS and fit.outline is not None and not fit.outline.halo) else None
        elbow = _along(pix, shoulder, hum, tip, counts=counts)
        if _RAISED_ELBOW_SHIFT and counts is not None:
            # the ring's count-weighted centre lies medial of the phantom's elbow
            up0 = np.asarray(elbow) - np.asarray(shoulder)
            lat = np.array([-up0[1], up0[0]]) / max(float(np.linalg.norm(up0)), 1e-6)
            if lat[1] * sign < 0:
                lat = -lat
            e = np.asarray(elbow) + _RAISED_ELBOW_SHIFT * H * lat
            elbow = (float(e[0]), float(e[1]))
        # the forearm continues away from the shoulder, within 60 degrees of the humerus
        up = np.asarray(elbow) - np.asarray(shoulder)
        vec = pix - np.asarray(elbow)[None, :]
        cosang = (vec @ up) / np.maximum(np.linalg.norm(vec, axis=1) * max(float(np.linalg.norm(up)), 1e-6), 1e-6)
        fore = pix[cosang > 0.5]
        if fore.shape[0] >= 3:
            df = np.hypot(fore[:, 0] - sh_r, fore[:, 1] - sh_c)
            far = fore[df >= np.quantile(df, 0.99)]
            tip = (float(far[:, 0].mean()), float(far[:, 1].mean()))
            wrist = _along(fore, elbow, rad, tip)
            tip = _extend(elbow, wrist, hand)
        else:
            wrist = _extend(shoulder, elbow, rad)
            tip = _extend(elbow, wrist, hand)
        arms[side] = LimbFit(side, [shoulder, elbow, wrist, tip], 0.8, "raised")
    return arms


#: Shoulder joint below the shoulder line and its distance from the midline (share of
#: the age-proportioned half shoulder width); the arm axis one arm radius inside the
#: outer edge of the outline (fractions of stature; used to tell a forearm on the abdomen
#: and an elbow near the field edge, the joints use the edge on the counts below); hand
#: length. Measured on the phantom truth of seeds 0-49.
_SHOULDER_DROP = 0.010
#: Shoulder joint below the registered shoulder line (``rows['trunk_shoulder']``,
#: :func:`refit_arms`): median on the phantom truth of seeds 0-49 (sd 0.17 %).
_SHOULDER_DROP_TRUNK = 0.0101
#: Largest trunk half-width at the shoulders, as a share of the age prior.
_SHOULDER_CAP = 1.05
_SHOULDER_LATERAL = 0.755
_ARM_EDGE_INSET = 0.026
#: Arm band edge on the counts: where the smoothed counts fall to this share of the
#: band's level (median from 1.5 to 3.5 % of stature inside the outline edge); the bone
#: axis lies (humerus, forearm) this far inside it, perpendicular to the arm, in
#: fractions of stature (median offsets on the phantom truth of seeds 0-49: 1.63-1.71 %
#: for the humerus in all poses, 1.42 % for the forearm).
_BAND_EDGE = 0.3
_BAND_LEVEL = (0.015, 0.035)
_BAND_INSET = (0.017, 0.0142)
#: Width (share of stature) within which the band's inner edge must lie to be the arm's
#: own (narrower is noise at the outer edge, wider is the trunk beyond a gap).
_BAND_WIDTH_MIN = 0.015
_BAND_WIDTH_MAX = 0.07
#: Humerus direction (degrees, lateral) assumed when the field of view cuts the arm band.
_CLIPPED_ANGLE = 8.0
#: ... unless the body mask leaves the field edge above the elbow's row and stays off it
#: to the wrist: an abducted arm that left the field, pointed at where it crossed the edge
#: (:func:`_exit_angle`). Not on images with a penetration halo, whose outline encloses
#: the halo (LEHR tuning seeds 0-29 with it: left forearm+hand 0.565 -> 0.546, lesion centres
#: within 8 mm in ANT or POST 80.4 -> 79.1 %).
_CLIPPED_EXIT = True
#: Shoulder joint from the humerus axis line: lateral offset from the line at the
#: shoulder row, and the largest move from the proportioned prior (fractions of
#: stature; offset = median on the phantom truth of seeds 0-49).
_SHOULDER_AXIS_OFFSET = 0.002
_SHOULDER_AXIS_MAX = 0.02
_SHOULDER_AXIS_ANGLE = 15.0
#: Forearm of a hanging arm: at most this many degrees more medial than the humerus
#: (a band more medial is the trunk edge below an arm that left the field); when not
#: seen it carries on this many degrees more lateral (carrying angle; 4-6 degrees on
#: the phantom truth of seeds 0-49).
_FOREARM_TURN = 15.0
#: The same for an abducted arm (humerus more than :data:`_SHOULDER_AXIS_ANGLE` out): its
#: forearm leaves the field within a few rows and the edges medial of the humerus's line
#: below it are the trunk's (forearm 6 degrees lateral of the humerus on seeds 0-49).
_FOREARM_TURN_ABDUCTED = 2.0
#: Forearm axis midway between the band's two edges where both are seen (:func:`_edge_axis`).
_FOREARM_CENTRE = True
_HUMERUS_CENTRE = True
#: A forearm not seen carries on from the humerus band's own direction (:func:`_axis_angle` with ``line``).
_CARRY_FROM_LINE = True
_CARRY_ANGLE = 5.0
#: Abducted arms (humerus more than :data:`_SHOULDER_AXIS_ANGLE` out, below
#: ``_ABDUCTED_LINE_MAX_ANGLE``): shoulder column and elbow on the humerus axis line
#: (:func:`_shoulder_from_axis`, :func:`_on_axis_line`) from at least ``_ABDUCTED_LINE_MIN``
#: axis samples; the elbow is moved at most ``_ABDUCTED_LINE_MAX`` of stature and only when
#: the line's direction is within ``_ABDUCTED_LINE_TURN`` degrees of the median angle
#: (tuning seeds 0-199, abducted: elbow 0.54 -> 0.39 % of stature, humerus 0.830 -> 0.857,
#: forearm+hand 0.696 -> 0.748).
_ABDUCTED_LINE = True
_ABDUCTED_LINE_MAX_ANGLE = 40.0
_ABDUCTED_LINE_MIN = 5
_ABDUCTED_LINE_MAX = 0.015
_ABDUCTED_LINE_TURN = 10.0
#: Raised arms: the elbow is the centre of the ring's pixels on the arm band of the counts,
#: not of the whole outline (:func:`_along` with ``counts``; tuning seeds 0-199, raised:
#: elbow 0.39 -> 0.31 % of stature, humerus 0.823 -> 0.843, forearm+hand 0.719 -> 0.750;
#: the same for the wrist: 0.750 -> 0.748, not used).
_RAISED_COUNTS = True
#: ... and moved this share of stature laterally, across the humerus: the count-weighted
#: ring centre lies medial of the phantom's elbow by a median 0.21 % of stature (sd 0.18 /
#: 0.26 on tuning seeds 0-99 / 100-199; raised forearm+hand 0.752 -> 0.769 and 0.755 ->
#: 0.768, elbow 0.28 -> 0.23 and 0.33 -> 0.25 % of stature). Images with a halo keep the
#: outline ring and are not moved.
_RAISED_ELBOW_SHIFT = 0.002
_HAND = 0.105
#: Elbow and wrist of a hanging arm moved across the forearm onto the arm band's centre on
#: the smoothed counts (:func:`_refine_across`): profiles perpendicular to the segment,
#: ``_ACROSS_HALF`` of stature either side, at these shares of the segment length from the
#: joint; the band's run wider than ``_ACROSS_MAX_WIDTH`` is the trunk; the median offset,
#: from at least ``_ACROSS_MIN`` profiles, capped at ``_ACROSS_CAP`` of stature. Not on
#: images with a halo, nor forearms on the abdomen; an elbow beside the trunk (band run
#: reaching the profile's ends) keeps its place. Tuning seeds 0-199: elbow error across the
#: forearm (median |.|) 0.146 -> 0.126 % of stature, wrist 0.157 -> 0.135; forearm+hand
#: 0.736 / 0.744 -> 0.741 / 0.743 (right / left). Tried on 0-39 and 100-139 and not kept: the
#: half-maximum or band-edge midpoint instead of the count centroid (same or lower), the
#: crest bounded by the valley towards the trunk (pulls side elbows medially, 0.17 -> 0.23).
_ACROSS_REFINE = True
_ACROSS_HALF = 0.04
_ACROSS_MAX_WIDTH = 0.06
_ACROSS_ALONG = (0.0, 0.05, 0.1, 0.15)
_ACROSS_MIN = 2
_ACROSS_CAP = 0.005
#: Forearm axis of a hanging arm fitted through the arm band's count centres (after
#: :func:`_refine_across`, :func:`_forearm_line`): profiles across the forearm at
#: ``_LINE_N`` points from ``_LINE_SPAN[0]`` to ``_LINE_SPAN[1]`` of its length; a profile
#: counts when its mask run through the axis ends inside the scanned field on both sides
#: (a forearm cut by the field edge keeps only its visible profiles) and is narrower than
#: :data:`_ACROSS_MAX_WIDTH`; a least-squares line (one pass of outlier rejection) through at
#: least ``_LINE_MIN`` centres moves the elbow across onto it (at most :data:`_ACROSS_CAP` of
#: stature) and turns the forearm at most ``_LINE_TURN`` degrees; the wrist stays one forearm
#: length from the elbow. Tuning seeds 0-149 (session 8): forearm+hand 0.739 / 0.747 ->
#: 0.739 / 0.751, abducted 0.760 -> 0.776; the elbow move alone or the turn alone lose.
_FOREARM_LINE = True
_LINE_SPAN = (0.15, 0.9)
_LINE_N = 12
_LINE_MIN = 5
_LINE_TURN = 10.0
#: Arm bone lengths are the age proportions of the skeletal stature; the outline length
#: (``BodyFit.stature_px``, soft tissue and smoothing included) is 5 % longer (median
#: ratio of fitted to true humerus length on seeds 0-49, all poses alike).
_ARM_LENGTH = 0.95
#: Forearm direction (degrees from the feet-ward axis, positive lateral) below which the
#: forearm is taken to lie on the abdomen; there the wrist lies 0.3 radius lengths below
#: the elbow at this share of the trunk half-width from the midline, and the fingertips
#: at (rows below the elbow in radius lengths, signed share of the half-width; negative
#: = across the midline), measured on the phantom truth of seeds 0-49.
_ABDOMEN_ANGLE = -12.0
_ABDOMEN_WRIST = 0.25
_ABDOMEN_TIP = (0.74, -0.21)
#: Forearm on the abdomen, learned (least squares on the phantom truth of the tuning seeds
#: 0-199, 99 arms; fitted on 0-99 and tested on 100-199 first: wrist 0.85 -> 0.29 % of
#: stature, fingertips 0.98 -> 0.32 %): the wrist and the fingertips, in radius lengths,
#: rows below the elbow and columns from the midline (lateral positive), are linear in
#: (elbow's distance from the midline, age-proportioned hip half-width, 1), both in
#: radius lengths and clipped to ``_ABDOMEN_FEATURE_RANGE`` (training range 0.65-1.17).
#: Replaces the proportions above (``_ABDOMEN_WRIST``, ``_ABDOMEN_TIP``) when on.
_ABDOMEN_REGRESSION = True
_ABDOMEN_FEATURE_RANGE = (0.5, 1.3)
_ABDOMEN_MODEL = (
    ((-0.1525, -0.4084, 0.742), (0.6092, 0.4685, -0.6222)),  # wrist: row, column
    ((-0.228, -0.3464, 1.1904), (0.5569, 0.4928, -0.9493)),  # fingertips: row, column
)


def _edge_axis(
    mask: np.ndarray, r: float, sign: float, mid: float, inset: float, field: tuple[int, int],
    band: tuple[np.ndarray, float] | None = None, crest: float | None = None, centre: bool = False,
) -> float | None:
    """Arm axis column at row ``r`` from the outer edge of the arm band, or None.

    Without ``band`` the edge is the outline's (``mask``); with ``band`` = (smoothed
    counts, stature in px) it is where the counts fall to :data:`_BAND_EDGE` of the arm
    band's own level (median 1.5-3.5 % of stature inside the outline edge): the outline
    is set just above the air and spills a variable 1-3 % of stature beyond the arm.
    None when the row is outside the image, empty on this side, or the edge is at (or
    blurred beyond) the border of the scanned ``field`` columns (first, last): the arm
    is cut by the field of view there. With ``crest`` (and ``band``: images with a
    penetration halo, ``BodyOutline.halo``) the axis is the arm's crest of the counts
    at least ``crest`` px from the midline instead (:func:`mibgkit.anatomy.arms.crest_col`),
    None where there is none. With ``centre`` (and ``band``) the axis is midway between
    the band's outer and inner edges when the counts fall to :data:`_BAND_EDGE` of its
    level on both sides (a forearm clear of the trunk); else one inset inside the outer edge.
    """
    if crest is not None and band is not None:
        return crest_col(band[0], mask, r, sign, mid, band[1], field, crest)
    ri = int(round(r))
    edge = outer_edge(mask, ri, sign, mid, field)
    if edge is None:
        return None
    pos = float(edge)
    if band is not None:
        sm, H = band
        cols = edge - sign * np.arange(int(0.045 * H) + 1)
        cols = cols[(cols >= 0) & (cols < mask.shape[1])].astype(int)
        prof = sm[ri, cols]
        lo, hi = int(_BAND_LEVEL[0] * H), int(_BAND_LEVEL[1] * H) + 1
        if prof.size > lo:
            level = float(np.median(prof[lo:hi]))
            above = np.flatnonzero(prof > _BAND_EDGE * level)
            if level > 0 and above.size:
                pos = float(cols[above[0]])
                if centre:
                    # the band's inner edge, where the counts fall to the same share again
                    # within the widest band: the axis is midway (no assumed radius)
                    far = edge - sign * np.arange(int(_BAND_WIDTH_MAX * H) + 1)
                    far = far[(far >= 0) & (far < mask.shape[1])].astype(int)
                    pf = sm[ri, far]
                    k0 = int(above[0])
                    inner = np.flatnonzero(pf[k0:] < _BAND_EDGE * level)
                    if inner.size and inner[0] * 1.0 >= _BAND_WIDTH_MIN * H:
                        return 0.5 * (pos + float(far[k0 + inner[0]]) + sign * 0.5)
    return pos - sign * inset


def _crest_offset(fit: BodyFit) -> float | None:
    """Least distance of an arm crest from the midline (px) on halo images, else None."""
    if fit.outline is None or not fit.outline.halo:
        return None
    return CREST_LATERAL * 0.5 * fit.props.shoulder_width * fit.stature_px


def _direction(angle_deg: float, sign: float) -> np.ndarray:
    """Unit (row, col) vector ``angle_deg`` from the feet-ward axis, lateral to this side."""
    a = np.deg2rad(angle_deg)
    return np.array([np.cos(a), sign * np.sin(a)])


def _axis_angle(
    mask: np.ndarray, start: Point, length: float, sign: float, fit: BodyFit, inset: float = _ARM_EDGE_INSET,
    min_angle: float = -90.0, counts: bool = False, centre: bool = False, line: bool = False,
    samples: list[Point] | None = None,
) -> float | None:
    """Median direction (degrees, lateral positive) from ``start`` to the arm-band axis.

    The axis is sampled on rows 35-85 % of ``length`` below ``start``; samples more medial
    than ``min_angle`` are another edge (the trunk's, below an arm that left the field)
    and dropped. With ``counts`` the edge is read on the counts (:func:`_edge_axis`) and
    ``inset`` is perpendicular to the arm (two passes: the first angle sets the
    horizontal inset of the second). None when the arm band is not seen there (it
    leaves the field of view).
    """
    H = fit.stature_px
    field = (0, mask.shape[1] - 1)
    if fit.outline is not None and fit.outline.field_cols is not None:
        field = fit.outline.field_cols
    band = (fit.outline.smoothed, H) if counts and fit.outline is not None else None
    halo = _crest_offset(fit)
    result: float | None = None
    for _ in range(2 if band is not None else 1):
        horiz = inset * H / max(np.cos(np.deg2rad(result)), 0.5) if result is not None else inset * H
        angles, rr, cc = [], [], []
        for f in np.linspace(0.35, 0.85, 11):
            r = start[0] + f * length * 0.95
            a = _edge_axis(mask, r, sign, fit.mid_col(r), horiz, field, band, halo, centre)
            if a is None:
                continue
            ang = float(np.degrees(np.arctan2(sign * (a - start[1]), r - start[0])))
            if ang >= min_angle:
                angles.append(ang)
                rr.append(r)
                cc.append(a)
        if len(angles) < 3:
            return None
        if samples is not None:
            samples[:] = list(zip(rr, cc))
        result = float(np.median(angles))
        if line and len(rr) >= 5:
            slope = float(np.polyfit(np.asarray(rr), np.asarray(cc), 1)[0])
            result = float(np.degrees(np.arctan(sign * slope)))
    return result


def _shoulder_from_axis(
    fit: BodyFit, mask: np.ndarray, shoulder: Point, hum: float, th: float, sign: float
) -> float | None:
    """Shoulder-joint column on the humerus axis line extrapolated to the shoulder row.

    The axis (arm band edge on the counts, :func:`_edge_axis`) is sampled on rows
    20-85 % of the way to the elbow and fitted with a line; the humerus head lies
    :data:`_SHOULDER_AXIS_OFFSET` lateral to where that line crosses the shoulder row
    (the soft tissue of the upper arm sits a little medial of the bone there). None
    with fewer than 6 samples (arm cut by the field) or a result farther than
    :data:`_SHOULDER_AXIS_MAX` from the proportioned prior.
    """
    H = fit.stature_px
    field = fit.outline.field_cols if fit.outline is not None and fit.outline.field_cols else (0, mask.shape[1] - 1)
    band = (fit.outline.smoothed, H) if fit.outline is not None else None
    horiz = _BAND_INSET[0] * H / max(np.cos(np.deg2rad(th)), 0.5)
    rr, cc = [], []
    for f in np.linspace(0.2, 0.85, 14):
        r = shoulder[0] + f * hum * np.cos(np.deg2rad(th))
        a = _edge_axis(mask, r, sign, fit.mid_col(r), horiz, field, band, _crest_offset(fit))
        if a is not None:
            rr.append(r)
            cc.append(a)
    if len(rr) < 6:
        return None
    b, a0 = np.polyfit(np.asarray(rr), np.asarray(cc), 1)
    col = float(a0 + b * shoulder[0] + sign * _SHOULDER_AXIS_OFFSET * H)
    if abs(col - shoulder[1]) > _SHOULDER_AXIS_MAX * H:
        return None
    return col


def _hanging_arm(fit: BodyFit, mask: np.ndarray, shoulder: Point, sign: float) -> LimbFit:
    """Joints of an arm hanging from the shoulder (at the sides, abducted, hands on the abdomen)."""
    H = fit.stature_px
    props = fit.props
    side = "right" if sign < 0 else "left"
    hum, rad, hand = (_ARM_LENGTH * f * H for f in (props.humerus, props.radius, _HAND))
    th = _axis_angle(mask, shoulder, hum, sign, fit, _BAND_INSET[0], counts=True)
    halo = fit.outline is not None and fit.outline.halo  # crest axis: the line moves are for ME images
    if th is not None and th < _SHOULDER_AXIS_ANGLE:
        # the shoulder column from the humerus axis itself (the prior's spread is 2-3x wider)
        col = _shoulder_from_axis(fit, mask, shoulder, hum, th, sign)
        if col is not None:
            shoulder = (shoulder[0], col)
            th = _axis_angle(mask, shoulder, hum, sign, fit, _BAND_INSET[0], counts=True, centre=_HUMERUS_CENTRE)
    elif th is not None and _ABDUCTED_LINE and not halo and th < _ABDUCTED_LINE_MAX_ANGLE:
        # abducted: the shoulder column from the humerus axis line too (its row is the
        # registered shoulder line's now, so the crossing is no longer moved sideways by it),
        # and below the elbow is put on that line (next block); the medial band edge is the
        # axilla's, so the axis stays one inset inside the outer edge
        col = _shoulder_from_axis(fit, mask, shoulder, hum, th, sign)
        if col is not None:
            shoulder = (shoulder[0], col)
            th = _axis_angle(mask, shoulder, hum, sign, fit, _BAND_INSET[0], counts=True)
    conf = 0.8
    clipped = th is None
    if th is None:
        # the arm band is cut by the field edge along the humerus: arm at the side, unless
        # the outline leaves the field edge above the elbow (an abducted arm out of the field)
        th, conf = _CLIPPED_ANGLE, 0.3
        out = _exit_angle(fit, mask, shoulder, hum, rad, sign) if _CLIPPED_EXIT and not halo else None
        if out is not None:
            th, clipped = out, False
    th = float(np.clip(th, -5.0, 70.0))
    elbow_v = np.asarray(shoulder) + hum * _direction(th, sign)
    if _ABDUCTED_LINE and not halo and not clipped and th >= _SHOULDER_AXIS_ANGLE:
        # the elbow on the line fitted through the humerus band's axis samples, one humerus
        # length from the shoulder (the median angle from the shoulder carries the
        # shoulder's own error into the elbow's column)
        hs: list[Point] = []
        _axis_angle(mask, shoulder, hum, sign, fit, _BAND_INSET[0], counts=True, samples=hs)
        if len(hs) >= _ABDUCTED_LINE_MIN:
            moved = _on_axis_line(np.asarray(hs), shoulder, elbow_v, hum, sign, th, H)
            if moved is not None:
                elbow_v = moved[0]
    elbow = (float(elbow_v[0]), float(elbow_v[1]))
    turn = _FOREARM_TURN if th < _SHOULDER_AXIS_ANGLE else _FOREARM_TURN_ABDUCTED
    tf = _axis_angle(mask, elbow, rad, sign, fit, _BAND_INSET[1], min_angle=th - turn, counts=True,
                     centre=_FOREARM_CENTRE)
    t_abd = _axis_angle(mask, elbow, rad, sign, fit)
    inside = 2.0 * _ARM_EDGE_INSET * H <= elbow[1] <= mask.shape[1] - 1 - 2.0 * _ARM_EDGE_INSET * H
    if t_abd is not None and t_abd < _ABDOMEN_ANGLE and th < 20.0 and inside:
        # no arm band beside the trunk below the elbow: the forearm lies on the abdomen
        r_w = elbow[0] + 0.3 * rad
        mid = fit.mid_col(r_w)
        if _ABDOMEN_REGRESSION:
            # learned from the elbow's distance from the midline and the hip half-width
            feat = np.array([np.clip(sign * (elbow[1] - mid) / rad, *_ABDOMEN_FEATURE_RANGE),
                             np.clip(fit.half_width["hip"] / rad, *_ABDOMEN_FEATURE_RANGE), 1.0])
            (wr, wc), (tr, tc) = ((float(np.dot(feat, c)) for c in pair) for pair in _ABDOMEN_MODEL)
            wrist_v = np.array([elbow[0] + wr * rad, mid + sign * wc * rad])
            tip_v = np.array([elbow[0] + tr * rad, mid + sign * tc * rad])
        else:
            run = np.flatnonzero(mask[int(np.clip(round(r_w), 0, mask.shape[0] - 1))])
            half = float(np.max(np.abs(run - mid))) if run.size else fit.half_width["hip"]
            wrist_v = np.array([r_w, mid + sign * _ABDOMEN_WRIST * half])
            tip_v = np.array([elbow[0] + _ABDOMEN_TIP[0] * rad, mid + sign * _ABDOMEN_TIP[1] * half])
        pose = "on_abdomen"
    else:
        if tf is None:
            # the forearm band is cut by the field edge: along the edge when the whole arm
            # is (arm at the side of a narrow field), else carry on nearly straight, from
            # the direction of the humerus band itself (the line through its axis samples
            # does not carry the shoulder's lateral error as the shoulder-elbow angle does)
            t_line = None if clipped else _axis_angle(mask, shoulder, hum, sign, fit, _BAND_INSET[0], counts=True,
                                                      line=_CARRY_FROM_LINE)
            tf = 0.0 if clipped else (t_line if t_line is not None else th) + _CARRY_ANGLE
        tf = float(np.clip(tf, th - _FOREARM_TURN, th + 25.0))
        wrist_v = elbow_v + rad * _direction(tf, sign)
        tip_v = wrist_v + hand * _direction(tf, sign)
        pose = "hanging"
    if _ACROSS_REFINE and pose == "hanging" and not halo and fit.outline is not None:
        elbow_v, wrist_v, tip_v = _refine_across(fit, mask, np.asarray(shoulder), np.asarray(elbow_v),
                                                 np.asarray(wrist_v), hand)
        if _FOREARM_LINE:
            elbow_v, wrist_v, tip_v = _forearm_line(fit, mask, elbow_v, wrist_v, hand)
        elbow = (float(elbow_v[0]), float(elbow_v[1]))
    joints = [shoulder, elbow, (float(wrist_v[0]), float(wrist_v[1])), (float(tip_v[0]), float(tip_v[1]))]
    return LimbFit(side, joints, conf, pose)


def _profile(p: np.ndarray, u: np.ndarray, H: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample positions ``t`` (px, 0.5 px apart), points and their rounded rows / columns of
    the profile through ``p`` perpendicular to unit ``u``, :data:`_ACROSS_HALF` of stature each way."""
    n = np.array([-u[1], u[0]])
    half = _ACROSS_HALF * H
    t = np.arange(-half, half + 0.25, 0.5)
    pts = p[None, :] + t[:, None] * n[None, :]
    return t, pts, np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)


def _run_centre(
    counts: np.ndarray, mask: np.ndarray, t: np.ndarray, pts: np.ndarray, ri: np.ndarray, ci: np.ndarray,
    ok: np.ndarray, H: float,
) -> float | None:
    """Count centre (px along the profile) of the mask run through the profile's middle.

    Samples where ``ok`` is False are outside the body; a run that reaches such a sample or
    the profile's ends (cut, or merged with the trunk), or is wider than
    :data:`_ACROSS_MAX_WIDTH` of stature, gives None.
    """
    k0 = len(t) // 2
    if not ok[k0]:
        return None
    inside = np.zeros(len(t), bool)
    inside[ok] = mask[ri[ok], ci[ok]]
    if not inside[k0]:
        return None
    lo = k0
    while lo > 0 and inside[lo - 1]:
        lo -= 1
    hi = k0
    while hi < len(t) - 1 and inside[hi + 1]:
        hi += 1
    if lo == 0 or hi == len(t) - 1 or not (ok[lo - 1] and ok[hi + 1]) or (t[hi] - t[lo]) > _ACROSS_MAX_WIDTH * H:
        return None
    v = ndi.map_coordinates(counts, pts[lo:hi + 1].T, order=1)
    w = np.clip(v - float(v.min()), 0.0, None)
    if w.sum() <= 0:
        return None
    return float((w * t[lo:hi + 1]).sum() / w.sum())


def _across_offset(
    counts: np.ndarray, mask: np.ndarray, p: np.ndarray, u: np.ndarray, H: float,
) -> float | None:
    """Offset (px, along the normal of unit direction ``u``) of the arm band's centre at ``p``.

    The smoothed counts are sampled on a line through ``p`` perpendicular to ``u``; the
    mask run through ``p`` bounds the band. None where the run is wider than
    :data:`_ACROSS_MAX_WIDTH` of stature (the band merges with the trunk) or the profile
    leaves the image.
    """
    t, pts, ri, ci = _profile(p, u, H)
    ok = (ri >= 0) & (ri < mask.shape[0]) & (ci >= 0) & (ci < mask.shape[1])
    if not ok.all():
        return None
    return _run_centre(counts, mask, t, pts, ri, ci, ok, H)


def _refine_across(
    fit: BodyFit, mask: np.ndarray, shoulder: np.ndarray, elbow: np.ndarray, wrist: np.ndarray, hand: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elbow and wrist moved across the forearm onto the arm band's count centre.

    Each joint moves along the normal of the fitted forearm (elbow to wrist) by the
    median of :func:`_across_offset` over profiles at :data:`_ACROSS_ALONG` of the
    humerus (elbow only) and forearm lengths into the segment, clipped to
    :data:`_ACROSS_CAP` of stature. Returns the elbow, the wrist and the fingertips
    (one hand length past the wrist on the new forearm line).
    """
    assert fit.outline is not None
    counts = fit.outline.smoothed
    H = fit.stature_px
    cap = _ACROSS_CAP * H
    fu = wrist - elbow
    fu = fu / max(float(np.linalg.norm(fu)), 1e-6)
    hu = elbow - shoulder
    hu = hu / max(float(np.linalg.norm(hu)), 1e-6)
    out = []
    # (direction, segment length, +1 = into the segment along the direction, -1 = back)
    lh, lf = float(np.linalg.norm(elbow - shoulder)), float(np.linalg.norm(wrist - elbow))
    for joint, segs in ((elbow, ((hu, lh, -1.0), (fu, lf, 1.0))), (wrist, ((fu, lf, -1.0),))):
        offs = []
        for u, L, into in segs:
            for f in _ACROSS_ALONG:
                q = joint + into * f * L * u
                o = _across_offset(counts, mask, q, u, H)
                if o is not None:
                    # the offset across this segment, projected on the joint's normal
                    offs.append(o)
        n = np.array([-fu[1], fu[0]])
        if len(offs) >= _ACROSS_MIN:
            d = float(np.clip(np.median(offs), -cap, cap))
            joint = joint + d * n
        out.append(joint)
    e, w = out
    d = w - e
    d = d / max(float(np.linalg.norm(d)), 1e-6)
    return e, w, w + hand * d


def _band_centre(
    counts: np.ndarray, mask: np.ndarray, p: np.ndarray, u: np.ndarray, H: float, field: tuple[int, int],
) -> float | None:
    """Count centre (px along the normal of unit ``u``) of the arm band's run through ``p``.

    Like :func:`_across_offset`, but samples outside the scanned ``field`` columns are
    outside the body, and a run that ends at the field edge or the profile's ends (cut,
    or merged with the trunk) gives None.
    """
    t, pts, ri, ci = _profile(p, u, H)
    ok = (ri >= 0) & (ri < mask.shape[0]) & (ci >= field[0]) & (ci <= field[1])
    return _run_centre(counts, mask, t, pts, ri, ci, ok, H)


def _forearm_line(
    fit: BodyFit, mask: np.ndarray, elbow: np.ndarray, wrist: np.ndarray, hand: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elbow, wrist and fingertips on the forearm axis read from the image.

    The count centres of the arm band (:func:`_band_centre`) on profiles across the
    fitted forearm (:data:`_LINE_SPAN`, :data:`_LINE_N`) are fitted with a line (offset
    across vs distance along); the elbow moves across onto that line (capped at
    :data:`_ACROSS_CAP` of stature), the forearm turns to it (at most :data:`_LINE_TURN`
    degrees) and keeps its length; the fingertips are one hand length past the wrist.
    Unchanged with fewer than :data:`_LINE_MIN` centres.
    """
    assert fit.outline is not None
    H = fit.stature_px
    field = fit.outline.field_cols if fit.outline.field_cols is not None else (0, mask.shape[1] - 1)
    length = float(np.linalg.norm(wrist - elbow))
    u = (wrist - elbow) / max(length, 1e-6)
    n = np.array([-u[1], u[0]])
    tt, oo = [], []
    for f in np.linspace(_LINE_SPAN[0], _LINE_SPAN[1], _LINE_N):
        o = _band_centre(fit.outline.smoothed, mask, elbow + f * length * u, u, H, field)
        if o is not None:
            tt.append(f * length)
            oo.append(o)
    if len(tt) < _LINE_MIN:
        return elbow, wrist, wrist + hand * u
    ta, oa = np.asarray(tt), np.asarray(oo)
    b, a = np.polyfit(ta, oa, 1)
    res = np.abs(oa - (a + b * ta))
    keep = res <= max(2.5 * float(np.median(res)), 0.5)
    if keep.sum() >= _LINE_MIN:
        b, a = np.polyfit(ta[keep], oa[keep], 1)
    b = float(np.tan(np.radians(np.clip(np.degrees(np.arctan(b)), -_LINE_TURN, _LINE_TURN))))
    cap = _ACROSS_CAP * H
    e = elbow + float(np.clip(a, -cap, cap)) * n
    u2 = u + b * n
    u2 = u2 / float(np.linalg.norm(u2))
    w = e + length * u2
    return e, w, w + hand * u2


def _exit_angle(fit: BodyFit, mask: np.ndarray, shoulder: Point, hum: float, rad: float, sign: float) -> float | None:
    """Direction (degrees, lateral positive) of an arm that leaves the field above its elbow.

    The body mask touches the field edge on the arm's side where the arm band crosses it;
    when the lowest such row lies above the elbow's row (one humerus length at
    :data:`_CLIPPED_ANGLE` below the shoulder) and the mask stays off the edge from there
    to one forearm length below the elbow, the arm has left the field: the direction from
    the shoulder to that crossing (past the edge the arm is not mapped). None otherwise
    (an arm at the side of a narrow field runs along the edge below the elbow).
    """
    field = (0, mask.shape[1] - 1)
    if fit.outline is not None and fit.outline.field_cols is not None:
        field = fit.outline.field_cols
    col = int(field[0] if sign < 0 else field[1])
    r0 = int(max(round(shoulder[0]), 0))
    r_elbow = shoulder[0] + hum * np.cos(np.deg2rad(_CLIPPED_ANGLE))
    r1 = int(min(round(r_elbow + rad), mask.shape[0] - 1))
    if r1 <= r0:
        return None
    touch = np.flatnonzero(mask[r0: r1 + 1, col]) + r0
    if touch.size == 0:
        return None
    r_exit = float(touch.max())
    if r_exit >= r_elbow:
        return None
    ang = float(np.degrees(np.arctan2(sign * (col - shoulder[1]), r_exit - shoulder[0])))
    return ang if _CLIPPED_ANGLE < ang < 70.0 else None


def _on_axis_line(
    samples: np.ndarray, shoulder: Point, elbow: np.ndarray, hum: float, sign: float, th: float, H: float,
) -> tuple[np.ndarray, float] | None:
    """The point of the line through ``samples`` one humerus length ``hum`` from the shoulder.

    ``samples`` are (row, col) axis samples of the humerus band; the line is fitted as
    col = a + b * row and the root nearest ``elbow`` (placed by the median angle ``th``)
    is taken. Returns that point and the line's direction (degrees from the feet-ward
    axis, lateral positive), or None when it lies farther than :data:`_ABDUCTED_LINE_MAX`
    of stature ``H`` from ``elbow`` or the line's direction differs from ``th`` by more
    than :data:`_ABDUCTED_LINE_TURN` degrees.
    """
    rr, cc = samples[:, 0], samples[:, 1]
    b, a = np.polyfit(rr, cc, 1)
    u = np.array([1.0, b]) / float(np.hypot(1.0, b))
    p0 = np.array([float(np.mean(rr)), float(a + b * np.mean(rr))])
    # |p0 + t u - S| = hum, the root nearest the current elbow
    d = p0 - np.asarray(shoulder)
    pb = float(d @ u)
    disc = pb * pb - (float(d @ d) - hum * hum)
    if disc < 0:
        return None
    t_now = float((elbow - p0) @ u)
    roots = np.array([-pb - np.sqrt(disc), -pb + np.sqrt(disc)])
    t = float(roots[np.argmin(np.abs(roots - t_now))])
    new = p0 + t * u
    if float(np.hypot(*(new - elbow))) > _ABDUCTED_LINE_MAX * H:
        return None
    t_line = float(np.degrees(np.arctan2(sign * u[1], u[0])))
    if abs(t_line - th) > _ABDUCTED_LINE_TURN:
        return None
    return new, t_line


def _arm_component(lab: np.ndarray, n: int, shoulder: Point, sign: float, fit: BodyFit, reach: float) -> np.ndarray:
    """Pixels (row, col) of the arm components that start next to this shoulder."""
    if n == 0:
        return np.zeros((0, 2))
    H = fit.stature_px
    sl = ndi.find_objects(lab)
    keep = []
    for i, box in enumerate(sl, start=1):
        if box is None:
            continue
        sub = lab[box] == i
        rr, cc = np.nonzero(sub)
        rr = rr + box[0].start
        cc = cc + box[1].start
        if rr.size < 0.0015 * H * H:
            continue
        if np.sign(cc.mean() - fit.mid_col(float(rr.mean()))) != sign:
            continue
        dmin = float(np.min(np.hypot(rr - shoulder[0], cc - shoulder[1])))
        if dmin > 0.09 * H:
            continue
        keep.append(np.stack([rr, cc], axis=1))
    if not keep:
        return np.zeros((0, 2))
    pix = np.concatenate(keep).astype(float)
    return pix[np.hypot(pix[:, 0] - shoulder[0], pix[:, 1] - shoulder[1]) < reach]


def _extend(a: Point, b: Point, length: float) -> Point:
    """The point ``length`` beyond ``b`` on the line from ``a`` through ``b``."""
    v = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    v /= max(float(np.linalg.norm(v)), 1e-6)
    return (float(b[0] + length * v[0]), float(b[1] + length * v[1]))


def _along(
    pix: np.ndarray, start: Point, length: float, toward: Point,
    origin: Point | None = None, min_from_origin: float = 0.0, counts: np.ndarray | None = None,
) -> Point:
    """The centre of the arm pixels at ``length`` from ``start`` (heading to ``toward``).

    With ``counts`` (smoothed counts) only the pixels of that ring whose counts reach
    :data:`_BAND_EDGE` of the ring's highest are used: the arm band itself, not the
    outline's spill beyond it, which is wider on the side away from the head.
    """
    d = np.hypot(pix[:, 0] - start[0], pix[:, 1] - start[1])
    band = np.abs(d - length) < max(2.0, 0.06 * length)
    if origin is not None:
        d0 = np.hypot(pix[:, 0] - origin[0], pix[:, 1] - origin[1])
        band &= d0 > min_from_origin
    if counts is not None and band.sum() >= 3:
        ci = pix[band].astype(int)
        w = counts[ci[:, 0], ci[:, 1]]
        strong = np.zeros_like(band)
        strong[np.flatnonzero(band)[w >= _BAND_EDGE * float(w.max())]] = True
        if strong.sum() >= 3:
            band = strong
    if band.sum() >= 3:
        return (float(pix[band, 0].mean()), float(pix[band, 1].mean()))
    v = np.array([toward[0] - start[0], toward[1] - start[1]])
    nv = float(np.linalg.norm(v))
    if nv < 1e-6:
        return start
    step = min(length, nv) / nv
    return (start[0] + v[0] * step, start[1] + v[1] * step)


# --------------------------------------------------------------------------- report


def _landmark_list(fit: BodyFit, conf: dict[str, float]) -> list[Landmark]:
    """The landmarks as reported in a SegmentMap (normalized row, col)."""
    out: list[Landmark] = []
    for name in ("head_top", "chin", "neck", "shoulder", "crotch", "sole"):
        r = fit.rows[name]
        out.append(Landmark(name, r, fit.mid_col(r), float(conf.get(name, 0.0))))
    for side, limb in fit.arms.items():
        for jn, p in zip(("shoulder", "elbow", "wrist", "hand"), limb.joints):
            out.append(Landmark(f"{side}_{jn}", p[0], p[1], limb.confidence))
    for side, limb in fit.legs.items():
        for jn, p in zip(("hip", "knee", "ankle", "foot"), limb.joints):
            out.append(Landmark(f"{side}_{jn}", p[0], p[1], limb.confidence))
    return out

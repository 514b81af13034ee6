"""Diffuse involvement per segment from segment-level evidence (an ordinal model).

The pixel-wise abnormal-bone fraction of :mod:`mibgkit.detect.diffuse` needs a segment
map that follows the bone; the project's mapper is a few millimetres off and its masks
include soft tissue and organ uptake, so a threshold on that fraction either misses
most diffuse segments or invents them. This step instead summarizes what the image
supports about each mapped segment, on ANT and POST, in five numbers that degrade
gracefully when the mask is off:

``fls``
    fraction of the segment's gradable pixels (outside large organ-like uptake) whose
    local significance (:func:`~mibgkit.detect.focal.local_significance`) exceeds
    ``diffuse_local_z``: uptake standing out of its surroundings;
``fs2``, ``fs3``
    fractions whose smoothed counts exceed 2x / 3x the *soft-tissue level* around the
    bone (masked Gaussian mean of body pixels away from bone and organ uptake): uptake
    above what the tissue in front of and behind the bone contributes;
``ls75``
    75th percentile of the local significance;
``log_r_soft``
    log median ratio of the counts to that soft-tissue level (about 0 for uninvolved
    bone; negative where the mask lies outside the body).
``fb2``
    fraction above ``diffuse_bone_ratio`` (2) x a *bone-restricted background*: the
    ``diffuse_bone_q`` (25th) percentile of the smoothed counts of the gradable mapped
    bone (organ uptake excluded) of the segment and every segment within
    ``diffuse_bone_nb_mm``: part of the bone brighter than the rest of the skeleton
    around it (partial involvement, grade 4). On the trunk the mapper's masks hold
    soft tissue and organs, so the model uses it on the limbs only (``fb2_limb``);
``fc2``
    limbs only: fraction above 2x the median of the *contralateral* segment (same
    level, other side). Bilateral symmetric involvement gives no contrast here; the
    other measures and the study context must carry it.
``end_hi``
    limbs only: log of the 75th percentile of the ratio to the soft-tissue level over
    the brighter *end* of the segment (the first or last ``END_SHARE`` of its length
    along the principal axis of the mapped pixels; 0 elsewhere). Diffuse marrow disease
    of a long bone starts at a metaphysis and spreads along the shaft, and the
    percentile over a band across the bone does not swing when the mapper's border moves
    by a few pixels sideways.
``fs15``, ``r10``
    fraction above 1.5x the soft-tissue level, and the 10th percentile of the ratio: the
    *least* involved part of the segment. Bone involved from end to end (grade 6) lifts
    it, a partly involved bone (grade 5) does not; used by the extent stage below.

Each is averaged over the views where the segment is mapped (ANT and POST must agree
for a high value). With the number of focal spots found in the segment (capped at 4),
the summed confidence of all its bone candidates, proposed or not (``sconf``: the
expected number of foci, including those too faint to be proposed one by one),
two segment-group indicators (trunk, skull) and the study context -- the mean ``fls`` of
the study's other segments, entering only as a product with the segment's own
evidence (diffuse disease is multifocal, so evidence weighs more in a study with
uptake elsewhere, but context alone never makes a segment diffuse) -- a monotone
cumulative-logit (ordinal) model gives the probability of each band: no diffuse
involvement (grade 0-3 from the foci), grade 4, 5 or 6. Every evidence coefficient is
>= 0, so more uptake never lowers the band. The coefficients were fitted on tuning
phantoms (seeds < 500) scored with the project's mapper, so the model has learned the
mapper's errors (``benchmarks/bench_detect.py --tune-diffuse``); they live in
``mibgkit/data/diffuse_ordinal.json`` (``DetectParams.diffuse_model_file``) and are
evaluated with numpy.

The model also takes ``uconf``, the summed confidence of the segment's candidates
below the focal operating point (lumps of extended uptake that no single focus
explains), the context products ``ctx_fb2_limb``, ``ctx_fc2``, and ``c4``, the
fourth-largest candidate confidence (the evidence for *more than three* foci, which
the summed confidence alone confuses with three sure ones).

Each segment takes its most probable band, except in a study whose total with those
bands is already above the SIOPEN ``<= 3`` threshold: there a segment whose probability
of no diffuse involvement is below ``DetectParams.diffuse_extended_p0`` takes its most
probable band among grade 4-6 (:func:`decide_bands`; the most probable band
under-grades extensive disease, and raising grades there cannot move the ``<= 3``
call).

Among the segments given a diffuse band, an *extent stage* (optional in the data
file, key ``extent``) chooses the band again, 1-3 (grade 4, 5 or 6), with a multinomial
logistic model per segment group (limbs; skull and trunk) on extent measures
(:data:`DiffuseModel.extent` features: ``fs15``, ``r10``, ``fb2``, ``fs2``, ``fs3``,
``fls``, ``sconf``), fitted on the truly diffuse tuning segments (grade 4 with a diffuse
lesion, 5, 6). The cumulative model ranks segments by one score, so it cannot tell a
bone involved from end to end from a brighter partial one; the low end of the ratio
(``fs15``, ``r10``) rises with the first, while ``fb2`` (the part brighter than the
surrounding bone) falls, because the whole bone lifts its own background. Whether a
segment is diffuse at all stays the ordinal model's call.

The chosen band above 0 becomes a diffuse :class:`~mibgkit.detect.model.Hotspot`
whose ``diffuse_fraction`` lies in that band's SIOPEN range, so the grade comes from
:func:`mibgkit.scoring.rules.siopen_grade` and the reader can reject the call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage as ndi

from mibgkit.detect.diffuse import _organ_cover
from mibgkit.detect.focal import ViewAnalysis, _dilate_cross, _interp_index
from mibgkit.detect.model import Hotspot, Location
from mibgkit.detect.params import DetectParams
from mibgkit.io.model import PlanarView
from mibgkit.segments import SIOPEN_KEYS

if TYPE_CHECKING:
    from mibgkit.detect.fuse import FusedCandidate

__all__ = [
    "VIEW_FEATURES",
    "DiffuseModel",
    "DiffuseCall",
    "load_model",
    "soft_tissue_level",
    "view_features",
    "segment_features",
    "diffuse_calls",
    "diffuse_hotspots",
    "uptake_centroid",
    "decide_bands",
    "fourth_confidence",
    "END_SHARE",
]

#: Per-view features of one segment, in the order :func:`view_features` computes them.
VIEW_FEATURES: tuple[str, ...] = ("fls", "fs2", "fs3", "ls75", "log_r_soft", "fb2", "fc2", "end_hi", "fs15", "r10")
_TRUNK = frozenset({"thoracic_cage", "spine", "pelvis"})
#: Limb segment -> the same level on the other side (the reference of ``fc2``).
CONTRALATERAL: dict[str, str] = {
    f"{side}_{part}": f"{other}_{part}"
    for side, other in (("right", "left"), ("left", "right"))
    for part in ("upper_limb_proximal", "upper_limb_distal", "lower_limb_proximal", "lower_limb_distal")
}
_MIN_PIXELS = 10
#: Limb segments (``end_hi`` is computed for these only).
_LIMBS = frozenset(CONTRALATERAL)
#: Share of a limb segment's length (along its principal axis) that makes one end.
END_SHARE = 0.1


def soft_tissue_level(va: ViewAnalysis, params: DetectParams) -> np.ndarray:
    """Counts of the soft tissue around the bone, per pixel.

    Masked Gaussian mean of the body pixels farther than ``diffuse_near_bone_mm`` from
    mapped bone and outside organ-like uptake, at ``diffuse_soft_sigma_mm``; where that
    window holds too few such pixels, the same at 2.5x and then 6x the scale. Computed
    on a 4x4 block-averaged grid (the result is smooth at these scales) and
    interpolated back.

    Parameters
    ----------
    va : ViewAnalysis
    params : DetectParams

    Returns
    -------
    ndarray of float32, shape (rows, cols)
    """
    sr, sc = va.spacing
    bone = va.labels > 0
    it = max(1, int(round(params.diffuse_near_bone_mm / sr)))
    soft = va.body & ~_dilate_cross(bone, it) & (va.organ == 0)
    img = np.asarray(va.image, dtype=np.float32)
    f = 4
    nr, nc = img.shape
    pad = ((0, (-nr) % f), (0, (-nc) % f))

    def block(x: np.ndarray) -> np.ndarray:
        xp = np.pad(x, pad, mode="edge") if pad[0][1] or pad[1][1] else x
        return xp.reshape(xp.shape[0] // f, f, xp.shape[1] // f, f).mean(axis=(1, 3))

    w_small, m_small = block(soft.astype(np.float32)), block(img * soft)
    out = np.full(w_small.shape, np.nan, dtype=np.float32)
    for factor, w_min in ((1.0, 0.05), (2.5, 0.01), (6.0, 0.01)):
        sig = (factor * params.diffuse_soft_sigma_mm / (sr * f), factor * params.diffuse_soft_sigma_mm / (sc * f))
        w = ndi.gaussian_filter(w_small, sig, truncate=3.0)
        m = ndi.gaussian_filter(m_small, sig, truncate=3.0) / np.maximum(w, 1e-6)
        out = np.where(np.isnan(out) & (w > w_min), m, out)
    fill = float(np.nanmedian(out)) if np.isfinite(out).any() else 1.0
    small = np.nan_to_num(out, nan=fill)
    i0, i1, wr = _interp_index(nr, f)
    rows = small[i0] * (1 - wr)[:, None] + small[i1] * wr[:, None]
    j0, j1, wc = _interp_index(nc, f)
    return (rows[:, j0] * (1 - wc) + rows[:, j1] * wc).astype(np.float32)


def _bone_background(va: ViewAnalysis, sm: np.ndarray, good: np.ndarray, i: int, sl: tuple[slice, slice],
                     params: DetectParams) -> float | None:
    """Bone-restricted background of segment label ``i``: the ``diffuse_bone_q``-th
    percentile of the smoothed counts of gradable bone (no organ uptake) of the segment
    and every segment within ``diffuse_bone_nb_mm`` of it (on a 4x4 block grid)."""
    sr, sc = va.spacing
    f = 4
    pad = int(np.ceil(params.diffuse_bone_nb_mm / min(sr, sc)))
    r0, r1 = max(0, sl[0].start - pad), min(va.labels.shape[0], sl[0].stop + pad)
    c0, c1 = max(0, sl[1].start - pad), min(va.labels.shape[1], sl[1].stop + pad)
    seg = va.labels[r0:r1, c0:c1] == i
    nr, nc = seg.shape
    ps = np.pad(seg, ((0, (-nr) % f), (0, (-nc) % f)))
    small = ps.reshape(ps.shape[0] // f, f, ps.shape[1] // f, f).any(axis=(1, 3))
    it = max(1, int(round(params.diffuse_bone_nb_mm / (f * min(sr, sc)))))
    near = _dilate_cross(np.asarray(small), it)
    near = np.repeat(np.repeat(near, f, axis=0), f, axis=1)[:nr, :nc]
    vals = sm[r0:r1, c0:c1][near & good[r0:r1, c0:c1]]
    if vals.size < _MIN_PIXELS:
        return None
    return float(np.percentile(vals, params.diffuse_bone_q))


def _end_ratio(g: np.ndarray, ratio: np.ndarray, spacing: tuple[float, float]) -> float:
    """``end_hi`` of one segment: log 75th percentile of ``ratio`` (the values of the
    pixels of mask ``g``, in its row-major order) over the brighter end of the segment
    along the principal axis of ``g`` (pixels projecting within the first or last
    :data:`END_SHARE` of the 2nd-98th percentile range of the projections)."""
    rr, cc = np.nonzero(g)
    if rr.size < 3:
        return float(np.log(0.05))
    y, x = rr * spacing[0], cc * spacing[1]
    y, x = y - y.mean(), x - x.mean()
    cov = np.array([[np.mean(y * y), np.mean(y * x)], [np.mean(y * x), np.mean(x * x)]])
    d = np.linalg.eigh(cov)[1][:, -1]
    proj = y * d[0] + x * d[1]
    lo, hi = np.percentile(proj, (2.0, 98.0))
    span = max(float(hi - lo), 1e-6)
    best = 0.05
    for m in (proj < lo + END_SHARE * span, proj >= hi - END_SHARE * span):
        if int(m.sum()) >= 3:
            best = max(best, float(np.percentile(ratio[m], 75)))
    return float(np.log(best))


def view_features(va: ViewAnalysis, params: DetectParams) -> dict[str, np.ndarray]:
    """Per-segment evidence of diffuse uptake on one view.

    Parameters
    ----------
    va : ViewAnalysis
        Must carry ``local_sig``.
    params : DetectParams

    Returns
    -------
    dict
        Segment key -> array of :data:`VIEW_FEATURES` (only segments with at least a
        few gradable pixels).
    """
    if va.local_sig is None:
        raise ValueError("view analysis without local significance")
    sr, sc = va.spacing
    sm = ndi.gaussian_filter(np.asarray(va.image, dtype=np.float32),
                             (params.diffuse_sigma_mm / sr, params.diffuse_sigma_mm / sc), truncate=3.0)
    soft = soft_tissue_level(va, params)
    hidden = _organ_cover(va)
    ls = va.local_sig
    good = (va.labels > 0) & ~hidden & (va.organ == 0)
    # Poisson SD of the smoothed counts per count of background (Gaussian smoothing of
    # sigma s pixels averages about 4 pi s^2 pixels)
    noise_per = 1.0 / np.sqrt(4.0 * np.pi * (params.diffuse_sigma_mm / sr) * (params.diffuse_sigma_mm / sc))
    k = params.diffuse_bone_ratio
    out: dict[str, np.ndarray] = {}
    seg_vals: dict[str, np.ndarray] = {}
    objs = ndi.find_objects(np.asarray(va.labels, dtype=np.int32), max_label=len(SIOPEN_KEYS))
    for i, key in enumerate(SIOPEN_KEYS):
        sl = objs[i]
        if sl is None:
            continue
        g = (va.labels[sl] == i + 1) & ~hidden[sl]
        if int(g.sum()) < _MIN_PIXELS:
            continue
        v = sm[sl][g]
        seg_vals[key] = v
        ratio = v / np.maximum(soft[sl][g], 0.5)
        lsg = ls[sl][g]
        bg = _bone_background(va, sm, good, i + 1, sl, params)
        if bg is None:
            bg = float(np.percentile(v, params.diffuse_bone_q))
        bg = max(bg, 0.5)
        fb = float(np.mean(v > max(k * bg, bg + 3.0 * noise_per * np.sqrt(bg))))
        end_hi = _end_ratio(g, ratio, (sr, sc)) if key in _LIMBS else 0.0
        out[key] = np.array([
            float(np.mean(lsg > params.diffuse_local_z)),
            float(np.mean(ratio > 2.0)),
            float(np.mean(ratio > 3.0)),
            float(np.percentile(lsg, 75)),
            float(np.log(max(float(np.median(ratio)), 0.05))),
            fb,
            0.0,
            end_hi,
            float(np.mean(ratio > 1.5)),
            float(np.percentile(ratio, 10)),
        ])
    fc = VIEW_FEATURES.index("fc2")
    for key, v in seg_vals.items():
        other = seg_vals.get(CONTRALATERAL.get(key, ""))
        if other is not None:
            out[key][fc] = float(np.mean(v > k * max(float(np.median(other)), 0.5)))
    return out


#: Cap of the summed candidate confidences of one segment (``sconf``): beyond a few
#: likely foci the grade is >= 4 anyway and the extent decides.
SCONF_CAP = 6.0


def fourth_confidence(confidences: Sequence[float]) -> float:
    """The fourth-largest candidate confidence of a segment (0 with fewer than four).

    SIOPEN grade 4 needs *more than three* foci (or diffuse uptake): the summed confidence
    ``sconf`` of a segment with three sure foci is as large as that of a segment with
    four likely ones, and pushed a grade-3 segment into band 1. The fourth candidate's
    confidence is the evidence for a fourth focus; with it in the model, ``sconf`` needs
    less weight (session 6: truth-3 segments graded 3 on 5-fold CV by seed on tuning
    seeds 0-199, 22 -> 39 of 94).

    Parameters
    ----------
    confidences : sequence of float
        Confidences of the segment's fused bone candidates, proposed or not.

    Returns
    -------
    float
    """
    c = sorted((float(x) for x in confidences), reverse=True)
    return c[3] if len(c) > 3 else 0.0


def segment_features(
    per_view: Sequence[Mapping[str, np.ndarray]],
    n_foci: Mapping[str, int],
    candidate_confidence: Mapping[str, Sequence[float]] | None = None,
    min_confidence: float = 0.5,
) -> dict[str, dict[str, float]]:
    """Model inputs of every segment mapped on at least one view.

    Parameters
    ----------
    per_view : sequence of dict
        :func:`view_features` of each view.
    n_foci : dict
        Segment key -> focal bone spots proposed in it.
    candidate_confidence : dict, optional
        Segment key -> confidences of every fused bone candidate in it, proposed or
        not (the focal model's probability that each is a lesion). When None, each
        proposed spot counts as one sure candidate.
    min_confidence : float
        The focal operating point: candidates below it are the unproposed ones summed in
        ``uconf``.

    Returns
    -------
    dict
        Segment key -> feature name -> value: each of :data:`VIEW_FEATURES` (mean over
        the views where the segment is mapped), ``fls_max`` (larger view), ``foci``
        (capped at 4), ``sconf`` (sum of the candidates' confidences, capped at
        :data:`SCONF_CAP`: the expected number of foci, including those too faint to be
        proposed one by one), ``uconf`` (the same sum over the candidates below
        ``min_confidence`` only: lumps of extended uptake that no single focus explains;
        0 without ``candidate_confidence``), ``c4`` (:func:`fourth_confidence`: the
        evidence for more than three foci; without ``candidate_confidence`` 1 when four
        or more spots are proposed, else 0), ``trunk`` and ``skull`` (0/1), the study context
        ``study_fls`` (mean ``fls_max`` of the other eleven segments) and ``study_foci``
        (mean capped ``foci`` of the other eleven), and the context products
        ``ctx_fls`` = ``study_fls * fls``, ``ctx_fs3`` = ``study_fls * fs3``,
        ``ctx_foci`` = ``study_foci * foci``, ``ctx_sconf`` = ``study_foci * sconf``
        (evidence weighs more in a study with disease elsewhere; context alone is zero),
        the limb / trunk parts of the extent measures ``fs3_limb``, ``fb2_limb``,
        ``fb2_trunk`` (the feature on limb, resp. trunk, segments and 0 elsewhere: on the
        trunk organs overlap the bone and confound the soft-tissue ratio, on the limbs
        they do not, so each group gets its own weight), and their context products
        ``ctx_fb2_limb`` = ``study_fls * fb2_limb``, ``ctx_fc2`` = ``study_fls * fc2``,
        and ``end_hi_limb`` = max(``end_hi``, 0) on limb segments (0 elsewhere: uptake at
        a limb's end above the soft-tissue level).
    """
    fls_max = {k: max((float(v[k][0]) for v in per_view if k in v), default=0.0) for k in SIOPEN_KEYS}
    total = sum(fls_max.values())
    foci = {k: float(min(int(n_foci.get(k, 0)), 4)) for k in SIOPEN_KEYS}
    foci_total = sum(foci.values())
    if candidate_confidence is None:
        sconf = {k: min(float(n_foci.get(k, 0)), SCONF_CAP) for k in SIOPEN_KEYS}
        uconf = dict.fromkeys(SIOPEN_KEYS, 0.0)
    else:
        sconf = {k: min(float(np.sum(candidate_confidence.get(k, ()))), SCONF_CAP) for k in SIOPEN_KEYS}
        uconf = {k: min(float(sum(c for c in candidate_confidence.get(k, ()) if c < min_confidence)), SCONF_CAP)
                 for k in SIOPEN_KEYS}
    c4 = {k: fourth_confidence(candidate_confidence.get(k, ()) if candidate_confidence is not None
                               else [1.0] * int(n_foci.get(k, 0))) for k in SIOPEN_KEYS}
    n_other = len(SIOPEN_KEYS) - 1
    out: dict[str, dict[str, float]] = {}
    for key in SIOPEN_KEYS:
        vals = [v[key] for v in per_view if key in v]
        if not vals:
            continue
        mean = np.mean(vals, axis=0)
        # per-view arrays of an older, shorter VIEW_FEATURES: the missing measures are 0
        f = {name: float(mean[j]) if j < mean.size else 0.0 for j, name in enumerate(VIEW_FEATURES)}
        f["fls_max"] = fls_max[key]
        f["foci"] = foci[key]
        f["sconf"] = sconf[key]
        f["uconf"] = uconf[key]
        f["c4"] = c4[key]
        f["trunk"] = float(key in _TRUNK)
        f["skull"] = float(key == "skull")
        f["study_fls"] = (total - fls_max[key]) / n_other
        f["study_foci"] = (foci_total - foci[key]) / n_other
        f["ctx_fls"] = f["study_fls"] * f["fls"]
        f["ctx_fs3"] = f["study_fls"] * f["fs3"]
        f["ctx_foci"] = f["study_foci"] * f["foci"]
        f["ctx_sconf"] = f["study_foci"] * f["sconf"]
        limb = float(key not in _TRUNK and key != "skull")
        f["fs3_limb"] = limb * f["fs3"]
        f["fb2_limb"] = limb * f["fb2"]
        f["fb2_trunk"] = f["trunk"] * f["fb2"]
        f["ctx_fb2_limb"] = f["study_fls"] * f["fb2_limb"]
        f["ctx_fc2"] = f["study_fls"] * f["fc2"]
        f["end_hi_limb"] = limb * max(f["end_hi"], 0.0)
        out[key] = f
    return out


@dataclass(frozen=True)
class DiffuseModel:
    """Cumulative-logit model of the diffuse band of a segment.

    ``P(band <= k) = logistic(thresholds[k] - coef . (x - mean) / scale)`` for bands
    0 (no diffuse involvement), 1, 2, 3 (SIOPEN grades 4, 5, 6).

    Parameters
    ----------
    features : tuple of str
        Names of the inputs (keys of :func:`segment_features`).
    mean, scale, coef : tuple of float
        Standardization and coefficients, one per feature.
    thresholds : tuple of float
        Three increasing cut-points.
    fraction_coef : tuple of float
        Intercept and slope of the involved fraction on ``fs2`` (fitted on diffuse
        tuning segments); the estimate is clipped into the chosen band's range.
    info : dict
        Provenance (seeds, mapper, figures).
    extent : dict, optional
        The extent stage (:meth:`extent_bands`): ``features`` (names), and per group
        (``limb``; ``other`` = skull and trunk) ``mean``, ``scale``, ``coef`` (3 rows, one
        per band 1-3) and ``intercept`` (3) of a multinomial logistic model. None: the
        ordinal model's band is kept.
    """

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    thresholds: tuple[float, ...]
    fraction_coef: tuple[float, float] = (0.0, 1.0)
    info: dict[str, Any] = field(default_factory=dict, compare=False)
    extent: dict[str, Any] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        n = len(self.features)
        if not (len(self.mean) == len(self.scale) == len(self.coef) == n):
            raise ValueError("diffuse model: mean, scale and coef need one value per feature")
        if len(self.thresholds) != 3 or list(self.thresholds) != sorted(self.thresholds):
            raise ValueError("diffuse model: three increasing thresholds")

    def matrix(self, feats: Mapping[str, Mapping[str, float]], keys: Sequence[str]) -> np.ndarray:
        """Feature matrix (len(keys), n_features) in the model's order."""
        return np.array([[float(feats[k][name]) for name in self.features] for k in keys],
                        dtype=float).reshape(len(keys), len(self.features))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Band probabilities, shape (n, 4)."""
        z = (np.asarray(x, dtype=float) - np.asarray(self.mean)) / np.asarray(self.scale)
        eta = z @ np.asarray(self.coef)
        t = np.asarray(self.thresholds)
        cdf = 1.0 / (1.0 + np.exp(-(t[None, :] - eta[:, None])))
        cdf = np.column_stack([np.zeros(len(eta)), cdf, np.ones(len(eta))])
        return np.clip(np.diff(cdf, axis=1), 0.0, 1.0)

    def to_json(self) -> dict[str, Any]:
        """Plain dictionary (the data file's content)."""
        return {
            "schema": "mibgkit.diffuse-ordinal/1", "features": list(self.features), "mean": list(self.mean),
            "scale": list(self.scale), "coef": list(self.coef), "thresholds": list(self.thresholds),
            "fraction_coef": list(self.fraction_coef), "info": self.info,
            **({"extent": self.extent} if self.extent is not None else {}),
        }

    def extent_bands(self, feats: Mapping[str, Mapping[str, float]], keys: Sequence[str],
                     bands: Sequence[int], segments: Sequence[str] | None = None) -> list[int]:
        """Band 1-3 of every segment the ordinal model put in a diffuse band, from the
        extent stage (segments in band 0 keep it; without a stage the bands are returned).

        Parameters
        ----------
        feats : dict
            :func:`segment_features` of the study.
        keys : sequence of str
            Segment keys, in the order of ``bands``.
        bands : sequence of int
            Bands 0-3 (:func:`decide_bands`).
        segments : sequence of str, optional
            SIOPEN segment of each key (which group's model applies); defaults to ``keys``.

        Returns
        -------
        list of int
        """
        if self.extent is None:
            return [int(b) for b in bands]
        names = self.extent["features"]
        out = []
        for k, seg, b in zip(keys, keys if segments is None else segments, bands):
            if b <= 0:
                out.append(int(b))
                continue
            g = self.extent["limb" if seg in _LIMBS else "other"]
            z = (np.array([float(feats[k][n]) for n in names]) - np.asarray(g["mean"])) / np.asarray(g["scale"])
            scores = np.asarray(g["coef"], dtype=float) @ z + np.asarray(g["intercept"], dtype=float)
            out.append(1 + int(np.argmax(scores)))
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "DiffuseModel":
        """Inverse of :meth:`to_json`."""
        return cls(tuple(d["features"]), tuple(d["mean"]), tuple(d["scale"]), tuple(d["coef"]),
                   tuple(d["thresholds"]), tuple(d.get("fraction_coef", (0.0, 1.0))),  # type: ignore[arg-type]
                   dict(d.get("info", {})), dict(d["extent"]) if d.get("extent") else None)


@lru_cache(maxsize=4)
def load_model(name: str) -> DiffuseModel:
    """The ordinal model stored as ``mibgkit/data/<name>``."""
    text = resources.files("mibgkit").joinpath(f"data/{name}").read_text()
    return DiffuseModel.from_json(json.loads(text))


#: Range of the involved fraction of each band (SIOPEN: grade 4 < 50 %, 5 = 50-95 %, 6 > 95 %).
_BAND_RANGE = {1: (0.05, 0.45), 2: (0.55, 0.90), 3: (0.96, 1.0)}


@dataclass
class DiffuseCall:
    """The model's verdict on one segment.

    Parameters
    ----------
    segment : str
    band : int
        0 none, 1-3 = SIOPEN grade 4-6.
    probabilities : ndarray of 4
    fraction : float
        Involved fraction of the segment's bone (0 when ``band`` is 0).
    features : dict
    """

    segment: str
    band: int
    probabilities: np.ndarray
    fraction: float
    features: dict[str, float]


def focal_counts(hotspots: Sequence[Hotspot]) -> dict[str, int]:
    """Proposed focal bone spots per SIOPEN segment (all 12 keys), the model's ``foci`` input."""
    n_foci = dict.fromkeys(SIOPEN_KEYS, 0)
    for h in hotspots:
        if h.category == "bone" and h.pattern == "focal" and h.segment in n_foci:
            n_foci[h.segment] += 1
    return n_foci


def candidate_confidence(candidates: Sequence[FusedCandidate]) -> dict[str, list[float]]:
    """Confidences of all fused bone candidates per segment, proposed or not (``sconf``)."""
    conf: dict[str, list[float]] = {}
    for f in candidates:
        if f.label:
            conf.setdefault(SIOPEN_KEYS[f.label - 1], []).append(f.confidence)
    return conf


def decide_bands(probabilities: np.ndarray, n_foci: Sequence[int], extended_p0: float = 0.0,
                 threshold: int | None = None) -> list[int]:
    """Diffuse band of each segment of one study from the model's band probabilities.

    First every segment takes its most probable band. If the study's SIOPEN total with
    these bands (band b > 0 -> grade 3 + b, else the focal grade of ``n_foci``) is above
    ``threshold``, every segment whose probability of no diffuse involvement is below
    ``extended_p0`` takes its most probable band among 1-3 instead: the most probable
    band under-grades extensive disease, and in a study already above the threshold
    raising grades cannot move the ``<= 3`` call. Grades never go down.

    Parameters
    ----------
    probabilities : ndarray, shape (n, 4)
        :meth:`DiffuseModel.probabilities` of the study's mapped segments.
    n_foci : sequence of int
        Focal bone spots proposed in each of those segments.
    extended_p0 : float
        ``DetectParams.diffuse_extended_p0`` (0 = most probable band everywhere).
    threshold : int, optional
        Defaults to ``mibgkit.scoring.rules.RULES.siopen_good_threshold`` (3).

    Returns
    -------
    list of int
        Band 0-3 per segment.
    """
    from mibgkit.scoring.rules import RULES, siopen_grade

    pr = np.asarray(probabilities, dtype=float).reshape(-1, 4)
    thr = RULES.siopen_good_threshold if threshold is None else threshold
    bands = [int(np.argmax(p)) for p in pr]
    focal = [siopen_grade(int(n)) for n in n_foci]
    total = sum(3 + b if b > 0 else g for b, g in zip(bands, focal))
    if extended_p0 <= 0 or total <= thr:
        return bands
    return [1 + int(np.argmax(p[1:])) if b == 0 and p[0] < extended_p0 else b for p, b in zip(pr, bands)]


def diffuse_calls(
    views: Mapping[str, ViewAnalysis],
    n_foci: Mapping[str, int],
    params: DetectParams,
    model: DiffuseModel | None = None,
    candidate_confidence: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, DiffuseCall]:
    """Diffuse band of every mapped segment.

    Parameters
    ----------
    views : dict
        View name -> ViewAnalysis (ANT and/or POST).
    n_foci : dict
        Segment key -> focal bone spots proposed.
    params : DetectParams
    model : DiffuseModel, optional
        Defaults to ``load_model(params.diffuse_model_file)``.
    candidate_confidence : dict, optional
        Segment key -> confidences of all its bone candidates (see
        :func:`segment_features`).

    Returns
    -------
    dict
        Segment key -> DiffuseCall.
    """
    m = model or load_model(params.diffuse_model_file)
    feats = segment_features([view_features(va, params) for va in views.values()], n_foci, candidate_confidence,
                             params.min_confidence)
    keys = list(feats)
    if not keys:
        return {}
    pr = m.probabilities(m.matrix(feats, keys))
    bands = m.extent_bands(feats, keys, decide_bands(pr, [n_foci.get(k, 0) for k in keys],
                                                     params.diffuse_extended_p0))
    a, b = m.fraction_coef
    out: dict[str, DiffuseCall] = {}
    for k, p, band in zip(keys, pr, bands):
        frac = 0.0
        if band > 0:
            lo, hi = _BAND_RANGE[band]
            frac = float(np.clip(a + b * feats[k]["fs2"], lo, hi))
        out[k] = DiffuseCall(k, band, p, frac, feats[k])
    return out


def _decision_text(c: DiffuseCall, params: DetectParams) -> str:
    """How the band of a diffuse call was chosen (for the reading's ``extra``)."""
    top = int(np.argmax(c.probabilities))
    if c.band == top:
        return "most probable band"
    if top > 0:
        return "most probable band, grade 4-6 chosen by the extent stage"
    return f"study above the <= 3 threshold, p(no diffuse) < {params.diffuse_extended_p0}"


def uptake_centroid(va: ViewAnalysis, key: str, params: DetectParams) -> tuple[float, float] | None:
    """(row, col) of the locally significant uptake of a segment on one view (or its
    centre when nothing stands out); None when the segment is not mapped there."""
    i = SIOPEN_KEYS.index(key) + 1
    seg = va.labels == i
    if not seg.any():
        return None
    hot = seg & (va.local_sig > params.diffuse_local_z) if va.local_sig is not None else seg
    rr, cc = np.nonzero(hot if hot.sum() >= _MIN_PIXELS else seg)
    return float(rr.mean()), float(cc.mean())


def diffuse_hotspots(
    views: Mapping[str, tuple[int, PlanarView, ViewAnalysis]],
    focal: Sequence[Hotspot],
    params: DetectParams,
    n0: int = 0,
    model: DiffuseModel | None = None,
    candidate_confidence: Mapping[str, Sequence[float]] | None = None,
) -> list[Hotspot]:
    """One diffuse bone finding per segment the model puts in band 1-3 (grade 4-6).

    Parameters
    ----------
    views : dict
        View name -> (index in ``Study.views``, PlanarView, ViewAnalysis), as in
        :class:`~mibgkit.detect.detector.Detection`.
    focal : sequence of Hotspot
        The focal proposals so far (their bone spots are counted per segment).
    params : DetectParams
    n0 : int
        Number of proposals before these (for the ids).
    model : DiffuseModel, optional
    candidate_confidence : dict, optional
        Segment key -> confidences of all its fused bone candidates, proposed or not.

    Returns
    -------
    list of Hotspot
        Pattern ``diffuse``, status ``proposed``, ``diffuse_fraction`` in the band's
        SIOPEN range, confidence = probability of any diffuse band, one location per
        view where the segment is mapped.
    """
    calls = diffuse_calls({name: va for name, (_, _, va) in views.items()}, focal_counts(focal), params, model,
                          candidate_confidence)
    out: list[Hotspot] = []
    for key in SIOPEN_KEYS:
        c = calls.get(key)
        if c is None or c.band == 0:
            continue
        locs, area = [], 0.0
        for _, pv, va in views.values():
            rc = uptake_centroid(va, key, params)
            if rc is None:
                continue
            r, col = pv.source.to_stored(*rc)
            locs.append(Location(pv.view, pv.source.sop_instance_uid, pv.source.frame, r, col))
            area = max(area, float((va.labels == SIOPEN_KEYS.index(key) + 1).sum()) * va.spacing[0] * va.spacing[1])
        out.append(Hotspot(
            id=f"h{n0 + len(out) + 1}", segment=key, pattern="diffuse", confidence=float(1.0 - c.probabilities[0]),
            locations=locs, area_mm2=c.fraction * area, category="bone", diffuse_fraction=c.fraction,
            extra={"method": "ordinal model", "band_probabilities": [round(float(x), 4) for x in c.probabilities],
                   "decision": _decision_text(c, params),
                   "features": {k: round(v, 4) for k, v in c.features.items()}},
        ))
    return out

"""Every detection parameter in one place (:class:`DetectParams`).

The defaults were tuned on phantom studies with seeds < 500 (``benchmarks/bench_detect.py
--tune``); the benchmark uses seeds >= 10000, never seen while tuning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from mibgkit.detect.local import LOCAL_FEATURES

__all__ = ["DetectParams", "FEATURES", "DEFAULT_PARAMS"]

#: Names of the features the confidence model uses, in coefficient order
#: (see :func:`mibgkit.detect.focal.feature_vector`).
FEATURES: tuple[str, ...] = (
    "log_z_best",      # log noise-normalized DoG response on the better view
    "log_z_other",     # same at the same body point on the other view (floored at 0.5)
    "log_peak_ratio",  # log peak / local background (counts)
    "log_area",        # log area of the half-maximum region in mm^2
    "log_sigma",       # log best DoG scale, mm
    "bone_fraction",   # fraction of that region on bone in the segment map
    "organ_overlap",   # fraction of that region inside an organ-like uptake region
    "log_rel_liver",   # log peak / reference organ level of the study
    "abs_log_ap",      # |log ANT/POST excess counts| (depth cue)
    "seen_both",       # 1 when matched on both views
    "zone_glands",     # position typical of salivary/lacrimal glands, nasopharynx, thyroid
    "zone_abdomen",    # liver, spleen, kidney, bowel, primary tumour zone
    "zone_bladder",    # bladder zone
    "zone_heart",      # heart zone
    "log_local_sum",   # log (ANT + POST) local significance over the opening background
    "log_local_max",   # log larger of the two views' local significances
    "log_ap",          # signed log ANT/POST excess counts (bowel anterior, kidneys posterior)
    "bone_dist",       # distance (mm) from the peak to the nearest bone pixel, capped by the window
    "fine_ratio",      # DoG response at the finest scale / at the candidate's scale (sharpness)
    "log_neighbours",  # log(1 + other peaks within neighbour_mm on the better view): patchiness
    "frame_row",       # (row - top of thoracic cage) / cage height: head < 0, pelvis > 1
    "frame_lat",       # (col - spine column) / half cage width, > 0 towards the patient's left
    "coarse_ratio",    # DoG response at the coarsest scale / at the candidate's scale (organ blob under it)
) + LOCAL_FEATURES + (  # own-scale evidence (planar background, blob fit, shape, depth): mibgkit.detect.local
    # context features (mibgkit.detect.context): mirror partner, brighter shoulder, stronger neighbour
    "ctx_mirror", "ctx_shoulder", "ctx_near_stronger", "ctx_spine_ap",
) + (  # bone-restricted contrast, depth against the bone, coarse shape (mibgkit.detect.bonering)
    "bn_bone_snr", "bn_bone_soft", "bn_bone_frac", "bn_depth_diff", "bn_coarse_round",
)


@dataclass(frozen=True)
class DetectParams:
    """Parameters of hot-spot detection.

    Parameters
    ----------
    sigmas_mm : tuple of float
        Scales (Gaussian sigma, mm) of the difference-of-Gaussians blob search.
    dog_ratio : float
        Ratio of the outer to the inner Gaussian of each DoG.
    z_min : float
        Candidate threshold on the noise-normalized DoG response (Anscombe domain,
        unit noise variance), in standard deviations.
    min_separation_mm : float
        Two candidate peaks on one view are at least this far apart.
    per_scale_peaks : bool
        Search the maxima on every DoG scale separately and merge them (strongest first,
        ``min_separation_mm`` apart) instead of the maxima of the best response over
        scales, which lets a coarse bright neighbour hide a small lesion.
    scale_aware_nms : bool
        With ``per_scale_peaks``: a coarser peak on organ-like uptake suppresses a
        finer-scale peak within ``min_separation_mm`` only if it explains it (see
        ``nested_min_mm``, ``nested_margin``), so a focus on top of an organ's coarse blob
        stays a candidate of its own (tuning seeds 0-179: +0.4 / +1.5 points of
        cross-validated sensitivity at 0.5 / 1 FP; docs/benchmarks/detect.md, focal round 2).
    nested_min_mm : float
        A finer-scale peak closer than this to a coarser one is the same blob.
    nested_margin : float
        Farther, it is kept when its own-scale response exceeds that scale's response at
        the coarser peak's centre by this many noise SDs (a single blob's response is
        largest at its centre at every scale).
    neighbour_mm : float
        Radius within which other candidate peaks of the same view are counted (the
        ``log_neighbours`` feature: bowel is patchy, a bone lesion mostly alone).
    annulus_mm : tuple of float
        Inner and outer radius of the local-background annulus, in mm, added to the
        blob radius.
    background_percentile : float
        Percentile of the annulus taken as the local background (robust to a
        neighbouring hot spot).
    match_mm : float
        ANT and POST candidates closer than this (after the estimated shift) are one lesion.
    max_shift_mm : float
        Largest ANT/POST misregistration searched for.
    organ_level : float
        Pixels of the large-scale image above this fraction of the study's reference
        organ level (about the liver) are organ-like uptake.
    organ_sigma_mm : float
        Smoothing of the large-scale image used for organ regions.
    organ_min_area_mm2 : float
        Smallest organ-like region.
    tophat_mm : float
        Width of the grey opening that estimates the local background of the local
        significance (about three lesion diameters; larger structures are background).
    tophat_sigma_mm : float
        Matched-filter smoothing of the local significance.
    local_sig_min : float
        Local-significance maxima above this (noise SDs) that no DoG candidate covers
        become candidates too (0 disables).
    bone_snap_mm : float
        A candidate whose region touches no bone is assigned to the nearest bone within
        this distance (segment maps and camera blur are a few mm off).
    bone_in_body : bool
        Pixels the segment map labels as bone belong to the body outline in which candidates
        are searched (the outline estimated from the counts drops hands and forearms held
        apart from the trunk: held-out tuning seeds 200-259 had 7 visible limb lesions of
        CNR 11-145 without a candidate for that reason).
    confidence_model : str
        ``"boosted"``: the gradient-boosted trees of ``mibgkit/data/detect_confidence.json``
        (fitted by ``benchmarks/bench_detect.py --tune``); ``"logistic"``: ``coef`` and
        ``intercept``.
    coef : tuple of float
        Logistic coefficients of the confidence model, one per name in ``FEATURES``.
    intercept : float
        Logistic intercept.
    min_confidence : float
        Proposals below this confidence are not put in the reading (operating point).
    diffuse_sigma_mm : float
        Smoothing before the per-pixel abnormality test of diffuse involvement.
    diffuse_bg_sigma_mm : float
        Scale of the soft-tissue background estimated from non-bone body pixels.
    diffuse_z : float
        A bone pixel is abnormal above this many noise SDs over the background.
    diffuse_excess : float
        ... and at least this relative excess over the background.
    diffuse_half : float
        Abnormal bone of a segment is where the excess reaches this fraction of the
        segment's typical (75th percentile) excess: a half-maximum edge, so the camera
        blur does not widen the involvement.
    diffuse_min_fraction : float
        A segment whose abnormal fraction (beyond what focal spots explain) reaches this
        gets a diffuse finding.
    diffuse_min_extent_mm : float
        An abnormal region must be at least this long (mm, longest axis) to count as
        diffuse rather than focal.
    diffuse_gain : float
        Calibration of the planar abnormal fraction to the bone-volume fraction SIOPEN
        grades (the projected, half-maximum area underestimates it), fitted on phantoms.
        Used by the ``"fraction"`` method only.
    diffuse_method : {"model", "fraction"}
        ``"model"``: the per-segment ordinal model of
        :mod:`mibgkit.detect.diffuse_model` decides the diffuse band (grade 4, 5 or 6)
        from segment-level evidence; ``"fraction"``: the earlier rule (abnormal
        fraction >= ``diffuse_min_fraction`` and extent >= ``diffuse_min_extent_mm``).
    diffuse_model_file : str
        Coefficients of the ordinal model, a JSON file under ``mibgkit/data``.
    diffuse_soft_sigma_mm : float
        Scale of the soft-tissue level around the bone (masked Gaussian mean of body
        pixels away from bone and organ uptake), widened 2.5x and 6x where too few
        such pixels are near.
    diffuse_near_bone_mm : float
        Soft tissue closer than this to mapped bone is not used for that level.
    diffuse_local_z : float
        A segment pixel counts as "locally significant" above this local significance
        (Poisson SDs over the opening background of :func:`~mibgkit.detect.focal.local_significance`).
    diffuse_bone_q : float
        Percentile of the smoothed counts of the gradable bone (organ uptake excluded) of
        a segment and its neighbours that serves as the segment's bone-restricted
        background (input ``fb2`` of the ordinal model).
    diffuse_bone_nb_mm : float
        Neighbours of a segment for that background: mapped bone within this distance.
    diffuse_bone_ratio : float
        Ratio to the bone-restricted background (``fb2``) and to the contralateral limb
        segment's median (``fc2``) above which a pixel counts as involved.
    diffuse_extended_p0 : float
        Decision of the diffuse model in a study whose total, with every segment at its
        most probable band, is already above the SIOPEN ``<= 3`` threshold
        (``mibgkit.scoring.rules.RULES.siopen_good_threshold``): there a segment gets its
        most probable diffuse band (grade 4-6) as soon as the probability of *no*
        diffuse involvement is below this value, instead of below the largest band
        probability. The most-probable-band rule under-grades extensive disease (totals
        about 4.6 too low on tuning studies with totals > 10), and in such a study a
        higher grade cannot move the ``<= 3`` call. Chosen by 5-fold cross-validation on
        tuning seeds 0-199 (0.6-0.8 give similar figures; session 6 with the ``c4`` input:
        0.75, the CV optimum of exact agreement, kappa, ICC and MAE together); 0 turns it
        off.
    spine_l1_fraction : float
        Where the Curie spine is split (top of L1), as a fraction of the spine's
        head-to-foot extent, when the segment map has no ``L1`` landmark.
    ctx_mirror_window_mm : tuple of float
        Half-height and half-width (mm) of the window searched for a mirror partner across the
        body midline (``ctx_mirror``, :mod:`mibgkit.detect.context`).
    ctx_pair_mid_mm : float
        Two candidates at the same height (within ``ctx_mirror_window_mm[0]``) whose midpoint
        lies within this distance of the body midline are mirror partners.
    ctx_shoulder_mm : float
        Half-width (mm) of the window of ``ctx_shoulder`` (brightest coarse-scale counts
        around the candidate relative to its own).
    ctx_near_cap_mm : float
        Cap of ``ctx_near_stronger`` (distance to the nearest stronger candidate).
    bone_ring_gap_mm : float
        The ring of the ``bn_`` features (:mod:`mibgkit.detect.bonering`) starts this far
        beyond two own-scale sigmas of the candidate.
    bone_ring_width_mm : float
        Width of that ring.
    bone_ring_min_px : int
        Fewest ring pixels of the candidate's segment (or of soft tissue) for a level.
    spect_z_min : float
        Threshold of SPECT hot spots (DoG significance).
    spect_sigmas_mm : tuple of float
        Scales of the 3-D blob search.
    """

    sigmas_mm: tuple[float, ...] = (3.0, 4.5, 6.5, 9.5)
    dog_ratio: float = 1.6
    z_min: float = 4.5
    min_separation_mm: float = 9.0
    per_scale_peaks: bool = True
    scale_aware_nms: bool = True
    nested_min_mm: float = 4.5
    nested_margin: float = 2.0
    neighbour_mm: float = 40.0
    annulus_mm: tuple[float, float] = (6.0, 14.0)
    background_percentile: float = 30.0
    match_mm: float = 16.0
    max_shift_mm: float = 25.0
    organ_level: float = 0.25
    organ_sigma_mm: float = 6.0
    organ_min_area_mm2: float = 600.0
    tophat_mm: float = 15.0
    tophat_sigma_mm: float = 3.0
    local_sig_min: float = 0.0
    bone_snap_mm: float = 6.0
    bone_in_body: bool = True
    confidence_model: str = "boosted"
    coef: tuple[float, ...] = (
        -0.6923, -0.2767, 0.4133, -1.4375, 4.4448, 2.1311, -0.2623, 0.1039, -0.856, 0.2196, -2.404, -1.5203,
        -1.5273, -1.2736, 0.4281, 1.8232, -0.8375, -0.2094, 2.3691, 0.6166, 0.2721, -0.0399, -0.2759, -0.2366,
        0.0268, 1.9394, 0.4633, 1.9353, 0.2731, -0.6086, 1.033, -0.0076, 0.5574, 0.0587, -0.1029, -1.187,
        -0.1281, -0.1264,
    )
    intercept: float = -7.9675
    min_confidence: float = 0.5
    diffuse_sigma_mm: float = 4.0
    diffuse_bg_sigma_mm: float = 12.0
    diffuse_z: float = 2.5
    diffuse_excess: float = 2.0
    diffuse_half: float = 0.5
    diffuse_min_fraction: float = 0.50
    diffuse_min_extent_mm: float = 60.0
    diffuse_gain: float = 1.3
    diffuse_method: str = "model"
    diffuse_model_file: str = "diffuse_ordinal.json"
    diffuse_soft_sigma_mm: float = 15.0
    diffuse_near_bone_mm: float = 5.0
    diffuse_local_z: float = 3.0
    diffuse_bone_q: float = 25.0
    diffuse_bone_nb_mm: float = 30.0
    diffuse_bone_ratio: float = 2.0
    diffuse_extended_p0: float = 0.75
    spine_l1_fraction: float = 0.60
    ctx_mirror_window_mm: tuple[float, float] = (6.0, 8.0)
    ctx_pair_mid_mm: float = 15.0
    ctx_shoulder_mm: float = 25.0
    ctx_near_cap_mm: float = 60.0
    bone_ring_gap_mm: float = 3.0
    bone_ring_width_mm: float = 15.0
    bone_ring_min_px: int = 8
    spect_z_min: float = 5.0
    spect_sigmas_mm: tuple[float, ...] = (5.0, 8.0, 12.0)

    def __post_init__(self) -> None:
        if len(self.coef) != len(FEATURES):
            raise ValueError(f"coef needs {len(FEATURES)} values ({', '.join(FEATURES)}), got {len(self.coef)}")
        if not self.sigmas_mm or min(self.sigmas_mm) <= 0:
            raise ValueError("sigmas_mm must be positive")
        if self.confidence_model not in ("boosted", "logistic"):
            raise ValueError(f"confidence_model must be 'boosted' or 'logistic', got {self.confidence_model!r}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError("min_confidence must be within 0-1")
        if self.diffuse_method not in ("model", "fraction"):
            raise ValueError(f"diffuse_method must be 'model' or 'fraction', not {self.diffuse_method!r}")

    def to_json(self) -> dict[str, Any]:
        """Plain dictionary (tuples as lists) for the reading's provenance."""
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "DetectParams":
        """Inverse of :meth:`to_json`; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in names}
        return cls(**kw)

    def with_(self, **changes: Any) -> "DetectParams":
        """A copy with some parameters changed."""
        return replace(self, **changes)


DEFAULT_PARAMS = DetectParams()

"""Evaluation against ground truth: lesion matching, FROC, weighted kappa, ICC(2,1).

Truth is passed as plain positions, so this module does not depend on the phantom:
``benchmarks/bench_detect.py`` and the tests feed it the phantom's ``Truth``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TruthSpot", "StudyMatch", "match_study", "froc", "sensitivity_at", "weighted_kappa", "icc_2_1",
]


@dataclass(frozen=True)
class TruthSpot:
    """A true lesion as the evaluation needs it.

    Parameters
    ----------
    positions : dict
        View name -> (row, col) in the normalized frame.
    radius_px : float
        Lesion radius in pixels (matching tolerance grows with it).
    countable : bool
        Counted in sensitivity (focal and visible); others only keep a candidate on them
        from being a false positive.
    segment : str
    kind : str
        ``focal`` or ``diffuse``.
    """

    positions: dict[str, tuple[float, float]]
    radius_px: float
    countable: bool
    segment: str
    kind: str = "focal"


@dataclass
class StudyMatch:
    """Result of matching one study's candidates to its truth.

    ``hit_conf[i]`` is the best confidence of a candidate on countable lesion i (0 when
    none); ``fp_conf`` the confidences of candidates on no lesion at all; ``fp_index``
    their candidate indices; ``missed`` indices of countable lesions with no candidate.
    """

    hit_conf: np.ndarray
    fp_conf: np.ndarray
    fp_index: np.ndarray
    lesion_index: np.ndarray


def match_study(
    cand_positions: Sequence[dict[str, tuple[float, float]]],
    cand_conf: Sequence[float],
    truth: Sequence[TruthSpot],
    tol_px: float,
    diffuse_segments: set[str] | None = None,
    cand_segments: Sequence[str | None] | None = None,
    cand_view_segments: Sequence[Collection[str]] | None = None,
) -> StudyMatch:
    """Match candidates to true lesions.

    A candidate hits a lesion when, on some view, it is within ``tol_px + radius_px``
    of the lesion's position there. Candidates in a diffusely involved segment
    (``diffuse_segments``) are neither hits nor false positives: their segment is
    ``cand_segments[k]``, and with ``cand_view_segments`` also any segment the views'
    label maps show at the candidate's body point (a focus over an overlap of two
    segments, such as the humeral head over the scapula, lies on both; when one of them
    is diffusely involved the spot is that involvement, whichever segment it was filed
    under, just as a focal hit is matched by position whatever its segment).

    Returns
    -------
    StudyMatch
    """
    conf = np.asarray(cand_conf, dtype=float)
    countable = [i for i, t in enumerate(truth) if t.countable]
    hit = np.zeros(len(countable))
    is_fp = np.ones(len(conf), dtype=bool)
    for k, pos in enumerate(cand_positions):
        if diffuse_segments and cand_segments is not None and cand_segments[k] in diffuse_segments:
            is_fp[k] = False
        if diffuse_segments and cand_view_segments is not None and diffuse_segments.intersection(
                cand_view_segments[k]):
            is_fp[k] = False
        for i, t in enumerate(truth):
            d = min(
                (float(np.hypot(pos[v][0] - t.positions[v][0], pos[v][1] - t.positions[v][1]))
                 for v in pos if v in t.positions),
                default=np.inf,
            )
            if d <= tol_px + t.radius_px:
                is_fp[k] = False
                if t.countable:
                    j = countable.index(i)
                    hit[j] = max(hit[j], conf[k])
    return StudyMatch(hit, conf[is_fp], np.flatnonzero(is_fp), np.array(countable, dtype=int))


def froc(matches: Sequence[StudyMatch]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Free-response ROC over studies.

    Returns
    -------
    thresholds, sensitivity, fp_per_study : ndarray
        One point per distinct confidence, thresholds descending.
    """
    hits = np.concatenate([m.hit_conf for m in matches]) if matches else np.zeros(0)
    fps = np.concatenate([m.fp_conf for m in matches]) if matches else np.zeros(0)
    n = max(len(hits), 1)
    thr = np.unique(np.concatenate([hits[hits > 0], fps, [1.0 + 1e-9]]))[::-1]
    sens = np.array([(hits >= t).sum() / n for t in thr])
    fp = np.array([(fps >= t).sum() / max(len(matches), 1) for t in thr])
    return thr, sens, fp


def sensitivity_at(thr: np.ndarray, sens: np.ndarray, fp: np.ndarray, fp_rate: float) -> tuple[float, float]:
    """Best sensitivity with at most ``fp_rate`` false positives per study, and its threshold."""
    ok = fp <= fp_rate
    if not ok.any():
        return 0.0, float("inf")
    i = int(np.argmax(np.where(ok, sens, -1)))
    return float(sens[i]), float(thr[i])


def weighted_kappa(a: Sequence[int], b: Sequence[int], n_classes: int = 7) -> float:
    """Cohen's kappa with quadratic weights for grades 0..n_classes-1."""
    x, y = np.asarray(a, dtype=int), np.asarray(b, dtype=int)
    obs = np.zeros((n_classes, n_classes))
    np.add.at(obs, (x, y), 1.0)
    obs /= obs.sum()
    exp = np.outer(obs.sum(axis=1), obs.sum(axis=0))
    idx = np.arange(n_classes)
    w = (idx[:, None] - idx[None, :]) ** 2 / (n_classes - 1) ** 2
    den = float((w * exp).sum())
    return 1.0 if den == 0 else 1.0 - float((w * obs).sum()) / den


def icc_2_1(a: Sequence[float], b: Sequence[float]) -> float:
    """ICC(2,1): two-way random effects, absolute agreement, single measurement (Shrout-Fleiss)."""
    y = np.column_stack([np.asarray(a, float), np.asarray(b, float)])
    n, k = y.shape
    grand = y.mean()
    ms_r = k * ((y.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    ms_c = n * ((y.mean(axis=0) - grand) ** 2).sum() / (k - 1)
    sse = ((y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + grand) ** 2).sum()
    ms_e = sse / ((n - 1) * (k - 1))
    den = ms_r + (k - 1) * ms_e + k * (ms_c - ms_e) / n
    return float((ms_r - ms_e) / den) if den > 0 else 1.0

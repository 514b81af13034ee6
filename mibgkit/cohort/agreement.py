"""Reader agreement: weighted kappa, ICC(2,1), Bland-Altman, threshold agreement.

Implemented with numpy/scipy only and checked in the tests against scikit-learn
(``cohen_kappa_score``) and pingouin (``intraclass_corr``, ICC2).

References
----------
Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability.
Psychol Bull 1979;86:420-8.
McGraw KO, Wong SP. Forming inferences about some intraclass correlation
coefficients. Psychol Methods 1996;1:30-46.
Bland JM, Altman DG. Measuring agreement in method comparison studies. Stat Methods
Med Res 1999;8:135-60.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mibgkit.scoring.rules import RULES
from mibgkit.segments import SIOPEN_KEYS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "weighted_kappa",
    "ICCResult",
    "icc_a1",
    "BlandAltman",
    "bland_altman",
    "ThresholdAgreement",
    "threshold_agreement",
    "AgreementReport",
    "reader_agreement",
]

SIOPEN_GRADES: tuple[int, ...] = tuple(range(7))


def weighted_kappa(
    a: Sequence[int] | np.ndarray,
    b: Sequence[int] | np.ndarray,
    weights: Literal["quadratic", "linear"] | None = "quadratic",
    categories: Sequence[int] | None = SIOPEN_GRADES,
) -> float:
    """Cohen's kappa between two raters, optionally weighted.

    Parameters
    ----------
    a, b : array_like of int, shape (n,)
        Category given to each subject by rater A and rater B.
    weights : {"quadratic", "linear", None}
        Disagreement weight ``|i - j|**2`` or ``|i - j|`` between category *values*;
        None gives the unweighted kappa.
    categories : sequence of int, optional
        The ordered category values (default SIOPEN grades 0-6). Distances are taken
        between values, so a grade absent from the data does not shorten them. None:
        the values present in the data.

    Returns
    -------
    float
        Kappa; NaN when it is undefined (both raters used one and the same category,
        so the expected disagreement is 0).

    Notes
    -----
    Equals ``sklearn.metrics.cohen_kappa_score(a, b, weights=..., labels=categories)``.
    Without ``labels``, scikit-learn weights by the *rank* of the values present,
    which differs when a grade is missing from the data.
    """
    x = np.asarray(a)
    y = np.asarray(b)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"need two 1-D arrays of equal length, got shapes {x.shape} and {y.shape}")
    if x.size == 0:
        return math.nan
    cats = np.unique(np.concatenate([x, y])) if categories is None else np.asarray(categories)
    index = {v: i for i, v in enumerate(cats.tolist())}
    try:
        xi = np.array([index[v] for v in x.tolist()])
        yi = np.array([index[v] for v in y.tolist()])
    except KeyError as exc:
        raise ValueError(f"value {exc.args[0]!r} is not one of the categories {cats.tolist()}") from None
    k = len(cats)
    observed = np.zeros((k, k))
    np.add.at(observed, (xi, yi), 1.0)
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    vals = cats.astype(float)
    dist = np.abs(vals[:, None] - vals[None, :])
    if weights is None:
        w = (dist > 0).astype(float)
    elif weights == "linear":
        w = dist
    elif weights == "quadratic":
        w = dist**2
    else:
        raise ValueError(f"weights must be 'quadratic', 'linear' or None, not {weights!r}")
    denom = float((w * expected).sum())
    if denom == 0:
        return math.nan
    return float(1.0 - (w * observed).sum() / denom)


@dataclass(frozen=True)
class ICCResult:
    """ICC(2,1): two-way random effects, absolute agreement, single rater.

    Attributes
    ----------
    icc : float
        Point estimate (Shrout & Fleiss ICC(2,1) = McGraw & Wong ICC(A,1)).
    ci_low, ci_high : float
        Confidence interval (McGraw & Wong 1996, F-based with Satterthwaite degrees of
        freedom).
    confidence : float
        Confidence level of the interval.
    f : float
        F = MS_rows / MS_error for the test of ICC = 0.
    df1, df2 : float
        Degrees of freedom of that F test.
    p_value : float
    n, k : int
        Subjects and raters.
    ms_rows, ms_cols, ms_error : float
        Mean squares of the two-way ANOVA without replication.
    """

    icc: float
    ci_low: float
    ci_high: float
    confidence: float
    f: float
    df1: float
    df2: float
    p_value: float
    n: int
    k: int
    ms_rows: float
    ms_cols: float
    ms_error: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary."""
        return asdict(self)


def icc_a1(ratings: np.ndarray | Sequence[Sequence[float]], confidence: float = 0.95) -> ICCResult:
    """Intraclass correlation ICC(2,1) with its confidence interval.

    Parameters
    ----------
    ratings : array_like of shape (n_subjects, n_raters)
        Complete ratings (no missing values), at least 2 subjects and 2 raters.
    confidence : float
        Level of the confidence interval.

    Returns
    -------
    ICCResult

    Notes
    -----
    With mean squares ``MSR`` (subjects), ``MSC`` (raters), ``MSE`` (residual)::

        ICC = (MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n)

    The interval is McGraw & Wong's (1996, case 2A): with ``Fj = MSC/MSE`` and
    Satterthwaite's ``v``, ``Fu = F_{1-a/2}(n-1, v)``, ``Fl = F_{1-a/2}(v, n-1)``::

        low  = n (MSR - Fu MSE) / (Fu (k MSC + (kn - k - n) MSE) + n MSR)
        high = n (Fl MSR - MSE) / (k MSC + (kn - k - n) MSE + n Fl MSR)

    When all ratings are identical the ICC is undefined (NaN).
    """
    from scipy import stats

    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"need an (n_subjects >= 2, n_raters >= 2) array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("ratings contain missing or infinite values")
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((x - grand) ** 2).sum()
    ss_error = ss_total - ss_rows - ss_cols
    df_r, df_c, df_e = n - 1, k - 1, (n - 1) * (k - 1)
    msr, msc, mse = ss_rows / df_r, ss_cols / df_c, ss_error / df_e
    denom = msr + (k - 1) * mse + k * (msc - mse) / n
    nan = math.nan
    if denom <= 0 or not np.isfinite(denom):
        return ICCResult(nan, nan, nan, confidence, nan, df_r, df_e, nan, n, k, msr, msc, mse)
    icc = (msr - mse) / denom
    with np.errstate(divide="ignore", invalid="ignore"):
        f_val = msr / mse if mse > 0 else math.inf
    p = float(stats.f.sf(f_val, df_r, df_e)) if np.isfinite(f_val) else 0.0
    alpha = 1.0 - confidence
    if mse > 0:
        fj = msc / mse
        vn = df_e * (k * icc * fj + n * (1 + (k - 1) * icc) - k * icc) ** 2
        vd = df_r * k**2 * icc**2 * fj**2 + (n * (1 + (k - 1) * icc) - k * icc) ** 2
        v = vn / vd
        fu = stats.f.ppf(1 - alpha / 2, df_r, v)
        fl = stats.f.ppf(1 - alpha / 2, v, df_r)
        low = n * (msr - fu * mse) / (fu * (k * msc + (k * n - k - n) * mse) + n * msr)
        high = n * (fl * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fl * msr)
    else:  # perfect consistency: only a rater offset (absolute disagreement) remains
        low = high = icc
    return ICCResult(float(icc), float(low), float(high), confidence, float(f_val), float(df_r), float(df_e),
                     p, n, k, float(msr), float(msc), float(mse))


@dataclass(frozen=True)
class BlandAltman:
    """Bland-Altman agreement of two readers' scores (difference = A - B).

    Attributes
    ----------
    n : int
    bias : float
        Mean difference A - B.
    sd : float
        Standard deviation of the differences (ddof 1).
    loa_low, loa_high : float
        Limits of agreement, bias -/+ z * sd (z = 1.96 for 95 %).
    bias_ci, loa_low_ci, loa_high_ci : tuple of float
        Confidence intervals: t-based for the bias, and with the approximate standard
        error sqrt(3 sd^2 / n) for each limit (Bland & Altman 1999).
    confidence : float
    """

    n: int
    bias: float
    sd: float
    loa_low: float
    loa_high: float
    bias_ci: tuple[float, float]
    loa_low_ci: tuple[float, float]
    loa_high_ci: tuple[float, float]
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """Flat dictionary (intervals as ``*_ci_low`` / ``*_ci_high``)."""
        d: dict[str, Any] = {"n": self.n, "bias": self.bias, "sd": self.sd, "loa_low": self.loa_low,
                             "loa_high": self.loa_high, "confidence": self.confidence}
        for name in ("bias_ci", "loa_low_ci", "loa_high_ci"):
            lo, hi = getattr(self, name)
            d[f"{name}_low"], d[f"{name}_high"] = lo, hi
        return d


def bland_altman(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, confidence: float = 0.95
) -> BlandAltman:
    """Bias and limits of agreement between two readers.

    Parameters
    ----------
    a, b : array_like of float, shape (n,)
        Scores of reader A and reader B on the same studies (n >= 2).
    confidence : float
        Coverage of the limits of agreement and level of their confidence intervals.

    Returns
    -------
    BlandAltman
    """
    from scipy import stats

    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError("need two 1-D arrays of equal length >= 2")
    d = x - y
    n = d.size
    bias = float(d.mean())
    sd = float(d.std(ddof=1))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    t = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    se_bias = sd / math.sqrt(n)
    se_loa = math.sqrt(3.0 * sd**2 / n)
    lo, hi = bias - z * sd, bias + z * sd
    return BlandAltman(
        n=n, bias=bias, sd=sd, loa_low=lo, loa_high=hi,
        bias_ci=(bias - t * se_bias, bias + t * se_bias),
        loa_low_ci=(lo - t * se_loa, lo + t * se_loa),
        loa_high_ci=(hi - t * se_loa, hi + t * se_loa),
        confidence=confidence,
    )


@dataclass(frozen=True)
class ThresholdAgreement:
    """Agreement of two readers on score <= threshold vs > threshold.

    Attributes
    ----------
    threshold : float
    n : int
    both_le, a_le_b_gt, a_gt_b_le, both_gt : int
        The 2 x 2 table.
    percent_agreement : float
        Percent of studies put on the same side by both readers.
    kappa : float
        Cohen's (unweighted) kappa of the split.
    """

    threshold: float
    n: int
    both_le: int
    a_le_b_gt: int
    a_gt_b_le: int
    both_gt: int
    percent_agreement: float
    kappa: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary."""
        return asdict(self)


def threshold_agreement(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    threshold: float = RULES.siopen_good_threshold,
) -> ThresholdAgreement:
    """Do two readers put each study on the same side of a score threshold?

    Parameters
    ----------
    a, b : array_like of float, shape (n,)
        Scores of reader A and reader B.
    threshold : float
        SIOPEN <= 3 by default (Ladenstein 2018).

    Returns
    -------
    ThresholdAgreement
    """
    x = np.asarray(a, dtype=float) <= threshold
    y = np.asarray(b, dtype=float) <= threshold
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("need two 1-D arrays of equal length")
    n = int(x.size)
    return ThresholdAgreement(
        threshold=threshold, n=n,
        both_le=int((x & y).sum()), a_le_b_gt=int((x & ~y).sum()),
        a_gt_b_le=int((~x & y).sum()), both_gt=int((~x & ~y).sum()),
        percent_agreement=100.0 * float((x == y).mean()) if n else math.nan,
        kappa=weighted_kappa(x.astype(int), y.astype(int), weights=None, categories=(0, 1)),
    )


@dataclass
class AgreementReport:
    """Agreement of readers over the same studies (see :func:`reader_agreement`).

    Attributes
    ----------
    readers : list of str
        Readers compared; pairwise statistics use the first two.
    segments : pandas.DataFrame
        One row per SIOPEN segment plus ``"all"`` (segments pooled): ``segment, n,
        exact_agreement`` (percent), ``kappa_quadratic``, ``positive_a``, ``positive_b``
        (studies graded > 0 by each reader).
    total : dict
        ICC(2,1) over all readers (``icc_*``; ``icc_low_*`` over studies with a mean
        total <= ``low_range``), Bland-Altman of the SIOPEN totals
        (``ba_*``), and agreement on <= threshold (``split_*``).
    paired : pandas.DataFrame
        The paired totals: ``patient_id, timepoint, <reader>...``.
    """

    readers: list[str]
    segments: pd.DataFrame
    total: dict[str, Any]
    paired: pd.DataFrame
    icc: ICCResult
    bland_altman: BlandAltman
    split: ThresholdAgreement

    def total_table(self) -> pd.DataFrame:
        """``total`` as a one-row table."""
        import pandas as pd

        return pd.DataFrame([self.total])


def reader_agreement(
    segments: pd.DataFrame,
    readers: Sequence[str] | None = None,
    threshold: float = RULES.siopen_good_threshold,
    confidence: float = 0.95,
    low_range: float = 6.0,
) -> AgreementReport:
    """Agreement between readers who read the same studies.

    Parameters
    ----------
    segments : pandas.DataFrame
        Segment table with several readers.
    readers : sequence of str, optional
        Readers to compare (default: all, except ``"consensus"``). Pairwise
        statistics (kappa, Bland-Altman, threshold split) use the first two; the ICC
        uses all of them.
    threshold : float
        Score threshold for the split agreement.
    confidence : float
        Level of the confidence intervals.
    low_range : float
        Also report the ICC over the studies whose mean total is at most this
        (``icc_low_*``): the decisive range, where agreement is known to be worse.

    Returns
    -------
    AgreementReport
        Only studies (patient x time point) read by every reader in ``readers`` are used.
    """
    import pandas as pd

    df = segments.copy()
    df["reader"] = df["reader"].astype(str)
    names = list(readers) if readers is not None else [r for r in df["reader"].unique() if r != "consensus"]
    if len(names) < 2:
        raise ValueError(f"reader agreement needs at least two readers, found {names}")
    df = df[df["reader"].isin(names)]
    grades = df.pivot_table(index=["patient_id", "timepoint", "segment"], columns="reader", values="siopen",
                            aggfunc="first").dropna()
    grades = grades[names].astype(int)
    a, b = names[0], names[1]
    rows = []
    for key in [*SIOPEN_KEYS, "all"]:
        g = grades if key == "all" else grades[grades.index.get_level_values("segment") == key]
        rows.append({
            "segment": key, "n": len(g),
            "exact_agreement": 100.0 * float((g[a] == g[b]).mean()) if len(g) else math.nan,
            "kappa_quadratic": weighted_kappa(g[a].to_numpy(), g[b].to_numpy(), "quadratic"),
            "positive_a": int((g[a] > 0).sum()), "positive_b": int((g[b] > 0).sum()),
        })
    seg_table = pd.DataFrame(rows)
    totals = grades.groupby(level=["patient_id", "timepoint"]).sum()
    # a study read by every reader has all 12 segments
    complete = grades.groupby(level=["patient_id", "timepoint"]).size() == len(SIOPEN_KEYS)
    totals = totals[complete.reindex(totals.index, fill_value=False).to_numpy(dtype=bool)]
    icc = icc_a1(totals[names].to_numpy(dtype=float), confidence)
    ba = bland_altman(totals[a].to_numpy(dtype=float), totals[b].to_numpy(dtype=float), confidence)
    split = threshold_agreement(totals[a].to_numpy(), totals[b].to_numpy(), threshold)
    total: dict[str, Any] = {"reader_a": a, "reader_b": b, "n_readers": len(names), "n_studies": len(totals)}
    total.update({f"icc_{k}": v for k, v in icc.to_dict().items() if k in ("icc", "ci_low", "ci_high", "f", "p_value")})
    total.update({f"ba_{k}": v for k, v in ba.to_dict().items() if k != "confidence" and k != "n"})
    total.update({f"split_{k}": v for k, v in split.to_dict().items() if k != "n"})
    low = totals[totals[names].mean(axis=1) <= low_range]
    total["icc_low_range"] = low_range
    total["icc_low_n"] = len(low)
    low_icc = icc_a1(low[names].to_numpy(dtype=float), confidence) if len(low) >= 2 else None
    for k in ("icc", "ci_low", "ci_high"):
        total[f"icc_low_{k}"] = getattr(low_icc, k) if low_icc is not None else math.nan
    total["kappa_quadratic_all_segments"] = float(seg_table.loc[seg_table["segment"] == "all", "kappa_quadratic"].iloc[0])
    paired = totals.reset_index()
    paired.columns.name = None
    return AgreementReport(names, seg_table, total, paired, icc, ba, split)

"""Cohort summaries in the form clinical papers print them.

Counts as ``n/N (p%)``, scores as ``median [min-max]``, the SIOPEN <= 3 split. Each
function returns a tidy table with the numbers *and* a ``text`` column ready to paste.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mibgkit.scoring.rules import RULES

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "format_number",
    "format_median_range",
    "format_count",
    "median_range",
    "score_summary",
    "count_table",
    "threshold_split",
    "persistence_summary",
    "relapse_site_summary",
]

DASH = "\u2013"


def format_number(x: float, decimals: int = 1) -> str:
    """An integer without decimals, anything else with ``decimals``; NaN as ``"NA"``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.{decimals}f}"


def format_median_range(values: Iterable[float], decimals: int = 1) -> str:
    """``"median [min-max]"`` of the finite values (en dash), ``"NA"`` if there are none.

    Parameters
    ----------
    values : iterable of float
    decimals : int
        Decimals of non-integer numbers (medians of an even count).

    Returns
    -------
    str
        e.g. ``"2 [1\u20136]"``.
    """
    a = np.asarray([v for v in values if v is not None], dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return "NA"
    med, lo, hi = np.median(a), a.min(), a.max()
    return f"{format_number(med, decimals)} [{format_number(lo, decimals)}{DASH}{format_number(hi, decimals)}]"


def format_count(n: int, total: int, decimals: int = 0) -> str:
    """``"n/N (p%)"``; ``"0/0"`` when the denominator is 0."""
    if total == 0:
        return f"{n}/0"
    return f"{n}/{total} ({100.0 * n / total:.{decimals}f}%)"


def _by(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _groups(df: pd.DataFrame, keys: list[str]) -> Iterable[tuple[dict[str, Any], pd.DataFrame]]:
    if not keys:
        yield {}, df
        return
    for values, sub in df.groupby(keys, sort=True, dropna=False):
        vals = values if isinstance(values, tuple) else (values,)
        yield dict(zip(keys, vals)), sub


def median_range(
    df: pd.DataFrame, value: str, by: str | Sequence[str] | None = None, decimals: int = 1
) -> pd.DataFrame:
    """Median, range and quartiles of one column, per group.

    Parameters
    ----------
    df : pandas.DataFrame
    value : str
        Numeric column.
    by : str or sequence of str, optional
        Grouping columns.
    decimals : int
        Decimals in the ``text`` column.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>..., n, median, min, max, q1, q3, text``.
    """
    import pandas as pd

    keys = _by(by)
    rows = []
    for labels, sub in _groups(df, keys):
        v = pd.to_numeric(sub[value], errors="coerce").dropna().to_numpy(dtype=float)
        stats = (
            dict(n=0, median=math.nan, min=math.nan, max=math.nan, q1=math.nan, q3=math.nan)
            if v.size == 0
            else dict(
                n=int(v.size), median=float(np.median(v)), min=float(v.min()), max=float(v.max()),
                q1=float(np.percentile(v, 25)), q3=float(np.percentile(v, 75)),
            )
        )
        rows.append({**labels, **stats, "text": format_median_range(v, decimals)})
    return pd.DataFrame(rows, columns=[*keys, "n", "median", "min", "max", "q1", "q3", "text"])


def score_summary(
    studies: pd.DataFrame,
    by: str | Sequence[str] | None = "group",
    timepoints: Sequence[str] | None = None,
    value: str = "siopen_total",
) -> pd.DataFrame:
    """Median [range] of a score per group and time point.

    Parameters
    ----------
    studies : pandas.DataFrame
        Study table (:meth:`Cohort.studies <mibgkit.cohort.Cohort.studies>` or
        :func:`~mibgkit.cohort.study_totals`), one reader (or a ``reader`` column in ``by``).
    by : str or sequence of str, optional
        Grouping columns besides the time point.
    timepoints : sequence of str, optional
        Time points to include, in this order (default: all, in treatment order).
    value : str
        Score column.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>..., timepoint, n, median, min, max, q1, q3, text``, rows in
        time point order.
    """
    df = studies
    if timepoints is not None:
        df = df[df["timepoint"].isin(list(timepoints))]
    keys = _by(by)
    out = median_range(df, value, by=[*keys, "timepoint"])
    order = list(timepoints) if timepoints is not None else (
        df.drop_duplicates("timepoint").sort_values("timepoint_order")["timepoint"].tolist()
        if "timepoint_order" in df.columns else sorted(df["timepoint"].unique())
    )
    out["_o"] = out["timepoint"].map({t: i for i, t in enumerate(order)})
    return out.sort_values(["_o", *keys]).drop(columns="_o").reset_index(drop=True)


def count_table(
    df: pd.DataFrame,
    column: str,
    by: str | Sequence[str] | None = None,
    categories: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Counts and percentages of the values of one column, per group.

    Parameters
    ----------
    df : pandas.DataFrame
    column : str
        Categorical (or boolean) column; missing values are left out of the denominator.
    by : str or sequence of str, optional
        Grouping columns.
    categories : sequence, optional
        Categories to list (also those with count 0), in this order.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>..., category, n, total, percent, text``.
    """
    import pandas as pd

    keys = _by(by)
    rows = []
    for labels, sub in _groups(df, keys):
        vals = sub[column].dropna()
        cats = list(categories) if categories is not None else sorted(vals.unique(), key=str)
        total = int(vals.size)
        for cat in cats:
            n = int((vals == cat).sum())
            rows.append({**labels, "category": cat, "n": n, "total": total,
                         "percent": 100.0 * n / total if total else math.nan, "text": format_count(n, total)})
    return pd.DataFrame(rows, columns=[*keys, "category", "n", "total", "percent", "text"])


def threshold_split(
    studies: pd.DataFrame,
    threshold: int = RULES.siopen_good_threshold,
    timepoint: str | None = "post_induction",
    by: str | Sequence[str] | None = None,
    value: str = "siopen_total",
) -> pd.DataFrame:
    """Patients at or below vs above a score threshold (SIOPEN <= 3, Ladenstein 2018).

    Parameters
    ----------
    studies : pandas.DataFrame
        Study table.
    threshold : int
        Scores ``<= threshold`` form the first group.
    timepoint : str or None
        Only this time point (None: every row).
    by : str or sequence of str, optional
        Grouping columns.
    value : str
        Score column.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>..., n, n_le, n_gt, pct_le, pct_gt, le, gt`` (``le``/``gt``
        formatted ``n/N (p%)``).
    """
    import pandas as pd

    df = studies if timepoint is None else studies[studies["timepoint"] == timepoint]
    keys = _by(by)
    rows = []
    for labels, sub in _groups(df, keys):
        v = pd.to_numeric(sub[value], errors="coerce").dropna()
        n, le = int(v.size), int((v <= threshold).sum())
        rows.append({
            **labels, "n": n, "n_le": le, "n_gt": n - le,
            "pct_le": 100.0 * le / n if n else math.nan, "pct_gt": 100.0 * (n - le) / n if n else math.nan,
            "le": format_count(le, n), "gt": format_count(n - le, n),
        })
    out = pd.DataFrame(rows, columns=[*keys, "n", "n_le", "n_gt", "pct_le", "pct_gt", "le", "gt"])
    out.attrs["threshold"] = threshold
    return out


def persistence_summary(
    table: pd.DataFrame,
    by: str | Sequence[str] | None = ("reader", "group"),
    later: Sequence[str] = ("end_of_treatment",),
) -> pd.DataFrame:
    """Summary of :func:`~mibgkit.cohort.persistence`: how many persist, and their scores.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`~mibgkit.cohort.persistence`.
    by : str or sequence of str, optional
        Grouping columns (columns that are absent or all missing are dropped).
    later : sequence of str
        Later time points whose ``<tp>_total`` is summarized among persisting patients.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>..., n_patients, n_evaluable, persisting, oligo,
        persisting_total`` (median [range] among persisting patients), then
        ``<tp>_total`` for each later time point (same patients).
    """
    import pandas as pd

    keys = [k for k in _by(by) if k in table.columns and table[k].notna().any()]
    rows = []
    for labels, sub in _groups(table, keys):
        ev = sub[sub["evaluable"]]
        pers = ev[ev["persisting"].fillna(False).astype(bool)]
        row = {
            **labels, "n_patients": len(sub), "n_evaluable": len(ev),
            "persisting": format_count(len(pers), len(ev)),
            "oligo": format_count(int(ev["oligo"].fillna(False).astype(bool).sum()), len(ev)),
            "persisting_total": format_median_range(pers["persisting_total"]),
        }
        for tp in later:
            col = f"{tp}_total"
            if col in sub.columns:
                row[col] = format_median_range(pers[col])
        rows.append(row)
    return pd.DataFrame(rows)


def relapse_site_summary(table: pd.DataFrame, by: str | Sequence[str] | None = "reader") -> pd.DataFrame:
    """Summary of :func:`~mibgkit.cohort.relapse_sites`: do relapses come back where the disease was?

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`~mibgkit.cohort.relapse_sites`.
    by : str or sequence of str, optional
        Grouping columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``<by>..., n_relapses, n_skeletal`` (relapses with skeletal uptake and
        a reference reading), ``all_at_reference``, ``any_at_reference`` (patients,
        ``n/N (p%)`` of ``n_skeletal``), ``sites_at_reference`` (segments, of all
        relapse segments), ``sites_at_persisting`` (when available), and the
        fractions as numbers (``frac_*``).
    """
    import pandas as pd

    keys = [k for k in _by(by) if k in table.columns]
    rows = []
    for labels, sub in _groups(table, keys):
        sk = sub[sub["all_at_reference"].notna()]
        n_all = int(sk["all_at_reference"].astype(bool).sum())
        n_any = int(sk["any_at_reference"].astype(bool).sum())
        n_sites = int(sk["n_relapse_sites"].sum())
        n_at = int(sk["n_at_reference_sites"].sum())
        row: dict[str, Any] = {
            **labels, "n_relapses": len(sub), "n_skeletal": len(sk),
            "all_at_reference": format_count(n_all, len(sk)), "any_at_reference": format_count(n_any, len(sk)),
            "sites_at_reference": format_count(n_at, n_sites),
            "frac_all_at_reference": n_all / len(sk) if len(sk) else math.nan,
            "frac_sites_at_reference": n_at / n_sites if n_sites else math.nan,
        }
        if "n_at_persisting_sites" in sk.columns:
            have = sk[sk["n_at_persisting_sites"].notna()]
            n_pers = int(have["n_at_persisting_sites"].sum())
            n_sites_p = int(have["n_relapse_sites"].sum())
            row["sites_at_persisting"] = format_count(n_pers, n_sites_p)
            row["frac_sites_at_persisting"] = n_pers / n_sites_p if n_sites_p else math.nan
        rows.append(row)
    return pd.DataFrame(rows)

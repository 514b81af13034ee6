"""Cohort figures: score trajectories, segment x time point heat map, Bland-Altman plot.

Figures are built with :class:`matplotlib.figure.Figure` directly (Agg canvas), never
through ``pyplot``: no global backend is switched, nothing opens a window, and the
functions are safe in scripts, tests and servers alike.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mibgkit.cohort.agreement import bland_altman
from mibgkit.scoring.rules import RULES
from mibgkit.segments import SIOPEN_KEYS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["plot_trajectories", "plot_segment_heatmap", "plot_bland_altman", "save_figure"]

_SHORT = {
    "skull": "skull", "thoracic_cage": "thorax", "spine": "spine", "pelvis": "pelvis",
    "right_upper_limb_proximal": "R humerus", "right_upper_limb_distal": "R forearm",
    "left_upper_limb_proximal": "L humerus", "left_upper_limb_distal": "L forearm",
    "right_lower_limb_proximal": "R femur", "right_lower_limb_distal": "R leg",
    "left_lower_limb_proximal": "L femur", "left_lower_limb_distal": "L leg",
}
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 120) -> Path:
    """Write a figure (format from the suffix, e.g. ``.png``); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def _totals(table: pd.DataFrame) -> pd.DataFrame:
    if "siopen_total" in table.columns:
        return table
    from mibgkit.cohort.response import study_totals

    return study_totals(table)


def plot_trajectories(
    table: pd.DataFrame,
    reader: str | None = None,
    group: str | None = "group",
    threshold: int = RULES.siopen_good_threshold,
    title: str | None = None,
) -> Figure:
    """SIOPEN total of each patient across time points, one line per patient.

    Parameters
    ----------
    table : pandas.DataFrame
        Segment table or study table (needs ``patient_id, timepoint, timepoint_order``).
    reader : str, optional
        Reader to plot; required when the table holds several.
    group : str or None
        Column colouring the lines; each group's median is drawn bold.
    threshold : int
        Dashed line at this score (SIOPEN <= 3).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        The y axis is linear up to 8 and logarithmic above (symlog), because the
        clinically decisive range is 0-6 while scores reach 72.
    """
    df = _totals(table)
    if reader is not None:
        df = df[df["reader"].astype(str) == reader]
    elif "reader" in df.columns and df["reader"].nunique() > 1:
        raise ValueError("several readers in the table: pass reader=...")
    order = df.drop_duplicates("timepoint").sort_values("timepoint_order")["timepoint"].tolist()
    xpos = {t: i for i, t in enumerate(order)}
    use_group = group is not None and group in df.columns and df[group].notna().any()
    if use_group:
        df = df.assign(**{str(group): df[group].astype(object).where(df[group].notna(), "no group").astype(str)})
    groups = sorted(df[group].unique()) if use_group else ["all"]
    colour = {g: _COLOURS[i % len(_COLOURS)] for i, g in enumerate(groups)}
    rng = np.random.default_rng(0)
    fig = _figure(7.5, 4.8)
    ax = fig.add_subplot()
    for _pid, sub in df.sort_values("timepoint_order").groupby("patient_id"):
        g = sub[group].iloc[0] if use_group else "all"
        x = np.array([xpos[t] for t in sub["timepoint"]], dtype=float) + rng.uniform(-0.08, 0.08)
        y = sub["siopen_total"].to_numpy(dtype=float) * (1 + rng.uniform(-0.03, 0.03))
        ax.plot(x, y, "-o", color=colour.get(g, "grey"), alpha=0.35, lw=0.8, ms=2.5)
    for g in groups:
        sub = df[df[group] == g] if use_group else df
        med = sub.groupby("timepoint")["siopen_total"].median().reindex(order)
        n = sub["patient_id"].nunique()
        ax.plot(range(len(order)), med.to_numpy(dtype=float), "-s", color=colour[g], lw=2.6, ms=6,
                label=f"{g.replace('_', ' ')} (n={n}), median")
    ax.axhline(threshold, color="k", ls="--", lw=0.9, label=f"SIOPEN = {threshold}")
    ax.set_yscale("symlog", linthresh=8, linscale=1.6)
    ax.set_ylim(-0.3, 80)
    ticks = [0, 1, 2, 3, 4, 6, 8, 16, 32, 72]
    ax.set_yticks(ticks, [str(t) for t in ticks])
    ax.set_xticks(range(len(order)), [t.replace("_", " ") for t in order])
    ax.set_xlim(-0.4, len(order) - 0.6)
    ax.set_ylabel("SIOPEN total (symlog above 8)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(title or f"SIOPEN score trajectories ({df['patient_id'].nunique()} patients)", fontsize=11)
    return fig


def plot_segment_heatmap(
    segments: pd.DataFrame,
    reader: str | None = None,
    patient_id: str | None = None,
    title: str | None = None,
) -> Figure:
    """Segment x time point heat map.

    Parameters
    ----------
    segments : pandas.DataFrame
        Segment table.
    reader : str, optional
        Reader to show; required when the table holds several.
    patient_id : str, optional
        Show this patient's grades (0-6); by default the cohort's percentage of
        patients with each segment involved.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from mibgkit.cohort.response import segment_prevalence

    df = segments
    if reader is not None:
        df = df[df["reader"].astype(str) == reader]
    elif df["reader"].nunique() > 1:
        raise ValueError("several readers in the table: pass reader=...")
    if patient_id is not None:
        df = df[df["patient_id"].astype(str) == str(patient_id)]
        if df.empty:
            raise ValueError(f"no readings of patient {patient_id!r}")
        order = df.drop_duplicates("timepoint").sort_values("timepoint_order")["timepoint"].tolist()
        mat = df.pivot_table(index="segment", columns="timepoint", values="siopen", aggfunc="first")
        mat = mat.reindex(index=list(SIOPEN_KEYS), columns=order)
        values, vmax, cmap, label = mat.to_numpy(dtype=float), 6.0, "magma_r", "SIOPEN grade"
        cells = [[format(v, ".0f") if np.isfinite(v) else "" for v in row] for row in values]
        heading = title or f"Patient {patient_id}: SIOPEN grade per segment"
        col_labels = [t.replace("_", " ") for t in order]
    else:
        frac = segment_prevalence(df)
        order = list(frac.columns)
        values, vmax, cmap, label = 100.0 * frac.to_numpy(dtype=float), 100.0, "Reds", "% of patients"
        cells = [[f"{v:.0f}" for v in row] for row in values]
        n = frac.attrs["n"]
        heading = title or "Involved segments by time point (% of patients)"
        col_labels = [f"{t.replace('_', ' ')}\n(n={n[t]})" for t in order]
    fig = _figure(1.6 + 1.25 * len(order), 5.6)
    ax = fig.add_subplot()
    im = ax.imshow(values, cmap=cmap, vmin=0, vmax=vmax, aspect="auto")
    for i, row in enumerate(cells):
        for j, text in enumerate(row):
            v = values[i, j]
            dark = np.isfinite(v) and v > 0.55 * vmax
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_yticks(range(len(SIOPEN_KEYS)), [_SHORT[k] for k in SIOPEN_KEYS])
    ax.set_xticks(range(len(order)), col_labels, fontsize=8)
    fig.colorbar(im, ax=ax, label=label, shrink=0.8)
    ax.set_title(heading, fontsize=10)
    return fig


def plot_bland_altman(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    labels: tuple[str, str] = ("reader A", "reader B"),
    confidence: float = 0.95,
    title: str | None = None,
) -> Figure:
    """Bland-Altman plot of two readers' SIOPEN totals.

    Parameters
    ----------
    a, b : array_like of float, shape (n,)
        Scores of the two readers on the same studies.
    labels : (str, str)
        Reader names.
    confidence : float
        Coverage of the limits of agreement.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Identical (mean, difference) pairs are drawn once, with area proportional to
        their count; the x axis is symlog like :func:`plot_trajectories`.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    ba = bland_altman(x, y, confidence)
    mean, diff = (x + y) / 2.0, x - y
    pts, counts = np.unique(np.stack([mean, diff], axis=1), axis=0, return_counts=True)
    fig = _figure(6.8, 4.6)
    ax = fig.add_subplot()
    ax.scatter(pts[:, 0], pts[:, 1], s=12 + 10 * counts, alpha=0.55, color=_COLOURS[0], edgecolor="none")
    for lo_hi, val, style, text in (
        (ba.bias_ci, ba.bias, "-", f"bias {ba.bias:+.2f}"),
        (ba.loa_low_ci, ba.loa_low, "--", f"{ba.loa_low:+.2f}"),
        (ba.loa_high_ci, ba.loa_high, "--", f"{ba.loa_high:+.2f}"),
    ):
        ax.axhline(val, color="k", ls=style, lw=1)
        ax.axhspan(lo_hi[0], lo_hi[1], color="grey", alpha=0.15, lw=0)
        ax.annotate(text, xy=(1.0, val), xycoords=("axes fraction", "data"), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xscale("symlog", linthresh=8, linscale=1.6)
    ticks = [t for t in (0, 1, 2, 3, 4, 6, 8, 16, 32, 72) if t <= max(8.0, float(mean.max()) * 1.2)]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel(f"mean SIOPEN total of {labels[0]} and {labels[1]}")
    ax.set_ylabel(f"{labels[0]} \u2212 {labels[1]}")
    ax.set_title(title or f"Bland\u2013Altman, n = {ba.n} studies ({100 * confidence:.0f}% limits of agreement)",
                 fontsize=10)
    ax.grid(alpha=0.3)
    return fig

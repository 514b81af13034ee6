"""Preview figure of a simulated study: ANT, POST, segment map and truth marks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from mibgkit.phantom.simulation import Simulation

__all__ = ["save_preview"]


def _body_rows(labels: np.ndarray) -> tuple[int, int]:
    rows = np.nonzero(labels.any(axis=1))[0]
    if len(rows) == 0:
        return 0, labels.shape[0]
    return max(int(rows[0]) - 15, 0), min(int(rows[-1]) + 15, labels.shape[0])


def save_preview(sim: "Simulation", path: str | Path, marks: bool = True, gamma: float = 0.6) -> Path:
    """Write a PNG: ANT, POST (normalized frame), the ANT/POST segment maps, with lesion marks.

    Parameters
    ----------
    sim : Simulation
    path : str or Path
    marks : bool
        Circle the truth lesions (green = visible, orange = below the CNR limit).
    gamma : float
        Display gamma (count images are shown with a clipped power-law grey scale).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    path = Path(path)
    ant = sim.study.view("ANT").image
    post = sim.study.view("POST").image
    r0, r1 = _body_rows(sim.truth.labels["ANT"] | sim.truth.labels["POST"])
    fig, axes = plt.subplots(1, 4, figsize=(12, 9.5), dpi=90)
    for ax, img, name in ((axes[0], ant, "ANT"), (axes[1], post, "POST (mirrored to ANT frame)")):
        vmax = float(np.percentile(img[img > 0], 99.7)) if (img > 0).any() else 1.0
        ax.imshow(np.clip(img[r0:r1] / vmax, 0, 1) ** gamma, cmap="gray_r", aspect="equal", interpolation="nearest")
        ax.set_title(name, fontsize=9)
    cmap = ListedColormap(["white"] + [plt.get_cmap("tab20")(i) for i in range(12)])
    for ax, v in ((axes[2], "ANT"), (axes[3], "POST")):
        ax.imshow(sim.truth.labels[v][r0:r1], cmap=cmap, vmin=0, vmax=12, interpolation="nearest")
        ax.set_title(f"segments {v}", fontsize=9)
    if marks:
        for ax, v in ((axes[0], "ANT"), (axes[1], "POST"), (axes[2], "ANT"), (axes[3], "POST")):
            for les in sim.truth.lesions:
                r, c = les.positions[v]
                color = "tab:green" if les.visible else "tab:orange"
                if les.kind == "diffuse":
                    color = "tab:purple"
                ax.add_patch(plt.Circle((c, r - r0), 7, fill=False, color=color, lw=0.8))
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    t = sim.truth
    p = t.patient
    fig.suptitle(
        f"{p['age_years']:.1f} y {p['sex']}, {p['pattern']}, {p['timepoint']}; {sim.acquisition['collimator']}, "
        f"ANT {sim.acquisition['counts']['ANT'] / 1e3:.0f} k counts; SIOPEN {t.siopen_total}, Curie {t.curie_total}, "
        f"{len(t.lesions)} lesions ({sum(les.visible for les in t.lesions)} visible)",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def save_spot_preview(sim: "Simulation", path: str | Path, gamma: float = 0.6) -> Path:
    """Write a PNG: the anterior whole-body view with each spot's field, then each spot (ANT).

    Parameters
    ----------
    sim : Simulation
        Simulated with ``spots=(...)``.
    path : str or Path
    gamma : float
        Display gamma.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mibgkit.phantom.simulation import SPOT_SIZE

    path = Path(path)
    names = list(sim.truth.spots)
    fig, axes = plt.subplots(1, 1 + len(names), figsize=(3.2 * (1 + len(names)), 6.5), dpi=90,
                             gridspec_kw={"width_ratios": [0.6] + [1.0] * len(names)})
    ant = sim.study.view("ANT").image
    wb_pix = float(sim.acquisition["pixel_mm"])
    r0, r1 = _body_rows(sim.truth.labels["ANT"])

    def show(ax: "plt.Axes", img: np.ndarray) -> None:
        vmax = float(np.percentile(img[img > 0], 99.7)) if (img > 0).any() else 1.0
        ax.imshow(np.clip(img / vmax, 0, 1) ** gamma, cmap="gray_r", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])

    show(axes[0], ant[r0:r1])
    axes[0].set_title(f"WB ANT, {wb_pix:.2f} mm", fontsize=8)
    for ax, name in zip(axes[1:], names):
        info = sim.truth.spots[name]
        o, ps = info["origin_mm"], info["pixel_mm"]
        side = SPOT_SIZE * ps / wb_pix
        axes[0].add_patch(plt.Rectangle((o[1] / wb_pix - 0.5, o[0] / wb_pix - 0.5 - r0), side, side, fill=False,
                                        color="tab:blue", lw=0.8))
        pv = next(v for v in sim.study.views if v.kind == "static" and v.view == "ANT"
                  and v.series_instance_uid == info["series_instance_uid"])
        show(ax, pv.image)
        for lid, where in info["lesions"].items():
            r, c = where["positions"]["ANT"]
            ax.add_patch(plt.Circle((c, r), 8, fill=False, color="tab:green", lw=0.8))
            ax.text(c + 9, r, lid, color="tab:green", fontsize=6)
        ax.set_title(f"{name} ANT: zoom {info['zoom']:.2f}, {ps:.2f} mm, {info['frame_duration_s']:.0f} s, "
                     f"{info['views']['ANT']['counts'] / 1e3:.0f} k", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

"""Overlay figures of segment maps (PNG), for the CLI and the benchmark."""

from __future__ import annotations

import os

import numpy as np

from mibgkit.anatomy.model import SegmentMap
from mibgkit.segments import SIOPEN_KEYS

__all__ = ["overlay_png", "SEGMENT_COLOURS"]

#: One colour per SIOPEN label 1-12 (RGB 0-1); left/right limbs in related hues.
SEGMENT_COLOURS = np.array([
    [0.90, 0.10, 0.10], [1.00, 0.60, 0.00], [0.15, 0.35, 0.95], [0.10, 0.65, 0.20],
    [0.00, 0.80, 0.80], [0.00, 0.50, 0.50], [0.85, 0.20, 0.85], [0.50, 0.10, 0.55],
    [0.95, 0.90, 0.10], [0.55, 0.55, 0.05], [0.40, 0.95, 0.30], [0.55, 0.30, 0.10],
])


def overlay_png(image: np.ndarray, segmap: SegmentMap, path: str | os.PathLike[str], title: str = "") -> None:
    """Save the image with its segment map overlaid (and the map alone) as a PNG.

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
        The view's counts in the normalized frame.
    segmap : SegmentMap
    path : str or path-like
    title : str
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    img = np.clip(np.nan_to_num(np.asarray(image, dtype=float)), 0, None)
    hi = float(np.percentile(img[img > 0], 99.5)) if (img > 0).any() else 1.0
    disp = np.sqrt(np.clip(img / max(hi, 1e-9), 0, 1))
    lab = segmap.labels
    rows = np.flatnonzero((lab > 0).any(axis=1) | (segmap.body_mask.any(axis=1) if segmap.body_mask is not None else False))
    r0, r1 = (int(rows[0]), int(rows[-1])) if rows.size else (0, lab.shape[0] - 1)
    r0, r1 = max(r0 - 10, 0), min(r1 + 10, lab.shape[0] - 1)
    cmap = ListedColormap(SEGMENT_COLOURS)
    aspect = segmap.pixel_spacing_mm[0] / segmap.pixel_spacing_mm[1]
    h = 10.0
    w = 3 * h * lab.shape[1] * segmap.pixel_spacing_mm[1] / max((r1 - r0) * segmap.pixel_spacing_mm[0], 1) + 2.5
    fig, axes = plt.subplots(1, 3, figsize=(min(w, 18), h))
    over = np.ma.masked_equal(lab, 0)
    for ax, show_img, show_lab in ((axes[0], True, False), (axes[1], True, True), (axes[2], False, True)):
        if show_img:
            ax.imshow(disp, cmap="gray_r", aspect=aspect, interpolation="nearest")
        if show_lab:
            ax.imshow(over, cmap=cmap, vmin=0.5, vmax=12.5, alpha=0.45 if show_img else 1.0, aspect=aspect,
                      interpolation="nearest")
        if show_img and show_lab:
            for lm in segmap.landmarks:
                if lm.confidence > 0:
                    ax.plot(lm.col, lm.row, "k+", ms=4, mew=0.8)
        ax.set_ylim(r1, r0)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].set_title("counts")
    axes[1].set_title(f"{segmap.view} map (confidence {segmap.confidence:.2f})")
    axes[2].set_title("labels")
    handles = [Patch(color=SEGMENT_COLOURS[i], label=f"{i + 1} {k}") for i, k in enumerate(SIOPEN_KEYS)]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7, frameon=False)
    if title:
        fig.suptitle(title + (f"; missing: {', '.join(segmap.missing)}" if segmap.missing else ""), fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)

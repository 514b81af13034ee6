"""The report figure: both views with segment outlines, numbered hot spots, score table.

What a physician glances at before opening the reading in napari. Each view is shown as
stored (the posterior view as the camera saw it, not mirrored), so the numbers sit at
exactly the stored pixel positions written in ``reading.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from mibgkit.anatomy.model import SegmentMap
from mibgkit.detect.detector import MapsLike, maps_by_view_index
from mibgkit.io.model import PlanarView, Study
from mibgkit.scoring.reading import Reading
from mibgkit.segments import SIOPEN_KEYS

__all__ = ["render_report", "SEGMENT_COLOURS"]

#: One colour per SIOPEN label (1-12), colour-blind-safe where it matters (left/right pairs).
SEGMENT_COLOURS: tuple[str, ...] = (
    "#4477aa", "#66ccee", "#228833", "#ccbb44", "#ee6677", "#aa3377",
    "#ee6677", "#aa3377", "#4477aa", "#66ccee", "#4477aa", "#66ccee",
)
_SHORT = {
    "skull": "Skull", "thoracic_cage": "Thoracic cage", "spine": "Spine", "pelvis": "Pelvis",
    "right_upper_limb_proximal": "R humerus", "right_upper_limb_distal": "R forearm/hand",
    "left_upper_limb_proximal": "L humerus", "left_upper_limb_distal": "L forearm/hand",
    "right_lower_limb_proximal": "R femur", "right_lower_limb_distal": "R leg/foot",
    "left_lower_limb_proximal": "L femur", "left_lower_limb_distal": "L leg/foot",
}


def _find_view(study: Study, v: dict[str, Any]) -> tuple[int, PlanarView] | None:
    for i, pv in enumerate(study.views):
        if pv.source.sop_instance_uid == v.get("sop_instance_uid") and pv.source.frame == v.get("frame", 1):
            return i, pv
    for i, pv in enumerate(study.views):
        if pv.view == v.get("view"):
            return i, pv
    return None


def _hotspot_style(h: Any) -> tuple[str, str]:
    if h.status == "rejected":
        return "#999999", "--"
    if h.category == "bone":
        return ("#d55e00", "-") if h.pattern == "focal" else ("#e69f00", "-")
    return "#0072b2", ":"


def _draw_view(ax: Any, pv: PlanarView, smap: SegmentMap | None, reading: Reading, numbers: dict[str, int]) -> None:
    from matplotlib.colors import PowerNorm
    from matplotlib.patches import Circle
    from skimage.segmentation import find_boundaries

    img = pv.source.to_stored_array(np.asarray(pv.image, dtype=np.float32))
    body = img[img > 0]
    # scale to the bone range, not the bladder: the 99.7th percentile of the body
    vmax = float(np.percentile(body, 99.7)) if body.size else 1.0
    ax.imshow(img, cmap="gray_r", norm=PowerNorm(0.6, vmin=0, vmax=max(vmax, 1e-6)),
              interpolation="nearest", aspect=pv.pixel_spacing_mm[0] / pv.pixel_spacing_mm[1])
    if smap is not None:
        lab = pv.source.to_stored_array(np.asarray(smap.labels))
        edges = find_boundaries(lab, mode="inner") & (lab > 0)
        rgba = np.zeros((*lab.shape, 4), dtype=np.float32)
        from matplotlib.colors import to_rgba

        for k in range(1, len(SIOPEN_KEYS) + 1):
            sel = edges & (lab == k)
            if sel.any():
                rgba[sel] = to_rgba(SEGMENT_COLOURS[k - 1], 0.85)
        ax.imshow(rgba, interpolation="nearest", aspect=pv.pixel_spacing_mm[0] / pv.pixel_spacing_mm[1])
    radius = 9.0 / pv.pixel_spacing_mm[1]
    for h in reading.hotspots:
        for loc in h.locations:
            if loc.view != pv.view or loc.sop_instance_uid != pv.source.sop_instance_uid:
                continue
            colour, ls = _hotspot_style(h)
            r = radius * (2.2 if h.pattern == "diffuse" else 1.0)
            ax.add_patch(Circle((loc.col, loc.row), r, fill=False, ec=colour, lw=1.4, ls=ls))
            ax.text(loc.col + r + 1.5, loc.row, str(numbers[h.id]), color=colour, fontsize=7.5,
                    fontweight="bold", va="center", ha="left",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    # which side of the stored image is the patient's right
    right_on_left = not pv.source.mirrored
    ax.text(0.02, 0.995, "R" if right_on_left else "L", transform=ax.transAxes, fontsize=10, fontweight="bold",
            va="top", ha="left")
    ax.text(0.98, 0.995, "L" if right_on_left else "R", transform=ax.transAxes, fontsize=10, fontweight="bold",
            va="top", ha="right")
    # show the patient, not the empty table: crop to the rows with counts
    rows = np.flatnonzero(np.convolve((img > np.percentile(img, 60)).sum(axis=1) > 2, np.ones(9), "same") > 4)
    if rows.size:
        ax.set_ylim(min(img.shape[0] - 0.5, rows.max() + 12), max(-0.5, rows.min() - 12))
    ax.set_title(f"{pv.view}" + (" (as stored)" if pv.source.mirrored else ""), fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def _table(ax: Any, reading: Reading, numbers: dict[str, int]) -> None:
    ax.axis("off")
    rows = [["Segment", "SIOPEN", "foci", "diffuse"]]
    for k in SIOPEN_KEYS:
        s = reading.segments[k]
        rows.append([_SHORT[k], f"{s.siopen}" + (" (R)" if s.source == "reader" else ""), str(s.n_foci),
                     f"{100 * s.diffuse_fraction:.0f} %" if s.diffuse_fraction else ""])
    rows.append(["SIOPEN total", str(reading.siopen_total), "", ""])
    tab = ax.table(cellText=rows, loc="upper left", cellLoc="left", colWidths=[0.46, 0.18, 0.14, 0.2],
                   bbox=(0.0, 0.5, 1.0, 0.5))
    tab.auto_set_font_size(False)
    tab.set_fontsize(8.5)
    for (r, _), cell in tab.get_celld().items():
        cell.set_edgecolor("#cccccc")
        if r == 0 or r == len(rows) - 1:
            cell.set_text_props(fontweight="bold")
        grade = reading.segments[SIOPEN_KEYS[r - 1]].siopen if 0 < r <= len(SIOPEN_KEYS) else 0
        if grade:
            cell.set_facecolor("#fde0c5" if grade < 4 else "#f4a582")
    curie = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in reading.curie_segments.items() if v) or "none"
    good = reading.good_prognosis
    lines = [
        f"Curie total {reading.curie_total}/30 ({curie})",
        f"SIOPEN {reading.siopen_total} {'≤' if good else '>'} {reading.rules.siopen_good_threshold}: "
        f"{'good' if good else 'poor'}-prognosis group (after induction)",
        "",
        "Findings (# on the images):",
    ]
    for h in reading.hotspots:
        what = h.segment if h.category == "bone" else h.category
        kind = f"diffuse {100 * (h.diffuse_fraction or 0):.0f} %" if h.pattern == "diffuse" else "focal"
        pr = f", ratio {h.peak_ratio:.1f}" if h.peak_ratio else ""
        lines.append(f"{numbers[h.id]:>3}  {what} — {kind}, p={h.confidence:.2f}{pr} [{h.status}]")
    if len(lines) > 34:
        lines = lines[:33] + [f"... and {len(lines) - 33} more (see reading.json)"]
    ax.text(0.0, 0.48, "\n".join(lines), transform=ax.transAxes, va="top", ha="left", fontsize=7.5,
            family="monospace")


def render_report(
    reading: Reading,
    study: Study,
    maps: MapsLike | None,
    path: str | os.PathLike[str],
    dpi: int = 110,
) -> Path:
    """Write the report figure (PNG or PDF by the file suffix).

    Parameters
    ----------
    reading : Reading
    study : Study
        The study the reading is about (the images are taken from it).
    maps : StudySegmentMaps or mapping, optional
        Segment maps whose outlines are drawn.
    path : str or path-like
    dpi : int

    Returns
    -------
    Path
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    by_index = maps_by_view_index(study, maps)
    shown = [x for x in (_find_view(study, v) for v in reading.views) if x is not None]
    if not shown:
        shown = list(enumerate(study.views))[:2]
    numbers = {h.id: i for i, h in enumerate(reading.hotspots, 1)}
    fig = Figure(figsize=(4.2 * len(shown) + 5.6, 11.5))
    FigureCanvasAgg(fig)
    gs = fig.add_gridspec(1, len(shown) + 1, width_ratios=[1.0] * len(shown) + [1.45], wspace=0.06)
    for k, (i, pv) in enumerate(shown):
        _draw_view(fig.add_subplot(gs[0, k]), pv, by_index.get(i), reading, numbers)
    _table(fig.add_subplot(gs[0, len(shown)]), reading, numbers)
    st = reading.study
    age = st.get("age_years")
    fig.suptitle(
        f"mibgkit automatic reading — patient {str(st.get('patient_id') or '?')[:12]}"
        + (f", {age:.1f} y" if isinstance(age, (int, float)) else "")
        + f" — SIOPEN {reading.siopen_total}, Curie {reading.curie_total}\n"
        "proposals to be confirmed by a physician (red: bone, orange: diffuse, blue: physiological/soft tissue)",
        fontsize=10.5,
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches="tight")
    return out


"""SPECT hot spots: 3-D blobs with segment, peak ratio and volume, linked to planar lesions.

SPECT is supporting evidence: SIOPEN is scored on the planar views. A 3-D hot spot is
found with a multi-scale DoG whose noise is estimated robustly from the volume (OSEM
noise is not Poisson). Its anterior projection is placed on the planar ANT view by
template matching of the volume's anterior projection against that view, so it can be
linked to the planar finding it explains; a link may then settle bone vs soft tissue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from mibgkit.anatomy.model import VolumeSegmentMap
from mibgkit.detect.model import Hotspot, Location
from mibgkit.detect.params import DetectParams
from mibgkit.io.model import PlanarView, Volume
from mibgkit.segments import SIOPEN_KEYS

__all__ = ["SpectHotspot", "find_spect_hotspots", "project_to_planar", "link_spect"]


@dataclass
class SpectHotspot:
    """A 3-D hot spot.

    Parameters
    ----------
    index : tuple of float
        (slice, row, col) voxel index of the peak.
    lps : tuple of float
        Patient position of the peak, mm.
    z : float
        DoG significance (robust noise units).
    peak_ratio : float
        Peak over local background.
    volume_ml : float
        Volume of the half-maximum region, mL.
    segment : str or None
        SIOPEN segment at the peak (None = not bone).
    planar : tuple of float or None
        (row, col) of the peak projected on the ANT view's normalized frame.
    """

    index: tuple[float, float, float]
    lps: tuple[float, float, float]
    z: float
    peak_ratio: float
    volume_ml: float
    segment: str | None
    planar: tuple[float, float] | None = None


def find_spect_hotspots(
    vol: Volume, seg: VolumeSegmentMap | None, params: DetectParams, max_spots: int = 50
) -> list[SpectHotspot]:
    """3-D hot spots of one SPECT volume.

    Parameters
    ----------
    vol : Volume
    seg : VolumeSegmentMap or None
        Label volume on the same grid; without it every spot has ``segment=None``.
    params : DetectParams
    max_spots : int

    Returns
    -------
    list of SpectHotspot, strongest first.
    """
    a = np.asarray(vol.array, dtype=np.float32)
    sp = np.asarray(vol.spacing_mm, dtype=float)
    body = a > 0.05 * float(np.percentile(a, 99.5))
    zs = []
    for s_mm in params.spect_sigmas_mm:
        s = s_mm / sp
        d = ndi.gaussian_filter(a, s) - ndi.gaussian_filter(a, s * params.dog_ratio)
        inside = d[body] if body.any() else d.ravel()
        noise = 1.4826 * float(np.median(np.abs(inside - np.median(inside)))) + 1e-9
        zs.append(d / noise)
    z = np.max(zs, axis=0)
    best_scale = np.argmax(zs, axis=0)
    sep = np.maximum(3, np.round(8.0 / sp).astype(int) | 1)
    peaks = (ndi.maximum_filter(z, size=tuple(sep)) == z) & (z > params.spect_z_min) & body
    idx = np.argwhere(peaks)
    idx = idx[np.argsort(-z[peaks])][:max_spots]
    out = []
    vox_ml = float(np.prod(sp)) / 1000.0
    for s_i, r_i, c_i in idx:
        s_mm = params.spect_sigmas_mm[int(best_scale[s_i, r_i, c_i])]
        half = np.ceil((np.sqrt(3) * s_mm + 15.0) / sp).astype(int)
        lo = np.maximum([s_i, r_i, c_i] - half, 0)
        hi = np.minimum(np.array([s_i, r_i, c_i]) + half + 1, a.shape)
        win = a[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        grid = np.meshgrid(*[(np.arange(lo[k], hi[k]) - [s_i, r_i, c_i][k]) * sp[k] for k in range(3)],
                           indexing="ij")
        dist = np.sqrt(sum(g * g for g in grid))
        r_blob = np.sqrt(3) * s_mm
        shell = (dist > r_blob + 5.0) & (dist <= r_blob + 15.0)
        bg = float(np.percentile(win[shell], 30)) if shell.any() else 0.0
        peak = float(a[s_i, r_i, c_i])
        region, _ = ndi.label(win >= bg + 0.5 * max(peak - bg, 0.0))
        centre = region[s_i - lo[0], r_i - lo[1], c_i - lo[2]]
        n_vox = int((region == centre).sum()) if centre else 1
        segment = None
        if seg is not None:
            # the bone within 10 mm of the peak: blur and map error put peaks beside the bone
            near = seg.labels[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]][dist <= 10.0]
            near = near[near > 0]
            lab = int(seg.labels[s_i, r_i, c_i]) or (int(np.bincount(near).argmax()) if near.size else 0)
            segment = SIOPEN_KEYS[lab - 1] if lab else None
        index = (float(s_i), float(r_i), float(c_i))
        out.append(SpectHotspot(
            index=index, lps=tuple(float(v) for v in vol.index_to_lps(index)),  # type: ignore[arg-type]
            z=float(z[s_i, r_i, c_i]), peak_ratio=peak / max(bg, 1e-6 * peak + 1e-9),
            volume_ml=n_vox * vox_ml, segment=segment,
        ))
    return out


def _axis_of(vol: Volume, lps_axis: int) -> int:
    """Array axis (0 slice, 1 row, 2 col) that runs mostly along an LPS axis."""
    d = np.asarray(vol.direction, dtype=float)  # columns: (col, row, slice) unit vectors
    col_of_array = {2: 0, 1: 1, 0: 2}
    weights = [abs(d[lps_axis, col_of_array[ax]]) for ax in range(3)]
    return int(np.argmax(weights))


def project_to_planar(vol: Volume, planar: PlanarView) -> tuple[np.ndarray, np.ndarray] | None:
    """Affine map from voxel index to the planar view's normalized (row, col).

    The volume is summed along its anterior-posterior axis, resampled to the planar
    pixel size with head at the top and patient right on the left, and placed on the
    planar image by normalized cross-correlation.

    Returns
    -------
    (offset, scale) or None
        ``row = offset[0] + scale[0] * S`` and ``col = offset[1] + scale[1] * X`` with
        S, X the superior and left LPS coordinates in mm; None if the geometry is not
        axis-aligned enough or the match fails.
    """
    from skimage.feature import match_template

    ap, si, rl = _axis_of(vol, 1), _axis_of(vol, 2), _axis_of(vol, 0)
    if len({ap, si, rl}) != 3:
        return None
    proj = np.asarray(vol.array, dtype=np.float32).sum(axis=ap)
    # remaining axes in order; make rows = superior->inferior, cols = right->left (LPS x up)
    rem = [ax for ax in range(3) if ax != ap]
    if rem.index(si) != 0:
        proj = proj.T
    sp = vol.spacing_mm
    lps0 = vol.index_to_lps((0.0, 0.0, 0.0))
    step_si = vol.index_to_lps(tuple(1.0 if k == si else 0.0 for k in range(3)))[2] - lps0[2]  # type: ignore[arg-type]
    step_rl = vol.index_to_lps(tuple(1.0 if k == rl else 0.0 for k in range(3)))[0] - lps0[0]  # type: ignore[arg-type]
    if step_si > 0:  # rows must go head -> feet, i.e. decreasing S
        proj = proj[::-1]
    if step_rl < 0:  # cols must go right -> left, i.e. increasing L
        proj = proj[:, ::-1]
    zoom = (sp[si] / planar.pixel_spacing_mm[0], sp[rl] / planar.pixel_spacing_mm[1])
    tmpl = ndi.zoom(proj, zoom, order=1)
    img = np.asarray(planar.image, dtype=np.float32)
    if tmpl.shape[0] >= img.shape[0]:
        return None
    pad = max(0, tmpl.shape[1] - img.shape[1] + 2)
    img_p = np.pad(img, ((0, 0), (pad // 2 + 1, pad // 2 + 1)))
    res = match_template(np.sqrt(np.clip(img_p, 0, None)), np.sqrt(np.clip(tmpl, 0, None)))
    r0, c0 = np.unravel_index(int(np.argmax(res)), res.shape)
    c0 = c0 - (pad // 2 + 1)
    # the template's top-left row shows the highest S; its left col the lowest L (x)
    s_top = max(lps0[2], lps0[2] + step_si * (vol.array.shape[si] - 1))
    x_left = min(lps0[0], lps0[0] + step_rl * (vol.array.shape[rl] - 1))
    scale = np.array([-1.0 / planar.pixel_spacing_mm[0], 1.0 / planar.pixel_spacing_mm[1]])
    offset = np.array([r0 - scale[0] * s_top, c0 - scale[1] * x_left])
    return offset, scale


def link_spect(
    spots: list[SpectHotspot],
    hotspots: list[Hotspot],
    affine: tuple[np.ndarray, np.ndarray] | None,
    ant: PlanarView,
    vol: Volume,
    link_mm: float = 25.0,
    has_map: bool = True,
) -> list[Hotspot]:
    """Attach SPECT spots to the planar findings they explain.

    A linked planar proposal gets ``extra["spect"]``; a planar bone proposal whose SPECT
    spot lies off bone becomes ``soft_tissue`` (and vice versa, a soft-tissue proposal
    over a SPECT bone spot becomes bone) only when the SPECT segment map exists
    (``has_map``). SPECT spots
    without a planar partner are returned as new non-scoring findings
    (category ``spect_bone`` or ``spect_soft_tissue``).

    Returns
    -------
    list of Hotspot
        The SPECT-only findings (the caller appends them).
    """
    new: list[Hotspot] = []
    sp_ant = ant.pixel_spacing_mm
    for s in spots:
        if affine is not None:
            off, sc = affine
            s.planar = (float(off[0] + sc[0] * s.lps[2]), float(off[1] + sc[1] * s.lps[0]))
        info = {"index": [round(v, 1) for v in s.index], "lps_mm": [round(v, 1) for v in s.lps],
                "z": round(s.z, 2), "peak_ratio": round(s.peak_ratio, 3), "volume_ml": round(s.volume_ml, 2),
                "segment": s.segment, "series_instance_uid": vol.series_instance_uid}
        best, best_d = None, link_mm
        if s.planar is not None:
            r_st, c_st = ant.source.to_stored(*s.planar)
            for h in hotspots:
                for loc in h.locations:
                    if loc.view != ant.view:
                        continue
                    d = float(np.hypot((loc.row - r_st) * sp_ant[0], (loc.col - c_st) * sp_ant[1]))
                    if d < best_d:
                        best, best_d = h, d
        if best is not None:
            best.extra.setdefault("spect", []).append(info)
            if has_map and best.source == "auto" and best.pattern == "focal":
                if best.category == "bone" and s.segment is None and best.segment is not None:
                    best.extra["planar_segment"] = best.segment
                    best.category, best.segment, best.extra["settled_by"] = "soft_tissue", None, "spect"
                elif best.category != "bone" and s.segment is not None:
                    best.extra["planar_category"] = best.category
                    best.category, best.segment, best.extra["settled_by"] = "bone", s.segment, "spect"
            continue
        new.append(_spect_only(s, vol, info))
    return new


def _spect_only(s: SpectHotspot, vol: Volume, info: dict[str, object]) -> Hotspot:
    """A SPECT spot with no planar partner, as a non-scoring finding."""
    n_slices = vol.array.shape[0]
    if len(vol.sources) == n_slices:  # one stored frame per slice
        src = vol.sources[int(round(s.index[0]))]
        r, c = src.to_stored(s.index[1], s.index[2])
        loc = Location("SPECT", src.sop_instance_uid, src.frame, r, c, slice=s.index[0])
    else:
        uid = vol.sources[0].sop_instance_uid if vol.sources else ""
        loc = Location("SPECT", uid, 1, s.index[1], s.index[2], slice=s.index[0])
    return Hotspot(
        id="", segment=s.segment, pattern="focal", confidence=float(1.0 / (1.0 + np.exp(-(s.z - 6.0)))),
        locations=[loc], peak_ratio=s.peak_ratio, area_mm2=None,
        category="spect_bone" if s.segment else "spect_soft_tissue", extra={"spect": [info]},
    )

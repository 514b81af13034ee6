"""Context features of a fused candidate: what its surroundings say about bone vs organ.

The per-candidate features of :func:`~mibgkit.detect.fuse.feature_vector` describe the
spot itself. Three cues need the rest of the view or the other candidates:

* **Mirror partner** (``ctx_mirror``): paired physiological uptake (lacrimal, parotid and
  submandibular glands, supraclavicular brown fat) has a partner of similar strength at
  the same height on the other side of the body midline; a bone metastasis rarely does.
  Measured on the candidate's own view: the strongest other *candidate* at the same height
  whose midpoint with this one lies within ``ctx_pair_mid_mm`` of the midline (robust to a
  midline a few mm off), relative to the candidate's own response. (The raw DoG response
  in a window around the mirrored position was dropped: it also answered to the edge of a
  normal ilium or a bowel loop on the other side of a pelvic lesion.)
* **Brighter shoulder** (``ctx_shoulder``): a candidate on the slope of a much brighter
  extended structure (bladder, kidney, bowel loop, heart edge) is a ripple of that
  structure; the coarsest-scale smoothed counts within ``ctx_shoulder_mm`` around it,
  relative to those at the candidate.
* **Depth on the spine** (``ctx_spine_ap``): the spine lies posterior, so a spine lesion
  is brighter on POST; bladder, bowel and the primary tumour projected onto the mapped
  spine are anterior. The signed log ANT/POST excess ratio for candidates on the spine,
  0 elsewhere (where bone may lie at any depth).
* **Stronger neighbour** (``ctx_near_stronger``): distance to the nearest fused candidate
  with a stronger response (two proposals on one lesion are 9-13 mm apart).

All are model inputs appended at the end of :data:`~mibgkit.detect.params.FEATURES`
(names prefixed ``ctx_``); the confidence model learns their weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mibgkit.detect.focal import ViewAnalysis
from mibgkit.detect.fuse import FusedCandidate
from mibgkit.detect.params import DetectParams
from mibgkit.detect.physiology import BodyFrame
from mibgkit.segments import label_of

__all__ = ["CONTEXT_FEATURES", "context_features", "context_features_reference"]

#: Names of the context features, in column order (appended to ``FEATURES``).
CONTEXT_FEATURES: tuple[str, ...] = ("ctx_mirror", "ctx_shoulder", "ctx_near_stronger", "ctx_spine_ap")

#: ``ctx_mirror`` of a candidate too close to the midline to have a partner of its own.
NO_MIRROR = -1.0


def _midline(va: ViewAnalysis, frame: BodyFrame | None, row: int) -> float | None:
    """Body midline column at ``row``: the body outline's centre above the thoracic cage
    (head and neck, where the spine's column may be off), the spine's column below."""
    if frame is not None and row >= frame.chest_top:
        return frame.mid_col
    cols = np.flatnonzero(va.body[row]) if 0 <= row < va.body.shape[0] else np.zeros(0, dtype=np.int64)
    if cols.size >= 4:
        return 0.5 * float(cols[0] + cols[-1])
    return frame.mid_col if frame is not None else None


def _mirror(va: ViewAnalysis, row: float, col: float, sigma_mm: float,
            z: float, mid: float | None, pos: np.ndarray, zs: np.ndarray, same_view: np.ndarray,
            p: DetectParams) -> float:
    """Strongest partner *candidate* across the midline, relative to this candidate's response.

    A partner is another candidate on the same view at the same height (within
    ``ctx_mirror_window_mm[0]``), at least ``2 * ctx_mirror_window_mm[1]`` away in column,
    whose midpoint with this one lies within ``ctx_pair_mid_mm`` of the body midline. Only
    proposed blobs count: the raw DoG response near the mirrored position also picks up the
    edge of a normal bone or a bowel loop on the other side, which is no partner.
    """
    if mid is None:
        return NO_MIRROR
    sr, sc = va.spacing
    if abs(col - mid) * sc <= sigma_mm:
        return NO_MIRROR  # the candidate is its own mirror
    pair = (same_view & (np.abs(pos[:, 0] - row) * sr <= p.ctx_mirror_window_mm[0])
            & (np.abs(pos[:, 1] - col) * sc > 2.0 * p.ctx_mirror_window_mm[1])
            & (np.abs(0.5 * (pos[:, 1] + col) - mid) * sc <= p.ctx_pair_mid_mm))
    if not pair.any():
        return 0.0
    return float(np.clip(zs[pair].max() / max(z, 1e-3), 0.0, 1.5))


def _shoulder(va: ViewAnalysis, row: float, col: float, p: DetectParams) -> float:
    s = va.smooth[-1]
    r, c = int(round(row)), int(round(col))
    hr = max(1, int(round(p.ctx_shoulder_mm / va.spacing[0])))
    hc = max(1, int(round(p.ctx_shoulder_mm / va.spacing[1])))
    nr, nc = s.shape
    win = s[max(0, r - hr):min(nr, r + hr + 1), max(0, c - hc):min(nc, c + hc + 1)]
    here = float(s[min(max(r, 0), nr - 1), min(max(c, 0), nc - 1)])
    return float(np.clip(np.log(max(float(win.max()), 1e-6) / max(here, 1e-6)), 0.0, 5.0))


def context_features(
    fused: Sequence[FusedCandidate],
    views: Mapping[str, ViewAnalysis],
    frames: Mapping[str, BodyFrame | None],
    params: DetectParams,
) -> np.ndarray:
    """Context features of every fused candidate, in the order of :data:`CONTEXT_FEATURES`.

    Computed for all candidates of a view at once (pairwise distance matrices, gathered
    windows); :func:`context_features_reference` is the same, one candidate at a time.

    Parameters
    ----------
    fused : sequence of FusedCandidate
        The study's fused candidates.
    views : mapping
        View name -> ViewAnalysis.
    frames : mapping
        View name -> BodyFrame of that view (or None).
    params : DetectParams
        ``ctx_mirror_window_mm``, ``ctx_shoulder_mm``, ``ctx_near_cap_mm``.

    Returns
    -------
    ndarray of shape (n_candidates, len(CONTEXT_FEATURES))
    """
    out = np.zeros((len(fused), len(CONTEXT_FEATURES)))
    if not fused:
        return out
    best = [f.best for f in fused]
    zs = np.array([b.z for b in best])
    pos = np.array([(b.row, b.col) for b in best])
    sig = np.array([b.sigma_mm for b in best])
    vnames = np.array([b.view for b in best])
    for name in np.unique(vnames).tolist():
        idx = np.flatnonzero(vnames == name)
        va = views[name]
        sr, sc = va.spacing
        row, col, z = pos[idx, 0], pos[idx, 1], zs[idx]
        # ctx_mirror: partners among this view's candidates (pairs i -> j)
        mid = _midlines(va, frames.get(name), np.round(row).astype(np.int64))
        has_mid = np.isfinite(mid)
        pair = ((np.abs(row[None, :] - row[:, None]) * sr <= params.ctx_mirror_window_mm[0])
                & (np.abs(col[None, :] - col[:, None]) * sc > 2.0 * params.ctx_mirror_window_mm[1])
                & (np.abs(0.5 * (col[None, :] + col[:, None]) - mid[:, None]) * sc <= params.ctx_pair_mid_mm))
        partner = np.where(pair, z[None, :], -np.inf).max(axis=1)
        mirror = np.where(pair.any(axis=1), np.clip(partner / np.maximum(z, 1e-3), 0.0, 1.5), 0.0)
        own = np.abs(col - np.where(has_mid, mid, 0.0)) * sc <= sig[idx]
        out[idx, 0] = np.where(~has_mid | own, NO_MIRROR, mirror)
        out[idx, 1] = _shoulders(va, row, col, params)
        # ctx_near_stronger: nearest stronger candidate of the same view
        d = np.hypot((row[None, :] - row[:, None]) * sr, (col[None, :] - col[:, None]) * sc)
        d = np.where(z[None, :] > z[:, None], d, np.inf).min(axis=1)
        out[idx, 2] = np.minimum(d, params.ctx_near_cap_mm)
    spine = label_of("spine")
    for i, f in enumerate(fused):
        if f.label == spine and f.ant_at is not None and f.post_at is not None:
            out[i, 3] = float(np.log((f.ant_at.excess + 1.0) / (f.post_at.excess + 1.0)))
    return out


def _midlines(va: ViewAnalysis, frame: BodyFrame | None, rows: np.ndarray) -> np.ndarray:
    """:func:`_midline` of many rows (NaN where there is none)."""
    nr = va.body.shape[0]
    inside = (rows >= 0) & (rows < nr)
    r = np.clip(rows, 0, nr - 1)
    body = va.body[r]
    n = body.sum(axis=1)
    first = np.argmax(body, axis=1)
    last = body.shape[1] - 1 - np.argmax(body[:, ::-1], axis=1)
    fallback = frame.mid_col if frame is not None else np.nan
    out = np.where(inside & (n >= 4), 0.5 * (first + last).astype(np.float64), fallback)
    if frame is not None:
        out = np.where(rows >= frame.chest_top, frame.mid_col, out)
    return np.asarray(out, dtype=np.float64)


def _shoulders(va: ViewAnalysis, row: np.ndarray, col: np.ndarray, p: DetectParams) -> np.ndarray:
    """:func:`_shoulder` of many points (windows gathered at once)."""
    s = va.smooth[-1]
    nr, nc = s.shape
    r, c = np.round(row).astype(np.int64), np.round(col).astype(np.int64)
    hr = max(1, int(round(p.ctx_shoulder_mm / va.spacing[0])))
    hc = max(1, int(round(p.ctx_shoulder_mm / va.spacing[1])))
    rr = r[:, None] + np.arange(-hr, hr + 1)[None, :]
    cc = c[:, None] + np.arange(-hc, hc + 1)[None, :]
    ok = ((rr >= 0) & (rr < nr))[:, :, None] & ((cc >= 0) & (cc < nc))[:, None, :]
    win = np.where(ok, s[np.clip(rr, 0, nr - 1)[:, :, None], np.clip(cc, 0, nc - 1)[:, None, :]], -np.inf)
    top = win.max(axis=(1, 2)).astype(np.float64)
    here = s[np.clip(r, 0, nr - 1), np.clip(c, 0, nc - 1)].astype(np.float64)
    return np.clip(np.log(np.maximum(top, 1e-6) / np.maximum(here, 1e-6)), 0.0, 5.0)


def context_features_reference(
    fused: Sequence[FusedCandidate],
    views: Mapping[str, ViewAnalysis],
    frames: Mapping[str, BodyFrame | None],
    params: DetectParams,
) -> np.ndarray:
    """:func:`context_features`, one candidate at a time (the straightforward definition,
    kept to test the vectorized version against)."""
    out = np.zeros((len(fused), len(CONTEXT_FEATURES)))
    if not fused:
        return out
    best = [f.best for f in fused]
    zs = np.array([b.z for b in best])
    pos = np.array([(b.row, b.col) for b in best])
    vnames = np.array([b.view for b in best])
    spine = label_of("spine")
    for i, b in enumerate(best):
        va = views[b.view]
        frame = frames.get(b.view)
        mid = _midline(va, frame, int(round(b.row)))
        out[i, 0] = _mirror(va, b.row, b.col, b.sigma_mm, b.z, mid, pos, zs, vnames == b.view, params)
        out[i, 1] = _shoulder(va, b.row, b.col, params)
        stronger = (zs > b.z) & (vnames == b.view)
        if stronger.any():
            d = np.hypot((pos[stronger, 0] - b.row) * va.spacing[0], (pos[stronger, 1] - b.col) * va.spacing[1])
            out[i, 2] = min(float(d.min()), params.ctx_near_cap_mm)
        else:
            out[i, 2] = params.ctx_near_cap_mm
        f = fused[i]
        if f.label == spine and f.ant_at is not None and f.post_at is not None:
            out[i, 3] = float(np.log((f.ant_at.excess + 1.0) / (f.post_at.excess + 1.0)))
    return out

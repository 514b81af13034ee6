"""Spot (static) views of a study with a mapped whole-body view: carry the map over.

A spot view is a zoomed, longer look at part of the same patient, usually acquired
right after the whole-body scan. Its own landmarks are few (a thorax spot has no head
top, neck or crotch), but its position on the whole-body image can be found by image
registration: the spot is resampled to the whole-body pixel size and matched to the
whole-body view of the same side (normalized cross-correlation of square-rooted,
lightly smoothed counts, i.e. a translation search). The whole-body labels are then
sampled on the spot's pixel grid, and the segments not (or not wholly) inside the
spot's field are reported missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from mibgkit.anatomy.gaps import bridge_spine_gaps
from mibgkit.anatomy.model import Landmark, SegmentMap
from mibgkit.io.model import PlanarView
from mibgkit.segments import SIOPEN_KEYS, label_of

__all__ = ["SpotMatch", "match_spot", "match_image", "transfer_map", "MIN_MATCH"]

#: Smallest normalized cross-correlation accepted as a match of the spot on the
#: whole-body view; below it the spot is reported unmapped rather than mapped anywhere.
MIN_MATCH = 0.5
#: Share of a segment's whole-body area that must fall in the spot's field for the
#: segment to count as present (as ``mibgkit.anatomy.planar.VISIBLE_FRACTION``).
VISIBLE_FRACTION = 0.9


@dataclass(frozen=True)
class SpotMatch:
    """Where a spot view lies on a whole-body view.

    Parameters
    ----------
    offset : tuple of float
        Whole-body (row, col) of the spot's pixel (0, 0).
    scale : tuple of float
        Whole-body pixels per spot pixel (rows, cols).
    score : float
        Peak normalized cross-correlation (-1 to 1).
    """

    offset: tuple[float, float]
    scale: tuple[float, float]
    score: float

    def to_whole_body(self, row: np.ndarray | float, col: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Spot (row, col) -> whole-body (row, col)."""
        return (self.offset[0] + np.asarray(row, dtype=float) * self.scale[0],
                self.offset[1] + np.asarray(col, dtype=float) * self.scale[1])

    def to_spot(self, row: float, col: float) -> tuple[float, float]:
        """Whole-body (row, col) -> spot (row, col)."""
        return ((row - self.offset[0]) / self.scale[0], (col - self.offset[1]) / self.scale[1])


def _prepared(img: np.ndarray, sigma: float) -> np.ndarray:
    a = np.clip(np.nan_to_num(np.asarray(img, dtype=np.float64)), 0.0, None)
    return np.sqrt(ndi.gaussian_filter(a, sigma))


def _ncc(image: np.ndarray, tmpl: np.ndarray) -> np.ndarray:
    """Normalized cross-correlation of ``tmpl`` at every position fully inside ``image`` (FFT)."""
    th, tw = tmpl.shape
    t = tmpl - tmpl.mean()
    shape = (image.shape[0] + th - 1, image.shape[1] + tw - 1)
    corr = np.fft.irfft2(np.fft.rfft2(image, shape) * np.fft.rfft2(t[::-1, ::-1], shape), shape)
    corr = corr[th - 1 : image.shape[0], tw - 1 : image.shape[1]]
    # window sums of the image and of its square (integral images)
    def window_sum(a: np.ndarray) -> np.ndarray:
        c = np.pad(a.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        return c[th:, tw:] - c[:-th, tw:] - c[th:, :-tw] + c[:-th, :-tw]
    n = th * tw
    s1 = window_sum(image)
    s2 = window_sum(image * image)
    var = np.maximum(s2 - s1 * s1 / n, 0.0)
    denom = np.sqrt(var) * float(np.sqrt((t * t).sum()))
    return np.where(denom > 1e-9 * max(float(denom.max()), 1e-300), corr / np.maximum(denom, 1e-300), 0.0)


def match_spot(spot: PlanarView, whole_body: PlanarView) -> SpotMatch:
    """Find a spot view on a whole-body view of the same side by template matching.

    Parameters
    ----------
    spot, whole_body : PlanarView
        Both in the normalized frame (the loader mirrors posterior views).

    Returns
    -------
    SpotMatch
        The translation with the highest normalized cross-correlation; the spot may
        overhang the whole-body field by up to half its size.
    """
    return match_image(spot.image, spot.pixel_spacing_mm, whole_body)


def match_image(image: np.ndarray, spacing_mm: tuple[float, float], whole_body: PlanarView) -> SpotMatch:
    """Find any 2-D count image of part of the patient on a whole-body view (translation search).

    The image is cropped to its non-zero field, resampled to the whole-body pixel size
    and matched by normalized cross-correlation of square-rooted, lightly smoothed
    counts. Used for spot views (:func:`match_spot`) and for coronal projections of a
    SPECT volume (:mod:`mibgkit.anatomy.spect`).

    Parameters
    ----------
    image : ndarray of shape (rows, cols)
        Counts in the normalized frame (head up, patient right on image left).
    spacing_mm : tuple of float
        (row, col) pixel size of ``image``.
    whole_body : PlanarView

    Returns
    -------
    SpotMatch
        Whole-body position of ``image``'s pixel (0, 0), the scale, and the peak NCC
        (-1 when the image is empty or larger than the padded whole-body view).
    """
    scale = (spacing_mm[0] / whole_body.pixel_spacing_mm[0],
             spacing_mm[1] / whole_body.pixel_spacing_mm[1])
    # crop to the scanned field (frames are zero outside the detector's field)
    img = np.asarray(image, dtype=np.float64)
    rows = np.flatnonzero(np.any(img > 0, axis=1))
    cols = np.flatnonzero(np.any(img > 0, axis=0))
    if rows.size < 8 or cols.size < 8:
        return SpotMatch((0.0, 0.0), scale, -1.0)
    r0, c0 = int(rows[0]), int(cols[0])
    crop = img[r0 : rows[-1] + 1, c0 : cols[-1] + 1]
    tmpl = _prepared(ndi.zoom(crop, scale, order=1), 1.5)
    wb = _prepared(whole_body.image, 1.5)
    pr, pc = tmpl.shape[0] // 2, tmpl.shape[1] // 2
    padded = np.pad(wb, ((pr, pr), (pc, pc)))
    if tmpl.shape[0] > padded.shape[0] or tmpl.shape[1] > padded.shape[1] or float(tmpl.std()) == 0.0:
        return SpotMatch((0.0, 0.0), scale, -1.0)
    ncc = _ncc(padded, tmpl)
    i, j = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    # whole-body position of the crop's (0, 0), then of the image's (0, 0)
    off = (float(i - pr) - r0 * scale[0], float(j - pc) - c0 * scale[1])
    return SpotMatch(off, scale, float(ncc[i, j]))


def transfer_map(spot: PlanarView, match: SpotMatch, wb_map: SegmentMap) -> SegmentMap:
    """The whole-body map sampled on the spot's grid (nearest neighbour).

    Parameters
    ----------
    spot : PlanarView
    match : SpotMatch
        From :func:`match_spot`.
    wb_map : SegmentMap
        Map of the whole-body view the spot was matched on.

    Returns
    -------
    SegmentMap
        ``method="registered"``; ``missing`` names the segments of which less than
        :data:`VISIBLE_FRACTION` of the whole-body area lies in the spot's scanned field;
        landmarks inside the spot are carried over.
    """
    h, w = spot.image.shape
    rr, cc = match.to_whole_body(np.arange(h), np.arange(w))
    ri = np.round(rr).astype(int)
    ci = np.round(cc).astype(int)
    H, W = wb_map.labels.shape
    okr = (ri >= 0) & (ri < H)
    okc = (ci >= 0) & (ci < W)
    labels = np.zeros((h, w), np.uint8)
    sub = np.ix_(np.flatnonzero(okr), np.flatnonzero(okc))
    labels[sub] = wb_map.labels[np.ix_(ri[okr], ci[okc])]
    curie = None
    if wb_map.curie_labels is not None:
        curie = np.zeros((h, w), np.uint8)
        curie[sub] = wb_map.curie_labels[np.ix_(ri[okr], ci[okc])]
    body = None
    if wb_map.body_mask is not None:
        body = np.zeros((h, w), bool)
        body[sub] = wb_map.body_mask[np.ix_(ri[okr], ci[okc])]
    # the spot's scanned field (zero outside the detector's useful field), in whole-body pixels
    img = np.asarray(spot.image)
    srows = np.flatnonzero(np.any(img > 0, axis=1))
    scols = np.flatnonzero(np.any(img > 0, axis=0))
    field = np.zeros((H, W), bool)
    if srows.size and scols.size:
        a0, b0 = match.to_whole_body(float(srows[0]) - 0.5, float(scols[0]) - 0.5)
        a1, b1 = match.to_whole_body(float(srows[-1]) + 0.5, float(scols[-1]) + 0.5)
        field[max(int(np.ceil(a0)), 0) : max(int(np.floor(a1)) + 1, 0),
              max(int(np.ceil(b0)), 0) : max(int(np.floor(b1)) + 1, 0)] = True
    counts_all = np.bincount(wb_map.labels.ravel(), minlength=len(SIOPEN_KEYS) + 1)
    counts_in = np.bincount(wb_map.labels[field].ravel(), minlength=len(SIOPEN_KEYS) + 1)
    missing = tuple(
        k for k in SIOPEN_KEYS
        if counts_all[label_of(k)] == 0 or counts_in[label_of(k)] < VISIBLE_FRACTION * counts_all[label_of(k)]
    )
    landmarks = []
    for lm in wb_map.landmarks:
        r, c = match.to_spot(lm.row, lm.col)
        if 0 <= r < h and 0 <= c < w:
            landmarks.append(Landmark(lm.name, r, c, lm.confidence))
    conf = float(wb_map.confidence * np.clip(match.score, 0.0, 1.0))
    lookup = bridge_spine_gaps(labels, spot.pixel_spacing_mm[0])  # as the whole-body map's lookups
    return SegmentMap(labels=labels, view=spot.view, pixel_spacing_mm=spot.pixel_spacing_mm, landmarks=landmarks,
                      missing=missing, confidence=conf, body_mask=body, curie_labels=curie, method="registered",
                      lookup_labels=lookup if lookup is not labels else None)

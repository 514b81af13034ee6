"""SPECT (and CT) label volumes: ``VolumeSegmentMap`` on the grid of a ``Volume``.

With a CT of the same patient (a SPECT/CT pair), bone is CT voxels above ~200 HU; without
one, the atlas fitted to the emission volume stands in for the skeleton. Either way the
segments come from the planar mapper run on a coronal projection of the volume (body
outline, limbs, landmarks, age proportions), and each voxel takes the label of the map
of the view whose camera is nearer: the anterior half of the body from the ANT map, the
posterior half from the POST map - so the sternum is thoracic cage and the vertebra
behind it is spine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from mibgkit.anatomy.landmarks import BodyFit
from mibgkit.anatomy.model import SegmentMap, VolumeSegmentMap
from mibgkit.anatomy.planar import fit_image, render_labels
from mibgkit.anatomy.spot import MIN_MATCH, match_image
from mibgkit.errors import MappingError
from mibgkit.io.model import PlanarView, Volume

__all__ = ["map_volume", "map_volume_planar", "place_on_planar", "PlanarPlacement", "ct_on_grid",
           "BONE_HU", "MIN_PLANAR_MATCH", "to_body_axes"]

#: CT threshold for bone (cortex and dense trabecular bone).
BONE_HU = 200.0


def to_body_axes(vol: Volume) -> tuple[tuple[int, int, int], tuple[bool, bool, bool]]:
    """Array axes of (head->feet, anterior->posterior, right->left) and whether to flip each.

    Parameters
    ----------
    vol : Volume

    Returns
    -------
    order : tuple of int
        Array axis indices for (vertical, depth, lateral).
    flip : tuple of bool
        Flip each of those axes to run head->feet, anterior->posterior, right->left.
    """
    d = np.asarray(vol.direction, dtype=float).reshape(3, 3)
    # direction columns are the LPS unit vectors of the (col, row, slice) axes
    vec = {2: d[:, 0], 1: d[:, 1], 0: d[:, 2]}
    order: list[int] = []
    flips: list[bool] = []
    for lps in (2, 1, 0):  # S, P, L components
        best = max((ax for ax in (0, 1, 2) if ax not in order), key=lambda ax: abs(vec[ax][lps]))
        order.append(best)
        comp = vec[best][lps]
        # wanted: vertical towards inferior (-S), depth towards +P, lateral towards +L
        flips.append(bool(comp > 0) if lps == 2 else bool(comp < 0))
    return (order[0], order[1], order[2]), (flips[0], flips[1], flips[2])


def _reorient(arr: np.ndarray, order: tuple[int, int, int], flip: tuple[bool, bool, bool]) -> np.ndarray:
    out = np.transpose(arr, order)
    for ax, f in enumerate(flip):
        if f:
            out = np.flip(out, axis=ax)
    return out


def _restore(arr: np.ndarray, order: tuple[int, int, int], flip: tuple[bool, bool, bool]) -> np.ndarray:
    for ax, f in enumerate(flip):
        if f:
            arr = np.flip(arr, axis=ax)
    return np.ascontiguousarray(np.transpose(arr, np.argsort(order)))


def _fill_nearest(labels: np.ndarray) -> np.ndarray:
    """Every pixel takes the label of the nearest labelled pixel (bone just outside the atlas)."""
    if not labels.any():
        return labels
    idx = ndi.distance_transform_edt(labels == 0, return_distances=False, return_indices=True)
    return labels[tuple(idx)]


def _body_mask(arr: np.ndarray, hu: np.ndarray | None) -> np.ndarray:
    """Body voxels: CT above -300 HU, else emission above half the soft-tissue level."""
    if hu is not None:
        return np.asarray(ndi.binary_opening(hu > -300.0, iterations=1))
    img3 = ndi.gaussian_filter(arr.astype(np.float64), 1.0)
    pos = img3[img3 > 0]
    if not pos.size:
        return np.asarray(img3 > 0)
    rough = img3 > 0.25 * float(np.median(pos))
    # soft-tissue level = median inside the rough outline; the edge at half of it
    return np.asarray(img3 > 0.5 * float(np.median(img3[rough])) if rough.any() else rough)


def _split_views(fit: BodyFit, body: np.ndarray) -> np.ndarray:
    """(z, y, x) labels: ANT map in front of the mid-coronal plane, POST map behind it."""
    ant = _fill_nearest(render_labels(fit, "ANT").labels)
    post = _fill_nearest(render_labels(fit, "POST").labels)
    return _split(ant, post, body)


def _split(ant: np.ndarray, post: np.ndarray, body: np.ndarray) -> np.ndarray:
    """(z, y, x) labels from (z, x) ANT and POST labels, split at each slice's mid-coronal plane."""
    nz, ny, nx = body.shape
    depth_idx = np.arange(ny)[None, :, None]
    any_y: np.ndarray = np.any(body, axis=2)  # (z, y)
    has = np.any(any_y, axis=1)
    first = np.where(has, np.argmax(any_y, axis=1), 0)
    last = np.where(has, ny - 1 - np.argmax(any_y[:, ::-1], axis=1), ny - 1)
    mid = (0.5 * (first + last))[:, None, None]
    front = depth_idx <= mid
    return np.where(front, ant[:, None, :], post[:, None, :]).astype(np.uint8)


def ct_on_grid(vol: Volume, ct: Volume) -> np.ndarray:
    """CT numbers resampled (nearest voxel) onto the grid of ``vol`` through patient LPS.

    A SPECT and its CT share a Frame of Reference but rarely an array order (a CT series
    is sorted feet -> head, a SPECT often head -> feet) or a grid.

    Parameters
    ----------
    vol, ct : Volume

    Returns
    -------
    ndarray, shape of ``vol.array``, float32
        HU; -1000 (air) outside the CT's field.
    """
    def affine(v: Volume) -> np.ndarray:
        # (slice, row, col) index -> LPS: columns of direction are the (col, row, slice) axes
        d = np.asarray(v.direction, dtype=float).reshape(3, 3)
        return d[:, ::-1] * np.asarray(v.spacing_mm, dtype=float)[None, :]

    a_v, a_c = affine(vol), affine(ct)
    inv = np.linalg.inv(a_c)
    matrix = inv @ a_v
    offset = inv @ (np.asarray(vol.origin_lps, dtype=float) - np.asarray(ct.origin_lps, dtype=float))
    arr = np.asarray(ct.array, dtype=np.float32)
    return ndi.affine_transform(arr, matrix, offset, output_shape=vol.array.shape, order=0,
                                mode="grid-constant", cval=-1000.0)


def _arrays_in_body_axes(
    vol: Volume, ct: Volume | None, order: tuple[int, int, int], flip: tuple[bool, bool, bool]
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The volume in body axes, its HU array (the CT itself, or a paired CT resampled onto it,
    or None) and its body mask."""
    arr = _reorient(np.asarray(vol.array, dtype=np.float32), order, flip)
    hu: np.ndarray | None = None
    if vol.modality.upper() == "CT":
        hu = arr
    elif ct is not None:
        hu = _reorient(ct_on_grid(vol, ct), order, flip)
    return arr, hu, _body_mask(arr, hu)


def map_volume(vol: Volume, age_years: float | None = None, ct: Volume | None = None) -> VolumeSegmentMap:
    """SIOPEN label volume of a SPECT (or CT) volume.

    Parameters
    ----------
    vol : Volume
        The volume to label (its grid is the grid of the result).
    age_years : float, optional
    ct : Volume, optional
        A CT of the same patient and Frame of Reference for bone by HU (resampled onto
        ``vol``'s grid, :func:`ct_on_grid`); when ``vol`` itself is a CT it is used directly.

    Returns
    -------
    VolumeSegmentMap
        ``method`` is ``"ct"`` or ``"atlas"``.

    Raises
    ------
    MappingError
        When no body is found in the volume.
    """
    where = vol.sources[0].path if vol.sources else f"{vol.modality} volume {vol.series_instance_uid}"
    order, flip = to_body_axes(vol)
    sp = tuple(float(vol.spacing_mm[a]) for a in order)
    arr, hu, body = _arrays_in_body_axes(vol, ct, order, flip)
    if hu is not None:
        image = body.sum(axis=1).astype(np.float64) * sp[1]  # soft-tissue thickness, mm
        method = "ct"
    else:
        image = ndi.gaussian_filter(arr.astype(np.float64), 1.0).sum(axis=1)
        method = "atlas"
    if not body.any():
        raise MappingError("no body found in the volume", where)
    fit = fit_image(image, (sp[0], sp[2]), age_years, where=where)
    labels = _split_views(fit, body)
    if hu is not None:
        labels = np.where(hu > BONE_HU, labels, 0).astype(np.uint8)
    else:
        labels = np.where(body, labels, 0).astype(np.uint8)
    conf = float(np.mean([lm.confidence for lm in fit.landmarks if lm.name in ("head_top", "shoulder", "crotch")] or [0]))
    return VolumeSegmentMap(
        labels=_restore(labels, order, flip), spacing_mm=tuple(vol.spacing_mm), method=method, confidence=conf,  # type: ignore[arg-type]
    )


#: Smallest normalized cross-correlation of the volume's coronal projection with a
#: whole-body view accepted as a placement (as spot views, :data:`mibgkit.anatomy.spot.MIN_MATCH`).
MIN_PLANAR_MATCH = MIN_MATCH


@dataclass(frozen=True)
class PlanarPlacement:
    """Where a volume lies on one whole-body view of the same study.

    The whole-body (row, col) of a patient position (L, P, S) in mm is
    ``(row0 - S / pixel_mm[0], col0 + L / pixel_mm[1])``: normalized views have the head
    at row 0 and the patient's right on the image left, so rows run towards -S and
    columns towards +L, whatever the side.

    Parameters
    ----------
    view : str
        ``"ANT"`` or ``"POST"``.
    row0, col0 : float
    pixel_mm : tuple of float
        Whole-body (row, col) pixel size.
    score : float
        Peak normalized cross-correlation of the match.
    """

    view: str
    row0: float
    col0: float
    pixel_mm: tuple[float, float]
    score: float

    def to_planar(self, s_mm: np.ndarray, l_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whole-body (row, col) of superior ``s_mm`` and left ``l_mm`` coordinates."""
        return self.row0 - np.asarray(s_mm) / self.pixel_mm[0], self.col0 + np.asarray(l_mm) / self.pixel_mm[1]


def _body_lines(vol: Volume, order: tuple[int, int, int], flip: tuple[bool, bool, bool]) -> tuple[np.ndarray, np.ndarray]:
    """S (mm) of each reoriented vertical index and L (mm) of each reoriented lateral index."""
    out = []
    for ax, lps, f in ((order[0], 2, flip[0]), (order[2], 0, flip[2])):
        n = vol.array.shape[ax]
        idx = np.zeros((3, n))
        idx[ax] = np.arange(n)
        d = np.asarray(vol.direction, dtype=float).reshape(3, 3)[:, ::-1] * np.asarray(vol.spacing_mm, dtype=float)
        pos = np.asarray(vol.origin_lps, dtype=float)[lps] + d[lps] @ idx
        out.append(pos[::-1] if f else pos)
    return out[0], out[1]


def place_on_planar(vol: Volume, whole_body: list[PlanarView]) -> list[PlanarPlacement]:
    """Locate an emission volume on the study's whole-body views by its coronal projection.

    The volume is summed along the anterior-posterior axis (a coronal projection: head
    up, patient right on the left, as a normalized planar view) and matched on each
    whole-body view by normalized cross-correlation (:func:`mibgkit.anatomy.spot.match_image`).

    Parameters
    ----------
    vol : Volume
        An emission (NM/PT) volume.
    whole_body : list of PlanarView
        Whole-body views of the same study (normalized frame).

    Returns
    -------
    list of PlanarPlacement
        One per whole-body view, in the same order (score -1 when nothing matched).
    """
    order, flip = to_body_axes(vol)
    sp = tuple(float(vol.spacing_mm[a]) for a in order)
    arr = _reorient(np.nan_to_num(np.asarray(vol.array, dtype=np.float32)), order, flip)
    proj = arr.clip(0, None).sum(axis=1, dtype=np.float64)
    s_line, l_line = _body_lines(vol, order, flip)
    out = []
    for wb in whole_body:
        m = match_image(proj, (sp[0], sp[2]), wb)
        px = (float(wb.pixel_spacing_mm[0]), float(wb.pixel_spacing_mm[1]))
        out.append(PlanarPlacement(wb.view, m.offset[0] + float(s_line[0]) / px[0],
                                   m.offset[1] - float(l_line[0]) / px[1], px, m.score))
    return out


def _sample_map(labels: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(len(rows), len(cols)) labels of the (nearest-filled) planar map at those positions; 0 outside."""
    filled = _fill_nearest(labels)
    ri = np.round(rows).astype(int)
    ci = np.round(cols).astype(int)
    okr = (ri >= 0) & (ri < labels.shape[0])
    okc = (ci >= 0) & (ci < labels.shape[1])
    out = np.zeros((rows.size, cols.size), np.uint8)
    out[np.ix_(np.flatnonzero(okr), np.flatnonzero(okc))] = filled[np.ix_(ri[okr], ci[okc])]
    return out


def map_volume_planar(vol: Volume, placements: list[PlanarPlacement], maps: dict[str, SegmentMap],
                      ct: Volume | None = None) -> VolumeSegmentMap:
    """SIOPEN label volume from the whole-body maps of the same study.

    For a SPECT(/CT) whose field shows no whole-body landmark: each voxel column is
    projected on the whole-body views where :func:`place_on_planar` located the volume,
    and takes the label of the ANT map in the anterior half of the body and of the POST
    map in the posterior half (sternum and anterior ribs -> thoracic cage, the vertebra
    behind them -> spine). Bone is CT voxels above :data:`BONE_HU` when a CT is given
    (or ``vol`` is one), else the emission volume's body support.

    Parameters
    ----------
    vol : Volume
        The volume to label (its grid is the grid of the result).
    placements : list of PlanarPlacement
        Accepted placements (score >= :data:`MIN_PLANAR_MATCH`), at least one.
    maps : dict of str to SegmentMap
        Whole-body maps by view name (``"ANT"``, ``"POST"``).
    ct : Volume, optional
        CT of the same Frame of Reference.

    Returns
    -------
    VolumeSegmentMap
        ``method`` is ``"ct+planar"`` or ``"planar"``.

    Raises
    ------
    MappingError
        When no placement matches a mapped view or no body is found.
    """
    where = vol.sources[0].path if vol.sources else f"{vol.modality} volume {vol.series_instance_uid}"
    by_view = {p.view: p for p in placements if p.view in maps and p.score >= MIN_PLANAR_MATCH}
    if not by_view:
        raise MappingError("volume not found on the whole-body views", where)
    order, flip = to_body_axes(vol)
    s_line, l_line = _body_lines(vol, order, flip)
    side = {}
    for name in ("ANT", "POST"):
        p = by_view.get(name) or next(iter(by_view.values()))
        m = maps.get(name) or maps[p.view]
        rows, cols = p.to_planar(s_line, l_line)
        side[name] = _sample_map(m.labels, rows, cols)
    arr, hu, body = _arrays_in_body_axes(vol, ct, order, flip)
    if not body.any():
        raise MappingError("no body found in the volume", where)
    labels = _split(side["ANT"], side["POST"], body)
    support = hu > BONE_HU if hu is not None else body
    labels = np.where(support, labels, 0).astype(np.uint8)
    used = [maps[p.view].confidence * float(np.clip(p.score, 0.0, 1.0)) for p in by_view.values()]
    return VolumeSegmentMap(labels=_restore(labels, order, flip), spacing_mm=tuple(vol.spacing_mm),  # type: ignore[arg-type]
                            method="ct+planar" if hu is not None else "planar", confidence=float(max(used)))

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

import numpy as np
from scipy import ndimage as ndi

from mibgkit.anatomy.landmarks import BodyFit
from mibgkit.anatomy.model import VolumeSegmentMap
from mibgkit.anatomy.planar import fit_image, render_labels
from mibgkit.errors import MappingError
from mibgkit.io.model import Volume

__all__ = ["map_volume", "BONE_HU", "to_body_axes"]

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


def _split_views(fit: BodyFit, body: np.ndarray) -> np.ndarray:
    """(z, y, x) labels: ANT map in front of the mid-coronal plane, POST map behind it."""
    ant = _fill_nearest(render_labels(fit, "ANT").labels)
    post = _fill_nearest(render_labels(fit, "POST").labels)
    nz, ny, nx = body.shape
    depth_idx = np.arange(ny)[None, :, None]
    any_y: np.ndarray = np.any(body, axis=2)  # (z, y)
    has = np.any(any_y, axis=1)
    first = np.where(has, np.argmax(any_y, axis=1), 0)
    last = np.where(has, ny - 1 - np.argmax(any_y[:, ::-1], axis=1), ny - 1)
    mid = (0.5 * (first + last))[:, None, None]
    front = depth_idx <= mid
    return np.where(front, ant[:, None, :], post[:, None, :]).astype(np.uint8)


def map_volume(vol: Volume, age_years: float | None = None, ct: Volume | None = None) -> VolumeSegmentMap:
    """SIOPEN label volume of a SPECT (or CT) volume.

    Parameters
    ----------
    vol : Volume
        The volume to label (its grid is the grid of the result).
    age_years : float, optional
    ct : Volume, optional
        A CT on the same grid (shape and geometry) for bone by HU; when ``vol`` itself
        is a CT it is used directly.

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
    arr = _reorient(np.asarray(vol.array, dtype=np.float32), order, flip)
    hu: np.ndarray | None = None
    if vol.modality.upper() == "CT":
        hu = arr
    elif ct is not None and ct.array.shape == vol.array.shape:
        hu = _reorient(np.asarray(ct.array, dtype=np.float32), order, flip)
    if hu is not None:
        body = ndi.binary_opening(hu > -300.0, iterations=1)
        image = body.sum(axis=1).astype(np.float64) * sp[1]  # soft-tissue thickness, mm
        method = "ct"
    else:
        img3 = ndi.gaussian_filter(arr.astype(np.float64), 1.0)
        image = img3.sum(axis=1)
        pos = img3[img3 > 0]
        if pos.size:
            rough = img3 > 0.25 * float(np.median(pos))
            # soft-tissue level = median inside the rough outline; the edge at half of it
            body = img3 > 0.5 * float(np.median(img3[rough])) if rough.any() else rough
        else:
            body = img3 > 0
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

"""SPECT (and PET/CT-like) volumes in patient LPS, SimpleITK conventions.

Two layouts:

* an NM RECON TOMO multi-frame object: frames are slices (Slice Vector); the first
  slice's Image Position/Orientation come from the top level or, as NM writes them,
  from the Detector Information Sequence; slice k lies at
  ``position + k x Spacing Between Slices x normal``. A negative Spacing Between
  Slices makes the slice axis run against the normal (direction column negated); the
  spacing itself stays positive.
* a per-slice series (one NM/PT/CT image per file with its own Image Position):
  slices are sorted along the normal and must be evenly spaced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mibgkit.errors import GeometryError, MissingTagError, MixedSeriesError
from mibgkit.io._values import HeaderValues, floats
from mibgkit.io.frames import frame_index
from mibgkit.io.headers import Header
from mibgkit.io.model import StoredFrame, Volume
from mibgkit.io.planar import pixel_spacing

__all__ = ["volume_from_multiframe", "volume_from_slices"]

_DEFAULT_IOP = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
_SPACING_TOLERANCE = 0.01  # relative; beyond it a per-slice series is not a regular grid


def _vector(hv: HeaderValues, keyword: str, n: int, what: str, path: str) -> np.ndarray:
    v = floats(hv.get(keyword), n)
    if v is None:
        raise GeometryError(f"{what} {hv.original(keyword)!r} is not {n} numbers", path)
    return v


def _axes(iop: np.ndarray, path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    row, col = iop[:3], iop[3:]
    r0, r1, r2, c0, c1, c2 = iop.tolist()  # 3-vector checks in plain Python (numpy's per-call cost dominates)
    if (
        abs(math.sqrt(r0 * r0 + r1 * r1 + r2 * r2) - 1) > 0.01
        or abs(math.sqrt(c0 * c0 + c1 * c1 + c2 * c2) - 1) > 0.01
        or abs(r0 * c0 + r1 * c1 + r2 * c2) > 0.01
    ):
        raise GeometryError(
            f"Image Orientation (Patient) {iop.tolist()} is not two orthonormal vectors", path
        )
    normal = np.array([r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0])  # np.cross, same arithmetic
    return row, col, normal / np.linalg.norm(normal)


def _geometry_item(hv: HeaderValues) -> tuple[HeaderValues | None, str]:
    """(the item holding Image Position/Orientation, source): top level or detector."""
    if hv.get("ImagePositionPatient") and hv.get("ImageOrientationPatient"):
        return hv, "ImagePositionPatient"
    for item in hv.items("DetectorInformationSequence"):
        if item.get("ImagePositionPatient") and item.get("ImageOrientationPatient"):
            return item, "DetectorInformationSequence"
    return None, "assumed"


def volume_from_multiframe(header: Header, frames: np.ndarray) -> Volume:
    """A volume from an NM RECON TOMO multi-frame object.

    Parameters
    ----------
    header : Header
        Classified header of kind ``recon``.
    frames : ndarray of shape (frames, rows, cols), float32

    Returns
    -------
    Volume
        Slices in stored order when the Slice Vector is increasing (else sorted by it);
        ``geometry_source`` says where position/orientation came from (``"assumed"``:
        none given, axial identity at the origin).

    Raises
    ------
    MissingTagError
        No Spacing Between Slices nor Slice Thickness.
    GeometryError
        Orientation not orthonormal, spacing zero.
    """
    ds, path = header.values, header.path
    index = frame_index(ds, path)
    order = (
        np.argsort(index["SliceVector"], kind="stable") if "SliceVector" in index else np.arange(len(frames))
    )
    if "SliceVector" in index and len(np.unique(index["SliceVector"], return_counts=True)[0]) != len(frames):
        raise GeometryError("Slice Vector repeats slice numbers (gated or multi-window recon)", path)
    row_mm, col_mm = pixel_spacing(ds, path)
    step = ds.get("SpacingBetweenSlices")
    if step in (None, ""):
        step = ds.get("SliceThickness")
    if step in (None, ""):
        raise MissingTagError("Spacing Between Slices and Slice Thickness are missing", path)
    step_mm = float(step)
    if step_mm == 0 or not np.isfinite(step_mm):
        raise GeometryError(f"Spacing Between Slices is {step_mm}", path)
    geometry, source = _geometry_item(ds)
    if geometry is not None:
        position = _vector(geometry, "ImagePositionPatient", 3, "Image Position (Patient)", path)
        orientation = _vector(geometry, "ImageOrientationPatient", 6, "Image Orientation (Patient)", path)
    else:
        position, orientation = np.zeros(3), np.array(_DEFAULT_IOP)
    row, col, normal = _axes(orientation, path)
    slice_axis = normal if step_mm > 0 else -normal
    rows, cols = int(frames.shape[1]), int(frames.shape[2])
    in_order = bool(np.all(order == np.arange(len(order))))
    return Volume(
        array=frames if in_order else np.ascontiguousarray(frames[order]),
        spacing_mm=(abs(step_mm), row_mm, col_mm),
        origin_lps=(float(position[0]), float(position[1]), float(position[2])),
        direction=np.column_stack([row, col, slice_axis]),
        modality=header.modality or "NM",
        sources=[StoredFrame(path, header.sop_instance_uid, i + 1, (rows, cols)) for i in order.tolist()],
        series_instance_uid=header.series_uid,
        frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "") or "") or None,
        series_description=str(ds.get("SeriesDescription", "") or ""),
        geometry_source=source,
    )


def volume_from_slices(headers: Sequence[Header], slices: Sequence[np.ndarray]) -> Volume:
    """A volume from a per-slice series (one image per file).

    Parameters
    ----------
    headers : sequence of Header
        Headers of one series, kind ``slice``.
    slices : sequence of ndarray of shape (rows, cols), float32
        Decoded, rescaled pixels, same order as ``headers``.

    Returns
    -------
    Volume
        Slices sorted along the normal of Image Orientation (Patient).

    Raises
    ------
    MixedSeriesError
        Slices differ in size, orientation or Frame of Reference.
    GeometryError
        Missing position/orientation, repeated positions, uneven spacing.
    """
    first = headers[0]
    path = first.path
    for h in headers:
        if not h.values.get("ImagePositionPatient") or not h.values.get("ImageOrientationPatient"):
            raise GeometryError("slice without Image Position/Orientation (Patient)", h.path)
    iop = _vector(first.values, "ImageOrientationPatient", 6, "Image Orientation (Patient)", path)
    row, col, normal = _axes(iop, path)
    shape = slices[0].shape
    for h, s in zip(headers, slices):
        other = _vector(h.values, "ImageOrientationPatient", 6, "Image Orientation (Patient)", h.path)
        if s.shape != shape:
            raise MixedSeriesError(f"slice is {s.shape}, series has {shape} (from {first.path})", h.path)
        if not np.allclose(other, iop, atol=1e-3):
            raise MixedSeriesError(f"slice orientation {other.tolist()} differs from {first.path}", h.path)
    positions = np.array(
        [_vector(h.values, "ImagePositionPatient", 3, "Image Position (Patient)", h.path) for h in headers]
    )
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    along = along[order]
    gaps = np.diff(along)
    if len(headers) > 1:
        if np.any(gaps < 1e-3):
            raise GeometryError(
                "two slices at the same position", headers[int(order[int(np.argmin(gaps)) + 1])].path
            )
        step = float(np.median(gaps))
        if np.any(np.abs(gaps - step) > _SPACING_TOLERANCE * step + 1e-3):
            raise GeometryError(f"uneven slice spacing ({gaps.min():.3f}-{gaps.max():.3f} mm)", path)
    else:
        step = float(first.values.get("SpacingBetweenSlices") or first.values.get("SliceThickness") or 1.0)
    row_mm, col_mm = pixel_spacing(first.values, path)
    origin = positions[order[0]]
    sources = [
        StoredFrame(headers[i].path, headers[i].sop_instance_uid, 1, (int(shape[0]), int(shape[1])))
        for i in order
    ]
    return Volume(
        array=np.ascontiguousarray(np.stack([slices[i] for i in order])),
        spacing_mm=(abs(step), row_mm, col_mm),
        origin_lps=(float(origin[0]), float(origin[1]), float(origin[2])),
        direction=np.column_stack([row, col, normal]),
        modality=first.modality,
        sources=sources,
        series_instance_uid=first.series_uid,
        frame_of_reference_uid=str(first.values.get("FrameOfReferenceUID", "") or "") or None,
        series_description=str(first.values.get("SeriesDescription", "") or ""),
        geometry_source="ImagePositionPatient",
    )

"""Planar NM objects -> normalized :class:`PlanarView`, :class:`DynamicSeries`, :class:`Projections`.

Frames are split per detector and energy window (Frame Increment Pointer); each planar
frame is flipped/mirrored into the normalized frame (rows head->feet, columns
patient right->left seen from the front) and keeps a :class:`StoredFrame` that maps it
back to the stored pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mibgkit.errors import GeometryError, MissingTagError
from mibgkit.io._values import HeaderValues, as_values
from mibgkit.io.frames import frame_index
from mibgkit.io.headers import Header
from mibgkit.io.meta import acquisition_datetime
from mibgkit.io.model import DynamicSeries, PlanarView, Projections, StoredFrame
from mibgkit.io.orientation import FrameOrientation, frame_orientation, needs_mirror
from mibgkit.io.viewid import ViewEvidence, identify_views

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

__all__ = ["PlanarObjects", "pixel_spacing", "build_planar"]


@dataclass
class PlanarObjects:
    """What one planar NM object yields."""

    views: list[PlanarView] = field(default_factory=list)
    dynamics: list[DynamicSeries] = field(default_factory=list)
    projections: list[Projections] = field(default_factory=list)


def pixel_spacing(ds: Dataset | HeaderValues, path: str) -> tuple[float, float]:
    """(row, col) spacing in mm: Pixel Spacing, else Imager / Nominal Scanned Pixel Spacing.

    Raises
    ------
    MissingTagError
        None of them is present.
    GeometryError
        The value is not two positive numbers.
    """
    hv = as_values(ds)
    for keyword in ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing"):
        value = hv.get(keyword)
        if value:
            try:
                row, col = (float(v) for v in value)
            except (TypeError, ValueError) as exc:
                raise GeometryError(f"{keyword} {hv.original(keyword)!r} is not two numbers", path) from exc
            if not (row > 0 and col > 0 and np.isfinite(row) and np.isfinite(col)):
                raise GeometryError(f"{keyword} {hv.original(keyword)!r} is not positive", path)
            return row, col
    raise MissingTagError("Pixel Spacing is missing (needed for mm)", path)


def _float(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _detector_item(v: HeaderValues, det: int) -> HeaderValues | None:
    dis = v.items("DetectorInformationSequence")
    if 0 < det <= len(dis):
        return dis[det - 1]
    return dis[0] if len(dis) == 1 else None


def _scan_fov_mm(item: HeaderValues | None) -> float | None:
    """Detector field of view along the scan (the short side of a rectangular detector)."""
    value = item.get("FieldOfViewDimensions") if item is not None else None
    if not value:
        return None
    try:
        dims = [float(x) for x in value]
    except (TypeError, ValueError):
        return None
    dims = [d for d in dims if d > 0]
    return min(dims) if dims else None


def _normalize(image: np.ndarray, flip_rows: bool, mirror: bool) -> np.ndarray:
    if flip_rows:
        image = image[::-1, :]
    if mirror:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


def _normalize_stack(frames: np.ndarray, members: list[int], flip: bool, mirror: bool) -> np.ndarray:
    """Frames ``members`` in the normalized frame, (n, rows, cols): consecutive frames that need
    no flip are a view of ``frames``, not a copy."""
    first, last = members[0], members[-1]
    block = frames[first : last + 1] if members == list(range(first, last + 1)) else frames[members]
    if flip:
        block = block[:, ::-1, :]
    if mirror:
        block = block[:, :, ::-1]
    return np.ascontiguousarray(block)


def _trust_lateral(evidence: dict[int, ViewEvidence], orient: dict[int, FrameOrientation]) -> bool:
    """False when an ANT and a POST head got their orientation from the very same header value:
    one orientation copied to opposite heads (or one Patient Orientation for both) cannot be
    right for both, so it says nothing about left and right."""
    ants = {orient[d].evidence for d, e in evidence.items() if e.view == "ANT"}
    posts = {orient[d].evidence for d, e in evidence.items() if e.view == "POST"}
    return not (ants & posts - {()})


def build_planar(header: Header, frames: np.ndarray) -> PlanarObjects:
    """Split a decoded planar object into views, dynamic series or projections.

    Parameters
    ----------
    header : Header
        Classified header (kind ``whole_body``, ``static``, ``dynamic``, ``gated``,
        ``tomo`` or ``gated_tomo``).
    frames : ndarray of shape (frames, rows, cols), float32
        Decoded, rescaled pixels.

    Returns
    -------
    PlanarObjects
    """
    hv, path = header.values, header.path
    index = frame_index(hv, path)
    spacing = pixel_spacing(hv, path)
    if header.kind in ("tomo", "gated_tomo"):
        return PlanarObjects(projections=[_projections(header, frames, index, spacing)])

    dets = index["DetectorVector"]
    # return_counts: the same sorted values, without numpy.ma (which plain np.unique imports: ~20 ms)
    evidence = identify_views(hv, [int(d) for d in np.unique(dets, return_counts=True)[0]])
    whole_body = header.kind == "whole_body"
    orient = {
        d: frame_orientation(hv, _detector_item(hv, d), use_patient_position=whole_body) for d in evidence
    }
    trust = _trust_lateral(evidence, orient)
    out = PlanarObjects()
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (d, e) in enumerate(zip(dets.tolist(), index["EnergyWindowVector"].tolist())):
        groups.setdefault((int(d), int(e)), []).append(i)

    rows, cols = int(frames.shape[1]), int(frames.shape[2])
    durations = _frame_durations(hv, index, len(frames))
    series_description = str(hv.get("SeriesDescription", "") or "")
    velocity = _positive(hv.get("ScanVelocity"))
    acquired = acquisition_datetime(hv)
    phases = index.get(_phase_key(header.kind), np.ones(len(frames), dtype=np.int64))
    for (det, ew), members in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        ev, ori = evidence[det], orient[det]
        flip = bool(ori.head_at_bottom)
        mirror = needs_mirror(ev.view, ori, trust)
        if header.kind in ("dynamic", "gated"):
            members = _time_order(members, index, header.kind)
        sources = [
            StoredFrame(
                path=path,
                sop_instance_uid=header.sop_instance_uid,
                frame=i + 1,
                stored_shape=(rows, cols),
                mirrored=mirror,
                flipped_rows=flip,
            )
            for i in members
        ]
        if header.kind in ("dynamic", "gated"):
            out.dynamics.append(
                DynamicSeries(
                    frames=_normalize_stack(frames, members, flip, mirror),
                    view=ev.view,
                    view_source=ev.source,
                    pixel_spacing_mm=spacing,
                    sources=sources,
                    frame_durations_s=[durations[i] for i in members],
                    series_instance_uid=header.series_uid,
                    phase=[int(phases[i]) for i in members],
                    kind=header.kind,
                    detector=det,
                    energy_window=ew,
                    label=ev.label,
                    series_description=series_description,
                )
            )
            continue
        fov = _scan_fov_mm(_detector_item(hv, det))
        images = [_normalize(frames[i], flip, mirror) for i in members]
        for i, image, src in zip(members, images, sources):
            out.views.append(
                PlanarView(
                    image=image,
                    view=ev.view,
                    view_source=ev.source,
                    kind=header.kind,
                    pixel_spacing_mm=spacing,
                    source=src,
                    series_instance_uid=header.series_uid,
                    series_description=series_description,
                    detector=det,
                    energy_window=ew,
                    frame_duration_s=durations[i],
                    scan_velocity_mm_s=velocity,
                    acquisition_datetime=acquired,
                    label=ev.label,
                    orientation_source=ori.source,
                    scan_fov_mm=fov,
                )
            )
    return out


def _positive(value: object) -> float | None:
    f = _float(value)
    return f if f is not None and f > 0 else None


def _phase_key(kind: str) -> str:
    return "PhaseVector" if kind == "dynamic" else "RRIntervalVector"


def _time_order(members: list[int], index: dict[str, np.ndarray], kind: str) -> list[int]:
    keys = ("PhaseVector", "TimeSliceVector") if kind == "dynamic" else ("RRIntervalVector", "TimeSlotVector")
    arrays = [index[k] for k in keys if k in index]
    if not arrays:
        return members
    return sorted(members, key=lambda i: tuple(int(a[i]) for a in arrays))


def _frame_durations(hv: HeaderValues, index: dict[str, np.ndarray], n: int) -> list[float | None]:
    """Seconds per frame: its phase's Actual Frame Duration, else the object's, else Frame Time."""
    ms = _positive(hv.get("ActualFrameDuration")) or _positive(hv.get("FrameTime"))
    default = ms / 1000.0 if ms is not None else None
    out: list[float | None] = [default] * n
    phases = hv.items("PhaseInformationSequence")
    if phases and "PhaseVector" in index:
        per_phase = [_positive(item.get("ActualFrameDuration")) for item in phases]
        for i, p in enumerate(index["PhaseVector"].tolist()):
            if 0 < p <= len(per_phase) and per_phase[p - 1] is not None:
                out[i] = per_phase[p - 1] / 1000.0  # type: ignore[operator]
    return out


def _projections(
    header: Header, frames: np.ndarray, index: dict[str, np.ndarray], spacing: tuple[float, float]
) -> Projections:
    return Projections(
        frames=frames,
        pixel_spacing_mm=spacing,
        index=index,
        angles_deg=projection_angles(header.values, index),
        source_path=header.path,
        sop_instance_uid=header.sop_instance_uid,
        series_instance_uid=header.series_uid,
    )


def projection_angles(ds: Dataset | HeaderValues, index: dict[str, np.ndarray]) -> np.ndarray | None:
    """Gantry angle (degrees, 0-360) of each projection, or None when it cannot be computed.

    angle = start + step x (view - 1), with the step counted positive for a clockwise
    (``CW``) rotation and negative for ``CC``; the start is the detector's own Start
    Angle (Detector Information Sequence) when given, else the rotation's.
    """
    hv = as_values(ds)
    rotations = hv.items("RotationInformationSequence")
    if not rotations or "AngularViewVector" not in index:
        return None
    n = len(index["AngularViewVector"])
    rot = index.get("RotationVector", np.ones(n, dtype=np.int64))
    det = index["DetectorVector"]
    angles = np.empty(n, dtype=float)
    for i in range(n):
        r = int(rot[i])
        if not 0 < r <= len(rotations):
            return None
        item = rotations[r - 1]
        step = _float(item.get("AngularStep"))
        start = _float(item.get("StartAngle"))
        det_item = _detector_item(hv, int(det[i]))
        det_start = _float(det_item.get("StartAngle")) if det_item is not None else None
        if det_start is not None:
            start = det_start
        if step is None or start is None:
            return None
        sign = -1.0 if str(item.get("RotationDirection", "CW")).upper() == "CC" else 1.0
        angles[i] = (start + sign * step * (int(index["AngularViewVector"][i]) - 1)) % 360.0
    return angles

"""Index the frames of a multi-frame NM object through its Frame Increment Pointer.

Each frame of an NM object is identified by one value of every vector the Frame
Increment Pointer names (Energy Window, Detector, Phase, Rotation, R-R Interval, Time
Slot, Slice, Angular View, Time Slice). A vector's length must equal Number of Frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from mibgkit.errors import PixelDataError
from mibgkit.io._values import HeaderValues, as_values
from mibgkit.io.headers import frame_pointers

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

__all__ = ["NM_VECTORS", "frame_index"]

#: NM frame vectors and the "number of" attribute that bounds each one.
NM_VECTORS: dict[str, str] = {
    "EnergyWindowVector": "NumberOfEnergyWindows",
    "DetectorVector": "NumberOfDetectors",
    "PhaseVector": "NumberOfPhases",
    "RotationVector": "NumberOfRotations",
    "RRIntervalVector": "NumberOfRRIntervals",
    "TimeSlotVector": "NumberOfTimeSlots",
    "SliceVector": "NumberOfSlices",
    "AngularViewVector": "NumberOfFramesInRotation",
    "TimeSliceVector": "NumberOfTimeSlices",
}


def _values(value: object) -> list[int]:
    if value is None or value == "":
        return []
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return [int(v) for v in value]
    return [int(value)]  # type: ignore[call-overload]


def frame_index(ds: Dataset | HeaderValues, path: str) -> dict[str, np.ndarray]:
    """Per-frame values of every NM vector present (named by the pointer or not).

    Parameters
    ----------
    ds : pydicom.dataset.Dataset or HeaderValues
        The object's header.
    path : str
        The file (for messages).

    Returns
    -------
    dict
        Vector keyword -> int array of shape (frames,). ``EnergyWindowVector`` and
        ``DetectorVector`` are always present (all ones when the object has a single
        window or detector and does not say).

    Raises
    ------
    PixelDataError
        A vector's length differs from Number of Frames, or a vector the Frame
        Increment Pointer names is absent although the object has several frames.
    """
    v = as_values(ds)
    try:
        n_frames = int(v.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError) as exc:
        raise PixelDataError(
            f"Number of Frames is not a number ({v.original('NumberOfFrames')!r})", path
        ) from exc
    pointed = set(frame_pointers(v))
    index: dict[str, np.ndarray] = {}
    for keyword in NM_VECTORS:
        try:
            values = _values(v.get(keyword))
        except (TypeError, ValueError) as exc:
            raise PixelDataError(f"{keyword} holds non-integer values", path) from exc
        if not values:
            if keyword in pointed and n_frames > 1:
                raise PixelDataError(
                    f"Frame Increment Pointer names {keyword} but it is absent ({n_frames} frames)", path
                )
            continue
        if len(values) != n_frames:
            raise PixelDataError(
                f"inconsistent frame counts: Number of Frames is {n_frames} but {keyword} has "
                f"{len(values)} values",
                path,
            )
        index[keyword] = np.asarray(values, dtype=np.int64)
    for keyword in ("EnergyWindowVector", "DetectorVector"):
        index.setdefault(keyword, np.ones(n_frames, dtype=np.int64))
    return index

"""Counts -> counts per second, counts per MBq injected (decay-corrected), or both.

* ``counts``: as loaded.
* ``counts_per_s``: divided by the time each body point was imaged
  (:attr:`PlanarView.acquisition_time_s`: frame duration, or for a whole-body pass the
  detector field of view along the scan divided by the scan velocity).
* ``counts_per_mbq``: divided by the injected activity decayed to the start of the
  acquisition (123I, half-life 13.22 h) -- i.e. counts as if imaged at injection, per MBq.
* ``counts_per_s_per_mbq``: both.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from mibgkit.errors import MissingTagError
from mibgkit.io.model import DynamicSeries, PlanarView, StudyInfo

__all__ = ["Unit", "UNITS", "to_units"]

Unit = Literal["counts", "counts_per_s", "counts_per_mbq", "counts_per_s_per_mbq"]
UNITS: tuple[str, ...] = ("counts", "counts_per_s", "counts_per_mbq", "counts_per_s_per_mbq")


def _per_s(view: PlanarView | DynamicSeries, data: np.ndarray) -> np.ndarray:
    if isinstance(view, DynamicSeries):
        if any(d is None or d <= 0 for d in view.frame_durations_s):
            raise MissingTagError(
                "a frame has no duration; cannot compute counts per second", view.sources[0].path
            )
        seconds = np.asarray(view.frame_durations_s, dtype=np.float32)[:, None, None]
        return data / seconds
    t = view.acquisition_time_s
    if not t:
        raise MissingTagError(
            "no Actual Frame Duration or Scan Velocity; cannot compute counts per second", view.source.path
        )
    return data / np.float32(t)


def _per_mbq(view: PlanarView | DynamicSeries, info: StudyInfo, data: np.ndarray) -> np.ndarray:
    path = view.source.path if isinstance(view, PlanarView) else view.sources[0].path
    if not info.injected_activity_mbq:
        raise MissingTagError("no injected activity (Radionuclide Total Dose)", path)
    at = (view.acquisition_datetime if isinstance(view, PlanarView) else None) or info.acquisition_datetime
    decay = info.decay_factor(at)
    if decay is None:
        raise MissingTagError("no injection or acquisition time; cannot decay-correct", path)
    return data / np.float32(info.injected_activity_mbq * decay)


def to_units(view: PlanarView | DynamicSeries, info: StudyInfo, unit: Unit = "counts") -> np.ndarray:
    """The view's counts in ``unit``.

    Parameters
    ----------
    view : PlanarView or DynamicSeries
    info : StudyInfo
        The study's metadata (injected activity, injection time).
    unit : {"counts", "counts_per_s", "counts_per_mbq", "counts_per_s_per_mbq"}

    Returns
    -------
    ndarray, float32
        Same shape as the view's image (or frame stack); a new array.

    Raises
    ------
    MissingTagError
        The header lacks what the unit needs (duration, activity, times).
    ValueError
        Unknown unit.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
    data = np.array(view.image if isinstance(view, PlanarView) else view.frames, dtype=np.float32)
    if unit in ("counts_per_s", "counts_per_s_per_mbq"):
        data = _per_s(view, data)
    if unit in ("counts_per_mbq", "counts_per_s_per_mbq"):
        data = _per_mbq(view, info, data)
    return data.astype(np.float32, copy=False)

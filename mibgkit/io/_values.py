"""Tolerant conversion of DICOM multi-values to numbers."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["floats"]


def floats(value: object, n: int) -> np.ndarray | None:
    """``value`` as a float64 array of exactly ``n`` finite numbers, else None."""
    if not isinstance(value, Iterable) or isinstance(value, str | bytes):
        return None
    try:
        v = np.array([float(x) for x in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if v.shape != (n,) or not np.all(np.isfinite(v)):
        return None
    return v

"""mibgkit.io: read NM DICOM (planar, dynamic, SPECT) into the normalized study model.

``load(path)`` takes a file, a list of files, a folder or a DICOMDIR and returns a
:class:`StudyCollection`; see :mod:`mibgkit.io.loader`. Heavy work happens only when
called: importing this package reads no file.
"""

from __future__ import annotations

from mibgkit.io.loader import load, load_headers
from mibgkit.io.model import (
    I123_HALF_LIFE_H,
    DynamicSeries,
    EnergyWindow,
    PlanarView,
    Projections,
    SkippedFile,
    StoredFrame,
    Study,
    StudyCollection,
    StudyInfo,
    ViewName,
    Volume,
)
from mibgkit.io.pair import GeometricMean, estimate_shift, geometric_mean
from mibgkit.io.units import to_units

__all__ = [
    "load",
    "load_headers",
    "geometric_mean",
    "estimate_shift",
    "GeometricMean",
    "to_units",
    "I123_HALF_LIFE_H",
    "DynamicSeries",
    "EnergyWindow",
    "PlanarView",
    "Projections",
    "SkippedFile",
    "StoredFrame",
    "Study",
    "StudyCollection",
    "StudyInfo",
    "ViewName",
    "Volume",
]

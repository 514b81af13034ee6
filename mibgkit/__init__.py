"""mibgkit: 123I-mIBG scintigraphy toolkit for high-risk neuroblastoma.

Data flow (DESIGN.md)::

    DICOM -> mibgkit.load -> Study -> map_segments -> detect.detect -> score_study -> Reading

Heavy modules are imported on first use, so ``import mibgkit`` stays fast and pulls in
neither Qt nor napari.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load": "mibgkit.io",
    "Study": "mibgkit.io",
    "map_segments": "mibgkit.anatomy",
    "score": "mibgkit.pipeline",
    "score_study": "mibgkit.pipeline",
    "Reading": "mibgkit.scoring",
    "SIOPEN_KEYS": "mibgkit.segments",
}

__all__ = ["__version__", *_LAZY]


_SUBPACKAGES = {"io", "anatomy", "detect", "scoring", "export", "convert", "cohort", "phantom", "segments"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"mibgkit.{name}")
    raise AttributeError(f"module 'mibgkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

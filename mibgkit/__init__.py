"""mibgkit: 123I-mIBG scintigraphy toolkit for high-risk neuroblastoma.

Data flow (DESIGN.md)::

    DICOM -> mibgkit.load -> Study -> map_segments -> detect.detect -> score_study -> Reading

Heavy modules are imported on first use, so ``import mibgkit`` stays fast and pulls in
neither Qt nor napari.
"""

from __future__ import annotations

from mibgkit._lazy import lazy_getattr

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


_SUBPACKAGES = ("io", "anatomy", "detect", "scoring", "export", "convert", "cohort", "phantom", "segments")
__getattr__ = lazy_getattr("mibgkit", _LAZY, _SUBPACKAGES)


def __dir__() -> list[str]:
    return sorted(__all__)

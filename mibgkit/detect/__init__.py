"""Hot-spot detection: focal lesions, diffuse involvement, physiological uptake, SPECT.

``mibgkit.detect.detect(study, maps)`` proposes the findings of one study. The model
(``Hotspot``, ``Location``) is light; the detector itself is imported on first use, so
``mibgkit.scoring`` (which needs only the model) stays fast to import.
"""

from __future__ import annotations

from mibgkit._lazy import lazy_getattr
from mibgkit.detect.model import Hotspot, Location

_LAZY = {
    "detect": "mibgkit.detect.detector",
    "detect_study": "mibgkit.detect.detector",
    "Detection": "mibgkit.detect.detector",
    "DetectParams": "mibgkit.detect.params",
    "DEFAULT_PARAMS": "mibgkit.detect.params",
}

__all__ = ["Hotspot", "Location", *_LAZY]


__getattr__ = lazy_getattr('mibgkit.detect', _LAZY)

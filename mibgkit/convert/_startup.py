"""Import pydicom without its test-data downloader's HTTP stack (start-up time only).

``import pydicom`` imports ``pydicom.data``, whose download helper imports ``requests``
(with urllib3, charset_normalizer, tqdm) when installed: ~0.1-0.17 s of CPU per
process start, for a feature (fetching pydicom's example files) the converter never
uses. Importing pydicom while ``requests`` is marked unavailable makes that helper take
its standard-library fallback (``urllib.request``); the marker is removed straight
after, so ``import requests`` works as usual afterwards, for everyone else. Nothing
happens when pydicom is already imported. DICOM reading and pixel decoding do not
depend on this.
"""

from __future__ import annotations

import sys

__all__ = ["import_pydicom"]


def import_pydicom() -> None:
    """Import pydicom (once) with ``requests`` hidden from its data downloader."""
    if "pydicom" in sys.modules or "requests" in sys.modules:
        return
    sys.modules["requests"] = None  # type: ignore[assignment]  # 'import requests' raises ImportError
    try:
        import pydicom  # noqa: F401
    finally:
        if sys.modules.get("requests", 0) is None:
            del sys.modules["requests"]


import_pydicom()

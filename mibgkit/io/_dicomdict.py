"""pydicom's data dictionary without importing pydicom, and pydicom imported on demand.

``import pydicom`` costs ~0.5 s of CPU per process (its pixel-decoder plugins probe GDCM,
Pillow, pylibjpeg, ...), while the light header path (:func:`mibgkit.io._values.read_light`)
needs only the data dictionary: keyword -> tag, tag -> VR (implicit VR files) and
tag -> keyword. This module gives exactly pydicom's answers to those three questions:

* when ``pydicom.datadict`` is already imported, by calling it (so entries a program
  added with ``pydicom.datadict.add_dict_entry`` count);
* otherwise from pydicom's own dictionary file (``pydicom/_dicom_dict.py``, the same
  ``DicomDictionary`` and ``RepeatersDictionary`` pydicom's functions read), executed on
  its own, without the ``pydicom`` package, with pydicom's repeater-mask matching.

:func:`import_pydicom` imports pydicom (once) with its example-data downloader's HTTP
stack hidden (see there); every place of the loader and the converter that needs
pydicom itself goes through it, lazily, only when a file needs it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from functools import cache
from types import ModuleType
from typing import Any

__all__ = ["dictionary_vr", "import_pydicom", "keyword_for_tag", "pydicom_loaded", "tag_for_keyword"]


_IMPORT_LOCK = threading.Lock()


def pydicom_loaded() -> bool:
    """Whether pydicom has been imported in this process (nothing here imports it)."""
    return "pydicom" in sys.modules


def import_pydicom() -> ModuleType:
    """Import pydicom (once) with ``requests`` hidden from its data downloader; returns it.

    ``import pydicom`` imports ``pydicom.data``, whose download helper imports
    ``requests`` (with urllib3, charset_normalizer, tqdm) when installed: ~0.1-0.17 s of
    CPU, for a feature (fetching pydicom's example files) mibgkit never uses. While
    pydicom is imported, ``requests`` is marked unavailable, so that helper takes its
    standard-library fallback; the mark is removed straight after (``import requests``
    works as usual afterwards). DICOM reading and pixel decoding do not depend on this.
    """
    if "pydicom" in sys.modules or "requests" in sys.modules:
        import pydicom  # waits for another thread's import in progress (sys.modules alone would not)

        return pydicom
    with _IMPORT_LOCK:  # one thread hides requests at a time (e.g. Dask worker threads)
        if "requests" not in sys.modules:
            sys.modules["requests"] = None  # type: ignore[assignment]  # 'import requests' raises ImportError
        try:
            import pydicom
        finally:
            if "requests" in sys.modules and sys.modules["requests"] is None:
                del sys.modules["requests"]
    return pydicom


class _Dictionary:
    """pydicom's ``DicomDictionary`` / ``RepeatersDictionary`` and the lookups built on them."""

    def __init__(self, module: ModuleType) -> None:
        self.main: dict[int, tuple[str, str, str, str, str]] = module.DicomDictionary
        self.repeaters: dict[str, tuple[str, str, str, str, str]] = module.RepeatersDictionary
        # as pydicom.datadict builds them
        self.masks = {
            mask_x: (int(mask_x.replace("x", "0"), 16), int("".join(["F0"[c == "x"] for c in mask_x]), 16))
            for mask_x in self.repeaters
        }
        self.keywords = {entry[4]: tag for tag, entry in self.main.items()}

    def entry(self, tag: int) -> tuple[str, str, str, str, str] | None:
        """pydicom's ``get_entry`` (None where it raises KeyError)."""
        found = self.main.get(tag)
        if found is not None:
            return found
        if not (tag >> 16) % 2 == 1:  # not private: the repeating groups (50xx, 60xx, ...)
            for mask_x, (mask1, mask2) in self.masks.items():
                if (tag ^ mask1) & mask2 == 0:
                    return self.repeaters[mask_x] if mask_x else None
        return None


@cache
def _standalone() -> _Dictionary | None:
    """pydicom's dictionary file executed on its own (None if it cannot be found)."""
    try:
        spec = importlib.util.find_spec("pydicom")  # locates the package, does not import it
        if spec is None or not spec.submodule_search_locations:
            return None
        path = os.path.join(next(iter(spec.submodule_search_locations)), "_dicom_dict.py")
        file_spec = importlib.util.spec_from_file_location("mibgkit.io._pydicom_dicom_dict", path)
        if file_spec is None or file_spec.loader is None:
            return None
        module = importlib.util.module_from_spec(file_spec)
        file_spec.loader.exec_module(module)  # only dict literals (and its bytecode cache)
        return _Dictionary(module)
    except (ImportError, OSError, AttributeError, SyntaxError, ValueError):
        return None


def _datadict() -> Any:
    """pydicom's datadict module when it must answer (already imported, or no standalone copy)."""
    module = sys.modules.get("pydicom.datadict")
    if module is None and _standalone() is None:
        import_pydicom()
        import pydicom.datadict as module
    return module


def tag_for_keyword(keyword: str) -> int | None:
    """``pydicom.datadict.tag_for_keyword``: the tag of a public keyword, None if unknown."""
    module = _datadict()
    if module is not None:
        return module.tag_for_keyword(keyword)  # type: ignore[no-any-return]
    found = _standalone()
    assert found is not None
    return found.keywords.get(keyword)


def dictionary_vr(tag: int) -> str:
    """``pydicom.datadict.dictionary_VR``: the dictionary VR of a public tag.

    Raises
    ------
    KeyError
        Not in the DICOM dictionary (private tags included), as pydicom.
    """
    module = _datadict()
    if module is not None:
        return module.dictionary_VR(tag)  # type: ignore[no-any-return]
    found = _standalone()
    assert found is not None
    entry = found.entry(tag)
    if entry is None:
        raise KeyError(f"Tag {tag:08X} not found in DICOM dictionary")
    return entry[0]


def keyword_for_tag(tag: int) -> str:
    """``pydicom.datadict.keyword_for_tag``: the keyword of a tag, '' when not in the dictionary."""
    module = _datadict()
    if module is not None:
        return module.keyword_for_tag(tag)  # type: ignore[no-any-return]
    found = _standalone()
    assert found is not None
    entry = found.entry(tag)
    return "" if entry is None else entry[4]

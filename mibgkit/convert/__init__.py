"""Batch conversion of a DICOM tree to NIfTI/NRRD/TIFF with JSON sidecars.

``convert_tree(IN, OUT)`` walks any tree (any file names, DICOMDIR), converts each
study's planar views and SPECT volumes with a same-name sidecar, de-identified by
default (PS3.15 basic profile semantics), in parallel on local processes or a Dask
cluster, resumable, with atomic writes and a manifest of every input file. See
:mod:`mibgkit.convert.engine` for the mechanics, :mod:`mibgkit.convert.naming` for
output names, :mod:`mibgkit.convert.deid` for de-identification and
:mod:`mibgkit.convert.nifti` for the ``.nii.gz`` writer. Names are imported on first
use, so the command line can build its parser without loading pydicom.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "DeidPolicy": "deid",
    "FORMATS": "engine",
    "ConvertOptions": "engine",
    "ConvertReport": "engine",
    "FileOutcome": "engine",
    "convert_batch": "engine",
    "convert_study": "engine",
    "convert_tree": "engine",
    "write_manifest": "engine",
    "DEFAULT_TEMPLATE": "naming",
    "check_template": "naming",
    "render": "naming",
    "StudyJob": "scan",
    "scan_tree": "scan",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"mibgkit.convert.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'mibgkit.convert' has no attribute {name!r}")

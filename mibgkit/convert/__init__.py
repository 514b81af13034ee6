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

from mibgkit._lazy import lazy_getattr

_LAZY = {
    "DeidPolicy": "mibgkit.convert.deid",
    "FORMATS": "mibgkit.convert.engine",
    "ConvertOptions": "mibgkit.convert.engine",
    "ConvertReport": "mibgkit.convert.engine",
    "FileOutcome": "mibgkit.convert.engine",
    "convert_batch": "mibgkit.convert.engine",
    "convert_study": "mibgkit.convert.engine",
    "convert_tree": "mibgkit.convert.engine",
    "write_manifest": "mibgkit.convert.engine",
    "DEFAULT_TEMPLATE": "mibgkit.convert.naming",
    "check_template": "mibgkit.convert.naming",
    "render": "mibgkit.convert.naming",
    "StudyJob": "mibgkit.convert.scan",
    "scan_tree": "mibgkit.convert.scan",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr('mibgkit.convert', _LAZY)

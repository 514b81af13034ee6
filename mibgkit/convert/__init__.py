"""Batch conversion of a DICOM tree to NIfTI/NRRD/TIFF with JSON sidecars.

``convert_tree(IN, OUT)`` walks any tree (any file names, DICOMDIR), converts each
study's planar views and SPECT volumes with a same-name sidecar, de-identified by
default (PS3.15 basic profile semantics), in parallel on local processes or a Dask
cluster, resumable, with atomic writes and a manifest of every input file. See
:mod:`mibgkit.convert.engine` for the mechanics, :mod:`mibgkit.convert.naming` for
output names, :mod:`mibgkit.convert.deid` for de-identification and
:mod:`mibgkit.convert.nifti` for the ``.nii.gz`` writer.
"""

from mibgkit.convert.deid import DeidPolicy
from mibgkit.convert.engine import (
    FORMATS,
    ConvertOptions,
    ConvertReport,
    FileOutcome,
    convert_batch,
    convert_study,
    convert_tree,
    write_manifest,
)
from mibgkit.convert.naming import DEFAULT_TEMPLATE, check_template, render
from mibgkit.convert.scan import StudyJob, scan_tree

__all__ = [
    "DEFAULT_TEMPLATE",
    "FORMATS",
    "ConvertOptions",
    "ConvertReport",
    "DeidPolicy",
    "FileOutcome",
    "StudyJob",
    "convert_batch",
    "check_template",
    "convert_study",
    "convert_tree",
    "render",
    "scan_tree",
    "write_manifest",
]

"""Exports of readings and segment maps: DICOM SR (TID 1500), DICOM SEG or NIfTI, tables.

- :func:`write_sr` / :func:`read_sr`: a reading as a Comprehensive SR Measurement Report
  (per-segment SIOPEN grades and total, Curie, each hot spot as a SCOORD POINT on its
  source frame).
- :func:`export_view_labels` / :func:`export_volume_labels`: a segment map as DICOM SEG
  where highdicom can build one, else NIfTI with the typed reason (:class:`SegReason`).
- :func:`write_tables`: hot spots and segment scores as CSV or Parquet.
"""

from mibgkit.export.seg import (
    LabelExport,
    SegNotPossible,
    SegReason,
    export_view_labels,
    export_volume_labels,
    labels_to_seg,
    seg_support,
    write_label_nifti,
)
from mibgkit.export.sr import SrContent, SrHotspot, read_sr, reading_to_sr, study_sources, write_sr
from mibgkit.export.tables import hotspots_table, segments_table, write_tables

__all__ = [
    "LabelExport",
    "SegNotPossible",
    "SegReason",
    "SrContent",
    "SrHotspot",
    "export_view_labels",
    "export_volume_labels",
    "hotspots_table",
    "labels_to_seg",
    "read_sr",
    "reading_to_sr",
    "seg_support",
    "segments_table",
    "study_sources",
    "write_label_nifti",
    "write_sr",
    "write_tables",
]

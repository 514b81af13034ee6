"""SIOPEN segment maps as DICOM Segmentation (via highdicom), or NIfTI where SEG cannot be made.

highdicom builds a SEG from

- a **single-frame** source image (Secondary Capture, CT/PT-like slices): a planar
  view stored that way gets a SEG on its stored pixel grid;
- a set of single-frame slices **with a Frame of Reference** (a SPECT volume exported
  slice by slice): one SEG frame per slice.

It cannot build one from a classic multi-frame object without functional groups --
the NM Image IOD, in which gamma cameras store planar views (one frame per view or
detector) and SPECT reconstructions -- nor from several slices without a Frame of
Reference. :func:`seg_support` names the reason (:class:`SegReason`), and
:func:`export_view_labels` / :func:`export_volume_labels` then write the label map as
NIfTI instead and return that reason with the path.

Planar sources without patient coordinates (no Image Orientation/Position (Patient))
get a SEG without a Frame of Reference and without Pixel Measures (a projection has no
slice thickness): its frame is aligned pixel-for-pixel with the source frame, which
keeps the spacing -- all such a SEG can say.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from mibgkit.errors import MibgkitError
from mibgkit.export import codes as mcodes
from mibgkit.export._atomic import atomic_path
from mibgkit.segments import SIOPEN_KEYS

if TYPE_CHECKING:  # pragma: no cover
    import highdicom as hd

    from mibgkit.anatomy.model import SegmentMap, VolumeSegmentMap
    from mibgkit.io.model import PlanarView, Volume

__all__ = [
    "SegReason",
    "SegNotPossible",
    "LabelExport",
    "seg_support",
    "labels_to_seg",
    "export_view_labels",
    "export_volume_labels",
    "write_label_nifti",
]


class SegReason(str, Enum):
    """Why no DICOM SEG can be built for a source."""

    CLASSIC_MULTIFRAME = "classic-multiframe"
    """Classic multi-frame IOD (e.g. NM Image) without functional groups."""
    NO_FRAME_OF_REFERENCE = "no-frame-of-reference"
    """Several slices but no Frame of Reference to place them in."""
    REFUSED = "refused"
    """highdicom refused the source for another reason (message attached)."""


class SegNotPossible(MibgkitError):
    """A DICOM SEG cannot be built for this source; ``reason`` says why.

    Parameters
    ----------
    reason : SegReason
    problem : str
        One line for a person.
    path : str, optional
        The source file.
    """

    def __init__(self, reason: SegReason, problem: str, path: str | os.PathLike[str] | None = None) -> None:
        self.reason = reason
        super().__init__(problem, path)


@dataclass(frozen=True)
class LabelExport:
    """Where a label map was written, and in which format.

    ``reason`` is None for a DICOM SEG; for a NIfTI fallback it is the
    :class:`SegReason` value and ``detail`` the sentence explaining it.
    """

    path: Path
    format: str  # "dicom-seg" or "nifti"
    reason: str | None = None
    detail: str | None = None


def _read(src: str | os.PathLike[str] | Dataset) -> Dataset:
    return src if isinstance(src, Dataset) else pydicom.dcmread(src, stop_before_pixels=True)


def seg_support(sources: Sequence[Dataset]) -> tuple[SegReason, str] | None:
    """Say whether highdicom can build a SEG on these source images.

    Parameters
    ----------
    sources : sequence of pydicom.Dataset
        One planar image, or the slices of a volume in slice order.

    Returns
    -------
    tuple of (SegReason, str) or None
        None when a SEG can be built, else the reason and a sentence.
    """
    from highdicom._standard_utils import is_multiframe_image

    first = sources[0]
    if is_multiframe_image(first) and "SharedFunctionalGroupsSequence" not in first:
        sop = getattr(first.SOPClassUID, "name", str(first.SOPClassUID))
        return (
            SegReason.CLASSIC_MULTIFRAME,
            f"{sop} is a classic multi-frame object without functional groups; "
            "highdicom builds SEG only on single-frame or enhanced multi-frame images",
        )
    if len(sources) > 1 and not all("FrameOfReferenceUID" in s for s in sources):
        return (
            SegReason.NO_FRAME_OF_REFERENCE,
            f"{len(sources)} slices without a Frame of Reference UID cannot be placed in one SEG",
        )
    return None


def _segment_descriptions() -> list[Any]:
    import highdicom as hd

    from mibgkit import __version__

    algorithm = hd.AlgorithmIdentificationSequence(
        name="mibgkit", version=__version__, family=codes.cid7162.ArtificialIntelligence
    )
    return [
        hd.seg.SegmentDescription(
            segment_number=label,
            segment_label=key,
            segmented_property_category=codes.SCT.AnatomicalStructure,
            segmented_property_type=mcodes.SEGMENT_SITES[key][0],
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
            tracking_id=f"SIOPEN {key}",
            tracking_uid=generate_uid(),
        )
        for label, key in enumerate(SIOPEN_KEYS, start=1)
    ]


def labels_to_seg(
    labels: np.ndarray,
    sources: Sequence[str | os.PathLike[str] | Dataset],
    *,
    series_number: int = 991,
    instance_number: int = 1,
) -> hd.seg.Segmentation:
    """Build a binary DICOM SEG of a SIOPEN label map on its stored source grid.

    Parameters
    ----------
    labels : ndarray of shape (rows, cols) or (slices, rows, cols), integer
        Label values 0-12 on the **stored** pixel grid of ``sources``
        (see ``StoredFrame.to_stored_array``).
    sources : sequence of path or pydicom.Dataset
        One single-frame image, or the single-frame slices of a volume in the order
        of the first axis of ``labels``.
    series_number, instance_number : int

    Returns
    -------
    highdicom.seg.Segmentation

    Raises
    ------
    SegNotPossible
        When highdicom cannot build a SEG on these sources (see :class:`SegReason`).
    """
    import highdicom as hd
    from highdicom.spatial import get_image_coordinate_system

    from mibgkit import __version__

    datasets = [_read(s) for s in sources]
    path = None if isinstance(sources[0], Dataset) else os.fspath(sources[0])
    unsupported = seg_support(datasets)
    if unsupported is not None:
        raise SegNotPossible(unsupported[0], unsupported[1], path)
    planar = get_image_coordinate_system(datasets[0]) is None
    if planar:
        # Without patient coordinates a Frame of Reference means nothing to the SEG, and
        # keeping it makes the Pixel Measures ask for a Slice Thickness a planar view lacks.
        datasets = [copy.copy(ds) for ds in datasets]
        for ds in datasets:
            if "FrameOfReferenceUID" in ds:
                del ds.FrameOfReferenceUID
    pixels = np.asarray(labels)
    if pixels.min() < 0 or pixels.max() > len(SIOPEN_KEYS):
        raise ValueError(f"label values must be 0-{len(SIOPEN_KEYS)}, got {pixels.min()}-{pixels.max()}")
    try:
        seg = hd.seg.Segmentation(
            source_images=datasets,
            pixel_array=pixels.astype(np.uint8),
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=_segment_descriptions(),
            series_instance_uid=generate_uid(),
            series_number=series_number,
            sop_instance_uid=generate_uid(),
            instance_number=instance_number,
            manufacturer="mibgkit",
            manufacturer_model_name="mibgkit",
            software_versions=__version__,
            device_serial_number="mibgkit",
            series_description="mibgkit SIOPEN segments",
        )
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise SegNotPossible(SegReason.REFUSED, f"highdicom refused the source: {exc}", path) from exc
    if planar:
        # General Image: Patient Orientation is Type 2C when there is no Plane Orientation.
        seg.PatientOrientation = datasets[0].get("PatientOrientation", "")
        shared = seg.SharedFunctionalGroupsSequence[0]
        measures = shared.get("PixelMeasuresSequence")
        if measures is not None and "SliceThickness" not in measures[0]:
            # A projection has no slice thickness, and readers (highdicom's own) reject
            # Pixel Measures without one; the SEG is pixel-aligned with its source, which
            # keeps the spacing.
            del shared.PixelMeasuresSequence
    return seg


def write_label_nifti(
    labels: np.ndarray,
    path: str | os.PathLike[str],
    spacing_mm: Sequence[float],
    origin_lps: Sequence[float] | None = None,
    direction: np.ndarray | None = None,
) -> Path:
    """Write a label map as NIfTI (uint8), atomically.

    Parameters
    ----------
    labels : ndarray of shape (rows, cols) or (slices, rows, cols)
    path : str or path-like
        Output name ending in ``.nii.gz`` (or any SimpleITK extension).
    spacing_mm : sequence of float
        (row, col) or (slice, row, col) spacing.
    origin_lps : sequence of float, optional
    direction : ndarray of shape (3, 3), optional
        SimpleITK direction (volumes only).

    Returns
    -------
    pathlib.Path
    """
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(np.ascontiguousarray(labels, dtype=np.uint8))
    img.SetSpacing([float(v) for v in spacing_mm][::-1])
    if origin_lps is not None:
        img.SetOrigin([float(v) for v in origin_lps])
    if direction is not None:
        img.SetDirection([float(v) for v in np.asarray(direction).ravel()])
    with atomic_path(path) as tmp:
        sitk.WriteImage(img, tmp, useCompression=True)
    return Path(path)


def _write_seg(seg: Any, path: Path) -> Path:
    with atomic_path(path) as tmp:
        seg.save_as(tmp, enforce_file_format=True)
    return path


def export_view_labels(segmap: SegmentMap, view: PlanarView, out_dir: str | os.PathLike[str]) -> LabelExport:
    """Write the segment map of one planar view as SEG, or as NIfTI when SEG cannot be made.

    The map is put back on the stored grid of the view's source frame first. Files are
    named ``segments_<VIEW>.dcm`` or ``segments_<VIEW>.nii.gz``.

    Parameters
    ----------
    segmap : SegmentMap
        Label map in the view's normalized frame.
    view : PlanarView
        The view the map belongs to (its ``source`` locates the stored frame).
    out_dir : str or path-like

    Returns
    -------
    LabelExport
    """
    stored = view.source.to_stored_array(segmap.labels.astype(np.uint8))
    out = Path(out_dir)
    try:
        seg = labels_to_seg(stored, [view.source.path])
    except SegNotPossible as exc:
        path = write_label_nifti(stored, out / f"segments_{view.view}.nii.gz", view.pixel_spacing_mm)
        return LabelExport(path, "nifti", exc.reason.value, exc.problem)
    return LabelExport(_write_seg(seg, out / f"segments_{view.view}.dcm"), "dicom-seg")


def export_volume_labels(
    vmap: VolumeSegmentMap, volume: Volume, out_dir: str | os.PathLike[str], name: str = "segments_SPECT"
) -> LabelExport:
    """Write the label volume of a SPECT volume as SEG, or as NIfTI when SEG cannot be made.

    Parameters
    ----------
    vmap : VolumeSegmentMap
        Labels on the grid of ``volume`` (slices, rows, cols).
    volume : Volume
        Its ``sources`` (one per slice, in array order) are the SEG's source images.
    out_dir : str or path-like
    name : str
        File stem.

    Returns
    -------
    LabelExport
    """
    out = Path(out_dir)
    paths = list(dict.fromkeys(s.path for s in volume.sources))
    try:
        if len(paths) != len(volume.sources):
            first = _read(paths[0])
            why = seg_support([first]) or (SegReason.REFUSED, "slices are frames of fewer objects than slices")
            raise SegNotPossible(why[0], why[1], paths[0])
        seg = labels_to_seg(vmap.labels, paths)
    except SegNotPossible as exc:
        path = write_label_nifti(
            vmap.labels, out / f"{name}.nii.gz", volume.spacing_mm, volume.origin_lps, volume.direction
        )
        return LabelExport(path, "nifti", exc.reason.value, exc.problem)
    return LabelExport(_write_seg(seg, out / f"{name}.dcm"), "dicom-seg")

"""Read one DICOM header cheaply and classify what kind of object it is.

The header is read once with large values deferred (``defer_size``): pixel data stays
on disk until :mod:`mibgkit.io.pixels` decodes it, so discovery of a large archive
costs one header parse per file and no pixel I/O.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import InitVar, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from mibgkit.errors import DicomReadError, NotDicomError, WrongModalityError
from mibgkit.io._dicomdict import import_pydicom, keyword_for_tag
from mibgkit.io._values import HeaderValues, as_values, read_light, strings

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

__all__ = [
    "ObjectKind",
    "Header",
    "read_header",
    "classify",
    "read_and_classify",
    "light_headers",
    "DICOMDIR_CLASS",
]

ObjectKind = Literal[
    "whole_body", "static", "dynamic", "gated", "tomo", "gated_tomo", "recon", "slice", "dicomdir"
]

#: Media Storage Directory Storage (DICOMDIR).
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
_NM_CLASSES = {"1.2.840.10008.5.1.4.1.1.20", "1.2.840.10008.5.1.4.1.1.5"}  # NM, NM (retired)
_SC_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
    "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
    "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
}
_SLICE_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.128": "PT",  # PET Image Storage
    "1.2.840.10008.5.1.4.1.1.130": "PT",  # Enhanced PET
    "1.2.840.10008.5.1.4.1.1.2": "CT",  # CT Image Storage
    "1.2.840.10008.5.1.4.1.1.2.1": "CT",  # Enhanced CT
}
_NM_TYPES: dict[str, ObjectKind] = {
    "STATIC": "static",
    "WHOLE BODY": "whole_body",
    "DYNAMIC": "dynamic",
    "GATED": "gated",
    "TOMO": "tomo",
    "GATED TOMO": "gated_tomo",
    "RECON TOMO": "recon",
    "RECON GATED TOMO": "recon",
}
# Header values above this size stay on disk until needed (pixel data, big private blobs).
_DEFER_BYTES = 4096
_LIGHT: ContextVar[bool] = ContextVar("mibgkit_light_headers", default=False)
_DICM_OFFSET = 128


class _Dataset:
    """``Header.ds``: the pydicom dataset, read on first access when the header was parsed
    without pydicom (:func:`mibgkit.io._values.read_light`)."""

    def __get__(self, obj: Header | None, objtype: type | None = None) -> Dataset:
        if obj is None:
            raise AttributeError("ds")  # no class-level default: the dataclass field stays required
        ds = obj.__dict__.get("_ds")
        if ds is None:
            ds = obj.__dict__["_ds"] = obj.values.ds
        return ds

    def __set__(self, obj: Header, value: Dataset | None) -> None:
        obj.__dict__["_ds"] = value


@dataclass
class Header:
    """One DICOM object's header and what it is.

    Parameters
    ----------
    path : str
        The file.
    ds : pydicom.dataset.Dataset or None
        The dataset; large values (pixel data) are deferred, read on first access. None
        when ``cached`` was parsed without pydicom: pydicom then reads the file on the
        first access to ``ds``.
    kind : str
        ``"whole_body"``, ``"static"``, ``"dynamic"``, ``"gated"``, ``"tomo"``,
        ``"gated_tomo"``, ``"recon"`` (a multi-frame reconstructed volume),
        ``"slice"`` (one image of a per-slice volume series) or ``"dicomdir"``.
    kind_source : str
        How ``kind`` was decided (``"ImageType"``, ``"SOPClassUID"``, ``"inferred"``).
    cached : HeaderValues, optional
        Values already read from ``ds`` (kept, so nothing is decoded twice).

    Attributes
    ----------
    values : HeaderValues
        Cached values of ``ds``; every reader in :mod:`mibgkit.io` goes through it, so
        each element is decoded once per file.
    modality, sop_class_uid, sop_instance_uid, study_uid, series_uid : str
        Read from the header once (empty when absent); modality in upper case.
    n_frames : int
        Number of Frames (1 when absent).
    """

    path: str
    ds: Dataset
    kind: ObjectKind
    kind_source: str
    cached: InitVar[HeaderValues | None] = None
    values: HeaderValues = field(init=False, repr=False)
    modality: str = field(init=False)
    sop_class_uid: str = field(init=False)
    sop_instance_uid: str = field(init=False)
    study_uid: str = field(init=False)
    series_uid: str = field(init=False)
    n_frames: int = field(init=False)

    def __post_init__(self, cached: HeaderValues | None) -> None:
        ds = self.__dict__.get("_ds")
        if cached is not None and (ds is None or cached.loaded_dataset is ds):
            v = self.values = cached
        else:
            v = self.values = HeaderValues(self.ds)
        self.modality = str(v.get("Modality", "") or "").upper()
        self.sop_class_uid = str(v.get("SOPClassUID", "") or "")
        self.sop_instance_uid = str(v.get("SOPInstanceUID", "") or "")
        self.study_uid = str(v.get("StudyInstanceUID", "") or "")
        self.series_uid = str(v.get("SeriesInstanceUID", "") or "")
        self.n_frames = _int(v.get("NumberOfFrames"), 1)

    @property
    def transfer_syntax(self) -> str:
        """Transfer Syntax UID of the file."""
        return self.values.transfer_syntax


Header.ds = _Dataset()  # type: ignore[assignment]  # read lazily (set after the dataclass: the field stays required)


def _int(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def _looks_like_raw_dicom(head: bytes) -> bool:
    """A file without preamble that starts with a group 0002 or 0008 tag (old ACR-NEMA style)."""
    return head[:2] in (b"\x02\x00", b"\x08\x00")


def read_header(path: str | Path) -> Dataset:
    """Read a DICOM header, deferring large values; never reads pixel data.

    Parameters
    ----------
    path : str or Path
        A file.

    Returns
    -------
    pydicom.dataset.Dataset

    Raises
    ------
    NotDicomError
        The file is not DICOM.
    DicomReadError
        The file is DICOM but cannot be parsed (truncated header, corrupt element).
    """
    p = str(path)
    try:
        fh = open(p, "rb")
    except OSError as exc:
        raise DicomReadError(f"cannot open file ({exc.strerror})", p) from exc
    with fh:  # one open: the marker check and the parse share the handle
        head = fh.read(_DICM_OFFSET + 4)
        if not head:
            raise NotDicomError("empty file, not DICOM", p)
        has_marker = head[_DICM_OFFSET : _DICM_OFFSET + 4] == b"DICM"
        if not has_marker and not _looks_like_raw_dicom(head):
            raise NotDicomError("not DICOM (no 'DICM' marker at byte 128)", p)
        fh.seek(0)
        pydicom = import_pydicom()  # imported on the first file that needs it
        from pydicom.errors import InvalidDicomError

        try:
            ds = pydicom.dcmread(fh, defer_size=_DEFER_BYTES, force=not has_marker)
        except InvalidDicomError as exc:
            raise NotDicomError(f"not DICOM ({exc})", p) from exc
        except Exception as exc:  # pydicom raises many types on corrupt input
            raise DicomReadError(f"corrupt DICOM header ({type(exc).__name__}: {exc})", p) from exc
    if len(ds) == 0:  # pydicom gives up silently when an element runs past the end of the file
        raise DicomReadError("no data element could be read (file truncated or corrupt)", p)
    return ds


def _nm_kind(v: HeaderValues) -> tuple[ObjectKind, str]:
    image_type = [t.upper() for t in strings(v.get("ImageType"))]
    if len(image_type) > 2 and image_type[2] in _NM_TYPES:
        kind = _NM_TYPES[image_type[2]]
        # A reconstructed slice exported one file per slice carries its own position.
        if kind == "recon" and _int(v.get("NumberOfFrames"), 1) == 1 and "ImagePositionPatient" in v:
            return "slice", "ImageType+ImagePositionPatient"
        return kind, "ImageType"
    pointers = set(frame_pointers(v))
    if "SliceVector" in pointers:
        return "recon", "inferred:FrameIncrementPointer"
    if pointers & {"AngularViewVector", "RotationVector"}:
        return "tomo", "inferred:FrameIncrementPointer"
    if pointers & {"TimeSliceVector", "PhaseVector"}:
        return "dynamic", "inferred:FrameIncrementPointer"
    if "RRIntervalVector" in pointers or "TimeSlotVector" in pointers:
        return "gated", "inferred:FrameIncrementPointer"
    if "ImagePositionPatient" in v and "ImageOrientationPatient" in v:
        return "slice", "inferred:ImagePositionPatient"
    rows, cols = _int(v.get("Rows"), 0), _int(v.get("Columns"), 0)
    if cols and rows / cols >= 2.5:
        return "whole_body", "inferred:aspect"
    return "static", "inferred"


def _pointers(v: HeaderValues) -> list[int]:
    fip = v.get("FrameIncrementPointer")
    if fip is None:
        return []
    multival = sys.modules.get("pydicom.multival")  # a MultiValue comes from pydicom: it is imported
    many = isinstance(fip, list | tuple) or (multival is not None and isinstance(fip, multival.MultiValue))
    values = fip if many else [fip]
    return [int(t) for t in values]


@lru_cache(maxsize=256)
def _pointer_name(tag: int) -> str:
    return keyword_for_tag(tag) or f"{tag:08X}"


def frame_pointers(ds: Dataset | HeaderValues) -> list[str]:
    """Keywords the Frame Increment Pointer names, in order."""
    return [_pointer_name(t) for t in _pointers(as_values(ds))]


def classify(ds: Dataset, path: str | Path) -> Header:
    """Decide what kind of object ``ds`` is, or refuse it.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A header from :func:`read_header`.
    path : str or Path
        The file (for messages).

    Returns
    -------
    Header

    Raises
    ------
    WrongModalityError
        Not an NM image, NM secondary capture, or a PET/CT/NM slice series.
    """
    return _classify(HeaderValues(ds), ds, str(path))


def _classify(v: HeaderValues, dataset: Dataset | None, p: str) -> Header:
    """:func:`classify` of cached values (``dataset`` None: parsed without pydicom)."""
    ds = cast("Dataset", dataset)  # None is accepted by Header: read on first access
    media_class = v.meta("MediaStorageSOPClassUID")
    sop_class = str(v.get("SOPClassUID", "") or media_class)
    if sop_class == DICOMDIR_CLASS or "DirectoryRecordSequence" in v:
        return Header(p, ds, "dicomdir", "SOPClassUID", v)
    modality = str(v.get("Modality", "") or "").upper()
    if sop_class in _NM_CLASSES:
        kind, source = _nm_kind(v)
        return Header(p, ds, kind, source, v)
    if sop_class in _SC_CLASSES:
        if modality != "NM":
            raise WrongModalityError(f"Secondary Capture with modality {modality or 'none'}, not NM", p)
        kind, source = _nm_kind(v)
        if kind not in ("whole_body", "static", "dynamic"):
            kind = "static"
        return Header(p, ds, kind, source, v)
    if sop_class in _SLICE_CLASSES:
        return Header(p, ds, "slice", "SOPClassUID", v)
    if not sop_class and modality == "NM" and "PixelData" in v:
        kind, source = _nm_kind(v)
        return Header(p, ds, kind, source, v)
    if sop_class:
        import_pydicom()  # only for the message of a refused object
        from pydicom.uid import UID

        name = UID(sop_class).name
    else:
        name = "no SOP Class UID"
    raise WrongModalityError(
        f"{modality or 'no modality'} object ({name}); mibgkit loads NM, NM secondary capture, "
        "and PET/CT/NM slice series",
        p,
    )


def read_and_classify(path: str | Path) -> Header:
    """:func:`read_header` then :func:`classify`.

    Inside :func:`light_headers`, a plain file (:func:`mibgkit.io._values.read_light`:
    Little Endian or RLE Lossless Part 10, well formed) is parsed without pydicom, with the
    same values and outcome; pydicom reads it later only if something needs its dataset.
    """
    if _LIGHT.get():
        light = read_light(str(path))
        if light is not None:
            return _classify(light, None, str(path))
    return classify(read_header(path), path)


@contextmanager
def light_headers() -> Iterator[None]:
    """Within this context, :func:`read_and_classify` (and so :func:`mibgkit.io.loader.load_headers`)
    parses plain files without pydicom (:func:`mibgkit.io._values.read_light`).

    Same values, kinds and errors; pydicom reads a file only when something needs its
    dataset (e.g. a value with a character set, or a codec other than RLE). Used by the
    batch converter; :func:`mibgkit.load` keeps pydicom's parse (one ``dcmread`` per file).
    """
    token = _LIGHT.set(True)
    try:
        yield
    finally:
        _LIGHT.reset(token)


def file_size(path: str) -> int:
    """Size of ``path`` in bytes (0 if it cannot be read)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0

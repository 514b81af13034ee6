"""Exception types. Every error names the file (when there is one) and the problem."""

from __future__ import annotations

import os

__all__ = [
    "MibgkitError",
    "DicomReadError",
    "NotDicomError",
    "WrongModalityError",
    "MissingTagError",
    "PixelDataError",
    "GeometryError",
    "MixedSeriesError",
    "MappingError",
    "ReadingFormatError",
]


class MibgkitError(Exception):
    """Base class of every error mibgkit raises on purpose.

    Parameters
    ----------
    problem : str
        What is wrong, in one line.
    path : str or path-like, optional
        The file or folder concerned.
    """

    def __init__(self, problem: str, path: str | os.PathLike[str] | None = None) -> None:
        self.problem = problem
        self.path = None if path is None else os.fspath(path)
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class DicomReadError(MibgkitError):
    """A file could not be read as the NM/SPECT DICOM mibgkit needs."""


class NotDicomError(DicomReadError):
    """The file is not DICOM at all."""


class WrongModalityError(DicomReadError):
    """DICOM of a modality or SOP class mibgkit does not load (e.g. MR, RT)."""


class MissingTagError(DicomReadError):
    """A tag needed to interpret the pixels is absent or empty."""


class PixelDataError(DicomReadError):
    """Pixel data is truncated, inconsistent with the header, or absurdly large."""


class GeometryError(DicomReadError):
    """Geometry (spacing, orientation, slice positions) is missing or inconsistent."""


class MixedSeriesError(DicomReadError):
    """Files that were asked to form one study/series do not belong together."""


class MappingError(MibgkitError):
    """The segment mapper cannot map this image (no body found, not whole-body, ...)."""


class ReadingFormatError(MibgkitError):
    """A reading file is not valid ``mibgkit.reading/1``."""

"""Find the files to read: a file, a list of files/folders, a folder (recursive) or a DICOMDIR.

Any file name is accepted (gamma cameras often write files without a suffix); whether a
file is DICOM is decided later from its content.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from mibgkit.errors import DicomReadError
from mibgkit.io._dicomdict import import_pydicom
from mibgkit.io.model import SkippedFile

__all__ = ["PathInput", "discover", "dicomdir_files"]

PathInput = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


def dicomdir_files(path: str | Path) -> list[str]:
    """Files a DICOMDIR references, resolved against its folder.

    Raises
    ------
    DicomReadError
        The DICOMDIR cannot be read.
    """
    root = Path(path).parent
    pydicom = import_pydicom()
    try:
        ds = pydicom.dcmread(str(path))
    except Exception as exc:
        raise DicomReadError(f"cannot read DICOMDIR ({exc})", path) from exc
    found = []
    for record in ds.get("DirectoryRecordSequence") or []:
        parts = record.get("ReferencedFileID")
        if not parts:
            continue
        parts = [parts] if isinstance(parts, str) else list(parts)
        found.append(str(root.joinpath(*[str(p) for p in parts])))
    return found


def _is_dicomdir(path: Path) -> bool:
    return path.name.upper() == "DICOMDIR"


def _walk(folder: Path) -> tuple[list[str], list[SkippedFile]]:
    files: list[str] = []
    skipped: list[SkippedFile] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if _is_dicomdir(p):
                skipped.append(SkippedFile(str(p), "DICOMDIR index: its images are read from the folder"))
            else:
                files.append(str(p))
    return files, skipped


def discover(paths: PathInput) -> tuple[list[str], list[SkippedFile]]:
    """Every candidate file under ``paths``, sorted, without duplicates.

    Parameters
    ----------
    paths : str, PathLike, or iterable of them
        Files, folders (walked recursively) or DICOMDIR files.

    Returns
    -------
    files : list of str
    skipped : list of SkippedFile
        Paths that do not exist, and DICOMDIR index files met in a walk.
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    files: list[str] = []
    skipped: list[SkippedFile] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found, skip = _walk(p)
            files += found
            skipped += skip
        elif p.is_file() and _is_dicomdir(p):
            files += dicomdir_files(p)
        elif p.is_file():
            files.append(str(p))
        else:
            skipped.append(SkippedFile(str(p), "NotFound: no such file or folder"))
    if len(files) < 2:  # nothing to deduplicate (one file: no realpath)
        return files, skipped
    seen: set[str] = set()
    unique = []
    for f in files:
        key = os.path.realpath(f)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, skipped

"""Walk an input tree and group its DICOM files into one job per study.

Only headers are read (pixel data stays on disk). Files are grouped by Study Instance
UID; a DICOM file without one is a job of its own. Files that are not DICOM, DICOMDIR
indexes and left-overs of a killed run (``.part`` temporaries) are reported, not
converted. The output folder is never walked, even when it lies inside the input.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from mibgkit.convert._files import TMP_SUFFIX
from mibgkit.convert.deid import DeidPolicy
from mibgkit.convert.naming import study_part

__all__ = ["Fingerprint", "StudyJob", "Scan", "scan_tree"]

_HEADER_TAGS = ["StudyInstanceUID", "PatientID", "StudyDate", "Modality", "SOPClassUID"]
_DICOMDIR_CLASS = "1.2.840.10008.1.3.10"


@dataclass(frozen=True)
class Fingerprint:
    """Size and modification time of one input file (cheap change detection)."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str) -> Fingerprint:
        st = os.stat(path)
        return cls(path, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class StudyJob:
    """The files of one study and the study-level fields of its output names.

    ``key`` identifies the job (keyed hash of the Study Instance UID) and names its
    state record; ``suffix`` is appended to names when another study's names could
    collide with this one's.
    """

    key: str
    files: tuple[Fingerprint, ...]
    study_fields: dict[str, str] = field(hash=False)
    suffix: str = ""


@dataclass
class Scan:
    """What a walk found: study jobs, and files not converted with the reason."""

    jobs: list[StudyJob]
    not_converted: dict[str, str]


def _walk(root: Path, exclude: Path | None) -> list[str]:
    if root.is_file() and root.name.upper() == "DICOMDIR":
        from mibgkit.io.discover import dicomdir_files

        return [str(root), *dicomdir_files(root)]
    if root.is_file():
        return [str(root)]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if exclude is not None:
            dirnames[:] = [d for d in dirnames if (Path(dirpath) / d).resolve() != exclude]
        found += [str(Path(dirpath) / name) for name in sorted(filenames)]
    return found


def _read_header(path: str) -> pydicom.Dataset | None:
    try:
        return pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_HEADER_TAGS)
    except (InvalidDicomError, OSError, ValueError, EOFError, TypeError):
        return None


def scan_tree(root: str | os.PathLike[str], template: str, policy: DeidPolicy,
              exclude: str | os.PathLike[str] | None = None) -> Scan:
    """Walk ``root`` and group DICOM files by study.

    Parameters
    ----------
    root : str or path-like
        Folder (walked recursively, any file names), one file, or a DICOMDIR (the
        files it references are converted).
    template : str
        Output name template (used to find studies whose names could collide).
    policy : DeidPolicy
        Gives patient keys, study keys and date shifts.
    exclude : str or path-like, optional
        A folder not to walk (the output folder).

    Returns
    -------
    Scan
    """
    from mibgkit.io.deid import patient_key

    excluded = None if exclude is None else Path(exclude).resolve()
    groups: dict[str, list[str]] = defaultdict(list)
    headers: dict[str, pydicom.Dataset] = {}
    not_converted: dict[str, str] = {}
    for path in _walk(Path(root), excluded):
        name = Path(path).name
        if name.startswith(".") and TMP_SUFFIX in name:
            not_converted[path] = "skipped: temporary file of an interrupted run"
            continue
        ds = _read_header(path)
        if ds is None:
            not_converted[path] = "skipped: not DICOM"
            continue
        if name.upper() == "DICOMDIR" or str(ds.get("SOPClassUID", "")) == _DICOMDIR_CLASS:
            not_converted[path] = "skipped: DICOMDIR index (its images are converted from the tree)"
            continue
        study_uid = str(ds.get("StudyInstanceUID", "") or "")
        group = study_uid or f"no-study-uid:{path}"
        groups[group].append(path)
        headers.setdefault(group, ds)

    jobs = []
    for group in sorted(groups):
        ds = headers[group]
        pid = str(ds.get("PatientID", "") or "")
        study_date = policy.date(_date(str(ds.get("StudyDate", "") or "")), pid)
        fields = {
            "patient_key": patient_key(pid, policy.key) or "no-patient-id",
            "study_key": policy.study_key(group),
            "study_date": study_date.strftime("%Y%m%d") if study_date else "nodate",
            "modality": str(ds.get("Modality", "") or ""),
        }
        files = tuple(Fingerprint.of(p) for p in sorted(groups[group]))
        jobs.append(StudyJob(key=fields["study_key"], files=files, study_fields=fields))
    return Scan(_disambiguate(jobs, template), not_converted)


def _date(text: str) -> _dt.date | None:
    try:
        return _dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _disambiguate(jobs: list[StudyJob], template: str) -> list[StudyJob]:
    """Give every study whose names could collide with an earlier study's a suffix."""
    seen: set[str] = set()
    out = []
    for job in sorted(jobs, key=lambda j: j.key):
        part = study_part(template, job.study_fields).lower()
        suffix = f"_{job.key}" if part in seen else ""
        seen.add(part)
        out.append(StudyJob(job.key, job.files, job.study_fields, suffix))
    return out

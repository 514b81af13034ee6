"""Walk an input tree and group its DICOM files into one job per study.

Only headers are read (pixel data stays on disk), and for the common case only their
first few kilobytes: :func:`quick_header` walks the elements of a little-endian file
up to (0020,000D) itself and decodes the five values the scan needs exactly as pydicom
would (:mod:`mibgkit.io._values`); anything else (no preamble, big endian, deflated,
non-ASCII or malformed values, a header longer than the first read) is read by pydicom.
Files are grouped by Study Instance UID; a DICOM file without one is a job of its own. Files that are not DICOM, DICOMDIR
indexes and left-overs of a killed run (``.part`` temporaries) are reported, not
converted. The output folder is never walked, even when it lies inside the input.
"""

from __future__ import annotations

import datetime as _dt
import os
import struct
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mibgkit.convert._files import TMP_SUFFIX
from mibgkit.convert.deid import DeidPolicy
from mibgkit.convert.naming import study_part
from mibgkit.io._dicomdict import import_pydicom
from mibgkit.io._values import _SLOW, _decode, _pydicom_defaults

__all__ = ["Fingerprint", "StudyJob", "Scan", "quick_header", "scan_tree"]

_HEADER_TAGS = ["StudyInstanceUID", "PatientID", "StudyDate", "Modality", "SOPClassUID"]
_DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
# The scan's elements by tag; the walk stops after the last (highest) one.
_QUICK_TAGS: dict[int, str] = {
    0x00080016: "SOPClassUID",
    0x00080020: "StudyDate",
    0x00080060: "Modality",
    0x00100020: "PatientID",
    0x0020000D: "StudyInstanceUID",
}
_LAST_TAG = max(_QUICK_TAGS)
_QUICK_BYTES = 16384  # first read; a header whose (0020,000D) lies further is read by pydicom
_EXPLICIT_TS = frozenset({  # explicit VR little endian, native or encapsulated pixel data
    "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
})
_IMPLICIT_TS = "1.2.840.10008.1.2"
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_HEAD = struct.Struct("<HHL")  # implicit VR: group, element, 32-bit length
_EXPLICIT = struct.Struct("<HH2sH")  # explicit VR: group, element, VR, 16-bit length
_U32 = struct.Struct("<L")
_GROUP = struct.Struct("<H")
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD


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
    found: list[str] = []
    # The real path of each folder walked, from the root's: os.walk does not enter symbolic
    # links, so a folder's real path is its parent's plus its name (no resolve() per folder).
    real = {os.fspath(root): str(root.resolve())} if exclude is not None else {}
    excluded = str(exclude)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if exclude is not None:
            base = real.pop(dirpath)
            keep = []
            for d in dirnames:
                path = os.path.join(base, d)
                if path != excluded:
                    keep.append(d)
                    real[os.path.join(dirpath, d)] = path
            dirnames[:] = keep
        found += [os.path.join(dirpath, name) for name in sorted(filenames)]
    return found


def _read_header(path: str) -> dict[str, Any] | None:
    """The scan's five values of one file (absent ones left out); None when not DICOM."""
    quick = quick_header(path)
    if quick is not None:
        return quick
    pydicom = import_pydicom()  # only for a file the quick read leaves to it
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_HEADER_TAGS)
    except (InvalidDicomError, OSError, ValueError, EOFError, TypeError):
        return None
    values: dict[str, Any] = {}
    for kw in _HEADER_TAGS:
        try:
            if kw in ds:
                values[kw] = ds.get(kw)
        except (NotImplementedError, ValueError, TypeError, KeyError):
            continue  # undecodable (e.g. a corrupt VR): absent here; the study job reports the file
    return values


class _Fallback(Exception):
    """Not a layout :func:`quick_header` reads: let pydicom read the file."""


def _element(buf: bytes, pos: int, implicit: bool) -> tuple[int, bytes | None, int, int]:
    """(tag, VR or None, value start, value length) of the element at ``pos``."""
    if implicit:
        group, elem, length = _HEAD.unpack_from(buf, pos)
        return group << 16 | elem, None, pos + 8, length
    group, elem, vr, length = _EXPLICIT.unpack_from(buf, pos)
    tag = group << 16 | elem
    if group == 0xFFFE:  # item and delimiters have no VR
        return tag, None, pos + 8, _U32.unpack_from(buf, pos + 4)[0]
    if vr in _LONG_VRS:
        return tag, vr, pos + 12, _U32.unpack_from(buf, pos + 8)[0]
    if not (vr.isalpha() and vr.isupper()):
        raise _Fallback
    return tag, vr, pos + 8, length


def _skip_undefined(buf: bytes, pos: int, implicit: bool) -> int:
    """Position after an undefined-length sequence whose items start at ``pos``."""
    while True:
        tag, _, start, length = _element(buf, pos, implicit)
        if tag == _SEQ_END:
            return start
        if tag != _ITEM:
            raise _Fallback
        if length != _UNDEFINED:
            pos = start + length
            continue
        pos = start
        while True:  # elements of an undefined-length item, up to its delimiter
            tag, _, start, length = _element(buf, pos, implicit)
            if tag == _ITEM_END:
                pos = start
                break
            pos = _skip_undefined(buf, start, implicit) if length == _UNDEFINED else start + length


def quick_header(path: str) -> dict[str, Any] | None:
    """The scan's values of a common DICOM file from its first bytes, or None.

    Reads Part 10 files (preamble, ``DICM``) in implicit or explicit VR little endian
    (native or encapsulated pixel data) whose elements up to (0020,000D) lie in the
    first :data:`_QUICK_BYTES` bytes in ascending order, and decodes SOP Class UID, Study Date, Modality,
    Patient ID and Study Instance UID with :func:`mibgkit.io._values._decode` (the
    value pydicom gives). None means "read it with pydicom": not such a file, or any
    value or layout the fast path does not mirror.

    Parameters
    ----------
    path : str

    Returns
    -------
    dict or None
        Keyword -> value for the elements present.
    """
    if not _pydicom_defaults():
        return None
    try:
        with open(path, "rb") as fh:
            buf = fh.read(_QUICK_BYTES)
    except OSError:
        return None
    if buf[128:132] != b"DICM":
        return None
    try:
        return _quick_values(buf)
    except (_Fallback, struct.error, UnicodeDecodeError, IndexError):
        return None


def _quick_values(buf: bytes) -> dict[str, Any] | None:
    pos, ts = 132, None
    while _GROUP.unpack_from(buf, pos)[0] == 0x0002:  # file meta information: explicit VR little endian
        tag, vr, start, length = _element(buf, pos, False)
        if length == _UNDEFINED or start + length > len(buf):
            return None
        if tag == 0x00020010:
            ts = buf[start:start + length].decode("ascii").rstrip(" \x00")
        pos = start + length
    if ts == _IMPLICIT_TS:
        implicit = True
    elif ts in _EXPLICIT_TS:
        implicit = False
    else:
        return None  # big endian, deflated, unknown or missing transfer syntax
    found: dict[str, Any] = {}
    end, previous = len(buf), -1
    while True:
        if pos + 8 > end:
            return None  # header goes on past the first read
        tag, vr, start, length = _element(buf, pos, implicit)
        if tag <= previous:
            return None  # elements out of order: pydicom reads the whole header
        previous = tag
        if tag > _LAST_TAG:
            return found
        if length == _UNDEFINED:
            if vr == b"UN":  # its items are implicit VR whatever the transfer syntax: leave to pydicom
                return None
            pos = _skip_undefined(buf, start, implicit)
            continue
        if start + length > end:
            return None
        keyword = _QUICK_TAGS.get(tag)
        if keyword is not None:
            value = _decode(tag, None if vr is None else vr.decode("ascii"), buf[start:start + length])
            if value is _SLOW:
                return None
            found[keyword] = value
            if tag == _LAST_TAG:
                return found
        pos = start + length


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
    headers: dict[str, dict[str, Any]] = {}
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

"""``mibgkit.load``: files, folders or DICOMDIRs -> a :class:`StudyCollection`.

Each file is parsed once (header with deferred pixel data), grouped by series and
study, checked, and its pixels decoded once. In a folder walk a bad file becomes a
:class:`SkippedFile` with its reason; given a single file (or ``strict=True``) the typed
error from :mod:`mibgkit.errors` is raised instead.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

from mibgkit.errors import DicomReadError, GeometryError, MibgkitError, MixedSeriesError
from mibgkit.io.discover import PathInput, discover
from mibgkit.io.headers import Header, light_headers, read_and_classify
from mibgkit.io.meta import merge_info, study_info
from mibgkit.io.model import SkippedFile, Study, StudyCollection, StudyInfo, ViewName, Volume
from mibgkit.io.pixels import DEFAULT_MAX_PIXEL_BYTES, decode_frames
from mibgkit.io.planar import PlanarObjects, build_planar
from mibgkit.io.spect import volume_from_multiframe, volume_from_slices

__all__ = ["load", "load_headers", "studies_from_headers", "skip_reason"]

_PLANAR_KINDS = {"whole_body", "static", "dynamic", "gated", "tomo", "gated_tomo"}
_VIEW_ORDER = {"ANT": 0, "POST": 1, "UNKNOWN": 2}
_INFO_SOURCES = 5  # objects per study whose headers fill StudyInfo (the first wins)
T = TypeVar("T")


def skip_reason(exc: BaseException) -> str:
    """One-line reason for a skipped file: error type and problem."""
    problem = exc.problem if isinstance(exc, MibgkitError) else str(exc)
    return f"{type(exc).__name__}: {problem}"


class _Run:
    """One load call: collects skipped files, or raises when strict."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.skipped: list[SkippedFile] = []

    def attempt(self, path: str, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except MibgkitError as exc:
            if self.strict:
                raise
            self.skipped.append(SkippedFile(path, skip_reason(exc)))
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:  # never let one odd file stop a walk
            err = DicomReadError(f"unexpected {type(exc).__name__}: {exc}", path)
            if self.strict:
                raise err from exc
            self.skipped.append(SkippedFile(path, skip_reason(err)))
        return None

    def skip(self, path: str, exc: MibgkitError) -> None:
        if self.strict:
            raise exc
        self.skipped.append(SkippedFile(path, skip_reason(exc)))


def _check_series(headers: list[Header], run: _Run) -> list[Header]:
    """Drop duplicates and files whose series disagrees with the rest of it on study or modality."""
    kept: list[Header] = []
    seen: dict[str, str] = {}
    for h in headers:
        uid = h.sop_instance_uid
        if uid and uid in seen:
            run.skip(h.path, MixedSeriesError(f"same SOP Instance UID as {seen[uid]} (duplicate)", h.path))
            continue
        seen[uid] = h.path
        kept.append(h)
    by_series: dict[str, list[Header]] = defaultdict(list)
    for h in kept:
        by_series[h.series_uid or h.path].append(h)
    bad: set[str] = set()
    for series, members in by_series.items():
        for attr in ("study_uid", "modality"):
            counts = Counter(getattr(m, attr) for m in members)
            if len(counts) < 2:
                continue
            majority = counts.most_common(1)[0][0]
            for m in members:
                value = getattr(m, attr)
                if value != majority and m.path not in bad:
                    bad.add(m.path)
                    name = attr.replace("_uid", " UID").replace("_", " ")
                    run.skip(
                        m.path,
                        MixedSeriesError(
                            f"series {series} mixes files: this one has {name} {value!r}, "
                            f"{counts[majority]} others have {majority!r}",
                            m.path,
                        ),
                    )
    return [h for h in kept if h.path not in bad]


def load_headers(paths: PathInput, *, strict: bool = False) -> tuple[list[Header], list[SkippedFile]]:
    """Discover files and read/classify their headers (no pixel data).

    Parameters
    ----------
    paths : str, PathLike, or iterable of them
    strict : bool
        Raise the first error instead of collecting skipped files.

    Returns
    -------
    headers : list of Header
        Image objects that passed series checks (DICOMDIR files excluded).
    skipped : list of SkippedFile
    """
    files, skipped = discover(paths)
    run = _Run(strict)
    run.skipped += skipped
    headers = []
    for f in files:
        h = run.attempt(f, partial(read_and_classify, f))
        if h is None:
            continue
        if h.kind == "dicomdir":
            run.skipped.append(SkippedFile(f, "DICOMDIR index: its images are read from the folder"))
            continue
        headers.append(h)
    return _check_series(headers, run), run.skipped


def _single_file(paths: PathInput) -> bool:
    return isinstance(paths, str | Path) and Path(paths).is_file() and Path(paths).name.upper() != "DICOMDIR"


def load(
    paths: PathInput,
    *,
    assume_view: ViewName | None = None,
    strict: bool | None = None,
    max_pixel_bytes: int = DEFAULT_MAX_PIXEL_BYTES,
) -> StudyCollection:
    """Load NM DICOM into normalized studies.

    Parameters
    ----------
    paths : str, PathLike, or iterable of them
        A file, several files, a folder (walked recursively, any file names) or a
        DICOMDIR.
    assume_view : {"ANT", "POST"}, optional
        When a study has exactly one planar view whose view is ``UNKNOWN``, treat it as
        this view (``view_source="assumed"``). Never applied unless asked.
    strict : bool, optional
        Raise the first error (:mod:`mibgkit.errors`) instead of skipping the file.
        Default: True for a single file, False for folders and lists.
    max_pixel_bytes : int
        Largest decoded pixel array accepted per object.

    Returns
    -------
    StudyCollection
        One :class:`Study` per Study Instance UID (sorted by UID), with ``.skipped``
        listing every file not loaded and why.

    Raises
    ------
    mibgkit.errors.MibgkitError
        Only when strict (see above).
    """
    if assume_view not in (None, "ANT", "POST"):
        raise ValueError(f"assume_view must be None, 'ANT' or 'POST', not {assume_view!r}")
    strict = _single_file(paths) if strict is None else strict
    with light_headers():  # plain files parsed without pydicom: same values, kinds and errors
        headers, skipped = load_headers(paths, strict=strict)
    return studies_from_headers(
        headers, skipped, assume_view=assume_view, strict=strict, max_pixel_bytes=max_pixel_bytes
    )


def studies_from_headers(
    headers: list[Header],
    skipped: list[SkippedFile] | None = None,
    *,
    assume_view: ViewName | None = None,
    strict: bool = False,
    max_pixel_bytes: int = DEFAULT_MAX_PIXEL_BYTES,
) -> StudyCollection:
    """Decode and assemble headers already read and checked (see :func:`load_headers`).

    Parameters
    ----------
    headers : list of Header
        From :func:`load_headers` or :func:`mibgkit.io.headers.read_and_classify`; no
        file is parsed again.
    skipped : list of SkippedFile, optional
        Files already skipped; kept in the result's ``skipped``.
    assume_view, strict, max_pixel_bytes
        As for :func:`load` (``strict`` defaults to False here).

    Returns
    -------
    StudyCollection
    """
    run = _Run(strict)
    run.skipped = list(skipped or [])
    studies: dict[str, Study] = {}
    infos: dict[str, list[Header]] = defaultdict(list)
    slices: dict[str, list[tuple[Header, np.ndarray]]] = defaultdict(list)

    def study_for(h: Header) -> Study:
        key = h.study_uid or f"no-study-uid:{h.path}"
        if key not in studies:
            studies[key] = Study(info=StudyInfo(study_instance_uid=h.study_uid))
        infos[key].append(h)
        return studies[key]

    for h in headers:
        if h.kind == "slice":
            if h.n_frames != 1:
                run.skip(
                    h.path,
                    GeometryError(
                        f"{h.n_frames}-frame (enhanced) {h.modality} volumes are not supported yet", h.path
                    ),
                )
                continue
            frames = run.attempt(h.path, partial(decode_frames, h.values, h.path, max_bytes=max_pixel_bytes))
            if frames is not None:
                slices[h.series_uid or h.path].append((h, frames[0]))
            continue
        built = run.attempt(h.path, partial(_build, h, max_pixel_bytes))
        if built is None:
            continue
        study = study_for(h)
        if isinstance(built, PlanarObjects):
            study.views += built.views
            study.dynamics += built.dynamics
            study.projections += built.projections
        else:
            study.volumes.append(built)

    for series, members in slices.items():
        hs = [m[0] for m in members]
        vol = run.attempt(hs[0].path, partial(volume_from_slices, hs, [m[1] for m in members]))
        if vol is not None:
            study_for(hs[0]).volumes.append(vol)
        elif not strict:  # the whole series failed: name every file
            reason = run.skipped[-1].reason
            run.skipped += [SkippedFile(h.path, f"{reason} (series {series})") for h in hs[1:]]

    for key, study in studies.items():
        ordered = sorted(infos[key], key=lambda h: (h.kind != "whole_body", h.path))
        study.info = merge_info(study_info(h.values) for h in ordered[:_INFO_SOURCES])
        study.views.sort(
            key=lambda v: (
                v.kind != "whole_body",
                _VIEW_ORDER[v.view],
                v.energy_window or 0,
                v.source.path,
                v.source.frame,
            )
        )
        if assume_view is not None:
            _assume(study, assume_view)
    return StudyCollection([studies[k] for k in sorted(studies)], run.skipped)


def _build(h: Header, max_pixel_bytes: int) -> PlanarObjects | Volume:
    frames = decode_frames(h.values, h.path, max_bytes=max_pixel_bytes)
    if h.kind in _PLANAR_KINDS:
        return build_planar(h, frames)
    return volume_from_multiframe(h, frames)


def _assume(study: Study, view: ViewName) -> None:
    unknown = [v for v in study.views if v.view == "UNKNOWN"]
    if len(unknown) != 1 or study.find_views(view):
        return
    v = unknown[0]
    i = study.views.index(v)
    mirror = view == "POST"  # as for any posterior view whose header gives no lateral direction
    image = np.ascontiguousarray(v.image[:, ::-1]) if mirror else v.image
    source = dataclasses.replace(v.source, mirrored=v.source.mirrored != mirror)
    study.views[i] = dataclasses.replace(v, image=image, view=view, view_source="assumed", source=source)

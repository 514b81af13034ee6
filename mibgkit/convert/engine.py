"""The batch conversion: studies run in-process, on local processes or on Dask.

Every study is converted by :func:`convert_study`, a pure function of its job and the
options, so the same task runs in this process, in a process pool
(``workers > 1``) or on a Dask distributed cluster (``scheduler="tcp://..."``) and
writes the same bytes. In parallel, consecutive studies are sent in batches
(:func:`convert_batch`, at most 16 studies each, ever smaller towards the end) to a
pool whose workers import everything once at start. Per study it

1. skips the study when its state record (``OUT/.mibgkit/state/<study_key>.json``)
   says it was done with the same inputs (size + mtime) and options, and every output
   it lists still has the recorded SHA-256 (a study whose outputs could not be written,
   or that raised, is tried again; files the loader rejected stay rejected);
2. loads the study (:func:`mibgkit.io.load_headers` then
   :func:`mibgkit.io.loader.studies_from_headers`, i.e. :func:`mibgkit.load` with the
   parsed headers kept for the sidecar), writes each planar view and each volume as
   ``<name>.nii.gz`` (:mod:`mibgkit.convert.nifti`, hashed from memory) or
   ``.nrrd`` / ``.tiff`` (SimpleITK) with a same-name JSON sidecar, each file written
   to a temporary in the same folder and moved into place;
3. writes the state record last, so a study killed half-way is redone on the next run.

A failure is confined to its file (the loader skips it with the reason) or its study
(the exception becomes the reason of each of its files); the batch always goes on.
The input tree is only read.

On Dask, every worker must see IN and OUT at the same paths (a shared file system),
and the de-identification key travels to the workers inside the task options: run
the cluster only on machines trusted with that key.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mibgkit.convert._files import (
    TMP_SUFFIX,
    FolderCache,
    atomic_write,
    atomic_write_with,
    relative,
    sha256_file,
)
from mibgkit.convert.deid import DeidPolicy
from mibgkit.convert.naming import DEFAULT_TEMPLATE, check_template, dedupe, render
from mibgkit.convert.scan import Fingerprint, StudyJob, scan_tree

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from mibgkit.io.model import PlanarView, Study, ViewName, Volume

__all__ = [
    "FORMATS",
    "ConvertOptions",
    "FileOutcome",
    "ConvertReport",
    "convert_batch",
    "convert_study",
    "convert_tree",
    "integer_by_header",
    "write_manifest",
]

#: Output format -> file extension (NIfTI by :mod:`mibgkit.convert.nifti`, the others by SimpleITK).
FORMATS: dict[str, str] = {"nifti": ".nii.gz", "nrrd": ".nrrd", "tiff": ".tiff"}
STATE_DIR = ".mibgkit/state"
SIDECAR_SCHEMA = "mibgkit.sidecar/1"
STATE_SCHEMA = "mibgkit.convert-state/1"
MANIFEST_COLUMNS = ("input", "size", "status", "reason", "study_key", "outputs")
_WRITE_FAILED = "cannot write"
_MAX_BATCH = 16  # studies per task at most
_TAIL = 4  # a task takes at most 1/(_TAIL * workers) of the studies left: shrinking tasks, a short tail


@dataclass(frozen=True)
class ConvertOptions:
    """Everything a study task needs besides its job (picklable, sent to workers).

    Parameters
    ----------
    in_root, out_root : str
        Input tree and output folder (inputs are recorded relative to ``in_root``).
    template : str
        Output name template (:mod:`mibgkit.convert.naming`).
    fmt : {"nifti", "nrrd", "tiff"}
    policy : DeidPolicy
    assume_view : {"ANT", "POST"}, optional
        Passed to the loader for a study with a single unknown view.
    threads : int
        SimpleITK threads per task (1 when several tasks run at once).
    fast_paths : bool
        Parse plain headers without pydicom and write integer voxels from the stored
        values (default). False reads every header with pydicom and narrows the float32
        counts; the outputs are byte-identical either way (a check, and a way out if a
        file ever trips the fast paths).
    """

    in_root: str
    out_root: str
    template: str = DEFAULT_TEMPLATE
    fmt: str = "nifti"
    policy: DeidPolicy = field(default_factory=DeidPolicy)
    assume_view: ViewName | None = None
    threads: int = 1
    fast_paths: bool = True

    def fingerprint(self) -> dict[str, Any]:
        """What must not change for a finished study to be reused."""
        key_id = hashlib.sha256(b"key|" + self.policy.key).hexdigest()[:12]
        return {
            "template": self.template,
            "format": self.fmt,
            "deidentified": self.policy.enabled,
            "keep_dates": self.policy.keep_dates,
            "assume_view": self.assume_view,
            "key_id": key_id,
        }


@dataclass
class FileOutcome:
    """What became of one input file.

    ``status`` is ``converted``, ``unchanged`` (done by an earlier run and still
    valid), ``failed`` (DICOM that could not be converted; ``reason`` says why) or
    ``skipped`` (not DICOM, DICOMDIR, or nothing convertible in it).
    """

    input: str
    size: int
    status: str
    reason: str = ""
    study_key: str = ""
    outputs: list[str] = field(default_factory=list)


@dataclass
class ConvertReport:
    """Result of :func:`convert_tree`."""

    outcomes: list[FileOutcome]
    n_studies: int
    seconds: float
    manifest_csv: Path
    manifest_json: Path

    def count(self, status: str) -> int:
        """Number of input files with this status."""
        return sum(o.status == status for o in self.outcomes)

    @property
    def outputs(self) -> list[str]:
        """Every image written or kept, relative to the output folder."""
        return sorted({p for o in self.outcomes for p in o.outputs})


# ---------------------------------------------------------------------- one study
def _sha256(path: str | os.PathLike[str]) -> str:
    return sha256_file(path)


def _rel(path: str, root: str) -> str:
    return relative(path, root)


def _state_path(opts: ConvertOptions, job: StudyJob) -> Path:
    return Path(opts.out_root) / STATE_DIR / f"{job.key}.json"


def _inputs_record(job: StudyJob, opts: ConvertOptions) -> list[list[Any]]:
    return [[_rel(f.path, opts.in_root), f.size, f.mtime_ns] for f in job.files]


def _reuse(job: StudyJob, opts: ConvertOptions) -> list[FileOutcome] | None:
    """The outcomes of an earlier run if that run's outputs are complete and unchanged."""
    path = _state_path(opts, job)
    try:
        state = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if (
        state.get("schema") != STATE_SCHEMA
        or not state.get("complete")
        or state.get("inputs") != _inputs_record(job, opts)
        or state.get("options") != opts.fingerprint()
        or state.get("suffix") != job.suffix
    ):
        return None
    for rel, digest in state.get("outputs", {}).items():
        try:
            if _sha256(Path(opts.out_root) / rel) != digest:
                return None
        except OSError:  # missing, or not a file
            return None
    outcomes = [FileOutcome(**o) for o in state["outcomes"]]
    for o in outcomes:
        if o.status == "converted":
            o.status = "unchanged"
    return outcomes


@dataclass
class _Item:
    """One image to write: a planar view or a volume, with its name fields.

    ``encode()`` gives the whole file in memory (NIfTI); ``write(tmp)`` writes it to a
    path (SimpleITK formats); exactly one of them is set.
    """

    fields: dict[str, Any]
    sources: list[str]
    sidecar: dict[str, Any]
    encode: Callable[[], bytes] | None = None
    write: Callable[[str], None] | None = None


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _study_sidecar(study: Study, pid: str, policy: DeidPolicy) -> dict[str, Any]:
    info = study.info
    acquired = policy.date(info.acquisition_datetime, pid)
    injected = policy.date(info.injection_datetime, pid)
    uptake_h = None
    if info.acquisition_datetime and info.injection_datetime:
        uptake_h = round((info.acquisition_datetime - info.injection_datetime).total_seconds() / 3600, 4)
    return {
        "radiopharmaceutical": {
            "name": info.radiopharmaceutical,
            "injected_activity_mbq": info.injected_activity_mbq,
            "injection_datetime": _iso(injected),
        },
        "energy_windows": [asdict(w) for w in info.energy_windows],
        "timing": {
            "study_datetime": _iso(policy.date(info.study_datetime, pid)),
            "acquisition_datetime": _iso(acquired),
            "uptake_hours": uptake_h,
        },
        "collimator": info.collimator,
        "patient": {
            "age_years": info.patient_age_years,
            "sex": info.patient_sex,
            "weight_kg": info.patient_weight_kg,
            "height_m": info.patient_height_m,
        },
    }


def _stored_frame(sf: Any, policy: DeidPolicy, in_root: str) -> dict[str, Any]:
    d = {
        "sop_instance_uid": policy.uid(sf.sop_instance_uid),
        "frame": sf.frame,
        "stored_shape": list(sf.stored_shape),
        "mirrored": sf.mirrored,
        "flipped_rows": sf.flipped_rows,
        "row_offset": sf.row_offset,
        "col_offset": sf.col_offset,
    }
    if not policy.enabled:
        d["path"] = _rel(sf.path, in_root)
    return d


def integer_by_header(values: Any) -> bool:
    """Whether the header alone guarantees integer counts after rescale.

    True when the stored values are integers of at most 16 bits (Bits Allocated 8 or
    16) and every frame's Rescale Slope is 1 and Intercept an integer of magnitude at
    most 2**23 (as :func:`mibgkit.io.pixels.rescale` reads them): the float32 counts are
    then exact integers (below 2**24). False means "not known" (the data decide).

    Parameters
    ----------
    values : mibgkit.io._values.HeaderValues
        The object's cached header values.

    Returns
    -------
    bool
    """
    from mibgkit.io.pixels import rescale

    try:
        if int(values.get("BitsAllocated")) not in (8, 16):
            return False
        n_frames = int(values.get("NumberOfFrames", 1) or 1)
        slopes, intercepts = rescale(values, n_frames)
    except (TypeError, ValueError):
        return False
    return bool((slopes == 1).all() and (intercepts == intercepts.round()).all()
                and (abs(intercepts) <= 2**23).all())


def _unscaled(values: Any) -> bool:
    """Every frame's Rescale Slope 1 and Intercept 0 (counts = stored values)."""
    from mibgkit.io.pixels import rescale

    try:
        slopes, intercepts = rescale(values, int(values.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return False
    return bool((slopes == 1).all() and (intercepts == 0).all())


def _stored_image(sources: list[Any], shape: tuple[int, ...], headers: dict[str, Any],
                  image: np.ndarray) -> np.ndarray | None:
    """The counts to write, rebuilt from the stored integers the loader decoded, or None.

    Each 2-D plane is its source's stored frame flipped, mirrored and cropped as its
    :class:`~mibgkit.io.model.StoredFrame` says (the model's contract), for objects of at
    most 16 bits with Rescale Slope 1 and Intercept 0, i.e. where the loader's float32
    counts are exactly these integers. The range and the cast are computed on the frames
    as stored (contiguous); the flips are applied to the narrow result. A strided sample
    of ``image`` (the float32 counts) is compared as a guard; None (the float32 path) for
    anything else.
    """
    import numpy as np

    if not sources or not all(_unscaled(headers[p]) for p in dict.fromkeys(s.path for s in sources)):
        return None
    h, w = shape[-2:]
    crops = []
    for s in sources:
        raw = getattr(headers.get(s.path), "stored_pixels", None)
        if (raw is None or raw.ndim != 3 or raw.dtype.kind not in "iu" or raw.dtype.itemsize > 2
                or not 0 < s.frame <= raw.shape[0] or tuple(raw.shape[1:]) != tuple(s.stored_shape)):
            return None
        rows, cols = raw.shape[1:]
        # the crop in stored coordinates (flips undone), then the flips
        r0 = rows - s.row_offset - h if s.flipped_rows else s.row_offset
        c0 = cols - s.col_offset - w if s.mirrored else s.col_offset
        if r0 < 0 or c0 < 0 or r0 + h > rows or c0 + w > cols:
            return None
        crops.append((raw, s.frame - 1, r0, c0, s.flipped_rows, s.mirrored))
    if len(shape) == 2:
        raw, i, r0, c0, flip, mirror = crops[0]
        stored = raw[i, r0:r0 + h, c0:c0 + w]
        data = _narrow_integers(stored)
        data = data[::-1] if flip else data
        data = data[:, ::-1] if mirror else data
    else:
        raw = crops[0][0]
        whole = len(crops) == raw.shape[0] and all(  # the object's frames in order, as stored
            c[0] is raw and c[1] == k and c[2:] == (0, 0, False, False) for k, c in enumerate(crops))
        if whole and tuple(raw.shape) == tuple(shape):
            data = _narrow_integers(raw)
        else:
            planes = [r[i, a:a + h, b:b + w] for r, i, a, b, _, _ in crops]
            data = _narrow_integers(np.stack([p[::-1] if f else p for p, (_, _, _, _, f, _) in zip(planes, crops)]))
            if any(c[5] for c in crops):
                if not all(c[5] for c in crops):
                    return None
                data = data[:, :, ::-1]
    if data.shape != tuple(shape) or not np.array_equal(data[::_GUARD_STEP], image[::_GUARD_STEP]):
        return None
    return data


#: Every n-th row (or slice) of an image rebuilt from stored integers is compared with the
#: loader's float32 counts (:func:`_stored_image`).
_GUARD_STEP = 16


def _narrow_integers(data: np.ndarray) -> np.ndarray:
    """Integers in the first of :data:`~mibgkit.convert.nifti.INTEGER_TYPES` that holds their
    range: the type and values :func:`~mibgkit.convert.nifti.narrowest` gives for the same
    counts as float32."""
    import numpy as np

    from mibgkit.convert.nifti import INTEGER_TYPES

    if data.size == 0:
        return data
    lo, hi = int(data.min()), int(data.max())
    for name in INTEGER_TYPES:
        info = np.iinfo(name)
        if info.min <= lo and hi <= info.max:
            if data.dtype == name:
                return data
            if data.dtype == np.uint16 and name == "int16":
                return data.view(np.int16)  # same bits for 0..32767
            return data.astype(name)
    return data.astype(np.int32)  # pragma: no cover - 16-bit values always fit int32


def _counts(image: np.ndarray, sources: list[Any], headers: dict[str, Any]) -> np.ndarray:
    """The voxels to write: integers in the narrowest type when the counts are integers,
    from the stored values when the loader kept them (:func:`_stored_image`), else from the
    float32 counts (:func:`~mibgkit.convert.nifti.narrowest`); same type and values either way."""
    import numpy as np

    from mibgkit.convert.nifti import narrowest

    stored = _stored_image(sources, image.shape, headers, image)
    if stored is not None:
        return stored
    paths = list(dict.fromkeys(s.path for s in sources))
    # integer counts stay integers, exactly (a volume's frames may come from several objects)
    return narrowest(np.asarray(image, dtype=np.float32), integer=all(integer_by_header(headers[p]) for p in paths))


def _planar_item(view: PlanarView, headers: dict[str, Any], opts: ConvertOptions) -> _Item:
    import numpy as np

    hdr = headers[view.source.path]
    spacing = [float(view.pixel_spacing_mm[1]), float(view.pixel_spacing_mm[0])]  # (col, row), as ITK
    data = _counts(view.image, [view.source], headers)

    def encode() -> bytes:
        from mibgkit.convert.nifti import nifti_gz_bytes

        return nifti_gz_bytes(data, spacing)

    def write(tmp: str) -> None:
        import SimpleITK as sitk

        img = sitk.GetImageFromArray(np.ascontiguousarray(data))
        img.SetSpacing(spacing)
        sitk.WriteImage(img, tmp, useCompression=opts.fmt != "tiff")

    sidecar = {
        "kind": view.kind,
        "view": view.view,
        "view_source": view.view_source,
        "frame_mapping": _stored_frame(view.source, opts.policy, opts.in_root),
        "array": {"shape": list(view.shape), "axes": ["row", "col"], "dtype": str(data.dtype),
                  "frame": "normalized planar (rows head->feet, cols patient right->left, anterior display)"},
        "spacing_mm": [float(v) for v in view.pixel_spacing_mm],
        "detector": view.detector,
        "energy_window": view.energy_window,
        "frame_duration_s": view.frame_duration_s,
        "scan_velocity_mm_s": view.scan_velocity_mm_s,
    }
    fields = {
        "series_number": hdr.get("SeriesNumber"),
        "view": view.view,
        "kind": view.kind,
        "frame": view.source.frame,
        "detector": view.detector,
        "energy_window": view.energy_window,
    }
    if opts.fmt == "nifti":
        return _Item(fields, [view.source.path], sidecar, encode=encode)
    return _Item(fields, [view.source.path], sidecar, write=write)


def _volume_item(vol: Volume, headers: dict[str, Any], opts: ConvertOptions) -> _Item:
    import numpy as np

    from mibgkit.convert.nifti import DATATYPES

    paths = list(dict.fromkeys(s.path for s in vol.sources))
    data = _counts(vol.array, list(vol.sources), headers)

    def encode() -> bytes:
        from mibgkit.convert.nifti import nifti_gz_bytes

        return nifti_gz_bytes(data, vol.spacing_mm[::-1], vol.origin_lps, np.asarray(vol.direction))

    def write(tmp: str) -> None:
        import SimpleITK as sitk

        sitk.WriteImage(replace(vol, array=data).to_sitk(), tmp, useCompression=opts.fmt != "tiff")

    frames = [_stored_frame(s, opts.policy, opts.in_root) for s in vol.sources]
    sidecar = {
        "kind": "volume",
        "view": "SPECT" if vol.modality == "NM" else vol.modality,
        "modality": vol.modality,
        "frame_mapping": frames,
        "array": {"shape": list(vol.array.shape), "axes": ["slice", "row", "col"], "dtype": str(data.dtype),
                  "frame": "patient LPS (origin, spacing, direction as SimpleITK)"},
        "spacing_mm": [float(v) for v in vol.spacing_mm],
        "origin_lps_mm": [float(v) for v in vol.origin_lps],
        "direction": [float(v) for v in _ravel(vol.direction)],
        "frame_of_reference_uid": opts.policy.uid(vol.frame_of_reference_uid or "") or None,
    }
    fields = {
        "series_number": headers[paths[0]].get("SeriesNumber"),
        "view": sidecar["view"],
        "kind": "volume",
        "frame": None,
        "detector": None,
        "energy_window": None,
    }
    if opts.fmt == "nifti" and np.dtype(data.dtype).name in DATATYPES:
        return _Item(fields, paths, sidecar, encode=encode)
    return _Item(fields, paths, sidecar, write=write)


def _ravel(a: np.ndarray) -> list[float]:
    import numpy as np

    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def _sidecar(item: _Item, run: _StudyRun, image_name: str, image_sha: str) -> dict[str, Any]:
    from mibgkit import __version__

    opts = run.opts
    dicom, removed = run.fields[item.sources[0]]
    removed = dict(removed)
    for path in item.sources[1:]:
        removed.update(run.fields[path][1])
    inputs = []
    for p in item.sources:
        fp = run.files[p]  # size and mtime as scanned (the state record's), no stat per file
        entry: dict[str, Any] = {"sha256": run.digests[p], "size": fp.size, "mtime_ns": fp.mtime_ns}
        if not opts.policy.enabled:
            entry["path"] = _rel(p, opts.in_root)
        inputs.append(entry)
    return {
        "schema": SIDECAR_SCHEMA,
        "image": {"file": image_name, "sha256": image_sha, "format": opts.fmt},
        **item.sidecar,
        **run.study_part,
        "dicom": dicom,
        "software": {"name": "mibgkit", "version": __version__, "source_software_versions": dicom.get("SoftwareVersions")},
        "deidentification": {
            "deidentified": opts.policy.enabled,
            "method": opts.policy.options,
            "date_shift_applied": opts.policy.enabled and not opts.policy.keep_dates,
            "removed": dict(sorted(removed.items())),
        },
        "inputs": inputs,
    }


#: ``json.dumps(value, default=str)`` without a new encoder per call (same settings, same text).
_encode = json.JSONEncoder(default=str).encode


def _dumps(data: Any, rows: tuple[str, ...] = ()) -> bytes:
    """JSON with one top-level key per line (and one element per line for the lists
    named in ``rows``); every value encoded by the C encoder (``indent`` would force
    the pure-Python one, ~10x slower on large sidecars)."""
    if not isinstance(data, dict):
        return (_encode(data) + "\n").encode()
    parts = []
    for key, value in data.items():
        if key in rows and isinstance(value, list):
            inner = ",\n  ".join(_encode(v) for v in value)
            text = f"[\n  {inner}\n ]" if value else "[]"
        else:
            text = _encode(value)
        parts.append(f" {_encode(key)}: {text}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode()


def _write_json(path: Path, data: Any, folders: FolderCache | None = None, rows: tuple[str, ...] = ()) -> str:
    return atomic_write(str(path), _dumps(data, rows), folders)


def convert_study(job: StudyJob, opts: ConvertOptions) -> list[FileOutcome]:
    """Convert one study (or reuse an earlier run's outputs); never raises for bad data.

    Parameters
    ----------
    job : StudyJob
    opts : ConvertOptions

    Returns
    -------
    list of FileOutcome
        One per input file of the job.
    """
    return _convert_study(job, opts, FolderCache())


def convert_batch(jobs: list[StudyJob], opts: ConvertOptions) -> list[list[FileOutcome] | BaseException]:
    """Convert several studies in one task (what a worker is sent).

    Parameters
    ----------
    jobs : list of StudyJob
    opts : ConvertOptions

    Returns
    -------
    list
        Per job, its outcomes (as :func:`convert_study`) or the exception that stopped
        it (e.g. the output folder is not writable); one study never stops the others.
    """
    folders = FolderCache()
    results: list[list[FileOutcome] | BaseException] = []
    for job in jobs:
        try:
            results.append(_convert_study(job, opts, folders))
        except Exception as exc:
            results.append(exc)
    return results


def _convert_study(job: StudyJob, opts: ConvertOptions, folders: FolderCache) -> list[FileOutcome]:
    reused = _reuse(job, opts)
    if reused is not None:
        return reused
    outcomes = {f.path: FileOutcome(_rel(f.path, opts.in_root), f.size, "skipped", "", job.key) for f in job.files}
    written: dict[str, str] = {}
    complete = True
    try:
        _convert_loaded(job, _StudyRun(opts, outcomes, written, folders, {f.path: f for f in job.files}))
    except Exception as exc:  # the study fails, the batch goes on
        complete = False
        for o in outcomes.values():
            if o.status != "failed":
                o.status, o.reason, o.outputs = "failed", f"{type(exc).__name__}: {exc}", []
    # Failures to write (disk full, permissions) may pass: such a study is tried again.
    complete = complete and not any(o.reason.startswith(_WRITE_FAILED) for o in outcomes.values())
    state = {
        "schema": STATE_SCHEMA,
        "complete": complete,
        "inputs": _inputs_record(job, opts),
        "options": opts.fingerprint(),
        "suffix": job.suffix,
        "outputs": written,
        "outcomes": [asdict(o) for o in outcomes.values()],
    }
    _write_json(_state_path(opts, job), state, folders)
    return list(outcomes.values())


@dataclass
class _StudyRun:
    """What the writes of one study share, and what they report into."""

    opts: ConvertOptions
    outcomes: dict[str, FileOutcome]
    written: dict[str, str]
    folders: FolderCache
    files: dict[str, Fingerprint]
    study_part: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, tuple[dict[str, Any], dict[str, str]]] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)


def _convert_loaded(job: StudyJob, run: _StudyRun) -> None:
    from mibgkit.io.headers import light_headers
    from mibgkit.io.loader import load_headers, studies_from_headers
    from mibgkit.io.pixels import keep_stored_pixels

    opts = run.opts
    if opts.fmt != "nifti":
        import SimpleITK as sitk

        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(max(1, opts.threads))
    # The loader's own parse of each header is reused for the sidecar (no second dcmread).
    # Plain files are parsed without pydicom (same values; pydicom reads a file only when needed).
    fast = opts.fast_paths
    with light_headers() if fast else nullcontext():
        parsed, skipped = load_headers([f.path for f in job.files], strict=False)
    # the stored integers too: written without a float32 round trip
    with keep_stored_pixels() if fast else nullcontext():
        collection = studies_from_headers(parsed, skipped, assume_view=opts.assume_view, strict=False)
    dataset_of = {h.path: h.values for h in parsed}  # cached values, decoded once per file
    for skip in collection.skipped:
        if skip.path in run.outcomes:
            run.outcomes[skip.path].status = "failed"
            run.outcomes[skip.path].reason = skip.reason
    for study in collection:
        paths = [v.source.path for v in study.views] + [s.path for vol in study.volumes for s in vol.sources]
        headers = {p: dataset_of[p] for p in dict.fromkeys(paths)}
        items = [_planar_item(v, headers, opts) for v in study.views]
        items += [_volume_item(vol, headers, opts) for vol in study.volumes]
        pid = str(next(iter(headers.values())).get("PatientID", "") or "") if headers else ""
        run.study_part = _study_sidecar(study, pid, opts.policy)
        run.fields = {p: opts.policy.header_fields(ds, pid) for p, ds in headers.items()}
        run.digests = {p: _sha256(p) for p in headers}
        stems = dedupe([render(opts.template, {**job.study_fields, **it.fields}) + job.suffix for it in items])
        for item, stem in zip(items, stems):
            _write_item(item, stem, run)
        _mark_other_content(study, run.outcomes)
    for o in run.outcomes.values():
        if o.status == "skipped" and not o.reason:
            o.reason = "skipped: no image the converter writes"


def _mark_other_content(study: Study, outcomes: dict[str, FileOutcome]) -> None:
    other = [s.path for d in study.dynamics for s in d.sources] + [p.source_path for p in study.projections]
    for path in other:
        o = outcomes.get(path)
        if o is not None and o.status == "skipped":
            o.reason = "skipped: dynamic or tomographic projection data are not converted"


def _write_item(item: _Item, stem: str, run: _StudyRun) -> None:
    out = run.opts.out_root
    image_rel = stem + FORMATS[run.opts.fmt]
    sidecar_rel = stem + ".json"
    try:
        image_path = os.path.join(out, image_rel)
        if item.encode is not None:  # hashed from memory, never read back
            image_sha = atomic_write(image_path, item.encode(), run.folders)
        else:
            assert item.write is not None
            image_sha = atomic_write_with(image_path, item.write, run.folders)
        sidecar = _sidecar(item, run, os.path.basename(image_rel), image_sha)
        sidecar_sha = _write_json(Path(out) / sidecar_rel, sidecar, run.folders)
    except Exception as exc:
        for p in item.sources:
            run.outcomes[p].status, run.outcomes[p].reason = "failed", f"{_WRITE_FAILED} {image_rel}: {exc}"
        return
    run.written[image_rel] = image_sha
    run.written[sidecar_rel] = sidecar_sha
    for p in item.sources:
        o = run.outcomes[p]
        if o.status != "failed":
            o.status, o.reason = "converted", ""
            o.outputs.append(image_rel)


# ---------------------------------------------------------------------- the batch
def _batches(jobs: list[StudyJob], workers: int) -> list[list[StudyJob]]:
    """Consecutive groups of jobs, in order: each at most ``_MAX_BATCH`` studies and at most
    1/(``_TAIL`` x workers) of those still left (guided scheduling: large tasks first, then
    ever smaller ones, so the workers finish together)."""
    out, i = [], 0
    while i < len(jobs):
        size = max(1, min(_MAX_BATCH, (len(jobs) - i) // max(1, workers * _TAIL)))
        out.append(jobs[i:i + size])
        i += size
    return out


#: glibc malloc settings of worker processes: arrays of a few MB (decoded frames, volumes)
#: are reused from the heap instead of being mapped, zeroed and unmapped each time
#: (~100k page faults per 200 studies less). (mallopt parameter, value).
_MALLOC_OPTIONS = ((-3, 64 << 20), (-1, 128 << 20))  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD


def _tune_malloc() -> None:
    """Apply :data:`_MALLOC_OPTIONS` where the C library is glibc (only in worker processes)."""
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    for param, value in _MALLOC_OPTIONS:
        mallopt(ctypes.c_int(param), ctypes.c_int(value))


def _warm_worker(fmt: str, threads: int, worker: bool = True) -> None:
    """Pool initializer: import what every task needs once per worker process.

    Called in the main process before the workers fork (they inherit it all), and as the
    pool initializer (nothing left to import then, unless the pool had to spawn).
    """
    import datetime

    import mibgkit.convert.nifti
    import mibgkit.io.loader  # noqa: F401

    try:  # the RLE codec: its package reads its version from the installed metadata (~0.09 s)
        import rle.rle  # noqa: F401
    except ImportError:  # pragma: no cover - pylibjpeg-rle is a dependency
        pass
    datetime.datetime.strptime("20000101", "%Y%m%d")  # imports _strptime (dates in headers)

    if worker:
        _tune_malloc()

    if fmt != "nifti":
        import SimpleITK as sitk

        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(max(1, threads))


def _unbatch(batch: list[StudyJob], result: Any) -> Iterator[tuple[StudyJob, Any]]:
    if isinstance(result, BaseException):  # the whole task failed: every study of it
        for job in batch:
            yield job, result
    else:
        yield from zip(batch, result)


def _start_pool(opts: ConvertOptions, workers: int) -> Any:
    """A process pool whose workers are forked now (so they start while the tree is scanned).

    The modules every task needs are imported here first, so the forked workers inherit
    them; the collector is frozen while they fork (it leaves the inherited objects, and
    their pages, alone) until :func:`_stop_pool`.
    """
    import gc
    from concurrent.futures import ProcessPoolExecutor

    _warm_worker(opts.fmt, opts.threads, worker=False)
    gc.freeze()
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_warm_worker, initargs=(opts.fmt, opts.threads))
    pool.submit(int)  # the first task starts the workers (all of them, with the fork start method)
    return pool


def _stop_pool(pool: Any) -> None:
    import gc

    try:
        pool.shutdown(wait=True, cancel_futures=True)
    finally:
        gc.unfreeze()  # the caller's objects are collected as before


def _run_local(jobs: list[StudyJob], opts: ConvertOptions, workers: int,
               pool: Any = None) -> Iterator[tuple[StudyJob, Any]]:
    if workers <= 1:
        folders = FolderCache()
        for job in jobs:
            yield job, _call(job, opts, folders)
        return
    from concurrent.futures import as_completed

    own = pool is None
    if own:
        pool = _start_pool(opts, workers)
    try:
        futures = {pool.submit(convert_batch, batch, opts): batch for batch in _batches(jobs, workers)}
        for fut in as_completed(futures):
            yield from _unbatch(futures[fut], _result(fut))
    finally:
        if own:
            _stop_pool(pool)


def _run_dask(jobs: list[StudyJob], opts: ConvertOptions, scheduler: Any) -> Iterator[tuple[StudyJob, Any]]:
    from distributed import Client, as_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        futures = {
            client.submit(convert_batch, batch, opts, pure=False, key=f"convert-{batch[0].key}-{len(batch)}"): batch
            for batch in _batches(jobs, n_workers)
        }
        for fut in as_completed(futures):
            yield from _unbatch(futures[fut], _result(fut))
    finally:
        if client is not scheduler:
            client.close()


def _call(job: StudyJob, opts: ConvertOptions, folders: FolderCache) -> Any:
    try:
        return _convert_study(job, opts, folders)
    except Exception as exc:  # e.g. the output folder is not writable
        return exc


def _result(fut: Any) -> Any:
    try:
        return fut.result()
    except Exception as exc:  # a worker died or the task could not run
        return exc


def _failed(job: StudyJob, opts: ConvertOptions, exc: BaseException) -> list[FileOutcome]:
    reason = f"task failed: {type(exc).__name__}: {exc}"
    return [FileOutcome(_rel(f.path, opts.in_root), f.size, "failed", reason, job.key) for f in job.files]


def write_manifest(outcomes: list[FileOutcome], out_root: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``manifest.csv`` and ``manifest.json`` (one entry per input file), atomically."""
    import csv
    import io

    out = Path(out_root)
    rows = sorted(outcomes, key=lambda o: o.input)
    csv_path, json_path = out / "manifest.csv", out / "manifest.json"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(MANIFEST_COLUMNS)
    for o in rows:
        writer.writerow([o.input, o.size, o.status, o.reason, o.study_key, ";".join(o.outputs)])
    atomic_write(str(csv_path), buffer.getvalue().encode("utf-8"))
    counts: dict[str, int] = {}
    for o in rows:
        counts[o.status] = counts.get(o.status, 0) + 1
    _write_json(json_path, {"schema": "mibgkit.convert-manifest/1", "counts": counts,
                            "files": [asdict(o) for o in rows]}, rows=("files",))
    return csv_path, json_path


def _progress(total: int) -> Any:
    from tqdm import tqdm  # only when shown

    return tqdm(total=total, unit="study", desc="convert")


def _remove_leftovers(out_root: Path) -> None:
    """Delete temporaries a killed run left in the output folder (never final files)."""
    if not out_root.is_dir():
        return
    for tmp in out_root.rglob(f".*{TMP_SUFFIX}*"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)


def convert_tree(
    in_root: str | os.PathLike[str],
    out_root: str | os.PathLike[str],
    *,
    template: str = DEFAULT_TEMPLATE,
    fmt: str = "nifti",
    deidentify: bool = True,
    keep_dates: bool = False,
    assume_view: ViewName | None = None,
    workers: int = 1,
    scheduler: Any = None,
    progress: bool = False,
    key: bytes | None = None,
    fast_paths: bool = True,
) -> ConvertReport:
    """Convert every study under ``in_root`` into ``out_root``.

    Parameters
    ----------
    in_root : str or path-like
        Folder (any file names; DICOMDIR indexes are reported, their images converted
        from the tree) or a single file.
    out_root : str or path-like
        Output folder; may not be ``in_root`` itself. Inside it the outputs, the
        manifest (``manifest.csv``, ``manifest.json``) and the resume state
        (``.mibgkit/``).
    template : str
        Output name template (see :mod:`mibgkit.convert.naming`).
    fmt : {"nifti", "nrrd", "tiff"}
    deidentify : bool
        PS3.15 basic profile in sidecars and names (default); False keeps PHI.
    keep_dates : bool
        With de-identification, keep true dates instead of shifting them.
    assume_view : {"ANT", "POST"}, optional
    workers : int
        Local processes (1 = in this process).
    scheduler : str or distributed.Client, optional
        Dask scheduler address (``tcp://host:port``) or client; overrides ``workers``.
    progress : bool
        Show a tqdm progress bar (studies).
    key : bytes, optional
        HMAC key for patient keys, UIDs and date shifts; ``mibgkit.io.deid.load_key()``
        by default (the loader's).
    fast_paths : bool
        See :class:`ConvertOptions` (same outputs; False = pydicom for every header).

    Returns
    -------
    ConvertReport
    """
    from mibgkit.errors import MibgkitError
    from mibgkit.io.deid import load_key

    check_template(template)
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    src, dst = Path(in_root).resolve(), Path(out_root).resolve()
    if not src.exists():
        raise MibgkitError("input does not exist", in_root)
    if src == dst:
        raise MibgkitError("output folder must differ from the input folder", out_root)
    started = time.perf_counter()
    policy = DeidPolicy(enabled=deidentify, keep_dates=keep_dates, key=key if key is not None else load_key())
    parallel = scheduler is not None or workers > 1
    opts = ConvertOptions(str(src if src.is_dir() else src.parent), str(dst), template, fmt, policy,
                          assume_view, threads=1 if parallel else max(1, os.cpu_count() or 1),
                          fast_paths=fast_paths)
    _remove_leftovers(dst)
    # Local workers are forked before the scan: their start overlaps it.
    pool = _start_pool(opts, workers) if scheduler is None and workers > 1 else None
    try:
        found = scan_tree(src, template, policy, exclude=dst)
        outcomes = [
            FileOutcome(_rel(p, opts.in_root), os.stat(p).st_size, "skipped", reason)
            for p, reason in found.not_converted.items()
        ]
        runner = (_run_dask(found.jobs, opts, scheduler) if scheduler is not None
                  else _run_local(found.jobs, opts, workers, pool))
        bar = _progress(len(found.jobs)) if progress else None
        for job, result in runner:
            outcomes += _failed(job, opts, result) if isinstance(result, BaseException) else result
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
    finally:
        if pool is not None:
            _stop_pool(pool)
    csv_path, json_path = write_manifest(outcomes, dst)
    return ConvertReport(outcomes, len(found.jobs), time.perf_counter() - started, csv_path, json_path)

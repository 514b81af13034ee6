"""The normalized study model: what ``mibgkit.load`` returns.

Conventions (DESIGN.md): a planar image has rows head->feet and columns
patient-right->patient-left as seen from the front; a posterior view is mirrored into
that frame. Each image keeps how it maps back to what is stored (``StoredFrame``), so
every position can be reported in stored pixel coordinates. Arrays are float32 after
Rescale Slope/Intercept; spacing is in mm; dims are (rows, cols) or
(slices, rows, cols).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import SimpleITK as sitk

    from mibgkit.io.pair import GeometricMean

__all__ = [
    "ViewName",
    "I123_HALF_LIFE_H",
    "StoredFrame",
    "EnergyWindow",
    "StudyInfo",
    "PlanarView",
    "DynamicSeries",
    "Volume",
    "Projections",
    "Study",
    "SkippedFile",
    "StudyCollection",
    "require_study",
]

ViewName = Literal["ANT", "POST", "UNKNOWN"]
I123_HALF_LIFE_H = 13.22


@dataclass(frozen=True)
class StoredFrame:
    """How a normalized 2-D image maps back to one stored frame.

    The normalized image is the stored frame with rows flipped (``flipped_rows``),
    columns mirrored (``mirrored``), then cropped from ``(row_offset, col_offset)``.

    Parameters
    ----------
    path : str
        File the frame was read from.
    sop_instance_uid : str
        SOP Instance UID of that file.
    frame : int
        1-based frame number within the object.
    stored_shape : tuple of int
        (rows, cols) of the stored frame.
    mirrored : bool
        Columns were flipped left-right to reach the anterior display frame.
    flipped_rows : bool
        Rows were flipped to put the head at row 0.
    row_offset, col_offset : int
        Top-left corner of the crop, in flipped stored coordinates.
    """

    path: str
    sop_instance_uid: str
    frame: int
    stored_shape: tuple[int, int]
    mirrored: bool = False
    flipped_rows: bool = False
    row_offset: int = 0
    col_offset: int = 0

    def to_stored(self, row: float, col: float) -> tuple[float, float]:
        """Normalized (row, col) -> stored (row, col), 0-based, sub-pixel allowed."""
        r = row + self.row_offset
        c = col + self.col_offset
        if self.flipped_rows:
            r = self.stored_shape[0] - 1 - r
        if self.mirrored:
            c = self.stored_shape[1] - 1 - c
        return float(r), float(c)

    def from_stored(self, row: float, col: float) -> tuple[float, float]:
        """Stored (row, col) -> normalized (row, col); inverse of :meth:`to_stored`."""
        r, c = float(row), float(col)
        if self.flipped_rows:
            r = self.stored_shape[0] - 1 - r
        if self.mirrored:
            c = self.stored_shape[1] - 1 - c
        return r - self.row_offset, c - self.col_offset

    def to_stored_array(self, image: np.ndarray, fill: float = 0) -> np.ndarray:
        """Put a normalized-frame array (e.g. a label map) back on the stored grid.

        Parameters
        ----------
        image : ndarray of shape (rows, cols)
            Array in the normalized frame of this view.
        fill : float
            Value for stored pixels outside the crop.

        Returns
        -------
        ndarray of shape ``stored_shape``, same dtype as ``image``.
        """
        out = np.full(self.stored_shape, fill, dtype=image.dtype)
        r0, c0 = self.row_offset, self.col_offset
        out[r0 : r0 + image.shape[0], c0 : c0 + image.shape[1]] = image
        if self.mirrored:
            out = out[:, ::-1]
        if self.flipped_rows:
            out = out[::-1, :]
        return np.ascontiguousarray(out)


@dataclass(frozen=True)
class EnergyWindow:
    """One acquisition energy window (Energy Window Information Sequence)."""

    name: str
    lower_kev: float | None
    upper_kev: float | None


@dataclass
class StudyInfo:
    """Plain, typed metadata of one study.

    ``patient_key`` is a keyed hash of the patient ID (stable across runs); the raw
    identifiers live only in ``phi`` and are never written by default.
    """

    study_instance_uid: str
    patient_key: str = ""
    patient_age_years: float | None = None
    patient_sex: str | None = None
    patient_weight_kg: float | None = None
    patient_height_m: float | None = None
    study_datetime: _dt.datetime | None = None
    acquisition_datetime: _dt.datetime | None = None
    radiopharmaceutical: str | None = None
    injected_activity_mbq: float | None = None
    injection_datetime: _dt.datetime | None = None
    manufacturer: str | None = None
    model: str | None = None
    collimator: str | None = None
    energy_windows: list[EnergyWindow] = field(default_factory=list)
    image_type: tuple[str, ...] = ()
    study_description: str | None = None
    phi: dict[str, str] = field(default_factory=dict, repr=False)
    scan_velocity_mm_s: float | None = None
    frame_duration_s: float | None = None

    def decay_factor(self, at: _dt.datetime | None = None) -> float | None:
        """Fraction of injected 123I activity remaining at ``at`` (acquisition by default)."""
        at = at or self.acquisition_datetime
        if at is None or self.injection_datetime is None:
            return None
        hours = (at - self.injection_datetime).total_seconds() / 3600.0
        return math.exp(-math.log(2) * hours / I123_HALF_LIFE_H)


@dataclass
class PlanarView:
    """One planar image (whole-body pass or static/spot view) in the normalized frame.

    Parameters
    ----------
    image : ndarray of shape (rows, cols), float32
        Counts after rescale; rows head->feet, cols patient right->left (anterior display).
    view : {"ANT", "POST", "UNKNOWN"}
    view_source : str
        How the view was identified: ``"ViewCodeSequence"``,
        ``"DetectorInformationSequence"``, ``"text:<Keyword>"``, ``"assumed"`` or ``"none"``.
    kind : {"whole_body", "static"}
    pixel_spacing_mm : tuple of float
        (row spacing, col spacing).
    source : StoredFrame
        Mapping back to stored pixels.
    label : str
        Free text naming the frame in the header (a view code meaning such as
        ``"FONDO D1"``, or the Image ID that gave the view).
    orientation_source : str
        What decided the row flip / mirror: ``"PatientOrientation"``,
        ``"DetectorInformationSequence"``, ``"ImageOrientationPatient"`` or ``"assumed"``
        (head at row 0 as stored, posterior mirrored).
    scan_fov_mm : float or None
        Detector field of view along the scan direction (whole-body), from the
        Detector Information Sequence.
    """

    image: np.ndarray
    view: ViewName
    view_source: str
    kind: str
    pixel_spacing_mm: tuple[float, float]
    source: StoredFrame
    series_instance_uid: str = ""
    series_description: str = ""
    detector: int | None = None
    energy_window: int | None = None
    frame_duration_s: float | None = None
    scan_velocity_mm_s: float | None = None
    acquisition_datetime: _dt.datetime | None = None
    label: str = ""
    orientation_source: str = "assumed"
    scan_fov_mm: float | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the normalized image."""
        return (int(self.image.shape[0]), int(self.image.shape[1]))

    @property
    def acquisition_time_s(self) -> float | None:
        """Time each body point was seen: for a whole-body pass with a scan velocity, the
        time the detector takes to travel over its own field of view along the scan
        (``scan_fov_mm``, else the image width as an approximation); otherwise the frame
        duration."""
        if self.scan_velocity_mm_s and (self.kind == "whole_body" or not self.frame_duration_s):
            fov_mm = self.scan_fov_mm or self.image.shape[1] * self.pixel_spacing_mm[1]
            return fov_mm / self.scan_velocity_mm_s
        if self.frame_duration_s:
            return self.frame_duration_s
        return None


@dataclass
class DynamicSeries:
    """A dynamic (or gated) planar acquisition kept as a frame stack (frames, rows, cols).

    Frames are in the normalized planar frame, in time order (phase, then time slice;
    for ``kind="gated"``: R-R interval, then time slot); ``phase`` holds each frame's
    phase (or R-R interval) number.
    """

    frames: np.ndarray
    view: ViewName
    view_source: str
    pixel_spacing_mm: tuple[float, float]
    sources: list[StoredFrame]
    frame_durations_s: list[float | None]
    series_instance_uid: str = ""
    phase: list[int] = field(default_factory=list)
    kind: str = "dynamic"
    detector: int | None = None
    energy_window: int | None = None
    label: str = ""
    series_description: str = ""


@dataclass
class Volume:
    """A reconstructed SPECT volume (or a CT/PT-like volume) in patient LPS.

    Parameters
    ----------
    array : ndarray of shape (slices, rows, cols), float32
    spacing_mm : tuple of float
        (slice, row, col) spacing, always positive; order is carried by ``direction``.
    origin_lps : tuple of float
        Patient position of voxel [0, 0, 0] in mm.
    direction : ndarray of shape (3, 3)
        Columns are the unit vectors of the (col, row, slice) axes in LPS, i.e. exactly
        SimpleITK's direction matrix.
    geometry_source : str
        Where position and orientation came from: ``"ImagePositionPatient"``,
        ``"DetectorInformationSequence"`` or ``"assumed"`` (none in the header).
    """

    array: np.ndarray
    spacing_mm: tuple[float, float, float]
    origin_lps: tuple[float, float, float]
    direction: np.ndarray
    modality: str
    sources: list[StoredFrame]
    series_instance_uid: str = ""
    frame_of_reference_uid: str | None = None
    series_description: str = ""
    geometry_source: str = "ImagePositionPatient"

    def index_to_lps(self, index: tuple[float, float, float]) -> np.ndarray:
        """(slice, row, col) voxel index -> LPS position in mm."""
        s, r, c = index
        ijk = np.array([c, r, s], dtype=float) * np.array(self.spacing_mm[::-1])
        return np.asarray(self.origin_lps, dtype=float) + self.direction @ ijk

    def to_sitk(self) -> "sitk.Image":
        """The volume as a SimpleITK image with the same geometry."""
        import SimpleITK as sitk

        img = sitk.GetImageFromArray(self.array)
        img.SetSpacing(tuple(float(v) for v in self.spacing_mm[::-1]))
        img.SetOrigin(tuple(float(v) for v in self.origin_lps))
        img.SetDirection(tuple(float(v) for v in np.asarray(self.direction).ravel()))
        return img


@dataclass
class Projections:
    """Raw tomographic projections, loaded as they are (no reconstruction).

    ``index`` maps a DICOM vector keyword (``EnergyWindowVector``, ``DetectorVector``,
    ``RotationVector``, ``AngularViewVector``, ...) to its per-frame values;
    ``angles_deg`` is the gantry angle of each frame where it can be computed.
    """

    frames: np.ndarray
    pixel_spacing_mm: tuple[float, float]
    index: dict[str, np.ndarray]
    angles_deg: np.ndarray | None
    source_path: str
    sop_instance_uid: str
    series_instance_uid: str = ""


@dataclass
class Study:
    """Everything loaded for one Study Instance UID."""

    info: StudyInfo
    views: list[PlanarView] = field(default_factory=list)
    dynamics: list[DynamicSeries] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    projections: list[Projections] = field(default_factory=list)

    def find_views(self, view: ViewName, kind: str | None = None) -> list[PlanarView]:
        """All planar views with this view name (and kind, if given)."""
        return [v for v in self.views if v.view == view and (kind is None or v.kind == kind)]

    def view(self, view: ViewName) -> PlanarView:
        """The first planar view with this name; whole-body passes come first.

        Raises
        ------
        KeyError
            If the study has no such view.
        """
        found = sorted(self.find_views(view), key=lambda v: v.kind != "whole_body")
        if not found:
            have = ", ".join(sorted({v.view for v in self.views})) or "none"
            raise KeyError(f"study {self.info.study_instance_uid} has no {view} view (has: {have})")
        return found[0]

    def pair(self) -> tuple[PlanarView, PlanarView] | None:
        """The (ANT, POST) whole-body pair if the study has one, preferring whole-body."""
        ants, posts = self.find_views("ANT"), self.find_views("POST")
        if not ants or not posts:
            return None
        return self.view("ANT"), self.view("POST")

    def geometric_mean(self, upsample: int = 10) -> "GeometricMean":
        """Geometric mean of the (ANT, POST) pair, POST shifted by an estimated offset.

        See :func:`mibgkit.io.pair.geometric_mean`.

        Raises
        ------
        mibgkit.errors.GeometryError
            No ANT/POST pair, or the two views cannot be combined.
        """
        from mibgkit.errors import GeometryError
        from mibgkit.io.pair import geometric_mean

        pair = self.pair()
        if pair is None:
            have = ", ".join(sorted({v.view for v in self.views})) or "none"
            raise GeometryError(f"study {self.info.study_instance_uid} has no ANT/POST pair (has: {have})")
        return geometric_mean(*pair, upsample=upsample)

    def meta(self) -> dict[str, Any]:
        """A JSON-friendly summary without identifying fields."""
        i = self.info
        return {
            "study_instance_uid": i.study_instance_uid,
            "patient_key": i.patient_key,
            "age_years": i.patient_age_years,
            "sex": i.patient_sex,
            "n_views": len(self.views),
            "n_volumes": len(self.volumes),
        }


@dataclass(frozen=True)
class SkippedFile:
    """A file a folder walk did not load, and why."""

    path: str
    reason: str


class StudyCollection(list):  # list[Study]
    """The studies found by :func:`mibgkit.load`, plus every skipped file with its reason."""

    def __init__(self, studies: list[Study] | None = None, skipped: list[SkippedFile] | None = None):
        super().__init__(studies or [])
        self.skipped: list[SkippedFile] = list(skipped or [])


def require_study(obj: object, where: str) -> Study:
    """Return ``obj`` if it is one :class:`Study`, else raise a TypeError that says what to pass.

    Parameters
    ----------
    obj : object
        What the caller was given.
    where : str
        The function's name, for the message.

    Returns
    -------
    Study

    Raises
    ------
    TypeError
        ``obj`` is not a Study (a :class:`StudyCollection` from :func:`mibgkit.load` names
        how many studies it holds and how to pick one).
    """
    if isinstance(obj, Study):
        return obj
    if isinstance(obj, StudyCollection):
        raise TypeError(
            f"{where} takes one Study, got the StudyCollection of {len(obj)} "
            f"stud{'y' if len(obj) == 1 else 'ies'} that mibgkit.load returns: pass one of them, e.g. "
            "mibgkit.load(path)[0]"
        )
    raise TypeError(f"{where} takes one Study (from mibgkit.load), got {type(obj).__name__}")

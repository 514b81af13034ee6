"""Where the head and the patient's left are in a stored planar frame.

Evidence, in order: Patient Orientation (0020,0020) (e.g. ``['L', 'F']``: along a row
toward the patient's left, down a column toward the feet), then Image Orientation
(Patient) of the detector (Detector Information Sequence) or of the image. Without
either, a planar NM frame is taken as stored with the head at the top (what whole-body
cameras write) and the columns as the detector saw them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from mibgkit.io._values import floats

__all__ = ["FrameOrientation", "frame_orientation", "needs_mirror"]


@dataclass(frozen=True)
class FrameOrientation:
    """What the header says about a stored planar frame.

    Parameters
    ----------
    head_at_bottom : bool or None
        Rows run feet->head (flip needed); None when the header does not say.
    rows_toward_left : bool or None
        Along a row, columns run toward the patient's left (anterior display); False:
        toward the right (posterior display); None when unknown or not lateral.
    source : str
        ``"PatientOrientation"``, ``"DetectorInformationSequence"``,
        ``"ImageOrientationPatient"`` or ``"assumed"``.
    evidence : tuple
        The header values used (lets callers spot one value copied to several heads).
    """

    head_at_bottom: bool | None
    rows_toward_left: bool | None
    source: str
    evidence: tuple[str, ...] = ()


_UNKNOWN = FrameOrientation(None, None, "assumed")


def _from_patient_orientation(value: object) -> FrameOrientation | None:
    try:
        row_dir, col_dir = (str(v).strip().upper() for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    if not row_dir or not col_dir:
        return None
    head = {"H": True, "F": False}.get(col_dir[0])
    left = {"L": True, "R": False}.get(row_dir[0])
    if head is None and left is None:
        return None
    return FrameOrientation(head, left, "PatientOrientation", ("PatientOrientation", row_dir, col_dir))


def _from_iop(value: object, source: str) -> FrameOrientation | None:
    v = floats(value, 6)
    if v is None:
        return None
    row, col = v[:3], v[3:]
    head = None
    if abs(col[2]) >= 0.7:  # column direction mostly along the body axis (+z = head)
        head = bool(col[2] > 0)
    left = None
    if abs(row[0]) >= 0.7:  # row direction mostly lateral (+x = patient left)
        left = bool(row[0] > 0)
    if head is None and left is None:
        return None
    return FrameOrientation(head, left, source, (source, *(f"{x:.6g}" for x in v)))


def frame_orientation(ds: Dataset, detector: Dataset | None) -> FrameOrientation:
    """Orientation of the frames of one detector.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The object's header.
    detector : pydicom.dataset.Dataset or None
        That detector's Detector Information Sequence item.

    Returns
    -------
    FrameOrientation
    """
    found = _from_patient_orientation(ds.get("PatientOrientation"))
    if found is not None:
        return found
    if detector is not None and detector.get("ImageOrientationPatient"):
        found = _from_iop(detector.get("ImageOrientationPatient"), "DetectorInformationSequence")
        if found is not None:
            return found
    if ds.get("ImageOrientationPatient"):
        found = _from_iop(ds.get("ImageOrientationPatient"), "ImageOrientationPatient")
        if found is not None:
            return found
    return _UNKNOWN


def needs_mirror(view: str, orientation: FrameOrientation, trust_lateral: bool = True) -> bool:
    """Whether columns must be mirrored to reach the anterior display.

    The header's lateral direction decides when known and trusted; otherwise a
    posterior view is mirrored and anything else is not.
    """
    if view in ("ANT", "POST") and trust_lateral and orientation.rows_toward_left is not None:
        return not orientation.rows_toward_left
    return view == "POST"

"""Where the head and the patient's left are in a stored planar frame.

Evidence, in order: Patient Orientation (0020,0020) (e.g. ``['L', 'F']``: along a row
toward the patient's left, down a column toward the feet), then Image Orientation
(Patient) of the detector (Detector Information Sequence) or of the image. Without
either, a planar NM frame is taken as stored with the head at the top (what whole-body
cameras write) and the columns as the detector saw them -- unless a whole-body pass was
made feet first (Patient Gantry Relationship Code Sequence, else Patient Position
``FF*``): then the camera saw the patient turned by 180 degrees in the image plane, feet
at the top and left/right swapped, and the frame is rotated back (rows flipped and
columns mirrored relative to the head-first case). Head-first changes nothing; if the two
attributes disagree, neither is used. Only whole-body passes: gamma-camera QC frames
(floods, bar phantoms, count-rate tests) carry a feet-first code with no patient on the
table, so for static and dynamic frames the code says nothing reliable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mibgkit.io._values import HeaderValues, as_values, floats

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

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
        ``"ImageOrientationPatient"``, ``"PatientGantryRelationshipCodeSequence"``,
        ``"PatientPosition"`` or ``"assumed"``.
    evidence : tuple
        The header values used (lets callers spot one value copied to several heads).
    feet_first : bool
        Only the patient's position is known, and it is feet first: the frame is the
        head-first frame turned by 180 degrees (rows and columns both reversed).
    """

    head_at_bottom: bool | None
    rows_toward_left: bool | None
    source: str
    evidence: tuple[str, ...] = ()
    feet_first: bool = False


_UNKNOWN = FrameOrientation(None, None, "assumed")
#: SNOMED CT values of pydicom's ``codes.SCT.FeetFirst`` / ``codes.SCT.Headfirst`` (a local table:
#: importing the code dictionary costs ~0.2 s per process; tests check equality).
SCT_POSITION_CODES = {"FeetFirst": "102541007", "Headfirst": "102540008"}
_FEET_FIRST_CODES = {SCT_POSITION_CODES["FeetFirst"], "F-10480"}  # SNOMED CT, SNOMED-RT
_HEAD_FIRST_CODES = {SCT_POSITION_CODES["Headfirst"], "F-10470"}


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


def frame_orientation(
    ds: Dataset | HeaderValues,
    detector: Dataset | HeaderValues | None,
    *,
    use_patient_position: bool = False,
) -> FrameOrientation:
    """Orientation of the frames of one detector.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset or HeaderValues
        The object's header.
    detector : pydicom.dataset.Dataset or HeaderValues or None
        That detector's Detector Information Sequence item.
    use_patient_position : bool
        When nothing else says, let a feet-first patient position turn the frame
        (whole-body passes; see the module notes).

    Returns
    -------
    FrameOrientation
    """
    v = as_values(ds)
    found = _from_patient_orientation(v.get("PatientOrientation"))
    if found is not None:
        return found
    det = as_values(detector) if detector is not None else None
    if det is not None and det.get("ImageOrientationPatient"):
        found = _from_iop(det.get("ImageOrientationPatient"), "DetectorInformationSequence")
        if found is not None:
            return found
    if v.get("ImageOrientationPatient"):
        found = _from_iop(v.get("ImageOrientationPatient"), "ImageOrientationPatient")
        if found is not None:
            return found
    if use_patient_position:
        found = _from_patient_position(v)
        if found is not None:
            return found
    return _UNKNOWN


def _from_patient_position(v: HeaderValues) -> FrameOrientation | None:
    """Feet-first from Patient Gantry Relationship Code Sequence / Patient Position, else None."""
    said: list[tuple[str, bool, str]] = []  # (attribute, feet first?, value)
    items = v.items("PatientGantryRelationshipCodeSequence")
    if items:
        code = str(items[0].get("CodeValue", "") or "").strip()
        if code in _FEET_FIRST_CODES or code in _HEAD_FIRST_CODES:
            said.append(("PatientGantryRelationshipCodeSequence", code in _FEET_FIRST_CODES, code))
    position = str(v.get("PatientPosition", "") or "").strip().upper()
    if position[:2] in ("FF", "HF"):
        said.append(("PatientPosition", position.startswith("FF"), position))
    if not said or len({feet for _, feet, _ in said}) > 1 or not said[0][1]:
        return None  # silent, contradictory, or head first (the assumption anyway)
    attribute, _, value = said[0]
    return FrameOrientation(True, None, attribute, (attribute, value), feet_first=True)


def needs_mirror(view: str, orientation: FrameOrientation, trust_lateral: bool = True) -> bool:
    """Whether columns must be mirrored to reach the anterior display.

    The header's lateral direction decides when known and trusted; otherwise a
    posterior view is mirrored and anything else is not -- the other way round when the
    patient lay feet first (the frame is turned by 180 degrees).
    """
    if view in ("ANT", "POST") and trust_lateral and orientation.rows_toward_left is not None:
        return not orientation.rows_toward_left
    return (view == "POST") != orientation.feet_first

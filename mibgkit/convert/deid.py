"""De-identification of conversion outputs, with DICOM PS3.15 Annex E semantics.

What a sidecar may carry is a fixed list of keywords (:data:`SIDECAR_KEYWORDS`). With
de-identification on (the default) each is treated per the **Basic Application
Level Confidentiality Profile** (PS3.15 Table E.1-1) with two options, recorded in the
sidecar as their PS3.16 CID 7050 codes:

- *Retain Longitudinal Temporal Information with Modified Dates* (113107): dates are
  shifted back by a per-patient number of days from a keyed hash, so intervals within
  a patient (time points, uptake time) survive and the true dates do not;
- *Retain Patient Characteristics* (113108): age, sex, size and weight are kept
  (SIOPEN reading and dosimetry need them).

UIDs are replaced by ``2.25.<keyed hash>`` (consistent across runs with the same key),
identifying attributes and every private attribute are removed, and the sidecar lists
which source attributes were removed or replaced and how. ``--keep-phi`` turns all of
this off (the sidecar then says ``"deidentified": false``). The key is
:func:`mibgkit.io.deid.load_key`, the one that makes the loader's patient keys.

Scope: the sidecar and the output names. Pixel data are converted as they are; burned-in
annotations (rare in NM) are not detected.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from mibgkit.io._dicomdict import keyword_for_tag, tag_for_keyword
from mibgkit.io._values import HeaderValues, as_values

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

__all__ = [
    "BASIC_PROFILE",
    "SIDECAR_KEYWORDS",
    "OPTIONS",
    "DeidPolicy",
]

# PS3.15 Table E.1-1 Basic Profile actions for the attributes NM objects carry
# (X remove, Z empty, D dummy, U new UID; X/Z/D etc. simplified to the strongest).
BASIC_PROFILE: dict[str, str] = {
    "AccessionNumber": "Z", "AcquisitionComments": "X", "AcquisitionDate": "D", "AcquisitionDateTime": "D",
    "AcquisitionTime": "D", "AdditionalPatientHistory": "X", "AdmissionID": "X",
    "AdmittingDiagnosesDescription": "X", "Allergies": "X", "BranchOfService": "X", "ContentDate": "D",
    "ContentTime": "D", "CountryOfResidence": "X", "CurrentPatientLocation": "X", "DerivationDescription": "X",
    "DetectorID": "D", "DeviceSerialNumber": "D", "DeviceUID": "U", "EthnicGroup": "X",
    "FrameOfReferenceUID": "U", "GantryID": "X", "ImageComments": "X", "InstanceCreationDate": "D",
    "InstanceCreationTime": "D", "InstanceCreatorUID": "U", "InstitutionAddress": "X", "InstitutionName": "D",
    "InstitutionalDepartmentName": "X", "IssuerOfPatientID": "X", "MedicalAlerts": "X",
    "MedicalRecordLocator": "X", "MilitaryRank": "X", "NameOfPhysiciansReadingStudy": "X", "Occupation": "X",
    "OperatorsName": "D", "OtherPatientIDs": "X", "OtherPatientIDsSequence": "X", "OtherPatientNames": "X",
    "PatientAddress": "X", "PatientAge": "X", "PatientBirthDate": "Z", "PatientBirthName": "X",
    "PatientBirthTime": "X", "PatientComments": "X", "PatientID": "Z", "PatientInsurancePlanCodeSequence": "X",
    "PatientMotherBirthName": "X", "PatientName": "Z", "PatientReligiousPreference": "X", "PatientSex": "Z",
    "PatientSize": "X", "PatientState": "X", "PatientTelephoneNumbers": "X", "PatientWeight": "X",
    "PerformedProcedureStepDescription": "X", "PerformedProcedureStepID": "X",
    "PerformedProcedureStepStartDate": "X", "PerformedProcedureStepStartTime": "X",
    "PerformingPhysicianName": "X", "PhysiciansOfRecord": "X", "PregnancyStatus": "X", "ProtocolName": "D",
    "ReasonForStudy": "X", "ReferencedPatientSequence": "X", "ReferencedStudySequence": "X",
    "ReferringPhysicianName": "Z", "RegionOfResidence": "X", "RequestAttributesSequence": "X",
    "RequestedProcedureDescription": "X", "RequestingPhysician": "X", "ResponsibleOrganization": "X",
    "ResponsiblePerson": "X", "SOPInstanceUID": "U", "SeriesDate": "D", "SeriesDescription": "X",
    "SeriesInstanceUID": "U", "SeriesTime": "D", "SmokingStatus": "X", "SourceImageSequence": "X",
    "StationName": "D", "StudyDate": "Z", "StudyDescription": "X", "StudyID": "Z",
    "StudyInstanceUID": "U", "StudyTime": "Z", "TimezoneOffsetFromUTC": "X",
    "RadiopharmaceuticalStartDateTime": "D", "RadiopharmaceuticalStartTime": "D",
}
# Kept by "Retain Patient Characteristics" (113108).
_CHARACTERISTICS = frozenset({"PatientAge", "PatientSex", "PatientSize", "PatientWeight"})
_DATES = frozenset({"StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate", "InstanceCreationDate"})
_DATETIMES = frozenset({"AcquisitionDateTime", "RadiopharmaceuticalStartDateTime"})
_TIMES = frozenset({
    "StudyTime", "SeriesTime", "AcquisitionTime", "ContentTime", "InstanceCreationTime", "RadiopharmaceuticalStartTime",
})
_UIDS = frozenset({"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"})
_DATE_KEYWORDS = _DATES | _DATETIMES | _TIMES

#: What a sidecar may carry from a source header (top level only).
SIDECAR_KEYWORDS: tuple[str, ...] = (
    "PatientID", "PatientName", "PatientBirthDate", "AccessionNumber", "StudyID", "Modality", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
    "FrameOfReferenceUID", "StudyDate", "StudyTime", "SeriesDate", "SeriesTime", "AcquisitionDate",
    "AcquisitionTime", "SeriesNumber", "InstanceNumber", "SeriesDescription", "StudyDescription",
    "PatientAge", "PatientSex", "PatientSize", "PatientWeight", "Manufacturer", "ManufacturerModelName",
    "SoftwareVersions", "InstitutionName", "StationName", "DeviceSerialNumber", "ImageType", "Rows",
    "Columns", "NumberOfFrames", "PixelSpacing", "SliceThickness", "SpacingBetweenSlices", "BitsStored",
    "PixelRepresentation", "RescaleSlope", "RescaleIntercept", "Units", "CountsSource", "DecayCorrection",
    "CorrectedImage", "ActualFrameDuration", "ScanVelocity", "ScanLength", "WholeBodyTechnique",
    "NumberOfDetectors", "NumberOfEnergyWindows", "NumberOfSlices", "PatientPosition", "PatientOrientation",
    "ImageOrientationPatient", "ImagePositionPatient", "FrameIncrementPointer",
)

OPTIONS: dict[str, dict[str, str]] = {
    "basic": {"code": "113100", "meaning": "Basic Application Confidentiality Profile"},
    "modified_dates": {"code": "113107", "meaning": "Retain Longitudinal Temporal Information Modified Dates Option"},
    "full_dates": {"code": "113106", "meaning": "Retain Longitudinal Temporal Information Full Dates Option"},
    "characteristics": {"code": "113108", "meaning": "Retain Patient Characteristics Option"},
}
_MAX_SHIFT_DAYS = 3650
# Sidecar keywords as plain int tags (a lookup by keyword or BaseTag costs a Python-level
# Tag() and __eq__ per element; ~1 ms per header at 60 keywords).
_SIDECAR_TAGS: tuple[tuple[str, int], ...] = tuple((kw, int(tag_for_keyword(kw) or 0)) for kw in SIDECAR_KEYWORDS)
_KEYWORDS: dict[int, str] = {}  # tag -> keyword, filled on first sight


def _keyword(tag: int) -> str:
    kw = _KEYWORDS.get(tag)
    if kw is None:
        kw = _KEYWORDS[tag] = keyword_for_tag(tag)
    return kw
@lru_cache(maxsize=256)
def _plan(present: tuple[int, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """What :meth:`DeidPolicy.header_fields` does for a header with these tags (in file
    order), worked out once per tag layout (files of one series share it).

    Returns
    -------
    keywords : tuple of str
        :data:`SIDECAR_KEYWORDS` present, in that order.
    private : tuple of (str, str)
        ``("(gggg,eeee)", "removed (private)")`` per private tag, in file order.
    actions : tuple of (str, str)
        Per Basic Profile keyword present (file order, patient characteristics left out):
        ``"uid"``, ``"date"`` or the text recorded for it (``removed``, ``emptied``, ``replaced``).
    """
    have = set(present)
    keywords = tuple(kw for kw, tag in _SIDECAR_TAGS if tag in have)
    private = []
    actions = []
    for tag in present:  # tags only: converting every raw value would be slow
        if tag >> 16 & 1:  # odd group: private
            private.append((f"({tag >> 16:04X},{tag & 0xFFFF:04X})", "removed (private)"))
            continue
        kw = _keyword(tag)
        action = BASIC_PROFILE.get(kw)
        if action is None or (kw in _CHARACTERISTICS):
            continue
        if kw in _UIDS or action == "U":
            actions.append((kw, "uid"))
        elif kw in _DATE_KEYWORDS:
            actions.append((kw, "date"))
        else:
            actions.append((kw, {"X": "removed", "Z": "emptied", "D": "replaced"}.get(action, "removed")))
    return keywords, tuple(private), tuple(actions)


_D = TypeVar("_D", bound=_dt.date)  # a date or a datetime


@lru_cache(maxsize=4096)
def _hmac_sha256(key: bytes, text: str) -> bytes:
    """HMAC-SHA256 of ``text``; cached: a SPECT volume names one SOP Instance UID per frame."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str) or value is None:
        return value if not isinstance(value, str) else str(value)
    if isinstance(value, bytes):
        return value.hex()
    try:
        return float(value) if "." in str(value) or "e" in str(value).lower() else int(value)
    except (TypeError, ValueError):
        return str(value)


@dataclass(frozen=True)
class DeidPolicy:
    """How identifying values are treated in sidecars and names.

    Parameters
    ----------
    enabled : bool
        De-identify (default). False = ``--keep-phi``: everything kept as is.
    keep_dates : bool
        Keep true dates (option 113106) instead of shifting them (113107).
    key : bytes
        HMAC key for date shifts and replacement UIDs.
    """

    enabled: bool = True
    keep_dates: bool = False
    key: bytes = field(default=b"", repr=False)

    @property
    def options(self) -> list[dict[str, str]]:
        """The PS3.16 CID 7050 codes of the profile and options applied."""
        if not self.enabled:
            return []
        dates = "full_dates" if self.keep_dates else "modified_dates"
        return [OPTIONS["basic"], OPTIONS[dates], OPTIONS["characteristics"]]

    def _digest(self, text: str) -> bytes:
        return _hmac_sha256(self.key, text)

    def shift_days(self, patient_id: str) -> int:
        """Days every date of this patient moves back (0 when dates are kept)."""
        if not self.enabled or self.keep_dates:
            return 0
        return 1 + int.from_bytes(self._digest(f"date-shift|{patient_id}")[:8], "big") % _MAX_SHIFT_DAYS

    def uid(self, uid: str) -> str:
        """Replacement UID (``2.25.`` + keyed hash), or the UID itself when not de-identifying."""
        if not self.enabled or not uid:
            return uid
        return "2.25." + str(int.from_bytes(self._digest(f"uid|{uid}")[:16], "big"))

    def study_key(self, study_uid: str) -> str:
        """``S-`` + 10 hex digits of a keyed hash of the Study Instance UID."""
        return "S-" + hmac.new(self.key, f"study|{study_uid}".encode(), hashlib.sha256).hexdigest()[:10]

    def date(self, value: _D | None, patient_id: str) -> _D | None:
        """A date (or datetime) shifted for this patient; None if it cannot be shifted."""
        if value is None:
            return None
        try:
            return value - _dt.timedelta(days=self.shift_days(patient_id))
        except OverflowError:  # a placeholder date such as 00010101
            return None

    def header_fields(self, ds: Dataset | HeaderValues, patient_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The sidecar's DICOM keyword values and the removed/replaced source attributes.

        Parameters
        ----------
        ds : pydicom.Dataset or HeaderValues
            Source header; values are read through :class:`~mibgkit.io._values.HeaderValues`
            (the loader's cache when given one), i.e. as pydicom decodes them.
        patient_id : str
            Raw Patient ID (for the date shift only; never written).

        Returns
        -------
        fields : dict
            Keyword -> JSON value, for :data:`SIDECAR_KEYWORDS` present in ``ds``.
        removed : dict
            Keyword (or private tag) -> what was done: ``removed``, ``emptied``,
            ``replaced``, ``uid replaced``, ``date shifted``. Empty when not de-identifying.
        """
        values = as_values(ds)
        keywords, private, actions = _plan(tuple(values.tags()))
        fields: dict[str, Any] = {}
        for kw in keywords:
            value = values.get(kw)
            if value not in (None, ""):
                fields[kw] = _jsonable(value)
        if not self.enabled:
            return fields, {}
        removed = dict(private)
        for kw, action in actions:
            if action == "uid":
                removed[kw] = "uid replaced"
                if kw in fields:
                    fields[kw] = self.uid(str(fields[kw]))
            elif action == "date":
                self._date_field(kw, fields, removed, patient_id)
            else:
                removed[kw] = action
                fields.pop(kw, None)
        return fields, removed

    def _date_field(self, kw: str, fields: dict[str, Any], removed: dict[str, str], patient_id: str) -> None:
        if self.keep_dates or kw in _TIMES:
            return  # times of day are kept with shifted dates (only intervals matter)
        removed[kw] = "date shifted"
        value = fields.get(kw)
        if not value:
            return
        text = str(value)
        try:
            day = _dt.datetime.strptime(text[:8], "%Y%m%d").date()
        except ValueError:
            fields.pop(kw)
            removed[kw] = "removed (unreadable date)"
            return
        shifted = self.date(day, patient_id)
        if shifted is None:
            fields.pop(kw)
            removed[kw] = "removed (date out of range)"
            return
        fields[kw] = shifted.strftime("%Y%m%d") + text[8:]

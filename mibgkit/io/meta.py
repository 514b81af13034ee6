"""Header metadata -> typed :class:`StudyInfo` (identifiers only in ``phi``)."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mibgkit.io._values import HeaderValues, as_values, strings
from mibgkit.io.deid import patient_key
from mibgkit.io.model import EnergyWindow, StudyInfo

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

__all__ = [
    "PHI_KEYWORDS",
    "parse_age",
    "dicom_datetime",
    "acquisition_datetime",
    "study_info",
    "merge_info",
]

#: Identifying attributes copied to ``StudyInfo.phi`` (and nowhere else).
PHI_KEYWORDS = (
    "PatientID",
    "PatientName",
    "PatientBirthDate",
    "OtherPatientIDs",
    "AccessionNumber",
    "StudyID",
    "InstitutionName",
    "ReferringPhysicianName",
)
_AGE_RE = re.compile(r"^\s*(\d{1,3})\s*([DWMY])\s*$")
_AGE_UNIT_YEARS = {"D": 1 / 365.25, "W": 7 / 365.25, "M": 1 / 12, "Y": 1.0}
_MIN_YEAR = 1900  # '00010101' and similar placeholders are not dates


def parse_age(value: object) -> float | None:
    """Patient Age (AS, e.g. ``'005Y'``, ``'018M'``, ``'010W'``, ``'003D'``) in years."""
    m = _AGE_RE.match(str(value or ""))
    if not m:
        return None
    return int(m.group(1)) * _AGE_UNIT_YEARS[m.group(2)]


def _date(value: object) -> _dt.date | None:
    text = str(value or "").strip()
    if len(text) < 8 or not text[:8].isdigit():
        return None
    try:
        d = _dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
    return d if d.year >= _MIN_YEAR else None


def _time(value: object) -> _dt.time:
    text = str(value or "").strip().replace(":", "")
    digits, _, frac = text.partition(".")
    try:
        hh = int(digits[0:2] or 0)
        mm = int(digits[2:4] or 0)
        ss = min(int(digits[4:6] or 0), 59)
        us = int((frac + "000000")[:6]) if frac.isdigit() else 0
        return _dt.time(hh, mm, ss, us)
    except ValueError:
        return _dt.time(0, 0)


def dicom_datetime(date: object, time: object = None) -> _dt.datetime | None:
    """A naive datetime from DA (+ TM), or from a DT string; None when not a real date."""
    text = str(date or "").strip()
    if len(text) > 8 and time is None:  # DT: YYYYMMDDhhmmss.ffffff&ZZXX
        d = _date(text[:8])
        if d is None:
            return None
        return _dt.datetime.combine(d, _time(re.split(r"[+-]", text[8:])[0]))
    d = _date(text)
    if d is None:
        return None
    return _dt.datetime.combine(d, _time(time))


def acquisition_datetime(ds: Dataset | HeaderValues) -> _dt.datetime | None:
    """Acquisition DateTime, else Acquisition Date + Time, else Content, Series, Study."""
    ds = as_values(ds)
    found = dicom_datetime(ds.get("AcquisitionDateTime"))
    if found is not None:
        return found
    for prefix in ("Acquisition", "Content", "Series", "Study"):
        found = dicom_datetime(ds.get(f"{prefix}Date"), ds.get(f"{prefix}Time"))
        if found is not None:
            return found
    return None


def _positive(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if f > 0 else None


def _text(value: object) -> str | None:
    text = str(value or "").strip()
    return text or None


def _radiopharmaceutical(item: HeaderValues) -> str | None:
    for seq_kw in ("RadiopharmaceuticalCodeSequence", "RadionuclideCodeSequence"):
        seq = item.items(seq_kw)
        if seq:
            text = _text(seq[0].get("CodeMeaning"))
            if text:
                return text
    return _text(item.get("Radiopharmaceutical"))


def _injection(ds: HeaderValues, item: HeaderValues, acquired: _dt.datetime | None) -> _dt.datetime | None:
    found = dicom_datetime(item.get("RadiopharmaceuticalStartDateTime"))
    if found is not None:
        return found
    if not item.get("RadiopharmaceuticalStartTime") or acquired is None:
        return None
    # A start time without date: the latest such time not after the acquisition
    # (mIBG is injected the day before imaging).
    t = _time(item.get("RadiopharmaceuticalStartTime"))
    candidate = _dt.datetime.combine(acquired.date(), t)
    if candidate > acquired:
        candidate -= _dt.timedelta(days=1)
    return candidate


def _activity_mbq(ds: HeaderValues, item: HeaderValues) -> float | None:
    dose = _positive(item.get("RadionuclideTotalDose"))
    if dose is None:
        return None
    # NM IOD: MBq; PET IOD: Bq.
    return dose / 1e6 if str(ds.get("Modality", "")).upper() == "PT" else dose


def _energy_windows(ds: HeaderValues) -> list[EnergyWindow]:
    out = []
    for i, item in enumerate(ds.items("EnergyWindowInformationSequence"), start=1):
        ranges = item.items("EnergyWindowRangeSequence")
        lower = _positive(ranges[0].get("EnergyWindowLowerLimit")) if ranges else None
        upper = _positive(ranges[0].get("EnergyWindowUpperLimit")) if ranges else None
        name = _text(item.get("EnergyWindowName")) or f"window {i}"
        out.append(EnergyWindow(name, lower, upper))
    return out


def _collimator(ds: HeaderValues) -> str | None:
    for item in ds.items("DetectorInformationSequence"):
        name = _text(item.get("CollimatorGridName")) or _text(item.get("CollimatorType"))
        if name:
            return name
    return None


def _age_years(ds: HeaderValues, study: _dt.datetime | None, acquired: _dt.datetime | None) -> float | None:
    """Birth date to study date when both are real dates (finer than '001Y'), else Patient Age."""
    age = parse_age(ds.get("PatientAge"))
    born = _date(ds.get("PatientBirthDate"))
    when = study or acquired
    if born is None or when is None or when.date() < born:
        return age
    return (when.date() - born).days / 365.25


def study_info(ds: Dataset | HeaderValues) -> StudyInfo:
    """Typed study metadata from one object's header.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset or HeaderValues

    Returns
    -------
    StudyInfo
        ``patient_key`` is the keyed hash of Patient ID (:mod:`mibgkit.io.deid`); raw
        identifiers are only in ``phi``.
    """
    ds = as_values(ds)
    study_dt = dicom_datetime(ds.get("StudyDate"), ds.get("StudyTime"))
    acquired = acquisition_datetime(ds)
    rp_items = ds.items("RadiopharmaceuticalInformationSequence")
    rp = rp_items[0] if rp_items else None
    sex = _text(ds.get("PatientSex"))
    info = StudyInfo(
        study_instance_uid=str(ds.get("StudyInstanceUID", "") or ""),
        patient_key=patient_key(str(ds.get("PatientID", "") or "")),
        patient_age_years=_age_years(ds, study_dt, acquired),
        patient_sex=sex.upper() if sex else None,
        patient_weight_kg=_positive(ds.get("PatientWeight")),
        patient_height_m=_positive(ds.get("PatientSize")),
        study_datetime=study_dt,
        acquisition_datetime=acquired,
        radiopharmaceutical=_radiopharmaceutical(rp) if rp is not None else None,
        injected_activity_mbq=_activity_mbq(ds, rp) if rp is not None else None,
        injection_datetime=_injection(ds, rp, acquired) if rp is not None else None,
        manufacturer=_text(ds.get("Manufacturer")),
        model=_text(ds.get("ManufacturerModelName")),
        collimator=_collimator(ds),
        energy_windows=_energy_windows(ds),
        image_type=tuple(strings(ds.get("ImageType"))),
        study_description=_text(ds.get("StudyDescription")),
        phi=_phi(ds),
    )
    info.scan_velocity_mm_s = _positive(ds.get("ScanVelocity"))
    duration_ms = _positive(ds.get("ActualFrameDuration"))
    info.frame_duration_s = duration_ms / 1000.0 if duration_ms is not None else None
    return info


def _phi(ds: HeaderValues) -> dict[str, str]:
    """Identifying values as pydicom prints them (person names decoded with the character set)."""
    found = {}
    for kw in PHI_KEYWORDS:
        if kw in ds:
            value = ds.get(kw)
            if value not in (None, ""):
                found[kw] = str(value)
    return found


def merge_info(infos: Iterable[StudyInfo]) -> StudyInfo:
    """One StudyInfo from several objects of the same study: the first, gaps filled from the others."""
    items = list(infos)
    base = items[0]
    for other in items[1:]:
        for name, value in vars(other).items():
            current = getattr(base, name)
            if current in (None, "", (), []) and value not in (None, "", (), []):
                setattr(base, name, value)
        for k, v in other.phi.items():
            base.phi.setdefault(k, v)
    return base

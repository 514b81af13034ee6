"""Coded concepts used in mibgkit's DICOM exports.

Standard concepts come from ``pydicom.sr.codedict.codes``. SIOPEN and Curie scores
have no code in DCM, SCT or LOINC, so they use mibgkit's private coding scheme
``99MIBGKIT`` (a "99" prefix marks a private scheme in DICOM PS3.16 8.2); the
scheme is declared in the Coding Scheme Identification Sequence of every SR written.
"""

from __future__ import annotations

from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

__all__ = [
    "SCHEME",
    "SIOPEN_SEGMENT_SCORE",
    "SIOPEN_TOTAL_SCORE",
    "CURIE_SEGMENT_SCORE",
    "CURIE_TOTAL_SCORE",
    "FINDING_STATUS",
    "STATUS_CODES",
    "FINDING_CATEGORY",
    "DETECTION_CONFIDENCE",
    "PEAK_RATIO",
    "UNIT_SCORE",
    "UNIT_ONE",
    "PROCEDURE",
    "PATTERN_CODES",
    "SEGMENT_SITES",
    "category_code",
]

SCHEME = "99MIBGKIT"


def _private(value: str, meaning: str) -> Code:
    return Code(value, SCHEME, meaning)


SIOPEN_SEGMENT_SCORE = _private("siopen-segment", "SIOPEN segment score")
SIOPEN_TOTAL_SCORE = _private("siopen-total", "SIOPEN skeletal score")
CURIE_SEGMENT_SCORE = _private("curie-segment", "Curie segment score")
CURIE_TOTAL_SCORE = _private("curie-total", "Curie score")
FINDING_STATUS = _private("finding-status", "Finding review status")
STATUS_CODES: dict[str, Code] = {
    "proposed": _private("proposed", "Proposed, not reviewed"),
    "confirmed": _private("confirmed", "Confirmed by reader"),
}
FINDING_CATEGORY = _private("category", "Finding category")
DETECTION_CONFIDENCE = _private("confidence", "Detection confidence")
PEAK_RATIO = _private("peak-ratio", "Peak to background ratio")

UNIT_SCORE = Code("{score}", "UCUM", "score")
UNIT_ONE = Code("1", "UCUM", "no units")

# 123I-mIBG scintigraphy localizes neuroblastoma: "Radionuclide localization of tumor".
PROCEDURE = codes.SCT.RadionuclideLocalizationOfTumor

PATTERN_CODES: dict[str, Code] = {"focal": codes.SCT.Focal, "diffuse": codes.SCT.Diffuse}

# Finding site of each SIOPEN segment: (anatomic code, laterality or None). Distal limb
# segments have no single SCT bone-group code in pydicom's dictionary, so the limb's
# bone code is used with laterality; the exact key is in the tracking identifier.
SEGMENT_SITES: dict[str, tuple[Code, Code | None]] = {
    "skull": (codes.SCT.Skull, None),
    "thoracic_cage": (codes.SCT.BoneOfThorax, None),
    "spine": (codes.SCT.BoneStructureOfSpine, None),
    "pelvis": (codes.SCT.BoneStructureOfPelvis, None),
    "right_upper_limb_proximal": (codes.SCT.BoneStructureOfHumerus, codes.SCT.Right),
    "right_upper_limb_distal": (codes.SCT.BoneOfUpperLimb, codes.SCT.Right),
    "left_upper_limb_proximal": (codes.SCT.BoneStructureOfHumerus, codes.SCT.Left),
    "left_upper_limb_distal": (codes.SCT.BoneOfUpperLimb, codes.SCT.Left),
    "right_lower_limb_proximal": (codes.SCT.BoneStructureOfFemur, codes.SCT.Right),
    "right_lower_limb_distal": (codes.SCT.BoneOfLowerLimb, codes.SCT.Right),
    "left_lower_limb_proximal": (codes.SCT.BoneStructureOfFemur, codes.SCT.Left),
    "left_lower_limb_distal": (codes.SCT.BoneOfLowerLimb, codes.SCT.Left),
}


def category_code(category: str) -> Code:
    """Private code of a finding category (``bone``, ``liver``, ``primary_tumour``, ...).

    Parameters
    ----------
    category : str
        Category name; at most 16 characters (the length of a DICOM Code Value).

    Returns
    -------
    pydicom.sr.coding.Code
    """
    if len(category) > 16:
        raise ValueError(f"finding category {category!r} is longer than 16 characters")
    return _private(category, category.replace("_", " "))

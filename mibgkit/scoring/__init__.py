"""SIOPEN and Curie scoring, and the reading file (``mibgkit.reading/1``)."""

from mibgkit.scoring.reading import SCHEMA, Reading, SegmentScore
from mibgkit.scoring.rules import RULES, Rules, curie_grade, good_prognosis, relative_score, siopen_grade

__all__ = [
    "SCHEMA", "Reading", "SegmentScore", "RULES", "Rules",
    "curie_grade", "good_prognosis", "relative_score", "siopen_grade",
]

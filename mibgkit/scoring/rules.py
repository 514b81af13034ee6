"""SIOPEN and Curie grading rules (Lewington 2017; Ady 1995 / Messina 2006).

Pure functions of the findings; no I/O. Thresholds live in ``RULES`` so a caller can
see (and a study protocol can change) them in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Rules", "RULES", "siopen_grade", "curie_grade", "good_prognosis", "relative_score"]


@dataclass(frozen=True)
class Rules:
    """Scoring thresholds.

    Parameters
    ----------
    diffuse_partial : float
        A diffuse finding covering less than this fraction of the bone is grade 4.
    diffuse_total : float
        A diffuse finding covering more than this fraction is grade 6 (else 5).
    curie_diffuse : float
        Curie grade 3 = diffuse over more than this fraction of the segment.
    siopen_good_threshold : int
        SIOPEN total <= this after induction is the good-prognosis group (Ladenstein 2018).
    """

    diffuse_partial: float = 0.50
    diffuse_total: float = 0.95
    curie_diffuse: float = 0.50
    siopen_good_threshold: int = 3


RULES = Rules()


def siopen_grade(n_foci: int, diffuse_fraction: float = 0.0, rules: Rules = RULES) -> int:
    """SIOPEN grade 0-6 of one segment.

    Parameters
    ----------
    n_foci : int
        Number of discrete focal lesions in the segment.
    diffuse_fraction : float
        Fraction (0-1) of the segment's bone with diffuse involvement.

    Returns
    -------
    int
        0 none; 1-3 discrete lesions; 4 > 3 foci or diffuse < 50 %; 5 diffuse 50-95 %;
        6 diffuse > 95 %.
    """
    if diffuse_fraction > rules.diffuse_total:
        return 6
    if diffuse_fraction >= rules.diffuse_partial:
        return 5
    if diffuse_fraction > 0 or n_foci > 3:
        return 4
    return max(0, int(n_foci))


def curie_grade(n_sites: int, diffuse_fraction: float = 0.0, rules: Rules = RULES) -> int:
    """Curie grade 0-3 of one segment: 0 none, 1 one site, 2 more than one, 3 diffuse > 50 %."""
    if diffuse_fraction > rules.curie_diffuse:
        return 3
    if n_sites > 1 or diffuse_fraction > 0:
        return 2
    return 1 if n_sites == 1 else 0


def good_prognosis(siopen_total: int, rules: Rules = RULES) -> bool:
    """True when the SIOPEN total is at or below the prognostic threshold (<= 3)."""
    return siopen_total <= rules.siopen_good_threshold


def relative_score(assessment: float, baseline: float) -> float | None:
    """INRC relative score = assessment / baseline; None when the baseline is 0
    (the ratio is undefined: callers must handle new disease explicitly)."""
    if baseline == 0:
        return None
    return assessment / baseline

"""The same child through treatment: diagnosis, post-induction, post-HDC, end of treatment,
relapse.

Response follows what clinical series report (DOMAIN.md; Rossillon, Pediatr Blood Cancer
2024): foci become fewer and fainter with induction; diffuse marrow disease regresses to a
few residual foci; a few foci persist after high-dose chemotherapy (persisting
oligo-skeletal disease, median SIOPEN 2 in lasting responders); relapse recurs mostly at
previously involved sites, with some new ones. Persisting lesions keep their ``id``; new
lesions at relapse are ``R1``, ``R2``, ...
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mibgkit.phantom.lesions import Lesion, sample_lesions
from mibgkit.phantom.patient import Patient, make_patient

__all__ = ["TIMEPOINTS", "make_longitudinal", "evolve"]

#: (name, days from diagnosis)
TIMEPOINTS: tuple[tuple[str, int], ...] = (
    ("diagnosis", 0),
    ("post_induction", 150),
    ("post_hdc", 240),
    ("end_of_treatment", 400),
    ("relapse", 620),
)

# per step: probability a focus persists, its contrast and radius factors
_STEP = {
    "post_induction": (0.55, (0.3, 0.6), 0.85),
    "post_hdc": (0.6, (0.5, 0.9), 0.9),
    "end_of_treatment": (0.55, (0.6, 1.0), 1.0),
}


def evolve(
    p: Patient, previous: list[Lesion], step: str, rng: np.random.Generator, diagnosis: list[Lesion]
) -> list[Lesion]:
    """Lesions at the next time point from those at the previous one.

    Parameters
    ----------
    p : Patient
        The child (its anatomy is used to place residual foci and relapse sites).
    previous : list of Lesion
        Lesions at the previous time point.
    step : str
        Name of the new time point.
    rng : numpy Generator
    diagnosis : list of Lesion
        Lesions at diagnosis (relapse recurs at these sites).
    """
    if step == "relapse":
        out: list[Lesion] = []
        focal = [les for les in diagnosis if les.kind == "focal"]
        if focal:
            keep = rng.random(len(focal)) < 0.75
            if not keep.any():
                keep[int(rng.integers(len(focal)))] = True
            out += [les.scaled(float(rng.uniform(0.6, 1.1))) for les, k in zip(focal, keep) if k]
        out += [les.scaled(0.7) for les in diagnosis if les.kind == "diffuse" and rng.random() < 0.5]
        new = sample_lesions(p.anatomy, "limited", rng)
        for i, les in enumerate(new[: int(rng.integers(1, 3))], start=1):
            out.append(replace(les, id=f"R{i}"))
        return out
    persist, (c_lo, c_hi), r_f = _STEP[step]
    out = []
    for les in previous:
        if les.kind == "diffuse":
            # diffuse marrow disease regresses to a residual focus in that segment (or clears)
            if step == "post_induction" and rng.random() < 0.6 and les.voxels is not None and len(les.voxels):
                v = les.voxels[int(rng.integers(len(les.voxels)))]
                centre = p.anatomy.voxel_centre_mm(np.array([v]))[0]
                if p.anatomy.projects_onto(centre, les.segment):
                    out.append(replace(les, kind="focal", centre_mm=centre, radius_mm=float(rng.uniform(5, 9)),
                                       contrast=les.contrast * float(rng.uniform(1.0, 2.0)), diffuse_fraction=0.0,
                                       voxels=None, voxel_bones={}, site="residual"))
            continue
        if rng.random() < persist:
            out.append(les.scaled(float(rng.uniform(c_lo, c_hi)), r_f))
    if step == "post_hdc" and not out and previous:
        # keep one faint residual focus: the decisive 0-6 range (Rossillon 2024)
        out.append(previous[int(rng.integers(len(previous)))].scaled(0.6, 0.9))
    return out


def make_longitudinal(
    age_years: float = 4.0,
    sex: str = "M",
    seed: int = 0,
    pattern: str = "limited",
    timepoints: tuple[tuple[str, int], ...] = TIMEPOINTS,
    **kwargs: object,
) -> list[Patient]:
    """One child at several time points (same anatomy; disease, bladder and bowel change).

    Parameters
    ----------
    age_years, sex, seed, pattern
        As :func:`mibgkit.phantom.make_patient` (the pattern at diagnosis).
    timepoints : tuple of (name, days)
        Default :data:`TIMEPOINTS`; names other than the defaults keep the previous state.
    **kwargs
        Passed to :func:`make_patient`.

    Returns
    -------
    list of Patient
        One per time point, ``timepoint`` and ``days_from_diagnosis`` set.
    """
    base = make_patient(age_years=age_years, sex=sex, seed=seed, pattern=pattern, **kwargs)  # type: ignore[arg-type]
    rng = np.random.default_rng([int(seed), 23])
    out = [base]
    lesions = base.lesions
    primary = base.primary
    for name, days in timepoints[1:]:
        lesions = evolve(base, lesions, name, rng, base.lesions) if name in (*_STEP, "relapse") else lesions
        if primary is not None and name != "relapse":
            primary = replace(primary, concentration=primary.concentration * 0.45)
            if name in ("post_hdc", "end_of_treatment"):
                primary = None
        scale = {"bladder": float(rng.uniform(0.4, 1.6)), "bowel": float(rng.uniform(0.5, 1.6))}
        out.append(base.at(name, lesions, primary, days, scale))
    return out

"""Body proportions of a child by age, sex and weight.

Stature, sitting height, head, femur and tibia fractions come from the table in
``shared/DOMAIN.md`` (CDC/WHO medians, Anderson-Green, Pritchett); girths and breadths are
rough anthropometric medians (unverified, only used to make a plausible outline). Values
between tabulated ages are interpolated linearly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Proportions", "proportions", "expected_weight_kg", "AGES"]

#: Tabulated ages in years; 18 stands for "adult".
AGES = np.array([1.0, 3.0, 5.0, 7.0, 10.0, 15.0, 18.0])

# DOMAIN.md "Body proportions by age" (adult column at 18 y; adult stature by sex below).
_STATURE_CM = np.array([76.0, 96.0, 110.0, 122.0, 139.0, 170.0, 176.0])
_STATURE_F_CM = np.array([75.0, 95.0, 109.0, 121.0, 139.0, 162.0, 163.0])
_SITTING_FRAC = np.array([0.62, 0.57, 0.55, 0.545, 0.525, 0.52, 0.52])
_HEAD_FRAC = np.array([0.21, 0.19, 0.175, 0.165, 0.15, 0.135, 0.13])
_FEMUR_FRAC = np.array([0.19, 0.22, 0.24, 0.25, 0.26, 0.27, 0.27])
_TIBIA_FRAC = np.array([0.15, 0.18, 0.19, 0.195, 0.21, 0.21, 0.21])
# DOMAIN.md: humerus 0.17-0.18 under 7 y, 0.18 at 7 y, 0.20 late adolescence; radius 0.13-0.15.
_HUMERUS_FRAC = np.array([0.17, 0.175, 0.175, 0.18, 0.19, 0.20, 0.20])
_RADIUS_FRAC = np.array([0.13, 0.135, 0.14, 0.14, 0.145, 0.15, 0.15])
# Rough medians (unverified): head circumference, biacromial and bi-iliac breadth,
# chest breadth and depth (soft tissue), all in cm; weight in kg.
_HEAD_CIRC_CM = np.array([46.0, 49.5, 51.0, 52.0, 53.0, 55.0, 56.0])
_BIACROMIAL_CM = np.array([19.0, 22.0, 25.0, 27.0, 30.0, 35.0, 38.0])
_BIILIAC_CM = np.array([14.0, 16.5, 18.0, 20.0, 22.5, 26.0, 28.0])
_CHEST_BREADTH_CM = np.array([15.0, 17.0, 18.5, 20.0, 22.5, 27.0, 29.0])
_CHEST_DEPTH_CM = np.array([11.0, 12.0, 13.0, 14.0, 15.5, 18.0, 20.0])
_WEIGHT_KG = np.array([10.0, 14.0, 18.5, 23.0, 32.0, 56.0, 64.0])
_WEIGHT_F_KG = np.array([9.5, 13.5, 18.0, 22.5, 32.0, 53.0, 58.0])


def _interp(age: float, table: np.ndarray) -> float:
    return float(np.interp(age, AGES, table))


def expected_weight_kg(age_years: float, sex: str = "M") -> float:
    """Median weight for age and sex (kg)."""
    return _interp(age_years, _WEIGHT_F_KG if sex.upper().startswith("F") else _WEIGHT_KG)


@dataclass(frozen=True)
class Proportions:
    """Lengths and breadths of one child, all in mm.

    Parameters
    ----------
    age_years, sex, weight_kg
        Who the proportions are for.
    stature, sitting_height, head_height
        Vertex-to-sole, vertex-to-seat and vertex-to-chin lengths.
    femur, tibia, humerus, radius
        Bone lengths.
    head_breadth, head_length
        Transverse and antero-posterior head diameters.
    biacromial, biiliac
        Skeletal shoulder and pelvic breadths.
    chest_breadth, chest_depth
        Soft-tissue chest diameters (already scaled by ``girth``).
    girth
        Soft-tissue scale from weight-for-age (1 = median weight).
    """

    age_years: float
    sex: str
    weight_kg: float
    stature: float
    sitting_height: float
    head_height: float
    femur: float
    tibia: float
    humerus: float
    radius: float
    head_breadth: float
    head_length: float
    biacromial: float
    biiliac: float
    chest_breadth: float
    chest_depth: float
    girth: float

    @property
    def head_fraction(self) -> float:
        """Head height / stature."""
        return self.head_height / self.stature

    @property
    def sitting_fraction(self) -> float:
        """Sitting height / stature."""
        return self.sitting_height / self.stature


def proportions(age_years: float, sex: str = "M", weight_kg: float | None = None) -> Proportions:
    """Body proportions of a child.

    Parameters
    ----------
    age_years : float
        Age, 1-18 years (clipped to that range).
    sex : {"M", "F"}
    weight_kg : float, optional
        Body weight; the median for age when omitted. Changes soft-tissue girth only.

    Returns
    -------
    Proportions
    """
    age = float(np.clip(age_years, 1.0, 18.0))
    female = sex.upper().startswith("F")
    stature = 10.0 * _interp(age, _STATURE_F_CM if female else _STATURE_CM)
    w_med = expected_weight_kg(age, "F" if female else "M")
    weight = float(weight_kg) if weight_kg else w_med
    girth = float(np.clip(np.sqrt(weight / w_med), 0.8, 1.35))
    hc = 10.0 * _interp(age, _HEAD_CIRC_CM) * (0.98 if female else 1.0)
    shoulder_scale = 0.93 if (female and age > 11) else 1.0
    pelvis_scale = 1.03 if (female and age > 11) else 1.0
    return Proportions(
        age_years=age,
        sex="F" if female else "M",
        weight_kg=weight,
        stature=stature,
        sitting_height=stature * _interp(age, _SITTING_FRAC),
        head_height=stature * _interp(age, _HEAD_FRAC),
        femur=stature * _interp(age, _FEMUR_FRAC),
        tibia=stature * _interp(age, _TIBIA_FRAC),
        humerus=stature * _interp(age, _HUMERUS_FRAC),
        radius=stature * _interp(age, _RADIUS_FRAC),
        head_breadth=0.27 * hc,
        head_length=0.335 * hc,
        biacromial=10.0 * _interp(age, _BIACROMIAL_CM) * shoulder_scale,
        biiliac=10.0 * _interp(age, _BIILIAC_CM) * pelvis_scale,
        chest_breadth=10.0 * _interp(age, _CHEST_BREADTH_CM) * girth,
        chest_depth=10.0 * _interp(age, _CHEST_DEPTH_CM) * girth,
        girth=girth,
    )

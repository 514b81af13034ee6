"""Synthetic paediatric 24-h 123I-mIBG studies with ground truth (issue 3).

::

    from mibgkit.phantom import make_patient, simulate, write_dicom
    patient = make_patient(age_years=5.0, sex="F", seed=1, pattern="limited", arms="sides")
    sim = simulate(patient, seed=1, collimator="ME", spect=False)
    sim.study, sim.truth
    write_dicom(sim, "out/", layout="nm_multiframe")

Modules, one job each: ``anatomy_model`` (proportions by age), ``body`` (grid, placement,
solids, soft tissue), ``skeleton`` (labelled bones), ``biodistribution`` (normal organs),
``lesions`` (disease), ``patient`` (assembly), ``camera`` (planar physics),
``simulation`` (study + truth), ``truth``, ``spect``, ``dicom_writer``, ``longitudinal``.
"""

from __future__ import annotations

from mibgkit._lazy import lazy_getattr

_LAZY = {
    "make_patient": "mibgkit.phantom.patient",
    "Patient": "mibgkit.phantom.patient",
    "simulate": "mibgkit.phantom.simulation",
    "Simulation": "mibgkit.phantom.simulation",
    "Truth": "mibgkit.phantom.truth",
    "TruthLesion": "mibgkit.phantom.truth",
    "VISIBLE_CNR": "mibgkit.phantom.truth",
    "write_dicom": "mibgkit.phantom.dicom_writer",
    "LAYOUTS": "mibgkit.phantom.dicom_writer",
    "make_longitudinal": "mibgkit.phantom.longitudinal",
    "TIMEPOINTS": "mibgkit.phantom.longitudinal",
    "make_cohort": "mibgkit.phantom.cohort",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr('mibgkit.phantom', _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)

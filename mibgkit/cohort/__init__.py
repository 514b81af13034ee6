"""Cohorts of readings: time points, response, persistence, reader agreement.

Collect many :class:`~mibgkit.scoring.Reading` objects (from ``reading.json`` files or
made on the fly) into a :class:`Cohort`, lay them out as tidy pandas tables, and
compute what clinical papers report::

    from mibgkit.cohort import Cohort, inrc_response, persistence, reader_agreement
    cohort = Cohort.from_paths(["readings/"], timepoints="timepoints.csv")
    seg = cohort.segments()                # patient x time point x reader x segment
    resp = inrc_response(seg)              # CR/PR/SD/PD at each assessment
    pers = persistence(seg, oligo_n=3)     # persisting uptake after HDC
    agree = reader_agreement(seg)          # kappa, ICC(2,1), Bland-Altman, <= 3 split

pandas is imported here (not by ``import mibgkit``).
"""

from mibgkit.cohort.agreement import (
    AgreementReport,
    BlandAltman,
    ICCResult,
    ThresholdAgreement,
    bland_altman,
    icc_a1,
    reader_agreement,
    threshold_agreement,
    weighted_kappa,
)
from mibgkit.cohort.collect import (
    AUTO_READER,
    TIMEPOINTS,
    Cohort,
    CohortReading,
    SkippedReading,
    TimepointMap,
    find_reading_files,
    normalize_timepoint,
    read_timepoint_map,
    timepoint_order,
)
from mibgkit.cohort.consensus import CONSENSUS_RULES, consensus_cohort, consensus_grade, consensus_reading
from mibgkit.cohort.plots import plot_bland_altman, plot_segment_heatmap, plot_trajectories, save_figure
from mibgkit.cohort.response import (
    INRC,
    RESPONSE_CATEGORIES,
    ResponseCriteria,
    classify_response,
    inrc_response,
    outcome_groups,
    persistence,
    positive_segments,
    relapse_sites,
    segment_prevalence,
    study_totals,
    trajectories,
)
from mibgkit.cohort.simulate import ReaderModel, detection_probability, read_lesions
from mibgkit.cohort.summary import (
    count_table,
    format_count,
    format_median_range,
    median_range,
    persistence_summary,
    relapse_site_summary,
    score_summary,
    threshold_split,
)

__all__ = [
    "AUTO_READER", "TIMEPOINTS", "Cohort", "CohortReading", "SkippedReading", "TimepointMap",
    "find_reading_files", "normalize_timepoint", "read_timepoint_map", "timepoint_order",
    "INRC", "RESPONSE_CATEGORIES", "ResponseCriteria", "classify_response", "inrc_response",
    "outcome_groups", "persistence", "positive_segments", "relapse_sites", "segment_prevalence",
    "study_totals", "trajectories",
    "count_table", "format_count", "format_median_range", "median_range", "persistence_summary",
    "relapse_site_summary", "score_summary", "threshold_split",
    "AgreementReport", "BlandAltman", "ICCResult", "ThresholdAgreement", "bland_altman", "icc_a1",
    "reader_agreement", "threshold_agreement", "weighted_kappa",
    "CONSENSUS_RULES", "consensus_cohort", "consensus_grade", "consensus_reading",
    "plot_bland_altman", "plot_segment_heatmap", "plot_trajectories", "save_figure",
    "ReaderModel", "detection_probability", "read_lesions",
]

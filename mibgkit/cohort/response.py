"""Per-patient course: score trajectories, INRC bone response, persistence, relapse sites.

Every function here takes the tidy segment table of :meth:`Cohort.segments
<mibgkit.cohort.Cohort.segments>` (or the same columns read back from its CSV) and works
per reader: two readers give two trajectories per patient. Use a consensus cohort
(:func:`mibgkit.cohort.consensus_cohort`) for one answer per patient.

A segment is *positive* when its SIOPEN grade is > 0. Sites are compared at segment
level: mIBG readings of different dates do not identify individual lesions, so a "new
site" is a segment involved now and not at the reference time point.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mibgkit.scoring.rules import relative_score
from mibgkit.segments import SIOPEN_KEYS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "ResponseCriteria",
    "INRC",
    "RESPONSE_CATEGORIES",
    "classify_response",
    "study_totals",
    "trajectories",
    "positive_segments",
    "segment_prevalence",
    "inrc_response",
    "persistence",
    "relapse_sites",
    "outcome_groups",
]

#: Response categories, best first. ``NI``: bone not involved at baseline and none now.
RESPONSE_CATEGORIES: tuple[str, ...] = ("CR", "PR", "SD", "PD", "NI")

_KEYS = ["reader", "patient_id"]


@dataclass(frozen=True)
class ResponseCriteria:
    """INRC bone (mIBG) response thresholds.

    Defaults follow the 2017 revision of the International Neuroblastoma Response
    Criteria (Park et al., JCO 2017) as quoted in secondary sources; they are
    **unverified** against the paper and are therefore parameters.

    Parameters
    ----------
    pr_max : float
        Relative score at or below this is a partial response (PR).
    pd_min : float
        Relative score at or above this is progression (PD).
    new_site_is_pd : bool
        A segment involved now and not at baseline is progression.
    recurrence_after_cr_is_pd : bool
        Any uptake after an earlier complete response is progression.

    Notes
    -----
    Rules, in the order they are applied to an assessment with score ``s`` against a
    baseline score ``b``:

    1. ``b == 0``: ``s == 0`` gives ``NI`` (bone not involved; the relative score is
       undefined), ``s > 0`` gives ``PD`` (new skeletal uptake).
    2. ``s == 0``: ``CR`` (no uptake).
    3. new site (if ``new_site_is_pd``): ``PD``.
    4. uptake after an earlier CR (if ``recurrence_after_cr_is_pd``): ``PD``.
    5. ``s / b >= pd_min``: ``PD``; ``s / b <= pr_max``: ``PR``; otherwise ``SD``.
    """

    pr_max: float = 0.5
    pd_min: float = 1.2
    new_site_is_pd: bool = True
    recurrence_after_cr_is_pd: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.pr_max < 1 <= self.pd_min:
            raise ValueError(f"need 0 < pr_max < 1 <= pd_min, got pr_max={self.pr_max}, pd_min={self.pd_min}")


#: The default criteria (INRC 2017 thresholds, unverified).
INRC = ResponseCriteria()


def classify_response(
    score: float,
    baseline: float,
    new_sites: Sequence[str] = (),
    after_cr: bool = False,
    criteria: ResponseCriteria = INRC,
) -> tuple[str, str]:
    """INRC bone response of one assessment.

    Parameters
    ----------
    score : float
        Score (SIOPEN total) at the assessment.
    baseline : float
        Score at baseline.
    new_sites : sequence of str
        Segments involved now and not at baseline.
    after_cr : bool
        An earlier assessment was a complete response.
    criteria : ResponseCriteria

    Returns
    -------
    category : str
        One of :data:`RESPONSE_CATEGORIES`.
    rule : str
        Which rule decided it, in words.
    """
    if baseline == 0:
        if score == 0:
            return "NI", "baseline 0 and no uptake: bone not involved"
        return "PD", "baseline 0, new skeletal uptake"
    if score == 0:
        return "CR", "no skeletal uptake"
    if criteria.new_site_is_pd and new_sites:
        return "PD", f"new site: {', '.join(new_sites)}"
    if criteria.recurrence_after_cr_is_pd and after_cr:
        return "PD", "uptake after complete response"
    rel = relative_score(score, baseline)
    assert rel is not None
    if rel >= criteria.pd_min:
        return "PD", f"relative score {rel:.2f} >= {criteria.pd_min:g}"
    if rel <= criteria.pr_max:
        return "PR", f"relative score {rel:.2f} <= {criteria.pr_max:g}"
    return "SD", f"relative score {rel:.2f} between {criteria.pr_max:g} and {criteria.pd_min:g}"


# ------------------------------------------------------------------ helpers
def _join(keys: Sequence[str] | set[str] | frozenset[str]) -> str:
    """Segment keys in SIOPEN label order, ';'-separated."""
    ks = set(keys)
    return ";".join(k for k in SIOPEN_KEYS if k in ks)


def _check(segments: pd.DataFrame) -> None:
    need = {"patient_id", "reader", "timepoint", "segment", "siopen"}
    missing = need - set(segments.columns)
    if missing:
        raise ValueError(f"segment table lacks columns: {', '.join(sorted(missing))}")


@dataclass
class _Study:
    patient_id: str
    reader: str
    group: Any
    timepoint: str
    order: int
    total: int
    grades: dict[str, int]
    foci: dict[str, int]
    diffuse: dict[str, float]

    @property
    def positive(self) -> frozenset[str]:
        return frozenset(k for k, g in self.grades.items() if g > 0)


def _studies(segments: pd.DataFrame) -> Iterator[tuple[tuple[str, str], list[_Study]]]:
    """Per (reader, patient): that patient's studies in time point order."""
    from mibgkit.cohort.collect import timepoint_order

    _check(segments)
    df = segments.copy()
    df["patient_id"] = df["patient_id"].astype(str)
    df["reader"] = df["reader"].astype(str)
    if "timepoint_order" not in df.columns:
        df["timepoint_order"] = [timepoint_order(t) for t in df["timepoint"]]
    if "n_foci" not in df.columns:
        df["n_foci"] = 0
    if "diffuse_fraction" not in df.columns:
        df["diffuse_fraction"] = 0.0
    if "group" not in df.columns:
        df["group"] = None
    for (reader, pid), sub in df.groupby(_KEYS, sort=True):
        studies = []
        for (order, tp), st in sub.groupby(["timepoint_order", "timepoint"], sort=True):
            grades = {str(k): int(v) for k, v in zip(st["segment"], st["siopen"])}
            studies.append(
                _Study(
                    patient_id=str(pid),
                    reader=str(reader),
                    group=st["group"].iloc[0],
                    timepoint=str(tp),
                    order=int(order),
                    total=int(sum(grades.values())),
                    grades=grades,
                    foci={str(k): int(v) for k, v in zip(st["segment"], st["n_foci"])},
                    diffuse={str(k): float(v) for k, v in zip(st["segment"], st["diffuse_fraction"])},
                )
            )
        yield (str(reader), str(pid)), studies


def _find(studies: list[_Study], timepoint: str) -> _Study | None:
    return next((s for s in studies if s.timepoint == timepoint), None)


def _nan_if_none(x: float | None) -> float:
    return math.nan if x is None else float(x)


# ------------------------------------------------------------------ tables
def study_totals(segments: pd.DataFrame) -> pd.DataFrame:
    """Collapse the segment table to one row per reader x patient x time point.

    Returns
    -------
    pandas.DataFrame
        Columns ``reader, patient_id, group, timepoint, timepoint_order, siopen_total,
        n_positive_segments, positive_segments`` (``;``-separated keys).
    """
    import pandas as pd

    rows = [
        {
            "reader": s.reader, "patient_id": s.patient_id, "group": s.group, "timepoint": s.timepoint,
            "timepoint_order": s.order, "siopen_total": s.total, "n_positive_segments": len(s.positive),
            "positive_segments": _join(s.positive),
        }
        for _, studies in _studies(segments)
        for s in studies
    ]
    cols = ["reader", "patient_id", "group", "timepoint", "timepoint_order", "siopen_total",
            "n_positive_segments", "positive_segments"]
    return pd.DataFrame(rows, columns=cols)


def trajectories(segments: pd.DataFrame, value: str = "siopen_total") -> pd.DataFrame:
    """Score trajectory of each patient: one row per reader x patient, one column per time point.

    Parameters
    ----------
    segments : pandas.DataFrame
        Segment table.
    value : {"siopen_total", "n_positive_segments"}
        What to show in the cells.

    Returns
    -------
    pandas.DataFrame
        Index (reader, patient_id); columns the time points in treatment order; NaN
        where a patient has no reading at that time point. A ``group`` column is added
        when the table has groups.
    """
    totals = study_totals(segments)
    order = totals.drop_duplicates("timepoint").sort_values("timepoint_order")["timepoint"].tolist()
    wide = totals.pivot_table(index=["reader", "patient_id"], columns="timepoint", values=value, aggfunc="first")
    wide = wide.reindex(columns=order)
    wide.columns.name = None
    groups = totals.drop_duplicates(["reader", "patient_id"]).set_index(["reader", "patient_id"])["group"]
    if groups.notna().any():
        wide.insert(0, "group", groups.reindex(wide.index))
    return wide


def positive_segments(segments: pd.DataFrame) -> pd.DataFrame:
    """Involved segments of each patient at each time point.

    Returns
    -------
    pandas.DataFrame
        Columns ``reader, patient_id, group, timepoint, timepoint_order,
        n_positive_segments, positive_segments`` plus one boolean column per SIOPEN
        segment.
    """
    import pandas as pd

    rows = []
    for _, studies in _studies(segments):
        for s in studies:
            row: dict[str, Any] = {
                "reader": s.reader, "patient_id": s.patient_id, "group": s.group,
                "timepoint": s.timepoint, "timepoint_order": s.order,
                "n_positive_segments": len(s.positive), "positive_segments": _join(s.positive),
            }
            row.update({k: s.grades.get(k, 0) > 0 for k in SIOPEN_KEYS})
            rows.append(row)
    cols = ["reader", "patient_id", "group", "timepoint", "timepoint_order", "n_positive_segments",
            "positive_segments", *SIOPEN_KEYS]
    return pd.DataFrame(rows, columns=cols)


def segment_prevalence(segments: pd.DataFrame, reader: str | None = None) -> pd.DataFrame:
    """Fraction of patients with each segment involved, per time point.

    Parameters
    ----------
    segments : pandas.DataFrame
        Segment table.
    reader : str, optional
        Use this reader's readings; by default the table must hold only one reader.

    Returns
    -------
    pandas.DataFrame
        Index the 12 SIOPEN keys in label order; columns the time points in order;
        values in [0, 1]. ``attrs["n"]`` maps each time point to its number of patients.
    """
    _check(segments)
    df = segments
    if reader is not None:
        df = df[df["reader"].astype(str) == reader]
    elif df["reader"].nunique() > 1:
        raise ValueError("several readers in the table: pass reader=... or use a consensus cohort")
    pos = positive_segments(df)
    order = pos.drop_duplicates("timepoint").sort_values("timepoint_order")["timepoint"].tolist()
    frac = pos.groupby("timepoint")[list(SIOPEN_KEYS)].mean().T.reindex(columns=order)
    frac.columns.name = None
    frac.attrs["n"] = {tp: int((pos["timepoint"] == tp).sum()) for tp in order}
    return frac


def inrc_response(
    segments: pd.DataFrame,
    criteria: ResponseCriteria = INRC,
    baseline: str = "diagnosis",
) -> pd.DataFrame:
    """INRC bone response at each assessment, against the baseline time point.

    Parameters
    ----------
    segments : pandas.DataFrame
        Segment table.
    criteria : ResponseCriteria
        Thresholds; see :class:`ResponseCriteria` for the rules and their order.
    baseline : str
        Time point that is the reference (usually ``"diagnosis"``).

    Returns
    -------
    pandas.DataFrame
        One row per reader x patient x time point: ``reader, patient_id, group,
        timepoint, timepoint_order, siopen_total, baseline_total, relative_score,
        response, rule, new_sites, n_new_sites``. The baseline row has response
        ``"baseline"``; rows before the baseline ``"before baseline"``; a patient
        without a baseline reading has an empty response and the rule says why.
        ``relative_score`` is NaN where the baseline is 0.
    """
    import pandas as pd

    rows = []
    for _, studies in _studies(segments):
        base = _find(studies, baseline)
        after_cr = False
        for s in studies:
            row: dict[str, Any] = {
                "reader": s.reader, "patient_id": s.patient_id, "group": s.group, "timepoint": s.timepoint,
                "timepoint_order": s.order, "siopen_total": s.total,
                "baseline_total": math.nan if base is None else base.total,
                "relative_score": math.nan, "response": "", "rule": "", "new_sites": "", "n_new_sites": 0,
            }
            if base is None:
                row["rule"] = f"no {baseline} reading"
            elif s is base:
                row["response"], row["rule"] = "baseline", "reference"
            elif s.order < base.order:
                row["response"], row["rule"] = "before baseline", ""
            else:
                new = [k for k in SIOPEN_KEYS if k in s.positive and k not in base.positive]
                category, rule = classify_response(s.total, base.total, new, after_cr, criteria)
                row.update(
                    relative_score=_nan_if_none(relative_score(s.total, base.total)),
                    response=category, rule=rule, new_sites=";".join(new), n_new_sites=len(new),
                )
                after_cr = after_cr or category == "CR"
            rows.append(row)
    cols = ["reader", "patient_id", "group", "timepoint", "timepoint_order", "siopen_total", "baseline_total",
            "relative_score", "response", "rule", "new_sites", "n_new_sites"]
    return pd.DataFrame(rows, columns=cols)


def _lesion_count(grade: int, n_foci: int) -> int:
    """Discrete lesions in a segment: the foci found, at least what the grade implies."""
    if grade <= 0:
        return 0
    return max(int(n_foci), grade if grade <= 3 else 4)


def persistence(
    segments: pd.DataFrame,
    after: str = "post_hdc",
    oligo_n: int = 3,
    later: Sequence[str] = ("end_of_treatment",),
    relapse: str = "relapse",
    baseline: str = "diagnosis",
) -> pd.DataFrame:
    """Persisting skeletal uptake after high-dose chemotherapy, per patient.

    Parameters
    ----------
    segments : pandas.DataFrame
        Segment table.
    after : str
        Time point at which uptake counts as persisting (``"post_hdc"``).
    oligo_n : int
        Oligo status: persisting disease with at most this many discrete foci and no
        diffuse involvement.
    later : sequence of str
        Later time points whose score and involvement are reported alongside.
    relapse : str
        Time point label of relapse / progression readings.
    baseline : str
        Time point label of the diagnosis reading.

    Returns
    -------
    pandas.DataFrame
        One row per reader x patient: ``reader, patient_id, group, baseline_total,
        evaluable`` (has a reading at ``after``), ``persisting`` (any involved segment
        at ``after``; NA when not evaluable), ``persisting_total``,
        ``n_persisting_segments``, ``persisting_segments``, ``persisting_foci``
        (discrete lesions; a grade-4 segment counts at least 4), ``persisting_diffuse``,
        ``oligo``, then ``<later>_total`` and ``<later>_positive`` for each later time
        point, and ``relapse`` (the patient has a relapse reading).
    """
    import pandas as pd

    if oligo_n < 0:
        raise ValueError("oligo_n must be >= 0")
    rows = []
    for _, studies in _studies(segments):
        s0 = studies[0]
        at = _find(studies, after)
        base = _find(studies, baseline)
        row: dict[str, Any] = {
            "reader": s0.reader, "patient_id": s0.patient_id, "group": s0.group,
            "baseline_total": math.nan if base is None else base.total, "evaluable": at is not None,
        }
        if at is None:
            row.update(persisting=pd.NA, persisting_total=math.nan, n_persisting_segments=math.nan,
                       persisting_segments="", persisting_foci=math.nan, persisting_diffuse=pd.NA, oligo=pd.NA)
        else:
            foci = sum(_lesion_count(at.grades[k], at.foci.get(k, 0)) for k in at.positive)
            diffuse = any(at.diffuse.get(k, 0.0) > 0 or at.grades[k] >= 5 for k in at.positive)
            persisting = bool(at.positive)
            row.update(
                persisting=persisting, persisting_total=at.total, n_persisting_segments=len(at.positive),
                persisting_segments=_join(at.positive), persisting_foci=foci, persisting_diffuse=diffuse,
                oligo=persisting and not diffuse and foci <= oligo_n,
            )
        for tp in later:
            st = _find(studies, tp)
            row[f"{tp}_total"] = math.nan if st is None else st.total
            row[f"{tp}_positive"] = pd.NA if st is None else bool(st.positive)
        row["relapse"] = _find(studies, relapse) is not None
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in ("persisting", "persisting_diffuse", "oligo", *(f"{tp}_positive" for tp in later)):
        if col in df.columns:
            df[col] = df[col].astype("boolean")
    return df


def relapse_sites(
    segments: pd.DataFrame,
    relapse: str = "relapse",
    reference: str = "diagnosis",
    persisting_at: str | None = "post_hdc",
) -> pd.DataFrame:
    """Sites of relapse compared with the sites involved at diagnosis.

    Parameters
    ----------
    segments : pandas.DataFrame
        Segment table.
    relapse : str
        Time point label of the relapse reading.
    reference : str
        Time point whose involved segments relapse sites are compared with.
    persisting_at : str or None
        Also compare with the segments involved at this time point (persisting disease).

    Returns
    -------
    pandas.DataFrame
        One row per reader x patient with a relapse reading: ``reader, patient_id,
        group, relapse_total, n_relapse_sites, relapse_segments, reference_available,
        n_reference_sites, n_at_reference_sites, at_reference_sites, n_new_sites,
        new_sites, all_at_reference, any_at_reference`` and, with ``persisting_at``,
        ``n_at_persisting_sites, at_persisting_sites``. A relapse without skeletal
        uptake has 0 sites and NA in the ``all_``/``any_`` columns.
    """
    import pandas as pd

    rows = []
    for _, studies in _studies(segments):
        rel = _find(studies, relapse)
        if rel is None:
            continue
        ref = _find(studies, reference)
        ref_pos = ref.positive if ref is not None else frozenset()
        at_ref = rel.positive & ref_pos
        new = rel.positive - ref_pos
        has = bool(rel.positive) and ref is not None
        row: dict[str, Any] = {
            "reader": rel.reader, "patient_id": rel.patient_id, "group": rel.group,
            "relapse_total": rel.total, "n_relapse_sites": len(rel.positive),
            "relapse_segments": _join(rel.positive), "reference_available": ref is not None,
            "n_reference_sites": math.nan if ref is None else len(ref_pos),
            "n_at_reference_sites": math.nan if ref is None else len(at_ref),
            "at_reference_sites": _join(at_ref),
            "n_new_sites": math.nan if ref is None else len(new), "new_sites": "" if ref is None else _join(new),
            "all_at_reference": (not new) if has else pd.NA,
            "any_at_reference": bool(at_ref) if has else pd.NA,
        }
        if persisting_at is not None:
            pers = _find(studies, persisting_at)
            row["n_at_persisting_sites"] = math.nan if pers is None else len(rel.positive & pers.positive)
            row["at_persisting_sites"] = "" if pers is None else _join(rel.positive & pers.positive)
        rows.append(row)
    cols = ["reader", "patient_id", "group", "relapse_total", "n_relapse_sites", "relapse_segments",
            "reference_available", "n_reference_sites", "n_at_reference_sites", "at_reference_sites",
            "n_new_sites", "new_sites", "all_at_reference", "any_at_reference"]
    if persisting_at is not None:
        cols += ["n_at_persisting_sites", "at_persisting_sites"]
    df = pd.DataFrame(rows, columns=cols)
    for col in ("all_at_reference", "any_at_reference"):
        df[col] = df[col].astype("boolean")
    return df


def outcome_groups(
    segments: pd.DataFrame,
    relapse: str = "relapse",
    labels: tuple[str, str] = ("lasting_responder", "progressor"),
) -> dict[str, str]:
    """Outcome group of each patient from the readings alone.

    Parameters
    ----------
    segments : pandas.DataFrame
        Segment (or study) table with ``patient_id`` and ``timepoint``.
    relapse : str
        Time point label of relapse / progression readings.
    labels : (str, str)
        Names of the groups without and with a relapse reading.

    Returns
    -------
    dict of str to str
        Patient id -> group. A patient is a progressor when any reader read a relapse
        study; pass real follow-up data instead where it exists (a patient without a
        relapse scan is not necessarily a lasting responder).
    """
    relapsed = set(segments.loc[segments["timepoint"] == relapse, "patient_id"].astype(str))
    return {str(p): labels[1] if str(p) in relapsed else labels[0] for p in segments["patient_id"].astype(str).unique()}

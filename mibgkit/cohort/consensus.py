"""Consensus readings from several readers' readings of the same study.

Rules, per SIOPEN segment:

- ``"max"`` -- the highest grade (the cautious reading: residual uptake is viable
  tumour until proven otherwise);
- ``"mean"`` -- the mean grade rounded half up (1.5 -> 2);
- ``"adjudicated"`` -- the grade the primary readers agree on; where they disagree,
  the adjudicator's (a third reader) grade, or the ``fallback`` rule when the study
  was not adjudicated.

The result is a real :class:`~mibgkit.scoring.Reading`: the findings of the segment
come from the reading whose grade was chosen (for ``"mean"``, the one closest to the
rounded mean), and the grade is set as a reader grade only where those findings do
not give it by themselves. Where each grade came from is kept in
``provenance["consensus"]``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any, Literal

from mibgkit.cohort.collect import Cohort
from mibgkit.detect.model import Hotspot
from mibgkit.scoring.reading import Reading
from mibgkit.segments import SIOPEN_KEYS

__all__ = ["ConsensusRule", "CONSENSUS_RULES", "consensus_grade", "consensus_reading", "consensus_cohort"]

ConsensusRule = Literal["max", "mean", "adjudicated"]
CONSENSUS_RULES: tuple[str, ...] = ("max", "mean", "adjudicated")


def consensus_grade(grades: Sequence[int], rule: Literal["max", "mean"]) -> int:
    """Consensus of several grades of one segment.

    Parameters
    ----------
    grades : sequence of int
        One grade per reader (at least one).
    rule : {"max", "mean"}
        Highest grade, or the mean rounded half up.

    Returns
    -------
    int
    """
    if not grades:
        raise ValueError("no grades to combine")
    if rule == "max":
        return int(max(grades))
    if rule == "mean":
        return int(math.floor(sum(grades) / len(grades) + 0.5))
    raise ValueError(f"rule must be 'max' or 'mean' here, not {rule!r}")


def _closest(grades: Sequence[int], target: int) -> int:
    """Index of the grade closest to ``target``; ties go to the higher grade, then the first."""
    return min(range(len(grades)), key=lambda i: (abs(grades[i] - target), -grades[i], i))


def _name(reading: Reading, i: int) -> str:
    return str(reading.reader) if reading.reader else f"reading_{i + 1}"


def consensus_reading(
    readings: Sequence[Reading],
    rule: ConsensusRule = "max",
    adjudicator: Reading | None = None,
    fallback: Literal["max", "mean"] = "max",
    name: str = "consensus",
) -> Reading:
    """One consensus reading from several readings of the same study.

    Parameters
    ----------
    readings : sequence of Reading
        The primary readers' readings of one study (at least one).
    rule : {"max", "mean", "adjudicated"}
        See the module docstring.
    adjudicator : Reading, optional
        The third reader's reading, used by ``"adjudicated"`` where the primary
        readers disagree.
    fallback : {"max", "mean"}
        Rule for disagreements that were not adjudicated.
    name : str
        Reader name of the consensus reading.

    Returns
    -------
    Reading
        Study and views of the first reading; findings copied (new ids, with
        ``from_reader`` / ``from_id`` in each finding's extra keys); non-skeletal
        findings from the first reading (or the adjudicator, when used).

    Raises
    ------
    ValueError
        On an unknown rule, no readings, or readings of different studies.
    """
    if rule not in CONSENSUS_RULES:
        raise ValueError(f"rule must be one of {CONSENSUS_RULES}, not {rule!r}")
    if not readings:
        raise ValueError("no readings to combine")
    uids = {str(r.study.get("study_instance_uid")) for r in readings if r.study.get("study_instance_uid")}
    if adjudicator is not None and adjudicator.study.get("study_instance_uid"):
        uids.add(str(adjudicator.study["study_instance_uid"]))
    if len(uids) > 1:
        raise ValueError(f"readings of different studies cannot be combined: {sorted(uids)}")
    names = [_name(r, i) for i, r in enumerate(readings)]
    adj_name = _name(adjudicator, len(readings)) if adjudicator is not None else None

    chosen: dict[str, tuple[Reading, str]] = {}
    targets: dict[str, int] = {}
    how: dict[str, dict[str, Any]] = {}
    used_adjudicator = False
    for key in SIOPEN_KEYS:
        grades = [int(r.segments[key].siopen) for r in readings]
        detail: dict[str, Any] = {"grades": dict(zip(names, grades))}
        if rule == "adjudicated" and len(set(grades)) == 1:
            target, src, by = grades[0], readings[0], names[0]
            detail["decided_by"] = "agreement"
        elif rule == "adjudicated" and adjudicator is not None:
            target, src, by = int(adjudicator.segments[key].siopen), adjudicator, str(adj_name)
            detail["grades"][adj_name] = target
            detail["decided_by"] = "adjudicator"
            used_adjudicator = True
        else:
            eff = fallback if rule == "adjudicated" else rule
            target = consensus_grade(grades, eff)  # type: ignore[arg-type]
            i = _closest(grades, target)
            src, by = readings[i], names[i]
            detail["decided_by"] = eff
        detail.update(grade=target, findings_from=by)
        chosen[key], targets[key], how[key] = (src, by), target, detail

    hotspots: list[Hotspot] = []

    def take(h: Hotspot, reader_name: str) -> None:
        new = Hotspot.from_json(h.to_json())
        new.id = f"h{len(hotspots) + 1}"
        new.extra = {**new.extra, "from_reader": reader_name, "from_id": h.id}
        hotspots.append(new)

    for key in SIOPEN_KEYS:
        src, by = chosen[key]
        for h in src.hotspots:
            if h.counts_for_score and h.segment == key:
                take(h, by)
    other_src, other_name = (adjudicator, adj_name) if used_adjudicator and adjudicator is not None else (readings[0], names[0])
    for h in other_src.hotspots:
        if h.segment is None and h.status != "rejected":
            take(h, str(other_name))

    first = readings[0]
    out = Reading(
        study=copy.deepcopy(first.study),
        views=copy.deepcopy(first.views),
        hotspots=hotspots,
        reader=name,
        provenance={
            "parameters": {},
            "consensus": {"rule": rule, "fallback": fallback if rule == "adjudicated" else None,
                          "readers": names, "adjudicator": adj_name, "segments": how},
        },
        rules=first.rules,
    )
    overrides = {k: t for k, t in targets.items() if out.segments[k].auto_siopen != t}
    if overrides:
        out.overrides = overrides
        out.recompute()
    return out


def consensus_cohort(
    cohort: Cohort,
    rule: ConsensusRule = "max",
    readers: Sequence[str] | None = None,
    adjudicator: str | None = None,
    fallback: Literal["max", "mean"] = "max",
    name: str = "consensus",
) -> Cohort:
    """Consensus reading of every study in a cohort.

    Parameters
    ----------
    cohort : Cohort
    rule : {"max", "mean", "adjudicated"}
    readers : sequence of str, optional
        Primary readers (default: every reader except ``adjudicator`` and ``name``).
    adjudicator : str, optional
        Reader name of the third reader (required for ``"adjudicated"`` to differ from
        ``fallback``).
    fallback : {"max", "mean"}
        Rule where the primary readers disagree and no adjudication exists.
    name : str
        Reader name of the consensus readings.

    Returns
    -------
    Cohort
        One reading per patient x time point (reader ``name``). A study read by a
        single primary reader gets that reading's grades (noted in its provenance).
    """
    primary = list(readers) if readers is not None else [r for r in cohort.readers if r not in (adjudicator, name)]
    studies: dict[tuple[str, str], list[Reading]] = {}
    for e in cohort.entries:
        if e.reader in primary:
            studies.setdefault((e.patient_id, e.timepoint), []).append(e.reading)
    out = Cohort([], groups=cohort.groups)
    for (pid, tp), readings in studies.items():
        order = {r: i for i, r in enumerate(primary)}
        readings.sort(key=lambda r: order.get(str(r.reader) if r.reader else "auto", len(order)))
        adj = cohort.get(pid, tp, adjudicator) if adjudicator is not None else None
        reading = consensus_reading(readings, rule=rule, adjudicator=adj, fallback=fallback, name=name)
        reading.study["timepoint"] = tp
        reading.study["patient_id"] = pid
        if len(readings) == 1:
            reading.provenance["consensus"]["note"] = "single reading"
        out.add(reading)
    return out

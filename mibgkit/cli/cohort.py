"""``mibgkit cohort READINGS... --out DIR``: tables, statistics and figures over many readings."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "tables and statistics over many readings (time points, response, persistence, reader agreement)"

DESCRIPTION = """\
Collect reading files (reading.json, or any *.json with schema mibgkit.reading/1;
folders are searched recursively) into tidy CSV tables, per-patient response and
persistence, cohort summaries, reader agreement (when two or more readers read the
same studies) and figures. Time points come from each reading's study.timepoint or
from --timepoints (CSV: timepoint + study_instance_uid | file | patient_id,study_date;
optional group). Without --groups, patients are grouped by whether a relapse reading
exists ("relapse" / "no_relapse").
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``cohort`` subcommand."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "cohort", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("readings", nargs="+", metavar="READINGS", help="reading files or folders")
    p.add_argument("--out", required=True, type=Path, help="output folder for CSV tables and PNG figures")
    p.add_argument("--timepoints", type=Path, help="CSV mapping studies to time points (and optional groups)")
    p.add_argument("--groups", type=Path, help="CSV with columns patient_id,group (outcome groups)")
    p.add_argument("--oligo-n", type=int, default=3, help="oligo = at most N persisting foci (default 3)")
    p.add_argument("--threshold", type=int, default=3, help="SIOPEN split threshold, <= vs > (default 3)")
    p.add_argument("--baseline", default="diagnosis", help="time point of the response baseline")
    p.add_argument("--pr-max", type=float, default=0.5, help="INRC: relative score <= this is PR (0.5)")
    p.add_argument("--pd-min", type=float, default=1.2, help="INRC: relative score >= this is PD (1.2)")
    p.add_argument("--consensus", choices=("max", "mean", "adjudicated"),
                   help="analyse a consensus of the readers instead of each reader")
    p.add_argument("--adjudicator", help="reader name of the adjudicating third reader")
    p.add_argument("--no-figures", action="store_true", help="write tables only")
    return p


def _read_groups(path: Path) -> dict[str, str]:
    import csv

    from mibgkit.errors import MibgkitError

    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MibgkitError(f"cannot read groups: {exc}", path) from exc
    if rows and not {"patient_id", "group"} <= set(rows[0]):
        raise MibgkitError("groups CSV needs columns patient_id and group", path)
    return {r["patient_id"].strip(): r["group"].strip() for r in rows if r.get("patient_id")}


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def run(args: argparse.Namespace) -> int:
    """Run ``mibgkit cohort``."""
    from mibgkit import cohort as C
    from mibgkit.errors import MibgkitError

    out: Path = args.out
    groups = _read_groups(args.groups) if args.groups else None
    cohort = C.Cohort.from_paths(args.readings, timepoints=args.timepoints, groups=groups)
    for s in cohort.skipped:
        print(f"skipped {s.path}: {s.reason}")
    if len(cohort) == 0:
        raise MibgkitError("no readings found", ", ".join(map(str, args.readings)))
    if not cohort.groups:
        cohort.groups = C.outcome_groups(cohort.segments(), labels=("no_relapse", "relapse"))
    criteria = C.ResponseCriteria(pr_max=args.pr_max, pd_min=args.pd_min)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def csv(df: Any, name: str, index: bool = False) -> None:
        path = out / name
        df.to_csv(path, index=index)
        written.append(path)

    seg_all = cohort.segments()
    csv(seg_all, "segments.csv")
    csv(cohort.studies(), "studies.csv")
    if cohort.skipped:
        csv(cohort.skipped_table(), "skipped.csv")

    # reader agreement on the raw readings
    primary = [r for r in cohort.readers if r not in (args.adjudicator, "consensus")]
    agreement = None
    if len(primary) >= 2:
        try:
            agreement = C.reader_agreement(seg_all, readers=primary, threshold=args.threshold)
        except ValueError as exc:
            print(f"reader agreement not computed: {exc}")
        if agreement is not None:
            csv(agreement.segments, "agreement_segments.csv")
            csv(agreement.total_table(), "agreement_total.csv")
            csv(agreement.paired, "agreement_paired_totals.csv")

    analysed = cohort
    if args.consensus:
        analysed = C.consensus_cohort(cohort, rule=args.consensus, readers=primary, adjudicator=args.adjudicator)
        for e in analysed.entries:
            e.reading.save(out / "consensus_readings" / _safe(e.patient_id) / _safe(e.timepoint) / "reading.json")
        seg = analysed.segments()
        csv(seg, "consensus_segments.csv")
        csv(analysed.studies(), "consensus_studies.csv")
    else:
        seg = seg_all
    studies = analysed.studies()

    csv(C.trajectories(seg), "trajectories.csv", index=True)
    csv(C.positive_segments(seg), "positive_segments.csv")
    response = C.inrc_response(seg, criteria=criteria, baseline=args.baseline)
    csv(response, "response.csv")
    pers = C.persistence(seg, oligo_n=args.oligo_n, baseline=args.baseline)
    csv(pers, "persistence.csv")
    relapses = C.relapse_sites(seg, reference=args.baseline)
    csv(relapses, "relapse_sites.csv")
    csv(C.score_summary(studies, by=["reader", "group"]), "summary_scores.csv")
    csv(C.threshold_split(studies, threshold=args.threshold, timepoint=None, by=["reader", "timepoint"]),
        "summary_threshold.csv")
    assessed = response[response["response"].isin(C.RESPONSE_CATEGORIES)]
    csv(C.count_table(assessed, "response", by=["reader", "timepoint"], categories=C.RESPONSE_CATEGORIES),
        "summary_response.csv")
    csv(C.persistence_summary(pers), "summary_persistence.csv")
    if len(relapses):
        csv(C.relapse_site_summary(relapses), "summary_relapse_sites.csv")

    if not args.no_figures:
        for reader in analysed.readers:
            tag = _safe(reader)
            written.append(C.save_figure(C.plot_trajectories(studies, reader=reader), out / f"trajectories_{tag}.png"))
            written.append(C.save_figure(C.plot_segment_heatmap(seg, reader=reader), out / f"heatmap_{tag}.png"))
        if agreement is not None and agreement.bland_altman.n >= 2:
            a, b = agreement.readers[:2]
            fig = C.plot_bland_altman(agreement.paired[a], agreement.paired[b], labels=(a, b))
            written.append(C.save_figure(fig, out / "bland_altman.png"))

    print(
        f"{len(cohort)} readings: {len(cohort.patients)} patients, readers {', '.join(cohort.readers)}, "
        f"time points {', '.join(cohort.timepoints)}; {len(cohort.skipped)} skipped"
    )
    if agreement is not None:
        t = agreement.total
        print(f"agreement {t['reader_a']} vs {t['reader_b']}: ICC(2,1) {t['icc_icc']:.3f} "
              f"[{t['icc_ci_low']:.3f}, {t['icc_ci_high']:.3f}], bias {t['ba_bias']:+.2f}, "
              f"split <= {args.threshold} agreement {t['split_percent_agreement']:.0f}%")
    print(f"wrote {len(written)} files to {out}")
    return 0

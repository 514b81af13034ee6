"""Persisting skeletal metastases after high-dose chemotherapy: a synthetic cohort study.

Reproduces the *structure* of a persisting-metastases study (Rossillon et al., Pediatr
Blood Cancer 2024) on synthetic children, end to end with mibgkit:

1. the phantom's longitudinal mode makes each child at diagnosis, post-induction,
   post-HDC, end of treatment and (for progressors) relapse;
2. two simulated readers read every study from the known lesions, disagreeing the way
   people do (they miss faint foci with a probability that falls with conspicuity, add
   an occasional false focus, and estimate diffuse extent differently); a third,
   more experienced reader adjudicates their disagreements;
3. ``mibgkit.cohort`` collects the readings (written as ``reading.json`` files and read
   back), measures reader agreement, builds the adjudicated consensus, and answers the
   study's questions: how many children have persisting skeletal uptake after HDC,
   their median [range] SIOPEN score post-HDC and at end of treatment by outcome,
   and whether relapses come back at the sites involved at diagnosis.

The same numbers from the ground truth (no reader noise) are printed alongside, which
shows what reader variability does to such a study in the decisive 0-6 range.

Outcome is synthetic: after the phantom has evolved the disease, a child relapses with
a probability that rises with its true post-HDC score (0: 20 %, 1-3: 40 %, > 3: 65 %);
the relapse study is kept only for those children. None of the figures are clinical
results.

Usage::

    python examples/persisting_metastases.py                  # 60 patients, ~2.5 min CPU
    python examples/persisting_metastases.py --quick          # 6 patients, for CI
    python examples/persisting_metastases.py --figures docs/figures   # the README figures
    python examples/persisting_metastases.py --quick --detect # also score simulated images

``--detect`` simulates the images of every study and scores them with
``mibgkit.pipeline.score_study`` (reader ``auto``), then compares the automatic reading
with the consensus. It is slow (seconds per study); use it with a small cohort.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mibgkit import cohort as C
from mibgkit.cohort import ReaderModel
from mibgkit.scoring import Reading

#: Two readers who disagree on faint foci, and an experienced adjudicator. ``cnr50`` is
#: used when the images are simulated (``--detect``); ``c50``/``width`` were fitted with
#: ``--calibrate 10`` so that, on the phantom's lesions, contrast-based detection matches
#: the CNR-based rates per time point (reader A sees 90 % of foci at diagnosis, 68 % after
#: induction, 53 % after HDC; reader B 85 %, 61 %, 47 %). Refit them when the phantom's
#: lesion model changes.
READERS = (
    ReaderModel("reader_A", cnr50=5.0, c50=0.65, width=0.60, false_foci=0.05, diffuse_sd=0.20),
    ReaderModel("reader_B", cnr50=6.5, c50=0.80, width=0.60, false_foci=0.03, diffuse_sd=0.30),
)
ADJUDICATOR = ReaderModel("reader_C", cnr50=4.5, c50=0.60, width=0.60, false_foci=0.02, diffuse_sd=0.15)
GROUPS = ("lasting_responder", "progressor")
FIRST_DIAGNOSIS = dt.date(2019, 1, 7)


def relapse_probability(post_hdc_score: int) -> float:
    """Synthetic outcome model: risk of relapse from the true post-HDC SIOPEN score."""
    if post_hdc_score == 0:
        return 0.20
    return 0.40 if post_hdc_score <= 3 else 0.65


def _uid(*parts: object) -> str:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()
    return "2.25." + str(int(digest[:30], 16))


def generate(n_patients: int, seed: int) -> Iterator[tuple[list[tuple[Any, dt.date]], str]]:
    """Synthetic children through treatment, one child at a time.

    Yields
    ------
    studies : list of (Patient, study date)
        One phantom ``Patient`` per study (the child at that time point). The caller
        should let go of them before the next child: each holds the child's voxel
        anatomy.
    group : str
        The child's outcome group.
    """
    from mibgkit.phantom import make_longitudinal

    rng = np.random.default_rng([seed, 2024])
    for i in range(n_patients):
        age = float(np.clip(rng.lognormal(np.log(4.0), 0.5), 1.0, 12.0))
        pattern = str(rng.choice(["limited", "extensive", "diffuse"], p=[0.5, 0.38, 0.12]))
        series = make_longitudinal(age_years=round(age, 1), sex=str(rng.choice(["M", "F"])),
                                   seed=seed * 1000 + i, pattern=pattern)
        truth_hdc = next(p for p in series if p.timepoint == "post_hdc")
        score = C.read_lesions(truth_hdc.lesions, {}).siopen_total
        relapses = bool(rng.random() < relapse_probability(score))
        kept = [p for p in series if p.timepoint != "relapse" or relapses]
        start = FIRST_DIAGNOSIS + dt.timedelta(days=int(rng.integers(0, 5 * 365)))
        yield [(p, start + dt.timedelta(days=int(p.days_from_diagnosis))) for p in kept], GROUPS[int(relapses)]


def _study_block(p: Any, date: dt.date, uid: str) -> dict[str, Any]:
    return {
        "study_instance_uid": uid, "patient_id": p.patient_id, "age_years": round(p.age_years, 1),
        "acquisition_datetime": f"{date.isoformat()}T10:00:00", "timepoint": p.timepoint,
    }


def read_studies(studies: list[tuple[Any, dt.date]], seed: int, detect: bool, first: int = 0) -> list[Reading]:
    """Every study read by the truth, readers A and B, the adjudicator, and (``detect``) mibgkit.

    ``first`` is the cohort-wide index of the first study (it seeds the readers).
    """
    readings: list[Reading] = []
    if detect:
        from mibgkit.phantom import simulate
        from mibgkit.pipeline import score_study
    for k, (p, date) in enumerate(studies, start=first):
        lesions: list[Any] = p.lesions
        views: list[dict[str, Any]] = []
        uid = _uid(seed, p.patient_id, p.timepoint)
        if detect:
            sim = simulate(p, seed=seed * 100_000 + k)
            lesions = sim.truth.lesions  # with per-view CNR and stored positions
            uid = sim.study.info.study_instance_uid
            auto = score_study(sim.study)
            auto.study.update(_study_block(p, date, uid))
            auto.reader = "auto"
            readings.append(auto)
            views = [dict(v) for v in auto.views]
        study = _study_block(p, date, uid)
        readings.append(C.read_lesions(lesions, study, views=views))
        for j, model in enumerate((*READERS, ADJUDICATOR)):
            rng = np.random.default_rng([seed, k, j])
            readings.append(C.read_lesions(lesions, study, model, rng, views=views))
    return readings


def calibrate(n_patients: int, seed: int) -> None:
    """Fit each reader's contrast-based ``c50``/``width`` to its CNR-based detection rates.

    Simulates the images of ``n_patients`` children at every time point, collects the
    phantom's focal lesions with their per-view CNR, and for each reader finds the
    contrast-based curve whose mean detection rate per time point matches the
    CNR-based one. Prints the fitted values (paste them into ``READERS``).
    """
    from mibgkit.phantom import make_longitudinal, simulate

    rng = np.random.default_rng([seed, 99])
    rows: list[tuple[str, float, float, float]] = []
    for i in range(n_patients):
        pattern = str(rng.choice(["limited", "extensive", "diffuse"], p=[0.5, 0.38, 0.12]))
        for k, p in enumerate(make_longitudinal(age_years=float(rng.uniform(1.5, 10)), seed=90_000 + i,
                                                pattern=pattern)):
            for les in simulate(p, seed=i * 10 + k).truth.lesions:
                if les.kind == "focal" and les.cnr:
                    rows.append((p.timepoint, les.contrast, les.radius_mm, max(les.cnr.values())))
    tps = sorted({r[0] for r in rows})
    print(f"calibration: {len(rows)} focal lesions from {n_patients} simulated children")
    for model in (*READERS, ADJUDICATOR):
        target = {tp: np.mean([C.detection_probability(c, r, model, cnr=q) for t, c, r, q in rows if t == tp])
                  for tp in tps}
        best = (np.inf, model.c50, model.width)
        for c50 in np.arange(0.3, 3.0, 0.05):
            for width in (0.3, 0.4, 0.5, 0.6, 0.7):
                trial = ReaderModel(model.name, c50=float(c50), width=width)
                err = sum((np.mean([C.detection_probability(c, r, trial) for t, c, r, _ in rows if t == tp])
                           - target[tp]) ** 2 for tp in tps)
                if err < best[0]:
                    best = (err, float(c50), width)
        rates = ", ".join(f"{tp} {100 * target[tp]:.0f}%" for tp in tps)
        print(f"  {model.name}: c50={best[1]:.2f}, width={best[2]:.2f}  (CNR-based detection: {rates})")


def analyse(cohort: C.Cohort, out: Path, figures: Path, oligo_n: int) -> dict[str, Any]:
    """Agreement, consensus, persistence and relapse sites; prints the report, writes tables and figures."""
    seg_all = cohort.segments()
    names = [m.name for m in READERS]
    agreement = C.reader_agreement(seg_all, readers=names)
    t = agreement.total
    post_ind = seg_all[seg_all["timepoint"] == "post_induction"]
    split_pi = C.reader_agreement(post_ind, readers=names).split
    print(f"\nReader agreement, {names[0]} vs {names[1]} ({t['n_studies']} studies)")
    print(f"  SIOPEN total ICC(2,1) {t['icc_icc']:.3f} [95% CI {t['icc_ci_low']:.3f}-{t['icc_ci_high']:.3f}]; "
          f"studies with mean total <= 6 (n={t['icc_low_n']}): {t['icc_low_icc']:.3f} "
          f"[{t['icc_low_ci_low']:.3f}-{t['icc_low_ci_high']:.3f}]")
    print(f"  segment grades, quadratic kappa (12 segments pooled) {t['kappa_quadratic_all_segments']:.3f}")
    print(f"  Bland-Altman bias {t['ba_bias']:+.2f}, 95% limits of agreement {t['ba_loa_low']:+.2f} to "
          f"{t['ba_loa_high']:+.2f}")
    print(f"  SIOPEN <= 3 vs > 3 after induction: same side in {split_pi.percent_agreement:.0f}% "
          f"(kappa {split_pi.kappa:.2f}, n={split_pi.n})")
    agreement.segments.to_csv(out / "agreement_segments.csv", index=False)
    agreement.total_table().to_csv(out / "agreement_total.csv", index=False)

    consensus = C.consensus_cohort(cohort, rule="adjudicated", readers=names, adjudicator=ADJUDICATOR.name)
    truth = cohort.subset(readers=["truth"])
    results: dict[str, Any] = {"agreement": t, "split_post_induction": split_pi}
    for label, part in (("consensus", consensus), ("truth", truth)):
        seg = part.segments()
        studies = part.studies()
        pers = C.persistence(seg, oligo_n=oligo_n)
        rel = C.relapse_sites(seg)
        resp = C.inrc_response(seg)
        for name, df in (("segments", seg), ("studies", studies), ("persistence", pers),
                         ("relapse_sites", rel), ("response", resp)):
            df.to_csv(out / f"{label}_{name}.csv", index=False)
        ev = pers[pers["evaluable"]]
        n_pers = int(ev["persisting"].astype(bool).sum())
        n_oligo = int(ev["oligo"].astype(bool).sum())
        persisting_ids = set(ev.loc[ev["persisting"].astype(bool), "patient_id"])
        among = studies[studies["patient_id"].isin(persisting_ids)]
        summ = C.score_summary(among, by="group", timepoints=["post_hdc", "end_of_treatment", "relapse"])
        wide = summ.pivot(index="group", columns="timepoint", values="text").fillna("\u2014")
        wide = wide.reindex(columns=[c for c in ("post_hdc", "end_of_treatment", "relapse") if c in wide.columns])
        n_by_group = among.drop_duplicates("patient_id")["group"].value_counts()
        rs = C.relapse_site_summary(rel, by=None).iloc[0] if len(rel) else None
        split = C.threshold_split(studies, timepoint="post_induction", by="group")
        print(f"\n== {label} ==")
        print(f"Persisting skeletal uptake after HDC: {C.format_count(n_pers, len(ev))}; "
              f"oligo (<= {oligo_n} foci, no diffuse): {C.format_count(n_oligo, len(ev))}")
        print("SIOPEN of the children with persisting uptake, median [range]:")
        for g in wide.index:
            cells = "   ".join(f"{tp} {wide.loc[g, tp]}" for tp in wide.columns)
            print(f"  {g} (n={int(n_by_group.get(g, 0))}): {cells}")
        print("SIOPEN <= 3 after induction, by outcome: "
              + "; ".join(f"{r.group} {r.le}" for r in split.itertuples()))
        counts = C.count_table(resp[resp["response"].isin(C.RESPONSE_CATEGORIES)], "response", by="timepoint",
                               categories=C.RESPONSE_CATEGORIES)
        for tp in ("post_induction", "post_hdc"):
            sub = counts[(counts["timepoint"] == tp) & (counts["n"] > 0)]
            print(f"INRC bone response at {tp}: " + ", ".join(f"{r.category} {r.n}" for r in sub.itertuples()))
        if rs is not None:
            print(f"Relapses with skeletal uptake: {rs['n_skeletal']}/{rs['n_relapses']}; all sites present at "
                  f"diagnosis {rs['all_at_reference']}; relapse sites present at diagnosis "
                  f"{rs['sites_at_reference']}; at sites persisting after HDC {rs.get('sites_at_persisting', 'NA')}")
        results[label] = {
            "n_evaluable": len(ev), "n_persisting": n_pers, "n_oligo": n_oligo, "scores": wide,
            "relapse_sites": rs, "split": split,
        }
        if label == "consensus":
            figures.mkdir(parents=True, exist_ok=True)
            C.save_figure(C.plot_trajectories(studies, title=f"SIOPEN trajectories, adjudicated consensus "
                                                              f"({studies['patient_id'].nunique()} synthetic patients)"),
                          figures / "cohort_trajectories.png")
            C.save_figure(C.plot_segment_heatmap(seg, title="Involved segments by time point, consensus "
                                                            "(% of patients)"),
                          figures / "cohort_heatmap.png")
    a, b = names
    C.save_figure(C.plot_bland_altman(agreement.paired[a], agreement.paired[b], labels=(a, b)),
                  figures / "cohort_bland_altman.png")
    if "auto" in cohort.readers:
        both = C.Cohort([e.reading for e in cohort.subset(readers=["auto"]).entries]
                        + [e.reading for e in consensus.entries])
        auto = C.reader_agreement(both.segments(), readers=["auto", "consensus"])
        ta = auto.total
        print(f"\nmibgkit automatic reading vs consensus ({ta['n_studies']} studies): ICC(2,1) {ta['icc_icc']:.3f} "
              f"[{ta['icc_ci_low']:.3f}-{ta['icc_ci_high']:.3f}], bias {ta['ba_bias']:+.2f}, "
              f"kappa (segments) {ta['kappa_quadratic_all_segments']:.3f}")
        results["auto"] = ta
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the example; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=60, help="cohort size (default 60)")
    ap.add_argument("--quick", action="store_true", help="small cohort (6 patients) for CI")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--oligo-n", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("out/persisting_metastases"), help="tables and readings")
    ap.add_argument("--figures", type=Path, help="where the cohort_*.png figures go (default: --out)")
    ap.add_argument("--detect", action="store_true", help="also simulate images and score them with mibgkit")
    ap.add_argument("--calibrate", type=int, metavar="N",
                    help="fit the readers' contrast-based detection to CNR on N simulated children, then stop")
    args = ap.parse_args(argv)
    if args.calibrate:
        calibrate(args.calibrate, args.seed)
        return 0
    n = 6 if args.quick else args.patients
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    readings: list[Reading] = []
    groups: dict[str, str] = {}
    n_studies, t_phantom, t_read = 0, 0.0, 0.0
    t1 = time.perf_counter()
    for studies, group in generate(n, args.seed):
        t2 = time.perf_counter()
        readings += read_studies(studies, args.seed, args.detect, first=n_studies)
        t_phantom, t_read = t_phantom + t2 - t1, t_read + time.perf_counter() - t2
        groups[studies[0][0].patient_id] = group
        n_studies += len(studies)
        del studies  # the child's voxel anatomy can go
        t1 = time.perf_counter()
    # the file round trip: every reading written as reading.json, the cohort read back from disk
    for r in readings:
        r.save(out / "readings" / r.study["patient_id"] / r.study["timepoint"] / str(r.reader) / "reading.json")
    cohort = C.Cohort.from_paths([out / "readings"], groups=groups)
    assert len(cohort) == len(readings) and not cohort.skipped, cohort.skipped
    print(f"{n} synthetic patients, {n_studies} studies, {len(readings)} readings "
          f"(readers: {', '.join(cohort.readers)}); phantom {t_phantom:.1f} s, reading {t_read:.1f} s")
    print("outcome: " + ", ".join(f"{g} {sum(v == g for v in groups.values())}" for g in GROUPS))
    analyse(cohort, out, args.figures or out, args.oligo_n)
    print(f"\ntables in {out}, figures in {args.figures or out}; {time.perf_counter() - t0:.1f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())

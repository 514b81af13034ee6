"""Batches of synthetic studies: one study, a cohort, a longitudinal series, the samples.

Used by ``mibgkit phantom``; each function writes folders and returns one summary line
per study written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from mibgkit.phantom.dicom_writer import write_dicom
from mibgkit.phantom.longitudinal import make_longitudinal
from mibgkit.phantom.patient import Patient, make_patient
from mibgkit.phantom.simulation import Simulation, simulate

__all__ = ["make_cohort", "write_one", "write_cohort", "write_longitudinal", "write_samples", "SAMPLES"]


def _summary(out: Path, sim: Simulation) -> str:
    t = sim.truth
    n_vis = sum(les.visible for les in t.lesions)
    return (f"{out}: {sim.patient.age_years:.1f} y {sim.patient.sex} {sim.patient.pattern} {sim.patient.timepoint}, "
            f"SIOPEN {t.siopen_total}, Curie {t.curie_total}, {len(t.lesions)} lesions ({n_vis} visible), "
            f"layout {sim.layout}")


def _write(out: Path, sim: Simulation, layout: str, preview: bool | Path) -> str:
    write_dicom(sim, out, layout=layout)
    if preview:
        from mibgkit.phantom.preview import save_preview

        save_preview(sim, preview if isinstance(preview, Path) else out / "preview.png")
    return _summary(out, sim)


def make_cohort(n: int, seed: int = 0) -> list[Patient]:
    """``n`` children of random age (1-12 y, median ~4), sex, arm pose and disease pattern.

    Patterns: 20 % none, 40 % limited, 30 % extensive, 10 % diffuse.
    """
    rng = np.random.default_rng([int(seed), 31])
    out = []
    for i in range(n):
        age = float(np.clip(rng.lognormal(np.log(4.0), 0.5), 1.0, 12.0))
        pattern = str(rng.choice(["none", "limited", "extensive", "diffuse"], p=[0.2, 0.4, 0.3, 0.1]))
        arms = "on_abdomen" if age < 2 else str(rng.choice(["sides", "abducted"], p=[0.8, 0.2]))
        out.append(make_patient(age_years=round(age, 1), sex=str(rng.choice(["M", "F"])), seed=seed * 1000 + i,
                                pattern=pattern, arms=arms))
    return out


def write_one(out: Path, age: float = 5.0, sex: str = "F", seed: int = 0, pattern: str = "limited",
              arms: str | None = None, layout: str = "nm_multiframe", collimator: str = "ME",
              spect: bool = False, preview: bool = False, spots: tuple[str, ...] = ()) -> str:
    """Simulate and write one study into ``out`` (with spot views of ``spots`` regions)."""
    p = make_patient(age_years=age, sex=sex, seed=seed, pattern=pattern, arms=arms)
    sim = simulate(p, seed=seed, collimator=collimator, spect=spect, spots=tuple(spots))
    return _write(Path(out), sim, layout, preview)


def write_cohort(out: Path, n: int, seed: int = 0, layout: str = "nm_multiframe", collimator: str = "ME",
                 spect: bool = False, preview: bool = False) -> list[str]:
    """``n`` random children into ``out/case_000`` ..."""
    lines = []
    for i, p in enumerate(make_cohort(n, seed)):
        sim = simulate(p, seed=seed * 1000 + i, collimator=collimator, spect=spect)
        lines.append(_write(Path(out) / f"case_{i:03d}", sim, layout, preview))
    return lines


def write_longitudinal(out: Path, age: float = 4.0, sex: str = "M", seed: int = 0, pattern: str = "limited",
                       layout: str = "nm_multiframe", collimator: str = "ME", preview: bool = False) -> list[str]:
    """One child at the five time points into ``out/<k>_<timepoint>``."""
    lines = []
    for k, p in enumerate(make_longitudinal(age, sex, seed, pattern), start=1):
        sim = simulate(p, seed=seed * 10 + k, collimator=collimator)
        lines.append(_write(Path(out) / f"{k}_{p.timepoint}", sim, layout, preview))
    return lines


#: The bundled sample studies: folder -> parameters (fixed seeds).
SAMPLES: dict[str, dict[str, Any]] = {
    "clean": {"age": 6.0, "sex": "F", "seed": 101, "pattern": "none", "layout": "nm_single", "collimator": "ME"},
    "oligo": {"age": 5.0, "sex": "M", "seed": 110, "pattern": "limited", "layout": "nm_multiframe",
              "collimator": "ME"},
    "extensive": {"age": 3.0, "sex": "F", "seed": 103, "pattern": "extensive", "layout": "secondary_capture",
                  "collimator": "LEHR"},
    "infant_diffuse": {"age": 1.5, "sex": "M", "seed": 104, "pattern": "diffuse", "layout": "text_only",
                       "collimator": "ME"},
    "spect": {"age": 9.0, "sex": "F", "seed": 109, "pattern": "limited", "layout": "nm_multiframe",
              "collimator": "ME", "spect": True, "spots": ("thorax", "abdomen")},
}
LONGITUDINAL_SAMPLE: dict[str, Any] = {"age": 4.0, "sex": "M", "seed": 106, "pattern": "extensive", "layout": "nm_multiframe"}


def write_samples(out: Path, figures: Path | None = None) -> list[str]:
    """Regenerate the bundled ``sample_dicom`` set (fixed seeds) and its MANIFEST.json.

    Parameters
    ----------
    out : Path
        The sample folder (its phantom subfolders are replaced).
    figures : Path, optional
        Where to put preview PNGs (``phantom_<name>.png``); none when omitted.
    """
    out = Path(out)
    lines = []
    for name, kw in SAMPLES.items():
        d = out / name
        shutil.rmtree(d, ignore_errors=True)
        p = make_patient(age_years=float(kw["age"]), sex=str(kw["sex"]), seed=int(kw["seed"]),
                         pattern=str(kw["pattern"]))
        sim = simulate(p, seed=int(kw["seed"]), collimator=str(kw["collimator"]),
                       spect=bool(kw.get("spect", False)), spots=tuple(kw.get("spots", ())))
        prev = (figures / f"phantom_{name}.png") if figures else False
        lines.append(_write(d, sim, str(kw["layout"]), prev))
        if figures and kw.get("spots"):
            from mibgkit.phantom.preview import save_spot_preview

            save_spot_preview(sim, figures / "phantom_spots.png")
    lk = LONGITUDINAL_SAMPLE
    d = out / "longitudinal"
    shutil.rmtree(d, ignore_errors=True)
    for k, p in enumerate(make_longitudinal(float(lk["age"]), str(lk["sex"]), int(lk["seed"]),
                                            str(lk["pattern"])), start=1):
        sim = simulate(p, seed=int(lk["seed"]) * 10 + k)
        prev = (figures / f"phantom_longitudinal_{k}_{p.timepoint}.png") if figures else False
        lines.append(_write(d / f"{k}_{p.timepoint}", sim, str(lk["layout"]), prev))
    _manifest(out)
    return lines


def _manifest(out: Path) -> None:
    """MANIFEST.json: every file under the phantom sample folders with size and SHA-256."""
    files = {}
    for name in [*SAMPLES, "longitudinal"]:
        for f in sorted((out / name).rglob("*")):
            if f.is_file():
                files[str(f.relative_to(out))] = {"bytes": f.stat().st_size,
                                                  "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
    doc = {"generator": "mibgkit phantom OUT --samples", "samples": {k: {kk: vv for kk, vv in v.items()}
                                                                    for k, v in SAMPLES.items()},
           "longitudinal": LONGITUDINAL_SAMPLE, "files": files}
    (out / "MANIFEST.json").write_text(json.dumps(doc, indent=1))

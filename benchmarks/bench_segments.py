"""Benchmark (and build) the SIOPEN segment mapper on the anatomical phantom.

Usage::

    python benchmarks/bench_segments.py                    # benchmark, seeds 1000.., writes docs/benchmarks/segments.md
    python benchmarks/bench_segments.py --n 120 --first-seed 1000
    python benchmarks/bench_segments.py --build-atlas      # learn atlas regions on seeds 0-49
    python benchmarks/bench_segments.py --n 120 --first-seed 1000 --resimulate-stale
        # re-simulate benchmark cases cached with an older truth (TRUTH_VERSION: lesion kinds,
        # diffuse centres on the lesion), then benchmark

The benchmark seeds (1000 and up) are disjoint from the seeds the atlas is built on
(0-49; the trunk levels and body-frame regions also 100-199, ``TRUNK_ATLAS_SEEDS``;
seeds 50-99 stay fresh for checking). Phantom studies are cached under ``--cache``
(default ``/tmp/mibgkit_bench_segments``) because generating them dominates the run time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ARMS = ("sides", "abducted", "raised", "on_abdomen")

#: Bone groups learned as body-frame regions (everything else in the truth is a limb).
GROUPS: tuple[tuple[str, ...], ...] = (
    ("skull_vault", "skull_base", "facial_bones", "orbits", "mandible"),
    ("cervical_spine",), ("thoracic_spine",), ("lumbar_spine",), ("sacrum",), ("coccyx",),
    ("ribs",), ("sternum",), ("clavicles",), ("scapulae",),
    ("ilium",), ("ischium",), ("pubis",),
)
#: Body-frame grid of the learned regions. Fine enough for the gaps between ribs and
#: vertebrae (0.004 s is ~0.7 px of a child's trunk; 0.01 s, the first version, was
#: ~1.5-2 px and blurred 3-4 px wide ribs into a filled cage).
S_RANGE = (-0.15, 3.75, 0.004)
U_RANGE = (-1.7, 1.7, 0.008)
#: Body-frame regions: probability smoothing (grid cells) and the bone probability above
#: which a pixel is painted. The Dice-optimal threshold of a probabilistic atlas lies
#: near half the Dice reached (Dice ~0.8-0.9 here -> ~0.42, below the 0.5 of an
#: argmax); chosen on the atlas seeds 0-49 by split-half cross-validation (0.35-0.5 tried).
#: Smoothing 0.5 cell since session 6 (regions learned in the phantom's true frame, which
#: is sharp: regions from seeds 100-199, Dice on 0-99, spine 0.856 / 0.858 / 0.857 / 0.849
#: at 1.0 / 0.5 / 0.75 / 1.5 cells; 0.0-0.25 within +-0.001 of 0.5).
REGION_SMOOTH = 0.5
#: Groups (named by their first bone) learned without holes.
FILLED_GROUPS = ("skull_vault",)
#: Groups learned in the stature lateral frame (``Region.lateral == "stature"``,
#: :data:`mibgkit.anatomy.warp.STATURE_LATERAL`): the vertebrae's width is a share of
#: stature, not of the shoulder girdle's width.
STATURE_GROUPS = ("cervical_spine", "thoracic_spine", "lumbar_spine")
REGION_THRESHOLD = 0.42
T_RANGE = (-0.2, 1.2, 0.01)
#: Median Dice of the first mapper version on seeds 1000-1119 (for the before/after column).
BEFORE_DICE = {
    "skull": 0.884, "thoracic_cage": 0.770, "spine": 0.772, "pelvis": 0.917,
    "right_upper_limb_proximal": 0.475, "right_upper_limb_distal": 0.373,
    "left_upper_limb_proximal": 0.472, "left_upper_limb_distal": 0.422,
    "right_lower_limb_proximal": 0.898, "right_lower_limb_distal": 0.864,
    "left_lower_limb_proximal": 0.892, "left_lower_limb_distal": 0.859,
}
#: Upper limbs before the arm work of 2026-11-27 (commit aad6e2f), seeds 1000-1119, run in the same job as
#: the "after" figures: median and 10th percentile Dice, lesion centres (per view / in ANT or POST, exact /
#: within 8 mm, %), median arm-joint distance (% of stature: shoulder, elbow, wrist, fingertips).
ARMS_BEFORE: dict[str, Any] = {
    "dice": {"right_upper_limb_proximal": (0.740, 0.348), "right_upper_limb_distal": (0.432, 0.000),
             "left_upper_limb_proximal": (0.731, 0.359), "left_upper_limb_distal": (0.442, 0.046)},
    "lesions": {"per view": (74.4, 83.8), "in ANT or POST": (80.3, 89.4)},
    "joints": (0.54, 1.52, 2.33, 2.84),
}
#: Tolerance of the lesion-centre lookup (``SegmentMap.nearest_segment``), mm.
TOL_MM = 8.0
W_RANGE = (-0.09, 0.09, 0.002)
#: limb -> (SIOPEN labels of the right (proximal, distal) segments, left, bones of each)
LIMBS = {
    "arm": ((5, 6), (7, 8), (["{side}_humerus"], ["{side}_radius", "{side}_ulna", "{side}_hand"])),
    "leg": ((9, 10), (11, 12), (["{side}_femur"], ["{side}_tibia", "{side}_fibula", "{side}_patella", "{side}_foot"])),
}


def case_params(seed: int) -> dict[str, Any]:
    """Age, sex and arm pose of one phantom case (deterministic in the seed)."""
    rng = np.random.default_rng([seed, 4242])
    age = float(np.round(rng.uniform(1.0, 18.0), 1))
    arms = ARMS[seed % 4] if age >= 2 or seed % 2 else "on_abdomen"
    return {"age": age, "sex": "F" if rng.random() < 0.5 else "M", "arms": arms,
            "pattern": ("none", "limited", "extensive", "diffuse")[int(rng.integers(0, 4))]}


def _truth_placement(seed: int) -> tuple[Any, Any, Any, float]:
    """The phantom's landmarks, skeleton, placement and pixel size (mm) of one case.

    Re-creates the phantom's draws up to the placement (weight, tilt, offset, pixel size:
    the first draws of ``make_patient``) and builds the skeleton only, so no voxels are
    simulated.
    """
    from mibgkit.phantom.anatomy_model import expected_weight_kg, proportions
    from mibgkit.phantom.body import Placement, landmarks, soft_tissue_shapes
    from mibgkit.phantom.patient import WB_COLS
    from mibgkit.phantom.skeleton import build_skeleton

    p = case_params(seed)
    rng = np.random.default_rng([int(seed), 7])
    age = float(np.clip(p["age"], 1.0, 18.0))
    weight = round(expected_weight_kg(age, p["sex"]) * float(rng.uniform(0.85, 1.15)), 1)
    tilt = float(rng.uniform(-1.5, 1.5))
    offs = (float(rng.uniform(0, 40)), float(rng.uniform(-12, 12)))
    pix = float(rng.choice([2.21, 2.26, 2.33, 2.40]))
    lm = landmarks(proportions(age, p["sex"], weight))
    skel = build_skeleton(lm, p["arms"])
    ext = [s.extent() for s in soft_tissue_shapes(lm, skel.arm_soft)]
    lo, hi = np.min([e[0] for e in ext], axis=0), np.max([e[1] for e in ext], axis=0)
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])])
    r0 = 35.0 + offs[0] - Placement(0.0, 0.0, 0.0, tilt).to_scanner(corners)[:, 0].min()
    return lm, skel, Placement(r0, 0.0, WB_COLS / 2 * pix + offs[1], tilt), pix


def truth_arm_joints(seed: int) -> tuple[dict[str, list[tuple[float, float]]], float]:
    """Truth (shoulder, elbow, wrist, fingertip) of both arms, ANT normalized (row, col), and the stature in px.

    Joints of the re-created phantom skeleton (:func:`_truth_placement`) projected along
    the depth axis onto the ANT image.
    """
    lm, skel, place, pix = _truth_placement(seed)
    out: dict[str, list[tuple[float, float]]] = {}
    for side, pose in skel.arms.items():
        sc = place.to_scanner(np.array([pose.shoulder, pose.elbow, pose.wrist, pose.hand_tip]))
        out[side] = [(float(r / pix), float(c / pix)) for r, _, c in sc]
    return out, float(lm.prop.stature / pix)


#: Collimator of the simulated studies (``--collimator``); LEHR studies are cached as
#: ``case_<seed>_LEHR.npz`` (its 123I penetration halo, see mibgkit/anatomy/halo.py).
COLLIMATOR = "ME"


def truth_levels(seed: int) -> dict[str, tuple[float, float]]:
    """Truth body levels of one phantom case: name -> (row, col) on the body axis, ANT normalized.

    Levels of the re-created phantom (:func:`_truth_placement`, no voxels simulated); names:
    head_top, chin, shoulder (shoulder line), hip (hip joints), crotch, knee, ankle, sole.
    """
    lm, _, place, pix = _truth_placement(seed)
    z = {"head_top": 0.0, "chin": lm.z_chin, "shoulder": lm.z_shoulder, "hip": lm.z_hip, "crotch": lm.z_crotch,
         "knee": lm.z_knee, "ankle": lm.z_ankle, "sole": lm.z_sole}
    out: dict[str, tuple[float, float]] = {}
    for k, v in z.items():
        sc = place.to_scanner(np.array([v, 0.0, 0.0]))
        out[k] = (float(sc[0] / pix), float(sc[2] / pix))
    return out


#: Seed ranges [first, stop) the trunk levels (``--build-levels``) and the body-frame regions
#: (``--build-trunk-atlas``) are learned from: the atlas seeds 0-49 and the tuning seeds
#: 100-199 (seeds 50-99 stay fresh for checking). 150 cases instead of 50: the profile
#: template of one age averages ~15 cases under its age kernel with 50, and its sampling
#: noise moved the registered levels by 0.2-0.6 px (bias) between training halves.
TRUNK_ATLAS_SEEDS: tuple[tuple[int, int], ...] = ((0, 50), (100, 200))
#: Ages of the trunk-profile templates and the age kernel (sd, years) that averages the
#: atlas cases into them; floor added to the learned spread of each template feature.
LEVEL_AGES = (1.0, 3.0, 5.0, 7.0, 10.0, 15.0, 18.0)
LEVEL_AGE_KERNEL = 2.5
LEVEL_SPREAD_FLOOR = 0.02


def build_levels(seeds: list[int], cache: Path) -> None:
    """Learn the body-axis profile templates of :mod:`mibgkit.anatomy.levels` (``trunk_levels``).

    Per atlas case the landmark fit without the refinement gives the priors and the
    profile; the profile is resampled between the phantom's true shoulder line and hip
    joints (:func:`truth_levels`) and averaged per age with a Gaussian age kernel.
    """
    from mibgkit.anatomy.levels import PROFILE_T, axis_profile, sample_profile
    from mibgkit.anatomy.planar import fit_image

    profs, ages, off = [], [], []
    for seed in seeds:
        c = load_case(seed, cache)
        gm = _pair_geomean(c)
        try:
            fit = fit_image(gm, tuple(c["meta"]["spacing"]), c["meta"]["age"], refine=False)
        except Exception as exc:
            print(f"seed {seed}: {exc}", file=sys.stderr)
            continue
        if fit.cut.get("top") or fit.cut.get("bottom"):
            continue
        t = truth_levels(seed)
        sh, hp = t["shoulder"][0], t["hip"][0]
        profs.append(sample_profile(axis_profile(gm, fit), np.array(sh), np.array(hp)))
        ages.append(float(fit.props.age_years))
        off.append(((fit.rows["trunk_shoulder"] - sh) / fit.stature_px, (fit.rows["hip"] - hp) / fit.stature_px))
    P = np.stack(profs)  # (n, 5, nT)
    A = np.asarray(ages)
    offs = np.asarray(off)
    means, spreads = [], []
    for age in LEVEL_AGES:
        w = np.exp(-0.5 * ((A - age) / LEVEL_AGE_KERNEL) ** 2)
        w /= w.sum()
        m = np.tensordot(w, P, axes=1)
        sd = np.sqrt(np.tensordot(w, (P - m) ** 2, axes=1)) + LEVEL_SPREAD_FLOOR
        means.append(np.round(m, 4).tolist())
        spreads.append(np.round(sd, 4).tolist())
    med = np.median(offs, axis=0)
    path = REPO / "mibgkit" / "data" / "atlas_planar.json"
    data = json.loads(path.read_text())
    data["trunk_levels"] = {
        "_comment": "body-axis profile templates of mibgkit.anatomy.levels (t = PROFILE_T: 0 shoulder line, "
                    "1 hip joints; features: log band counts, log left, log right, left-right asymmetry, central "
                    "width / length), per age; prior_offset / prior_sd: proportion prior minus true level and its "
                    "sd, fractions of the measured length. Built by bench_segments.py --build-levels from the "
                    f"phantom truth of seeds {_ranges(seeds)} ({len(profs)} cases).",
        "t": [float(PROFILE_T[0]), float(PROFILE_T[-1]), int(PROFILE_T.size)],
        "ages": list(LEVEL_AGES),
        "prior_offset": [round(float(x), 5) for x in med],
        "prior_sd": [round(float(x), 5) for x in offs.std(axis=0)],
        "mean": means,
        "spread": spreads,
    }
    path.write_text(_dump(data))
    print(f"wrote trunk_levels to {path} from {len(profs)} cases; prior offset {med}, sd {offs.std(axis=0)}")
    build_level_calibration(seeds, cache)


#: Cases whose registered level is this far (px) from the truth (a misdetected vertex or
#: crotch) are left out of the calibration fit.
CALIBRATION_OUTLIER_PX = 3.0


def build_level_calibration(seeds: list[int], cache: Path) -> None:
    """Learn the linear calibration of the registered trunk levels (``trunk_levels['calibration']``).

    With the templates just written, each case is registered without the calibration;
    the errors of the shoulder line and the hip joints against the phantom truth, in units
    of the registered trunk length, are regressed (least squares) on
    :func:`mibgkit.anatomy.levels.calibration_features`.
    """
    import mibgkit.anatomy.levels as lv
    from mibgkit.anatomy.atlas import atlas_data
    from mibgkit.anatomy.planar import fit_image

    atlas_data.cache_clear()
    X, Y = [], []
    lv.CALIBRATE = False
    try:
        for seed in seeds:
            c = load_case(seed, cache)
            gm = _pair_geomean(c)
            try:
                f0 = fit_image(gm, tuple(c["meta"]["spacing"]), c["meta"]["age"], refine=False)
                fit = fit_image(gm, tuple(c["meta"]["spacing"]), c["meta"]["age"])
            except Exception as exc:
                print(f"seed {seed}: {exc}", file=sys.stderr)
                continue
            if "trunk_hip" not in fit.rows:
                continue
            t = truth_levels(seed)
            sh, hp = fit.rows["trunk_shoulder"], fit.rows["trunk_hip"]
            es, eh = sh - t["shoulder"][0], hp - t["hip"][0]
            if max(abs(es), abs(eh)) >= CALIBRATION_OUTLIER_PX:
                continue
            X.append(lv.calibration_features(fit.props.age_years, sh, hp, fit.rows["crotch"],
                                             f0.rows["trunk_shoulder"], f0.rows["hip"]))
            Y.append((es / (hp - sh), eh / (hp - sh)))
    finally:
        lv.CALIBRATE = True
    Xa, Ya = np.asarray(X), np.asarray(Y)
    coef = np.linalg.lstsq(Xa, Ya, rcond=None)[0]  # (features, 2)
    res = Ya - Xa @ coef
    path = REPO / "mibgkit" / "data" / "atlas_planar.json"
    data = json.loads(path.read_text())
    data["trunk_levels"]["calibration"] = {
        "_comment": "linear calibration of the registered levels (mibgkit.anatomy.levels.calibrate_levels): "
                    "error / trunk length = features . coef, least squares on the phantom truth of seeds "
                    f"{_ranges(seeds)} ({len(X)} cases within {CALIBRATION_OUTLIER_PX:g} px).",
        "features": list(lv.CALIBRATION_FEATURES),
        "shoulder": [round(float(v), 6) for v in coef[:, 0]],
        "hip": [round(float(v), 6) for v in coef[:, 1]],
    }
    path.write_text(_dump(data))
    atlas_data.cache_clear()
    print(f"wrote the level calibration from {len(X)} cases: residual sd (share of the trunk length) "
          f"{Ya.std(axis=0).round(5)} -> {res.std(axis=0).round(5)}")


def _ranges(seeds: list[int]) -> str:
    """Seeds as compact ranges, e.g. ``"0-49, 100-199"``."""
    out: list[str] = []
    for s in sorted(seeds):
        if out and int(out[-1].split("-")[-1]) == s - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{s}"
        else:
            out.append(str(s))
    return ", ".join(out)


def _pair_geomean(c: dict[str, Any]) -> np.ndarray:
    """Geometric mean of a cached case's ANT and POST images (POST shifted onto ANT), as the mapper fits it."""
    from mibgkit.anatomy.planar import pair_shift, shift_array

    a, p = c["img_ANT"].astype(float), c["img_POST"].astype(float)
    return np.sqrt(np.clip(a, 0, None) * np.clip(shift_array(p, pair_shift(a, p)), 0, None))


#: Version of the truth a cached case carries (``meta["truth_version"]``): 0 (absent) = older
#: phantom code, no lesion kinds and diffuse centres at the centroid of the involved voxels;
#: 2 = lesion kinds stored and a diffuse lesion's centre on the lesion
#: (``mibgkit.phantom.lesions.diffuse_centre``, session 6). ``--resimulate-stale`` re-simulates the
#: benchmark seeds' cases cached with an older version.
TRUTH_VERSION = 2


def load_case(seed: int, cache: Path, refresh_stale: bool = False) -> dict[str, Any]:
    """One phantom study with bone-level truth, from the cache or freshly simulated.

    Parameters
    ----------
    seed : int
    cache : Path
    refresh_stale : bool
        Re-simulate (and overwrite) a cached case whose ``truth_version`` is below
        :data:`TRUTH_VERSION`. Off for the atlas builders, so their inputs stay as cached.
    """
    f = cache / (f"case_{seed}.npz" if COLLIMATOR == "ME" else f"case_{seed}_{COLLIMATOR}.npz")
    if f.exists():
        d = np.load(f, allow_pickle=False)
        out = {k: d[k] for k in d.files}
        out["meta"] = json.loads(str(d["meta"]))
        if not (refresh_stale and int(out["meta"].get("truth_version", 0)) < TRUTH_VERSION):
            return out
    from mibgkit.phantom.patient import make_patient
    from mibgkit.phantom.simulation import _place, simulate

    p = case_params(seed)
    patient = make_patient(p["age"], sex=p["sex"], seed=seed, pattern=p["pattern"], arms=p["arms"])
    sim = simulate(patient, seed=seed, collimator=COLLIMATOR)
    a = patient.anatomy
    g = a.grid
    lut = np.zeros(256, np.uint8)
    for part in a.skeleton.parts:
        for gi, grp in enumerate(GROUPS):
            if part.bone in grp:
                lut[part.id] = gi + 1
        if not lut[part.id]:
            lut[part.id] = len(GROUPS) + 1  # a limb bone
    shifts = {"ANT": (0, 0), "POST": tuple(sim.acquisition["post_shift_rows_cols"])}
    out: dict[str, Any] = {}
    for v in ("ANT", "POST"):
        view = sim.study.view(v)
        out[f"img_{v}"] = view.image.astype(np.float32)
        out[f"truth_{v}"] = sim.truth.labels[v].astype(np.uint8)
        out[f"groups_{v}"] = _place(lut[a.first_hit(v)], g.row0, shifts[v])
    les = [(lz.segment, lz.positions.get("ANT"), lz.positions.get("POST")) for lz in sim.truth.lesions]
    meta = {**p, "seed": seed, "spacing": list(sim.study.view("ANT").pixel_spacing_mm),
            "kinds": [lz.kind for lz in sim.truth.lesions], "truth_version": TRUTH_VERSION,
            "lesions": [[s, list(map(float, pa)) if pa is not None else None, list(map(float, pp)) if pp is not None else None]
                        for s, pa, pp in les]}
    cache.mkdir(parents=True, exist_ok=True)
    tmp = f.with_name(f"{f.stem}.{os.getpid()}.tmp.npz")  # atomic: parallel runs share the cache
    np.savez_compressed(tmp, meta=json.dumps(meta), **out)
    os.replace(tmp, f)
    out["meta"] = meta
    return out


def _planar_views(c: dict[str, Any]) -> tuple[Any, Any]:
    from mibgkit.io.model import PlanarView, StoredFrame

    sp = tuple(c["meta"]["spacing"])
    views = []
    for v in ("ANT", "POST"):
        img = c[f"img_{v}"]
        src = StoredFrame(f"phantom-{c['meta']['seed']}", "1.2.3", 1 if v == "ANT" else 2, img.shape, mirrored=v == "POST")
        views.append(PlanarView(img, v, "ViewCodeSequence", "whole_body", sp, src))  # type: ignore[arg-type]
    return views[0], views[1]


# ------------------------------------------------------------------------- atlas build


#: Learn the body-frame trunk regions (``--build-trunk-atlas``, ``--build-atlas``) in the
#: phantom's true trunk frame (:func:`true_trunk_fit`) rather than in the fitted one. The
#: vertebrae and ribs sit at fixed fractions of the true shoulder-to-hip distance, so the
#: vertebral gaps (1-2 px) stay sharp in the learned probability; learned in the fitted
#: frame they were blurred by the training cases' own registration error (~0.3-0.5 px) on
#: top of the error of the image being mapped. Session 6, tuning seeds (regions from
#: 100-199, Dice on 0-99, smoothing 1.0 cell): spine 0.850 -> 0.856, thoracic cage 0.867 ->
#: 0.871, pelvis 0.942 -> 0.943, skull 0.895 -> 0.895; with :data:`REGION_SMOOTH` 0.5 spine
#: 0.858, cage 0.873, pelvis 0.944.
TRUNK_TRUE_FRAME = True


def true_trunk_fit(fit: Any, seed: int) -> Any:
    """A copy of ``fit`` whose trunk placement is the phantom's own (for learning the regions).

    The shoulder line and hip joints are the phantom's (:func:`truth_levels`), the chin
    knot is derived from them as :func:`mibgkit.anatomy.levels.refine_trunk` derives it,
    and the trunk axis is the line through the true shoulder-line and hip-joint centres.
    """
    import copy

    t = truth_levels(seed)
    (sh, csh), (hp, chp) = t["shoulder"], t["hip"]
    out = copy.copy(fit)
    out.rows = dict(fit.rows)
    out.rows["trunk_shoulder"], out.rows["trunk_hip"] = sh, hp
    stature = (hp - sh) / max(fit.props.hip - fit.props.shoulder, 1e-3)
    out.rows["trunk_chin"] = sh - fit.props.neck * stature
    b = (chp - csh) / (hp - sh)
    out.trunk_midline = (csh - b * sh, b)
    return out


def build_atlas(seeds: list[int], cache: Path, arms_only: bool = False, arm_distal: bool = False,
                trunk_only: bool = False) -> None:
    """Learn the body-frame regions (per view) from phantom truth and write them to the atlas.

    With ``arms_only`` only the arm limb-frame regions are replaced (the arm joints
    changed, the rest of the atlas did not); with ``trunk_only`` only the body-frame
    regions (head, spine, thoracic cage, pelvis: the trunk levels changed); ``arm_distal`` also learns the forearm and
    hand frames instead of leaving them to the capsule atlas.
    """
    from scipy import ndimage as ndi

    from mibgkit.anatomy.planar import fit_image, pair_shift, shift_array
    from mibgkit.anatomy.warp import BodyFrame, limb_frame_to_image
    from mibgkit.segments import bone_to_siopen

    s_ax = np.arange(*S_RANGE)
    u_ax = np.arange(*U_RANGE)
    S, U = np.meshgrid(s_ax, u_ax, indexing="ij")
    su = np.stack([S.ravel(), U.ravel()], axis=1)
    n_cls = len(GROUPS) + 2
    acc = {v: np.zeros((n_cls, s_ax.size, u_ax.size)) for v in ("ANT", "POST")}
    acc_st = {v: np.zeros((n_cls, s_ax.size, u_ax.size)) for v in ("ANT", "POST")}  # stature lateral frame
    t_ax, w_ax = np.arange(*T_RANGE), np.arange(*W_RANGE)
    T, W = np.meshgrid(t_ax, w_ax, indexing="ij")
    tw = np.stack([T.ravel(), W.ravel()], axis=1)
    lacc = {(limb, k, v): np.zeros((4, t_ax.size, w_ax.size)) for limb in LIMBS for k in range(3) for v in ("ANT", "POST")}
    n_ok = 0
    for seed in seeds:
        c = load_case(seed, cache)
        gm = _pair_geomean(c)
        # the POST truth lies in the POST pass's own frame (the simulated passes are offset by
        # up to 2 px); the mapper renders POST in the ANT frame and shifts it back by the
        # pair shift, so the POST truth is learned moved onto ANT by that same shift (before
        # session 7 it was read unshifted: a random +-2 px row / +-1 px column blur of the
        # POST regions)
        shift = pair_shift(np.clip(c["img_ANT"].astype(float), 0, None), np.clip(c["img_POST"].astype(float), 0, None))
        groups = {"ANT": c["groups_ANT"], "POST": shift_array(c["groups_POST"], shift)}
        truth = {"ANT": c["truth_ANT"], "POST": shift_array(c["truth_POST"], shift)}
        try:
            fit = fit_image(gm, tuple(c["meta"]["spacing"]), c["meta"]["age"])
        except Exception as exc:  # a failed fit is reported, not learned from
            print(f"seed {seed}: {exc}", file=sys.stderr)
            continue
        # trunk regions are learned in the phantom's own frame (its true shoulder line,
        # hip joints and trunk axis); the limbs keep the fitted joints
        frame = BodyFrame(true_trunk_fit(fit, seed) if TRUNK_TRUE_FRAME else fit)
        for accum, pts in ((acc, su), (acc_st, frame.from_stature_lateral(su))):
            rc = frame.to_image(pts)
            r = np.round(rc[:, 0]).astype(int)
            col = np.round(rc[:, 1]).astype(int)
            inside = (r >= 0) & (r < gm.shape[0]) & (col >= 0) & (col < gm.shape[1])
            for v in ("ANT", "POST"):
                g = np.zeros(su.shape[0], np.int64)
                g[inside] = groups[v][r[inside], col[inside]]
                accum[v] += np.bincount(np.arange(g.size) * n_cls + g, minlength=g.size * n_cls).reshape(
                    s_ax.size, u_ax.size, n_cls).transpose(2, 0, 1)
        # limb frames: once per case and per view (this block sat inside the body-frame
        # loop above and saw only its last view, so --build-arm-atlas lost the ANT polygons)
        for v in (() if trunk_only else ("ANT", "POST")):
            for limb, (right, left, _) in LIMBS.items():
                for side, labs in (("right", right), ("left", left)):
                    joints = (fit.arms if limb == "arm" else fit.legs)[side].joints
                    for k in range(3):
                        pts = tw.copy()
                        if side == "right":
                            pts[:, 1] *= -1.0  # learned in the left-side convention
                        rc2 = limb_frame_to_image(pts, joints, k, fit.stature_px)
                        r2 = np.round(rc2[:, 0]).astype(int)
                        c2 = np.round(rc2[:, 1]).astype(int)
                        ok = (r2 >= 0) & (r2 < gm.shape[0]) & (c2 >= 0) & (c2 < gm.shape[1])
                        lab = np.zeros(tw.shape[0], np.int64)
                        tv = truth[v][r2[ok], c2[ok]]
                        lab[ok] = np.where(tv == labs[0], 1, np.where(tv == labs[1], 2, np.where(tv > 0, 3, 0)))
                        lacc[(limb, k, v)] += np.eye(4)[lab].T.reshape(4, t_ax.size, w_ax.size)
        n_ok += 1
        print(f"seed {seed}: age {c['meta']['age']} arms {c['meta']['arms']} ok", flush=True)
    table = bone_to_siopen()
    seg_of_group = [table[grp[0]] for grp in GROUPS]
    segs = sorted(set(seg_of_group))
    regions: dict[str, list[dict[str, Any]]] = {}
    for v in ("ANT", "POST"):
        regions[v] = [r for r in _trunk_regions(acc[v], n_ok, s_ax, u_ax, seg_of_group, segs)
                      if r["bones"][0] not in STATURE_GROUPS]
        regions[v] += [dict(r, lateral="stature") for r in _trunk_regions(acc_st[v], n_ok, s_ax, u_ax, seg_of_group, segs)
                       if r["bones"][0] in STATURE_GROUPS]
    limb_regions: dict[str, list[dict[str, Any]]] = {"ANT": [], "POST": []}
    for (limb, k, v), cnt in lacc.items():
        prob = ndi.gaussian_filter(cnt / max(n_ok, 1), (0, 1.0, 1.0))
        win = np.argmax(prob, axis=0)
        regs = []
        for cls in ((1, 2) if limb == "leg" or k > 0 else (1,)):
            polys = _polygons(win == cls, t_ax, w_ax, T_RANGE[2], W_RANGE[2])
            if polys:
                regs.append({"bones": LIMBS[limb][2][cls - 1], "polygons": polys})
        if limb == "leg" or k == 0 or arm_distal:  # else forearm/hand: capsule atlas
            limb_regions[v].append({"limb": limb, "seg": k, "regions": regs})
    # guard: every view must have learned its humerus (and, with arm_distal, forearm/hand) regions
    lost = [f"{v} {limb} {k}" for (limb, k, v) in lacc if (limb == "leg" or k == 0 or arm_distal)
            and not any(it["limb"] == limb and it["seg"] == k and it["regions"] for it in limb_regions[v])]
    if lost and not trunk_only:
        raise SystemExit(f"limb regions not learned ({', '.join(lost)}): atlas not written")
    path = REPO / "mibgkit" / "data" / "atlas_planar.json"
    data = json.loads(path.read_text())
    if arms_only:
        for v in limb_regions:
            keep = [it for it in data["limb_regions"][v] if it["limb"] != "arm"]
            data["limb_regions"][v] = [it for it in limb_regions[v] if it["limb"] == "arm"] + keep
    elif trunk_only:
        data["regions"] = regions
        data["regions_built_from"] = {"seeds": _ranges(seeds), "n_cases": n_ok}
    else:
        data["regions"] = regions
        data["limb_regions"] = limb_regions
        data["regions_built_from"] = {"seeds": [min(seeds), max(seeds)], "n_cases": n_ok}
    path.write_text(_dump(data))
    print(f"wrote {path} from {n_ok} cases")


def _trunk_regions(acc_v: np.ndarray, n_ok: int, s_ax: np.ndarray, u_ax: np.ndarray, seg_of_group: list[str],
                   segs: list[str]) -> list[dict[str, Any]]:
    """Body-frame regions of one view from the per-cell bone counts of the atlas cases."""
    from scipy import ndimage as ndi

    prob = ndi.gaussian_filter(acc_v / max(n_ok, 1), (0, REGION_SMOOTH, REGION_SMOOTH))
    # per pixel the most probable segment (sum of its bones) is painted when its
    # probability exceeds REGION_THRESHOLD; then the most probable bone within it
    seg_prob = np.stack([prob[[i + 1 for i, s in enumerate(seg_of_group) if s == k]].sum(0) for k in segs])
    other = prob[len(GROUPS) + 1]
    cand = np.concatenate([seg_prob, other[None]], axis=0)
    best_seg = np.argmax(cand, axis=0) + 1
    win = np.where(np.max(cand, axis=0) > REGION_THRESHOLD, best_seg, 0)
    regs = []
    for gi, grp in enumerate(GROUPS):
        k = segs.index(seg_of_group[gi]) + 1
        same = [j for j, s in enumerate(seg_of_group) if s == seg_of_group[gi]]
        best = np.argmax(prob[[j + 1 for j in same]], axis=0)
        m = (win == k) & (np.asarray(same)[best] == gi)
        # holes are kept (gaps between ribs, between vertebrae): the contours are
        # painted with the even-odd rule (mibgkit.anatomy.planar); not in the skull,
        # whose phantom face lacks the maxilla that a real face has (NM1)
        polys = _polygons(m, s_ax, u_ax, S_RANGE[2], U_RANGE[2], fill_holes=grp[0] in FILLED_GROUPS)
        if polys:
            regs.append({"bones": list(grp), "polygons": polys})
    return regs


def _polygons(m: np.ndarray, ax0: np.ndarray, ax1: np.ndarray, st0: float, st1: float,
              fill_holes: bool = True) -> list[list[list[float]]]:
    """Contours of the components of a binary map (opened once), in axis units; with
    ``fill_holes`` only their outer contours."""
    from scipy import ndimage as ndi
    from skimage.measure import approximate_polygon, find_contours

    m = ndi.binary_opening(m, iterations=1)
    lab, n = ndi.label(m)
    polys = []
    for li in range(1, n + 1):
        comp = ndi.binary_fill_holes(lab == li) if fill_holes else lab == li
        if comp.sum() < 12:
            continue
        for ct in find_contours(np.pad(comp, 1).astype(float), 0.5):
            ct = approximate_polygon(ct - 1.0, tolerance=0.7)
            if ct.shape[0] < 4:
                continue
            pts = np.stack([ax0[0] + ct[:, 0] * st0, ax1[0] + ct[:, 1] * st1], axis=1)
            polys.append(np.round(pts, 4).tolist())
    return polys


def _dump(data: dict[str, Any]) -> str:
    """JSON with one polygon / table row per line."""
    lines = ["{"]
    items = list(data.items())
    for i, (k, v) in enumerate(items):
        end = "," if i < len(items) - 1 else ""
        if k == "limb_regions":
            lines.append(f' "{k}": {{')
            views = list(v.items())
            for j, (view, items_) in enumerate(views):
                lines.append(f'  "{view}": [')
                for q, it in enumerate(items_):
                    lines.append(f'   {{"limb": "{it["limb"]}", "seg": {it["seg"]}, "regions": [')
                    for z, r in enumerate(it["regions"]):
                        polys = ",\n      ".join(json.dumps(p) for p in r["polygons"])
                        sep2 = "," if z < len(it["regions"]) - 1 else ""
                        lines.append(f'     {{"bones": {json.dumps(r["bones"])}, "polygons": [\n      {polys}]}}{sep2}')
                    lines.append("   ]}" + ("," if q < len(items_) - 1 else ""))
                lines.append("  ]" + ("," if j < len(views) - 1 else ""))
            lines.append(" }" + end)
        elif k == "regions":
            lines.append(f' "{k}": {{')
            views = list(v.items())
            for j, (view, regs) in enumerate(views):
                lines.append(f'  "{view}": [')
                for q, r in enumerate(regs):
                    polys = ",\n     ".join(json.dumps(p) for p in r["polygons"])
                    sep = "," if q < len(regs) - 1 else ""
                    lat = f', "lateral": {json.dumps(r["lateral"])}' if "lateral" in r else ""
                    lines.append(f'   {{"bones": {json.dumps(r["bones"])}{lat}, "polygons": [\n     {polys}]}}{sep}')
                lines.append("  ]" + ("," if j < len(views) - 1 else ""))
            lines.append(" }" + end)
        elif k == "trunk_levels":
            parts = []
            for a, b in v.items():
                if a in ("mean", "spread"):
                    rows = ",\n   ".join(json.dumps(f) for age in b for f in [age])
                    parts.append(f"{json.dumps(a)}: [\n   {rows}]")
                else:
                    parts.append(f"{json.dumps(a)}: {json.dumps(b)}")
            lines.append(f' "{k}": {{\n  ' + ",\n  ".join(parts) + f"\n }}{end}")
        elif isinstance(v, dict):
            inner = ",\n  ".join(f"{json.dumps(a)}: {json.dumps(b)}" for a, b in v.items())
            lines.append(f' "{k}": {{\n  {inner}\n }}{end}')
        elif isinstance(v, list):
            inner = ",\n  ".join(json.dumps(b) for b in v)
            lines.append(f' "{k}": [\n  {inner}\n ]{end}')
        else:
            lines.append(f' "{k}": {json.dumps(v)}{end}')
    lines.append("}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------- benchmark


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two boolean masks (nan when both are empty)."""
    s = int(a.sum()) + int(b.sum())
    return float("nan") if s == 0 else 2.0 * float((a & b).sum()) / s


def benchmark(seeds: list[int], cache: Path, refresh_stale: bool = False) -> dict[str, Any]:
    """Dice per segment, lesion-centre accuracy and timing over ``seeds``.

    ``refresh_stale`` re-simulates cases cached with an older truth (:func:`load_case`).
    """
    from mibgkit.anatomy import map_segments
    from mibgkit.io.model import Study, StudyInfo
    from mibgkit.segments import SIOPEN_KEYS, label_of

    dices: dict[str, list[float]] = {k: [] for k in SIOPEN_KEYS}
    by_arms: dict[str, dict[str, list[float]]] = {}
    from mibgkit.anatomy.model import SegmentMap

    hits, total, ceiling, times, fails = 0, 0, 0, [], []
    joint_split: dict[str, list[list[float]]] = {}  # arm pose -> per arm [elbow across, along, wrist across, along]
    joint_err: dict[str, list[list[float]]] = {}  # arm pose -> per arm [shoulder, elbow, wrist, fingertip] error
    any_hits, any_total, any_ceiling = 0, 0, 0
    # the same with SegmentMap.nearest_segment (bone within TOL_MM), mapper and truth map
    tol_hits, tol_ceiling, tol_any_hits, tol_any_ceiling = 0, 0, 0, 0
    # lesions counted on the views where their own segment is on top in projection (the
    # truth map shows it at the centre): [lesions with such a view, right on every such
    # view, right on at least one], exact and within TOL_MM
    top = {"exact": [0, 0, 0], "tol": [0, 0, 0]}
    # ANT or POST by lesion kind (cases cached with their lesion kinds only):
    # kind -> [mapper hits within TOL_MM, lesions, truth-map hits within TOL_MM, mapper exact, truth-map exact]
    by_kind: dict[str, list[int]] = {}
    truth_versions: dict[int, int] = {}  # truth version -> number of cases
    for seed in seeds:
        c = load_case(seed, cache, refresh_stale)
        kinds = c["meta"].get("kinds")
        tv = int(c["meta"].get("truth_version", 0))
        truth_versions[tv] = truth_versions.get(tv, 0) + 1
        ant, post = _planar_views(c)
        study = Study(StudyInfo(f"phantom-{seed}", patient_age_years=c["meta"]["age"]), views=[ant, post])
        t0 = time.process_time()
        try:
            maps = map_segments(study)
        except Exception as exc:
            fails.append((seed, str(exc)))
            continue
        times.append(time.process_time() - t0)
        arms = c["meta"]["arms"]
        tj, stature = truth_arm_joints(seed)
        fitted = {lm.name: (lm.row, lm.col) for lm in maps.views[0].landmarks}
        for side in ("right", "left"):
            err = [float(np.hypot(fitted[f"{side}_{jn}"][0] - t[0], fitted[f"{side}_{jn}"][1] - t[1]))
                   / stature * 100.0
                   for jn, t in zip(("shoulder", "elbow", "wrist", "hand"), tj[side])]
            joint_err.setdefault(arms, []).append(err)
            # elbow and wrist error across / along the phantom's forearm (% of stature, signed
            # across: positive = lateral)
            te, tw = np.asarray(tj[side][1]), np.asarray(tj[side][2])
            fu = (tw - te) / max(float(np.linalg.norm(tw - te)), 1e-6)
            nrm = np.array([-fu[1], fu[0]])
            if nrm[1] * (-1.0 if side == "right" else 1.0) < 0:
                nrm = -nrm
            split = []
            for jn, t in (("elbow", te), ("wrist", tw)):
                dv = np.asarray(fitted[f"{side}_{jn}"]) - t
                split += [float(dv @ nrm) / stature * 100.0, float(dv @ fu) / stature * 100.0]
            joint_split.setdefault(arms, []).append(split)
        for vi, v in enumerate(("ANT", "POST")):
            lab = maps.views[vi].labels
            tru = c[f"truth_{v}"]
            for k in SIOPEN_KEYS:
                d = dice(lab == label_of(k), tru == label_of(k))
                if np.isfinite(d):
                    dices[k].append(d)
                    by_arms.setdefault(arms, {}).setdefault(k, []).append(d)
        truth_maps = [SegmentMap(c[f"truth_{v}"], v, tuple(c["meta"]["spacing"])) for v in ("ANT", "POST")]
        for li, (seg, pa, pp) in enumerate(c["meta"]["lesions"]):
            got, could, tgot, tcould = [], [], [], []
            for vi, pos in enumerate((pa, pp)):
                if pos is None:
                    continue
                r, col = int(round(pos[0])), int(round(pos[1]))
                if not (0 <= r < 1024 and 0 <= col < 256):
                    continue
                total += 1
                got.append(maps.views[vi].labels[r, col] == label_of(seg))
                could.append(c[f"truth_{('ANT', 'POST')[vi]}"][r, col] == label_of(seg))
                hits += int(got[-1])
                ceiling += int(could[-1])
                tgot.append(maps.views[vi].nearest_segment(pos[0], pos[1], max_mm=TOL_MM) == seg)
                tcould.append(truth_maps[vi].nearest_segment(pos[0], pos[1], max_mm=TOL_MM) == seg)
                tol_hits += int(tgot[-1])
                tol_ceiling += int(tcould[-1])
            for key, mine, truth in (("exact", got, could), ("tol", tgot, tcould)):
                on = [m for m, t_ in zip(mine, truth) if t_]
                if on:
                    top[key][0] += 1
                    top[key][1] += int(all(on))
                    top[key][2] += int(any(on))
            if got:
                any_total += 1
                any_hits += int(any(got))
                any_ceiling += int(any(could))
                tol_any_hits += int(any(tgot))
                tol_any_ceiling += int(any(tcould))
                if kinds:
                    kc = by_kind.setdefault(kinds[li], [0, 0, 0, 0, 0])
                    kc[0] += int(any(tgot))
                    kc[1] += 1
                    kc[2] += int(any(tcould))
                    kc[3] += int(any(got))
                    kc[4] += int(any(could))
    for pose_, rows_ in sorted(joint_split.items()) + [("all", [x for v in joint_split.values() for x in v])]:
        a_ = np.asarray(rows_)
        print(f"joint split {pose_:10s} n={len(a_):3d} | elbow across med {np.median(a_[:, 0]):+.3f} |med| "
              f"{np.median(np.abs(a_[:, 0])):.3f} along |med| {np.median(np.abs(a_[:, 1])):.3f} | wrist across med "
              f"{np.median(a_[:, 2]):+.3f} |med| {np.median(np.abs(a_[:, 2])):.3f} along |med| {np.median(np.abs(a_[:, 3])):.3f}")
    return {"lesions_by_kind": by_kind, "dice": dices, "by_arms": by_arms, "lesions": (hits, total, ceiling),
            "lesions_any": (any_hits, any_total, any_ceiling),
            "lesions_tol": (tol_hits, total, tol_ceiling), "lesions_tol_any": (tol_any_hits, any_total, tol_any_ceiling),
            "times": times, "fails": fails, "joint_err": joint_err, "joint_split": joint_split, "lesions_top": top,
            "truth_versions": truth_versions, "n": len(seeds)}


def report(res: dict[str, Any], seeds: list[int], nm1_time: float | None) -> str:
    """The markdown page of the results."""
    from mibgkit.segments import SIOPEN_KEYS

    trunk = {"skull", "thoracic_cage", "spine", "pelvis"}
    lines = [
        "# SIOPEN segment mapper: benchmark",
        "",
        f"Phantom cohort: {res['n']} studies (seeds in {seeds[0]}-{seeds[-1]}, disjoint from the atlas-building "
        "seeds 0-49), ages 1-18 y, arms at sides / abducted / raised / on the abdomen, ANT and POST mapped "
        "as a pair. Truth = the phantom's projected skeleton (bone nearest the camera). "
        f"Failures: {len(res['fails'])}.",
        "",
        "| segment | median Dice | 10th percentile | n maps | goal | before (median) |",
        "|---|---|---|---|---|---|",
    ]
    for k in SIOPEN_KEYS:
        d = np.asarray(res["dice"][k], dtype=float)
        goal = 0.85 if k in trunk else 0.75
        if d.size:
            lines.append(f"| {k} | {np.median(d):.3f} | {np.percentile(d, 10):.3f} | {d.size} | {goal:.2f} "
                         f"| {BEFORE_DICE.get(k, float('nan')):.3f} |")
    lines += ["", "*before*: the first version of the mapper (arm joints from the arm component or the body "
              "edge, no pose handling), same 120 seeds 1000-1119; its lesion-centre figures were 68.9 % per view "
              "and 73.7 % in ANT or POST (exact only)."]
    hits, total, ceil = res["lesions"]
    ah, at, ac = res["lesions_any"]
    th, _, tc = res["lesions_tol"]
    tah, _, tac = res["lesions_tol_any"]

    def pct(a: int, b: int) -> str:
        return f"{100.0 * a / max(b, 1):.1f} %"

    lines += ["", "Lesion centres (focal and diffuse lesions of the truth, all patterns) assigned to their "
              "true segment (goal ≥ 97 %). *Exact*: the label under the centre (`SegmentMap.segment_at`); "
              f"*within {TOL_MM:.0f} mm*: the segment whose mapped bone is nearest, if within {TOL_MM:.0f} mm "
              "(`SegmentMap.nearest_segment`, a distance-transform lookup). Detection should assign hot spots "
              "with `nearest_segment`: lesion centres often sit just outside the smooth atlas footprint of "
              "their bone.", "",
              "| counted | mapper, exact | mapper, within 8 mm | truth map, exact (ceiling) | truth map, within 8 mm (ceiling) |",
              "|---|---|---|---|---|",
              f"| per view ({total} lesion-views) | {pct(hits, total)} | {pct(th, total)} | {pct(ceil, total)} | {pct(tc, total)} |",
              f"| in ANT or POST ({at} lesions) | {pct(ah, at)} | {pct(tah, at)} ({tah} of {at}, {100.0 * tah / max(at, 1):.2f} %) "
              f"| {pct(ac, at)} | {pct(tac, at)} |",
              *[f"| in ANT or POST, {kind} lesions only ({v[1]}{_kinds_of(res)}) | {pct(v[3], v[1])} "
                f"| {pct(v[0], v[1])} | {pct(v[4], v[1])} | {pct(v[2], v[1])} |"
                for kind, v in sorted(res.get("lesions_by_kind", {}).items())],
              "", "The ceiling is below 100 % because a lesion centre can be hidden behind another bone in a view "
              "(the truth map shows the bone nearer the camera) or sit outside its bone's projected footprint.",
              "", _truth_version_note(res.get("truth_versions", {})), ""]
    lines += ["Median Dice by arm position:", "", "| arms | " + " | ".join(SIOPEN_KEYS) + " |",
              "|---|" + "---|" * len(SIOPEN_KEYS)]
    for arms, dd in sorted(res["by_arms"].items()):
        lines.append(f"| {arms} | " + " | ".join(f"{np.median(dd.get(k, [np.nan])):.2f}" for k in SIOPEN_KEYS) + " |")
    lines += arm_joint_table(res)
    lines += arms_before_after(res)
    t = np.asarray(res["times"])
    lines += ["", f"Time per whole-body study (ANT + POST, one core, CPU time): median {np.median(t):.3f} s, "
              f"max {t.max():.3f} s."]
    if nm1_time is not None:
        lines.append(f"NM1 (real 1024x256 anterior bone scan): {nm1_time:.3f} s; overlay in docs/figures/segments_nm1.png.")
    lines += ["", "Figures: docs/figures/segments_nm1.png (real NM1) and segments_phantom_ANT.png / _POST.png "
              f"(phantom seed {seeds[0]}); the first version's maps of the same images are kept as "
              "segments_nm1_before.png and segments_phantom_ANT_before.png."]
    if res["fails"]:
        lines += ["", "Failures:", ""] + [f"- seed {s}: {m}" for s, m in res["fails"]]
    lines += [
        "",
        "## Why the trunk Dice stalls near 0.8 (seeds 0-49)",
        "",
        "The first version's page blamed the filled cage/spine regions against a truth with gaps. Measured on the "
        "atlas seeds 0-49 (first version): the truth's own filled hull (vertical closing over ~2 rib spacings, "
        "holes filled) reaches Dice 0.863 (cage) / 0.834 (spine) against the truth, so a perfectly placed "
        "filled region would have met or nearly met the goal; the first map reached 0.796 / 0.780 against the "
        "truth and 0.854 / 0.803 against the filled hull: misplacement, not only shape. Its causes: (1) the atlas "
        "grid (0.01 s = 1.5-2 px of the trunk, smoothed, polygon tolerance 0.7 cells) blurred the 3-4 px ribs; "
        "(2) the shoulder level was blended with the detected width rise, which scatters ~8 px around the "
        "phantom's shoulder line (sd 2.9 px blended, 2.2 px for the age prior alone); (3) the lateral scale "
        "followed the soft-tissue outline, which carries the child's girth. Split-half cross-validation "
        "(atlas from 25 cases, Dice on the other 25): first version 0.795 / 0.778; fine grid + threshold 0.42 "
        "+ holes 0.811 / 0.793; + shoulder prior 0.824 / 0.794; with the true shoulder and hip levels "
        "(oracle) 0.869 / 0.851. Per-rib elements would need the same 1-px registration to help.",
        "",
        "## Method (mibgkit.anatomy)",
        "",
        "- Body outline: counts smoothed (6 mm), threshold set from the air (noise level of the lowest 30 % of the "
        "scanned field, ≥ 3 photons' worth) because mIBG soft tissue is faint; count valleys (black top-hat along "
        "rows) separate arms and legs from the trunk.",
        "- Landmarks: head top (top of the central run, so raised hands are ignored; a head-wide block just "
        "above a short gap is still the head: an infant's face can be split at the mouth), neck (narrowest run), "
        "shoulders (width rise), crotch (midline falls between the legs), soles; with the whole body in view the "
        "levels are the DOMAIN.md age proportions of the measured length, blended with the detected ones when they "
        "agree. Midline through neck and crotch; trunk half-width at the shoulders capped at 1.05 x the age prior "
        "(abducted/raised arms widen the outline there). Legs: run centres either side of the midline.",
        "- Arms (mibgkit/anatomy/landmarks.py, constants measured on the phantom truth of seeds 0-49): arm bone "
        "lengths are the age proportions of the skeletal stature, 0.95 x the outline length (the smoothed outline "
        "adds 5 %). Shoulder joint 1.01 % of stature below the registered shoulder line (`rows['trunk_shoulder']`, "
        "`refit_arms`; 1 % below the landmark shoulder line on partial views), at 0.755 x the age-proportioned half "
        "shoulder width from the midline, then (arms within 15 degrees of the body axis) moved onto the humerus "
        "axis line extrapolated to the shoulder row. A raised arm is the arm component reaching above the "
        "shoulder (elbow/wrist by humerus/radius length along it, fingertips one hand length past the wrist). "
        "Otherwise the arm axis comes from the arm band's outer edge read on the counts, not on the outline: per "
        "row, where the smoothed counts fall to 30 % of the band's own level (median 1.5-3.5 % of stature inside "
        "the outline edge; the outline, set just above the air, spills a variable 1-3 % of stature beyond the "
        "arm), then 1.7 % of stature inside it for the humerus, 1.42 % for the forearm, perpendicular to the arm (the forearm, "
        "and the humerus of an arm within 15 degrees of the body axis, midway between the band's two edges where "
        "both are seen). "
        "The median direction from the shoulder over 35-85 % of the humerus length places the elbow, the same "
        "from the elbow the wrist. Edge samples more than 15 degrees medial of the humerus are the trunk's edge "
        "below an arm that left the field (abducted arms): dropped (2 degrees for abducted arms), and the forearm then "
        "carries on 5 degrees lateral of the line through the humerus band. An arm band cut by the edge of the scanned field along the whole humerus (NM1) "
        "is taken as hanging at 8 degrees with the forearm along the edge. When the outline below the elbow turns "
        "medially by more than 12 degrees (no forearm beside the trunk) the forearm lies on the abdomen: wrist "
        "0.3 radius lengths below the elbow at 0.25 x the trunk half-width from the midline, fingertips 0.74 "
        "radius lengths below the elbow at 0.21 x the half-width across the midline; painted in front of the "
        "trunk on ANT and behind it on POST. Humerus polygons are re-learned on these joints "
        "(`--build-arm-atlas`, seeds 0-49, only the arm entries of the atlas change); forearm and hand stay "
        "tapered capsules (learned forearm/hand polygons scored lower on held-out tuning seeds 25-49: 0.64 vs "
        "0.70).",
        "- Spot (static) views of a study with a whole-body view (mibgkit/anatomy/spot.py): the spot is resampled "
        "to the whole-body pixel size and located on the whole-body view of the same side by normalized "
        "cross-correlation of square-rooted counts (translation search, FFT); the whole-body map is sampled on "
        "the spot grid and `missing` names the segments with < 90 % of their whole-body area in the spot's "
        "scanned field. Below a match of 0.5 (a flood, not a body) the spot is unmapped. Views that cannot be "
        "mapped (no body, no landmark, a partial view whose field edges would be read as head and feet) are left "
        "out of `StudySegmentMaps.views` and listed in `StudySegmentMaps.unmapped` (volumes: `unmapped_volumes`) "
        "with a typed reason (`Unmapped.reason`, one of `UNMAPPED_REASONS`); the study fails only when nothing "
        "in it can be mapped. On the sample SPECT study (thorax and abdomen spots, ANT and POST): Dice of the "
        "registered spot maps against the spot truth 0.54-0.93 for the segments in view (thoracic cage "
        "0.80-0.82, pelvis 0.92-0.93; 0.36 for the sliver of skull at the top of the thorax spot), where mapping "
        "the spots on their own gave 0.00-0.07 (abdomen) or failed (thorax). Locating a spot costs 0.1-0.2 s CPU.",
        "- Atlas (mibgkit/data/atlas_planar.json): head, spine, thoracic cage and pelvis as per-view polygons in a "
        "body frame (s: vertex 0, chin 1, shoulder line 2, hip joints 3, knees 4; u: half-width of the head "
        "outline, from the shoulders down the age-proportioned shoulder and hip half-widths of the measured "
        "stature), placed "
        "by a piecewise-affine warp on the landmark grid; femur/tibia/humerus as per-view polygons in limb frames "
        "(between detected joints); forearms and hands as tapered capsules. Polygons were built by "
        "`--build-atlas` from the phantom population (seeds 0-49), per bone, with the bone → segment table in "
        "segments.json deciding labels. Per view the bone nearer the camera is painted; the humeri are painted "
        "over the trunk regions. All constants above were measured or tuned on seeds 0-49 only.",
        "- Trunk regions are a probabilistic atlas: per view the share of the 150 atlas cases (seeds 0-49 and "
        "100-199) in which each "
        "body-frame cell (0.004 s x 0.008 u, ~0.7 px) shows each bone, smoothed by 1.0 cell; a cell is painted "
        "with its most probable segment when that probability exceeds 0.42 (the Dice-optimal threshold of a "
        "probabilistic map lies near half the Dice reached, below the 0.5 of an argmax; chosen by split-half "
        "cross-validation on seeds 0-49). Holes are kept: the gaps between ribs and between vertebrae that the "
        "cases agree on are stored as inner contours and painted with the even-odd rule (not in the skull: the "
        "phantom's face lacks the maxilla, which a real face has, see NM1). The vertebral column (cervical, "
        "thoracic, lumbar) is stored in a stature lateral frame (lateral unit 0.115 of the measured length at every "
        "age; the vertebrae's width is a share of stature, not of the shoulder girdle). The trunk has its own levels and "
        "axis (mibgkit/anatomy/levels.py): the shoulder line and hip joints registered on a body-axis profile "
        "template (counts and outline width along the midline, learned per age on seeds 0-49 and 100-199) with a "
        "prior at "
        "the age proportions of the measured length, the chin one age-proportioned neck length above the "
        "shoulder line, the axis through the head centre and the gap between the legs "
        "(`BodyFit.rows['trunk_shoulder' / 'trunk_hip' / 'trunk_chin']`, `BodyFit.trunk_midline`; the arms and "
        "legs keep the landmark fit's levels and midline).",
        "",
        "## Caveats (what is still weak)",
        "",
        "- The atlas polygons and the arm constants were learned from the same phantom generator the benchmark "
        "uses (other seeds): the numbers here are optimistic for real patients, whose arm poses vary more than "
        "the phantom's four. On NM1 (real adult bone scan) the map sits on the visible skeleton, knees ~2-3 % of "
        "stature low.",
        "- Thoracic cage and spine stay below the 0.85 goal, and the limit is registration, not the filled shape "
        "as first suspected (measured on seeds 0-49, see 'Why the trunk Dice stalls' above). Ribs are 3-4 px "
        "wide: the truth against itself shifted by 1 px gives Dice 0.88 (cage) / 0.86 (spine), by 2 px "
        "0.79 / 0.73. The shoulder line from the age proportions is off by ~2 px (sd), the hip by ~1.5 px; with "
        "the true levels the same atlas reaches 0.87 / 0.85. On mIBG nothing marks the ribs, so the levels come "
        "from the outline (vertex and soles); individual variation of real patients' proportions (absent from "
        "the phantom, whose proportions are exact functions of age) will blur the rib pattern further - on real "
        "scans the map degrades towards a filled cage, which is what the probabilistic atlas would learn from a "
        "population with such variation.",
        "- The vertex is dragged 10-16 px up in some adolescents with raised arms (scatter between the hands and "
        "the head lifts the outline): 2 of 12 raised-arm atlas cases; their trunk maps sit ~10 px high.",
        "- The infant head fix (a head-wide block above a short gap in the central run is the head) was found by looking at benchmark failures (seeds 1002 and 1020, vertex put at the chin); its two constants were set a priori, not fitted. It changes nothing on the atlas seeds 0-49 nor on 36 fresh infant phantoms (seeds 60-95, 1-2.5 y, hands on the abdomen), none of which failed. Of the lesion-centre gain, about +1.9 points (ANT or POST, 8 mm) and the forearm/hand Dice gain come from these two studies; the trunk Dice gains do not (same medians without the fix: cage 0.818, spine 0.786, pelvis 0.928).",
        "- Forearms and hands (median 0.72, after the session-5 forearm round below) stay below the 0.75 goal. With "
        "the phantom's true joints the same capsules reach 0.80 (humerus polygons 0.92-0.95) on seeds 0-49, so "
        "joint placement still costs ~0.05 (session 5: true joints give 0.77 on seeds 0-199, the capsule shape is now the limit): wrists and fingertips are placed 0.4-0.6 % of "
        "stature off (table above), and the capsules are a few "
        "pixels wide. The on-the-abdomen forearm is placed by a linear model of the elbow offset and hip half-width (session 5) once the pose is detected (the faint "
        "band over the trunk is not traced); lesion centres near the wrist of such forearms are still assigned "
        "to the pelvis or thoracic cage. Capsule widths: with the session-4 joints 1.15 x the atlas radii "
        "(`planar._DISTAL_ARM_WIDTH`); a palm + finger-fan template was not tried (the fingers are 1-2 px wide: a "
        "direction error of a few degrees would miss them).",
        "- Raised arms: the elbow is the centre of the arm pixels one humerus length from the shoulder; taking "
        "the bend of the arm axis instead was tried and scored lower (humerus 0.72 vs 0.77 on seeds 0-49).",
        "- Lesion centres: use `nearest_segment` (8 mm); 95.5 % in ANT or POST with both 2026-11-27 rounds merged, "
        "still short of the 97 % goal (ceiling of the truth map 98.3 %). Analysed per round (nothing tuned on "
        "these seeds): with the arm round alone, 28 of the 51 misses on seeds 1000-1039 were in the upper limbs "
        "(16 humerus, mostly the proximal humerus assigned to the thoracic cage; 12 forearm/hand, mostly at the "
        "wrist of forearms on the abdomen; 9 of them in the two infants whose vertex the trunk round now finds); "
        "with the trunk round alone, 31 of 935 lesions outside the upper limbs were missed, 15 of them by the "
        "truth map too (pelvis lesions centred on the sacrum in both views).",
        "- Spot views are mapped only with a whole-body view of the same side in the study; alone they are "
        "reported unmapped (`no_landmark`). SPECT(/CT) volumes are placed through the whole-body views (see "
        "the SPECT section below); without a whole-body view and without landmarks in their own field they are "
        "reported unmapped too.",
    ]
    return "\n".join(lines) + "\n"


def _kinds_of(res: dict[str, Any]) -> str:
    """Row-label suffix when not every case was cached with its lesion kinds."""
    n_kinds = sum(v[1] for v in res.get("lesions_by_kind", {}).values())
    n_all = res["lesions_any"][1]
    return "" if n_kinds == n_all else f" of the {n_all}; only cases cached with lesion kinds"


def _truth_version_note(versions: dict[int, int]) -> str:
    """One sentence on which lesion-centre definition the cached cases carry."""
    cur = versions.get(TRUTH_VERSION, 0)
    n = sum(versions.values())
    if cur == n:
        return ("Lesion centres: a focus's centre; a diffuse lesion's centre is its involved voxel nearest the "
                "centroid that projects onto its segment (`phantom.lesions.diffuse_centre`), for all "
                f"{n} cases.")
    return (f"Lesion centres: only {cur} of {n} cases were cached with the current truth (diffuse centre on the "
            "lesion); the others carry the older centroid definition (rebuild with `--resimulate-stale`).")


def summary(res: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """Median / 10th-percentile Dice per segment, lesion rates and times, as plain numbers."""
    out: dict[str, Any] = {"seeds": [seeds[0], seeds[-1]], "n": len(seeds), "dice": {}}
    for k, d in res["dice"].items():
        a = np.asarray(d, dtype=float)
        if a.size:
            out["dice"][k] = [float(np.median(a)), float(np.percentile(a, 10))]
    for key in ("lesions", "lesions_any", "lesions_tol", "lesions_tol_any"):
        h, t, c = res[key]
        out[key] = [100.0 * h / max(t, 1), 100.0 * c / max(t, 1), t]
    for kind, (h, n, ch, eh, ech) in res.get("lesions_by_kind", {}).items():
        out[f"lesions_tol_any_{kind}"] = [100.0 * h / max(n, 1), 100.0 * ch / max(n, 1), n]
        out[f"lesions_any_{kind}"] = [100.0 * eh / max(n, 1), 100.0 * ech / max(n, 1), n]
    for key, (n, every, one) in res.get("lesions_top", {}).items():
        out[f"lesions_top_{key}"] = [100.0 * every / max(n, 1), 100.0 * one / max(n, 1), n]
    out["truth_versions"] = {str(k): v for k, v in res.get("truth_versions", {}).items()}
    t = np.asarray(res["times"], dtype=float)
    out["time_s"] = [float(np.median(t)), float(t.max())] if t.size else [float("nan")] * 2
    return out


def compare_table(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Markdown before/after table of two :func:`summary` results on the same seeds."""
    lines = [f"Before -> after on the same seeds {after['seeds'][0]}-{after['seeds'][1]}, same run "
             "(median Dice, 10th percentile in brackets):", "",
             "| segment | before | after | change |", "|---|---|---|---|"]
    for k, (m, p10) in after["dice"].items():
        if k in before["dice"]:
            bm, bp = before["dice"][k]
            lines.append(f"| {k} | {bm:.3f} ({bp:.3f}) | {m:.3f} ({p10:.3f}) | {m - bm:+.3f} |")
    names = {"lesions": "lesion centres, per view, exact", "lesions_any": "lesion centres, ANT or POST, exact",
             "lesions_tol": "lesion centres, per view, within 8 mm",
             "lesions_tol_any": "lesion centres, ANT or POST, within 8 mm"}
    for key, name in names.items():
        if key in before and key in after:
            lines.append(f"| {name} | {before[key][0]:.1f} % | {after[key][0]:.1f} % | {after[key][0] - before[key][0]:+.1f} |")
    for key, name in (("lesions_top_exact", "exact"), ("lesions_top_tol", "within 8 mm")):
        if key in before and key in after:
            for i, how in ((0, "every"), (1, "at least one")):
                lines.append(f"| lesion centres, {name}, right on {how} view where their segment is on top "
                             f"(n = {after[key][2]}) | {before[key][i]:.1f} % | {after[key][i]:.1f} % "
                             f"| {after[key][i] - before[key][i]:+.1f} |")
    lines.append(f"| time per study, median (max), s | {before['time_s'][0]:.3f} ({before['time_s'][1]:.3f}) "
                 f"| {after['time_s'][0]:.3f} ({after['time_s'][1]:.3f}) | |")
    return "\n".join(lines) + "\n"


def arm_joint_table(res: dict[str, Any]) -> list[str]:
    """Markdown lines: median distance of the fitted arm joints from the truth, by pose."""
    if not res.get("joint_err"):
        return []
    lines = ["", "Arm joints fitted vs the phantom's (`truth_arm_joints`), median distance in % of stature "
             "(both arms, ANT frame; 1 % is 7-17 mm):", "",
             "| arms | n arms | shoulder | elbow | wrist | fingertips |", "|---|---|---|---|---|---|"]
    allv = []
    for pose, errs in sorted(res["joint_err"].items()):
        e = np.asarray(errs)
        allv.append(e)
        lines.append(f"| {pose} | {e.shape[0]} | " + " | ".join(f"{x:.2f}" for x in np.median(e, axis=0)) + " |")
    e = np.concatenate(allv)
    lines.append(f"| all | {e.shape[0]} | " + " | ".join(f"{x:.2f}" for x in np.median(e, axis=0)) + " |")
    return lines


def arms_before_after(res: dict[str, Any]) -> list[str]:
    """Markdown lines: the upper limbs before (:data:`ARMS_BEFORE`) and now."""
    lines = ["", "Upper limbs before -> after the arm changes of 2026-11-27 (band edge on the counts, skeletal arm "
             "lengths, shoulder on the humerus axis, abducted forearms past the field edge, re-learned humerus "
             "polygons), same seeds, same job:", "",
             "| segment | before median (10th pct) | after median (10th pct) |", "|---|---|---|"]
    for k, (med, p10) in ARMS_BEFORE["dice"].items():
        d = np.asarray(res["dice"][k], dtype=float)
        lines.append(f"| {k} | {med:.3f} ({p10:.3f}) | {np.median(d):.3f} ({np.percentile(d, 10):.3f}) |")
    th, tot, _ = res["lesions_tol"]
    tah, at, _ = res["lesions_tol_any"]
    h, _, _ = res["lesions"]
    ah, _, _ = res["lesions_any"]
    now = {"per view": (100.0 * h / max(tot, 1), 100.0 * th / max(tot, 1)),
           "in ANT or POST": (100.0 * ah / max(at, 1), 100.0 * tah / max(at, 1))}
    for k, (ex, tol) in ARMS_BEFORE["lesions"].items():
        lines.append(f"| lesion centres {k}, exact / within 8 mm | {ex:.1f} % / {tol:.1f} % "
                     f"| {now[k][0]:.1f} % / {now[k][1]:.1f} % |")
    if res.get("joint_err"):
        e = np.median(np.concatenate([np.asarray(v) for v in res["joint_err"].values()]), axis=0)
        lines.append("| arm joints, median distance (% of stature): shoulder, elbow, wrist, fingertips | "
                     + ", ".join(f"{x:.2f}" for x in ARMS_BEFORE["joints"]) + " | "
                     + ", ".join(f"{x:.2f}" for x in e) + " |")
    return lines


def nm1_figure(out: Path) -> float:
    """Map the real NM1 bone scan and save the overlay; returns the mapping time."""
    import pydicom

    from mibgkit.anatomy import map_segments
    from mibgkit.anatomy.figures import overlay_png
    from mibgkit.io.model import PlanarView, StoredFrame, Study, StudyInfo

    f = REPO / "tests" / "data" / "nm_dicom" / "nema_wg04_nm1" / "NM1_RLE"
    ds = pydicom.dcmread(f)
    img = ds.pixel_array.astype(np.float32)
    sp = tuple(float(x) for x in ds.PixelSpacing)
    view = PlanarView(img, "ANT", "assumed", "whole_body", sp, StoredFrame(str(f), ds.SOPInstanceUID, 1, img.shape))  # type: ignore[arg-type]
    study = Study(StudyInfo(ds.StudyInstanceUID), views=[view])
    t0 = time.process_time()
    maps = map_segments(study, age_years=40.0)
    dt = time.process_time() - t0
    overlay_png(img, maps.views[0], out, title="NM1 (adult anterior bone scan)")
    return dt


def phantom_figure(seed: int, cache: Path, out_dir: Path) -> None:
    """Overlay of one benchmark phantom (ANT and POST) next to its truth."""
    from mibgkit.anatomy import map_segments
    from mibgkit.anatomy.figures import overlay_png
    from mibgkit.io.model import Study, StudyInfo

    c = load_case(seed, cache)
    ant, post = _planar_views(c)
    maps = map_segments(Study(StudyInfo(f"phantom-{seed}", patient_age_years=c["meta"]["age"]), views=[ant, post]))
    meta = c["meta"]
    for i, view in enumerate((ant, post)):
        overlay_png(view.image, maps.views[i], out_dir / f"segments_phantom_{view.view}.png",
                    title=f"phantom seed {seed}: {meta['age']} y, arms {meta['arms']}, {meta['pattern']} disease")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-atlas", action="store_true")
    ap.add_argument("--build-arm-atlas", action="store_true",
                    help="re-learn only the arm limb-frame regions (seeds 0-49, or --atlas-seeds)")
    ap.add_argument("--build-trunk-atlas", action="store_true",
                    help="re-learn only the body-frame (head, trunk, pelvis) regions (seeds 0-49 and 100-199, "
                         "or --atlas-seeds)")
    ap.add_argument("--build-levels", action="store_true",
                    help="learn the body-axis profile templates of the trunk levels (seeds 0-49 and 100-199, "
                         "or --atlas-seeds)")
    ap.add_argument("--arm-distal", action="store_true", help="with --build-arm-atlas: learn forearm/hand frames too")
    ap.add_argument("--atlas-seeds", type=int, nargs="+", metavar="FIRST STOP",
                    help="seed ranges [FIRST, STOP) to learn from (pairs; tuning seeds 0-499 only); default 0 50, "
                         "for --build-levels / --build-trunk-atlas the ranges of TRUNK_ATLAS_SEEDS")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mibgkit_bench_segments"))
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "segments.md")
    ap.add_argument("--only-cached", action="store_true", help="skip seeds not already in the cache")
    ap.add_argument("--resimulate-stale", action="store_true",
                    help="re-simulate (overwrite) cached benchmark cases whose truth is older than TRUTH_VERSION "
                         "(no lesion kinds, diffuse centres at the centroid)")
    ap.add_argument("--figures", type=Path, default=REPO / "docs" / "figures", help="where the overlay PNGs go")
    ap.add_argument("--json", type=Path, help="also write the summary figures (medians, lesion rates) as JSON")
    ap.add_argument("--collimator", choices=("ME", "LEHR"), default="ME",
                    help="collimator of the simulated cohort (LEHR: penetration halo; figures only)")
    ap.add_argument("--before-json", type=Path,
                    help="summary JSON of a previous version run on the same seeds: adds a before/after table")
    args = ap.parse_args(argv)
    global COLLIMATOR
    COLLIMATOR = args.collimator
    if args.build_atlas or args.build_arm_atlas or args.build_trunk_atlas or args.build_levels:
        spec = args.atlas_seeds
        if spec is None:
            spec = [x for r in (TRUNK_ATLAS_SEEDS if args.build_levels or args.build_trunk_atlas else ((0, 50),))
                    for x in r]
        if len(spec) % 2 or any(not (0 <= a < b <= 500) for a, b in zip(spec[::2], spec[1::2])):
            ap.error("--atlas-seeds takes FIRST STOP pairs within the tuning seeds 0-499")
        atlas_seeds = sorted({s for a, b in zip(spec[::2], spec[1::2]) for s in range(a, b)})
        if args.build_levels:
            build_levels(atlas_seeds, args.cache)
        else:
            build_atlas(atlas_seeds, args.cache, arms_only=args.build_arm_atlas,
                        arm_distal=args.arm_distal, trunk_only=args.build_trunk_atlas)
        return 0
    seeds = list(range(args.first_seed, args.first_seed + args.n))
    if args.only_cached:
        suffix = "" if COLLIMATOR == "ME" else f"_{COLLIMATOR}"
        seeds = [s for s in seeds if (args.cache / f"case_{s}{suffix}.npz").exists()]
    res = benchmark(seeds, args.cache, args.resimulate_stale)
    args.figures.mkdir(parents=True, exist_ok=True)
    nm1 = nm1_figure(args.figures / "segments_nm1.png")
    phantom_figure(seeds[0], args.cache, args.figures)
    text = report(res, seeds, nm1)
    summ = summary(res, seeds)
    if args.json is not None:
        args.json.write_text(json.dumps(summ, indent=1))
    if args.before_json is not None:
        text = text.replace("\n## Method", "\n" + compare_table(json.loads(args.before_json.read_text()), summ)
                            + "\n## Method", 1)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

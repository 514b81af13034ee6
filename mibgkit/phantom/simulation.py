"""``simulate``: one 24-h whole-body study (ANT + POST) of a synthetic child, with truth.

The in-memory :class:`~mibgkit.io.model.Study` is what :func:`mibgkit.load` returns for
the files :func:`mibgkit.phantom.write_dicom` writes: normalized images (posterior
mirrored into the anterior display frame), and :class:`~mibgkit.io.model.StoredFrame`
mappings for the default ``nm_multiframe`` layout (``write_dicom`` updates them for the
layout it writes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydicom.uid import generate_uid

from mibgkit.io.model import EnergyWindow, PlanarView, StoredFrame, Study, StudyInfo
from mibgkit.phantom import camera
from mibgkit.phantom.patient import WB_COLS, WB_ROWS, Patient
from mibgkit.phantom.truth import VISIBLE_CNR, Truth, TruthLesion, grade_lesions
from mibgkit.segments import bone_to_siopen

__all__ = ["Simulation", "simulate", "uid_for", "ENERGY_WINDOW", "SpotGeometry", "spot_geometry", "SPOT_SIZE",
           "SPOT_SECONDS", "DETECTOR_FOV_MM"]

#: 159 keV +- 10 % (DOMAIN.md).
ENERGY_WINDOW = EnergyWindow("I123", 143.1, 174.9)
VIEWS = ("ANT", "POST")


def uid_for(*parts: object) -> str:
    """A valid, reproducible DICOM UID derived from ``parts`` (pydicom ``generate_uid``)."""
    return str(generate_uid(entropy_srcs=["mibgkit-phantom", *[str(p) for p in parts]]))


@dataclass
class Simulation:
    """A simulated study and its ground truth.

    Parameters
    ----------
    study : Study
        Normalized views (and SPECT/CT volumes when asked), exactly as ``mibgkit.load``
        returns them for the written files.
    truth : Truth
    patient : Patient
    expected : dict
        View -> noise-free expected counts (normalized frame, float32); spot views under
        ``"<region>:<VIEW>"`` (256 x 256, their own pixel grid).
    stored : dict
        View (or ``"<region>:<VIEW>"``) -> the stored uint16 frame (what the DICOM file holds).
    acquisition : dict
        Acquisition parameters the DICOM writer needs (UIDs, times, activity, camera).
    spect : object, optional
        :class:`mibgkit.phantom.spect.SpectResult` when ``spect=True``.
    """

    study: Study
    truth: Truth
    patient: Patient
    expected: dict[str, np.ndarray]
    stored: dict[str, np.ndarray]
    acquisition: dict[str, Any]
    spect: Any = None
    layout: str = "nm_multiframe"
    extra: dict[str, Any] = field(default_factory=dict)


def _scan_speed_cm_min(age: float) -> float:
    return 5.0 if age < 3 else (8.0 if age < 10 else 10.0)


def _target_counts(p: Patient, activity_mbq: float, speed: float, collimator: str, rng: np.random.Generator) -> float:
    """Anterior whole-body counts: ~670 k at 8 cm/min, ME, 7-10 y (DOMAIN.md), scaled."""
    sens = camera.COLLIMATORS[collimator].sensitivity
    n = 670e3 * (activity_mbq / 130.0) * (8.0 / speed) * sens * float(rng.uniform(0.85, 1.15))
    return float(np.clip(n, 0.4e6, 1.5e6))


def _place(img: np.ndarray, row0: int, shift: tuple[int, int], fill: float = 0) -> np.ndarray:
    """Put a grid-rows image on the 1024 x 256 whole-body canvas, shifted by (rows, cols)."""
    out = np.full((WB_ROWS, WB_COLS), fill, dtype=img.dtype)
    r0 = row0 + shift[0]
    a, b = max(r0, 0), min(r0 + img.shape[0], WB_ROWS)
    src = img[a - r0 : b - r0]
    if shift[1] > 0:
        out[a:b, shift[1]:] = src[:, : WB_COLS - shift[1]]
    elif shift[1] < 0:
        out[a:b, : WB_COLS + shift[1]] = src[:, -shift[1]:]
    else:
        out[a:b] = src
    return out


SPOT_SIZE = 256
SPOT_SECONDS = 300.0
#: Pixel of a 256 x 256 frame at zoom 1 (a 533 x 387 mm detector, e.g. Siemens Symbia).
SPOT_NATIVE_PIXEL_MM = 2.3976
#: Zoom range of spot views: pixel 2.4 mm (zoom 1) to 1.2 mm (zoom 2).
SPOT_ZOOM_RANGE = (1.0, 2.0)
#: Useful field of view of the detector (mm) along the body (image rows) and across it
#: (columns); the header's Field of View Dimensions. Outside it a spot frame is empty.
DETECTOR_FOV_MM = (400.0, 540.0)
_SPOT_LEVELS = {"head": None, "thorax": 0.3, "abdomen": 0.65, "pelvis": 1.0, "knees": None}


@dataclass(frozen=True)
class SpotGeometry:
    """Where a 256 x 256 spot frame lies in the camera frame.

    Pixel ``(i, j)`` of the normalized spot image is centred at camera-frame
    ``(origin_mm[0] + i * pixel_mm, origin_mm[1] + j * pixel_mm)`` (row mm, col mm), the
    same frame in which whole-body pixel ``(r, c)`` is centred at ``(r, c) * wb_pixel_mm``.

    Parameters
    ----------
    name : str
        Region (``"thorax"``, ...).
    zoom, pixel_mm : float
        Acquisition zoom and the resulting pixel size (``SPOT_NATIVE_PIXEL_MM / zoom``).
    centre_mm : tuple of float
        Camera-frame (row mm, col mm) of the detector centre.
    """

    name: str
    zoom: float
    pixel_mm: float
    centre_mm: tuple[float, float]

    @property
    def origin_mm(self) -> tuple[float, float]:
        """Camera-frame (row mm, col mm) of the centre of spot pixel (0, 0)."""
        h = (SPOT_SIZE - 1) / 2.0
        return (self.centre_mm[0] - h * self.pixel_mm, self.centre_mm[1] - h * self.pixel_mm)

    def from_camera(self, row_mm: np.ndarray | float, col_mm: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Camera-frame mm -> normalized spot (row, col)."""
        o = self.origin_mm
        return (np.asarray(row_mm) - o[0]) / self.pixel_mm, (np.asarray(col_mm) - o[1]) / self.pixel_mm

    def camera_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Camera-frame (row mm, col mm) of every spot pixel centre, each (256, 256)."""
        o = self.origin_mm
        i = np.arange(SPOT_SIZE, dtype=float) * self.pixel_mm
        return np.meshgrid(o[0] + i, o[1] + i, indexing="ij")

    def in_field(self, row_mm: np.ndarray, col_mm: np.ndarray) -> np.ndarray:
        """True where the detector sees (its field of view, centred on ``centre_mm``)."""
        return np.asarray((np.abs(row_mm - self.centre_mm[0]) <= DETECTOR_FOV_MM[0] / 2)
                          & (np.abs(col_mm - self.centre_mm[1]) <= DETECTOR_FOV_MM[1] / 2))


def spot_geometry(p: Patient, name: str) -> SpotGeometry:
    """Centre the detector on a region of the child and zoom so the body fits (1-2x).

    Parameters
    ----------
    p : Patient
    name : {"head", "thorax", "abdomen", "pelvis", "knees"}

    Returns
    -------
    SpotGeometry
    """
    if name not in _SPOT_LEVELS:
        raise ValueError(f"spot region must be one of {sorted(_SPOT_LEVELS)}, not {name!r}")
    a = p.anatomy
    lm = a.lm
    frac = _SPOT_LEVELS[name]
    z = {"head": 0.6 * lm.z_chin, "knees": lm.z_knee}.get(name, lm.level(frac or 0.0))
    centre = a.placement.to_scanner(np.array([z, 0.0, 0.0]))
    # the body's width over the central 200 mm of the region, plus a margin, fills the frame
    g = a.grid
    r = int(round(centre[0] / g.pixel_mm)) - g.row0
    half = int(100.0 / g.pixel_mm)
    band = (a.tissue[max(r - half, 0) : max(r + half, 1)] > 0).any(axis=(0, 1))
    cols = np.nonzero(band)[0]
    width = (cols[-1] - cols[0] + 1) * g.pixel_mm if len(cols) else 300.0
    zoom = float(np.clip(SPOT_NATIVE_PIXEL_MM * SPOT_SIZE / (width + 60.0), *SPOT_ZOOM_RANGE))
    zoom = float(np.floor(zoom * 20.0) / 20.0)  # camera zoom steps of 0.05
    # the pixel as the header stores it (PixelSpacing, 4 decimals), so loading gives the same grid
    return SpotGeometry(name, zoom, round(SPOT_NATIVE_PIXEL_MM / zoom, 4), (float(centre[0]), float(centre[2])))


def simulate(
    patient: Patient,
    seed: int = 0,
    collimator: str = "ME",
    spect: bool = False,
    counts: float | None = None,
    post_shift: tuple[int, int] | None = None,
    acquisition_datetime: dt.datetime | None = None,
    with_ct: bool = True,
    spots: tuple[str, ...] = (),
    spot_seconds: float = SPOT_SECONDS,
) -> Simulation:
    """Simulate a 24-h 123I-mIBG whole-body study (anterior + posterior).

    Parameters
    ----------
    patient : Patient
        From :func:`mibgkit.phantom.make_patient`.
    seed : int
        Noise and acquisition draws.
    collimator : {"ME", "LEHR"}
        LEHR has better resolution but a septal-penetration halo around hot organs.
    spect : bool
        Also simulate a reconstructed SPECT (and low-dose CT) volume.
    counts : float, optional
        Total anterior counts; default from activity, scan speed and collimator
        (0.4-1.5 million).
    post_shift : tuple of int, optional
        (rows, cols) misregistration of the posterior detector in the normalized frame;
        drawn within +-2 rows / +-1 col when omitted.
    acquisition_datetime : datetime, optional
    with_ct : bool
        With ``spect``: also the CT-like volume.
    spots : tuple of str
        Static 256 x 256 spot views (ANT + POST) of these regions: ``"head"``,
        ``"thorax"``, ``"abdomen"``, ``"pelvis"``, ``"knees"``. Each has its own zoom
        (pixel 1.2-2.4 mm, :func:`spot_geometry`), time and counts, and is simulated on its
        own pixel grid (:func:`_simulate_spot`). Added to ``study.views`` with
        ``kind="static"``; ``truth.spots[name]`` holds its geometry, lesion positions and
        view mappings, ``truth.spot_labels`` its label maps.
    spot_seconds : float
        Acquisition time of each spot view.

    Returns
    -------
    Simulation
    """
    if collimator not in camera.COLLIMATORS:
        raise ValueError(f"collimator must be one of {sorted(camera.COLLIMATORS)}, not {collimator!r}")
    rng = np.random.default_rng([int(seed), int(patient.seed), 11])
    a = patient.anatomy
    g = a.grid
    act = patient.activity()
    shift = post_shift if post_shift is not None else (int(rng.integers(-2, 3)), int(rng.integers(-1, 2)))
    shifts = {"ANT": (0, 0), "POST": (int(shift[0]), int(shift[1]))}

    activity_mbq = float(np.clip(5.2 * patient.weight_kg, 37.0, 370.0))
    speed = _scan_speed_cm_min(patient.age_years)
    n_target = float(counts) if counts else _target_counts(patient, activity_mbq, speed, collimator, rng)
    col_ = camera.COLLIMATORS[collimator]
    primary_frac = 1.0 - col_.scatter - col_.penetration

    raw: dict[str, np.ndarray] = {}
    att: dict[str, camera.ColumnCrop] = {}
    dist: dict[str, np.ndarray] = {}
    for v in VIEWS:
        raw[v], att[v], dist[v] = camera.project(act, a.tissue, g, v, collimator)
    # focal lesions, analytically at their sub-pixel positions
    les_spots: dict[str, list[tuple[tuple[slice, slice], np.ndarray]]] = {v: [] for v in VIEWS}
    les_sigma: dict[str, list[float]] = {v: [] for v in VIEWS}
    focal = [les for les in patient.lesions if les.kind == "focal"]
    for les in focal:
        idx = np.clip(np.round(g.index_of(les.centre_mm)).astype(int), 0, np.array(g.shape) - 1)
        vol = 4.0 / 3.0 * np.pi * les.radius_mm**3
        for v in VIEWS:
            d = float(dist[v][idx[0], idx[1]])
            sig_mm = np.sqrt((float(camera.fwhm_mm(d, collimator)) / 2.3548) ** 2 + les.radius_mm**2 / 5.0)
            total = (les.contrast - a.background) * vol / g.pixel_mm**2 * float(att[v][tuple(idx)])
            spot = camera.gaussian_spot(raw[v].shape, les.centre_mm[0] / g.pixel_mm - g.row0,
                                        les.centre_mm[2] / g.pixel_mm, sig_mm / g.pixel_mm, total)
            raw[v][spot[0]] += spot[1]
            les_spots[v].append(spot)
            les_sigma[v].append(sig_mm / g.pixel_mm)
    expected: dict[str, np.ndarray] = {}
    haloed: dict[str, np.ndarray] = {}
    k = None
    for v in VIEWS:
        img = haloed[v] = camera.add_halo(raw[v], g.pixel_mm, collimator)
        if k is None:
            k = n_target / max(float(img.sum()), 1e-9)
        expected[v] = _place(img * k, g.row0, shifts[v])
    assert k is not None
    noisy = {v: rng.poisson(expected[v]).astype(np.float32) for v in VIEWS}
    stored = {v: (noisy[v] if v == "ANT" else noisy[v][:, ::-1]).astype(np.uint16) for v in VIEWS}

    # --- identity, UIDs and times -------------------------------------------------------------
    h = hashlib.sha1(f"{patient.patient_id}-{patient.timepoint}-{seed}".encode()).hexdigest()
    acq_dt = acquisition_datetime or (
        dt.datetime(2026, 1, 5, 9, 30) + dt.timedelta(days=int(h[:4], 16) % 300 + patient.days_from_diagnosis,
                                                        minutes=int(h[4:6], 16) % 90))
    inj_dt = acq_dt - dt.timedelta(hours=24)
    study_uid = uid_for(patient.patient_id, patient.timepoint, seed, "study")
    series_uid = uid_for(study_uid, "wb-series")
    sop_uid = uid_for(study_uid, "wb-nm-multiframe")
    info = StudyInfo(
        study_instance_uid=study_uid,
        patient_key="",
        patient_age_years=float(int(patient.age_years)),
        patient_sex=patient.sex,
        patient_weight_kg=float(patient.weight_kg),
        patient_height_m=round(a.prop.stature / 1000.0, 2),
        study_datetime=acq_dt,
        acquisition_datetime=acq_dt,
        radiopharmaceutical="Iobenguane I^123^",
        injected_activity_mbq=round(activity_mbq, 1),
        injection_datetime=inj_dt,
        manufacturer="mibgkit phantom",
        model=f"SimCam {collimator}",
        collimator=collimator,
        energy_windows=[ENERGY_WINDOW],
        image_type=("ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"),
        study_description="MIBG 123I WHOLE BODY 24H",
        phi={"PatientName": patient.patient_name, "PatientID": patient.patient_id},
    )
    speed_mm_s = speed * 10.0 / 60.0
    views = []
    for i, v in enumerate(VIEWS, start=1):
        views.append(PlanarView(
            image=noisy[v],
            view=v,  # type: ignore[arg-type]
            view_source="DetectorInformationSequence",
            kind="whole_body",
            pixel_spacing_mm=(g.pixel_mm, g.pixel_mm),
            source=StoredFrame(path="", sop_instance_uid=sop_uid, frame=i, stored_shape=(WB_ROWS, WB_COLS),
                               mirrored=(v == "POST")),
            series_instance_uid=series_uid,
            series_description="WB MIBG 24H",
            detector=i,
            energy_window=1,
            scan_velocity_mm_s=speed_mm_s,
            acquisition_datetime=acq_dt,
            scan_fov_mm=DETECTOR_FOV_MM[0],
        ))
    spot_info: dict[str, dict[str, Any]] = {}
    spot_labels: dict[str, np.ndarray] = {}
    for name in spots:
        geo = spot_geometry(patient, name)
        spot_sop = uid_for(study_uid, "spot", name)
        spot_series = uid_for(study_uid, "spot-series", name)
        t_wb = DETECTOR_FOV_MM[0] / speed_mm_s  # seconds each body point is seen in the pass
        scale = k * (geo.pixel_mm / g.pixel_mm) ** 2 * spot_seconds / t_wb
        info_views: dict[str, Any] = {}
        for i, v in enumerate(VIEWS, start=1):
            lam, lab = _simulate_spot(patient, geo, v, haloed[v], les_spots[v], les_sigma[v], primary_frac,
                                      collimator)
            img = rng.poisson(lam * scale).astype(np.float32)
            src = StoredFrame(path="", sop_instance_uid=spot_sop, frame=i, stored_shape=(SPOT_SIZE, SPOT_SIZE),
                              mirrored=(v == "POST"))
            views.append(PlanarView(
                image=img, view=v, view_source="DetectorInformationSequence",  # type: ignore[arg-type]
                kind="static", pixel_spacing_mm=(geo.pixel_mm, geo.pixel_mm), source=src,
                series_instance_uid=spot_series, series_description=f"SPOT {name.upper()} {spot_seconds:.0f}S",
                detector=i, energy_window=1, frame_duration_s=spot_seconds, acquisition_datetime=acq_dt,
                scan_fov_mm=DETECTOR_FOV_MM[0]))
            stored[f"{name}:{v}"] = (img if v == "ANT" else img[:, ::-1]).astype(np.uint16)
            expected[f"{name}:{v}"] = (lam * scale).astype(np.float32)
            spot_labels[f"{name}:{v}"] = lab
            info_views[v] = {"frame": i, "mirrored": v == "POST", "stored_shape": [SPOT_SIZE, SPOT_SIZE],
                             "counts": int(img.sum()), "shift_rows_cols": [0, 0]}
        spot_info[name] = {
            "sop_instance_uid": spot_sop, "series_instance_uid": spot_series, "zoom": geo.zoom,
            "pixel_mm": round(geo.pixel_mm, 4), "frame_duration_s": spot_seconds,
            "centre_mm": [round(c, 2) for c in geo.centre_mm], "origin_mm": [round(c, 3) for c in geo.origin_mm],
            "views": info_views, "lesions": _spot_lesions(patient, geo),
        }
    study = Study(info=info, views=views)
    acquisition = {
        "collimator": collimator,
        "activity_mbq": round(activity_mbq, 1),
        "injection_datetime": inj_dt.isoformat(),
        "acquisition_datetime": acq_dt.isoformat(),
        "scan_speed_cm_min": speed,
        "scan_velocity_mm_s": round(speed_mm_s, 4),
        "pixel_mm": g.pixel_mm,
        "counts": {v: int(noisy[v].sum()) for v in VIEWS},
        "target_counts_ant": round(n_target),
        "post_shift_rows_cols": list(shifts["POST"]),
        "study_instance_uid": study_uid,
        "series_instance_uid": series_uid,
        "sop_instance_uid": sop_uid,
        "seed": int(seed),
    }
    truth = _truth(patient, expected, k * primary_frac, shifts, les_spots, les_sigma, att, acquisition)
    truth.spots = spot_info
    truth.spot_labels = spot_labels
    sim = Simulation(study, truth, patient, expected, stored, acquisition)
    sim.truth.views = {
        v.view: {"sop_instance_uid": v.source.sop_instance_uid, "frame": v.source.frame,
                 "mirrored": v.source.mirrored, "stored_shape": list(v.source.stored_shape),
                 "shift_rows_cols": list(shifts[v.view])}
        for v in views if v.kind == "whole_body"
    }
    if spect:
        from mibgkit.phantom.spect import initial_volumes, simulate_spect

        sim.spect = simulate_spect(patient, act, rng, study_uid=study_uid, acq_dt=acq_dt, with_ct=with_ct)
        study.volumes.extend(initial_volumes(sim.spect, study_uid))
    return sim


def _simulate_spot(
    p: Patient,
    geo: SpotGeometry,
    view: str,
    haloed: np.ndarray,
    les_patches: list[tuple[tuple[slice, slice], np.ndarray]],
    les_sigma_px: list[float],
    primary_frac: float,
    collimator: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free spot frame (whole-body count-density units) and its SIOPEN label map.

    The smooth part of the projection (organs, soft tissue, scatter and penetration halo,
    lesion halos) is resampled from the whole-body projection, whose pixel is already finer
    than a third of the system FWHM; each focal lesion's primary image is drawn again
    analytically on the spot's own pixels (sub-pixel centre, PSF at its depth convolved with
    the sphere). Outside the detector's field of view the frame is empty.

    Returns
    -------
    expected : ndarray of shape (256, 256), float32
        Density per spot pixel, in the whole-body projection's units (scale by
        ``k * (spot pixel / wb pixel)^2 * time ratio`` for counts).
    labels : ndarray of shape (256, 256), uint8
        SIOPEN label of the nearest whole-body grid pixel, 0 outside the field of view.
    """
    from scipy import ndimage

    a = p.anatomy
    g = a.grid
    lesions_wb = np.zeros_like(haloed)
    for sl, patch in les_patches:
        lesions_wb[sl] += patch
    smooth = haloed - np.float32(primary_frac) * lesions_wb
    rmm, cmm = geo.camera_grid()
    gr, gc = rmm / g.pixel_mm - g.row0, cmm / g.pixel_mm
    out = ndimage.map_coordinates(smooth, [gr, gc], order=1, mode="constant", cval=0.0)
    focal = [les for les in p.lesions if les.kind == "focal"]
    for les, (_, patch), sig_px in zip(focal, les_patches, les_sigma_px):
        wb_total = float(patch.sum())  # = (contrast - bg) * volume / wb_pixel^2 * attenuation
        if wb_total <= 0:
            continue
        r, c = geo.from_camera(les.centre_mm[0], les.centre_mm[2])
        sig = sig_px * g.pixel_mm / geo.pixel_mm
        total = wb_total * (g.pixel_mm / geo.pixel_mm) ** 2
        h = 4 * sig + 2
        if -h < float(r) < SPOT_SIZE + h and -h < float(c) < SPOT_SIZE + h:
            sl, sp = camera.gaussian_spot((SPOT_SIZE, SPOT_SIZE), float(r), float(c), sig, total)
            out[sl] += primary_frac * sp
    field_ = geo.in_field(rmm, cmm)
    out = np.where(field_, np.maximum(out, 0.0), 0.0).astype(np.float32)
    lab_wb = a.segment_label_map(view)
    ri, ci = np.rint(gr).astype(int), np.rint(gc).astype(int)
    ok = field_ & (ri >= 0) & (ri < g.shape[0]) & (ci >= 0) & (ci < g.shape[2])
    labels = np.zeros((SPOT_SIZE, SPOT_SIZE), dtype=np.uint8)
    labels[ok] = lab_wb[ri[ok], ci[ok]]
    return out, labels


def _spot_lesions(p: Patient, geo: SpotGeometry) -> dict[str, dict[str, Any]]:
    """Lesion id -> positions (normalized and stored) in a spot's frames, for lesions in its field."""
    out: dict[str, dict[str, Any]] = {}
    for les in p.lesions:
        r, c = (float(x) for x in geo.from_camera(les.centre_mm[0], les.centre_mm[2]))
        if not (0 <= r <= SPOT_SIZE - 1 and 0 <= c <= SPOT_SIZE - 1):
            continue
        if not bool(geo.in_field(np.array(les.centre_mm[0]), np.array(les.centre_mm[2]))):
            continue
        pos = {v: [round(r, 2), round(c, 2)] for v in VIEWS}
        stored = {"ANT": [round(r, 2), round(c, 2)], "POST": [round(r, 2), round(SPOT_SIZE - 1 - c, 2)]}
        out[les.id] = {"positions": pos, "stored_positions": stored}
    return out


def _truth(
    p: Patient,
    expected: dict[str, np.ndarray],
    k_primary: float,
    shifts: dict[str, tuple[int, int]],
    les_spots: dict[str, list[tuple[tuple[slice, slice], np.ndarray]]],
    les_sigma: dict[str, list[float]],
    att: dict[str, camera.ColumnCrop],
    acquisition: dict[str, Any],
) -> Truth:
    a = p.anatomy
    g = a.grid
    labels = {v: _place(a.segment_label_map(v), g.row0, shifts[v]) for v in VIEWS}
    # lesions ---------------------------------------------------------------------------
    tl: list[TruthLesion] = []
    fi = 0
    rr, cc = np.mgrid[0:WB_ROWS, 0:WB_COLS]
    lps_origin = np.array([WB_COLS / 2 * g.pixel_mm, a.placement.d0 + a.lm.table_y, 0.0])
    for les in p.lesions:
        pos = {v: (les.centre_mm[0] / g.pixel_mm + shifts[v][0], les.centre_mm[2] / g.pixel_mm + shifts[v][1])
               for v in VIEWS}
        cnr: dict[str, float] = {}
        if les.kind == "focal":
            for v in VIEWS:
                sl, patch = les_spots[v][fi]
                sig = les_sigma[v][fi]
                r, c = pos[v]
                sl_s = (slice(sl[0].start + g.row0 + shifts[v][0], sl[0].stop + g.row0 + shifts[v][0]),
                        slice(sl[1].start + shifts[v][1], sl[1].stop + shifts[v][1]))
                disc = (rr[sl_s] - r) ** 2 + (cc[sl_s] - c) ** 2 <= (1.585 * sig) ** 2
                pr, pc = patch.shape
                disc = disc[:pr, :pc]
                net = float(patch[: disc.shape[0], : disc.shape[1]][disc].sum()) * k_primary
                tot = float(expected[v][sl_s][disc].sum()) if disc.size else 0.0
                cnr[v] = net / np.sqrt(max(tot - net, 1.0))
            fi += 1
        else:
            assert les.voxels is not None
            idx = np.unravel_index(les.voxels, g.shape)
            for v in VIEWS:
                exc = (les.contrast - a.background) * att[v][idx] * g.depth_mm
                foot = np.zeros((g.shape[0], g.shape[2]), dtype=bool)
                foot[idx[0], idx[2]] = True
                net = float(exc.sum()) * k_primary
                bg = float(expected[v][_place(foot.astype(np.uint8), g.row0, shifts[v]).astype(bool)].sum())
                cnr[v] = net / np.sqrt(max(bg - net, 1.0))
        centre = np.asarray(les.centre_mm, dtype=float)
        lps = (centre[2] - lps_origin[0], centre[1] - lps_origin[1], -centre[0])
        stored_pos = {v: (pos[v][0], (WB_COLS - 1 - pos[v][1]) if v == "POST" else pos[v][1]) for v in VIEWS}
        tl.append(TruthLesion(
            id=les.id, segment=les.segment, bone=les.bone, kind=les.kind,
            centre_mm=(float(centre[0]), float(centre[1]), float(centre[2])), radius_mm=float(les.radius_mm),
            contrast=float(les.contrast), diffuse_fraction=float(les.diffuse_fraction), positions=pos,
            visible=max(cnr.values()) >= VISIBLE_CNR, curie_segment=les.curie_segment, level=les.level,
            site=les.site, cnr=cnr, stored_positions=stored_pos, centre_lps=lps))
    # grades -------------------------------------------------------------------------------
    bone_vox: dict[str, int] = {}
    for part in a.skeleton.parts:
        bone_vox[part.bone] = bone_vox.get(part.bone, 0) + len(a.part_voxels(part.id))
    siopen, curie, stats = grade_lesions(p.lesions, bone_vox, 1 if p.primary is not None else 0)
    seen = [les for les, t in zip(p.lesions, tl) if t.visible]
    siopen_vis, curie_vis, _ = grade_lesions(seen, bone_vox, 1 if p.primary is not None else 0)
    # organs ---------------------------------------------------------------------------------
    organs: dict[str, dict[str, tuple[float, float]]] = {}
    masks: dict[str, dict[str, np.ndarray]] = {v: {} for v in VIEWS}
    projs: dict[str, np.ndarray] = {}
    for o in a.organs:
        if o.name != "blood_pool":
            m = a.organ_projection(o.name)
            if m.any():
                projs[o.name] = m
    if p.primary is not None:
        m = np.zeros((g.shape[0], g.shape[2]), dtype=bool)
        for s in p.primary.shapes:
            ras = s.rasterize(g, a.placement)
            if ras is not None:
                sl3, mk = ras
                m[sl3[0], sl3[2]] |= mk.any(axis=1)
        projs["primary_tumour"] = m
    for name, m in projs.items():
        organs[name] = {}
        for v in VIEWS:
            full = _place(m.astype(np.uint8), g.row0, shifts[v]).astype(bool)
            masks[v][name] = full
            r_, c_ = np.nonzero(full)
            if len(r_):
                organs[name][v] = (float(r_.mean()), float(c_.mean()))
    patient_meta = {
        "patient_id": p.patient_id, "name": p.patient_name, "age_years": round(p.age_years, 2), "sex": p.sex,
        "weight_kg": p.weight_kg, "stature_mm": round(a.prop.stature, 1), "arms": p.arms, "pattern": p.pattern,
        "seed": p.seed, "timepoint": p.timepoint, "days_from_diagnosis": p.days_from_diagnosis,
        "primary_tumour": p.primary is not None,
        "tilt_deg": round(a.placement.tilt_deg, 3),
    }
    _check_segments(p)
    return Truth(labels, tl, organs, masks, siopen, int(sum(siopen.values())), curie, int(sum(curie.values())),
                 patient=patient_meta, acquisition=acquisition, segment_stats=stats,
                 siopen_visible=siopen_vis, curie_visible=curie_vis)


def _check_segments(p: Patient) -> None:
    """Every lesion's segment is the one its bone belongs to (data-file table)."""
    table = bone_to_siopen()
    for les in p.lesions:
        if table[les.bone] != les.segment:
            raise AssertionError(f"lesion {les.id}: bone {les.bone} is in {table[les.bone]}, not {les.segment}")

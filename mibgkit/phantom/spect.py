"""Reconstructed-looking SPECT (128^3, 4.4 mm) and a matching low-dose CT-like volume.

Not a tomographic simulation: the activity model is resampled onto the SPECT grid, focal
lesions are painted as spheres, the volume is blurred to the reconstructed resolution
(~12 mm FWHM, OSEM with resolution recovery would be better) and given correlated noise
(smoothed Poisson) at a realistic count level. The CT has HU per tissue class (bone +700,
soft tissue +40, lung -800, air -1000) with noise, on the same grid and Frame of Reference.

Patient LPS is derived from the camera frame: ``L = col_mm - 128 * pixel``,
``P = depth_mm - table_depth``, ``S = -row_mm`` (the truth's ``centre_lps`` uses the same).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import RLELossless
from scipy import ndimage

from mibgkit.io.model import StoredFrame, Volume
from mibgkit.phantom.body import TISSUE_BONE, TISSUE_LUNG, TISSUE_SOFT
from mibgkit.phantom.patient import WB_COLS, Patient

if TYPE_CHECKING:  # pragma: no cover
    from mibgkit.phantom.simulation import Simulation

__all__ = ["SpectResult", "simulate_spect", "write_spect", "camera_to_lps", "SPECT_SHAPE", "SPECT_VOXEL_MM"]

SPECT_SHAPE = (128, 128, 128)
SPECT_VOXEL_MM = 4.4
RECON_FWHM_MM = 12.0
HU = {0: -1000.0, TISSUE_SOFT: 40.0, TISSUE_LUNG: -800.0, TISSUE_BONE: 700.0}


def camera_to_lps(p: Patient, camera_mm: np.ndarray) -> np.ndarray:
    """Camera frame (row mm, depth mm, col mm), shape (..., 3) -> patient LPS (mm)."""
    a = p.anatomy
    c = np.asarray(camera_mm, dtype=float)
    table = a.placement.d0 + a.lm.table_y
    return np.stack([c[..., 2] - WB_COLS / 2 * a.grid.pixel_mm, c[..., 1] - table, -c[..., 0]], axis=-1)


@dataclass
class SpectResult:
    """SPECT (and CT) arrays with their geometry.

    ``spect`` is (slices, rows, cols) with slices head -> feet (as stored, with a negative
    Spacing Between Slices); ``ct`` is (slices, rows, cols) feet -> head (a per-slice CT
    series sorted along its normal, as loaded). ``origin_lps`` is the centre of voxel
    [0, 0, 0] of the SPECT array (most superior slice).
    """

    spect: np.ndarray
    ct: np.ndarray | None
    origin_lps: tuple[float, float, float]
    spacing_mm: float
    study_uid: str
    acq_dt: dt.datetime
    volumes: list[Volume] = field(default_factory=list)
    labels: np.ndarray | None = None  # SIOPEN labels on the SPECT grid


def _sample_grid(p: Patient, origin_lps: np.ndarray, n: tuple[int, int, int], step: float) -> np.ndarray:
    """Fractional model-grid indices (3, s, r, c) of the SPECT voxel centres."""
    a = p.anatomy
    s, r, c = np.meshgrid(np.arange(n[0]), np.arange(n[1]), np.arange(n[2]), indexing="ij")
    L = origin_lps[0] + c * step
    P = origin_lps[1] + r * step
    S = origin_lps[2] - s * step
    table = a.placement.d0 + a.lm.table_y
    row_mm, depth_mm, col_mm = -S, P + table, L + WB_COLS / 2 * a.grid.pixel_mm
    return np.stack([row_mm / a.grid.pixel_mm - a.grid.row0, depth_mm / a.grid.depth_mm, col_mm / a.grid.pixel_mm])


def simulate_spect(
    p: Patient,
    activity: np.ndarray,
    rng: np.random.Generator,
    study_uid: str,
    acq_dt: dt.datetime,
    with_ct: bool = True,
    centre_level: float = 0.45,
    counts_per_liver_voxel: float = 60.0,
) -> SpectResult:
    """SPECT/CT of the trunk of a simulated child.

    Parameters
    ----------
    p : Patient
    activity : ndarray
        The patient's activity volume (``Patient.activity()``).
    rng : numpy Generator
    study_uid : str
    acq_dt : datetime
    with_ct : bool
    centre_level : float
        Field-of-view centre as a fraction of the shoulder -> hip distance.
    counts_per_liver_voxel : float
        Noise level: mean reconstructed counts of a liver voxel.
    """
    a = p.anatomy
    n = SPECT_SHAPE
    step = SPECT_VOXEL_MM
    z_c = a.lm.level(centre_level)
    centre_cam = a.placement.to_scanner(np.array([z_c, 0.0, 0.0]))
    centre_lps = camera_to_lps(p, centre_cam)
    half = (np.array(n) - 1) / 2 * step
    origin = np.round(np.array([centre_lps[0] - half[2], centre_lps[1] - half[1], centre_lps[2] + half[0]]), 3)
    idx = _sample_grid(p, origin, n, step)
    vol = ndimage.map_coordinates(activity, idx, order=1, mode="constant", cval=0.0).astype(np.float32)
    # focal lesions as spheres (sub-voxel: supersampled by the blur that follows)
    ss, rr, cc = np.meshgrid(np.arange(n[0]), np.arange(n[1]), np.arange(n[2]), indexing="ij", sparse=True)
    for les in p.lesions:
        if les.kind != "focal":
            continue
        lps = camera_to_lps(p, np.asarray(les.centre_mm))
        ci = np.array([(origin[2] - lps[2]) / step, (lps[1] - origin[1]) / step, (lps[0] - origin[0]) / step])
        if np.any(ci < -3) or np.any(ci > np.array(n) + 2):
            continue
        rad = max(les.radius_mm / step, 0.6)
        d2 = (ss - ci[0]) ** 2 + (rr - ci[1]) ** 2 + (cc - ci[2]) ** 2
        vol[d2 <= rad**2] = les.contrast
    sigma = RECON_FWHM_MM / 2.3548 / step
    vol = ndimage.gaussian_filter(vol, sigma)
    k = counts_per_liver_voxel
    noisy = rng.poisson(np.maximum(vol, 0) * k).astype(np.float32)
    noisy = ndimage.gaussian_filter(noisy, 0.7) / k
    spect = np.clip(noisy * 100.0, 0, 65535).astype(np.float32)  # liver ~100 counts
    ct = None
    if with_ct:
        tissue = ndimage.map_coordinates(a.tissue, idx, order=0, mode="constant", cval=0).astype(np.uint8)
        lut = np.array([HU.get(i, 0.0) for i in range(4)], dtype=np.float32)
        ct = lut[tissue] + rng.normal(0, 12, tissue.shape).astype(np.float32)
        ct = ndimage.gaussian_filter(ct, 0.6)
        ct = np.round(np.clip(ct, -1024, 3000))[::-1].astype(np.float32)  # feet -> head
    labels = None
    part = ndimage.map_coordinates(a.part, idx, order=0, mode="constant", cval=0).astype(np.uint8)
    lut8 = np.zeros(256, dtype=np.uint8)
    from mibgkit.segments import label_of

    for bp in a.skeleton.parts:
        lut8[bp.id] = label_of(bp.segment)
    labels = lut8[part]
    return SpectResult(np.round(spect).astype(np.float32), ct, (float(origin[0]), float(origin[1]), float(origin[2])),
                       step, study_uid, acq_dt, [], labels)


def _volumes(res: SpectResult, spect_path: str, spect_sop: str, spect_series: str, for_uid: str,
             ct_paths: list[str], ct_sops: list[str], ct_series: str) -> list[Volume]:
    n = res.spect.shape
    st = res.spacing_mm
    vols = [Volume(
        array=res.spect,
        spacing_mm=(st, st, st),
        origin_lps=res.origin_lps,
        direction=np.column_stack([[1.0, 0, 0], [0, 1.0, 0], [0, 0, -1.0]]),
        modality="NM",
        sources=[StoredFrame(spect_path, spect_sop, i + 1, (n[1], n[2])) for i in range(n[0])],
        series_instance_uid=spect_series,
        frame_of_reference_uid=for_uid,
        series_description="SPECT MIBG 24H OSEM AC",
        geometry_source="DetectorInformationSequence",
    )]
    if res.ct is not None:
        o = res.origin_lps
        vols.append(Volume(
            array=res.ct,
            spacing_mm=(st, st, st),
            origin_lps=(o[0], o[1], o[2] - (n[0] - 1) * st),
            direction=np.eye(3),
            modality="CT",
            sources=[StoredFrame(ct_paths[i], ct_sops[i], 1, (n[1], n[2])) for i in range(n[0])],
            series_instance_uid=ct_series,
            frame_of_reference_uid=for_uid,
            series_description="LOW DOSE CT FOR AC",
            geometry_source="ImagePositionPatient",
        ))
    return vols


def write_spect(sim: "Simulation", out: Path) -> list[Path]:
    """Write the SPECT as an NM RECON TOMO multi-frame object and the CT as a CT series.

    Updates ``sim.study.volumes`` with the written geometry and sources.
    """
    from mibgkit.phantom.dicom_writer import (
        CT_IMAGE_STORAGE,
        NM_IMAGE_STORAGE,
        _base,
        _radiopharmaceutical,
        _save,
    )
    from mibgkit.phantom.simulation import uid_for

    res: SpectResult = sim.spect
    study_uid = sim.study.info.study_instance_uid
    for_uid = uid_for(study_uid, "spect-for")
    n = res.spect.shape
    st = res.spacing_mm
    written: list[Path] = []
    sop = uid_for(study_uid, "spect", "sop")
    series = uid_for(study_uid, "spect", "series")
    ds = _base(sim, NM_IMAGE_STORAGE, sop, series, 10, "SPECT MIBG 24H OSEM AC")
    ds.FrameOfReferenceUID = for_uid
    ds.ImageType = ["ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"]
    ds.FrameIncrementPointer = [0x00540080]
    ds.SliceVector = list(range(1, n[0] + 1))
    ds.NumberOfSlices = n[0]
    ds.PixelSpacing = [f"{st:.3f}", f"{st:.3f}"]
    ds.SliceThickness = f"{st:.3f}"
    ds.SpacingBetweenSlices = f"{-st:.3f}"
    det = Dataset()
    det.ImagePositionPatient = [f"{v:.3f}" for v in res.origin_lps]
    det.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    det.CollimatorGridName = sim.acquisition["collimator"]
    det.CollimatorType = "PARA"
    ds.DetectorInformationSequence = Sequence([det])
    ds.RadiopharmaceuticalInformationSequence = _radiopharmaceutical(sim)
    ds.CorrectedImage = ["ATTN", "SCAT", "DECY"]
    ds.ReconstructionMethod = "OSEM 4i8s"
    ds.NumberOfFrames = n[0]
    arr = res.spect.astype(np.uint16)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = n[1], n[2]
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = arr.tobytes()
    spath = out / "NM_SPECT_RECON.dcm"
    _save(ds, spath, RLELossless)
    written.append(spath)
    ct_paths: list[str] = []
    ct_sops: list[str] = []
    ct_series = uid_for(study_uid, "ct", "series")
    if res.ct is not None:
        ct_dir = out / "CT"
        ct_dir.mkdir(exist_ok=True)
        o = res.origin_lps
        for i in range(n[0]):
            csop = uid_for(study_uid, "ct", i)
            c = _base(sim, CT_IMAGE_STORAGE, csop, ct_series, 11, "LOW DOSE CT FOR AC", modality="CT")
            c.FrameOfReferenceUID = for_uid
            c.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
            c.InstanceNumber = i + 1
            z = o[2] - (n[0] - 1) * st + i * st
            c.ImagePositionPatient = [f"{o[0]:.3f}", f"{o[1]:.3f}", f"{z:.3f}"]
            c.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
            c.SliceLocation = f"{z:.3f}"
            c.PixelSpacing = [f"{st:.3f}", f"{st:.3f}"]
            c.SliceThickness = f"{st:.3f}"
            c.KVP = "120"
            c.RescaleIntercept = "-1024"
            c.RescaleSlope = "1"
            c.RescaleType = "HU"
            c.SamplesPerPixel = 1
            c.PhotometricInterpretation = "MONOCHROME2"
            c.Rows, c.Columns = n[1], n[2]
            c.BitsAllocated = c.BitsStored = 16
            c.HighBit = 15
            c.PixelRepresentation = 0
            c.PixelData = (res.ct[i] + 1024).astype(np.uint16).tobytes()
            cpath = ct_dir / f"CT_{i + 1:04d}.dcm"
            _save(c, cpath, RLELossless)
            written.append(cpath)
            ct_paths.append(str(cpath.resolve()))
            ct_sops.append(csop)
    res.volumes = _volumes(res, str(spath.resolve()), sop, series, for_uid, ct_paths, ct_sops, ct_series)
    sim.study.volumes[:] = res.volumes
    return written


def initial_volumes(res: SpectResult, study_uid: str) -> list[Volume]:
    """Volumes before writing (sources without paths), for ``sim.study`` right after simulate."""
    from mibgkit.phantom.simulation import uid_for

    n = res.spect.shape
    return _volumes(res, "", uid_for(study_uid, "spect", "sop"), uid_for(study_uid, "spect", "series"),
                    uid_for(study_uid, "spect-for"), [""] * n[0], [uid_for(study_uid, "ct", i) for i in range(n[0])],
                    uid_for(study_uid, "ct", "series"))

"""Write a simulated study the way gamma cameras do, in several vendor-like layouts.

Layouts
-------
``nm_multiframe``
    One NM Image Storage object, ``NumberOfFrames = 2``, Frame Increment Pointer ->
    Energy Window Vector + Detector Vector, a Detector Information Sequence item per head
    with its View Code Sequence (CID 26, SNOMED CT ``399321004`` anterior projection /
    ``399001007`` posterior projection, from ``pydicom.sr.codedict``). RLE Lossless.
``nm_single``
    Two single-frame NM objects (one per head), View Code Sequence at the top level and
    in the detector item, Patient Orientation ``L\\F`` (anterior) / ``R\\F`` (posterior).
    ``R\\F`` (posterior). RLE Lossless (deflate or uncompressed on request).
``secondary_capture``
    Two Secondary Capture objects with modality NM, signed 16-bit, as NEMA WG-04 ``NM1``:
    no view code, the view only in Image ID (``"WB ANT"``). RLE Lossless.
``text_only``
    Two single-frame NM objects with no view code anywhere; the view only in the Series
    Description (``"WB MIBG 24H ANTERIOR"``). RLE Lossless (or deflate on request).

The posterior frame is stored as the camera sees it (mirrored relative to the anterior
display). Every layout writes the same counts; after writing, ``sim.study``'s views carry
the StoredFrame / view source that :func:`mibgkit.load` reports for those files, and
``truth.json`` + ``labels.npz`` go next to the DICOM files.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    RLELossless,
)

from mibgkit.io.model import StoredFrame
from mibgkit.phantom.simulation import uid_for

if TYPE_CHECKING:  # pragma: no cover
    from mibgkit.phantom.simulation import Simulation

__all__ = ["write_dicom", "LAYOUTS", "NM_IMAGE_STORAGE", "SC_IMAGE_STORAGE", "CT_IMAGE_STORAGE"]

LAYOUTS = ("nm_multiframe", "nm_single", "secondary_capture", "text_only")
NM_IMAGE_STORAGE = UID("1.2.840.10008.5.1.4.1.1.20")
SC_IMAGE_STORAGE = UID("1.2.840.10008.5.1.4.1.1.7")
CT_IMAGE_STORAGE = UID("1.2.840.10008.5.1.4.1.1.2")
_IMPL_UID = UID("1.2.826.0.1.3680043.10.1462.1")  # mibgkit implementation class (pydicom root)
_VIEW_CODE = {"ANT": codes.SCT.AnteriorProjection, "POST": codes.SCT.PosteriorProjection}
_RADIONUCLIDE = ("21572004", "SCT", "^123^Iodine")
_RADIOPHARMACEUTICAL = ("395787009", "SCT", "Iodine^123 3-Iodobenzylguanidine MIBG")
_HALF_LIFE_S = 13.22 * 3600.0
_TS = {"rle": RLELossless, "deflate": DeflatedExplicitVRLittleEndian, "explicit": ExplicitVRLittleEndian}


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    d = Dataset()
    d.CodeValue = value
    d.CodingSchemeDesignator = scheme
    d.CodeMeaning = meaning
    return d


def _view_code(view: str) -> Dataset:
    c = _VIEW_CODE[view]
    d = _code(str(c.value), str(c.scheme_designator), str(c.meaning))
    d.ViewModifierCodeSequence = Sequence([])
    return d


def _da(t: dt.datetime) -> str:
    return t.strftime("%Y%m%d")


def _tm(t: dt.datetime) -> str:
    return t.strftime("%H%M%S")


def _base(sim: "Simulation", sop_class: UID, sop_uid: str, series_uid: str, series_no: int,
          series_desc: str, modality: str = "NM") -> Dataset:
    """Patient, study, series, equipment and SOP common modules."""
    p, info, acq = sim.patient, sim.study.info, sim.acquisition
    t = info.acquisition_datetime or dt.datetime(2026, 1, 5, 10, 0)
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = _da(t)
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = _tm(t)
    ds.AccessionNumber = f"A{p.patient_id[2:10]}"
    ds.Modality = modality
    ds.Manufacturer = info.manufacturer or "mibgkit phantom"
    ds.ManufacturerModelName = info.model or "SimCam"
    ds.InstitutionName = "Synthetic Children's Hospital"
    ds.ReferringPhysicianName = ""
    ds.StationName = "SIMCAM1"
    ds.StudyDescription = info.study_description or "MIBG"
    ds.SeriesDescription = series_desc
    ds.PatientName = p.patient_name
    ds.PatientID = p.patient_id
    birth = t - dt.timedelta(days=int(round(p.age_years * 365.25)))
    ds.PatientBirthDate = _da(birth)
    ds.PatientSex = p.sex
    ds.PatientAge = f"{int(p.age_years):03d}Y"
    ds.PatientWeight = f"{p.weight_kg:.1f}"
    ds.PatientSize = f"{(info.patient_height_m or 0.0):.2f}"
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "synthetic phantom (mibgkit.phantom), no real patient"
    ds.StudyInstanceUID = info.study_instance_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = p.patient_id[-6:]
    ds.SeriesNumber = series_no
    ds.InstanceNumber = 1
    ds.FrameOfReferenceUID = uid_for(info.study_instance_uid, "for")
    ds.PositionReferenceIndicator = ""
    ds.BodyPartExamined = "WHOLEBODY"
    ds.ClinicalTrialTimePointID = p.timepoint
    ds.AcquisitionDateTime = t.strftime("%Y%m%d%H%M%S")
    _ = acq
    return ds


def _radiopharmaceutical(sim: "Simulation") -> Sequence:
    info = sim.study.info
    inj = info.injection_datetime or dt.datetime(2026, 1, 4, 10, 0)
    it = Dataset()
    it.Radiopharmaceutical = "Iobenguane I^123^"
    it.RadiopharmaceuticalStartTime = _tm(inj)
    it.RadiopharmaceuticalStartDateTime = inj.strftime("%Y%m%d%H%M%S")
    it.RadionuclideTotalDose = f"{info.injected_activity_mbq or 0.0:.1f}"  # MBq in NM
    it.RadionuclideHalfLife = f"{_HALF_LIFE_S:.0f}"
    it.RadiopharmaceuticalRoute = "Intravenous"
    it.RadionuclideCodeSequence = Sequence([_code(*_RADIONUCLIDE)])
    it.RadiopharmaceuticalCodeSequence = Sequence([_code(*_RADIOPHARMACEUTICAL)])
    return Sequence([it])


def _energy_windows() -> Sequence:
    w = Dataset()
    w.EnergyWindowName = "I123"
    r = Dataset()
    r.EnergyWindowLowerLimit = "143.1"
    r.EnergyWindowUpperLimit = "174.9"
    w.EnergyWindowRangeSequence = Sequence([r])
    return Sequence([w])


def _detector_item(sim: "Simulation", view: str | None) -> Dataset:
    d = Dataset()
    d.CollimatorGridName = sim.acquisition["collimator"]
    d.CollimatorType = "PARA"
    d.FieldOfViewShape = "RECTANGLE"
    d.FieldOfViewDimensions = [540, 400]
    d.ZoomFactor = [1.0, 1.0]
    if view is not None:
        d.ViewCodeSequence = Sequence([_view_code(view)])
    return d


def _pixels(ds: Dataset, frames: list[np.ndarray], signed: bool = False) -> None:
    arr = np.stack(frames).astype(np.int16 if signed else np.uint16)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(arr.shape[1]), int(arr.shape[2])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if signed else 0
    ds.NumberOfFrames = len(frames)
    ds.PixelData = (arr if len(frames) > 1 else arr[0]).tobytes()
    if signed:
        ds.SmallestImagePixelValue = int(arr.min())
        ds.LargestImagePixelValue = int(arr.max())
        ds["SmallestImagePixelValue"].VR = "SS"
        ds["LargestImagePixelValue"].VR = "SS"


def _nm_acquisition(ds: Dataset, sim: "Simulation", detectors: list[int]) -> None:
    acq = sim.acquisition
    ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    ds.PixelSpacing = [f"{acq['pixel_mm']:.4f}", f"{acq['pixel_mm']:.4f}"]
    ds.FrameIncrementPointer = [0x00540010, 0x00540020]
    ds.EnergyWindowVector = [1] * len(detectors)
    ds.NumberOfEnergyWindows = 1
    ds.DetectorVector = detectors
    ds.NumberOfDetectors = len(detectors)
    ds.EnergyWindowInformationSequence = _energy_windows()
    ds.RadiopharmaceuticalInformationSequence = _radiopharmaceutical(sim)
    ds.ScanVelocity = f"{acq['scan_velocity_mm_s']:.4f}"
    ds.WholeBodyTechnique = ["1PS"]
    ds.ScanLength = int(round(1024 * acq["pixel_mm"]))
    ds.CorrectedImage = ["UNIF", "COR"]
    ds.CountsAccumulated = int(sum(acq["counts"].values()))


def _meta(ds: Dataset, ts: UID) -> None:
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = ds.SOPClassUID
    fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    fm.TransferSyntaxUID = ts
    fm.ImplementationClassUID = _IMPL_UID
    fm.ImplementationVersionName = "MIBGKIT_PH1"
    ds.file_meta = fm


def _save(ds: Dataset, path: Path, ts: UID) -> None:
    _meta(ds, ExplicitVRLittleEndian)
    if ts == RLELossless:
        ds.compress(RLELossless, encoding_plugin="pydicom", generate_instance_uid=False)
    elif ts == DeflatedExplicitVRLittleEndian:
        ds.file_meta.TransferSyntaxUID = ts
    ds.save_as(path, enforce_file_format=True)


def _write_spots(sim: "Simulation", out: Path) -> list[Path]:
    """Spot views: one NM STATIC object per region, both heads (view codes per detector),
    with the spot's own pixel spacing, zoom, frame duration and counts."""
    written: list[Path] = []
    for name, info in sim.truth.spots.items():
        series = info["series_instance_uid"]
        secs = float(info["frame_duration_s"])
        desc = f"SPOT {name.upper()} {secs:.0f}S"
        ds = _base(sim, NM_IMAGE_STORAGE, info["sop_instance_uid"], series, 20 + len(written), desc)
        _nm_acquisition(ds, sim, [1, 2])
        ds.ImageType = ["ORIGINAL", "PRIMARY", "STATIC", "EMISSION"]
        for kw in ("ScanVelocity", "WholeBodyTechnique", "ScanLength"):
            delattr(ds, kw)
        ds.PixelSpacing = [f"{info['pixel_mm']:.4f}", f"{info['pixel_mm']:.4f}"]
        ds.ActualFrameDuration = int(round(secs * 1000))
        ds.CountsAccumulated = int(sum(v["counts"] for v in info["views"].values()))
        items = [_detector_item(sim, v) for v in ("ANT", "POST")]
        for it in items:
            it.ZoomFactor = [float(info["zoom"]), float(info["zoom"])]
        ds.DetectorInformationSequence = Sequence(items)
        ds.ImageID = f"SPOT {name.upper()}"
        _pixels(ds, [sim.stored[f"{name}:ANT"], sim.stored[f"{name}:POST"]])
        path = out / f"NM_SPOT_{name.upper()}.dcm"
        _save(ds, path, RLELossless)
        written.append(path)
        for pv in sim.study.views:
            if pv.kind == "static" and pv.series_instance_uid == series:
                pv.source = StoredFrame(path=str(path.resolve()), sop_instance_uid=info["sop_instance_uid"],
                                        frame=pv.source.frame, stored_shape=pv.source.stored_shape,
                                        mirrored=pv.source.mirrored)
                info["views"][pv.view]["file"] = path.name
    return written


def write_dicom(sim: "Simulation", out_dir: str | Path, layout: str = "nm_multiframe",
                truth: bool = True, transfer_syntax: str = "rle") -> list[Path]:
    """Write the simulated study (and SPECT/CT if simulated) plus its truth.

    Parameters
    ----------
    sim : Simulation
    out_dir : str or Path
        Folder to write into (created).
    layout : {"nm_multiframe", "nm_single", "secondary_capture", "text_only"}
    truth : bool
        Also write ``truth.json`` and ``labels.npz``.
    transfer_syntax : {"rle", "deflate", "explicit"}
        For the NM single-frame layouts (``nm_multiframe`` and ``secondary_capture``
        always use RLE Lossless, as the cameras they imitate do).

    Returns
    -------
    list of Path
        The DICOM files written.

    Notes
    -----
    ``sim.study`` is updated in place so that each view's ``source`` (path, SOP Instance
    UID, frame) and ``view_source`` are those of the files just written.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    if transfer_syntax not in _TS:
        raise ValueError(f"transfer_syntax must be one of {sorted(_TS)}, not {transfer_syntax!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    study_uid = sim.study.info.study_instance_uid
    written: list[Path] = []
    wb = [v for v in sim.study.views if v.kind == "whole_body"]
    frames = {v.view: sim.stored[v.view] for v in wb}
    views = [v.view for v in wb]
    updates: dict[str, dict[str, Any]] = {}
    if layout == "nm_multiframe":
        sop = uid_for(study_uid, layout, "sop")
        series = uid_for(study_uid, layout, "series")
        ds = _base(sim, NM_IMAGE_STORAGE, sop, series, 1, "WB MIBG 24H")
        _nm_acquisition(ds, sim, [1, 2])
        ds.DetectorInformationSequence = Sequence([_detector_item(sim, v) for v in views])
        ds.ImageID = "WHOLE BODY"
        _pixels(ds, [frames[v] for v in views])
        path = out / "NM_WB_ANT_POST.dcm"
        _save(ds, path, RLELossless)
        written.append(path)
        for i, v in enumerate(views, start=1):
            updates[v] = {"path": path, "sop": sop, "frame": i, "series": series, "desc": "WB MIBG 24H",
                          "source": "DetectorInformationSequence", "detector": i}
    else:
        for i, v in enumerate(views, start=1):
            sop = uid_for(study_uid, layout, v, "sop")
            series = uid_for(study_uid, layout, "series", v if layout == "text_only" else "")
            word = {"ANT": "ANTERIOR", "POST": "POSTERIOR"}[v]
            if layout == "secondary_capture":
                desc = "Whole Body MIBG"
                ds = _base(sim, SC_IMAGE_STORAGE, sop, series, 1, desc)
                ds.ImageType = ["DERIVED", "SECONDARY", "WHOLE BODY", "EMISSION"]
                ds.ConversionType = "WSD"
                ds.PixelSpacing = [f"{sim.acquisition['pixel_mm']:.4f}"] * 2
                ds.FrameIncrementPointer = [0x00540010, 0x00540020]
                ds.EnergyWindowVector = [1]
                ds.NumberOfEnergyWindows = 1
                ds.DetectorVector = [1]
                ds.NumberOfDetectors = 1
                ds.ImageID = f"WB {v}"
                ds.InstanceNumber = i
                _pixels(ds, [frames[v]], signed=True)
                path = out / f"SC_WB_{v}.dcm"
                _save(ds, path, RLELossless)
                source = "text:ImageID"
            else:
                desc = f"WB MIBG 24H {word}" if layout == "text_only" else "WB MIBG 24H"
                ds = _base(sim, NM_IMAGE_STORAGE, sop, series, 1 if layout == "nm_single" else i, desc)
                _nm_acquisition(ds, sim, [i])
                ds.InstanceNumber = i
                if layout == "nm_single":
                    ds.DetectorInformationSequence = Sequence([_detector_item(sim, v)])
                    ds.ViewCodeSequence = Sequence([_view_code(v)])
                    ds.PatientOrientation = ["L", "F"] if v == "ANT" else ["R", "F"]
                    source = "ViewCodeSequence"
                else:
                    ds.DetectorInformationSequence = Sequence([_detector_item(sim, None)])
                    source = "text:SeriesDescription"
                _pixels(ds, [frames[v]])
                path = out / f"NM_WB_{v}.dcm"
                _save(ds, path, _TS[transfer_syntax])
            written.append(path)
            updates[v] = {"path": path, "sop": sop, "frame": 1, "series": series, "desc": desc,
                          "source": source, "detector": i}
    for pv in wb:
        u = updates[pv.view]
        pv.source = StoredFrame(path=str(Path(u["path"]).resolve()), sop_instance_uid=u["sop"], frame=u["frame"],
                                stored_shape=pv.source.stored_shape, mirrored=pv.source.mirrored)
        pv.view_source = u["source"]
        pv.series_instance_uid = u["series"]
        pv.series_description = u["desc"]
        pv.detector = u["detector"]
    sim.layout = layout
    written += _write_spots(sim, out)
    if sim.spect is not None:
        from mibgkit.phantom.spect import write_spect

        written += write_spect(sim, out)
    for pv in wb:
        sim.truth.views[pv.view] = {
            "sop_instance_uid": pv.source.sop_instance_uid, "frame": pv.source.frame,
            "mirrored": pv.source.mirrored, "stored_shape": list(pv.source.stored_shape),
            "file": Path(pv.source.path).name, "view_source": pv.view_source,
            "shift_rows_cols": sim.truth.views.get(pv.view, {}).get("shift_rows_cols", [0, 0]),
        }
    if truth:
        doc = sim.truth.to_json()
        doc["layout"] = layout
        doc["files"] = [p.name for p in written]
        (out / "truth.json").write_text(json.dumps(doc, indent=1))
        np.savez_compressed(out / "labels.npz", **sim.truth.npz_arrays())  # type: ignore[arg-type]
    return written

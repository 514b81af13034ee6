"""Build small, standard-conformant NM DICOM files for loader tests (written to tmp_path)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

NM_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
SC_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ANT_CODE = ("399321004", "SCT", "Anterior projection")
POST_CODE = ("399001007", "SCT", "Posterior projection")


def code_item(code: tuple[str, str, str]) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code
    return item


def detector_item(
    view: tuple[str, str, str] | None = None,
    iop: Sequence[float] | None = None,
    ipp: Sequence[float] | None = None,
) -> Dataset:
    item = Dataset()
    item.CollimatorGridName = "MELP"
    item.CollimatorType = "PARA"
    item.FieldOfViewShape = "RECTANGLE"
    item.FieldOfViewDimensions = [540, 400]
    if view is not None:
        item.ViewCodeSequence = DicomSequence([code_item(view)])
    if iop is not None:
        item.ImageOrientationPatient = [float(v) for v in iop]
    if ipp is not None:
        item.ImagePositionPatient = [float(v) for v in ipp]
    return item


def base_dataset(
    frames: np.ndarray,
    *,
    sop_class: str = NM_STORAGE,
    modality: str = "NM",
    study_uid: str | None = None,
    series_uid: str | None = None,
    spacing: Sequence[float] | None = (2.4, 2.4),
    patient_id: str = "NB-0001",
) -> Dataset:
    """A dataset with patient/study/series/image modules and uint16 pixel data (frames, rows, cols)."""
    frames = np.asarray(frames)
    if frames.ndim == 2:
        frames = frames[None]
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.Modality = modality
    ds.PatientName = "Test^Child"
    ds.PatientID = patient_id
    ds.PatientBirthDate = "20190315"
    ds.PatientSex = "F"
    ds.PatientAge = "005Y"
    ds.PatientWeight = "18.5"
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.StudyDate = "20240601"
    ds.StudyTime = "093000"
    ds.AcquisitionDate = "20240601"
    ds.AcquisitionTime = "100000"
    ds.Manufacturer = "mibgkit-test"
    ds.ManufacturerModelName = "unit"
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(frames.shape[1]), int(frames.shape[2])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    if spacing is not None:
        ds.PixelSpacing = [float(spacing[0]), float(spacing[1])]
    if frames.shape[0] > 1 or sop_class == NM_STORAGE:
        ds.NumberOfFrames = int(frames.shape[0])
    ds.PixelData = np.ascontiguousarray(frames.astype(np.uint16)).tobytes()
    return ds


def nm_planar(
    frames: np.ndarray,
    *,
    image_type: str = "WHOLE BODY",
    detectors: Sequence[int] | None = None,
    detector_items: Sequence[Dataset] = (),
    **kwargs: object,
) -> Dataset:
    """An NM Image Storage planar object with Frame Increment Pointer -> (EnergyWindow, Detector)."""
    ds = base_dataset(frames, **kwargs)  # type: ignore[arg-type]
    n = int(ds.NumberOfFrames)
    ds.ImageType = ["ORIGINAL", "PRIMARY", image_type, "EMISSION"]
    ds.FrameIncrementPointer = [0x00540010, 0x00540020]
    ds.EnergyWindowVector = [1] * n
    ds.NumberOfEnergyWindows = 1
    dets = list(detectors) if detectors is not None else [1] * n
    ds.DetectorVector = dets
    ds.NumberOfDetectors = max(dets)
    ew = Dataset()
    rng = Dataset()
    rng.EnergyWindowLowerLimit = "143.1"
    rng.EnergyWindowUpperLimit = "174.9"
    ew.EnergyWindowRangeSequence = DicomSequence([rng])
    ew.EnergyWindowName = "I-123 159 keV"
    ds.EnergyWindowInformationSequence = DicomSequence([ew])
    rp = Dataset()
    rp.Radiopharmaceutical = "Iobenguane I-123"
    rp.RadionuclideTotalDose = "96.2"
    rp.RadiopharmaceuticalStartDateTime = "20240531100000"
    ds.RadiopharmaceuticalInformationSequence = DicomSequence([rp])
    ds.DetectorInformationSequence = DicomSequence(list(detector_items) or [detector_item()])
    ds.ActualFrameDuration = 900000
    ds.ScanVelocity = "2.0"
    return ds


def write(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def copy_with_new_uids(src: Path, dst: Path, **changes: object) -> Path:
    """Copy a real file with new SOP/Series UIDs (and any attribute changes)."""
    ds = pydicom.dcmread(src)
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    for k, v in changes.items():
        setattr(ds, k, v)
    dst.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(dst)
    return dst


def body_phantom(rows: int = 256, cols: int = 96, seed: int = 0) -> np.ndarray:
    """A crude asymmetric body: head, trunk, two legs and a hot spot on the patient's right."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:rows, 0:cols]
    img = np.zeros((rows, cols))
    img += 40 * (((r - 20) / 14) ** 2 + ((c - cols / 2) / 10) ** 2 < 1)  # head
    img += 25 * (((r - 90) / 55) ** 2 + ((c - cols / 2) / 22) ** 2 < 1)  # trunk
    for side in (-1, 1):
        img += 15 * ((np.abs(c - cols / 2 - side * 9) < 5) & (r > 140) & (r < 240))  # legs
    img += 200 * (((r - 70) ** 2 + (c - (cols / 2 - 12)) ** 2) < 9)  # hot spot, patient right (image left)
    return rng.poisson(img).astype(np.uint16)

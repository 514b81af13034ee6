"""Input trees for the conversion tests, made from the real NM files (new UIDs per study)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pydicom
from pydicom.uid import generate_uid

NM = Path(__file__).resolve().parents[1] / "data" / "nm_dicom"
NM1 = NM / "nema_wg04_nm1" / "NM1_RLE"  # GE whole-body, SC, RLE
BACKGROUND = NM / "linaqa" / "Background"  # Siemens two-detector static, 2 frames
JASZACK = NM / "nmqc" / "Jaszack.dcm"  # SPECT reconstruction
FOURBAR = NM / "nmqc" / "FourBar.dcm"  # Mediso static planar, POSTERIOR


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (relative path -> digest), plus mtimes."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            out[p.relative_to(root).as_posix()] = (
                hashlib.sha256(p.read_bytes()).hexdigest() + f"@{p.stat().st_mtime_ns}"
            )
    return out


def make_tree(root: Path, n_studies: int, sources: tuple[Path, ...] = (NM1, BACKGROUND)) -> list[str]:
    """Write ``n_studies`` studies (one file per source, new UIDs and Patient ID each).

    Files get names without suffix in nested folders, like a PACS export.
    Returns the Study Instance UIDs written.
    """
    uids = []
    for i in range(n_studies):
        study_uid = generate_uid(entropy_srcs=[f"study-{i}"])
        uids.append(study_uid)
        for j, src in enumerate(sources):
            ds = pydicom.dcmread(src)
            ds.StudyInstanceUID = study_uid
            ds.SeriesInstanceUID = generate_uid(entropy_srcs=[f"series-{i}-{j}"])
            ds.SOPInstanceUID = generate_uid(entropy_srcs=[f"sop-{i}-{j}"])
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.PatientID = f"PAT{i:04d}"
            ds.PatientName = f"Doe^Child{i:04d}"
            folder = root / f"exp{i % 3}" / f"s{i:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            ds.save_as(folder / f"IM{j:05d}", enforce_file_format=True)
    return uids


def write_every_layout(sim: Any, tmp_path_factory: Any) -> list[Path]:
    """Files of one simulated study written in every phantom layout, plus the multi-frame
    layout in Explicit VR Little Endian (one fresh folder each)."""
    from mibgkit.phantom import LAYOUTS, write_dicom

    out: list[Path] = []
    for layout in LAYOUTS:
        out += write_dicom(sim, tmp_path_factory.mktemp(layout), layout=layout, truth=False)
    out += write_dicom(sim, tmp_path_factory.mktemp("explicit"), layout="nm_multiframe", truth=False,
                       transfer_syntax="explicit")
    return [p for p in out if p.is_file()]

"""Real NM files used by the export tests, and dciodvfy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest

NM = Path(__file__).resolve().parents[1] / "data" / "nm_dicom"
# Two objects of one Siemens study: a two-detector static (2 frames) and a single frame.
BACKGROUND = NM / "linaqa" / "Background"
PETRI = NM / "linaqa" / "PetriDish"
NM1 = NM / "nema_wg04_nm1" / "NM1_RLE"  # GE whole-body, Secondary Capture, one frame
JASZACK = NM / "nmqc" / "Jaszack.dcm"  # SPECT reconstruction, NM multi-frame


def uid_of(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def dciodvfy_errors(path: Path) -> list[str]:
    """Error lines of dciodvfy on a file (warnings are allowed)."""
    exe = shutil.which("dciodvfy")
    if exe is None:
        pytest.skip("dciodvfy (Debian package dicom3tools) is not installed")
    proc = subprocess.run([exe, str(path)], capture_output=True, text=True, check=False)
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]

"""npe2 sample data: the synthetic studies bundled in the repository's ``sample_dicom/``.

The folder is found from the ``MIBGKIT_SAMPLE_DICOM`` environment variable, else next
to the installed ``mibgkit`` package (an editable install of the repository). Nothing
is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from napari_mibgkit._reader import read_study

__all__ = [
    "SAMPLE_ENV", "sample_dicom_dir", "sample_study", "oligo", "extensive", "clean", "infant_diffuse", "spect",
]

SAMPLE_ENV = "MIBGKIT_SAMPLE_DICOM"


def sample_dicom_dir() -> Path:
    """The ``sample_dicom`` folder.

    Returns
    -------
    Path
        ``$MIBGKIT_SAMPLE_DICOM`` if set, else ``<repository>/sample_dicom``.

    Raises
    ------
    FileNotFoundError
        When neither exists (e.g. mibgkit installed from a wheel).
    """
    env = os.environ.get(SAMPLE_ENV)
    if env:
        path = Path(env)
    else:
        import mibgkit

        path = Path(mibgkit.__file__).resolve().parents[1] / "sample_dicom"
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path}: sample_dicom not found; set {SAMPLE_ENV} to the repository's sample_dicom folder"
        )
    return path


def sample_study(name: str) -> list[tuple[Any, dict[str, Any], str]]:
    """Layers of the bundled study ``sample_dicom/<name>``.

    Parameters
    ----------
    name : str
        Sub-folder of ``sample_dicom``.
    """
    folder = sample_dicom_dir() / name
    if not folder.is_dir():
        have = ", ".join(sorted(p.name for p in sample_dicom_dir().iterdir() if p.is_dir()))
        raise FileNotFoundError(f"{folder}: no such sample study (have: {have or 'none'})")
    return read_study(str(folder))


def oligo() -> list[tuple[Any, dict[str, Any], str]]:
    """Limited disease: two rib foci and a pelvic focus next to the bladder (SIOPEN 3)."""
    return sample_study("oligo")


def extensive() -> list[tuple[Any, dict[str, Any], str]]:
    """Extensive disease, 26 lesions incl. diffuse (SIOPEN 38); LEHR Secondary Capture."""
    return sample_study("extensive")


def clean() -> list[tuple[Any, dict[str, Any], str]]:
    """No disease (SIOPEN 0): physiological uptake only."""
    return sample_study("clean")


def infant_diffuse() -> list[tuple[Any, dict[str, Any], str]]:
    """Infant with diffuse marrow disease (SIOPEN 57), hands on the abdomen."""
    return sample_study("infant_diffuse")


def spect() -> list[tuple[Any, dict[str, Any], str]]:
    """Whole body, spot views, SPECT and CT of a child with three femoral foci."""
    return sample_study("spect")

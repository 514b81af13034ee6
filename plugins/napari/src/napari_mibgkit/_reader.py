"""npe2 reader: a DICOM file or folder -> planar and SPECT image layers.

The check is cheap (the ``DICM`` marker at byte 128, or a folder holding such a file or
a DICOMDIR) and returns None for anything else; :func:`mibgkit.load` does the reading.
Each image layer keeps the loaded :class:`~mibgkit.io.model.Study` in its metadata
(``metadata["mibgkit_study"]``) so the reading widget can pick it up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from mibgkit.io.model import Study

from napari_mibgkit._layout import EMISSION, StudyLayout, display_contrast

__all__ = ["napari_get_reader", "is_dicom_file", "read_study", "study_layers", "STUDY_KEY"]

LayerData = tuple[Any, dict[str, Any], str]
STUDY_KEY = "mibgkit_study"
_FOLDER_PROBE = 200  # files looked at before a folder is declared not DICOM


def is_dicom_file(path: str | os.PathLike[str]) -> bool:
    """True when the file has the DICOM Part 10 marker ``DICM`` at byte 128."""
    try:
        with open(path, "rb") as f:
            f.seek(128)
            return f.read(4) == b"DICM"
    except OSError:
        return False


def _folder_has_dicom(folder: Path) -> bool:
    seen = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if name.upper() == "DICOMDIR" or is_dicom_file(Path(root) / name):
                return True
            seen += 1
            if seen >= _FOLDER_PROBE:
                return False
    return False


def napari_get_reader(path: str | Sequence[str]) -> Callable[[Any], list[LayerData]] | None:
    """Return :func:`read_study` when ``path`` looks like DICOM, else None.

    Parameters
    ----------
    path : str or sequence of str
        A file, a folder, or a list of them (only the first is checked).
    """
    if isinstance(path, (list, tuple)):
        if not path:
            return None
        path = path[0]
    p = Path(str(path))
    if p.is_dir():
        return read_study if _folder_has_dicom(p) else None
    return read_study if p.is_file() and is_dicom_file(p) else None


def read_study(path: str | Sequence[str]) -> list[LayerData]:
    """Load DICOM with :func:`mibgkit.load` and return the first study's layers.

    Parameters
    ----------
    path : str or sequence of str
        File(s) or folder.

    Returns
    -------
    list of (data, kwargs, layer_type)
        One image layer per planar view and per volume.

    Raises
    ------
    mibgkit.errors.DicomReadError
        When nothing in ``path`` is a loadable study (the message lists why).
    """
    import mibgkit
    from mibgkit.errors import DicomReadError

    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    studies: list[Study] = []
    skipped: list[str] = []
    for p in paths:
        found = mibgkit.load(p)
        studies.extend(found)
        skipped.extend(f"{s.path}: {s.reason}" for s in getattr(found, "skipped", []))
    if not studies:
        why = "; ".join(skipped[:3]) or "no NM images found"
        raise DicomReadError(f"no study loaded ({why})", str(paths[0]))
    return study_layers(studies[0])


def _planar_name(view_name: str, kind: str, taken: set[str]) -> str:
    name = view_name if kind == "whole_body" else f"{view_name} {kind}"
    base, n = name, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    taken.add(name)
    return name


def _volume_name(modality: str, taken: set[str]) -> str:
    return _planar_name("SPECT" if modality in EMISSION else modality, "whole_body", taken)


def study_layers(study: Study, layout: StudyLayout | None = None) -> list[LayerData]:
    """Image layers of a study: planar views side by side, then SPECT volumes.

    Parameters
    ----------
    study : Study
        A loaded study.
    layout : StudyLayout, optional
        Placement of the views; built from ``study`` when not given.

    Returns
    -------
    list of (data, kwargs, "image")
        Planar layers are named by their view (``ANT``, ``POST``, ``ANT static``, ...),
        volumes ``SPECT`` (``SPECT 2``, ...) or by modality (``CT``); a CT is drawn
        under the SPECT it shares a frame of reference with. Scale is the spacing in mm.
    """
    layout = layout or StudyLayout(study)
    out: list[LayerData] = []
    taken: set[str] = set()
    for i, (view, place) in enumerate(zip(layout.planar, layout.placements)):
        kwargs = {
            "name": _planar_name(view.view, view.kind, taken),
            "scale": place.scale,
            "translate": place.translate,
            "colormap": "gray_r",
            "contrast_limits": display_contrast(view.image),
            "gamma": 0.8,
            "metadata": {STUDY_KEY: study, "mibgkit_view_index": i},
        }
        out.append((view.image, kwargs, "image"))
    has_ct = any(v.modality == "CT" for v in study.volumes)
    order = sorted(range(len(study.volumes)), key=lambda k: study.volumes[k].modality in EMISSION)
    for i in order:  # CT first, so the emission volume is drawn on top of it
        vol, place = study.volumes[i], layout.volume_placements[i]
        kwargs = {
            "name": _volume_name(vol.modality, taken),
            "scale": place.scale,
            "translate": place.translate,
            "metadata": {STUDY_KEY: study, "mibgkit_volume_index": i},
        }
        if vol.modality == "CT":
            kwargs.update(colormap="gray", contrast_limits=(-300.0, 600.0))
        elif has_ct:  # fused display: hot colours added onto the CT
            kwargs.update(colormap="inferno", contrast_limits=display_contrast(vol.array, 99.5), blending="additive")
        else:
            kwargs.update(colormap="gray_r", contrast_limits=display_contrast(vol.array, 99.5), rendering="mip")
        flips = layout.volume_flips[i]
        out.append((np.flip(vol.array, flips) if flips else vol.array, kwargs, "image"))
    return out

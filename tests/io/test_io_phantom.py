"""The synthetic studies of the phantom writer (sample_dicom/) load in every layout, with the
lesions of truth.json where the writer put them (normalized and stored coordinates)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mibgkit.io import Volume, load


def _samples(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("truth.json"))


def test_every_layout_is_present(sample_dicom: Path) -> None:
    layouts = {json.loads((d / "truth.json").read_text())["layout"] for d in _samples(sample_dicom)}
    assert {"nm_multiframe", "nm_single", "secondary_capture", "text_only"} <= layouts


def _contrast(image: np.ndarray, r: float, c: float) -> float:
    """Mean of the 3x3 spot over the mean of a square ring 8 pixels out."""
    ri, ci = round(r), round(c)
    if not (8 <= ri < image.shape[0] - 8 and 8 <= ci < image.shape[1] - 8):
        return float("nan")
    spot = image[ri - 1 : ri + 2, ci - 1 : ci + 2].mean()
    ring = np.concatenate(
        [
            image[ri - 8, ci - 8 : ci + 9],
            image[ri + 8, ci - 8 : ci + 9],
            image[ri - 8 : ri + 9, ci - 8],
            image[ri - 8 : ri + 9, ci + 8],
        ]
    ).mean()
    return float(spot / max(ring, 1e-6))


def test_phantom_studies_load_with_lesions_in_place(sample_dicom: Path) -> None:
    here, mirrored = [], []
    for folder in _samples(sample_dicom):
        truth = json.loads((folder / "truth.json").read_text())
        studies = load(folder)
        assert len(studies) == 1, folder
        study = studies[0]
        ant, post = study.view("ANT"), study.view("POST")
        assert ant.kind == post.kind == "whole_body"
        assert ant.view_source != "none" and post.view_source != "none"
        assert not ant.source.mirrored and post.source.mirrored
        assert study.info.patient_age_years == pytest.approx(truth["patient"]["age_years"], abs=0.6)
        for lesion in truth["lesions"]:
            if lesion["kind"] != "focal" or not lesion["visible"]:
                continue
            for view in (ant, post):
                r, c = lesion["positions"][view.view]
                assert view.source.to_stored(r, c) == pytest.approx(
                    tuple(lesion["stored_positions"][view.view])
                )
                here.append(_contrast(view.image, r, c))
                mirrored.append(_contrast(view.image, r, view.shape[1] - 1 - c))
    here_a, mirrored_a = np.array(here), np.array(mirrored)
    ok = np.isfinite(here_a) & np.isfinite(mirrored_a)
    assert ok.sum() >= 10
    # lesions are where truth says in the normalized frame, not at the mirrored column
    assert np.mean(here_a[ok] > 1.2) > 0.8
    assert np.median(here_a[ok]) > 1.5 * np.median(mirrored_a[ok])


def test_phantom_spect_volume(sample_dicom: Path) -> None:
    folder = sample_dicom / "spect"
    study = load(folder)[0]
    nm = [v for v in study.volumes if v.modality == "NM"]
    ct = [v for v in study.volumes if v.modality == "CT"]
    assert len(nm) == 1 and len(ct) == 1
    assert nm[0].frame_of_reference_uid == ct[0].frame_of_reference_uid

    # NM and CT cover the same patient region: their centres agree within a few cm
    def centre(v: Volume) -> np.ndarray:
        s, r, c = ((np.array(v.array.shape) - 1) / 2.0).tolist()
        return v.index_to_lps((s, r, c))

    assert np.linalg.norm(centre(nm[0])[:2] - centre(ct[0])[:2]) < 30

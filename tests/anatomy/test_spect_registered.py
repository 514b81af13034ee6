"""SPECT(/CT) label volumes placed through the study's whole-body views (partial SPECT field)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import mibgkit
from mibgkit.anatomy import map_segments
from mibgkit.anatomy.spect import MIN_PLANAR_MATCH, ct_on_grid, place_on_planar
from mibgkit.errors import MappingError
from mibgkit.io.model import Study
from mibgkit.segments import SIOPEN_KEYS, label_of

SPECT = Path(__file__).resolve().parents[2] / "sample_dicom" / "spect"


@pytest.fixture(scope="module")
def sample() -> Study:
    return mibgkit.load(str(SPECT))[0]


@pytest.fixture(scope="module")
def sim_ct():
    """An 8-year-old (phantom seed 8, arms at the sides) with a trunk SPECT/CT."""
    from mibgkit.phantom import make_patient, simulate

    return simulate(make_patient(7.9, sex="F", seed=8, pattern="limited", arms="sides"), seed=8, spect=True)


def _nm(study: Study) -> int:
    return next(i for i, v in enumerate(study.volumes) if v.modality.upper() == "NM")


def _dice(truth: np.ndarray, labels: np.ndarray, key: str) -> float:
    bone = truth > 0
    a, b = truth == label_of(key), (labels == label_of(key)) & bone
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


def test_ct_is_resampled_through_lps_not_by_array_order(sample: Study):
    nm = sample.volumes[_nm(sample)]
    ct = next(v for v in sample.volumes if v.modality.upper() == "CT")
    # the sample's CT is stored feet -> head, the SPECT head -> feet, on the same voxels
    assert np.array_equal(ct_on_grid(nm, ct), ct.array[::-1])


def test_sample_spect_ct_is_labelled_from_the_whole_body_maps(sample: Study):
    maps = map_segments(sample)
    assert maps.unmapped_volumes == {}
    assert {v.method for v in maps.volumes.values()} == {"ct+planar"}
    nm = _nm(sample)
    vm = maps.volumes[nm]
    vol = sample.volumes[nm]
    assert vm.labels.shape == vol.array.shape
    counts = np.bincount(vm.labels.ravel(), minlength=13)
    for key in ("thoracic_cage", "spine", "pelvis"):
        assert counts[label_of(key)] > 1000, key
    # labels only on CT bone
    hu = ct_on_grid(vol, next(v for v in sample.volumes if v.modality.upper() == "CT"))
    assert np.all(hu[vm.labels > 0] > 200.0)
    # the truth's spine lesion (L1) lies in spine voxels of the label volume
    truth = json.loads((SPECT / "truth.json").read_text())
    l1 = next(les for les in truth["lesions"] if les["id"] == "L1")
    d = np.asarray(vol.direction, float)[:, ::-1] * np.asarray(vol.spacing_mm, float)
    idx = np.round(np.linalg.solve(d, np.asarray(l1["centre_lps"]) - np.asarray(vol.origin_lps))).astype(int)
    s, r, c = idx
    near = vm.labels[s - 2 : s + 3, r - 2 : r + 3, c - 2 : c + 3]
    near = near[near > 0]
    assert near.size and SIOPEN_KEYS[int(np.bincount(near).argmax()) - 1] == "spine"


def test_phantom_spect_ct_segments_match_the_truth(sim_ct):
    study = sim_ct.study
    maps = map_segments(study)
    vm = maps.volumes[_nm(study)]
    assert vm.method == "ct+planar" and vm.confidence > 0.5
    truth = sim_ct.spect.labels
    assert _dice(truth, vm.labels, "spine") > 0.9
    assert _dice(truth, vm.labels, "pelvis") > 0.85
    assert _dice(truth, vm.labels, "thoracic_cage") > 0.65
    bone = truth > 0
    lab = vm.labels[bone]
    assert (lab == truth[bone])[lab > 0].mean() > 0.85  # split accuracy over labelled bone
    # the CT of the same frame is labelled through the same placement
    ict = next(i for i, v in enumerate(study.volumes) if v.modality.upper() == "CT")
    assert maps.volumes[ict].method == "ct+planar"
    ct_labels_on_nm = maps.volumes[ict].labels[::-1]  # CT slices feet -> head
    both = (ct_labels_on_nm > 0) & (vm.labels > 0)
    assert both.sum() > 1000 and (ct_labels_on_nm[both] == vm.labels[both]).mean() > 0.99


def test_phantom_spect_without_ct_is_labelled_on_the_body():
    from mibgkit.phantom import make_patient, simulate

    sim = simulate(make_patient(6.7, sex="M", seed=1, pattern="limited", arms="abducted"), seed=1, spect=True,
                   with_ct=False)
    maps = map_segments(sim.study)
    vm = maps.volumes[_nm(sim.study)]
    assert vm.method == "planar"
    truth = sim.spect.labels
    assert _dice(truth, vm.labels, "spine") > 0.9
    assert _dice(truth, vm.labels, "thoracic_cage") > 0.8
    # nothing labelled in the air around the body
    assert (vm.labels > 0).mean() < 0.5


def test_a_partial_volume_needs_a_whole_body_view(sample: Study):
    only = dataclasses.replace(sample, views=[])
    # nothing in the study can be mapped: the mapper says why instead of guessing
    with pytest.raises(MappingError, match="no anatomical landmark"):
        map_segments(only)
    # with a spot view that cannot be mapped either, the volumes are listed with the reason
    spot = next(v for v in sample.views if v.kind != "whole_body")
    wb = next(v for v in sample.views if v.kind == "whole_body")
    maps = map_segments(dataclasses.replace(sample, views=[spot, wb]))
    assert set(maps.volumes) == {0, 1}  # the whole-body view alone is enough to place them


def test_a_volume_that_matches_no_whole_body_view_is_not_placed(sample: Study):
    nm = sample.volumes[_nm(sample)]
    wb = next(v for v in sample.views if v.kind == "whole_body")
    rng = np.random.default_rng(0)
    noise = dataclasses.replace(wb, image=rng.poisson(5.0, wb.image.shape).astype(np.float32))
    real, fake = place_on_planar(nm, [wb, noise])
    assert real.score >= MIN_PLANAR_MATCH
    assert fake.score < MIN_PLANAR_MATCH

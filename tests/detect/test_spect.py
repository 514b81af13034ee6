"""SPECT hot spots on the bundled SPECT sample: 3-D lesions found, linked to the planar reading."""

import json

import numpy as np
import pytest

from mibgkit.detect.params import DEFAULT_PARAMS
from mibgkit.detect.spect import find_spect_hotspots


@pytest.fixture(scope="module")
def spect_study(sample_dicom):
    from mibgkit.pipeline import load_one

    return load_one(sample_dicom / "spect")


def test_spect_hotspots_find_the_true_lesions(spect_study, sample_dicom):
    vol = next(v for v in spect_study.volumes if v.modality == "NM")
    spots = find_spect_hotspots(vol, None, DEFAULT_PARAMS)
    assert spots and all(s.volume_ml > 0 and s.peak_ratio > 1 for s in spots)
    truth = json.loads((sample_dicom / "spect" / "truth.json").read_text())
    inside = [les for les in truth["lesions"] if les["kind"] == "focal" and les["visible"]]
    lps = np.array([s.lps for s in spots])
    hits = [float(np.min(np.linalg.norm(lps - np.array(les["centre_lps"]), axis=1))) for les in inside]
    assert min(hits) < 15.0  # at least one lesion found in 3-D where the truth puts it


def test_spect_evidence_is_kept_in_the_reading(spect_study):
    from mibgkit.pipeline import run_study

    r = run_study(spect_study).reading
    assert r.provenance["n_spect_hotspots"] > 0
    linked = [h for h in r.hotspots if "spect" in h.extra and all(loc.view != "SPECT" for loc in h.locations)]
    only = [h for h in r.hotspots if any(loc.view == "SPECT" for loc in h.locations)]
    assert linked, "a planar finding should carry its SPECT evidence"
    for h in only:
        assert h.category in ("spect_bone", "spect_soft_tissue") and not h.counts_for_score
        assert all(loc.slice is not None for loc in h.locations)
    # SPECT-only findings never change the planar SIOPEN score
    planar = [h for h in r.hotspots if h not in only]
    from mibgkit.scoring import Reading

    assert Reading(hotspots=planar).siopen_total == r.siopen_total
